package apigw

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// routeCase is one request of the route matrix: a golden event adjusted by
// setup (which also creates the records the request needs), sent by caller,
// and the status and problem code (and, for a 400, field) it must get.
type routeCase struct {
	name   string
	event  string // events/<file>
	caller caller
	setup  func(t testing.TB, e *env) []adjust
	status int
	code   string
	field  string
	check  func(t testing.TB, e *env, r response)
}

// Adjustments and setups shared by many cases.

func none(testing.TB, *env) []adjust { return nil }

func adj(a ...adjust) func(testing.TB, *env) []adjust {
	return func(testing.TB, *env) []adjust { return a }
}

// onCustomer creates a customer of shop A (with credit, if any) and puts
// its id in the path, plus the extra adjustments.
func onCustomer(credit int64, extra ...adjust) func(testing.TB, *env) []adjust {
	return func(t testing.TB, e *env) []adjust {
		c := e.mustCustomer(t, "cust")
		if credit > 0 {
			e.mustCredit(t, e.admin, c.ID, credit)
		}
		return append([]adjust{withPath("id", c.ID)}, extra...)
	}
}

// redeemOnto puts a fresh customer in the path and the code made by code in the body.
func redeemOnto(code func(t testing.TB, e *env) string) func(testing.TB, *env) []adjust {
	return func(t testing.TB, e *env) []adjust {
		c := e.mustCustomer(t, "redeemer")
		return []adjust{withPath("id", c.ID), withBody(map[string]string{"code": code(t, e)})}
	}
}

func freshCode(t testing.TB, e *env) string { return e.mustCard(t, 5000).Code }

func usedCode(t testing.TB, e *env) string {
	card := e.mustCard(t, 5000)
	e.mustRedeem(t, e.mustCustomer(t, "first").ID, card.Code)
	return card.Code
}

func disabledCode(t testing.TB, e *env) string {
	card := e.mustCard(t, 5000)
	e.mustDisable(t, card.ID)
	return card.Code
}

// typo changes a code's check symbol: a malformed code.
func typo(t testing.TB, code string) string {
	t.Helper()
	last := code[len(code)-1:]
	for _, s := range "0123456789ABCDEFGHJKMNPQRSTVWXYZ" {
		cand := code[:len(code)-1] + string(s)
		if string(s) != last {
			if _, err := giftcode.Normalize(cand); err != nil {
				return cand
			}
		}
	}
	t.Fatal("no typo of the code is caught")
	return ""
}

func onCard(card func(t testing.TB, e *env) gc.OrderCard) func(testing.TB, *env) []adjust {
	return func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", card(t, e).ID)} }
}

func onPromotion(paused bool) func(testing.TB, *env) []adjust {
	return func(t testing.TB, e *env) []adjust {
		p := e.mustPromotion(t, e.admin)
		if paused {
			if _, err := e.store.SetPromotionStatus(e.ctx, e.admin, "", p.ID, gc.PromotionPaused); err != nil {
				t.Fatal(err)
			}
		}
		return []adjust{withPath("id", p.ID)}
	}
}

// decodeAs decodes a response body into a fresh T.
func decodeAs[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	r.decode(t, &v)
	return v
}

// Well-formed ids that no record has.
const (
	noCustomer  = "cus_01m6b5cjm0ytqbq220va9wdt9y"
	noOrder     = "ord_01m6b5cjm0gjsyfcehctt81082"
	noTx        = "txn_01m6b5cjm0c3d04cm98e6zm9e4"
	noPromotion = "pro_01m6b5cjm0p223epq4g0zjka08"
	noCard      = "gc_3f9a1c7e5b2d4086a1e9c3b7d5f20e48"
)

