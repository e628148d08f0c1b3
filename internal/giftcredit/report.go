package giftcredit

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/giftcredit/giftcredit/internal/money"
)

// This file holds the liability report: what a shop owes, per currency,
// on its gift cards and its customers' credit at each day's end, and how
// it moved during the day. It is a pure fold of the day's transactions
// (FoldDay), a roll-forward from the day before (RollForward), a summary
// over a range of days (SummarizeLiability) and the CSV of the days
// (LiabilityCSV). The scheduled daily close runs the fold once per shop,
// day and currency and stores the day; the report reads stored days and
// folds the days not closed yet straight from their transactions.
//
// Which figure a transaction moves is decided by its kind and by where
// its postings land: a posting to a card account (card:<id>) is in the
// gift-card liability, one to a customer account (customer:<id>) in the
// credit liability, and one to a hold's account (hold:<id>) in the
// liability of the hold's funds (the transaction's Funds: a card's hold
// stays a gift-card liability, a credit hold a credit liability). A hold
// only moves value within one liability; it is still owed until captured,
// so holds and releases move no figure, and a capture is spent. The net of
// each liability per transaction goes to the figure figureRules names.

// Reports is the read side of the liability report.
type Reports interface {
	// Liability returns the report of a shop for currency over r's days.
	// EINVALID for a range ParseReportRange would refuse.
	Liability(ctx context.Context, shopID string, r ReportRange) (LiabilityReport, []LiabilityDay, error)
}

// GiftCardFigures is the gift-card side of a day or a range: what was
// owed at the start (Opening) and end (Closing), the movements between,
// and how many cards had a balance above zero at the end.
type GiftCardFigures struct {
	Opening          int64 `json:"opening"`
	Issued           int64 `json:"issued"`
	Redeemed         int64 `json:"redeemed"`
	Spent            int64 `json:"spent"`
	Refunded         int64 `json:"refunded"`
	Closing          int64 `json:"closing"`
	OutstandingCount int64 `json:"outstandingCount"`
}

// CreditGranted is credit granted, by where it came from: a redeemed
// gift card, a direct credit, a promotion or a refund to credit.
type CreditGranted struct {
	Redemption int64 `json:"redemption"`
	Credit     int64 `json:"credit"`
	Promotion  int64 `json:"promotion"`
	Refund     int64 `json:"refund"`
}

// Total is all credit granted.
func (g CreditGranted) Total() (int64, error) {
	return sumAll(g.Redemption, g.Credit, g.Promotion, g.Refund)
}

// CreditFigures is the credit side of a day or a range. Spent, Expired
// and Reversed are outflows (closing = opening + granted − spent −
// expired − reversed); Reversed is negative when reversals gave back more
// spends than they took back grants.
type CreditFigures struct {
	Opening  int64         `json:"opening"`
	Granted  CreditGranted `json:"granted"`
	Spent    int64         `json:"spent"`
	Expired  int64         `json:"expired"`
	Reversed int64         `json:"reversed"`
	Closing  int64         `json:"closing"`
}

// LiabilityReport is GET /v1/reports/liability: the figures of a range
// of days in one currency (opening of From, closing and outstanding count
// of To, movements summed).
type LiabilityReport struct {
	Currency  string          `json:"currency"`
	From      string          `json:"from"`
	To        string          `json:"to"`
	GiftCards GiftCardFigures `json:"giftCards"`
	Credit    CreditFigures   `json:"credit"`
}

// LiabilityDay is one day's figures in one currency. Closed says the
// daily close stored it; an open day was folded from its transactions.
type LiabilityDay struct {
	Day       string          `json:"day"`
	Currency  string          `json:"currency"`
	GiftCards GiftCardFigures `json:"giftCards"`
	Credit    CreditFigures   `json:"credit"`
	Closed    bool            `json:"closed"`
}

// Movements are what one day's transactions moved in one currency: the
// figures without opening and closing, and OutstandingDelta, the change
// of the number of cards with a balance above zero.
type Movements struct {
	GiftCards        GiftCardFigures
	Credit           CreditFigures
	OutstandingDelta int64
	// Transactions counts the transactions folded.
	Transactions int64
}

// figure names one figure of Movements.
type figure int

