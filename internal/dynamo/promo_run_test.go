package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// Seed 000's promotion, automated: a customer who buys a gift card of at
// least 50.00 gets 10.00 of credit, once, however often the run repeats.
func TestPromotionRunGrantsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	jo := MustCustomer(t, e, "jo@example.com")
	sam := MustCustomer(t, e, "sam@example.com")
	p := MustPromotion(t, e, nil)
	MustOrder(t, e, jo.ID, "jo@example.com", "USD", 5000)
	MustOrder(t, e, sam.ID, "sam@example.com", "USD", 2500, 2000)
	MustOrder(t, e, sam.ID, "sam@example.com", "USD", 5000, 1000)
	MustOrder(t, e, jo.ID, "jo@example.com", "USD")

	q := &recordingQueue{}
	svc := newService(e, func(s *promotion.Service) { s.Queue, s.InlineGrants, s.PageSize = q, -1, 2 })
	rep := MustTick(t, svc)
	msgs := q.take()
	if rep.BatchesQueued != 2 || len(msgs) != 2 {
		t.Fatalf("tick queued %d batches (%d messages), want 2", rep.BatchesQueued, len(msgs))
	}
	for _, m := range msgs {
		if _, err := svc.Handle(e.ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if got := MustBalance(t, e, jo.ID); got != 1000 {
		t.Fatalf("jo's balance = %d, want 1000", got)
	}
	if got := MustBalance(t, e, sam.ID); got != 1000 {
		t.Fatalf("sam's balance = %d, want 1000 (one of two orders qualifies)", got)
	}
	runs := MustRuns(t, e, p.ID)
	if len(runs) != 1 || runs[0].Status != gc.RunDone {
		t.Fatalf("runs = %+v, want one done", runs)
	}
	wantCounts(t, runs[0].Counts, gc.RunCounts{OrdersExamined: 4, CreditsGranted: 2, AmountGranted: 2000,
		Skipped: map[gc.SkipReason]int64{gc.SkipBelowMinimum: 1, gc.SkipNoGiftCards: 1}})
	emails := MustEmails(t, e)
	if countPrefix(emails, "admin@shop.test: Test Shop promotion") != 1 || countPrefix(emails, "jo@example.com: You received") != 1 ||
		countPrefix(emails, "sam@example.com: You received") != 1 {
		t.Fatalf("emails = %q, want one summary and one notice each", emails)
	}

	// The same messages again (redelivery), and the next ticks: nothing changes.
	before := e.snapshot(t)
	for _, m := range msgs {
		if _, err := svc.Handle(e.ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if rep := MustTick(t, svc); rep.Runs != 0 || len(q.take()) != 0 {
		t.Fatalf("second tick = %+v, want no run", rep)
	}
	if after := e.snapshot(t); after != before {
		t.Fatal("redelivered batches or a second tick changed the table")
	}
	if len(MustGrants(t, e, p.ID)) != 2 {
		t.Fatal("want exactly 2 grant records")
	}
	MustAudit(t, e)
}

// The rule's boundaries: the threshold is inclusive, the window is
// [StartsAt, EndsAt), only the promotion's currency counts, a disabled card
// does not count and a redeemed one does.
func TestPromotionBoundaries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "edge@example.com")
	order := func(amounts ...int64) gc.Order {
		return MustOrder(t, e, cust.ID, "edge@example.com", "USD", amounts...)
	}

	before := order(9000)  // placed just before the window opens
	atStart := order(5000) // the window opens at this order's time: in
	exact := order(5000)
	below := order(4999)
	twoCards := order(2500, 2500) // 50.00 in two cards: in
	euro := MustOrder(t, e, cust.ID, "edge@example.com", "EUR", 9000)
	disabled := order(5000)
	MustDisable(t, e, disabled.GiftCards[0].ID)
	halfDisabled := order(2500, 2500)
	MustDisable(t, e, halfDisabled.GiftCards[1].ID)
	redeemed := order(6000)
	if _, err := e.store.Redeem(e.ctx, e.admin, "", cust.ID, redeemed.GiftCards[0].Code, ""); err != nil {
		t.Fatal(err)
	}
	lastIn := order(5000)
	atEnd := order(5000) // the window closes at this order's time: out
	if !before.CreatedAt.Before(atStart.CreatedAt) || !lastIn.CreatedAt.Before(atEnd.CreatedAt) {
		t.Fatal("orders are not in time order")
	}
	p := MustPromotion(t, e, func(in *gc.NewPromotion) { in.StartsAt, in.EndsAt = atStart.CreatedAt, atEnd.CreatedAt })
	MustTick(t, newService(e))

	grants := MustGrants(t, e, p.ID)
	for _, c := range []struct {
		name  string
		order gc.Order
		want  bool
	}{
		{"before the window", before, false},
		{"at the window's start (inclusive)", atStart, true},
		{"exactly the minimum", exact, true},
		{"one cent below the minimum", below, false},
		{"two cards making the minimum", twoCards, true},
		{"other currency", euro, false},
		{"its only card disabled", disabled, false},
		{"below the minimum without its disabled card", halfDisabled, false},
		{"its card redeemed", redeemed, true},
		{"the last order in the window", lastIn, true},
		{"at the window's end (exclusive)", atEnd, false},
	} {
		if _, got := grants[c.order.ID]; got != c.want {
			t.Errorf("%s: granted = %v, want %v", c.name, got, c.want)
		}
	}
	runs := MustRuns(t, e, p.ID)
	wantCounts(t, runs[0].Counts, gc.RunCounts{OrdersExamined: 9, CreditsGranted: 5, AmountGranted: 5000,
		Skipped: map[gc.SkipReason]int64{gc.SkipBelowMinimum: 1, gc.SkipOtherCurrency: 1, gc.SkipCardDisabled: 2}})
	if got := MustBalance(t, e, cust.ID); got != 6000+5000 {
		t.Fatalf("balance = %d, want the redeemed 60.00 plus 5 credits of 10.00", got)
	}
	MustAudit(t, e)
}

// A customer gets at most the per-customer limit; per-card promotions
// count each card of at least the minimum.
func TestPromotionLimitAndPerCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := MustCustomer(t, e, "ann@example.com")
	ben := MustCustomer(t, e, "ben@example.com")
	perOrder := MustPromotion(t, e, func(in *gc.NewPromotion) { in.PerCustomerLimit = 2 })
	perCard := MustPromotion(t, e, func(in *gc.NewPromotion) {
		in.Name, in.Per, in.CreditAmount, in.PerCustomerLimit = "Every card of 50", gc.PerCard, 500, 3
	})
	for range 3 {
		MustOrder(t, e, ann.ID, "ann@example.com", "USD", 5000)
	}
	MustOrder(t, e, ben.ID, "ben@example.com", "USD", 5000, 5000, 1000)
	MustOrder(t, e, ben.ID, "ben@example.com", "USD", 7000, 5000)
	MustTick(t, newService(e))

	runs := MustRuns(t, e, perOrder.ID)
	wantCounts(t, runs[0].Counts, gc.RunCounts{OrdersExamined: 5, CreditsGranted: 4, AmountGranted: 4000,
		Skipped: map[gc.SkipReason]int64{gc.SkipCustomerLimit: 1}})
	runs = MustRuns(t, e, perCard.ID)
	// ann: 3 cards, limit 3; ben: 4 cards of at least 50.00, limit 3, one card below.
	wantCounts(t, runs[0].Counts, gc.RunCounts{OrdersExamined: 5, CreditsGranted: 6, AmountGranted: 3000,
		Skipped: map[gc.SkipReason]int64{gc.SkipCustomerLimit: 1, gc.SkipBelowMinimum: 1}})
	if got := MustBalance(t, e, ann.ID); got != 2*1000+3*500 {
		t.Fatalf("ann's balance = %d", got)
	}
	if got := MustBalance(t, e, ben.ID); got != 2*1000+3*500 {
		t.Fatalf("ben's balance = %d", got)
	}
	MustAudit(t, e)
}

