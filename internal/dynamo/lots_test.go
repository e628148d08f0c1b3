package dynamo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/schedule"
)

// at sets the env's clock.
func (e *env) at(t time.Time) { e.clock.ns.Store(t.UnixNano()) }

func (e *env) now() time.Time { return time.Unix(0, e.clock.ns.Load()).UTC() }

func mustExpiringCredit(tb testing.TB, e *env, customerID string, amount int64, exp time.Time) gc.Transaction {
	tb.Helper()
	t, err := e.store.Credit(e.ctx, e.admin, "", gc.DirectCredit{CustomerID: customerID, Amount: amount, Currency: "USD", PaymentType: "goodwill", ExpiresAt: &exp})
	if err != nil {
		tb.Fatalf("credit: %v", err)
	}
	return t
}

func mustLots(tb testing.TB, e *env, customerID string) []gc.Lot {
	tb.Helper()
	var out []gc.Lot
	cursor := ""
	for {
		p, err := e.store.Lots(e.ctx, e.shop.ID, customerID, gc.PageRequest{Cursor: cursor, Limit: 100})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, p.Lots...)
		if cursor = p.NextCursor; cursor == "" {
			return out
		}
	}
}

func remainders(ls []gc.Lot) []int64 {
	out := make([]int64, len(ls))
	for i, l := range ls {
		out[i] = l.Remaining
	}
	return out
}

// runExpiry runs the scheduled job once at the env's clock.
func runExpiry(tb testing.TB, e *env, mailer gc.Mailer) schedule.Result {
	tb.Helper()
	if mailer == nil {
		mailer = nopMailer{}
	}
	j := &schedule.CreditExpiry{Store: e.store, Outbox: e.store, Mailer: mailer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: e.now}
	res, err := j.Handle(e.ctx, events.EventBridgeEvent{})
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

type nopMailer struct{}

func (nopMailer) Send(_ context.Context, e gc.Email) (string, error) { return "ses-" + e.ID, nil }

// A spend takes the soonest-expiring lot first, never an expired one
// (even before the job), and the job posts one expiry per lot remainder,
// once, however often it runs.
func TestLotsSpendSoonestFirstAndExpireOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := e.now()
	c := MustCustomer(t, e, "lots@example.com")
	MustCredit(t, e, c.ID, 100)
	mustExpiringCredit(t, e, c.ID, 50, t0.Add(10*24*time.Hour))
	mustExpiringCredit(t, e, c.ID, 30, t0.Add(3*24*time.Hour))

	got, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: c.ID, OrderRef: "o-1", AmountDue: 40, Currency: "USD"})
	if err != nil || got.Applied != 40 {
		t.Fatalf("apply: %+v, %v", got, err)
	}
	if r := remainders(mustLots(t, e, c.ID)); fmt.Sprint(r) != "[40 100]" {
		t.Fatalf("lots after spending 40: %v, want [40 100] (the 3-day lot gone, 10 from the 10-day lot)", r)
	}

	// Past the 10-day lot's expiry, before the job: 100 can be spent, not 140.
	e.at(t0.Add(10*24*time.Hour + time.Second))
	cust, err := e.store.Customer(e.ctx, e.shop.ID, c.ID)
	if err != nil || cust.Balances[0].Amount != 100 || cust.Balances[0].NextExpiry != nil {
		t.Fatalf("customer = %+v, %v", cust, err)
	}
	got, err = e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: c.ID, OrderRef: "o-2", AmountDue: 120, Currency: "USD"})
	if err != nil || got.Applied != 100 || got.AmountDue != 20 {
		t.Fatalf("apply after expiry: %+v, %v", got, err)
	}

	res := runExpiry(t, e, nil)
	if res.Counts["expired"] != 1 || res.Counts["spent"] != 1 {
		t.Fatalf("job: %+v, want one expiry and one lot already spent", res.Counts)
	}
	again := runExpiry(t, e, nil)
	if again.Counts["expired"] != 0 {
		t.Fatalf("second run expired again: %+v", again.Counts)
	}
	h, err := e.store.History(e.ctx, e.shop.ID, c.ID, gc.PageRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var expiries []gc.Transaction
	for _, tx := range h.Transactions {
		if tx.Kind == gc.TxExpiry {
			expiries = append(expiries, tx)
		}
	}
	if len(expiries) != 1 || expiries[0].Postings[0].Amount != -40 || expiries[0].Postings[1].Account != gc.AccountBreakage ||
		expiries[0].Postings[1].Amount != 40 || expiries[0].LotID == "" {
		t.Fatalf("expiry transactions: %+v", expiries)
	}
	if b := MustBalance(t, e, c.ID); b != 0 {
		t.Fatalf("balance %d, want 0", b)
	}
	MustAudit(t, e)
}

