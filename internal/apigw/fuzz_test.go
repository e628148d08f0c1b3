package apigw

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// fuzzDecode checks a request body decoder on any input: it either fails
// with an invalid-input error that names a field (a 400), or decodes a
// value that encodes and decodes again to the same thing, on which the
// domain's validation again either passes or is a 400 naming a field.
func fuzzDecode[T any](f *testing.F, validate func(*T) error, seeds ...string) {
	common := []string{"", " ", "null", "{}", "[]", `""`, "0", "{", `{"a":1}`, `{} {}`, "\xff", `{"\u0000":1}`,
		// Issue 17 item 7: duplicate keys, invalid UTF-8 and lone surrogates.
		`{"amount":1,"amount":99999}`, `{"a":{"b":1,"b":2}}`, `{"x":[{"k":1,"k":1}]}`, `{"amount":1,"\u0061mount":2}`,
		"{\"name\":\"a\xffb\"}", "{\"na\xc3\":1}", `{"name":"\ud800"}`, `{"name":"\udc00\ud800"}`,
		`{"name":"\ud83c\u0041"}`, `{"name":"\ud83c\udf81"}`, `{"name":"\\ud800"}`}
	for _, s := range append(common, seeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v T
		if err := decodeJSON(b, &v); err != nil {
			mustBeInvalid(t, "decode", err)
			return
		}
		if k, ok := miscasedKey(b); ok {
			t.Fatalf("decoded %q although it holds the miscased key %q", b, k)
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("a decoded body does not encode: %v", err)
		}
		var w T
		if err := decodeJSON(enc, &w); err != nil {
			t.Fatalf("a decoded body, encoded again as %s, is refused: %v", enc, err)
		}
		if again, _ := json.Marshal(w); !bytes.Equal(enc, again) {
			t.Fatalf("decoding is not stable:\n%s\n%s", enc, again)
		}
		if validate != nil {
			if err := validate(&v); err != nil {
				mustBeInvalid(t, "validate", err)
			}
		}
	})
}

func mustBeInvalid(t *testing.T, step string, err error) {
	t.Helper()
	var de *gc.Error
	if !asDomain(err, &de) || de.Code != gc.EINVALID || de.Field == "" {
		t.Fatalf("%s: %v, want an invalid-input error naming a field", step, err)
	}
	if p := problemFor(err, "r"); p.Status != http.StatusBadRequest || p.Field != de.Field {
		t.Fatalf("%s: problem %+v, want a 400 naming %q", step, p, de.Field)
	}
}

func FuzzDecodeCreateCustomerBody(f *testing.F) {
	fuzzDecode(f, func(v *CreateCustomerBody) error { _, err := v.Validate(); return err },
		`{"email":"ana@example.com","name":"Ana"}`, `{"email":"ANA@Example.COM","name":"Ana García"}`,
		`{"email":5,"name":"x"}`, `{"email":"a@b.c","name":"x","extra":true}`, `{"email":"\"a\"@b.c","name":"\t"}`,
		`{"emAil":"a@b.cd","nAme":"x"}`, `{"EMAIL":5,"name":"x"}`, `{"email":"a@b.cd","name":"EMAIL"}`)
}

func FuzzDecodePlaceOrderBody(f *testing.F) {
	fuzzDecode(f, func(v *PlaceOrderBody) error { _, _, err := v.Validate(); return err },
		`{"billingName":"Sam","billingEmail":"sam@shop.test","paymentMethod":"cash","currency":"USD","giftCards":[{"amount":5000}]}`,
		`{"customerId":"cus_01m6b5cjm0ytqbq220va9wdt9y","billingName":"A","billingEmail":"a@b.co","paymentMethod":"card","currency":"JPY","goods":[{"description":"Mug","unitPrice":1800,"quantity":2}],"applyCredit":false}`,
		`{"billingName":"S","billingEmail":"s@s.st","paymentMethod":"x","currency":"USD","giftCards":[{"amount":1e30}]}`,
		`{"billingName":"S","billingEmail":"s@s.st","paymentMethod":"x","currency":"USD","goods":[{"description":"d","unitPrice":1000000000000000,"quantity":10000}]}`,
		`{"giftCards":[{"amount":-1,"recipientEmail":"r@r.rr"}],"applyCredit":"no"}`, `{"goods":{}}`,
		`{"giftCards":[{"Amount":1}]}`, `{"goods":[{"description":"d","unitPrice":1,"quantity":1,"nope":1}]}`)
}

func FuzzDecodeCodeBody(f *testing.F) {
	fuzzDecode(f, func(v *CodeBody) error {
		_, _ = giftcode.Normalize(v.Code) // must not panic on anything decoded
		return nil
	}, `{"code":"60RK-4CSM-6MV3-EE1S-Y"}`, `{"code":"60rk 4csm 6mv3 ee1s y"}`, `{"code":"OIL"}`, `{"code":123}`, `{"code":"\u00e9"}`)
}

