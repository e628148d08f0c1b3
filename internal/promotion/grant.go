package promotion

import (
	"context"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// This file holds the promotion rule (which orders earn credit), the run
// machinery's types and store port, and the grant decision. What the API
// and the emails show of a promotion (the promotion, its runs as a read
// model, their counts and skip reasons) stays in package giftcredit.

// CandidateCard is a gift card that counts toward a grant.
type CandidateCard struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
}

// GrantCandidate is an order (per order) or one gift card of it (per card)
// that qualifies on what the order records; whether its cards are still
// enabled, who the customer is and whether limit and budget allow it are
// decided when it is granted.
type GrantCandidate struct {
	OrderID string    `json:"orderId"`
	OrderAt time.Time `json:"orderAt"`
	// CustomerID is the order's customer. For a guest order it is empty
	// until the batch is built, when the customer whose email is the
	// billing email (if any) is filled in; a grant of a guest candidate
	// still without one looks it up again.
	CustomerID   string `json:"customerId,omitempty"`
	BillingEmail string `json:"billingEmail"`
	// Cards are the order's gift cards (per order) or the one card (per card).
	Cards []CandidateCard `json:"cards"`
}

// Key identifies the candidate's grant: the order, and the card in a
// per-card promotion. A grant record under this key is written at most once.
func (c GrantCandidate) Key(per string) string {
	if per == gc.PerCard && len(c.Cards) == 1 {
		return c.OrderID + "#" + c.Cards[0].ID
	}
	return c.OrderID
}

// Candidates applies the promotion's rule to what an order records and
// returns the order's candidates and the skips, counted per order (per
// card in a per-card promotion; an order without gift cards counts once).
func Candidates(p gc.Promotion, o gc.Order) ([]GrantCandidate, gc.RunCounts) {
	var skips gc.RunCounts
	units := int64(1)
	if p.Per == gc.PerCard && len(o.GiftCards) > 0 {
		units = int64(len(o.GiftCards))
	}
	switch {
	case o.CreatedAt.Before(p.StartsAt) || !o.CreatedAt.Before(p.EndsAt):
		skips.Skip(gc.SkipOutsideWindow, units)
		return nil, skips
	case o.Currency != p.Currency:
		skips.Skip(gc.SkipOtherCurrency, units)
		return nil, skips
	case len(o.GiftCards) == 0:
		skips.Skip(gc.SkipNoGiftCards, 1)
		return nil, skips
	}
	base := GrantCandidate{OrderID: o.ID, OrderAt: o.CreatedAt, CustomerID: o.CustomerID, BillingEmail: o.BillingEmail}
	if p.Per == gc.PerCard {
		var out []GrantCandidate
		for _, c := range o.GiftCards {
			if c.Amount < p.MinGiftCardAmount {
				skips.Skip(gc.SkipBelowMinimum, 1)
				continue
			}
			cand := base
			cand.Cards = []CandidateCard{{ID: c.ID, Amount: c.Amount}}
			out = append(out, cand)
		}
		return out, skips
	}
	var total int64
	for _, c := range o.GiftCards {
		total += c.Amount // bounded: MaxGiftCards * MaxAmount < MaxInt64
		base.Cards = append(base.Cards, CandidateCard{ID: c.ID, Amount: c.Amount})
	}
	if total < p.MinGiftCardAmount {
		skips.Skip(gc.SkipBelowMinimum, 1)
		return nil, skips
	}
	return []GrantCandidate{base}, skips
}

// Qualifies decides, from the current status of each of the candidate's
// cards, whether it still earns the credit: "" if it does, else why not. A
// card whose status is unknown does not count.
func Qualifies(p gc.Promotion, c GrantCandidate, status map[string]gc.CardStatus) gc.SkipReason {
	var counted int64
	for _, card := range c.Cards {
		if st, ok := status[card.ID]; ok && st != gc.CardDisabled {
			counted += card.Amount
		}
	}
	if counted >= p.MinGiftCardAmount {
		return ""
	}
	return gc.SkipCardDisabled
}

// Record counts one grant outcome in c.
func Record(c *gc.RunCounts, o GrantOutcome) {
	if o.Granted {
		c.CreditsGranted++
		c.AmountGranted += o.Amount
		return
	}
	c.Skip(o.Skip, 1)
}

// RunStep is one step of a run's scan: the position after it, what it
// counted, and the candidates that become the run's next batch.
type RunStep struct {
	// Cursor is the position after this step; with PhaseDone it is ignored.
	Cursor string
	// PhaseDone says this step read the last of the current phase.
	PhaseDone  bool
	Counts     gc.RunCounts
	Candidates []GrantCandidate
	// Dispatched is the run's new dispatched count.
	Dispatched int
}

