package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/local/gateway"
	"github.com/giftcredit/giftcredit/infra/local/runtime"
)

// call is one function invocation the gateway made.
type call struct {
	function string
	payload  []byte
}

// functions stands in for the Lambda side in the event and mapping tests:
// it records every invocation and answers with what answer returns for
// the function.
type functions struct {
	mu     sync.Mutex
	calls  []call
	answer func(function string, payload []byte) (runtime.Result, error)
}

func (f *functions) invoke(_ context.Context, function string, payload []byte) (runtime.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{function, payload})
	f.mu.Unlock()
	if f.answer == nil {
		return runtime.Result{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
	}
	return f.answer(function, payload)
}

func (f *functions) called() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// event decodes the HTTP event of the last call to function.
func (f *functions) event(t *testing.T, function string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var last *call
	for _, c := range f.called() {
		if c.function == function {
			last = &c
		}
	}
	if last == nil {
		t.Fatalf("%s was not invoked", function)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(last.payload, &e); err != nil {
		t.Fatalf("decode event %s: %v", last.payload, err)
	}
	return e
}

var fixedNow = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.FixedZone("CET", 3600))

// serve starts the gateway for cfg, with f as its functions, on a test
// server.
func serve(t *testing.T, cfg gateway.Config, f *functions) *httptest.Server {
	t.Helper()
	cfg.Invoke = f.invoke
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	srv := httptest.NewServer(gateway.New(cfg))
	t.Cleanup(srv.Close)
	return srv
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func newRequest(t *testing.T, method, url string, body io.Reader, header http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req
}

var routes = []gateway.Route{
	{Method: "GET", Path: "/v1/customers/{id}", Function: "Customers"},
	{Method: "GET", Path: "/v1/customers/search", Function: "Search"},
	{Method: "GET", Path: "/v1/customers/{id}/transactions", Function: "Customers"},
	{Method: "POST", Path: "/v1/orders", Function: "Orders"},
	{Method: "ANY", Path: "/files/{proxy+}", Function: "Files"},
	{Method: "GET", Path: "/files/{proxy+}", Function: "FilesGet"},
	{Method: "GET", Path: "/", Function: "Root"},
}

func TestEventIsBuiltAsAPIGatewayDoes(t *testing.T) {
	tests := []struct {
		name   string
		method string
		target string
		header http.Header
		body   []byte
		// wantFunction runs; check inspects its event.
		wantFunction string
		check        func(t *testing.T, e events.APIGatewayV2HTTPRequest)
	}{
		{
			name: "path parameter and repeated query", method: "GET",
			target:       "/v1/customers/c%201/transactions?limit=5&tag=a&tag=b&empty=&sp=x%2By+z",
			wantFunction: "Customers",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "routeKey", e.RouteKey, "GET /v1/customers/{id}/transactions")
				eq(t, "requestContext.routeKey", e.RequestContext.RouteKey, e.RouteKey)
				eq(t, "rawPath", e.RawPath, "/v1/customers/c 1/transactions")
				eq(t, "http.path", e.RequestContext.HTTP.Path, "/v1/customers/c 1/transactions")
				eq(t, "pathParameters", e.PathParameters, map[string]string{"id": "c 1"})
				eq(t, "rawQueryString", e.RawQueryString, "limit=5&tag=a&tag=b&empty=&sp=x%2By+z")
				eq(t, "queryStringParameters", e.QueryStringParameters, map[string]string{"limit": "5", "tag": "a,b", "empty": "", "sp": "x+y z"})
			},
		},
		{
			name: "literal segment beats variable", method: "GET", target: "/v1/customers/search",
			wantFunction: "Search",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "routeKey", e.RouteKey, "GET /v1/customers/search")
				eq(t, "pathParameters", e.PathParameters, map[string]string(nil))
				eq(t, "queryStringParameters", e.QueryStringParameters, map[string]string(nil))
			},
		},
		{
			name: "greedy variable, named method beats ANY", method: "GET", target: "/files/a/b/c.txt",
			wantFunction: "FilesGet",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "routeKey", e.RouteKey, "GET /files/{proxy+}")
				eq(t, "pathParameters", e.PathParameters, map[string]string{"proxy": "a/b/c.txt"})
			},
		},
		{
			name: "ANY route", method: "DELETE", target: "/files/x",
			wantFunction: "Files",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "routeKey", e.RouteKey, "ANY /files/{proxy+}")
				eq(t, "http.method", e.RequestContext.HTTP.Method, "DELETE")
			},
		},
		{
			name: "root", method: "GET", target: "/", wantFunction: "Root",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "routeKey", e.RouteKey, "GET /")
				eq(t, "rawPath", e.RawPath, "/")
			},
		},
		{
			name: "headers lower-cased and joined, cookies split out", method: "GET", target: "/v1/customers/7",
			header: http.Header{
				"X-Multi":       {"a", "b"},
				"User-Agent":    {"shop/1.0"},
				"Cookie":        {"session=abc; theme=dark", "lang=en"},
				"Authorization": {"Bearer k"},
			},
			wantFunction: "Customers",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "x-multi", e.Headers["x-multi"], "a,b")
				eq(t, "authorization", e.Headers["authorization"], "Bearer k")
				eq(t, "user-agent", e.Headers["user-agent"], "shop/1.0")
				eq(t, "http.userAgent", e.RequestContext.HTTP.UserAgent, "shop/1.0")
				eq(t, "cookies", e.Cookies, []string{"session=abc", "theme=dark", "lang=en"})
				if _, ok := e.Headers["cookie"]; ok {
					t.Errorf("cookie header kept in headers: %v", e.Headers)
				}
				for k := range e.Headers {
					if k != strings.ToLower(k) {
						t.Errorf("header %q not lower case", k)
					}
				}
				eq(t, "x-forwarded-for", e.Headers["x-forwarded-for"], "127.0.0.1")
				// API Gateway is reached over HTTPS only; its events say so
				// whatever the local listener is (captured event:
				// https://github.com/floci-io/floci/issues/2172).
				eq(t, "x-forwarded-proto", e.Headers["x-forwarded-proto"], "https")
				eq(t, "x-forwarded-port", e.Headers["x-forwarded-port"], "443")
				if !strings.HasPrefix(e.Headers["x-amzn-trace-id"], "Root=1-") {
					t.Errorf("x-amzn-trace-id = %q", e.Headers["x-amzn-trace-id"])
				}
			},
		},
		{
			name: "JSON body as text", method: "POST", target: "/v1/orders",
			header:       http.Header{"Content-Type": {"application/json; charset=utf-8"}},
			body:         []byte(`{"amount":1250}`),
			wantFunction: "Orders",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "body", e.Body, `{"amount":1250}`)
				eq(t, "isBase64Encoded", e.IsBase64Encoded, false)
				eq(t, "content-length", e.Headers["content-length"], "15")
			},
		},
		{
			name: "binary body base64", method: "POST", target: "/v1/orders",
			header:       http.Header{"Content-Type": {"application/octet-stream"}},
			body:         []byte{0, 1, 2, 0xff},
			wantFunction: "Orders",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "body", e.Body, base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff}))
				eq(t, "isBase64Encoded", e.IsBase64Encoded, true)
			},
		},
		{
			name: "form body base64", method: "POST", target: "/v1/orders",
			header:       http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			body:         []byte("a=1"),
			wantFunction: "Orders",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "body", e.Body, "YT0x")
				eq(t, "isBase64Encoded", e.IsBase64Encoded, true)
			},
		},
		// Only text/*, application/json, application/xml and
		// application/javascript reach the function as text; AWS documents
		// that binary bodies are base64-encoded
		// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
		// and this split was measured on a real HTTP API
		// (https://github.com/ministackorg/ministack/pull/766).
		{
			name: "XML body as text", method: "POST", target: "/v1/orders",
			header:       http.Header{"Content-Type": {"application/xml"}},
			body:         []byte("<a/>"),
			wantFunction: "Orders",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "body", e.Body, "<a/>")
				eq(t, "isBase64Encoded", e.IsBase64Encoded, false)
			},
		},
		{
			name: "JavaScript body as text", method: "POST", target: "/v1/orders",
			header:       http.Header{"Content-Type": {"application/javascript"}},
			body:         []byte("f()"),
			wantFunction: "Orders",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "body", e.Body, "f()")
				eq(t, "isBase64Encoded", e.IsBase64Encoded, false)
			},
		},
		{
			name: "text/* body as text", method: "POST", target: "/v1/orders",
			header:       http.Header{"Content-Type": {"text/csv; charset=utf-8"}},
			body:         []byte("a,b"),
			wantFunction: "Orders",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "body", e.Body, "a,b")
				eq(t, "isBase64Encoded", e.IsBase64Encoded, false)
			},
		},
		{
			name: "+json body base64", method: "POST", target: "/v1/orders",
			header:       http.Header{"Content-Type": {"application/merge-patch+json"}},
			body:         []byte(`{"a":1}`),
			wantFunction: "Orders",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "body", e.Body, base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)))
				eq(t, "isBase64Encoded", e.IsBase64Encoded, true)
			},
		},
		{
			name: "+xml body base64", method: "POST", target: "/v1/orders",
			header:       http.Header{"Content-Type": {"application/soap+xml"}},
			body:         []byte("<a/>"),
			wantFunction: "Orders",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "body", e.Body, base64.StdEncoding.EncodeToString([]byte("<a/>")))
				eq(t, "isBase64Encoded", e.IsBase64Encoded, true)
			},
		},
		{
			name: "body without content type base64", method: "POST", target: "/v1/orders",
			body:         []byte("hi"),
			wantFunction: "Orders",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "body", e.Body, "aGk=")
				eq(t, "isBase64Encoded", e.IsBase64Encoded, true)
			},
		},
		{
			name: "no body", method: "POST", target: "/v1/orders", wantFunction: "Orders",
			check: func(t *testing.T, e events.APIGatewayV2HTTPRequest) {
				eq(t, "body", e.Body, "")
				eq(t, "isBase64Encoded", e.IsBase64Encoded, false)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &functions{}
			srv := serve(t, gateway.Config{
				Routes: routes, AccountID: "123456789012", APIID: "api123",
				StageVariables: map[string]string{"env": "local"},
			}, f)
			resp, body := do(t, newRequest(t, tt.method, srv.URL+tt.target, bytes.NewReader(tt.body), tt.header))
			if resp.StatusCode != http.StatusOK || body != "ok" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if calls := f.called(); len(calls) != 1 || calls[0].function != tt.wantFunction {
				t.Fatalf("calls %v, want one to %s", calls, tt.wantFunction)
			}
			e := f.event(t, tt.wantFunction)
			tt.check(t, e)

			// What every event carries.
			eq(t, "version", e.Version, "2.0")
			rc := e.RequestContext
			eq(t, "accountId", rc.AccountID, "123456789012")
			eq(t, "apiId", rc.APIID, "api123")
			eq(t, "stage", rc.Stage, "$default")
			eq(t, "requestId", rc.RequestID, resp.Header.Get("Apigw-Requestid"))
			eq(t, "time", rc.Time, "14/Mar/2026:14:09:26 +0000")
			eq(t, "timeEpoch", rc.TimeEpoch, fixedNow.UnixMilli())
			eq(t, "domainName", rc.DomainName, strings.TrimPrefix(srv.URL, "http://"))
			eq(t, "domainPrefix", rc.DomainPrefix, "127")
			eq(t, "http.protocol", rc.HTTP.Protocol, "HTTP/1.1")
			eq(t, "http.sourceIp", rc.HTTP.SourceIP, "127.0.0.1")
			eq(t, "host", e.Headers["host"], rc.DomainName)
			eq(t, "stageVariables", e.StageVariables, map[string]string{"env": "local"})
			if rc.Authorizer != nil {
				t.Errorf("authorizer context without an authorizer: %+v", rc.Authorizer)
			}
		})
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	f := &functions{}
	srv := serve(t, gateway.Config{Routes: routes}, f)
	seen := map[string]bool{}
	for range 20 {
		resp, _ := do(t, newRequest(t, "GET", srv.URL+"/v1/customers/1", nil, nil))
		id := resp.Header.Get("Apigw-Requestid")
		if id == "" || seen[id] {
			t.Fatalf("request id %q empty or repeated", id)
		}
		seen[id] = true
	}
}

