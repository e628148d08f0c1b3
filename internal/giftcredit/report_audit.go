package giftcredit

import (
	"math/big"
	"sort"
)

// liabilityAudit is what the auditor keeps for the liability report: the
// days the daily close stored and the last day it closed.
type liabilityAudit struct {
	days          map[string][]LiabilityDay // by currency
	closedThrough string
	txs           []Transaction
}

// AddLiabilityDay adds a day the daily close stored, which Report proves
// against the transactions and the balances.
func (a *Auditor) AddLiabilityDay(d LiabilityDay) {
	a.liab.days[d.Currency] = append(a.liab.days[d.Currency], d)
}

// SetClosedThrough names the last day the daily close closed ("" none).
func (a *Auditor) SetClosedThrough(day string) { a.liab.closedThrough = day }

// sideKey is a liability's total in a currency on a day ("" any day).
type sideKey struct {
	day, cur string
	side     liability
}

// checkLiability proves the stored days of the daily close: in each
// currency the days follow each other up to the last closed day, each
// opening is the day before's closing and each closing its opening plus
// its movements (CheckRollForward); every figure equals the sum of the
// postings it names (the day's transactions folded again) and each side's
// change over the day equals the sum of the day's postings to its
// accounts; the last closed day's closing equals the stored balances of
// cards and customers (holds with their funds) less what was posted after
// it; and its outstanding count is the number of cards whose last posting
// by then left a balance above zero.
func (a *Auditor) checkLiability() {
	l := &a.liab
	if len(l.days) == 0 && l.closedThrough == "" {
		return
	}
	bad := func(kind, subject, format string, args ...any) { a.breach(kind, subject, format, args...) }
	refold := map[string]map[string]*Movements{}
	posted := map[sideKey]*big.Int{}
	addPosted := func(k sideKey, v int64) {
		if posted[k] == nil {
			posted[k] = new(big.Int)
		}
		posted[k].Add(posted[k], big.NewInt(v))
	}
	// lastCard is each card's posting of highest version up to the last
	// closed day.
	lastCard := map[string]Posting{}
	for _, t := range l.txs {
		day := t.CreatedAt.UTC().Format(DayLayout)
		if l.closedThrough == "" || day > l.closedThrough {
			for _, p := range t.Postings {
				if side, err := liabilityOf(t, p.Account); err == nil && side != notLiability {
					addPosted(sideKey{"", p.Currency, side}, p.Amount)
				}
			}
			continue
		}
		if refold[day] == nil {
			refold[day] = map[string]*Movements{}
		}
		if err := FoldDay(refold[day], t); err != nil {
			bad("liability_figures", day, "%v", err)
		}
		for _, p := range t.Postings {
			side, err := liabilityOf(t, p.Account)
			if err != nil || side == notLiability {
				continue
			}
			addPosted(sideKey{day, p.Currency, side}, p.Amount)
			if hasPrefix(p.Account, "card:") {
				if prev, ok := lastCard[p.Account]; !ok || p.Version > prev.Version {
					lastCard[p.Account] = p
				}
			}
		}
	}
	outstanding := map[string]int64{}
	for _, p := range lastCard {
		if p.BalanceAfter != nil && *p.BalanceAfter > 0 {
			outstanding[p.Currency]++
		}
	}
	lastOf := map[string]LiabilityDay{}
	for _, cur := range SortedCurrencies(l.days) {
		days := l.days[cur]
		sort.Slice(days, func(i, j int) bool { return days[i].Day < days[j].Day })
		for _, msg := range CheckRollForward(days) {
			bad("liability_rollforward", cur, "%s", msg)
		}
		last := days[len(days)-1]
		lastOf[cur] = last
		if last.Day != l.closedThrough {
			bad("liability_rollforward", cur, "the last stored day is %s, the close closed through %s", last.Day, l.closedThrough)
		}
		prevCount := int64(0)
		for _, d := range days {
			subject := d.Day + "/" + cur
			var want Movements
			if m := refold[d.Day][cur]; m != nil {
				want = *m
			}
			got := d.MovementsOf()
			got.Transactions, want.Transactions = 0, 0
			got.OutstandingDelta = d.GiftCards.OutstandingCount - prevCount
			prevCount = d.GiftCards.OutstandingCount
			if got != want {
				bad("liability_figures", subject, "stored figures %+v, the day's postings give %+v", got, want)
			}
			for side, delta := range map[liability]int64{cardLiability: d.GiftCards.Closing - d.GiftCards.Opening, creditLiability: d.Credit.Closing - d.Credit.Opening} {
				sum := posted[sideKey{d.Day, cur, side}]
				if sum == nil {
					sum = new(big.Int)
				}
				if sum.Cmp(big.NewInt(delta)) != 0 {
					bad("liability_postings", subject, "%s moved %d over the day, its postings sum to %s", sideName(side), delta, sum)
				}
			}
		}
		for day, byCur := range refold {
			if m := byCur[cur]; m != nil && m.Transactions > 0 && day < days[0].Day {
				bad("liability_missing_day", day+"/"+cur, "transactions on a closed day before the currency's first stored day %s", days[0].Day)
			}
		}
		if last.Day == l.closedThrough && last.GiftCards.OutstandingCount != outstanding[cur] {
			bad("liability_outstanding", last.Day+"/"+cur, "outstandingCount %d, %d cards had a balance above zero", last.GiftCards.OutstandingCount, outstanding[cur])
		}
	}
	// Balances: the stored balances less what was posted after the last
	// closed day must equal its closings.
	holdSide := map[string]liability{}
	for _, h := range a.holds {
		if h.Source.Type == SourceGiftCard {
			holdSide[HoldAccount(h.ID)] = cardLiability
		} else {
			holdSide[HoldAccount(h.ID)] = creditLiability
		}
	}
	balances := map[sideKey]*big.Int{}
	for k, st := range a.stored {
		var side liability
		switch {
		case hasPrefix(k[0], "card:"):
			side = cardLiability
		case hasPrefix(k[0], "customer:"):
			side = creditLiability
		default:
			side = holdSide[k[0]]
		}
		if side == notLiability {
			continue
		}
		bk := sideKey{"", k[1], side}
		if balances[bk] == nil {
			balances[bk] = new(big.Int)
		}
		balances[bk].Add(balances[bk], big.NewInt(st.Amount))
	}
	curs := map[string]bool{}
	for k := range balances {
		curs[k.cur] = true
	}
	for c := range lastOf {
		curs[c] = true
	}
	for _, cur := range SortedCurrencies(curs) {
		last := lastOf[cur]
		for side, closing := range map[liability]int64{cardLiability: last.GiftCards.Closing, creditLiability: last.Credit.Closing} {
			bal, after := balances[sideKey{"", cur, side}], posted[sideKey{"", cur, side}]
			if bal == nil {
				bal = new(big.Int)
			}
			if after == nil {
				after = new(big.Int)
			}
			want := new(big.Int).Sub(bal, after)
			if l.closedThrough != "" && want.Cmp(big.NewInt(closing)) != 0 {
				bad("liability_balances", l.closedThrough+"/"+cur, "%s closed at %d; the balances (%s) less what was posted since (%s) give %s",
					sideName(side), closing, bal, after, want)
			}
		}
	}
}

func sideName(s liability) string {
	if s == cardLiability {
		return "gift cards"
	}
	return "credit"
}