// Spending a whole balance across many lots is one write request.
func TestSpendAcrossManyLotsIsOneWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := e.now()
	c := MustCustomer(t, e, "many@example.com")
	for i := range 60 {
		if i%3 == 0 {
			MustCredit(t, e, c.ID, 10)
			continue
		}
		mustExpiringCredit(t, e, c.ID, 10, t0.Add(time.Duration(60-i)*time.Hour))
	}
	e.counter.Reset()
	got, err := e.store.ApplyCredit(e.ctx, e.admin, "spend-all", gc.CreditApplication{CustomerID: c.ID, OrderRef: "all", AmountDue: 600, Currency: "USD"})
	if err != nil || got.Applied != 600 {
		t.Fatalf("apply: %+v, %v", got, err)
	}
	counts := e.counter.Counts()
	if counts["TransactWriteItems"] != 1 || counts["TransactGetItems"] != 1 || len(counts) != 2 {
		t.Fatalf("requests: %v, want one read and one write", counts)
	}
	if ls := mustLots(t, e, c.ID); len(ls) != 0 {
		t.Fatalf("lots left: %+v", ls)
	}
	MustAudit(t, e)
}

// storeAt is a second store on the env's table with its own clock (a
// second Lambda whose clock reads differently).
func storeAt(tb testing.TB, e *env, now func() time.Time) *dynamo.Store {
	tb.Helper()
	kr, err := giftcode.NewKeyring([]byte("test-secret-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	return dynamo.New(localaws.NewDynamoClient(e.dyn.URL(), &localaws.Counter{}), "giftcredit",
		dynamo.WithKeyring(kr), dynamo.WithClock(now), dynamo.WithComposer(mail.NewComposer("")))
}

// A spend just before a lot's expiry races the job just after it:
// whatever the interleaving, the lot is spent or expired, never both,
// never more than it held, and the ledger balances.
func TestRaceSpendingAgainstTheExpiryJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := e.now()
	exp := t0.Add(time.Hour)
	spender := storeAt(t, e, func() time.Time { return exp.Add(-time.Second) })
	job := storeAt(t, e, func() time.Time { return exp.Add(time.Second) })
	const n = 6
	custs := make([]gc.Customer, n)
	for i := range custs {
		custs[i] = MustCustomer(t, e, fmt.Sprintf("race%d@example.com", i))
		mustExpiringCredit(t, e, custs[i].ID, 50, exp)
	}
	e.at(exp.Add(time.Second))
	refs, err := job.ExpiredLots(e.ctx, e.shop.ID, exp.Add(time.Second), 100)
	if err != nil || len(refs) != n {
		t.Fatalf("expired lots: %v, %v", refs, err)
	}
	applied := make([]int64, n)
	expired := make([]int64, n)
	var wg sync.WaitGroup
	for i := range custs {
		wg.Add(2)
		go func() {
			defer wg.Done()
			got, err := spender.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: custs[i].ID, OrderRef: fmt.Sprintf("race-%d", i), AmountDue: 50, Currency: "USD"})
			if err != nil {
				t.Error(err)
			}
			applied[i] = got.Applied
		}()
		go func() {
			defer wg.Done()
			for _, r := range refs {
				if r.CustomerID == custs[i].ID {
					out, err := job.ExpireLot(e.ctx, e.shop.ID, r)
					if err != nil {
						t.Error(err)
					}
					expired[i] = out.Amount
				}
			}
		}()
	}
	wg.Wait()
	for i := range custs {
		if applied[i]+expired[i] != 50 || (applied[i] != 0 && expired[i] != 0) {
			t.Errorf("customer %d: applied %d, expired %d; want one of them, 50 in all", i, applied[i], expired[i])
		}
		if b := MustBalance(t, e, custs[i].ID); b != 0 {
			t.Errorf("customer %d: balance %d", i, b)
		}
	}
	MustAudit(t, e)
}