// The figures a transaction's liabilities can move. figNone: the
// liability must not move (a hold or release moves value within it).
const (
	figNone figure = iota
	figIssued
	figRedeemed
	figCardSpent
	figCardRefunded
	figGrantedRedemption
	figGrantedCredit
	figGrantedPromotion
	figGrantedRefund
	figCreditSpent
	figExpired
	figReversed
)

// figureRule says where a kind's net gift-card and credit movements go.
type figureRule struct{ card, credit figure }

// figureRules maps every kind of transaction to the figures it moves.
// A kind that is missing, or a liability that moves where the rule says
// figNone, makes the fold fail: a new kind must be given its figures here
// before a day holding it can close (TestFigureRulesCoverEveryKind).
var figureRules = map[TxKind]figureRule{
	TxOrder:             {card: figIssued, credit: figCreditSpent},
	TxRedemption:        {card: figRedeemed, credit: figGrantedRedemption},
	TxCredit:            {card: figNone, credit: figGrantedCredit},
	TxPromotionGrant:    {card: figNone, credit: figGrantedPromotion},
	TxCreditApplication: {card: figNone, credit: figCreditSpent},
	TxReversal:          {card: figNone, credit: figReversed},
	TxHold:              {card: figNone, credit: figNone},
	TxCapture:           {card: figCardSpent, credit: figCreditSpent},
	TxRelease:           {card: figNone, credit: figNone},
	TxRefund:            {card: figCardRefunded, credit: figGrantedRefund},
	TxExpiry:            {card: figNone, credit: figExpired},
}

// KnownTxKinds lists every kind of transaction the ledger writes.
var KnownTxKinds = []TxKind{TxOrder, TxRedemption, TxCredit, TxCreditApplication, TxReversal, TxPromotionGrant,
	TxHold, TxCapture, TxRelease, TxRefund, TxExpiry}

// liability is the side of the report a posting's account belongs to.
type liability int

const (
	notLiability liability = iota
	cardLiability
	creditLiability
)

func liabilityOf(t Transaction, account string) (liability, error) {
	switch {
	case hasPrefix(account, "card:"):
		return cardLiability, nil
	case hasPrefix(account, "customer:"):
		return creditLiability, nil
	case hasPrefix(account, "hold:"):
		switch {
		case hasPrefix(t.Funds, "card:"):
			return cardLiability, nil
		case hasPrefix(t.Funds, "customer:"):
			return creditLiability, nil
		}
		return notLiability, fmt.Errorf("transaction %s posts to %s but names no funds", t.ID, account)
	}
	return notLiability, nil
}

// FoldDay adds transactions to per-currency movements (created as
// needed). It fails on a transaction whose liabilities move in a way
// figureRules does not name, so that such a day never closes silently
// wrong.
func FoldDay(into map[string]*Movements, txs ...Transaction) error {
	for _, t := range txs {
		rule, ok := figureRules[t.Kind]
		if !ok {
			return fmt.Errorf("transaction %s: kind %q has no liability figures", t.ID, t.Kind)
		}
		type net struct{ card, credit int64 }
		nets := map[string]*net{}
		var order []string
		for _, p := range t.Postings {
			side, err := liabilityOf(t, p.Account)
			if err != nil {
				return err
			}
			if side == notLiability {
				continue
			}
			n := nets[p.Currency]
			if n == nil {
				n = &net{}
				nets[p.Currency] = n
				order = append(order, p.Currency)
			}
			m := movementsOf(into, p.Currency)
			var err2 error
			if side == cardLiability {
				n.card, err2 = money.AddInt64(n.card, p.Amount)
				if err2 == nil && hasPrefix(p.Account, "card:") {
					err2 = m.countOutstanding(t, p)
				}
			} else {
				n.credit, err2 = money.AddInt64(n.credit, p.Amount)
			}
			if err2 != nil {
				return fmt.Errorf("transaction %s: %w", t.ID, err2)
			}
		}
		for _, cur := range order {
			m, n := into[cur], nets[cur]
			if err := m.add(rule.card, n.card); err != nil {
				return fmt.Errorf("transaction %s (%s) moves the gift cards in %s by %d: %w", t.ID, t.Kind, cur, n.card, err)
			}
			if err := m.add(rule.credit, n.credit); err != nil {
				return fmt.Errorf("transaction %s (%s) moves credit in %s by %d: %w", t.ID, t.Kind, cur, n.credit, err)
			}
			m.Transactions++
		}
	}
	return nil
}

