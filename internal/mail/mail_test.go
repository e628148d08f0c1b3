package mail_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/giftcredit/giftcredit/internal/mail"
)

// A gift-card code in display form, and the last four characters of its
// canonical form (without dashes).
const (
	fullCode  = "7K3Q-M9XW-2HPA-R4TD-8"
	codeLast4 = "4TD8"
)

// htmlTag matches anything that looks like the start of an HTML tag,
// comment or doctype.
var htmlTag = regexp.MustCompile(`<[A-Za-z/!]`)

func giftCardsData() mail.GiftCardsData {
	return mail.GiftCardsData{
		ShopName:  "Corner Books",
		BuyerName: "Ana Diaz",
		Cards: []mail.GiftCard{
			{Code: fullCode, Amount: "50.00 USD"},
			{Code: "ABCD-EFGH-JKMN-PQRS-T", Amount: "25.00 USD"},
		},
	}
}

func orderConfirmationData() mail.OrderConfirmationData {
	return mail.OrderConfirmationData{
		ShopName:      "Corner Books",
		OrderID:       "ord_01JABCDEF",
		BillingName:   "Front Desk",
		BillingEmail:  "desk@cornerbooks.example",
		PaymentMethod: "cash",
		Total:         "75.00 USD",
		CreditApplied: "0.00 USD",
		AmountDue:     "75.00 USD",
		Cards: []mail.MaskedCard{
			{Last4: codeLast4, Amount: "50.00 USD", Recipient: "ben@example.com"},
			{Last4: "PQRS", Masked: "••••-••••-••••-PQRS", Amount: "25.00 USD"},
		},
	}
}

func auditReportData() mail.AuditReportData {
	return mail.AuditReportData{
		ShopName:     "Corner Books",
		CheckedAt:    "2026-03-01 04:00 UTC",
		Transactions: 1234,
		Breaches:     []string{"txn_9 postings sum to 0.01 USD, want 0", "cus_4 balance 10.00 USD, postings sum 12.00 USD"},
	}
}

func promotionSummaryData() mail.PromotionSummaryData {
	return mail.PromotionSummaryData{
		ShopName:       "Corner Books",
		PromotionName:  "Buy 50 get 10",
		OrdersExamined: 40,
		CreditsGranted: 12,
		AmountGranted:  "120.00 USD",
		Skipped: []mail.SkipCount{
			{Reason: "below minimum", Count: 25},
			{Reason: "already granted", Count: 3},
		},
	}
}

func promotionCreditData() mail.PromotionCreditData {
	return mail.PromotionCreditData{
		CustomerName:  "Ana Diaz",
		ShopName:      "Corner Books",
		PromotionName: "Buy 50 get 10",
		Amount:        "10.00 USD",
	}
}

