package giftcredit

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/giftcredit/giftcredit/internal/money"
)

// Ledger is the set of operations on a shop's customers, gift cards, orders
// and credit. Every mutation is atomic and idempotent: given the same
// idempotency key and the same input it returns the first result and writes
// nothing; the same key with another input fails with EIDEMPOTENCYMISMATCH.
// Records of another shop are reported as ENOTFOUND.
type Ledger interface {
	// CreateCustomer creates a customer. A taken email (case-insensitive)
	// is ECONFLICT with Detail["customerId"] set to the existing customer.
	CreateCustomer(ctx context.Context, a Actor, idemKey string, in NewCustomer) (Customer, error)
	// Customer returns a customer with balances, or ENOTFOUND.
	Customer(ctx context.Context, shopID, customerID string) (Customer, error)
	// CustomerByEmail finds a customer by email, or ENOTFOUND.
	CustomerByEmail(ctx context.Context, shopID, email string) (Customer, error)
	// PlaceOrder places an order, issues its gift cards (codes are in the
	// result only) and applies the customer's credit to goods unless asked
	// not to. Returns EINVALID, ENOTFOUND (customer).
	PlaceOrder(ctx context.Context, a Actor, idemKey string, in NewOrder) (PlacedOrder, error)
	// Order returns an order with codes masked, or ENOTFOUND.
	Order(ctx context.Context, shopID, orderID string) (Order, error)
	// Redeem moves a card's whole balance onto the customer's credit. A
	// wrong, used or disabled code is ECONFLICT, the same in every case,
	// and counts toward the customer's and the client's lockout (clientRef,
	// optional: the shop's end client, e.g. a session or IP); a locked
	// customer or client is ERATELIMITED with Detail["retryAfter"].
	Redeem(ctx context.Context, a Actor, idemKey, customerID, code, clientRef string) (Redemption, error)
	// CheckCard returns a card by its code; an unknown code is ECONFLICT
	// (counted toward the client's lockout, ERATELIMITED once locked) and
	// a malformed one EINVALID.
	CheckCard(ctx context.Context, shopID, code, clientRef string) (GiftCard, error)
	// DisableCard disables an active card (disabling a disabled card is a
	// no-op); a redeemed card is ECONFLICT.
	DisableCard(ctx context.Context, a Actor, idemKey, cardID string) (GiftCard, error)
	// Credit credits a customer directly against a payment type's funding account.
	Credit(ctx context.Context, a Actor, idemKey string, in DirectCredit) (Transaction, error)
	// ApplyCredit spends up to the available credit on an order ref, once
	// per order ref (a second application is ECONFLICT).
	ApplyCredit(ctx context.Context, a Actor, idemKey string, in CreditApplication) (AppliedCredit, error)
	// Reverse posts the compensating transaction of a credit, credit
	// application or promotion grant; at most once per transaction.
	// EINSUFFICIENTFUNDS if the credit was already spent.
	Reverse(ctx context.Context, a Actor, idemKey string, in Reversal) (Transaction, error)
	// History lists a customer's transactions, newest first.
	History(ctx context.Context, shopID, customerID string, p PageRequest) (TransactionPage, error)
	// Lots lists a customer's lots of credit with something left, by
	// currency and soonest-expiring first (ENOTFOUND, EINVALID cursor).
	Lots(ctx context.Context, shopID, customerID string, p PageRequest) (LotPage, error)
	// Audit walks a shop's records and reports every broken invariant.
	Audit(ctx context.Context, shopID string) (AuditReport, error)
}

// PlacedOrder is the result of placing an order: the order with each card's
// code (the only time codes are returned) and the emails to send.
type PlacedOrder struct {
	Order  Order   `json:"order"`
	Emails []Email `json:"-"`
}

// PageRequest asks for one page of a list. Cursor is opaque.
type PageRequest struct {
	Cursor string
	Limit  int
}

// Page limits.
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
)

