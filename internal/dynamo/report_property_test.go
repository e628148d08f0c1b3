package dynamo_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// TestLiabilityReconcilesOverRandomDays runs random operations in three
// currencies over several days (credit that expires among them, expired
// as the job would whenever the hours jump), with the clock jumping hours at a time and
// the daily close running at random moments (in runs cut short after a
// page, so it resumes from checkpoints). After every close the audit
// proves the stored days (roll-forward, figures against postings, last
// closing against the balances), and the report up to today, closed and
// open days together, closes at the sum of the stored balances.
func TestLiabilityReconcilesOverRandomDays(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			runLiabilityDays(t, seed, 70)
		})
	}
}

func runLiabilityDays(t *testing.T, seed uint64, steps int) {
	e := newEnv(t, dynamo.ClosePagingForTest(3, 2))
	r := rand.New(rand.NewPCG(seed, seed*104729))
	curs := []string{"JPY", "USD", "BHD"}
	var custs []gc.Customer
	var cards []gc.OrderCard
	var credits, spends, holds []string
	credCust := map[string]string{}
	pick := func(xs []string) string {
		if len(xs) == 0 {
			return "none"
		}
		return xs[r.IntN(len(xs))]
	}
	for i := range 3 {
		custs = append(custs, MustCustomer(t, e, fmt.Sprintf("r%d@shop.test", i)))
	}
	cust := func() string { return custs[r.IntN(len(custs))].ID }
	for step := range steps {
		cur := curs[r.IntN(len(curs))]
		amount := int64(1 + r.IntN(4000))
		var err error
		switch r.IntN(11) {
		case 0, 1:
			in := gc.NewOrder{BillingName: "B", BillingEmail: "b@shop.test", PaymentMethod: "cash", Currency: cur,
				GiftCards: []gc.NewGiftCard{{Amount: amount}}}
			if r.IntN(2) == 0 {
				in.CustomerID = cust()
				in.Goods = []gc.OrderLine{{Description: "g", UnitPrice: amount / 2, Quantity: 1}}
			}
			var o gc.PlacedOrder
			if o, err = e.store.PlaceOrder(e.ctx, e.admin, "", in); err == nil {
				cards = append(cards, o.Order.GiftCards...)
			}
		case 2:
			var tx gc.Transaction
			c := cust()
			in := gc.DirectCredit{CustomerID: c, Amount: amount, Currency: cur, PaymentType: "cash"}
			if r.IntN(2) == 0 {
				// Credit that expires within a day and a half, perhaps
				// after some of it was spent.
				exp := e.clock.Now().Add(time.Duration(1+r.IntN(36)) * time.Hour)
				in.ExpiresAt = &exp
			}
			if tx, err = e.store.Credit(e.ctx, e.admin, "", in); err == nil {
				credits = append(credits, tx.ID)
				credCust[tx.ID] = c
			}
		case 3:
			if len(cards) > 0 {
				_, err = e.store.Redeem(e.ctx, e.admin, "", cust(), cards[r.IntN(len(cards))].Code, "")
			}
		case 4:
			var a gc.AppliedCredit
			if a, err = e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: cust(), OrderRef: fmt.Sprint("ref-", step), AmountDue: amount, Currency: cur}); err == nil && a.TransactionID != "" {
				spends = append(spends, a.TransactionID)
			}
		case 5:
			id := pick(credits)
			_, err = e.store.Reverse(e.ctx, e.admin, "", gc.Reversal{CustomerID: credCust[id], TransactionID: id, Reason: "random"})
		case 6:
			in := gc.NewHold{Currency: cur, Amount: amount, OrderRef: "o", Capture: r.IntN(3) == 0}
			if len(cards) > 0 && r.IntN(2) == 0 {
				in.GiftCardCode = cards[r.IntN(len(cards))].Code
			} else {
				in.CustomerID = cust()
			}
			if r.IntN(2) == 0 {
				sixty := int64(60)
				in.ExpiresIn = &sixty
			}
			var h gc.Hold
			if h, err = e.store.CreateHold(e.ctx, e.admin, "", in); err == nil {
				holds = append(holds, h.ID)
				for _, c := range h.Captures {
					spends = append(spends, c.TransactionID)
				}
			}
		case 7:
			var h gc.Hold
			if h, err = e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: pick(holds), Amount: amount / 4, Final: r.IntN(2) == 0}); err == nil {
				spends = append(spends, h.Captures[len(h.Captures)-1].TransactionID)
			}
		case 8:
			if r.IntN(2) == 0 {
				_, err = e.store.VoidHold(e.ctx, e.admin, "", pick(holds))
			} else {
				_, err = e.store.ReleaseHold(e.ctx, e.shop.ID, pick(holds))
			}
		case 9:
			in := gc.NewRefund{TransactionID: pick(spends), Amount: amount / 3, Currency: cur}
			if r.IntN(3) == 0 {
				in.To, in.CustomerID = gc.RefundToCredit, cust()
			}
			_, err = e.store.Refund(e.ctx, e.admin, "", in)
		case 10:
			// Hours pass, sometimes past midnight; then maybe the close runs.
			e.clock.ns.Add(int64(time.Duration(1+r.IntN(14)) * time.Hour))
			expireDue(t, e)
			if r.IntN(2) == 0 {
				closeDue(t, e)
				MustAudit(t, e)
				checkReportAgainstBalances(t, e, curs)
			}
		}
		if gc.ErrorCode(err) == gc.EINTERNAL {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	e.clock.ns.Add(int64(48 * time.Hour))
	expireDue(t, e)
	closeDue(t, e)
	MustAudit(t, e)
	checkReportAgainstBalances(t, e, curs)
}

// checkReportAgainstBalances: the report from the shop's first day to
// today closes, per currency, at the sum of every card's and customer's
// balance now (holds included).
func checkReportAgainstBalances(t *testing.T, e *env, curs []string) {
	t.Helper()
	sums, err := dynamo.LiabilityBalancesForTest(e.ctx, e.store, e.shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	today := e.clock.Now().Format(gc.DayLayout)
	for _, cur := range curs {
		rep, _ := mustLiability(t, e, cur, "2026-10-31", today)
		if got, want := [2]int64{rep.GiftCards.Closing, rep.Credit.Closing}, sums[cur]; got != want {
			t.Fatalf("%s today closes at %v (gift cards, credit), the balances sum to %v", cur, got, want)
		}
	}
}