func TestMessagesRender(t *testing.T) {
	tests := []struct {
		name        string
		render      func() (mail.Message, error)
		wantSubject string
		// wantBoth must appear in both the text and the HTML body.
		wantBoth []string
	}{
		{
			name:        "gift cards to buyer",
			render:      func() (mail.Message, error) { return mail.GiftCards(giftCardsData()) },
			wantSubject: "Your Corner Books gift cards",
			wantBoth:    []string{"Hello Ana Diaz,", fullCode, "50.00 USD", "ABCD-EFGH-JKMN-PQRS-T", "25.00 USD", "give the code at checkout", "redeem it onto your customer account"},
		},
		{
			name: "one gift card to a recipient",
			render: func() (mail.Message, error) {
				d := giftCardsData()
				d.ToRecipient, d.Cards = true, d.Cards[:1]
				return mail.GiftCards(d)
			},
			wantSubject: "Ana Diaz sent you a gift card for Corner Books",
			wantBoth:    []string{"has sent you a gift card for Corner Books", fullCode, "50.00 USD", "Keep this code safe"},
		},
		{
			name:        "order confirmation",
			render:      func() (mail.Message, error) { return mail.OrderConfirmation(orderConfirmationData()) },
			wantSubject: "Corner Books: order ord_01JABCDEF placed, 75.00 USD",
			wantBoth:    []string{"ord_01JABCDEF", "Front Desk", "desk@cornerbooks.example", "cash", "75.00 USD", "0.00 USD", "****-****-****-" + codeLast4, "ben@example.com", "••••-••••-••••-PQRS", "the buyer", "Gift cards issued (2)"},
		},
		{
			name: "order confirmation without cards",
			render: func() (mail.Message, error) {
				d := orderConfirmationData()
				d.Cards = nil
				return mail.OrderConfirmation(d)
			},
			wantSubject: "Corner Books: order ord_01JABCDEF placed, 75.00 USD",
			wantBoth:    []string{"Amount due", "75.00 USD"},
		},
		{
			name:        "audit report with breaches",
			render:      func() (mail.Message, error) { return mail.AuditReport(auditReportData()) },
			wantSubject: "Corner Books ledger audit: 2 breaches found",
			wantBoth:    []string{"2026-03-01 04:00 UTC", "1234", "txn_9 postings sum to 0.01 USD, want 0", "cus_4 balance 10.00 USD", "2 invariants were found broken"},
		},
		{
			name: "clean audit report",
			render: func() (mail.Message, error) {
				d := auditReportData()
				d.Breaches = nil
				return mail.AuditReport(d)
			},
			wantSubject: "Corner Books ledger audit: OK",
			wantBoth:    []string{"1234", "No breaches"},
		},
		{
			name:        "promotion summary",
			render:      func() (mail.Message, error) { return mail.PromotionSummary(promotionSummaryData()) },
			wantSubject: `Corner Books promotion "Buy 50 get 10": 12 credits granted`,
			wantBoth:    []string{"40", "12", "120.00 USD", "below minimum: 25", "already granted: 3"},
		},
		{
			name:        "promotion credit",
			render:      func() (mail.Message, error) { return mail.PromotionCredit(promotionCreditData()) },
			wantSubject: "You received 10.00 USD of credit at Corner Books",
			wantBoth:    []string{"Hello Ana Diaz,", "Buy 50 get 10", "10.00 USD", "applies automatically to your next purchase"},
		},
		{
			name: "promotion credit without a name",
			render: func() (mail.Message, error) {
				d := promotionCreditData()
				d.CustomerName = ""
				return mail.PromotionCredit(d)
			},
			wantSubject: "You received 10.00 USD of credit at Corner Books",
			wantBoth:    []string{"Hello,"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.render()
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if got.Subject != tt.wantSubject {
				t.Errorf("subject = %q, want %q", got.Subject, tt.wantSubject)
			}
			for _, want := range tt.wantBoth {
				if !strings.Contains(got.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, got.Text)
				}
				if !strings.Contains(got.HTML, want) {
					t.Errorf("html lacks %q:\n%s", want, got.HTML)
				}
			}
			if loc := htmlTag.FindStringIndex(got.Text); loc != nil {
				t.Errorf("text has an HTML tag at %d: %q", loc[0], got.Text[loc[0]:min(len(got.Text), loc[0]+20)])
			}
			if !strings.HasSuffix(got.Text, "\n") || strings.HasSuffix(got.Text, "\n\n") || strings.Contains(got.Text, "\n\n\n") {
				t.Errorf("text is not tidily spaced (one final newline, no runs of blank lines):\n%q", got.Text)
			}
			if !strings.HasPrefix(got.HTML, "<!DOCTYPE html>") || !strings.Contains(got.HTML, "</html>") {
				t.Errorf("html is not a whole document:\n%s", got.HTML)
			}
			if !strings.Contains(got.HTML, "<title>") {
				t.Errorf("html has no title:\n%s", got.HTML)
			}
			for _, s := range []string{got.Subject, got.Text, got.HTML} {
				if strings.Contains(s, "<no value>") {
					t.Errorf("a field rendered as <no value>:\n%s", s)
				}
			}
			t.Logf("subject: %s\n--- text ---\n%s--- html ---\n%s", got.Subject, got.Text, got.HTML)
		})
	}
}

func TestHTMLEscapesNames(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	tests := []struct {
		name   string
		render func() (mail.Message, error)
	}{
		{"gift cards", func() (mail.Message, error) {
			d := giftCardsData()
			d.ShopName, d.BuyerName = evil, evil
			return mail.GiftCards(d)
		}},
		{"order confirmation", func() (mail.Message, error) {
			d := orderConfirmationData()
			d.ShopName, d.BillingName, d.Cards[0].Recipient = evil, evil, evil
			return mail.OrderConfirmation(d)
		}},
		{"audit report", func() (mail.Message, error) {
			d := auditReportData()
			d.ShopName, d.Breaches[0] = evil, evil
			return mail.AuditReport(d)
		}},
		{"promotion summary", func() (mail.Message, error) {
			d := promotionSummaryData()
			d.ShopName, d.PromotionName, d.Skipped[0].Reason = evil, evil, evil
			return mail.PromotionSummary(d)
		}},
		{"promotion credit", func() (mail.Message, error) {
			d := promotionCreditData()
			d.CustomerName, d.ShopName, d.PromotionName = evil, evil, evil
			return mail.PromotionCredit(d)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.render()
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if strings.Contains(strings.ToLower(got.HTML), "<script") {
				t.Errorf("html contains an unescaped script tag:\n%s", got.HTML)
			}
			if !strings.Contains(got.HTML, "&lt;script&gt;") {
				t.Errorf("html lacks the escaped name &lt;script&gt;:\n%s", got.HTML)
			}
			// The plain-text body is not HTML: a name shows as typed.
			if !strings.Contains(got.Text, evil) {
				t.Errorf("text lacks the name as typed:\n%s", got.Text)
			}
		})
	}
}

