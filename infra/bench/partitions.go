package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/giftcredit/giftcredit/internal/dynamo"
)

// Figure 8's limits: a DynamoDB partition takes about 1,000 write units per
// second (in the table and in each index alike); one shop should take
// 10,000 mutations/s, and 1,000 shops together 100,000/s.
const (
	partitionWCU      = 1000.0
	shopCeilingTarget = 10_000.0
	systemShops       = 1000
	systemTarget      = 100_000.0
)

// Attr is a DynamoDB attribute value in its wire JSON form ({"S": ...}).
type Attr struct {
	S    *string         `json:"S,omitempty"`
	N    *string         `json:"N,omitempty"`
	B    []byte          `json:"B,omitempty"`
	BOOL *bool           `json:"BOOL,omitempty"`
	NULL *bool           `json:"NULL,omitempty"`
	M    map[string]Attr `json:"M,omitempty"`
	L    []Attr          `json:"L,omitempty"`
	SS   []string        `json:"SS,omitempty"`
	NS   []string        `json:"NS,omitempty"`
	BS   [][]byte        `json:"BS,omitempty"`
}

// Item is an item in wire form.
type Item map[string]Attr

func (it Item) key() ItemKey { return ItemKey{PK: it.str("PK"), SK: it.str("SK")} }

func (it Item) str(name string) string {
	if a, ok := it[name]; ok && a.S != nil {
		return *a.S
	}
	return ""
}

// WriteAction is one item write of a request: Put (Item), Update (Key and
// the update expression), Delete (Key) or Check (a ConditionCheck: Key).
type WriteAction struct {
	Kind   string
	Key    ItemKey
	Item   Item
	Expr   string
	Names  map[string]string
	Values Item
}

// WriteRequest is one write request as the server answered it.
type WriteRequest struct {
	Op      string
	Actions []WriteAction
	// OK says the request succeeded: a failed one is charged on the table
	// (a failed conditional write costs its units) but changes no item
	// and so writes no index.
	OK bool
}

// wireAction is the part of a PutItem, UpdateItem, DeleteItem or
// transaction action request body that figure 8 needs.
type wireAction struct {
	Item   Item              `json:"Item"`
	Key    Item              `json:"Key"`
	Expr   string            `json:"UpdateExpression"`
	Names  map[string]string `json:"ExpressionAttributeNames"`
	Values Item              `json:"ExpressionAttributeValues"`
}

type wireWriteRequest struct {
	wireAction
	TransactItems []struct {
		Put            *wireAction `json:"Put"`
		Update         *wireAction `json:"Update"`
		Delete         *wireAction `json:"Delete"`
		ConditionCheck *wireAction `json:"ConditionCheck"`
	} `json:"TransactItems"`
	RequestItems map[string][]struct {
		PutRequest    *wireAction `json:"PutRequest"`
		DeleteRequest *wireAction `json:"DeleteRequest"`
	} `json:"RequestItems"`
}

func (w *wireAction) action(kind string) WriteAction {
	a := WriteAction{Kind: kind, Item: w.Item, Expr: w.Expr, Names: w.Names, Values: w.Values}
	if kind == "Put" {
		a.Key = w.Item.key()
	} else {
		a.Key = w.Key.key()
	}
	return a
}

