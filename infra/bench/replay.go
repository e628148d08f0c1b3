package bench

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Capture is what one run of an operation sent to DynamoDB: its read calls
// with their answers, and its write calls, in order.
type Capture struct {
	Reads  []Call
	Writes []Call
	// before maps each item key the reads named to the item as read (nil
	// when it did not exist): the state the writes' conditions were
	// decided on.
	before map[ItemKey]map[string]types.AttributeValue
}

// NewCapture sorts recorded calls into a Capture. Failed calls are an
// error: a figure measures runs that succeeded.
func NewCapture(calls []Call) (*Capture, error) {
	c := &Capture{before: map[ItemKey]map[string]types.AttributeValue{}}
	for _, call := range calls {
		if call.Err != nil {
			return nil, fmt.Errorf("%s failed: %w", call.Op, call.Err)
		}
		switch in := call.Input.(type) {
		case *dynamodb.TransactGetItemsInput:
			out := call.Output.(*dynamodb.TransactGetItemsOutput)
			for i, g := range in.TransactItems {
				var it map[string]types.AttributeValue
				if i < len(out.Responses) && len(out.Responses[i].Item) > 0 {
					it = out.Responses[i].Item
				}
				c.before[keyOf(g.Get.Key)] = it
			}
			c.Reads = append(c.Reads, call)
		case *dynamodb.GetItemInput:
			out := call.Output.(*dynamodb.GetItemOutput)
			c.before[keyOf(in.Key)] = out.Item
			c.Reads = append(c.Reads, call)
		case *dynamodb.TransactWriteItemsInput, *dynamodb.PutItemInput, *dynamodb.UpdateItemInput:
			c.Writes = append(c.Writes, call)
		default:
			return nil, fmt.Errorf("capture: %s is not a request this benchmark can replay", call.Op)
		}
	}
	if len(c.Writes) == 0 {
		return nil, fmt.Errorf("capture: the run wrote nothing")
	}
	if _, ok := c.Writes[0].Input.(*dynamodb.TransactWriteItemsInput); !ok {
		return nil, fmt.Errorf("capture: the first write is %s, not TransactWriteItems", c.Writes[0].Op)
	}
	return c, nil
}

// Describe lists the calls and the kinds of item each names, e.g.
// "TransactGetItems[IDEM CUSTOMER] TransactWriteItems[Put TX, Update CUSTOMER]".
func (c *Capture) Describe() string {
	return DescribeCalls(append(append([]Call{}, c.Reads...), c.Writes...))
}

// DescribeCalls lists calls with the kinds of item each names.
func DescribeCalls(calls []Call) string {
	var parts []string
	for _, call := range calls {
		parts = append(parts, call.Op+"["+strings.Join(itemKinds(call.Input), ", ")+"]")
	}
	return strings.Join(parts, " ")
}

func itemKinds(in any) []string {
	var out []string
	switch in := in.(type) {
	case *dynamodb.TransactGetItemsInput:
		for _, g := range in.TransactItems {
			out = append(out, keyOf(g.Get.Key).SK)
		}
	case *dynamodb.GetItemInput:
		out = append(out, keyOf(in.Key).SK)
	case *dynamodb.TransactWriteItemsInput:
		for _, w := range in.TransactItems {
			switch {
			case w.Put != nil:
				out = append(out, "Put "+keyOf(w.Put.Item).SK)
			case w.Update != nil:
				out = append(out, "Update "+keyOf(w.Update.Key).SK)
			case w.Delete != nil:
				out = append(out, "Delete "+keyOf(w.Delete.Key).SK)
			case w.ConditionCheck != nil:
				out = append(out, "Check "+keyOf(w.ConditionCheck.Key).SK)
			}
		}
	case *dynamodb.PutItemInput:
		out = append(out, "Put "+keyOf(in.Item).SK)
	case *dynamodb.UpdateItemInput:
		out = append(out, "Update "+keyOf(in.Key).SK)
	}
	return out
}

