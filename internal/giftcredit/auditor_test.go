package giftcredit

import (
	"strings"
	"testing"
	"time"
)

func i64(v int64) *int64 { return &v }

// TestAuditorSystemAccountSumsPastInt64 is issue 17 item 6: 9,224 credits of
// 1e15 over two customers make funding:goodwill sum below MinInt64. That is
// no breach: only stored balances are bounded.
func TestAuditorSystemAccountSumsPastInt64(t *testing.T) {
	a := NewAuditor("shp_x", time.Unix(0, 0))
	const n, amount = 9224, int64(MaxAmount)
	bal := map[string]int64{}
	ver := map[string]int64{}
	for i := 0; i < n; i++ {
		cust := CustomerAccount([]string{"cus_a", "cus_b"}[i%2])
		bal[cust] += amount
		ver[cust]++
		a.AddTransaction(Transaction{ID: "tx", Kind: TxCredit, Postings: []Posting{
			{Account: cust, Currency: "USD", Amount: amount, BalanceAfter: i64(bal[cust]), Version: ver[cust]},
			{Account: FundingAccount("goodwill"), Currency: "USD", Amount: -amount},
		}})
	}
	for acc, b := range bal {
		a.AddBalance(StoredBalance{Account: acc, Currency: "USD", Amount: b, Version: ver[acc]})
	}
	if r := a.Report(); !r.OK() {
		t.Fatalf("breaches: %+v", r.Breaches)
	}
}

// TestAuditorBalanceMismatchIsExact: a stored balance that differs from its
// postings by 2^64 (what an int64 sum would wrap to) is still a breach.
func TestAuditorBalanceMismatchIsExact(t *testing.T) {
	a := NewAuditor("shp_x", time.Unix(0, 0))
	a.AddTransaction(Transaction{ID: "tx", Kind: TxCredit, Postings: []Posting{
		{Account: "customer:cus_a", Currency: "USD", Amount: 5, BalanceAfter: i64(5), Version: 1},
		{Account: "funding:cash", Currency: "USD", Amount: -5},
	}})
	a.AddBalance(StoredBalance{Account: "customer:cus_a", Currency: "USD", Amount: 6, Version: 1})
	r := a.Report()
	if len(r.Breaches) != 1 || r.Breaches[0].Kind != "balance_mismatch" {
		t.Fatalf("breaches = %+v, want one balance_mismatch", r.Breaches)
	}
}

// orderFixture is a consistent order of goods and one card, part paid with credit.
func orderFixture() (Order, Transaction) {
	o := Order{ID: "ord_1", CustomerID: "cus_a", PaymentMethod: "card", Currency: "USD",
		Goods:         []OrderLine{{Description: "Book", UnitPrice: 1500, Quantity: 2}},
		GiftCards:     []OrderCard{{ID: "gc_1", Last4: "ABCD", Amount: 5000}},
		GiftCardTotal: 5000, GoodsTotal: 3000, Total: 8000, CreditApplied: 1000, AmountDue: 7000, TransactionID: "tx_o"}
	t := Transaction{ID: "tx_o", Kind: TxOrder, Postings: []Posting{
		{Account: "customer:cus_a", Currency: "USD", Amount: -1000, BalanceAfter: i64(0), Version: 2},
		{Account: "funding:card", Currency: "USD", Amount: -7000},
		{Account: AccountSales, Currency: "USD", Amount: 3000},
		{Account: "card:gc_1", Currency: "USD", Amount: 5000, BalanceAfter: i64(5000), Version: 1},
	}}
	return o, t
}

