package dynamo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// advanceTo moves the env's clock to t (never back).
func (e *env) advanceTo(t time.Time) {
	if t.UnixNano() > e.clock.ns.Load() {
		e.clock.ns.Store(t.UnixNano())
	}
}

// closeDue closes every due day of the shop, going on after checkpoints;
// it returns how many calls it took.
func closeDue(tb testing.TB, e *env) int {
	tb.Helper()
	days, err := e.store.DueDays(e.ctx, e.shop, e.clock.Now())
	if err != nil {
		tb.Fatal(err)
	}
	calls := 0
	for _, d := range days {
		for {
			calls++
			out, err := e.store.CloseDay(e.ctx, e.shop, d, time.Second)
			if err != nil {
				tb.Fatalf("close %s: %v", d, err)
			}
			if out.Closed || out.AlreadyClosed {
				break
			}
			if !out.Checkpointed || calls > 1000 {
				tb.Fatalf("close %s: %+v", d, out)
			}
		}
	}
	return calls
}

// expireDue expires every lot of the shop that is due, as the credit
// expiry job does.
func expireDue(tb testing.TB, e *env) {
	tb.Helper()
	refs, err := e.store.ExpiredLots(e.ctx, e.shop.ID, e.clock.Now(), 100)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range refs {
		if _, err := e.store.ExpireLot(e.ctx, e.shop.ID, r); err != nil {
			tb.Fatalf("expire lot %+v: %v", r, err)
		}
	}
}

func mustLiability(tb testing.TB, e *env, cur, from, to string) (gc.LiabilityReport, []gc.LiabilityDay) {
	tb.Helper()
	r, err := gc.ParseReportRange(from, to, cur, e.clock.Now())
	if err != nil {
		tb.Fatal(err)
	}
	rep, days, err := e.store.Liability(e.ctx, e.shop.ID, r)
	if err != nil {
		tb.Fatalf("liability %s %s..%s: %v", cur, from, to, err)
	}
	if msgs := gc.CheckRollForward(days); len(msgs) > 0 {
		tb.Fatalf("the report's days do not roll forward: %v", msgs)
	}
	return rep, days
}

func wantReport(tb testing.TB, got gc.LiabilityReport, gcs gc.GiftCardFigures, credit gc.CreditFigures) {
	tb.Helper()
	if got.GiftCards != gcs || got.Credit != credit {
		tb.Errorf("%s %s..%s:\n got gift cards %+v credit %+v\nwant gift cards %+v credit %+v", got.Currency, got.From, got.To,
			got.GiftCards, got.Credit, gcs, credit)
	}
}

