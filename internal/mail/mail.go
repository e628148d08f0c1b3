// Package mail composes the emails giftcredit sends: a subject, a plain-text
// body and an HTML body for each message, written in plain Go (render.go),
// addressed from the domain's values. It is the domain's Composer
// (giftcredit.Composer): the domain declares what it needs and this package
// provides it, as internal/sesmail provides the Mailer. It sends nothing.
//
// It uses no text/template or html/template: their reflective method calls
// made the linker keep about 4 MB of methods in every binary that linked
// this package. Every value is escaped in the HTML body exactly as
// html/template escaped it, and testdata/golden holds what the templates
// rendered, so TestGolden fails on any byte that changes.
//
// The renderers (GiftCards, OrderConfirmation…) take data types that hold
// plain strings already formatted (amounts such as "50.00 USD", dates);
// Composer does that formatting. Counts are ints.
//
// Only the gift-card email to the buyer or a card's recipient carries full
// codes. A code is a bearer instrument: whoever reads it can spend it. The
// messages to a shop's admin address (order confirmation, promotion and
// audit reports) go to mailboxes that many staff may read, are forwarded
// and kept for years, so their data types have no field for a full code at
// all, only the last four characters and a masked form, and rendering
// refuses a masked form that shows more than four characters. A mistake
// upstream then fails loudly instead of mailing a spendable code.
package mail

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Message is one rendered email: a one-line subject, a plain-text body and
// an HTML body saying the same thing.
type Message struct {
	Subject string
	Text    string
	HTML    string
}

