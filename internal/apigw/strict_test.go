package apigw

import (
	"net/http"
	"strings"
	"testing"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// TestDecodeJSONRefusesLooseJSON is issue 17 item 7: encoding/json keeps
// the last of two equal keys and turns invalid UTF-8 and unpaired
// surrogate escapes into U+FFFD without a word; the contract's bodies are
// strict JSON, so each is a 400 naming the field.
func TestDecodeJSONRefusesLooseJSON(t *testing.T) {
	const order = `"billingName":"B","billingEmail":"b@shop.test","paymentMethod":"cash","currency":"USD"`
	cases := []struct {
		name, body string
		field      string // "" = accepted
	}{
		{name: "duplicate top-level key", body: `{"amount":1,"amount":99999,"currency":"USD","paymentType":"cash"}`, field: "amount"},
		{name: "duplicate key spelled with an escape", body: `{"amount":1,"\u0061mount":2,"currency":"USD","paymentType":"cash"}`, field: "amount"},
		{name: "duplicate key in an array element", body: `{` + order + `,"giftCards":[{"amount":1},{"amount":1,"amount":2}]}`, field: "giftCards[1].amount"},
		{name: "duplicate object key", body: `{` + order + `,"giftCards":[{"amount":1}],"giftCards":[{"amount":2}]}`, field: "giftCards"},
		{name: "same key in sibling objects is fine", body: `{` + order + `,"giftCards":[{"amount":1},{"amount":2}]}`},
		{name: "invalid UTF-8 in a value", body: `{"amount":1,"currency":"USD","paymentType":"cash","reference":"a` + "\xff" + `b"}`, field: "reference"},
		{name: "truncated UTF-8 in a value", body: `{"amount":1,"currency":"USD","paymentType":"cash","reference":"a` + "\xc3" + `"}`, field: "reference"},
		{name: "invalid UTF-8 in a key", body: `{"amount":1,"currency":"USD","paymentType":"cash","ref` + "\xff" + `":"x"}`, field: "body"},
		{name: "invalid UTF-8 in a nested value", body: `{` + order + `,"goods":[{"description":"` + "\xed\xa0\x80" + `","unitPrice":1,"quantity":1}]}`, field: "goods[0].description"},
		{name: "lone high surrogate", body: `{"amount":1,"currency":"USD","paymentType":"cash","reference":"\ud800"}`, field: "reference"},
		{name: "lone low surrogate", body: `{"amount":1,"currency":"USD","paymentType":"cash","reference":"x\udc00y"}`, field: "reference"},
		{name: "surrogates in the wrong order", body: `{"amount":1,"currency":"USD","paymentType":"cash","reference":"\udf81\ud83c"}`, field: "reference"},
		{name: "high surrogate before a non-surrogate escape", body: `{"amount":1,"currency":"USD","paymentType":"cash","reference":"\ud83c\u0041"}`, field: "reference"},
		{name: "high surrogate at the end of the string", body: `{"amount":1,"currency":"USD","paymentType":"cash","reference":"gift \ud83c"}`, field: "reference"},
		{name: "lone surrogate in a key", body: `{"amount":1,"currency":"USD","paymentType":"cash","\ud800":"x"}`, field: "body"},
		{name: "invalid UTF-8 in a top-level string", body: "\"\x89\"", field: "body"},
		{name: "duplicate empty key at the top", body: `{"":0,"":1}`, field: "body"},
		{name: "surrogate pair is fine", body: `{"amount":1,"currency":"USD","paymentType":"cash","reference":"gift \ud83c\udf81"}`},
		{name: "escaped backslash before u is text", body: `{"amount":1,"currency":"USD","paymentType":"cash","reference":"\\ud800"}`},
		{name: "raw non-ASCII is fine", body: `{"amount":1,"currency":"USD","paymentType":"cash","reference":"Zoë 🎁"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v any = &CreditBody{}
			if strings.Contains(c.body, "billingName") {
				v = &PlaceOrderBody{}
			}
			err := decodeJSON([]byte(c.body), v)
			if c.field == "" {
				if err != nil {
					t.Fatalf("decodeJSON(%s) = %v, want it accepted", c.body, err)
				}
				return
			}
			var de *gc.Error
			if !asDomain(err, &de) || de.Code != gc.EINVALID || de.Field != c.field {
				t.Fatalf("decodeJSON(%q) = %v, want invalid naming %q", c.body, err, c.field)
			}
		})
	}
}

// TestDecodeJSONNamesTheField: every decode error of a body names the
// field at fault, as the client sent it: a time given as a number or not
// as RFC 3339, an unknown key at any depth, and a key that matches a field
// only case-insensitively (which encoding/json alone would accept). Of two
// faults the first in the document is named, every time.
func TestDecodeJSONNamesTheField(t *testing.T) {
	const promo = `"name":"P","currency":"USD","minGiftCardAmount":1,"creditAmount":1`
	const order = `"billingName":"B","billingEmail":"b@shop.test","paymentMethod":"cash","currency":"USD"`
	cases := []struct {
		name, body string
		v          func() any
		field      string // "" = accepted
	}{
		{"time as a number", `{` + promo + `,"startsAt":1793491200,"endsAt":"2027-01-01T00:00:00Z"}`, newPromotion, "startsAt"},
		{"time not RFC 3339", `{` + promo + `,"startsAt":"2026-11-01T00:00:00Z","endsAt":"1 Jan 2027"}`, newPromotion, "endsAt"},
		{"time on a day that does not exist", `{` + promo + `,"startsAt":"2026-11-01T00:00:00Z","endsAt":"2027-02-29T00:00:00Z"}`, newPromotion, "endsAt"},
		{"time with a one-digit hour", `{` + promo + `,"startsAt":"2026-11-01T0:00:00Z","endsAt":"2027-01-01T00:00:00Z"}`, newPromotion, "startsAt"},
		{"time as an array", `{` + promo + `,"startsAt":["2026-11-01T00:00:00Z"]}`, newPromotion, "startsAt"},
		{"time as null is left to validation", `{` + promo + `,"startsAt":null}`, newPromotion, ""},
		{"times with offsets and fractions", `{` + promo + `,"startsAt":"2026-11-01T00:00:00+01:00","endsAt":"2026-12-01T00:00:00.5-02:30"}`, newPromotion, ""},
		{"miscased key", `{"emAil":"a@b.cd","name":"x"}`, newCustomer, "emAil"},
		{"miscased key of the wrong type", `{"EMAIL":42,"name":"x"}`, newCustomer, "EMAIL"},
		{"miscased key beside the exact one", `{"email":"a@b.cd","Email":"c@d.ef","name":"x"}`, newCustomer, "Email"},
		{"miscased key spelled with an escape", `{"\u0045mail":"a@b.cd","name":"x"}`, newCustomer, "Email"},
		{"miscased time key", `{` + promo + `,"StartsAt":"2026-11-01T00:00:00Z","endsAt":"2027-01-01T00:00:00Z"}`, newPromotion, "StartsAt"},
		{"miscased key in an array element", `{` + order + `,"giftCards":[{"amount":1},{"AMOUNT":1}]}`, newOrder, "giftCards[1].AMOUNT"},
		{"unknown key in an array element", `{` + order + `,"goods":[{"description":"d","unitPrice":1,"quantity":1,"sku":"x"}]}`, newOrder, "goods[0].sku"},
		{"unknown key before a type error", `{"nickname":"x","email":42}`, newCustomer, "nickname"},
		{"the first of two unknown keys", `{"b":1,"a":2,"email":"a@b.cd","name":"x"}`, newCustomer, "b"},
		{"a value in another case is only a value", `{"email":"a@b.cd","name":"EMAIL"}`, newCustomer, ""},
		{"a bad time with trailing data", `{` + promo + `,"startsAt":5} {}`, newPromotion, "startsAt"},
		{"an embedded struct lends its fields", `{"a":1,"b":2}`, newEmbedding, ""},
		{"a miscased key of an embedded struct", `{"A":1,"b":2}`, newEmbedding, "A"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 20 { // map order must not choose the field
				err := decodeJSON([]byte(c.body), c.v())
				if c.field == "" {
					if err != nil {
						t.Fatalf("decodeJSON(%s) = %v, want it accepted", c.body, err)
					}
					return
				}
				var de *gc.Error
				if !asDomain(err, &de) || de.Code != gc.EINVALID || de.Field != c.field {
					t.Fatalf("decodeJSON(%s) = %v, want invalid naming %q", c.body, err, c.field)
				}
			}
		})
	}
}

func newPromotion() any { return &CreatePromotionBody{} }
func newCustomer() any  { return &CreateCustomerBody{} }
func newOrder() any     { return &PlaceOrderBody{} }

// newEmbedding is a body with an embedded struct, as encoding/json
// flattens it (no body has one today; one may).
func newEmbedding() any {
	type inner struct {
		A int `json:"a"`
	}
	return &struct {
		inner
		B int `json:"b"`
	}{}
}

// TestStrictJSONOverHTTP: the same bodies sent to the routes are a 400
// naming the field, and change nothing.
func TestStrictJSONOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cus := e.mustCustomer(t, "strict")
	cases := []struct {
		name, event, body, field string
	}{
		{"a credit with the amount twice", "credits-credit.json",
			`{"amount":1,"currency":"USD","paymentType":"goodwill","amount":99999}`, "amount"},
		{"a customer whose name is not UTF-8", "customers-create.json",
			`{"email":"` + e.addr("utf8") + `","name":"Ana ` + "\xff\xfe" + `"}`, "name"},
		{"a customer whose name is a lone surrogate", "customers-create.json",
			`{"email":"` + e.addr("surrogate") + `","name":"\udfff"}`, "name"},
		{"an order with a duplicate inside a gift card", "orders-place.json",
			`{"billingName":"B","billingEmail":"b@shop.test","paymentMethod":"cash","currency":"USD","giftCards":[{"amount":100,"amount":900000}]}`, "giftCards[0].amount"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, adminKey, e.event(t, c.event, withPath("id", cus.ID), withRaw(c.body)))
			expectField(t, r, c.field)
		})
	}
	if b := e.balance(t, cus.ID); b != 0 {
		t.Errorf("a refused credit moved the balance to %d", b)
	}
	e.mustAudit(t)
}

// TestContentType is issue 17 item 7: a request body is read only when it
// is declared application/json (any case, any parameters); another or a
// missing Content-Type is a 415 on every POST route, before anything is
// written.
func TestContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cus := e.mustCustomer(t, "media")
	for _, rt := range Routes {
		if rt.Method != http.MethodPost {
			continue
		}
		name := goldenEventFor(t, rt)
		t.Run(rt.Key(), func(t *testing.T) {
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/jsonx",
				"application/json-patch+json", "multipart/form-data; boundary=x", "application/json;;", ""} {
				ev := e.event(t, name, withPath("id", cus.ID), withPath("txId", noTx))
				if ev.Body == "" {
					withRaw(`{}`)(&ev)
				}
				if ct == "" {
					delete(ev.Headers, "content-type")
				} else {
					ev.Headers["content-type"] = ct
				}
				r := e.do(t, adminKey, ev)
				expect(t, r, http.StatusUnsupportedMediaType, gc.EUNSUPPORTEDMEDIA)
			}
		})
	}
	t.Run("parameters and case are allowed", func(t *testing.T) {
		for i, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "application/json ; charset=UTF-8"} {
			ev := e.event(t, "customers-create.json", withPatch(map[string]any{"email": e.addr("media" + itoa(i))}))
			ev.Headers["content-type"] = ct
			expect(t, e.do(t, shopKey, ev), http.StatusCreated, "")
		}
	})
	t.Run("no body needs no content type", func(t *testing.T) {
		ev := e.event(t, "customers-get.json", withPath("id", cus.ID))
		delete(ev.Headers, "content-type")
		expect(t, e.do(t, shopKey, ev), http.StatusOK, "")
	})
	if b := e.balance(t, cus.ID); b != 0 {
		t.Errorf("a 415 credit moved the balance to %d", b)
	}
	e.mustAudit(t)
}

// TestPageLimit is issue 17 item 7: limit is an integer from 1 to
// gc.MaxPageSize on both paginated routes; anything else is a 400 naming
// it, not a silent default.
func TestPageLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cus := e.mustCustomer(t, "pages")
	routes := []struct {
		event  string
		caller caller
	}{{"customers-transactions.json", shopKey}, {"promotions-list.json", adminKey}}
	cases := []struct {
		name, limit string
		ok          bool
	}{
		{"zero", "0", false},
		{"negative", "-1", false},
		{"one over the maximum", itoa(gc.MaxPageSize + 1), false},
		{"huge", "99999999999999999999", false},
		{"not a number", "ten", false},
		{"empty", "", false},
		{"a plus sign", "+5", false},
		{"exponent", "1e2", false},
		{"fraction", "2.5", false},
		{"one", "1", true},
		{"the maximum", itoa(gc.MaxPageSize), true},
	}
	for _, rt := range routes {
		for _, c := range cases {
			t.Run(strings.TrimSuffix(rt.event, ".json")+"/"+c.name, func(t *testing.T) {
				ev := e.event(t, rt.event, withPath("id", cus.ID))
				if ev.QueryStringParameters == nil {
					ev.QueryStringParameters = map[string]string{}
				}
				ev.QueryStringParameters["limit"] = c.limit // withQuery drops an empty value
				ev.RawQueryString = "limit=" + c.limit
				r := e.do(t, rt.caller, ev)
				if c.ok {
					expect(t, r, http.StatusOK, "")
				} else {
					expectField(t, r, "limit")
				}
			})
		}
	}
}

// TestLookAlikeEmailsAreOneCustomer is issue 17 item 8: addresses that
// differ only by Unicode normalisation or case folding are one customer
// (a 409 naming the first), and found by either form; an IP-literal
// domain is refused.
func TestLookAlikeEmailsAreOneCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	local := "+" + e.tag + "@example.test"
	cases := []struct{ name, first, second string }{
		{"Kelvin sign and k", "kate" + local, "\u212Aate" + local},
		{"K and Kelvin sign", "\u212Aim" + local, "Kim" + local},
		{"NFC and NFD", "j\u00f6rg" + local, "jo\u0308rg" + local},
		{"NFD upper case and NFC", "LO\u0308WE" + local, "l\u00f6we" + local},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, shopKey, e.event(t, "customers-create.json", withPatch(map[string]any{"email": c.first})))
			expect(t, r, http.StatusCreated, "")
			first := decodeAs[gc.Customer](t, r)
			r = e.do(t, shopKey, e.event(t, "customers-create.json", withPatch(map[string]any{"email": c.second})))
			expect(t, r, http.StatusConflict, gc.ECONFLICT)
			if p := r.problem(t); p.CustomerID != first.ID || p.Field != "email" {
				t.Errorf("409 = %s, want customerId %s", r.Body, first.ID)
			}
			r = e.do(t, shopKey, e.event(t, "customers-find.json", withQuery("email", c.second)))
			expect(t, r, http.StatusOK, "")
			if got := decodeAs[gc.Customer](t, r); got.ID != first.ID {
				t.Errorf("found %s by %q, want %s", got.ID, c.second, first.ID)
			}
		})
	}
	t.Run("IP-literal domain", func(t *testing.T) {
		r := e.do(t, shopKey, e.event(t, "customers-create.json", withPatch(map[string]any{"email": "a" + e.tag + "@[127.0.0.1]"})))
		expectField(t, r, "email")
	})
}
