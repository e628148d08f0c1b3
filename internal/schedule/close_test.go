package schedule_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/schedule"
)

// The daily close closes every ended day of every shop once, however many
// runs overlap; a run with no time left defers the shops; the audit
// proves the days; later runs find nothing due.
func TestDailyCloseClosesEachDayOnce(t *testing.T) {
	// Not parallel: the fault tests beside it measure deadlines, and two
	// stores closing days would take their CPU.
	ctx := context.Background()
	var ns atomic.Int64
	ns.Store(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, ns.Add(int64(time.Millisecond))).UTC() }
	store := storeAt(t, startDynamo(t).URL(), dynamo.WithClock(now))
	var shops []gc.Shop
	for _, name := range []string{"One", "Two"} {
		sh, err := store.CreateShop(ctx, gc.Shop{Name: name, DefaultCurrency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		shops = append(shops, sh)
		a := gc.Actor{ShopID: sh.ID, KeyID: "key_a", Role: gc.RoleAdmin}
		c, err := store.CreateCustomer(ctx, a, "", gc.NewCustomer{Email: "c@example.com", Name: "C"})
		if err != nil {
			t.Fatal(err)
		}
		for _, cur := range []string{"USD", "JPY"} {
			if _, err := store.Credit(ctx, a, "", gc.DirectCredit{CustomerID: c.ID, Amount: 1000, Currency: cur, PaymentType: "cash"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Three days later, 30 minutes past midnight: 11-30 (the margin day),
	// 12-01, 12-02 and 12-03 are due for each shop.
	ns.Store(time.Date(2026, 12, 4, 0, 30, 0, 0, time.UTC).UnixNano())
	job := &schedule.DailyClose{Store: store, Logger: discard(), Now: now}

	// A run with less time than a page needs defers every shop.
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hurried := &schedule.DailyClose{Store: store, Logger: discard(), Now: now, PerPage: time.Hour}
	res, err := hurried.Handle(short, events.EventBridgeEvent{})
	if err != nil || res.Counts["deferred"] != 2 || res.Counts["closed"] != 0 {
		t.Fatalf("a run out of time: %+v %v", res, err)
	}
	// An overlapping run is one that listed the due days before another
	// closed them: it finds each closed and writes nothing.
	stale := &staleDays{DailyCloser: store, due: map[string][]string{}}
	for _, sh := range shops {
		days, err := store.DueDays(ctx, sh, now())
		if err != nil {
			t.Fatal(err)
		}
		stale.due[sh.ID] = days
	}
	res, err = job.Handle(ctx, events.EventBridgeEvent{})
	if err != nil || res.Counts["closed"] != 8 || res.Counts["transactions"] != 4 {
		t.Errorf("the run closed %+v (%v), want 8 days (4 of 2 shops) of 4 transactions", res, err)
	}
	late := &schedule.DailyClose{Store: stale, Logger: discard(), Now: now}
	res, err = late.Handle(ctx, events.EventBridgeEvent{})
	if err != nil || res.Counts["closed"] != 0 || res.Counts["closed_elsewhere"] != 8 {
		t.Errorf("the overlapping run: %+v %v", res, err)
	}
	for _, sh := range shops {
		rep, err := store.Audit(ctx, sh.ID)
		if err != nil || !rep.OK() {
			t.Errorf("audit %s: %+v %v", sh.ID, rep.Breaches, err)
		}
		r, err := gc.ParseReportRange("2026-12-01", "2026-12-03", "JPY", now())
		if err != nil {
			t.Fatal(err)
		}
		if l, days, err := store.Liability(ctx, sh.ID, r); err != nil || l.Credit.Closing != 1000 || len(days) != 3 || !days[2].Closed {
			t.Errorf("report %s: %+v %v", sh.ID, l, err)
		}
	}
	res, err = job.Handle(ctx, events.EventBridgeEvent{})
	if err != nil || res.Counts["closed"] != 0 || res.Counts["shops"] != 2 {
		t.Errorf("a later run: %+v %v", res, err)
	}
}

// staleDays is the store as a run sees it that listed the due days
// before another run closed them.
type staleDays struct {
	schedule.DailyCloser
	due map[string][]string
}

func (s *staleDays) DueDays(_ context.Context, sh gc.Shop, _ time.Time) ([]string, error) {
	return s.due[sh.ID], nil
}

// Runs that overlap close each day of each shop exactly once between
// them, and the audit proves the days.
func TestDailyCloseOverlappingRuns(t *testing.T) {
	// Not parallel: the fault tests beside it measure deadlines, and two
	// stores closing days would take their CPU.
	ctx := context.Background()
	var ns atomic.Int64
	ns.Store(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, ns.Add(int64(time.Millisecond))).UTC() }
	store := storeAt(t, startDynamo(t).URL(), dynamo.WithClock(now))
	var shops []gc.Shop
	for _, name := range []string{"One", "Two"} {
		sh, err := store.CreateShop(ctx, gc.Shop{Name: name, DefaultCurrency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		shops = append(shops, sh)
		a := gc.Actor{ShopID: sh.ID, KeyID: "key_a", Role: gc.RoleAdmin}
		c, err := store.CreateCustomer(ctx, a, "", gc.NewCustomer{Email: "c@example.com", Name: "C"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Credit(ctx, a, "", gc.DirectCredit{CustomerID: c.ID, Amount: 1000, Currency: "BHD", PaymentType: "cash"}); err != nil {
			t.Fatal(err)
		}
	}
	ns.Store(time.Date(2026, 12, 4, 0, 30, 0, 0, time.UTC).UnixNano())
	job := &schedule.DailyClose{Store: store, Logger: discard(), Now: now}
	var wg sync.WaitGroup
	var closed, elsewhere atomic.Int64
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := job.Handle(ctx, events.EventBridgeEvent{})
			if err != nil {
				t.Error(err)
			}
			closed.Add(int64(r.Counts["closed"]))
			elsewhere.Add(int64(r.Counts["closed_elsewhere"]))
		}()
	}
	wg.Wait()
	if closed.Load() != 8 {
		t.Errorf("three overlapping runs closed %d days (%d found closed), want 8", closed.Load(), elsewhere.Load())
	}
	for _, sh := range shops {
		if rep, err := store.Audit(ctx, sh.ID); err != nil || !rep.OK() {
			t.Errorf("audit %s: %+v %v", sh.ID, rep.Breaches, err)
		}
	}
}