// A guest order is credited to the customer with its billing email; with no
// such customer it waits, and the first run after the customer exists
// grants it.
func TestPromotionGuestOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	known := MustCustomer(t, e, "known@example.com")
	p := MustPromotion(t, e, nil)
	MustOrder(t, e, "", "KNOWN@Example.com", "USD", 5000)
	late := MustOrder(t, e, "", "late@example.com", "USD", 5000)
	svc := newService(e)
	MustTick(t, svc)
	if got := MustBalance(t, e, known.ID); got != 1000 {
		t.Fatalf("known's balance = %d, want 1000", got)
	}
	runs := MustRuns(t, e, p.ID)
	wantCounts(t, runs[0].Counts, gc.RunCounts{OrdersExamined: 2, CreditsGranted: 1, AmountGranted: 1000,
		Skipped: map[gc.SkipReason]int64{gc.SkipNoCustomer: 1}})

	// Still no customer: nothing can change, so no run starts.
	if rep := MustTick(t, svc); rep.Runs != 0 {
		t.Fatalf("tick while the guest is still unknown = %+v, want no run", rep)
	}

	lateCust := MustCustomer(t, e, "Late@example.com")
	MustTick(t, svc)
	runs = MustRuns(t, e, p.ID)
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	wantCounts(t, runs[1].Counts, gc.RunCounts{Reexamined: 1, CreditsGranted: 1, AmountGranted: 1000})
	if g := MustGrants(t, e, p.ID)[late.ID]; g.CustomerID != lateCust.ID {
		t.Fatalf("late order granted to %q, want %s", g.CustomerID, lateCust.ID)
	}
	// Resolved: no more runs.
	if rep := MustTick(t, svc); rep.Runs != 0 {
		t.Fatalf("tick after everything was granted = %+v, want no run", rep)
	}
	if got := MustBalance(t, e, lateCust.ID); got != 1000 {
		t.Fatalf("late customer's balance = %d, want 1000", got)
	}
	// A summary for each run.
	if n := countPrefix(MustEmails(t, e), "admin@shop.test: Test Shop promotion"); n != 2 {
		t.Fatalf("%d summaries, want 2", n)
	}
	MustAudit(t, e)
}

