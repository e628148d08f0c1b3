package stack

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
)

// DefaultVisibilityTimeout is SQS's visibility timeout for a queue that
// declares none.
const DefaultVisibilityTimeout = 30 * time.Second

// defaultSQSBatchSize is the batch size of an SQS event source mapping that
// declares none (SAM's and Lambda's default).
const defaultSQSBatchSize = 10

// Queue is an in-memory stand-in for one AWS::SQS::Queue of the template,
// with SQS's delivery semantics: a received message is invisible for the
// visibility timeout and comes back unless it is deleted; a message
// received maxReceiveCount times moves to the dead-letter queue of its
// RedrivePolicy on the next receive. Functions send to it through the SQS
// API the stack serves (SendMessage, SendMessageBatch); an event source
// mapping delivers it to its function. Its methods are safe for
// concurrent use.
type Queue struct {
	// LogicalID is the template's name for the queue; it is also the
	// local queue name.
	LogicalID string
	// URL is the queue URL functions get for !Ref, ARN its !GetAtt Arn.
	URL, ARN string

	visibility time.Duration
	maxReceive int
	dlq        *Queue
	region     string

	mu      sync.Mutex
	msgs    []*message
	changed chan struct{} // closed and replaced whenever msgs changes
}

// message is one stored message.
type message struct {
	id, body, md5 string
	attrs         map[string]events.SQSMessageAttribute
	sent          time.Time
	visibleAt     time.Time
	receives      int
	firstReceive  time.Time
	receipt       string
}

func newQueue(id, url, arn, region string, visibility time.Duration, maxReceive int) *Queue {
	if visibility <= 0 {
		visibility = DefaultVisibilityTimeout
	}
	return &Queue{LogicalID: id, URL: url, ARN: arn, region: region, visibility: visibility,
		maxReceive: maxReceive, changed: make(chan struct{})}
}

// notifyLocked wakes everything waiting for a change.
func (q *Queue) notifyLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Send stores a message, visible after delay, and returns its id.
func (q *Queue) Send(body string, attrs map[string]events.SQSMessageAttribute, delay time.Duration) string {
	now := time.Now()
	m := &message{id: newUUID(), body: body, md5: md5Hex([]byte(body)), attrs: attrs, sent: now, visibleAt: now.Add(delay)}
	q.put(m)
	return m.id
}

func (q *Queue) put(m *message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, m)
	q.notifyLocked()
}

// receive takes up to max visible messages, oldest first, and makes them
// invisible for the visibility timeout. A message already received
// maxReceive times moves to the dead-letter queue instead. It also returns
// a channel closed on the next change and the time the next invisible
// message becomes visible (zero if none), for a poller to wait on.
func (q *Queue) receive(max int) ([]events.SQSMessage, <-chan struct{}, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	var (
		out      []events.SQSMessage
		next     time.Time
		redriven []*message
	)
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if m.visibleAt.After(now) || len(out) >= max {
			if m.visibleAt.After(now) && (next.IsZero() || m.visibleAt.Before(next)) {
				next = m.visibleAt
			}
			kept = append(kept, m)
			continue
		}
		if q.dlq != nil && q.maxReceive > 0 && m.receives >= q.maxReceive {
			redriven = append(redriven, m)
			continue
		}
		m.receives++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.visibleAt = now.Add(q.visibility)
		m.receipt = newUUID()
		out = append(out, q.record(m))
		kept = append(kept, m)
	}
	clear(q.msgs[len(kept):])
	q.msgs = kept
	if len(out) > 0 || len(redriven) > 0 {
		q.notifyLocked()
	}
	ch := q.changed
	if len(redriven) > 0 {
		// Locks are taken queue then dead-letter queue; a template cannot
		// make a queue its own dead-letter queue's dead-letter queue
		// (CloudFormation rejects the cycle), so this cannot deadlock.
		for _, m := range redriven {
			m.visibleAt, m.receipt = now, ""
			q.dlq.put(m)
		}
	}
	return out, ch, next
}

// record is the message as Lambda's SQS event carries it.
func (q *Queue) record(m *message) events.SQSMessage {
	return events.SQSMessage{
		MessageId:     m.id,
		ReceiptHandle: m.receipt,
		Body:          m.body,
		Md5OfBody:     m.md5,
		Attributes: map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(m.receives),
			"SentTimestamp":                    strconv.FormatInt(m.sent.UnixMilli(), 10),
			"SenderId":                         "AIDALOCALSTACKSENDER",
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceive.UnixMilli(), 10),
		},
		MessageAttributes: m.attrs,
		EventSource:       "aws:sqs",
		EventSourceARN:    q.ARN,
		AWSRegion:         q.region,
	}
}

// deleteReceipts deletes the messages whose current receipt handle is in
// receipts (a message received again since has a new handle and stays).
func (q *Queue) deleteReceipts(receipts []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = slices.DeleteFunc(q.msgs, func(m *message) bool {
		return m.receipt != "" && slices.Contains(receipts, m.receipt)
	})
	q.notifyLocked()
}

