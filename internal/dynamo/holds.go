package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Holds. A hold item stores the hold with its figures and a version: it is
// also the stored balance of the hold's account (amount − captured −
// released), so the audit proves it against the postings like any other
// balance, and every change of one hold is a Put conditioned on the
// version read, which is what makes a capture and a void race to exactly
// one winner. While a hold is held its item is in the sparse GSI2
// partition SHOP#<s>#HOLDS#OPEN#<n>, sorted by expiry, for the release
// job; a closed hold leaves it.
//
// The funds (customer or card) keep what their open holds reserve in
// "held_<CUR>" / "held": an ADD without a condition, because the hold
// item's version already orders every change of one hold and additions
// commute; a change of a spendable balance is conditioned on the funds'
// version as everywhere else.

func keyHold(shopID, id string) key { return key{shopPrefix(shopID) + "HOLD#" + id, "HOLD"} }

// keyRefunded is a spend's refunded total, beside its transaction.
func keyRefunded(shopID, txID string) key {
	return key{shopPrefix(shopID) + "TX#" + txID, "REFUNDED"}
}

func gsiHolds(shopID, id string) string {
	return shopPrefix(shopID) + "HOLDS#" + shardOf(id, ListShards)
}
func gsiAllHolds(shopID string) []string { return shardKeys(shopPrefix(shopID)+"HOLDS", ListShards) }
func gsiOpenHolds(shopID, id string) string {
	return shopPrefix(shopID) + "HOLDS#OPEN#" + shardOf(id, ListShards)
}
func gsiAllOpenHolds(shopID string) []string {
	return shardKeys(shopPrefix(shopID)+"HOLDS#OPEN", ListShards)
}

func holdItem(shopID string, h gc.Hold, version int64) item {
	it := keyHold(shopID, h.ID).av()
	it["id"] = avS(h.ID)
	it["orderRef"] = avS(h.OrderRef)
	it["sourceType"] = avS(h.Source.Type)
	it.setS("customerId", h.Source.CustomerID)
	it.setS("cardId", h.Source.CardID)
	it.setS("last4", h.Source.Last4)
	it["currency"] = avS(h.Currency)
	it["amount"] = avN(h.Amount)
	it["captured"] = avN(h.Captured)
	it["released"] = avN(h.Released)
	it["status"] = avS(string(h.Status))
	it["expiresAt"] = avS(fmtTime(h.ExpiresAt))
	it["createdAt"] = avS(fmtTime(h.CreatedAt))
	// No captures is no attribute: an empty list carries nothing, and
	// minidyn's copy of the table on each transaction loses its type.
	if len(h.Captures) > 0 {
		caps := make([]types.AttributeValue, len(h.Captures))
		for i, c := range h.Captures {
			caps[i] = avM(item{"transactionId": avS(c.TransactionID), "amount": avN(c.Amount), "createdAt": avS(fmtTime(c.CreatedAt))})
		}
		it["captures"] = avL(caps)
	}
	// What a hold on credit took from the customer's lots (lots.go).
	it.setS("lots", encodeLotMoves(h.Lots))
	it["version"] = avN(version)
	at := fmtTime(h.CreatedAt)
	it[attrGSI1PK] = avS(gsiHolds(shopID, h.ID))
	it[attrGSI1SK] = avS(at + "#" + h.ID)
	if h.Status == gc.HoldHeld {
		it[attrGSI2PK] = avS(gsiOpenHolds(shopID, h.ID))
		it[attrGSI2SK] = avS(fmtTime(h.ExpiresAt) + "#" + h.ID)
	}
	return it
}