func routeCases() []routeCase {
	validPromotion := map[string]any{"name": "Buy $50, get $10", "currency": "USD", "startsAt": "2026-11-01T00:00:00Z",
		"endsAt": "2027-01-01T00:00:00Z", "minGiftCardAmount": 5000, "creditAmount": 1000}
	return append([]routeCase{
		// ------------------------------------------------ POST /v1/customers
		{name: "created by a shop key", event: "customers-create.json", caller: shopKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"email": e.addr("Ana.Garcia")})}
			},
			check: func(t testing.TB, e *env, r response) {
				c := decodeAs[gc.Customer](t, r)
				if c.Email != e.addr("Ana.Garcia") || c.Name != "Ana García" || len(c.Balances) != 0 {
					t.Errorf("created %+v", c)
				}
				if got, err := e.store.CustomerByEmail(e.ctx, e.shop.ID, strings.ToLower(c.Email)); err != nil || got.ID != c.ID {
					t.Errorf("customer not stored in the caller's shop: %v", err)
				}
			}},
		{name: "created by an admin key", event: "customers-create.json", caller: adminKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"email": e.addr("admin-made")})}
			}},
		{name: "created by a second live shop key", event: "customers-create.json", caller: shopKey2, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"email": e.addr("rotated")})}
			}},
		{name: "email taken, case-insensitively: 409 with the existing id", event: "customers-create.json", caller: shopKey,
			status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "taken")
				e.note["existing"] = c.ID
				return []adjust{withPatch(map[string]any{"email": strings.ToUpper(c.Email)})}
			},
			check: func(t testing.TB, e *env, r response) {
				if p := r.problem(t); p.CustomerID != e.note["existing"] || p.Field != "email" {
					t.Errorf("409 = %s, want customerId %s", r.Body, e.note["existing"])
				}
			}},
		{name: "the same email in another shop is not taken", event: "customers-create.json", caller: otherKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "both-shops")
				return []adjust{withPatch(map[string]any{"email": c.Email})}
			}},
		{name: "invalid email", event: "customers-create.json", caller: shopKey, status: 400, field: "email",
			setup: adj(withPatch(map[string]any{"email": "ana at example"}))},
		{name: "missing name", event: "customers-create.json", caller: shopKey, status: 400, field: "name",
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"email": e.addr("noname"), "name": nil})}
			}},
		{name: "unknown field", event: "customers-create.json", caller: shopKey, status: 400, field: "nickname",
			setup: adj(withPatch(map[string]any{"nickname": "Ani"}))},
		{name: "wrong type", event: "customers-create.json", caller: shopKey, status: 400, field: "email",
			setup: adj(withPatch(map[string]any{"email": 42}))},
		{name: "a field name in the wrong case is unknown", event: "customers-create.json", caller: shopKey, status: 400, field: "Email",
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withBody(map[string]any{"Email": e.addr("mixed-case"), "name": "Mixed"})}
			}},
		{name: "a miscased key is named as sent", event: "customers-create.json", caller: shopKey, status: 400, field: "emAil",
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withBody(map[string]any{"emAil": e.addr("mixed-case"), "name": "Mixed"})}
			}},
		{name: "a miscased key of the wrong type is named as sent", event: "customers-create.json", caller: shopKey, status: 400, field: "EMAIL",
			setup: adj(withBody(map[string]any{"EMAIL": 42, "name": "Mixed"}))},

		// ------------------------------------------------- GET /v1/customers
		{name: "found by email, case-insensitively", event: "customers-find.json", caller: shopKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "findme")
				return []adjust{withQuery("email", strings.ToUpper(c.Email))}
			},
			check: func(t testing.TB, e *env, r response) {
				if c := decodeAs[gc.Customer](t, r); !strings.HasPrefix(c.Email, "findme") {
					t.Errorf("found %+v", c)
				}
			}},
		{name: "found by an admin key", event: "customers-find.json", caller: adminKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withQuery("email", e.mustCustomer(t, "findme2").Email)}
			}},
		{name: "unknown email", event: "customers-find.json", caller: shopKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withQuery("email", e.addr("nobody"))} }},
		{name: "another shop's customer", event: "customers-find.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withQuery("email", e.mustCustomer(t, "mine").Email)}
			}},
		{name: "no email parameter", event: "customers-find.json", caller: shopKey, status: 400, field: "email",
			setup: adj(withQuery("email", ""))},
		{name: "not an email", event: "customers-find.json", caller: shopKey, status: 400, field: "email",
			setup: adj(withQuery("email", "ana"))},

		// -------------------------------------------- GET /v1/customers/{id}
		{name: "read with balances", event: "customers-get.json", caller: shopKey, status: 200, setup: onCustomer(2500),
			check: func(t testing.TB, e *env, r response) {
				c := decodeAs[gc.Customer](t, r)
				if want := []gc.Balance{{Currency: "USD", Amount: 2500}}; !slices.Equal(c.Balances, want) {
					t.Errorf("balances = %+v, want %+v", c.Balances, want)
				}
			}},
		{name: "read by an admin key", event: "customers-get.json", caller: adminKey, status: 200, setup: onCustomer(0)},
		{name: "unknown id", event: "customers-get.json", caller: shopKey, status: 404, code: gc.ENOTFOUND, setup: adj(withPath("id", noCustomer))},
		{name: "malformed id", event: "customers-get.json", caller: shopKey, status: 404, code: gc.ENOTFOUND, setup: adj(withPath("id", "cus_../../x"))},
		{name: "another shop's customer", event: "customers-get.json", caller: otherKey, status: 404, code: gc.ENOTFOUND, setup: onCustomer(100)},

		// ------------------------------- GET /v1/customers/{id}/transactions
		{name: "history newest first", event: "customers-transactions.json", caller: shopKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "history")
				e.mustCredit(t, e.admin, c.ID, 100)
				e.mustCredit(t, e.admin, c.ID, 200)
				return []adjust{withPath("id", c.ID)}
			},
			check: func(t testing.TB, e *env, r response) {
				p := decodeAs[gc.TransactionPage](t, r)
				if len(p.Transactions) != 2 || p.Transactions[0].Postings[1].Amount != 200 || p.NextCursor != "" {
					t.Errorf("history = %s", r.Body)
				}
			}},
		{name: "history read by an admin key", event: "customers-transactions.json", caller: adminKey, status: 200, setup: onCustomer(100)},
		{name: "history paginated with an opaque cursor", event: "customers-transactions.json", caller: shopKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "pages")
				for _, a := range []int64{1, 2, 3} {
					e.mustCredit(t, e.admin, c.ID, a)
				}
				return []adjust{withPath("id", c.ID), withQuery("limit", "2")}
			},
			check: func(t testing.TB, e *env, r response) {
				first := decodeAs[gc.TransactionPage](t, r)
				if len(first.Transactions) != 2 || first.NextCursor == "" {
					t.Fatalf("first page = %s", r.Body)
				}
				next := e.do(t, shopKey, e.event(t, "customers-transactions.json", withPath("id", first.Transactions[0].CustomerID),
					withQuery("limit", "2"), withQuery("cursor", first.NextCursor)))
				expect(t, next, 200, "")
				second := decodeAs[gc.TransactionPage](t, next)
				if len(second.Transactions) != 1 || second.Transactions[0].Postings[1].Amount != 1 {
					t.Errorf("second page = %s", next.Body)
				}
			}},
		{name: "limit not a number", event: "customers-transactions.json", caller: shopKey, status: 400, field: "limit", setup: onCustomer(0, withQuery("limit", "ten"))},
		{name: "limit too large", event: "customers-transactions.json", caller: shopKey, status: 400, field: "limit", setup: onCustomer(0, withQuery("limit", "101"))},
		{name: "cursor not ours", event: "customers-transactions.json", caller: shopKey, status: 400, field: "cursor", setup: onCustomer(0, withQuery("cursor", "eyJQSyI6IngifQ"))},
		{name: "another shop's customer's history", event: "customers-transactions.json", caller: otherKey, status: 404, code: gc.ENOTFOUND, setup: onCustomer(100)},

		// ------------------------------------ GET /v1/customers/{id}/lots
		{name: "lots soonest-expiring first, with the next expiry on the balance", event: "customers-lots.json", caller: shopKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "lots")
				e.note["lots"] = c.ID
				e.mustCredit(t, e.admin, c.ID, 100)
				soon, later := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
				for _, x := range []struct {
					amount int64
					exp    time.Time
				}{{200, later}, {300, soon}} {
					if _, err := e.store.Credit(e.ctx, e.admin, "", gc.DirectCredit{CustomerID: c.ID, Amount: x.amount, Currency: "USD", PaymentType: "goodwill", ExpiresAt: &x.exp}); err != nil {
						t.Fatal(err)
					}
				}
				return []adjust{withPath("id", c.ID)}
			},
			check: func(t testing.TB, e *env, r response) {
				p := decodeAs[gc.LotPage](t, r)
				if len(p.Lots) != 3 || p.Lots[0].Remaining != 300 || p.Lots[1].Remaining != 200 || p.Lots[2].ExpiresAt != nil ||
					p.Lots[0].Source != gc.LotCredit || p.NextCursor != "" {
					t.Fatalf("lots = %s", r.Body)
				}
				c, err := e.store.Customer(e.ctx, e.shop.ID, e.note["lots"])
				if err != nil || c.Balances[0].Amount != 600 || c.Balances[0].NextExpiry == nil || c.Balances[0].NextExpiry.Amount != 300 {
					t.Errorf("customer = %+v, %v", c, err)
				}
			}},
		{name: "lots paginated with an opaque cursor", event: "customers-lots.json", caller: shopKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "lotpages")
				for _, a := range []int64{1, 2, 3} {
					e.mustCredit(t, e.admin, c.ID, a)
				}
				e.note["lotpages"] = c.ID
				return []adjust{withPath("id", c.ID), withQuery("limit", "2")}
			},
			check: func(t testing.TB, e *env, r response) {
				first := decodeAs[gc.LotPage](t, r)
				if len(first.Lots) != 2 || first.NextCursor == "" || first.Lots[0].Amount != 1 {
					t.Fatalf("first page = %s", r.Body)
				}
				next := e.do(t, shopKey, e.event(t, "customers-lots.json", withPath("id", e.note["lotpages"]),
					withQuery("limit", "2"), withQuery("cursor", first.NextCursor)))
				expect(t, next, 200, "")
				if second := decodeAs[gc.LotPage](t, next); len(second.Lots) != 1 || second.Lots[0].Amount != 3 {
					t.Errorf("second page = %s", next.Body)
				}
			}},
		{name: "lots read by an admin key", event: "customers-lots.json", caller: adminKey, status: 200, setup: onCustomer(100)},
		{name: "lots cursor not ours", event: "customers-lots.json", caller: shopKey, status: 400, field: "cursor", setup: onCustomer(0, withQuery("cursor", "eyJQSyI6IngifQ"))},
		{name: "another shop's customer's lots", event: "customers-lots.json", caller: otherKey, status: 404, code: gc.ENOTFOUND, setup: onCustomer(100)},

		// ---------------------------------------------------- POST /v1/orders
		{name: "staff sell a gift card for cash", event: "orders-place.json", caller: adminKey, status: 201,
			check: func(t testing.TB, e *env, r response) {
				o := decodeAs[gc.Order](t, r)
				if len(o.GiftCards) != 1 || o.AmountDue != 5000 || o.CreditApplied != 0 || o.PaymentMethod != "cash" {
					t.Fatalf("order = %s", r.Body)
				}
				c, err := giftcode.Normalize(o.GiftCards[0].Code)
				if err != nil || c.Last4() != o.GiftCards[0].Last4 {
					t.Fatalf("code %q does not normalize to last4 %q: %v", o.GiftCards[0].Code, o.GiftCards[0].Last4, err)
				}
				card, err := e.store.CheckCard(e.ctx, e.shop.ID, o.GiftCards[0].Code, "")
				if err != nil || card.Balance != 5000 || card.Status != gc.CardActive || card.OrderID != o.ID {
					t.Errorf("issued card = %+v, %v", card, err)
				}
			}},
		{name: "placed by a shop key", event: "orders-place.json", caller: shopKey, status: 201,
			setup: func(testing.TB, *env) []adjust { return []adjust{withPatch(map[string]any{"paymentMethod": "card"})} }},
		{name: "customer's credit pays for goods", event: "orders-place-with-credit.json", caller: shopKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "buyer")
				e.mustCredit(t, e.admin, c.ID, 2500)
				return []adjust{withPatch(map[string]any{"customerId": c.ID})}
			},
			check: func(t testing.TB, e *env, r response) {
				o := decodeAs[gc.Order](t, r)
				if o.GoodsTotal != 3600 || o.CreditApplied != 2500 || o.AmountDue != 1100 {
					t.Errorf("order = %s", r.Body)
				}
				if b := e.balance(t, o.CustomerID); b != 0 {
					t.Errorf("balance after = %d, want 0", b)
				}
			}},
		{name: "credit never pays for gift cards", event: "orders-place-with-credit.json", caller: adminKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "buyer")
				e.mustCredit(t, e.admin, c.ID, 10000)
				return []adjust{withPatch(map[string]any{"customerId": c.ID, "giftCards": []any{map[string]any{"amount": 5000}}})}
			},
			check: func(t testing.TB, e *env, r response) {
				o := decodeAs[gc.Order](t, r)
				if o.Total != 8600 || o.CreditApplied != 3600 || o.AmountDue != 5000 || e.balance(t, o.CustomerID) != 6400 {
					t.Errorf("order = %s", r.Body)
				}
			}},
		{name: "applyCredit false keeps the credit", event: "orders-place-with-credit.json", caller: shopKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "saver")
				e.mustCredit(t, e.admin, c.ID, 2500)
				return []adjust{withPatch(map[string]any{"customerId": c.ID, "applyCredit": false})}
			},
			check: func(t testing.TB, e *env, r response) {
				o := decodeAs[gc.Order](t, r)
				if o.CreditApplied != 0 || o.AmountDue != 3600 || e.balance(t, o.CustomerID) != 2500 {
					t.Errorf("order = %s", r.Body)
				}
			}},
		{name: "another shop's customer", event: "orders-place-with-credit.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"customerId": e.mustCustomer(t, "mine").ID})}
			}},
		{name: "unknown customer", event: "orders-place-with-credit.json", caller: shopKey, status: 404, code: gc.ENOTFOUND,
			setup: adj(withPatch(map[string]any{"customerId": noCustomer}))},
		{name: "a gift card is not a payment method", event: "orders-place.json", caller: shopKey, status: 400, field: "paymentMethod",
			setup: adj(withPatch(map[string]any{"paymentMethod": "gift_card"}))},
		{name: "zero amount", event: "orders-place.json", caller: shopKey, status: 400, field: "giftCards[0].amount",
			setup: adj(withPatch(map[string]any{"giftCards": []any{map[string]any{"amount": 0}}}))},
		{name: "amount as a string", event: "orders-place.json", caller: shopKey, status: 400, field: "giftCards.amount",
			setup: adj(withPatch(map[string]any{"giftCards": []any{map[string]any{"amount": "50.00"}}}))},
		{name: "unknown field in a gift card", event: "orders-place.json", caller: shopKey, status: 400, field: "giftCards[0].note",
			setup: adj(withPatch(map[string]any{"giftCards": []any{map[string]any{"amount": 100, "note": "hi"}}}))},
		{name: "a miscased key in a gift card", event: "orders-place.json", caller: shopKey, status: 400, field: "giftCards[1].Amount",
			setup: adj(withPatch(map[string]any{"giftCards": []any{map[string]any{"amount": 100}, map[string]any{"Amount": 100}}}))},
		{name: "no items", event: "orders-place.json", caller: shopKey, status: 400, field: "giftCards",
			setup: adj(withPatch(map[string]any{"giftCards": nil}))},
		{name: "unknown currency", event: "orders-place.json", caller: shopKey, status: 400, field: "currency",
			setup: adj(withPatch(map[string]any{"currency": "XYZ"}))},
		{name: "missing billing email", event: "orders-place.json", caller: shopKey, status: 400, field: "billingEmail",
			setup: adj(withPatch(map[string]any{"billingEmail": nil}))},
		{name: "bad recipient email", event: "orders-place.json", caller: shopKey, status: 400, field: "giftCards[0].recipientEmail",
			setup: adj(withPatch(map[string]any{"giftCards": []any{map[string]any{"amount": 100, "recipientEmail": "x"}}}))},

		// ----------------------------------------------- GET /v1/orders/{id}
		{name: "read with codes masked", event: "orders-get.json", caller: shopKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				card := e.mustCard(t, 2000)
				c, _ := e.store.CheckCard(e.ctx, e.shop.ID, card.Code, "")
				return []adjust{withPath("id", c.OrderID)}
			},
			check: func(t testing.TB, e *env, r response) {
				o := decodeAs[gc.Order](t, r)
				if len(o.GiftCards) != 1 || o.GiftCards[0].Code != "" || o.GiftCards[0].Last4 == "" || strings.Contains(r.Body, `"code"`) {
					t.Errorf("order = %s", r.Body)
				}
			}},
		{name: "read by an admin key", event: "orders-get.json", caller: adminKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.mustOrder(t, e.admin).ID)} }},
		{name: "another shop's order", event: "orders-get.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.mustOrder(t, e.admin).ID)} }},
		{name: "unknown order", event: "orders-get.json", caller: shopKey, status: 404, code: gc.ENOTFOUND, setup: adj(withPath("id", noOrder))},

		// ------------------------------- POST /v1/customers/{id}/redemptions
		{name: "redeemed onto the customer", event: "redemption-redeem.json", caller: shopKey, status: 201,
			setup: redeemOnto(func(t testing.TB, e *env) string {
				// People type codes in lower case, with spaces for dashes.
				return strings.ToLower(strings.ReplaceAll(freshCode(t, e), "-", " "))
			}),
			check: func(t testing.TB, e *env, r response) {
				red := decodeAs[gc.Redemption](t, r)
				if red.Amount != 5000 || red.Balance != 5000 {
					t.Errorf("redemption = %s", r.Body)
				}
			}},
		{name: "redeemed by an admin key", event: "redemption-redeem.json", caller: adminKey, status: 201, setup: redeemOnto(freshCode)},
		{name: "used code", event: "redemption-redeem.json", caller: shopKey, status: 409, code: gc.ECONFLICT, setup: redeemOnto(usedCode)},
		{name: "disabled code", event: "redemption-redeem.json", caller: shopKey, status: 409, code: gc.ECONFLICT, setup: redeemOnto(disabledCode)},
		{name: "wrong code", event: "redemption-redeem.json", caller: shopKey, status: 409, code: gc.ECONFLICT,
			setup: redeemOnto(func(t testing.TB, _ *env) string { return unusedCode(t) })},
		{name: "malformed code", event: "redemption-redeem.json", caller: shopKey, status: 400, field: "code",
			setup: redeemOnto(func(t testing.TB, e *env) string { return typo(t, freshCode(t, e)) })},
		{name: "missing code", event: "redemption-redeem.json", caller: shopKey, status: 400, field: "code",
			setup: onCustomer(0, withRaw(`{}`))},
		{name: "another shop's customer", event: "redemption-redeem.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: redeemOnto(freshCode)},
		{name: "another shop's code onto our customer", event: "redemption-redeem.json", caller: otherKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				ours := e.mustCustomerOf(t, e.otherAdm, "theirs")
				return []adjust{withPath("id", ours.ID), withBody(map[string]string{"code": freshCode(t, e)})}
			}},

		// --------------------------------------- POST /v1/gift-cards/check
		{name: "checked", event: "redemption-check.json", caller: shopKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withBody(map[string]string{"code": freshCode(t, e)})}
			},
			check: func(t testing.TB, e *env, r response) {
				c := decodeAs[CardCheck](t, r)
				if c.Balance != 5000 || c.Status != gc.CardActive || c.Currency != "USD" || len(c.Last4) != 4 {
					t.Errorf("check = %s", r.Body)
				}
			}},
		{name: "checked by an admin key", event: "redemption-check.json", caller: adminKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withBody(map[string]string{"code": freshCode(t, e)})}
			}},
		{name: "a redeemed card shows its state", event: "redemption-check.json", caller: shopKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withBody(map[string]string{"code": usedCode(t, e)})}
			},
			check: func(t testing.TB, e *env, r response) {
				if c := decodeAs[CardCheck](t, r); c.Balance != 0 || c.Status != gc.CardRedeemed {
					t.Errorf("check = %s", r.Body)
				}
			}},
		{name: "wrong code", event: "redemption-check.json", caller: shopKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withBody(map[string]string{"code": unusedCode(t)})}
			}},
		{name: "another shop's code", event: "redemption-check.json", caller: otherKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withBody(map[string]string{"code": freshCode(t, e)})}
			}},
		{name: "malformed code", event: "redemption-check.json", caller: shopKey, status: 400, field: "code",
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withBody(map[string]string{"code": typo(t, freshCode(t, e))})}
			}},
		{name: "missing code", event: "redemption-check.json", caller: shopKey, status: 400, field: "code", setup: adj(withRaw(`{}`))},

		// -------------------------------------- POST /v1/gift-cards/{id}/disable
		{name: "disabled by an admin", event: "redemption-disable.json", caller: adminKey, status: 200,
			setup: onCard(func(t testing.TB, e *env) gc.OrderCard { return e.mustCard(t, 3000) }),
			check: func(t testing.TB, e *env, r response) {
				c := decodeAs[gc.GiftCard](t, r)
				if c.Status != gc.CardDisabled || c.Balance != 3000 {
					t.Errorf("card = %s", r.Body)
				}
			}},
		{name: "not by a shop key", event: "redemption-disable.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN,
			setup: onCard(func(t testing.TB, e *env) gc.OrderCard { return e.mustCard(t, 3000) })},
		{name: "disabling twice is a no-op", event: "redemption-disable.json", caller: adminKey, status: 200,
			setup: onCard(func(t testing.TB, e *env) gc.OrderCard {
				c := e.mustCard(t, 3000)
				e.mustDisable(t, c.ID)
				return c
			})},
		{name: "a redeemed card", event: "redemption-disable.json", caller: adminKey, status: 409, code: gc.ECONFLICT,
			setup: onCard(func(t testing.TB, e *env) gc.OrderCard {
				c := e.mustCard(t, 3000)
				e.mustRedeem(t, e.mustCustomer(t, "r").ID, c.Code)
				return c
			})},
		{name: "another shop's card", event: "redemption-disable.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: onCard(func(t testing.TB, e *env) gc.OrderCard { return e.mustCard(t, 3000) })},
		{name: "unknown card", event: "redemption-disable.json", caller: adminKey, status: 404, code: gc.ENOTFOUND, setup: adj(withPath("id", noCard))},
		{name: "malformed card id", event: "redemption-disable.json", caller: adminKey, status: 404, code: gc.ENOTFOUND, setup: adj(withPath("id", "gc_XYZ"))},

		// ---------------------------------- POST /v1/customers/{id}/credits
		{name: "credited against a custom payment type", event: "credits-credit.json", caller: adminKey, status: 201, setup: onCustomer(0),
			check: func(t testing.TB, e *env, r response) {
				tx := decodeAs[gc.Transaction](t, r)
				if tx.Kind != gc.TxCredit || tx.Reference == "" || tx.Actor != e.admin || len(tx.Postings) != 2 ||
					tx.Postings[0].Account != "funding:goodwill" || tx.Postings[0].Amount != -2500 ||
					tx.Postings[1].Account != gc.CustomerAccount(tx.CustomerID) || tx.Postings[1].Amount != 2500 {
					t.Errorf("transaction = %s", r.Body)
				}
				if b := e.balance(t, tx.CustomerID); b != 2500 {
					t.Errorf("balance = %d, want 2500", b)
				}
			}},
		{name: "credit that expires", event: "credits-credit.json", caller: adminKey, status: 201,
			setup: onCustomer(0, withPatch(map[string]any{"expiresAt": "2026-12-31T23:59:59Z"})),
			check: func(t testing.TB, e *env, r response) {
				tx := decodeAs[gc.Transaction](t, r)
				c, err := e.store.Customer(e.ctx, e.shop.ID, tx.CustomerID)
				if err != nil || c.Balances[0].NextExpiry == nil || c.Balances[0].NextExpiry.Amount != 2500 ||
					!c.Balances[0].NextExpiry.ExpiresAt.Equal(time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)) {
					t.Errorf("customer = %+v, %v", c, err)
				}
			}},
		{name: "expiresAt in the past", event: "credits-credit.json", caller: adminKey, status: 400, field: "expiresAt",
			setup: onCustomer(0, withPatch(map[string]any{"expiresAt": "2026-10-31T00:00:00Z"}))},
		{name: "expiresAt past ten years", event: "credits-credit.json", caller: adminKey, status: 400, field: "expiresAt",
			setup: onCustomer(0, withPatch(map[string]any{"expiresAt": "2036-12-01T00:00:00Z"}))},
		{name: "expiresAt not RFC 3339", event: "credits-credit.json", caller: adminKey, status: 400, field: "expiresAt",
			setup: onCustomer(0, withPatch(map[string]any{"expiresAt": "tomorrow"}))},
		{name: "not by a shop key", event: "credits-credit.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN, setup: onCustomer(0)},
		{name: "not by a second shop key either", event: "credits-credit.json", caller: shopKey2, status: 403, code: gc.EFORBIDDEN, setup: onCustomer(0)},
		{name: "another shop's customer", event: "credits-credit.json", caller: otherKey, status: 404, code: gc.ENOTFOUND, setup: onCustomer(0)},
		{name: "unknown customer", event: "credits-credit.json", caller: adminKey, status: 404, code: gc.ENOTFOUND, setup: adj(withPath("id", noCustomer))},
		{name: "bad payment type", event: "credits-credit.json", caller: adminKey, status: 400, field: "paymentType",
			setup: onCustomer(0, withPatch(map[string]any{"paymentType": "Good Will!"}))},
		{name: "missing payment type", event: "credits-credit.json", caller: adminKey, status: 400, field: "paymentType",
			setup: onCustomer(0, withPatch(map[string]any{"paymentType": nil}))},
		{name: "zero amount", event: "credits-credit.json", caller: adminKey, status: 400, field: "amount",
			setup: onCustomer(0, withPatch(map[string]any{"amount": 0}))},
		{name: "fractional amount", event: "credits-credit.json", caller: adminKey, status: 400, field: "amount",
			setup: onCustomer(0, withRaw(`{"amount":25.5,"currency":"USD","paymentType":"goodwill"}`))},
		{name: "lower-case currency", event: "credits-credit.json", caller: adminKey, status: 400, field: "currency",
			setup: onCustomer(0, withPatch(map[string]any{"currency": "usd"}))},
		{name: "reference too long", event: "credits-credit.json", caller: adminKey, status: 400, field: "reference",
			setup: onCustomer(0, withPatch(map[string]any{"reference": strings.Repeat("r", 201)}))},

		// ----------------- POST /v1/customers/{id}/transactions/{txId}/reversals
		{name: "a credit reversed", event: "credits-reverse.json", caller: adminKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "rev")
				tx := e.mustCredit(t, e.admin, c.ID, 2500)
				return []adjust{withPath("id", c.ID), withPath("txId", tx.ID)}
			},
			check: func(t testing.TB, e *env, r response) {
				tx := decodeAs[gc.Transaction](t, r)
				if tx.Kind != gc.TxReversal || tx.Reverses == "" || e.balance(t, tx.CustomerID) != 0 {
					t.Errorf("reversal = %s", r.Body)
				}
			}},
		{name: "not by a shop key", event: "credits-reverse.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "rev")
				return []adjust{withPath("id", c.ID), withPath("txId", e.mustCredit(t, e.admin, c.ID, 100).ID)}
			}},
		{name: "reversed only once", event: "credits-reverse.json", caller: adminKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "rev")
				tx := e.mustCredit(t, e.admin, c.ID, 100)
				if _, err := e.store.Reverse(e.ctx, e.admin, "", gc.Reversal{CustomerID: c.ID, TransactionID: tx.ID, Reason: "first"}); err != nil {
					t.Fatal(err)
				}
				return []adjust{withPath("id", c.ID), withPath("txId", tx.ID)}
			}},
		{name: "spent credit cannot be reversed", event: "credits-reverse.json", caller: adminKey, status: 409, code: gc.EINSUFFICIENTFUNDS,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "rev")
				tx := e.mustCredit(t, e.admin, c.ID, 2500)
				if _, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: c.ID, OrderRef: "o-1", AmountDue: 2000, Currency: "USD"}); err != nil {
					t.Fatal(err)
				}
				return []adjust{withPath("id", c.ID), withPath("txId", tx.ID)}
			}},
		{name: "a redemption is not reversible", event: "credits-reverse.json", caller: adminKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "rev")
				red, err := e.store.Redeem(e.ctx, e.admin, "", c.ID, freshCode(t, e), "")
				if err != nil {
					t.Fatal(err)
				}
				return []adjust{withPath("id", c.ID), withPath("txId", red.TransactionID)}
			}},
		{name: "another customer's transaction", event: "credits-reverse.json", caller: adminKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust {
				tx := e.mustCredit(t, e.admin, e.mustCustomer(t, "a").ID, 100)
				return []adjust{withPath("id", e.mustCustomer(t, "b").ID), withPath("txId", tx.ID)}
			}},
		{name: "another shop's transaction", event: "credits-reverse.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "rev")
				return []adjust{withPath("id", c.ID), withPath("txId", e.mustCredit(t, e.admin, c.ID, 100).ID)}
			}},
		{name: "unknown transaction", event: "credits-reverse.json", caller: adminKey, status: 404, code: gc.ENOTFOUND,
			setup: onCustomer(0, withPath("txId", noTx))},
		{name: "missing reason", event: "credits-reverse.json", caller: adminKey, status: 400, field: "reason",
			setup: onCustomer(0, withPath("txId", noTx), withRaw(`{}`))},

		// ----------------------- POST /v1/customers/{id}/credit-applications
		{name: "credit applied up to the balance", event: "creditapplications-apply.json", caller: shopKey, status: 201, setup: onCustomer(2500),
			check: func(t testing.TB, e *env, r response) {
				a := decodeAs[gc.AppliedCredit](t, r)
				if a.Applied != 2500 || a.AmountDue != 1700 || a.Balance != 0 || a.TransactionID == "" {
					t.Errorf("application = %s", r.Body)
				}
			}},
		{name: "applied by an admin key, up to the amount due", event: "creditapplications-apply.json", caller: adminKey, status: 201,
			setup: onCustomer(5000, withPatch(map[string]any{"orderRef": "web-admin"})),
			check: func(t testing.TB, e *env, r response) {
				if a := decodeAs[gc.AppliedCredit](t, r); a.Applied != 4200 || a.AmountDue != 0 || a.Balance != 800 {
					t.Errorf("application = %s", r.Body)
				}
			}},
		{name: "nothing to apply", event: "creditapplications-apply.json", caller: shopKey, status: 201,
			setup: onCustomer(0, withPatch(map[string]any{"orderRef": "web-nothing"})),
			check: func(t testing.TB, e *env, r response) {
				if a := decodeAs[gc.AppliedCredit](t, r); a.Applied != 0 || a.AmountDue != 4200 || a.TransactionID != "" {
					t.Errorf("application = %s", r.Body)
				}
			}},
		{name: "once per order ref", event: "creditapplications-apply.json", caller: shopKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "twice")
				e.mustCredit(t, e.admin, c.ID, 9000)
				if _, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: c.ID, OrderRef: "web-twice", AmountDue: 100, Currency: "USD"}); err != nil {
					t.Fatal(err)
				}
				return []adjust{withPath("id", c.ID), withPatch(map[string]any{"orderRef": "web-twice"})}
			}},
		{name: "another shop's customer", event: "creditapplications-apply.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: onCustomer(2500, withPatch(map[string]any{"orderRef": "web-other-shop"}))},
		{name: "missing order ref", event: "creditapplications-apply.json", caller: shopKey, status: 400, field: "orderRef",
			setup: onCustomer(0, withPatch(map[string]any{"orderRef": nil}))},
		{name: "negative amount due", event: "creditapplications-apply.json", caller: shopKey, status: 400, field: "amountDue",
			setup: onCustomer(0, withPatch(map[string]any{"amountDue": -1}))},
		{name: "missing currency", event: "creditapplications-apply.json", caller: shopKey, status: 400, field: "currency",
			setup: onCustomer(0, withPatch(map[string]any{"currency": nil}))},

		// ------------------------------------------------ POST /v1/promotions
		{name: "defined", event: "promotions-create.json", caller: adminKey, status: 201,
			check: func(t testing.TB, e *env, r response) {
				p := decodeAs[gc.Promotion](t, r)
				if p.Status != gc.PromotionActive || p.Per != gc.PerOrder || p.PerCustomerLimit != 1 || p.CreditAmount != 1000 {
					t.Errorf("promotion = %s", r.Body)
				}
			}},
		{name: "defaults applied", event: "promotions-create.json", caller: adminKey, status: 201, setup: adj(withBody(validPromotion)),
			check: func(t testing.TB, e *env, r response) {
				if p := decodeAs[gc.Promotion](t, r); p.Per != gc.PerOrder || p.PerCustomerLimit != 1 || p.Budget != nil {
					t.Errorf("promotion = %s", r.Body)
				}
			}},
		{name: "credit that expires in 90 days", event: "promotions-create.json", caller: adminKey, status: 201,
			setup: adj(withPatch(map[string]any{"creditExpiresInDays": 90})),
			check: func(t testing.TB, e *env, r response) {
				if p := decodeAs[gc.Promotion](t, r); p.CreditExpiresInDays == nil || *p.CreditExpiresInDays != 90 {
					t.Errorf("promotion = %s", r.Body)
				}
			}},
		{name: "creditExpiresInDays out of range", event: "promotions-create.json", caller: adminKey, status: 400, field: "creditExpiresInDays",
			setup: adj(withPatch(map[string]any{"creditExpiresInDays": 3651}))},
		{name: "creditExpiresInDays zero", event: "promotions-create.json", caller: adminKey, status: 400, field: "creditExpiresInDays",
			setup: adj(withPatch(map[string]any{"creditExpiresInDays": 0}))},
		{name: "not by a shop key", event: "promotions-create.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN},
		{name: "another shop defines its own", event: "promotions-create.json", caller: otherKey, status: 201,
			check: func(t testing.TB, e *env, r response) {
				p := decodeAs[gc.Promotion](t, r)
				if _, err := e.store.Promotion(e.ctx, e.other.ID, p.ID); err != nil {
					t.Errorf("not in shop B: %v", err)
				}
				if _, err := e.store.Promotion(e.ctx, e.shop.ID, p.ID); gc.ErrorCode(err) != gc.ENOTFOUND {
					t.Errorf("shop B's promotion is in shop A: %v", err)
				}
			}},
		{name: "ends before it starts", event: "promotions-create.json", caller: adminKey, status: 400, field: "endsAt",
			setup: adj(withPatch(map[string]any{"endsAt": "2026-10-01T00:00:00Z"}))},
		{name: "unknown per", event: "promotions-create.json", caller: adminKey, status: 400, field: "per",
			setup: adj(withPatch(map[string]any{"per": "week"}))},
		{name: "missing name", event: "promotions-create.json", caller: adminKey, status: 400, field: "name",
			setup: adj(withPatch(map[string]any{"name": nil}))},
		{name: "zero credit", event: "promotions-create.json", caller: adminKey, status: 400, field: "creditAmount",
			setup: adj(withPatch(map[string]any{"creditAmount": 0}))},
		{name: "budget of the wrong type", event: "promotions-create.json", caller: adminKey, status: 400, field: "budget",
			setup: adj(withPatch(map[string]any{"budget": "lots"}))},
		{name: "start of the wrong type", event: "promotions-create.json", caller: adminKey, status: 400, field: "startsAt",
			setup: adj(withPatch(map[string]any{"startsAt": 1793491200}))},
		{name: "end not RFC 3339", event: "promotions-create.json", caller: adminKey, status: 400, field: "endsAt",
			setup: adj(withPatch(map[string]any{"endsAt": "1 Jan 2027"}))},
		{name: "end on a day that does not exist", event: "promotions-create.json", caller: adminKey, status: 400, field: "endsAt",
			setup: adj(withPatch(map[string]any{"endsAt": "2027-02-30T00:00:00Z"}))},
		{name: "start as a date without a time", event: "promotions-create.json", caller: adminKey, status: 400, field: "startsAt",
			setup: adj(withPatch(map[string]any{"startsAt": "2026-11-01"}))},
		{name: "start as an object", event: "promotions-create.json", caller: adminKey, status: 400, field: "startsAt",
			setup: adj(withPatch(map[string]any{"startsAt": map[string]any{}}))},
		{name: "a miscased time key", event: "promotions-create.json", caller: adminKey, status: 400, field: "EndsAt",
			setup: adj(withPatch(map[string]any{"endsAt": nil, "EndsAt": "2027-01-01T00:00:00Z"}))},

		// ------------------------------------------------- GET /v1/promotions
		{name: "listed newest first", event: "promotions-list.json", caller: adminKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				e.mustPromotion(t, e.admin)
				e.note["last"] = e.mustPromotion(t, e.admin).ID
				return nil
			},
			check: func(t testing.TB, e *env, r response) {
				p := decodeAs[gc.PromotionPage](t, r)
				if len(p.Promotions) < 2 || p.Promotions[0].ID != e.note["last"] || !p.Promotions[0].CreatedAt.After(p.Promotions[1].CreatedAt) {
					t.Errorf("promotions = %s", r.Body)
				}
			}},
		{name: "paginated", event: "promotions-list.json", caller: adminKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				e.mustPromotion(t, e.admin)
				e.mustPromotion(t, e.admin)
				return []adjust{withQuery("limit", "1")}
			},
			check: func(t testing.TB, e *env, r response) {
				p := decodeAs[gc.PromotionPage](t, r)
				if len(p.Promotions) != 1 || p.NextCursor == "" {
					t.Fatalf("first page = %s", r.Body)
				}
				next := e.do(t, adminKey, e.event(t, "promotions-list.json", withQuery("limit", "1"), withQuery("cursor", p.NextCursor)))
				expect(t, next, 200, "")
				if q := decodeAs[gc.PromotionPage](t, next); len(q.Promotions) != 1 || q.Promotions[0].ID == p.Promotions[0].ID {
					t.Errorf("second page = %s", next.Body)
				}
			}},
		{name: "not by a shop key", event: "promotions-list.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN},
		{name: "another shop sees none of ours", event: "promotions-list.json", caller: otherKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust { e.mustPromotion(t, e.admin); return nil },
			check: func(t testing.TB, e *env, r response) {
				if p := decodeAs[gc.PromotionPage](t, r); len(p.Promotions) != 0 {
					t.Errorf("shop B sees %s", r.Body)
				}
			}},
		{name: "limit too large", event: "promotions-list.json", caller: adminKey, status: 400, field: "limit", setup: adj(withQuery("limit", "1000"))},
		{name: "bad cursor", event: "promotions-list.json", caller: adminKey, status: 400, field: "cursor", setup: adj(withQuery("cursor", "%%%"))},

		// -------------------------------------------- GET /v1/promotions/{id}
		{name: "read", event: "promotions-get.json", caller: adminKey, status: 200, setup: onPromotion(false)},
		{name: "not by a shop key", event: "promotions-get.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN, setup: onPromotion(false)},
		{name: "another shop's promotion", event: "promotions-get.json", caller: otherKey, status: 404, code: gc.ENOTFOUND, setup: onPromotion(false)},
		{name: "unknown promotion", event: "promotions-get.json", caller: adminKey, status: 404, code: gc.ENOTFOUND, setup: adj(withPath("id", noPromotion))},

		// ------------------------------------ POST /v1/promotions/{id}/pause
		{name: "paused", event: "promotions-pause.json", caller: adminKey, status: 200, setup: onPromotion(false),
			check: func(t testing.TB, e *env, r response) {
				p := decodeAs[gc.Promotion](t, r)
				if stored, err := e.store.Promotion(e.ctx, e.shop.ID, p.ID); err != nil || p.Status != gc.PromotionPaused || stored.Status != gc.PromotionPaused {
					t.Errorf("promotion = %s, stored %+v %v", r.Body, stored, err)
				}
			}},
		{name: "pausing twice is a no-op", event: "promotions-pause.json", caller: adminKey, status: 200, setup: onPromotion(true)},
		{name: "not by a shop key", event: "promotions-pause.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN, setup: onPromotion(false)},
		{name: "another shop's promotion", event: "promotions-pause.json", caller: otherKey, status: 404, code: gc.ENOTFOUND, setup: onPromotion(false)},
		{name: "unknown promotion", event: "promotions-pause.json", caller: adminKey, status: 404, code: gc.ENOTFOUND, setup: adj(withPath("id", noPromotion))},

		// ----------------------------------- POST /v1/promotions/{id}/resume
		{name: "resumed", event: "promotions-resume.json", caller: adminKey, status: 200, setup: onPromotion(true),
			check: func(t testing.TB, e *env, r response) {
				if p := decodeAs[gc.Promotion](t, r); p.Status != gc.PromotionActive {
					t.Errorf("promotion = %s", r.Body)
				}
			}},
		{name: "not by a shop key", event: "promotions-resume.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN, setup: onPromotion(true)},
		{name: "another shop's promotion", event: "promotions-resume.json", caller: otherKey, status: 404, code: gc.ENOTFOUND, setup: onPromotion(true)},

		// ------------------------------------------------------ POST /v1/holds
		{name: "credit held by a shop key", event: "checkout-hold.json", caller: shopKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "checkout")
				e.mustCredit(t, e.admin, c.ID, 5000)
				e.note["holder"] = c.ID
				return []adjust{withPatch(map[string]any{"customerId": c.ID})}
			},
			check: func(t testing.TB, e *env, r response) {
				h := decodeAs[gc.Hold](t, r)
				if h.Amount != 4200 || h.Status != gc.HoldHeld || h.Source.Type != gc.SourceCredit || h.Source.CustomerID != e.note["holder"] {
					t.Errorf("hold = %s", r.Body)
				}
				c, _ := e.store.Customer(e.ctx, e.shop.ID, e.note["holder"])
				if want := []gc.Balance{{Currency: "USD", Amount: 800, Held: 4200}}; !slices.Equal(c.Balances, want) {
					t.Errorf("balances = %+v, want %+v", c.Balances, want)
				}
			}},
		{name: "held by an admin key, up to the credit", event: "checkout-hold.json", caller: adminKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "checkout")
				e.mustCredit(t, e.admin, c.ID, 1000)
				return []adjust{withPatch(map[string]any{"customerId": c.ID, "expiresIn": 3600})}
			},
			check: func(t testing.TB, e *env, r response) {
				if h := decodeAs[gc.Hold](t, r); h.Amount != 1000 || !h.ExpiresAt.Equal(h.CreatedAt.Add(time.Hour)) {
					t.Errorf("hold = %s", r.Body)
				}
			}},
		{name: "a guest pays with a gift card code in one step", event: "checkout-hold.json", caller: shopKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				card := e.mustCard(t, 3000)
				e.note["code"] = card.Code
				return []adjust{withBody(map[string]any{"currency": "USD", "amount": 4200, "orderRef": "guest-7",
					"giftCardCode": strings.ToLower(card.Code), "capture": true, "clientRef": "session-7"})}
			},
			check: func(t testing.TB, e *env, r response) {
				h := decodeAs[gc.Hold](t, r)
				if h.Amount != 3000 || h.Captured != 3000 || h.Status != gc.HoldCaptured || h.Source.Type != gc.SourceGiftCard || len(h.Captures) != 1 {
					t.Errorf("hold = %s", r.Body)
				}
				if c, _ := e.store.CheckCard(e.ctx, e.shop.ID, e.note["code"], ""); c.Balance != 0 || c.Held != 0 {
					t.Errorf("card = %+v", c)
				}
			}},
		{name: "nothing to hold", event: "checkout-hold.json", caller: shopKey, status: 409, code: gc.EINSUFFICIENTFUNDS,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"customerId": e.mustCustomer(t, "empty").ID})}
			}},
		{name: "a used code is the one 409", event: "checkout-hold.json", caller: shopKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withBody(map[string]any{"currency": "USD", "amount": 100, "orderRef": "g", "giftCardCode": usedCode(t, e)})}
			}},
		{name: "a malformed code", event: "checkout-hold.json", caller: shopKey, status: 400, field: "giftCardCode",
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withBody(map[string]any{"currency": "USD", "amount": 100, "orderRef": "g", "giftCardCode": typo(t, freshCode(t, e))})}
			}},
		{name: "another shop's customer", event: "checkout-hold.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "mine")
				e.mustCredit(t, e.admin, c.ID, 5000)
				return []adjust{withPatch(map[string]any{"customerId": c.ID})}
			}},
		{name: "neither customer nor code", event: "checkout-hold.json", caller: shopKey, status: 400, field: "customerId",
			setup: adj(withPatch(map[string]any{"customerId": nil}))},
		{name: "both customer and code", event: "checkout-hold.json", caller: shopKey, status: 400, field: "giftCardCode",
			setup: adj(withPatch(map[string]any{"giftCardCode": "ABCD-EFGH-JKMN-PQRS-T"}))},
		{name: "expiresIn too short", event: "checkout-hold.json", caller: shopKey, status: 400, field: "expiresIn",
			setup: adj(withPatch(map[string]any{"expiresIn": 59}))},
		{name: "zero amount", event: "checkout-hold.json", caller: shopKey, status: 400, field: "amount",
			setup: adj(withPatch(map[string]any{"amount": 0}))},
		{name: "unknown currency", event: "checkout-hold.json", caller: shopKey, status: 400, field: "currency",
			setup: adj(withPatch(map[string]any{"currency": "usd"}))},

		// ------------------------------------------------ GET /v1/holds/{id}
		{name: "read by a shop key", event: "checkout-get.json", caller: shopKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.mustHold(t, 900).ID)} },
			check: func(t testing.TB, e *env, r response) {
				if h := decodeAs[gc.Hold](t, r); h.Amount != 900 || h.Status != gc.HoldHeld {
					t.Errorf("hold = %s", r.Body)
				}
			}},
		{name: "read by an admin key", event: "checkout-get.json", caller: adminKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.mustHold(t, 900).ID)} }},
		{name: "unknown hold", event: "checkout-get.json", caller: shopKey, status: 404, code: gc.ENOTFOUND, setup: none},
		{name: "malformed id", event: "checkout-get.json", caller: shopKey, status: 404, code: gc.ENOTFOUND, setup: adj(withPath("id", "hld_x"))},
		{name: "another shop's hold", event: "checkout-get.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.mustHold(t, 900).ID)} }},

		// ------------------------------------- POST /v1/holds/{id}/captures
		{name: "part captured by a shop key", event: "checkout-capture.json", caller: shopKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPath("id", e.mustHold(t, 5000).ID), withBody(map[string]any{"amount": 1200})}
			},
			check: func(t testing.TB, e *env, r response) {
				if h := decodeAs[gc.Hold](t, r); h.Captured != 1200 || h.Status != gc.HoldHeld || len(h.Captures) != 1 {
					t.Errorf("hold = %s", r.Body)
				}
			}},
		{name: "final capture by an admin key releases the rest", event: "checkout-capture.json", caller: adminKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				h := e.mustHold(t, 5000)
				e.note["holder"] = h.Source.CustomerID
				return []adjust{withPath("id", h.ID)}
			},
			check: func(t testing.TB, e *env, r response) {
				if h := decodeAs[gc.Hold](t, r); h.Captured != 4200 || h.Status != gc.HoldCaptured {
					t.Errorf("hold = %s", r.Body)
				}
				if b := e.balance(t, e.note["holder"]); b != 800 {
					t.Errorf("balance after = %d, want 800", b)
				}
			}},
		{name: "more than is held", event: "checkout-capture.json", caller: shopKey, status: 409, code: gc.EINSUFFICIENTFUNDS,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.mustHold(t, 4000).ID)} }},
		{name: "a voided hold", event: "checkout-capture.json", caller: shopKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				h := e.mustHold(t, 5000)
				if _, err := e.store.VoidHold(e.ctx, e.admin, "", h.ID); err != nil {
					t.Fatal(err)
				}
				return []adjust{withPath("id", h.ID)}
			}},
		{name: "zero amount", event: "checkout-capture.json", caller: shopKey, status: 400, field: "amount",
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPath("id", e.mustHold(t, 5000).ID), withBody(map[string]any{"amount": 0})}
			}},
		{name: "another shop's hold", event: "checkout-capture.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.mustHold(t, 5000).ID)} }},

		// ----------------------------------------- POST /v1/holds/{id}/void
		{name: "voided by a shop key", event: "checkout-void.json", caller: shopKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				h := e.mustHold(t, 900)
				e.note["holder"], e.note["hold"] = h.Source.CustomerID, h.ID
				return []adjust{withPath("id", h.ID)}
			},
			check: func(t testing.TB, e *env, r response) {
				if h := decodeAs[gc.Hold](t, r); h.Status != gc.HoldVoided {
					t.Errorf("hold = %s", r.Body)
				}
				if b := e.balance(t, e.note["holder"]); b != 900 {
					t.Errorf("balance after = %d, want 900", b)
				}
			}},
		{name: "voiding again by an admin key changes nothing", event: "checkout-void.json", caller: adminKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.note["hold"])} },
			check: func(t testing.TB, e *env, r response) {
				if h := decodeAs[gc.Hold](t, r); h.Status != gc.HoldVoided || e.balance(t, e.note["holder"]) != 900 {
					t.Errorf("hold = %s", r.Body)
				}
			}},
		{name: "a captured hold", event: "checkout-void.json", caller: shopKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				h := e.mustHold(t, 900)
				if _, err := e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: h.ID, Amount: 900}); err != nil {
					t.Fatal(err)
				}
				return []adjust{withPath("id", h.ID)}
			}},
		{name: "another shop's hold", event: "checkout-void.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.mustHold(t, 900).ID)} }},

		// ---------------------------------------------------- POST /v1/refunds
		{name: "a card payment refunded to the card by a shop key", event: "checkout-refund.json", caller: shopKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"transactionId": e.mustCardCapture(t, 2000)})}
			},
			check: func(t testing.TB, e *env, r response) {
				if rf := decodeAs[gc.Refund](t, r); rf.Amount != 1000 || rf.To != "source" {
					t.Errorf("refund = %s", r.Body)
				}
			}},
		{name: "a credit application refunded by an admin key", event: "checkout-refund.json", caller: adminKey, status: 201,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "refundee")
				e.mustCredit(t, e.admin, c.ID, 3000)
				a, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: c.ID, OrderRef: "web-r", AmountDue: 2500, Currency: "USD"})
				if err != nil {
					t.Fatal(err)
				}
				e.note["refundee"] = c.ID
				return []adjust{withPatch(map[string]any{"transactionId": a.TransactionID, "to": "credit"})}
			},
			check: func(t testing.TB, e *env, r response) {
				if b := e.balance(t, e.note["refundee"]); b != 1500 {
					t.Errorf("balance after = %d, want 1500", b)
				}
			}},
		{name: "a card spend to credit needs a customer", event: "checkout-refund.json", caller: shopKey, status: 400, field: "customerId",
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"transactionId": e.mustCardCapture(t, 2000), "to": "credit"})}
			}},
		{name: "more than was spent", event: "checkout-refund.json", caller: shopKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"transactionId": e.mustCardCapture(t, 900)})}
			}},
		{name: "not a spend", event: "checkout-refund.json", caller: shopKey, status: 409, code: gc.ECONFLICT,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"transactionId": e.mustCredit(t, e.admin, e.mustCustomer(t, "c").ID, 5000).ID})}
			}},
		{name: "an unknown transaction", event: "checkout-refund.json", caller: shopKey, status: 404, code: gc.ENOTFOUND, setup: none},
		{name: "a customer for a refund to source", event: "checkout-refund.json", caller: shopKey, status: 400, field: "customerId",
			setup: adj(withPatch(map[string]any{"customerId": noCustomer}))},
		{name: "an unknown destination", event: "checkout-refund.json", caller: shopKey, status: 400, field: "to",
			setup: adj(withPatch(map[string]any{"to": "cash"}))},
		{name: "another shop's spend", event: "checkout-refund.json", caller: otherKey, status: 404, code: gc.ENOTFOUND,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"transactionId": e.mustCardCapture(t, 2000)})}
			}},

		// ------------------------------------- GET /v1/reports/liability
		{name: "read by an admin key", event: "reports-liability.json", caller: adminKey, status: 200,
			check: func(t testing.TB, e *env, r response) {
				if rep := decodeAs[gc.LiabilityReport](t, r); rep.Currency != "USD" || rep.From != "2026-10-01" || rep.To != "2026-10-31" {
					t.Errorf("report = %s", r.Body)
				}
			}},
		{name: "as CSV", event: "reports-liability-csv.json", caller: adminKey, status: 200,
			check: func(t testing.TB, e *env, r response) {
				if rows := strings.Count(r.Body, "\r\n"); rows != 32 || !strings.HasPrefix(r.Body, "day,currency,") {
					t.Errorf("CSV has %d lines, want a header and 31 days: %s", rows, r.Body)
				}
			}},
		{name: "a shop key", event: "reports-liability.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN, setup: none},
		{name: "another shop's admin sees its own", event: "reports-liability.json", caller: otherKey, status: 200, setup: none},
		{name: "a bad date", event: "reports-liability.json", caller: adminKey, status: 400, field: "from",
			setup: adj(withQuery("from", "2026-13-01"))},
		{name: "a bad currency", event: "reports-liability.json", caller: adminKey, status: 400, field: "currency",
			setup: adj(withQuery("currency", "EURO"))},
		// Webhooks: webhooks_test.go.
	}, webhookRouteCases()...)
}

