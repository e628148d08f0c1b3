package bench

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/giftcredit/giftcredit/internal/dynamo"
)

func wireItem(t *testing.T, s string) Item {
	t.Helper()
	var it Item
	if err := json.Unmarshal([]byte(s), &it); err != nil {
		t.Fatal(err)
	}
	return it
}

func parse(t *testing.T, op, body string, ok bool) WriteRequest {
	t.Helper()
	r, parsed := ParseWriteRequest(op, []byte(body), ok)
	if !parsed {
		t.Fatalf("%s %s: not parsed", op, body)
	}
	return r
}

// A hand-made log: the units of every partition, table and indexes, by
// the rules of PartitionCounter.Add.
func TestPartitionCounterCountsTableAndIndexUnits(t *testing.T) {
	t.Parallel()
	if got, want := TableIndexes(), []Index{{"GSI1", "GSI1PK", "GSI1SK", false}, {"GSI2", "GSI2PK", "GSI2SK", false}, {"GSI3", "GSI3PK", "GSI3SK", true}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("indexes = %v, want %v", got, want)
	}
	before := []Item{
		wireItem(t, `{"PK":{"S":"SHOP#s#CUST#c"},"SK":{"S":"CUSTOMER"},"GSI1PK":{"S":"SHOP#s#CUSTOMERS"},"GSI1SK":{"S":"c"},"bal":{"N":"100"},"version":{"N":"1"}}`),
		wireItem(t, `{"PK":{"S":"SHOP#s#MAIL#m"},"SK":{"S":"MAIL"},"GSI1PK":{"S":"MAIL#PENDING"},"GSI1SK":{"S":"t#m"},"status":{"S":"pending"}}`),
		wireItem(t, `{"PK":{"S":"SHOP#s#PROMO#p"},"SK":{"S":"PROMO"},"GSI1PK":{"S":"SHOP#s#PROMOS"},"GSI1SK":{"S":"p"}}`),
	}
	c := NewPartitionCounter(TableIndexes(), before)
	// A mutation: a transaction putting a TX (in both indexes), updating
	// the customer (in GSI1, key unchanged) and checking the promotion.
	c.Add(parse(t, "TransactWriteItems", `{"TransactItems":[
		{"Put":{"Item":{"PK":{"S":"SHOP#s#TX#1"},"SK":{"S":"TX"},"GSI1PK":{"S":"SHOP#s#TXS"},"GSI1SK":{"S":"t#1"},"GSI2PK":{"S":"SHOP#s#CUST#c"},"GSI2SK":{"S":"t#1"}}}},
		{"Update":{"Key":{"PK":{"S":"SHOP#s#CUST#c"},"SK":{"S":"CUSTOMER"}},"UpdateExpression":"SET #bal = :bal, version = version + :one",
			"ExpressionAttributeNames":{"#bal":"bal"},"ExpressionAttributeValues":{":bal":{"N":"90"},":one":{"N":"1"}}}},
		{"ConditionCheck":{"Key":{"PK":{"S":"SHOP#s#PROMO#p"},"SK":{"S":"PROMO"}}}}]}`, true))
	// The mail is marked sent: it moves from MAIL#PENDING to the shop's
	// SENT partition of GSI1, a delete and a put.
	c.Add(parse(t, "UpdateItem", `{"Key":{"PK":{"S":"SHOP#s#MAIL#m"},"SK":{"S":"MAIL"}},"UpdateExpression":"SET #st = :sent, GSI1PK = :sentpk",
		"ExpressionAttributeNames":{"#st":"status"},"ExpressionAttributeValues":{":sent":{"S":"sent"},":sentpk":{"S":"SHOP#s#MAIL#SENT"}}}`, true))
	// A failed transaction: charged on the table, no index write.
	c.Add(parse(t, "TransactWriteItems", `{"TransactItems":[
		{"Put":{"Item":{"PK":{"S":"SHOP#s#TX#2"},"SK":{"S":"TX"},"GSI1PK":{"S":"SHOP#s#TXS"},"GSI1SK":{"S":"t#2"}}}}]}`, false))
	// A 2.5 KB item: 3 units on the table and on GSI1.
	big := strings.Repeat("x", 2500)
	c.Add(parse(t, "PutItem", `{"Item":{"PK":{"S":"SHOP#s#ORDER#o"},"SK":{"S":"ORDER"},"GSI1PK":{"S":"SHOP#s#ORDERS"},"GSI1SK":{"S":"t#o"},"body":{"S":"`+big+`"}}}`, true))
	// The promotion leaves GSI1 on delete.
	c.Add(parse(t, "DeleteItem", `{"Key":{"PK":{"S":"SHOP#s#PROMO#p"},"SK":{"S":"PROMO"}}}`, true))

	want := map[Partition]int{
		{"table", "SHOP#s#TX#1"}: 2, {"table", "SHOP#s#CUST#c"}: 2, {"table", "SHOP#s#PROMO#p"}: 2 + 1,
		{"GSI1", "SHOP#s#TXS"}: 1, {"GSI2", "SHOP#s#CUST#c"}: 1, {"GSI1", "SHOP#s#CUSTOMERS"}: 1,
		{"table", "SHOP#s#MAIL#m"}: 1, {"GSI1", "MAIL#PENDING"}: 1, {"GSI1", "SHOP#s#MAIL#SENT"}: 1,
		{"table", "SHOP#s#TX#2"}:    2,
		{"table", "SHOP#s#ORDER#o"}: 3, {"GSI1", "SHOP#s#ORDERS"}: 3,
		{"GSI1", "SHOP#s#PROMOS"}: 1,
	}
	if !reflect.DeepEqual(c.units, want) {
		t.Errorf("units:\n got %v\nwant %v", c.units, want)
	}
	if c.TableUnits != 13 || c.IndexUnits != 9 || c.Requests != 5 || c.FailedRequests != 1 || c.ItemWrites != 6 || c.Checks != 1 {
		t.Errorf("totals: table %d, index %d, requests %d (%d failed), item writes %d, checks %d; want 13, 9, 5 (1), 6, 1",
			c.TableUnits, c.IndexUnits, c.Requests, c.FailedRequests, c.ItemWrites, c.Checks)
	}
	if v := c.items[ItemKey{"SHOP#s#CUST#c", "CUSTOMER"}]; *v["bal"].N != "90" || *v["version"].N != "2" {
		t.Errorf("customer after the update = %v", v)
	}

	// The table as it is now agrees with the counter's copy but for one
	// item, whose index key the counter did not see change.
	now := []Item{c.items[ItemKey{"SHOP#s#TX#1", "TX"}], c.items[ItemKey{"SHOP#s#CUST#c", "CUSTOMER"}],
		c.items[ItemKey{"SHOP#s#ORDER#o", "ORDER"}], wireItem(t, `{"PK":{"S":"SHOP#s#MAIL#m"},"SK":{"S":"MAIL"},"GSI1PK":{"S":"MAIL#PENDING"},"GSI1SK":{"S":"t#m"}}`)}
	if m, n := c.Mismatches(now); m != 1 || n != 5 {
		t.Errorf("mismatches = %d of %d, want 1 of 5", m, n)
	}

	// Two mutations: the hottest partition is the order's (3 units each
	// on GSI1 of 22 in all, tied with the table's, GSI1 first), 1.5 per mutation; the one
	// shared key is MAIL#PENDING, which bounds the system of 1,000 shops.
	rs := partitionFigure("test", c, 2, []string{"s"}, 0, 0)
	if len(rs) != 3 {
		t.Fatalf("%d results", len(rs))
	}
	shop, sys, shared := rs[0], rs[1], rs[2]
	hot := shop.Extra["hottest"].(PartitionUnits)
	if hot.Index != "GSI1" || hot.Key != "SHOP#s#ORDERS" || hot.PerMutation != 1.5 || hot.Share != 0.13636 || shop.Value != 667 || shop.OK {
		t.Errorf("one shop: %v, hottest %+v", shop.Value, hot)
	}
	sysHot := sys.Extra["hottest"].(PartitionUnits)
	if sysHot.Key != "MAIL#PENDING" || !sysHot.Shared || sys.Value != 2000 || sys.OK {
		t.Errorf("system: %v, hottest %+v", sys.Value, sysHot)
	}
	if shared.Value != 1 || shared.OK || !strings.Contains(shared.Reason, "GSI1 MAIL#PENDING") {
		t.Errorf("shared keys: %v, %s", shared.Value, shared.Reason)
	}
	if _, err := json.Marshal(rs); err != nil {
		t.Fatal(err)
	}
}

