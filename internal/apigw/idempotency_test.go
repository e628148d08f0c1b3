package apigw

import (
	"testing"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// idemCase is a POST whose replay must return the first response and write
// nothing, and whose key reused for another request (other, on otherEvent
// or the same event) must be a 422.
type idemCase struct {
	event      string
	caller     caller
	setup      func(t testing.TB, e *env) []adjust
	otherEvent string
	other      func(t testing.TB, e *env) []adjust
}

func idemCases() []idemCase {
	return []idemCase{
		{event: "customers-create.json", caller: shopKey,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"email": e.addr("idem-1")})}
			},
			other: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"email": e.addr("idem-2")})}
			}},
		{event: "orders-place.json", caller: adminKey,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"billingEmail": e.addr("idem-buyer")})}
			},
			other: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"billingEmail": e.addr("idem-buyer"), "giftCards": []any{map[string]any{"amount": 6000}}})}
			}},
		{event: "redemption-redeem.json", caller: shopKey,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "idem")
				e.note["idem-customer"] = c.ID
				return []adjust{withPath("id", c.ID), withBody(map[string]string{"code": freshCode(t, e)})}
			},
			other: func(t testing.TB, e *env) []adjust {
				return []adjust{withPath("id", e.note["idem-customer"]), withBody(map[string]string{"code": freshCode(t, e)})}
			}},
		{event: "redemption-disable.json", caller: adminKey,
			setup: onCard(func(t testing.TB, e *env) gc.OrderCard { return e.mustCard(t, 100) }),
			other: onCard(func(t testing.TB, e *env) gc.OrderCard { return e.mustCard(t, 100) })},
		{event: "credits-credit.json", caller: adminKey,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "idem")
				e.note["idem-customer"] = c.ID
				return []adjust{withPath("id", c.ID)}
			},
			other: func(t testing.TB, e *env) []adjust {
				return []adjust{withPath("id", e.note["idem-customer"]), withPatch(map[string]any{"amount": 100})}
			}},
		{event: "credits-reverse.json", caller: adminKey,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "idem")
				tx := e.mustCredit(t, e.admin, c.ID, 700)
				e.note["idem-customer"], e.note["idem-tx"] = c.ID, tx.ID
				return []adjust{withPath("id", c.ID), withPath("txId", tx.ID)}
			},
			other: func(t testing.TB, e *env) []adjust {
				return []adjust{withPath("id", e.note["idem-customer"]), withPath("txId", e.note["idem-tx"]),
					withPatch(map[string]any{"reason": "another reason"})}
			}},
		{event: "creditapplications-apply.json", caller: shopKey,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "idem")
				e.mustCredit(t, e.admin, c.ID, 1000)
				e.note["idem-customer"] = c.ID
				return []adjust{withPath("id", c.ID)}
			},
			other: func(t testing.TB, e *env) []adjust {
				return []adjust{withPath("id", e.note["idem-customer"]), withPatch(map[string]any{"orderRef": "web-other"})}
			}},
		{event: "promotions-create.json", caller: adminKey,
			other: adj(withPatch(map[string]any{"name": "Another promotion"}))},
		// A replayed registration shows the same secret (the result is
		// remembered sealed).
		{event: "webhooks-create.json", caller: adminKey,
			other: adj(withPatch(map[string]any{"url": "https://hooks.corner-books.example/other"}))},
		{event: "promotions-pause.json", caller: adminKey,
			setup: onPromotion(false),
			other: onPromotion(false)},
		{event: "promotions-resume.json", caller: adminKey,
			setup: func(t testing.TB, e *env) []adjust {
				a := onPromotion(true)(t, e)
				e.note["idem-promotion"] = e.event(t, "promotions-resume.json", a...).PathParameters["id"]
				return a
			},
			otherEvent: "promotions-pause.json",
			other: func(t testing.TB, e *env) []adjust {
				return []adjust{withPath("id", e.note["idem-promotion"])}
			}},
		{event: "checkout-hold.json", caller: shopKey,
			setup: func(t testing.TB, e *env) []adjust {
				c := e.mustCustomer(t, "idem")
				e.mustCredit(t, e.admin, c.ID, 9000)
				e.note["idem-customer"] = c.ID
				return []adjust{withPatch(map[string]any{"customerId": c.ID})}
			},
			other: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"customerId": e.note["idem-customer"], "amount": 100})}
			}},
		{event: "checkout-capture.json", caller: shopKey,
			setup: func(t testing.TB, e *env) []adjust {
				h := e.mustHold(t, 5000)
				e.note["idem-hold"] = h.ID
				return []adjust{withPath("id", h.ID), withBody(map[string]any{"amount": 100})}
			},
			other: func(t testing.TB, e *env) []adjust {
				return []adjust{withPath("id", e.note["idem-hold"]), withBody(map[string]any{"amount": 200})}
			}},
		{event: "checkout-void.json", caller: shopKey,
			setup: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.mustHold(t, 500).ID)} },
			other: func(t testing.TB, e *env) []adjust { return []adjust{withPath("id", e.mustHold(t, 500).ID)} }},
		{event: "checkout-refund.json", caller: shopKey,
			setup: func(t testing.TB, e *env) []adjust {
				tx := e.mustCardCapture(t, 3000)
				e.note["idem-spend"] = tx
				return []adjust{withPatch(map[string]any{"transactionId": tx})}
			},
			other: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"transactionId": e.note["idem-spend"], "amount": 5})}
			}},
		{event: "customers-create.json", caller: adminKey,
			setup: func(t testing.TB, e *env) []adjust {
				return []adjust{withPatch(map[string]any{"email": e.addr("idem-x")})}
			},
			otherEvent: "credits-credit.json",
			other:      onCustomer(0)},
	}
}

