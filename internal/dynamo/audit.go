package dynamo

import (
	"context"
	"fmt"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Audit walks a shop's transactions (GSI1, by time), customers and gift
// cards, and reports every broken invariant: an unbalanced transaction, a
// stored balance that differs from the sum of its postings, a negative
// balance, a redeemed card with a balance left, an order whose totals do
// not follow from its lines or do not match its transaction's postings.
func (s *Store) Audit(ctx context.Context, shopID string) (gc.AuditReport, error) {
	now := s.now().UTC()
	aud := gc.NewAuditor(shopID, now)
	sh, err := s.Shop(ctx, shopID)
	if err != nil {
		return gc.AuditReport{}, fmt.Errorf("audit: %w", err)
	}
	// Transactions and orders are sharded by day: every day of the shop's
	// life, with a day's margin either side for clocks that disagree.
	from, until := sh.CreatedAt.Add(-24*time.Hour), now.Add(24*time.Hour)
	if err := each(ctx, s, gsiDaily(shopID, "TXS", from, until), func(it item) (gc.Transaction, error) { return decodeTx(shopID, it) }, aud.AddTransaction); err != nil {
		return gc.AuditReport{}, err
	}
	if err := each(ctx, s, gsiAllCustomers(shopID), decodeCustomer, aud.AddCustomer); err != nil {
		return gc.AuditReport{}, err
	}
	if err := each(ctx, s, gsiDaily(shopID, "ORDERS", from, until), decodeOrder, aud.AddOrder); err != nil {
		return gc.AuditReport{}, err
	}
	if err := each(ctx, s, gsiAllCards(shopID), decodeCard, aud.AddCard); err != nil {
		return gc.AuditReport{}, err
	}
	if err := each(ctx, s, gsiAllHolds(shopID), decodeHold, aud.AddHold); err != nil {
		return gc.AuditReport{}, err
	}
	if err := s.auditLiability(ctx, shopID, aud); err != nil {
		return gc.AuditReport{}, err
	}
	return aud.Report(), nil
}

// each decodes every item of GSI1 partitions pks and hands it to add.
func each[T any](ctx context.Context, s *Store, pks []string, decode func(item) (T, error), add func(T)) error {
	for _, pk := range pks {
		err := s.queryAll(ctx, indexGSI1, pk, func(it item) error {
			v, err := decode(it)
			if err != nil {
				return err
			}
			add(v)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
