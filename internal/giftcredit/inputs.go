package giftcredit

import (
	"net/mail"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/giftcredit/giftcredit/internal/money"
)

// Limits on input sizes. They keep items well under DynamoDB's 400 KB and
// a whole order inside one TransactWriteItems (100 actions).
const (
	MaxNameLen        = 200
	MaxEmailLen       = 254
	MaxReferenceLen   = 200
	MaxDescriptionLen = 200
	MaxOrderRefLen    = 128
	MaxGiftCards      = 20
	MaxGoodsLines     = 50
	MaxQuantity       = 10_000
	// MaxAmount bounds any single amount so that sums of many amounts cannot
	// overflow int64 (1e15 minor units is 10 trillion in a 2-exponent currency).
	MaxAmount = 1_000_000_000_000_000
)

var paymentTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// ValidatePaymentType accepts the built-in payment methods (card, cash,
// check, other) and any custom type a shop names: a lowercase slug.
func ValidatePaymentType(field, p string) error {
	if !paymentTypeRE.MatchString(p) {
		return Invalid(field, "%s must be card, cash, check, other or a custom type matching [a-z][a-z0-9_-]{0,39}", field)
	}
	return nil
}

// NormalizeEmail validates a bare email address and returns its canonical
// form used for uniqueness: Unicode NFC, then full Unicode case folding,
// then NFC again (folding can leave a string that is no longer composed).
// Simple lower-casing is not enough: "jörg@" typed with a combining
// diaeresis (NFD) and with the precomposed ö (NFC) are the same address to
// a person and must be the same customer, and the Kelvin sign K (U+212A)
// must match "k" by the same rule as any other letter, not by an accident
// of strings.ToLower.
//
// It refuses addresses with control or format characters (such as a
// right-to-left override, which makes an address read differently from
// what it is) and domains that are IP literals ("a@[127.0.0.1]") or bare IP
// addresses ("a@127.0.0.1"): a customer's address names a mail domain.
func NormalizeEmail(field, email string) (string, error) {
	if email == "" {
		return "", Invalid(field, "%s is required", field)
	}
	if len(email) > MaxEmailLen {
		return "", Invalid(field, "%s is longer than %d characters", field, MaxEmailLen)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || !utf8.ValidString(email) {
		return "", Invalid(field, "%s is not a valid email address", field)
	}
	for _, r := range email {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return "", Invalid(field, "%s contains control or format characters", field)
		}
	}
	domain := email[strings.LastIndexByte(email, '@')+1:]
	if _, ipErr := netip.ParseAddr(domain); strings.HasPrefix(domain, "[") || ipErr == nil {
		return "", Invalid(field, "%s must have a domain name, not an IP address", field)
	}
	if !strings.Contains(domain, ".") {
		return "", Invalid(field, "%s is not a valid email address", field)
	}
	// A Caser keeps state, so each call makes its own.
	key := norm.NFC.String(cases.Fold().String(norm.NFC.String(email)))
	if len(key) > MaxEmailLen {
		return "", Invalid(field, "%s is longer than %d characters", field, MaxEmailLen)
	}
	return key, nil
}

// ValidateText checks a required or optional free-text field.
func ValidateText(field, s string, required bool, max int) error {
	if required && strings.TrimSpace(s) == "" {
		return Invalid(field, "%s is required", field)
	}
	if !utf8.ValidString(s) {
		return Invalid(field, "%s is not valid UTF-8", field)
	}
	if utf8.RuneCountInString(s) > max {
		return Invalid(field, "%s is longer than %d characters", field, max)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' {
			return Invalid(field, "%s contains control characters", field)
		}
	}
	return nil
}

// ValidateAmount checks that an amount is positive and within MaxAmount.
func ValidateAmount(field string, amount int64) error {
	if amount <= 0 {
		return Invalid(field, "%s must be a positive integer of minor units", field)
	}
	if amount > MaxAmount {
		return Invalid(field, "%s is larger than %d", field, int64(MaxAmount))
	}
	return nil
}

// NewCustomer is the input to create a customer.
type NewCustomer struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Validate checks the input and returns the canonical email.
func (in NewCustomer) Validate() (string, error) {
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return "", err
	}
	return email, ValidateText("name", in.Name, true, MaxNameLen)
}

// NewOrder is the input to place an order.
type NewOrder struct {
	CustomerID    string        `json:"customerId,omitempty"`
	BillingName   string        `json:"billingName"`
	BillingEmail  string        `json:"billingEmail"`
	PaymentMethod string        `json:"paymentMethod"`
	Currency      string        `json:"currency"`
	GiftCards     []NewGiftCard `json:"giftCards,omitempty"`
	Goods         []OrderLine   `json:"goods,omitempty"`
	ApplyCredit   *bool         `json:"applyCredit,omitempty"`
}

// NewGiftCard is a gift card to issue in an order.
type NewGiftCard struct {
	Amount         int64  `json:"amount"`
	RecipientEmail string `json:"recipientEmail,omitempty"`
}

// WantsCredit reports whether the customer's credit should pay for goods.
func (in NewOrder) WantsCredit() bool {
	return in.CustomerID != "" && (in.ApplyCredit == nil || *in.ApplyCredit)
}

