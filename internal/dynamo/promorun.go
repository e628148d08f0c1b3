package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// Promotion runs are stored beside the promotion they run:
//
//	run            SHOP#<s>#PROMO#<p>                 RUN#<run>    (the promotion's item collection: its run history)
//	batch          SHOP#<s>#PROMO#<p>#RUN#<run>#BATCH#<seq, 8 digits>  BATCH  (candidates)
//	batch state    SHOP#<s>#PROMO#<p>#RUN#<run>#BATCH#<seq, 8 digits>  STATE  (pending, done)
//	lease shard    SHOP#<s>#PROMO#<p>#RUN#<run>#BATCH#<seq>#LEASE#<k>  LEASE  (promotions with a budget)
//	waiting order  SHOP#<s>#PROMO#<p>#WAIT#<grant key> WAIT         GSI1 SHOP#<s>#PROMO#<p>#WAITING / <order time>#<grant key>
//	                                                              (GSI1PK becomes ...#RESOLVED when resolved)
//
// and the promotion item itself carries the run's bookkeeping: runId and
// runStatus (the latest run, and whether it is still running: at most one
// is) and examinedUntil (every order placed before it was examined by a
// finished run). Nothing here relies on REMOVE, which minidyn v0.8.2
// ignores: each phase has its own cursor attribute, and a resolved waiting
// record moves to another GSI1 partition. Each run examines the orders of
// [examinedUntil, until) through GSI1 (SHOP#<s>#ORDERS#<day>#<n>, merged by
// time, one day at a time), then the candidates waiting from earlier runs,
// cutting both into batches. A step of
// the scan writes its batch and moves the run's cursor in one transaction
// conditioned on the cursor read, so a killed scan resumes at the first page
// it had not saved, and two scanners of one run never both advance it.
//
// A batch of a promotion with a budget leases its share of the budget
// before its first grant (LeaseBudget) and returns what is left of it when
// it is done (CompleteBatch):
//
//	lease shards  put if absent, shard k: leased = leaseRemaining   once per batch, every shard at once
//	              = promotion.SplitLease(x, ...)[k]
//	batch state   condition check: still pending                  (a done batch never leases)
//	promotion     budgetRemaining -= x if status active and       (no write when x is 0)
//	              budgetRemaining >= x
//
// x is promotion.BatchLease of the budget read: candidates × credit,
// bounded by budgetRemaining, spread over min(LeaseShards, candidates)
// shards, each a partition of its own, candidate i's credit in shard
// i mod shards. Each grant spends one shard (grants.go): its own, or the
// first that can pay. The transaction that marks the batch done also sets
// every shard's returnedAt (conditioned on its leaseRemaining as read and
// not returned yet) and adds what they hold back to budgetRemaining, or
// checks that no lease exists, so a lease is returned exactly once and
// never taken after its batch is done.

var _ promotion.PromotionRuns = (*Store)(nil)

func keyRun(shopID, promoID, runID string) key {
	return key{shopPrefix(shopID) + "PROMO#" + promoID, "RUN#" + runID}
}

// keyBatch is a batch of a run: a partition of its own, since batches are
// written in parallel (created, completed) and their items are large.
func keyBatch(shopID, promoID, runID string, seq int) key {
	return key{fmt.Sprintf("%sPROMO#%s#RUN#%s#BATCH#%08d", shopPrefix(shopID), promoID, runID, seq), "BATCH"}
}

// keyBatchState is a batch's status (pending, done), beside its
// candidates: a small item, so that leasing and completing a batch do not
// write the large one again.
func keyBatchState(shopID, promoID, runID string, seq int) key {
	return key{keyBatch(shopID, promoID, runID, seq).pk, "STATE"}
}

// keyLease is shard k of a batch's lease of the promotion's budget. Every
// shard is a partition of its own: each grant of the batch writes one of
// them, so none takes more than about one grant in LeaseShards.
func keyLease(shopID, promoID, runID string, seq, k int) key {
	return key{fmt.Sprintf("%s#LEASE#%02d", keyBatch(shopID, promoID, runID, seq).pk, k), "LEASE"}
}

// leaseKeys are the shards of the lease of a batch of n candidates.
func leaseKeys(shopID, promoID, runID string, seq, n int) []key {
	out := make([]key, max(1, min(LeaseShards, n)))
	for k := range out {
		out[k] = keyLease(shopID, promoID, runID, seq, k)
	}
	return out
}

func keyWaiting(shopID, promoID, grantKey string) key {
	return key{shopPrefix(shopID) + "PROMO#" + promoID + "#WAIT#" + grantKey, "WAIT"}
}

func gsiWaiting(shopID, promoID string) string {
	return shopPrefix(shopID) + "PROMO#" + promoID + "#WAITING"
}

func gsiResolved(shopID, promoID string) string {
	return shopPrefix(shopID) + "PROMO#" + promoID + "#RESOLVED"
}

