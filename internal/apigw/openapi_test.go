package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// apiDocPath is the OpenAPI document of the v1 API.
const apiDocPath = "../../api/openapi.yaml"

var apiDoc = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(apiDocPath)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	return doc, nil
})

func loadAPIDoc() (*openapi3.T, error) { return apiDoc() }

func TestOpenAPIDocumentDeclaresExactlyTheRoutes(t *testing.T) {
	t.Parallel()
	doc, err := loadAPIDoc()
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.OpenAPI; !strings.HasPrefix(got, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", got)
	}
	if _, ok := doc.Components.SecuritySchemes["bearerAuth"]; !ok || len(doc.Security) == 0 {
		t.Error("the document must require the bearerAuth security scheme")
	}
	var declared []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			declared = append(declared, key)
			i := slices.IndexFunc(Routes, func(r Route) bool { return r.Key() == key })
			if i < 0 {
				t.Errorf("the document declares %s, which is not in Routes", key)
				continue
			}
			if role, _ := op.Extensions["x-role"].(string); role != string(Routes[i].Role) {
				t.Errorf("%s: x-role = %q, want %q", key, role, Routes[i].Role)
			}
			if method == http.MethodPost && !hasIdempotencyKey(op) && key != "POST /v1/gift-cards/check" {
				t.Errorf("%s does not accept Idempotency-Key", key)
			}
			for status, ref := range op.Responses.Map() {
				if ref.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %s does not declare X-Request-Id", key, status)
				}
			}
			if op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s does not declare its 401", key)
			}
			if method == http.MethodPost && op.Responses.Status(http.StatusUnsupportedMediaType) == nil {
				t.Errorf("%s does not declare its 415 for a body that is not application/json", key)
			}
			if Routes[i].Role == RoleAdmin && op.Responses.Status(http.StatusForbidden) == nil {
				t.Errorf("%s is admin-only but does not declare its 403", key)
			}
		}
	}
	for _, r := range Routes {
		if !slices.Contains(declared, r.Key()) {
			t.Errorf("route %s is missing from the document", r.Key())
		}
	}
}

func hasIdempotencyKey(op *openapi3.Operation) bool {
	for _, p := range op.Parameters {
		if p.Value != nil && p.Value.In == "header" && http.CanonicalHeaderKey(p.Value.Name) == "Idempotency-Key" {
			return true
		}
	}
	return false
}

// specRoute is the document's operation for an API Gateway route key.
func specRoute(tb testing.TB, routeKey string) *routers.Route {
	tb.Helper()
	doc, err := loadAPIDoc()
	if err != nil {
		tb.Fatal(err)
	}
	method, path, _ := strings.Cut(routeKey, " ")
	item := doc.Paths.Value(path)
	if item == nil || item.GetOperation(method) == nil {
		tb.Fatalf("the OpenAPI document has no operation %s", routeKey)
	}
	return &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)}
}

// httpRequest rebuilds the HTTP request API Gateway turned into ev.
func httpRequest(tb testing.TB, ev events.APIGatewayV2HTTPRequest) *http.Request {
	tb.Helper()
	u := &url.URL{Scheme: "https", Host: "api.giftcredit.test", Path: ev.RawPath, RawQuery: ev.RawQueryString}
	req, err := http.NewRequest(ev.RequestContext.HTTP.Method, u.String(), strings.NewReader(ev.Body))
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	return req
}

func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
		return fmt.Errorf("no bearer token")
	}
	return nil
}