// Normalize applies defaults and bounds to a page request.
func (p PageRequest) Normalize() (PageRequest, error) {
	if p.Limit == 0 {
		p.Limit = DefaultPageSize
	}
	if p.Limit < 1 || p.Limit > MaxPageSize {
		return p, Invalid("limit", "limit must be between 1 and %d", MaxPageSize)
	}
	return p, nil
}

// TransactionPage is one page of a transaction history.
type TransactionPage struct {
	Transactions []Transaction `json:"transactions"`
	NextCursor   string        `json:"nextCursor,omitempty"`
}

// Validate checks a transaction's shape: at least two postings, no zero
// amounts, and postings that sum to zero in each currency without overflow.
func (t Transaction) Validate() error {
	if len(t.Postings) < 2 {
		return fmt.Errorf("transaction %s has %d postings, want at least 2", t.ID, len(t.Postings))
	}
	sums := map[string]int64{}
	for i, p := range t.Postings {
		if p.Amount == 0 {
			return fmt.Errorf("transaction %s posting %d has a zero amount", t.ID, i)
		}
		if p.Account == "" || p.Currency == "" {
			return fmt.Errorf("transaction %s posting %d has no account or currency", t.ID, i)
		}
		s, err := money.AddInt64(sums[p.Currency], p.Amount)
		if err != nil {
			return fmt.Errorf("transaction %s overflows in %s", t.ID, p.Currency)
		}
		sums[p.Currency] = s
	}
	for cur, s := range sums {
		if s != 0 {
			return fmt.Errorf("transaction %s does not balance in %s: sum %d", t.ID, cur, s)
		}
	}
	return nil
}

// AuditReport is the outcome of walking a shop's ledger.
type AuditReport struct {
	ShopID       string    `json:"shopId"`
	CheckedAt    time.Time `json:"checkedAt"`
	Transactions int       `json:"transactions"`
	Accounts     int       `json:"accounts"`
	Breaches     []Breach  `json:"breaches"`
}

// Breach is one broken invariant.
type Breach struct {
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
}

// OK reports whether the audit found nothing wrong.
func (r AuditReport) OK() bool { return len(r.Breaches) == 0 }

// StoredBalance is a balance as the store keeps it, for the audit to compare
// against the postings.
type StoredBalance struct {
	Account  string
	Currency string
	Amount   int64
	Version  int64
}

// Auditor proves a shop's invariants from its records: feed it every
// transaction, every stored balance and every order, then call Report.
//
// Sums of postings are kept in arbitrary precision: a system account
// (funding, sales) has no stored balance and its postings may legitimately
// sum past int64, which must not read as a breach. Only a stored balance is
// bounded, and the comparison with it is exact.
type Auditor struct {
	report   AuditReport
	sums     map[[2]string]*big.Int
	postings map[[2]string][]Posting
	stored   map[[2]string]StoredBalance
	orderTxs map[string]Transaction
	orders   []Order
	cards    []Breach // found by AddCard, reported last
	holds    []HoldState
	// holdTxs are the postings of every hold's transactions, by hold.
	holdTxs map[string]*holdFlow
	// heldStored is what customers and cards record as held, per account
	// and currency.
	heldStored map[[2]string]int64
	spends     map[string]Spend
	refunds    map[string]*big.Int
	reversed   map[string]bool
	// liab is the daily close's stored days (report_audit.go).
	liab liabilityAudit
	// lotSums are the lot moves of every transaction, by customer and
	// lot; lotsLeft what the customers' records say is left of each.
	lotSums  map[custLot]*big.Int
	lotsLeft map[custLot]int64
}

// custLot names one lot of one customer.
type custLot struct {
	customer string
	seq      int64
}

// holdFlow is what a hold's transactions moved: onto the hold, to sales
// and back to its funds.
type holdFlow struct{ held, captured, released *big.Int }

