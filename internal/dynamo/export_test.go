package dynamo

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// DumpForTest scans the whole table into a stable string, leaving out the
// failed-attempt counters (a rejected code attempt is counted by design).
func DumpForTest(ctx context.Context, s *Store) (string, error) {
	var rows []string
	p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, it := range out.Items {
			if item(it).s(attrSK) == "LIMIT" {
				continue
			}
			keys := make([]string, 0, len(it))
			for k := range it {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "%s=%s;", k, avString(it[k]))
			}
			rows = append(rows, b.String())
		}
	}
	sort.Strings(rows)
	return strings.Join(rows, "\n"), nil
}

func avString(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S:" + v.Value
	case *types.AttributeValueMemberN:
		return "N:" + v.Value
	case *types.AttributeValueMemberB:
		return fmt.Sprintf("B:%x", v.Value)
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprintf("BOOL:%v", v.Value)
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = avString(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + avString(v.Value[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("%T", v)
}

// GSI1PartitionsForTest counts the table's items per GSI1 partition key.
func GSI1PartitionsForTest(ctx context.Context, s *Store) (map[string]int, error) {
	counts := map[string]int{}
	p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range out.Items {
			if pk := item(it).s(attrGSI1PK); pk != "" {
				counts[pk]++
			}
		}
	}
	return counts, nil
}

// ClosePagingForTest makes the daily close read pages of page
// transactions and stop, as if out of time, after stopAfter pages a call.
func ClosePagingForTest(page, stopAfter int) Option {
	return func(s *Store) { s.closePaging = closePaging{page: page, stopAfter: stopAfter} }
}

// LiabilityDayItemsForTest counts the stored liability days of a shop in cur.
func LiabilityDayItemsForTest(ctx context.Context, s *Store, shopID, cur string) (int, error) {
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table),
		KeyConditionExpression: aws.String("PK = :pk"), ExpressionAttributeValues: item{":pk": avS(liabPK(shopID, cur))}})
	if err != nil {
		return 0, err
	}
	return len(out.Items), nil
}

// TamperLiabilityDayForTest overwrites one number of a stored day.
func TamperLiabilityDayForTest(ctx context.Context, s *Store, shopID, cur, day, attr string, v int64) error {
	k := keyLiabilityDay(shopID, cur, day)
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: k.av(),
		UpdateExpression: aws.String("SET #a = :v"), ExpressionAttributeNames: map[string]string{"#a": attr},
		ExpressionAttributeValues: item{":v": avN(v)}})
	return err
}

// ClientForTest is the store's client (a second store on the same table).
func ClientForTest(s *Store) *dynamodb.Client { return s.client }

// LiabilityBalancesForTest sums the stored balances per currency: cards
// with their holds, customers with theirs.
func LiabilityBalancesForTest(ctx context.Context, s *Store, shopID string) (map[string][2]int64, error) {
	out := map[string][2]int64{}
	add := func(cur string, side int, v int64) {
		x := out[cur]
		x[side] += v
		out[cur] = x
	}
	_, err := each(ctx, s, gsiAllCards(shopID), decodeCard, func(c gc.CardState) { add(c.Currency, 0, c.Balance+c.Held) })
	if err != nil {
		return nil, err
	}
	_, err = each(ctx, s, gsiAllCustomers(shopID), decodeCustomer, func(c gc.CustomerState) {
		for _, b := range c.Balances {
			add(b.Currency, 1, b.Amount+b.Held)
		}
	})
	return out, err
}
