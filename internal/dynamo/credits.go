package dynamo

import (
	"context"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Credit credits a customer directly (gc.PlanCredit decides).
func (s *Store) Credit(ctx context.Context, a gc.Actor, idemKey string, in gc.DirectCredit) (gc.Transaction, error) {
	if err := in.Validate(); err != nil {
		return gc.Transaction{}, err
	}
	if !gc.ValidID("cus", in.CustomerID) {
		return gc.Transaction{}, gc.ErrCustomerNotFound
	}
	return mutate(ctx, s, mutation[gc.Transaction]{
		actor: a, op: "credit", idemKey: idemKey, input: in,
		keys: []key{keyCustomer(a.ShopID, in.CustomerID)},
		build: func(items []item) (plan[gc.Transaction], error) {
			var p plan[gc.Transaction]
			cust, err := customerFrom(items[0])
			if err != nil {
				return p, err
			}
			st, err := s.stamp(a, idemKey)
			if err != nil {
				return p, err
			}
			tx, ch, err := gc.PlanCredit(st, in, cust)
			if err != nil {
				return p, err
			}
			txAct, err := s.putTx(a.ShopID, tx)
			if err != nil {
				return p, err
			}
			p.acts, p.result = append(s.balanceWrites(a.ShopID, ch), txAct), tx
			return p, nil
		},
	})
}

// ApplyCredit spends credit on an order of the shop's checkout, once per
// order ref (gc.PlanCreditApplication decides). The application record is
// written even when nothing could be applied.
func (s *Store) ApplyCredit(ctx context.Context, a gc.Actor, idemKey string, in gc.CreditApplication) (gc.AppliedCredit, error) {
	if err := in.Validate(); err != nil {
		return gc.AppliedCredit{}, err
	}
	if !gc.ValidID("cus", in.CustomerID) {
		return gc.AppliedCredit{}, gc.ErrCustomerNotFound
	}
	return mutate(ctx, s, mutation[gc.AppliedCredit]{
		actor: a, op: "apply_credit", idemKey: idemKey, input: in,
		keys: []key{keyCustomer(a.ShopID, in.CustomerID), keyApply(a.ShopID, in.OrderRef)},
		build: func(items []item) (plan[gc.AppliedCredit], error) {
			var p plan[gc.AppliedCredit]
			cust, err := customerFrom(items[0])
			if err != nil {
				return p, err
			}
			// The application is a spend: its id names the customer, for
			// a refund's one read.
			st, err := s.stampFor(a, idemKey, gc.CustomerAccount(in.CustomerID))
			if err != nil {
				return p, err
			}
			ap, err := gc.PlanCreditApplication(st, in, cust, items[1] != nil)
			if err != nil {
				return p, err
			}
			lock := keyApply(a.ShopID, in.OrderRef).av()
			lock["customerId"] = avS(cust.ID)
			lock["currency"] = avS(in.Currency)
			lock["applied"] = avN(ap.Result.Applied)
			lock["amountDue"] = avN(in.AmountDue)
			lock["createdAt"] = avS(fmtTime(s.now()))
			if ap.Tx != nil {
				txAct, err := s.putTx(a.ShopID, *ap.Tx)
				if err != nil {
					return p, err
				}
				lock["transactionId"] = avS(ap.Tx.ID)
				p.acts = append(append(p.acts, s.balanceWrites(a.ShopID, *ap.Change)...), txAct)
			}
			p.acts = append(p.acts, s.putNew(lock, gc.ErrAlreadyApplied))
			p.result = ap.Result
			return p, nil
		},
	})
}

// Reverse posts the compensating transaction of one of a customer's
// transactions, once (gc.PlanReversal decides). The original is never
// edited: a marker item beside it makes a second reversal fail its
// condition.
func (s *Store) Reverse(ctx context.Context, a gc.Actor, idemKey string, in gc.Reversal) (gc.Transaction, error) {
	if err := in.Validate(); err != nil {
		return gc.Transaction{}, err
	}
	if !gc.ValidID("cus", in.CustomerID) {
		return gc.Transaction{}, gc.ErrCustomerNotFound
	}
	if !gc.ValidFundsID("txn", in.TransactionID) {
		return gc.Transaction{}, gc.ErrTxNotFound
	}
	return mutate(ctx, s, mutation[gc.Transaction]{
		actor: a, op: "reverse", idemKey: idemKey, input: in,
		keys: []key{keyCustomer(a.ShopID, in.CustomerID), keyTx(a.ShopID, in.TransactionID), keyReversed(a.ShopID, in.TransactionID),
			keyRefunded(a.ShopID, in.TransactionID)},
		build: func(items []item) (plan[gc.Transaction], error) {
			var p plan[gc.Transaction]
			cust, err := customerFrom(items[0])
			if err != nil {
				return p, err
			}
			var orig *gc.Transaction
			if items[1] != nil {
				t, err := decodeTx(a.ShopID, items[1])
				if err != nil {
					return p, err
				}
				orig = &t
			}
			st, err := s.stamp(a, idemKey)
			if err != nil {
				return p, err
			}
			tx, changes, err := gc.PlanReversal(st, in, cust, orig, items[2] != nil, items[3] != nil)
			if err != nil {
				return p, err
			}
			for _, ch := range changes {
				p.acts = append(p.acts, s.balanceWrites(a.ShopID, ch)...)
			}
			txAct, err := s.putTx(a.ShopID, tx)
			if err != nil {
				return p, err
			}
			marker := keyReversed(a.ShopID, orig.ID).av()
			marker["reversalId"] = avS(tx.ID)
			// A refund of the same spend racing this reversal: one of the
			// two finds the other's item and reads again.
			p.acts = append(p.acts, txAct, s.putNew(marker, gc.ErrAlreadyReversed),
				s.check(keyRefunded(a.ShopID, orig.ID), "attribute_not_exists(PK)", nil, nil))
			p.result = tx
			return p, nil
		},
	})
}
