// Package gateway serves an API Gateway HTTP API (payload format 2.0) on
// this machine in front of Lambda functions: it matches a request to a
// route, runs the Lambda authorizer, builds the events.APIGatewayV2HTTPRequest
// API Gateway would send, invokes the function, and turns the function's
// answer back into an HTTP response by API Gateway's rules, including its
// own error answers (401, 403, 404, 413, 500, 503 with {"message": ...}).
//
// How functions run is not its business: Config.Invoke does that (in the
// local stack, a runtime.Pool per function).
//
// What this does not emulate: payload format 1.0, JWT and IAM authorizers,
// authorizer result caching, CORS, throttling, custom domains and API
// mappings, parameter mapping, mutual TLS, and integrations other than
// Lambda.
package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
)

// Limits and defaults of API Gateway HTTP APIs.
const (
	// MaxBodyBytes is the largest request body API Gateway accepts (10 MB);
	// a larger one is answered 413.
	MaxBodyBytes = 10 * 1024 * 1024
	// DefaultIntegrationTimeout is API Gateway's (and the maximum) timeout
	// for one integration of an HTTP API: "Maximum integration timeout 30
	// seconds" (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
	DefaultIntegrationTimeout = 30 * time.Second
	// DefaultAccountID and DefaultAPIID fill requestContext when Config
	// leaves them empty.
	DefaultAccountID = "000000000000"
	DefaultAPIID     = "local"
	// DefaultRegion is used in route ARNs when Config.Region is empty.
	DefaultRegion = "us-east-1"
)

// InvokeFunc runs the named function once with payload as its event, as
// runtime.Pool.Invoke does: a Result when the function answered (with
// FunctionError set for a function error), or an error wrapping
// runtime.ErrTimeout, or any other error when it could not run.
type InvokeFunc func(ctx context.Context, function string, payload []byte) (runtime.Result, error)