// Attributes of the promotion item that runs maintain.
const (
	attrRunID         = "runId"
	attrRunStatus     = "runStatus"
	attrExaminedUntil = "examinedUntil"
)

// cursorAttr is the run attribute holding the scan's position in a phase.
func cursorAttr(p gc.RunPhase) string { return string(p) + "Cursor" }

// waitingTTL is how long a resolved waiting record is kept before TTL
// removes it.
const waitingTTL = 90 * 24 * time.Hour

// Run counters are top-level numbers so that concurrent workers add to them
// with ADD (no read, no lost update); skips are one attribute per reason.
const (
	attrOrdersExamined = "ordersExamined"
	attrReexamined     = "reexamined"
	attrCreditsGranted = "creditsGranted"
	attrAmountGranted  = "amountGranted"
	skipPrefix         = "skip_"
)

var errRunMoved = gc.Errorf(gc.ECONFLICT, "the promotion run was advanced by another invocation")

func runItem(shopID string, r gc.PromotionRun) item {
	it := keyRun(shopID, r.PromotionID, r.ID).av()
	it["id"] = avS(r.ID)
	it["promotionId"] = avS(r.PromotionID)
	it["status"] = avS(string(r.Status))
	it["phase"] = avS(string(r.Phase))
	it["from"] = avS(fmtTime(r.From))
	it["until"] = avS(fmtTime(r.Until))
	it["batches"] = avN(0)
	it["batchesDone"] = avN(0)
	it["dispatched"] = avN(0)
	for _, a := range []string{attrOrdersExamined, attrReexamined, attrCreditsGranted, attrAmountGranted} {
		it[a] = avN(0)
	}
	it["startedAt"] = avS(fmtTime(r.StartedAt))
	it["updatedAt"] = avS(fmtTime(r.UpdatedAt))
	return it
}

func decodeRun(it item) (gc.PromotionRun, error) {
	r := gc.PromotionRun{ID: it.s("id"), PromotionID: it.s("promotionId"), Status: gc.RunStatus(it.s("status")),
		Phase: gc.RunPhase(it.s("phase"))}
	if r.Phase == gc.PhaseOrders || r.Phase == gc.PhaseWaiting {
		r.Cursor = it.s(cursorAttr(r.Phase))
	}
	var err error
	for _, t := range []struct {
		k string
		v *time.Time
	}{{"from", &r.From}, {"until", &r.Until}, {"startedAt", &r.StartedAt}, {"updatedAt", &r.UpdatedAt}, {"finishedAt", &r.FinishedAt}} {
		if *t.v, err = it.t(t.k); err != nil {
			return r, err
		}
	}
	for _, n := range []struct {
		k string
		v *int
	}{{"batches", &r.Batches}, {"batchesDone", &r.BatchesDone}, {"dispatched", &r.Dispatched}} {
		v, err := it.nOr(n.k, 0)
		if err != nil {
			return r, err
		}
		*n.v = int(v)
	}
	for _, n := range []struct {
		k string
		v *int64
	}{{attrOrdersExamined, &r.Counts.OrdersExamined}, {attrReexamined, &r.Counts.Reexamined},
		{attrCreditsGranted, &r.Counts.CreditsGranted}, {attrAmountGranted, &r.Counts.AmountGranted}} {
		if *n.v, err = it.nOr(n.k, 0); err != nil {
			return r, err
		}
	}
	for k := range it {
		if reason, ok := strings.CutPrefix(k, skipPrefix); ok {
			n, err := it.n(k)
			if err != nil {
				return r, err
			}
			r.Counts.Skip(gc.SkipReason(reason), n)
		}
	}
	return r, nil
}

// addCounts appends "ADD" terms for the non-zero counts of c to an update.
func addCounts(c gc.RunCounts, names map[string]string, vals item) []string {
	var terms []string
	add := func(attr string, n int64) {
		if n == 0 {
			return
		}
		i := strconv.Itoa(len(terms))
		names["#c"+i] = attr
		vals[":c"+i] = avN(n)
		terms = append(terms, "#c"+i+" :c"+i)
	}
	add(attrOrdersExamined, c.OrdersExamined)
	add(attrReexamined, c.Reexamined)
	add(attrCreditsGranted, c.CreditsGranted)
	add(attrAmountGranted, c.AmountGranted)
	for _, r := range gc.SkipReasons {
		add(skipPrefix+string(r), c.Skipped[r])
	}
	return terms
}

func updateExpr(set []string, add []string) string {
	var parts []string
	if len(set) > 0 {
		parts = append(parts, "SET "+strings.Join(set, ", "))
	}
	if len(add) > 0 {
		parts = append(parts, "ADD "+strings.Join(add, ", "))
	}
	return strings.Join(parts, " ")
}

