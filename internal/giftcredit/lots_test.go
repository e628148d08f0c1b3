package giftcredit_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

var lotT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func day(n int) time.Time { return lotT0.Add(time.Duration(n) * 24 * time.Hour) }

// lotCustomer builds a customer whose USD balance is the sum of lots.
func lotCustomer(lots ...gc.LotBalance) gc.CustomerState {
	c := gc.CustomerState{Customer: gc.Customer{ID: "cus_1"}, Version: 3}
	sums := map[string]int64{}
	for i := range lots {
		if lots[i].Currency == "" {
			lots[i].Currency = "USD"
		}
		sums[lots[i].Currency] += lots[i].Remaining
		c.LotSeq = max(c.LotSeq, lots[i].Seq)
	}
	for cur, s := range sums {
		c.Balances = append(c.Balances, gc.Balance{Currency: cur, Amount: s})
	}
	c.Lots = lots
	return c
}

func stampAt(at time.Time) gc.Stamp {
	return gc.Stamp{TxID: "txn_01", Actor: gc.Actor{ShopID: "shp_1", KeyID: "key_1", Role: gc.RoleShop}, At: at}
}

func TestSpendLotsOrder(t *testing.T) {
	never := time.Time{}
	cases := []struct {
		name   string
		lots   []gc.LotBalance
		amount int64
		at     time.Time
		want   []gc.LotMove
		err    string
	}{
		{name: "soonest expiring first, never-expiring last",
			lots:   []gc.LotBalance{{Seq: 1, Remaining: 500}, {Seq: 2, ExpiresAt: day(30), Remaining: 300}, {Seq: 3, ExpiresAt: day(10), Remaining: 200}},
			amount: 600,
			want:   []gc.LotMove{{Seq: 3, ExpiresAt: day(10), Amount: -200}, {Seq: 2, ExpiresAt: day(30), Amount: -300}, {Seq: 1, ExpiresAt: never, Amount: -100}}},
		{name: "oldest first among equal expiries",
			lots:   []gc.LotBalance{{Seq: 4, ExpiresAt: day(5), Remaining: 100}, {Seq: 2, ExpiresAt: day(5), Remaining: 100}, {Seq: 7, Remaining: 100}, {Seq: 3, Remaining: 100}},
			amount: 350,
			want: []gc.LotMove{{Seq: 2, ExpiresAt: day(5), Amount: -100}, {Seq: 4, ExpiresAt: day(5), Amount: -100},
				{Seq: 3, Amount: -100}, {Seq: 7, Amount: -50}}},
		{name: "an expired lot is never spent, even before the job",
			lots:   []gc.LotBalance{{Seq: 1, ExpiresAt: day(1), Remaining: 100}, {Seq: 2, ExpiresAt: day(20), Remaining: 100}},
			at:     day(1), // exactly at expiresAt: expired
			amount: 100,
			want:   []gc.LotMove{{Seq: 2, ExpiresAt: day(20), Amount: -100}}},
		{name: "expired credit does not count as spendable",
			lots:   []gc.LotBalance{{Seq: 1, ExpiresAt: day(1), Remaining: 100}, {Seq: 2, Remaining: 50}},
			at:     day(2),
			amount: 100, err: gc.EINSUFFICIENTFUNDS},
		{name: "other currencies are left alone",
			lots:   []gc.LotBalance{{Seq: 1, Currency: "EUR", ExpiresAt: day(1), Remaining: 100}, {Seq: 2, Remaining: 100}},
			amount: 100,
			want:   []gc.LotMove{{Seq: 2, Amount: -100}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.at
			if at.IsZero() {
				at = lotT0
			}
			cust := lotCustomer(tc.lots...)
			ch, p, moves, err := cust.SpendLots(stampAt(at), "USD", tc.amount)
			if tc.err != "" {
				if gc.ErrorCode(err) != tc.err {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(moves, tc.want) {
				t.Fatalf("moves = %+v, want %+v", moves, tc.want)
			}
			var sum int64
			for _, l := range ch.Lots.Lots {
				sum += l.Remaining
			}
			if sum != ch.After || *p.BalanceAfter != ch.After || ch.Version != 3 {
				t.Fatalf("lots sum %d, after %d, posting %d, version %d", sum, ch.After, *p.BalanceAfter, ch.Version)
			}
		})
	}
}

func TestSpendAcrossManyLotsIsOneChange(t *testing.T) {
	var lots []gc.LotBalance
	for i := int64(1); i <= 3000; i++ {
		lots = append(lots, gc.LotBalance{Seq: i, ExpiresAt: day(int(i%400) + 1), Remaining: 7})
	}
	cust := lotCustomer(lots...)
	ch, _, moves, err := cust.SpendLots(stampAt(lotT0), "USD", 3000*7)
	if err != nil {
		t.Fatal(err)
	}
	if len(moves) != 3000 || len(ch.Lots.Lots) != 0 || ch.After != 0 {
		t.Fatalf("moves %d, lots left %d, after %d", len(moves), len(ch.Lots.Lots), ch.After)
	}
	for i := 1; i < len(moves); i++ {
		a, b := moves[i-1], moves[i]
		if a.ExpiresAt.After(b.ExpiresAt) || (a.ExpiresAt.Equal(b.ExpiresAt) && a.Seq > b.Seq) {
			t.Fatalf("move %d (%v #%d) spent after %v #%d", i, b.ExpiresAt, b.Seq, a.ExpiresAt, a.Seq)
		}
	}
}

func TestRestoreLots(t *testing.T) {
	cases := []struct {
		name      string
		lots      []gc.LotBalance
		takes     []gc.LotMove
		at        time.Time
		wantLots  []gc.LotBalance
		wantMoves int
		newLot    *time.Time
	}{
		{name: "each lot gets its own back, with its own expiry",
			lots:     []gc.LotBalance{{Seq: 1, ExpiresAt: day(10), Remaining: 50}},
			takes:    []gc.LotMove{{Seq: 1, ExpiresAt: day(10), Amount: -50}, {Seq: 2, ExpiresAt: day(40), Amount: -30}},
			at:       day(1),
			wantLots: []gc.LotBalance{{Seq: 1, Currency: "USD", ExpiresAt: day(10), Remaining: 100}, {Seq: 2, Currency: "USD", ExpiresAt: day(40), Remaining: 30}},
		},
		{name: "what came from a lot expired since goes to a new lot for 30 days",
			lots:     []gc.LotBalance{{Seq: 5, Remaining: 10}},
			takes:    []gc.LotMove{{Seq: 1, ExpiresAt: day(2), Amount: -40}, {Seq: 5, Amount: -20}},
			at:       day(3),
			wantLots: []gc.LotBalance{{Seq: 6, Currency: "USD", ExpiresAt: day(33), Remaining: 40}, {Seq: 5, Currency: "USD", Remaining: 30}},
			newLot:   ptrTime(day(33)),
		},
		{name: "a lot no longer listed, within a minute of its expiry, counts as expired",
			lots:     []gc.LotBalance{{Seq: 3, Remaining: 1}},
			takes:    []gc.LotMove{{Seq: 1, ExpiresAt: day(2).Add(30 * time.Second), Amount: -40}},
			at:       day(2),
			wantLots: []gc.LotBalance{{Seq: 4, Currency: "USD", ExpiresAt: day(32), Remaining: 40}, {Seq: 3, Currency: "USD", Remaining: 1}},
			newLot:   ptrTime(day(32)),
		},
		{name: "a lot still listed gets its own back up to its expiry",
			lots:     []gc.LotBalance{{Seq: 1, ExpiresAt: day(2).Add(30 * time.Second), Remaining: 5}},
			takes:    []gc.LotMove{{Seq: 1, ExpiresAt: day(2).Add(30 * time.Second), Amount: -40}},
			at:       day(2),
			wantLots: []gc.LotBalance{{Seq: 1, Currency: "USD", ExpiresAt: day(2).Add(30 * time.Second), Remaining: 45}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cust := lotCustomer(tc.lots...)
			ch, p, _, err := cust.RestoreLots(stampAt(tc.at), "USD", tc.takes)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ch.Lots.Lots, tc.wantLots) {
				t.Fatalf("lots = %+v, want %+v", ch.Lots.Lots, tc.wantLots)
			}
			var back int64
			for _, tk := range tc.takes {
				back -= tk.Amount
			}
			if p.Amount != back {
				t.Fatalf("posting %d, want %d", p.Amount, back)
			}
			switch {
			case tc.newLot == nil && len(ch.Lots.New) != 0:
				t.Fatalf("made %+v, want no new lot", ch.Lots.New)
			case tc.newLot != nil && (len(ch.Lots.New) != 1 || !ch.Lots.New[0].ExpiresAt.Equal(*tc.newLot) || ch.Lots.New[0].Source != gc.LotRefund):
				t.Fatalf("made %+v, want one refund lot expiring %v", ch.Lots.New, *tc.newLot)
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

func TestSliceMoves(t *testing.T) {
	moves := []gc.LotMove{{Seq: 1, Amount: -30}, {Seq: 2, Amount: -50}, {Seq: 3, Amount: -20}}
	cases := []struct {
		name         string
		from, amount int64
		want         []gc.LotMove
	}{
		{"the front", 0, 40, []gc.LotMove{{Seq: 1, Amount: -30}, {Seq: 2, Amount: -10}}},
		{"the middle", 35, 10, []gc.LotMove{{Seq: 2, Amount: -10}}},
		{"the rest", 40, 60, []gc.LotMove{{Seq: 2, Amount: -40}, {Seq: 3, Amount: -20}}},
		{"past the end", 100, 10, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := gc.SliceMoves(moves, tc.from, tc.amount); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPlanExpiry(t *testing.T) {
	lot := gc.Lot{ID: "lot_a", Currency: "USD", Seq: 2, ExpiresAt: ptrTime(day(10))}
	cases := []struct {
		name     string
		lots     []gc.LotBalance
		at       time.Time
		wantTx   bool
		wantDone bool
		left     int64
	}{
		{name: "not yet", lots: []gc.LotBalance{{Seq: 2, ExpiresAt: day(10), Remaining: 40}}, at: day(10).Add(-time.Second)},
		{name: "at expiresAt: the remainder to breakage", lots: []gc.LotBalance{{Seq: 1, Remaining: 5}, {Seq: 2, ExpiresAt: day(10), Remaining: 40}}, at: day(10), wantTx: true, wantDone: true, left: 5},
		{name: "spent: done, nothing posted", lots: []gc.LotBalance{{Seq: 1, Remaining: 5}}, at: day(11), wantDone: true, left: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cust := lotCustomer(tc.lots...)
			ep, err := gc.PlanExpiry(stampAt(tc.at), cust, lot)
			if err != nil {
				t.Fatal(err)
			}
			if (ep.Tx != nil) != tc.wantTx || ep.Done != tc.wantDone {
				t.Fatalf("tx %v done %v, want %v %v", ep.Tx != nil, ep.Done, tc.wantTx, tc.wantDone)
			}
			if ep.Tx == nil {
				return
			}
			if ep.Tx.Kind != gc.TxExpiry || ep.Tx.LotID != "lot_a" || ep.Change.After != tc.left {
				t.Fatalf("tx %+v, after %d", ep.Tx, ep.Change.After)
			}
			want := []gc.Posting{{Account: "customer:cus_1", Currency: "USD", Amount: -40}, {Account: gc.AccountBreakage, Currency: "USD", Amount: 40}}
			for i, p := range ep.Tx.Postings {
				if p.Account != want[i].Account || p.Amount != want[i].Amount {
					t.Fatalf("posting %d = %+v, want %+v", i, p, want[i])
				}
			}
			if err := ep.Tx.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPlanExpiryNotice(t *testing.T) {
	lot := gc.Lot{ID: "lot_a", Currency: "USD", Seq: 1, ExpiresAt: ptrTime(day(10))}
	zero, three := int64(0), int64(3)
	live := lotCustomer(gc.LotBalance{Seq: 1, ExpiresAt: day(10), Remaining: 40})
	spent := lotCustomer(gc.LotBalance{Seq: 2, Remaining: 40})
	cases := []struct {
		name       string
		shop       gc.Shop
		cust       gc.CustomerState
		at         time.Time
		wantNotice bool
		wantDone   bool
	}{
		{name: "default 7 days: too early", cust: live, at: day(2)},
		{name: "default 7 days: due", cust: live, at: day(3), wantNotice: true, wantDone: true},
		{name: "3 days: not yet at 7", shop: gc.Shop{ExpiryNoticeDays: &three}, cust: live, at: day(3)},
		{name: "0: never", shop: gc.Shop{ExpiryNoticeDays: &zero}, cust: live, at: day(9), wantDone: true},
		{name: "nothing left", cust: spent, at: day(9), wantDone: true},
		{name: "already expired", cust: live, at: day(10), wantDone: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, done := gc.PlanExpiryNotice(tc.shop, tc.cust, lot, tc.at)
			if (n != nil) != tc.wantNotice || done != tc.wantDone {
				t.Fatalf("notice %v done %v, want %v %v", n != nil, done, tc.wantNotice, tc.wantDone)
			}
			if n != nil && n.Lot.Remaining != 40 {
				t.Fatalf("notice of %d, want 40", n.Lot.Remaining)
			}
		})
	}
}

func TestPlanCreditExpiresAt(t *testing.T) {
	cust := lotCustomer()
	cases := []struct {
		name string
		exp  *time.Time
		err  bool
	}{
		{"never", nil, false},
		{"in a day", ptrTime(day(1)), false},
		{"now is not the future", ptrTime(lotT0), true},
		{"past", ptrTime(day(-1)), true},
		{"ten years", ptrTime(lotT0.Add(gc.MaxLotLifetime)), false},
		{"past ten years", ptrTime(lotT0.Add(gc.MaxLotLifetime + time.Second)), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := gc.DirectCredit{CustomerID: "cus_1", Amount: 100, Currency: "USD", PaymentType: "other", ExpiresAt: tc.exp}
			tx, ch, err := gc.PlanCredit(stampAt(lotT0), in, cust)
			if tc.err {
				var e *gc.Error
				if !errors.As(err, &e) || e.Field != "expiresAt" {
					t.Fatalf("err = %v, want invalid expiresAt", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.Lots.New) != 1 || ch.Lots.New[0].Source != gc.LotCredit || ch.Lots.New[0].ID != gc.LotID(tx.ID) {
				t.Fatalf("new lots %+v", ch.Lots.New)
			}
			if (ch.Lots.New[0].ExpiresAt == nil) != (tc.exp == nil) {
				t.Fatalf("lot expiry %v, want %v", ch.Lots.New[0].ExpiresAt, tc.exp)
			}
		})
	}
}

func TestReversalTakesBackItsOwnLot(t *testing.T) {
	// The credit made lot 2 (expiring); lot 1 never expires. Reversing
	// the credit takes lot 2, not lot 1, though lot 2 has expired.
	cust := lotCustomer(gc.LotBalance{Seq: 1, Remaining: 100}, gc.LotBalance{Seq: 2, ExpiresAt: day(5), Remaining: 60})
	orig := gc.Transaction{ID: "txn_orig", Kind: gc.TxCredit, CustomerID: "cus_1",
		Postings: []gc.Posting{{Account: "funding:other", Currency: "USD", Amount: -80}, {Account: "customer:cus_1", Currency: "USD", Amount: 80}},
		Lots:     []gc.LotMove{{Seq: 2, ExpiresAt: day(5), Amount: 80}}}
	_, changes, err := gc.PlanReversal(stampAt(day(6)), gc.Reversal{CustomerID: "cus_1", TransactionID: orig.ID, Reason: "r"}, cust, &orig, false, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []gc.LotBalance{{Seq: 1, Currency: "USD", Remaining: 80}}
	if !reflect.DeepEqual(changes[0].Lots.Lots, want) {
		t.Fatalf("lots %+v, want %+v", changes[0].Lots.Lots, want)
	}
}

func TestCheckLots(t *testing.T) {
	c := lotCustomer(gc.LotBalance{Seq: 1, Remaining: 100})
	if got := c.CheckLots(); len(got) != 0 {
		t.Fatalf("clean customer: %v", got)
	}
	c.Balances[0].Amount = 90
	if got := c.CheckLots(); len(got) != 1 {
		t.Fatalf("mismatch: %v", got)
	}
}

func TestViewHidesExpiredCreditAndShowsNextExpiry(t *testing.T) {
	c := lotCustomer(gc.LotBalance{Seq: 1, ExpiresAt: day(1), Remaining: 10}, gc.LotBalance{Seq: 2, ExpiresAt: day(4), Remaining: 20},
		gc.LotBalance{Seq: 3, ExpiresAt: day(4), Remaining: 5}, gc.LotBalance{Seq: 4, Remaining: 100})
	v := c.View(day(2))
	b := v.Balances[0]
	if b.Amount != 125 || b.NextExpiry == nil || b.NextExpiry.Amount != 25 || !b.NextExpiry.ExpiresAt.Equal(day(4)) {
		t.Fatalf("balance %+v next %+v", b, b.NextExpiry)
	}
	if v := lotCustomer(gc.LotBalance{Seq: 1, Remaining: 7}).View(lotT0); v.Balances[0].NextExpiry != nil {
		t.Fatalf("no expiry expected: %+v", v.Balances[0])
	}
}

// applyFunds is the customer as a hold plan's change of its funds leaves it.
func applyFunds(c gc.CustomerState, ch *gc.FundsChange) gc.CustomerState {
	if ch == nil || !ch.Moves() {
		return c
	}
	c.Balances = []gc.Balance{{Currency: ch.Currency, Amount: ch.After}}
	c.Lots, c.LotSeq, c.Version = ch.Lots.Lots, ch.Lots.Seq, ch.Version+1
	return c
}

// A hold on credit takes lots in spending order; a capture takes the
// front of what the hold took, a release gives back the rest to the lots
// it came from; a refund of the capture gives back what it captured, a
// lot expired since by a new 30-day lot.
func TestHoldsSpendAndRestoreLots(t *testing.T) {
	cust := lotCustomer(gc.LotBalance{Seq: 1, ExpiresAt: day(10), Remaining: 50}, gc.LotBalance{Seq: 2, Remaining: 100})
	st := stampAt(lotT0)
	hp, err := gc.PlanHold(st, gc.NewHold{Currency: "USD", Amount: 60, OrderRef: "o", CustomerID: cust.ID}, "hld_1", "", gc.Funds{Customer: &cust})
	if err != nil {
		t.Fatal(err)
	}
	want := []gc.LotMove{{Seq: 1, ExpiresAt: day(10), Amount: -50}, {Seq: 2, Amount: -10}}
	if !reflect.DeepEqual(hp.Hold.Lots, want) || !reflect.DeepEqual(hp.Txs[0].Lots, want) {
		t.Fatalf("hold took %+v, want %+v", hp.Hold.Lots, want)
	}
	cust = applyFunds(cust, hp.Funds)
	if got := cust.Spendable("USD", lotT0); got != 90 {
		t.Fatalf("spendable while held: %d, want 90", got)
	}

	hs := &gc.HoldState{Hold: hp.Hold, Version: hp.NewVersion}
	st.TxID, st.At = "txn_02", day(1)
	cp, err := gc.PlanCapture(st, hs, gc.HoldCapture{HoldID: "hld_1", Amount: 30}, gc.Funds{Customer: &cust})
	if err != nil {
		t.Fatal(err)
	}
	capture := cp.Txs[0]
	if want := []gc.LotMove{{Seq: 1, ExpiresAt: day(10), Amount: -30}}; !reflect.DeepEqual(capture.Spent, want) || len(capture.Lots) != 0 {
		t.Fatalf("capture spent %+v (moved %+v), want %+v", capture.Spent, capture.Lots, want)
	}
	cust = applyFunds(cust, cp.Funds)

	hs = &gc.HoldState{Hold: cp.Hold, Version: cp.NewVersion}
	st.TxID = "txn_03"
	vp, err := gc.PlanVoid(st, hs, gc.Funds{Customer: &cust})
	if err != nil {
		t.Fatal(err)
	}
	cust = applyFunds(cust, vp.Funds)
	wantLots := []gc.LotBalance{{Seq: 1, Currency: "USD", ExpiresAt: day(10), Remaining: 20}, {Seq: 2, Currency: "USD", Remaining: 100}}
	if got := cust.LotsOf("USD"); !reflect.DeepEqual(got, wantLots) {
		t.Fatalf("after the void: %+v, want %+v", got, wantLots)
	}

	// The refund of the capture, after lot 1 expired: a new lot.
	st.TxID, st.At = "txn_04", day(11)
	capture.Funds = gc.CustomerAccount(cust.ID)
	rp, err := gc.PlanRefund(st, gc.NewRefund{TransactionID: capture.ID, Amount: 30, Currency: "USD", To: gc.RefundToSource},
		&capture, 0, 0, false, gc.RefundTarget{Account: gc.CustomerAccount(cust.ID), Customer: &cust})
	if err != nil {
		t.Fatal(err)
	}
	if len(rp.Funds.Lots.New) != 1 || rp.Funds.Lots.New[0].Amount != 30 || !rp.Funds.Lots.New[0].ExpiresAt.Equal(day(41)) {
		t.Fatalf("refund made %+v, want one 30-day lot of 30", rp.Funds.Lots.New)
	}
}

// The audit proves each lot against the transactions that moved it, and
// each transaction's lot moves against its posting to the customer.
func TestAuditorLots(t *testing.T) {
	st := stampAt(lotT0)
	cust := lotCustomer()
	credit, ch, err := gc.PlanCredit(st, gc.DirectCredit{CustomerID: "cus_1", Amount: 80, Currency: "USD", PaymentType: "other", ExpiresAt: ptrTime(day(5))}, cust)
	if err != nil {
		t.Fatal(err)
	}
	after := gc.CustomerState{Customer: gc.Customer{ID: "cus_1", Balances: []gc.Balance{{Currency: "USD", Amount: 80}}}, Version: 1,
		Lots: ch.Lots.Lots, LotSeq: ch.Lots.Seq}
	cases := []struct {
		name string
		edit func(*gc.Transaction, *gc.CustomerState)
		want []string
	}{
		{"consistent", func(*gc.Transaction, *gc.CustomerState) {}, nil},
		{"a lot that holds more than its transactions put there", func(_ *gc.Transaction, c *gc.CustomerState) {
			c.Lots = []gc.LotBalance{{Seq: 1, Currency: "USD", ExpiresAt: day(5), Remaining: 90}}
			c.Balances[0].Amount = 90
		}, []string{"balance_mismatch", "lot_mismatch"}},
		{"lot moves that do not add up to the posting", func(tx *gc.Transaction, _ *gc.CustomerState) {
			tx.Lots = []gc.LotMove{{Seq: 1, ExpiresAt: day(5), Amount: 70}}
		}, []string{"lots_mismatch", "lot_mismatch"}},
		{"lots that do not sum to the balance", func(_ *gc.Transaction, c *gc.CustomerState) {
			c.Lots = nil
		}, []string{"lots_mismatch", "lot_mismatch"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tx, c := credit, after
			tx.Lots = append([]gc.LotMove(nil), credit.Lots...)
			c.Balances = append([]gc.Balance(nil), after.Balances...)
			tc.edit(&tx, &c)
			a := gc.NewAuditor("shp_1", lotT0)
			a.AddTransaction(tx)
			a.AddCustomer(c)
			var kinds []string
			for _, b := range a.Report().Breaches {
				kinds = append(kinds, b.Kind)
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tc.want) {
				t.Fatalf("breaches %v, want %v", kinds, tc.want)
			}
		})
	}
}