// The SDK's form of a request (figure 6's recorder) reads as its wire form
// (figure 5's server log).
func TestSDKWriteRequestMatchesWire(t *testing.T) {
	t.Parallel()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{Item: map[string]types.AttributeValue{"PK": s("A"), "SK": s("X"), "n": &types.AttributeValueMemberN{Value: "12"},
			"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberBOOL{Value: true}}}}}},
		{Update: &types.Update{Key: map[string]types.AttributeValue{"PK": s("B"), "SK": s("Y")}, UpdateExpression: aws.String("ADD #c :one"),
			ExpressionAttributeNames: map[string]string{"#c": "count"}, ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}},
		{ConditionCheck: &types.ConditionCheck{Key: map[string]types.AttributeValue{"PK": s("C"), "SK": s("Z")}}},
	}}
	got, ok := SDKWriteRequest(Call{Op: "TransactWriteItems", Input: in})
	want := parse(t, "TransactWriteItems", `{"TransactItems":[
		{"Put":{"Item":{"PK":{"S":"A"},"SK":{"S":"X"},"n":{"N":"12"},"m":{"M":{"k":{"BOOL":true}}}}}},
		{"Update":{"Key":{"PK":{"S":"B"},"SK":{"S":"Y"}},"UpdateExpression":"ADD #c :one","ExpressionAttributeNames":{"#c":"count"},"ExpressionAttributeValues":{":one":{"N":"1"}}}},
		{"ConditionCheck":{"Key":{"PK":{"S":"C"},"SK":{"S":"Z"}}}}]}`, true)
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("SDK form:\n got %+v\nwant %+v", got, want)
	}
	if _, ok := SDKWriteRequest(Call{Op: "GetItem", Input: &dynamodb.GetItemInput{}}); ok {
		t.Error("a read was taken for a write")
	}
	// Item size: names plus values; 12 is 2 significant digits (2 bytes),
	// the map 3 + 1 per element + len("k") + 1 for the boolean.
	if got := ItemSize(want.Actions[0].Item); got != (2+1)+(2+1)+(1+2)+(1+3+1+1+1) {
		t.Errorf("size = %d", got)
	}
}

