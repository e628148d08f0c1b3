package dynamo

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Lists are spread over shards so that no partition of the table or of an
// index takes more than a small share of a shop's writes (a partition
// takes about 1,000 write units a second). These are the only shard
// counts; a reader fans out over exactly these.
const (
	// ListShards spreads a shop's transactions and orders (per day), its
	// gift cards and its holds. Each mutation writes at most about one
	// write unit to these lists in all, so 16 shards keep every partition
	// under 0.1 unit per mutation: 10,000 mutations/s for one shop
	// (infra/bench figure 8).
	ListShards = 16
	// MailShards spreads a shop's pending and sent mail. Outbox records are
	// large (the sealed message, copied into the index) and an order writes
	// two and moves both when they are sent, about 5 write units on the
	// pending list per mutation of the mixed load: 128 shards bring that to
	// 0.04 per partition, under 0.1 even for the fullest shard of a short
	// run. The sender reads every pending shard of every shop on each run
	// (128 small queries a shop), the price of it.
	MailShards = 128
	// CustomerShards spreads a shop's customer list. A customer's every
	// balance change rewrites its entry there (the index holds the whole
	// item, about a write unit), and the customers active at a time can be
	// few (a promotion run's few hundred): with 16 shards the fullest of
	// 250 customers' shards took 0.11 units a grant of a run (infra/bench
	// figure 8); 64 keep it near 0.05. The audit reads them all (64
	// queries a shop).
	CustomerShards = 64
	// LeaseShards spreads a promotion batch's lease of the budget over
	// that many items (fewer for a batch of fewer candidates), each a
	// partition of its own: every grant of a batch spends its lease, and a
	// shard takes about one grant in LeaseShards (promorun.go).
	LeaseShards = 16
)

// partitionQueries is how many partitions a reader of a sharded list
// queries at once.
const partitionQueries = 8

// inParallel runs f for 0..n-1, up to partitionQueries at once, and
// returns the first error (the calls still running are cancelled).
func inParallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, partitionQueries)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(ctx, i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	return first
}

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

// queryMerged reads the items of GSI1 partitions pks whose sort key lies
// in (after, until] — after "" means from the start, until "" no bound —
// in sort-key order across the partitions: all of them if limit is 0, else
// the first limit, and more says whether any are left after those.
//
// With a limit it merges in rounds: each round reads a page from every
// partition that may hold more (half as much again as its share of what is
// still wanted, plus 2: 1.5 × wanted/partitions + 2 items), and keeps only
// the items up to the smallest last key among the partitions that have
// more, because a partition with more could still hold an item below any
// larger key. The partition that sets that bound gives its whole page, so
// each round makes progress; the half page of slack makes one round enough
// for items spread evenly over the partitions (the shards: FNV of the id),
// so a call costs about one query a partition, and the items read but not
// kept are about a page a partition: the merge is exact and reads at most
// about twice what it returns plus a page a partition.
func (s *Store) queryMerged(ctx context.Context, pks []string, after, until string, limit int) (items []item, more bool, err error) {
	if limit <= 0 {
		pages := make([][]item, len(pks))
		err := inParallel(ctx, len(pks), func(ctx context.Context, i int) (err error) {
			pages[i], _, err = s.queryRange(ctx, pks[i], after, until, 0)
			return err
		})
		if err != nil {
			return nil, false, err
		}
		for _, page := range pages {
			items = append(items, page...)
		}
		sortBySK(items)
		return items, false, nil
	}
	// live are the partitions that may hold more; a partition that ran out
	// is not read again, and what it gave beyond a round's bound is kept
	// in carry for the next rounds.
	live := pks
	var carry []item
	for len(items) < limit {
		k := max(2, (3*(limit-len(items))+2*len(live)-1)/(2*max(len(live), 1))+2)
		var fresh []item
		bound, anyMore := "", false
		var still []string
		pages, mores := make([][]item, len(live)), make([]bool, len(live))
		err := inParallel(ctx, len(live), func(ctx context.Context, i int) (err error) {
			pages[i], mores[i], err = s.queryRange(ctx, live[i], after, until, k)
			return err
		})
		if err != nil {
			return nil, false, err
		}
		for i, pk := range live {
			page, hasMore := pages[i], mores[i]
			if !hasMore {
				carry = append(carry, page...)
				continue
			}
			fresh = append(fresh, page...)
			still = append(still, pk)
			if last := page[len(page)-1].s(attrGSI1SK); !anyMore || last < bound {
				bound = last
			}
			anyMore = true
		}
		sortBySK(carry)
		sortBySK(fresh)
		if !anyMore {
			items = append(items, carry...)
			more = false
			break
		}
		cut := func(xs []item) int {
			return sort.Search(len(xs), func(i int) bool { return xs[i].s(attrGSI1SK) > bound })
		}
		nc, nf := cut(carry), cut(fresh)
		round := append(append([]item{}, carry[:nc]...), fresh[:nf]...)
		sortBySK(round)
		carry = carry[nc:]
		items = append(items, round...)
		more, live = true, still
		after = bound
	}
	if len(items) > limit {
		items, more = items[:limit], true
	}
	return items, more, nil
}

// queryRange reads one GSI1 partition's items with a sort key in (after,
// until]: up to max of them (0: all), and whether there are more.
func (s *Store) queryRange(ctx context.Context, pk, after, until string, max int) ([]item, bool, error) {
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
	if max > 0 {
		in.Limit = aws.Int32(int32(max + 1)) // +1: "after" itself may come back and is dropped
	}
	var out []item
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("query %s: %w", pk, err)
		}
		for _, it := range page.Items {
			if after != "" && item(it).s(attrGSI1SK) == after {
				continue
			}
			out = append(out, it)
		}
		if max > 0 && len(out) >= max {
			return out[:max], len(out) > max || len(page.LastEvaluatedKey) > 0, nil
		}
	}
	return out, false, nil
}

func sortBySK(items []item) {
	sort.SliceStable(items, func(i, j int) bool { return items[i].s(attrGSI1SK) < items[j].s(attrGSI1SK) })
}
