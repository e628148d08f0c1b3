package schedule_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/schedule"
)

// Expired holds go back to their funds exactly once, however many runs
// overlap; a hold not yet expired, and a voided one, stay as they are;
// the audit proves the result.
func TestHoldReleaseReleasesExpiredHoldsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var ns atomic.Int64
	ns.Store(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, ns.Add(int64(time.Millisecond))).UTC() }
	store := storeAt(t, startDynamo(t).URL(), dynamo.WithClock(now))
	sh, err := store.CreateShop(ctx, gc.Shop{Name: "Shop", DefaultCurrency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	a := gc.Actor{ShopID: sh.ID, KeyID: "key_t", Role: gc.RoleShop}
	c, err := store.CreateCustomer(ctx, a, "", gc.NewCustomer{Email: "c@example.com", Name: "C"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Credit(ctx, gc.Actor{ShopID: sh.ID, KeyID: "key_a", Role: gc.RoleAdmin}, "", gc.DirectCredit{CustomerID: c.ID, Amount: 10_000, Currency: "USD", PaymentType: "cash"}); err != nil {
		t.Fatal(err)
	}
	minute, day := int64(60), int64(86400)
	hold := func(amount int64, expiresIn *int64) gc.Hold {
		h, err := store.CreateHold(ctx, a, "", gc.NewHold{Currency: "USD", Amount: amount, OrderRef: "o", CustomerID: c.ID, ExpiresIn: expiresIn})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	var expiring []gc.Hold
	for i := 0; i < 12; i++ {
		expiring = append(expiring, hold(500, &minute))
	}
	if _, err := store.CaptureHold(ctx, a, "", gc.HoldCapture{HoldID: expiring[0].ID, Amount: 200}); err != nil {
		t.Fatal(err)
	}
	voided := hold(1000, &minute)
	if _, err := store.VoidHold(ctx, a, "", voided.ID); err != nil {
		t.Fatal(err)
	}
	later := hold(1000, &day)
	ns.Add(int64(2 * time.Minute))

	job := func() *schedule.HoldRelease {
		return &schedule.HoldRelease{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: now, Batch: 5}
	}
	var wg sync.WaitGroup
	results := make([]schedule.Result, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := job().Handle(ctx, events.EventBridgeEvent{})
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	released := 0
	for _, r := range results {
		released += r.Counts["released"]
		if r.Counts["failed"] != 0 || r.Counts["deferred"] != 0 {
			t.Errorf("run = %+v", r)
		}
	}
	// Overlapping runs may each see a hold another released (unchanged
	// or, read just after, already expired): what matters is the ledger.
	if released < len(expiring) {
		t.Errorf("released %d holds, want at least %d", released, len(expiring))
	}
	for _, h := range expiring {
		got, err := store.Hold(ctx, sh.ID, h.ID)
		if err != nil || got.Status != gc.HoldExpired {
			t.Errorf("hold %s = %+v, %v", h.ID, got, err)
		}
	}
	if got, _ := store.Hold(ctx, sh.ID, voided.ID); got.Status != gc.HoldVoided {
		t.Errorf("voided hold = %+v", got)
	}
	if got, _ := store.Hold(ctx, sh.ID, later.ID); got.Status != gc.HoldHeld {
		t.Errorf("unexpired hold = %+v", got)
	}
	cust, err := store.Customer(ctx, sh.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// 10000 credited, 200 captured, 1000 still held.
	if want := []gc.Balance{{Currency: "USD", Amount: 8800, Held: 1000}}; len(cust.Balances) != 1 || cust.Balances[0] != want[0] {
		t.Errorf("balances = %+v, want %+v", cust.Balances, want)
	}
	rep, err := store.Audit(ctx, sh.ID)
	if err != nil || !rep.OK() {
		t.Fatalf("audit = %+v, %v", rep.Breaches, err)
	}
	// Exactly once: one release transaction per expired hold (and one for the void).
	page, err := store.History(ctx, sh.ID, c.ID, gc.PageRequest{Limit: 100})
	if err != nil || page.NextCursor != "" {
		t.Fatal(err)
	}
	n := 0
	for _, tx := range page.Transactions {
		if tx.Kind == gc.TxRelease {
			n++
		}
	}
	if n != len(expiring)+1 {
		t.Errorf("%d release transactions, want %d", n, len(expiring)+1)
	}
	// A later run finds nothing to do.
	r, err := job().Handle(ctx, events.EventBridgeEvent{})
	if err != nil || r.Counts["released"] != 0 {
		t.Errorf("a later run = %+v, %v", r, err)
	}
}