// Clean makes text that a buyer or customer typed (a name, a reference, a
// description) safe to put in a subject or body. It removes the
// bidirectional overrides, embeddings, isolates and marks (U+202A–U+202E,
// U+2066–U+2069, U+200E, U+200F, U+061C), which can make a message read
// differently from what it says ("Invoice\u202Efdp.exe" shows as
// "Invoiceexe.pdf"), every other format character (Unicode category Cf,
// such as zero-width spaces), every other control character (Cc) and
// bytes that are not UTF-8. Each line break, tab or Unicode line or
// paragraph separator becomes one space, so "Ana\nLima" reads "Ana Lima"
// and no value can start a new line in a subject or a header.
func Clean(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case unsafeRune(r) && unicode.IsSpace(r):
			return ' '
		case unsafeRune(r):
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// unsafeRune reports whether r may not appear in a message as typed: a
// control or format character, or a line or paragraph separator.
func unsafeRune(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// GiftCardsData is the gift-card email to the buyer, or to one card's
// recipient when the buyer named one.
type GiftCardsData struct {
	ShopName  string
	BuyerName string
	// ToRecipient is true when the email goes to a recipient the buyer named
	// rather than to the buyer: it then says who sent the cards.
	ToRecipient bool
	Cards       []GiftCard
}

// GiftCard is one card in a gift-card email.
type GiftCard struct {
	// Code is the full code in its display form (XXXX-XXXX-XXXX-XXXX-C).
	Code   string
	Amount string
}

// GiftCards renders the email that delivers gift-card codes, their amounts
// and how to redeem them. It fails if there are no cards or a card has no
// code.
func GiftCards(d GiftCardsData) (Message, error) {
	if len(d.Cards) == 0 {
		return Message{}, errors.New("mail gift_cards: no cards")
	}
	for i, c := range d.Cards {
		if strings.TrimSpace(c.Code) == "" {
			return Message{}, fmt.Errorf("mail gift_cards: card %d has no code", i)
		}
	}
	return renderGiftCards(d), nil
}

// OrderConfirmationData is the order confirmation sent to the shop's admin
// address. It has no field for a full code, by design (see the package
// documentation).
type OrderConfirmationData struct {
	ShopName      string
	OrderID       string
	BillingName   string
	BillingEmail  string
	PaymentMethod string
	Total         string
	CreditApplied string
	AmountDue     string
	Cards         []MaskedCard
}

// MaskedCard is a gift card as an admin sees it.
type MaskedCard struct {
	// Last4 is the last four characters of the code.
	Last4 string
	// Masked is the code with all but Last4 hidden, such as
	// ****-****-****-ABCD. Empty means that form, built from Last4.
	Masked string
	Amount string
	// Recipient is the recipient's email address; empty means the buyer.
	Recipient string
}

// maskRunes are the characters a masked code may use to hide the others.
const maskRunes = "*•·.-_ "

// OrderConfirmation renders the admin's order confirmation. It fails if a
// card's Last4 is longer than four characters or its masked form shows more
// than four, since either would put more of a code in the message than an
// admin may see.
func OrderConfirmation(d OrderConfirmationData) (Message, error) {
	cards := make([]MaskedCard, len(d.Cards))
	for i, c := range d.Cards {
		if n := utf8.RuneCountInString(c.Last4); n == 0 || n > 4 {
			return Message{}, fmt.Errorf("mail order_confirmation: card %d: last4 must be 1 to 4 characters, got %d", i, n)
		}
		if c.Masked == "" {
			c.Masked = "****-****-****-" + c.Last4
		}
		if shown := len([]rune(strings.Map(func(r rune) rune {
			if strings.ContainsRune(maskRunes, r) {
				return -1
			}
			return r
		}, c.Masked))); shown > 4 {
			return Message{}, fmt.Errorf("mail order_confirmation: card %d: masked code shows %d characters, at most 4 allowed", i, shown)
		}
		cards[i] = c
	}
	d.Cards = cards
	return renderOrderConfirmation(d), nil
}

// AuditReportData is the result of one ledger audit, for the shop's admin.
type AuditReportData struct {
	ShopName string
	// CheckedAt is when the audit ran, formatted by the caller.
	CheckedAt string
	// Transactions is how many transactions the audit checked.
	Transactions int
	// Breaches describes each invariant found broken; empty means none.
	Breaches []string
}

// AuditReport renders a ledger-audit report. Its subject says whether any
// invariant was breached, so a failure stands out in an inbox.
func AuditReport(d AuditReportData) (Message, error) {
	return renderAuditReport(d), nil
}

// PromotionSummaryData is the result of one promotion run, for the shop's
// admin.
type PromotionSummaryData struct {
	ShopName       string
	PromotionName  string
	OrdersExamined int
	CreditsGranted int
	// AmountGranted is the total credit granted by the run, formatted.
	AmountGranted string
	// Skipped counts the orders that earned nothing, by reason.
	Skipped []SkipCount
}

// SkipCount is how many orders a promotion run skipped for one reason.
type SkipCount struct {
	Reason string
	Count  int
}

// PromotionSummary renders a promotion-run summary.
func PromotionSummary(d PromotionSummaryData) (Message, error) {
	return renderPromotionSummary(d), nil
}

// PromotionCreditData is the notice to a customer who earned promotional
// credit.
type PromotionCreditData struct {
	// CustomerName may be empty; the greeting then has no name.
	CustomerName  string
	ShopName      string
	PromotionName string
	Amount        string
}

// PromotionCredit renders the notice that a promotion put credit on a
// customer's account.
func PromotionCredit(d PromotionCreditData) (Message, error) {
	return renderPromotionCredit(d), nil
}

// CreditExpiryData is the reminder to a customer that credit on their
// account is about to expire.
type CreditExpiryData struct {
	// CustomerName may be empty; the greeting then has no name.
	CustomerName string
	ShopName     string
	// Amount is what is left of the lot, ExpiresAt when it expires, both
	// formatted by the caller.
	Amount    string
	ExpiresAt string
}

// CreditExpiry renders the reminder that some of a customer's credit
// expires soon.
func CreditExpiry(d CreditExpiryData) (Message, error) {
	return renderCreditExpiry(d), nil
}

// GuessingAlertData is a shop-wide surge of failed gift-card code attempts,
// for the shop's admin. It names no code, customer or client.
type GuessingAlertData struct {
	ShopName string
	// WindowStart is the start of the hour the failures were counted in,
	// formatted by the caller.
	WindowStart string
	Failures    int
}

// GuessingAlert renders the alert sent when a shop's failed code attempts
// in one window reach the alert threshold. It alerts; it never locks.
func GuessingAlert(d GuessingAlertData) (Message, error) {
	return renderGuessingAlert(d), nil
}