func movementsOf(into map[string]*Movements, cur string) *Movements {
	m := into[cur]
	if m == nil {
		m = &Movements{}
		into[cur] = m
	}
	return m
}

// countOutstanding adds a card posting's crossing of zero: +1 when the
// card goes from nothing to a balance, −1 the other way. Over a day the
// crossings of one card telescope to the change between its balance
// before the day's first posting and after its last, in whatever order
// (and shard) the postings are folded.
func (m *Movements) countOutstanding(t Transaction, p Posting) error {
	if p.BalanceAfter == nil {
		return fmt.Errorf("posting to %s has no balance after", p.Account)
	}
	after := *p.BalanceAfter
	before, err := money.SubInt64(after, p.Amount)
	if err != nil {
		return err
	}
	switch {
	case before <= 0 && after > 0:
		m.OutstandingDelta++
	case before > 0 && after <= 0:
		m.OutstandingDelta--
	}
	return nil
}

// errUnnamed is a liability movement that the kind's rule does not name.
var errUnnamed = fmt.Errorf("the kind's figures do not name this movement")

// add puts a liability's net movement into figure f, with the sign that
// makes the figure positive for its usual direction (an outflow figure
// takes the negated net).
func (m *Movements) add(f figure, net int64) error {
	if net == 0 {
		return nil
	}
	target, sign := m.target(f)
	if target == nil {
		return errUnnamed
	}
	v := net
	if sign < 0 {
		v = -net
	}
	s, err := money.AddInt64(*target, v)
	if err != nil {
		return err
	}
	*target = s
	return nil
}

func (m *Movements) target(f figure) (*int64, int) {
	switch f {
	case figIssued:
		return &m.GiftCards.Issued, 1
	case figRedeemed:
		return &m.GiftCards.Redeemed, -1
	case figCardSpent:
		return &m.GiftCards.Spent, -1
	case figCardRefunded:
		return &m.GiftCards.Refunded, 1
	case figGrantedRedemption:
		return &m.Credit.Granted.Redemption, 1
	case figGrantedCredit:
		return &m.Credit.Granted.Credit, 1
	case figGrantedPromotion:
		return &m.Credit.Granted.Promotion, 1
	case figGrantedRefund:
		return &m.Credit.Granted.Refund, 1
	case figCreditSpent:
		return &m.Credit.Spent, -1
	case figExpired:
		return &m.Credit.Expired, -1
	case figReversed:
		return &m.Credit.Reversed, -1
	}
	return nil, 0
}

// Merge adds other's movements to m (partial folds of one day's shards).
func (m *Movements) Merge(o Movements) error {
	pairs := [][2]*int64{
		{&m.GiftCards.Issued, &o.GiftCards.Issued}, {&m.GiftCards.Redeemed, &o.GiftCards.Redeemed},
		{&m.GiftCards.Spent, &o.GiftCards.Spent}, {&m.GiftCards.Refunded, &o.GiftCards.Refunded},
		{&m.Credit.Granted.Redemption, &o.Credit.Granted.Redemption}, {&m.Credit.Granted.Credit, &o.Credit.Granted.Credit},
		{&m.Credit.Granted.Promotion, &o.Credit.Granted.Promotion}, {&m.Credit.Granted.Refund, &o.Credit.Granted.Refund},
		{&m.Credit.Spent, &o.Credit.Spent}, {&m.Credit.Expired, &o.Credit.Expired}, {&m.Credit.Reversed, &o.Credit.Reversed},
		{&m.OutstandingDelta, &o.OutstandingDelta}, {&m.Transactions, &o.Transactions},
	}
	for _, p := range pairs {
		s, err := money.AddInt64(*p[0], *p[1])
		if err != nil {
			return fmt.Errorf("merge movements: %w", err)
		}
		*p[0] = s
	}
	return nil
}

