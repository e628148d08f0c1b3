package giftcredit

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/giftcredit/giftcredit/internal/money"
)

// This file holds expiring credit: every credit to a customer is a lot,
// spending takes lots soonest-expiring first (never-expiring last, oldest
// first among equals) and never an expired lot, a refund or release puts
// back what it took into the lots it came from, and the expiry job posts
// what is left of a lot at its expiresAt. The planners here are pure; the
// storage adapter keeps each customer's live lots (LotBalance: number,
// expiry, remaining) beside the balance on the customer record, so the
// one consistent read of a mutation sees every lot it may spend.

// LotSource says what kind of credit made a lot.
type LotSource string

// The sources of lots.
const (
	LotRedemption LotSource = "redemption"
	LotCredit     LotSource = "credit"
	LotPromotion  LotSource = "promotion"
	LotRefund     LotSource = "refund"
)

// Lot limits. MaxLotLifetime bounds an expiresAt (10 years ahead);
// RestoredLotLifetime is the life of the new lot that takes back what a
// refund gives back from a lot that expired since. MaxLots bounds the
// live lots of one customer (all currencies): the storage adapter keeps
// them on the customer's record, and 5,000 lots of the widest encoding
// (about 40 bytes) stay under half of DynamoDB's 400 KB item limit, as
// does a transaction that spends all of them.
const (
	MaxLotLifetime      = 3650 * 24 * time.Hour
	RestoredLotLifetime = 30 * 24 * time.Hour
	MaxLots             = 5000
	MinExpiresInDays    = 1
	MaxExpiresInDays    = 3650
	DefaultNoticeDays   = 7
	MaxNoticeDays       = 365
	// ClockSkew bounds how far the clocks of two functions may disagree.
	ClockSkew = time.Minute
)

// ErrTooManyLots refuses a credit that would give the customer more than
// MaxLots live lots.
var ErrTooManyLots = Errorf(ECONFLICT, "the customer has %d lots of credit with something left; spend or reverse some first", MaxLots)

