package giftcredit

import (
	"context"
	"time"
)

// PromotionStatus is whether runs grant a promotion's credit.
type PromotionStatus string

// A promotion is active or paused; runs skip paused promotions.
const (
	PromotionActive PromotionStatus = "active"
	PromotionPaused PromotionStatus = "paused"
)

// Per says what earns a promotion's credit once.
const (
	PerOrder = "order" // an order whose gift cards total at least the minimum
	PerCard  = "card"  // each gift card of at least the minimum
)

// Promotion is "a gift-card purchase of at least MinGiftCardAmount earns
// CreditAmount of account credit", within [StartsAt, EndsAt) by order time.
type Promotion struct {
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	Currency          string          `json:"currency"`
	StartsAt          time.Time       `json:"startsAt"`
	EndsAt            time.Time       `json:"endsAt"`
	MinGiftCardAmount int64           `json:"minGiftCardAmount"`
	CreditAmount      int64           `json:"creditAmount"`
	Per               string          `json:"per"`
	PerCustomerLimit  int64           `json:"perCustomerLimit"`
	Budget            *int64          `json:"budget,omitempty"`
	BudgetRemaining   *int64          `json:"budgetRemaining,omitempty"`
	Status            PromotionStatus `json:"status"`
	CreatedAt         time.Time       `json:"createdAt"`
}

// NewPromotion is the input to define a promotion.
type NewPromotion struct {
	Name              string    `json:"name"`
	Currency          string    `json:"currency"`
	StartsAt          time.Time `json:"startsAt"`
	EndsAt            time.Time `json:"endsAt"`
	MinGiftCardAmount int64     `json:"minGiftCardAmount"`
	CreditAmount      int64     `json:"creditAmount"`
	Per               string    `json:"per,omitempty"`
	PerCustomerLimit  int64     `json:"perCustomerLimit,omitempty"`
	Budget            *int64    `json:"budget,omitempty"`
}

// Validate checks the input, its currency last, and applies defaults: per
// order, one grant per customer.
func (in *NewPromotion) Validate() error {
	if err := ValidateText("name", in.Name, true, MaxNameLen); err != nil {
		return err
	}
	if in.StartsAt.IsZero() {
		return Invalid("startsAt", "startsAt is required (RFC 3339)")
	}
	if in.EndsAt.IsZero() {
		return Invalid("endsAt", "endsAt is required (RFC 3339)")
	}
	if !in.EndsAt.After(in.StartsAt) {
		return Invalid("endsAt", "endsAt must be after startsAt")
	}
	if err := ValidateAmount("minGiftCardAmount", in.MinGiftCardAmount); err != nil {
		return err
	}
	if err := ValidateAmount("creditAmount", in.CreditAmount); err != nil {
		return err
	}
	switch in.Per {
	case "":
		in.Per = PerOrder
	case PerOrder, PerCard:
	default:
		return Invalid("per", "per must be order or card")
	}
	if in.PerCustomerLimit == 0 {
		in.PerCustomerLimit = 1
	}
	if in.PerCustomerLimit < 0 || in.PerCustomerLimit > 1000 {
		return Invalid("perCustomerLimit", "perCustomerLimit must be between 1 and 1000")
	}
	if in.Budget != nil {
		if err := ValidateAmount("budget", *in.Budget); err != nil {
			return err
		}
	}
	return ValidateCurrency(in.Currency)
}

