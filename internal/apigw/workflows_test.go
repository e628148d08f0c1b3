package apigw

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/schedule"
	"github.com/giftcredit/giftcredit/internal/sesmail"
)

// TestSeed000GiftCardAsCredit is the first seed article over the API, in
// fewer steps: staff sell themselves a gift card for cash, the code is on
// the confirmation and in their mailbox (the shop admin gets it masked),
// the customer is created, the code redeemed onto them, and their next
// order spends the credit by itself.
func TestSeed000GiftCardAsCredit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	staff := e.addr("sam.staff")

	// 1–4. Place the order: a $50 gift card, staff's own billing, cash.
	r := e.do(t, adminKey, e.event(t, "orders-place.json", withPatch(map[string]any{
		"billingName": "Sam Staff", "billingEmail": staff, "paymentMethod": "cash",
		"giftCards": []any{map[string]any{"amount": 5000}},
	})))
	expect(t, r, 201, "")
	order := decodeAs[gc.Order](t, r)
	if len(order.GiftCards) != 1 || order.GiftCards[0].Code == "" || order.AmountDue != 5000 {
		t.Fatalf("order = %s", r.Body)
	}
	card := order.GiftCards[0]
	canonical, err := giftcode.Normalize(card.Code)
	if err != nil {
		t.Fatal(err)
	}

	// 5. The code is emailed to the buyer; the admin's confirmation masks it.
	toBuyer := waitMail(t, staff, 1)[0]
	if !strings.Contains(toBuyer.Body.Text, card.Code) || !strings.Contains(toBuyer.Body.HTML, card.Code) {
		t.Errorf("the buyer's email does not carry the code:\n%s", toBuyer.Body.Text)
	}
	if toBuyer.From != e.shop.SenderAddress {
		t.Errorf("from = %q, want the shop's sender %q", toBuyer.From, e.shop.SenderAddress)
	}
	toAdmin := waitMail(t, e.shop.AdminEmail, 1)[0]
	for _, part := range []string{toAdmin.Subject, toAdmin.Body.Text, toAdmin.Body.HTML} {
		if strings.Contains(part, card.Code) || strings.Contains(part, string(canonical)) || strings.Contains(part, string(canonical)[:12]) {
			t.Errorf("the admin's confirmation discloses the code:\n%s", part)
		}
	}
	if !strings.Contains(toAdmin.Body.Text, card.Last4) || !strings.Contains(toAdmin.Body.Text, order.ID) {
		t.Errorf("the admin's confirmation lacks the order or last4:\n%s", toAdmin.Body.Text)
	}

	// 6. Open (create) the customer.
	r = e.do(t, adminKey, e.event(t, "customers-create.json", withPatch(map[string]any{"email": e.addr("pat"), "name": "Pat Customer"})))
	expect(t, r, 201, "")
	cust := decodeAs[gc.Customer](t, r)

	// 7–9. Redeem the code (as typed from the email) onto them.
	r = e.do(t, adminKey, e.event(t, "redemption-redeem.json", withPath("id", cust.ID),
		withBody(map[string]string{"code": strings.ToLower(card.Code)})))
	expect(t, r, 201, "")
	if red := decodeAs[gc.Redemption](t, r); red.Amount != 5000 || red.Balance != 5000 || red.CardID != card.ID {
		t.Fatalf("redemption = %s", r.Body)
	}

	// The credit applies by itself to the customer's next purchase.
	r = e.do(t, shopKey, e.event(t, "orders-place-with-credit.json", withPatch(map[string]any{
		"customerId": cust.ID, "billingEmail": cust.Email,
		"goods": []any{map[string]any{"description": "Hardback", "unitPrice": 3200, "quantity": 1}},
	})))
	expect(t, r, 201, "")
	if next := decodeAs[gc.Order](t, r); next.CreditApplied != 3200 || next.AmountDue != 0 {
		t.Errorf("next order = %s", r.Body)
	}
	r = e.do(t, shopKey, e.event(t, "customers-get.json", withPath("id", cust.ID)))
	expect(t, r, 200, "")
	if c := decodeAs[gc.Customer](t, r); c.BalanceOf("USD") != 1800 {
		t.Errorf("customer after = %s, want 1800 USD left", r.Body)
	}
	// The card is spent; the code cannot be used twice.
	r = e.do(t, shopKey, e.event(t, "redemption-check.json", withBody(map[string]string{"code": card.Code})))
	expect(t, r, 200, "")
	if c := decodeAs[CardCheck](t, r); c.Status != gc.CardRedeemed || c.Balance != 0 {
		t.Errorf("card after = %s", r.Body)
	}
	e.mustAudit(t)
}