// StartRun returns the promotion's run in progress or starts the next one.
func (s *Store) StartRun(ctx context.Context, shopID, promoID string, until time.Time) (gc.PromotionRun, bool, error) {
	if !gc.ValidID("pro", promoID) {
		return gc.PromotionRun{}, false, gc.ErrPromotionNotFound
	}
	for attempt := 1; ; attempt++ {
		pit, err := s.getOne(ctx, keyPromotion(shopID, promoID))
		if err != nil {
			return gc.PromotionRun{}, false, fmt.Errorf("start run: %w", err)
		}
		if pit == nil {
			return gc.PromotionRun{}, false, gc.ErrPromotionNotFound
		}
		if pit.s(attrRunStatus) == string(gc.RunRunning) {
			r, err := s.Run(ctx, shopID, promoID, pit.s(attrRunID))
			return r, err == nil, err
		}
		p, err := decodePromotion(pit)
		if err != nil {
			return gc.PromotionRun{}, false, err
		}
		watermark := pit.s(attrExaminedUntil)
		var examined *time.Time
		if watermark != "" {
			t, err := pit.t(attrExaminedUntil)
			if err != nil {
				return gc.PromotionRun{}, false, err
			}
			examined = &t
		}
		run, start, err := promotion.PlanStart(p, examined, until,
			func(from, to time.Time) (bool, error) {
				orders, _, err := s.runOrders(ctx, shopID, gc.PromotionRun{PromotionID: promoID, From: from, Until: to}, 1)
				return len(orders) > 0, err
			},
			func(from, to time.Time) (bool, error) {
				return s.resolvableWaiting(ctx, shopID, gc.PromotionRun{PromotionID: promoID, From: from, Until: to})
			})
		if err != nil {
			return gc.PromotionRun{}, false, err
		}
		// The promotion item is only touched if nothing changed since it
		// was read: no run started, the watermark where it was.
		cond := "(attribute_not_exists(" + attrRunStatus + ") OR " + attrRunStatus + " = :done) AND "
		vals := item{":done": avS(string(gc.RunDone))}
		if watermark == "" {
			cond += "attribute_not_exists(" + attrExaminedUntil + ")"
		} else {
			cond += attrExaminedUntil + " = :from"
			vals[":from"] = avS(watermark)
		}
		if !start {
			if run.Until.After(run.From) {
				// Nothing was placed in [from, until): move the watermark
				// without a run, so the next run does not read it again.
				vals[":until"] = avS(fmtTime(run.Until))
				err := s.updateOne(ctx, s.update(keyPromotion(shopID, promoID), "SET "+attrExaminedUntil+" = :until", cond, nil, vals, errRunMoved))
				if err != nil && !errors.Is(err, errRunMoved) {
					return gc.PromotionRun{}, false, fmt.Errorf("start run: %w", err)
				}
			}
			return gc.PromotionRun{}, false, nil
		}
		if run.ID, err = s.ids.New("run"); err != nil {
			return gc.PromotionRun{}, false, err
		}
		run.StartedAt = s.now().UTC()
		run.UpdatedAt = run.StartedAt
		vals[":run"] = avS(run.ID)
		vals[":running"] = avS(string(gc.RunRunning))
		err = s.transact(ctx, []action{
			s.putNew(runItem(shopID, run), nil),
			s.update(keyPromotion(shopID, promoID), "SET "+attrRunID+" = :run, "+attrRunStatus+" = :running", cond, nil, vals, nil),
		})
		switch {
		case err == nil:
			return run, true, nil
		case errors.Is(err, errRetry) && attempt < s.maxAttempts:
			// Another invocation started a run (or moved the watermark): read again.
			continue
		default:
			return gc.PromotionRun{}, false, fmt.Errorf("start run: %w", err)
		}
	}
}

// resolvableWaiting reports whether a candidate waiting from an earlier run
// now has a customer with its billing email: only then is a run worth
// starting for the waiting list alone. It reads the waiting list and the
// email locks of its billing emails (BatchGetItem, 100 at a time).
func (s *Store) resolvableWaiting(ctx context.Context, shopID string, run gc.PromotionRun) (bool, error) {
	p := dynamodb.NewQueryPaginator(s.client, s.waitingQuery(shopID, run, 100))
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("waiting candidates: %w", err)
		}
		seen := map[string]bool{}
		var keys []item
		for _, it := range out.Items {
			email, err := gc.NormalizeEmail("billingEmail", asItem(it["candidate"]).s("billingEmail"))
			if err != nil || seen[email] {
				continue
			}
			seen[email] = true
			keys = append(keys, keyEmail(shopID, email).av())
		}
		found := false
		err = s.batchGet(ctx, keys, "", nil, func(item) (bool, error) { found = true; return false, nil })
		if err != nil {
			return false, fmt.Errorf("waiting candidates' customers: %w", err)
		}
		if found {
			return true, nil
		}
	}
	return false, nil
}

// Run reads a run.
func (s *Store) Run(ctx context.Context, shopID, promoID, runID string) (gc.PromotionRun, error) {
	it, err := s.getOne(ctx, keyRun(shopID, promoID, runID))
	if err != nil {
		return gc.PromotionRun{}, fmt.Errorf("get run: %w", err)
	}
	if it == nil {
		return gc.PromotionRun{}, gc.Errorf(gc.ENOTFOUND, "promotion run not found")
	}
	return decodeRun(it)
}

