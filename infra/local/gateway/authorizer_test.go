package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/local/gateway"
	"github.com/giftcredit/giftcredit/infra/local/runtime"
)

const authorizerName = "Authorizer"

// authorizerAnswers answers the authorizer with authorizer and every other
// function with a 200.
func authorizerAnswers(authorizer func() (runtime.Result, error)) func(string, []byte) (runtime.Result, error) {
	return func(function string, _ []byte) (runtime.Result, error) {
		if function == authorizerName {
			return authorizer()
		}
		return runtime.Result{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
	}
}

func answerJSON(v string) func() (runtime.Result, error) {
	return func() (runtime.Result, error) { return runtime.Result{Payload: []byte(v)}, nil }
}

func TestAuthorizer(t *testing.T) {
	authRoutes := append([]gateway.Route{{Method: "GET", Path: "/health", Function: "Health", NoAuthorizer: true}}, routes...)
	policy := func(effect, resource string) string {
		return fmt.Sprintf(`{"principalId":"shop-1","policyDocument":{"Version":"2012-10-17","Statement":[
			{"Effect":%q,"Action":"execute-api:Invoke","Resource":[%q]}]},"context":{"shopId":"s1"}}`, effect, resource)
	}
	tests := []struct {
		name           string
		simple         bool
		identitySource []string
		target         string
		header         http.Header
		authorizer     func() (runtime.Result, error)
		wantStatus     int
		wantBody       string
		wantAuthCalls  int
		// wantContext is the authorizer.lambda the function must see, when
		// it runs.
		wantContext map[string]any
	}{
		{
			name: "allowed, context propagated", simple: true, target: "/v1/customers/42",
			authorizer: answerJSON(`{"isAuthorized":true,"context":{"shopId":"s1","role":"admin","keyId":7,"live":false}}`),
			wantStatus: 200, wantBody: "ok", wantAuthCalls: 1,
			wantContext: map[string]any{"shopId": "s1", "role": "admin", "keyId": 7.0, "live": false},
		},
		{
			name: "denied", simple: true, target: "/v1/customers/42",
			authorizer: answerJSON(`{"isAuthorized":false}`),
			wantStatus: 403, wantBody: `{"message":"Forbidden"}`, wantAuthCalls: 1,
		},
		{
			name: "authorizer function error", simple: true, target: "/v1/customers/42",
			authorizer: func() (runtime.Result, error) {
				return runtime.Result{FunctionError: &runtime.ErrorPayload{ErrorMessage: "db down", ErrorType: "errorString"}}, nil
			},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantAuthCalls: 1,
		},
		{
			name: "authorizer timeout", simple: true, target: "/v1/customers/42",
			authorizer: func() (runtime.Result, error) {
				return runtime.Result{}, fmt.Errorf("Authorizer#1: %w", runtime.ErrTimeout)
			},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantAuthCalls: 1,
		},
		{
			name: "authorizer answer without isAuthorized", simple: true, target: "/v1/customers/42",
			authorizer: answerJSON(`{"context":{}}`),
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantAuthCalls: 1,
		},
		{
			name: "route without authorizer", simple: true, target: "/health",
			authorizer: answerJSON(`{"isAuthorized":false}`),
			wantStatus: 200, wantBody: "ok", wantAuthCalls: 0,
		},
		{
			name: "identity source missing", simple: true, identitySource: []string{"$request.header.Authorization"},
			target: "/v1/customers/42", authorizer: answerJSON(`{"isAuthorized":true}`),
			wantStatus: 401, wantBody: `{"message":"Unauthorized"}`, wantAuthCalls: 0,
		},
		{
			name: "identity source present", simple: true, identitySource: []string{"$request.header.Authorization", "$request.querystring.shop"},
			target: "/v1/customers/42?shop=s1", header: http.Header{"Authorization": {"Bearer k"}},
			authorizer: answerJSON(`{"isAuthorized":true,"context":{"shopId":"s1"}}`),
			wantStatus: 200, wantBody: "ok", wantAuthCalls: 1, wantContext: map[string]any{"shopId": "s1"},
		},
		{
			name: "IAM policy allows by wildcard", target: "/v1/customers/42",
			authorizer: answerJSON(policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:api123/*/GET/v1/customers/*")),
			wantStatus: 200, wantBody: "ok", wantAuthCalls: 1, wantContext: map[string]any{"shopId": "s1"},
		},
		{
			name: "IAM policy denies explicitly", target: "/v1/customers/42",
			authorizer: answerJSON(policy("Deny", "*")),
			wantStatus: 403, wantBody: `{"message":"Forbidden"}`, wantAuthCalls: 1,
		},
		{
			name: "IAM policy: a Deny beats an Allow", target: "/v1/customers/42",
			authorizer: answerJSON(`{"principalId":"p","policyDocument":{"Statement":[
				{"Effect":"Allow","Action":["execute-api:Invoke"],"Resource":"*"},
				{"Effect":"Deny","Action":"execute-api:*","Resource":"arn:aws:execute-api:*:*:*/*/GET/v1/customers/??"},
				{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}}`),
			wantStatus: 403, wantBody: `{"message":"Forbidden"}`, wantAuthCalls: 1,
		},
		{
			name: "IAM policy for another route", target: "/v1/customers/42",
			authorizer: answerJSON(policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:api123/*/POST/*")),
			wantStatus: 403, wantBody: `{"message":"Forbidden"}`, wantAuthCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &functions{answer: authorizerAnswers(tt.authorizer)}
			srv := serve(t, gateway.Config{
				Routes: authRoutes, Authorizer: authorizerName, SimpleResponses: tt.simple,
				IdentitySource: tt.identitySource, AccountID: "123456789012", APIID: "api123",
			}, f)
			resp, body := do(t, newRequest(t, "GET", srv.URL+tt.target, nil, tt.header))
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			var authCalls, fnCalls []call
			for _, c := range f.called() {
				if c.function == authorizerName {
					authCalls = append(authCalls, c)
				} else {
					fnCalls = append(fnCalls, c)
				}
			}
			if len(authCalls) != tt.wantAuthCalls {
				t.Fatalf("authorizer ran %d times, want %d", len(authCalls), tt.wantAuthCalls)
			}
			if wantFn := tt.wantStatus == 200; (len(fnCalls) == 1) != wantFn || len(fnCalls) > 1 {
				t.Fatalf("function ran %d times; want it to run: %v", len(fnCalls), wantFn)
			}
			if len(fnCalls) == 1 && tt.wantAuthCalls == 1 {
				var e events.APIGatewayV2HTTPRequest
				if err := json.Unmarshal(fnCalls[0].payload, &e); err != nil {
					t.Fatal(err)
				}
				if e.RequestContext.Authorizer == nil {
					t.Fatal("no requestContext.authorizer in the function's event")
				}
				eq(t, "authorizer.lambda", e.RequestContext.Authorizer.Lambda, tt.wantContext)
			}
			if len(authCalls) == 1 {
				checkAuthorizerRequest(t, authCalls[0].payload, tt.identitySource != nil)
			}
		})
	}
}

// checkAuthorizerRequest checks the event the authorizer got for
// GET /v1/customers/42.
func checkAuthorizerRequest(t *testing.T, payload []byte, withIdentity bool) {
	t.Helper()
	var req events.APIGatewayV2CustomAuthorizerV2Request
	if err := json.Unmarshal(payload, &req); err != nil {
		t.Fatal(err)
	}
	eq(t, "version", req.Version, "2.0")
	eq(t, "type", req.Type, "REQUEST")
	eq(t, "routeArn", req.RouteArn, "arn:aws:execute-api:us-east-1:123456789012:api123/$default/GET/v1/customers/42")
	eq(t, "routeKey", req.RouteKey, "GET /v1/customers/{id}")
	eq(t, "rawPath", req.RawPath, "/v1/customers/42")
	eq(t, "pathParameters", req.PathParameters, map[string]string{"id": "42"})
	eq(t, "requestContext.routeKey", req.RequestContext.RouteKey, "GET /v1/customers/{id}")
	eq(t, "requestContext.http.method", req.RequestContext.HTTP.Method, "GET")
	if req.RequestContext.RequestID == "" || req.Headers["host"] == "" {
		t.Errorf("request id %q, headers %v", req.RequestContext.RequestID, req.Headers)
	}
	if withIdentity {
		eq(t, "identitySource", req.IdentitySource, []string{"Bearer k", "s1"})
		eq(t, "queryStringParameters", req.QueryStringParameters, map[string]string{"shop": "s1"})
	} else if len(req.IdentitySource) != 0 {
		t.Errorf("identitySource %v without identity sources", req.IdentitySource)
	}
}