// PromotionPage is one page of promotions.
type PromotionPage struct {
	Promotions []Promotion `json:"promotions"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

// Promotions defines and lists a shop's promotions.
type Promotions interface {
	// CreatePromotion defines a promotion (EINVALID).
	CreatePromotion(ctx context.Context, a Actor, idemKey string, in NewPromotion) (Promotion, error)
	// ListPromotions lists a shop's promotions, newest first.
	ListPromotions(ctx context.Context, shopID string, p PageRequest) (PromotionPage, error)
	// Promotion returns one promotion (ENOTFOUND).
	Promotion(ctx context.Context, shopID, id string) (Promotion, error)
	// PromotionRunHistory lists a promotion's runs, newest first (ENOTFOUND).
	PromotionRunHistory(ctx context.Context, shopID, id string, p PageRequest) (PromotionRunPage, error)
	// SetPromotionStatus pauses or resumes a promotion (ENOTFOUND).
	SetPromotionStatus(ctx context.Context, a Actor, idemKey, id string, status PromotionStatus) (Promotion, error)
}

// Promotion runs. A run grants a promotion's credit to the orders placed
// since the previous run, and retries the orders that earlier runs had to
// leave waiting for a customer. The rules below are pure; the store applies
// them inside the transactions that make them exact.
//
// The rule, stated once:
//   - An order counts when its time is in [StartsAt, EndsAt): StartsAt
//     inclusive, EndsAt exclusive.
//   - Only orders in the promotion's currency count.
//   - Per order: the order's gift cards that are not disabled must total at
//     least MinGiftCardAmount (≥, so exactly the minimum qualifies); it
//     earns CreditAmount once. Per card: each gift card of at least
//     MinGiftCardAmount that is not disabled earns CreditAmount once.
//   - A disabled card never counts (disabling is how staff take back a lost
//     or refunded card). Redeemed cards count: redemption is the card's
//     normal use. A card disabled after its grant does not undo the grant;
//     staff reverse it like any other promotion grant.
//   - The credit goes to the order's customer, or for a guest order to the
//     customer whose email is the order's billing email (case-insensitive).
//     If there is none yet, the order waits and every later run retries it
//     until FollowUp after the promotion ends.
//   - A customer receives at most PerCustomerLimit grants of a promotion,
//     and the grants never exceed the budget, if there is one.

// SkipReason says why a run granted nothing for an order (or, in a per-card
// promotion, a gift card).
type SkipReason string

// The reasons a run skips an order or card.
const (
	SkipOutsideWindow   SkipReason = "outside_window"
	SkipOtherCurrency   SkipReason = "other_currency"
	SkipNoGiftCards     SkipReason = "no_gift_cards"
	SkipBelowMinimum    SkipReason = "below_minimum"
	SkipCardDisabled    SkipReason = "card_disabled"
	SkipNoCustomer      SkipReason = "no_customer"
	SkipCustomerLimit   SkipReason = "customer_limit"
	SkipBudgetExhausted SkipReason = "budget_exhausted"
	SkipAlreadyGranted  SkipReason = "already_granted"
)

// SkipReasons lists every reason in the order reports show them.
var SkipReasons = []SkipReason{SkipNoCustomer, SkipBelowMinimum, SkipCardDisabled, SkipOtherCurrency,
	SkipNoGiftCards, SkipCustomerLimit, SkipBudgetExhausted, SkipAlreadyGranted, SkipOutsideWindow}

// Describe returns the reason as a shop's staff should read it.
func (r SkipReason) Describe() string {
	switch r {
	case SkipOutsideWindow:
		return "placed outside the promotion's dates"
	case SkipOtherCurrency:
		return "in another currency"
	case SkipNoGiftCards:
		return "no gift cards in the order"
	case SkipBelowMinimum:
		return "gift cards below the minimum"
	case SkipCardDisabled:
		return "below the minimum once disabled cards are left out"
	case SkipNoCustomer:
		return "guest order with no customer for the billing email yet (retried by later runs)"
	case SkipCustomerLimit:
		return "customer already received the maximum number of credits"
	case SkipBudgetExhausted:
		return "promotion budget used up"
	case SkipAlreadyGranted:
		return "credit already granted by an earlier run"
	}
	return string(r)
}

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
	// CustomerID is the order's customer; empty for a guest order, whose
	// customer is found by BillingEmail.
	CustomerID   string `json:"customerId,omitempty"`
	BillingEmail string `json:"billingEmail"`
	// Cards are the order's gift cards (per order) or the one card (per card).
	Cards []CandidateCard `json:"cards"`
}

// Key identifies the candidate's grant: the order, and the card in a
// per-card promotion. A grant record under this key is written at most once.
func (c GrantCandidate) Key(per string) string {
	if per == PerCard && len(c.Cards) == 1 {
		return c.OrderID + "#" + c.Cards[0].ID
	}
	return c.OrderID
}

// Candidates applies the promotion's rule to what an order records and
// returns the order's candidates and the skips, counted per order (per
// card in a per-card promotion; an order without gift cards counts once).
func (p Promotion) Candidates(o Order) ([]GrantCandidate, RunCounts) {
	var skips RunCounts
	units := int64(1)
	if p.Per == PerCard && len(o.GiftCards) > 0 {
		units = int64(len(o.GiftCards))
	}
	switch {
	case o.CreatedAt.Before(p.StartsAt) || !o.CreatedAt.Before(p.EndsAt):
		skips.Skip(SkipOutsideWindow, units)
		return nil, skips
	case o.Currency != p.Currency:
		skips.Skip(SkipOtherCurrency, units)
		return nil, skips
	case len(o.GiftCards) == 0:
		skips.Skip(SkipNoGiftCards, 1)
		return nil, skips
	}
	base := GrantCandidate{OrderID: o.ID, OrderAt: o.CreatedAt, CustomerID: o.CustomerID, BillingEmail: o.BillingEmail}
	if p.Per == PerCard {
		var out []GrantCandidate
		for _, c := range o.GiftCards {
			if c.Amount < p.MinGiftCardAmount {
				skips.Skip(SkipBelowMinimum, 1)
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
		skips.Skip(SkipBelowMinimum, 1)
		return nil, skips
	}
	return []GrantCandidate{base}, skips
}

// Qualifies decides, from the current status of each of the candidate's
// cards, whether it still earns the credit: "" if it does, else why not. A
// card whose status is unknown does not count.
func (p Promotion) Qualifies(c GrantCandidate, status map[string]CardStatus) SkipReason {
	var counted int64
	for _, card := range c.Cards {
		if st, ok := status[card.ID]; ok && st != CardDisabled {
			counted += card.Amount
		}
	}
	if counted >= p.MinGiftCardAmount {
		return ""
	}
	return SkipCardDisabled
}

// RunCounts are a run's tallies. Skipped counts orders, or gift cards in a
// per-card promotion.
type RunCounts struct {
	// OrdersExamined counts the new orders the run read.
	OrdersExamined int64 `json:"ordersExamined"`
	// Reexamined counts waiting candidates (guest orders of earlier runs)
	// the run tried again.
	Reexamined     int64                `json:"reexamined"`
	CreditsGranted int64                `json:"creditsGranted"`
	AmountGranted  int64                `json:"amountGranted"`
	Skipped        map[SkipReason]int64 `json:"skipped,omitempty"`
}

// Skip counts n skips for reason r.
func (c *RunCounts) Skip(r SkipReason, n int64) {
	if n == 0 {
		return
	}
	if c.Skipped == nil {
		c.Skipped = map[SkipReason]int64{}
	}
	c.Skipped[r] += n
}

// Add adds o to c.
func (c *RunCounts) Add(o RunCounts) {
	c.OrdersExamined += o.OrdersExamined
	c.Reexamined += o.Reexamined
	c.CreditsGranted += o.CreditsGranted
	c.AmountGranted += o.AmountGranted
	for r, n := range o.Skipped {
		c.Skip(r, n)
	}
}

// Record counts one grant outcome.
func (c *RunCounts) Record(o GrantOutcome) {
	if o.Granted {
		c.CreditsGranted++
		c.AmountGranted += o.Amount
		return
	}
	c.Skip(o.Skip, 1)
}

// RunStatus is whether a run is still under way.
type RunStatus string

// A run is running until every batch is done and its summary is queued.
const (
	RunRunning RunStatus = "running"
	RunDone    RunStatus = "done"
)

// RunPhase is what a running run is reading.
type RunPhase string

// A run reads new orders, then the waiting candidates of earlier runs, then
// only waits for its batches to be done.
const (
	PhaseOrders  RunPhase = "orders"
	PhaseWaiting RunPhase = "waiting"
	PhaseBatches RunPhase = "batches"
)

// PromotionRun is one run of a promotion: the orders placed in [From,
// Until) and the candidates still waiting from earlier runs, cut into
// numbered batches of candidates. Its progress is stored, so a run that
// was killed resumes where it stopped.
type PromotionRun struct {
	ID          string    `json:"id"`
	PromotionID string    `json:"promotionId"`
	Status      RunStatus `json:"status"`
	Phase       RunPhase  `json:"phase"`
	// From and Until bound the order times this run examines: From
	// inclusive, Until exclusive.
	From        time.Time `json:"from"`
	Until       time.Time `json:"until"`
	Batches     int       `json:"batches"`
	BatchesDone int       `json:"batchesDone"`
	Counts      RunCounts `json:"counts"`
	StartedAt   time.Time `json:"startedAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`
	// Cursor is the opaque position of the scan in its phase.
	Cursor string `json:"-"`
	// Dispatched is how many batches (1..Dispatched) were handed to a
	// worker at least once.
	Dispatched int `json:"-"`
}