// Lot is a credit lot as the API lists it: what a credit put on the
// customer's account, what is left of it, and when it expires (nil:
// never).
type Lot struct {
	ID        string     `json:"id"`
	Currency  string     `json:"currency"`
	Source    LotSource  `json:"source"`
	Amount    int64      `json:"amount"`
	Remaining int64      `json:"remaining"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	// Seq numbers the customer's lots in the order they were made.
	Seq int64 `json:"-"`
	// CustomerID is the lot's customer.
	CustomerID string `json:"-"`
}

// LotPage is one page of a customer's lots.
type LotPage struct {
	Lots       []Lot  `json:"lots"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// LotID is the id of the lot that transaction txID made: a transaction
// makes at most one lot.
func LotID(txID string) string { return "lot_" + strings.TrimPrefix(txID, "txn_") }

// LotBalance is what the customer's record keeps of a live lot: its
// number, currency, expiry (zero: never) and what is left.
type LotBalance struct {
	Seq       int64
	Currency  string
	ExpiresAt time.Time
	Remaining int64
}

// Expired reports whether the lot has expired at at (at or after its
// expiresAt).
func (l LotBalance) Expired(at time.Time) bool {
	return !l.ExpiresAt.IsZero() && !at.Before(l.ExpiresAt)
}

// spendsBefore is the spending order: soonest-expiring first, lots that
// never expire last, the older (lower number) first among equals.
func spendsBefore(a, b LotBalance) bool {
	switch {
	case a.ExpiresAt.IsZero() != b.ExpiresAt.IsZero():
		return b.ExpiresAt.IsZero()
	case !a.ExpiresAt.Equal(b.ExpiresAt):
		return a.ExpiresAt.Before(b.ExpiresAt)
	}
	return a.Seq < b.Seq
}

// SortLots puts lots in spending order, by currency first.
func SortLots(ls []LotBalance) {
	sort.SliceStable(ls, func(i, j int) bool {
		if ls[i].Currency != ls[j].Currency {
			return ls[i].Currency < ls[j].Currency
		}
		return spendsBefore(ls[i], ls[j])
	})
}

// LotMove is what a transaction did to one lot: Amount taken (negative)
// or put back or made (positive). A spend records its takes, so a refund
// or a release can give each lot back its own; a capture records the
// takes of its hold that it captured.
type LotMove struct {
	Seq       int64
	ExpiresAt time.Time
	Amount    int64
}

// LotsChange is the lot side of a change of a customer's balance: the
// currency's live lots after it (in spending order), the customer's last
// lot number, and the lots to create.
type LotsChange struct {
	Lots []LotBalance
	Seq  int64
	New  []Lot
}

// Expiry is a balance's next expiry: the amount that expires soonest and
// when.
type Expiry struct {
	Amount    int64     `json:"amount"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// LotsOf returns the customer's live lots in cur, in spending order.
func (c CustomerState) LotsOf(cur string) []LotBalance {
	var out []LotBalance
	for _, l := range c.clone().Lots {
		if l.Currency == cur && l.Remaining > 0 {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return spendsBefore(out[i], out[j]) })
	return out
}

// Spendable is what the customer can spend in cur at at: the sum of the
// lots that have not expired.
func (c CustomerState) Spendable(cur string, at time.Time) int64 {
	w := c.clone()
	return w.spendable(cur, at)
}

func (c *CustomerState) spendable(cur string, at time.Time) int64 {
	var sum int64
	for _, l := range c.Lots {
		if l.Currency == cur && !l.Expired(at) {
			sum += l.Remaining
		}
	}
	return sum
}

// NextExpiry is the soonest expiry of the customer's credit in cur that
// has not expired at at (nil: none of it expires).
func (c CustomerState) NextExpiry(cur string, at time.Time) *Expiry {
	var e *Expiry
	for _, l := range c.LotsOf(cur) {
		if l.ExpiresAt.IsZero() || l.Expired(at) {
			continue
		}
		switch {
		case e == nil:
			e = &Expiry{Amount: l.Remaining, ExpiresAt: l.ExpiresAt.UTC()}
		case l.ExpiresAt.Equal(e.ExpiresAt):
			e.Amount += l.Remaining
		}
	}
	return e
}

// View is the customer as the API shows it at at: each balance's amount
// is what can be spent now (a lot that has expired is not, even before
// the expiry job posts it), with its next expiry.
func (c CustomerState) View(at time.Time) Customer {
	out := c.Customer
	out.Balances = make([]Balance, len(c.Balances))
	for i, b := range c.Balances {
		b.Amount = c.Spendable(b.Currency, at)
		b.NextExpiry = c.NextExpiry(b.Currency, at)
		out.Balances[i] = b
	}
	return out
}

// clone returns a copy whose balances and lots the caller may change.
// A balance that its lots do not cover (credit from before lots
// existed, or a state a test builds by hand) reads as one never-expiring
// lot numbered 0, the oldest.
func (c CustomerState) clone() CustomerState {
	c.Balances = append([]Balance(nil), c.Balances...)
	c.Lots = append([]LotBalance(nil), c.Lots...)
	for _, b := range c.Balances {
		covered := int64(0)
		for _, l := range c.Lots {
			if l.Currency == b.Currency {
				covered += l.Remaining
			}
		}
		if b.Amount > covered {
			c.Lots = append(c.Lots, LotBalance{Seq: 0, Currency: b.Currency, Remaining: b.Amount - covered})
		}
	}
	return c
}

// lotsChange is the change of cur's lots as c now has them.
func (c *CustomerState) lotsChange(cur string, made []Lot) LotsChange {
	return LotsChange{Lots: c.LotsOf(cur), Seq: c.LotSeq, New: made}
}

// liveLots counts the lots with something left.
func (c *CustomerState) liveLots() int {
	n := 0
	for _, l := range c.Lots {
		if l.Remaining > 0 {
			n++
		}
	}
	return n
}

// addLot makes a new lot of amount in cur (expiresAt zero: never).
func (c *CustomerState) addLot(st Stamp, cur string, src LotSource, amount int64, expiresAt time.Time) (Lot, LotMove, error) {
	if c.liveLots() >= MaxLots {
		return Lot{}, LotMove{}, ErrTooManyLots
	}
	c.LotSeq++
	lb := LotBalance{Seq: c.LotSeq, Currency: cur, ExpiresAt: expiresAt.UTC(), Remaining: amount}
	if expiresAt.IsZero() {
		lb.ExpiresAt = time.Time{}
	}
	c.Lots = append(c.Lots, lb)
	lot := Lot{ID: LotID(st.TxID), Currency: cur, Source: src, Amount: amount, Remaining: amount,
		CreatedAt: st.At.UTC(), Seq: lb.Seq, CustomerID: c.ID}
	if !lb.ExpiresAt.IsZero() {
		e := lb.ExpiresAt
		lot.ExpiresAt = &e
	}
	return lot, LotMove{Seq: lb.Seq, ExpiresAt: lb.ExpiresAt, Amount: amount}, nil
}

// takeLots takes amount of cur from the lots in spending order, skipping
// those expired at at.
func (c *CustomerState) takeLots(cur string, amount int64, at time.Time) ([]LotMove, error) {
	if have := c.spendable(cur, at); have < amount {
		return nil, Errorf(EINSUFFICIENTFUNDS, "the customer's %s credit is %s", cur, FormatMinor(have, cur))
	}
	idx := make([]int, 0, len(c.Lots))
	for i, l := range c.Lots {
		if l.Currency == cur && l.Remaining > 0 && !l.Expired(at) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(i, j int) bool { return spendsBefore(c.Lots[idx[i]], c.Lots[idx[j]]) })
	var moves []LotMove
	for _, i := range idx {
		if amount == 0 {
			break
		}
		l := &c.Lots[i]
		x := min(l.Remaining, amount)
		l.Remaining -= x
		amount -= x
		moves = append(moves, LotMove{Seq: l.Seq, ExpiresAt: l.ExpiresAt, Amount: -x})
	}
	c.dropEmpty()
	return moves, nil
}

// takeLot takes up to amount of cur from lot seq, expired or not (a
// reversal of the credit that made it); it returns what it took.
func (c *CustomerState) takeLot(seq, amount int64) (LotMove, bool) {
	for i := range c.Lots {
		l := &c.Lots[i]
		if l.Seq == seq && l.Remaining > 0 {
			x := min(l.Remaining, amount)
			l.Remaining -= x
			m := LotMove{Seq: l.Seq, ExpiresAt: l.ExpiresAt, Amount: -x}
			c.dropEmpty()
			return m, true
		}
	}
	return LotMove{}, false
}

func (c *CustomerState) dropEmpty() {
	kept := c.Lots[:0]
	for _, l := range c.Lots {
		if l.Remaining > 0 {
			kept = append(kept, l)
		}
	}
	c.Lots = kept
}

// restoreLots gives back what takes took (each a negative LotMove, in the
// order they are to be given back): to the lot it came from with that
// lot's own expiry, or, for a lot that has expired at st.At, to one new
// refund lot expiring RestoredLotLifetime after st.At.
func (c *CustomerState) restoreLots(st Stamp, cur string, takes []LotMove) ([]LotMove, []Lot, error) {
	var moves []LotMove
	var lapsed int64
	for _, t := range takes {
		x := -t.Amount
		if x <= 0 {
			continue
		}
		lb := LotBalance{Seq: t.Seq, Currency: cur, ExpiresAt: t.ExpiresAt, Remaining: x}
		found := -1
		for i := range c.Lots {
			if c.Lots[i].Seq == t.Seq {
				found = i
				break
			}
		}
		// A lot no longer listed may have been closed by the expiry job
		// on a clock a little ahead of this one: within ClockSkew of its
		// expiry it counts as expired, so nothing goes back to a lot the
		// job is done with.
		if lb.Expired(st.At) || (found < 0 && lb.Expired(st.At.Add(ClockSkew))) {
			lapsed += x
			continue
		}
		if found >= 0 {
			c.Lots[found].Remaining += x
		} else {
			if c.liveLots() >= MaxLots {
				return nil, nil, ErrTooManyLots
			}
			c.Lots = append(c.Lots, lb)
		}
		moves = append(moves, LotMove{Seq: t.Seq, ExpiresAt: t.ExpiresAt, Amount: x})
	}
	var made []Lot
	if lapsed > 0 {
		lot, m, err := c.addLot(st, cur, LotRefund, lapsed, st.At.UTC().Add(RestoredLotLifetime).Truncate(time.Second))
		if err != nil {
			return nil, nil, err
		}
		made = append(made, lot)
		moves = append(moves, m)
	}
	return moves, made, nil
}

// SliceMoves returns the part [from, from+amount) of moves, measured in
// what each moved (its absolute amount), keeping each move's sign: the
// takes of a hold that one capture captured, or those a partial refund
// gives back.
func SliceMoves(moves []LotMove, from, amount int64) []LotMove {
	var out []LotMove
	var pos int64
	for _, m := range moves {
		size := m.Amount
		sign := int64(1)
		if size < 0 {
			size, sign = -size, -1
		}
		lo, hi := max(pos, from), min(pos+size, from+amount)
		if hi > lo {
			out = append(out, LotMove{Seq: m.Seq, ExpiresAt: m.ExpiresAt, Amount: sign * (hi - lo)})
		}
		pos += size
	}
	return out
}

// ReversedMoves returns moves in the opposite order: a refund gives back
// the last lot a spend took from (the longest-lived) first.
func ReversedMoves(moves []LotMove) []LotMove {
	out := make([]LotMove, len(moves))
	for i, m := range moves {
		out[len(moves)-1-i] = m
	}
	return out
}

// balanceMove posts delta to cur and advances c: the balance change
// (with the lots as they now are) and its posting.
func (c *CustomerState) balanceMove(cur string, delta int64, made []Lot) (BalanceChange, Posting, error) {
	ch, p, err := c.Move(cur, delta)
	if err != nil {
		return ch, p, err
	}
	setBalance(c, cur, ch.After)
	c.Version++
	ch.Lots = c.lotsChange(cur, made)
	return ch, p, nil
}

// CreditLot plans amount onto a new lot of the customer's credit in cur
// from src, expiring at expiresAt (zero: never).
func (c CustomerState) CreditLot(st Stamp, cur string, amount int64, src LotSource, expiresAt time.Time) (BalanceChange, Posting, []LotMove, error) {
	w := c.clone()
	lot, m, err := w.addLot(st, cur, src, amount, expiresAt)
	if err != nil {
		return BalanceChange{}, Posting{}, nil, err
	}
	ch, p, err := w.balanceMove(cur, amount, []Lot{lot})
	return ch, p, []LotMove{m}, err
}

// SpendLots plans taking amount of the customer's credit in cur, lots
// soonest-expiring first, never an expired one (at st.At);
// EINSUFFICIENTFUNDS if less can be spent.
func (c CustomerState) SpendLots(st Stamp, cur string, amount int64) (BalanceChange, Posting, []LotMove, error) {
	w := c.clone()
	moves, err := w.takeLots(cur, amount, st.At)
	if err != nil {
		return BalanceChange{}, Posting{}, nil, err
	}
	ch, p, err := w.balanceMove(cur, -amount, nil)
	return ch, p, moves, err
}

// RestoreLots plans giving back what takes took (see restoreLots).
func (c CustomerState) RestoreLots(st Stamp, cur string, takes []LotMove) (BalanceChange, Posting, []LotMove, error) {
	w := c.clone()
	moves, made, err := w.restoreLots(st, cur, takes)
	if err != nil {
		return BalanceChange{}, Posting{}, nil, err
	}
	var amount int64
	for _, t := range takes {
		amount -= t.Amount
	}
	ch, p, err := w.balanceMove(cur, amount, made)
	return ch, p, moves, err
}

// ReverseCredit plans taking back amount that a credit put on the lots
// made (its LotMoves): from those lots first, expired or not, then what
// they no longer hold from the others in spending order;
// EINSUFFICIENTFUNDS if the credit was spent.
func (c CustomerState) ReverseCredit(st Stamp, cur string, amount int64, made []LotMove) (BalanceChange, Posting, []LotMove, error) {
	w := c.clone()
	var moves []LotMove
	left := amount
	for _, m := range made {
		if m.Amount <= 0 || left == 0 {
			continue
		}
		if t, ok := w.takeLot(m.Seq, min(m.Amount, left)); ok {
			moves = append(moves, t)
			left += t.Amount
		}
	}
	if left > 0 {
		more, err := w.takeLots(cur, left, st.At)
		if err != nil {
			return BalanceChange{}, Posting{}, nil, err
		}
		moves = append(moves, more...)
	}
	ch, p, err := w.balanceMove(cur, -amount, nil)
	return ch, p, moves, err
}

// TakesOf returns what a spend took from the lots (its negative moves,
// or what a capture spent of its hold's); a spend recorded before lots
// existed took amount from lot 0.
func TakesOf(t Transaction, amount int64) []LotMove {
	var out []LotMove
	moves := t.Lots
	if t.Kind == TxCapture {
		moves = t.Spent
	}
	for _, m := range moves {
		if m.Amount < 0 {
			out = append(out, m)
		}
	}
	if len(out) == 0 && amount > 0 {
		out = []LotMove{{Seq: 0, Amount: -amount}}
	}
	return out
}

// ValidateLotExpiry checks an expiresAt given with a credit: in the
// future at at, and at most MaxLotLifetime ahead. It returns it in UTC,
// to the second (a lot's expiry has second precision).
func ValidateLotExpiry(field string, expiresAt *time.Time, at time.Time) (time.Time, error) {
	if expiresAt == nil {
		return time.Time{}, nil
	}
	e := expiresAt.UTC().Truncate(time.Second)
	if !e.After(at) {
		return time.Time{}, Invalid(field, "%s must be in the future", field)
	}
	if e.After(at.Add(MaxLotLifetime)) {
		return time.Time{}, Invalid(field, "%s must be at most 10 years ahead", field)
	}
	return e, nil
}

// ExpiresInDays is when credit granted at at expires, for a promotion's
// creditExpiresInDays (nil: never, the zero time).
func ExpiresInDays(days *int64, at time.Time) time.Time {
	if days == nil {
		return time.Time{}
	}
	return at.UTC().Add(time.Duration(*days) * 24 * time.Hour).Truncate(time.Second)
}

// ValidateExpiresInDays checks a promotion's creditExpiresInDays.
func ValidateExpiresInDays(field string, days *int64) error {
	if days != nil && (*days < MinExpiresInDays || *days > MaxExpiresInDays) {
		return Invalid(field, "%s must be between %d and %d", field, MinExpiresInDays, MaxExpiresInDays)
	}
	return nil
}

// LotRef names a lot for the scheduled jobs: its customer and number.
type LotRef struct {
	CustomerID string
	Seq        int64
}

// ExpiryOutcome is what the expiry job did with one lot: Done when the
// lot needs it no more, and the expiry transaction when something was
// left.
type ExpiryOutcome struct {
	Done          bool   `json:"done"`
	TransactionID string `json:"transactionId,omitempty"`
	Amount        int64  `json:"amount,omitempty"`
}

// ExpiryPlan is the decision of the expiry job for one lot: the expiry
// transaction and the customer's change (nil when nothing is left of the
// lot, or it has not expired yet), and whether the lot is done with.
type ExpiryPlan struct {
	Tx     *Transaction
	Change *BalanceChange
	// Done says the lot needs the job no more: it expired (posted now or
	// nothing was left) at st.At.
	Done bool
}

// PlanExpiry expires what is left of the customer's lot seq at its
// expiresAt: one expiry transaction, the customer debited and breakage
// credited. A lot not yet expired at st.At changes nothing; a lot with
// nothing left (spent, or expired before) is done without a transaction.
func PlanExpiry(st Stamp, cust CustomerState, lot Lot) (ExpiryPlan, error) {
	if lot.ExpiresAt == nil || st.At.Before(*lot.ExpiresAt) {
		return ExpiryPlan{}, nil
	}
	w := cust.clone()
	var left int64
	for _, l := range w.Lots {
		if l.Seq == lot.Seq {
			left = l.Remaining
		}
	}
	if left == 0 {
		return ExpiryPlan{Done: true}, nil
	}
	m, _ := w.takeLot(lot.Seq, left)
	ch, p, err := w.balanceMove(lot.Currency, -left, nil)
	if err != nil {
		return ExpiryPlan{}, fmt.Errorf("expire lot %s: %w", lot.ID, err)
	}
	tx := st.Tx(TxExpiry)
	tx.CustomerID, tx.LotID = cust.ID, lot.ID
	tx.Postings = []Posting{p, {Account: AccountBreakage, Currency: lot.Currency, Amount: left}}
	tx.Lots = []LotMove{m}
	return ExpiryPlan{Tx: &tx, Change: &ch, Done: true}, nil
}

// NoticeDays is the shop's expiryNoticeDays: DefaultNoticeDays unless
// set, 0 for no reminders.
func (sh Shop) NoticeDays() int64 {
	if sh.ExpiryNoticeDays == nil {
		return DefaultNoticeDays
	}
	return *sh.ExpiryNoticeDays
}

// ExpiryNotice is a reminder that a lot is about to expire.
type ExpiryNotice struct {
	Customer Customer
	Lot      Lot
}

// PlanExpiryNotice decides the reminder of a lot at at: due when the
// shop sends reminders, the lot expires within the shop's notice days
// and has not expired, and something is left of it (its remaining as
// the customer's record has it). done says the lot needs no reminder any
// more (sent now, or nothing left, or expired, or the shop sends none).
func PlanExpiryNotice(shop Shop, cust CustomerState, lot Lot, at time.Time) (notice *ExpiryNotice, done bool) {
	days := shop.NoticeDays()
	if lot.ExpiresAt == nil || days <= 0 {
		return nil, true
	}
	if !at.Before(*lot.ExpiresAt) {
		return nil, true
	}
	if at.Before(lot.ExpiresAt.Add(-time.Duration(days) * 24 * time.Hour)) {
		return nil, false
	}
	var left int64
	for _, l := range cust.Lots {
		if l.Seq == lot.Seq {
			left = l.Remaining
		}
	}
	if left == 0 {
		return nil, true
	}
	lot.Remaining = left
	return &ExpiryNotice{Customer: cust.View(at), Lot: lot}, true
}

// ValidateNoticeDays checks a shop's expiryNoticeDays.
func ValidateNoticeDays(days int64) error {
	if days < 0 || days > MaxNoticeDays {
		return Invalid("expiryNoticeDays", "expiryNoticeDays must be between 0 and %d", MaxNoticeDays)
	}
	return nil
}

// CheckLots proves a customer's lots against its balances: the lots of
// each currency sum to its balance, none is negative, and no two share a
// number. It returns one message per breach.
func (c CustomerState) CheckLots() []string {
	var out []string
	sums := map[string]int64{}
	seen := map[int64]bool{}
	for _, l := range c.Lots {
		if l.Remaining <= 0 {
			out = append(out, fmt.Sprintf("lot %d in %s has %d left", l.Seq, l.Currency, l.Remaining))
		}
		if seen[l.Seq] {
			out = append(out, fmt.Sprintf("lot %d appears twice", l.Seq))
		}
		if l.Seq > c.LotSeq {
			out = append(out, fmt.Sprintf("lot %d is past the last lot number %d", l.Seq, c.LotSeq))
		}
		seen[l.Seq] = true
		s, err := money.AddInt64(sums[l.Currency], l.Remaining)
		if err != nil {
			out = append(out, fmt.Sprintf("the lots in %s overflow", l.Currency))
		}
		sums[l.Currency] = s
	}
	curs := map[string]bool{}
	for _, b := range c.Balances {
		curs[b.Currency] = true
		if sums[b.Currency] != b.Amount {
			out = append(out, fmt.Sprintf("balance in %s is %d, its lots sum to %d", b.Currency, b.Amount, sums[b.Currency]))
		}
	}
	for cur, s := range sums {
		if !curs[cur] && s != 0 {
			out = append(out, fmt.Sprintf("lots in %s sum to %d, but there is no balance in %s", cur, s, cur))
		}
	}
	sort.Strings(out)
	return out
}
