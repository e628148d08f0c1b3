package dynamo

import (
	"context"
	"strings"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Audit walks a shop's transactions (GSI1, by time), customers and gift
// cards, and reports every broken invariant: an unbalanced transaction, a
// stored balance that differs from the sum of its postings, a negative
// balance, a redeemed card with a balance left, an order whose totals do
// not follow from its lines or do not match its transaction's postings.
func (s *Store) Audit(ctx context.Context, shopID string) (gc.AuditReport, error) {
	aud := gc.NewAuditor(shopID, s.now().UTC())
	err := s.queryAll(ctx, indexGSI1, gsiTxs(shopID), func(it item) error {
		t, err := decodeTx(shopID, it)
		if err != nil {
			return err
		}
		aud.AddTransaction(t)
		return nil
	})
	if err != nil {
		return gc.AuditReport{}, err
	}
	err = s.queryAll(ctx, indexGSI1, gsiCustomers(shopID), func(it item) error {
		c, err := decodeCustomer(it)
		if err != nil {
			return err
		}
		for k := range it {
			if cur, ok := strings.CutPrefix(k, balancePrefix); ok {
				aud.AddBalance(gc.StoredBalance{Account: gc.CustomerAccount(c.ID), Currency: cur, Amount: c.BalanceOf(cur), Version: c.Version})
			}
		}
		return nil
	})
	if err != nil {
		return gc.AuditReport{}, err
	}
	err = s.queryAll(ctx, indexGSI1, gsiOrders(shopID), func(it item) error {
		o, err := decodeOrder(it)
		if err != nil {
			return err
		}
		aud.AddOrder(o)
		return nil
	})
	if err != nil {
		return gc.AuditReport{}, err
	}
	var cardBreaches []gc.Breach
	err = s.queryAll(ctx, indexGSI1, gsiCards(shopID), func(it item) error {
		c, err := decodeCard(it)
		if err != nil {
			return err
		}
		aud.AddBalance(gc.StoredBalance{Account: gc.CardAccount(c.ID), Currency: c.Currency, Amount: c.Balance, Version: c.Version})
		if c.Status == gc.CardRedeemed && c.Balance != 0 {
			cardBreaches = append(cardBreaches, gc.Breach{Kind: "redeemed_card_balance", Subject: c.ID, Detail: "a redeemed card still holds a balance"})
		}
		return nil
	})
	if err != nil {
		return gc.AuditReport{}, err
	}
	r := aud.Report()
	r.Breaches = append(r.Breaches, cardBreaches...)
	return r, nil
}
