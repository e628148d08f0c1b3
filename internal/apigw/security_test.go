package apigw

import (
	"strings"
	"testing"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Regression tests for the adversarial review of issue 17, one per item
// that the HTTP API shows.

// TestIdempotencyKeysShownToAdminOnly (item 1): customer history, a
// shop-role route, used to show every transaction's idempotencyKey, which
// named a remembered order result that could be replayed.
func TestIdempotencyKeysShownToAdminOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.mustCustomer(t, "idem-visibility")
	key := "tour-credit-" + randomHex(t, 6)
	r := e.do(t, adminKey, e.event(t, "credits-credit.json", withPath("id", c.ID), withIdem(key)))
	expect(t, r, 201, "")
	for _, who := range []caller{shopKey, adminKey} {
		h := e.do(t, who, e.event(t, "customers-transactions.json", withPath("id", c.ID)))
		expect(t, h, 200, "")
		shown := strings.Contains(h.Body, key)
		if want := who == adminKey; shown != want {
			t.Errorf("%s: idempotency key shown = %v, want %v; body %s", who, shown, want, h.Body)
		}
		if who == shopKey && strings.Contains(h.Body, "idempotencyKey") {
			t.Errorf("shop key sees an idempotencyKey field: %s", h.Body)
		}
	}
}

// TestOrderCodesOnlyInThePlacingResponse (item 1): after staff place an
// order with an admin key, nothing a shop key can call (the order, the
// customer, the history, a card check, and a replay of the very same
// request with the same Idempotency-Key) carries a full code.
func TestOrderCodesOnlyInThePlacingResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.mustCustomer(t, "codes-once")
	key := "order-" + randomHex(t, 6)
	place := e.event(t, "orders-place.json", withIdem(key), withPatch(map[string]any{"customerId": c.ID,
		"billingEmail": e.addr("codes-once-buyer"), "giftCards": []any{map[string]any{"amount": 5000, "recipientEmail": e.addr("codes-once-friend")}}}))
	first := e.do(t, adminKey, place)
	expect(t, first, 201, "")
	var o gc.Order
	first.decode(t, &o)
	if len(o.GiftCards) != 1 || o.GiftCards[0].Code == "" {
		t.Fatalf("placing response has no code: %s", first.Body)
	}
	code := o.GiftCards[0].Code
	compact := strings.ReplaceAll(code, "-", "")
	leaks := func(what string, r response) {
		t.Helper()
		if strings.Contains(r.Body, code) || strings.Contains(strings.ReplaceAll(r.Body, "-", ""), compact) {
			t.Errorf("%s carries the full code: %d %s", what, r.StatusCode, r.Body)
		}
	}
	// The replay from another key of the same shop, with the body rebuilt
	// from GET /v1/orders/{id}, is refused.
	for _, who := range []caller{shopKey, shopKey2, adminKey2} {
		r := e.do(t, who, place)
		expect(t, r, 422, gc.EIDEMPOTENCYMISMATCH)
		leaks("replay by "+who.String(), r)
	}
	for _, who := range []caller{shopKey, adminKey} {
		reads := map[string]response{
			"order":    e.do(t, who, e.event(t, "orders-get.json", withPath("id", o.ID))),
			"customer": e.do(t, who, e.event(t, "customers-get.json", withPath("id", c.ID))),
			"history":  e.do(t, who, e.event(t, "customers-transactions.json", withPath("id", c.ID))),
			"check":    e.do(t, who, e.event(t, "redemption-check.json", withBody(map[string]string{"code": code}))),
		}
		for what, r := range reads {
			if r.StatusCode != 200 {
				t.Fatalf("%s by %s: %d %s", what, who, r.StatusCode, r.Body)
			}
			leaks(what+" by "+who.String(), r)
		}
	}
	// The key that placed it still gets its own answer back.
	if again := e.do(t, adminKey, place); again.Body != first.Body {
		t.Fatalf("replay by the placing key = %s, want the first response", again.Body)
	}
}

