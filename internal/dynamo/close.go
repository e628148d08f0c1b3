package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/giftcredit/giftcredit/internal/deadline"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// The daily close and the liability report (gc report.go).
//
// Items:
//
//	close state   SHOP#<s>#CLOSE                 CLOSE        closedThrough, version, last: {<cur>: closings}
//	checkpoint    SHOP#<s>#CLOSE#<day>           SHARD#<n>    after, done, movements {<cur>: figures}, version (expiresAt TTL)
//	liability day SHOP#<s>#LIAB#<cur>            DAY#<day>    the day's figures in the currency
//
// A day is closed once per shop by one TransactWriteItems: a new day item
// per currency (attribute_not_exists) and the close state moved from the
// day before to the day (conditioned on its version), so the close is
// exactly once per shop, day and currency however many runs overlap. The
// day's transactions are read shard by shard (GSI1 TXS#<day>#<n>, a page
// at a time); a run that runs short of time stores a checkpoint per shard
// it read (where it got to and what it folded) and the next run goes on
// from there. No transaction writes any of these items: the close reads
// the transactions after the day has ended.

// CloseGrace is how long after a day's end (UTC midnight) the day closes.
// A transaction is stamped (its createdAt, which picks its day) just
// before its write, inside one Lambda invocation; no invocation outlives
// Lambda's 15-minute limit, so 15 minutes after midnight no write stamped
// the day before can still land. Five more minutes cover GSI1's
// propagation (usually well under a second) and clock skew.
const CloseGrace = 20 * time.Minute

// closePage is the page size the close reads a shard with.
const closePage = 500

// closePaging is the close's paging: the page size and, for tests, a
// number of pages after which a call stops as if out of time (0: none).
type closePaging struct{ page, stopAfter int }

func keyCloseState(shopID string) key { return key{shopPrefix(shopID) + "CLOSE", "CLOSE"} }
func keyCheckpoint(shopID, day string, shard int) key {
	return key{shopPrefix(shopID) + "CLOSE#" + day, fmt.Sprintf("SHARD#%02d", shard)}
}
func liabPK(shopID, cur string) string { return shopPrefix(shopID) + "LIAB#" + cur }
func keyLiabilityDay(shopID, cur, day string) key {
	return key{liabPK(shopID, cur), "DAY#" + day}
}

// closeState is a shop's close state as stored.
type closeState struct {
	exists        bool
	closedThrough string
	version       int64
	last          map[string]gc.LiabilityDay
}

// movementFields lists a movements' numbers with their attribute names.
func movementFields(m *gc.Movements) []numField {
	return []numField{
		{"issued", &m.GiftCards.Issued}, {"redeemed", &m.GiftCards.Redeemed}, {"cardSpent", &m.GiftCards.Spent},
		{"refunded", &m.GiftCards.Refunded}, {"grantedRedemption", &m.Credit.Granted.Redemption},
		{"grantedCredit", &m.Credit.Granted.Credit}, {"grantedPromotion", &m.Credit.Granted.Promotion},
		{"grantedRefund", &m.Credit.Granted.Refund}, {"creditSpent", &m.Credit.Spent}, {"expired", &m.Credit.Expired},
		{"reversed", &m.Credit.Reversed}, {"outstandingDelta", &m.OutstandingDelta}, {"transactions", &m.Transactions},
	}
}

// dayFields lists a day's numbers with their attribute names.
func dayFields(d *gc.LiabilityDay) []numField {
	g, c := &d.GiftCards, &d.Credit
	return []numField{
		{"cardOpening", &g.Opening}, {"issued", &g.Issued}, {"redeemed", &g.Redeemed}, {"cardSpent", &g.Spent},
		{"refunded", &g.Refunded}, {"cardClosing", &g.Closing}, {"outstandingCount", &g.OutstandingCount},
		{"creditOpening", &c.Opening}, {"grantedRedemption", &c.Granted.Redemption}, {"grantedCredit", &c.Granted.Credit},
		{"grantedPromotion", &c.Granted.Promotion}, {"grantedRefund", &c.Granted.Refund}, {"creditSpent", &c.Spent},
		{"expired", &c.Expired}, {"reversed", &c.Reversed}, {"creditClosing", &c.Closing},
	}
}

type numField struct {
	name string
	v    *int64
}

func putNums(it item, fs []numField) {
	for _, f := range fs {
		it[f.name] = avN(*f.v)
	}
}

func getNums(it item, fs []numField) error {
	for _, f := range fs {
		v, err := it.nOr(f.name, 0)
		if err != nil {
			return err
		}
		*f.v = v
	}
	return nil
}

func liabilityDayItem(shopID string, d gc.LiabilityDay, at time.Time) item {
	it := keyLiabilityDay(shopID, d.Currency, d.Day).av()
	it["day"], it["currency"], it["closedAt"] = avS(d.Day), avS(d.Currency), avS(fmtTime(at))
	putNums(it, dayFields(&d))
	return it
}

