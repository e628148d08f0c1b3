package giftcredit_test

import (
	"slices"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

func card(balance int64, status gc.CardStatus) *gc.CardState {
	return &gc.CardState{GiftCard: gc.GiftCard{ID: "gc_1", Last4: "ABCD", Currency: "USD", Balance: balance, Status: status}, Version: 3}
}

func secs(n int64) *int64 { return &n }

// auditPlans feeds a plan's transactions to an auditor with the hold as
// it ends, and fails on any breach of the hold's figures.
func auditPlans(t *testing.T, h gc.HoldState, txs ...gc.Transaction) {
	t.Helper()
	a := gc.NewAuditor("shp_1", at)
	for _, tx := range txs {
		a.AddTransaction(tx)
	}
	a.AddHold(h)
	for _, b := range a.Report().Breaches {
		if b.Kind == "hold" || b.Kind == "unbalanced_transaction" {
			t.Errorf("breach %+v", b)
		}
	}
}

func TestPlanHold(t *testing.T) {
	base := gc.NewHold{Currency: "USD", Amount: 3000, OrderRef: "o-1"}
	withCustomer := func(h gc.NewHold) gc.NewHold { h.CustomerID = "cus_1"; return h }
	withCode := func(h gc.NewHold) gc.NewHold { h.GiftCardCode = "X"; return h }
	cases := []struct {
		name     string
		in       gc.NewHold
		funds    gc.Funds
		code     string
		held     int64
		postings []string
		status   gc.HoldStatus
	}{
		{name: "credit: all of the amount", in: withCustomer(base), funds: gc.Funds{Customer: ptr(customer("cus_1", "USD", 5000))},
			held: 3000, postings: []string{"customer:cus_1 USD -3000", "hold:hld_1 USD 3000"}, status: gc.HoldHeld},
		{name: "credit: up to what is available", in: withCustomer(base), funds: gc.Funds{Customer: ptr(customer("cus_1", "USD", 1200))},
			held: 1200, postings: []string{"customer:cus_1 USD -1200", "hold:hld_1 USD 1200"}, status: gc.HoldHeld},
		{name: "credit: nothing available", in: withCustomer(base), funds: gc.Funds{Customer: ptr(customer("cus_1", "EUR", 1200))},
			code: gc.EINSUFFICIENTFUNDS},
		{name: "credit: unknown customer", in: withCustomer(base), code: gc.ENOTFOUND},
		{name: "card: up to its balance", in: withCode(base), funds: gc.Funds{Card: card(2000, gc.CardActive)},
			held: 2000, postings: []string{"card:gc_1 USD -2000", "hold:hld_1 USD 2000"}, status: gc.HoldHeld},
		{name: "card: wrong code", in: withCode(base), code: gc.ECONFLICT},
		{name: "card: disabled", in: withCode(base), funds: gc.Funds{Card: card(2000, gc.CardDisabled)}, code: gc.ECONFLICT},
		{name: "card: redeemed", in: withCode(base), funds: gc.Funds{Card: card(0, gc.CardRedeemed)}, code: gc.ECONFLICT},
		{name: "card: another currency", in: func() gc.NewHold { h := withCode(base); h.Currency = "EUR"; return h }(),
			funds: gc.Funds{Card: card(2000, gc.CardActive)}, code: gc.EINSUFFICIENTFUNDS},
		{name: "capture at once", in: func() gc.NewHold { h := withCode(base); h.Capture = true; return h }(),
			funds: gc.Funds{Card: card(5000, gc.CardActive)}, held: 3000, status: gc.HoldCaptured,
			postings: []string{"card:gc_1 USD -3000", "hold:hld_1 USD 3000", "hold:hld_1 USD -3000", "sales USD 3000"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := gc.PlanHold(stamp(clerk), c.in, "hld_1", "txn_cap", c.funds)
			if !wantCode(t, err, c.code) {
				return
			}
			var got []string
			for _, tx := range p.Txs {
				balanced(t, tx)
				got = append(got, postings(tx)...)
			}
			if !slices.Equal(got, c.postings) {
				t.Errorf("postings = %q, want %q", got, c.postings)
			}
			if p.Hold.Amount != c.held || p.Hold.Status != c.status || p.Version != 0 || p.NewVersion != int64(len(p.Txs)) {
				t.Errorf("hold = %+v (version %d→%d)", p.Hold, p.Version, p.NewVersion)
			}
			if want := at.Add(7 * 24 * time.Hour); !p.Hold.ExpiresAt.Equal(want) {
				t.Errorf("expiresAt = %v, want %v", p.Hold.ExpiresAt, want)
			}
			f := p.Funds
			if f.Delta != -c.held || f.HeldDelta != c.held-p.Hold.Captured || f.Version != fundsVersion(c.funds) {
				t.Errorf("funds change = %+v", *f)
			}
			auditPlans(t, gc.HoldState{Hold: p.Hold, Version: p.NewVersion}, p.Txs...)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func fundsVersion(f gc.Funds) int64 {
	if f.Customer != nil {
		return f.Customer.Version
	}
	return f.Card.Version
}

func TestNewHoldValidate(t *testing.T) {
	ok := gc.NewHold{Currency: "USD", Amount: 1, OrderRef: "o", CustomerID: "cus_1"}
	cases := []struct {
		name  string
		edit  func(*gc.NewHold)
		field string
	}{
		{"valid", func(*gc.NewHold) {}, ""},
		{"zero amount", func(h *gc.NewHold) { h.Amount = 0 }, "amount"},
		{"no order ref", func(h *gc.NewHold) { h.OrderRef = " " }, "orderRef"},
		{"neither customer nor code", func(h *gc.NewHold) { h.CustomerID = "" }, "customerId"},
		{"both customer and code", func(h *gc.NewHold) { h.GiftCardCode = "X" }, "giftCardCode"},
		{"expiresIn too short", func(h *gc.NewHold) { h.ExpiresIn = secs(59) }, "expiresIn"},
		{"expiresIn too long", func(h *gc.NewHold) { h.ExpiresIn = secs(2592001) }, "expiresIn"},
		{"expiresIn at the bounds", func(h *gc.NewHold) { h.ExpiresIn = secs(60) }, ""},
		{"unknown currency", func(h *gc.NewHold) { h.Currency = "XXQ" }, "currency"},
		{"clientRef with control characters", func(h *gc.NewHold) { h.ClientRef = "a\nb" }, "clientRef"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := ok
			c.edit(&in)
			err := in.Validate()
			var field string
			if e, isErr := err.(*gc.Error); isErr {
				field = e.Field
			} else if err != nil {
				t.Fatalf("error %v is not a domain error", err)
			}
			if field != c.field {
				t.Errorf("Validate() = %v, want field %q", err, c.field)
			}
		})
	}
}

// openHold is a credit hold of 3000 with 1000 captured, at version 2.
func openHold() *gc.HoldState {
	return &gc.HoldState{Hold: gc.Hold{ID: "hld_1", OrderRef: "o-1", Currency: "USD", Amount: 3000, Captured: 1000,
		Source: gc.HoldSource{Type: gc.SourceCredit, CustomerID: "cus_1"}, Status: gc.HoldHeld,
		CreatedAt: at.Add(-time.Hour), ExpiresAt: at.Add(time.Hour),
		Captures: []gc.Capture{{TransactionID: "txn_c1", Amount: 1000}}}, Version: 2}
}

func TestPlanCapture(t *testing.T) {
	funds := func() gc.Funds { return gc.Funds{Customer: ptr(customer("cus_1", "USD", 500))} }
	with := func(edit func(*gc.HoldState)) *gc.HoldState { h := openHold(); edit(h); return h }
	cases := []struct {
		name     string
		hold     *gc.HoldState
		in       gc.HoldCapture
		code     string
		status   gc.HoldStatus
		postings []string
		delta    int64
		held     int64
	}{
		{name: "part of what is held", hold: openHold(), in: gc.HoldCapture{Amount: 500}, status: gc.HoldHeld,
			postings: []string{"hold:hld_1 USD -500", "sales USD 500"}, held: -500},
		{name: "all that is held closes it", hold: openHold(), in: gc.HoldCapture{Amount: 2000}, status: gc.HoldCaptured,
			postings: []string{"hold:hld_1 USD -2000", "sales USD 2000"}, held: -2000},
		{name: "final releases the rest", hold: openHold(), in: gc.HoldCapture{Amount: 500, Final: true}, status: gc.HoldCaptured,
			postings: []string{"hold:hld_1 USD -2000", "sales USD 500", "customer:cus_1 USD 1500"}, delta: 1500, held: -2000},
		{name: "more than is held", hold: openHold(), in: gc.HoldCapture{Amount: 2001}, code: gc.EINSUFFICIENTFUNDS},
		{name: "voided", hold: with(func(h *gc.HoldState) { h.Status = gc.HoldVoided }), in: gc.HoldCapture{Amount: 1}, code: gc.ECONFLICT},
		{name: "captured", hold: with(func(h *gc.HoldState) { h.Status = gc.HoldCaptured }), in: gc.HoldCapture{Amount: 1}, code: gc.ECONFLICT},
		{name: "expired, before the release job ran", hold: with(func(h *gc.HoldState) { h.ExpiresAt = at }), in: gc.HoldCapture{Amount: 1}, code: gc.ECONFLICT},
		{name: "not found", in: gc.HoldCapture{Amount: 1}, code: gc.ENOTFOUND},
		{name: "past the most captures a hold takes", hold: with(func(h *gc.HoldState) {
			for len(h.Captures) < gc.MaxCaptures {
				h.Captures = append(h.Captures, gc.Capture{Amount: 0})
			}
		}), in: gc.HoldCapture{Amount: 1}, code: gc.ECONFLICT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := gc.PlanCapture(stamp(clerk), c.hold, c.in, funds())
			if !wantCode(t, err, c.code) {
				return
			}
			if len(p.Txs) != 1 {
				t.Fatalf("%d transactions", len(p.Txs))
			}
			balanced(t, p.Txs[0])
			if got := postings(p.Txs[0]); !slices.Equal(got, c.postings) {
				t.Errorf("postings = %q, want %q", got, c.postings)
			}
			if p.Hold.Status != c.status || p.Version != 2 || p.NewVersion != 3 || p.Funds.Delta != c.delta || p.Funds.HeldDelta != c.held {
				t.Errorf("plan = %+v, funds %+v", p.Hold, *p.Funds)
			}
			if n := len(p.Hold.Captures); n != 2 || p.Hold.Captures[1].TransactionID != "txn_new" || p.Hold.Captures[1].Amount != c.in.Amount {
				t.Errorf("captures = %+v", p.Hold.Captures)
			}
			if c.hold.Captured != 1000 || len(c.hold.Captures) != 1 {
				t.Errorf("the planner changed the hold it read: %+v", c.hold)
			}
		})
	}
}

func TestPlanVoidAndRelease(t *testing.T) {
	funds := func() gc.Funds { return gc.Funds{Customer: ptr(customer("cus_1", "USD", 500))} }
	with := func(edit func(*gc.HoldState)) *gc.HoldState { h := openHold(); edit(h); return h }
	type planner func(gc.Stamp, *gc.HoldState, gc.Funds) (gc.HoldPlan, error)
	cases := []struct {
		name     string
		plan     planner
		hold     *gc.HoldState
		code     string
		status   gc.HoldStatus
		postings []string
	}{
		{name: "void releases what is not captured", plan: gc.PlanVoid, hold: openHold(), status: gc.HoldVoided,
			postings: []string{"hold:hld_1 USD -2000", "customer:cus_1 USD 2000"}},
		{name: "void again changes nothing", plan: gc.PlanVoid, hold: with(func(h *gc.HoldState) { h.Status = gc.HoldVoided }), status: gc.HoldVoided},
		{name: "void of an expired hold changes nothing", plan: gc.PlanVoid, hold: with(func(h *gc.HoldState) { h.Status = gc.HoldExpired }), status: gc.HoldExpired},
		{name: "void of a captured hold", plan: gc.PlanVoid, hold: with(func(h *gc.HoldState) { h.Status = gc.HoldCaptured }), code: gc.ECONFLICT},
		// Past expiresAt the hold reads as expired (HoldAsOf): a void
		// then is the void of an expired hold, which stays expired, and
		// releases it as the job would.
		{name: "void after expiry, before the job", plan: gc.PlanVoid, hold: with(func(h *gc.HoldState) { h.ExpiresAt = at.Add(-time.Minute) }), status: gc.HoldExpired,
			postings: []string{"hold:hld_1 USD -2000", "customer:cus_1 USD 2000"}},
		{name: "void at the instant of expiry", plan: gc.PlanVoid, hold: with(func(h *gc.HoldState) { h.ExpiresAt = at }), status: gc.HoldExpired,
			postings: []string{"hold:hld_1 USD -2000", "customer:cus_1 USD 2000"}},
		{name: "void just before expiry", plan: gc.PlanVoid, hold: with(func(h *gc.HoldState) { h.ExpiresAt = at.Add(time.Millisecond) }), status: gc.HoldVoided,
			postings: []string{"hold:hld_1 USD -2000", "customer:cus_1 USD 2000"}},
		{name: "release of an expired hold", plan: gc.PlanRelease, hold: with(func(h *gc.HoldState) { h.ExpiresAt = at }), status: gc.HoldExpired,
			postings: []string{"hold:hld_1 USD -2000", "customer:cus_1 USD 2000"}},
		{name: "release before expiry changes nothing", plan: gc.PlanRelease, hold: openHold(), status: gc.HoldHeld},
		{name: "release of a voided hold changes nothing", plan: gc.PlanRelease, hold: with(func(h *gc.HoldState) { h.Status = gc.HoldVoided; h.ExpiresAt = at }), status: gc.HoldVoided},
		{name: "not found", plan: gc.PlanVoid, code: gc.ENOTFOUND},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.plan(stamp(clerk), c.hold, funds())
			if !wantCode(t, err, c.code) {
				return
			}
			var got []string
			for _, tx := range p.Txs {
				balanced(t, tx)
				got = append(got, postings(tx)...)
			}
			if !slices.Equal(got, c.postings) {
				t.Errorf("postings = %q, want %q", got, c.postings)
			}
			if p.Hold.Status != c.status {
				t.Errorf("status = %s, want %s", p.Hold.Status, c.status)
			}
			if len(c.postings) == 0 && (p.Funds != nil || p.NewVersion != p.Version) {
				t.Errorf("a no-op planned a change: %+v", p)
			}
			if len(c.postings) > 0 && (p.Funds.Delta != 2000 || p.Funds.HeldDelta != -2000 || p.Funds.After != 2500 || p.Hold.Released != 2000) {
				t.Errorf("funds change = %+v, hold %+v", *p.Funds, p.Hold)
			}
		})
	}
}

func TestPlanRefund(t *testing.T) {
	capture := &gc.Transaction{ID: "txn_cap", Kind: gc.TxCapture, HoldID: "hld_1", Funds: "card:gc_1",
		Postings: []gc.Posting{{Account: "hold:hld_1", Currency: "USD", Amount: -3000}, {Account: "sales", Currency: "USD", Amount: 3000}}}
	application := &gc.Transaction{ID: "txn_app", Kind: gc.TxCreditApplication, CustomerID: "cus_1",
		Postings: []gc.Posting{{Account: "customer:cus_1", Currency: "USD", Amount: -2000}, {Account: "sales", Currency: "USD", Amount: 2000}}}
	credit := &gc.Transaction{ID: "txn_cr", Kind: gc.TxCredit, CustomerID: "cus_1",
		Postings: []gc.Posting{{Account: "funding:cash", Currency: "USD", Amount: -2000}, {Account: "customer:cus_1", Currency: "USD", Amount: 2000}}}
	cust := func() gc.RefundTarget {
		return gc.RefundTarget{Account: "customer:cus_1", Customer: ptr(customer("cus_1", "USD", 100))}
	}
	toCard := func(status gc.CardStatus) gc.RefundTarget {
		return gc.RefundTarget{Account: "card:gc_1", Card: card(0, status)}
	}
	cases := []struct {
		name     string
		in       gc.NewRefund
		spend    *gc.Transaction
		refunded int64
		reversed bool
		target   gc.RefundTarget
		code     string
		postings []string
		account  string
	}{
		{name: "a capture back to its card", in: gc.NewRefund{Amount: 1000}, spend: capture, target: toCard(gc.CardActive),
			postings: []string{"sales USD -1000", "card:gc_1 USD 1000"}, account: "card:gc_1"},
		{name: "a capture to a customer's credit", in: gc.NewRefund{Amount: 1000, To: "credit", CustomerID: "cus_1"}, spend: capture, target: cust(),
			postings: []string{"sales USD -1000", "customer:cus_1 USD 1000"}, account: "customer:cus_1"},
		{name: "a card spend to credit needs a customer", in: gc.NewRefund{Amount: 1000, To: "credit"}, spend: capture, code: gc.EINVALID},
		{name: "the rest of a partly refunded spend", in: gc.NewRefund{Amount: 1000}, spend: capture, refunded: 2000, target: toCard(gc.CardActive),
			postings: []string{"sales USD -1000", "card:gc_1 USD 1000"}, account: "card:gc_1"},
		{name: "more than is left to refund", in: gc.NewRefund{Amount: 1001}, spend: capture, refunded: 2000, target: toCard(gc.CardActive), code: gc.ECONFLICT},
		{name: "to a card redeemed since", in: gc.NewRefund{Amount: 1000}, spend: capture, target: toCard(gc.CardRedeemed), code: gc.ECONFLICT},
		{name: "a credit application back to credit", in: gc.NewRefund{Amount: 2000}, spend: application, target: cust(),
			postings: []string{"sales USD -2000", "customer:cus_1 USD 2000"}, account: "customer:cus_1"},
		{name: "a credit application to credit, by default its customer", in: gc.NewRefund{Amount: 5, To: "credit"}, spend: application, target: cust(),
			postings: []string{"sales USD -5", "customer:cus_1 USD 5"}, account: "customer:cus_1"},
		{name: "not a spend", in: gc.NewRefund{Amount: 1}, spend: credit, target: cust(), code: gc.ECONFLICT},
		{name: "a reversed credit application", in: gc.NewRefund{Amount: 1}, spend: application, reversed: true, target: cust(), code: gc.ECONFLICT},
		{name: "another currency", in: gc.NewRefund{Amount: 1, Currency: "EUR"}, spend: application, target: cust(), code: gc.EINVALID},
		{name: "no such transaction", in: gc.NewRefund{Amount: 1}, code: gc.ENOTFOUND},
		{name: "the account read is not where the refund goes", in: gc.NewRefund{Amount: 1000}, spend: capture, target: cust(), code: gc.EINTERNAL},
		{name: "nothing read for a refund that needs a customer", in: gc.NewRefund{Amount: 1000, To: "credit", CustomerID: "cus_1"}, spend: capture,
			target: gc.RefundTarget{}, code: gc.EINTERNAL},
		{name: "a customer that does not exist", in: gc.NewRefund{Amount: 1000, To: "credit", CustomerID: "cus_1"}, spend: capture,
			target: gc.RefundTarget{Account: "customer:cus_1"}, code: gc.ENOTFOUND},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.TransactionID = "txn_x"
			if in.Currency == "" {
				in.Currency = "USD"
			}
			if err := in.Validate(); err != nil {
				t.Fatal(err)
			}
			if c.spend != nil {
				sp, _ := gc.SpendOf(*c.spend)
				if acc, err := gc.RefundTargetOf(in, sp); c.code == gc.EINVALID && err != nil {
					wantCode(t, err, c.code)
					return
				} else if err == nil && c.account != "" && acc != c.account {
					t.Errorf("target = %s, want %s", acc, c.account)
				}
			}
			p, err := gc.PlanRefund(stamp(clerk), in, c.spend, c.refunded, 4, c.reversed, c.target)
			if !wantCode(t, err, c.code) {
				return
			}
			balanced(t, p.Tx)
			if got := postings(p.Tx); !slices.Equal(got, c.postings) {
				t.Errorf("postings = %q, want %q", got, c.postings)
			}
			if p.Refunded != c.refunded+in.Amount || p.Tx.RefundOf != c.spend.ID || p.Result.To != in.To {
				t.Errorf("plan = %+v", p)
			}
		})
	}
}

