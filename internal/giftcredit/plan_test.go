package giftcredit_test

import (
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

var (
	at    = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	admin = gc.Actor{ShopID: "shp_1", KeyID: "key_admin", Role: gc.RoleAdmin}
	clerk = gc.Actor{ShopID: "shp_1", KeyID: "key_shop", Role: gc.RoleShop}
)

func stamp(a gc.Actor) gc.Stamp {
	return gc.Stamp{TxID: "txn_new", Actor: a, IdempotencyKey: "k", At: at}
}

// customer is a customer with the given balances (currency, amount pairs)
// at version 7.
func customer(id string, balances ...any) gc.CustomerState {
	c := gc.CustomerState{Customer: gc.Customer{ID: id}, Version: 7}
	for i := 0; i+1 < len(balances); i += 2 {
		c.Balances = append(c.Balances, gc.Balance{Currency: balances[i].(string), Amount: int64(balances[i+1].(int))})
	}
	return c
}

// postings renders a transaction's postings as "account currency amount".
func postings(tx gc.Transaction) []string {
	var out []string
	for _, p := range tx.Postings {
		out = append(out, p.Account+" "+p.Currency+" "+itoa(p.Amount))
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// wantCode fails unless err carries code ("" for success).
func wantCode(t *testing.T, err error, code string) bool {
	t.Helper()
	if got := gc.ErrorCode(err); got != code {
		t.Fatalf("error %v (code %q), want code %q", err, got, code)
	}
	return code == ""
}

// balanced checks the double-entry rule and the planned balance after.
func balanced(t *testing.T, tx gc.Transaction) {
	t.Helper()
	if err := tx.Validate(); err != nil {
		t.Fatalf("the planned transaction is invalid: %v", err)
	}
}

func TestPlanCredit(t *testing.T) {
	cases := []struct {
		name   string
		cust   gc.CustomerState
		in     gc.DirectCredit
		code   string
		want   []string
		after  int64
		expect int64
	}{
		{name: "credits against the payment type's funding account", cust: customer("cus_a", "USD", 100),
			in:   gc.DirectCredit{Amount: 2500, Currency: "USD", PaymentType: "goodwill", Reference: "r"},
			want: []string{"funding:goodwill USD -2500", "customer:cus_a USD 2500"}, after: 2600, expect: 7},
		{name: "another currency starts from zero", cust: customer("cus_a", "USD", 100),
			in:   gc.DirectCredit{Amount: 500, Currency: "JPY", PaymentType: "cash"},
			want: []string{"funding:cash JPY -500", "customer:cus_a JPY 500"}, after: 500, expect: 7},
		{name: "a balance past int64 is refused", cust: customer("cus_a", "USD", math.MaxInt64-1),
			in: gc.DirectCredit{Amount: 2, Currency: "USD", PaymentType: "cash"}, code: gc.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx, ch, err := gc.PlanCredit(stamp(admin), c.in, c.cust)
			if !wantCode(t, err, c.code) {
				return
			}
			balanced(t, tx)
			if got := postings(tx); !slices.Equal(got, c.want) {
				t.Errorf("postings %v, want %v", got, c.want)
			}
			if ch.After != c.after || ch.Version != c.expect || ch.CustomerID != c.cust.ID || ch.Currency != c.in.Currency {
				t.Errorf("change %+v, want balance %d at version %d", ch, c.after, c.expect)
			}
			if tx.Kind != gc.TxCredit || tx.ID != "txn_new" || tx.Reference != c.in.Reference || !tx.CreatedAt.Equal(at) {
				t.Errorf("transaction %+v", tx)
			}
		})
	}
}

func TestPlanCreditApplication(t *testing.T) {
	cases := []struct {
		name            string
		cust            gc.CustomerState
		due             int64
		applied         bool
		code            string
		wantApplied     int64
		wantDue, wantBa int64
	}{
		{name: "credit covers part of the amount due", cust: customer("cus_a", "USD", 1500), due: 4200, wantApplied: 1500, wantDue: 2700},
		{name: "credit covers all of it", cust: customer("cus_a", "USD", 5000), due: 4200, wantApplied: 4200, wantBa: 800},
		{name: "no credit: recorded, nothing applied", cust: customer("cus_a"), due: 4200, wantDue: 4200},
		{name: "credit in another currency does not pay", cust: customer("cus_a", "EUR", 9000), due: 100, wantDue: 100},
		{name: "once per order ref", cust: customer("cus_a", "USD", 5000), due: 100, applied: true, code: gc.ECONFLICT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := gc.CreditApplication{CustomerID: c.cust.ID, OrderRef: "web-1", AmountDue: c.due, Currency: "USD"}
			p, err := gc.PlanCreditApplication(stamp(clerk), in, c.cust, c.applied)
			if !wantCode(t, err, c.code) {
				return
			}
			if p.Result.Applied != c.wantApplied || p.Result.AmountDue != c.wantDue || p.Result.Balance != c.wantBa {
				t.Errorf("result %+v, want applied %d, due %d, balance %d", p.Result, c.wantApplied, c.wantDue, c.wantBa)
			}
			if (p.Tx != nil) != (c.wantApplied > 0) || (p.Change != nil) != (c.wantApplied > 0) {
				t.Fatalf("a transaction must exist exactly when credit was applied: %+v", p)
			}
			if p.Tx != nil {
				balanced(t, *p.Tx)
				want := []string{"customer:cus_a USD -" + itoa(c.wantApplied), "sales USD " + itoa(c.wantApplied)}
				if got := postings(*p.Tx); !slices.Equal(got, want) {
					t.Errorf("postings %v, want %v", got, want)
				}
				if p.Result.TransactionID != p.Tx.ID || p.Tx.OrderRef != "web-1" {
					t.Errorf("result %+v does not name its transaction %s", p.Result, p.Tx.ID)
				}
			}
		})
	}
}

func TestPlanReversal(t *testing.T) {
	credit := gc.Transaction{ID: "txn_c", Kind: gc.TxCredit, CustomerID: "cus_a", Postings: []gc.Posting{
		{Account: "funding:cash", Currency: "USD", Amount: -500}, {Account: "customer:cus_a", Currency: "USD", Amount: 500}}}
	spend := gc.Transaction{ID: "txn_s", Kind: gc.TxCreditApplication, CustomerID: "cus_a", OrderRef: "web-9", Postings: []gc.Posting{
		{Account: "customer:cus_a", Currency: "USD", Amount: -300}, {Account: "sales", Currency: "USD", Amount: 300}}}
	order := gc.Transaction{ID: "txn_o", Kind: gc.TxOrder, CustomerID: "cus_a"}
	redemption := gc.Transaction{ID: "txn_r", Kind: gc.TxRedemption, CustomerID: "cus_a"}
	grant := gc.Transaction{ID: "txn_g", Kind: gc.TxPromotionGrant, CustomerID: "cus_a", Postings: []gc.Posting{
		{Account: "promotion_expense", Currency: "USD", Amount: -1000}, {Account: "customer:cus_a", Currency: "USD", Amount: 1000}}}
	cases := []struct {
		name     string
		cust     gc.CustomerState
		orig     *gc.Transaction
		reversed bool
		refunded bool
		code     string
		want     []string
	}{
		{name: "a credit is taken back", cust: customer("cus_a", "USD", 500), orig: &credit,
			want: []string{"funding:cash USD 500", "customer:cus_a USD -500"}},
		{name: "a spend gives the credit back, keeping the order ref", cust: customer("cus_a"), orig: &spend,
			want: []string{"customer:cus_a USD 300", "sales USD -300"}},
		{name: "a promotion grant is taken back", cust: customer("cus_a", "USD", 1000), orig: &grant,
			want: []string{"promotion_expense USD 1000", "customer:cus_a USD -1000"}},
		{name: "credit already spent cannot be taken back", cust: customer("cus_a", "USD", 100), orig: &credit, code: gc.EINSUFFICIENTFUNDS},
		{name: "missing transaction", cust: customer("cus_a"), code: gc.ENOTFOUND},
		{name: "another customer's transaction is not found", cust: customer("cus_b", "USD", 500), orig: &credit, code: gc.ENOTFOUND},
		{name: "an order is not reversible", cust: customer("cus_a"), orig: &order, code: gc.ECONFLICT},
		{name: "a redemption is not reversible", cust: customer("cus_a"), orig: &redemption, code: gc.ECONFLICT},
		{name: "only once", cust: customer("cus_a", "USD", 500), orig: &credit, reversed: true, code: gc.ECONFLICT},
		{name: "a refunded spend is not reversed as well", cust: customer("cus_a"), orig: &spend, refunded: true, code: gc.ECONFLICT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx, changes, err := gc.PlanReversal(stamp(admin), gc.Reversal{Reason: "mistake"}, c.cust, c.orig, c.reversed, c.refunded)
			if !wantCode(t, err, c.code) {
				return
			}
			balanced(t, tx)
			if got := postings(tx); !slices.Equal(got, c.want) {
				t.Errorf("postings %v, want %v", got, c.want)
			}
			if len(changes) != 1 || tx.Reverses != c.orig.ID || tx.OrderRef != c.orig.OrderRef || tx.Reference != "mistake" {
				t.Errorf("reversal %+v, changes %+v", tx, changes)
			}
		})
	}
}

