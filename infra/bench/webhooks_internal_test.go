package bench

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/apigw"
	"github.com/giftcredit/giftcredit/internal/eventbus"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/schedule"
	"github.com/giftcredit/giftcredit/internal/webhook"
)

// TestEventWorkloads: figure 4's payloads for the webhooks, event
// publisher and webhook delivery functions are served by their handlers,
// wired as their main.go wires them: every API request answers 2xx, the
// first tick publishes the seeded events, and the batches are delivered
// to the receiver with no item failure.
func TestEventWorkloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	policy := webhook.Policy{AllowLoopbackHTTP: true}
	t.Run("webhooks", func(t *testing.T) {
		t.Parallel()
		l := newTestLedger(t)
		next, err := webhooksLoad(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		h, err := apigw.New(apigw.Config{Function: "WebhooksFunction", Webhooks: l.Store, WebhookPolicy: policy, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		routes := map[string]bool{}
		for i := range 12 {
			b, err := next(i)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			r, _ := h.Handle(ctx, ev)
			if r.StatusCode/100 != 2 {
				t.Errorf("payload %d (%s): %d %s", i, ev.RouteKey, r.StatusCode, r.Body)
			}
			routes[ev.RouteKey] = true
			if ev.RouteKey == "GET /v1/webhooks/{id}/deliveries" {
				var p webhook.DeliveryPage
				if err := json.Unmarshal([]byte(r.Body), &p); err != nil || len(p.Deliveries) == 0 {
					t.Errorf("deliveries: %v %s", err, r.Body)
				}
			}
		}
		if len(routes) != 4 {
			t.Errorf("routes %v, want the four webhook routes", routes)
		}
		ws, err := l.Store.Webhooks(ctx, l.Shop.ID)
		if err != nil || len(ws) != 1 {
			t.Errorf("%d webhooks after three cycles (%v), want the seeded one: each cycle deletes what it registered", len(ws), err)
		}
	})
	t.Run("eventpublisher", func(t *testing.T) {
		t.Parallel()
		l := newTestLedger(t)
		next, err := eventPublisherLoad(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		bus := localaws.StartBus()
		defer bus.Close()
		p := &schedule.EventPublisher{Outbox: l.Store, Bus: &eventbus.Bus{Client: localaws.NewEventsClient(bus.URL()), Name: benchBus},
			Logger: discard, Now: time.Now}
		var published []int
		for i := range 10 {
			b, err := next(i)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.EventBridgeEvent
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			res, err := p.Handle(ctx, ev)
			if err != nil || res.Counts["failed"] != 0 {
				t.Fatalf("tick %d: %+v %v", i, res, err)
			}
			published = append(published, res.Counts["published"])
		}
		if published[0] < 50 || published[1] != 0 || published[9] == 0 {
			t.Errorf("published per tick %v, want the seeded 50+ first, then none, then the tenth tick's change", published)
		}
	})
	t.Run("webhookdelivery", func(t *testing.T) {
		t.Parallel()
		l := newTestLedger(t)
		next, err := webhookDeliveryLoad(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		d := &schedule.WebhookDeliverer{Logger: discard, Service: &webhook.Service{Store: l.Store, Client: webhook.NewClient(policy),
			Logger: discard, Now: time.Now}}
		for i := range 5 {
			b, err := next(i)
			if err != nil {
				t.Fatal(err)
			}
			out, err := d.Handle(ctx, b)
			resp, ok := out.(events.SQSEventResponse)
			if err != nil || !ok || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("batch %d: %+v %v", i, out, err)
			}
		}
		ws, err := l.Store.Webhooks(ctx, l.Shop.ID)
		if err != nil || len(ws) != 1 {
			t.Fatalf("webhooks %v %v", ws, err)
		}
		page, err := l.Store.Deliveries(ctx, l.Shop.ID, ws[0].ID, gc.PageRequest{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		// Four credits' events, each delivered once (the fifth batch was
		// the fourth again).
		if len(page.Deliveries) < 4 {
			t.Errorf("%d deliveries, want at least the four credits' events", len(page.Deliveries))
		}
		for _, dl := range page.Deliveries {
			if dl.Status != webhook.DeliveryDelivered || dl.Attempts != 1 {
				t.Errorf("delivery %s: %s after %d attempts, want delivered at the first", dl.EventID, dl.Status, dl.Attempts)
			}
		}
	})
}

func newTestLedger(t *testing.T) *Ledger {
	t.Helper()
	l, err := NewLedger(context.Background(), LedgerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}