// PromotionRunHistory lists a promotion's runs, newest first (run ids sort
// by time).
func (s *Store) PromotionRunHistory(ctx context.Context, shopID, promoID string, pr gc.PageRequest) (gc.PromotionRunPage, error) {
	pr, err := pr.Normalize()
	if err != nil {
		return gc.PromotionRunPage{}, err
	}
	if !gc.ValidID("pro", promoID) {
		return gc.PromotionRunPage{}, gc.ErrPromotionNotFound
	}
	partition := keyPromotion(shopID, promoID).pk
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :run)"),
		ExpressionAttributeValues: item{":pk": avS(partition), ":run": avS("RUN#")},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(pr.Limit)),
	}
	if pr.Cursor != "" {
		start, err := decodeCursor(pr.Cursor)
		if err != nil || start.s(attrPK) != partition {
			return gc.PromotionRunPage{}, gc.Invalid("cursor", "the cursor is not valid for this list")
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return gc.PromotionRunPage{}, fmt.Errorf("promotion runs: %w", err)
	}
	page := gc.PromotionRunPage{Runs: make([]gc.PromotionRun, 0, len(out.Items))}
	for _, it := range out.Items {
		r, err := decodeRun(it)
		if err != nil {
			return page, err
		}
		page.Runs = append(page.Runs, r)
	}
	if len(out.LastEvaluatedKey) > 0 {
		page.NextCursor = encodeCursor(out.LastEvaluatedKey)
	}
	return page, nil
}

// RunOrders reads the next page of the run's orders from GSI1: GSI1SK
// BETWEEN <from> AND <until>, which is [from, until) because every order's
// sort key is "<time>#<id>", longer than the bare time.
func (s *Store) RunOrders(ctx context.Context, shopID string, run gc.PromotionRun, limit int) ([]gc.Order, string, error) {
	if run.Phase != gc.PhaseOrders {
		return nil, "", fmt.Errorf("run orders: run %s is in phase %s", run.ID, run.Phase)
	}
	return s.runOrders(ctx, shopID, run, limit)
}

// OrderCursor is the run cursor after order o: the position RunOrders
// returns after a page that ends with o.
func (s *Store) OrderCursor(o gc.Order) string {
	return encodeCursor(item{attrGSI1SK: avS(fmtTime(o.CreatedAt) + "#" + o.ID)})
}

func (s *Store) runOrders(ctx context.Context, shopID string, run gc.PromotionRun, limit int) ([]gc.Order, string, error) {
	// Orders are sharded by day: the run's days, every shard, merged by
	// time. The cursor is the sort key of the last order returned.
	after := fmtTime(run.From)
	if run.Cursor != "" {
		start, err := decodeCursor(run.Cursor)
		if err != nil || start.s(attrGSI1SK) == "" {
			return nil, "", fmt.Errorf("run orders: bad cursor on run %s", run.ID)
		}
		after = start.s(attrGSI1SK)
	}
	// The days before the cursor's are done: read from its day on, one day
	// at a time (a day's orders all sort before the next day's), so a page
	// queries the shards of the days it needs and no more.
	from := run.From
	if t, err := time.Parse(timeLayout, strings.SplitN(after, "#", 2)[0]); err == nil && t.After(from) {
		from = t
	}
	var items []item
	more := false
	ds := days(from, run.Until)
	for i, d := range ds {
		page, dayMore, err := s.queryMerged(ctx, shardKeys(shopPrefix(shopID)+"ORDERS#"+d, ListShards), after, fmtTime(run.Until), max(limit-len(items), 0))
		if err != nil {
			return nil, "", fmt.Errorf("run orders: %w", err)
		}
		items = append(items, page...)
		if limit > 0 && len(items) >= limit {
			more = dayMore || i < len(ds)-1
			break
		}
	}
	orders := make([]gc.Order, 0, len(items))
	for _, it := range items {
		o, err := decodeOrder(it)
		if err != nil {
			return nil, "", err
		}
		orders = append(orders, o)
	}
	var next string
	if more && len(items) > 0 {
		next = encodeCursor(item{attrGSI1SK: items[len(items)-1][attrGSI1SK]})
	}
	return orders, next, nil
}

// waitingQuery selects the candidates waiting from earlier runs: those of
// orders placed before the run's From (this run's own waiting candidates
// are later, so a run never re-examines what it just examined).
func (s *Store) waitingQuery(shopID string, run gc.PromotionRun, limit int) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(indexGSI1),
		KeyConditionExpression:    aws.String("GSI1PK = :pk AND GSI1SK < :from"),
		ExpressionAttributeValues: item{":pk": avS(gsiWaiting(shopID, run.PromotionID)), ":from": avS(fmtTime(run.From))},
		Limit:                     aws.Int32(int32(limit)),
	}
}