// RollForward closes a day: its opening is prev's closing (and
// outstanding count), its closing the opening plus the movements. prev is
// the zero LiabilityDay before a currency's first day.
func RollForward(prev LiabilityDay, day, cur string, m Movements) (LiabilityDay, error) {
	d := LiabilityDay{Day: day, Currency: cur, GiftCards: m.GiftCards, Credit: m.Credit}
	d.GiftCards.Opening, d.Credit.Opening = prev.GiftCards.Closing, prev.Credit.Closing
	g := d.GiftCards
	var err error
	if d.GiftCards.Closing, err = sumAll(g.Opening, g.Issued, -g.Redeemed, -g.Spent, g.Refunded); err != nil {
		return d, fmt.Errorf("roll forward %s %s: gift cards: %w", day, cur, err)
	}
	granted, err := d.Credit.Granted.Total()
	if err != nil {
		return d, fmt.Errorf("roll forward %s %s: credit granted: %w", day, cur, err)
	}
	c := d.Credit
	if d.Credit.Closing, err = sumAll(c.Opening, granted, -c.Spent, -c.Expired, -c.Reversed); err != nil {
		return d, fmt.Errorf("roll forward %s %s: credit: %w", day, cur, err)
	}
	d.GiftCards.OutstandingCount = prev.GiftCards.OutstandingCount + m.OutstandingDelta
	return d, nil
}

// MovementsOf returns the movements a stored day records.
func (d LiabilityDay) MovementsOf() Movements {
	m := Movements{GiftCards: d.GiftCards, Credit: d.Credit}
	m.GiftCards.Opening, m.GiftCards.Closing, m.GiftCards.OutstandingCount = 0, 0, 0
	m.Credit.Opening, m.Credit.Closing = 0, 0
	return m
}

func sumAll(xs ...int64) (int64, error) {
	var s int64
	for _, x := range xs {
		var err error
		if s, err = money.AddInt64(s, x); err != nil {
			return 0, err
		}
	}
	return s, nil
}

// SummarizeLiability sums consecutive days of one currency into the
// report of their range: the first day's opening, the last day's closing
// and outstanding count, the movements summed. days must not be empty.
func SummarizeLiability(cur string, days []LiabilityDay) (LiabilityReport, error) {
	if len(days) == 0 {
		return LiabilityReport{}, fmt.Errorf("summarize liability: no days")
	}
	first, last := days[0], days[len(days)-1]
	r := LiabilityReport{Currency: cur, From: first.Day, To: last.Day}
	var total Movements
	for _, d := range days {
		if err := total.Merge(d.MovementsOf()); err != nil {
			return r, err
		}
	}
	r.GiftCards, r.Credit = total.GiftCards, total.Credit
	r.GiftCards.Opening, r.Credit.Opening = first.GiftCards.Opening, first.Credit.Opening
	r.GiftCards.Closing, r.Credit.Closing = last.GiftCards.Closing, last.Credit.Closing
	r.GiftCards.OutstandingCount = last.GiftCards.OutstandingCount
	return r, nil
}

// CheckRollForward proves a run of consecutive days: each day's opening
// is the previous day's closing, its closing follows from its opening and
// movements, and no day is skipped. It returns one message per breach.
func CheckRollForward(days []LiabilityDay) []string {
	var out []string
	for i, d := range days {
		prev := LiabilityDay{}
		if i > 0 {
			prev = days[i-1]
			if next := NextDay(prev.Day); next != d.Day {
				out = append(out, fmt.Sprintf("%s %s follows %s: a day is missing", d.Day, d.Currency, prev.Day))
			}
			if d.GiftCards.Opening != prev.GiftCards.Closing || d.Credit.Opening != prev.Credit.Closing {
				out = append(out, fmt.Sprintf("%s %s opens at %d/%d, %s closed at %d/%d (gift cards/credit)", d.Day, d.Currency,
					d.GiftCards.Opening, d.Credit.Opening, prev.Day, prev.GiftCards.Closing, prev.Credit.Closing))
			}
		}
		m := d.MovementsOf()
		m.OutstandingDelta = d.GiftCards.OutstandingCount - prev.GiftCards.OutstandingCount
		opening := LiabilityDay{GiftCards: GiftCardFigures{Closing: d.GiftCards.Opening, OutstandingCount: prev.GiftCards.OutstandingCount},
			Credit: CreditFigures{Closing: d.Credit.Opening}}
		want, err := RollForward(opening, d.Day, d.Currency, m)
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		if want.GiftCards.Closing != d.GiftCards.Closing || want.Credit.Closing != d.Credit.Closing {
			out = append(out, fmt.Sprintf("%s %s closes at %d/%d, its opening and movements give %d/%d", d.Day, d.Currency,
				d.GiftCards.Closing, d.Credit.Closing, want.GiftCards.Closing, want.Credit.Closing))
		}
	}
	return out
}

