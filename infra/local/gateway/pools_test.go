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
		{"mode=sleep&ms=20000", `{"message":"Endpoint request timed out"}`, 504},
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