func keyOf(m map[string]types.AttributeValue) ItemKey {
	s := func(n string) string {
		if v, ok := m[n].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return ItemKey{PK: s("PK"), SK: s("SK")}
}

// Replay is a capture's writes re-aimed at fresh keys: Setup puts, for
// every item the writes update, check or replace under a condition and
// the reads found, a copy of
// that item as read at its fresh key, so that every condition meets the
// very state it met in the original run; Copies are the items the writes
// update or check that no read named (an unconditioned ADD to an item
// that must exist, such as what a customer has on hold), copied as they
// are when prepared to their fresh keys, since the original writes found
// them; Writes are then the original requests, item for item, on the
// fresh keys.
type Replay struct {
	Setup  []*dynamodb.PutItemInput
	Copies []ItemCopy
	Writes []any
}

// ItemCopy is an item a replay copies from its original key to its fresh
// one before it writes.
type ItemCopy struct {
	Table    *string
	From, To map[string]types.AttributeValue
}

// Replayer re-aims captures at fresh keys, each capture at its own keys
// except the record types of Shared, whose items every capture of this
// Replayer shares (as the original runs shared them: a promotion's budget).
// It remembers every key it made, for Cleanup.
type Replayer struct {
	shared map[string]bool
	prefix string
	n      int
	table  *string
	// made holds every fresh key a replay may have written (for Cleanup);
	// ready those already holding the state the next write expects.
	made  map[ItemKey]map[string]types.AttributeValue
	ready map[ItemKey]bool
}

// NewReplayer returns a Replayer whose keys no other Replayer of this
// process uses; shared lists the record types (sort keys) whose fresh
// items its replays share.
func NewReplayer(shared ...string) *Replayer {
	r := &Replayer{shared: map[string]bool{}, prefix: "#replay" + strconv.FormatInt(replaySeq.Add(1), 36),
		made: map[ItemKey]map[string]types.AttributeValue{}, ready: map[ItemKey]bool{}}
	for _, sk := range shared {
		r.shared[sk] = true
	}
	return r
}

// Replay returns c's writes on fresh keys.
func (rr *Replayer) Replay(c *Capture) *Replay {
	rr.n++
	own := rr.prefix + "-" + strconv.Itoa(rr.n)
	r := &Replay{}
	// fresh returns item (a key or a whole item) with its fresh PK.
	fresh := func(table *string, item map[string]types.AttributeValue) map[string]types.AttributeValue {
		orig := keyOf(item)
		suffix := own
		if rr.shared[orig.SK] {
			suffix = rr.prefix
		}
		out := maps.Clone(item)
		out["PK"] = &types.AttributeValueMemberS{Value: orig.PK + suffix}
		rr.made[keyOf(out)] = map[string]types.AttributeValue{"PK": out["PK"], "SK": out["SK"]}
		rr.table = table
		return out
	}
	// target returns the fresh key of an item a write depends on, setting
	// up the item as the original run read it the first time.
	target := func(table *string, k map[string]types.AttributeValue) map[string]types.AttributeValue {
		fk := fresh(table, k)
		if !rr.ready[keyOf(fk)] {
			rr.ready[keyOf(fk)] = true
			it, read := c.before[keyOf(k)]
			switch {
			case !read:
				r.Copies = append(r.Copies, ItemCopy{Table: table, From: k, To: fk})
			case it != nil:
				r.Setup = append(r.Setup, &dynamodb.PutItemInput{TableName: table, Item: fresh(table, it)})
			}
		}
		return fk
	}
	for _, call := range c.Writes {
		switch in := call.Input.(type) {
		case *dynamodb.TransactWriteItemsInput:
			out := &dynamodb.TransactWriteItemsInput{TransactItems: make([]types.TransactWriteItem, len(in.TransactItems))}
			for i, w := range in.TransactItems {
				switch {
				case w.Put != nil:
					p := *w.Put
					// A put conditioned on the item as read (a hold's
					// version) needs that item at its fresh key first.
					if it := c.before[keyOf(w.Put.Item)]; it != nil && w.Put.ConditionExpression != nil {
						target(w.Put.TableName, w.Put.Item)
					}
					p.Item = fresh(w.Put.TableName, w.Put.Item)
					rr.ready[keyOf(p.Item)] = true
					out.TransactItems[i].Put = &p
				case w.Update != nil:
					u := *w.Update
					u.Key = target(w.Update.TableName, w.Update.Key)
					out.TransactItems[i].Update = &u
				case w.ConditionCheck != nil:
					cc := *w.ConditionCheck
					cc.Key = target(w.ConditionCheck.TableName, w.ConditionCheck.Key)
					out.TransactItems[i].ConditionCheck = &cc
				case w.Delete != nil:
					d := *w.Delete
					d.Key = target(w.Delete.TableName, w.Delete.Key)
					out.TransactItems[i].Delete = &d
				}
			}
			r.Writes = append(r.Writes, out)
		case *dynamodb.PutItemInput:
			p := *in
			p.Item = fresh(in.TableName, in.Item)
			rr.ready[keyOf(p.Item)] = true
			r.Writes = append(r.Writes, &p)
		case *dynamodb.UpdateItemInput:
			u := *in
			u.Key = target(in.TableName, in.Key)
			r.Writes = append(r.Writes, &u)
		}
	}
	return r
}

// Cleanup deletes every item the replays of rr may have written or set up,
// so that the table is left as the original runs left it.
func (rr *Replayer) Cleanup(ctx context.Context, client *dynamodb.Client) error {
	var reqs []types.WriteRequest
	flush := func() error {
		for len(reqs) > 0 {
			out, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{*rr.table: reqs}})
			if err != nil {
				return fmt.Errorf("replay cleanup: %w", err)
			}
			reqs = out.UnprocessedItems[*rr.table]
		}
		return nil
	}
	if len(rr.made) == 0 {
		return nil
	}
	for _, k := range rr.made {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
		if len(reqs) == 25 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	rr.made, rr.ready = map[ItemKey]map[string]types.AttributeValue{}, map[ItemKey]bool{}
	return nil
}

