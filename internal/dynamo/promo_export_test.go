package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// GrantForTest is a grant record as the promotion tests check it.
type GrantForTest struct {
	Key, OrderID, CustomerID, RunID string
	Amount                          int64
}

// GrantsForTest returns a promotion's grant records by grant key (a scan:
// tests only, on a small table).
func GrantsForTest(ctx context.Context, s *Store, shopID, promoID string) (map[string]GrantForTest, error) {
	prefix := keyGrant(shopID, promoID, "").pk
	out := map[string]GrantForTest{}
	p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		FilterExpression:          aws.String("begins_with(PK, :p) AND SK = :sk"),
		ExpressionAttributeValues: item{":p": avS(prefix), ":sk": avS("GRANT")}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, raw := range page.Items {
			it := item(raw)
			amount, err := it.n("amount")
			if err != nil {
				return nil, err
			}
			k := strings.TrimPrefix(it.s(attrPK), prefix)
			out[k] = GrantForTest{Key: k, OrderID: it.s("orderId"), CustomerID: it.s("customerId"), RunID: it.s("runId"), Amount: amount}
		}
	}
	return out, nil
}

// BudgetRemainingForTest returns a promotion's remaining budget.
func BudgetRemainingForTest(ctx context.Context, s *Store, shopID, promoID string) (int64, error) {
	p, err := s.Promotion(ctx, shopID, promoID)
	if err != nil {
		return 0, err
	}
	if p.BudgetRemaining == nil {
		return 0, fmt.Errorf("promotion %s has no budget", promoID)
	}
	return *p.BudgetRemaining, nil
}

// SeedOrdersForTest writes orders, their gift cards and customers (with
// their email locks) with BatchWriteItem: the fast path to a large table
// for benchmarks, which does not go through the ledger (so the orders have
// no transactions; the audit does not look at orders). Cards carry their
// order's currency and are active.
func SeedOrdersForTest(ctx context.Context, s *Store, shopID string, customers []gc.Customer, orders []gc.Order) error {
	var items []item
	for _, c := range customers {
		emailKey := strings.ToLower(c.Email)
		items = append(items, customerItem(shopID, c, emailKey))
		lock := keyEmail(shopID, emailKey).av()
		lock["customerId"] = avS(c.ID)
		items = append(items, lock)
	}
	for _, o := range orders {
		items = append(items, orderItem(shopID, o))
		for _, oc := range o.GiftCards {
			items = append(items, cardItem(shopID, gc.GiftCard{ID: oc.ID, Last4: oc.Last4, Currency: o.Currency,
				InitialAmount: oc.Amount, Balance: oc.Amount, Status: gc.CardActive, OrderID: o.ID, CreatedAt: o.CreatedAt}))
		}
	}
	for start := 0; start < len(items); start += 25 {
		reqs := make([]types.WriteRequest, 0, 25)
		for _, it := range items[start:min(start+25, len(items))] {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		pending := map[string][]types.WriteRequest{s.table: reqs}
		for len(pending) > 0 {
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return err
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// IDsForTest returns the store's id generator (for seeded records).
func IDsForTest(s *Store) *gc.IDs { return s.ids }

// LeaseForTest is a batch's lease of its promotion's budget.
type LeaseForTest struct {
	Leased, Remaining int64
	Returned          bool
}

// LeaseOfBatchForTest reads a batch's lease, every shard added up (ok
// false: none). Returned says every shard was returned.
func LeaseOfBatchForTest(ctx context.Context, s *Store, shopID, promoID, runID string, seq int) (l LeaseForTest, ok bool, err error) {
	l.Returned = true
	for k := range LeaseShards {
		it, err := s.getOne(ctx, keyLease(shopID, promoID, runID, seq, k))
		if err != nil {
			return l, ok, err
		}
		if it == nil {
			continue
		}
		ok = true
		leased, err := it.n(attrLeased)
		if err != nil {
			return l, true, err
		}
		left, err := it.n(attrLeaseRemaining)
		if err != nil {
			return l, true, err
		}
		l.Leased += leased
		l.Remaining += left
		l.Returned = l.Returned && it.s(attrLeaseReturned) != ""
	}
	if !ok {
		l.Returned = false
	}
	return l, ok, nil
}

// LeaseShardsForTest reads every shard of a batch's lease, in order, up
// to the last one present.
func LeaseShardsForTest(ctx context.Context, s *Store, shopID, promoID, runID string, seq int) ([]LeaseForTest, error) {
	var out []LeaseForTest
	for k := range LeaseShards {
		it, err := s.getOne(ctx, keyLease(shopID, promoID, runID, seq, k))
		if err != nil || it == nil {
			return out, err
		}
		var l LeaseForTest
		if l.Leased, err = it.n(attrLeased); err != nil {
			return out, err
		}
		if l.Remaining, err = it.n(attrLeaseRemaining); err != nil {
			return out, err
		}
		l.Returned = it.s(attrLeaseReturned) != ""
		out = append(out, l)
	}
	return out, nil
}
