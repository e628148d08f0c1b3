package dynamo_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// TestInvariantsHoldOverRandomOperations runs random sequences of every
// operation, including ones that must be rejected, and after every step
// proves the invariants (audit: every transaction balances, every balance
// equals the sum of its postings and of its lots, none is negative) and
// that a rejected operation changed nothing. Expiring credit and runs of
// the expiry job are among the operations: after a run no lot that has
// expired has anything left.
func TestInvariantsHoldOverRandomOperations(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			runRandomOperations(t, seed, 60)
		})
	}
}

func runRandomOperations(t *testing.T, seed uint64, steps int) {
	e := newEnv(t)
	r := rand.New(rand.NewPCG(seed, seed*7919))
	var custs []gc.Customer
	var cards []gc.OrderCard
	var txs []gc.Transaction
	var holds []string
	var spends []string // captures and credit applications, to refund
	pickHold := func() string {
		if len(holds) == 0 || r.IntN(10) == 0 {
			return "hld_00000000000000000000000000" // unknown
		}
		return holds[r.IntN(len(holds))]
	}
	addCaptures := func(h gc.Hold) {
		for _, c := range h.Captures {
			spends = append(spends, c.TransactionID)
		}
	}
	pickCust := func() string {
		if len(custs) == 0 || r.IntN(10) == 0 {
			return "cus_00000000000000000000000000" // unknown
		}
		return custs[r.IntN(len(custs))].ID
	}
	amount := func() int64 {
		if r.IntN(8) == 0 {
			return []int64{0, -5, 1 << 62}[r.IntN(3)] // invalid
		}
		return int64(1 + r.IntN(5000))
	}
	for step := 0; step < steps; step++ {
		before := e.snapshot(t)
		var err error
		var name string
		switch r.IntN(15) {
		case 0:
			name = "create customer"
			var c gc.Customer
			c, err = e.store.CreateCustomer(e.ctx, e.admin, "", gc.NewCustomer{Email: fmt.Sprintf("p%d@example.com", r.IntN(6)), Name: "P"})
			if err == nil {
				custs = append(custs, c)
			}
		case 1:
			name = "credit"
			var tx gc.Transaction
			tx, err = e.store.Credit(e.ctx, e.admin, "", gc.DirectCredit{CustomerID: pickCust(), Amount: amount(), Currency: "USD", PaymentType: "promo"})
			if err == nil {
				txs = append(txs, tx)
			}
		case 2:
			name = "place order"
			in := gc.NewOrder{BillingName: "B", BillingEmail: "b@example.com", PaymentMethod: "cash", Currency: "USD"}
			if r.IntN(2) == 0 {
				in.GiftCards = []gc.NewGiftCard{{Amount: amount()}}
			}
			if r.IntN(2) == 0 {
				in.Goods = []gc.OrderLine{{Description: "g", UnitPrice: amount(), Quantity: int64(1 + r.IntN(3))}}
			}
			if r.IntN(2) == 0 {
				in.CustomerID = pickCust()
			}
			var o gc.PlacedOrder
			o, err = e.store.PlaceOrder(e.ctx, e.admin, "", in)
			if err == nil {
				cards = append(cards, o.Order.GiftCards...)
			}
		case 3:
			name = "redeem"
			if len(cards) == 0 {
				continue
			}
			_, err = e.store.Redeem(e.ctx, e.admin, "", pickCust(), cards[r.IntN(len(cards))].Code, "")
		case 4:
			name = "disable"
			if len(cards) == 0 {
				continue
			}
			_, err = e.store.DisableCard(e.ctx, e.admin, "", cards[r.IntN(len(cards))].ID)
		case 5:
			name = "apply credit"
			var a gc.AppliedCredit
			a, err = e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: pickCust(), OrderRef: fmt.Sprint("ref-", r.IntN(10)), AmountDue: amount(), Currency: "USD"})
			if err == nil && a.Applied < 0 {
				t.Fatalf("negative application %+v", a)
			}
			if err == nil && a.TransactionID != "" {
				spends = append(spends, a.TransactionID)
			}
		case 6:
			name = "reverse"
			if len(txs) == 0 {
				continue
			}
			tx := txs[r.IntN(len(txs))]
			_, err = e.store.Reverse(e.ctx, e.admin, "", gc.Reversal{CustomerID: tx.CustomerID, TransactionID: tx.ID, Reason: "random"})
		case 7:
			name = "replay"
			in := gc.DirectCredit{CustomerID: pickCust(), Amount: amount(), Currency: "USD", PaymentType: "cash"}
			key := fmt.Sprint("k-", r.IntN(3))
			_, err = e.store.Credit(e.ctx, e.admin, key, in)
		case 8:
			name = "hold"
			in := gc.NewHold{Currency: "USD", Amount: amount(), OrderRef: "o", Capture: r.IntN(4) == 0}
			if len(cards) > 0 && r.IntN(2) == 0 {
				in.GiftCardCode = cards[r.IntN(len(cards))].Code
			} else {
				in.CustomerID = pickCust()
			}
			if r.IntN(3) == 0 {
				sixty := int64(60)
				in.ExpiresIn = &sixty
			}
			var h gc.Hold
			h, err = e.store.CreateHold(e.ctx, e.admin, "", in)
			if err == nil {
				holds = append(holds, h.ID)
				addCaptures(h)
			}
		case 9:
			name = "capture"
			var h gc.Hold
			h, err = e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: pickHold(), Amount: amount() / 3, Final: r.IntN(3) == 0})
			if err == nil {
				spends = append(spends, h.Captures[len(h.Captures)-1].TransactionID)
			}
		case 10:
			name = "void"
			_, err = e.store.VoidHold(e.ctx, e.admin, "", pickHold())
		case 11:
			name = "refund"
			if len(spends) == 0 {
				continue
			}
			in := gc.NewRefund{TransactionID: spends[r.IntN(len(spends))], Amount: amount() / 2, Currency: "USD"}
			if r.IntN(3) == 0 {
				in.To, in.CustomerID = gc.RefundToCredit, pickCust()
			}
			_, err = e.store.Refund(e.ctx, e.admin, "", in)
		case 12:
			name = "expire and release"
			e.clock.ns.Add(int64(30 * time.Second))
			_, err = e.store.ReleaseHold(e.ctx, e.shop.ID, pickHold())
		case 13:
			name = "expiring credit"
			exp := e.now().Add(time.Duration(1+r.IntN(120)) * time.Minute)
			if r.IntN(8) == 0 {
				exp = e.now().Add(-time.Minute) // invalid: in the past
			}
			var tx gc.Transaction
			tx, err = e.store.Credit(e.ctx, e.admin, "", gc.DirectCredit{CustomerID: pickCust(), Amount: amount(), Currency: "USD", PaymentType: "promo", ExpiresAt: &exp})
			if err == nil {
				txs = append(txs, tx)
			}
		case 14:
			name = "expiry job"
			e.clock.ns.Add(int64(time.Duration(r.IntN(40)) * time.Minute))
			now := e.now()
			refs, lerr := e.store.ExpiredLots(e.ctx, e.shop.ID, now, 0)
			if lerr != nil {
				t.Fatal(lerr)
			}
			for _, ref := range refs {
				if _, err = e.store.ExpireLot(e.ctx, e.shop.ID, ref); err != nil {
					t.Fatalf("step %d: expire lot: %v", step, err)
				}
			}
			// Nothing expired is left on any lot.
			for _, c := range custs {
				for _, l := range mustLots(t, e, c.ID) {
					if l.ExpiresAt != nil && !now.Before(*l.ExpiresAt) {
						t.Fatalf("step %d: lot %s expired at %v still has %d after the job at %v", step, l.ID, *l.ExpiresAt, l.Remaining, now)
					}
				}
			}
		}
		if err != nil {
			if code := gc.ErrorCode(err); code == gc.EINTERNAL {
				t.Fatalf("step %d %s: internal error %v", step, name, err)
			}
			if after := e.snapshot(t); after != before {
				t.Fatalf("step %d %s: rejected (%v) but the table changed", step, name, err)
			}
		}
		MustAudit(t, e)
	}
}