// TestRoutes runs the route matrix: for each golden event, its cases in
// order against one fresh deployment (each case makes its own records).
func TestRoutes(t *testing.T) {
	t.Parallel()
	byEvent := map[string][]routeCase{}
	var order []string
	for _, c := range routeCases() {
		if _, ok := byEvent[c.event]; !ok {
			order = append(order, c.event)
		}
		byEvent[c.event] = append(byEvent[c.event], c)
	}
	for _, name := range order {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			for _, c := range byEvent[name] {
				t.Run(c.name, func(t *testing.T) {
					setup := c.setup
					if setup == nil {
						setup = none
					}
					ev := e.event(t, c.event, setup(t, e)...)
					r := e.do(t, c.caller, ev)
					expect(t, r, c.status, c.code)
					if c.field != "" {
						expectField(t, r, c.field)
					}
					if c.check != nil {
						c.check(t, e, r)
					}
				})
			}
			e.mustAudit(t)
		})

	}
}

// TestRouteMatrixIsComplete holds the matrix to the contract: every route
// has a success with an admin key, a success with a shop key or (for an
// admin route) a 403 for it, and, where a path names a record, a 404 for
// another shop's key.
func TestRouteMatrixIsComplete(t *testing.T) {
	t.Parallel()
	type seen struct{ adminOK, shopOK, shop403, other404 bool }
	got := map[string]*seen{}
	for _, c := range routeCases() {
		ev := loadEvent(t, c.event)
		s := got[ev.RouteKey]
		if s == nil {
			s = &seen{}
			got[ev.RouteKey] = s
		}
		ok := c.status < 300
		switch {
		case c.caller == adminKey && ok:
			s.adminOK = true
		case c.caller == shopKey && ok:
			s.shopOK = true
		case c.caller == shopKey && c.status == http.StatusForbidden:
			s.shop403 = true
		case c.caller == otherKey && (c.status == http.StatusNotFound || c.status == http.StatusConflict || ok):
			s.other404 = true
		}
	}
	for _, r := range Routes {
		s := got[r.Key()]
		if s == nil {
			t.Errorf("%s: no cases", r.Key())
			continue
		}
		if !s.adminOK {
			t.Errorf("%s: no success with an admin key", r.Key())
		}
		if r.Role == RoleShop && !s.shopOK {
			t.Errorf("%s: no success with a shop key", r.Key())
		}
		if r.Role == RoleAdmin && !s.shop403 {
			t.Errorf("%s: no 403 for a shop key", r.Key())
		}
		if !s.other404 {
			t.Errorf("%s: no case for another shop's key", r.Key())
		}
	}
}

