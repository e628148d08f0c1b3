package mail_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
)

// update rewrites testdata/golden from what the code renders now:
//
//	go test ./internal/mail -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// Text that needs escaping in HTML, in every way html/template escapes it,
// and text that is not ASCII.
const (
	nasty    = `O'Brien & "Sons" <b>bold</b> +1 > 0`
	unicodey = "Zoë Ünal — 東京の本屋 😀 Ångström"
)

// golden renders each message type through the package's API, and each
// Composer method, with inputs that exercise every branch and every
// character HTML escapes, and compares the subject, text and HTML byte for
// byte with testdata/golden/<name>.txt.
func TestGolden(t *testing.T) {
	msgs := map[string]func() (mail.Message, error){
		// Gift cards.
		"gift_cards_buyer_one": func() (mail.Message, error) {
			return mail.GiftCards(mail.GiftCardsData{ShopName: "Corner Books", BuyerName: "Ana Díaz",
				Cards: []mail.GiftCard{{Code: "7K3Q-M9XW-2HPA-R4TD-8", Amount: "50.00 USD"}}})
		},
		"gift_cards_buyer_many": func() (mail.Message, error) {
			return mail.GiftCards(mail.GiftCardsData{ShopName: "Corner Books", BuyerName: "Ana Díaz",
				Cards: []mail.GiftCard{
					{Code: "7K3Q-M9XW-2HPA-R4TD-8", Amount: "50.00 USD"},
					{Code: "ABCD-EFGH-JKMN-PQRS-T", Amount: "25.00 USD"},
					{Code: "ZZZZ-YYYY-XXXX-WWWW-V", Amount: "1,000 JPY"},
				}})
		},
		"gift_cards_recipient_one": func() (mail.Message, error) {
			return mail.GiftCards(mail.GiftCardsData{ShopName: nasty, BuyerName: nasty, ToRecipient: true,
				Cards: []mail.GiftCard{{Code: "7K3Q-M9XW-2HPA-R4TD-8", Amount: "50.00 USD"}}})
		},
		"gift_cards_recipient_many": func() (mail.Message, error) {
			return mail.GiftCards(mail.GiftCardsData{ShopName: unicodey, BuyerName: "José Ñúñez", ToRecipient: true,
				Cards: []mail.GiftCard{
					{Code: "7K3Q-M9XW-2HPA-R4TD-8", Amount: "50,00 €"},
					{Code: "ABCD-EFGH-JKMN-PQRS-T", Amount: "25,00 €"},
				}})
		},
		"gift_cards_empty_names": func() (mail.Message, error) {
			return mail.GiftCards(mail.GiftCardsData{Cards: []mail.GiftCard{{Code: "7K3Q-M9XW-2HPA-R4TD-8"}}})
		},
		"gift_cards_escaped_code": func() (mail.Message, error) {
			// Not through Composer, so nothing is cleaned: a NUL, bytes that
			// are not UTF-8, tabs and newlines, Unicode spaces at the ends.
			return mail.GiftCards(mail.GiftCardsData{ShopName: "\u3000 Shop\tof\n\"Things\"\u00a0&\x00 more\xff\xfe \u2003",
				BuyerName: " \r\nLéa\x00 <x> ", Cards: []mail.GiftCard{
					{Code: `<A&B>'"+C`, Amount: `"1" & <2>`},
					{Code: "  spaced  ", Amount: ""},
				}})
		},
		"gift_cards_error_no_cards": func() (mail.Message, error) {
			return mail.GiftCards(mail.GiftCardsData{ShopName: "Corner Books", BuyerName: "Ana"})
		},
		"gift_cards_error_no_code": func() (mail.Message, error) {
			return mail.GiftCards(mail.GiftCardsData{ShopName: "Corner Books", BuyerName: "Ana",
				Cards: []mail.GiftCard{{Code: "7K3Q-M9XW-2HPA-R4TD-8"}, {Code: " \t"}}})
		},

		// Order confirmations.
		"order_confirmation_two_cards": func() (mail.Message, error) {
			return mail.OrderConfirmation(mail.OrderConfirmationData{ShopName: "Corner Books", OrderID: "ord_01JABCDEF",
				BillingName: "Front Desk", BillingEmail: "desk@cornerbooks.example", PaymentMethod: "cash",
				Total: "75.00 USD", CreditApplied: "0.00 USD", AmountDue: "75.00 USD",
				Cards: []mail.MaskedCard{
					{Last4: "4TD8", Amount: "50.00 USD", Recipient: "ben@example.com"},
					{Last4: "PQRS", Masked: "••••-••••-••••-PQRS", Amount: "25.00 USD"},
				}})
		},
		"order_confirmation_no_cards": func() (mail.Message, error) {
			return mail.OrderConfirmation(mail.OrderConfirmationData{ShopName: "Corner Books", OrderID: "ord_2",
				BillingName: "Ana Díaz", BillingEmail: "ana@example.com", PaymentMethod: "card",
				Total: "12.00 USD", CreditApplied: "12.00 USD", AmountDue: "0.00 USD"})
		},
		"order_confirmation_escaped": func() (mail.Message, error) {
			return mail.OrderConfirmation(mail.OrderConfirmationData{ShopName: nasty, OrderID: `ord_<1>&'2'"3"+`,
				BillingName: nasty, BillingEmail: `"Ana" <ana@example.com>`, PaymentMethod: "card & 'cash' + \"cheque\"",
				Total: "<75>", CreditApplied: "&0", AmountDue: "'75'",
				Cards: []mail.MaskedCard{
					{Last4: `<&'>`, Amount: `"50"`, Recipient: `<ben@example.com> & 'co'`},
					{Last4: "+\"", Masked: "**** **** ****_+\"", Amount: "+25"},
				}})
		},
		"order_confirmation_many_unicode_empty": func() (mail.Message, error) {
			return mail.OrderConfirmation(mail.OrderConfirmationData{ShopName: unicodey, OrderID: "ord_ü",
				BillingName: "Søren Kierkegård", Total: "3.000 ¥",
				Cards: []mail.MaskedCard{
					{Last4: "ÅÄÖ1", Amount: "1.000 ¥"},
					{Last4: "東京", Masked: "····-····-東京", Amount: "1.000 ¥", Recipient: "zoë@例え.jp"},
					{Last4: "X", Masked: ".-_ X", Amount: ""},
				}})
		},
		"order_confirmation_error_last4_long": func() (mail.Message, error) {
			return mail.OrderConfirmation(mail.OrderConfirmationData{ShopName: "Corner Books",
				Cards: []mail.MaskedCard{{Last4: "ABCDE"}}})
		},
		"order_confirmation_error_last4_empty": func() (mail.Message, error) {
			return mail.OrderConfirmation(mail.OrderConfirmationData{ShopName: "Corner Books",
				Cards: []mail.MaskedCard{{Last4: "ABCD"}, {}}})
		},
		"order_confirmation_error_masked_shows_code": func() (mail.Message, error) {
			return mail.OrderConfirmation(mail.OrderConfirmationData{ShopName: "Corner Books",
				Cards: []mail.MaskedCard{{Last4: "4TD8", Masked: "7K3Q-M9XW-2HPA-R4TD-8"}}})
		},

		// Audit reports.
		"audit_report_ok": func() (mail.Message, error) {
			return mail.AuditReport(mail.AuditReportData{ShopName: "Corner Books", CheckedAt: "2026-03-01T04:00:00Z", Transactions: 1234})
		},
		"audit_report_one_breach": func() (mail.Message, error) {
			return mail.AuditReport(mail.AuditReportData{ShopName: unicodey, CheckedAt: "2026-03-01T04:00:00Z", Transactions: 1,
				Breaches: []string{"unbalanced txn_9: postings sum to 0.01 USD, want 0"}})
		},
		"audit_report_many_breaches": func() (mail.Message, error) {
			return mail.AuditReport(mail.AuditReportData{ShopName: nasty, CheckedAt: "<now> & 'then'", Transactions: -3,
				Breaches: []string{
					"unbalanced txn_9: postings sum to 0.01 USD, want 0",
					`balance cus_<4>: "10.00" & '12.00' + 1`,
					"",
				}})
		},
		"audit_report_empty": func() (mail.Message, error) {
			return mail.AuditReport(mail.AuditReportData{})
		},

		// Promotion summaries.
		"promotion_summary_no_skips": func() (mail.Message, error) {
			return mail.PromotionSummary(mail.PromotionSummaryData{ShopName: "Corner Books", PromotionName: "Buy 50 get 10",
				OrdersExamined: 40, CreditsGranted: 1, AmountGranted: "10.00 USD"})
		},
		"promotion_summary_skips": func() (mail.Message, error) {
			return mail.PromotionSummary(mail.PromotionSummaryData{ShopName: "Corner Books", PromotionName: "Buy 50 get 10",
				OrdersExamined: 40, CreditsGranted: 12, AmountGranted: "120.00 USD",
				Skipped: []mail.SkipCount{{Reason: "below minimum", Count: 25}, {Reason: "already granted", Count: 3}}})
		},
		"promotion_summary_escaped": func() (mail.Message, error) {
			return mail.PromotionSummary(mail.PromotionSummaryData{ShopName: nasty, PromotionName: `"Spring" <sale> & 'more' +10%`,
				AmountGranted: "<0>", Skipped: []mail.SkipCount{{Reason: "a < b & c > 'd' \"e\" +f", Count: 1}}})
		},
		"promotion_summary_unicode": func() (mail.Message, error) {
			return mail.PromotionSummary(mail.PromotionSummaryData{ShopName: unicodey, PromotionName: "Été à Noël",
				OrdersExamined: 1000000, CreditsGranted: 2, AmountGranted: "20,00 €",
				Skipped: []mail.SkipCount{{Reason: "déjà accordé", Count: 0}, {Reason: "", Count: 7}}})
		},

		// Promotion credit notices.
		"promotion_credit_named": func() (mail.Message, error) {
			return mail.PromotionCredit(mail.PromotionCreditData{CustomerName: "Ana Díaz", ShopName: "Corner Books",
				PromotionName: "Buy 50 get 10", Amount: "10.00 USD"})
		},
		"promotion_credit_anonymous": func() (mail.Message, error) {
			return mail.PromotionCredit(mail.PromotionCreditData{ShopName: "Corner Books", PromotionName: "Buy 50 get 10", Amount: "10.00 USD"})
		},
		"promotion_credit_escaped": func() (mail.Message, error) {
			return mail.PromotionCredit(mail.PromotionCreditData{CustomerName: nasty, ShopName: nasty,
				PromotionName: `"Spring" <sale> & 'more' +10%`, Amount: "<10> & '€'"})
		},
		"promotion_credit_unicode": func() (mail.Message, error) {
			return mail.PromotionCredit(mail.PromotionCreditData{CustomerName: "李小龍", ShopName: unicodey,
				PromotionName: "Été", Amount: "1.000 ¥"})
		},
		"promotion_credit_empty": func() (mail.Message, error) {
			return mail.PromotionCredit(mail.PromotionCreditData{})
		},

		// Credit expiry reminders.
		"credit_expiry_named": func() (mail.Message, error) {
			return mail.CreditExpiry(mail.CreditExpiryData{CustomerName: "Ana Díaz", ShopName: "Corner Books", Amount: "10.00 USD", ExpiresAt: "31 March 2026, 12:00 UTC"})
		},
		"credit_expiry_anonymous": func() (mail.Message, error) {
			return mail.CreditExpiry(mail.CreditExpiryData{ShopName: "Corner Books", Amount: "500 JPY", ExpiresAt: "1 April 2026, 00:00 UTC"})
		},
		"credit_expiry_escaped": func() (mail.Message, error) {
			return mail.CreditExpiry(mail.CreditExpiryData{CustomerName: nasty, ShopName: nasty, Amount: "<10> & '€'", ExpiresAt: "<soon> & \"now\""})
		},
		"credit_expiry_empty": func() (mail.Message, error) {
			return mail.CreditExpiry(mail.CreditExpiryData{})
		},

		// Guessing alerts.
		"guessing_alert": func() (mail.Message, error) {
			return mail.GuessingAlert(mail.GuessingAlertData{ShopName: "Corner Books", WindowStart: "2026-03-01T04:00:00Z", Failures: 500})
		},
		"guessing_alert_escaped": func() (mail.Message, error) {
			return mail.GuessingAlert(mail.GuessingAlertData{ShopName: nasty + "\n" + unicodey, WindowStart: "<04:00> & '05:00'", Failures: 1})
		},
		"guessing_alert_empty": func() (mail.Message, error) {
			return mail.GuessingAlert(mail.GuessingAlertData{})
		},
	}

	typed := "Eve \u202egnp.exe\nBcc: all@example.test\u200b \u2066x\u2069 & <Eve's> \"+\""
	shop := gc.Shop{Name: "Corner\u202e Books & <Co>", AdminEmail: "admin@shop.test", SenderAddress: "gifts@shop.test"}
	bare := gc.Shop{Name: "Café 'Ümlaut'", AdminEmail: "admin@cafe.test"}
	c := mail.NewComposer("noreply@giftcredit.test")
	order := gc.Order{ID: "ord_1", BillingName: typed, BillingEmail: "eve@example.test", PaymentMethod: "card <visa>", Currency: "USD",
		GiftCards: []gc.OrderCard{
			{ID: "gc_1", Code: "7K3Q-M9XW-2HPA-R4TD-8", Last4: "4TD8", Amount: 5000},
			{ID: "gc_2", Code: "ABCD-EFGH-JKMN-PQRS-T", Last4: "PQRS", Amount: 2500, RecipientEmail: "ben@example.test"},
			{ID: "gc_3", Code: "ZZZZ-YYYY-XXXX-WWWW-V", Last4: "WWWV", Amount: 1, RecipientEmail: "ben@example.test"},
			{ID: "gc_4", Code: "QQQQ-RRRR-SSSS-TTTT-U", Last4: "TTTU", Amount: 100000},
		},
		Total: 107501, CreditApplied: 7501, AmountDue: 100000}
	jpy := gc.Order{ID: "ord_2", BillingName: "山田太郎", BillingEmail: "taro@example.jp", PaymentMethod: "card", Currency: "JPY",
		GiftCards: []gc.OrderCard{{ID: "gc_5", Code: "7K3Q-M9XW-2HPA-R4TD-8", Last4: "4TD8", Amount: 3000, RecipientEmail: "hanako@example.jp"}},
		Total:     3000, AmountDue: 3000}
	promo := gc.Promotion{Name: "Winter\r\nsale\u061c & \"more\"", CreditAmount: 1000, Currency: "USD"}
	run := gc.PromotionRun{Counts: gc.RunCounts{OrdersExamined: 40, CreditsGranted: 12, AmountGranted: 12000,
		Skipped: map[gc.SkipReason]int64{gc.SkipBelowMinimum: 25, gc.SkipAlreadyGranted: 3, gc.SkipNoCustomer: 0, gc.SkipBudgetExhausted: 1}}}
	window := time.Date(2026, 3, 1, 4, 0, 0, 0, time.FixedZone("X", 3600))
	emails := map[string]func() ([]gc.Email, error){
		"composer_order_emails": func() ([]gc.Email, error) { return c.OrderEmails(shop, order) },
		"composer_order_emails_no_admin": func() ([]gc.Email, error) {
			return c.OrderEmails(gc.Shop{Name: "Ümlaut"}, jpy)
		},
		"composer_audit_email": func() ([]gc.Email, error) {
			e, err := c.AuditEmail(shop, gc.AuditReport{CheckedAt: window, Transactions: 99, Breaches: []gc.Breach{
				{Kind: "unbalanced", Subject: "txn_<9>", Detail: "sum 0.01 & 'x'"},
				{Kind: "balance", Subject: "cus_4", Detail: "10.00\nUSD\u202e"},
			}})
			return []gc.Email{e}, err
		},
		"composer_audit_email_ok": func() ([]gc.Email, error) {
			e, err := c.AuditEmail(bare, gc.AuditReport{CheckedAt: window, Transactions: 0})
			return []gc.Email{e}, err
		},
		"composer_promotion_summary_email": func() ([]gc.Email, error) {
			e, err := c.PromotionSummaryEmail(shop, promo, run)
			return []gc.Email{e}, err
		},
		"composer_promotion_summary_email_empty": func() ([]gc.Email, error) {
			e, err := c.PromotionSummaryEmail(bare, gc.Promotion{Name: "P", Currency: "EUR"}, gc.PromotionRun{})
			return []gc.Email{e}, err
		},
		"composer_promotion_credit_email": func() ([]gc.Email, error) {
			e, err := c.PromotionCreditEmail(shop, promo, gc.Customer{Name: typed, Email: "eve@example.test"})
			return []gc.Email{e}, err
		},
		"composer_promotion_credit_email_anonymous": func() ([]gc.Email, error) {
			e, err := c.PromotionCreditEmail(bare, gc.Promotion{Name: "P", CreditAmount: 500, Currency: "JPY"}, gc.Customer{Email: "a@b.test"})
			return []gc.Email{e}, err
		},
		"composer_lot_expiry_email": func() ([]gc.Email, error) {
			exp := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
			e, err := c.LotExpiryEmail(shop, gc.Customer{Name: typed, Email: "eve@example.test"},
				gc.Lot{ID: "lot_1", Currency: "USD", Amount: 2000, Remaining: 1250, ExpiresAt: &exp})
			return []gc.Email{e}, err
		},
		"composer_guessing_alert_email": func() ([]gc.Email, error) {
			e, err := c.GuessingAlertEmail(shop, window, 1234)
			return []gc.Email{e}, err
		},
	}

	check := func(t *testing.T, name, got string) {
		t.Helper()
		path := filepath.Join("testdata", "golden", name+".txt")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s:\n--- got ---\n%s\n--- want ---\n%s", name, path, got, want)
		}
	}
	for name, f := range msgs {
		t.Run(name, func(t *testing.T) {
			m, err := f()
			check(t, name, formatMessage(m, err))
		})
	}
	for name, f := range emails {
		t.Run(name, func(t *testing.T) {
			es, err := f()
			var b strings.Builder
			if err != nil {
				fmt.Fprintf(&b, "error: %v\n", err)
			}
			for i, e := range es {
				fmt.Fprintf(&b, "##### email %d\nfrom: %q\nto: %q\n", i, e.From, e.To)
				b.WriteString(formatMessage(mail.Message{Subject: e.Subject, Text: e.Text, HTML: e.HTML}, nil))
			}
			check(t, name, b.String())
		})
	}
	if !*update {
		// Every golden file is checked: none is left over from a case that
		// no longer exists.
		files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.txt"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".txt")
			if _, ok := msgs[name]; !ok {
				if _, ok := emails[name]; !ok {
					t.Errorf("%s has no case", f)
				}
			}
		}
	}
}

// formatMessage writes each part of m with its length in bytes, so that the
// file says exactly where each part ends, trailing newlines included.
func formatMessage(m mail.Message, err error) string {
	if err != nil {
		return fmt.Sprintf("error: %v\n", err)
	}
	var b strings.Builder
	for _, p := range []struct{ name, s string }{{"subject", m.Subject}, {"text", m.Text}, {"html", m.HTML}} {
		fmt.Fprintf(&b, "===== %s (%d bytes)\n%s\n", p.name, len(p.s), p.s)
	}
	return b.String()
}