// ParseWriteRequest decodes the body of a write request of operation op
// (the X-Amz-Target's last part); ok false for anything else.
func ParseWriteRequest(op string, body []byte, succeeded bool) (WriteRequest, bool) {
	if !writeOps[op] {
		return WriteRequest{}, false
	}
	var w wireWriteRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return WriteRequest{}, false
	}
	r := WriteRequest{Op: op, OK: succeeded}
	switch op {
	case "PutItem":
		r.Actions = append(r.Actions, w.action("Put"))
	case "UpdateItem":
		r.Actions = append(r.Actions, w.action("Update"))
	case "DeleteItem":
		r.Actions = append(r.Actions, w.action("Delete"))
	case "TransactWriteItems":
		for _, ti := range w.TransactItems {
			switch {
			case ti.Put != nil:
				r.Actions = append(r.Actions, ti.Put.action("Put"))
			case ti.Update != nil:
				r.Actions = append(r.Actions, ti.Update.action("Update"))
			case ti.Delete != nil:
				r.Actions = append(r.Actions, ti.Delete.action("Delete"))
			case ti.ConditionCheck != nil:
				r.Actions = append(r.Actions, ti.ConditionCheck.action("Check"))
			}
		}
	case "BatchWriteItem":
		for _, reqs := range w.RequestItems {
			for _, q := range reqs {
				if q.PutRequest != nil {
					r.Actions = append(r.Actions, q.PutRequest.action("Put"))
				} else if q.DeleteRequest != nil {
					r.Actions = append(r.Actions, q.DeleteRequest.action("Delete"))
				}
			}
		}
	}
	return r, true
}

// sdkAttr converts an SDK attribute value to wire form.
func sdkAttr(v types.AttributeValue) Attr {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return Attr{S: aws.String(v.Value)}
	case *types.AttributeValueMemberN:
		return Attr{N: aws.String(v.Value)}
	case *types.AttributeValueMemberB:
		return Attr{B: v.Value}
	case *types.AttributeValueMemberBOOL:
		return Attr{BOOL: aws.Bool(v.Value)}
	case *types.AttributeValueMemberNULL:
		return Attr{NULL: aws.Bool(v.Value)}
	case *types.AttributeValueMemberM:
		return Attr{M: sdkItem(v.Value)}
	case *types.AttributeValueMemberL:
		l := make([]Attr, len(v.Value))
		for i, e := range v.Value {
			l[i] = sdkAttr(e)
		}
		return Attr{L: l}
	case *types.AttributeValueMemberSS:
		return Attr{SS: v.Value}
	case *types.AttributeValueMemberNS:
		return Attr{NS: v.Value}
	case *types.AttributeValueMemberBS:
		return Attr{BS: v.Value}
	}
	return Attr{}
}

func sdkItem(m map[string]types.AttributeValue) Item {
	if m == nil {
		return nil
	}
	it := make(Item, len(m))
	for k, v := range m {
		it[k] = sdkAttr(v)
	}
	return it
}

func sdkAction(kind string, item, key map[string]types.AttributeValue, expr *string, names map[string]string, values map[string]types.AttributeValue) WriteAction {
	a := WriteAction{Kind: kind, Item: sdkItem(item), Expr: aws.ToString(expr), Names: names, Values: sdkItem(values)}
	if kind == "Put" {
		a.Key = a.Item.key()
	} else {
		a.Key = sdkItem(key).key()
	}
	return a
}

// SDKWriteRequest converts a recorded call (see Recorder) to a write
// request; ok false for a call that is not a write.
func SDKWriteRequest(c Call) (WriteRequest, bool) {
	r := WriteRequest{Op: c.Op, OK: c.Err == nil}
	switch in := c.Input.(type) {
	case *dynamodb.PutItemInput:
		r.Actions = append(r.Actions, sdkAction("Put", in.Item, nil, nil, in.ExpressionAttributeNames, in.ExpressionAttributeValues))
	case *dynamodb.UpdateItemInput:
		r.Actions = append(r.Actions, sdkAction("Update", nil, in.Key, in.UpdateExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues))
	case *dynamodb.DeleteItemInput:
		r.Actions = append(r.Actions, sdkAction("Delete", nil, in.Key, nil, nil, nil))
	case *dynamodb.TransactWriteItemsInput:
		for _, ti := range in.TransactItems {
			switch {
			case ti.Put != nil:
				r.Actions = append(r.Actions, sdkAction("Put", ti.Put.Item, nil, nil, nil, nil))
			case ti.Update != nil:
				u := ti.Update
				r.Actions = append(r.Actions, sdkAction("Update", nil, u.Key, u.UpdateExpression, u.ExpressionAttributeNames, u.ExpressionAttributeValues))
			case ti.Delete != nil:
				r.Actions = append(r.Actions, sdkAction("Delete", nil, ti.Delete.Key, nil, nil, nil))
			case ti.ConditionCheck != nil:
				r.Actions = append(r.Actions, sdkAction("Check", nil, ti.ConditionCheck.Key, nil, nil, nil))
			}
		}
	case *dynamodb.BatchWriteItemInput:
		for _, reqs := range in.RequestItems {
			for _, q := range reqs {
				if q.PutRequest != nil {
					r.Actions = append(r.Actions, sdkAction("Put", q.PutRequest.Item, nil, nil, nil, nil))
				} else if q.DeleteRequest != nil {
					r.Actions = append(r.Actions, sdkAction("Delete", nil, q.DeleteRequest.Key, nil, nil, nil))
				}
			}
		}
	default:
		return WriteRequest{}, false
	}
	return r, true
}

