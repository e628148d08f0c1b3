package dynamo_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// mustBudgetLeft returns what the API shows of a promotion's budget.
func mustBudgetLeft(tb testing.TB, e *env, promoID string) int64 {
	tb.Helper()
	left, err := dynamo.BudgetRemainingForTest(e.ctx, e.store, e.shop.ID, promoID)
	if err != nil {
		tb.Fatal(err)
	}
	return left
}

// mustLeases checks that every batch of the promotion's only run leased
// once and returned its lease, and returns what the batches leased.
func mustLeases(tb testing.TB, e *env, promoID string) (leased, unused int64) {
	tb.Helper()
	runs := MustRuns(tb, e, promoID)
	if len(runs) != 1 || runs[0].Status != gc.RunDone {
		tb.Fatalf("runs = %+v, want one done", runs)
	}
	for seq := 1; seq <= runs[0].Batches; seq++ {
		l, ok, err := dynamo.LeaseOfBatchForTest(e.ctx, e.store, e.shop.ID, promoID, runs[0].ID, seq)
		if err != nil || !ok || !l.Returned {
			tb.Fatalf("batch %d: lease %+v (found %v, %v), want one returned", seq, l, ok, err)
		}
		leased += l.Leased
		unused += l.Remaining
	}
	return leased, unused
}

// Batches lease the budget and return what they did not grant: with
// several batches and parallel workers (every batch delivered several
// times) a budget of exactly N credits grants exactly N and ends at 0, and
// a bigger one ends at the budget less what was granted.
func TestPromotionLeasedBudgetUnderParallelism(t *testing.T) {
	t.Parallel()
	t.Run("a budget of exactly N credits", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		var custs []gc.Customer
		for i := range 4 {
			custs = append(custs, MustCustomer(t, e, fmt.Sprintf("l%d@example.com", i)))
		}
		budget := int64(7 * 1000)
		p := MustPromotion(t, e, func(in *gc.NewPromotion) { in.Budget = &budget })
		for i := range 16 {
			MustOrder(t, e, custs[i%4].ID, fmt.Sprintf("l%d@example.com", i%4), "USD", 5000)
		}
		q := &recordingQueue{}
		svc := newService(e, func(s *promotion.Service) { s.Queue, s.InlineGrants, s.PageSize = q, -1, 3 })
		MustTick(t, svc)
		deliverInParallel(t, svc, q.take(), 8)

		if n := len(MustGrants(t, e, p.ID)); n != 7 {
			t.Fatalf("%d grants, want exactly 7", n)
		}
		var total int64
		for _, c := range custs {
			total += MustBalance(t, e, c.ID)
		}
		if total != budget {
			t.Fatalf("credit granted = %d, want the budget %d", total, budget)
		}
		if left := mustBudgetLeft(t, e, p.ID); left != 0 {
			t.Fatalf("budget left = %d, want 0", left)
		}
		if leased, unused := mustLeases(t, e, p.ID); leased > budget || leased-unused > budget {
			t.Fatalf("batches leased %d and used %d of a budget of %d", leased, leased-unused, budget)
		}
		wantCounts(t, MustRuns(t, e, p.ID)[0].Counts, gc.RunCounts{OrdersExamined: 16, CreditsGranted: 7, AmountGranted: 7000,
			Skipped: map[gc.SkipReason]int64{gc.SkipBudgetExhausted: 9}})
		MustAudit(t, e)
	})
	t.Run("a bigger budget gets the unused leases back", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		var custs []gc.Customer
		for i := range 4 {
			custs = append(custs, MustCustomer(t, e, fmt.Sprintf("m%d@example.com", i)))
		}
		budget := int64(20 * 1000)
		p := MustPromotion(t, e, func(in *gc.NewPromotion) { in.Budget, in.PerCustomerLimit = &budget, 3 })
		for i := range 16 {
			amount := int64(5000)
			if i%5 == 4 {
				amount = 100 // below the minimum: not a candidate
			}
			MustOrder(t, e, custs[i%4].ID, fmt.Sprintf("m%d@example.com", i%4), "USD", amount)
		}
		q := &recordingQueue{}
		svc := newService(e, func(s *promotion.Service) { s.Queue, s.InlineGrants, s.PageSize = q, -1, 2 })
		MustTick(t, svc)
		deliverInParallel(t, svc, q.take(), 8)

		// 13 candidates, one over the last customer's limit of 3.
		if n := len(MustGrants(t, e, p.ID)); n != 12 {
			t.Fatalf("%d grants, want 12", n)
		}
		if left := mustBudgetLeft(t, e, p.ID); left != budget-12*1000 {
			t.Fatalf("budget left = %d, want %d", left, budget-12*1000)
		}
		if leased, unused := mustLeases(t, e, p.ID); leased != 13*1000 || unused != 1000 {
			t.Fatalf("batches leased %d and returned %d, want 13000 and 1000", leased, unused)
		}
		wantCounts(t, MustRuns(t, e, p.ID)[0].Counts, gc.RunCounts{OrdersExamined: 16, CreditsGranted: 12, AmountGranted: 12000,
			Skipped: map[gc.SkipReason]int64{gc.SkipBelowMinimum: 3, gc.SkipCustomerLimit: 1}})
		MustAudit(t, e)
	})
}

