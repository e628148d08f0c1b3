package dynamo_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/schedule"
	"github.com/giftcredit/giftcredit/internal/webhook"
)

// receiver is a shop's endpoint: it verifies every signature and answers
// what answer says for the n-th request (1-based) of an event.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	secret string
	now    func() time.Time
	answer func(eventID string, n int) int // a status, or 0 to hang past the timeout
	hang   chan struct{}

	mu   sync.Mutex
	got  map[string]int
	bads int
}

func newReceiver(t testing.TB, now func() time.Time, answer func(string, int) int) *receiver {
	r := &receiver{t: t, now: now, answer: answer, got: map[string]int{}, hang: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() { close(r.hang); r.srv.Close() })
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := webhook.Verify(req.Header.Get(webhook.SignatureHeader), r.secret, body, r.now(), 5*time.Minute); err != nil {
		r.mu.Lock()
		r.bads++
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev gc.Event
	if err := json.Unmarshal(body, &ev); err != nil || req.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got[ev.ID]++
	n := r.got[ev.ID]
	r.mu.Unlock()
	status := r.answer(ev.ID, n)
	if status == 0 {
		select {
		case <-r.hang:
		case <-req.Context().Done():
		}
		return
	}
	w.WriteHeader(status)
}

func (r *receiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[id]
}

type hookEnv struct {
	*busEnv
	svc  *webhook.Service
	recv *receiver
	hook webhook.Webhook
}

func newHookEnv(t *testing.T, types []gc.EventType, answer func(string, int) int) *hookEnv {
	b := newBusEnv(t, false)
	h := &hookEnv{busEnv: b}
	h.recv = newReceiver(t, b.clock.Now, answer)
	w, err := b.store.CreateWebhook(b.ctx, b.admin, "", webhook.NewWebhook{URL: h.recv.srv.URL + "/hooks", Types: types})
	if err != nil {
		t.Fatal(err)
	}
	h.hook, h.recv.secret = w, w.Secret
	h.svc = &webhook.Service{Store: b.store, Client: webhook.NewClient(webhook.Policy{AllowLoopbackHTTP: true}),
		Now: b.clock.Now, Timeout: 200 * time.Millisecond}
	return h
}

// deliverBus hands every event the bus received to the delivery function,
// as the rule and the queue would: bus events as SQS message bodies.
func (h *hookEnv) deliverBus(t *testing.T) {
	t.Helper()
	var batch events.SQSEvent
	for i, be := range h.bus.Events() {
		b, _ := json.Marshal(be)
		batch.Records = append(batch.Records, events.SQSMessage{MessageId: string(rune('a' + i%26)), Body: string(b), EventSource: "aws:sqs"})
	}
	raw, _ := json.Marshal(batch)
	d := &schedule.WebhookDeliverer{Service: h.svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	out, err := d.Handle(h.ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if resp := out.(events.SQSEventResponse); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batch failures: %+v", resp.BatchItemFailures)
	}
}

func (h *hookEnv) advance(d time.Duration) { h.clock.ns.Add(int64(d)) }

func (h *hookEnv) deliveries(t *testing.T) []webhook.Delivery {
	t.Helper()
	var all []webhook.Delivery
	cursor := ""
	for {
		p, err := h.store.Deliveries(h.ctx, h.shop.ID, h.hook.ID, gc.PageRequest{Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Deliveries...)
		if p.NextCursor == "" {
			return all
		}
		cursor = p.NextCursor
	}
}

// TestWebhookGetsEveryEventSigned: real mutations, their events through
// the bus stand-in and the delivery function to a receiver that checks
// each signature; a duplicate from the bus is not delivered again.
func TestWebhookGetsEveryEventSigned(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t, nil, func(string, int) int { return http.StatusNoContent })
	c := MustCustomer(t, h.env, "hooked@example.com")
	card := MustGiftCard(t, h.env, 2000)
	if _, err := h.store.Redeem(h.ctx, h.admin, "", c.ID, card.Code, ""); err != nil {
		t.Fatal(err)
	}
	MustCredit(t, h.env, c.ID, 500)
	h.deliverBus(t)
	h.deliverBus(t) // the bus delivers at least once: every event again
	pub := h.published(t)
	if len(pub) != 4 {
		t.Fatalf("published %v", eventTypes(pub))
	}
	for _, ev := range pub {
		if n := h.recv.count(ev.ID); n != 1 {
			t.Errorf("%s %s received %d times", ev.Type, ev.ID, n)
		}
	}
	if h.recv.bads != 0 {
		t.Errorf("%d requests with a bad signature", h.recv.bads)
	}
	ds := h.deliveries(t)
	if len(ds) != 4 {
		t.Fatalf("%d deliveries, want 4", len(ds))
	}
	for _, d := range ds {
		if d.Status != webhook.DeliveryDelivered || d.Attempts != 1 || len(d.History) != 1 || d.History[0].StatusCode != 204 || d.DeliveredAt == nil {
			t.Errorf("delivery = %+v", d)
		}
	}
	// Another shop sees none of them.
	other := h.otherShop(t)
	if _, err := h.store.Deliveries(h.ctx, other.ShopID, h.hook.ID, gc.PageRequest{}); gc.ErrorCode(err) != gc.ENOTFOUND {
		t.Errorf("another shop's deliveries: %v", err)
	}
}

// TestWebhookRetriesAfterFailuresAndTimeouts: a 500, then no answer within
// the timeout, then a 2xx; each retry only once its backoff has passed on
// the injected clock.
func TestWebhookRetriesAfterFailuresAndTimeouts(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t, []gc.EventType{gc.EventCreditGranted}, func(_ string, n int) int {
		switch n {
		case 1:
			return http.StatusInternalServerError
		case 2:
			return 0 // hangs past the timeout
		}
		return http.StatusOK
	})
	c := MustCustomer(t, h.env, "retry@example.com")
	MustGiftCard(t, h.env, 1000) // giftcard.issued: not a type the webhook wants
	tx := MustCredit(t, h.env, c.ID, 500)
	h.deliverBus(t)
	id := gc.TxEvents(h.shop.ID, tx)[0].ID
	if n := h.recv.count(id); n != 1 {
		t.Fatalf("first attempt: %d requests", n)
	}
	ds := h.deliveries(t)
	if len(ds) != 1 || ds[0].Status != webhook.DeliveryPending || ds[0].History[0].StatusCode != 500 {
		t.Fatalf("after a 500: %+v", ds)
	}
	retry := func() int {
		n, err := h.svc.RetryDue(h.ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := retry(); n != 0 {
		t.Errorf("retried %d before the backoff passed", n)
	}
	h.advance(31 * time.Second)
	if n := retry(); n != 1 || h.recv.count(id) != 2 {
		t.Fatalf("second attempt: tried %d, received %d", n, h.recv.count(id))
	}
	ds = h.deliveries(t)
	if ds[0].Status != webhook.DeliveryPending || ds[0].History[1].StatusCode != 0 || ds[0].History[1].Error == "" {
		t.Fatalf("after a timeout: %+v", ds[0])
	}
	h.advance(30 * time.Second)
	if n := retry(); n != 0 {
		t.Errorf("retried %d before the doubled backoff passed", n)
	}
	h.advance(31 * time.Second)
	if n := retry(); n != 1 || h.recv.count(id) != 3 {
		t.Fatalf("third attempt: tried %d, received %d", n, h.recv.count(id))
	}
	ds = h.deliveries(t)
	if ds[0].Status != webhook.DeliveryDelivered || ds[0].Attempts != 3 || len(ds[0].History) != 3 {
		t.Errorf("delivered = %+v", ds[0])
	}
	h.advance(24 * time.Hour)
	if n := retry(); n != 0 {
		t.Errorf("a delivered event was tried again")
	}
	if h.recv.bads != 0 {
		t.Errorf("%d bad signatures", h.recv.bads)
	}
}

// TestWebhookGivesUpAfter72Hours: a receiver that always fails is tried
// with growing delays until 72 hours after the first attempt, then the
// delivery is failed and never tried again.
func TestWebhookGivesUpAfter72Hours(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t, nil, func(string, int) int { return http.StatusServiceUnavailable })
	c := MustCustomer(t, h.env, "down@example.com")
	tx := MustCredit(t, h.env, c.ID, 500)
	h.deliverBus(t)
	id := gc.TxEvents(h.shop.ID, tx)[0].ID
	start := h.clock.Now()
	for step := 0; step < 500; step++ {
		h.advance(10 * time.Minute)
		if _, err := h.svc.RetryDue(h.ctx, 10); err != nil {
			t.Fatal(err)
		}
		if h.clock.Now().Sub(start) > 80*time.Hour {
			break
		}
	}
	ds := h.deliveries(t)
	if ds[0].Status != webhook.DeliveryFailed || ds[0].NextAttemptAt != nil {
		t.Fatalf("after 80 h: %+v", ds[0])
	}
	n := h.recv.count(id)
	if n < 10 || n > 60 || ds[0].Attempts != n || len(ds[0].History) > webhook.MaxAttemptsKept {
		t.Errorf("%d attempts received, %d recorded, %d kept", n, ds[0].Attempts, len(ds[0].History))
	}
	last := ds[0].History[len(ds[0].History)-1].At
	if since := last.Sub(start); since > 72*time.Hour || since < 70*time.Hour {
		t.Errorf("last attempt %v after the first, want just inside 72 h", since)
	}
	h.advance(48 * time.Hour)
	if k, _ := h.svc.RetryDue(h.ctx, 10); k != 0 {
		t.Errorf("a failed delivery was tried again")
	}
}

// TestDeletedWebhookStopsDeliveries: a deleted webhook receives no new
// event, and its pending deliveries fail at their next attempt.
func TestDeletedWebhookStopsDeliveries(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t, nil, func(string, int) int { return http.StatusBadGateway })
	c := MustCustomer(t, h.env, "gone@example.com")
	MustCredit(t, h.env, c.ID, 500)
	h.deliverBus(t)
	if _, err := h.store.DeleteWebhook(h.ctx, h.shop.ID, h.hook.ID); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Minute)
	if _, err := h.svc.RetryDue(h.ctx, 10); err != nil {
		t.Fatal(err)
	}
	ds := h.deliveries(t)
	if len(ds) != 1 || ds[0].Status != webhook.DeliveryFailed {
		t.Fatalf("deliveries = %+v", ds)
	}
	h.bus.Clear()
	MustCredit(t, h.env, c.ID, 100)
	h.deliverBus(t)
	if ds := h.deliveries(t); len(ds) != 1 {
		t.Errorf("a deleted webhook got a new delivery")
	}
}

// TestDeliveryRefusesPrivateAddressesOnAWS: on AWS's policy, a webhook
// whose host is (or now resolves to) a loopback address is never
// reached, whatever its registration said.
func TestDeliveryRefusesPrivateAddressesOnAWS(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t, nil, func(string, int) int { return http.StatusOK })
	h.svc.Client = webhook.NewClient(webhook.Policy{})
	c := MustCustomer(t, h.env, "ssrf@example.com")
	MustCredit(t, h.env, c.ID, 500)
	h.deliverBus(t)
	ds := h.deliveries(t)
	if len(ds) != 1 || ds[0].Status != webhook.DeliveryPending || ds[0].History[0].StatusCode != 0 {
		t.Fatalf("deliveries = %+v", ds)
	}
	for id := range h.recv.got {
		t.Errorf("the receiver on loopback got %s", id)
	}
}
