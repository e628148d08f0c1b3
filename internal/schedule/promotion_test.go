package schedule_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
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
	"github.com/giftcredit/giftcredit/internal/promotion"
	"github.com/giftcredit/giftcredit/internal/schedule"
	"github.com/giftcredit/giftcredit/internal/sqsqueue"
)

func discard() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// loadEvent decodes a golden fixture of events/.
func loadEvent(tb testing.TB, name string, v any) {
	tb.Helper()
	b, err := os.ReadFile("../../events/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
}

// promoShop is a shop on its own minidyn with a promotion and orders.
type promoShop struct {
	dyn    *localaws.Dynamo
	kr     *giftcode.Keyring
	store  *dynamo.Store
	shop   gc.Shop
	promo  gc.Promotion
	custs  []gc.Customer
	orders int
}

// newPromoShop places n qualifying gift-card orders, spread over three
// customers, before a "50.00 earns 10.00" promotion's window ends.
func newPromoShop(tb testing.TB, n int) *promoShop {
	tb.Helper()
	ctx := context.Background()
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(dyn.Close)
	client := localaws.NewDynamoClient(dyn.URL(), nil)
	if err := dynamo.CreateTable(ctx, client, "t"); err != nil {
		tb.Fatal(err)
	}
	kr, err := giftcode.NewKeyring([]byte("promotion-test-secret-0123456789"))
	if err != nil {
		tb.Fatal(err)
	}
	ps := &promoShop{dyn: dyn, kr: kr, store: dynamo.New(client, "t", dynamo.WithKeyring(kr), dynamo.WithComposer(mail.NewComposer("noreply@shop.test"))), orders: n}
	if ps.shop, err = ps.store.CreateShop(ctx, gc.Shop{Name: "Promo Shop", AdminEmail: "admin@shop.test", DefaultCurrency: "USD"}); err != nil {
		tb.Fatal(err)
	}
	a := gc.Actor{ShopID: ps.shop.ID, KeyID: "key_t", Role: gc.RoleAdmin}
	now := time.Now().UTC()
	if ps.promo, err = ps.store.CreatePromotion(ctx, a, "", gc.NewPromotion{Name: "Spring", Currency: "USD",
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Second), MinGiftCardAmount: 5000, CreditAmount: 1000, PerCustomerLimit: 100}); err != nil {
		tb.Fatal(err)
	}
	for i := range 3 {
		c, err := ps.store.CreateCustomer(ctx, a, "", gc.NewCustomer{Email: fmt.Sprintf("c%d@example.com", i), Name: "C"})
		if err != nil {
			tb.Fatal(err)
		}
		ps.custs = append(ps.custs, c)
	}
	for i := range n {
		c := ps.custs[i%3]
		if _, err := ps.store.PlaceOrder(ctx, a, "", gc.NewOrder{CustomerID: c.ID, BillingName: "C", BillingEmail: c.Email,
			PaymentMethod: "card", Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: 5000}}}); err != nil {
			tb.Fatal(err)
		}
	}
	// The run comes after the window has ended and settled.
	time.Sleep(time.Until(ps.promo.EndsAt))
	return ps
}

// service reads two orders a step; it grants inline up to inline
// candidates and scans up to steps steps per invocation.
func (ps *promoShop) service(q promotion.Queue, inline, steps int) *promotion.Service {
	return &promotion.Service{Store: ps.store, Queue: q, Logger: discard(), Composer: mail.NewComposer("noreply@shop.test"),
		PageSize: 2, InlineGrants: inline, ScanSteps: steps, SettleLag: time.Nanosecond}
}

func (ps *promoShop) check(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	var total int64
	for _, c := range ps.custs {
		got, err := ps.store.Customer(ctx, ps.shop.ID, c.ID)
		if err != nil {
			tb.Fatal(err)
		}
		total += got.BalanceOf("USD")
	}
	if want := int64(ps.orders) * 1000; total != want {
		tb.Fatalf("credit granted = %d, want %d (each order once)", total, want)
	}
	page, err := ps.store.PromotionRunHistory(ctx, ps.shop.ID, ps.promo.ID, gc.PageRequest{})
	if err != nil {
		tb.Fatal(err)
	}
	if len(page.Runs) != 1 || page.Runs[0].Status != gc.RunDone || page.Runs[0].Counts.CreditsGranted != int64(ps.orders) {
		tb.Fatalf("runs = %+v, want one done run with %d credits", page.Runs, ps.orders)
	}
	r, err := ps.store.Audit(ctx, ps.shop.ID)
	if err != nil || !r.OK() {
		tb.Fatalf("audit: %v %+v", err, r.Breaches)
	}
}