func TestSubjectIsOneLine(t *testing.T) {
	d := promotionCreditData()
	d.ShopName = "Corner\r\nBcc: victim@example.com\n Books"
	got, err := mail.PromotionCredit(d)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if strings.ContainsAny(got.Subject, "\r\n") {
		t.Errorf("subject spans lines: %q", got.Subject)
	}
	if want := "You received 10.00 USD of credit at Corner Bcc: victim@example.com Books"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
}

func TestOrderConfirmationNeverContainsFullCode(t *testing.T) {
	got, err := mail.OrderConfirmation(orderConfirmationData())
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	canonical := strings.ReplaceAll(fullCode, "-", "")
	for _, body := range []string{got.Subject, got.Text, got.HTML} {
		if strings.Contains(body, fullCode) || strings.Contains(body, canonical) {
			t.Fatalf("confirmation contains the full code:\n%s", body)
		}
		// No five consecutive characters of the code, in either form, appear:
		// only the last four may.
		for _, code := range []string{fullCode, canonical} {
			for i := 0; i+5 <= len(code); i++ {
				if part := code[i : i+5]; strings.Contains(body, part) {
					t.Errorf("confirmation contains %q, part of the full code", part)
				}
			}
		}
	}
	if !strings.Contains(got.Text, "****-****-****-"+codeLast4) {
		t.Errorf("text lacks the masked code built from last4:\n%s", got.Text)
	}
}

func TestOrderConfirmationRejectsUnmaskedCodes(t *testing.T) {
	tests := []struct {
		name string
		card mail.MaskedCard
	}{
		{"full code as last4", mail.MaskedCard{Last4: fullCode, Amount: "1.00 USD"}},
		{"five characters as last4", mail.MaskedCard{Last4: "R4TD8", Amount: "1.00 USD"}},
		{"empty last4", mail.MaskedCard{Amount: "1.00 USD"}},
		{"full code as masked form", mail.MaskedCard{Last4: codeLast4, Masked: fullCode, Amount: "1.00 USD"}},
		{"half-masked form", mail.MaskedCard{Last4: codeLast4, Masked: "****-****-2HPA-R4TD", Amount: "1.00 USD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := orderConfirmationData()
			d.Cards = append(d.Cards, tt.card)
			got, err := mail.OrderConfirmation(d)
			if err == nil {
				t.Fatalf("rendered a confirmation showing too much of a code:\n%s", got.Text)
			}
			if got != (mail.Message{}) {
				t.Errorf("got a message %+v alongside error %v", got, err)
			}
			if strings.Contains(err.Error(), "R4TD") || strings.Contains(err.Error(), "2HPA") {
				t.Errorf("error %q repeats part of the code", err)
			}
		})
	}
}

func TestGiftCardsRejectsMissingCodes(t *testing.T) {
	t.Run("no cards", func(t *testing.T) {
		d := giftCardsData()
		d.Cards = nil
		if _, err := mail.GiftCards(d); err == nil {
			t.Error("rendered a gift-card email with no cards")
		}
	})
	t.Run("blank code", func(t *testing.T) {
		d := giftCardsData()
		d.Cards[1].Code = " "
		if _, err := mail.GiftCards(d); err == nil {
			t.Error("rendered a gift-card email with a blank code")
		}
	})
}

// TestClean is issue 17 item 9: Clean removes bidirectional controls,
// other format characters, control characters and invalid UTF-8 from
// typed text, turns line breaks into spaces, and leaves the rest alone.
func TestClean(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain text is unchanged", "Ana García", "Ana García"},
		{"no-break space and double spaces are kept", "Ana\u00a0 Lima", "Ana\u00a0 Lima"},
		{"right-to-left override", "Invoice\u202efdp.exe", "Invoicefdp.exe"},
		{"every embedding and override", "a\u202ab\u202bc\u202cd\u202de\u202ef", "abcdef"},
		{"isolates", "\u2066a\u2067b\u2068c\u2069", "abc"},
		{"directional marks", "a\u200eb\u200fc\u061cd", "abcd"},
		{"other format characters", "a\u200bb\u00adc\ufeffd\U000e0041", "abcd"},
		{"line breaks become spaces", "Ana\r\nLima\nBcc: x", "Ana  Lima Bcc: x"},
		{"tab and unicode separators become spaces", "a\tb\u2028c\u2029d\u0085e", "a b c d e"},
		{"other controls are removed", "a\x00b\x07c\x7fd\u009be", "abcde"},
		{"invalid utf-8 is removed", "a\xffb\xc3", "ab"},
		{"emoji and scripts survive", "Zoë 李 🎁", "Zoë 李 🎁"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mail.Clean(c.in); got != c.want {
				t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}