// TestShopKeyTenderRule (item 5): a shop key paying with cash, check,
// other or a custom type (goodwill) minted value; those need the admin
// role unless the shop allows the tender for its shop keys.
func TestShopKeyTenderRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	order := func(method string) eventT {
		return e.event(t, "orders-place.json", withPatch(map[string]any{"paymentMethod": method, "billingEmail": e.addr("tender")}))
	}
	for _, m := range []string{"cash", "check", "other", "goodwill"} {
		r := e.do(t, shopKey, order(m))
		expect(t, r, 403, gc.EFORBIDDEN)
		if !strings.Contains(r.problem(t).Detail, "admin") {
			t.Errorf("%s: detail does not say an admin key is needed: %s", m, r.Body)
		}
		expect(t, e.do(t, adminKey, order(m)), 201, "")
	}
	expect(t, e.do(t, shopKey, order("card")), 201, "")
	if _, err := e.store.SetShopTenders(e.ctx, e.shop.ID, []string{"voucher"}); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do(t, shopKey, order("voucher")), 201, "")
	expect(t, e.do(t, shopKey, order("cash")), 403, gc.EFORBIDDEN)
	if _, err := e.store.SetShopTenders(e.ctx, e.shop.ID, []string{"card"}); gc.ErrorCode(err) != gc.EINVALID {
		t.Errorf("listing card as a shop tender: %v, want EINVALID", err)
	}
	e.mustAudit(t)
}

// TestGoodsLineOverflow (item 2): two lines of 922337203685478 × 10000 were
// accepted with goodsTotal 8384 (with a customer: negative totals and 20×
// the card cap; as a guest: a 500). Now a 400 that writes nothing.
func TestGoodsLineOverflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.mustCustomer(t, "overflow")
	e.mustCredit(t, e.admin, c.ID, 1000)
	line := map[string]any{"description": "x", "unitPrice": 922337203685478, "quantity": 10000}
	cards := make([]any, 20)
	for i := range cards {
		cards[i] = map[string]any{"amount": 1000}
	}
	before := e.itemCount(t)
	for name, patch := range map[string]map[string]any{
		"guest":         {"goods": []any{line, line}},
		"with customer": {"goods": []any{line, line}, "customerId": c.ID, "giftCards": cards},
	} {
		r := e.do(t, adminKey, e.event(t, "orders-place.json", withPatch(patch)))
		expect(t, r, 400, gc.EINVALID)
		if f := r.problem(t).Field; f != "goods[0].unitPrice" {
			t.Errorf("%s: field %q, want goods[0].unitPrice", name, f)
		}
	}
	if n := e.itemCount(t); n != before {
		t.Errorf("rejected orders wrote %d items", n-before)
	}
	if e.balance(t, c.ID) != 1000 {
		t.Errorf("balance changed to %d", e.balance(t, c.ID))
	}
	e.mustAudit(t)
}

// TestShopWideGuessingNeverLocksHonestCustomers (item 4) through the API:
// failed checks from one clientRef lock that client only.
func TestShopWideGuessingNeverLocksHonestCustomers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	card := e.mustCard(t, 700)
	check := func(code, ref string) response {
		body := map[string]string{"code": code}
		if ref != "" {
			body["clientRef"] = ref
		}
		return e.do(t, shopKey, e.event(t, "redemption-check.json", withBody(body)))
	}
	for i := 0; i < 20; i++ {
		expect(t, check(unusedCode(t), "ip:203.0.113.7"), 409, gc.ECONFLICT)
	}
	locked := check(card.Code, "ip:203.0.113.7")
	expect(t, locked, 429, gc.ERATELIMITED)
	if locked.Headers["Retry-After"] == "" {
		t.Errorf("429 without Retry-After: %+v", locked.Headers)
	}
	expect(t, check(card.Code, "ip:198.51.100.4"), 200, "")
	expect(t, check(card.Code, ""), 200, "")
	cust := e.mustCustomer(t, "honest")
	r := e.do(t, shopKey, e.event(t, "redemption-redeem.json", withPath("id", cust.ID),
		withBody(map[string]string{"code": card.Code, "clientRef": "ip:198.51.100.4"})))
	expect(t, r, 201, "")
}