// The scheduled run grants the first batch itself, queues the others and
// the rest of its scan, and workers consuming the queue (the same handler
// the PromotionWorkerFunction runs) finish the run.
func TestPromotionRunFansOutToWorkers(t *testing.T) {
	t.Parallel()
	ps := newPromoShop(t, 9)
	worker := &schedule.PromotionWorker{Logger: discard()}
	var mu sync.Mutex
	kinds := map[string]int{}
	q := schedule.NewLocalQueue(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		for _, r := range ev.Records {
			var m promotion.Message
			_ = json.Unmarshal([]byte(r.Body), &m)
			mu.Lock()
			kinds[m.Kind]++
			mu.Unlock()
		}
		return worker.Handle(ctx, ev)
	})
	q.Workers = 3
	// Workers grant nothing inline: a worker continuing the scan queues
	// every batch it cuts, for the other workers.
	worker.Service = ps.service(q, -1, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go q.Run(ctx)

	var ev events.EventBridgeEvent
	loadEvent(t, "promotionrun-schedule.json", &ev)
	run := &schedule.PromotionRun{Service: ps.service(q, 2, 1), Logger: discard(), Now: time.Now}
	res, err := run.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts["batchesInline"] != 1 || res.Counts["runsFinished"] != 0 {
		t.Fatalf("tick = %+v, want one batch inline and the run left to the workers", res)
	}
	drain, stop := context.WithTimeout(ctx, 20*time.Second)
	defer stop()
	if err := q.Drain(drain); err != nil {
		t.Fatal(err)
	}
	if dl := q.DeadLetters(); len(dl) != 0 {
		t.Fatalf("dead letters: %+v", dl)
	}
	mu.Lock()
	if kinds[promotion.KindScan] == 0 || kinds[promotion.KindBatch] == 0 {
		t.Errorf("the queue carried %v; want scans and batches", kinds)
	}
	mu.Unlock()
	ps.check(t)
}

// The worker reports exactly the records it could not process; the others
// are done and deleted.
func TestPromotionWorkerReportsFailedRecords(t *testing.T) {
	t.Parallel()
	ps := newPromoShop(t, 2)
	rec := &recordingQueue{}
	if _, err := ps.service(rec, 2, 1).Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := rec.take()
	if len(msgs) != 1 || msgs[0].Kind != promotion.KindScan {
		t.Fatalf("queued %+v, want the continuation of the scan", msgs)
	}
	body, _ := json.Marshal(msgs[0])

	// The fixture names a shop that does not exist here: both records fail.
	var ev events.SQSEvent
	loadEvent(t, "promotionworker-batch.json", &ev)
	worker := &schedule.PromotionWorker{Service: ps.service(rec, 2, 1), Logger: discard()}
	ev.Records = append(ev.Records,
		events.SQSMessage{MessageId: "good", Body: string(body)},
		events.SQSMessage{MessageId: "garbled", Body: "{not json"})
	resp, err := worker.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	want := []string{ev.Records[0].MessageId, ev.Records[1].MessageId, "garbled"}
	if !slices.Equal(failed, want) {
		t.Fatalf("failures = %v, want %v", failed, want)
	}
	// The good record continued the scan; the batches it queued finish the run.
	for _, m := range rec.take() {
		if _, err := ps.service(nil, 0, 0).Handle(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	ps.check(t)
}

// The promotion-run function sends through the SQS SDK; the local queue
// accepts those requests, delivers at least once and moves a message that
// keeps failing to its dead letters.
func TestLocalQueueSpeaksSQS(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	q := schedule.NewLocalQueue(func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		mu.Lock()
		defer mu.Unlock()
		for _, r := range ev.Records {
			var m promotion.Message
			if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
				return resp, err
			}
			seen[m.RunID+fmt.Sprint(m.Seq)]++
			if m.Seq == 7 { // this one always fails
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	})
	q.VisibilityTimeout = time.Millisecond
	srv := httptest.NewServer(q)
	defer srv.Close()
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	sender := &sqsqueue.Queue{Client: client, URL: srv.URL + "/000000000000/PromotionQueue"}
	var msgs []promotion.Message
	for i := 1; i <= 12; i++ {
		msgs = append(msgs, promotion.Message{Kind: promotion.KindBatch, ShopID: "shp_x", PromotionID: "pro_x", RunID: "run_x", Seq: i})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sender.Send(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	go q.Run(ctx)
	if err := q.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i <= 12; i++ {
		want := 1
		if i == 7 {
			want = 3
		}
		if got := seen["run_x"+fmt.Sprint(i)]; got != want {
			t.Errorf("message %d delivered %d times, want %d", i, got, want)
		}
	}
	if dl := q.DeadLetters(); len(dl) != 1 || dl[0].Attributes["ApproximateReceiveCount"] != "3" {
		t.Fatalf("dead letters = %+v, want message 7 after 3 receives", dl)
	}
}

// recordingQueue keeps what a Service queues.
type recordingQueue struct {
	mu   sync.Mutex
	msgs []promotion.Message
}

func (q *recordingQueue) Send(_ context.Context, msgs []promotion.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, msgs...)
	return nil
}

func (q *recordingQueue) take() []promotion.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.msgs
	q.msgs = nil
	return m
}