func TestGatewayStatusMapping(t *testing.T) {
	timeoutErr := fmt.Errorf("Orders#1: %w after 3.00 seconds", runtime.ErrTimeout)
	answer := func(payload string) func(string, []byte) (runtime.Result, error) {
		return func(string, []byte) (runtime.Result, error) { return runtime.Result{Payload: []byte(payload)}, nil }
	}
	tests := []struct {
		name       string
		method     string
		target     string
		body       io.Reader
		answer     func(string, []byte) (runtime.Result, error)
		wantStatus int
		wantBody   string
		wantHeader http.Header
		wantCalls  int
	}{
		{name: "no route", method: "GET", target: "/v2/nothing", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "wrong method", method: "DELETE", target: "/v1/orders", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "trailing slash is another path", method: "POST", target: "/v1/orders/", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "body over 10 MB", method: "POST", target: "/v1/orders", body: bytes.NewReader(make([]byte, gateway.MaxBodyBytes+1)),
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`},
		{name: "chunked body over 10 MB", method: "POST", target: "/v1/orders", body: io.MultiReader(bytes.NewReader(make([]byte, gateway.MaxBodyBytes)), strings.NewReader("x")),
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`},
		{name: "body of exactly 10 MB passes", method: "POST", target: "/v1/orders", body: bytes.NewReader(make([]byte, gateway.MaxBodyBytes)),
			answer: answer(`{"statusCode":204}`), wantStatus: 204, wantCalls: 1},
		// An HTTP API answers a function timeout as any function error: 500
		// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html);
		// 504 "Endpoint request timed out" is the REST API's answer.
		{name: "function timeout", method: "POST", target: "/v1/orders",
			answer:     func(string, []byte) (runtime.Result, error) { return runtime.Result{}, timeoutErr },
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantCalls: 1},
		{name: "function error", method: "POST", target: "/v1/orders",
			answer: func(string, []byte) (runtime.Result, error) {
				return runtime.Result{Payload: []byte(`{"errorMessage":"secret detail","errorType":"errorString"}`),
					FunctionError: &runtime.ErrorPayload{ErrorMessage: "secret detail", ErrorType: "errorString"}}, nil
			},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantCalls: 1},
		{name: "process crash", method: "POST", target: "/v1/orders",
			answer: func(string, []byte) (runtime.Result, error) {
				return runtime.Result{}, &runtime.ExitError{Function: "Orders", Status: "exit status 3", ExitCode: 3}
			},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantCalls: 1},
		{name: "event too large for Lambda", method: "POST", target: "/v1/orders",
			answer:     func(string, []byte) (runtime.Result, error) { return runtime.Result{}, runtime.ErrPayloadTooLarge },
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`, wantCalls: 1},
		{name: "answer is not JSON", method: "POST", target: "/v1/orders", answer: answer(`hello`),
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantCalls: 1},
		{name: "object without statusCode", method: "POST", target: "/v1/orders", answer: answer(`{"id":"o1","total":5}`),
			wantStatus: 200, wantBody: `{"id":"o1","total":5}`, wantHeader: http.Header{"Content-Type": {"application/json"}}, wantCalls: 1},
		{name: "bare JSON string", method: "POST", target: "/v1/orders", answer: answer(`"hello"`),
			wantStatus: 200, wantBody: `"hello"`, wantHeader: http.Header{"Content-Type": {"application/json"}}, wantCalls: 1},
		{name: "bare JSON array", method: "POST", target: "/v1/orders", answer: answer(`[1,2]`),
			wantStatus: 200, wantBody: `[1,2]`, wantHeader: http.Header{"Content-Type": {"application/json"}}, wantCalls: 1},
		{name: "full response", method: "POST", target: "/v1/orders",
			answer: answer(`{"statusCode":201,"headers":{"Content-Type":"application/problem+json","X-One":"1","X-Two":"a,b"},
				"cookies":["s=1; HttpOnly","t=2"],"body":"{\"id\":\"o1\"}"}`),
			wantStatus: 201, wantBody: `{"id":"o1"}`, wantCalls: 1,
			wantHeader: http.Header{"Content-Type": {"application/problem+json"}, "X-One": {"1"}, "X-Two": {"a,b"}, "Set-Cookie": {"s=1; HttpOnly", "t=2"}}},
		{name: "base64 response body", method: "POST", target: "/v1/orders",
			answer:     answer(`{"statusCode":200,"headers":{"content-type":"image/png"},"isBase64Encoded":true,"body":"AAEC/w=="}`),
			wantStatus: 200, wantBody: "\x00\x01\x02\xff", wantHeader: http.Header{"Content-Type": {"image/png"}}, wantCalls: 1},
		{name: "statusCode without content type", method: "POST", target: "/v1/orders", answer: answer(`{"statusCode":202,"body":"queued"}`),
			wantStatus: 202, wantBody: "queued", wantHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, wantCalls: 1},
		{name: "invalid statusCode", method: "POST", target: "/v1/orders", answer: answer(`{"statusCode":700}`),
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantCalls: 1},
		{name: "bad base64 body", method: "POST", target: "/v1/orders", answer: answer(`{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`),
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Straight to the handler: over a connection, a client still
			// sending 10 MB may see the early 413 as a broken pipe.
			f := &functions{answer: tt.answer}
			h := gateway.New(gateway.Config{Routes: routes, Invoke: f.invoke})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, tt.body)) // a body that is not a *bytes.Reader is sent without a length
			resp := rec.Result()
			body := rec.Body.String()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, body)
			}
			if body != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
			for k, want := range tt.wantHeader {
				eq(t, "header "+k, resp.Header.Values(k), want)
			}
			if tt.wantStatus >= 400 && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("gateway error content type %q", resp.Header.Get("Content-Type"))
			}
			if resp.Header.Get("Apigw-Requestid") == "" {
				t.Error("no apigw-requestid header")
			}
			if n := len(f.called()); n != tt.wantCalls {
				t.Errorf("%d invocations, want %d", n, tt.wantCalls)
			}
		})
	}
}

// TestIntegrationTimeoutIs503 runs a function that outlasts the
// integration timeout. An HTTP API gives up after its integration timeout
// ("Maximum integration timeout 30 seconds",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html)
// and answers 503 {"message":"Service Unavailable"}. AWS's HTTP API
// documentation names no status for it; the one AWS article that does
// (https://aws.amazon.com/premiumsupport/knowledge-center/api-gateway-504-errors)
// says 504 but describes the REST API, so this follows public captures of
// HTTP APIs (https://github.com/anomalyco/sst/issues/2232,
// https://github.com/serverless/serverless/issues/11222).
func TestIntegrationTimeoutIs503(t *testing.T) {
	var sawDeadline bool
	invoke := func(ctx context.Context, _ string, _ []byte) (runtime.Result, error) {
		_, sawDeadline = ctx.Deadline()
		<-ctx.Done() // the function is still running when API Gateway gives up
		return runtime.Result{}, fmt.Errorf("Orders: invocation r1: %w", ctx.Err())
	}
	h := gateway.New(gateway.Config{Routes: routes, Invoke: invoke, IntegrationTimeout: 20 * time.Millisecond})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/orders", nil))
	eq(t, "status", rec.Code, http.StatusServiceUnavailable)
	eq(t, "body", rec.Body.String(), `{"message":"Service Unavailable"}`)
	eq(t, "content-type", rec.Header().Get("Content-Type"), "application/json")
	if !sawDeadline {
		t.Error("the function's context had no deadline")
	}

	// A function error that merely happens to wrap a deadline of its own
	// (a DynamoDB call that timed out, say) is a function failure: 500.
	h = gateway.New(gateway.Config{Routes: routes, IntegrationTimeout: time.Minute,
		Invoke: func(context.Context, string, []byte) (runtime.Result, error) {
			return runtime.Result{}, fmt.Errorf("dial: %w", context.DeadlineExceeded)
		}})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/orders", nil))
	eq(t, "status of an error that is not the integration timeout", rec.Code, http.StatusInternalServerError)
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMultiValueHeadersAreIgnoredAndLoggedOnce checks that a 2.0 answer's
// multiValueHeaders never reach the client, as on AWS: "Format 2.0 doesn't
// have multiValueHeaders or multiValueQueryStringParameters fields"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
// The gateway says so once per function, so that a header that works
// nowhere does not go unnoticed.
func TestMultiValueHeadersAreIgnoredAndLoggedOnce(t *testing.T) {
	var logs syncBuffer
	f := &functions{answer: func(string, []byte) (runtime.Result, error) {
		return runtime.Result{Payload: []byte(`{"statusCode":200,"headers":{"X-One":"1"},
			"multiValueHeaders":{"X-Many":["a","b"],"X-One":["2","3"]},"body":"ok"}`)}, nil
	}}
	h := gateway.New(gateway.Config{Routes: routes, Invoke: f.invoke, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, req := range []struct{ method, target string }{
		{"POST", "/v1/orders"}, {"POST", "/v1/orders"}, {"GET", "/v1/customers/1"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(req.method, req.target, nil))
		resp := rec.Result()
		eq(t, req.target+" status", resp.StatusCode, 200)
		eq(t, req.target+" X-Many", resp.Header.Values("X-Many"), []string(nil))
		eq(t, req.target+" X-One", resp.Header.Values("X-One"), []string{"1"})
	}
	got := logs.String()
	if n := strings.Count(got, "multiValueHeaders"); n != 2 {
		t.Errorf("%d warnings, want one for Orders and one for Customers:\n%s", n, got)
	}
	for _, fn := range []string{"function=Orders", "function=Customers"} {
		if !strings.Contains(got, fn) {
			t.Errorf("no warning names %s:\n%s", fn, got)
		}
	}
}

func TestDefaultRouteCatchesTheRest(t *testing.T) {
	f := &functions{}
	srv := serve(t, gateway.Config{Routes: append([]gateway.Route{{Path: "$default", Function: "Fallback"}}, routes...)}, f)
	do(t, newRequest(t, "PATCH", srv.URL+"/anything/at/all", nil, nil))
	do(t, newRequest(t, "POST", srv.URL+"/v1/orders", nil, nil))
	calls := f.called()
	if len(calls) != 2 || calls[0].function != "Fallback" || calls[1].function != "Orders" {
		t.Fatalf("calls %v", calls)
	}
	eq(t, "routeKey", f.event(t, "Fallback").RouteKey, "$default")
}

func TestConfigValidation(t *testing.T) {
	invoke := (&functions{}).invoke
	tests := []struct {
		name string
		cfg  gateway.Config
	}{
		{"no invoke", gateway.Config{Routes: routes}},
		{"greedy not last", gateway.Config{Invoke: invoke, Routes: []gateway.Route{{Method: "GET", Path: "/{p+}/x", Function: "F"}}}},
		{"partial variable", gateway.Config{Invoke: invoke, Routes: []gateway.Route{{Method: "GET", Path: "/a{id}", Function: "F"}}}},
		{"no function", gateway.Config{Invoke: invoke, Routes: []gateway.Route{{Method: "GET", Path: "/a"}}}},
		{"duplicate", gateway.Config{Invoke: invoke, Routes: []gateway.Route{{Method: "GET", Path: "/a", Function: "F"}, {Method: "GET", Path: "/a", Function: "G"}}}},
		{"relative path", gateway.Config{Invoke: invoke, Routes: []gateway.Route{{Method: "GET", Path: "a", Function: "F"}}}},
		{"identity source", gateway.Config{Invoke: invoke, IdentitySource: []string{"$context.x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); err == nil {
				t.Error("Validate accepted it")
			}
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			gateway.New(tt.cfg)
		})
	}
	if err := (gateway.Config{Invoke: invoke, Routes: routes}).Validate(); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

// eq reports a difference between got and want.
func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}