// Validate checks the order, its currency last, and returns the gift-card
// and goods totals.
func (in NewOrder) Validate() (cards, goods int64, err error) {
	if err := ValidateText("billingName", in.BillingName, true, MaxNameLen); err != nil {
		return 0, 0, err
	}
	if _, err := NormalizeEmail("billingEmail", in.BillingEmail); err != nil {
		return 0, 0, err
	}
	if err := ValidatePaymentType("paymentMethod", in.PaymentMethod); err != nil {
		return 0, 0, err
	}
	if in.PaymentMethod == "gift_card" || in.PaymentMethod == "credit" {
		return 0, 0, Invalid("paymentMethod", "gift cards and account credit are not payment methods for an order")
	}
	if len(in.GiftCards) == 0 && len(in.Goods) == 0 {
		return 0, 0, Invalid("giftCards", "an order needs at least one gift card or goods line")
	}
	if len(in.GiftCards) > MaxGiftCards {
		return 0, 0, Invalid("giftCards", "at most %d gift cards per order", MaxGiftCards)
	}
	if len(in.Goods) > MaxGoodsLines {
		return 0, 0, Invalid("goods", "at most %d goods lines per order", MaxGoodsLines)
	}
	for i, c := range in.GiftCards {
		if err := ValidateAmount(fieldIndex("giftCards", i, "amount"), c.Amount); err != nil {
			return 0, 0, err
		}
		if c.RecipientEmail != "" {
			if _, err := NormalizeEmail(fieldIndex("giftCards", i, "recipientEmail"), c.RecipientEmail); err != nil {
				return 0, 0, err
			}
		}
		if cards, err = sumWithin("giftCards", "gift card total", cards, c.Amount); err != nil {
			return 0, 0, err
		}
	}
	for i, g := range in.Goods {
		if err := ValidateText(fieldIndex("goods", i, "description"), g.Description, true, MaxDescriptionLen); err != nil {
			return 0, 0, err
		}
		if err := ValidateAmount(fieldIndex("goods", i, "unitPrice"), g.UnitPrice); err != nil {
			return 0, 0, err
		}
		if g.Quantity <= 0 || g.Quantity > MaxQuantity {
			return 0, 0, Invalid(fieldIndex("goods", i, "quantity"), "quantity must be between 1 and %d", MaxQuantity)
		}
		line, err := money.MulInt64(g.UnitPrice, g.Quantity)
		if err != nil || line > MaxAmount {
			return 0, 0, Invalid(fieldIndex("goods", i, "unitPrice"), "line total (unitPrice × quantity) is larger than %d", int64(MaxAmount))
		}
		if goods, err = sumWithin("goods", "goods total", goods, line); err != nil {
			return 0, 0, err
		}
	}
	if _, err := sumWithin("giftCards", "order total", cards, goods); err != nil {
		return 0, 0, err
	}
	if err := ValidateCurrency(in.Currency); err != nil {
		return 0, 0, err
	}
	return cards, goods, nil
}

// ValidateCurrency checks an ISO 4217 code against the currency table.
func ValidateCurrency(cur string) error {
	if _, err := money.LookupCurrency(cur); err != nil {
		return Invalid("currency", "currency must be an ISO 4217 code such as USD")
	}
	return nil
}

// sumWithin adds two amounts with overflow checking and holds the sum to
// MaxAmount: every total of an order is bounded, whatever its lines.
func sumWithin(field, what string, a, b int64) (int64, error) {
	s, err := money.AddInt64(a, b)
	if err != nil || s > MaxAmount {
		return 0, Invalid(field, "%s is larger than %d", what, int64(MaxAmount))
	}
	return s, nil
}

// DirectCredit is the input to credit a customer's account directly,
// balanced against the funding account of a payment type (seed 003's
// "refund to credit" with a custom payment type).
type DirectCredit struct {
	CustomerID  string `json:"customerId"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	PaymentType string `json:"paymentType"`
	Reference   string `json:"reference,omitempty"`
	// ExpiresAt is when the credit's lot expires (nil: never); the
	// planner checks it against its clock.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// Validate checks the input, its currency last.
func (in DirectCredit) Validate() error {
	if err := ValidateAmount("amount", in.Amount); err != nil {
		return err
	}
	if err := ValidatePaymentType("paymentType", in.PaymentType); err != nil {
		return err
	}
	if err := ValidateText("reference", in.Reference, false, MaxReferenceLen); err != nil {
		return err
	}
	return ValidateCurrency(in.Currency)
}

// CreditApplication is the input to spend a customer's credit on an order
// of the shop's own checkout, identified by OrderRef.
type CreditApplication struct {
	CustomerID string `json:"customerId"`
	OrderRef   string `json:"orderRef"`
	AmountDue  int64  `json:"amountDue"`
	Currency   string `json:"currency"`
}

// Validate checks the input, its currency last.
func (in CreditApplication) Validate() error {
	if err := ValidateText("orderRef", in.OrderRef, true, MaxOrderRefLen); err != nil {
		return err
	}
	if err := ValidateAmount("amountDue", in.AmountDue); err != nil {
		return err
	}
	return ValidateCurrency(in.Currency)
}

// AppliedCredit is the result of a credit application.
type AppliedCredit struct {
	OrderRef      string `json:"orderRef"`
	Currency      string `json:"currency"`
	Applied       int64  `json:"applied"`
	AmountDue     int64  `json:"amountDue"`
	TransactionID string `json:"transactionId,omitempty"`
	Balance       int64  `json:"balance"`
}

// Redemption is the result of redeeming a gift card onto a customer.
type Redemption struct {
	CardID        string `json:"cardId"`
	Last4         string `json:"last4"`
	Currency      string `json:"currency"`
	Amount        int64  `json:"amount"`
	Balance       int64  `json:"balance"`
	TransactionID string `json:"transactionId"`
}

// Reversal is the input to reverse a transaction of a customer.
type Reversal struct {
	CustomerID    string `json:"customerId"`
	TransactionID string `json:"transactionId"`
	Reason        string `json:"reason"`
}

// Validate checks the input.
func (in Reversal) Validate() error {
	return ValidateText("reason", in.Reason, true, MaxReferenceLen)
}

func fieldIndex(list string, i int, field string) string {
	return list + "[" + strconv.Itoa(i) + "]." + field
}