// NewAuditor starts an audit of a shop.
func NewAuditor(shopID string, now time.Time) *Auditor {
	return &Auditor{
		report:   AuditReport{ShopID: shopID, CheckedAt: now, Breaches: []Breach{}},
		sums:     map[[2]string]*big.Int{},
		postings: map[[2]string][]Posting{},
		stored:   map[[2]string]StoredBalance{},
		orderTxs: map[string]Transaction{},
		holdTxs:  map[string]*holdFlow{}, heldStored: map[[2]string]int64{},
		spends: map[string]Spend{}, refunds: map[string]*big.Int{}, reversed: map[string]bool{},
		liab:    liabilityAudit{days: map[string][]LiabilityDay{}},
		lotSums: map[custLot]*big.Int{}, lotsLeft: map[custLot]int64{},
	}
}

func (a *Auditor) breach(kind, subject, format string, args ...any) {
	a.report.Breaches = append(a.report.Breaches, Breach{Kind: kind, Subject: subject, Detail: fmt.Sprintf(format, args...)})
}

// AddTransaction records a transaction and checks that it balances.
func (a *Auditor) AddTransaction(t Transaction) {
	a.report.Transactions++
	a.liab.txs = append(a.liab.txs, t)
	if err := t.Validate(); err != nil {
		a.breach("unbalanced_transaction", t.ID, "%v", err)
	}
	if t.Kind == TxOrder {
		a.orderTxs[t.ID] = t
	}
	if sp, ok := SpendOf(t); ok {
		a.spends[t.ID] = sp
	}
	if t.HoldID != "" {
		a.addHoldTx(t)
	}
	a.addLotMoves(t)
	if t.Kind == TxReversal {
		a.reversed[t.Reverses] = true
	}
	if t.Kind == TxRefund {
		r := a.refunds[t.RefundOf]
		if r == nil {
			r = new(big.Int)
			a.refunds[t.RefundOf] = r
		}
		for _, p := range t.Postings {
			if p.Account == AccountSales {
				r.Sub(r, big.NewInt(p.Amount))
			}
		}
	}
	for _, p := range t.Postings {
		k := [2]string{p.Account, p.Currency}
		sum := a.sums[k]
		if sum == nil {
			sum = new(big.Int)
			a.sums[k] = sum
		}
		sum.Add(sum, big.NewInt(p.Amount))
		if TracksBalance(p.Account) {
			if p.BalanceAfter == nil {
				a.breach("missing_balance_after", t.ID, "posting to %s has no balance after", p.Account)
			} else {
				a.postings[k] = append(a.postings[k], p)
			}
		}
	}
}

// addLotMoves records what t did to its customer's lots and checks that
// its lot moves sum to its posting to the customer.
func (a *Auditor) addLotMoves(t Transaction) {
	if t.CustomerID == "" {
		return
	}
	var posted, moved int64
	for _, p := range t.Postings {
		if p.Account == CustomerAccount(t.CustomerID) {
			posted += p.Amount
		}
	}
	for _, m := range t.Lots {
		moved += m.Amount
		k := custLot{t.CustomerID, m.Seq}
		if a.lotSums[k] == nil {
			a.lotSums[k] = new(big.Int)
		}
		a.lotSums[k].Add(a.lotSums[k], big.NewInt(m.Amount))
	}
	if posted != moved {
		a.breach("lots_mismatch", t.ID, "posts %d to the customer, its lot moves sum to %d", posted, moved)
	}
}

func (a *Auditor) addHoldTx(t Transaction) {
	f := a.holdTxs[t.HoldID]
	if f == nil {
		f = &holdFlow{held: new(big.Int), captured: new(big.Int), released: new(big.Int)}
		a.holdTxs[t.HoldID] = f
	}
	for _, p := range t.Postings {
		switch {
		case t.Kind == TxHold && p.Account == HoldAccount(t.HoldID):
			f.held.Add(f.held, big.NewInt(p.Amount))
		case p.Account == AccountSales:
			f.captured.Add(f.captured, big.NewInt(p.Amount))
		case t.Kind != TxHold && p.Account == t.Funds:
			f.released.Add(f.released, big.NewInt(p.Amount))
		}
	}
}

// AddHold adds a hold: its stored balance (what it still holds) and its
// figures, which Report proves against its transactions.
func (a *Auditor) AddHold(h HoldState) {
	a.AddBalance(StoredBalance{Account: HoldAccount(h.ID), Currency: h.Currency, Amount: h.Remaining(), Version: h.Version})
	a.holds = append(a.holds, h)
}

