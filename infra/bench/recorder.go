package bench

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Call is one DynamoDB API call as the SDK's initialize step sees it: once
// per call, whatever its retries. Input and Output are the SDK's own
// *dynamodb.<Op>Input and *dynamodb.<Op>Output (Output nil on error).
type Call struct {
	Op     string
	Input  any
	Output any
	Err    error
	// Took is the call's duration as the caller saw it, retries included.
	Took time.Duration
	// Tag is the tag of the call's context (see WithTag), nil if none.
	Tag any
}

type tagKey struct{}

// WithTag tags ctx, so that the calls made with it can be told apart from
// those of other goroutines (Call.Tag).
func WithTag(ctx context.Context, tag any) context.Context {
	return context.WithValue(ctx, tagKey{}, tag)
}

// Recorder is SDK middleware that counts DynamoDB calls by operation and,
// while an observer is set, hands every finished call to it. Install it
// with Option.
type Recorder struct {
	mu      sync.Mutex
	counts  map[string]int
	observe func(Call)
}

// Option returns the client option that installs the recorder.
func (r *Recorder) Option() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("giftcreditBenchRecorder", r.handle), middleware.After)
		})
	}
}

func (r *Recorder) handle(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	op := middleware.GetOperationName(ctx)
	r.mu.Lock()
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.counts[op]++
	observe := r.observe
	r.mu.Unlock()
	start := time.Now()
	out, md, err := next.HandleInitialize(ctx, in)
	if observe != nil {
		c := Call{Op: op, Input: in.Parameters, Err: err, Took: time.Since(start), Tag: ctx.Value(tagKey{})}
		if err == nil {
			c.Output = out.Result
		}
		observe(c)
	}
	return out, md, err
}

// Counts returns a copy of the counts since the last Reset.
func (r *Recorder) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

// Reset clears the counts.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.counts = nil
	r.mu.Unlock()
}

// Observe sets (or, with nil, clears) the function every finished call is
// handed to. It runs on the caller's goroutine, inside the SDK call.
func (r *Recorder) Observe(f func(Call)) {
	r.mu.Lock()
	r.observe = f
	r.mu.Unlock()
}

// Record runs f and returns the calls it made, in order. Calls made by
// other goroutines meanwhile are recorded too: use it on a quiet client.
func (r *Recorder) Record(f func() error) ([]Call, error) {
	var mu sync.Mutex
	var calls []Call
	r.Observe(func(c Call) {
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
	})
	err := f()
	r.Observe(nil)
	return calls, err
}

// readOps and writeOps classify DynamoDB data operations.
var (
	readOps  = map[string]bool{"GetItem": true, "TransactGetItems": true, "BatchGetItem": true, "Query": true, "Scan": true}
	writeOps = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "TransactWriteItems": true, "BatchWriteItem": true}
)

// RequestCounts sums counts into reads, writes and the rest.
func RequestCounts(counts map[string]int) (reads, writes, other int) {
	for op, n := range counts {
		switch {
		case readOps[op]:
			reads += n
		case writeOps[op]:
			writes += n
		default:
			other += n
		}
	}
	return reads, writes, other
}