// TestUnauthenticated sends every route's golden event without a usable
// key: each must be a 401 problem, whatever the route's role, and no
// mutation may happen.
func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := e.itemCount(t)
	for _, rt := range Routes {
		name := goldenEventFor(t, rt)
		for _, who := range []caller{noKey, badScheme, unknownKey, revokedKey} {
			t.Run(fmt.Sprintf("%s/%s", rt.Key(), who), func(t *testing.T) {
				r := e.do(t, who, e.event(t, name))
				expect(t, r, 401, gc.EUNAUTHORIZED)
			})
		}
		t.Run(rt.Key()+"/no authorizer context", func(t *testing.T) {
			ev := e.event(t, name)
			ev.RequestContext.Authorizer = nil
			expect(t, e.invoke(t, ev), 401, gc.EUNAUTHORIZED)
		})
		t.Run(rt.Key()+"/forged role in the context", func(t *testing.T) {
			ev := e.event(t, name)
			ev.RequestContext.Authorizer.Lambda["role"] = "superuser"
			expect(t, e.invoke(t, ev), 401, gc.EUNAUTHORIZED)
		})
	}
	if after := e.itemCount(t); after != before {
		t.Errorf("unauthenticated requests wrote %d items", after-before)
	}
	// The shop's other live key still works after one was revoked.
	r := e.do(t, shopKey2, e.event(t, "customers-find.json", withQuery("email", e.mustCustomer(t, "still").Email)))
	expect(t, r, 200, "")
}