func TestPlanRedemption(t *testing.T) {
	card := func(status gc.CardStatus, balance int64) *gc.CardState {
		return &gc.CardState{GiftCard: gc.GiftCard{ID: "gc_1", Last4: "WXYZ", Currency: "BHD", Balance: balance, Status: status, OrderID: "ord_1"}, Version: 1}
	}
	cases := []struct {
		name string
		card *gc.CardState
		code string
	}{
		{name: "an active card moves its whole balance to the customer", card: card(gc.CardActive, 12345)},
		{name: "a wrong code", code: gc.ECONFLICT},
		{name: "a redeemed card", card: card(gc.CardRedeemed, 0), code: gc.ECONFLICT},
		{name: "a disabled card", card: card(gc.CardDisabled, 5000), code: gc.ECONFLICT},
		{name: "an empty card", card: card(gc.CardActive, 0), code: gc.ECONFLICT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := gc.PlanRedemption(stamp(clerk), customer("cus_a", "BHD", 5), c.card)
			if c.code != "" && err != gc.ErrCardUnavailable {
				t.Fatalf("error %v, want the one answer for any unusable code", err)
			}
			if !wantCode(t, err, c.code) {
				return
			}
			balanced(t, p.Tx)
			want := []string{"card:gc_1 BHD -12345", "customer:cus_a BHD 12345"}
			if got := postings(p.Tx); !slices.Equal(got, want) {
				t.Errorf("postings %v, want %v", got, want)
			}
			if p.Card != (gc.CardChange{CardID: "gc_1", Status: gc.CardRedeemed, Balance: 0, Version: 1}) {
				t.Errorf("card change %+v", p.Card)
			}
			if p.Result.Amount != 12345 || p.Result.Balance != 12350 || p.Change.After != 12350 || p.Tx.OrderID != "ord_1" {
				t.Errorf("result %+v, change %+v", p.Result, p.Change)
			}
		})
	}
}

