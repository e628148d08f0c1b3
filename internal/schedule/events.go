package schedule

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/internal/deadline"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/webhook"
)

// EventPublisher publishes the events of changes that are still marked
// unpublished (the inline publish after a write failed, timed out, or
// left them for it) and clears each change's marker once all its events
// were sent. A change whose events fail stays marked for the next run.
type EventPublisher struct {
	Outbox gc.EventOutbox
	Bus    gc.EventPublisher
	Logger *slog.Logger
	Now    func() time.Time
	// Batch bounds the changes read at a time (default 200).
	Batch int
	// Reserve is kept free before the invocation's deadline (default
	// DefaultReserve).
	Reserve time.Duration
}

// perEventBatch is the least time left to start a batch: the reads, the
// PutEvents calls and the markers' updates.
const perEventBatch = 5 * time.Second

// Handle runs once per schedule tick, batch after batch until nothing is
// due or time runs short.
func (p *EventPublisher) Handle(ctx context.Context, _ events.EventBridgeEvent) (Result, error) {
	now := p.Now()
	res := Result{Job: "event-publisher", StartedAt: now, Counts: map[string]int{}}
	work, cancel := deadline.Reserve(ctx, cmp.Or(p.Reserve, DefaultReserve))
	defer cancel()
	batch := cmp.Or(p.Batch, 200)
	for !deadline.Low(work, perEventBatch) {
		due, err := p.Outbox.PendingEvents(work, now, batch)
		if err != nil {
			return res, fmt.Errorf("event publisher: %w", err)
		}
		var all []gc.Event
		for _, c := range due {
			all = append(all, c.Events...)
		}
		failed, perr := p.Bus.Publish(work, all)
		bad := map[string]bool{}
		for _, ev := range failed {
			bad[ev.ID] = true
		}
		res.Counts["published"] += len(all) - len(failed)
		res.Counts["failed"] += len(failed)
		if perr != nil {
			p.Logger.WarnContext(ctx, "event publisher: some events were not published", "failed", len(failed), "error", perr.Error())
		}
		cleared := 0
		for _, c := range due {
			ok := true
			for _, ev := range c.Events {
				ok = ok && !bad[ev.ID]
			}
			if !ok {
				continue
			}
			if err := p.Outbox.MarkPublished(work, c); err != nil {
				return res, fmt.Errorf("event publisher: %w", err)
			}
			cleared++
		}
		res.Counts["changes"] += cleared
		// A batch that cleared nothing (the bus is down) or was not full
		// leaves the rest to the next run.
		if len(due) < batch || cleared == 0 {
			break
		}
	}
	p.Logger.InfoContext(ctx, "event publisher", "published", res.Counts["published"], "failed", res.Counts["failed"], "changes", res.Counts["changes"])
	return res, nil
}

// WebhookDeliverer is the webhook delivery function: it takes the events
// the bus rule puts on the webhook queue (SQS records whose body is the
// EventBridge event) and, on its schedule, retries the deliveries that
// are due.
type WebhookDeliverer struct {
	Service *webhook.Service
	Logger  *slog.Logger
	// Batch bounds the retries of one scheduled run (default 100).
	Batch int
}

// busEvent is the part of an EventBridge event the deliverer reads.
type busEvent struct {
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Detail     json.RawMessage `json:"detail"`
}

// Handle takes either an SQS batch from the webhook queue or a schedule
// event (retries), and reports failed records one by one.
func (d *WebhookDeliverer) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("webhook deliverer: decode event: %w", err)
	}
	if probe.Records == nil {
		work, cancel := deadline.Reserve(ctx, DefaultReserve)
		defer cancel()
		n, err := d.Service.RetryDue(work, cmp.Or(d.Batch, 100))
		res := Result{Job: "webhook-retries", StartedAt: time.Now(), Counts: map[string]int{"tried": n}}
		if err != nil {
			return res, fmt.Errorf("webhook deliverer: %w", err)
		}
		return res, nil
	}
	var batch events.SQSEvent
	if err := json.Unmarshal(raw, &batch); err != nil {
		return nil, fmt.Errorf("webhook deliverer: decode SQS event: %w", err)
	}
	work, cancel := deadline.Reserve(ctx, DefaultReserve)
	defer cancel()
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, rec := range batch.Records {
		if err := d.deliver(work, []byte(rec.Body)); err != nil {
			d.Logger.ErrorContext(ctx, "webhook delivery", "messageId", rec.MessageId, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

func (d *WebhookDeliverer) deliver(ctx context.Context, body []byte) error {
	var be busEvent
	if err := json.Unmarshal(body, &be); err != nil {
		return fmt.Errorf("decode bus event: %w", err)
	}
	var ev gc.Event
	if err := json.Unmarshal(be.Detail, &ev); err != nil {
		return fmt.Errorf("decode envelope: %w", err)
	}
	if ev.ID == "" || ev.ShopID == "" {
		// Not an event of ours: nothing to deliver, nothing to retry.
		d.Logger.WarnContext(ctx, "webhook delivery: not a giftcredit event", "detailType", be.DetailType)
		return nil
	}
	return d.Service.Deliver(ctx, ev, be.Detail)
}
