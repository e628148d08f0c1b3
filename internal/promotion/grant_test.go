package promotion_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// TestPlanGrant: the grant decision, in its order, from the state read.
func TestPlanGrant(t *testing.T) {
	budget := func(n int64) *int64 { return &n }
	promo := gc.Promotion{ID: "pro_1", Name: "Spring", Currency: "EUR", Status: gc.PromotionActive, MinGiftCardAmount: 5000, CreditAmount: 1000, PerCustomerLimit: 2}
	paused := promo
	paused.Status = gc.PromotionPaused
	tight := promo
	tight.BudgetRemaining = budget(999)
	enough := promo
	enough.BudgetRemaining = budget(1000)
	spent := promo
	spent.BudgetRemaining = budget(0)
	cust := gc.CustomerState{Customer: gc.Customer{ID: "cus_a", Balances: []gc.Balance{{Currency: "EUR", Amount: 50}}}, Version: 7}
	cand := promotion.GrantCandidate{OrderID: "ord_1", Cards: []promotion.CandidateCard{{ID: "gc_1", Amount: 5000}}}
	active := map[string]gc.CardStatus{"gc_1": gc.CardActive}
	cases := []struct {
		name      string
		state     promotion.GrantState
		run       string
		code      string
		skip      gc.SkipReason
		granted   bool
		wantTx    bool
		fromLease bool
		// index is the candidate's place in its batch, shard the lease
		// shard that pays (from lease only).
		index, shard int
	}{
		{name: "grants the credit against promotion expense", state: promotion.GrantState{Promotion: &promo, Customer: &cust, CardStatus: active}, granted: true, wantTx: true},
		{name: "an existing grant of this run counts again", run: "run_1",
			state:   promotion.GrantState{Existing: &promotion.GrantRecord{RunID: "run_1", CustomerID: "cus_a", Amount: 1000, TransactionID: "txn_old"}, Promotion: &paused},
			granted: true},
		{name: "an existing grant of another run is already granted, before anything else", run: "run_2",
			state: promotion.GrantState{Existing: &promotion.GrantRecord{RunID: "run_1", CustomerID: "cus_a"}}, skip: gc.SkipAlreadyGranted},
		{name: "a missing promotion", state: promotion.GrantState{Customer: &cust}, code: gc.ENOTFOUND},
		{name: "a paused promotion stops before the skips", state: promotion.GrantState{Promotion: &paused}, code: gc.ECONFLICT},
		{name: "no customer", state: promotion.GrantState{Promotion: &promo, CardStatus: active}, skip: gc.SkipNoCustomer},
		{name: "the card was disabled", state: promotion.GrantState{Promotion: &promo, Customer: &cust, CardStatus: map[string]gc.CardStatus{"gc_1": gc.CardDisabled}}, skip: gc.SkipCardDisabled},
		{name: "the customer's limit, before the budget", state: promotion.GrantState{Promotion: &tight, Customer: &cust, CardStatus: active, Granted: 2}, skip: gc.SkipCustomerLimit},
		{name: "the budget cannot pay the credit", state: promotion.GrantState{Promotion: &tight, Customer: &cust, CardStatus: active, Granted: 1}, skip: gc.SkipBudgetExhausted},
		{name: "a budget of exactly the credit pays it", state: promotion.GrantState{Promotion: &enough, Customer: &cust, CardStatus: active}, granted: true, wantTx: true},
		{name: "the batch's lease pays the credit, the budget being all leased", state: promotion.GrantState{Promotion: &spent, Customer: &cust, CardStatus: active, Lease: budget(1000)},
			granted: true, wantTx: true, fromLease: true},
		{name: "the lease pays before the budget", state: promotion.GrantState{Promotion: &enough, Customer: &cust, CardStatus: active, Lease: budget(3000)},
			granted: true, wantTx: true, fromLease: true},
		{name: "a lease that cannot pay leaves it to the budget left unleased", state: promotion.GrantState{Promotion: &enough, Customer: &cust, CardStatus: active, Lease: budget(999)},
			granted: true, wantTx: true},
		{name: "neither the lease nor the budget can pay", state: promotion.GrantState{Promotion: &tight, Customer: &cust, CardStatus: active, Lease: budget(999)}, skip: gc.SkipBudgetExhausted},
		{name: "an empty lease and a spent budget", state: promotion.GrantState{Promotion: &spent, Customer: &cust, CardStatus: active, Lease: budget(0)}, skip: gc.SkipBudgetExhausted},
		{name: "the customer's limit, before the lease", state: promotion.GrantState{Promotion: &spent, Customer: &cust, CardStatus: active, Granted: 2, Lease: budget(1000)}, skip: gc.SkipCustomerLimit},
		{name: "without a budget a lease is ignored", state: promotion.GrantState{Promotion: &promo, Customer: &cust, CardStatus: active, Lease: budget(0)}, granted: true, wantTx: true},
		{name: "the candidate's own lease shard pays first", index: 4,
			state:   promotion.GrantState{Promotion: &spent, Customer: &cust, CardStatus: active, Lease: budget(2000), Shards: []int64{1000, 2000, 0}},
			granted: true, wantTx: true, fromLease: true, shard: 1},
		{name: "another shard pays when its own cannot (a candidate skipped before it left its credit there)", index: 2,
			state:   promotion.GrantState{Promotion: &spent, Customer: &cust, CardStatus: active, Lease: budget(0), Shards: []int64{0, 999, 0, 1000}},
			granted: true, wantTx: true, fromLease: true, shard: 3},
		{name: "no shard can pay: the budget left unleased does", index: 1,
			state:   promotion.GrantState{Promotion: &enough, Customer: &cust, CardStatus: active, Lease: budget(999), Shards: []int64{999, 999}},
			granted: true, wantTx: true},
		{name: "no shard and no budget can pay", index: 1,
			state: promotion.GrantState{Promotion: &tight, Customer: &cust, CardStatus: active, Shards: []int64{0, 0}}, skip: gc.SkipBudgetExhausted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := c.run
			if run == "" {
				run = "run_1"
			}
			st := gc.Stamp{TxID: "txn_new", Actor: gc.System("shp_1", "promotion-run"), IdempotencyKey: promotion.GrantIdempotencyKey("pro_1", "ord_1"), At: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
			p, err := promotion.PlanGrant(st, promotion.GrantRequest{RunID: run, Candidate: cand, Index: c.index, BatchSize: 8}, c.state)
			if c.code == gc.ECONFLICT && err != promotion.ErrPromotionNotActive {
				t.Fatalf("error %v, want ErrPromotionNotActive", err)
			}
			if got := gc.ErrorCode(err); got != c.code {
				t.Fatalf("error %v (code %q), want code %q", err, got, c.code)
			}
			if c.code != "" {
				return
			}
			if p.Outcome.Skip != c.skip || p.Outcome.Granted != c.granted || (p.Tx != nil) != c.wantTx || p.FromLease != c.fromLease {
				t.Fatalf("outcome %+v (tx %v, from lease %v), want skip %q granted %v from lease %v", p.Outcome, p.Tx != nil, p.FromLease, c.skip, c.granted, c.fromLease)
			}
			if p.FromLease && p.LeaseShard != c.shard {
				t.Fatalf("paid from lease shard %d, want %d", p.LeaseShard, c.shard)
			}
			if p.Tx != nil {
				if err := p.Tx.Validate(); err != nil {
					t.Fatalf("the planned transaction is invalid: %v", err)
				}
				want := []string{"promotion_expense EUR -1000", "customer:cus_a EUR 1000"}
				if got := postings(*p.Tx); !slices.Equal(got, want) {
					t.Errorf("postings %v, want %v", got, want)
				}
				if p.Change.After != 1050 || p.Tx.Reference != "Promotion: Spring" || p.Outcome.TransactionID != p.Tx.ID {
					t.Errorf("change %+v, tx %+v", p.Change, p.Tx)
				}
			}
		})
	}
}

