package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// The promotion tests place orders from 09:00 on 2026-11-01 (the env's
// clock), in a promotion window of [00:00, 12:00) that day, and run the
// promotion at 13:00, when the whole window is settled.
var (
	windowStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	windowEnd   = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	runAt       = time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC)
)

var _ promotion.Store = (*dynamo.Store)(nil)

// newService returns a promotion service on the env's store with small
// pages (so that a few orders make several batches), no queue unless the
// options set one. The service and the store share the env's clock, moved
// on to runAt if it is earlier: the run comes after the orders.
func newService(e *env, opts ...func(*promotion.Service)) *promotion.Service {
	for {
		cur := e.clock.ns.Load()
		if cur >= runAt.UnixNano() || e.clock.ns.CompareAndSwap(cur, runAt.UnixNano()) {
			break
		}
	}
	s := &promotion.Service{Store: e.store, Now: e.clock.Now, Composer: mail.NewComposer("noreply@shop.test"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PageSize: 3}
	for _, o := range opts {
		o(s)
	}
	return s
}

// MustPromotion defines "a gift-card order of at least 50.00 USD earns
// 10.00" over the test window, up to 10 grants per customer, changed by mut.
func MustPromotion(tb testing.TB, e *env, mut func(*gc.NewPromotion)) gc.Promotion {
	tb.Helper()
	in := gc.NewPromotion{Name: "Buy 50, get 10", Currency: "USD", StartsAt: windowStart, EndsAt: windowEnd,
		MinGiftCardAmount: 5000, CreditAmount: 1000, PerCustomerLimit: 10}
	if mut != nil {
		mut(&in)
	}
	p, err := e.store.CreatePromotion(e.ctx, e.admin, "", in)
	if err != nil {
		tb.Fatalf("create promotion: %v", err)
	}
	return p
}

// MustOrder places an order of gift cards of the given amounts (goods only
// if none) for a customer (or a guest when customerID is empty).
func MustOrder(tb testing.TB, e *env, customerID, billingEmail, currency string, amounts ...int64) gc.Order {
	tb.Helper()
	in := gc.NewOrder{CustomerID: customerID, BillingName: "Buyer", BillingEmail: billingEmail, PaymentMethod: "card", Currency: currency}
	for _, a := range amounts {
		in.GiftCards = append(in.GiftCards, gc.NewGiftCard{Amount: a})
	}
	if len(amounts) == 0 {
		in.Goods = []gc.OrderLine{{Description: "Tea", UnitPrice: 900, Quantity: 1}}
		in.ApplyCredit = new(bool)
	}
	o, err := e.store.PlaceOrder(e.ctx, e.admin, "", in)
	if err != nil {
		tb.Fatalf("place order: %v", err)
	}
	return o.Order
}

func MustDisable(tb testing.TB, e *env, cardID string) {
	tb.Helper()
	if _, err := e.store.DisableCard(e.ctx, e.admin, "", cardID); err != nil {
		tb.Fatalf("disable card: %v", err)
	}
}

func MustTick(tb testing.TB, s *promotion.Service) promotion.Report {
	tb.Helper()
	r, err := s.Tick(context.Background())
	if err != nil {
		tb.Fatalf("tick: %v", err)
	}
	return r
}

func MustGrants(tb testing.TB, e *env, promoID string) map[string]dynamo.GrantForTest {
	tb.Helper()
	g, err := dynamo.GrantsForTest(e.ctx, e.store, e.shop.ID, promoID)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// MustRuns returns a promotion's runs, oldest first.
func MustRuns(tb testing.TB, e *env, promoID string) []gc.PromotionRun {
	tb.Helper()
	var runs []gc.PromotionRun
	pr := gc.PageRequest{Limit: 2}
	for {
		page, err := e.store.PromotionRunHistory(e.ctx, e.shop.ID, promoID, pr)
		if err != nil {
			tb.Fatal(err)
		}
		runs = append(runs, page.Runs...)
		if page.NextCursor == "" {
			break
		}
		pr.Cursor = page.NextCursor
	}
	slices.Reverse(runs)
	return runs
}

// MustEmails returns the outbox's pending emails as "to: subject", sorted.
func MustEmails(tb testing.TB, e *env) []string {
	tb.Helper()
	due, err := e.store.DueEmails(e.ctx, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 1000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, p := range due {
		out = append(out, p.Email.To+": "+p.Email.Subject)
	}
	sort.Strings(out)
	return out
}

func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func wantCounts(tb testing.TB, got, want gc.RunCounts) {
	tb.Helper()
	if len(want.Skipped) == 0 {
		want.Skipped = nil
	}
	if len(got.Skipped) == 0 {
		got.Skipped = nil
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		tb.Fatalf("run counts = %s\nwant         %s", g, w)
	}
}

// recordingQueue keeps what a Service queues, for tests that deliver the
// messages themselves (in any order, any number of times).
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

// fingerprint describes what a promotion did in terms that do not depend on
// generated ids: which order (by position) was granted to which customer,
// every balance, each run's counts, the budget left and the emails queued.
func fingerprint(tb testing.TB, e *env, p gc.Promotion, orders []gc.Order, custs []gc.Customer) string {
	tb.Helper()
	pos := map[string]int{}
	for i, o := range orders {
		pos[o.ID] = i
	}
	email := map[string]string{}
	for _, c := range custs {
		email[c.ID] = c.Email
	}
	var lines []string
	for _, g := range MustGrants(tb, e, p.ID) {
		lines = append(lines, fmt.Sprintf("grant order#%d -> %s %d", pos[g.OrderID], email[g.CustomerID], g.Amount))
	}
	sort.Strings(lines)
	for _, c := range custs {
		lines = append(lines, fmt.Sprintf("balance %s %d", c.Email, MustBalance(tb, e, c.ID)))
	}
	for i, r := range MustRuns(tb, e, p.ID) {
		b, _ := json.Marshal(r.Counts)
		lines = append(lines, fmt.Sprintf("run %d %s %s batches=%d/%d %s", i, r.Status, r.Phase, r.BatchesDone, r.Batches, b))
	}
	if p.Budget != nil {
		left, err := dynamo.BudgetRemainingForTest(e.ctx, e.store, e.shop.ID, p.ID)
		if err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("budget left %d", left))
	}
	for _, m := range MustEmails(tb, e) {
		// Order emails name generated ids; the promotion's do not.
		if strings.Contains(m, "promotion") || strings.Contains(m, "You received") {
			lines = append(lines, m)
		}
	}
	return strings.Join(lines, "\n")
}
