package dynamo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Lots. What spending needs of a customer's lots lives on the customer
// item, beside the balance it makes up: "lots_<CUR>" lists the live lots
// of a currency as "<seq>,<expires unix seconds or empty>,<remaining>"
// joined by ";", in spending order, and "lotSeq" is the number of the
// last lot made. So the one consistent read of a mutation sees every lot
// it may spend, a spend of the whole balance across thousands of lots is
// one update of the customer item (conditioned on its version, like any
// balance change), and the transaction item records what it took from
// which lot ("lots", the same encoding with signed amounts) for a refund
// or release to give back. gc.MaxLots bounds the live lots of a customer
// so the customer item and a spend's transaction stay well under 400 KB.
//
// Each lot also has an item of its own under the customer's partition
// (SK LOT#<seq>): its id, source, amount, expiry and creation time, which
// never change, for the lot listing. An expiring lot sits in two sparse
// index partitions sharded by lot id and sorted by expiry: GSI2
// SHOP#<s>#LOTS#EXPIRY#<n> until the expiry job is done with it and GSI1
// SHOP#<s>#LOTS#NOTICE#<n> until its reminder was sent (or it is done);
// the jobs put the item back without those keys.

func keyLot(shopID, customerID string, seq int64) key {
	return key{shopPrefix(shopID) + "CUST#" + customerID, fmt.Sprintf("LOT#%010d", seq)}
}

func gsiLotExpiry(shopID, lotID string) string {
	return shopPrefix(shopID) + "LOTS#EXPIRY#" + shardOf(lotID, ListShards)
}
func gsiAllLotExpiry(shopID string) []string {
	return shardKeys(shopPrefix(shopID)+"LOTS#EXPIRY", ListShards)
}
func gsiLotNotice(shopID, lotID string) string {
	return shopPrefix(shopID) + "LOTS#NOTICE#" + shardOf(lotID, ListShards)
}
func gsiAllLotNotice(shopID string) []string {
	return shardKeys(shopPrefix(shopID)+"LOTS#NOTICE", ListShards)
}

const (
	lotsPrefix = "lots_"
	attrLotSeq = "lotSeq"
)

// encodeLotSummary encodes live lots (one currency) for the customer item.
func encodeLotSummary(ls []gc.LotBalance) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(strconv.FormatInt(l.Seq, 10))
		b.WriteByte(',')
		if !l.ExpiresAt.IsZero() {
			b.WriteString(strconv.FormatInt(l.ExpiresAt.Unix(), 10))
		}
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(l.Remaining, 10))
	}
	return b.String()
}

func decodeLotEntries(s string) ([][3]int64, error) {
	var out [][3]int64
	if s == "" {
		return nil, nil
	}
	for _, e := range strings.Split(s, ";") {
		f := strings.Split(e, ",")
		if len(f) != 3 {
			return nil, fmt.Errorf("lot entry %q: want 3 fields", e)
		}
		var v [3]int64
		for i, x := range f {
			if x == "" && i == 1 {
				continue
			}
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("lot entry %q: %w", e, err)
			}
			v[i] = n
		}
		out = append(out, v)
	}
	return out, nil
}

