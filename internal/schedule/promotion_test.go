package schedule_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/promotion"
	"github.com/giftcredit/giftcredit/internal/schedule"
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
	clock  *clock
}

// clock is the business clock of a promoShop's stores and jobs: it stands
// while the orders are placed and then moves past the promotion's window,
// however long placing them took.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (ps *promoShop) now() time.Time { return ps.clock.Now() }
func (ps *promoShop) opts() []dynamo.Option {
	return []dynamo.Option{dynamo.WithClock(ps.now), dynamo.WithComposer(mail.NewComposer("noreply@shop.test"))}
}

// newPromoShop places n qualifying gift-card orders, spread over three
// customers, before a "50.00 earns 10.00" promotion's window ends.
func newPromoShop(tb testing.TB, n int) *promoShop {
	tb.Helper()
	ctx := context.Background()
	dyn, kr := startDynamo(tb), testKeyring(tb)
	ps := &promoShop{dyn: dyn, kr: kr, orders: n, clock: &clock{}}
	start := time.Now().UTC()
	ps.clock.Set(start)
	ps.store = storeAt(tb, dyn.URL(), ps.opts()...)
	var err error
	if ps.shop, err = ps.store.CreateShop(ctx, gc.Shop{Name: "Promo Shop", AdminEmail: "admin@shop.test", DefaultCurrency: "USD"}); err != nil {
		tb.Fatal(err)
	}
	a := gc.Actor{ShopID: ps.shop.ID, KeyID: "key_t", Role: gc.RoleAdmin}
	if ps.promo, err = ps.store.CreatePromotion(ctx, a, "", gc.NewPromotion{Name: "Spring", Currency: "USD",
		StartsAt: start.Add(-time.Hour), EndsAt: start.Add(time.Minute), MinGiftCardAmount: 5000, CreditAmount: 1000, PerCustomerLimit: 100}); err != nil {
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
	ps.clock.Set(ps.promo.EndsAt.Add(time.Minute))
	return ps
}

// service reads two orders a step; it grants inline up to inline
// candidates and scans up to steps steps per invocation.
func (ps *promoShop) service(q promotion.Queue, inline, steps int) *promotion.Service {
	return &promotion.Service{Store: ps.store, Queue: q, Logger: discard(), Composer: mail.NewComposer("noreply@shop.test"),
		PageSize: 2, InlineGrants: inline, ScanSteps: steps, SettleLag: time.Nanosecond, Now: ps.now}
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
	q := &fanOut{}
	// Workers grant nothing inline: a worker continuing the scan queues
	// every batch it cuts, for the other workers.
	worker.Service = ps.service(q, -1, 2)

	var ev events.EventBridgeEvent
	loadEvent(t, "promotionrun-schedule.json", &ev)
	run := &schedule.PromotionRun{Service: ps.service(q, 2, 1), Logger: discard(), Now: ps.now}
	res, err := run.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts["batchesInline"] != 1 || res.Counts["runsFinished"] != 0 {
		t.Fatalf("tick = %+v, want one batch inline and the run left to the workers", res)
	}
	kinds := q.drain(t, worker.Handle, 3)
	if kinds[promotion.KindScan] == 0 || kinds[promotion.KindBatch] == 0 {
		t.Errorf("the queue carried %v; want scans and batches", kinds)
	}
	ps.check(t)
}

// fanOut is a tiny fake of the promotion queue and its event source
// mapping: drain hands what was sent, a round at a time, to concurrent
// workers, one record per event, and sends a record again when the worker
// reports it failed (at most three receives, as the queue's redrive policy).
type fanOut struct {
	mu      sync.Mutex
	pending []promotion.Message
}

func (q *fanOut) Send(_ context.Context, msgs []promotion.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(q.pending, msgs...)
	return nil
}

func (q *fanOut) drain(t *testing.T, handle func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), workers int) map[string]int {
	t.Helper()
	kinds := map[string]int{}
	receives := map[string]int{}
	for round := 0; ; round++ {
		q.mu.Lock()
		batch := q.pending
		q.pending = nil
		q.mu.Unlock()
		if len(batch) == 0 {
			return kinds
		}
		if round > 100 {
			t.Fatal("the queue never drained")
		}
		sem := make(chan struct{}, workers)
		var wg sync.WaitGroup
		for _, m := range batch {
			kinds[m.Kind]++
			id := mustJSON(t, m)
			receives[id]++
			if receives[id] > 3 {
				t.Fatalf("message %s failed three times", id)
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				resp, err := handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: id}}})
				if err != nil || len(resp.BatchItemFailures) > 0 {
					_ = q.Send(context.Background(), []promotion.Message{m}) // Send locks
				}
			}()
		}
		wg.Wait()
	}
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