func FuzzDecodeCreditBody(f *testing.F) {
	fuzzDecode(f, func(v *CreditBody) error {
		return gc.DirectCredit{CustomerID: "cus_x", Amount: v.Amount, Currency: v.Currency, PaymentType: v.PaymentType, Reference: v.Reference}.Validate()
	}, `{"amount":2500,"currency":"USD","paymentType":"goodwill","reference":"seed 003"}`,
		`{"amount":25.5,"currency":"USD","paymentType":"cash"}`, `{"amount":9223372036854775808}`, `{"amount":-1,"paymentType":"A B"}`)
}

func FuzzDecodeCreditApplicationBody(f *testing.F) {
	fuzzDecode(f, func(v *CreditApplicationBody) error {
		return gc.CreditApplication{CustomerID: "cus_x", OrderRef: v.OrderRef, AmountDue: v.AmountDue, Currency: v.Currency}.Validate()
	}, `{"orderRef":"web-1043","amountDue":4200,"currency":"USD"}`, `{"orderRef":"","amountDue":0}`, `{"orderRef":"\u0007","amountDue":1}`)
}

func FuzzDecodeReversalBody(f *testing.F) {
	fuzzDecode(f, func(v *ReversalBody) error { return gc.Reversal{Reason: v.Reason}.Validate() },
		`{"reason":"posted to the wrong customer"}`, `{"reason":""}`, `{"reason":["x"]}`)
}

func FuzzDecodeCreatePromotionBody(f *testing.F) {
	fuzzDecode(f, func(v *CreatePromotionBody) error { return v.Validate() },
		`{"name":"Buy $50, get $10","currency":"USD","startsAt":"2026-11-01T00:00:00Z","endsAt":"2027-01-01T00:00:00Z","minGiftCardAmount":5000,"creditAmount":1000}`,
		`{"name":"n","currency":"USD","startsAt":"2026-11-01T00:00:00+01:00","endsAt":"2026-11-01T00:00:00.5-02:30","minGiftCardAmount":1,"creditAmount":1,"per":"card","perCustomerLimit":1000,"budget":1}`,
		`{"name":"n","currency":"USD","startsAt":1793491200,"endsAt":"2027-01-01T00:00:00Z","minGiftCardAmount":1,"creditAmount":1}`,
		`{"name":"n","currency":"USD","startsAt":"2026-11-01T00:00:00Z","endsAt":"1 Jan 2027","minGiftCardAmount":1,"creditAmount":1}`,
		`{"name":"n","currency":"USD","StartsAt":"2026-11-01T00:00:00Z","endsAt":"2027-01-01T00:00:00Z","minGiftCardAmount":1,"creditAmount":1}`,
		`{"startsAt":"yesterday"}`, `{"startsAt":5}`, `{"startsAt":null}`, `{"endsAt":"2027-02-29T00:00:00Z"}`, `{"endsAt":"0000-01-01T00:00:00Z"}`, `{"per":"week","perCustomerLimit":-1}`)
}