func decodeHold(it item) (gc.HoldState, error) {
	h := gc.HoldState{Hold: gc.Hold{ID: it.s("id"), OrderRef: it.s("orderRef"), Currency: it.s("currency"),
		Status: gc.HoldStatus(it.s("status")), Captures: []gc.Capture{},
		Source: gc.HoldSource{Type: it.s("sourceType"), CustomerID: it.s("customerId"), CardID: it.s("cardId"), Last4: it.s("last4")}}}
	var err error
	for name, dst := range map[string]*int64{"amount": &h.Amount, "captured": &h.Captured, "released": &h.Released, "version": &h.Version} {
		if *dst, err = it.n(name); err != nil {
			return h, fmt.Errorf("hold %s: %w", h.ID, err)
		}
	}
	if h.ExpiresAt, err = it.t("expiresAt"); err != nil {
		return h, err
	}
	if h.CreatedAt, err = it.t("createdAt"); err != nil {
		return h, err
	}
	if h.Lots, err = decodeLotMoves(it.s("lots")); err != nil {
		return h, fmt.Errorf("hold %s: %w", h.ID, err)
	}
	for _, v := range it.l("captures") {
		m := asItem(v)
		c := gc.Capture{TransactionID: m.s("transactionId")}
		if c.Amount, err = m.n("amount"); err != nil {
			return h, fmt.Errorf("hold %s: %w", h.ID, err)
		}
		if c.CreatedAt, err = m.t("createdAt"); err != nil {
			return h, err
		}
		h.Captures = append(h.Captures, c)
	}
	return h, nil
}

// accountKey is the item holding the stored balance of a customer or card account.
func accountKey(shopID, account string) (key, error) {
	if id, ok := strings.CutPrefix(account, "customer:"); ok {
		return keyCustomer(shopID, id), nil
	}
	if id, ok := strings.CutPrefix(account, "card:"); ok {
		return keyCard(shopID, id), nil
	}
	return key{}, fmt.Errorf("account %s has no stored balance item", account)
}

// fundsFrom decodes the customer or card item read for account (nil: none).
func fundsFrom(account string, it item) (gc.Funds, error) {
	var f gc.Funds
	if it == nil {
		return f, nil
	}
	if strings.HasPrefix(account, "card:") {
		c, err := decodeCard(it)
		f.Card = &c
		return f, err
	}
	c, err := decodeCustomer(it)
	f.Customer = &c
	return f, err
}

// fundsUpdate encodes a planned change of a hold's or refund's funds: the
// spendable balance conditioned on the version read (and, for a card that
// must be active, on its status), what is held added. A failed condition
// is a lost race: read again and retry. ok is false when nothing changes.
func (s *Store) fundsUpdate(shopID string, ch gc.FundsChange) (action, bool) {
	if !ch.Moves() && ch.HeldDelta == 0 {
		return action{}, false
	}
	names, vals := map[string]string{}, item{}
	var set []string
	var k key
	balAttr, heldAttr := "balance", "held"
	if ch.CardID != "" {
		k = keyCard(shopID, ch.CardID)
	} else {
		k = keyCustomer(shopID, ch.CustomerID)
		balAttr, heldAttr = balancePrefix+ch.Currency, heldPrefix+ch.Currency
	}
	cond := "attribute_exists(PK)"
	if ch.Moves() {
		names["#bal"] = balAttr
		set = append(set, "#bal = :bal", "version = :next")
		vals[":bal"], vals[":next"], vals[":v"] = avN(ch.After), avN(ch.Version+1), avN(ch.Version)
		cond = "version = :v"
		if ch.CustomerID != "" {
			// A customer's lots make up the balance (lots.go).
			set = lotsSet(ch.Currency, ch.Lots, set, names, vals)
		}
		if ch.RequireActive {
			names["#status"] = "status"
			vals[":active"] = avS(string(gc.CardActive))
			cond += " AND #status = :active"
		}
	}
	expr := ""
	if len(set) > 0 {
		expr = "SET " + strings.Join(set, ", ")
	}
	if ch.HeldDelta != 0 {
		names["#held"] = heldAttr
		vals[":hd"] = avN(ch.HeldDelta)
		expr = strings.TrimSpace(expr + " ADD #held :hd")
	}
	return s.update(k, expr, cond, names, vals, nil), true
}

