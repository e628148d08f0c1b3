package localaws

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CheckIndexes proves that each global secondary index of table holds
// exactly the table's items that carry both of its key attributes, as
// DynamoDB's sparse indexes do. minidyn v0.8.2 can silently lose index
// entries (its index keeps a sorted list of keys beside a map of refs,
// and a query walks the two in step): an UpdateItem that gives an item an
// index key it did not have, or a DeleteItem of an item a PutItem had
// taken out of an index, puts them out of step, and from then on queries
// of that index (every partition) miss items. A store test whose index is
// blind could pass assertions of "nothing left to do"; this check, run at
// the end of a test, says so instead. Entries of items that no longer
// carry the index's keys (minidyn keeps them; its queries skip them) are
// ignored.
func CheckIndexes(ctx context.Context, client *dynamodb.Client, table string) error {
	d, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("check indexes: %w", err)
	}
	items, err := scanAll(ctx, client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("check indexes: scan %s: %w", table, err)
	}
	pkName, skName := keyNames(d.Table.KeySchema)
	id := func(it map[string]types.AttributeValue) string {
		return attrString(it[pkName]) + " | " + attrString(it[skName])
	}
	var problems []string
	for _, gsi := range d.Table.GlobalSecondaryIndexes {
		hash, rng := keyNames(gsi.KeySchema)
		has := func(it map[string]types.AttributeValue) bool {
			return it[hash] != nil && (rng == "" || it[rng] != nil)
		}
		want := map[string]bool{}
		for _, it := range items {
			if has(it) {
				want[id(it)] = true
			}
		}
		got, err := scanAll(ctx, client, &dynamodb.ScanInput{TableName: aws.String(table), IndexName: gsi.IndexName})
		if err != nil {
			return fmt.Errorf("check indexes: scan %s: %w", aws.ToString(gsi.IndexName), err)
		}
		seen := map[string]bool{}
		for _, it := range got {
			if has(it) {
				seen[id(it)] = true
			}
		}
		var missing, extra []string
		for k := range want {
			if !seen[k] {
				missing = append(missing, k)
			}
		}
		for k := range seen {
			if !want[k] {
				extra = append(extra, k)
			}
		}
		if len(missing)+len(extra) > 0 {
			sort.Strings(missing)
			sort.Strings(extra)
			problems = append(problems, fmt.Sprintf("%s: %d of %d items missing (e.g. %s), %d extra (%s)",
				aws.ToString(gsi.IndexName), len(missing), len(want), first(missing, 3), len(extra), first(extra, 3)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("minidyn's indexes lost step with table %s (did an UpdateItem add an index key to an item "+
			"not yet in the index, or a DeleteItem remove an item a PutItem had taken out of one? see CheckIndexes): %s",
			table, strings.Join(problems, "; "))
	}
	return nil
}

func scanAll(ctx context.Context, client *dynamodb.Client, in *dynamodb.ScanInput) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
	}
	return out, nil
}

func keyNames(ks []types.KeySchemaElement) (hash, rng string) {
	for _, k := range ks {
		switch k.KeyType {
		case types.KeyTypeHash:
			hash = aws.ToString(k.AttributeName)
		case types.KeyTypeRange:
			rng = aws.ToString(k.AttributeName)
		}
	}
	return hash, rng
}

func attrString(v types.AttributeValue) string {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberN:
		return x.Value
	case nil:
		return ""
	default:
		return fmt.Sprintf("%T", v)
	}
}

func first(s []string, n int) string {
	if len(s) > n {
		return strings.Join(s[:n], ", ") + ", …"
	}
	return strings.Join(s, ", ")
}