type recordingMailer struct {
	mu   sync.Mutex
	sent []gc.Email
}

func (m *recordingMailer) Send(_ context.Context, e gc.Email) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, e)
	return "ses-" + e.ID, nil
}

// The reminder goes out expiryNoticeDays before, once per lot, and not
// for a lot with nothing left or a shop that sends none.
func TestExpiryRemindersOncePerLot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := e.now()
	c := MustCustomer(t, e, "remind@example.com")
	mustExpiringCredit(t, e, c.ID, 1250, t0.Add(30*24*time.Hour))
	mustExpiringCredit(t, e, c.ID, 70, t0.Add(5*24*time.Hour))
	spent := MustCustomer(t, e, "spent@example.com")
	mustExpiringCredit(t, e, spent.ID, 70, t0.Add(5*24*time.Hour))
	if _, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: spent.ID, OrderRef: "s", AmountDue: 70, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}

	m := &recordingMailer{}
	if res := runExpiry(t, e, m); res.Counts["reminded"] != 1 || len(m.sent) != 1 {
		t.Fatalf("first run: %+v, sent %d; want one reminder (the 5-day lot; the 30-day one is not due, the spent one has nothing)", res.Counts, len(m.sent))
	}
	if got := m.sent[0]; got.To != "remind@example.com" || !strings.Contains(got.Subject, "0.70 USD") {
		t.Fatalf("reminder: to %s, subject %q", got.To, got.Subject)
	}
	runExpiry(t, e, m)
	if len(m.sent) != 1 {
		t.Fatalf("a second run sent %d reminders in all, want 1", len(m.sent))
	}
	// 23 days later the 30-day lot is within 7 days: its reminder, once.
	e.at(t0.Add(23*24*time.Hour + time.Minute))
	runExpiry(t, e, m)
	runExpiry(t, e, m)
	if len(m.sent) != 2 || !strings.Contains(m.sent[1].Subject, "12.50 USD") {
		t.Fatalf("sent %d reminders, want 2 (the second of 12.50)", len(m.sent))
	}

	// A shop that sends none.
	if _, err := e.store.SetExpiryNoticeDays(e.ctx, e.shop.ID, 0); err != nil {
		t.Fatal(err)
	}
	mustExpiringCredit(t, e, c.ID, 5, e.now().Add(24*time.Hour))
	runExpiry(t, e, m)
	if len(m.sent) != 2 {
		t.Fatalf("expiryNoticeDays 0 still reminded: %d sent", len(m.sent))
	}
	if _, err := e.store.SetExpiryNoticeDays(e.ctx, e.shop.ID, 400); gc.ErrorCode(err) != gc.EINVALID {
		t.Fatalf("400 days: %v, want invalid", err)
	}
	MustAudit(t, e)
}

// A promotion's grant is a lot that expires creditExpiresInDays later;
// a redeemed gift card's value never expires.
func TestGrantAndRedemptionLots(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "src@example.com")
	card := MustGiftCard(t, e, 500)
	if _, err := e.store.Redeem(e.ctx, e.admin, "", c.ID, card.Code, ""); err != nil {
		t.Fatal(err)
	}
	ls := mustLots(t, e, c.ID)
	if len(ls) != 1 || ls[0].Source != gc.LotRedemption || ls[0].ExpiresAt != nil || ls[0].Amount != 500 {
		t.Fatalf("lots: %+v", ls)
	}
	MustAudit(t, e)
}