// Config is an HTTP API.
type Config struct {
	// Routes are the API's routes; at most one may be "$default".
	Routes []Route
	// Authorizer, if not empty, is the function run before every route
	// that does not opt out, with an APIGatewayV2CustomAuthorizerV2Request
	// (payload format 2.0).
	Authorizer string
	// SimpleResponses says the authorizer answers {isAuthorized, context};
	// otherwise it answers an IAM policy, which is evaluated against the
	// route ARN.
	SimpleResponses bool
	// IdentitySource lists the authorizer's identity sources
	// ("$request.header.Authorization", "$request.querystring.key"). When
	// any of them is missing from a request, API Gateway answers 401 without
	// running the authorizer. Empty means the authorizer always runs.
	IdentitySource []string
	// Invoke runs functions. Required.
	Invoke InvokeFunc
	// StageVariables are passed in every event.
	StageVariables map[string]string
	// AccountID, APIID, Stage and Region fill requestContext and route ARNs.
	// Stage defaults to "$default".
	AccountID, APIID, Stage, Region string
	// IntegrationTimeout bounds each function call as API Gateway's 30 s
	// limit does (the client gets 503 when it passes, while the function
	// runs on to its own timeout); zero means DefaultIntegrationTimeout.
	IntegrationTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives why a request failed (function errors, crashes,
	// malformed answers), which the client is never told, and what API
	// Gateway would silently ignore in an answer (multiValueHeaders, once
	// per function); nil discards.
	Log *slog.Logger
}

// Validate reports the first problem of cfg: an unparsable or duplicate
// route, or a missing Invoke.
func (cfg Config) Validate() error {
	if cfg.Invoke == nil {
		return errors.New("gateway: Config.Invoke is nil")
	}
	if _, err := newRouter(cfg.Routes); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	for _, src := range cfg.IdentitySource {
		if _, _, ok := parseIdentitySource(src); !ok {
			return fmt.Errorf("gateway: unsupported identity source %q", src)
		}
	}
	return nil
}

// gateway is the http.Handler New returns.
type gateway struct {
	cfg    Config
	router *router
	log    *slog.Logger

	// ignoredMultiValue holds the functions already warned about
	// multiValueHeaders in their answers.
	ignoredMultiValue sync.Map
}

// New returns the HTTP API described by cfg. It panics if cfg is invalid,
// as regexp.MustCompile does; call cfg.Validate first to get an error.
func New(cfg Config) http.Handler {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	rt, _ := newRouter(cfg.Routes) // Validate checked it
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.APIID == "" {
		cfg.APIID = DefaultAPIID
	}
	if cfg.Stage == "" {
		cfg.Stage = "$default"
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.IntegrationTimeout <= 0 {
		cfg.IntegrationTimeout = DefaultIntegrationTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &gateway{cfg: cfg, router: rt, log: log}
}

// API Gateway's own answers.
const (
	msgNotFound     = "Not Found"
	msgForbidden    = "Forbidden"
	msgUnauthorized = "Unauthorized"
	msgTooLarge     = "Request Entity Too Large"
	msgInternal     = "Internal Server Error"
	msgUnavailable  = "Service Unavailable"
)

// errIntegrationTimeout is the cause of the integration context's end when
// IntegrationTimeout passes.
var errIntegrationTimeout = errors.New("integration timeout")

// ServeHTTP handles one request as API Gateway would.
func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := g.cfg.Now()
	requestID := newAPIGatewayRequestID()
	w.Header().Set("Apigw-Requestid", requestID)

	if r.ContentLength > MaxBodyBytes {
		writeMessage(w, http.StatusRequestEntityTooLarge, msgTooLarge)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		g.log.Warn("read request body", "requestId", requestID, "err", err)
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > MaxBodyBytes {
		writeMessage(w, http.StatusRequestEntityTooLarge, msgTooLarge)
		return
	}

	route, params, ok := g.router.route(r.Method, r.URL.Path)
	if !ok {
		writeMessage(w, http.StatusNotFound, msgNotFound)
		return
	}
	event := g.event(r, body, route, params, requestID, now)

	if g.cfg.Authorizer != "" && !route.NoAuthorizer {
		authContext, status, msg := g.authorize(r.Context(), r, route, &event)
		if status != 0 {
			writeMessage(w, status, msg)
			return
		}
		event.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: authContext}
	}

	payload, err := json.Marshal(event)
	if err != nil {
		g.log.Error("encode event", "requestId", requestID, "err", err)
		writeMessage(w, http.StatusInternalServerError, msgInternal)
		return
	}
	res, status := g.invoke(r.Context(), route.Function, payload, requestID)
	if status != 0 {
		writeMessage(w, status, messageFor(status))
		return
	}
	if err := g.writeFunctionResponse(w, route.Function, requestID, res.Payload); err != nil {
		g.log.Error("malformed function response", "function", route.Function, "requestId", requestID, "err", err)
		writeMessage(w, http.StatusInternalServerError, msgInternal)
	}
}

// invoke runs a function within the integration timeout. It returns the
// Result when the function answered normally, or the status API Gateway
// answers instead: 503 when the integration timeout passes, 413 for an
// event Lambda refuses, 500 on anything else.
//
// A function error, a function timeout and a crash are all 500
// {"message":"Internal Server Error"} on an HTTP API: Lambda reports each
// as a function error, and "My API with a Lambda integration returns
// {"message":"Internal Server Error"}" is how
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
// describes them. 504 "Endpoint request timed out" is the REST API's
// answer, not an HTTP API's.
//
// The integration timeout is 503 {"message":"Service Unavailable"}. AWS's
// HTTP API documentation gives the limit (30 s,
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html)
// but no status; the one AWS article that names one,
// https://aws.amazon.com/premiumsupport/knowledge-center/api-gateway-504-errors,
// lists 504 for "REST API, HTTP API or WebSocket API" but describes the
// REST API's integration timeout parameter. This follows what HTTP APIs
// are seen to answer in public captures instead: 503 "Service
// Unavailable" after 30 s while the function runs on
// (https://github.com/anomalyco/sst/issues/2232,
// https://github.com/serverless/serverless/issues/11222).
func (g *gateway) invoke(ctx context.Context, function string, payload []byte, requestID string) (runtime.Result, int) {
	ctx, cancel := context.WithTimeoutCause(ctx, g.cfg.IntegrationTimeout, errIntegrationTimeout)
	defer cancel()
	res, err := g.cfg.Invoke(ctx, function, payload)
	switch {
	case errors.Is(err, runtime.ErrTimeout):
		g.log.Error("function timed out", "function", function, "requestId", requestID, "err", err)
		return res, http.StatusInternalServerError
	case err != nil && errors.Is(context.Cause(ctx), errIntegrationTimeout):
		g.log.Error("integration timed out", "function", function, "requestId", requestID,
			"timeout", g.cfg.IntegrationTimeout, "err", err)
		return res, http.StatusServiceUnavailable
	case errors.Is(err, runtime.ErrPayloadTooLarge):
		g.log.Error("event too large for Lambda", "function", function, "requestId", requestID, "err", err)
		return res, http.StatusRequestEntityTooLarge
	case err != nil:
		g.log.Error("function failed", "function", function, "requestId", requestID, "err", err)
		return res, http.StatusInternalServerError
	case res.FunctionError != nil:
		g.log.Error("function error", "function", function, "requestId", requestID,
			"errorType", res.FunctionError.ErrorType, "errorMessage", res.FunctionError.ErrorMessage)
		return res, http.StatusInternalServerError
	}
	return res, 0
}

// messageFor is API Gateway's message for its own error statuses.
func messageFor(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return msgUnavailable
	case http.StatusRequestEntityTooLarge:
		return msgTooLarge
	default:
		return msgInternal
	}
}