// FuzzHandle feeds any body (and idempotency key) to every POST route of
// real handlers over a real store: the answer is always a 2xx, or a 4xx
// problem+json, that matches the OpenAPI document; never a 5xx, never a
// panic, never an error to API Gateway.
func FuzzHandle(f *testing.F) {
	e := newEnv(f)
	cus := e.mustCustomer(f, "fuzz")
	e.mustCredit(f, e.admin, cus.ID, 100000)
	tx := e.mustCredit(f, e.admin, cus.ID, 500)
	card := e.mustCard(f, 2500)
	promo := e.mustPromotion(f, e.admin)
	ids := map[string]string{"id": cus.ID, "txId": tx.ID}
	var posts []string             // golden events of the POST routes
	readsBody := map[string]bool{} // of those, the ones whose route reads a JSON body
	for _, rt := range Routes {
		if rt.Method == http.MethodPost {
			name := goldenEventFor(f, rt)
			posts = append(posts, name)
			readsBody[name] = loadEvent(f, name).Body != ""
		}
	}
	for i, name := range posts {
		ev := loadEvent(f, name)
		f.Add(uint8(i), []byte(ev.Body), "")
		f.Add(uint8(i), []byte(ev.Body), "fuzz-key")
		f.Add(uint8(i), []byte(`{"x":1}`), "")
		f.Add(uint8(i), []byte(`{"code":"`+card.Code+`"}`), "k\x00")
		f.Add(uint8(i), []byte(`{"email":"`+cus.Email+`","name":"Dup"}`), "")
		f.Add(uint8(i), []byte("\xff\xfe"), "")
	}
	f.Add(uint8(0), []byte(`{"email":"a@b.cd","name":"`+strings.Repeat("é", 201)+`"}`), strings.Repeat("k", 256))
	f.Add(uint8(4), []byte(`{"billingName":"B","billingEmail":"b@b.bb","paymentMethod":"zz","currency":"BHD","customerId":"`+cus.ID+`","goods":[{"description":"d","unitPrice":1000000000000000,"quantity":1}],"giftCards":[{"amount":1000000000000000}]}`), "")
	f.Add(uint8(0), []byte(`{"emAil":"a@b.cd","nAme":"x"}`), "")
	f.Add(uint8(0), []byte(`{"Email":42,"name":"x"}`), "")
	f.Add(uint8(4), []byte(`{"billingName":"B","billingEmail":"b@b.bb","paymentMethod":"cash","currency":"USD","giftCards":[{"AMOUNT":100}]}`), "")
	f.Add(uint8(0), []byte(`{"email":"a@b.cd","name":"x","name":"y"}`), "")
	f.Add(uint8(0), []byte("{\"email\":\"a@b.cd\",\"name\":\"\xed\xa0\x80\"}"), "")
	f.Add(uint8(0), []byte(`{"email":"a@b.cd","name":"\ud800"}`), "")
	f.Add(uint8(0), []byte(`{"email":"\u212Aate@b.cd","name":"x"}`), "")
	f.Add(uint8(0), []byte(`{"email":"a@[127.0.0.1]","name":"x"}`), "")
	f.Add(uint8(4), []byte(`{"billingName":"B","billingEmail":"b@b.bb","paymentMethod":"card","currency":"USD","customerId":"`+cus.ID+`","goods":[{"description":"d","unitPrice":922337203685478,"quantity":10000},{"description":"d","unitPrice":922337203685478,"quantity":10000}]}`), "")
	promotions := uint8(slices.Index(posts, "promotions-create.json"))
	const promotion = `"name":"P","currency":"USD","minGiftCardAmount":1,"creditAmount":1`
	f.Add(promotions, []byte(`{`+promotion+`,"startsAt":1793491200,"endsAt":"2027-01-01T00:00:00Z"}`), "")
	f.Add(promotions, []byte(`{`+promotion+`,"startsAt":"2026-11-01T00:00:00Z","endsAt":"1 Jan 2027"}`), "")
	f.Add(promotions, []byte(`{`+promotion+`,"startsAt":"2026-11-01T00:00:00Z","endsAt":"2027-02-30T00:00:00Z"}`), "")
	f.Add(promotions, []byte(`{`+promotion+`,"StartsAt":"2026-11-01T00:00:00Z","endsAt":"2027-01-01T00:00:00Z"}`), "")
	f.Fuzz(func(t *testing.T, route uint8, b []byte, key string) {
		name := posts[int(route)%len(posts)]
		ev := e.event(t, name, withRaw(string(b)), withIdem(key))
		for k := range ev.PathParameters {
			ev.PathParameters[k] = ids[k]
			switch {
			case strings.Contains(ev.RouteKey, "gift-cards"):
				ev.PathParameters[k] = card.ID
			case strings.Contains(ev.RouteKey, "promotions"):
				ev.PathParameters[k] = promo.ID
			}
		}
		finish(&ev)
		r := e.do(t, adminKey, ev) // checks the response against the OpenAPI document
		if r.StatusCode >= 500 || r.StatusCode < 200 || (r.StatusCode >= 300 && r.StatusCode < 400) {
			t.Fatalf("%s answered %d to %q: %s", ev.RouteKey, r.StatusCode, b, r.Body)
		}
		wantCT := "application/json"
		if r.StatusCode >= 400 {
			wantCT = "application/problem+json"
		}
		if got := r.Headers["Content-Type"]; got != wantCT {
			t.Fatalf("%s: content type %q for %d", ev.RouteKey, got, r.StatusCode)
		}
		// encoding/json matches keys to fields case-insensitively; the
		// contract's names are exact, so a miscased key is never accepted.
		if k, ok := miscasedKey(b); ok && readsBody[name] && r.StatusCode < 300 {
			t.Fatalf("%s accepted the miscased key %q in %q: %d %s", ev.RouteKey, k, b, r.StatusCode, r.Body)
		}
	})
}

// requestFieldNames are the JSON names of every request body field.
var requestFieldNames = func() map[string]bool {
	names := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() == "time" {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				names[name] = true
			}
			walk(f.Type)
		}
	}
	for _, v := range []any{CreateCustomerBody{}, PlaceOrderBody{}, CodeBody{}, CreditBody{}, CreditApplicationBody{}, ReversalBody{}, CreatePromotionBody{}} {
		walk(reflect.TypeOf(v))
	}
	return names
}()

// miscasedKey returns an object key of b that equals a request field name
// except for case (a key encoding/json alone would take for that field).
func miscasedKey(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var objects []bool // for each open container, whether it is an object
	inObject := func() bool { return len(objects) > 0 && objects[len(objects)-1] }
	wantKey := false // the next string is a key
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				objects = append(objects, t == '{')
				wantKey = t == '{'
				continue
			}
			objects = objects[:len(objects)-1]
		case string:
			if wantKey {
				wantKey = false
				if requestFieldNames[t] {
					continue
				}
				for name := range requestFieldNames {
					if strings.EqualFold(t, name) {
						return t, true
					}
				}
				continue
			}
		}
		wantKey = inObject() // a value is complete: a key comes next
	}
}