func unixOrZero(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func decodeLotSummary(cur, s string) ([]gc.LotBalance, error) {
	es, err := decodeLotEntries(s)
	if err != nil {
		return nil, err
	}
	out := make([]gc.LotBalance, 0, len(es))
	for _, e := range es {
		out = append(out, gc.LotBalance{Seq: e[0], Currency: cur, ExpiresAt: unixOrZero(e[1]), Remaining: e[2]})
	}
	return out, nil
}

// encodeLotMoves encodes what a transaction did to lots.
func encodeLotMoves(ms []gc.LotMove) string {
	ls := make([]gc.LotBalance, len(ms))
	for i, m := range ms {
		ls[i] = gc.LotBalance{Seq: m.Seq, ExpiresAt: m.ExpiresAt, Remaining: m.Amount}
	}
	return encodeLotSummary(ls)
}

func decodeLotMoves(s string) ([]gc.LotMove, error) {
	es, err := decodeLotEntries(s)
	if err != nil {
		return nil, err
	}
	var out []gc.LotMove
	for _, e := range es {
		out = append(out, gc.LotMove{Seq: e[0], ExpiresAt: unixOrZero(e[1]), Amount: e[2]})
	}
	return out, nil
}

// decodeCustomerLots reads the lots and last lot number of a customer item.
func decodeCustomerLots(it item, c *gc.CustomerState) error {
	var err error
	if c.LotSeq, err = it.nOr(attrLotSeq, 0); err != nil {
		return err
	}
	for k := range it {
		if cur, ok := strings.CutPrefix(k, lotsPrefix); ok {
			ls, err := decodeLotSummary(cur, it.s(k))
			if err != nil {
				return fmt.Errorf("customer %s: %w", c.ID, err)
			}
			c.Lots = append(c.Lots, ls...)
		}
	}
	gc.SortLots(c.Lots)
	return nil
}

func lotItem(shopID string, l gc.Lot, pending bool, noticePending bool) item {
	it := keyLot(shopID, l.CustomerID, l.Seq).av()
	it["id"] = avS(l.ID)
	it["customerId"] = avS(l.CustomerID)
	it["seq"] = avN(l.Seq)
	it["currency"] = avS(l.Currency)
	it["source"] = avS(string(l.Source))
	it["amount"] = avN(l.Amount)
	it["createdAt"] = avS(fmtTime(l.CreatedAt))
	if l.ExpiresAt != nil {
		at := fmtTime(*l.ExpiresAt)
		it["expiresAt"] = avS(at)
		if pending {
			it[attrGSI2PK] = avS(gsiLotExpiry(shopID, l.ID))
			it[attrGSI2SK] = avS(at + "#" + l.ID)
		}
		if pending && noticePending {
			it[attrGSI1PK] = avS(gsiLotNotice(shopID, l.ID))
			it[attrGSI1SK] = avS(at + "#" + l.ID)
		}
	}
	return it
}

func decodeLot(it item) (gc.Lot, error) {
	l := gc.Lot{ID: it.s("id"), CustomerID: it.s("customerId"), Currency: it.s("currency"), Source: gc.LotSource(it.s("source"))}
	var err error
	if l.Seq, err = it.n("seq"); err != nil {
		return l, err
	}
	if l.Amount, err = it.n("amount"); err != nil {
		return l, err
	}
	if l.CreatedAt, err = it.t("createdAt"); err != nil {
		return l, err
	}
	if it.s("expiresAt") != "" {
		e, err := it.t("expiresAt")
		if err != nil {
			return l, err
		}
		l.ExpiresAt = &e
	}
	return l, nil
}

// balanceWrites encodes a planned balance change and the lots it makes.
func (s *Store) balanceWrites(shopID string, ch gc.BalanceChange) []action {
	acts := []action{s.balanceUpdate(shopID, ch)}
	return append(acts, s.newLotPuts(shopID, ch.Lots.New)...)
}

// newLotPuts writes the items of new lots.
func (s *Store) newLotPuts(shopID string, lots []gc.Lot) []action {
	var acts []action
	for _, l := range lots {
		acts = append(acts, s.putNew(lotItem(shopID, l, true, true), nil))
	}
	return acts
}

// lotsSet adds the lot summary of a balance change to an update
// expression's SET clauses.
func lotsSet(cur string, lc gc.LotsChange, set []string, names map[string]string, vals item) []string {
	names["#lots"] = lotsPrefix + cur
	vals[":lots"] = avS(encodeLotSummary(lc.Lots))
	vals[":lotSeq"] = avN(lc.Seq)
	return append(set, "#lots = :lots", attrLotSeq+" = :lotSeq")
}

// lotCursor is the position of a lot in the listing: currency, then
// spending order.
func lotCursor(l gc.LotBalance) string {
	exp := int64(1<<62 - 1)
	if !l.ExpiresAt.IsZero() {
		exp = l.ExpiresAt.Unix()
	}
	return fmt.Sprintf("%s#%020d#%020d", l.Currency, exp, l.Seq)
}

// Lots lists a customer's lots with something left, by currency and in
// spending order (soonest-expiring first): the customer item gives the
// lots and what is left of each, the lot items of the page their details.
func (s *Store) Lots(ctx context.Context, shopID, customerID string, pr gc.PageRequest) (gc.LotPage, error) {
	pr, err := pr.Normalize()
	if err != nil {
		return gc.LotPage{}, err
	}
	after := ""
	if pr.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(pr.Cursor)
		if err != nil || !strings.HasPrefix(string(b), "lot:") {
			return gc.LotPage{}, gc.Invalid("cursor", "the cursor is not valid for this list")
		}
		after = strings.TrimPrefix(string(b), "lot:")
	}
	cust, err := s.customer(ctx, shopID, customerID)
	if err != nil {
		return gc.LotPage{}, err
	}
	var live []gc.LotBalance
	for _, b := range cust.Balances {
		for _, l := range cust.LotsOf(b.Currency) {
			if lotCursor(l) > after {
				live = append(live, l)
			}
		}
	}
	sort.Slice(live, func(i, j int) bool { return lotCursor(live[i]) < lotCursor(live[j]) })
	page := gc.LotPage{Lots: []gc.Lot{}}
	if len(live) > pr.Limit {
		live = live[:pr.Limit]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("lot:" + lotCursor(live[len(live)-1])))
	}
	keys := make([]item, 0, len(live))
	for _, l := range live {
		keys = append(keys, keyLot(shopID, customerID, l.Seq).av())
	}
	bySeq := map[int64]gc.Lot{}
	err = s.batchGet(ctx, keys, "", nil, func(it item) (bool, error) {
		l, err := decodeLot(it)
		bySeq[l.Seq] = l
		return true, err
	})
	if err != nil {
		return gc.LotPage{}, fmt.Errorf("lots: %w", err)
	}
	for _, lb := range live {
		l, ok := bySeq[lb.Seq]
		if !ok {
			// Credit from before lots had items: one never-expiring lot.
			l = gc.Lot{ID: "lot_" + strings.TrimPrefix(customerID, "cus_"), Currency: lb.Currency, Source: gc.LotCredit, Amount: lb.Remaining, CreatedAt: cust.CreatedAt, Seq: lb.Seq}
		}
		l.Remaining = lb.Remaining
		page.Lots = append(page.Lots, l)
	}
	return page, nil
}

