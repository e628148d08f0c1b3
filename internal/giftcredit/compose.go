package giftcredit

import (
	"fmt"
	"time"

	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/money"
)

// formatAmount renders minor units with the currency's exponent.
func formatAmount(amount int64, cur string) string {
	m, err := money.New(amount, cur)
	if err != nil {
		return fmt.Sprintf("%d %s", amount, cur)
	}
	return m.String()
}

// Every composer below passes text that people typed (a buyer's name, a
// customer's, a shop's or a promotion's name, an address) through
// mail.Clean before it reaches a subject or body: the recipient of a gift
// card did not choose what the buyer wrote, and bidirectional overrides or
// line breaks in it could disguise the message or forge its header lines.

func email(from, to string, m mail.Message) Email {
	return Email{From: from, To: to, Subject: m.Subject, Text: m.Text, HTML: m.HTML}
}

// OrderEmails composes the emails of a placed order whose cards still carry
// their codes: one to the buyer with the cards that have no recipient, one
// to each recipient with theirs, and a confirmation with masked codes to the
// shop's admin.
func OrderEmails(shop Shop, o Order) ([]Email, error) {
	var out []Email
	byRecipient := map[string][]mail.GiftCard{}
	var order []string
	for _, c := range o.GiftCards {
		to := c.RecipientEmail
		if to == "" {
			to = o.BillingEmail
		}
		if _, ok := byRecipient[to]; !ok {
			order = append(order, to)
		}
		byRecipient[to] = append(byRecipient[to], mail.GiftCard{Code: c.Code, Amount: formatAmount(c.Amount, o.Currency)})
	}
	for _, to := range order {
		m, err := mail.GiftCards(mail.GiftCardsData{ShopName: mail.Clean(shop.Name), BuyerName: mail.Clean(o.BillingName),
			ToRecipient: to != o.BillingEmail, Cards: byRecipient[to]})
		if err != nil {
			return nil, err
		}
		out = append(out, email(shop.SenderAddress, to, m))
	}
	if shop.AdminEmail != "" {
		d := mail.OrderConfirmationData{ShopName: mail.Clean(shop.Name), OrderID: o.ID, BillingName: mail.Clean(o.BillingName),
			BillingEmail: mail.Clean(o.BillingEmail), PaymentMethod: mail.Clean(o.PaymentMethod), Total: formatAmount(o.Total, o.Currency),
			CreditApplied: formatAmount(o.CreditApplied, o.Currency), AmountDue: formatAmount(o.AmountDue, o.Currency)}
		for _, c := range o.GiftCards {
			d.Cards = append(d.Cards, mail.MaskedCard{Last4: c.Last4, Amount: formatAmount(c.Amount, o.Currency), Recipient: mail.Clean(c.RecipientEmail)})
		}
		m, err := mail.OrderConfirmation(d)
		if err != nil {
			return nil, err
		}
		out = append(out, email(shop.SenderAddress, shop.AdminEmail, m))
	}
	return out, nil
}

// AuditEmail composes the report of a failed audit to the shop's admin.
func AuditEmail(shop Shop, r AuditReport, defaultSender string) (Email, error) {
	d := mail.AuditReportData{ShopName: mail.Clean(shop.Name), CheckedAt: r.CheckedAt.UTC().Format(time.RFC3339), Transactions: r.Transactions}
	for _, b := range r.Breaches {
		d.Breaches = append(d.Breaches, mail.Clean(b.Kind+" "+b.Subject+": "+b.Detail))
	}
	m, err := mail.AuditReport(d)
	if err != nil {
		return Email{}, err
	}
	from := shop.SenderAddress
	if from == "" {
		from = defaultSender
	}
	return email(from, shop.AdminEmail, m), nil
}

// PromotionSummaryEmail composes the summary of a finished promotion run
// for the shop's admin: orders examined, credits and amount granted, and
// what was skipped and why.
func PromotionSummaryEmail(shop Shop, p Promotion, r PromotionRun, defaultSender string) (Email, error) {
	d := mail.PromotionSummaryData{ShopName: mail.Clean(shop.Name), PromotionName: mail.Clean(p.Name),
		OrdersExamined: int(r.Counts.OrdersExamined), CreditsGranted: int(r.Counts.CreditsGranted),
		AmountGranted: formatAmount(r.Counts.AmountGranted, p.Currency)}
	for _, reason := range SkipReasons {
		if n := r.Counts.Skipped[reason]; n > 0 {
			d.Skipped = append(d.Skipped, mail.SkipCount{Reason: reason.Describe(), Count: int(n)})
		}
	}
	m, err := mail.PromotionSummary(d)
	if err != nil {
		return Email{}, err
	}
	return email(senderOf(shop, defaultSender), shop.AdminEmail, m), nil
}

// PromotionCreditEmail composes the notice to a customer who was granted a
// promotion's credit.
func PromotionCreditEmail(shop Shop, p Promotion, c Customer, defaultSender string) (Email, error) {
	m, err := mail.PromotionCredit(mail.PromotionCreditData{CustomerName: mail.Clean(c.Name), ShopName: mail.Clean(shop.Name),
		PromotionName: mail.Clean(p.Name), Amount: formatAmount(p.CreditAmount, p.Currency)})
	if err != nil {
		return Email{}, err
	}
	return email(senderOf(shop, defaultSender), c.Email, m), nil
}

func senderOf(shop Shop, defaultSender string) string {
	if shop.SenderAddress != "" {
		return shop.SenderAddress
	}
	return defaultSender
}

// GuessingAlertEmail composes the alert to the shop's admin that failed
// gift-card code attempts across the shop reached threshold in the window
// starting at windowStart.
func GuessingAlertEmail(shop Shop, windowStart time.Time, failures int64, defaultSender string) (Email, error) {
	m, err := mail.GuessingAlert(mail.GuessingAlertData{ShopName: shop.Name,
		WindowStart: windowStart.UTC().Format(time.RFC3339), Failures: int(failures)})
	if err != nil {
		return Email{}, err
	}
	return email(senderOf(shop, defaultSender), shop.AdminEmail, m), nil
}