// ScanItems returns every item of table, in wire form.
func ScanItems(ctx context.Context, client *dynamodb.Client, table string) ([]Item, error) {
	var out []Item
	in := &dynamodb.ScanInput{TableName: aws.String(table)}
	for {
		page, err := client.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, it := range page.Items {
			out = append(out, sdkItem(it))
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// Index is a global secondary index's key attributes; KeysOnly says it
// projects the keys only (else all attributes).
type Index struct {
	Name, PK, SK string
	KeysOnly     bool
}

// projected is what index ix holds of item it: the whole item, or the
// table's and the index's keys.
func (ix Index) projected(it Item) Item {
	if !ix.KeysOnly || it == nil {
		return it
	}
	out := Item{}
	for _, k := range []string{"PK", "SK", ix.PK, ix.SK} {
		if v, ok := it[k]; ok {
			out[k] = v
		}
	}
	return out
}

// TableIndexes are the table's global secondary indexes, as
// internal/dynamo creates them.
func TableIndexes() []Index {
	var out []Index
	for _, g := range dynamo.TableInput(Table).GlobalSecondaryIndexes {
		ix := Index{Name: aws.ToString(g.IndexName), KeysOnly: g.Projection != nil && g.Projection.ProjectionType == types.ProjectionTypeKeysOnly}
		for _, k := range g.KeySchema {
			if k.KeyType == types.KeyTypeHash {
				ix.PK = aws.ToString(k.AttributeName)
			} else {
				ix.SK = aws.ToString(k.AttributeName)
			}
		}
		out = append(out, ix)
	}
	return out
}

// Partition is one partition key value of the table or of an index.
type Partition struct {
	// Index is "table" or the index's name.
	Index string `json:"index"`
	Key   string `json:"key"`
}

// PartitionCounter counts the write units every partition key receives,
// in the table and in every index, from write requests in the order the
// server applied them. It keeps a copy of every item (from a scan before
// the requests, then from the requests themselves) to know each item's
// index keys and size before and after each write.
type PartitionCounter struct {
	indexes []Index
	items   map[ItemKey]Item
	touched map[ItemKey]bool
	units   map[Partition]int

	Requests, FailedRequests, ItemWrites, Checks int
	TableUnits, IndexUnits                       int
}

// NewPartitionCounter starts a counter on a table holding items.
func NewPartitionCounter(indexes []Index, items []Item) *PartitionCounter {
	c := &PartitionCounter{indexes: indexes, items: map[ItemKey]Item{}, touched: map[ItemKey]bool{}, units: map[Partition]int{}}
	for _, it := range items {
		c.items[it.key()] = it
	}
	return c
}

// writeUnits is DynamoDB's write units of one write of an item of size
// bytes: one per KB started, at least one.
func writeUnits(size int) int { return max(1, (size+1023)/1024) }

// Add counts one request. Every item action is charged on the table
// partition of its PK, ceil(size / 1 KB) units, size the larger of the
// item before and after (DynamoDB's rule for puts and updates), twice in
// a TransactWriteItems (prepare and commit), a ConditionCheck included.
// Each index is written when the item enters it, leaves it (one write of
// the old item on the old key's partition), changes its index key (both),
// or changes while keeping it: index writes are charged once per KB of
// the index item (what the index projects: the whole item, or for a
// keys-only index the keys, which change only with the keys), whatever
// the request, since indexes are updated asynchronously and not
// transactionally. A failed request is charged on the table only and
// changes nothing.
func (c *PartitionCounter) Add(r WriteRequest) {
	c.Requests++
	if !r.OK {
		c.FailedRequests++
	}
	factor := 1
	if r.Op == "TransactWriteItems" {
		factor = 2
	}
	for _, a := range r.Actions {
		before := c.items[a.Key]
		var after Item
		switch a.Kind {
		case "Put":
			after = a.Item
		case "Update":
			after = applyUpdate(before, a)
		case "Delete":
			after = nil
		case "Check":
			after = before
		}
		u := factor * writeUnits(max(ItemSize(before), ItemSize(after)))
		c.units[Partition{"table", a.Key.PK}] += u
		c.TableUnits += u
		if a.Kind == "Check" {
			c.Checks++
			continue
		}
		c.ItemWrites++
		if !r.OK {
			continue
		}
		c.touched[a.Key] = true
		for _, ix := range c.indexes {
			bk, bIn := indexKey(before, ix)
			ak, aIn := indexKey(after, ix)
			pb, pa := ix.projected(before), ix.projected(after)
			switch {
			case bIn && aIn && bk == ak:
				if !reflect.DeepEqual(pb, pa) {
					c.index(ix.Name, ak.PK, writeUnits(max(ItemSize(pb), ItemSize(pa))))
				}
			default:
				if bIn {
					c.index(ix.Name, bk.PK, writeUnits(ItemSize(pb)))
				}
				if aIn {
					c.index(ix.Name, ak.PK, writeUnits(ItemSize(pa)))
				}
			}
		}
		if after == nil {
			delete(c.items, a.Key)
		} else {
			c.items[a.Key] = after
		}
	}
}

func (c *PartitionCounter) index(name, pk string, u int) {
	c.units[Partition{name, pk}] += u
	c.IndexUnits += u
}

// indexKey is an item's key in ix, ok false when the item is not in it
// (an index holds the items that have both its key attributes).
func indexKey(it Item, ix Index) (ItemKey, bool) {
	pk, ok1 := it[ix.PK]
	sk, ok2 := it[ix.SK]
	if !ok1 || !ok2 || pk.S == nil || sk.S == nil {
		return ItemKey{}, false
	}
	return ItemKey{PK: *pk.S, SK: *sk.S}, true
}

// Mismatches compares the index keys of every item the requests wrote
// with the table's items now, and returns how many differ: a check of
// the counter's copy of the items (and of its reading of the update
// expressions).
func (c *PartitionCounter) Mismatches(now []Item) (mismatched, touched int) {
	byKey := map[ItemKey]Item{}
	for _, it := range now {
		byKey[it.key()] = it
	}
	for k := range c.touched {
		mine, theirs := c.items[k], byKey[k]
		for _, ix := range c.indexes {
			a, aIn := indexKey(mine, ix)
			b, bIn := indexKey(theirs, ix)
			if a != b || aIn != bIn {
				mismatched++
				break
			}
		}
	}
	return mismatched, len(c.touched)
}

// ItemSize approximates an item's size by DynamoDB's rules: each
// attribute's name plus its value; a string or binary its length, a number
// one byte per two significant digits plus one, a boolean or null one
// byte, a map or list 3 bytes plus one per element plus the elements (and,
// for a map, their names), a set its elements.
func ItemSize(it Item) int {
	n := 0
	for k, v := range it {
		n += len(k) + attrSize(v)
	}
	return n
}

func attrSize(a Attr) int {
	num := func(s string) int {
		d := strings.TrimLeft(strings.TrimLeft(s, "+-"), "0.")
		return (len(strings.ReplaceAll(d, ".", ""))+1)/2 + 1
	}
	switch {
	case a.S != nil:
		return len(*a.S)
	case a.N != nil:
		return num(*a.N)
	case a.B != nil:
		return len(a.B)
	case a.BOOL != nil, a.NULL != nil:
		return 1
	case a.M != nil:
		n := 3
		for k, v := range a.M {
			n += 1 + len(k) + attrSize(v)
		}
		return n
	case a.L != nil:
		n := 3
		for _, v := range a.L {
			n += 1 + attrSize(v)
		}
		return n
	}
	n := 0
	for _, s := range a.SS {
		n += len(s)
	}
	for _, s := range a.NS {
		n += num(s)
	}
	for _, b := range a.BS {
		n += len(b)
	}
	return n
}

// applyUpdate returns the item after an Update action: SET, REMOVE, ADD
// and DELETE clauses on top-level attributes (a nested path, a.b or a[0],
// changes its top-level attribute's value only approximately). A SET of
// a plain value, or if_not_exists(x, :v) on a missing attribute, takes
// the value; arithmetic (x + :v, x - :v) and ADD to an existing attribute
// keep the old value's size and compute numbers; list_append appends.
// An update of a missing item creates it, as DynamoDB's does.
func applyUpdate(before Item, a WriteAction) Item {
	after := Item{}
	for k, v := range before {
		after[k] = v
	}
	if before == nil {
		after["PK"], after["SK"] = Attr{S: aws.String(a.Key.PK)}, Attr{S: aws.String(a.Key.SK)}
	}
	name := func(path string) string {
		path = strings.TrimSpace(path)
		if i := strings.IndexAny(path, ".["); i >= 0 {
			path = path[:i]
		}
		if n, ok := a.Names[path]; ok {
			return n
		}
		return path
	}
	operand := func(s string) (Attr, bool) {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, ":") {
			v, ok := a.Values[s]
			return v, ok
		}
		v, ok := after[name(s)]
		return v, ok
	}
	for _, cl := range updateClauses(a.Expr) {
		for _, part := range splitTop(cl.body, ',') {
			switch cl.verb {
			case "SET":
				path, rhs, ok := strings.Cut(part, "=")
				if !ok {
					continue
				}
				if v, ok := setValue(rhs, operand); ok {
					after[name(path)] = v
				}
			case "REMOVE":
				delete(after, name(part))
			case "ADD", "DELETE":
				f := strings.Fields(part)
				if len(f) != 2 {
					continue
				}
				v, ok := operand(f[1])
				if !ok {
					continue
				}
				old, had := after[name(f[0])]
				switch {
				case cl.verb == "ADD" && !had:
					after[name(f[0])] = v
				case cl.verb == "ADD" && old.N != nil && v.N != nil:
					after[name(f[0])] = Attr{N: aws.String(addNumbers(*old.N, *v.N, 1))}
				}
			}
		}
	}
	return after
}

// setValue evaluates the right-hand side of a SET action.
func setValue(rhs string, operand func(string) (Attr, bool)) (Attr, bool) {
	rhs = strings.TrimSpace(rhs)
	if fn, args, ok := call(rhs); ok {
		switch fn {
		case "if_not_exists":
			if len(args) == 2 {
				if v, ok := operand(args[0]); ok {
					return v, true
				}
				return setValue(args[1], operand)
			}
		case "list_append":
			if len(args) == 2 {
				x, _ := setValue(args[0], operand)
				y, _ := setValue(args[1], operand)
				return Attr{L: append(append([]Attr{}, x.L...), y.L...)}, true
			}
		}
		return Attr{}, false
	}
	for _, op := range []byte{'+', '-'} {
		if parts := splitTop(rhs, op); len(parts) == 2 {
			x, okx := setValue(parts[0], operand)
			y, oky := setValue(parts[1], operand)
			if okx && oky && x.N != nil && y.N != nil {
				sign := 1
				if op == '-' {
					sign = -1
				}
				return Attr{N: aws.String(addNumbers(*x.N, *y.N, sign))}, true
			}
			if okx {
				return x, true
			}
			return y, oky
		}
	}
	return operand(rhs)
}

// call splits "fn(a, b)" into fn and its arguments.
func call(s string) (string, []string, bool) {
	i := strings.IndexByte(s, '(')
	if i <= 0 || !strings.HasSuffix(s, ")") {
		return "", nil, false
	}
	return strings.TrimSpace(s[:i]), splitTop(s[i+1:len(s)-1], ','), true
}

// addNumbers adds (sign 1) or subtracts two DynamoDB numbers, integers
// exactly and others as floats.
func addNumbers(x, y string, sign int) string {
	var a, b int64
	if _, err := fmt.Sscan(x, &a); err == nil && !strings.ContainsAny(x, ".eE") {
		if _, err := fmt.Sscan(y, &b); err == nil && !strings.ContainsAny(y, ".eE") {
			return fmt.Sprint(a + int64(sign)*b)
		}
	}
	var f, g float64
	_, _ = fmt.Sscan(x, &f)
	_, _ = fmt.Sscan(y, &g)
	return fmt.Sprint(f + float64(sign)*g)
}

type updateClause struct{ verb, body string }

// updateClauses splits an update expression into its SET, REMOVE, ADD and
// DELETE clauses.
func updateClauses(expr string) []updateClause {
	var out []updateClause
	words := strings.Fields(expr)
	var cur *updateClause
	for _, w := range words {
		switch v := strings.ToUpper(w); v {
		case "SET", "REMOVE", "ADD", "DELETE":
			out = append(out, updateClause{verb: v})
			cur = &out[len(out)-1]
			continue
		}
		if cur != nil {
			cur.body += " " + w
		}
	}
	return out
}

// splitTop splits s at sep outside parentheses.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// PartitionUnits is one partition's write units.
type PartitionUnits struct {
	Partition
	Units int `json:"units"`
	// Share is the partition's share of all write units (for the system
	// model: of all write units of 1,000 equal shops).
	Share float64 `json:"share"`
	// PerMutation is the units the partition receives per mutation of
	// the shop (for the system model: per mutation of the system).
	PerMutation float64 `json:"unitsPerMutation"`
	// Shared says the key belongs to no one shop.
	Shared bool `json:"sharedByAllShops,omitempty"`
}

// shopKey says whether a partition key belongs to one of shops:
// SHOP#<id> (the shop's own record) or SHOP#<id>#....
func shopKey(key string, shops []string) bool {
	for _, s := range shops {
		if key == "SHOP#"+s || strings.HasPrefix(key, "SHOP#"+s+"#") {
			return true
		}
	}
	return false
}

// Top returns every partition written, most units first.
func (c *PartitionCounter) Top(mutations int, shops []string) []PartitionUnits {
	total := c.TableUnits + c.IndexUnits
	out := make([]PartitionUnits, 0, len(c.units))
	for p, u := range c.units {
		out = append(out, PartitionUnits{Partition: p, Units: u, Shared: !shopKey(p.Key, shops),
			Share:       round5(float64(u) / float64(max(total, 1))),
			PerMutation: round5(float64(u) / float64(max(mutations, 1)))})
	}
	sortPartitions(out, func(p PartitionUnits) float64 { return float64(p.Units) })
	return out
}

func sortPartitions(ps []PartitionUnits, by func(PartitionUnits) float64) {
	sort.Slice(ps, func(i, j int) bool {
		if a, b := by(ps[i]), by(ps[j]); a != b {
			return a > b
		}
		if ps[i].Index != ps[j].Index {
			return ps[i].Index < ps[j].Index
		}
		return ps[i].Key < ps[j].Key
	})
}

func round5(v float64) float64 { return math.Round(v*1e5) / 1e5 }

// partitionFigure is figure 8 for one source of requests (figure 5's mixed
// load, figure 6's promotion run): mutations is the number of mutations
// the requests made, shops the ids of the shops the source's keys belong
// to, check the result of Mismatches.
func partitionFigure(source string, c *PartitionCounter, mutations int, shops []string, mismatched, touched int) []Result {
	const top = 10
	parts := c.Top(mutations, shops)
	name := "partition write share, " + source + ": "
	if mutations == 0 || len(parts) == 0 {
		return []Result{notMeasured(name+"one shop's ceiling", "mutations/s", "≥ 10,000", "no mutation was recorded")}
	}
	total := c.TableUnits + c.IndexUnits
	common := map[string]any{"mutations": mutations, "requests": c.Requests, "failedRequests": c.FailedRequests,
		"itemWrites": c.ItemWrites, "conditionChecks": c.Checks, "tableUnits": c.TableUnits, "indexUnits": c.IndexUnits,
		"unitsPerMutation": round3(float64(total) / float64(mutations)), "partitionsWritten": len(parts),
		"itemCopyIndexKeyMismatches": []int{mismatched, touched},
		"counting": "per item write ceil(size/1 KB) units on the table partition (PK), x2 in TransactWriteItems, ConditionCheck included; " +
			"per index (GSI1, GSI2) 1 unit per KB when the item enters, leaves or changes in it, a key change being a delete on the old and a put on the new partition"}

	hot := parts[0]
	shopCeiling := partitionWCU / hot.PerMutation
	shop := Result{Name: name + "one shop's ceiling", Value: math.Round(shopCeiling), Unit: "mutations/s",
		Target: fmt.Sprintf("≥ %s", FormatThousands(shopCeilingTarget)), OK: shopCeiling >= shopCeilingTarget,
		Extra: map[string]any{"top": parts[:min(top, len(parts))], "hottest": hot}}
	if !shop.OK {
		shop.Reason = fmt.Sprintf("%s %s takes %.2f write units per mutation (%.1f%% of all): %.0f mutations/s fill its %.0f WCU/s",
			hot.Index, hot.Key, hot.PerMutation, 100*hot.Share, shopCeiling, partitionWCU)
	}

	// The system: 1,000 shops with this one's load each. A key of one
	// shop gets 1/1000 of the system's mutations, a shared key all.
	sys := make([]PartitionUnits, len(parts))
	for i, p := range parts {
		w := 1.0
		if !p.Shared {
			w = 1.0 / systemShops
		}
		p.Share = round5(w * float64(p.Units) / float64(total))
		p.PerMutation = round5(w * float64(p.Units) / float64(mutations))
		sys[i] = p
	}
	sortPartitions(sys, func(p PartitionUnits) float64 { return p.PerMutation })
	sysCeiling := partitionWCU / sys[0].PerMutation
	if sys[0].PerMutation == 0 {
		sysCeiling = math.Inf(1)
	}
	system := Result{Name: name + fmt.Sprintf("%s shops' ceiling", FormatThousands(systemShops)), Value: math.Round(sysCeiling), Unit: "mutations/s",
		Target: fmt.Sprintf("≥ %s", FormatThousands(systemTarget)), OK: sysCeiling >= systemTarget,
		Extra: map[string]any{"top": sys[:min(top, len(sys))], "hottest": sys[0], "shops": systemShops,
			"model": "1,000 shops with this load each: a key of one shop takes 1/1000 of the system's mutations, a key shared by all shops all of them"}}
	if !system.OK {
		system.Reason = fmt.Sprintf("%s %s takes %.4f write units per system mutation: %.0f mutations/s fill its %.0f WCU/s",
			sys[0].Index, sys[0].Key, sys[0].PerMutation, sysCeiling, partitionWCU)
	}

	var shared []PartitionUnits
	for _, p := range parts {
		if p.Shared {
			shared = append(shared, p)
		}
	}
	sharedR := Result{Name: name + "keys shared by all shops", Value: float64(len(shared)), Unit: "keys", Target: "0", OK: len(shared) == 0,
		Extra: map[string]any{"shared": shared}}
	if !sharedR.OK {
		keys := make([]string, len(shared))
		for i, p := range shared {
			keys[i] = p.Index + " " + p.Key
		}
		sharedR.Reason = "written keys that belong to no one shop: " + strings.Join(keys, ", ")
	}
	for k, v := range common {
		shop.Extra[k] = v
	}
	return []Result{shop, system, sharedR}
}

// FormatThousands prints a whole number with thousands separators.
func FormatThousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