// TestAuditorOrderTotals is issue 17 item 2's audit half: every order's
// goods, card, credit and amount-due totals are proved from its lines and
// against its postings, exactly.
func TestAuditorOrderTotals(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(o *Order, t *Transaction)
		want   string // substring of the breach detail; "" = no breach
	}{
		{name: "consistent", tamper: func(*Order, *Transaction) {}},
		{name: "goods total wrapped around int64",
			tamper: func(o *Order, t *Transaction) {
				o.Goods = []OrderLine{{Description: "x", UnitPrice: 922337203685478, Quantity: 10000}, {Description: "x", UnitPrice: 922337203685478, Quantity: 10000}}
			}, want: "goodsTotal 3000"},
		{name: "card total differs", tamper: func(o *Order, t *Transaction) { o.GiftCardTotal = 4000 }, want: "giftCardTotal 4000"},
		{name: "credit pays for cards", tamper: func(o *Order, t *Transaction) { o.CreditApplied = 4000 }, want: "creditApplied 4000"},
		{name: "negative credit", tamper: func(o *Order, t *Transaction) { o.CreditApplied = -1 }, want: "creditApplied -1"},
		{name: "amount due differs", tamper: func(o *Order, t *Transaction) { o.AmountDue = 6999 }, want: "amountDue 6999"},
		{name: "funding posting differs",
			tamper: func(o *Order, t *Transaction) { t.Postings[1].Amount, t.Postings[2].Amount = -6000, 2000 }, want: "funding:card"},
		{name: "card credited more than its amount",
			tamper: func(o *Order, t *Transaction) { t.Postings[3].Amount, t.Postings[1].Amount = 6000, -8000 }, want: "card:gc_1"},
		{name: "posting to an account the order does not name",
			tamper: func(o *Order, t *Transaction) { t.Postings[2].Account = "promotion_expense" }, want: "does not name"},
		{name: "transaction missing", tamper: func(o *Order, t *Transaction) { o.TransactionID = "tx_other" }, want: "not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, tx := orderFixture()
			c.tamper(&o, &tx)
			a := NewAuditor("shp_x", time.Unix(0, 0))
			a.AddTransaction(tx)
			a.AddOrder(o)
			var got []string
			for _, b := range a.Report().Breaches {
				if b.Kind == "order_totals" {
					got = append(got, b.Detail)
				}
			}
			if c.want == "" {
				if len(got) > 0 {
					t.Fatalf("breaches %q, want none", got)
				}
				return
			}
			if !strings.Contains(strings.Join(got, "\n"), c.want) {
				t.Fatalf("breaches %q, want one mentioning %q", got, c.want)
			}
		})
	}
}

// TestAuditorCards: a card's stored balance must follow its postings, and a
// redeemed card must hold nothing.
func TestAuditorCards(t *testing.T) {
	issue := Transaction{ID: "txn_o", Kind: TxOrder, Postings: []Posting{
		{Account: FundingAccount("cash"), Currency: "USD", Amount: -500},
		{Account: CardAccount("gc_1"), Currency: "USD", Amount: 500, BalanceAfter: i64(500), Version: 1},
	}}
	cases := []struct {
		name   string
		card   CardState
		breach string
	}{
		{name: "an active card with its balance", card: CardState{GiftCard: GiftCard{ID: "gc_1", Currency: "USD", Balance: 500, Status: CardActive}, Version: 1}},
		{name: "a redeemed card that kept its balance", card: CardState{GiftCard: GiftCard{ID: "gc_1", Currency: "USD", Balance: 500, Status: CardRedeemed}, Version: 1}, breach: "redeemed_card_balance"},
		{name: "a card whose balance was edited", card: CardState{GiftCard: GiftCard{ID: "gc_1", Currency: "USD", Balance: 900, Status: CardActive}, Version: 1}, breach: "balance_mismatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := NewAuditor("shp_x", time.Unix(0, 0))
			a.AddTransaction(issue)
			a.AddCard(c.card)
			r := a.Report()
			var kinds []string
			for _, b := range r.Breaches {
				kinds = append(kinds, b.Kind)
			}
			if got := strings.Join(kinds, ","); got != c.breach {
				t.Fatalf("breaches %q, want %q", got, c.breach)
			}
		})
	}
}