// crashStore is the store of a process that dies at its k-th write: the
// write fails (before) or takes effect with its answer lost (after), and
// everything after it fails.
type crashStore struct {
	promotion.Store
	mu      sync.Mutex
	left    int
	after   bool
	crashed bool
	writes  int
}

var errCrash = errors.New("injected crash")

func (c *crashStore) write(f func() error) error {
	c.mu.Lock()
	if c.crashed {
		c.mu.Unlock()
		return errCrash
	}
	c.writes++
	c.left--
	crash := c.left < 0
	c.crashed = crash
	c.mu.Unlock()
	if crash && !c.after {
		return errCrash
	}
	err := f()
	if crash {
		return errCrash
	}
	return err
}

func (c *crashStore) StartRun(ctx context.Context, shopID, promoID string, until time.Time) (r gc.PromotionRun, ok bool, err error) {
	err = c.write(func() error { r, ok, err = c.Store.StartRun(ctx, shopID, promoID, until); return err })
	return r, ok, err
}

func (c *crashStore) SaveRunStep(ctx context.Context, shopID string, run gc.PromotionRun, step promotion.RunStep) (r gc.PromotionRun, err error) {
	err = c.write(func() error { r, err = c.Store.SaveRunStep(ctx, shopID, run, step); return err })
	return r, err
}

func (c *crashStore) TouchRun(ctx context.Context, shopID string, run gc.PromotionRun) error {
	return c.write(func() error { return c.Store.TouchRun(ctx, shopID, run) })
}

func (c *crashStore) LeaseBudget(ctx context.Context, shopID string, p gc.Promotion, b promotion.PromotionBatch) error {
	return c.write(func() error { return c.Store.LeaseBudget(ctx, shopID, p, b) })
}

func (c *crashStore) Grant(ctx context.Context, r promotion.GrantRequest) (o promotion.GrantOutcome, err error) {
	err = c.write(func() error { o, err = c.Store.Grant(ctx, r); return err })
	return o, err
}

func (c *crashStore) AddWaiting(ctx context.Context, shopID, promoID, runID, per string, cand promotion.GrantCandidate) error {
	return c.write(func() error { return c.Store.AddWaiting(ctx, shopID, promoID, runID, per, cand) })
}