// PromotionBatch is a numbered batch of a run's candidates: the unit of work
// a worker does and a queue message names.
type PromotionBatch struct {
	PromotionID string `json:"promotionId"`
	RunID       string `json:"runId"`
	Seq         int    `json:"seq"`
	// Waiting is true for a batch of candidates that waited from earlier runs.
	Waiting    bool             `json:"waiting,omitempty"`
	Candidates []GrantCandidate `json:"candidates"`
	Done       bool             `json:"done"`
}

// GrantRequest asks to grant one candidate's credit.
type GrantRequest struct {
	Shop      gc.Shop
	Promotion gc.Promotion
	RunID     string
	Candidate GrantCandidate
	// Waiting is true when the candidate comes from the waiting list, which
	// the grant then resolves in the same transaction.
	Waiting bool
	// Seq is the number of the candidate's batch, whose lease of the
	// promotion's budget pays the grant (see PromotionRuns.LeaseBudget); 0
	// (no batch) pays from the promotion's budget directly.
	Seq int
	// Index is the candidate's position in its batch of BatchSize
	// candidates: the batch's lease is spread over several lease shards
	// (SplitLease), and the candidate spends its own shard (LeaseShard)
	// first.
	Index, BatchSize int
}

// GrantOutcome is what became of a candidate. A grant written earlier by
// the same run (a retried batch) reports Granted again, so a batch's counts
// do not depend on how often it was tried; one by an earlier run is
// SkipAlreadyGranted.
type GrantOutcome struct {
	Granted       bool          `json:"granted"`
	Skip          gc.SkipReason `json:"skip,omitempty"`
	CustomerID    string        `json:"customerId,omitempty"`
	Amount        int64         `json:"amount,omitempty"`
	TransactionID string        `json:"transactionId,omitempty"`
}

// ErrPromotionNotActive is returned by a grant for a promotion that was
// paused: the batch stays pending and is retried once the promotion is
// resumed.
var ErrPromotionNotActive = gc.Errorf(gc.ECONFLICT, "the promotion is not active")

// PromotionRuns stores runs and makes grants. Every write is conditional,
// so that any call may be repeated or race another and the result is as if
// it ran once.
type PromotionRuns interface {
	// StartRun returns the promotion's run in progress, or starts one that
	// examines the orders from the end of the previous run (the promotion's
	// start for the first) to until, and the candidates still waiting.
	// ok is false, and nothing is started, when there is nothing that could
	// change: no new order, and no waiting candidate whose billing email
	// now belongs to a customer. ENOTFOUND for an unknown promotion.
	StartRun(ctx context.Context, shopID, promotionID string, until time.Time) (run gc.PromotionRun, ok bool, err error)
	// Run reads a run (ENOTFOUND).
	Run(ctx context.Context, shopID, promotionID, runID string) (gc.PromotionRun, error)
	// PromotionRunHistory lists a promotion's runs, newest first.
	PromotionRunHistory(ctx context.Context, shopID, promotionID string, p gc.PageRequest) (gc.PromotionRunPage, error)
	// RunOrders returns up to limit orders of the run's window after its
	// cursor, in time order, and the cursor after them ("" at the end).
	RunOrders(ctx context.Context, shopID string, run gc.PromotionRun, limit int) (orders []gc.Order, next string, err error)
	// OrderCursor is the cursor after order o of the run's window: what
	// RunOrders returns as next after a page that ends with o.
	OrderCursor(o gc.Order) string
	// RunWaiting returns up to limit candidates waiting from earlier runs
	// after the run's cursor, and the cursor after them ("" at the end).
	RunWaiting(ctx context.Context, shopID string, run gc.PromotionRun, limit int) (cands []GrantCandidate, next string, err error)
	// SaveRunStep records a step (new batch, cursor, counts) atomically,
	// if the run is still where it was read; ECONFLICT if another
	// invocation moved it first.
	SaveRunStep(ctx context.Context, shopID string, run gc.PromotionRun, step RunStep) (gc.PromotionRun, error)
	// Batch reads a batch (ENOTFOUND).
	Batch(ctx context.Context, shopID, promotionID, runID string, seq int) (PromotionBatch, error)
	// OutstandingBatches lists the numbers of a run's batches not done yet.
	OutstandingBatches(ctx context.Context, shopID string, run gc.PromotionRun) ([]int, error)
	// TouchRun records that the run's outstanding batches were handed out again.
	TouchRun(ctx context.Context, shopID string, run gc.PromotionRun) error
	// LeaseBudget takes the batch's lease of the promotion's budget, once
	// per batch: BatchLease of what is left, moved from the promotion's
	// budget to the batch in one conditional transaction. A no-op for a
	// promotion without a budget, a batch already leased (a redelivery, a
	// second worker) or already done. ErrPromotionNotActive if the
	// promotion was paused.
	LeaseBudget(ctx context.Context, shopID string, p gc.Promotion, b PromotionBatch) error
	// Grant grants one candidate's credit in one transaction, at most once
	// per (promotion, order[, card]). A skip is an outcome, not an error.
	// ErrPromotionNotActive if the promotion was paused.
	Grant(ctx context.Context, r GrantRequest) (GrantOutcome, error)
	// ResolveGuests sets the CustomerID of each guest candidate whose
	// billing email belongs to a customer, reading all the emails at once.
	ResolveGuests(ctx context.Context, shopID string, cands []GrantCandidate) error
	// AddWaiting puts a guest candidate with no customer yet on the
	// promotion's waiting list (once; a repeat is a no-op).
	AddWaiting(ctx context.Context, shopID, promotionID, runID string, per string, c GrantCandidate) error
	// ResolveWaiting takes a candidate off the waiting list.
	ResolveWaiting(ctx context.Context, shopID, promotionID string, per string, c GrantCandidate) error
	// CompleteBatch marks a batch done, adds its counts to its run and
	// returns what is left of the batch's lease to the promotion's budget,
	// once: false if the batch was already done.
	CompleteBatch(ctx context.Context, shopID string, b PromotionBatch, counts gc.RunCounts) (bool, error)
	// FinishRun ends a complete run, moves the promotion's examined
	// watermark to the run's Until and queues the summary (nil: none), in
	// one transaction: false if the run had already finished or is not
	// complete as read.
	FinishRun(ctx context.Context, shopID string, run gc.PromotionRun, summary *gc.Email) (bool, error)
}