// goldenEventFor is the first events/*.json for a route.
func goldenEventFor(t testing.TB, rt Route) string {
	t.Helper()
	for _, c := range routeCases() {
		if loadEvent(t, c.event).RouteKey == rt.Key() {
			return c.event
		}
	}
	t.Fatalf("no event for %s", rt.Key())
	return ""
}

// TestEachFunctionServesOnlyItsRoutes: a route key reaching the wrong
// function (a template mistake) is a 404 problem, never served.
func TestEachFunctionServesOnlyItsRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, rt := range Routes {
		ev := e.event(t, goldenEventFor(t, rt))
		e.authorize(t, adminKey, &ev)
		ev.RequestContext.RequestID = "req-wrong-function"
		for fn, h := range e.handlers {
			if fn == rt.Function {
				continue // served: the route matrix checks it
			}
			out, err := h.Handle(e.ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if out.StatusCode != http.StatusNotFound || out.Headers["X-Request-Id"] != "req-wrong-function" ||
				out.Headers["Content-Type"] != "application/problem+json" {
				t.Errorf("%s answered %s with %d %v, want a 404 problem", fn, rt.Key(), out.StatusCode, out.Headers)
			}
		}
	}
}

// TestSameAnswerForWrongUsedAndDisabledCodes: no response tells a guesser
// whether a code exists.
func TestSameAnswerForWrongUsedAndDisabledCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	strip := func(r response) string {
		p := r.problem(t)
		p.RequestID = ""
		b, _ := json.Marshal(p)
		return fmt.Sprintf("%d %s", r.StatusCode, b)
	}
	for _, ev := range []string{"redemption-redeem.json", "redemption-check.json"} {
		var answers []string
		for _, code := range []func(testing.TB, *env) string{usedCode, disabledCode, func(t testing.TB, _ *env) string { return unusedCode(t) }} {
			adjs := redeemOnto(code)(t, e)
			r := e.do(t, shopKey, e.event(t, ev, adjs...))
			if ev == "redemption-check.json" && r.StatusCode == 200 {
				continue // a check of an issued card shows its status by design
			}
			answers = append(answers, strip(r))
		}
		for _, a := range answers[1:] {
			if a != answers[0] {
				t.Errorf("%s: answers differ:\n%s\n%s", ev, answers[0], a)
			}
		}
	}
}