// holdWrites encodes a hold plan: its transactions, the hold item
// (conditioned on the version read, or new) and the change of its funds.
// A plan that changes nothing writes nothing.
func (s *Store) holdWrites(shopID string, hp gc.HoldPlan) ([]action, error) {
	if hp.NewVersion == hp.Version {
		return nil, nil
	}
	var acts []action
	for _, tx := range hp.Txs {
		a, err := s.putTx(shopID, tx)
		if err != nil {
			return nil, err
		}
		acts = append(acts, a)
	}
	it := holdItem(shopID, hp.Hold, hp.NewVersion)
	if hp.Version == 0 {
		acts = append(acts, s.putNew(it, nil))
	} else {
		acts = append(acts, s.put(it, "version = :v", item{":v": avN(hp.Version)}, nil))
	}
	if hp.Funds != nil {
		if a, ok := s.fundsUpdate(shopID, *hp.Funds); ok {
			acts = append(acts, a)
		}
		acts = append(acts, s.newLotPuts(shopID, hp.Funds.Lots.New)...)
	}
	return acts, nil
}

// CreateHold reserves a customer's credit or a gift card's value (by
// code) for a checkout (gc.PlanHold decides). A code is normalised,
// hashed and counted toward the lockout exactly as in Redeem.
func (s *Store) CreateHold(ctx context.Context, a gc.Actor, idemKey string, in gc.NewHold) (gc.Hold, error) {
	if err := in.Validate(); err != nil {
		return gc.Hold{}, err
	}
	// The request fingerprint holds the card id, never the code.
	fp := struct {
		gc.NewHold
		CardID string
	}{NewHold: in}
	fp.GiftCardCode = ""
	var keys []key
	var limits attemptLimits
	var account string // the funds: the hold's id and its transactions' ids name them
	if in.GiftCardCode != "" {
		c, err := parseCode(in.GiftCardCode)
		if err != nil {
			return gc.Hold{}, gc.Invalid("giftCardCode", "the gift card code is malformed (check for a typo)")
		}
		if fp.CardID, err = s.cardID(a.ShopID, c); err != nil {
			return gc.Hold{}, err
		}
		if limits, err = s.limitKeys(a.ShopID, "", in.ClientRef); err != nil {
			return gc.Hold{}, err
		}
		keys = append([]key{keyCard(a.ShopID, fp.CardID)}, limits.locks...)
		account = gc.CardAccount(fp.CardID)
	} else {
		if !gc.ValidID("cus", in.CustomerID) {
			return gc.Hold{}, gc.ErrCustomerNotFound
		}
		keys = []key{keyCustomer(a.ShopID, in.CustomerID)}
		account = gc.CustomerAccount(in.CustomerID)
	}
	h, err := mutate(ctx, s, mutation[gc.Hold]{
		actor: a, op: "create_hold", idemKey: idemKey, input: fp, keys: keys,
		build: func(items []item) (plan[gc.Hold], error) {
			var p plan[gc.Hold]
			var funds gc.Funds
			var err error
			if fp.CardID != "" {
				if err := s.checkLimits(limits, items[1:]); err != nil {
					return p, err
				}
				if funds.Card, err = cardFrom(items[0]); err != nil {
					return p, err
				}
			} else if funds, err = fundsFrom(gc.CustomerAccount(in.CustomerID), items[0]); err != nil {
				return p, err
			}
			st, err := s.stampFor(a, idemKey, account)
			if err != nil {
				return p, err
			}
			holdID, err := s.newFundsID("hld", account)
			if err != nil {
				return p, err
			}
			var captureTx string
			if in.Capture {
				if captureTx, err = s.newFundsID("txn", account); err != nil {
					return p, err
				}
			}
			hp, err := gc.PlanHold(st, in, holdID, captureTx, funds)
			if err != nil {
				return p, err
			}
			if p.acts, err = s.holdWrites(a.ShopID, hp); err != nil {
				return p, err
			}
			p.result = hp.Hold
			return p, nil
		},
	})
	if fp.CardID != "" && errors.Is(err, gc.ErrCardUnavailable) {
		if cerr := s.countFailure(ctx, limits); cerr != nil {
			return h, cerr
		}
	}
	return h, err
}