// TestAuditorHolds: the audit proves a hold's figures and the refunds of
// a spend.
func TestAuditorHolds(t *testing.T) {
	cust := customer("cus_1", "USD", 5000)
	p, err := gc.PlanHold(stamp(clerk), gc.NewHold{Currency: "USD", Amount: 3000, OrderRef: "o", CustomerID: "cus_1"}, "hld_1", "", gc.Funds{Customer: &cust})
	if err != nil {
		t.Fatal(err)
	}
	h := gc.HoldState{Hold: p.Hold, Version: p.NewVersion}
	st := stamp(clerk)
	st.TxID = "txn_c"
	c, err := gc.PlanCapture(st, &h, gc.HoldCapture{Amount: 1000}, gc.Funds{})
	if err != nil {
		t.Fatal(err)
	}
	captured := gc.HoldState{Hold: c.Hold, Version: c.NewVersion}
	run := func(h gc.HoldState, held int64, extra ...gc.Transaction) []string {
		a := gc.NewAuditor("shp_1", at)
		for _, tx := range append(append(slices.Clone(p.Txs), c.Txs...), extra...) {
			a.AddTransaction(tx)
		}
		a.AddHold(h)
		a.AddCustomer(gc.CustomerState{Customer: gc.Customer{ID: "cus_1", Balances: []gc.Balance{{Currency: "USD", Amount: 0, Held: held}}}})
		var kinds []string
		for _, b := range a.Report().Breaches {
			if b.Kind != "balance_mismatch" && b.Kind != "balance_after_mismatch" {
				kinds = append(kinds, b.Kind)
			}
		}
		return kinds
	}
	if got := run(captured, 2000); len(got) != 0 {
		t.Errorf("a consistent hold: breaches %v", got)
	}
	if got := run(captured, 1500); !slices.Equal(got, []string{"held_mismatch"}) {
		t.Errorf("a customer's held off by 500: breaches %v", got)
	}
	lying := captured
	lying.Captured = 500
	lying.Captures = []gc.Capture{{Amount: 500}}
	if got := run(lying, 2500); !slices.Contains(got, "hold") {
		t.Errorf("a hold whose captured does not match its transactions: breaches %v", got)
	}
	closed := captured
	closed.Status = gc.HoldVoided
	if got := run(closed, 0); !slices.Contains(got, "hold") {
		t.Errorf("a closed hold that released nothing: breaches %v", got)
	}
	refund := func(id string, amount int64) gc.Transaction {
		return gc.Transaction{ID: id, Kind: gc.TxRefund, RefundOf: "txn_c", Postings: []gc.Posting{
			{Account: "sales", Currency: "USD", Amount: -amount}, {Account: "funding:x", Currency: "USD", Amount: amount}}}
	}
	if got := run(captured, 2000, refund("txn_r1", 600), refund("txn_r2", 400)); len(got) != 0 {
		t.Errorf("refunds within the spend: breaches %v", got)
	}
	if got := run(captured, 2000, refund("txn_r1", 600), refund("txn_r2", 401)); !slices.Equal(got, []string{"over_refund"}) {
		t.Errorf("refunds past the spend: breaches %v", got)
	}
	reversal := gc.Transaction{ID: "txn_rev", Kind: gc.TxReversal, Reverses: "txn_c", Postings: []gc.Posting{
		{Account: "sales", Currency: "USD", Amount: -1}, {Account: "funding:x", Currency: "USD", Amount: 1}}}
	if got := run(captured, 2000, refund("txn_r1", 600), reversal); !slices.Equal(got, []string{"over_refund"}) {
		t.Errorf("a spend refunded and reversed: breaches %v", got)
	}
}
