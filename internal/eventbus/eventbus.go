// Package eventbus publishes giftcredit events to an EventBridge bus with
// PutEvents: at most 10 entries a call, and again only the entries that
// failed, a bounded number of times. It is the only package that knows the
// EventBridge API.
package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Source is the source of every entry; the bus rules match on it.
const Source = "giftcredit"

// MaxEntries is PutEvents' limit of entries per call.
const MaxEntries = 10

// Bus publishes to one event bus.
type Bus struct {
	Client *eventbridge.Client
	// Name is the bus's name or ARN.
	Name string
	// Attempts bounds the calls for one chunk (default 3): the first and
	// the resends of the entries that failed.
	Attempts int
	// CallTimeout bounds one PutEvents call (default 5 s), so a bus that
	// accepts the connection and never answers costs at most that.
	CallTimeout time.Duration
}

var _ gc.EventPublisher = (*Bus)(nil)

// Entry is the PutEvents entry of an event: detail-type is the event
// type, detail the envelope.
func (b *Bus) Entry(ev gc.Event) (types.PutEventsRequestEntry, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return types.PutEventsRequestEntry{}, fmt.Errorf("event %s: encode: %w", ev.ID, err)
	}
	return types.PutEventsRequestEntry{
		EventBusName: aws.String(b.Name), Source: aws.String(Source), DetailType: aws.String(string(ev.Type)),
		Detail: aws.String(string(body)), Time: aws.Time(ev.CreatedAt), Resources: []string{},
	}, nil
}

// Publish sends events in calls of at most MaxEntries, resending only the
// entries a call reports failed. It returns the events still not sent.
func (b *Bus) Publish(ctx context.Context, evs []gc.Event) ([]gc.Event, error) {
	var failed []gc.Event
	var errs []error
	for start := 0; start < len(evs); start += MaxEntries {
		chunk := evs[start:min(start+MaxEntries, len(evs))]
		left, err := b.publishChunk(ctx, chunk)
		failed = append(failed, left...)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				failed = append(failed, evs[min(start+MaxEntries, len(evs)):]...)
				break
			}
		}
	}
	return failed, errors.Join(errs...)
}

func (b *Bus) publishChunk(ctx context.Context, chunk []gc.Event) ([]gc.Event, error) {
	attempts := b.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	pending := chunk
	var last error
	for a := 0; a < attempts && len(pending) > 0; a++ {
		if a > 0 {
			t := time.NewTimer(time.Duration(50<<a) * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return pending, fmt.Errorf("put events: %w", ctx.Err())
			case <-t.C:
			}
		}
		entries := make([]types.PutEventsRequestEntry, len(pending))
		for i, ev := range pending {
			e, err := b.Entry(ev)
			if err != nil {
				return pending, err
			}
			entries[i] = e
		}
		timeout := b.CallTimeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		out, err := b.Client.PutEvents(cctx, &eventbridge.PutEventsInput{Entries: entries})
		cancel()
		if err != nil {
			last = fmt.Errorf("put events: %w", err)
			if ctx.Err() != nil {
				return pending, last
			}
			continue
		}
		if out.FailedEntryCount == 0 {
			return nil, nil
		}
		var again []gc.Event
		for i, r := range out.Entries {
			if i < len(pending) && r.ErrorCode != nil {
				again = append(again, pending[i])
				last = fmt.Errorf("put events: entry %s: %s: %s", pending[i].ID, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
			}
		}
		pending = again
	}
	return pending, last
}