// ScanDone reports whether the run has read everything it will examine.
func (r PromotionRun) ScanDone() bool { return r.Phase == PhaseBatches }

// Complete reports whether every batch of a fully read run is done.
func (r PromotionRun) Complete() bool { return r.ScanDone() && r.BatchesDone == r.Batches }

// PromotionRunPage is one page of a promotion's runs, newest first.
type PromotionRunPage struct {
	Runs       []PromotionRun `json:"runs"`
	NextCursor string         `json:"nextCursor,omitempty"`
}

// RunStep is one step of a run's scan: the position after it, what it
// counted, and the candidates that become the run's next batch.
type RunStep struct {
	// Cursor is the position after this step; with PhaseDone it is ignored.
	Cursor string
	// PhaseDone says this step read the last of the current phase.
	PhaseDone  bool
	Counts     RunCounts
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
	Shop      Shop
	Promotion Promotion
	RunID     string
	Candidate GrantCandidate
	// Waiting is true when the candidate comes from the waiting list, which
	// the grant then resolves in the same transaction.
	Waiting bool
}

// GrantOutcome is what became of a candidate. A grant written earlier by
// the same run (a retried batch) reports Granted again, so a batch's counts
// do not depend on how often it was tried; one by an earlier run is
// SkipAlreadyGranted.
type GrantOutcome struct {
	Granted       bool       `json:"granted"`
	Skip          SkipReason `json:"skip,omitempty"`
	CustomerID    string     `json:"customerId,omitempty"`
	Amount        int64      `json:"amount,omitempty"`
	TransactionID string     `json:"transactionId,omitempty"`
}