func (c *crashStore) ResolveWaiting(ctx context.Context, shopID, promoID, per string, cand promotion.GrantCandidate) error {
	return c.write(func() error { return c.Store.ResolveWaiting(ctx, shopID, promoID, per, cand) })
}

func (c *crashStore) CompleteBatch(ctx context.Context, shopID string, b promotion.PromotionBatch, counts gc.RunCounts) (ok bool, err error) {
	err = c.write(func() error { ok, err = c.Store.CompleteBatch(ctx, shopID, b, counts); return err })
	return ok, err
}

func (c *crashStore) FinishRun(ctx context.Context, shopID string, run gc.PromotionRun, summary *gc.Email) (ok bool, err error) {
	err = c.write(func() error { ok, err = c.Store.FinishRun(ctx, shopID, run, summary); return err })
	return ok, err
}

// crashScenario places the orders of every case a run meets: granted,
// below the minimum, a guest matched by email, a guest left waiting, another
// currency, the customer limit, a disabled card, the budget running out and
// an order without gift cards.
func crashScenario(tb testing.TB) (*env, gc.Promotion, []gc.Order, []gc.Customer) {
	e := newEnv(tb)
	alice := MustCustomer(tb, e, "alice@example.com")
	bob := MustCustomer(tb, e, "bob@example.com")
	carol := MustCustomer(tb, e, "carol@example.com")
	budget := int64(3000)
	p := MustPromotion(tb, e, func(in *gc.NewPromotion) { in.PerCustomerLimit, in.Budget = 2, &budget })
	orders := []gc.Order{
		MustOrder(tb, e, alice.ID, "alice@example.com", "USD", 5000),
		MustOrder(tb, e, bob.ID, "bob@example.com", "USD", 4999),
		MustOrder(tb, e, "", "CAROL@example.com", "USD", 6000),
		MustOrder(tb, e, alice.ID, "alice@example.com", "USD", 2500, 2500),
		MustOrder(tb, e, "", "dave@example.com", "USD", 5000),
		MustOrder(tb, e, bob.ID, "bob@example.com", "EUR", 9000),
		MustOrder(tb, e, alice.ID, "alice@example.com", "USD", 7000),
		MustOrder(tb, e, bob.ID, "bob@example.com", "USD", 5000),
		MustOrder(tb, e, bob.ID, "bob@example.com", "USD", 8000),
		MustOrder(tb, e, bob.ID, "bob@example.com", "USD"),
	}
	MustDisable(tb, e, orders[7].GiftCards[0].ID)
	return e, p, orders, []gc.Customer{alice, bob, carol}
}

// A run killed at any of its writes, before or after the write took effect,
// and then resumed ends exactly like a run that was never interrupted.
func TestPromotionRunResumesAfterCrash(t *testing.T) {
	t.Parallel()
	e, p, orders, custs := crashScenario(t)
	counter := &crashStore{Store: e.store, left: 1 << 30}
	MustTick(t, newService(e, func(s *promotion.Service) { s.Store = counter }))
	want := fingerprint(t, e, p, orders, custs)
	wantCounts(t, MustRuns(t, e, p.ID)[0].Counts, gc.RunCounts{OrdersExamined: 10, CreditsGranted: 3, AmountGranted: 3000,
		Skipped: map[gc.SkipReason]int64{gc.SkipBelowMinimum: 1, gc.SkipNoCustomer: 1, gc.SkipOtherCurrency: 1,
			gc.SkipCustomerLimit: 1, gc.SkipCardDisabled: 1, gc.SkipBudgetExhausted: 1, gc.SkipNoGiftCards: 1}})
	MustAudit(t, e)
	writes := counter.writes

	// Dying just before write k+1 leaves the table as dying just after
	// write k (its answer lost) does, so the points are: before the first
	// write, then after each.
	for k := 0; k < writes; k++ {
		for _, after := range []bool{false, true} {
			if k > 0 && !after {
				continue
			}
			t.Run(fmt.Sprintf("write %d of %d, after=%v", k+1, writes, after), func(t *testing.T) {
				t.Parallel()
				e, p, orders, custs := crashScenario(t)
				crashing := newService(e, func(s *promotion.Service) { s.Store = &crashStore{Store: e.store, left: k, after: after} })
				_, err := crashing.Tick(e.ctx)
				if !errors.Is(err, errCrash) {
					t.Fatalf("tick with a crash at write %d: %v", k+1, err)
				}
				MustAudit(t, e)
				MustTick(t, newService(e))
				MustTick(t, newService(e))
				if got := fingerprint(t, e, p, orders, custs); got != want {
					t.Fatalf("after a crash at write %d and a resume:\n%s\n\nwant (uninterrupted):\n%s", k+1, got, want)
				}
				MustAudit(t, e)
			})
		}
	}
}