// AddBalance records a balance as stored.
func (a *Auditor) AddBalance(b StoredBalance) {
	a.stored[[2]string{b.Account, b.Currency}] = b
}

// AddOrder records an order, whose totals Report proves against the
// postings of its transaction.
func (a *Auditor) AddOrder(o Order) { a.orders = append(a.orders, o) }

// AddCustomer adds a customer's stored balances, one per currency, and
// proves its lots against them: the live lots of each currency sum to its
// balance (which Report proves against the postings).
func (a *Auditor) AddCustomer(c CustomerState) {
	for _, msg := range c.CheckLots() {
		a.breach("lots_mismatch", CustomerAccount(c.ID), "%s", msg)
	}
	for _, l := range c.Lots {
		a.lotsLeft[custLot{c.ID, l.Seq}] += l.Remaining
	}
	for _, b := range c.Balances {
		a.AddBalance(StoredBalance{Account: CustomerAccount(c.ID), Currency: b.Currency, Amount: b.Amount, Version: c.Version})
		if b.Held != 0 {
			a.heldStored[[2]string{CustomerAccount(c.ID), b.Currency}] = b.Held
		}
	}
}

// AddCard adds a card's stored balance; a redeemed card must hold none.
func (a *Auditor) AddCard(c CardState) {
	a.AddBalance(StoredBalance{Account: CardAccount(c.ID), Currency: c.Currency, Amount: c.Balance, Version: c.Version})
	if c.Held != 0 {
		a.heldStored[[2]string{CardAccount(c.ID), c.Currency}] = c.Held
	}
	if c.Status == CardRedeemed && c.Balance != 0 {
		a.cards = append(a.cards, Breach{Kind: "redeemed_card_balance", Subject: c.ID, Detail: "a redeemed card still holds a balance"})
	}
}

// Report finishes the audit: every stored balance equals the sum of its
// postings and is not negative, each account's postings, in version
// order, step through its balances without gaps, and every order's totals
// follow from its lines and match its transaction's postings.
func (a *Auditor) Report() AuditReport {
	keys := map[[2]string]bool{}
	for k := range a.stored {
		keys[k] = true
	}
	for k := range a.sums {
		if TracksBalance(k[0]) {
			keys[k] = true
		}
	}
	ordered := make([][2]string, 0, len(keys))
	for k := range keys {
		ordered = append(ordered, k)
	}
	sort.Slice(ordered, func(i, j int) bool {
		if ordered[i][0] != ordered[j][0] {
			return ordered[i][0] < ordered[j][0]
		}
		return ordered[i][1] < ordered[j][1]
	})
	for _, k := range ordered {
		subject := k[0] + "/" + k[1]
		st, ok := a.stored[k]
		sum := a.sums[k]
		if sum == nil {
			sum = new(big.Int)
		}
		if !ok {
			if sum.Sign() != 0 {
				a.breach("missing_balance", subject, "postings sum to %s but no balance is stored", sum)
			}
			continue
		}
		if big.NewInt(st.Amount).Cmp(sum) != 0 {
			a.breach("balance_mismatch", subject, "stored balance %d, postings sum to %s", st.Amount, sum)
		}
		if st.Amount < 0 {
			a.breach("negative_balance", subject, "balance is %d", st.Amount)
		}
		ps := a.postings[k]
		sort.Slice(ps, func(i, j int) bool { return ps[i].Version < ps[j].Version })
		running := new(big.Int)
		for _, p := range ps {
			running.Add(running, big.NewInt(p.Amount))
			if big.NewInt(*p.BalanceAfter).Cmp(running) != 0 {
				a.breach("balance_after_mismatch", subject, "posting at version %d records balance %d, running sum is %s", p.Version, *p.BalanceAfter, running)
				break
			}
			if running.Sign() < 0 {
				a.breach("negative_balance", subject, "balance went to %s at version %d", running, p.Version)
				break
			}
		}
	}
	for _, o := range a.orders {
		a.checkOrder(o)
	}
	a.checkHolds()
	a.checkRefunds()
	a.checkLiability()
	a.checkLots()
	a.report.Accounts = len(ordered)
	a.report.Breaches = append(a.report.Breaches, a.cards...)
	return a.report
}