// TestBatchLease: a batch leases what its candidates could earn, bounded
// by the budget left, in whole credits.
func TestBatchLease(t *testing.T) {
	budget := func(n int64) *int64 { return &n }
	p := gc.Promotion{CreditAmount: 1000}
	cases := []struct {
		name string
		left *int64
		n    int
		want int64
	}{
		{name: "no budget: no lease", n: 5},
		{name: "the budget covers the batch", left: budget(10_000), n: 5, want: 5000},
		{name: "exactly the batch", left: budget(5000), n: 5, want: 5000},
		{name: "bounded by the budget, in whole credits", left: budget(3500), n: 5, want: 3000},
		{name: "less than one credit left", left: budget(999), n: 5},
		{name: "nothing left", left: budget(0), n: 5},
		{name: "an empty batch", left: budget(10_000)},
		{name: "a huge batch does not overflow", left: budget(1 << 62), n: 1 << 60, want: 1 << 62 / 1000 * 1000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := p
			q.BudgetRemaining = c.left
			if got := promotion.BatchLease(q, c.n); got != c.want {
				t.Fatalf("BatchLease = %d, want %d", got, c.want)
			}
		})
	}
}

// TestSplitLease: a batch's lease is spread over its shards candidate by
// candidate, in order (each of the first lease/credit candidates' credit
// in its own shard), and the shares add up to the lease.
func TestSplitLease(t *testing.T) {
	cases := []struct {
		name     string
		x        int64
		n, k     int
		want     []int64
		shardOf4 int // LeaseShard(4, k)
	}{
		{name: "every candidate's credit, round the shards", x: 5000, n: 5, k: 3, want: []int64{2000, 2000, 1000}, shardOf4: 1},
		{name: "one shard a candidate", x: 3000, n: 3, k: 3, want: []int64{1000, 1000, 1000}, shardOf4: 1},
		{name: "bounded by the budget: the first candidates' shards", x: 2000, n: 5, k: 4, want: []int64{1000, 1000, 0, 0}, shardOf4: 0},
		{name: "what makes no whole credit goes with the next candidate", x: 2500, n: 5, k: 4, want: []int64{1000, 1000, 500, 0}, shardOf4: 0},
		{name: "no lease", x: 0, n: 5, k: 2, want: []int64{0, 0}, shardOf4: 0},
		{name: "one shard", x: 3000, n: 3, k: 1, want: []int64{3000}, shardOf4: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := promotion.SplitLease(c.x, 1000, c.n, c.k)
			if !slices.Equal(got, c.want) {
				t.Fatalf("SplitLease(%d, 1000, %d, %d) = %v, want %v", c.x, c.n, c.k, got, c.want)
			}
			var sum int64
			for _, v := range got {
				sum += v
			}
			if sum != c.x {
				t.Fatalf("the shares add up to %d, want %d", sum, c.x)
			}
			if s := promotion.LeaseShard(4, c.k); s != c.shardOf4 {
				t.Fatalf("LeaseShard(4, %d) = %d, want %d", c.k, s, c.shardOf4)
			}
		})
	}
}