// RunWaiting reads the next page of waiting candidates.
func (s *Store) RunWaiting(ctx context.Context, shopID string, run gc.PromotionRun, limit int) ([]promotion.GrantCandidate, string, error) {
	if run.Phase != gc.PhaseWaiting {
		return nil, "", fmt.Errorf("run waiting: run %s is in phase %s", run.ID, run.Phase)
	}
	in := s.waitingQuery(shopID, run, limit)
	if run.Cursor != "" {
		start, err := decodeCursor(run.Cursor)
		if err != nil || start.s(attrGSI1PK) != gsiWaiting(shopID, run.PromotionID) {
			return nil, "", fmt.Errorf("run waiting: bad cursor on run %s", run.ID)
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("run waiting: %w", err)
	}
	cands := make([]promotion.GrantCandidate, 0, len(out.Items))
	for _, it := range out.Items {
		c, err := decodeCandidate(asItem(it["candidate"]))
		if err != nil {
			return nil, "", err
		}
		cands = append(cands, c)
	}
	var next string
	if len(out.LastEvaluatedKey) > 0 {
		next = encodeCursor(out.LastEvaluatedKey)
	}
	return cands, next, nil
}

func candidateAV(c promotion.GrantCandidate) types.AttributeValue {
	cards := make([]types.AttributeValue, len(c.Cards))
	for i, card := range c.Cards {
		cards[i] = avM(item{"id": avS(card.ID), "amount": avN(card.Amount)})
	}
	m := item{"orderId": avS(c.OrderID), "orderAt": avS(fmtTime(c.OrderAt)), "billingEmail": avS(c.BillingEmail)}
	m.setS("customerId", c.CustomerID)
	// A candidate always has a card; the guard keeps an empty list (which
	// minidyn's rollback corrupts) out of the table all the same.
	if len(cards) > 0 {
		m["cards"] = avL(cards)
	}
	return avM(m)
}

func decodeCandidate(m item) (promotion.GrantCandidate, error) {
	c := promotion.GrantCandidate{OrderID: m.s("orderId"), CustomerID: m.s("customerId"), BillingEmail: m.s("billingEmail")}
	var err error
	if c.OrderAt, err = m.t("orderAt"); err != nil {
		return c, err
	}
	for _, v := range m.l("cards") {
		cm := asItem(v)
		card := promotion.CandidateCard{ID: cm.s("id")}
		if card.Amount, err = cm.n("amount"); err != nil {
			return c, fmt.Errorf("candidate %s: %w", c.OrderID, err)
		}
		c.Cards = append(c.Cards, card)
	}
	return c, nil
}

func nextPhase(p gc.RunPhase) gc.RunPhase {
	if p == gc.PhaseOrders {
		return gc.PhaseWaiting
	}
	return gc.PhaseBatches
}

// SaveRunStep writes the step's batch (if it has candidates) and moves the
// run in one transaction, conditioned on the run's phase, cursor and batch
// count as read.
func (s *Store) SaveRunStep(ctx context.Context, shopID string, run gc.PromotionRun, step promotion.RunStep) (gc.PromotionRun, error) {
	if run.Phase != gc.PhaseOrders && run.Phase != gc.PhaseWaiting {
		return run, fmt.Errorf("save run step: run %s is in phase %s", run.ID, run.Phase)
	}
	if !step.PhaseDone && step.Cursor == "" {
		return run, fmt.Errorf("save run step: a step that does not end its phase needs a cursor")
	}
	now := s.now().UTC()
	next := run
	names := map[string]string{"#status": "status", "#cursor": cursorAttr(run.Phase)}
	vals := item{":running": avS(string(gc.RunRunning)), ":phase": avS(string(run.Phase)), ":b": avN(int64(run.Batches)),
		":now": avS(fmtTime(now)), ":d": avN(int64(step.Dispatched))}
	cond := "#status = :running AND phase = :phase AND batches = :b AND "
	if run.Cursor == "" {
		cond += "attribute_not_exists(#cursor)"
	} else {
		cond += "#cursor = :cur"
		vals[":cur"] = avS(run.Cursor)
	}
	set := []string{"updatedAt = :now", "dispatched = :d"}
	if step.PhaseDone {
		// The next phase's cursor attribute is still absent.
		next.Phase, next.Cursor = nextPhase(run.Phase), ""
		set = append(set, "phase = :next")
		vals[":next"] = avS(string(next.Phase))
	} else {
		next.Cursor = step.Cursor
		set = append(set, "#cursor = :newcur")
		vals[":newcur"] = avS(step.Cursor)
	}
	var acts []action
	if len(step.Candidates) > 0 {
		next.Batches++
		set = append(set, "batches = :nb")
		vals[":nb"] = avN(int64(next.Batches))
		b := keyBatch(shopID, run.PromotionID, run.ID, next.Batches).av()
		b["promotionId"] = avS(run.PromotionID)
		b["runId"] = avS(run.ID)
		b["seq"] = avN(int64(next.Batches))
		b["phase"] = avS(string(run.Phase))
		cands := make([]types.AttributeValue, len(step.Candidates))
		for i, c := range step.Candidates {
			cands[i] = candidateAV(c)
		}
		b["candidates"] = avL(cands)
		b["createdAt"] = avS(fmtTime(now))
		st := keyBatchState(shopID, run.PromotionID, run.ID, next.Batches).av()
		st["seq"] = avN(int64(next.Batches))
		st["status"] = avS("pending")
		acts = append(acts, s.putNew(b, errRunMoved), s.putNew(st, errRunMoved))
	}
	add := addCounts(step.Counts, names, vals)
	acts = append(acts, s.update(keyRun(shopID, run.PromotionID, run.ID), updateExpr(set, add), cond, names, vals, errRunMoved))
	if err := s.transactRetry(ctx, acts); err != nil {
		if errors.Is(err, errRunMoved) {
			return run, errRunMoved
		}
		return run, fmt.Errorf("save run step: %w", err)
	}
	next.Counts.Add(step.Counts)
	next.Dispatched = step.Dispatched
	next.UpdatedAt = now
	return next, nil
}

// Batch reads a batch: its candidates and its state, in one BatchGetItem.
func (s *Store) Batch(ctx context.Context, shopID, promoID, runID string, seq int) (promotion.PromotionBatch, error) {
	var it, state item
	err := s.batchGet(ctx, []item{keyBatch(shopID, promoID, runID, seq).av(), keyBatchState(shopID, promoID, runID, seq).av()}, "", nil,
		func(got item) (bool, error) {
			if got.s(attrSK) == "STATE" {
				state = got
			} else {
				it = got
			}
			return true, nil
		})
	if err != nil {
		return promotion.PromotionBatch{}, fmt.Errorf("get batch: %w", err)
	}
	if it == nil || state == nil {
		return promotion.PromotionBatch{}, gc.Errorf(gc.ENOTFOUND, "promotion batch not found")
	}
	b := promotion.PromotionBatch{PromotionID: it.s("promotionId"), RunID: it.s("runId"), Seq: seq,
		Waiting: it.s("phase") == string(gc.PhaseWaiting), Done: state.s("status") == "done"}
	for _, v := range it.l("candidates") {
		c, err := decodeCandidate(asItem(v))
		if err != nil {
			return b, err
		}
		b.Candidates = append(b.Candidates, c)
	}
	return b, nil
}

// OutstandingBatches lists a run's batches that are not done.
func (s *Store) OutstandingBatches(ctx context.Context, shopID string, run gc.PromotionRun) ([]int, error) {
	// Every batch is its own partition: read their states by key (the run
	// knows how many it cut), 100 a request, and keep the pending ones.
	var keys []item
	for seq := 1; seq <= run.Batches; seq++ {
		keys = append(keys, keyBatchState(shopID, run.PromotionID, run.ID, seq).av())
	}
	var seqs []int
	err := s.batchGet(ctx, keys, "seq, #status", map[string]string{"#status": "status"}, func(it item) (bool, error) {
		if it.s("status") != "pending" {
			return true, nil
		}
		n, err := it.n("seq")
		seqs = append(seqs, int(n))
		return err == nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("outstanding batches: %w", err)
	}
	sort.Ints(seqs)
	return seqs, nil
}

// TouchRun records that the run's batches up to run.Dispatched were handed
// out, now.
func (s *Store) TouchRun(ctx context.Context, shopID string, run gc.PromotionRun) error {
	err := s.updateOne(ctx, s.update(keyRun(shopID, run.PromotionID, run.ID),
		"SET updatedAt = :now, dispatched = :d", "#status = :running",
		map[string]string{"#status": "status"},
		item{":now": avS(fmtTime(s.now())), ":d": avN(int64(run.Dispatched)), ":running": avS(string(gc.RunRunning))},
		errRunMoved))
	if errors.Is(err, errRunMoved) {
		return nil
	}
	return err
}

// AddWaiting puts a candidate on the promotion's waiting list, once.
func (s *Store) AddWaiting(ctx context.Context, shopID, promoID, runID, per string, c promotion.GrantCandidate) error {
	gk := c.Key(per)
	it := keyWaiting(shopID, promoID, gk).av()
	it["promotionId"] = avS(promoID)
	it["firstRunId"] = avS(runID)
	it["candidate"] = candidateAV(c)
	it["createdAt"] = avS(fmtTime(s.now()))
	it[attrGSI1PK] = avS(gsiWaiting(shopID, promoID))
	it[attrGSI1SK] = avS(fmtTime(c.OrderAt) + "#" + gk)
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it,
		ConditionExpression: aws.String("attribute_not_exists(PK)")})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !asErr(err, &ccf) {
		return fmt.Errorf("add waiting candidate: %w", err)
	}
	return nil
}