// A batch leases once however often it is delivered (and by however many
// workers at once), never once it is done, and not while the promotion is
// paused; while it runs the budget shows less by what it holds.
func TestPromotionRedeliveredBatchLeasesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "lease@example.com")
	budget := int64(10 * 1000)
	p := MustPromotion(t, e, func(in *gc.NewPromotion) { in.Budget = &budget })
	for range 4 {
		MustOrder(t, e, cust.ID, "lease@example.com", "USD", 5000)
	}
	q := &recordingQueue{}
	svc := newService(e, func(s *promotion.Service) { s.Queue, s.InlineGrants, s.PageSize = q, -1, 3 })
	MustTick(t, svc)
	msgs := q.take()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	b1, err := e.store.Batch(e.ctx, e.shop.ID, p.ID, msgs[0].RunID, 1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- e.store.LeaseBudget(e.ctx, e.shop.ID, p, b1)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	lease := func(seq int) (dynamo.LeaseForTest, bool) {
		t.Helper()
		l, ok, err := dynamo.LeaseOfBatchForTest(e.ctx, e.store, e.shop.ID, p.ID, msgs[0].RunID, seq)
		if err != nil {
			t.Fatal(err)
		}
		return l, ok
	}
	if l, ok := lease(1); !ok || l.Leased != 3000 || l.Remaining != 3000 || l.Returned {
		t.Fatalf("lease of batch 1 = %+v (found %v), want 3000 held", l, ok)
	}
	if left := mustBudgetLeft(t, e, p.ID); left != budget-3000 {
		t.Fatalf("budget shown while batch 1 runs = %d, want %d", left, budget-3000)
	}

	// The batch's message, delivered twice: no second lease, one return.
	for range 2 {
		if _, err := svc.Handle(e.ctx, msgs[0]); err != nil {
			t.Fatal(err)
		}
	}
	if l, _ := lease(1); l.Leased != 3000 || l.Remaining != 0 || !l.Returned {
		t.Fatalf("lease of batch 1 after it = %+v, want 3000 leased, spent, returned", l)
	}
	if left := mustBudgetLeft(t, e, p.ID); left != budget-3000 {
		t.Fatalf("budget left after batch 1 = %d, want %d", left, budget-3000)
	}
	if err := e.store.LeaseBudget(e.ctx, e.shop.ID, p, b1); err != nil {
		t.Fatal(err)
	}
	if l, _ := lease(1); l.Leased != 3000 || !l.Returned || mustBudgetLeft(t, e, p.ID) != budget-3000 {
		t.Fatalf("a done batch leased again: %+v", l)
	}

	// A paused promotion leases nothing.
	b2, err := e.store.Batch(e.ctx, e.shop.ID, p.ID, msgs[1].RunID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SetPromotionStatus(e.ctx, e.admin, "", p.ID, gc.PromotionPaused); err != nil {
		t.Fatal(err)
	}
	if err := e.store.LeaseBudget(e.ctx, e.shop.ID, p, b2); !errors.Is(err, promotion.ErrPromotionNotActive) {
		t.Fatalf("lease while paused: %v, want ErrPromotionNotActive", err)
	}
	if _, ok := lease(2); ok {
		t.Fatal("a paused promotion's batch leased")
	}
	if _, err := e.store.SetPromotionStatus(e.ctx, e.admin, "", p.ID, gc.PromotionActive); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := svc.Handle(e.ctx, msgs[1]); err != nil {
			t.Fatal(err)
		}
	}
	if l, _ := lease(2); l.Leased != 1000 || l.Remaining != 0 || !l.Returned {
		t.Fatalf("lease of batch 2 = %+v, want 1000 leased, spent, returned", l)
	}
	if left := mustBudgetLeft(t, e, p.ID); left != budget-4000 {
		t.Fatalf("budget left = %d, want %d", left, budget-4000)
	}
	if got := MustBalance(t, e, cust.ID); got != 4000 {
		t.Fatalf("balance = %d, want 4000", got)
	}
	if runs := MustRuns(t, e, p.ID); runs[0].Status != gc.RunDone {
		t.Fatalf("run = %+v, want done", runs[0])
	}
	MustAudit(t, e)
}

