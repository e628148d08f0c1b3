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

// Validate checks the input (currency is checked by the caller) and
// applies defaults: per order, one grant per customer.
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
	return nil
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
	// SetPromotionStatus pauses or resumes a promotion (ENOTFOUND).
	SetPromotionStatus(ctx context.Context, a Actor, idemKey, id string, status PromotionStatus) (Promotion, error)
}
