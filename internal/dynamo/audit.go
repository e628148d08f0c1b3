package dynamo

import (
	"context"
	"fmt"
	"slices"
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
	// life, with a day's margin either side for clocks that disagree. An
	// order is written with its transaction, at the same time, so a day
	// without a transaction has no order either: only the days that have
	// one are read for orders (a shop's quiet days cost the transactions'
	// shards only).
	from, until := sh.CreatedAt.Add(-24*time.Hour), now.Add(24*time.Hour)
	found, err := each(ctx, s, gsiDaily(shopID, "TXS", from, until), func(it item) (gc.Transaction, error) { return decodeTx(shopID, it) }, aud.AddTransaction)
	if err != nil {
		return gc.AuditReport{}, err
	}
	var orderPks []string
	for i, d := range days(from, until) {
		if slices.ContainsFunc(found[i*ListShards:(i+1)*ListShards], func(n int) bool { return n > 0 }) {
			orderPks = append(orderPks, shardKeys(shopPrefix(shopID)+"ORDERS#"+d, ListShards)...)
		}
	}
	if _, err := each(ctx, s, gsiAllCustomers(shopID), decodeCustomer, aud.AddCustomer); err != nil {
		return gc.AuditReport{}, err
	}
	if _, err := each(ctx, s, orderPks, decodeOrder, aud.AddOrder); err != nil {
		return gc.AuditReport{}, err
	}
	if _, err := each(ctx, s, gsiAllCards(shopID), decodeCard, aud.AddCard); err != nil {
		return gc.AuditReport{}, err
	}
	if _, err := each(ctx, s, gsiAllHolds(shopID), decodeHold, aud.AddHold); err != nil {
		return gc.AuditReport{}, err
	}
	if err := s.auditLiability(ctx, shopID, aud); err != nil {
		return gc.AuditReport{}, err
	}
	return aud.Report(), nil
}

// each decodes every item of GSI1 partitions pks and hands them to add, in
// the order of pks (so the report does not depend on timing), querying
// several partitions at once (inParallel); it returns how many items each
// partition held.
func each[T any](ctx context.Context, s *Store, pks []string, decode func(item) (T, error), add func(T)) ([]int, error) {
	got := make([][]T, len(pks))
	err := inParallel(ctx, len(pks), func(ctx context.Context, i int) error {
		return s.queryAll(ctx, indexGSI1, pks[i], func(it item) error {
			v, err := decode(it)
			if err != nil {
				return err
			}
			got[i] = append(got[i], v)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	found := make([]int, len(pks))
	for i, vs := range got {
		found[i] = len(vs)
		for _, v := range vs {
			add(v)
		}
	}
	return found, nil
}
