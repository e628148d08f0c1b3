package apigw

import (
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// GET /v1/holds/{id} of a hold whose expiresAt has passed says expired,
// with nothing capturable, before the release job has released it; a
// capture then is a 409, and after the job the read is the same.
func TestHoldReadsExpiredBeforeTheReleaseJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.mustCustomer(t, "expiring")
	e.mustCredit(t, e.admin, c.ID, 900)
	r := e.do(t, shopKey, e.event(t, "checkout-hold.json", withIdem("exp-1"),
		withPatch(map[string]any{"customerId": c.ID, "amount": 400, "expiresIn": 60})))
	if r.StatusCode != 201 {
		t.Fatalf("hold: %d %s", r.StatusCode, r.Body)
	}
	h := decodeAs[gc.Hold](t, r)
	read := func() gc.Hold {
		t.Helper()
		r := e.do(t, shopKey, e.event(t, "checkout-get.json", withPath("id", h.ID)))
		if r.StatusCode != 200 {
			t.Fatalf("read: %d %s", r.StatusCode, r.Body)
		}
		return decodeAs[gc.Hold](t, r)
	}
	if got := read(); got.Status != gc.HoldHeld {
		t.Fatalf("before expiry: %+v", got)
	}
	e.clock.ns.Add(int64(61 * time.Second))
	got := read()
	if got.Status != gc.HoldExpired || got.Amount != 400 || got.Captured != 0 || len(got.Captures) != 0 {
		t.Fatalf("after expiry, before the job: %+v", got)
	}
	r = e.do(t, shopKey, e.event(t, "checkout-capture.json", withPath("id", h.ID), withIdem("exp-2"), withBody(map[string]any{"amount": 1})))
	if r.StatusCode != 409 {
		t.Fatalf("capture after expiry: %d %s", r.StatusCode, r.Body)
	}
	if _, err := e.store.ReleaseHold(e.ctx, e.shop.ID, h.ID); err != nil {
		t.Fatal(err)
	}
	if after := read(); after.Status != got.Status || after.Captured != got.Captured {
		t.Errorf("after the job: %+v, before it %+v", after, got)
	}
}