// QueueStats counts a queue's messages as SQS's approximate attributes do.
type QueueStats struct {
	// Visible are ready to be received (ApproximateNumberOfMessages).
	Visible int `json:"visible"`
	// InFlight were received and are neither deleted nor visible again
	// (ApproximateNumberOfMessagesNotVisible).
	InFlight int `json:"inFlight"`
	// Delayed were sent with a delay that has not passed.
	Delayed int `json:"delayed"`
}

// Stats counts the queue's messages now.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	var s QueueStats
	for _, m := range q.msgs {
		switch {
		case !m.visibleAt.After(now):
			s.Visible++
		case m.receives > 0:
			s.InFlight++
		default:
			s.Delayed++
		}
	}
	return s
}

// StoredMessage is a message as GET /queues/<id> on the control server
// shows it.
type StoredMessage struct {
	MessageID    string    `json:"messageId"`
	Body         string    `json:"body"`
	Sent         time.Time `json:"sent"`
	ReceiveCount int       `json:"receiveCount"`
}

// Messages returns a copy of every stored message, oldest first.
func (q *Queue) Messages() []StoredMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]StoredMessage, len(q.msgs))
	for i, m := range q.msgs {
		out[i] = StoredMessage{MessageID: m.id, Body: m.body, Sent: m.sent, ReceiveCount: m.receives}
	}
	return out
}

// WaitEmpty waits until the queue holds no message at all (none visible,
// in flight or delayed), or ctx ends.
func (q *Queue) WaitEmpty(ctx context.Context) error {
	for {
		q.mu.Lock()
		n, ch := len(q.msgs), q.changed
		q.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("queue %s still holds %d messages: %w", q.LogicalID, n, ctx.Err())
		}
	}
}

// mapping is an SQS event source mapping: it polls a queue and invokes a
// function with batches of its messages, as Lambda's pollers do.
type mapping struct {
	function       string
	queue          *Queue
	batchSize      int
	reportFailures bool
	// concurrency bounds the batches in flight (ScalingConfig's
	// MaximumConcurrency; here the function's process limit).
	concurrency int
	invoke      func(ctx context.Context, function string, payload []byte) (runtime.Result, error)
	logf        func(format string, args ...any)
}

// run delivers batches until ctx ends, then waits for the batches in
// flight.
func (m *mapping) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, max(m.concurrency, 1))
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		batch, changed, next := m.queue.receive(m.batchSize)
		if len(batch) > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				m.deliver(ctx, batch)
			}()
			continue
		}
		<-slots
		if !m.wait(ctx, changed, next) {
			return
		}
	}
}

// wait blocks until the queue changes, next (if not zero) passes, or ctx
// ends; it reports whether ctx is still alive.
func (m *mapping) wait(ctx context.Context, changed <-chan struct{}, next time.Time) bool {
	var timer <-chan time.Time
	if !next.IsZero() {
		t := time.NewTimer(time.Until(next))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-changed:
	case <-timer:
	case <-ctx.Done():
		return false
	}
	return true
}

// deliver invokes the function with one batch and deletes what it handled:
// every message on success, all but the reported ones with
// ReportBatchItemFailures, none on a function error or timeout (they come
// back after the visibility timeout).
func (m *mapping) deliver(ctx context.Context, batch []events.SQSMessage) {
	payload, err := json.Marshal(events.SQSEvent{Records: batch})
	if err != nil {
		m.logf("%s: encode SQS event: %v", m.function, err)
		return
	}
	res, err := m.invoke(ctx, m.function, payload)
	if ctx.Err() != nil {
		return
	}
	switch {
	case err != nil:
		m.logf("%s: batch of %d from %s failed: %v; the messages come back after %s", m.function, len(batch), m.queue.LogicalID, err, m.queue.visibility)
		return
	case res.FunctionError != nil:
		m.logf("%s: batch of %d from %s failed: %s: %s; the messages come back after %s", m.function, len(batch), m.queue.LogicalID,
			res.FunctionError.ErrorType, res.FunctionError.ErrorMessage, m.queue.visibility)
		return
	}
	failed := map[string]bool{}
	if m.reportFailures {
		var resp events.SQSEventResponse
		if err := json.Unmarshal(res.Payload, &resp); err != nil && string(res.Payload) != "null" {
			m.logf("%s: unreadable batch response %q: the whole batch counts as failed", m.function, res.Payload)
			return
		}
		for _, f := range resp.BatchItemFailures {
			if !slices.ContainsFunc(batch, func(r events.SQSMessage) bool { return r.MessageId == f.ItemIdentifier }) {
				// Lambda treats an empty or unknown identifier as a
				// failure of the whole batch.
				m.logf("%s: batch response names unknown message %q: the whole batch counts as failed", m.function, f.ItemIdentifier)
				return
			}
			failed[f.ItemIdentifier] = true
		}
	}
	var done []string
	for _, r := range batch {
		if !failed[r.MessageId] {
			done = append(done, r.ReceiptHandle)
		}
	}
	m.queue.deleteReceipts(done)
	if len(failed) > 0 {
		m.logf("%s: %d of %d messages from %s reported failed; they come back after %s", m.function, len(failed), len(batch), m.queue.LogicalID, m.queue.visibility)
	}
}

// newUUID returns a random (version 4) UUID, the form of SQS message ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}
