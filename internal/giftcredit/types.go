package giftcredit

import (
	"time"
)

// Role is what an API key may do. An admin key can do everything a shop key can.
type Role string

// The roles an API key can carry.
const (
	RoleShop  Role = "shop"
	RoleAdmin Role = "admin"
)

// Allows reports whether a caller with role r may call something that needs role need.
func (r Role) Allows(need Role) bool {
	switch r {
	case RoleAdmin:
		return need == RoleAdmin || need == RoleShop
	case RoleShop:
		return need == RoleShop
	}
	return false
}

// Actor is the authenticated caller of an operation: the shop comes from the
// API key, never from the request.
type Actor struct {
	ShopID string `json:"shopId"`
	KeyID  string `json:"keyId"`
	Role   Role   `json:"role"`
}

// System returns the actor used by scheduled jobs acting for a shop.
func System(shopID, job string) Actor {
	return Actor{ShopID: shopID, KeyID: "system:" + job, Role: RoleAdmin}
}

// Shop is a tenant. Every other record belongs to exactly one shop.
type Shop struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	AdminEmail      string `json:"adminEmail"`
	SenderAddress   string `json:"senderAddress"`
	DefaultCurrency string `json:"defaultCurrency"`
	// ShopTenders are the payment methods besides card that the shop's
	// `shop` keys may place orders with (an admin key may use any).
	ShopTenders []string `json:"shopTenders,omitempty"`
	// ExpiryNoticeDays is how many days before a lot expires its
	// customer is reminded (nil: DefaultNoticeDays; 0: never).
	ExpiryNoticeDays *int64    `json:"expiryNoticeDays,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
}

// TenderCard is the payment method every key may use: money reaches the
// shop through its card processor.
const TenderCard = "card"

// AllowsTender reports whether a caller with role r may pay an order with
// method. Cash, check, other and custom payment types create value without
// money changing hands through the shop's processor, so they need the
// admin role, unless the shop lists the method in ShopTenders.
func (sh Shop) AllowsTender(r Role, method string) bool {
	if method == TenderCard || r == RoleAdmin {
		return true
	}
	for _, t := range sh.ShopTenders {
		if t == method {
			return true
		}
	}
	return false
}

// APIKey is a shop's credential. Only the hash of the secret is stored.
type APIKey struct {
	ID        string     `json:"id"`
	ShopID    string     `json:"shopId"`
	Role      Role       `json:"role"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// Customer is a shop's customer with a credit balance per currency.
type Customer struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Balances  []Balance `json:"balances"`
	CreatedAt time.Time `json:"createdAt"`
}

// Balance is an amount in minor units of one currency: Amount is what
// can be spent now, Held what open holds reserve (omitted when nothing is
// held, so a customer without holds reads as before holds existed).
type Balance struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
	Held     int64  `json:"held,omitempty"`
	// NextExpiry is the credit that expires soonest, when some does.
	NextExpiry *Expiry `json:"nextExpiry,omitempty"`
}

// BalanceOf returns the customer's credit in currency cur (zero if none).
func (c Customer) BalanceOf(cur string) int64 {
	for _, b := range c.Balances {
		if b.Currency == cur {
			return b.Amount
		}
	}
	return 0
}

// CardStatus is the life-cycle state of a gift card.
type CardStatus string

// Gift cards start active; redemption and disabling are final.
const (
	CardActive   CardStatus = "active"
	CardRedeemed CardStatus = "redeemed"
	CardDisabled CardStatus = "disabled"
)