// The job stops in time: with too little time left for a lot it leaves
// every lot to the next run, which expires them.
func TestExpiryJobStopsInTimeAndResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := e.now()
	c := MustCustomer(t, e, "late@example.com")
	for range 3 {
		mustExpiringCredit(t, e, c.ID, 10, t0.Add(time.Hour))
	}
	e.at(t0.Add(2 * time.Hour))
	j := &schedule.CreditExpiry{Store: e.store, Outbox: e.store, Mailer: nopMailer{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: e.now, Reserve: time.Millisecond, PerLot: time.Hour}
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	res, err := j.Handle(ctx, events.EventBridgeEvent{})
	if err != nil || res.Counts["expired"] != 0 || res.Counts["deferred"] == 0 {
		t.Fatalf("short run: %+v, %v; want nothing expired, the rest deferred", res.Counts, err)
	}
	if b := MustBalance(t, e, c.ID); b != 0 {
		t.Fatalf("spendable %d after expiry, want 0", b)
	}
	if res := runExpiry(t, e, nil); res.Counts["expired"] != 3 {
		t.Fatalf("next run: %+v, want 3 expiries", res.Counts)
	}
	MustAudit(t, e)
}

// A refund to source gives each lot back its own, with its own expiry;
// what came from a lot that has expired since goes to a new lot expiring
// 30 days after the refund. Holds take lots and a void gives them back.
func TestRefundsAndHoldsRestoreLots(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := e.now()
	c := MustCustomer(t, e, "back@example.com")
	MustCredit(t, e, c.ID, 100)
	mustExpiringCredit(t, e, c.ID, 40, t0.Add(2*24*time.Hour))
	mustExpiringCredit(t, e, c.ID, 60, t0.Add(20*24*time.Hour))
	spend, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: c.ID, OrderRef: "r-1", AmountDue: 150, Currency: "USD"})
	if err != nil || spend.Applied != 150 {
		t.Fatalf("apply: %+v, %v", spend, err)
	}
	// Took 40 (2 days), 60 (20 days), 50 of the never-expiring 100.
	if r := remainders(mustLots(t, e, c.ID)); fmt.Sprint(r) != "[50]" {
		t.Fatalf("lots after the spend: %v", r)
	}
	// Three days on the 2-day lot has expired: refund everything.
	e.at(t0.Add(3 * 24 * time.Hour))
	if _, err := e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: spend.TransactionID, Amount: 150, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	ls := mustLots(t, e, c.ID)
	if len(ls) != 3 {
		t.Fatalf("lots after the refund: %+v", ls)
	}
	// Soonest first: the 20-day lot (its own expiry), the new 30-day
	// refund lot of 40, the never-expiring lot whole again.
	refundLife := func(l gc.Lot) time.Duration { return l.ExpiresAt.Sub(e.now()) }
	if ls[0].Remaining != 60 || !ls[0].ExpiresAt.Equal(t0.Add(20*24*time.Hour).Truncate(time.Second)) ||
		ls[1].Remaining != 40 || ls[1].Source != gc.LotRefund || refundLife(ls[1]) > 30*24*time.Hour || refundLife(ls[1]) < 30*24*time.Hour-time.Minute ||
		ls[2].Remaining != 100 || ls[2].ExpiresAt != nil {
		t.Fatalf("lots after the refund: %+v", ls)
	}

	// A hold takes the soonest lot; a void gives it back.
	h, err := e.store.CreateHold(e.ctx, e.admin, "", gc.NewHold{Currency: "USD", Amount: 70, OrderRef: "h-1", CustomerID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r := remainders(mustLots(t, e, c.ID)); fmt.Sprint(r) != "[30 100]" {
		t.Fatalf("lots while held: %v, want [30 100]", r)
	}
	if _, err := e.store.VoidHold(e.ctx, e.admin, "", h.ID); err != nil {
		t.Fatal(err)
	}
	if r := remainders(mustLots(t, e, c.ID)); fmt.Sprint(r) != "[60 40 100]" {
		t.Fatalf("lots after the void: %v, want [60 40 100]", r)
	}
	MustAudit(t, e)
}