// ErrPromotionNotActive is returned by a grant for a promotion that was
// paused: the batch stays pending and is retried once the promotion is
// resumed.
var ErrPromotionNotActive = Errorf(ECONFLICT, "the promotion is not active")

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
	StartRun(ctx context.Context, shopID, promotionID string, until time.Time) (run PromotionRun, ok bool, err error)
	// Run reads a run (ENOTFOUND).
	Run(ctx context.Context, shopID, promotionID, runID string) (PromotionRun, error)
	// PromotionRunHistory lists a promotion's runs, newest first.
	PromotionRunHistory(ctx context.Context, shopID, promotionID string, p PageRequest) (PromotionRunPage, error)
	// RunOrders returns up to limit orders of the run's window after its
	// cursor, in time order, and the cursor after them ("" at the end).
	RunOrders(ctx context.Context, shopID string, run PromotionRun, limit int) (orders []Order, next string, err error)
	// RunWaiting returns up to limit candidates waiting from earlier runs
	// after the run's cursor, and the cursor after them ("" at the end).
	RunWaiting(ctx context.Context, shopID string, run PromotionRun, limit int) (cands []GrantCandidate, next string, err error)
	// SaveRunStep records a step (new batch, cursor, counts) atomically,
	// if the run is still where it was read; ECONFLICT if another
	// invocation moved it first.
	SaveRunStep(ctx context.Context, shopID string, run PromotionRun, step RunStep) (PromotionRun, error)
	// Batch reads a batch (ENOTFOUND).
	Batch(ctx context.Context, shopID, promotionID, runID string, seq int) (PromotionBatch, error)
	// OutstandingBatches lists the numbers of a run's batches not done yet.
	OutstandingBatches(ctx context.Context, shopID string, run PromotionRun) ([]int, error)
	// TouchRun records that the run's outstanding batches were handed out again.
	TouchRun(ctx context.Context, shopID string, run PromotionRun) error
	// Grant grants one candidate's credit in one transaction, at most once
	// per (promotion, order[, card]). A skip is an outcome, not an error.
	// ErrPromotionNotActive if the promotion was paused.
	Grant(ctx context.Context, r GrantRequest) (GrantOutcome, error)
	// AddWaiting puts a guest candidate with no customer yet on the
	// promotion's waiting list (once; a repeat is a no-op).
	AddWaiting(ctx context.Context, shopID, promotionID, runID string, per string, c GrantCandidate) error
	// ResolveWaiting takes a candidate off the waiting list.
	ResolveWaiting(ctx context.Context, shopID, promotionID string, per string, c GrantCandidate) error
	// CompleteBatch marks a batch done and adds its counts to its run, once:
	// false if the batch was already done.
	CompleteBatch(ctx context.Context, shopID string, b PromotionBatch, counts RunCounts) (bool, error)
	// FinishRun ends a complete run, moves the promotion's examined
	// watermark to the run's Until and queues the summary (nil: none), in
	// one transaction: false if the run had already finished or is not
	// complete as read.
	FinishRun(ctx context.Context, shopID string, run PromotionRun, summary *Email) (bool, error)
}