func TestApplyUpdate(t *testing.T) {
	t.Parallel()
	before := wireItem(t, `{"PK":{"S":"P"},"SK":{"S":"S"},"n":{"N":"5"},"old":{"S":"x"}}`)
	a := WriteAction{Kind: "Update", Key: ItemKey{"P", "S"},
		Expr:   "SET n = n - :d, a = if_not_exists(a, :a), old = if_not_exists(old, :a), GSI1SK = :sk ADD c :one REMOVE gone",
		Values: wireItem(t, `{":d":{"N":"2"},":a":{"S":"new"},":sk":{"S":"k"},":one":{"N":"1"}}`)}
	after := applyUpdate(before, a)
	want := wireItem(t, `{"PK":{"S":"P"},"SK":{"S":"S"},"n":{"N":"3"},"old":{"S":"x"},"a":{"S":"new"},"GSI1SK":{"S":"k"},"c":{"N":"1"}}`)
	if !reflect.DeepEqual(after, want) {
		t.Errorf("after = %v, want %v", after, want)
	}
	if _, ok := before["a"]; ok {
		t.Error("the update changed the item before")
	}
	if up := applyUpdate(nil, WriteAction{Key: ItemKey{"Q", "T"}, Expr: "SET x = :x", Values: wireItem(t, `{":x":{"S":"v"}}`)}); up.str("PK") != "Q" || up.str("x") != "v" {
		t.Errorf("upsert = %v", up)
	}
}

// The server's log keeps each write request's body and outcome, in order.
func TestWriteLogKeepsRequestsAndOutcomes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, err := StartDynamo()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	client := d.NewClient(nil)
	if err := dynamo.CreateTable(ctx, client, Table); err != nil {
		t.Fatal(err)
	}
	item := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "A"}, "SK": &types.AttributeValueMemberS{Value: "X"}}
	if err := d.StartLog(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(Table), Item: item}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(Table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}); err == nil {
		t.Fatal("the second put met its condition")
	}
	if _, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(Table), Key: item}); err != nil {
		t.Fatal(err)
	}
	if err := d.StopLog(ctx); err != nil {
		t.Fatal(err)
	}
	reqs, err := d.WriteRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || !reqs[0].OK || reqs[1].OK || reqs[0].Actions[0].Key != (ItemKey{"A", "X"}) {
		t.Errorf("requests = %+v, want the two puts, the second failed", reqs)
	}
}

// A keys-only index (GSI3) is charged the size of the keys, and only when
// they change: a 2.5 KB item entering it costs it one unit, an update of
// the item's other attributes nothing, a move to another key one unit on
// each partition.
func TestPartitionCounterKeysOnlyIndex(t *testing.T) {
	t.Parallel()
	c := NewPartitionCounter(TableIndexes(), nil)
	big := strings.Repeat("x", 2500)
	c.Add(parse(t, "PutItem", `{"Item":{"PK":{"S":"SHOP#s#TX#1"},"SK":{"S":"TX"},"GSI3PK":{"S":"SHOP#s#EVENTS#1"},"GSI3SK":{"S":"t#1"},"body":{"S":"`+big+`"}}}`, true))
	c.Add(parse(t, "UpdateItem", `{"Key":{"PK":{"S":"SHOP#s#TX#1"},"SK":{"S":"TX"}},"UpdateExpression":"SET body = :b",
		"ExpressionAttributeValues":{":b":{"S":"short"}}}`, true))
	c.Add(parse(t, "UpdateItem", `{"Key":{"PK":{"S":"SHOP#s#TX#1"},"SK":{"S":"TX"}},"UpdateExpression":"SET GSI3PK = :done",
		"ExpressionAttributeValues":{":done":{"S":"SHOP#s#EVENTS#DONE#1"}}}`, true))
	want := map[Partition]int{{"table", "SHOP#s#TX#1"}: 3 + 3 + 1, {"GSI3", "SHOP#s#EVENTS#1"}: 2, {"GSI3", "SHOP#s#EVENTS#DONE#1"}: 1}
	if !reflect.DeepEqual(c.units, want) {
		t.Errorf("units:\n got %v\nwant %v", c.units, want)
	}
}