func TestPlanDisable(t *testing.T) {
	cases := []struct {
		name       string
		card       *gc.CardState
		code       string
		wantChange bool
	}{
		{name: "an active card is disabled, its balance kept", card: &gc.CardState{GiftCard: gc.GiftCard{ID: "gc_1", Balance: 700, Status: gc.CardActive}, Version: 3}, wantChange: true},
		{name: "a disabled card stays so, nothing written", card: &gc.CardState{GiftCard: gc.GiftCard{ID: "gc_1", Status: gc.CardDisabled}}},
		{name: "a redeemed card cannot be disabled", card: &gc.CardState{GiftCard: gc.GiftCard{ID: "gc_1", Status: gc.CardRedeemed}}, code: gc.ECONFLICT},
		{name: "no such card", code: gc.ENOTFOUND},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, ch, err := gc.PlanDisable(c.card)
			if !wantCode(t, err, c.code) {
				return
			}
			if out.Status != gc.CardDisabled || (ch != nil) != c.wantChange {
				t.Fatalf("card %+v, change %+v", out, ch)
			}
			if ch != nil && (ch.Balance != 700 || ch.Version != 3 || ch.Status != gc.CardDisabled) {
				t.Errorf("change %+v, want the balance kept at the version read", ch)
			}
		})
	}
}

