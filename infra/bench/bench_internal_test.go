package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestSplitFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     []string
	}{
		{"makefile's", `-tags lambda.norpc -trimpath -ldflags="-s -w"`, []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}},
		{"single quotes", `-ldflags '-s -w'  -v`, []string{"-ldflags", "-s -w", "-v"}},
		{"empty", "  ", nil},
		{"empty quotes", `-x ""`, []string{"-x", ""}},
	}
	for _, c := range cases {
		got, err := SplitFlags(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: SplitFlags(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
	if _, err := SplitFlags(`-ldflags="-s`); err == nil {
		t.Error("an unbalanced quote was accepted")
	}
}

func TestResultJSONHasFixedFieldsThenExtras(t *testing.T) {
	t.Parallel()
	r := Result{Name: "x", Value: 1.5, Unit: "ms", Target: "≤ 2", OK: true, Extra: map[string]any{"tableItems": 3, "b": "y"}}
	b, err := json.Marshal([]Result{r})
	if err != nil {
		t.Fatal(err)
	}
	got, want := string(b), `[{"name":"x","value":1.5,"unit":"ms","target":"≤ 2","ok":true,"b":"y","tableItems":3}]`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	r.Extra["ok"] = false
	if _, err := json.Marshal(r); err == nil {
		t.Error("an extra field shadowing a fixed one was accepted")
	}
}

func TestSampleQuantile(t *testing.T) {
	t.Parallel()
	var s Sample
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := s.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := (Sample{}).Median(); got != 0 {
		t.Errorf("empty median = %v", got)
	}
}

func TestWriteLogCountsItemsOfWriteRequests(t *testing.T) {
	t.Parallel()
	var l WriteLog
	body := `{"TransactItems":[
		{"Put":{"Item":{"PK":{"S":"SHOP#s#TX#1"},"SK":{"S":"TX"},"x":{"N":"1"}}}},
		{"Update":{"Key":{"PK":{"S":"SHOP#s#CUST#c"},"SK":{"S":"CUSTOMER"}}}},
		{"ConditionCheck":{"Key":{"PK":{"S":"SHOP#s#PROMO#p"},"SK":{"S":"PROMO"}}}}]}`
	l.add("TransactWriteItems", []byte(body)) // not started: ignored
	l.Start()
	l.add("TransactWriteItems", []byte(body))
	l.add("UpdateItem", []byte(`{"Key":{"PK":{"S":"SHOP#s#CUST#c"},"SK":{"S":"CUSTOMER"}}}`))
	l.add("GetItem", []byte(`{"Key":{"PK":{"S":"SHOP#s#CUST#c"},"SK":{"S":"CUSTOMER"}}}`))
	l.Stop()
	l.add("PutItem", []byte(`{"Item":{"PK":{"S":"late"},"SK":{"S":"X"}}}`))
	r := l.Report(5)
	if r.Writes != 3 {
		t.Fatalf("writes = %d, want 3", r.Writes)
	}
	if top := r.Top[0]; top.PK != "SHOP#s#CUST#c" || top.Writes != 2 || !top.Own {
		t.Errorf("top = %+v, want the customer with 2 writes, own", top)
	}
	if len(r.Others) != 1 || r.Others[0].SK != "TX" {
		t.Errorf("others = %+v, want the transaction only", r.Others)
	}
	if len(r.Checks) != 1 || r.Checks[0].SK != "PROMO" {
		t.Errorf("checks = %+v, want the promotion", r.Checks)
	}
}

// A mutation's capture replays on fresh keys (its conditions hold against
// the copied state), and the clean-up leaves the table as it was.
func TestReplayOnFreshKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, err := NewLedger(ctx, LedgerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	prep, err := Redeem.Setup(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	run, err := prep(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := l.Rec.Record(func() error { return run(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCapture(calls)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Describe(); !strings.HasPrefix(got, "TransactGetItems[IDEM, CARD, CUSTOMER") || !strings.Contains(got, "TransactWriteItems[Update CARD") {
		t.Errorf("capture = %s", got)
	}
	before, err := l.Items(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rr := NewReplayer()
	rp := rr.Replay(c)
	if len(rp.Setup) != 2 {
		t.Errorf("%d items set up, want the card and the customer", len(rp.Setup))
	}
	if err := rp.Prepare(ctx, l.Client); err != nil {
		t.Fatal(err)
	}
	for i := range rp.Writes {
		if err := rp.Write(ctx, l.Client, i); err != nil {
			t.Fatal(err)
		}
	}
	// A second replay of the same capture on the same keys would fail its
	// conditions: the keys really are fresh per replay.
	if err := rr.Replay(c).Prepare(ctx, l.Client); err != nil {
		t.Fatal(err)
	}
	if err := rr.Cleanup(ctx, l.Client); err != nil {
		t.Fatal(err)
	}
	after, err := l.Items(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the table has %d items after the clean-up, %d before", after, before)
	}
	out, err := l.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(Table), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "SHOP#" + l.Shop.ID}, "SK": &types.AttributeValueMemberS{Value: "SHOP"}}})
	if err != nil || len(out.Item) == 0 {
		t.Errorf("the shop is gone after the clean-up: %v", err)
	}
}

func TestRequestCountsSortsOperations(t *testing.T) {
	t.Parallel()
	r, w, o := RequestCounts(map[string]int{"TransactGetItems": 1, "GetItem": 2, "TransactWriteItems": 1, "UpdateItem": 1, "DescribeTable": 1})
	if r != 3 || w != 2 || o != 1 {
		t.Errorf("reads, writes, other = %d, %d, %d; want 3, 2, 1", r, w, o)
	}
}

func TestMergeFileReplacesByNameAndKeepsTheRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	first := Report{Results: []Result{{Name: "a", Value: 1, OK: true}, {Name: "b", Value: 2, OK: true}}}
	if err := first.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	again := Report{Results: []Result{{Name: "c", Value: 4, OK: true}, {Name: "b", Value: 3, OK: false}}}
	if err := again.MergeFile(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Name  string
		Value float64
		OK    bool
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		Name  string
		Value float64
		OK    bool
	}{{"a", 1, true}, {"b", 3, false}, {"c", 4, true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged %+v, want %+v", got, want)
	}
}

// A write to an item no read named (a capture that only lowers what the
// customer has on hold) replays against a copy of that item at its fresh
// key: its condition that the item exists holds.
func TestReplayCopiesItemsNoReadNamed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, err := NewLedger(ctx, LedgerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	prep, err := CaptureHold(false).Setup(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	run, err := prep(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := l.Rec.Record(func() error { return run(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCapture(calls)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Describe(); !strings.HasPrefix(got, "TransactGetItems[IDEM, HOLD] TransactWriteItems[") || !strings.Contains(got, "Update CUSTOMER") {
		t.Fatalf("capture = %s", got)
	}
	rp := NewReplayer().Replay(c)
	if len(rp.Copies) != 1 || len(rp.Setup) != 1 {
		t.Fatalf("%d copies and %d set up, want the customer copied and the hold set up", len(rp.Copies), len(rp.Setup))
	}
	if err := rp.Prepare(ctx, l.Client); err != nil {
		t.Fatal(err)
	}
	for i := range rp.Writes {
		if err := rp.Write(ctx, l.Client, i); err != nil {
			t.Fatal(err)
		}
	}
}