// resolveWaiting plans taking a candidate off the waiting list: it moves
// to the GSI1 partition of resolved candidates and expires later.
func (s *Store) resolveWaiting(shopID, promoID, grantKey string) action {
	now := s.now()
	return s.update(keyWaiting(shopID, promoID, grantKey), "SET resolvedAt = :now, "+attrTTL+" = :exp, GSI1PK = :resolved", "", nil,
		item{":now": avS(fmtTime(now)), ":exp": avN(now.Add(waitingTTL).Unix()), ":resolved": avS(gsiResolved(shopID, promoID))}, nil)
}

// ResolveWaiting takes a candidate off the waiting list.
func (s *Store) ResolveWaiting(ctx context.Context, shopID, promoID, per string, c promotion.GrantCandidate) error {
	if err := s.updateOne(ctx, s.resolveWaiting(shopID, promoID, c.Key(per))); err != nil {
		return fmt.Errorf("resolve waiting candidate: %w", err)
	}
	return nil
}

var (
	errBatchDone = errors.New("batch already done")
	errLeased    = errors.New("batch already leased")
)

// Attributes of a batch's lease.
const (
	attrLeased         = "leased"
	attrLeaseRemaining = "leaseRemaining"
	attrLeaseReturned  = "returnedAt"
)

// LeaseBudget moves the batch's share of the promotion's budget to the
// batch's lease shards, once: the shards are put only if absent (all in
// one transaction, so the first says whether the batch is leased), and
// only while the batch is pending.
func (s *Store) LeaseBudget(ctx context.Context, shopID string, p gc.Promotion, b promotion.PromotionBatch) error {
	if p.Budget == nil {
		return nil
	}
	if !gc.ValidID("pro", p.ID) {
		return gc.ErrPromotionNotFound
	}
	lks := leaseKeys(shopID, p.ID, b.RunID, b.Seq, len(b.Candidates))
	status := map[string]string{"#status": "status"}
	for attempt := 1; ; attempt++ {
		items, err := s.get(ctx, keyPromotion(shopID, p.ID), lks[0])
		if errors.Is(err, errRetry) && attempt < s.maxAttempts {
			s.backoff(ctx, attempt)
			continue
		} else if err != nil {
			return fmt.Errorf("lease budget: %w", err)
		}
		if items[1] != nil {
			return nil // leased by an earlier delivery or another worker
		}
		if items[0] == nil {
			return gc.ErrPromotionNotFound
		}
		cur, err := decodePromotion(items[0])
		if err != nil {
			return err
		}
		if cur.Status != gc.PromotionActive {
			return promotion.ErrPromotionNotActive
		}
		x := promotion.BatchLease(cur, len(b.Candidates))
		shares := promotion.SplitLease(x, cur.CreditAmount, len(b.Candidates), len(lks))
		now := fmtTime(s.now())
		pending := s.check(keyBatchState(shopID, p.ID, b.RunID, b.Seq), "#status = :pending", status, item{":pending": avS("pending")})
		pending.fail = errBatchDone
		acts := []action{pending}
		for k, lk := range lks {
			lease := lk.av()
			lease["promotionId"] = avS(p.ID)
			lease["runId"] = avS(b.RunID)
			lease["seq"] = avN(int64(b.Seq))
			lease["shard"] = avN(int64(k))
			lease[attrLeased] = avN(shares[k])
			lease[attrLeaseRemaining] = avN(shares[k])
			lease["createdAt"] = avS(now)
			acts = append(acts, s.putNew(lease, errLeased))
		}
		if x > 0 {
			acts = append(acts, s.update(keyPromotion(shopID, p.ID), "SET budgetRemaining = budgetRemaining - :x",
				"#status = :active AND budgetRemaining >= :x", status,
				item{":x": avN(x), ":active": avS(string(gc.PromotionActive))}, nil))
		}
		err = s.transact(ctx, acts)
		switch {
		case err == nil, errors.Is(err, errLeased), errors.Is(err, errBatchDone):
			return nil
		case errors.Is(err, errRetry) && attempt < s.maxAttempts:
			// The budget or the status changed since read: decide again.
			s.backoff(ctx, attempt)
		default:
			return fmt.Errorf("lease budget for batch %d of run %s: %w", b.Seq, b.RunID, err)
		}
	}
}

