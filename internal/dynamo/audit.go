package dynamo

import (
	"context"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Audit walks a shop's transactions (GSI1, by time), customers and gift
// cards, and reports every broken invariant: an unbalanced transaction, a
// stored balance that differs from the sum of its postings, a negative
// balance, a redeemed card with a balance left, an order whose totals do
// not follow from its lines or do not match its transaction's postings.
func (s *Store) Audit(ctx context.Context, shopID string) (gc.AuditReport, error) {
	aud := gc.NewAuditor(shopID, s.now().UTC())
	if err := each(ctx, s, gsiTxs(shopID), func(it item) (gc.Transaction, error) { return decodeTx(shopID, it) }, aud.AddTransaction); err != nil {
		return gc.AuditReport{}, err
	}
	if err := each(ctx, s, gsiCustomers(shopID), decodeCustomer, aud.AddCustomer); err != nil {
		return gc.AuditReport{}, err
	}
	if err := each(ctx, s, gsiOrders(shopID), decodeOrder, aud.AddOrder); err != nil {
		return gc.AuditReport{}, err
	}
	if err := each(ctx, s, gsiCards(shopID), decodeCard, aud.AddCard); err != nil {
		return gc.AuditReport{}, err
	}
	return aud.Report(), nil
}

// each decodes every item of a GSI1 partition and hands it to add.
func each[T any](ctx context.Context, s *Store, pk string, decode func(item) (T, error), add func(T)) error {
	return s.queryAll(ctx, indexGSI1, pk, func(it item) error {
		v, err := decode(it)
		if err != nil {
			return err
		}
		add(v)
		return nil
	})
}