// Workers that process overlapping batches in parallel (every batch
// delivered several times, in different orders) grant each order once,
// and the run's counts and summary are those of one clean pass.
func TestPromotionParallelWorkersGrantEachOrderOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var custs []gc.Customer
	for i := range 3 {
		custs = append(custs, MustCustomer(t, e, fmt.Sprintf("p%d@example.com", i)))
	}
	p := MustPromotion(t, e, nil)
	for i := range 12 {
		amount := int64(5000 + i)
		if i%4 == 3 {
			amount = 100
		}
		MustOrder(t, e, custs[i%3].ID, fmt.Sprintf("p%d@example.com", i%3), "USD", amount)
	}
	q := &recordingQueue{}
	svc := newService(e, func(s *promotion.Service) { s.Queue, s.InlineGrants = q, -1 })
	MustTick(t, svc)
	deliverInParallel(t, svc, q.take(), 6)

	grants := MustGrants(t, e, p.ID)
	if len(grants) != 9 {
		t.Fatalf("%d grants, want 9", len(grants))
	}
	for _, c := range custs {
		if got := MustBalance(t, e, c.ID); got != 3000 {
			t.Fatalf("%s balance = %d, want 3000", c.Email, got)
		}
	}
	runs := MustRuns(t, e, p.ID)
	if len(runs) != 1 || runs[0].Status != gc.RunDone {
		t.Fatalf("runs = %+v", runs)
	}
	wantCounts(t, runs[0].Counts, gc.RunCounts{OrdersExamined: 12, CreditsGranted: 9, AmountGranted: 9000,
		Skipped: map[gc.SkipReason]int64{gc.SkipBelowMinimum: 3}})
	if n := countPrefix(MustEmails(t, e), "admin@shop.test: Test Shop promotion"); n != 1 {
		t.Fatalf("%d summaries, want 1", n)
	}
	MustAudit(t, e)
}

// With a budget of N credits and more qualifying orders, parallel workers
// grant exactly N.
func TestPromotionBudgetUnderParallelism(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var custs []gc.Customer
	for i := range 4 {
		custs = append(custs, MustCustomer(t, e, fmt.Sprintf("b%d@example.com", i)))
	}
	budget := int64(5 * 1000)
	p := MustPromotion(t, e, func(in *gc.NewPromotion) { in.Budget = &budget })
	for i := range 12 {
		MustOrder(t, e, custs[i%4].ID, fmt.Sprintf("b%d@example.com", i%4), "USD", 5000)
	}
	q := &recordingQueue{}
	svc := newService(e, func(s *promotion.Service) { s.Queue, s.InlineGrants, s.PageSize = q, -1, 2 })
	MustTick(t, svc)
	deliverInParallel(t, svc, q.take(), 8)

	if n := len(MustGrants(t, e, p.ID)); n != 5 {
		t.Fatalf("%d grants, want exactly 5", n)
	}
	var total int64
	for _, c := range custs {
		total += MustBalance(t, e, c.ID)
	}
	if total != budget {
		t.Fatalf("credit granted = %d, want the budget %d", total, budget)
	}
	if left, err := dynamo.BudgetRemainingForTest(e.ctx, e.store, e.shop.ID, p.ID); err != nil || left != 0 {
		t.Fatalf("budget left = %d (%v), want 0", left, err)
	}
	runs := MustRuns(t, e, p.ID)
	wantCounts(t, runs[0].Counts, gc.RunCounts{OrdersExamined: 12, CreditsGranted: 5, AmountGranted: 5000,
		Skipped: map[gc.SkipReason]int64{gc.SkipBudgetExhausted: 7}})
	MustAudit(t, e)
}