// writeMessage writes one of API Gateway's own {"message": ...} answers.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// event builds the payload format 2.0 event for r.
func (g *gateway) event(r *http.Request, body []byte, route compiledRoute, params map[string]string, requestID string, now time.Time) events.APIGatewayV2HTTPRequest {
	headers, cookies := eventHeaders(r)
	host := r.Host
	domainPrefix, _, _ := strings.Cut(hostOnly(host), ".")
	e := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: queryParameters(r.URL.RawQuery),
		PathParameters:        params,
		StageVariables:        g.cfg.StageVariables,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    g.cfg.AccountID,
			Stage:        g.cfg.Stage,
			RequestID:    requestID,
			APIID:        g.cfg.APIID,
			DomainName:   host,
			DomainPrefix: domainPrefix,
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  hostOnly(r.RemoteAddr),
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isTextContent(r.Header.Get("Content-Type")) {
			e.Body = string(body)
		} else {
			e.Body = base64.StdEncoding.EncodeToString(body)
			e.IsBase64Encoded = true
		}
	}
	return e
}

// eventHeaders returns r's headers as API Gateway passes them: names lower
// case, repeated headers comma-joined, cookies moved to their own list, and
// the headers API Gateway adds (host, x-forwarded-*, x-amzn-trace-id).
func eventHeaders(r *http.Request) (map[string]string, []string) {
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if lower == "cookie" {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lower] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	if r.ContentLength > 0 {
		headers["content-length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	client := hostOnly(r.RemoteAddr)
	if prior := headers["x-forwarded-for"]; prior != "" {
		client = prior + ", " + client
	}
	headers["x-forwarded-for"] = client
	// API Gateway serves HTTPS only, so its forwarded headers always say
	// https and 443 (as in the captured events of
	// https://github.com/floci-io/floci/issues/2172), whatever the local
	// listener is.
	headers["x-forwarded-proto"] = "https"
	headers["x-forwarded-port"] = "443"
	if headers["x-amzn-trace-id"] == "" {
		headers["x-amzn-trace-id"] = fmt.Sprintf("Root=1-%08x-%s", time.Now().Unix(), randomHex(12))
	}
	return headers, cookies
}

// queryParameters decodes a raw query string, comma-joining repeated
// names; nil when there is none. Pairs that do not decode are skipped.
func queryParameters(raw string) map[string]string {
	if raw == "" {
		return nil
	}
	params := map[string]string{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			continue
		}
		if prev, ok := params[key]; ok {
			val = prev + "," + val
		}
		params[key] = val
	}
	if len(params) == 0 {
		return nil
	}
	return params
}

// isTextContent reports whether API Gateway passes a body of this content
// type as text: text/*, application/json, application/xml and
// application/javascript only. Every other body, including one without a
// content type, a form and the structured-syntax types such as
// application/problem+json or application/soap+xml, is base64-encoded
// with isBase64Encoded true.
//
// AWS documents the mechanism ("If the content type of the request is
// binary, the body is base64-encoded",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html)
// but not the list; the list is the one measured against a real HTTP API
// in https://github.com/ministackorg/ministack/pull/766.
func isTextContent(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json",
		mt == "application/xml",
		mt == "application/javascript":
		return true
	}
	return false
}

// hostOnly strips the port from host:port.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// functionResponse is a payload format 2.0 answer with a statusCode.
// MultiValueHeaders is read only to warn that it is ignored: format 2.0
// has no such field ("Format 2.0 doesn't have multiValueHeaders or
// multiValueQueryStringParameters fields",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
// so API Gateway drops it; repeated headers are comma-joined in headers.
type functionResponse struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Cookies           []string            `json:"cookies"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// writeFunctionResponse turns a function's answer into the HTTP response.
// A JSON object with a statusCode describes the response; any other valid
// JSON is the body of a 200 application/json response. An answer that is
// not JSON, or a malformed description, is an error (API Gateway: 500).
func (g *gateway) writeFunctionResponse(w http.ResponseWriter, function, requestID string, payload []byte) error {
	payload = bytes.TrimSpace(payload)
	if !json.Valid(payload) {
		return errors.New("response is not JSON")
	}
	var probe map[string]json.RawMessage
	if payload[0] != '{' || json.Unmarshal(payload, &probe) != nil || probe["statusCode"] == nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
		return nil
	}
	var resp functionResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("status code %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return fmt.Errorf("base64 body: %w", err)
		}
	}
	if len(resp.MultiValueHeaders) > 0 {
		if _, warned := g.ignoredMultiValue.LoadOrStore(function, true); !warned {
			g.log.Warn("function answered multiValueHeaders, which API Gateway ignores in payload format 2.0: "+
				"put repeated headers comma-joined in headers, and cookies in cookies (logged once per function)",
				"function", function, "requestId", requestID)
		}
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		// What HTTP APIs send when the function names no type.
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return nil
}

// newAPIGatewayRequestID returns an id in the form of API Gateway's
// (16 base64 characters, e.g. "JKJaXmPLvHcESHA=").
func newAPIGatewayRequestID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return base64.StdEncoding.EncodeToString(b)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
