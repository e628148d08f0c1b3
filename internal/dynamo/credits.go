package dynamo

import (
	"context"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/money"
)

func checkCurrency(cur string) error {
	if _, err := money.LookupCurrency(cur); err != nil {
		return gc.Invalid("currency", "currency must be an ISO 4217 code such as USD")
	}
	return nil
}

// Credit credits a customer directly, balanced against the funding account
// of the payment type (no money changes hands with a custom type).
func (s *Store) Credit(ctx context.Context, a gc.Actor, idemKey string, in gc.DirectCredit) (gc.Transaction, error) {
	if err := in.Validate(); err != nil {
		return gc.Transaction{}, err
	}
	if err := checkCurrency(in.Currency); err != nil {
		return gc.Transaction{}, err
	}
	if !gc.ValidID("cus", in.CustomerID) {
		return gc.Transaction{}, errCustomerNotFound
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
			tx, err := s.newTx(a, gc.TxCredit, idemKey)
			if err != nil {
				return p, err
			}
			tx.CustomerID, tx.Reference = cust.ID, in.Reference
			act, posting, err := s.moveBalance(a.ShopID, cust, in.Currency, in.Amount)
			if err != nil {
				return p, err
			}
			tx.Postings = []gc.Posting{{Account: gc.FundingAccount(in.PaymentType), Currency: in.Currency, Amount: -in.Amount}, posting}
			txAct, err := s.putTx(a.ShopID, tx)
			if err != nil {
				return p, err
			}
			p.acts, p.result = []action{act, txAct}, tx
			return p, nil
		},
	})
}

// ApplyCredit spends up to the customer's available credit on an order of
// the shop's checkout, once per order ref. The application is recorded even
// when nothing could be applied, so a second one for the ref is refused.
func (s *Store) ApplyCredit(ctx context.Context, a gc.Actor, idemKey string, in gc.CreditApplication) (gc.AppliedCredit, error) {
	if err := in.Validate(); err != nil {
		return gc.AppliedCredit{}, err
	}
	if err := checkCurrency(in.Currency); err != nil {
		return gc.AppliedCredit{}, err
	}
	if !gc.ValidID("cus", in.CustomerID) {
		return gc.AppliedCredit{}, errCustomerNotFound
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
			if items[1] != nil {
				return p, errAlreadyApplied
			}
			applied := min(cust.BalanceOf(in.Currency), in.AmountDue)
			res := gc.AppliedCredit{OrderRef: in.OrderRef, Currency: in.Currency, Applied: applied,
				AmountDue: in.AmountDue - applied, Balance: cust.BalanceOf(in.Currency) - applied}
			lock := keyApply(a.ShopID, in.OrderRef).av()
			lock["customerId"] = avS(cust.ID)
			lock["currency"] = avS(in.Currency)
			lock["applied"] = avN(applied)
			lock["amountDue"] = avN(in.AmountDue)
			lock["createdAt"] = avS(fmtTime(s.now()))
			if applied > 0 {
				tx, err := s.newTx(a, gc.TxCreditApplication, idemKey)
				if err != nil {
					return p, err
				}
				tx.CustomerID, tx.OrderRef = cust.ID, in.OrderRef
				act, posting, err := s.moveBalance(a.ShopID, cust, in.Currency, -applied)
				if err != nil {
					return p, err
				}
				tx.Postings = []gc.Posting{posting, {Account: gc.AccountSales, Currency: in.Currency, Amount: applied}}
				txAct, err := s.putTx(a.ShopID, tx)
				if err != nil {
					return p, err
				}
				res.TransactionID = tx.ID
				lock["transactionId"] = avS(tx.ID)
				p.acts = append(p.acts, act, txAct)
			}
			p.acts = append(p.acts, s.putNew(lock, errAlreadyApplied))
			p.result = res
			return p, nil
		},
	})
}

var errAlreadyApplied = gc.Errorf(gc.ECONFLICT, "credit was already applied to this order ref")

// reversible lists the kinds of transaction a reversal may compensate:
// those that touch only a customer and system accounts. Orders and
// redemptions involve gift cards; a card is disabled, not reversed.
var reversible = map[gc.TxKind]bool{gc.TxCredit: true, gc.TxCreditApplication: true, gc.TxPromotionGrant: true}

// Reverse posts the compensating transaction of one of a customer's
// transactions, once. The original is never edited: a marker item beside it
// makes a second reversal fail its condition.
func (s *Store) Reverse(ctx context.Context, a gc.Actor, idemKey string, in gc.Reversal) (gc.Transaction, error) {
	if err := in.Validate(); err != nil {
		return gc.Transaction{}, err
	}
	if !gc.ValidID("cus", in.CustomerID) {
		return gc.Transaction{}, errCustomerNotFound
	}
	if !gc.ValidID("txn", in.TransactionID) {
		return gc.Transaction{}, errTxNotFound
	}
	return mutate(ctx, s, mutation[gc.Transaction]{
		actor: a, op: "reverse", idemKey: idemKey, input: in,
		keys: []key{keyCustomer(a.ShopID, in.CustomerID), keyTx(a.ShopID, in.TransactionID), keyReversed(a.ShopID, in.TransactionID)},
		build: func(items []item) (plan[gc.Transaction], error) {
			var p plan[gc.Transaction]
			cust, err := customerFrom(items[0])
			if err != nil {
				return p, err
			}
			if items[1] == nil {
				return p, errTxNotFound
			}
			orig, err := decodeTx(a.ShopID, items[1])
			if err != nil {
				return p, err
			}
			if orig.CustomerID != cust.ID {
				return p, errTxNotFound
			}
			if !reversible[orig.Kind] {
				return p, gc.Errorf(gc.ECONFLICT, "a %s transaction cannot be reversed", orig.Kind)
			}
			if items[2] != nil {
				return p, errAlreadyReversed
			}
			tx, err := s.newTx(a, gc.TxReversal, idemKey)
			if err != nil {
				return p, err
			}
			tx.CustomerID, tx.Reverses, tx.Reference, tx.OrderRef = cust.ID, orig.ID, in.Reason, orig.OrderRef
			for _, op := range orig.Postings {
				if op.Account == gc.CustomerAccount(cust.ID) {
					act, posting, err := s.moveBalance(a.ShopID, cust, op.Currency, -op.Amount)
					if err != nil {
						return p, err
					}
					p.acts = append(p.acts, act)
					tx.Postings = append(tx.Postings, posting)
					continue
				}
				tx.Postings = append(tx.Postings, gc.Posting{Account: op.Account, Currency: op.Currency, Amount: -op.Amount})
			}
			txAct, err := s.putTx(a.ShopID, tx)
			if err != nil {
				return p, err
			}
			marker := keyReversed(a.ShopID, orig.ID).av()
			marker["reversalId"] = avS(tx.ID)
			p.acts = append(p.acts, txAct, s.putNew(marker, errAlreadyReversed))
			p.result = tx
			return p, nil
		},
	})
}

var (
	errTxNotFound      = gc.Errorf(gc.ENOTFOUND, "transaction not found")
	errAlreadyReversed = gc.Errorf(gc.ECONFLICT, "the transaction was already reversed")
)