// TestSeed003CreditCustomerAccount is the second seed over the API: find
// the customer (not there), create them, credit their account with a
// reference against a custom payment type, and read the balanced entry
// back from their history.
func TestSeed003CreditCustomerAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := e.addr("lee")

	r := e.do(t, adminKey, e.event(t, "customers-find.json", withQuery("email", email)))
	expect(t, r, 404, gc.ENOTFOUND)

	r = e.do(t, adminKey, e.event(t, "customers-create.json", withPatch(map[string]any{"email": email, "name": "Lee Customer"})))
	expect(t, r, 201, "")
	cust := decodeAs[gc.Customer](t, r)

	const ref = "Refund to credit: order #1042, damaged spine"
	r = e.do(t, adminKey, e.event(t, "credits-credit.json", withPath("id", cust.ID), withBody(map[string]any{
		"amount": 2500, "currency": "USD", "paymentType": "store_goodwill", "reference": ref})))
	expect(t, r, 201, "")
	credit := decodeAs[gc.Transaction](t, r)

	r = e.do(t, shopKey, e.event(t, "customers-transactions.json", withPath("id", cust.ID)))
	expect(t, r, 200, "")
	page := decodeAs[gc.TransactionPage](t, r)
	if len(page.Transactions) != 1 {
		t.Fatalf("history = %s", r.Body)
	}
	tx := page.Transactions[0]
	if tx.ID != credit.ID || tx.Kind != gc.TxCredit || tx.Reference != ref || tx.Actor.Role != gc.RoleAdmin || tx.Actor.KeyID != e.admin.KeyID {
		t.Errorf("transaction = %+v", tx)
	}
	sums := map[string]int64{}
	byAccount := map[string]int64{}
	for _, p := range tx.Postings {
		sums[p.Currency] += p.Amount
		byAccount[p.Account] += p.Amount
	}
	if sums["USD"] != 0 || len(sums) != 1 {
		t.Errorf("the transaction does not balance: %+v", tx.Postings)
	}
	if byAccount["funding:store_goodwill"] != -2500 || byAccount[gc.CustomerAccount(cust.ID)] != 2500 {
		t.Errorf("postings = %+v, want funding:store_goodwill -2500 against the customer +2500", tx.Postings)
	}
	r = e.do(t, shopKey, e.event(t, "customers-find.json", withQuery("email", email)))
	expect(t, r, 200, "")
	if c := decodeAs[gc.Customer](t, r); c.BalanceOf("USD") != 2500 {
		t.Errorf("customer = %s", r.Body)
	}
	e.mustAudit(t)
}

// closedPortMailer is an SES mailer whose endpoint refuses connections:
// SES is down.
func closedPortMailer(t testing.TB) gc.Mailer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return sesmail.New(localaws.NewSESClient("http://" + addr))
}