// Hold returns a hold as it stands now (gc.HoldAsOf): past its expiresAt
// a hold reads as expired even before the release job has released it.
func (s *Store) Hold(ctx context.Context, shopID, holdID string) (gc.Hold, error) {
	h, err := s.readHold(ctx, shopID, holdID)
	return gc.HoldAsOf(h.Hold, s.now()), err
}

// readHold reads a hold with a consistent GetItem: a hold's read, and a
// change of a hold whose id names no funds.
func (s *Store) readHold(ctx context.Context, shopID, holdID string) (gc.HoldState, error) {
	if !gc.ValidFundsID("hld", holdID) {
		return gc.HoldState{}, gc.ErrHoldNotFound
	}
	it, err := s.getOne(ctx, keyHold(shopID, holdID))
	if err != nil {
		return gc.HoldState{}, fmt.Errorf("get hold: %w", err)
	}
	if it == nil {
		return gc.HoldState{}, gc.ErrHoldNotFound
	}
	h, err := decodeHold(it)
	if err == nil && gc.NamesOtherFunds("hld", h.ID, h.Source.Account()) {
		return gc.HoldState{}, gc.ErrHoldNotFound
	}
	return h, err
}

// holdPlanner is one of gc.PlanCapture (bound to its input), gc.PlanVoid
// and gc.PlanRelease.
type holdPlanner func(st gc.Stamp, h *gc.HoldState, funds gc.Funds) (gc.HoldPlan, error)

// changeHold runs a mutation of an existing hold in one consistent read:
// the hold's id names its funds (gc.FundsOf), so the read takes the hold
// and, when the planner may move value back to them (needFunds), its
// funds; the planner checks that the hold is the one its id says. The
// funds' "held" changes by an unconditioned ADD, so a change that only
// captures needs no read of them. A hold whose id names no funds (one
// made before ids named them) is read first to learn them.
func (s *Store) changeHold(ctx context.Context, a gc.Actor, idemKey, op, holdID string, input any, needFunds bool, decide holdPlanner) (gc.Hold, error) {
	if !gc.ValidFundsID("hld", holdID) {
		return gc.Hold{}, gc.ErrHoldNotFound
	}
	account, ok := gc.FundsOf("hld", holdID)
	if !ok {
		first, err := s.readHold(ctx, a.ShopID, holdID)
		if err != nil {
			return gc.Hold{}, err
		}
		account = first.Source.Account()
	}
	keys := []key{keyHold(a.ShopID, holdID)}
	if needFunds {
		fk, err := accountKey(a.ShopID, account)
		if err != nil {
			return gc.Hold{}, err
		}
		keys = append(keys, fk)
	}
	return mutate(ctx, s, mutation[gc.Hold]{
		actor: a, op: op, idemKey: idemKey, input: input, keys: keys,
		build: func(items []item) (plan[gc.Hold], error) {
			var p plan[gc.Hold]
			var hs *gc.HoldState
			if items[0] != nil {
				h, err := decodeHold(items[0])
				if err != nil {
					return p, err
				}
				hs = &h
			}
			var funds gc.Funds
			if needFunds {
				var err error
				if funds, err = fundsFrom(account, items[1]); err != nil {
					return p, err
				}
			}
			// A capture's transaction is a spend a refund names by its
			// id; the others name the hold's funds alike.
			st, err := s.stampFor(a, idemKey, account)
			if err != nil {
				return p, err
			}
			hp, err := decide(st, hs, funds)
			if err != nil {
				return p, err
			}
			if p.acts, err = s.holdWrites(a.ShopID, hp); err != nil {
				return p, err
			}
			p.result = hp.Hold
			return p, nil
		},
	})
}