// A batch's lease is spread over lease shards, one a candidate here, and
// a batch granted in order grants what one lease would: a candidate whose
// own shard is empty (the lease was bounded by the budget) is paid from
// the shard of one skipped before it.
func TestPromotionLeaseShards(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := MustCustomer(t, e, "a@example.com")
	b := MustCustomer(t, e, "b@example.com")
	c := MustCustomer(t, e, "c@example.com")
	budget := int64(3 * 1000)
	p := MustPromotion(t, e, func(in *gc.NewPromotion) { in.Budget, in.PerCustomerLimit = &budget, 1 })
	// Candidates 0..3: a, a (over a's limit of one), b, c. The lease of
	// 3000 puts one credit in shards 0, 1 and 2, none in shard 3 (c's).
	MustOrder(t, e, a.ID, "a@example.com", "USD", 5000)
	MustOrder(t, e, a.ID, "a@example.com", "USD", 5000)
	MustOrder(t, e, b.ID, "b@example.com", "USD", 5000)
	MustOrder(t, e, c.ID, "c@example.com", "USD", 5000)
	MustTick(t, newService(e, func(s *promotion.Service) { s.PageSize = 4 }))

	for _, cust := range []gc.Customer{a, b, c} {
		if got := MustBalance(t, e, cust.ID); got != 1000 {
			t.Errorf("%s's balance = %d, want 1000", cust.Email, got)
		}
	}
	run := MustRuns(t, e, p.ID)[0]
	shards, err := dynamo.LeaseShardsForTest(e.ctx, e.store, e.shop.ID, p.ID, run.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []dynamo.LeaseForTest{{Leased: 1000, Returned: true}, {Leased: 1000, Returned: true}, {Leased: 1000, Returned: true}, {Returned: true}}
	if !slices.Equal(shards, want) {
		t.Fatalf("lease shards %+v, want %+v (c paid from a's second shard)", shards, want)
	}
	if left := mustBudgetLeft(t, e, p.ID); left != 0 {
		t.Fatalf("budget left = %d, want 0", left)
	}
	wantCounts(t, run.Counts, gc.RunCounts{OrdersExamined: 4, CreditsGranted: 3, AmountGranted: 3000,
		Skipped: map[gc.SkipReason]int64{gc.SkipCustomerLimit: 1}})
	MustAudit(t, e)
}