// loadSchedule reads a golden EventBridge schedule event.
func loadSchedule(t testing.TB, name string) events.EventBridgeEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := strictJSON(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestOrderWhileSESIsDown: the order still answers 201 with its code, its
// emails stay pending in the outbox (due for the scheduled sender at once), and
// the scheduled sender, run twice at once and once more, delivers each
// exactly once through the live SES.
func TestOrderWhileSESIsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withMailer(closedPortMailer(t)))
	buyer := e.addr("offline-buyer")

	r := e.do(t, shopKey, e.event(t, "orders-place.json", withPatch(map[string]any{"billingEmail": buyer, "paymentMethod": "card"})))
	expect(t, r, 201, "")
	order := decodeAs[gc.Order](t, r)
	code := order.GiftCards[0].Code
	if !strings.Contains(e.logs.String(), "order emails left pending") {
		t.Error("the failed send was not logged")
	}
	if n := len(mailTo(t, buyer)); n != 0 {
		t.Fatalf("%d emails arrived while SES was down", n)
	}

	// The failed inline send hands both emails to the scheduled sender at
	// once, without waiting out the grace period a request gets.
	due, err := e.store.DueEmails(e.ctx, e.clock.Now(), 100)
	if err != nil || len(due) != 2 {
		t.Fatalf("due right after the failed send: %d, %v; want the code email and the confirmation", len(due), err)
	}
	later := func() time.Time { return e.clock.Now().Add(3 * time.Minute) }

	live := liveMailer()
	sender := &schedule.EmailSender{Queue: e.store, Mailer: live, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: later}
	tick := loadSchedule(t, "emailsender-schedule.json")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	results := make([]schedule.Result, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = sender.Handle(ctx, tick)
		}()
	}
	wg.Wait()
	third, err3 := sender.Handle(ctx, tick)
	for _, err := range append(errs, err3) {
		if err != nil {
			t.Fatalf("email sender: %v", err)
		}
	}
	if sent := results[0].Counts["sent"] + results[1].Counts["sent"] + third.Counts["sent"]; sent != 2 {
		t.Errorf("the senders sent %d emails, want 2 (runs: %v %v %v)", sent, results[0].Counts, results[1].Counts, third.Counts)
	}
	if third.Counts["sent"] != 0 {
		t.Errorf("a later run sent again: %v", third.Counts)
	}

	got := waitMail(t, buyer, 1)
	if !strings.Contains(got[0].Body.Text, code) {
		t.Errorf("the delayed email lacks the code:\n%s", got[0].Body.Text)
	}
	conf := waitMail(t, e.shop.AdminEmail, 1)
	if strings.Contains(conf[0].Body.Text, code) {
		t.Error("the delayed confirmation discloses the code")
	}
	// A day later, past every backoff, a run still sends nothing again.
	dayLater := &schedule.EmailSender{Queue: e.store, Mailer: live, Logger: sender.Logger,
		Now: func() time.Time { return later().Add(24 * time.Hour) }}
	if res, err := dayLater.Handle(ctx, tick); err != nil || res.Counts["sent"] != 0 {
		t.Errorf("a run a day later: %v, %v; want nothing sent", res.Counts, err)
	}
	waitMail(t, buyer, 1)
	waitMail(t, e.shop.AdminEmail, 1)
	// The response reported the order as placed: it is.
	r = e.do(t, shopKey, e.event(t, "orders-get.json", withPath("id", order.ID)))
	expect(t, r, 200, "")
	e.mustAudit(t)
}

// TestScheduleEventsDriveTheirJobs: the golden schedule events decode and
// run the jobs (the email sender finds nothing to send in a new table).
func TestScheduleEventsDriveTheirJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sender := &schedule.EmailSender{Queue: e.store, Mailer: liveMailer(), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: e.clock.Now}
	res, err := sender.Handle(e.ctx, loadSchedule(t, "emailsender-schedule.json"))
	if err != nil || res.Counts["sent"] != 0 {
		t.Errorf("email sender on an empty outbox: %+v, %v", res, err)
	}
	audit := &schedule.Audit{Store: e.store, Queue: e.store, Mailer: liveMailer(), Composer: mail.NewComposer("noreply@giftcredit.test"),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: e.clock.Now}
	res, err = audit.Handle(e.ctx, loadSchedule(t, "audit-schedule.json"))
	if err != nil || res.Counts["shops"] != 2 || res.Breaches != 0 {
		t.Errorf("audit of two new shops: %+v, %v", res, err)
	}
}