// CaptureHold takes part of a hold (gc.PlanCapture decides).
func (s *Store) CaptureHold(ctx context.Context, a gc.Actor, idemKey string, in gc.HoldCapture) (gc.Hold, error) {
	if err := in.Validate(); err != nil {
		return gc.Hold{}, err
	}
	// Only a final capture can move value back to the funds.
	return s.changeHold(ctx, a, idemKey, "capture_hold", in.HoldID, in, in.Final, func(st gc.Stamp, h *gc.HoldState, f gc.Funds) (gc.HoldPlan, error) {
		return gc.PlanCapture(st, h, in, f)
	})
}

// VoidHold releases what a hold has not captured (gc.PlanVoid decides).
func (s *Store) VoidHold(ctx context.Context, a gc.Actor, idemKey, holdID string) (gc.Hold, error) {
	return s.changeHold(ctx, a, idemKey, "void_hold", holdID, holdID, true, gc.PlanVoid)
}

// Refund gives back part of a spend (gc.PlanRefund decides) in one
// consistent read: the spend, its refunded total, its reversal marker and
// the account the refund goes to, which the spend's id names
// (gc.FundsOf) unless the refund names a customer; the planner checks the
// spend is what its id says. It writes the refund, the account's new
// balance and the total, conditioned on the total read: all refunds of a
// spend never exceed it.
func (s *Store) Refund(ctx context.Context, a gc.Actor, idemKey string, in gc.NewRefund) (gc.Refund, error) {
	if err := in.Validate(); err != nil {
		return gc.Refund{}, err
	}
	if !gc.ValidFundsID("txn", in.TransactionID) {
		return gc.Refund{}, gc.ErrTxNotFound
	}
	if in.CustomerID != "" && !gc.ValidID("cus", in.CustomerID) {
		return gc.Refund{}, gc.ErrCustomerNotFound
	}
	account, err := s.refundAccount(ctx, a.ShopID, in)
	if err != nil {
		return gc.Refund{}, err
	}
	keys := []key{keyTx(a.ShopID, in.TransactionID), keyRefunded(a.ShopID, in.TransactionID), keyReversed(a.ShopID, in.TransactionID)}
	if account != "" {
		tk, err := accountKey(a.ShopID, account)
		if err != nil {
			return gc.Refund{}, err
		}
		keys = append(keys, tk)
	}
	return mutate(ctx, s, mutation[gc.Refund]{
		actor: a, op: "refund", idemKey: idemKey, input: in, keys: keys,
		build: func(items []item) (plan[gc.Refund], error) {
			var p plan[gc.Refund]
			var spend *gc.Transaction
			if items[0] != nil {
				t, err := decodeTx(a.ShopID, items[0])
				if err != nil {
					return p, err
				}
				spend = &t
			}
			var refunded, version int64
			if items[1] != nil {
				var err error
				if refunded, err = items[1].n("refunded"); err != nil {
					return p, err
				}
				if version, err = items[1].n("version"); err != nil {
					return p, err
				}
			}
			target := gc.RefundTarget{Account: account}
			if account != "" {
				f, err := fundsFrom(account, items[3])
				if err != nil {
					return p, err
				}
				target.Customer, target.Card = f.Customer, f.Card
			}
			st, err := s.stamp(a, idemKey)
			if err != nil {
				return p, err
			}
			rp, err := gc.PlanRefund(st, in, spend, refunded, version, items[2] != nil, target)
			if err != nil {
				return p, err
			}
			txAct, err := s.putTx(a.ShopID, rp.Tx)
			if err != nil {
				return p, err
			}
			total := keyRefunded(a.ShopID, in.TransactionID).av()
			total["refunded"] = avN(rp.Refunded)
			total["version"] = avN(version + 1)
			totalAct := s.putNew(total, nil)
			if version > 0 {
				totalAct = s.put(total, "version = :v", item{":v": avN(version)}, nil)
			}
			// A reversal of the same spend racing this refund: one of the
			// two finds the other's item and reads again.
			p.acts = []action{txAct, totalAct, s.check(keyReversed(a.ShopID, in.TransactionID), "attribute_not_exists(PK)", nil, nil)}
			if fa, ok := s.fundsUpdate(a.ShopID, rp.Funds); ok {
				p.acts = append(p.acts, fa)
			}
			p.acts = append(p.acts, s.newLotPuts(a.ShopID, rp.Funds.Lots.New)...)
			p.result = rp.Result
			return p, nil
		},
	})
}