func postings(tx gc.Transaction) []string {
	var out []string
	for _, p := range tx.Postings {
		out = append(out, p.Account+" "+p.Currency+" "+strconv.FormatInt(p.Amount, 10))
	}
	return out
}

// TestPlanStart: where a run's window starts and ends, and when none is
// started at all.
func TestPlanStart(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	p := gc.Promotion{ID: "pro_1", StartsAt: t0}
	mark := t0.Add(48 * time.Hour)
	cases := []struct {
		name              string
		examined          *time.Time
		until             time.Time
		orders, waiting   bool
		start             bool
		phase             gc.RunPhase
		wantFrom, wantTil time.Time
	}{
		{name: "the first run starts at the promotion's start", until: t0.Add(time.Hour), orders: true, start: true, phase: gc.PhaseOrders, wantFrom: t0, wantTil: t0.Add(time.Hour)},
		{name: "a later run starts at the watermark", examined: &mark, until: mark.Add(time.Hour), orders: true, start: true, phase: gc.PhaseOrders, wantFrom: mark, wantTil: mark.Add(time.Hour)},
		{name: "only waiting candidates: the run begins with them", examined: &mark, until: mark.Add(time.Hour), waiting: true, start: true, phase: gc.PhaseWaiting, wantFrom: mark, wantTil: mark.Add(time.Hour)},
		{name: "nothing new: no run", examined: &mark, until: mark.Add(time.Hour), wantFrom: mark, wantTil: mark.Add(time.Hour)},
		{name: "until before the watermark is the watermark, and no order is read", examined: &mark, until: t0, orders: true, wantFrom: mark, wantTil: mark},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run, start, err := promotion.PlanStart(p, c.examined, c.until,
				func(from, until time.Time) (bool, error) { return c.orders, nil },
				func(from, until time.Time) (bool, error) { return c.waiting, nil })
			if err != nil {
				t.Fatal(err)
			}
			if start != c.start || !run.From.Equal(c.wantFrom) || !run.Until.Equal(c.wantTil) || (start && run.Phase != c.phase) {
				t.Fatalf("run %+v start %v; want start %v in phase %s over [%v, %v)", run, start, c.start, c.phase, c.wantFrom, c.wantTil)
			}
		})
	}
}