// checkOrder proves an order's totals from its lines and against the
// postings of its transaction: cards are credited exactly their amounts,
// sales the goods total, the customer debited the credit applied (which
// pays only for goods) and the payment method's funding account the
// amount due. Products and sums are exact (big.Int), so a total that
// wrapped around int64 is caught.
func (a *Auditor) checkOrder(o Order) {
	bad := func(format string, args ...any) { a.breach("order_totals", o.ID, format, args...) }
	goods, cards := new(big.Int), new(big.Int)
	for _, g := range o.Goods {
		goods.Add(goods, new(big.Int).Mul(big.NewInt(g.UnitPrice), big.NewInt(g.Quantity)))
	}
	for _, c := range o.GiftCards {
		cards.Add(cards, big.NewInt(c.Amount))
	}
	if goods.Cmp(big.NewInt(o.GoodsTotal)) != 0 {
		bad("goodsTotal %d, lines sum to %s", o.GoodsTotal, goods)
	}
	if cards.Cmp(big.NewInt(o.GiftCardTotal)) != 0 {
		bad("giftCardTotal %d, cards sum to %s", o.GiftCardTotal, cards)
	}
	total := new(big.Int).Add(goods, cards)
	if total.Cmp(big.NewInt(o.Total)) != 0 {
		bad("total %d, lines and cards sum to %s", o.Total, total)
	}
	if o.CreditApplied < 0 || o.CreditApplied > o.GoodsTotal {
		bad("creditApplied %d is outside 0..goodsTotal %d", o.CreditApplied, o.GoodsTotal)
	}
	due := new(big.Int).Sub(total, big.NewInt(o.CreditApplied))
	if due.Cmp(big.NewInt(o.AmountDue)) != 0 || o.AmountDue < 0 {
		bad("amountDue %d, total minus credit applied is %s", o.AmountDue, due)
	}
	t, ok := a.orderTxs[o.TransactionID]
	if !ok {
		bad("transaction %s of the order was not found", o.TransactionID)
		return
	}
	want := map[string]*big.Int{
		FundingAccount(o.PaymentMethod): big.NewInt(-o.AmountDue),
		AccountSales:                    big.NewInt(o.GoodsTotal),
	}
	if o.CustomerID != "" {
		want[CustomerAccount(o.CustomerID)] = big.NewInt(-o.CreditApplied)
	}
	for _, c := range o.GiftCards {
		want[CardAccount(c.ID)] = big.NewInt(c.Amount)
	}
	got := map[string]*big.Int{}
	for _, p := range t.Postings {
		if p.Currency != o.Currency {
			bad("posting to %s is in %s, the order in %s", p.Account, p.Currency, o.Currency)
			continue
		}
		if _, ok := want[p.Account]; !ok {
			bad("transaction %s posts to %s, which the order does not name", t.ID, p.Account)
			continue
		}
		if got[p.Account] == nil {
			got[p.Account] = new(big.Int)
		}
		got[p.Account].Add(got[p.Account], big.NewInt(p.Amount))
	}
	accounts := make([]string, 0, len(want))
	for acc := range want {
		accounts = append(accounts, acc)
	}
	sort.Strings(accounts)
	for _, acc := range accounts {
		g := got[acc]
		if g == nil {
			g = new(big.Int)
		}
		if g.Cmp(want[acc]) != 0 {
			bad("postings to %s sum to %s, the order's totals say %s", acc, g, want[acc])
		}
	}
}

