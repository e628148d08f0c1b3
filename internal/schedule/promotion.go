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
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// PromotionRun is the scheduled promotion run: each tick starts or
// continues every due promotion's run (see package promotion).
type PromotionRun struct {
	Service *promotion.Service
	Logger  *slog.Logger
	Now     func() time.Time
}

// Handle runs one tick. An error (some promotion could not advance) fails
// the invocation, so Lambda retries it and finally records it in the
// asynchronous-invocation DLQ; a retry repeats nothing that was done.
func (h *PromotionRun) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	res := Result{Job: "promotion-run", StartedAt: h.Now(), Counts: map[string]int{}}
	rep, err := h.Service.Tick(ctx)
	reportCounts(res.Counts, rep)
	h.Logger.InfoContext(ctx, "promotion run tick", "promotions", rep.Promotions, "runs", rep.Runs, "steps", rep.Steps,
		"batchesInline", rep.BatchesInline, "batchesQueued", rep.BatchesQueued, "grants", rep.Grants, "runsFinished", rep.RunsFinished)
	if err != nil {
		h.Logger.ErrorContext(ctx, "promotion run tick failed", "error", err.Error())
		return res, fmt.Errorf("promotion run: %w", err)
	}
	return res, nil
}

func reportCounts(m map[string]int, r promotion.Report) {
	for k, v := range map[string]int{"promotions": r.Promotions, "runs": r.Runs, "steps": r.Steps,
		"batchesInline": r.BatchesInline, "batchesQueued": r.BatchesQueued, "grants": r.Grants, "runsFinished": r.RunsFinished} {
		if v != 0 {
			m[k] += v
		}
	}
}

// PromotionWorker consumes the promotion queue. The event source mapping
// has ReportBatchItemFailures: a record that failed is reported and
// redelivered after the visibility timeout (and, after maxReceiveCount
// tries, moved to the queue's DLQ); the others are deleted. Every message
// is idempotent, so a redelivered one changes nothing that was done.
type PromotionWorker struct {
	Service *promotion.Service
	Logger  *slog.Logger
	// Reserve is how close to the invocation's deadline no record is
	// started; the rest are reported failed, to be redelivered.
	Reserve time.Duration
}

// Handle processes an SQS batch, one record at a time, and never returns an
// error: failures are reported per record.
func (w *PromotionWorker) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	reserve := cmp.Or(w.Reserve, 10*time.Second)
	for _, rec := range ev.Records {
		if deadline.Low(ctx, reserve) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			continue
		}
		var m promotion.Message
		err := json.Unmarshal([]byte(rec.Body), &m)
		if err == nil {
			var rep promotion.Report
			rep, err = w.Service.Handle(ctx, m)
			w.Logger.InfoContext(ctx, "promotion message", "message", rec.MessageId, "kind", m.Kind, "shop", m.ShopID,
				"promotion", m.PromotionID, "run", m.RunID, "seq", m.Seq, "grants", rep.Grants, "runsFinished", rep.RunsFinished)
		}
		if err != nil {
			w.Logger.ErrorContext(ctx, "promotion message failed", "message", rec.MessageId,
				"receiveCount", rec.Attributes["ApproximateReceiveCount"], "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}