// GrantRecord is a grant already written for a candidate.
type GrantRecord struct {
	RunID         string
	CustomerID    string
	Amount        int64
	TransactionID string
}

// GrantState is what a grant reads in one consistent request: the grant
// already written for the candidate (nil: none), the promotion (nil: not
// found), the customer (nil: none), how many grants the customer has of
// this promotion, the current status of each of the candidate's cards
// (absent: the card is gone) and what is left of the batch's lease of the
// budget: Lease in the candidate's own lease shard (nil: no lease, or one
// already returned), Shards in every shard of the batch's lease by shard
// number, the own one included (0 for one returned).
type GrantState struct {
	Existing   *GrantRecord
	Promotion  *gc.Promotion
	Customer   *gc.CustomerState
	Granted    int64
	CardStatus map[string]gc.CardStatus
	Lease      *int64
	Shards     []int64
}

// GrantPlan is the decision of a grant: the outcome, and when it grants,
// the transaction, the customer's balance change and, for a promotion with
// a budget, whether the batch's lease pays the credit (FromLease, from
// lease shard LeaseShard) or the promotion's budget does.
type GrantPlan struct {
	Outcome    GrantOutcome
	Tx         *gc.Transaction
	Change     *gc.BalanceChange
	FromLease  bool
	LeaseShard int
}

// BatchLease is how much of a promotion's budget a batch of n candidates
// leases: at most what it could grant (each candidate earns the credit at
// most once), bounded by what is left; 0 without a budget.
func BatchLease(p gc.Promotion, n int) int64 {
	if p.BudgetRemaining == nil || n <= 0 || p.CreditAmount <= 0 {
		return 0
	}
	left := max(*p.BudgetRemaining, 0)
	if int64(n) > left/p.CreditAmount {
		// Also keeps n * credit from overflowing.
		return left / p.CreditAmount * p.CreditAmount
	}
	return int64(n) * p.CreditAmount
}

// SplitLease spreads a batch's lease x of n candidates over k lease
// shards, so that no one item takes every grant of the batch: candidate i
// spends shard LeaseShard(i, k) first, and the credit of each of the first
// x/credit candidates is put in that candidate's shard (what cannot make a
// whole credit goes with the next candidate). The shares add up to x.
func SplitLease(x, credit int64, n, k int) []int64 {
	k = max(k, 1)
	shares := make([]int64, k)
	if x <= 0 {
		return shares
	}
	if credit <= 0 || n <= 0 {
		shares[0] = x
		return shares
	}
	whole := min(x/credit, int64(n))
	for i := int64(0); i < whole; i++ {
		shares[LeaseShard(int(i), k)] += credit
	}
	shares[LeaseShard(int(whole%int64(n)), k)] += x - whole*credit
	return shares
}

// LeaseShard is the lease shard candidate i of a batch spends first, of k.
func LeaseShard(i, k int) int {
	if k <= 1 || i < 0 {
		return 0
	}
	return i % k
}