// CompleteBatch marks a batch done, adds its counts to the run and returns
// the unused lease to the promotion's budget, in one transaction
// conditioned on the batch being pending and on every lease shard as read
// (or on the lease's absence); a grant or a lease in between makes it read
// again.
func (s *Store) CompleteBatch(ctx context.Context, shopID string, b promotion.PromotionBatch, counts gc.RunCounts) (bool, error) {
	lks := leaseKeys(shopID, b.PromotionID, b.RunID, b.Seq, len(b.Candidates))
	for attempt := 1; ; attempt++ {
		leases, err := s.get(ctx, lks...)
		if errors.Is(err, errRetry) && attempt < s.maxAttempts {
			s.backoff(ctx, attempt)
			continue
		} else if err != nil {
			return false, fmt.Errorf("complete batch %d of run %s: %w", b.Seq, b.RunID, err)
		}
		now := fmtTime(s.now())
		names := map[string]string{}
		vals := item{":one": avN(1), ":now": avS(now)}
		add := append([]string{"batchesDone :one"}, addCounts(counts, names, vals)...)
		acts := []action{
			s.update(keyBatchState(shopID, b.PromotionID, b.RunID, b.Seq), "SET #status = :done, doneAt = :now",
				"#status = :pending", map[string]string{"#status": "status"},
				item{":done": avS("done"), ":pending": avS("pending"), ":now": avS(now)}, errBatchDone),
			s.update(keyRun(shopID, b.PromotionID, b.RunID), updateExpr([]string{"updatedAt = :now"}, add),
				"attribute_exists(PK)", names, vals, nil),
		}
		switch {
		case leases[0] == nil:
			// No lease may be taken while the batch is being marked done
			// (a lease puts every shard at once: the first is enough).
			acts = append(acts, s.check(lks[0], "attribute_not_exists(PK)", nil, nil))
		case leases[0].s(attrLeaseReturned) == "":
			var total int64
			for k, l := range leases {
				if l == nil {
					return false, fmt.Errorf("complete batch %d of run %s: lease shard %d is missing", b.Seq, b.RunID, k)
				}
				left, err := l.n(attrLeaseRemaining)
				if err != nil {
					return false, err
				}
				total += left
				acts = append(acts, s.update(lks[k], "SET "+attrLeaseReturned+" = :now, returnedAmount = :left",
					attrLeaseRemaining+" = :left AND attribute_not_exists("+attrLeaseReturned+")", nil,
					item{":now": avS(now), ":left": avN(left)}, nil))
			}
			if total > 0 {
				acts = append(acts, s.update(keyPromotion(shopID, b.PromotionID), "SET budgetRemaining = budgetRemaining + :left",
					"attribute_exists(budgetRemaining)", nil, item{":left": avN(total)}, nil))
			}
		}
		// (A returned lease means the batch is done: its condition fails.)
		err = s.transact(ctx, acts)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, errBatchDone):
			return false, nil
		case errors.Is(err, errRetry) && attempt < s.maxAttempts:
			s.backoff(ctx, attempt)
		default:
			return false, fmt.Errorf("complete batch %d of run %s: %w", b.Seq, b.RunID, err)
		}
	}
}

