package localaws

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

// Bus is the smallest stand-in for an EventBridge event bus: it serves
// PutEvents of EventBridge's JSON protocol (X-Amz-Target:
// AWSEvents.PutEvents, what aws-sdk-go-v2 speaks), records every entry it
// accepts, lists them oldest first on GET /events, and hands each to
// Forward as a rule's target would receive it. No maintained npm or Go
// package speaks EventBridge locally (LocalStack needs Docker, moto is a
// Python server whose rules can only reach its own queues), hence this.
type Bus struct {
	srv *httptest.Server

	mu     sync.Mutex
	events []BusEvent
	// failNext makes the next n entries fail with InternalFailure.
	failNext int
	// calls are the entry counts of the PutEvents calls served.
	calls []int
	// Forward, when set, receives each accepted event (as a rule's
	// target would, in EventBridge's event format) after the answer.
	forward func(BusEvent)
}

// BusEvent is an event the bus accepted, in the format EventBridge hands
// to rule targets.
type BusEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	// EventBusName is not part of a target's event; GET /events shows it.
	EventBusName string `json:"eventBusName,omitempty"`
}

// StartBus starts a bus on a free loopback port.
func StartBus() *Bus {
	b := &Bus{}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	return b
}

// NewBus returns a bus to serve from another server (the local stack's
// control port); Handler serves it.
func NewBus() *Bus { return &Bus{} }

// URL is the endpoint to give the SDK (EVENTS_ENDPOINT) of a started bus.
func (b *Bus) URL() string { return b.srv.URL }

// Close stops a started bus.
func (b *Bus) Close() {
	if b.srv != nil {
		b.srv.Close()
	}
}

// Handler serves PutEvents on POST and the recorded events on GET.
func (b *Bus) Handler() http.Handler { return http.HandlerFunc(b.serve) }

// SetForward sets what receives each accepted event (nil: nothing).
func (b *Bus) SetForward(f func(BusEvent)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forward = f
}

// FailEntries makes the next n entries fail (InternalFailure), as
// PutEvents reports a partial failure: the others of a call succeed.
func (b *Bus) FailEntries(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failNext = n
}

// Events returns every accepted event, oldest first.
func (b *Bus) Events() []BusEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]BusEvent(nil), b.events...)
}

// Calls returns the number of entries of each PutEvents call served.
func (b *Bus) Calls() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.calls...)
}

// Clear forgets the recorded events.
func (b *Bus) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = nil
}

type putEntry struct {
	Source       string
	DetailType   string
	Detail       string
	EventBusName string
	Resources    []string
	Time         *float64
}

type putResult struct {
	EventId      string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

// maxBusEntries is PutEvents' limit of entries per call.
const maxBusEntries = 10

func (b *Bus) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"events": b.Events()})
		return
	}
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSEvents.")
	if !ok || action != "PutEvents" {
		busError(w, "UnknownOperationException", "only PutEvents is served (X-Amz-Target: AWSEvents.PutEvents)")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		busError(w, "ValidationException", "the request could not be read")
		return
	}
	var in struct{ Entries []putEntry }
	if err := json.Unmarshal(body, &in); err != nil {
		busError(w, "ValidationException", "the request is not JSON")
		return
	}
	if len(in.Entries) == 0 || len(in.Entries) > maxBusEntries {
		busError(w, "ValidationException", fmt.Sprintf("Entries must hold 1 to %d entries", maxBusEntries))
		return
	}
	out := struct {
		FailedEntryCount int
		Entries          []putResult
	}{Entries: []putResult{}}
	var accepted []BusEvent
	b.mu.Lock()
	b.calls = append(b.calls, len(in.Entries))
	for _, e := range in.Entries {
		if e.Source == "" || e.DetailType == "" || !json.Valid([]byte(e.Detail)) {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, putResult{ErrorCode: "MalformedDetail", ErrorMessage: "Source, DetailType and a JSON Detail are required"})
			continue
		}
		if b.failNext > 0 {
			b.failNext--
			out.FailedEntryCount++
			out.Entries = append(out.Entries, putResult{ErrorCode: "InternalFailure", ErrorMessage: "injected failure"})
			continue
		}
		at := time.Now().UTC()
		if e.Time != nil {
			sec, frac := math.Modf(*e.Time)
			at = time.Unix(int64(sec), int64(frac*1e9)).UTC()
		}
		ev := BusEvent{Version: "0", ID: newEventID(), DetailType: e.DetailType, Source: e.Source, Account: "000000000000",
			Time: at, Region: "us-east-1", Resources: e.Resources, Detail: json.RawMessage(e.Detail), EventBusName: e.EventBusName}
		if ev.Resources == nil {
			ev.Resources = []string{}
		}
		b.events = append(b.events, ev)
		accepted = append(accepted, ev)
		out.Entries = append(out.Entries, putResult{EventId: ev.ID})
	}
	forward := b.forward
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
	if forward != nil {
		for _, ev := range accepted {
			ev.EventBusName = ""
			forward(ev)
		}
	}
}

func busError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewEventsClient returns an EventBridge client for a local endpoint with
// dummy static credentials and no SDK retries (the publisher resends
// failed entries itself, and a test counts calls).
func NewEventsClient(endpoint string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		Retryer:      retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 1 }),
	})
}