// checkHolds proves every hold's figures from its transactions: it held
// its amount, captured its captures and released the rest; captured plus
// released equals held once closed and stays within it while open; and
// what customers and cards record as held is the sum of their open holds.
func (a *Auditor) checkHolds() {
	open := map[[2]string]int64{}
	for _, h := range a.holds {
		bad := func(format string, args ...any) { a.breach("hold", h.ID, format, args...) }
		f := a.holdTxs[h.ID]
		if f == nil {
			bad("no transaction of the hold was found")
			continue
		}
		var caps int64
		for _, c := range h.Captures {
			caps += c.Amount
		}
		if f.held.Cmp(big.NewInt(h.Amount)) != 0 {
			bad("amount %d, its hold transaction held %s", h.Amount, f.held)
		}
		if f.captured.Cmp(big.NewInt(h.Captured)) != 0 || caps != h.Captured {
			bad("captured %d, its captures sum to %d and its transactions took %s", h.Captured, caps, f.captured)
		}
		if f.released.Cmp(big.NewInt(h.Released)) != 0 {
			bad("released %d, its transactions released %s", h.Released, f.released)
		}
		out := new(big.Int).Add(f.captured, f.released)
		switch {
		case h.Status == HoldHeld && out.Cmp(f.held) >= 0:
			bad("open, but captured and released %s of %s held", out, f.held)
		case h.Status != HoldHeld && out.Cmp(f.held) != 0:
			bad("%s, but captured and released %s of %s held", h.Status, out, f.held)
		}
		if h.Status == HoldHeld {
			open[[2]string{h.Source.Account(), h.Currency}] += h.Remaining()
		}
	}
	keys := map[[2]string]bool{}
	for k := range open {
		keys[k] = true
	}
	for k := range a.heldStored {
		keys[k] = true
	}
	ordered := make([][2]string, 0, len(keys))
	for k := range keys {
		ordered = append(ordered, k)
	}
	sort.Slice(ordered, func(i, j int) bool { return ordered[i][0]+ordered[i][1] < ordered[j][0]+ordered[j][1] })
	for _, k := range ordered {
		if open[k] != a.heldStored[k] {
			a.breach("held_mismatch", k[0]+"/"+k[1], "records %d held, its open holds hold %d", a.heldStored[k], open[k])
		}
	}
}

// checkRefunds proves that the refunds of every spend stay within it,
// and that no spend was both reversed (which gives all of it back) and
// refunded.
func (a *Auditor) checkRefunds() {
	ids := make([]string, 0, len(a.refunds))
	for id := range a.refunds {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		sp, ok := a.spends[id]
		if !ok {
			a.breach("refund", id, "refunds of %s, which is not a spend that was found", id)
			continue
		}
		if r := a.refunds[id]; r.Cmp(big.NewInt(sp.Amount)) > 0 || r.Sign() < 0 {
			a.breach("over_refund", id, "refunded %s of %d spent", r, sp.Amount)
		} else if a.reversed[id] {
			a.breach("over_refund", id, "refunded %s and also reversed", r)
		}
	}
}

// checkLots proves every lot against the transactions: what a customer's
// record says is left of a lot is the sum of what transactions moved on
// it, and a lot no longer listed has nothing left by them either.
func (a *Auditor) checkLots() {
	keys := map[custLot]bool{}
	// Lot 0 is credit from before lots, which no transaction made: only
	// the lots' sum against the balance (CheckLots) proves it.
	for k := range a.lotSums {
		keys[k] = k.seq != 0
	}
	for k := range a.lotsLeft {
		keys[k] = k.seq != 0
	}
	ordered := make([]custLot, 0, len(keys))
	for k, ok := range keys {
		if ok {
			ordered = append(ordered, k)
		}
	}
	sort.Slice(ordered, func(i, j int) bool {
		if ordered[i].customer != ordered[j].customer {
			return ordered[i].customer < ordered[j].customer
		}
		return ordered[i].seq < ordered[j].seq
	})
	for _, k := range ordered {
		sum := a.lotSums[k]
		if sum == nil {
			sum = new(big.Int)
		}
		if sum.Cmp(big.NewInt(a.lotsLeft[k])) != 0 {
			a.breach("lot_mismatch", fmt.Sprintf("%s/lot %d", CustomerAccount(k.customer), k.seq),
				"%d left, its transactions moved %s", a.lotsLeft[k], sum)
		}
	}
}
