package mail

import (
	"fmt"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Composer is the domain's giftcredit.Composer: it formats the domain's
// values, renders them with this package's templates and addresses the
// result.
type Composer struct {
	// Sender is the From address of emails for shops that have none (the
	// functions' SENDER_ADDRESS).
	Sender string
}

var _ gc.Composer = (*Composer)(nil)

// NewComposer returns a Composer whose default sender is sender.
func NewComposer(sender string) *Composer { return &Composer{Sender: sender} }

// Every method below passes text that people typed (a buyer's name, a
// customer's, a shop's or a promotion's name, an address) through Clean
// before it reaches a subject or body: the recipient of a gift card did not
// choose what the buyer wrote, and bidirectional overrides or line breaks in
// it could disguise the message or forge its header lines.

func email(from, to string, m Message) gc.Email {
	return gc.Email{From: from, To: to, Subject: m.Subject, Text: m.Text, HTML: m.HTML}
}

// from is the shop's sender address, or c's default when it has none.
func (c *Composer) from(shop gc.Shop) string {
	if shop.SenderAddress != "" {
		return shop.SenderAddress
	}
	return c.Sender
}

// OrderEmails composes the emails of a placed order whose cards still carry
// their codes: one to the buyer with the cards that have no recipient, one
// to each recipient with theirs, and a confirmation with masked codes to the
// shop's admin.
func (c *Composer) OrderEmails(shop gc.Shop, o gc.Order) ([]gc.Email, error) {
	var out []gc.Email
	byRecipient := map[string][]GiftCard{}
	var order []string
	for _, card := range o.GiftCards {
		to := card.RecipientEmail
		if to == "" {
			to = o.BillingEmail
		}
		if _, ok := byRecipient[to]; !ok {
			order = append(order, to)
		}
		byRecipient[to] = append(byRecipient[to], GiftCard{Code: card.Code, Amount: gc.FormatMinor(card.Amount, o.Currency)})
	}
	for _, to := range order {
		m, err := GiftCards(GiftCardsData{ShopName: Clean(shop.Name), BuyerName: Clean(o.BillingName),
			ToRecipient: to != o.BillingEmail, Cards: byRecipient[to]})
		if err != nil {
			return nil, err
		}
		out = append(out, email(c.from(shop), to, m))
	}
	if shop.AdminEmail != "" {
		d := OrderConfirmationData{ShopName: Clean(shop.Name), OrderID: o.ID, BillingName: Clean(o.BillingName),
			BillingEmail: Clean(o.BillingEmail), PaymentMethod: Clean(o.PaymentMethod), Total: gc.FormatMinor(o.Total, o.Currency),
			CreditApplied: gc.FormatMinor(o.CreditApplied, o.Currency), AmountDue: gc.FormatMinor(o.AmountDue, o.Currency)}
		for _, card := range o.GiftCards {
			d.Cards = append(d.Cards, MaskedCard{Last4: card.Last4, Amount: gc.FormatMinor(card.Amount, o.Currency), Recipient: Clean(card.RecipientEmail)})
		}
		m, err := OrderConfirmation(d)
		if err != nil {
			return nil, err
		}
		out = append(out, email(c.from(shop), shop.AdminEmail, m))
	}
	return out, nil
}

// AuditEmail composes the report of a failed audit to the shop's admin.
func (c *Composer) AuditEmail(shop gc.Shop, r gc.AuditReport) (gc.Email, error) {
	d := AuditReportData{ShopName: Clean(shop.Name), CheckedAt: r.CheckedAt.UTC().Format(time.RFC3339), Transactions: r.Transactions}
	for _, b := range r.Breaches {
		d.Breaches = append(d.Breaches, Clean(b.Kind+" "+b.Subject+": "+b.Detail))
	}
	m, err := AuditReport(d)
	if err != nil {
		return gc.Email{}, err
	}
	return email(c.from(shop), shop.AdminEmail, m), nil
}

// PromotionSummaryEmail composes the summary of a finished promotion run
// for the shop's admin: orders examined, credits and amount granted, and
// what was skipped and why.
func (c *Composer) PromotionSummaryEmail(shop gc.Shop, p gc.Promotion, r gc.PromotionRun) (gc.Email, error) {
	d := PromotionSummaryData{ShopName: Clean(shop.Name), PromotionName: Clean(p.Name),
		OrdersExamined: int(r.Counts.OrdersExamined), CreditsGranted: int(r.Counts.CreditsGranted),
		AmountGranted: gc.FormatMinor(r.Counts.AmountGranted, p.Currency)}
	for _, reason := range gc.SkipReasons {
		if n := r.Counts.Skipped[reason]; n > 0 {
			d.Skipped = append(d.Skipped, SkipCount{Reason: reason.Describe(), Count: int(n)})
		}
	}
	m, err := PromotionSummary(d)
	if err != nil {
		return gc.Email{}, err
	}
	return email(c.from(shop), shop.AdminEmail, m), nil
}

// PromotionCreditEmail composes the notice to a customer who was granted a
// promotion's credit.
func (c *Composer) PromotionCreditEmail(shop gc.Shop, p gc.Promotion, cust gc.Customer) (gc.Email, error) {
	m, err := PromotionCredit(PromotionCreditData{CustomerName: Clean(cust.Name), ShopName: Clean(shop.Name),
		PromotionName: Clean(p.Name), Amount: gc.FormatMinor(p.CreditAmount, p.Currency)})
	if err != nil {
		return gc.Email{}, err
	}
	return email(c.from(shop), cust.Email, m), nil
}

// LotExpiryEmail composes the reminder to customer cust that what is left
// of lot expires soon (the date in UTC).
func (c *Composer) LotExpiryEmail(shop gc.Shop, cust gc.Customer, lot gc.Lot) (gc.Email, error) {
	if lot.ExpiresAt == nil {
		return gc.Email{}, fmt.Errorf("lot %s does not expire", lot.ID)
	}
	m, err := CreditExpiry(CreditExpiryData{CustomerName: Clean(cust.Name), ShopName: Clean(shop.Name),
		Amount: gc.FormatMinor(lot.Remaining, lot.Currency), ExpiresAt: lot.ExpiresAt.UTC().Format("2 January 2006, 15:04 MST")})
	if err != nil {
		return gc.Email{}, err
	}
	return email(c.from(shop), cust.Email, m), nil
}

// GuessingAlertEmail composes the alert to the shop's admin that failed
// gift-card code attempts across the shop reached threshold in the window
// starting at windowStart.
func (c *Composer) GuessingAlertEmail(shop gc.Shop, windowStart time.Time, failures int64) (gc.Email, error) {
	m, err := GuessingAlert(GuessingAlertData{ShopName: Clean(shop.Name),
		WindowStart: windowStart.UTC().Format(time.RFC3339), Failures: int(failures)})
	if err != nil {
		return gc.Email{}, err
	}
	return email(c.from(shop), shop.AdminEmail, m), nil
}