func decodeLiabilityDay(it item) (gc.LiabilityDay, error) {
	d := gc.LiabilityDay{Day: it.s("day"), Currency: it.s("currency"), Closed: true}
	if err := getNums(it, dayFields(&d)); err != nil {
		return d, fmt.Errorf("liability day %s %s: %w", d.Day, d.Currency, err)
	}
	return d, nil
}

func (s *Store) readCloseState(ctx context.Context, shopID string) (closeState, error) {
	it, err := s.getOne(ctx, keyCloseState(shopID))
	if err != nil || it == nil {
		return closeState{last: map[string]gc.LiabilityDay{}}, err
	}
	st := closeState{exists: true, closedThrough: it.s("closedThrough"), last: map[string]gc.LiabilityDay{}}
	if st.version, err = it.n("version"); err != nil {
		return st, fmt.Errorf("close state %s: %w", shopID, err)
	}
	if m, ok := it["last"].(*types.AttributeValueMemberM); ok {
		for cur, v := range m.Value {
			d := gc.LiabilityDay{Day: st.closedThrough, Currency: cur, Closed: true}
			if err := getNums(asItem(v), dayFields(&d)); err != nil {
				return st, fmt.Errorf("close state %s: %w", shopID, err)
			}
			st.last[cur] = d
		}
	}
	return st, nil
}

// closeStart is the first day a shop's close closes: the day before the
// shop was created (a day's margin for clocks that disagree, as the audit
// reads).
func closeStart(sh gc.Shop) string { return dayOf(sh.CreatedAt.Add(-24 * time.Hour)) }

// DueDays lists the days of a shop that are due to close at now: from the
// day after the last closed one (or the shop's first) to the last day
// that ended CloseGrace before now.
func (s *Store) DueDays(ctx context.Context, sh gc.Shop, now time.Time) ([]string, error) {
	st, err := s.readCloseState(ctx, sh.ID)
	if err != nil {
		return nil, fmt.Errorf("due days %s: %w", sh.ID, err)
	}
	first := closeStart(sh)
	if st.exists {
		first = gc.NextDay(st.closedThrough)
	}
	last := dayOf(now.Add(-CloseGrace).Add(-24 * time.Hour))
	var out []string
	for d := first; d != "" && d <= last; d = gc.NextDay(d) {
		out = append(out, d)
	}
	return out, nil
}

// checkpoint is one shard's progress on a day.
type checkpoint struct {
	after   string
	done    bool
	version int64
	mv      map[string]*gc.Movements
	dirty   bool
}

func (s *Store) readCheckpoints(ctx context.Context, shopID, day string) ([]checkpoint, error) {
	cps := make([]checkpoint, ListShards)
	for i := range cps {
		cps[i].mv = map[string]*gc.Movements{}
	}
	pk := keyCheckpoint(shopID, day, 0).pk
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("PK = :pk"), ExpressionAttributeValues: item{":pk": avS(pk)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read checkpoints %s: %w", day, err)
		}
		for _, it := range page.Items {
			var n int
			if _, err := fmt.Sscanf(item(it).s(attrSK), "SHARD#%d", &n); err != nil || n < 0 || n >= ListShards {
				return nil, fmt.Errorf("checkpoint %s %s: bad shard", day, item(it).s(attrSK))
			}
			cp := &cps[n]
			cp.after, cp.done = item(it).s("after"), item(it).s("done") == "true"
			if cp.version, err = item(it).n("version"); err != nil {
				return nil, fmt.Errorf("checkpoint %s %d: %w", day, n, err)
			}
			if m, ok := it["movements"].(*types.AttributeValueMemberM); ok {
				for cur, v := range m.Value {
					mv := &gc.Movements{}
					if err := getNums(asItem(v), movementFields(mv)); err != nil {
						return nil, fmt.Errorf("checkpoint %s %d: %w", day, n, err)
					}
					cp.mv[cur] = mv
				}
			}
		}
	}
	return cps, nil
}

// saveCheckpoints stores the shards this run moved, each conditioned on
// the version it read: a run that lost the race to another leaves that
// run's progress in place.
func (s *Store) saveCheckpoints(ctx context.Context, shopID, day string, cps []checkpoint) error {
	var acts []action
	for n, cp := range cps {
		if !cp.dirty {
			continue
		}
		it := keyCheckpoint(shopID, day, n).av()
		it.setS("after", cp.after)
		it["done"] = avS(fmt.Sprint(cp.done))
		it["version"] = avN(cp.version + 1)
		mvs := item{}
		for cur, m := range cp.mv {
			mi := item{}
			putNums(mi, movementFields(m))
			mvs[cur] = avM(mi)
		}
		if len(mvs) > 0 {
			it["movements"] = avM(mvs)
		}
		it[attrTTL] = avN(s.now().Add(30 * 24 * time.Hour).Unix())
		acts = append(acts, s.put(it, "attribute_not_exists(PK) OR version = :v", item{":v": avN(cp.version)}, nil))
	}
	if len(acts) == 0 {
		return nil
	}
	return s.transact(ctx, acts)
}