// TestLockout: ten failed redemptions by one customer lock that customer
// out with a 429 and Retry-After, even for a good code; another customer
// of the shop is not locked.
func TestLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.mustCustomer(t, "guesser")
	used := usedCode(t, e)
	for i := 1; i <= 10; i++ {
		r := e.do(t, shopKey, e.event(t, "redemption-redeem.json", withPath("id", c.ID), withBody(map[string]string{"code": used})))
		expect(t, r, 409, gc.ECONFLICT)
	}
	r := e.do(t, shopKey, e.event(t, "redemption-redeem.json", withPath("id", c.ID), withBody(map[string]string{"code": used})))
	expect(t, r, 429, gc.ERATELIMITED)
	if ra := r.Headers["Retry-After"]; ra == "" || len(ra) > 4 {
		t.Errorf("Retry-After = %q, want seconds within the hour window", ra)
	}
	good := e.mustCard(t, 700)
	r = e.do(t, shopKey, e.event(t, "redemption-redeem.json", withPath("id", c.ID), withBody(map[string]string{"code": good.Code})))
	expect(t, r, 429, gc.ERATELIMITED)
	if b := e.balance(t, c.ID); b != 0 {
		t.Errorf("a locked-out customer's balance moved to %d", b)
	}
	other := e.mustCustomer(t, "honest")
	r = e.do(t, shopKey, e.event(t, "redemption-redeem.json", withPath("id", other.ID), withBody(map[string]string{"code": good.Code})))
	expect(t, r, 201, "")
	e.mustAudit(t)
}