// DayLayout is the layout of a report day (UTC).
const DayLayout = "2006-01-02"

// MaxReportDays bounds a report's range.
const MaxReportDays = 366

// NextDay is the day after day (DayLayout); "" if day is malformed.
func NextDay(day string) string {
	t, err := time.Parse(DayLayout, day)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, 1).Format(DayLayout)
}

// ReportRange is a validated report request: UTC days From..To, both
// included, in Currency.
type ReportRange struct {
	Currency string
	From, To time.Time
}

// Days lists the range's days.
func (r ReportRange) Days() []string {
	var out []string
	for d := r.From; !d.After(r.To); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(DayLayout))
	}
	return out
}

// ParseReportRange validates a report's query: from and to are UTC days
// (YYYY-MM-DD), to on or after from and not after today (the day of now),
// at most MaxReportDays days in all; currency an ISO 4217 code.
func ParseReportRange(from, to, currency string, now time.Time) (ReportRange, error) {
	var r ReportRange
	day := func(field, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, Invalid(field, "%s is required (YYYY-MM-DD, a UTC day)", field)
		}
		t, err := time.Parse(DayLayout, s)
		if err != nil || t.Format(DayLayout) != s {
			return time.Time{}, Invalid(field, "%s must be a date YYYY-MM-DD (a UTC day)", field)
		}
		return t, nil
	}
	var err error
	if r.From, err = day("from", from); err != nil {
		return r, err
	}
	if r.To, err = day("to", to); err != nil {
		return r, err
	}
	if r.To.Before(r.From) {
		return r, Invalid("to", "to must be on or after from")
	}
	today := now.UTC().Truncate(24 * time.Hour)
	if r.To.After(today) {
		return r, Invalid("to", "to must not be after today (%s UTC)", today.Format(DayLayout))
	}
	if n := int(r.To.Sub(r.From).Hours()/24) + 1; n > MaxReportDays {
		return r, Invalid("to", "a report covers at most %d days; this range has %d", MaxReportDays, n)
	}
	if err := ValidateCurrency(currency); err != nil {
		return r, err
	}
	r.Currency = currency
	return r, nil
}

// LiabilityColumns are the CSV columns, in order.
var LiabilityColumns = []string{"day", "currency",
	"giftCards.opening", "giftCards.issued", "giftCards.redeemed", "giftCards.spent", "giftCards.refunded", "giftCards.closing", "giftCards.outstandingCount",
	"credit.opening", "credit.granted.redemption", "credit.granted.credit", "credit.granted.promotion", "credit.granted.refund",
	"credit.spent", "credit.expired", "credit.reversed", "credit.closing", "closed"}

// LiabilityCSV renders days as CSV (RFC 4180, CRLF line ends): a header
// of LiabilityColumns, then one row per day with amounts in minor units.
// No field needs quoting: days, currency codes and integers only.
func LiabilityCSV(days []LiabilityDay) string {
	var sb strings.Builder
	sb.WriteString(strings.Join(LiabilityColumns, ","))
	sb.WriteString("\r\n")
	for _, d := range days {
		g, c := d.GiftCards, d.Credit
		nums := []int64{g.Opening, g.Issued, g.Redeemed, g.Spent, g.Refunded, g.Closing, g.OutstandingCount,
			c.Opening, c.Granted.Redemption, c.Granted.Credit, c.Granted.Promotion, c.Granted.Refund, c.Spent, c.Expired, c.Reversed, c.Closing}
		sb.WriteString(csvField(d.Day))
		sb.WriteByte(',')
		sb.WriteString(csvField(d.Currency))
		for _, n := range nums {
			sb.WriteByte(',')
			sb.WriteString(strconv.FormatInt(n, 10))
		}
		sb.WriteByte(',')
		sb.WriteString(strconv.FormatBool(d.Closed))
		sb.WriteString("\r\n")
	}
	return sb.String()
}