// Prepare puts the replay's setup items and copies (untimed).
func (r *Replay) Prepare(ctx context.Context, client *dynamodb.Client) error {
	for _, p := range r.Setup {
		if _, err := client.PutItem(ctx, p); err != nil {
			return fmt.Errorf("replay setup: %w", err)
		}
	}
	for _, cp := range r.Copies {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: cp.Table, Key: cp.From, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("replay copy: %w", err)
		}
		if len(out.Item) == 0 {
			continue
		}
		it := maps.Clone(out.Item)
		it["PK"], it["SK"] = cp.To["PK"], cp.To["SK"]
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: cp.Table, Item: it}); err != nil {
			return fmt.Errorf("replay copy: %w", err)
		}
	}
	return nil
}

// Write sends the i-th replayed write request.
func (r *Replay) Write(ctx context.Context, client *dynamodb.Client, i int) error {
	var err error
	switch in := r.Writes[i].(type) {
	case *dynamodb.TransactWriteItemsInput:
		_, err = client.TransactWriteItems(ctx, in)
	case *dynamodb.PutItemInput:
		_, err = client.PutItem(ctx, in)
	case *dynamodb.UpdateItemInput:
		_, err = client.UpdateItem(ctx, in)
	}
	if err != nil {
		return fmt.Errorf("replayed write %d: %w", i, err)
	}
	return nil
}

// Read sends the i-th read request of the capture again, unchanged.
func (c *Capture) Read(ctx context.Context, client *dynamodb.Client, i int) error {
	var err error
	switch in := c.Reads[i].Input.(type) {
	case *dynamodb.TransactGetItemsInput:
		_, err = client.TransactGetItems(ctx, in)
	case *dynamodb.GetItemInput:
		_, err = client.GetItem(ctx, in)
	}
	if err != nil {
		return fmt.Errorf("replayed read %d: %w", i, err)
	}
	return nil
}

// WriteItems is the number of items of the capture's first (the
// mutation's) TransactWriteItems.
func (c *Capture) WriteItems() int {
	return len(c.Writes[0].Input.(*dynamodb.TransactWriteItemsInput).TransactItems)
}

var replaySeq atomic.Int64