// refundAccount names the account a refund goes to before anything is
// read: the customer the refund names, or the funds the spend's id names
// (gc.RefundTargetOf), or "" when that cannot go anywhere (the planner
// then answers why, after it has seen the spend). A spend whose id names
// no funds (one posted before ids named them) is read first to learn
// them.
func (s *Store) refundAccount(ctx context.Context, shopID string, in gc.NewRefund) (string, error) {
	if in.To == gc.RefundToCredit && in.CustomerID != "" {
		return gc.CustomerAccount(in.CustomerID), nil
	}
	funds, ok := gc.FundsOf("txn", in.TransactionID)
	if !ok {
		it, err := s.getOne(ctx, keyTx(shopID, in.TransactionID))
		if err != nil {
			return "", fmt.Errorf("refund: read the spend: %w", err)
		}
		if it == nil {
			return "", gc.ErrTxNotFound
		}
		spend, err := decodeTx(shopID, it)
		if err != nil {
			return "", err
		}
		sp, ok := gc.SpendOf(spend)
		if !ok {
			return "", gc.ErrNotASpend
		}
		funds = sp.Funds
	}
	account, err := gc.RefundTargetOf(in, gc.Spend{Funds: funds})
	if err != nil {
		return "", nil
	}
	return account, nil
}

// holdReleaseJob names the scheduled job in the transactions it posts.
const holdReleaseJob = "hold-release"

// ExpiredHolds lists up to limit ids of a shop's holds that are still
// held and expired at now, soonest expired first: the open holds' GSI2
// shards up to now, merged. The index is eventually consistent, so a
// hold just closed may still be listed; ReleaseHold then changes nothing.
func (s *Store) ExpiredHolds(ctx context.Context, shopID string, now time.Time, limit int) ([]string, error) {
	// "$" sorts right after "#": every "<expiresAt>#<id>" up to now.
	upto := fmtTime(now) + "$"
	var all []item
	for _, pk := range gsiAllOpenHolds(shopID) {
		in := &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(indexGSI2),
			KeyConditionExpression:    aws.String("GSI2PK = :pk AND GSI2SK < :upto"),
			ExpressionAttributeValues: item{":pk": avS(pk), ":upto": avS(upto)},
			ProjectionExpression:      aws.String("id, GSI2SK")}
		if limit > 0 {
			in.Limit = aws.Int32(int32(limit))
		}
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("expired holds: query %s: %w", pk, err)
		}
		for _, it := range out.Items {
			all = append(all, it)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].s(attrGSI2SK) < all[j].s(attrGSI2SK) })
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	ids := make([]string, len(all))
	for i, it := range all {
		ids[i] = it.s("id")
	}
	return ids, nil
}

// ReleaseHold releases what an expired hold still holds back to its
// funds (gc.PlanRelease decides), exactly once: the write is conditioned
// on the hold's version, so of two overlapping runs (or a run and a
// void) one writes and the other reads again and finds it closed. A hold
// not held, or not yet expired, is unchanged.
func (s *Store) ReleaseHold(ctx context.Context, shopID, holdID string) (gc.Hold, error) {
	return s.changeHold(ctx, gc.System(shopID, holdReleaseJob), "", "release_hold", holdID, holdID, true, gc.PlanRelease)
}
