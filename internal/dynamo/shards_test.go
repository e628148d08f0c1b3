package dynamo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// TestShardedLists: orders and transactions placed over three days land in
// several partitions per day (no list is one partition), and every reader
// fans out and merges: a promotion run's pages return every order once in
// time order, the sender finds every due email across the mail shards
// soonest first, and the audit (which reads every shard of every day) finds
// the ledger sound.
func TestShardedLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	day1 := time.Date(2026, 11, 2, 22, 0, 0, 0, time.UTC)
	var placed []gc.Order
	for d := range 3 {
		e.clock.ns.Store(day1.Add(time.Duration(d) * 24 * time.Hour).UnixNano())
		for range 10 {
			p, err := e.store.PlaceOrder(e.ctx, e.admin, "", gc.NewOrder{BillingName: "B", BillingEmail: "b@example.com",
				PaymentMethod: "cash", Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: 100}}})
			if err != nil {
				t.Fatal(err)
			}
			placed = append(placed, p.Order)
		}
	}

	parts, err := dynamo.GSI1PartitionsForTest(e.ctx, e.store)
	if err != nil {
		t.Fatal(err)
	}
	lists := []string{"#ORDERS#", "#TXS#", "#MAIL#PENDING#", "#CARDS#"}
	spans, totals, most := map[string]int{}, map[string]int{}, map[string]int{}
	for pk, n := range parts {
		for _, list := range lists {
			if strings.Contains(pk, list) {
				spans[list]++
				totals[list] += n
				most[list] = max(most[list], n)
			}
		}
	}
	for _, list := range lists {
		// Ten a day over ListShards (sixty emails over MailShards) must not
		// crowd into one or two partitions.
		if spans[list] < 4 || most[list] > totals[list]/2 {
			t.Errorf("%s: %d items over %d partitions, %d in the fullest; want them spread (partitions: %v)", list, totals[list], spans[list], most[list], parts)
		}
	}

	run := gc.PromotionRun{ID: "run_x", Phase: gc.PhaseOrders, From: day1.Add(-time.Hour), Until: day1.Add(72 * time.Hour)}
	var got []gc.Order
	for range 20 {
		page, next, err := e.store.RunOrders(e.ctx, e.shop.ID, run, 4)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		run.Cursor = next
	}
	if len(got) != len(placed) {
		t.Fatalf("the run read %d orders, want %d", len(got), len(placed))
	}
	for i := range got {
		if got[i].ID != placed[i].ID {
			t.Fatalf("order %d is %s, want %s: pages must merge the shards in time order", i, got[i].ID, placed[i].ID)
		}
	}

	due, err := e.store.DueEmails(e.ctx, day1.Add(96*time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2*len(placed) {
		t.Fatalf("%d emails due, want %d (a code email and a confirmation per order)", len(due), 2*len(placed))
	}
	first, err := e.store.DueEmails(e.ctx, day1.Add(96*time.Hour), 5)
	if err != nil || len(first) != 5 {
		t.Fatalf("the first 5 due: %d, %v", len(first), err)
	}
	for i := range first {
		if first[i].Email.ID != due[i].Email.ID {
			t.Fatalf("a limited read is not the soonest due: %d is %s, want %s", i, first[i].Email.ID, due[i].Email.ID)
		}
	}
	MustAudit(t, e)
}

// TestResolveGuests: a batch's guest candidates find their customers in one
// BatchGetItem (case-insensitively), an unknown billing email stays a
// guest, and a candidate with a customer is left alone. (Figure 1 of
// make bench counts the single read of the grant that follows.)
func TestResolveGuests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	known := MustCustomer(t, e, "known@example.com")
	cands := []promotion.GrantCandidate{
		{OrderID: "ord_1", BillingEmail: "Known@Example.com"},
		{OrderID: "ord_2", BillingEmail: "stranger@example.com"},
		{OrderID: "ord_3", CustomerID: "cus_given", BillingEmail: "known@example.com"},
	}
	e.counter.Reset()
	if err := e.store.ResolveGuests(e.ctx, e.shop.ID, cands); err != nil {
		t.Fatal(err)
	}
	if got := e.counter.Counts(); got["BatchGetItem"] != 1 || len(got) != 1 {
		t.Errorf("requests %v, want one BatchGetItem", got)
	}
	if cands[0].CustomerID != known.ID || cands[1].CustomerID != "" || cands[2].CustomerID != "cus_given" {
		t.Fatalf("resolved %+v", cands)
	}
}

// TestAuditReadsOrdersOfDaysWithTransactions: the audit reads every
// transaction shard of every day of the shop's life but the order shards
// only of the days that have a transaction (an order is written with its
// own), and still checks every order: a tampered total is a breach.
func TestAuditReadsOrdersOfDaysWithTransactions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := MustOrder(t, e, "", "guest@example.com", "USD", 5000)
	e.clock.ns.Add(int64(5 * 24 * time.Hour))
	e.counter.Reset()
	MustAudit(t, e)
	// The shop's life with a day's margin each side: 2026-10-31..11-07.
	want := 8*dynamo.ListShards + dynamo.ListShards + dynamo.CustomerShards + 2*dynamo.ListShards // transactions, orders of 11-01, customers, cards, holds
	if got := e.counter.Counts()["Query"]; got != want {
		t.Fatalf("the audit made %d queries, want %d", got, want)
	}

	client := localaws.NewDynamoClient(e.dyn.URL(), nil)
	_, err := client.UpdateItem(e.ctx, &dynamodb.UpdateItemInput{TableName: aws.String("giftcredit"),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "SHOP#" + e.shop.ID + "#ORDER#" + o.ID},
			"SK": &types.AttributeValueMemberS{Value: "ORDER"}},
		UpdateExpression:          aws.String("SET #t = :t"),
		ExpressionAttributeNames:  map[string]string{"#t": "total"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberN{Value: "4999"}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.store.Audit(e.ctx, e.shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() {
		t.Fatal("the audit missed an order whose total does not follow from its lines")
	}
}