// CloseDay closes one day of a shop: it folds the day's transactions
// shard by shard (going on from the checkpoints of an earlier run), then
// writes the day's items and moves the close state on, exactly once. A
// day that is not the next one to close is refused; one already closed is
// reported so. When ctx has less than need left before a page, the run
// stores checkpoints and returns with Checkpointed set.
func (s *Store) CloseDay(ctx context.Context, sh gc.Shop, day string, need time.Duration) (gc.CloseOutcome, error) {
	out := gc.CloseOutcome{ShopID: sh.ID, Day: day}
	st, err := s.readCloseState(ctx, sh.ID)
	if err != nil {
		return out, fmt.Errorf("close %s %s: %w", sh.ID, day, err)
	}
	switch {
	case st.exists && st.closedThrough >= day:
		out.AlreadyClosed = true
		return out, nil
	case st.exists && gc.NextDay(st.closedThrough) != day:
		return out, fmt.Errorf("close %s %s: the next day to close is %s", sh.ID, day, gc.NextDay(st.closedThrough))
	case !st.exists && day != closeStart(sh):
		return out, fmt.Errorf("close %s %s: the first day to close is %s", sh.ID, day, closeStart(sh))
	}
	cps, err := s.readCheckpoints(ctx, sh.ID, day)
	if err != nil {
		return out, fmt.Errorf("close %s: %w", sh.ID, err)
	}
	t, _ := time.Parse(gc.DayLayout, day)
	pks := gsiDaily(sh.ID, "TXS", t, t)
	pageSize, pages := cmp.Or(s.closePaging.page, closePage), 0
	for n := range cps {
		cp := &cps[n]
		for !cp.done {
			if deadline.Low(ctx, need) || (s.closePaging.stopAfter > 0 && pages >= s.closePaging.stopAfter) {
				out.Checkpointed = true
				if err := s.saveCheckpoints(ctx, sh.ID, day, cps); err != nil && !errors.Is(err, errRetry) {
					return out, fmt.Errorf("close %s %s: save checkpoints: %w", sh.ID, day, err)
				}
				return out, nil
			}
			page, more, err := s.queryRange(ctx, pks[n], cp.after, "", pageSize)
			pages++
			if err != nil {
				return out, fmt.Errorf("close %s %s: %w", sh.ID, day, err)
			}
			for _, it := range page {
				tx, err := decodeTx(sh.ID, it)
				if err != nil {
					return out, err
				}
				if err := gc.FoldDay(cp.mv, tx); err != nil {
					return out, fmt.Errorf("close %s %s: %w", sh.ID, day, err)
				}
			}
			if len(page) > 0 {
				cp.after = page[len(page)-1].s(attrGSI1SK)
			}
			cp.done, cp.dirty = !more, true
		}
	}
	mv := map[string]*gc.Movements{}
	for _, cp := range cps {
		for cur, m := range cp.mv {
			if mv[cur] == nil {
				mv[cur] = &gc.Movements{}
			}
			if err := mv[cur].Merge(*m); err != nil {
				return out, fmt.Errorf("close %s %s: %w", sh.ID, day, err)
			}
		}
	}
	closed, err := gc.PlanClose(day, st.last, mv)
	if err != nil {
		return out, fmt.Errorf("close %s %s: %w", sh.ID, day, err)
	}
	if len(closed) > 99 {
		return out, fmt.Errorf("close %s %s: %d currencies do not fit one transaction", sh.ID, day, len(closed))
	}
	now := s.now().UTC()
	acts := make([]action, 0, len(closed)+1)
	last := item{}
	for _, d := range closed {
		acts = append(acts, s.putNew(liabilityDayItem(sh.ID, d, now), nil))
		li := item{}
		putNums(li, dayFields(&d))
		last[d.Currency] = avM(li)
		out.Transactions += int(mv[d.Currency].TransactionsOrZero())
	}
	out.Currencies = len(closed)
	cond, vals := "attribute_not_exists(PK)", item{":day": avS(day), ":last": avM(last), ":v": avN(st.version + 1)}
	if st.exists {
		cond, vals[":old"] = "version = :old", avN(st.version)
	}
	// An empty map is left out (a day before any movement): DynamoDB
	// takes one, but minidyn mishandles an empty M.
	expr, names := "SET closedThrough = :day, #last = :last, version = :v", map[string]string{"#last": "last"}
	if len(last) == 0 {
		expr, names = "SET closedThrough = :day, version = :v", nil
		delete(vals, ":last")
	}
	acts = append(acts, s.update(keyCloseState(sh.ID), expr, cond, names, vals, nil))
	switch err := s.transact(ctx, acts); {
	case errors.Is(err, errRetry):
		// Every condition is on an item only a close writes: another run
		// closed the day first, unless the write merely collided.
		again, rerr := s.readCloseState(ctx, sh.ID)
		if rerr == nil && again.exists && again.closedThrough >= day {
			out.AlreadyClosed = true
			return out, nil
		}
		return out, fmt.Errorf("close %s %s: the close write collided; the next run retries", sh.ID, day)
	case err != nil:
		return out, fmt.Errorf("close %s %s: %w", sh.ID, day, err)
	}
	out.Closed = true
	return out, nil
}