// TestBodyTooLarge: every POST route refuses a body over 64 KiB with 413,
// also when it comes base64-encoded, and takes one of exactly 64 KiB.
func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := `{"x":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	for _, rt := range Routes {
		if rt.Method != http.MethodPost {
			continue
		}
		name := goldenEventFor(t, rt)
		t.Run(rt.Key(), func(t *testing.T) {
			r := e.do(t, adminKey, e.event(t, name, withRaw(big)))
			expect(t, r, 413, gc.ETOOLARGE)
			r = e.do(t, adminKey, e.event(t, name, withRaw(base64.StdEncoding.EncodeToString([]byte(big))), base64Encoded))
			expect(t, r, 413, gc.ETOOLARGE)
		})
	}
	t.Run("exactly 64 KiB is accepted", func(t *testing.T) {
		b := `{"email":"` + e.addr("padded") + `","name":"Pad"}`
		b += strings.Repeat(" ", MaxBodyBytes-len(b))
		r := e.do(t, shopKey, e.event(t, "customers-create.json", withRaw(b)))
		expect(t, r, 201, "")
	})
}

// TestInvalidBodies: every route with a JSON body names the field at
// fault for an unknown field, a wrong type and a missing field, and the
// body for what is not one JSON object.
func TestInvalidBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cus := e.mustCustomer(t, "bodies")
	bodies := []struct {
		event    string
		unknown  string // a field to add
		wrongKey string // a field to give a wrong type
		wrongVal any
		missing  string // a required field to drop
	}{
		{"customers-create.json", "phone", "name", []int{1}, "email"},
		{"orders-place.json", "discount", "giftCards", "50", "paymentMethod"},
		{"redemption-redeem.json", "pin", "code", 12345, "code"},
		{"redemption-check.json", "pin", "code", true, "code"},
		{"credits-credit.json", "note", "amount", "25.00", "currency"},
		{"credits-reverse.json", "amount", "reason", 7, "reason"},
		{"creditapplications-apply.json", "customerId", "amountDue", 42.5, "orderRef"},
		{"promotions-create.json", "code", "perCustomerLimit", "one", "minGiftCardAmount"},
		{"checkout-hold.json", "pin", "amount", "42", "orderRef"},
		{"checkout-capture.json", "note", "final", "yes", "amount"},
		{"checkout-refund.json", "reason", "amount", "10.00", "transactionId"},
	}
	at := []adjust{withPath("id", cus.ID), withPath("txId", noTx)}
	for _, b := range bodies {
		t.Run(b.event, func(t *testing.T) {
			do := func(a ...adjust) response {
				return e.do(t, adminKey, e.event(t, b.event, append(slices.Clone(at), a...)...))
			}
			expectField(t, do(withPatch(map[string]any{b.unknown: "x"})), b.unknown)
			expectField(t, do(withPatch(map[string]any{b.wrongKey: b.wrongVal})), b.wrongKey)
			expectField(t, do(withPatch(map[string]any{b.missing: nil})), b.missing)
			for _, raw := range []string{"", " ", "{", "[]", `"x"`, "null x", `{} {}`, "{\"a\":1,}"} {
				expectField(t, do(withRaw(raw)), "body")
			}
			expectField(t, do(withRaw("%%not base64%%"), base64Encoded), "body")
		})
	}
	t.Run("Idempotency-Key with control characters", func(t *testing.T) {
		r := e.do(t, shopKey, e.event(t, "customers-create.json", withPatch(map[string]any{"email": e.addr("idem")}), withIdem("bad\nkey")))
		expectField(t, r, "Idempotency-Key")
	})
}
