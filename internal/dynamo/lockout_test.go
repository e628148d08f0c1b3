package dynamo_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
)

// randomCode is a well-formed code (valid check symbol) that was never issued.
func randomCode(tb testing.TB) string {
	tb.Helper()
	c, err := giftcode.Generator{Rand: rand.Reader}.New()
	if err != nil {
		tb.Fatal(err)
	}
	return c.Display()
}

// TestShopWideFailuresAlertButNeverLock is issue 17 item 4: a surge of
// failed codes across a shop (a public balance-check page is enough) used
// to lock every customer of the shop out for the rest of the hour. Now the
// client that guesses is locked, the shop-wide count only alerts the admin
// (one outbox email per window) and logs a metric, and an honest customer
// still redeems.
func TestShopWideFailuresAlertButNeverLock(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := newEnv(t, dynamo.WithLimits(dynamo.Limits{Window: time.Hour, PerCustomer: 10, PerClient: 3, ShopAlert: 5}),
		dynamo.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), dynamo.WithComposer(mail.NewComposer("alerts@giftcredit.test")))
	good := MustGiftCard(t, e, 100)

	// One client: three failures, then locked, even for a real code.
	for i := 0; i < 3; i++ {
		_, err := e.store.CheckCard(e.ctx, e.shop.ID, randomCode(t), "ip:203.0.113.9")
		wantCode(t, err, gc.ECONFLICT)
	}
	_, err := e.store.CheckCard(e.ctx, e.shop.ID, good.Code, "ip:203.0.113.9")
	wantCode(t, err, gc.ERATELIMITED)

	// Many clients (and none at all) push the shop past its alert threshold
	// twice over: nobody else is locked.
	for i := 0; i < 8; i++ {
		ref := ""
		if i%2 == 0 {
			ref = "session-" + randomCode(t)
		}
		_, err := e.store.CheckCard(e.ctx, e.shop.ID, randomCode(t), ref)
		wantCode(t, err, gc.ECONFLICT)
	}
	if _, err := e.store.CheckCard(e.ctx, e.shop.ID, good.Code, "ip:198.51.100.1"); err != nil {
		t.Fatalf("an honest client's check after a shop-wide surge: %v", err)
	}
	honest := MustCustomer(t, e, "honest@example.com")
	if _, err := e.store.Redeem(e.ctx, e.admin, "", honest.ID, good.Code, "ip:198.51.100.1"); err != nil {
		t.Fatalf("an honest customer's redemption after a shop-wide surge: %v", err)
	}

	// Exactly one alert to the shop's admin, and one metric line.
	due, err := e.store.DueEmails(e.ctx, e.clock.Now().Add(24*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var alerts []gc.Email
	for _, p := range due {
		if strings.Contains(p.Email.Subject, "failed gift card code attempts") {
			alerts = append(alerts, p.Email)
		}
	}
	if len(alerts) != 1 || alerts[0].To != e.shop.AdminEmail || alerts[0].From != e.shop.SenderAddress {
		t.Fatalf("alerts = %+v, want one to %s", alerts, e.shop.AdminEmail)
	}
	if !strings.Contains(alerts[0].Text, "5 gift card codes") {
		t.Errorf("alert text does not give the count: %q", alerts[0].Text)
	}
	var metrics int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace string
				}
			} `json:"_aws"`
			ShopID string `json:"shopId"`
			Count  int    `json:"CodeGuessingAlerts"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Count == 1 && rec.ShopID == e.shop.ID &&
			len(rec.AWS.CloudWatchMetrics) == 1 && rec.AWS.CloudWatchMetrics[0].Namespace == "giftcredit" {
			metrics++
		}
	}
	if metrics != 1 {
		t.Fatalf("%d metric lines, want 1; logs:\n%s", metrics, logs.String())
	}
	MustAudit(t, e)
}

// TestClientRefLocksAcrossCustomers: one client trying codes against many
// customers is locked by its own counter; the clientRef is validated.
func TestClientRefLocksAcrossCustomers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dynamo.WithLimits(dynamo.Limits{Window: time.Hour, PerCustomer: 10, PerClient: 2, ShopAlert: 1000}))
	good := MustGiftCard(t, e, 100)
	for i := 0; i < 2; i++ {
		c := MustCustomer(t, e, "c"+string(rune('a'+i))+"@example.com")
		_, err := e.store.Redeem(e.ctx, e.admin, "", c.ID, randomCode(t), "session-42")
		wantCode(t, err, gc.ECONFLICT)
	}
	fresh := MustCustomer(t, e, "fresh@example.com")
	_, err := e.store.Redeem(e.ctx, e.admin, "", fresh.ID, good.Code, "session-42")
	wantCode(t, err, gc.ERATELIMITED)
	if _, err := e.store.Redeem(e.ctx, e.admin, "", fresh.ID, good.Code, "session-43"); err != nil {
		t.Fatalf("another client: %v", err)
	}
	_, err = e.store.CheckCard(e.ctx, e.shop.ID, good.Code, "bad\nref")
	wantCode(t, err, gc.EINVALID)
	_, err = e.store.CheckCard(e.ctx, e.shop.ID, good.Code, strings.Repeat("x", dynamo.MaxClientRefLen+1))
	wantCode(t, err, gc.EINVALID)
	MustAudit(t, e)
}
