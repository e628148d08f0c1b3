package schedule

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

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
	deadline, hasDeadline := ctx.Deadline()
	reserve := w.Reserve
	if reserve == 0 {
		reserve = 10 * time.Second
	}
	for _, rec := range ev.Records {
		if hasDeadline && time.Until(deadline) < reserve {
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

// LocalQueue is an in-process stand-in for the promotion queue and its
// event source mapping, with SQS's semantics: messages are delivered at
// least once, in batches of up to BatchSize, to Handler (the worker's
// Handle, or anything with its signature, such as a call into the compiled
// worker binary); the records a handler reports failed (or all of them,
// if it returns an error or panics) become visible again after
// VisibilityTimeout, and a message received MaxReceives times goes to the
// dead-letter list instead. It implements promotion.Queue for a Service in
// the same process, and it is an http.Handler speaking SQS's JSON protocol
// for SendMessage and SendMessageBatch, so a separate process (the
// promotion-run function binary, with SQS_ENDPOINT pointing here) sends to
// it through the real SDK.
type LocalQueue struct {
	Handler           func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
	BatchSize         int
	Workers           int
	VisibilityTimeout time.Duration
	MaxReceives       int
	// ARN is put in each record's eventSourceARN.
	ARN string

	mu       sync.Mutex
	visible  []*localMessage
	inFlight int
	dead     []events.SQSMessage
	wake     chan struct{}
}

type localMessage struct {
	msg      events.SQSMessage
	receives int
	at       time.Time // visible from
}

var _ promotion.Queue = (*LocalQueue)(nil)

// NewLocalQueue returns a queue delivering to handler with SQS-like
// defaults for local use: batches of 10, one worker, a 200 ms visibility
// timeout, 3 receives before the dead-letter list.
func NewLocalQueue(handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)) *LocalQueue {
	return &LocalQueue{Handler: handler, BatchSize: 10, Workers: 1, VisibilityTimeout: 200 * time.Millisecond, MaxReceives: 3,
		ARN: "arn:aws:sqs:local:000000000000:PromotionQueue"}
}

// Send queues messages.
func (q *LocalQueue) Send(_ context.Context, msgs []promotion.Message) error {
	bodies := make([]string, len(msgs))
	for i, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode promotion message: %w", err)
		}
		bodies[i] = string(b)
	}
	q.enqueue(bodies)
	return nil
}

func (q *LocalQueue) enqueue(bodies []string) []string {
	ids := make([]string, len(bodies))
	q.mu.Lock()
	now := time.Now()
	for i, body := range bodies {
		ids[i] = newMessageID()
		sum := md5.Sum([]byte(body))
		q.visible = append(q.visible, &localMessage{at: now, msg: events.SQSMessage{
			MessageId: ids[i], ReceiptHandle: ids[i], Body: body, Md5OfBody: hex.EncodeToString(sum[:]),
			Attributes:  map[string]string{"SentTimestamp": strconv.FormatInt(now.UnixMilli(), 10)},
			EventSource: "aws:sqs", EventSourceARN: q.ARN, AWSRegion: "local",
		}})
	}
	q.mu.Unlock()
	q.signal()
	return ids
}

func newMessageID() string {
	var b [16]byte
	_, _ = io.ReadFull(rand.Reader, b[:]) // crypto/rand never fails on supported platforms
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// wakeup returns the channel that tells idle pollers a message arrived.
func (q *LocalQueue) wakeup() chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.wake == nil {
		q.wake = make(chan struct{}, 1)
	}
	return q.wake
}

func (q *LocalQueue) signal() {
	select {
	case q.wakeup() <- struct{}{}:
	default:
	}
}

// Run delivers messages with Workers concurrent pollers until ctx ends.
func (q *LocalQueue) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < max(q.Workers, 1); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if !q.deliverOnce(ctx) {
					t := time.NewTimer(20 * time.Millisecond)
					select {
					case <-ctx.Done():
					case <-q.wakeup():
					case <-t.C:
					}
					t.Stop()
				}
			}
		}()
	}
	wg.Wait()
}