// TestLiabilityReportScenario runs three days in JPY, USD and BHD through
// every kind of transaction (orders, a promotion grant, a redemption,
// direct credit and its reversal, credit applications, holds on a card
// and on credit with a capture, a void and an expiry release, refunds to
// a card and to credit, a credit lot that expires), closes the days as the schedule would (one of
// them in many short runs that checkpoint), and proves the report's
// figures, its roll-forward, that each day was written once per
// currency, and the audit.
func TestLiabilityReportScenario(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dynamo.ClosePagingForTest(2, 0))
	day1 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	a, b := MustCustomer(t, e, "a@shop.test"), MustCustomer(t, e, "b@shop.test")

	// Day 1: USD cards 50.00 + 20.00 for A (a promotion grants A 10.00),
	// the 20.00 card redeemed by B; 10,000 JPY credited to A; a BHD card of
	// 15.000 for a guest.
	promo := MustPromotion(t, e, nil)
	usdOrder := MustOrder(t, e, a.ID, "a@shop.test", "USD", 5000, 2000)
	MustOrder(t, e, "", "guest@shop.test", "BHD", 15000)
	if _, err := e.store.Credit(e.ctx, e.admin, "", gc.DirectCredit{CustomerID: a.ID, Amount: 10000, Currency: "JPY", PaymentType: "cash"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Redeem(e.ctx, e.admin, "", b.ID, usdOrder.GiftCards[1].Code, ""); err != nil {
		t.Fatal(err)
	}
	MustTick(t, newService(e))
	if len(MustGrants(t, e, promo.ID)) != 1 {
		t.Fatal("the promotion did not grant")
	}

	// Day 2.
	e.advanceTo(day1.Add(25 * time.Hour))
	h, err := e.store.CreateHold(e.ctx, e.admin, "", gc.NewHold{Currency: "USD", Amount: 3000, OrderRef: "web-1", GiftCardCode: usdOrder.GiftCards[0].Code})
	if err != nil {
		t.Fatal(err)
	}
	h, err = e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: h.ID, Amount: 1000, Final: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: h.Captures[0].TransactionID, Amount: 400, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	vh, err := e.store.CreateHold(e.ctx, e.admin, "", gc.NewHold{Currency: "USD", Amount: 500, OrderRef: "web-2", CustomerID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.VoidHold(e.ctx, e.admin, "", vh.ID); err != nil {
		t.Fatal(err)
	}
	app, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: a.ID, OrderRef: "pos-1", AmountDue: 4000, Currency: "JPY"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: app.TransactionID, Amount: 1500, Currency: "JPY"}); err != nil {
		t.Fatal(err)
	}
	bhd, err := e.store.Credit(e.ctx, e.admin, "", gc.DirectCredit{CustomerID: b.ID, Amount: 2500, Currency: "BHD", PaymentType: "cash"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Reverse(e.ctx, e.admin, "", gc.Reversal{CustomerID: b.ID, TransactionID: bhd.ID, Reason: "wrong customer"}); err != nil {
		t.Fatal(err)
	}
	// Days 10-31 (the day before the shop, a margin) and 11-01 close now.
	if calls := closeDue(t, e); calls != 2 {
		t.Errorf("closing two days took %d calls", calls)
	}
	MustAudit(t, e)

	// Day 3: a credit hold that expires and is released, an order whose
	// goods A pays 9.00 of with credit, and a card hold left open.
	e.advanceTo(day1.Add(49 * time.Hour))
	sixty := int64(60)
	eh, err := e.store.CreateHold(e.ctx, e.admin, "", gc.NewHold{Currency: "USD", Amount: 200, OrderRef: "web-3", CustomerID: a.ID, ExpiresIn: &sixty})
	if err != nil {
		t.Fatal(err)
	}
	e.advanceTo(day1.Add(49*time.Hour + 2*time.Minute))
	if rh, err := e.store.ReleaseHold(e.ctx, e.shop.ID, eh.ID); err != nil || rh.Status != gc.HoldExpired {
		t.Fatalf("release: %+v %v", rh, err)
	}
	if _, err := e.store.PlaceOrder(e.ctx, e.admin, "", gc.NewOrder{CustomerID: a.ID, BillingName: "A", BillingEmail: "a@shop.test", PaymentMethod: "card",
		Currency: "USD", Goods: []gc.OrderLine{{Description: "Tea", UnitPrice: 900, Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateHold(e.ctx, e.admin, "", gc.NewHold{Currency: "USD", Amount: 100, OrderRef: "web-4", GiftCardCode: usdOrder.GiftCards[0].Code}); err != nil {
		t.Fatal(err)
	}
	// B gets 6.00 that expires half an hour later, unspent.
	lotExp := day1.Add(49*time.Hour + 30*time.Minute)
	if _, err := e.store.Credit(e.ctx, e.admin, "", gc.DirectCredit{CustomerID: b.ID, Amount: 600, Currency: "USD", PaymentType: "goodwill", ExpiresAt: &lotExp}); err != nil {
		t.Fatal(err)
	}
	e.advanceTo(lotExp.Add(time.Minute))
	expireDue(t, e)
	// Day 2 closes in short runs: two transactions a page, one page a run.
	slow := dynamo.New(dynamo.ClientForTest(e.store), "giftcredit", dynamo.WithClock(e.clock.Now), dynamo.ClosePagingForTest(2, 1))
	calls := 0
	for {
		calls++
		out, err := slow.CloseDay(e.ctx, e.shop, "2026-11-02", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if out.Closed {
			break
		}
		if !out.Checkpointed || calls > 100 {
			t.Fatalf("slow close: %+v", out)
		}
	}
	if calls < 4 {
		t.Errorf("day 2 closed in %d runs of one page of two; want at least 4 (it has 10 transactions)", calls)
	}
	if out, err := e.store.CloseDay(e.ctx, e.shop, "2026-11-02", time.Second); err != nil || !out.AlreadyClosed {
		t.Errorf("closing day 2 again: %+v %v", out, err)
	}
	if _, err := e.store.CloseDay(e.ctx, e.shop, "2026-11-04", time.Second); err == nil {
		t.Error("a day out of order closed")
	}
	MustAudit(t, e)

	usdCards := gc.GiftCardFigures{Opening: 0, Issued: 7000, Redeemed: 2000, Spent: 1000, Refunded: 400, Closing: 4400, OutstandingCount: 1}
	usdCredit := gc.CreditFigures{Granted: gc.CreditGranted{Redemption: 2000, Credit: 600, Promotion: 1000}, Spent: 900, Expired: 600, Closing: 2100}
	check := func(closedThrough string) {
		t.Helper()
		rep, days := mustLiability(t, e, "USD", "2026-11-01", "2026-11-03")
		wantReport(t, rep, usdCards, usdCredit)
		for _, d := range days {
			if d.Closed != (d.Day <= closedThrough) {
				t.Errorf("%s closed=%v with the close through %s", d.Day, d.Closed, closedThrough)
			}
		}
		rep, _ = mustLiability(t, e, "JPY", "2026-11-01", "2026-11-03")
		wantReport(t, rep, gc.GiftCardFigures{}, gc.CreditFigures{Granted: gc.CreditGranted{Credit: 10000, Refund: 1500}, Spent: 4000, Closing: 7500})
		rep, _ = mustLiability(t, e, "BHD", "2026-11-01", "2026-11-03")
		wantReport(t, rep, gc.GiftCardFigures{Issued: 15000, Closing: 15000, OutstandingCount: 1}, gc.CreditFigures{Granted: gc.CreditGranted{Credit: 2500}, Reversed: 2500})
		// One day: day 2 alone opens at day 1's closing.
		rep, _ = mustLiability(t, e, "USD", "2026-11-02", "2026-11-02")
		wantReport(t, rep, gc.GiftCardFigures{Opening: 5000, Spent: 1000, Refunded: 400, Closing: 4400, OutstandingCount: 1},
			gc.CreditFigures{Opening: 3000, Closing: 3000})
	}
	check("2026-11-02")

	// Day 4: day 3 closes; the figures are the same, all from stored days.
	midnight := time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)
	e.advanceTo(midnight.Add(dynamo.CloseGrace - time.Minute))
	if days, _ := e.store.DueDays(e.ctx, e.shop, e.clock.Now()); len(days) != 0 {
		t.Errorf("due inside the grace: %v", days)
	}
	e.advanceTo(midnight.Add(dynamo.CloseGrace))
	closeDue(t, e)
	check("2026-11-03")
	rep := MustAudit(t, e)
	if rep.Transactions == 0 {
		t.Fatal("the audit saw no transactions")
	}
	_, days := mustLiability(t, e, "USD", "2026-11-01", "2026-11-03")
	csv := gc.LiabilityCSV(days)
	if !strings.Contains(csv, "\r\n2026-11-03,USD,4400,0,0,0,0,4400,1,3000,0,600,0,0,900,600,0,2100,true\r\n") {
		t.Errorf("CSV:\n%s", csv)
	}
	// Exactly once: 10-31 .. 11-03 for USD and BHD (seen on 11-01), JPY too.
	for _, cur := range []string{"USD", "JPY", "BHD"} {
		n, err := dynamo.LiabilityDayItemsForTest(e.ctx, e.store, e.shop.ID, cur)
		if err != nil || n != 3 {
			t.Errorf("%s: %d day items (%v), want 3 (11-01 to 11-03)", cur, n, err)
		}
	}
}

// TestLiabilityAuditCatchesATamperedDay: a stored day whose figure no
// longer matches its postings, or whose opening breaks the chain, is a
// breach.
func TestLiabilityAuditCatchesATamperedDay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "t@shop.test")
	MustCredit(t, e, c.ID, 700)
	e.advanceTo(time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC))
	MustCredit(t, e, c.ID, 300)
	e.advanceTo(time.Date(2026, 11, 3, 1, 0, 0, 0, time.UTC))
	closeDue(t, e)
	MustAudit(t, e)
	if err := dynamo.TamperLiabilityDayForTest(e.ctx, e.store, e.shop.ID, "USD", "2026-11-02", "grantedCredit", 301); err != nil {
		t.Fatal(err)
	}
	r, err := e.store.Audit(e.ctx, e.shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, b := range r.Breaches {
		kinds[b.Kind] = true
	}
	if !kinds["liability_figures"] || !kinds["liability_rollforward"] {
		t.Errorf("breaches %+v, want liability_figures and liability_rollforward", r.Breaches)
	}
}

// TestLiabilityReportShowsExpiry: a lot that expires unspent is
// credit.expired, on the open day and once the day is closed, and the
// audit proves the day.
func TestLiabilityReportShowsExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "x@shop.test")
	exp := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if _, err := e.store.Credit(e.ctx, e.admin, "", gc.DirectCredit{CustomerID: c.ID, Amount: 600, Currency: "USD", PaymentType: "cash", ExpiresAt: &exp}); err != nil {
		t.Fatal(err)
	}
	MustCredit(t, e, c.ID, 400)
	e.advanceTo(exp.Add(5 * time.Minute))
	refs, err := e.store.ExpiredLots(e.ctx, e.shop.ID, e.clock.Now(), 10)
	if err != nil || len(refs) != 1 {
		t.Fatalf("expired lots %v %v", refs, err)
	}
	if out, err := e.store.ExpireLot(e.ctx, e.shop.ID, refs[0]); err != nil {
		t.Fatalf("%+v %v", out, err)
	}
	want := gc.CreditFigures{Granted: gc.CreditGranted{Credit: 1000}, Expired: 600, Closing: 400}
	if rep, days := mustLiability(t, e, "USD", "2026-11-01", "2026-11-01"); rep.Credit != want || days[0].Closed {
		t.Errorf("open day: %+v", rep.Credit)
	}
	e.advanceTo(time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC))
	closeDue(t, e)
	MustAudit(t, e)
	rep, _ := mustLiability(t, e, "USD", "2026-11-01", "2026-11-01")
	if rep.Credit != want {
		t.Errorf("closed day: %+v", rep.Credit)
	}
}
