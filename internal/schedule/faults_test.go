package schedule_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/schedule"
	"github.com/giftcredit/giftcredit/internal/sesmail"
	"github.com/giftcredit/giftcredit/internal/sqsqueue"
)

// The fault tests invoke the jobs with a short deadline: what they prove is
// that a job returns before its deadline whatever hangs, not any number.
const jobTimeout = 3 * time.Second

func job(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// recovered is the context of a run after the fault has cleared: it must
// do all its work, however slow this machine is today.
func recovered(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

func newFault(tb testing.TB, target string) *localaws.Fault {
	tb.Helper()
	f, err := localaws.NewFault(strings.TrimPrefix(target, "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.Close)
	return f
}

// testKeyring is the keyring of every store of these tests.
func testKeyring(tb testing.TB) *giftcode.Keyring {
	tb.Helper()
	kr, err := giftcode.NewKeyring([]byte("schedule-test-secret-0123456789"))
	if err != nil {
		tb.Fatal(err)
	}
	return kr
}

// startDynamo starts a minidyn of the test's own.
func startDynamo(tb testing.TB) *localaws.Dynamo {
	tb.Helper()
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(dyn.Close)
	return dyn
}

// storeAt creates the table at endpoint and returns a store on it, with
// the test keyring and opts.
func storeAt(tb testing.TB, endpoint string, opts ...dynamo.Option) *dynamo.Store {
	tb.Helper()
	client := localaws.NewDynamoClient(endpoint, nil)
	if err := dynamo.CreateTable(context.Background(), client, "t"); err != nil {
		tb.Fatal(err)
	}
	return dynamo.New(client, "t", append([]dynamo.Option{dynamo.WithKeyring(testKeyring(tb))}, opts...)...)
}

// faultyStore is a store on a Fault in front of minidyn (passing at first).
func faultyStore(tb testing.TB) (*dynamo.Store, *localaws.Fault) {
	tb.Helper()
	f := newFault(tb, startDynamo(tb).URL())
	f.Pass()
	return storeAt(tb, f.URL(), dynamo.WithComposer(mail.NewComposer("noreply@shop.test"))), f
}

// TestEmailSenderWithSESHung: the sender's send hangs; it gives up in time,
// leaves that email and the next pending for the next run and returns
// without error before its deadline; once SES answers, the next run sends
// each email once.
func TestEmailSenderWithSESHung(t *testing.T) {
	t.Parallel()
	ses := localaws.SESForTest(t)
	store, _ := faultyStore(t)
	ctx := context.Background()
	sh, err := store.CreateShop(ctx, gc.Shop{Name: "S", AdminEmail: "admin-hung@shop.test", SenderAddress: "noreply@shop.test", DefaultCurrency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	a := gc.Actor{ShopID: sh.ID, KeyID: "key_t", Role: gc.RoleAdmin}
	if _, err := store.PlaceOrder(ctx, a, "", gc.NewOrder{BillingName: "B", BillingEmail: "buyer-hung@shop.test",
		PaymentMethod: "cash", Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: 5000}}}); err != nil {
		t.Fatal(err)
	}
	f := newFault(t, ses.URL())
	mailer := sesmail.New(localaws.NewSESClient(f.URL()))
	later := func() time.Time { return time.Now().Add(time.Hour) }
	sender := &schedule.EmailSender{Queue: store, Mailer: mailer, Logger: discard(), Now: later,
		Reserve: 500 * time.Millisecond, PerEmail: time.Second}
	var tick events.EventBridgeEvent
	loadEvent(t, "emailsender-schedule.json", &tick)

	run := job(t)
	res, err := sender.Handle(run, tick)
	if err != nil || run.Err() != nil {
		t.Fatalf("with SES hung: %v (deadline passed: %v); want a clean return in time", err, run.Err() != nil)
	}
	// How many it tried before its time ran low depends on this machine's
	// speed: at least one, and none sent; the rest is left for later.
	if res.Counts["sent"] != 0 || res.Counts["failed"] < 1 || res.Counts["failed"]+res.Counts["deferred"] != 2 {
		t.Fatalf("with SES hung: %v; want none sent, at least one failed, the rest deferred", res.Counts)
	}

	f.Pass()
	sender.Now = func() time.Time { return time.Now().Add(48 * time.Hour) } // past the failed one's backoff
	res, err = sender.Handle(recovered(t), tick)
	if err != nil || res.Counts["sent"] != 2 {
		t.Fatalf("after SES recovered: %v, %v; want both sent", res.Counts, err)
	}
	stored, err := ses.Emails(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range stored {
		for _, to := range m.Destination.To {
			got[to]++
		}
	}
	if got["buyer-hung@shop.test"] != 1 || got["admin-hung@shop.test"] != 1 {
		t.Errorf("SES holds %v; want one email to the buyer and one to the admin", got)
	}
}

// TestAuditWithDynamoDBHung: the audit returns before its deadline when
// DynamoDB never answers, and defers every shop it has no time for.
func TestAuditWithDynamoDBHung(t *testing.T) {
	t.Parallel()
	store, f := faultyStore(t)
	for _, n := range []string{"A", "B"} {
		if _, err := store.CreateShop(context.Background(), gc.Shop{Name: n, AdminEmail: n + "@shop.test", SenderAddress: "noreply@shop.test", DefaultCurrency: "USD"}); err != nil {
			t.Fatal(err)
		}
	}
	audit := &schedule.Audit{Store: store, Queue: store, Mailer: sesmail.New(localaws.NewSESClient("http://127.0.0.1:1")),
		Composer: mail.NewComposer("noreply@shop.test"), Logger: discard(), Now: time.Now, Reserve: 500 * time.Millisecond, PerShop: time.Second}
	var tick events.EventBridgeEvent
	loadEvent(t, "audit-schedule.json", &tick)

	f.Hang()
	run := job(t)
	if _, err := audit.Handle(run, tick); err == nil || run.Err() != nil {
		t.Fatalf("with DynamoDB hung: err %v, deadline passed %v; want an error in time", err, run.Err() != nil)
	}
	f.Pass()
	audit.PerShop = time.Hour // no time for any shop
	res, err := audit.Handle(job(t), tick)
	if err != nil || res.Counts["shops"] != 0 || res.Counts["deferred"] != 2 {
		t.Fatalf("with no time per shop: %v, %v; want both shops deferred", res.Counts, err)
	}
	audit.PerShop = time.Second
	if res, err = audit.Handle(recovered(t), tick); err != nil || res.Counts["shops"] != 2 {
		t.Fatalf("recovered: %v, %v; want both shops audited", res.Counts, err)
	}
}

// TestPromotionWorkerWithDynamoDBHung: a record whose calls hang is
// reported failed (to be redelivered) before the worker's deadline, and
// redelivered once DynamoDB answers it finishes the run exactly.
func TestPromotionWorkerWithDynamoDBHung(t *testing.T) {
	t.Parallel()
	ps := newPromoShop(t, 4)
	rec := &recordingQueue{}
	if _, err := ps.service(rec, 0, 1).Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := rec.take()
	if len(msgs) == 0 {
		t.Fatal("the tick queued nothing")
	}
	f := newFault(t, ps.dyn.URL())
	hung := dynamo.New(localaws.NewDynamoClient(f.URL(), nil), "t", append(ps.opts(), dynamo.WithKeyring(ps.kr))...)
	svc := ps.service(rec, 2, 1)
	svc.Store = hung
	worker := &schedule.PromotionWorker{Service: svc, Logger: discard(), Reserve: 500 * time.Millisecond}
	var ev events.SQSEvent
	for i, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: "m" + string(rune('a'+i)), Body: mustJSON(t, m)})
	}
	run := job(t)
	resp, err := worker.Handle(run, ev)
	if err != nil || run.Err() != nil {
		t.Fatalf("with DynamoDB hung: %v (deadline passed: %v)", err, run.Err() != nil)
	}
	if len(resp.BatchItemFailures) != len(ev.Records) {
		t.Fatalf("reported %d of %d records failed; want all, to be redelivered", len(resp.BatchItemFailures), len(ev.Records))
	}

	f.Pass()
	pending := ev.Records
	for range 20 {
		if len(pending) == 0 {
			break
		}
		resp, err := worker.Handle(context.Background(), events.SQSEvent{Records: pending})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("redelivered: %v, %+v", err, resp.BatchItemFailures)
		}
		pending = nil
		for i, m := range rec.take() {
			pending = append(pending, events.SQSMessage{MessageId: "n" + string(rune('a'+i)), Body: mustJSON(t, m)})
		}
	}
	ps.check(t)
}

// TestPromotionRunWithSQSHung: the scheduled run cannot queue its batches
// (SQS accepts and never answers); it returns before its deadline, and the
// next tick, with SQS back, finishes the run exactly once.
func TestPromotionRunWithSQSHung(t *testing.T) {
	t.Parallel()
	ps := newPromoShop(t, 6)
	f := newFault(t, "")
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	q := &sqsqueue.Queue{Client: client, URL: f.URL() + "/000000000000/PromotionQueue"}
	run := &schedule.PromotionRun{Service: ps.service(q, 0, 1), Logger: discard(), Now: ps.now}
	var tick events.EventBridgeEvent
	loadEvent(t, "promotionrun-schedule.json", &tick)
	ctx := job(t)
	if _, err := run.Handle(ctx, tick); err == nil || ctx.Err() != nil {
		t.Fatalf("with SQS hung: err %v, deadline passed %v; want an error in time", err, ctx.Err() != nil)
	}
	// SQS back (here: a queue that hands messages straight to the service).
	rec := &recordingQueue{}
	svc := ps.service(rec, 0, 100)
	for range 20 {
		if _, err := svc.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, m := range rec.take() {
			if _, err := svc.Handle(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
	}
	ps.check(t)
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