// checkContract checks one response of the handler against the contract:
// the OpenAPI document (the status is declared for the operation, and the
// content type, headers and body match it; for a success, the request
// matched it too), X-Request-Id is the request's id, and a problem is
// consistent with its status.
func checkContract(tb testing.TB, ev events.APIGatewayV2HTTPRequest, r response) {
	tb.Helper()
	if got := r.Headers["X-Request-Id"]; got != r.requestID {
		tb.Errorf("%s: X-Request-Id = %q, want %q", ev.RouteKey, got, r.requestID)
	}
	if r.StatusCode >= 400 {
		var p Problem
		if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
			tb.Fatalf("%s: %d body is not a problem: %s", ev.RouteKey, r.StatusCode, r.Body)
		}
		if p.Status != r.StatusCode || p.RequestID != r.requestID || p.Type != "urn:giftcredit:problem:"+p.Code {
			tb.Errorf("%s: inconsistent problem for %d: %s", ev.RouteKey, r.StatusCode, r.Body)
		}
		if got := statusOf[p.Code]; got != r.StatusCode {
			tb.Errorf("%s: problem code %q answered %d, the status table says %d", ev.RouteKey, p.Code, r.StatusCode, got)
		}
	}
	if r.StatusCode == http.StatusTooManyRequests {
		if n, err := strconv.Atoi(r.Headers["Retry-After"]); err != nil || n < 1 {
			tb.Errorf("%s: 429 with Retry-After %q, want a positive number of seconds", ev.RouteKey, r.Headers["Retry-After"])
		}
	}

	route := specRoute(tb, ev.RouteKey)
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{
		Request:    httpRequest(tb, ev),
		PathParams: ev.PathParameters,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: bearerPresent, MultiError: true},
	}
	if r.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			tb.Errorf("%s: the request was accepted (%d) but does not match the OpenAPI document: %v\nbody: %s", ev.RouteKey, r.StatusCode, err, ev.Body)
		}
		in.Request = httpRequest(tb, ev) // ValidateRequest consumed the body
	}
	header := http.Header{}
	for k, v := range r.Headers {
		header.Set(k, v)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 r.StatusCode,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader([]byte(r.Body))),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		tb.Errorf("%s: the %d response does not match the OpenAPI document: %v\nbody: %s", ev.RouteKey, r.StatusCode, err, r.Body)
	}
}

// TestOpenAPIValidatorCatchesDrift proves that checkContract can fail: a
// response with an undeclared field, an undeclared status, or a problem
// with the wrong code for its status does not pass.
func TestOpenAPIValidatorCatchesDrift(t *testing.T) {
	t.Parallel()
	ev := loadEvent(t, "customers-get.json")
	ev.RequestContext.RequestID = "req-drift"
	good := `{"id":"cus_01m6b5cjm0ytqbq220va9wdt9y","email":"a@b.test","name":"A","balances":[],"createdAt":"2026-11-01T09:00:00Z"}`
	cases := []struct {
		name, body, ct string
		status         int
		ok             bool
	}{
		{"a valid customer", good, "application/json", 200, true},
		{"an undeclared field", strings.Replace(good, `"name":"A"`, `"name":"A","secret":"x"`, 1), "application/json", 200, false},
		{"a missing field", strings.Replace(good, `"balances":[],`, ``, 1), "application/json", 200, false},
		{"a negative balance", strings.Replace(good, `[]`, `[{"currency":"USD","amount":-1}]`, 1), "application/json", 200, false},
		{"the wrong content type", good, "text/plain", 200, false},
		{"an undeclared status", good, "application/json", 201, false},
		{"a 404 with another code", `{"type":"urn:giftcredit:problem:conflict","title":"Not Found","status":404,"detail":"x","code":"conflict","requestId":"req-drift"}`, "application/problem+json", 404, false},
		{"a valid 404", `{"type":"urn:giftcredit:problem:not_found","title":"Not Found","status":404,"detail":"x","code":"not_found","requestId":"req-drift"}`, "application/problem+json", 404, true},
	}
	for _, c := range cases {
		rec := &recorder{}
		func() {
			defer func() {
				if p := recover(); p != nil && p != rec {
					panic(p)
				}
			}()
			checkContract(rec, ev, response{requestID: "req-drift", APIGatewayV2HTTPResponse: events.APIGatewayV2HTTPResponse{
				StatusCode: c.status, Body: c.body, Headers: map[string]string{"Content-Type": c.ct, "X-Request-Id": "req-drift"}}})
		}()
		if rec.failed == c.ok {
			t.Errorf("%s: contract check failed = %v, want %v (%s)", c.name, rec.failed, !c.ok, rec.msg)
		}
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); panic(r) }
