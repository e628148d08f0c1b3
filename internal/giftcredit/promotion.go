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
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	Currency          string    `json:"currency"`
	StartsAt          time.Time `json:"startsAt"`
	EndsAt            time.Time `json:"endsAt"`
	MinGiftCardAmount int64     `json:"minGiftCardAmount"`
	CreditAmount      int64     `json:"creditAmount"`
	Per               string    `json:"per"`
	PerCustomerLimit  int64     `json:"perCustomerLimit"`
	Budget            *int64    `json:"budget,omitempty"`
	BudgetRemaining   *int64    `json:"budgetRemaining,omitempty"`
	// CreditExpiresInDays is the life of the credit a grant gives (nil:
	// it never expires).
	CreditExpiresInDays *int64          `json:"creditExpiresInDays,omitempty"`
	Status              PromotionStatus `json:"status"`
	CreatedAt           time.Time       `json:"createdAt"`
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
	// CreditExpiresInDays (1 to 3650) makes each grant's credit expire
	// that many days after it is granted; nil: never.
	CreditExpiresInDays *int64 `json:"creditExpiresInDays,omitempty"`
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
	if err := ValidateExpiresInDays("creditExpiresInDays", in.CreditExpiresInDays); err != nil {
		return err
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
