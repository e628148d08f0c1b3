package giftcredit_test

import (
	"reflect"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

func bal(n int64) *int64 { return &n }

// ev is an expected event: its type and data (the transaction id is the
// case's, filled in by the test).
type ev struct {
	t gc.EventType
	d gc.EventData
}

func TestTxEvents(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	p := func(acct string, amount int64, after *int64) gc.Posting {
		return gc.Posting{Account: acct, Currency: "USD", Amount: amount, BalanceAfter: after}
	}
	cases := []struct {
		name string
		tx   gc.Transaction
		want []ev
	}{
		{"an order issues each card and spends the credit it used",
			gc.Transaction{Kind: gc.TxOrder, OrderID: "ord_1", CustomerID: "cus_1", Postings: []gc.Posting{
				p("customer:cus_1", -300, bal(200)), p("funding:cash", -5700, nil), p("sales", 1000, nil),
				p("card:gc_a", 2000, bal(2000)), p("card:gc_b", 3000, bal(3000))}},
			[]ev{
				{gc.EventCreditApplied, gc.EventData{OrderID: "ord_1", CustomerID: "cus_1", Currency: "USD", Amount: 300, BalanceAfter: bal(200)}},
				{gc.EventGiftCardIssued, gc.EventData{OrderID: "ord_1", CardID: "gc_a", Currency: "USD", Amount: 2000, BalanceAfter: bal(2000)}},
				{gc.EventGiftCardIssued, gc.EventData{OrderID: "ord_1", CardID: "gc_b", Currency: "USD", Amount: 3000, BalanceAfter: bal(3000)}},
			}},
		{"an order of goods only, paid in cash, changes no value of ours",
			gc.Transaction{Kind: gc.TxOrder, OrderID: "ord_2", Postings: []gc.Posting{p("funding:cash", -1000, nil), p("sales", 1000, nil)}},
			nil},
		{"a redemption empties the card onto the customer's credit",
			gc.Transaction{Kind: gc.TxRedemption, OrderID: "ord_1", CustomerID: "cus_1", Postings: []gc.Posting{
				p("card:gc_a", -2000, bal(0)), p("customer:cus_1", 2000, bal(2200))}},
			[]ev{
				{gc.EventGiftCardRedeemed, gc.EventData{OrderID: "ord_1", CardID: "gc_a", CustomerID: "cus_1", Currency: "USD", Amount: 2000, BalanceAfter: bal(0)}},
				{gc.EventCreditGranted, gc.EventData{OrderID: "ord_1", CustomerID: "cus_1", CardID: "gc_a", Source: "redemption", Currency: "USD", Amount: 2000, BalanceAfter: bal(2200)}},
			}},
		{"a direct credit",
			gc.Transaction{Kind: gc.TxCredit, CustomerID: "cus_1", Postings: []gc.Posting{p("funding:goodwill", -500, nil), p("customer:cus_1", 500, bal(500))}},
			[]ev{{gc.EventCreditGranted, gc.EventData{CustomerID: "cus_1", Source: "credit", Currency: "USD", Amount: 500, BalanceAfter: bal(500)}}}},
		{"a promotion grant",
			gc.Transaction{Kind: gc.TxPromotionGrant, CustomerID: "cus_1", OrderID: "ord_1", Postings: []gc.Posting{p("promotion_expense", -1000, nil), p("customer:cus_1", 1000, bal(1500))}},
			[]ev{{gc.EventCreditGranted, gc.EventData{CustomerID: "cus_1", OrderID: "ord_1", Source: "promotion", Currency: "USD", Amount: 1000, BalanceAfter: bal(1500)}}}},
		{"a credit application",
			gc.Transaction{Kind: gc.TxCreditApplication, CustomerID: "cus_1", OrderRef: "web-1", Postings: []gc.Posting{p("customer:cus_1", -700, bal(800)), p("sales", 700, nil)}},
			[]ev{{gc.EventCreditApplied, gc.EventData{CustomerID: "cus_1", OrderRef: "web-1", Currency: "USD", Amount: 700, BalanceAfter: bal(800)}}}},
		{"reversing a credit takes it back (a negative amount)",
			gc.Transaction{Kind: gc.TxReversal, CustomerID: "cus_1", Reverses: "txn_c", Postings: []gc.Posting{p("funding:goodwill", 500, nil), p("customer:cus_1", -500, bal(0))}},
			[]ev{{gc.EventCreditReversed, gc.EventData{CustomerID: "cus_1", Reverses: "txn_c", Currency: "USD", Amount: -500, BalanceAfter: bal(0)}}}},
		{"reversing an application gives it back (a positive amount)",
			gc.Transaction{Kind: gc.TxReversal, CustomerID: "cus_1", Reverses: "txn_a", OrderRef: "web-1", Postings: []gc.Posting{p("customer:cus_1", 700, bal(1500)), p("sales", -700, nil)}},
			[]ev{{gc.EventCreditReversed, gc.EventData{CustomerID: "cus_1", Reverses: "txn_a", OrderRef: "web-1", Currency: "USD", Amount: 700, BalanceAfter: bal(1500)}}}},
		{"an expiry",
			gc.Transaction{Kind: gc.TxExpiry, CustomerID: "cus_1", LotID: "lot_c", Postings: []gc.Posting{p("customer:cus_1", -250, bal(50)), p("breakage", 250, nil)}},
			[]ev{{gc.EventCreditExpired, gc.EventData{CustomerID: "cus_1", LotID: "lot_c", Currency: "USD", Amount: 250, BalanceAfter: bal(50)}}}},
		{"a hold on credit",
			gc.Transaction{Kind: gc.TxHold, CustomerID: "cus_1", HoldID: "hld_1", OrderRef: "web-2", Funds: "customer:cus_1", Postings: []gc.Posting{p("customer:cus_1", -900, bal(100)), p("hold:hld_1", 900, bal(900))}},
			[]ev{{gc.EventHoldCreated, gc.EventData{CustomerID: "cus_1", HoldID: "hld_1", OrderRef: "web-2", Currency: "USD", Amount: 900, BalanceAfter: bal(100), HeldAfter: bal(900)}}}},
		{"a hold on a card",
			gc.Transaction{Kind: gc.TxHold, HoldID: "hld_2", Funds: "card:gc_a", Postings: []gc.Posting{p("card:gc_a", -400, bal(1600)), p("hold:hld_2", 400, bal(400))}},
			[]ev{{gc.EventHoldCreated, gc.EventData{CardID: "gc_a", HoldID: "hld_2", Currency: "USD", Amount: 400, BalanceAfter: bal(1600), HeldAfter: bal(400)}}}},
		{"a partial capture",
			gc.Transaction{Kind: gc.TxCapture, HoldID: "hld_1", Funds: "customer:cus_1", CustomerID: "cus_1", Postings: []gc.Posting{p("hold:hld_1", -300, bal(600)), p("sales", 300, nil)}},
			[]ev{{gc.EventHoldCaptured, gc.EventData{CustomerID: "cus_1", HoldID: "hld_1", Currency: "USD", Amount: 300, HeldAfter: bal(600)}}}},
		{"a final capture releases the rest",
			gc.Transaction{Kind: gc.TxCapture, HoldID: "hld_1", Funds: "customer:cus_1", CustomerID: "cus_1", Postings: []gc.Posting{
				p("hold:hld_1", -600, bal(0)), p("sales", 200, nil), p("customer:cus_1", 400, bal(500))}},
			[]ev{
				{gc.EventHoldCaptured, gc.EventData{CustomerID: "cus_1", HoldID: "hld_1", Currency: "USD", Amount: 200, HeldAfter: bal(400)}},
				{gc.EventHoldReleased, gc.EventData{CustomerID: "cus_1", HoldID: "hld_1", Currency: "USD", Amount: 400, BalanceAfter: bal(500), HeldAfter: bal(0)}},
			}},
		{"a release (void or expiry)",
			gc.Transaction{Kind: gc.TxRelease, HoldID: "hld_2", Funds: "card:gc_a", Postings: []gc.Posting{p("hold:hld_2", -400, bal(0)), p("card:gc_a", 400, bal(2000))}},
			[]ev{{gc.EventHoldReleased, gc.EventData{CardID: "gc_a", HoldID: "hld_2", Currency: "USD", Amount: 400, BalanceAfter: bal(2000), HeldAfter: bal(0)}}}},
		{"a refund to a card",
			gc.Transaction{Kind: gc.TxRefund, RefundOf: "txn_cap", Postings: []gc.Posting{p("sales", -150, nil), p("card:gc_a", 150, bal(2150))}},
			[]ev{{gc.EventRefundCreated, gc.EventData{CardID: "gc_a", RefundOf: "txn_cap", Currency: "USD", Amount: 150, BalanceAfter: bal(2150)}}}},
		{"a refund to credit",
			gc.Transaction{Kind: gc.TxRefund, RefundOf: "txn_app", CustomerID: "cus_1", OrderRef: "web-1", Postings: []gc.Posting{p("sales", -150, nil), p("customer:cus_1", 150, bal(650))}},
			[]ev{{gc.EventRefundCreated, gc.EventData{CustomerID: "cus_1", RefundOf: "txn_app", OrderRef: "web-1", Currency: "USD", Amount: 150, BalanceAfter: bal(650)}}}},
	}
	kinds := map[gc.TxKind]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.tx.ID, c.tx.CreatedAt = "txn_x", at
			got := gc.TxEvents("shp_1", c.tx)
			if len(got) != len(c.want) {
				t.Fatalf("%d events %+v, want %d", len(got), got, len(c.want))
			}
			for i, w := range c.want {
				w.d.TransactionID = "txn_x"
				g := got[i]
				if g.Type != w.t || !reflect.DeepEqual(g.Data, w.d) {
					t.Errorf("event %d = %s %+v, want %s %+v", i, g.Type, g.Data, w.t, w.d)
				}
				if g.ShopID != "shp_1" || !g.CreatedAt.Equal(at) {
					t.Errorf("event %d envelope = %+v", i, g)
				}
			}
			// The same transaction yields the same events, ids included.
			if again := gc.TxEvents("shp_1", c.tx); !reflect.DeepEqual(again, got) {
				t.Errorf("a second derivation differs: %+v", again)
			}
			ids := map[string]bool{}
			for _, e := range got {
				if ids[e.ID] || e.ID == "" {
					t.Errorf("event id %q repeats or is empty", e.ID)
				}
				ids[e.ID] = true
			}
		})
		if len(c.want) > 0 {
			kinds[c.tx.Kind] = true
		}
	}
	// Every kind of transaction has its events: a new kind needs a case
	// here (and its events in TxEvents).
	for _, k := range []gc.TxKind{gc.TxOrder, gc.TxRedemption, gc.TxCredit, gc.TxCreditApplication, gc.TxReversal,
		gc.TxPromotionGrant, gc.TxHold, gc.TxCapture, gc.TxRelease, gc.TxRefund, gc.TxExpiry} {
		if !kinds[k] {
			t.Errorf("no case yields events for a %s transaction", k)
		}
	}
}

func TestEventIDsDifferAcrossChanges(t *testing.T) {
	t.Parallel()
	tx := gc.Transaction{ID: "txn_1", Kind: gc.TxCredit, Postings: []gc.Posting{{Account: "customer:cus_1", Currency: "USD", Amount: 1, BalanceAfter: bal(1)}}}
	other := tx
	other.ID = "txn_2"
	a, b := gc.TxEvents("shp_1", tx), gc.TxEvents("shp_1", other)
	if a[0].ID == b[0].ID {
		t.Errorf("two transactions gave one event id %s", a[0].ID)
	}
	card := gc.GiftCard{ID: "gc_a", Last4: "ABCD", Currency: "USD", Balance: 700, OrderID: "ord_1"}
	d := gc.CardDisabledEvent("shp_1", card, time.Now())
	if d.Type != gc.EventGiftCardDisabled || d.Data.CardID != "gc_a" || *d.Data.BalanceAfter != 700 || d.ID == a[0].ID {
		t.Errorf("disabled event = %+v", d)
	}
	if d2 := gc.CardDisabledEvent("shp_1", card, time.Now().Add(time.Hour)); d2.ID != d.ID {
		t.Errorf("the same card's disabling gave two ids")
	}
}