// csvField quotes a field that holds a comma, quote or line break, and
// defuses one a spreadsheet would run as a formula.
func csvField(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	if strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// PlanClose closes day for a shop: one LiabilityDay for every currency
// that had a day before (prev, the closings of the day before) or moved
// on the day (mv), rolled forward from prev. A currency that stops moving
// keeps getting a day, so each currency's days are consecutive from its
// first and a report reads one stored day per day.
func PlanClose(day string, prev map[string]LiabilityDay, mv map[string]*Movements) ([]LiabilityDay, error) {
	curs := map[string]bool{}
	for c := range prev {
		curs[c] = true
	}
	for c := range mv {
		curs[c] = true
	}
	out := make([]LiabilityDay, 0, len(curs))
	for _, c := range SortedCurrencies(curs) {
		var m Movements
		if mv[c] != nil {
			m = *mv[c]
		}
		d, err := RollForward(prev[c], day, c, m)
		if err != nil {
			return nil, err
		}
		d.Closed = true
		out = append(out, d)
	}
	return out, nil
}

// SortedCurrencies lists a map's keys (currencies) in order.
func SortedCurrencies[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// MaxOpenDays bounds the days a report folds from their transactions
// (the days after the last closed one). The close runs every hour, so
// normally one or two days are open; more means the close is behind, and
// the report answers EUNAVAILABLE rather than read days of transactions.
const MaxOpenDays = 7

// OpenDays lists the days of r's currency that the report must fold from
// transactions: those after closedThrough up to r.To (including days
// before r.From, whose movements make r.From's opening). ErrCloseBehind
// when there are more than MaxOpenDays.
func OpenDays(r ReportRange, closedThrough string) ([]string, error) {
	start := r.From
	if ct, err := time.Parse(DayLayout, closedThrough); err == nil {
		start = ct.AddDate(0, 0, 1)
	}
	var out []string
	for d := start; !d.After(r.To); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(DayLayout))
		if len(out) > MaxOpenDays {
			return nil, ErrCloseBehind
		}
	}
	return out, nil
}

// ErrCloseBehind is the answer when the daily close has fallen behind.
var ErrCloseBehind = &Error{Code: EUNAVAILABLE, Detail: map[string]string{"retryAfter": "3600"},
	Message: "the daily close is behind: the report is available once it has caught up"}

// LiabilitySeries builds r's days: the stored days up to closedThrough
// (a closed day with nothing stored in the currency, before its first
// movement, carries the day before forward), then the open days rolled
// forward from last, the stored closing of closedThrough in the currency,
// with their movements folded from transactions (open, by day).
func LiabilitySeries(r ReportRange, closedThrough string, last LiabilityDay, stored map[string]LiabilityDay, open map[string]*Movements) ([]LiabilityDay, error) {
	prev := LiabilityDay{}
	from := r.From.Format(DayLayout)
	if closedThrough != "" && closedThrough < from {
		prev = last
		for d := NextDay(closedThrough); d < from; d = NextDay(d) {
			next, err := rollOpen(prev, d, r.Currency, open)
			if err != nil {
				return nil, err
			}
			prev = next
		}
	}
	var out []LiabilityDay
	for _, d := range r.Days() {
		var day LiabilityDay
		var err error
		switch s, ok := stored[d]; {
		case d <= closedThrough && ok:
			day = s
			day.Closed = true
		case d <= closedThrough:
			day, err = RollForward(prev, d, r.Currency, Movements{})
			day.Closed = true
		default:
			day, err = rollOpen(prev, d, r.Currency, open)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, day)
		prev = day
	}
	return out, nil
}

func rollOpen(prev LiabilityDay, day, cur string, open map[string]*Movements) (LiabilityDay, error) {
	var m Movements
	if open[day] != nil {
		m = *open[day]
	}
	return RollForward(prev, day, cur, m)
}

// CloseOutcome is what one call of the daily close did for a shop's day.
type CloseOutcome struct {
	ShopID string `json:"shopId"`
	Day    string `json:"day"`
	// Closed: this call closed the day; AlreadyClosed: another had.
	Closed        bool `json:"closed,omitempty"`
	AlreadyClosed bool `json:"alreadyClosed,omitempty"`
	// Checkpointed: time ran short; the next run goes on from where this
	// one stopped.
	Checkpointed bool `json:"checkpointed,omitempty"`
	Transactions int  `json:"transactions"`
	Currencies   int  `json:"currencies"`
}

// TransactionsOrZero is m's transaction count (0 for nil).
func (m *Movements) TransactionsOrZero() int64 {
	if m == nil {
		return 0
	}
	return m.Transactions
}
