package mail_test

import (
	"strings"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
)

// TestComposedEmailsCleanTypedText is issue 17 item 9: text a buyer or
// customer typed reaches the subjects and bodies of the emails without its
// bidirectional overrides, format characters and line breaks, in every
// email the order sends (the buyer's, a recipient's and the admin's).
func TestComposedEmailsCleanTypedText(t *testing.T) {
	const (
		// U+202E shows "gnp.exe" as "exe.png"; the newline would forge a
		// header line in a subject. U+200B and U+2066/U+2069 are format
		// characters too.
		typedName = "Eve \u202egnp.exe\nBcc: all@example.test\u200b \u2066x\u2069"
		cleanName = "Eve gnp.exe Bcc: all@example.test x"
	)
	shop := gc.Shop{Name: "Corner\u202e Books", AdminEmail: "admin@shop.test", SenderAddress: "gifts@shop.test"}
	o := gc.Order{ID: "ord_1", BillingName: typedName, BillingEmail: "eve@example.test", PaymentMethod: "card", Currency: "USD",
		GiftCards: []gc.OrderCard{
			{ID: "gc_1", Code: "7K3Q-M9XW-2HPA-R4TD-8", Last4: "4TD8", Amount: 5000},
			{ID: "gc_2", Code: "ABCD-EFGH-JKMN-PQRS-T", Last4: "PQRS", Amount: 2500, RecipientEmail: "ben@example.test"},
		},
		Total: 7500, AmountDue: 7500}
	c := mail.NewComposer("noreply@shop.test")
	emails, err := c.OrderEmails(shop, o)
	if err != nil {
		t.Fatal(err)
	}
	promo, err := c.PromotionCreditEmail(shop, gc.Promotion{Name: "Winter\r\nsale\u061c", CreditAmount: 1000, Currency: "USD"},
		gc.Customer{Name: typedName, Email: "eve@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	emails = append(emails, promo)
	if len(emails) != 4 {
		t.Fatalf("composed %d emails, want buyer, recipient, admin and promotion notice", len(emails))
	}
	forbidden := []string{"\u202e", "\u200b", "\u2066", "\u2069", "\u061c", "\r", "\nBcc"}
	for _, e := range emails {
		t.Run(e.To+" "+e.Subject, func(t *testing.T) {
			if strings.ContainsAny(e.Subject, "\r\n") {
				t.Errorf("subject %q has a line break", e.Subject)
			}
			for part, s := range map[string]string{"subject": e.Subject, "text": e.Text, "html": e.HTML} {
				for _, f := range forbidden {
					if strings.Contains(s, f) {
						t.Errorf("%s contains %q:\n%s", part, f, s)
					}
				}
			}
			if !strings.Contains(e.Text, "Corner Books") {
				t.Errorf("text does not name the shop as Corner Books:\n%s", e.Text)
			}
		})
	}
	// The buyer's name is kept, minus what was removed, where it is shown.
	for i, want := range []string{"Hello " + cleanName + ",", cleanName + " has sent you", "Billed to:      " + cleanName + " (", "Hello " + cleanName + ","} {
		if !strings.Contains(emails[i].Text, want) {
			t.Errorf("email to %s: text does not contain %q:\n%s", emails[i].To, want, emails[i].Text)
		}
	}
	if want := cleanName + " sent you a gift card"; !strings.HasPrefix(emails[1].Subject, want) {
		t.Errorf("recipient's subject = %q, want it to start %q", emails[1].Subject, want)
	}
	if !strings.Contains(promo.Text, `"Winter  sale"`) {
		t.Errorf("promotion name not cleaned to one line:\n%s", promo.Text)
	}
}

// TestComposerSender: every email is from the shop's sender address, or the
// composer's default sender when the shop has none (SENDER_ADDRESS, which
// the stores used to carry).
func TestComposerSender(t *testing.T) {
	c := mail.NewComposer("noreply@giftcredit.test")
	o := gc.Order{ID: "ord_1", BillingName: "Ana", BillingEmail: "ana@example.test", PaymentMethod: "card", Currency: "USD",
		GiftCards: []gc.OrderCard{{ID: "gc_1", Code: "7K3Q-M9XW-2HPA-R4TD-8", Last4: "4TD8", Amount: 5000}}, Total: 5000, AmountDue: 5000}
	p := gc.Promotion{Name: "Winter", CreditAmount: 1000, Currency: "USD"}
	for _, tc := range []struct {
		name, shopSender, want string
	}{
		{"shop's own sender", "gifts@shop.test", "gifts@shop.test"},
		{"default sender", "", "noreply@giftcredit.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shop := gc.Shop{Name: "Corner Books", AdminEmail: "admin@shop.test", SenderAddress: tc.shopSender}
			emails, err := c.OrderEmails(shop, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, compose := range []func() (gc.Email, error){
				func() (gc.Email, error) {
					return c.AuditEmail(shop, gc.AuditReport{Breaches: []gc.Breach{{Kind: "k"}}})
				},
				func() (gc.Email, error) { return c.PromotionSummaryEmail(shop, p, gc.PromotionRun{}) },
				func() (gc.Email, error) {
					return c.PromotionCreditEmail(shop, p, gc.Customer{Email: "ana@example.test"})
				},
				func() (gc.Email, error) { return c.GuessingAlertEmail(shop, time.Unix(0, 0), 50) },
			} {
				e, err := compose()
				if err != nil {
					t.Fatal(err)
				}
				emails = append(emails, e)
			}
			for _, e := range emails {
				if got := e.From; got != tc.want {
					t.Errorf("email to %s %q: from = %q, want %q", e.To, e.Subject, got, tc.want)
				}
			}
		})
	}
}