// lotExpiryJob names the scheduled job in the transactions it posts.
const lotExpiryJob = "credit-expiry"

// dueLots lists up to limit lots of a shop from sharded index partitions
// pks (index idx) whose expiry sorts before upto, soonest first.
func (s *Store) dueLots(ctx context.Context, idx, pkAttr, skAttr string, pks []string, upto time.Time, limit int) ([]gc.LotRef, error) {
	end := fmtTime(upto) + "$"
	var all []item
	for _, pk := range pks {
		in := &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(idx),
			KeyConditionExpression:    aws.String(pkAttr + " = :pk AND " + skAttr + " < :upto"),
			ExpressionAttributeValues: item{":pk": avS(pk), ":upto": avS(end)},
			ProjectionExpression:      aws.String("customerId, seq, " + skAttr)}
		if limit > 0 {
			in.Limit = aws.Int32(int32(limit))
		}
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("due lots: query %s: %w", pk, err)
		}
		for _, it := range out.Items {
			all = append(all, it)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].s(skAttr) < all[j].s(skAttr) })
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	refs := make([]gc.LotRef, 0, len(all))
	for _, it := range all {
		seq, err := it.n("seq")
		if err != nil {
			return nil, err
		}
		refs = append(refs, gc.LotRef{CustomerID: it.s("customerId"), Seq: seq})
	}
	return refs, nil
}

// ExpiredLots lists up to limit of a shop's lots whose expiresAt is at or
// before now and that the expiry job is not done with, soonest first
// (from an eventually consistent index: a lot just done may be listed,
// and ExpireLot then changes nothing).
func (s *Store) ExpiredLots(ctx context.Context, shopID string, now time.Time, limit int) ([]gc.LotRef, error) {
	return s.dueLots(ctx, indexGSI2, attrGSI2PK, attrGSI2SK, gsiAllLotExpiry(shopID), now, limit)
}

// NoticeLots lists up to limit of a shop's lots expiring before until
// whose reminder is still to be decided, soonest first.
func (s *Store) NoticeLots(ctx context.Context, shopID string, until time.Time, limit int) ([]gc.LotRef, error) {
	return s.dueLots(ctx, indexGSI1, attrGSI1PK, attrGSI1SK, gsiAllLotNotice(shopID), until, limit)
}