// deliverOnce receives one batch of visible messages and hands it to the
// handler; false if there was none.
func (q *LocalQueue) deliverOnce(ctx context.Context) bool {
	q.mu.Lock()
	now := time.Now()
	var batch []*localMessage
	rest := q.visible[:0]
	for _, m := range q.visible {
		if len(batch) < max(q.BatchSize, 1) && !m.at.After(now) {
			batch = append(batch, m)
		} else {
			rest = append(rest, m)
		}
	}
	q.visible = rest
	q.inFlight += len(batch)
	q.mu.Unlock()
	if len(batch) == 0 {
		return false
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(batch))}
	for i, m := range batch {
		m.receives++
		m.msg.Attributes["ApproximateReceiveCount"] = strconv.Itoa(m.receives)
		ev.Records[i] = m.msg
		ev.Records[i].Attributes = cloneAttrs(m.msg.Attributes)
	}
	failed := q.call(ctx, ev)
	q.mu.Lock()
	for _, m := range batch {
		if !failed[m.msg.MessageId] {
			continue
		}
		if m.receives >= max(q.MaxReceives, 1) {
			q.dead = append(q.dead, m.msg)
			continue
		}
		m.at = time.Now().Add(q.VisibilityTimeout)
		q.visible = append(q.visible, m)
	}
	q.inFlight -= len(batch)
	q.mu.Unlock()
	return true
}

func cloneAttrs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// call runs the handler and returns the ids of the records that failed.
func (q *LocalQueue) call(ctx context.Context, ev events.SQSEvent) (failed map[string]bool) {
	all := func() map[string]bool {
		f := map[string]bool{}
		for _, r := range ev.Records {
			f[r.MessageId] = true
		}
		return f
	}
	defer func() {
		if recover() != nil {
			failed = all()
		}
	}()
	resp, err := q.Handler(ctx, ev)
	if err != nil {
		return all()
	}
	failed = map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	return failed
}

// Drain waits until no message is visible, waiting for visibility or in
// flight (the dead-letter list does not count).
func (q *LocalQueue) Drain(ctx context.Context) error {
	for {
		q.mu.Lock()
		n := len(q.visible) + q.inFlight
		q.mu.Unlock()
		if n == 0 {
			return nil
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// DeadLetters returns the messages that were received MaxReceives times
// without success.
func (q *LocalQueue) DeadLetters() []events.SQSMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]events.SQSMessage(nil), q.dead...)
}

// ServeHTTP accepts SQS's SendMessage and SendMessageBatch (JSON protocol,
// X-Amz-Target AmazonSQS.<Action>). Any queue URL names this queue.
func (q *LocalQueue) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		sqsError(w, "InvalidParameterValue", "cannot read the request")
		return
	}
	var out any
	switch r.Header.Get("X-Amz-Target") {
	case "AmazonSQS.SendMessage":
		var in struct{ MessageBody string }
		if err := json.Unmarshal(body, &in); err != nil || in.MessageBody == "" {
			sqsError(w, "InvalidParameterValue", "MessageBody is required")
			return
		}
		id := q.enqueue([]string{in.MessageBody})[0]
		out = map[string]string{"MessageId": id, "MD5OfMessageBody": md5Hex(in.MessageBody)}
	case "AmazonSQS.SendMessageBatch":
		var in struct {
			Entries []struct{ Id, MessageBody string }
		}
		if err := json.Unmarshal(body, &in); err != nil || len(in.Entries) == 0 || len(in.Entries) > 10 {
			sqsError(w, "InvalidParameterValue", "Entries must hold 1 to 10 messages")
			return
		}
		bodies := make([]string, len(in.Entries))
		for i, e := range in.Entries {
			bodies[i] = e.MessageBody
		}
		ids := q.enqueue(bodies)
		type ok struct{ Id, MessageId, MD5OfMessageBody string }
		res := struct {
			Successful []ok
			Failed     []struct{}
		}{Failed: []struct{}{}}
		for i, e := range in.Entries {
			res.Successful = append(res.Successful, ok{e.Id, ids[i], md5Hex(e.MessageBody)})
		}
		out = res
	default:
		sqsError(w, "InvalidAction", "only SendMessage and SendMessageBatch are supported locally")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sqsError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": msg})
}
