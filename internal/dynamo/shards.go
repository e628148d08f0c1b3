package dynamo

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Lists are spread over shards so that no partition of the table or of an
// index takes more than a small share of a shop's writes (a partition
// takes about 1,000 write units a second). These are the only shard
// counts; a reader fans out over exactly these.
const (
	// ListShards spreads a shop's transactions and orders (per day), and
	// its customers and gift cards. Each mutation writes at most about one
	// write unit to these lists in all, so 16 shards keep every partition
	// under 0.1 unit per mutation: 10,000 mutations/s for one shop
	// (infra/bench figure 8).
	ListShards = 16
	// MailShards spreads a shop's pending and sent mail. Outbox records are
	// large (the sealed message, copied into the index) and an order writes
	// two and moves both when they are sent, about 5 write units on the
	// pending list per mutation of the mixed load: 64 shards bring that to
	// 0.08 per partition. The sender reads every pending shard of every
	// shop on each run (64 small queries a shop), the price of it.
	MailShards = 64
)

// shardOf draws an item's shard from its id (FNV-1a): uniform over the
// ids, and the same every time the item is written, so an update keeps it
// in its partition.
func shardOf(id string, n int) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return strconv.Itoa(int(h.Sum32() % uint32(n)))
}

// dayOf is the UTC day of t, as it appears in a time-sharded key.
func dayOf(t time.Time) string { return t.UTC().Format("2006-01-02") }

// days lists the UTC days from from to until, both included.
func days(from, until time.Time) []string {
	var out []string
	for d := from.UTC().Truncate(24 * time.Hour); !d.After(until.UTC()); d = d.Add(24 * time.Hour) {
		out = append(out, dayOf(d))
	}
	return out
}

// shardKeys lists a list's partition keys: base#<n> for every shard.
func shardKeys(base string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = base + "#" + strconv.Itoa(i)
	}
	return out
}

// queryMerged reads, from each GSI1 partition of pks, the items whose sort
// key lies in (after, until] — after "" means from the start, until "" no
// bound — at most limit from each, and returns the first limit of all of
// them in sort-key order (limit 0: all). Reading limit from every
// partition is what makes the merge exact: the first limit of the union
// are among the first limit of each.
func (s *Store) queryMerged(ctx context.Context, pks []string, after, until string, limit int) ([]item, error) {
	var all []item
	for _, pk := range pks {
		cond := "GSI1PK = :pk"
		vals := item{":pk": avS(pk)}
		switch {
		case after != "" && until != "":
			cond += " AND GSI1SK BETWEEN :after AND :until"
			vals[":after"], vals[":until"] = avS(after), avS(until)
		case after != "":
			cond += " AND GSI1SK >= :after"
			vals[":after"] = avS(after)
		case until != "":
			cond += " AND GSI1SK <= :until"
			vals[":until"] = avS(until)
		}
		in := &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(indexGSI1),
			KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: vals}
		if limit > 0 {
			in.Limit = aws.Int32(int32(limit + 1)) // +1: the bound is inclusive and "after" is excluded below
		}
		p := dynamodb.NewQueryPaginator(s.client, in)
		got := 0
		for p.HasMorePages() && (limit == 0 || got <= limit) {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", pk, err)
			}
			for _, it := range out.Items {
				if after != "" && item(it).s(attrGSI1SK) == after {
					continue
				}
				all = append(all, it)
				got++
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].s(attrGSI1SK) < all[j].s(attrGSI1SK) })
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}