// ExpireLot posts what is left of an expired lot (gc.PlanExpiry decides):
// one expiry transaction, the customer debited and breakage credited,
// and the lot item put back without its index keys, exactly once: the
// customer update is conditioned on the version read (a spend racing it
// reads again), and the lot item on still being in the expiry index.
func (s *Store) ExpireLot(ctx context.Context, shopID string, ref gc.LotRef) (gc.ExpiryOutcome, error) {
	a := gc.System(shopID, lotExpiryJob)
	if !gc.ValidID("cus", ref.CustomerID) {
		return gc.ExpiryOutcome{}, gc.ErrCustomerNotFound
	}
	return mutate(ctx, s, mutation[gc.ExpiryOutcome]{
		actor: a, op: "expire_lot",
		keys: []key{keyCustomer(shopID, ref.CustomerID), keyLot(shopID, ref.CustomerID, ref.Seq)},
		build: func(items []item) (plan[gc.ExpiryOutcome], error) {
			var p plan[gc.ExpiryOutcome]
			if items[1] == nil || items[1].s(attrGSI2PK) == "" {
				return p, nil // gone or done with
			}
			lot, err := decodeLot(items[1])
			if err != nil {
				return p, err
			}
			cust, err := customerFrom(items[0])
			if err != nil {
				return p, err
			}
			st, err := s.stamp(a, "")
			if err != nil {
				return p, err
			}
			ep, err := gc.PlanExpiry(st, cust, lot)
			if err != nil || !ep.Done {
				return p, err
			}
			p.result.Done = true
			done := s.put(lotItem(shopID, lot, false, false), "attribute_exists(GSI2PK)", nil, nil)
			p.acts = append(p.acts, done)
			if ep.Tx != nil {
				txAct, err := s.putTx(shopID, *ep.Tx)
				if err != nil {
					return p, err
				}
				p.acts = append(p.acts, txAct)
				p.acts = append(p.acts, s.balanceWrites(shopID, *ep.Change)...)
				p.result.TransactionID, p.result.Amount = ep.Tx.ID, ep.Tx.Postings[1].Amount
			} else {
				// Nothing left: still conditioned on the customer, so a
				// refund that just gave the lot back is not missed.
				p.acts = append(p.acts, s.check(keyCustomer(shopID, cust.ID), "version = :v", nil, item{":v": avN(cust.Version)}))
			}
			return p, nil
		},
	})
}

// NoticeLot decides a lot's reminder (gc.PlanExpiryNotice): when due,
// the email goes to the outbox and the lot item leaves the notice index in
// one transaction, conditioned on it still being there, so a lot is
// reminded once however the job overlaps or retries. It returns the email
// written (nil: none), for the caller to send at once.
func (s *Store) NoticeLot(ctx context.Context, shop gc.Shop, ref gc.LotRef) (*gc.Email, error) {
	if !gc.ValidID("cus", ref.CustomerID) {
		return nil, gc.ErrCustomerNotFound
	}
	items, err := s.get(ctx, keyCustomer(shop.ID, ref.CustomerID), keyLot(shop.ID, ref.CustomerID, ref.Seq))
	if err != nil {
		return nil, fmt.Errorf("notice lot: %w", err)
	}
	if items[1] == nil || items[1].s(attrGSI1PK) == "" || items[0] == nil {
		return nil, nil
	}
	lot, err := decodeLot(items[1])
	if err != nil {
		return nil, err
	}
	cust, err := decodeCustomer(items[0])
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	n, done := gc.PlanExpiryNotice(shop, cust, lot, now)
	if !done {
		return nil, nil
	}
	acts := []action{s.put(lotItem(shop.ID, lot, items[1].s(attrGSI2PK) != "", false), "attribute_exists(GSI1PK)", nil, errReminded)}
	var e *gc.Email
	if n != nil {
		m, err := s.mail.LotExpiryEmail(shop, n.Customer, n.Lot)
		if err != nil {
			return nil, fmt.Errorf("notice lot: compose: %w", err)
		}
		if m.ID, err = s.ids.New("msg"); err != nil {
			return nil, err
		}
		act, err := s.outboxPut(shop.ID, m, now)
		if err != nil {
			return nil, err
		}
		acts, e = append(acts, act), &m
	}
	switch err := s.transact(ctx, acts); {
	case err == nil:
		return e, nil
	case errors.Is(err, errReminded), errors.Is(err, errRetry):
		return nil, nil // another run got there first
	default:
		return nil, fmt.Errorf("notice lot: %w", err)
	}
}

var errReminded = gc.Errorf(gc.ECONFLICT, "the lot's reminder was decided already")