// FinishRun ends a complete run, moves the promotion's watermark and
// queues the summary, in one transaction.
func (s *Store) FinishRun(ctx context.Context, shopID string, run gc.PromotionRun, summary *gc.Email) (bool, error) {
	now := s.now().UTC()
	// The promotion.run.finished event gets an item of its own in the
	// same write (events.go).
	evAct, err := s.eventPut(shopID, gc.RunFinishedEvent(shopID, run, now))
	if err != nil {
		return false, err
	}
	acts := []action{
		s.update(keyRun(shopID, run.PromotionID, run.ID), "SET #status = :done, finishedAt = :now, updatedAt = :now",
			"#status = :running AND phase = :batches AND batches = :n AND batchesDone = :n",
			map[string]string{"#status": "status"},
			item{":done": avS(string(gc.RunDone)), ":now": avS(fmtTime(now)), ":running": avS(string(gc.RunRunning)),
				":batches": avS(string(gc.PhaseBatches)), ":n": avN(int64(run.Batches))}, errRunMoved),
		evAct,
		s.update(keyPromotion(shopID, run.PromotionID),
			"SET "+attrExaminedUntil+" = :until, "+attrRunStatus+" = :done",
			attrRunID+" = :run AND "+attrRunStatus+" = :running", nil,
			item{":until": avS(fmtTime(run.Until)), ":run": avS(run.ID), ":done": avS(string(gc.RunDone)),
				":running": avS(string(gc.RunRunning))}, errRunMoved),
	}
	if summary != nil {
		e := *summary
		if e.ID, err = s.ids.New("msg"); err != nil {
			return false, err
		}
		act, err := s.outboxPut(shopID, e, now)
		if err != nil {
			return false, err
		}
		acts = append(acts, act)
	}
	switch err := s.transactRetry(ctx, acts); {
	case err == nil:
		return true, nil
	case errors.Is(err, errRunMoved):
		return false, nil
	default:
		return false, fmt.Errorf("finish run %s: %w", run.ID, err)
	}
}

// transactRetry runs a transaction whose conditions do not depend on a
// read, repeating it when it only lost a race (TransactionConflict), a
// bounded number of times.
func (s *Store) transactRetry(ctx context.Context, acts []action) error {
	for attempt := 1; ; attempt++ {
		err := s.transact(ctx, acts)
		if !errors.Is(err, errRetry) || attempt >= s.maxAttempts {
			return err
		}
		s.backoff(ctx, attempt)
	}
}
