package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/local/gateway"
	"github.com/giftcredit/giftcredit/infra/local/runtime"
)

// echoBin is the runtime package's test function, built once by TestMain.
var echoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "echofn-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	echoBin = filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", echoBin, "../runtime/testdata/echofn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build echofn: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestThroughRealFunctionProcesses runs the gateway in front of a real
// runtime.Pool of echofn, which picks its behaviour from the query string.
func TestThroughRealFunctionProcesses(t *testing.T) {
	pool := runtime.NewPool(runtime.FunctionConfig{Name: "Echo", Binary: echoBin, Timeout: 500 * time.Millisecond, MaxProcesses: 2})
	t.Cleanup(func() { pool.Close() })
	srv := httptest.NewServer(gateway.New(gateway.Config{
		Routes: []gateway.Route{{Method: "GET", Path: "/echo/{name}", Function: "Echo"}},
		Invoke: func(ctx context.Context, function string, payload []byte) (runtime.Result, error) {
			if function != "Echo" {
				return runtime.Result{}, fmt.Errorf("no function %q", function)
			}
			return pool.Invoke(ctx, payload)
		},
	}))
	t.Cleanup(srv.Close)

	t.Run("object without statusCode", func(t *testing.T) {
		resp, body := do(t, newRequest(t, "GET", srv.URL+"/echo/ann?x=1&x=2", nil, nil))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		var r struct {
			RequestID string                         `json:"requestId"`
			Event     events.APIGatewayV2HTTPRequest `json:"event"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		eq(t, "pathParameters", r.Event.PathParameters, map[string]string{"name": "ann"})
		eq(t, "queryStringParameters", r.Event.QueryStringParameters, map[string]string{"x": "1,2"})
		eq(t, "requestContext.requestId", r.Event.RequestContext.RequestID, resp.Header.Get("Apigw-Requestid"))
		if r.RequestID == "" || r.RequestID == r.Event.RequestContext.RequestID {
			t.Errorf("Lambda request id %q must differ from API Gateway's", r.RequestID)
		}
	})
	t.Run("statusCode response", func(t *testing.T) {
		resp, body := do(t, newRequest(t, "GET", srv.URL+"/echo/ann?mode=http&code=201&message=made", nil, nil))
		if resp.StatusCode != 201 || body != "made" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		eq(t, "content-type", resp.Header.Get("Content-Type"), "text/plain")
		eq(t, "x-echofn", resp.Header.Get("X-Echofn"), "yes")
		eq(t, "set-cookie", resp.Header.Values("Set-Cookie"), []string{"a=1", "b=2"})
	})
	for _, tt := range []struct {
		query, wantBody string
		wantStatus      int
	}{
		// A function timeout is a function error to an HTTP API: 500
		// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html).
		{"mode=sleep&ms=20000", `{"message":"Internal Server Error"}`, 500},
		{"mode=error&message=nope", `{"message":"Internal Server Error"}`, 500},
		{"mode=panic&message=nope", `{"message":"Internal Server Error"}`, 500},
		{"mode=exit&code=3", `{"message":"Internal Server Error"}`, 500},
	} {
		t.Run(tt.query, func(t *testing.T) {
			resp, body := do(t, newRequest(t, "GET", srv.URL+"/echo/ann?"+tt.query, nil, nil))
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			// The API keeps working after every kind of failure.
			if resp, body := do(t, newRequest(t, "GET", srv.URL+"/echo/ann", nil, nil)); resp.StatusCode != 200 {
				t.Errorf("after %s: %d %s", tt.query, resp.StatusCode, body)
			}
		})
	}
	if s := pool.Stats(); s.Alive > 2 || s.Started < 3 {
		t.Errorf("pool stats %+v: want a bounded pool that replaced failed processes", s)
	}
}

// TestIntegrationTimeoutThroughARealPool runs a function whose own timeout
// is longer than the integration timeout: the client gets 503 when the
// integration timeout passes, while the function runs on (see
// TestIntegrationTimeoutIs503 for the sources).
func TestIntegrationTimeoutThroughARealPool(t *testing.T) {
	pool := runtime.NewPool(runtime.FunctionConfig{Name: "Slow", Binary: echoBin, Timeout: 20 * time.Second, MaxProcesses: 2})
	t.Cleanup(func() { pool.Close() })
	srv := httptest.NewServer(gateway.New(gateway.Config{
		Routes:             []gateway.Route{{Method: "GET", Path: "/slow", Function: "Slow"}},
		IntegrationTimeout: 300 * time.Millisecond,
		Invoke: func(ctx context.Context, _ string, payload []byte) (runtime.Result, error) {
			return pool.Invoke(ctx, payload)
		},
	}))
	t.Cleanup(srv.Close)
	// A warm process takes the slow invocation at once, so the integration
	// timeout cannot pass while it is still starting.
	if resp, body := do(t, newRequest(t, "GET", srv.URL+"/slow", nil, nil)); resp.StatusCode != 200 {
		t.Fatalf("warm-up: %d %s", resp.StatusCode, body)
	}
	resp, body := do(t, newRequest(t, "GET", srv.URL+"/slow?mode=sleep&ms=20000", nil, nil))
	if resp.StatusCode != 503 || body != `{"message":"Service Unavailable"}` {
		t.Errorf("got %d %q, want 503 Service Unavailable", resp.StatusCode, body)
	}
	if s := pool.Stats(); s.Busy != 1 {
		t.Errorf("pool stats %+v: the function should still be running", s)
	}
	if resp, body := do(t, newRequest(t, "GET", srv.URL+"/slow", nil, nil)); resp.StatusCode != 200 {
		t.Errorf("a quick request after it: %d %s", resp.StatusCode, body)
	}
}
