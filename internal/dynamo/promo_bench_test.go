package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// BenchmarkPromotionRun times one run over a few thousand qualifying
// orders (seeded straight into the table, 100 customers) on minidyn, the
// way AWS runs it: the scheduler cuts the batches and queues them, four
// workers grant them in parallel. It reports grants per second and the
// table's size at the end (items): minidyn copies the whole table and its
// indexes on every transaction, so the rate falls as the table grows and
// the figure says more about minidyn than about the code (on DynamoDB a
// grant costs the same whatever the table size). The 500-order cases show
// the same code on a smaller table, inline (the scheduler grants every
// batch itself) and through the queue.
func BenchmarkPromotionRun(b *testing.B) {
	for _, mode := range []struct {
		orders  int
		workers int
	}{{500, 0}, {500, 4}, {2000, 4}} {
		name := fmt.Sprintf("orders=%d/workers=%d", mode.orders, mode.workers)
		if mode.workers == 0 {
			name = fmt.Sprintf("orders=%d/inline", mode.orders)
		}
		b.Run(name, func(b *testing.B) {
			benchOrders := mode.orders
			var grants int
			var elapsed time.Duration
			var items int
			for range b.N {
				b.StopTimer()
				e, p := seedPromotion(b, benchOrders)
				q := &recordingQueue{}
				svc := newService(e, func(s *promotion.Service) {
					s.PageSize = 50
					if mode.workers > 0 {
						s.Queue, s.InlineGrants, s.ScanSteps = q, -1, 1<<20
					}
				})
				b.StartTimer()
				start := time.Now()
				rep := MustTick(b, svc)
				grants += rep.Grants
				if mode.workers > 0 {
					grants += deliverOnce(b, svc, q.take(), mode.workers)
				}
				elapsed += time.Since(start)
				b.StopTimer()
				if n := len(MustGrants(b, e, p.ID)); n != benchOrders {
					b.Fatalf("%d grants, want %d", n, benchOrders)
				}
				dump, err := dynamo.DumpForTest(e.ctx, e.store)
				if err != nil {
					b.Fatal(err)
				}
				items = strings.Count(dump, "\n") + 1
				b.StartTimer()
			}
			b.ReportMetric(float64(grants)/elapsed.Seconds(), "grants/s")
			b.ReportMetric(float64(items), "items")
		})
	}
}

// seedPromotion writes n qualifying orders of 100 customers and a
// promotion over them.
func seedPromotion(tb testing.TB, n int) (*env, gc.Promotion) {
	tb.Helper()
	e := newEnv(tb)
	ids := dynamo.IDsForTest(e.store)
	var custs []gc.Customer
	for i := range 100 {
		id, err := ids.New("cus")
		if err != nil {
			tb.Fatal(err)
		}
		custs = append(custs, gc.Customer{ID: id, Email: fmt.Sprintf("bench%d@example.com", i), Name: "Bench", CreatedAt: windowStart})
	}
	orders := make([]gc.Order, n)
	for i := range orders {
		id, err := ids.New("ord")
		if err != nil {
			tb.Fatal(err)
		}
		var h [16]byte
		_, _ = rand.Read(h[:])
		c := custs[i%len(custs)]
		orders[i] = gc.Order{ID: id, CustomerID: c.ID, BillingName: "Bench", BillingEmail: c.Email, PaymentMethod: "card",
			Currency: "USD", GiftCards: []gc.OrderCard{{ID: "gc_" + hex.EncodeToString(h[:]), Last4: "ABCD", Amount: 5000}},
			GiftCardTotal: 5000, Total: 5000, AmountDue: 5000, TransactionID: "txn_seeded",
			CreatedAt: windowStart.Add(time.Hour + time.Duration(i)*time.Millisecond)}
	}
	if err := dynamo.SeedOrdersForTest(e.ctx, e.store, e.shop.ID, custs, orders); err != nil {
		tb.Fatal(err)
	}
	return e, MustPromotion(tb, e, func(in *gc.NewPromotion) { in.PerCustomerLimit = 1000 })
}

// deliverOnce hands each message to one of n concurrent workers and
// returns the grants they made.
func deliverOnce(tb testing.TB, svc *promotion.Service, msgs []promotion.Message, n int) int {
	tb.Helper()
	ch := make(chan promotion.Message)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var grants int
	var firstErr error
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range ch {
				rep, err := svc.Handle(context.Background(), m)
				mu.Lock()
				grants += rep.Grants
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, m := range msgs {
		ch <- m
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
	return grants
}