// GiftCard is an issued card. Its code is never stored: only a keyed hash,
// from which the card's id is derived, and the last four symbols.
type GiftCard struct {
	ID            string `json:"id"`
	Last4         string `json:"last4"`
	Currency      string `json:"currency"`
	InitialAmount int64  `json:"initialAmount"`
	Balance       int64  `json:"balance"`
	// Held is what open holds reserve of the card (not in Balance).
	Held           int64      `json:"held,omitempty"`
	Status         CardStatus `json:"status"`
	OrderID        string     `json:"orderId"`
	RecipientEmail string     `json:"recipientEmail,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
}

// Order is a placed order: gift cards and goods paid by one payment method,
// possibly partly with the customer's credit (which pays only for goods).
type Order struct {
	ID            string      `json:"id"`
	CustomerID    string      `json:"customerId,omitempty"`
	BillingName   string      `json:"billingName"`
	BillingEmail  string      `json:"billingEmail"`
	PaymentMethod string      `json:"paymentMethod"`
	Currency      string      `json:"currency"`
	GiftCards     []OrderCard `json:"giftCards"`
	Goods         []OrderLine `json:"goods"`
	GiftCardTotal int64       `json:"giftCardTotal"`
	GoodsTotal    int64       `json:"goodsTotal"`
	Total         int64       `json:"total"`
	CreditApplied int64       `json:"creditApplied"`
	AmountDue     int64       `json:"amountDue"`
	TransactionID string      `json:"transactionId"`
	CreatedAt     time.Time   `json:"createdAt"`
}

// OrderCard is a gift card line of an order. Code is set only in the response
// to the request that placed the order; it is never stored.
type OrderCard struct {
	ID             string `json:"id"`
	Code           string `json:"code,omitempty"`
	Last4          string `json:"last4"`
	Amount         int64  `json:"amount"`
	RecipientEmail string `json:"recipientEmail,omitempty"`
}

// OrderLine is a line of ordinary goods.
type OrderLine struct {
	Description string `json:"description"`
	UnitPrice   int64  `json:"unitPrice"`
	Quantity    int64  `json:"quantity"`
}

// TxKind says what business event a transaction records.
type TxKind string

// The kinds of ledger transactions.
const (
	TxOrder             TxKind = "order"
	TxRedemption        TxKind = "redemption"
	TxCredit            TxKind = "credit"
	TxCreditApplication TxKind = "credit_application"
	TxReversal          TxKind = "reversal"
	TxPromotionGrant    TxKind = "promotion_grant"
	// A hold moves value from a customer's credit or a card to the hold's
	// account; a capture moves it on to sales (and, when final, the rest
	// back); a release moves what is left back (void or expiry); a refund
	// gives back part of a spend.
	TxHold    TxKind = "hold"
	TxCapture TxKind = "capture"
	TxRelease TxKind = "release"
	TxRefund  TxKind = "refund"
	// An expiry posts what is left of an expiring credit lot at its
	// expiresAt: the customer debited, breakage credited.
	TxExpiry TxKind = "expiry"
)

// Transaction is an append-only, balanced set of postings. A correction is a
// new reversing transaction, never an edit.
type Transaction struct {
	ID             string    `json:"id"`
	Kind           TxKind    `json:"kind"`
	Postings       []Posting `json:"postings"`
	Actor          Actor     `json:"actor"`
	Reference      string    `json:"reference,omitempty"`
	IdempotencyKey string    `json:"idempotencyKey,omitempty"`
	CustomerID     string    `json:"customerId,omitempty"`
	OrderID        string    `json:"orderId,omitempty"`
	OrderRef       string    `json:"orderRef,omitempty"`
	Reverses       string    `json:"reverses,omitempty"`
	// HoldID names the hold of a hold, capture or release transaction.
	HoldID string `json:"holdId,omitempty"`
	// Funds names the account (customer:… or card:…) a hold's value came
	// from, on its hold, capture and release transactions: a refund of a
	// capture restores it there.
	Funds string `json:"funds,omitempty"`
	// RefundOf names the spend a refund gives back part of.
	RefundOf string `json:"refundOf,omitempty"`
	// LotID names the lot an expiry transaction expired.
	LotID     string    `json:"lotId,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// Lots is what the transaction did to the customer's credit lots
	// (what a spend took, a credit made, a refund gave back): they sum to
	// its posting to the customer. Not shown.
	Lots []LotMove `json:"-"`
	// Spent is, on a capture of a hold on credit, the lots its hold took
	// that the capture spent, for a refund to give back. Not shown.
	Spent []LotMove `json:"-"`
}

// VisibleTo returns the transaction as a caller with role r may see it:
// idempotency keys are shown to the admin role only, since a key that
// leaks to another API key would name a remembered result.
func (t Transaction) VisibleTo(r Role) Transaction {
	if r != RoleAdmin {
		t.IdempotencyKey = ""
	}
	return t
}

// Posting is one line of a transaction. Amount is signed in minor units with
// credits positive: a customer's or a card's balance (liabilities) is the sum
// of its postings and never negative; funding accounts (money received) and
// promotion expense go negative, sales positive. BalanceAfter and Version are
// recorded for customer and card accounts: the balance and the account's
// version right after this posting.
type Posting struct {
	Account      string `json:"account"`
	Currency     string `json:"currency"`
	Amount       int64  `json:"amount"`
	BalanceAfter *int64 `json:"balanceAfter,omitempty"`
	Version      int64  `json:"version,omitempty"`
}

// Account names. Customer and card accounts are per record; a customer
// account holds one balance per currency (the posting carries the currency).
const (
	AccountSales            = "sales"
	AccountPromotionExpense = "promotion_expense"
	// AccountBreakage receives the credit that expired unspent.
	AccountBreakage = "breakage"
)

// CustomerAccount names a customer's credit account.
func CustomerAccount(customerID string) string { return "customer:" + customerID }

// CardAccount names a gift card's account.
func CardAccount(cardID string) string { return "card:" + cardID }

// HoldAccount names a hold's account: what it still reserves.
func HoldAccount(holdID string) string { return "hold:" + holdID }

// FundingAccount names the account money of a payment type arrives in.
func FundingAccount(paymentType string) string { return "funding:" + paymentType }

// TracksBalance reports whether postings to account carry BalanceAfter (the
// account has a stored balance that must equal the sum of its postings).
func TracksBalance(account string) bool {
	return hasPrefix(account, "customer:") || hasPrefix(account, "card:") || hasPrefix(account, "hold:")
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
