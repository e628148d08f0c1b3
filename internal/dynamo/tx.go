package dynamo

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// stamp draws a new transaction id and reads the clock for a planner.
func (s *Store) stamp(a gc.Actor, idemKey string) (gc.Stamp, error) {
	id, err := s.ids.New("txn")
	if err != nil {
		return gc.Stamp{}, err
	}
	return gc.Stamp{TxID: id, Actor: a, IdempotencyKey: idemKey, At: s.now().UTC()}, nil
}

// stampFor is stamp with a transaction id that names account, the
// customer or card the transaction spends from or holds (gc.WithFunds),
// so that a refund of it names that account in its one read.
func (s *Store) stampFor(a gc.Actor, idemKey, account string) (gc.Stamp, error) {
	st, err := s.stamp(a, idemKey)
	if err != nil {
		return st, err
	}
	st.TxID, err = gc.WithFunds(st.TxID, account)
	return st, err
}

// newFundsID draws a new id of prefix that names account.
func (s *Store) newFundsID(prefix, account string) (string, error) {
	id, err := s.ids.New(prefix)
	if err != nil {
		return "", err
	}
	return gc.WithFunds(id, account)
}

// putTx validates a transaction and returns the action that appends it.
// The item is written once and never updated: postings are append-only.
func (s *Store) putTx(shopID string, t gc.Transaction) (action, error) {
	if err := t.Validate(); err != nil {
		return action{}, fmt.Errorf("refusing to write an invalid transaction: %w", err)
	}
	it := keyTx(shopID, t.ID).av()
	it["id"] = avS(t.ID)
	it["kind"] = avS(string(t.Kind))
	ps := make([]types.AttributeValue, len(t.Postings))
	for i, p := range t.Postings {
		m := item{"account": avS(p.Account), "currency": avS(p.Currency), "amount": avN(p.Amount)}
		if p.BalanceAfter != nil {
			m["balanceAfter"] = avN(*p.BalanceAfter)
			m["version"] = avN(p.Version)
		}
		ps[i] = avM(m)
	}
	it["postings"] = avL(ps)
	it["actorKeyId"] = avS(t.Actor.KeyID)
	it["actorRole"] = avS(string(t.Actor.Role))
	it.setS("reference", t.Reference)
	it.setS("idempotencyKey", t.IdempotencyKey)
	it.setS("customerId", t.CustomerID)
	it.setS("orderId", t.OrderID)
	it.setS("orderRef", t.OrderRef)
	it.setS("reverses", t.Reverses)
	it.setS("holdId", t.HoldID)
	it.setS("funds", t.Funds)
	it.setS("refundOf", t.RefundOf)
	it.setS("lotId", t.LotID)
	it.setS("lots", encodeLotMoves(t.Lots))
	it.setS("lotsSpent", encodeLotMoves(t.Spent))
	at := fmtTime(t.CreatedAt)
	it["createdAt"] = avS(at)
	it[attrGSI1PK] = avS(gsiTxs(shopID, t.CreatedAt, t.ID))
	it[attrGSI1SK] = avS(at + "#" + t.ID)
	if t.CustomerID != "" {
		it[attrGSI2PK] = avS(gsiCustomerTxs(shopID, t.CustomerID))
		it[attrGSI2SK] = avS(at + "#" + t.ID)
	}
	// The transaction's events are derived from it; it carries the
	// unpublished marker until the scheduled publisher has sent them.
	act := s.putNew(it, nil)
	if act.events = gc.TxEvents(shopID, t); len(act.events) > 0 {
		markEvents(it, shopID, t.ID, t.CreatedAt)
	}
	return act, nil
}

func decodeTx(shopID string, it item) (gc.Transaction, error) {
	t := gc.Transaction{
		ID:             it.s("id"),
		Kind:           gc.TxKind(it.s("kind")),
		Actor:          gc.Actor{ShopID: shopID, KeyID: it.s("actorKeyId"), Role: gc.Role(it.s("actorRole"))},
		Reference:      it.s("reference"),
		IdempotencyKey: it.s("idempotencyKey"),
		CustomerID:     it.s("customerId"),
		OrderID:        it.s("orderId"),
		OrderRef:       it.s("orderRef"),
		Reverses:       it.s("reverses"),
		HoldID:         it.s("holdId"),
		Funds:          it.s("funds"),
		RefundOf:       it.s("refundOf"),
		LotID:          it.s("lotId"),
	}
	var err error
	if t.Lots, err = decodeLotMoves(it.s("lots")); err != nil {
		return t, fmt.Errorf("transaction %s: %w", t.ID, err)
	}
	if t.Spent, err = decodeLotMoves(it.s("lotsSpent")); err != nil {
		return t, fmt.Errorf("transaction %s: %w", t.ID, err)
	}
	if t.CreatedAt, err = it.t("createdAt"); err != nil {
		return t, err
	}
	for _, v := range it.l("postings") {
		m := asItem(v)
		p := gc.Posting{Account: m.s("account"), Currency: m.s("currency")}
		if p.Amount, err = m.n("amount"); err != nil {
			return t, fmt.Errorf("transaction %s: %w", t.ID, err)
		}
		if _, ok := m["balanceAfter"]; ok {
			b, err := m.n("balanceAfter")
			if err != nil {
				return t, fmt.Errorf("transaction %s: %w", t.ID, err)
			}
			p.BalanceAfter = &b
			if p.Version, err = m.n("version"); err != nil {
				return t, fmt.Errorf("transaction %s: %w", t.ID, err)
			}
		}
		t.Postings = append(t.Postings, p)
	}
	return t, nil
}