// TestIdempotentReplay: for every POST that takes an Idempotency-Key, a
// replay returns the same status and body byte for byte and writes nothing
// (nor sends mail again); the key with another request is a 422 that
// writes nothing either.
func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	covered := map[string]bool{}
	for _, c := range idemCases() {
		t.Run(c.event+"→"+firstNonEmpty(c.otherEvent, c.event), func(t *testing.T) {
			key := "idem-" + randomHex(t, 8)
			setup := c.setup
			if setup == nil {
				setup = none
			}
			ev := e.event(t, c.event, append(setup(t, e), withIdem(key))...)
			covered[ev.RouteKey] = true
			first := e.do(t, c.caller, ev)
			if first.StatusCode >= 300 {
				t.Fatalf("first request: %d %s", first.StatusCode, first.Body)
			}
			other := e.event(t, firstNonEmpty(c.otherEvent, c.event), append(c.other(t, e), withIdem(key))...)
			items := e.itemCount(t)

			replay := e.do(t, c.caller, ev)
			if replay.StatusCode != first.StatusCode || replay.Body != first.Body {
				t.Errorf("replay = %d %s\nfirst  = %d %s", replay.StatusCode, replay.Body, first.StatusCode, first.Body)
			}
			mismatch := e.do(t, c.caller, other)
			expect(t, mismatch, 422, gc.EIDEMPOTENCYMISMATCH)
			// The same request from another API key of the same shop is
			// not a replay: the remembered result (an order's codes) is
			// only for the key that made it.
			another := shopKey2
			if c.caller == adminKey {
				another = adminKey2
			}
			stolen := e.do(t, another, ev)
			expect(t, stolen, 422, gc.EIDEMPOTENCYMISMATCH)
			if n := e.itemCount(t); n != items {
				t.Errorf("the replay and the mismatch wrote %d items", n-items)
			}
		})
	}
	// A replayed order sends no mail twice: one code email, one confirmation.
	waitMail(t, e.addr("idem-buyer"), 1)
	waitMail(t, e.addr("admin"), 1)
	for _, rt := range Routes {
		if rt.Method == "POST" && rt.Key() != "POST /v1/gift-cards/check" && !covered[rt.Key()] {
			t.Errorf("no idempotency case for %s", rt.Key())
		}
	}
	e.mustAudit(t)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