func TestPlanOrder(t *testing.T) {
	no := false
	codes := func(n int) []gc.IssuedCode {
		var out []gc.IssuedCode
		for i := range n {
			id := "gc_" + string(rune('a'+i))
			out = append(out, gc.IssuedCode{CardID: id, Display: "CODE-" + id, Last4: "000" + string(rune('0'+i))})
		}
		return out
	}
	shop := gc.Shop{ID: "shp_1"}
	withVoucher := gc.Shop{ID: "shp_1", ShopTenders: []string{"voucher"}}
	buyer := customer("cus_a", "USD", 2500)
	base := gc.NewOrder{BillingName: "B", BillingEmail: "b@shop.test", PaymentMethod: "cash", Currency: "USD"}
	order := func(f func(*gc.NewOrder)) gc.NewOrder { o := base; f(&o); return o }
	cards := func(amounts ...int64) []gc.NewGiftCard {
		var out []gc.NewGiftCard
		for _, a := range amounts {
			out = append(out, gc.NewGiftCard{Amount: a})
		}
		return out
	}
	goods := func(price, qty int64) []gc.OrderLine {
		return []gc.OrderLine{{Description: "mug", UnitPrice: price, Quantity: qty}}
	}
	cases := []struct {
		name       string
		actor      gc.Actor
		shop       gc.Shop
		cust       *gc.CustomerState
		in         gc.NewOrder
		code       string
		want       []string
		wantCredit int64
		wantDue    int64
	}{
		{name: "a guest buys a gift card for cash", actor: admin, shop: shop, in: order(func(o *gc.NewOrder) { o.GiftCards = cards(5000) }),
			want: []string{"funding:cash USD -5000", "card:gc_a USD 5000"}, wantDue: 5000},
		{name: "credit pays for goods", actor: clerk, shop: shop, cust: &buyer,
			in: order(func(o *gc.NewOrder) {
				o.CustomerID, o.PaymentMethod, o.Goods = "cus_a", "card", goods(1800, 2)
			}),
			want: []string{"customer:cus_a USD -2500", "funding:card USD -1100", "sales USD 3600"}, wantCredit: 2500, wantDue: 1100},
		{name: "credit never pays for gift cards", actor: clerk, shop: shop, cust: &buyer,
			in: order(func(o *gc.NewOrder) {
				o.CustomerID, o.PaymentMethod, o.GiftCards, o.Goods = "cus_a", "card", cards(5000), goods(1000, 1)
			}),
			want: []string{"customer:cus_a USD -1000", "funding:card USD -5000", "sales USD 1000", "card:gc_a USD 5000"}, wantCredit: 1000, wantDue: 5000},
		{name: "applyCredit false keeps the credit", actor: clerk, shop: shop, cust: &buyer,
			in: order(func(o *gc.NewOrder) {
				o.CustomerID, o.PaymentMethod, o.Goods, o.ApplyCredit = "cus_a", "card", goods(1000, 1), &no
			}),
			want: []string{"funding:card USD -1000", "sales USD 1000"}, wantDue: 1000},
		{name: "zero exponent: JPY amounts are whole yen", actor: admin, shop: shop,
			in:   order(func(o *gc.NewOrder) { o.Currency, o.GiftCards = "JPY", cards(3000, 2000) }),
			want: []string{"funding:cash JPY -5000", "card:gc_a JPY 3000", "card:gc_b JPY 2000"}, wantDue: 5000},
		{name: "a shop key may not pay with cash", actor: clerk, shop: shop, in: order(func(o *gc.NewOrder) { o.GiftCards = cards(100) }), code: gc.EFORBIDDEN},
		{name: "a shop key may use a tender its shop allows", actor: clerk, shop: withVoucher,
			in:   order(func(o *gc.NewOrder) { o.PaymentMethod, o.GiftCards = "voucher", cards(100) }),
			want: []string{"funding:voucher USD -100", "card:gc_a USD 100"}, wantDue: 100},
		{name: "a gift card is not paid with a gift card", actor: admin, shop: shop,
			in: order(func(o *gc.NewOrder) { o.PaymentMethod, o.GiftCards = "gift_card", cards(100) }), code: gc.EINVALID},
		{name: "nor with credit", actor: admin, shop: shop,
			in: order(func(o *gc.NewOrder) { o.PaymentMethod, o.GiftCards = "credit", cards(100) }), code: gc.EINVALID},
		{name: "a missing customer", actor: clerk, shop: shop,
			in: order(func(o *gc.NewOrder) { o.CustomerID, o.PaymentMethod, o.Goods = "cus_x", "card", goods(100, 1) }), code: gc.ENOTFOUND},
		{name: "a line whose total overflows", actor: admin, shop: shop,
			in: order(func(o *gc.NewOrder) { o.Goods = goods(922337203685478, 10000) }), code: gc.EINVALID},
		{name: "an unknown currency", actor: admin, shop: shop,
			in: order(func(o *gc.NewOrder) { o.Currency, o.GiftCards = "XXY", cards(100) }), code: gc.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := gc.PlanOrder(stamp(c.actor), c.in, c.shop, c.cust, "ord_1", codes(len(c.in.GiftCards)))
			if !wantCode(t, err, c.code) {
				return
			}
			balanced(t, p.Tx)
			if got := postings(p.Tx); !slices.Equal(got, c.want) {
				t.Errorf("postings %v, want %v", got, c.want)
			}
			o := p.Order
			if o.CreditApplied != c.wantCredit || o.AmountDue != c.wantDue || o.Total != o.GiftCardTotal+o.GoodsTotal {
				t.Errorf("order totals %+v, want credit %d and due %d", o, c.wantCredit, c.wantDue)
			}
			if (p.Change != nil) != (c.wantCredit > 0) {
				t.Errorf("balance change %+v with credit applied %d", p.Change, c.wantCredit)
			}
			if len(p.Cards) != len(c.in.GiftCards) || len(o.GiftCards) != len(c.in.GiftCards) {
				t.Fatalf("cards %+v for %d requested", p.Cards, len(c.in.GiftCards))
			}
			for i, card := range p.Cards {
				if card.Status != gc.CardActive || card.Balance != c.in.GiftCards[i].Amount || o.GiftCards[i].Code != "CODE-"+card.ID || card.OrderID != "ord_1" {
					t.Errorf("card %d: %+v / %+v", i, card, o.GiftCards[i])
				}
			}
		})
	}
	t.Run("one code per card", func(t *testing.T) {
		_, err := gc.PlanOrder(stamp(admin), order(func(o *gc.NewOrder) { o.GiftCards = cards(1, 2) }), shop, nil, "ord_1", codes(1))
		if err == nil || gc.ErrorCode(err) != gc.EINTERNAL {
			t.Fatalf("error %v, want an internal error for a miscounted plan", err)
		}
	})
}
