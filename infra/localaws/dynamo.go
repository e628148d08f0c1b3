package localaws

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/truora/minidyn/server"
)

// Dynamo is minidyn's DynamoDB-compatible HTTP server on loopback.
type Dynamo struct {
	*server.Server
	http *httptest.Server
	// faultAfter, when set, is called after each request was served; if it
	// returns true the response is replaced by a 500 (the request took
	// effect but the caller cannot know): a lost-response fault.
	faultAfter atomic.Pointer[func(op string) bool]
	// failBefore, when set and true for a request, turns on minidyn's
	// failure emulation for just that request: it fails without effect.
	failBefore atomic.Pointer[func(op string) bool]
	// hangAfter, when set and true for a request, serves it and then
	// holds it until the caller gives up: it took effect, and the caller
	// never hears. (A dependency that never answers at all is a Fault.)
	hangAfter atomic.Pointer[func(op string) bool]
}

// StartDynamo starts minidyn on addr ("" picks a free loopback port).
func StartDynamo(addr string) (*Dynamo, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	d := &Dynamo{Server: server.NewServer()}
	d.http = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(d.serve)}}
	d.http.Start()
	return d, nil
}

func (d *Dynamo) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if ha := d.hangAfter.Load(); ha != nil && (*ha)(target) {
		d.Server.ServeHTTP(httptest.NewRecorder(), r)
		<-r.Context().Done()
		return
	}
	if fb := d.failBefore.Load(); fb != nil && (*fb)(target) {
		d.Server.EmulateFailure(server.FailureConditionInternalServerError)
		defer d.Server.EmulateFailure(server.FailureConditionNone)
	}
	f := d.faultAfter.Load()
	if f == nil {
		d.Server.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	d.Server.ServeHTTP(rec, r)
	if (*f)(target) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected: response lost"}`))
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// LoseResponses makes the server apply requests but answer 500 whenever f
// (given the X-Amz-Target, e.g. "DynamoDB_20120810.TransactWriteItems")
// returns true; nil stops it.
func (d *Dynamo) LoseResponses(f func(target string) bool) { storeFault(&d.faultAfter, f) }

// FailRequests makes every request for which f (given the X-Amz-Target)
// returns true fail through minidyn's failure emulation, without effect;
// nil stops it. Use it from one goroutine at a time: the emulation is
// server-wide while such a request is served.
func (d *Dynamo) FailRequests(f func(target string) bool) { storeFault(&d.failBefore, f) }

// HangResponses serves every request for which f returns true and then
// holds it until its caller gives up: the write took effect, the caller
// never hears. nil stops it.
func (d *Dynamo) HangResponses(f func(target string) bool) { storeFault(&d.hangAfter, f) }

func storeFault(p *atomic.Pointer[func(string) bool], f func(string) bool) {
	if f == nil {
		p.Store(nil)
		return
	}
	p.Store(&f)
}

// URL is the endpoint to give the SDK.
func (d *Dynamo) URL() string { return d.http.URL }

// Close stops the server.
func (d *Dynamo) Close() { d.http.Close() }

// Counter counts DynamoDB requests by operation name, as SDK middleware sees
// them (one count per API call, retries included in the call).
type Counter struct {
	mu  sync.Mutex
	ops map[string]int
}

// Counts returns a copy of the counts so far.
func (c *Counter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.ops))
	for k, v := range c.ops {
		out[k] = v
	}
	return out
}

// Reset clears the counts.
func (c *Counter) Reset() {
	c.mu.Lock()
	c.ops = nil
	c.mu.Unlock()
}

// Middleware returns the SDK option that feeds the counter.
func (c *Counter) Middleware() func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("giftcreditCounter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := middleware.GetOperationName(ctx)
				c.mu.Lock()
				if c.ops == nil {
					c.ops = map[string]int{}
				}
				c.ops[op]++
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}

// NewDynamoClient returns a DynamoDB client for a local endpoint with dummy
// static credentials. counter may be nil.
func NewDynamoClient(endpoint string, counter *Counter) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		Retryer:      retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 3 }),
	}, func(o *dynamodb.Options) {
		if counter != nil {
			o.APIOptions = append(o.APIOptions, counter.Middleware())
		}
	})
}