// A paused promotion's batches wait; once it is resumed, the next tick
// hands them out again and the run finishes.
func TestPromotionPausedRunResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "pause@example.com")
	p := MustPromotion(t, e, nil)
	for range 4 {
		MustOrder(t, e, cust.ID, "pause@example.com", "USD", 5000)
	}
	q := &recordingQueue{}
	svc := newService(e, func(s *promotion.Service) { s.Queue, s.InlineGrants = q, -1 })
	MustTick(t, svc)
	msgs := q.take()
	if _, err := e.store.SetPromotionStatus(e.ctx, e.admin, "", p.ID, gc.PromotionPaused); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if _, err := svc.Handle(e.ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(MustGrants(t, e, p.ID)); n != 0 {
		t.Fatalf("%d grants while paused, want 0", n)
	}
	if _, err := e.store.SetPromotionStatus(e.ctx, e.admin, "", p.ID, gc.PromotionActive); err != nil {
		t.Fatal(err)
	}
	MustTick(t, svc) // too soon: the batches may still be in flight
	if len(q.take()) != 0 {
		t.Fatal("batches handed out again before RedispatchAfter")
	}
	e.clock.ns.Add(int64(promotion.DefaultRedispatchAfter + time.Minute))
	MustTick(t, svc)
	deliverInParallel(t, svc, q.take(), 1)
	if got := MustBalance(t, e, cust.ID); got != 4000 {
		t.Fatalf("balance = %d, want 4000", got)
	}
	if runs := MustRuns(t, e, p.ID); runs[0].Status != gc.RunDone {
		t.Fatalf("run = %+v, want done", runs[0])
	}
	MustAudit(t, e)
}

// deliverInParallel has n workers each handle every message (twice for the
// first), in its own random order, concurrently.
func deliverInParallel(tb testing.TB, svc *promotion.Service, msgs []promotion.Message, n int) {
	tb.Helper()
	if len(msgs) == 0 {
		tb.Fatal("no messages to deliver")
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range n {
		mine := append([]promotion.Message(nil), msgs...)
		if w == 0 {
			mine = append(mine, msgs...)
		}
		r := rand.New(rand.NewPCG(uint64(w), 7))
		r.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range mine {
				if _, err := svc.Handle(context.Background(), m); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

// A run reads the orders index ahead, several pages at once, and cuts its
// steps from what it read: the batches are the same pages of orders in
// time order as when each page is read alone, with a fraction of the
// queries (each read queries every shard of the day).
func TestPromotionRunReadsAhead(t *testing.T) {
	t.Parallel()
	run := func(readAhead int) (queries int, batches [][]string, placed []string) {
		e := newEnv(t)
		cust := MustCustomer(t, e, "ahead@example.com")
		p := MustPromotion(t, e, nil)
		for range 9 {
			placed = append(placed, MustOrder(t, e, cust.ID, "ahead@example.com", "USD", 5000).ID)
		}
		svc := newService(e, func(s *promotion.Service) { s.PageSize, s.ReadAhead = 2, readAhead })
		e.counter.Reset()
		MustTick(t, svc)
		queries = e.counter.Counts()["Query"]
		r := MustRuns(t, e, p.ID)[0]
		if r.Status != gc.RunDone || r.Counts.CreditsGranted != 9 {
			t.Fatalf("run %+v, want done with 9 credits", r)
		}
		for seq := 1; seq <= r.Batches; seq++ {
			b, err := e.store.Batch(e.ctx, e.shop.ID, p.ID, r.ID, seq)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range b.Candidates {
				ids = append(ids, c.OrderID)
			}
			batches = append(batches, ids)
		}
		return queries, batches, placed
	}
	alone, _, _ := run(1)
	ahead, batches, placed := run(10)
	t.Logf("queries: %d reading each page alone, %d reading ahead", alone, ahead)
	want := [][]string{placed[0:2], placed[2:4], placed[4:6], placed[6:8], placed[8:9]}
	if fmt.Sprint(batches) != fmt.Sprint(want) {
		t.Fatalf("batches %v, want the orders two by two in time order %v", batches, want)
	}
	if alone-ahead < 3*dynamo.ListShards {
		t.Fatalf("%d queries reading ahead, %d reading each page alone: want at least %d fewer", ahead, alone, 3*dynamo.ListShards)
	}
}