// PlanGrant decides one candidate's grant, in this order: an existing
// grant is reported (granted again to the run that wrote it, so a retried
// batch counts the same; already granted to any other); a missing
// promotion is ErrPromotionNotFound and one that is not active
// ErrPromotionNotActive; then the skips: no customer, the cards no longer
// qualify, the customer's limit, the budget. Otherwise it grants the
// promotion's credit, balanced against promotion expense. The batch's
// lease pays the credit if it can: the candidate's own lease shard, else
// the first other shard of the batch that can (a candidate skipped earlier
// left its credit there), so that a batch granted in order grants what one
// lease would; else what is left of the promotion's budget, unleased, does
// (a lease bounded by the budget ran out while other batches returned
// theirs); if neither can, the budget is exhausted.
func PlanGrant(st gc.Stamp, r GrantRequest, s GrantState) (GrantPlan, error) {
	var p GrantPlan
	if g := s.Existing; g != nil {
		p.Outcome = GrantOutcome{CustomerID: g.CustomerID}
		if g.RunID != r.RunID {
			p.Outcome.Skip = gc.SkipAlreadyGranted
			return p, nil
		}
		p.Outcome.Granted, p.Outcome.Amount, p.Outcome.TransactionID = true, g.Amount, g.TransactionID
		return p, nil
	}
	promo := s.Promotion
	if promo == nil {
		return p, gc.ErrPromotionNotFound
	}
	if promo.Status != gc.PromotionActive {
		return p, ErrPromotionNotActive
	}
	if s.Customer == nil {
		p.Outcome.Skip = gc.SkipNoCustomer
		return p, nil
	}
	cust := *s.Customer
	p.Outcome.CustomerID = cust.ID
	if reason := Qualifies(*promo, r.Candidate, s.CardStatus); reason != "" {
		p.Outcome.Skip = reason
		return p, nil
	}
	if s.Granted >= promo.PerCustomerLimit {
		p.Outcome.Skip = gc.SkipCustomerLimit
		return p, nil
	}
	if promo.BudgetRemaining != nil {
		other := -1
		for k, left := range s.Shards {
			if left >= promo.CreditAmount {
				other = k
				break
			}
		}
		switch {
		case s.Lease != nil && *s.Lease >= promo.CreditAmount:
			p.FromLease, p.LeaseShard = true, LeaseShard(r.Index, len(s.Shards))
		case other >= 0:
			p.FromLease, p.LeaseShard = true, other
		case *promo.BudgetRemaining >= promo.CreditAmount:
		default:
			p.Outcome.Skip = gc.SkipBudgetExhausted
			return p, nil
		}
	}
	tx := st.Tx(gc.TxPromotionGrant)
	tx.CustomerID, tx.OrderID, tx.Reference = cust.ID, r.Candidate.OrderID, gc.TruncateText("Promotion: "+promo.Name, gc.MaxReferenceLen)
	// The credit is a lot that expires creditExpiresInDays after the
	// grant, or never.
	ch, posting, moves, err := cust.CreditLot(st, promo.Currency, promo.CreditAmount, gc.LotPromotion, gc.ExpiresInDays(promo.CreditExpiresInDays, st.At))
	if err != nil {
		return p, err
	}
	tx.Lots = moves
	tx.Postings = []gc.Posting{{Account: gc.AccountPromotionExpense, Currency: promo.Currency, Amount: -promo.CreditAmount}, posting}
	p.Tx, p.Change = &tx, &ch
	p.Outcome = GrantOutcome{Granted: true, CustomerID: cust.ID, Amount: promo.CreditAmount, TransactionID: tx.ID}
	return p, nil
}

// GrantIdempotencyKey is the key a grant's transaction is recorded under.
func GrantIdempotencyKey(promotionID, grantKey string) string {
	return "grant:" + promotionID + ":" + grantKey
}

// PlanStart decides how a run that starts now is laid out: it examines
// the orders from the watermark (the end of the previous run; the
// promotion's start for the first, examined nil) to until (never before
// the watermark), starting with the new orders when there are any and with
// the waiting list otherwise. start is false when nothing could change: no
// new order and no waiting candidate that now has a customer; the caller
// then only moves the watermark to until, so the next run does not read
// the empty window again.
func PlanStart(p gc.Promotion, examined *time.Time, until time.Time, newOrders func(from, until time.Time) (bool, error), resolvable func(from, until time.Time) (bool, error)) (run gc.PromotionRun, start bool, err error) {
	from := p.StartsAt
	if examined != nil {
		from = *examined
	}
	until = until.UTC()
	if until.Before(from) {
		until = from
	}
	run = gc.PromotionRun{PromotionID: p.ID, Status: gc.RunRunning, Phase: gc.PhaseOrders, From: from, Until: until}
	orders := false
	if until.After(from) {
		if orders, err = newOrders(from, until); err != nil {
			return run, false, err
		}
	}
	waiting, err := resolvable(from, until)
	if err != nil {
		return run, false, err
	}
	if !orders && !waiting {
		return run, false, nil
	}
	if !orders {
		run.Phase = gc.PhaseWaiting
	}
	return run, true, nil
}