// Liability answers the liability report: the stored days of r (one
// Query of the currency's day items), the days after the last closed one
// folded from their transactions, and their summary.
func (s *Store) Liability(ctx context.Context, shopID string, r gc.ReportRange) (gc.LiabilityReport, []gc.LiabilityDay, error) {
	st, err := s.readCloseState(ctx, shopID)
	if err != nil {
		return gc.LiabilityReport{}, nil, fmt.Errorf("liability report: %w", err)
	}
	closedThrough := st.closedThrough
	if !st.exists {
		sh, err := s.Shop(ctx, shopID)
		if err != nil {
			return gc.LiabilityReport{}, nil, fmt.Errorf("liability report: %w", err)
		}
		t, _ := time.Parse(gc.DayLayout, closeStart(sh))
		closedThrough = t.AddDate(0, 0, -1).Format(gc.DayLayout)
	}
	open, err := gc.OpenDays(r, closedThrough)
	if err != nil {
		return gc.LiabilityReport{}, nil, err
	}
	stored := map[string]gc.LiabilityDay{}
	if from := r.From.Format(gc.DayLayout); from <= closedThrough {
		until := min(r.To.Format(gc.DayLayout), closedThrough)
		p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{TableName: aws.String(s.table),
			KeyConditionExpression:    aws.String("PK = :pk AND SK BETWEEN :from AND :to"),
			ExpressionAttributeValues: item{":pk": avS(liabPK(shopID, r.Currency)), ":from": avS("DAY#" + from), ":to": avS("DAY#" + until)}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return gc.LiabilityReport{}, nil, fmt.Errorf("liability report: query days: %w", err)
			}
			for _, it := range page.Items {
				d, err := decodeLiabilityDay(it)
				if err != nil {
					return gc.LiabilityReport{}, nil, err
				}
				stored[d.Day] = d
			}
		}
	}
	moves := map[string]*gc.Movements{}
	for _, day := range open {
		mv, err := s.foldOpenDay(ctx, shopID, day)
		if err != nil {
			return gc.LiabilityReport{}, nil, fmt.Errorf("liability report: %w", err)
		}
		moves[day] = mv[r.Currency]
	}
	days, err := gc.LiabilitySeries(r, closedThrough, st.last[r.Currency], stored, moves)
	if err != nil {
		return gc.LiabilityReport{}, nil, fmt.Errorf("liability report: %w", err)
	}
	rep, err := gc.SummarizeLiability(r.Currency, days)
	return rep, days, err
}

// foldOpenDay folds every transaction of a day that is not closed.
func (s *Store) foldOpenDay(ctx context.Context, shopID, day string) (map[string]*gc.Movements, error) {
	t, _ := time.Parse(gc.DayLayout, day)
	items, _, err := s.queryMerged(ctx, gsiDaily(shopID, "TXS", t, t), "", "", 0)
	if err != nil {
		return nil, err
	}
	mv := map[string]*gc.Movements{}
	for _, it := range items {
		tx, err := decodeTx(shopID, it)
		if err != nil {
			return nil, err
		}
		if err := gc.FoldDay(mv, tx); err != nil {
			return nil, err
		}
	}
	return mv, nil
}

// auditLiability hands the auditor the close state and every stored day.
func (s *Store) auditLiability(ctx context.Context, shopID string, aud *gc.Auditor) error {
	st, err := s.readCloseState(ctx, shopID)
	if err != nil || !st.exists {
		return err
	}
	aud.SetClosedThrough(st.closedThrough)
	for _, cur := range gc.SortedCurrencies(st.last) {
		p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{TableName: aws.String(s.table),
			KeyConditionExpression: aws.String("PK = :pk"), ExpressionAttributeValues: item{":pk": avS(liabPK(shopID, cur))}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("audit liability days %s: %w", cur, err)
			}
			for _, it := range page.Items {
				d, err := decodeLiabilityDay(it)
				if err != nil {
					return err
				}
				aud.AddLiabilityDay(d)
			}
		}
	}
	return nil
}

var _ gc.Reports = (*Store)(nil)
