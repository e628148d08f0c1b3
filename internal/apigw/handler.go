package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/internal/deadline"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/webhook"
)

// Config wires one Lambda function's handler. Function is the template.yaml
// logical id: the handler serves exactly that function's rows of Routes.
type Config struct {
	Function string
	Ledger   gc.Ledger
	// Mailer and Outbox send the emails of a placed order right away.
	Mailer gc.Mailer
	Outbox gc.Outbox
	// Promotions serves the promotion routes.
	Promotions gc.Promotions
	// Checkout serves the hold and refund routes.
	Checkout gc.Checkout
	Logger   *slog.Logger
	Now      func() time.Time

	// Reports serves the report routes.
	Reports gc.Reports

	// Webhooks serves the webhook routes; WebhookPolicy says which URLs
	// they accept, Resolver resolves their hosts (net.DefaultResolver).
	Webhooks      WebhookAdmin
	WebhookPolicy webhook.Policy
	Resolver      webhook.Resolver
}

// ResponseReserve is the part of an invocation kept for answering: the
// work (every DynamoDB and SES call) must end this long before the
// function's deadline.
const ResponseReserve = 500 * time.Millisecond

// InlineMailBudget bounds the time a placed order spends emailing its codes
// right away, whatever the number of messages; what is not sent by then
// stays in the outbox for the scheduled sender.
const InlineMailBudget = 2 * time.Second

// RetryAfterUnavailable is the Retry-After of a 503 (seconds).
const RetryAfterUnavailable = "2"

// outOfTime is the answer when a dependency did not answer before the
// invocation's work deadline. Whether a write took effect is unknown, but a
// retry with the same Idempotency-Key is always safe: it replays the first
// outcome if the write landed and applies it once if not.
func outOfTime() error {
	return &gc.Error{Code: gc.EUNAVAILABLE, Detail: map[string]string{"retryAfter": RetryAfterUnavailable},
		Message: "the ledger did not answer in time; retrying with the same Idempotency-Key is safe " +
			"(it returns the first outcome if this request took effect, and applies it once if not)"}
}

// Handler serves API Gateway HTTP API (payload 2.0) requests.
type Handler struct {
	cfg    Config
	routes map[string]routeFunc
	roles  map[string]gc.Role
}

// request is what a route sees: the caller, path and query parameters, the
// idempotency key and the raw body.
type request struct {
	actor   gc.Actor
	path    map[string]string
	query   map[string]string
	idemKey string
	body    []byte
	// accept is the Accept header (a report may answer CSV).
	accept string
}

// reply is a route's successful answer.
type reply struct {
	status int
	body   any
}

type routeFunc func(ctx context.Context, h *Handler, r request) (reply, error)

// New returns the handler for cfg.Function.
func New(cfg Config) (*Handler, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, routes: map[string]routeFunc{}, roles: map[string]gc.Role{}}
	for _, rt := range Routes {
		if rt.Function != cfg.Function {
			continue
		}
		f, ok := implementations[rt.Key()]
		if !ok {
			return nil, fmt.Errorf("route %s has no implementation", rt.Key())
		}
		h.routes[rt.Key()], h.roles[rt.Key()] = f, rt.Role
	}
	if len(h.routes) == 0 {
		return nil, fmt.Errorf("function %s serves no route", cfg.Function)
	}
	return h, nil
}

// Handle answers one request. It always returns a formatted response and a
// nil error: an error returned to API Gateway would become a bare 502.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := h.cfg.Now()
	reqID := ev.RequestContext.RequestID
	actor, authErr := actorOf(ev)
	// The work runs until ResponseReserve before the invocation's deadline,
	// so a dependency that never answers leaves time to answer 503.
	work, cancel := deadline.Reserve(ctx, ResponseReserve)
	rep, err := h.serve(work, ev, actor, authErr)
	var cause error // what made the work run out of time
	if gc.ErrorCode(err) == gc.EINTERNAL && deadline.Expired(work, err) {
		cause, err = err, outOfTime()
	}
	cancel()
	resp := h.respond(reqID, rep, err)
	level, outcome := slog.LevelInfo, "ok"
	if err != nil {
		outcome = gc.ErrorCode(err)
		if outcome == gc.EINTERNAL {
			level = slog.LevelError
		}
	}
	attrs := []any{
		slog.String("requestId", reqID), slog.String("shop", actor.ShopID), slog.String("keyId", actor.KeyID),
		slog.String("route", ev.RouteKey), slog.Int("status", resp.StatusCode), slog.String("outcome", outcome),
		slog.Int64("latencyMs", h.cfg.Now().Sub(start).Milliseconds()),
	}
	if outcome == gc.EINTERNAL {
		// Internal errors are wrapped with context and never hold a code,
		// a key or a body.
		attrs = append(attrs, slog.String("error", err.Error()))
	} else if cause != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", cause.Error()))
	}
	h.cfg.Logger.Log(ctx, level, "request", attrs...)
	return resp, nil
}

func (h *Handler) serve(ctx context.Context, ev events.APIGatewayV2HTTPRequest, actor gc.Actor, authErr error) (rep reply, err error) {
	defer func() {
		// A bug must still answer as a formatted 500, never crash the runtime.
		if p := recover(); p != nil {
			err = fmt.Errorf("panic serving %s: %v", ev.RouteKey, p)
		}
	}()
	f, ok := h.routes[ev.RouteKey]
	if !ok {
		return reply{}, gc.Errorf(gc.ENOTFOUND, "no route %s", ev.RouteKey)
	}
	if authErr != nil {
		return reply{}, authErr
	}
	if !actor.Role.Allows(h.roles[ev.RouteKey]) {
		return reply{}, gc.Errorf(gc.EFORBIDDEN, "this route needs an %s key", h.roles[ev.RouteKey])
	}
	body, err := rawBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return reply{}, err
	}
	if len(body) > 0 {
		if err := checkJSONMediaType(header(ev.Headers, "content-type")); err != nil {
			return reply{}, err
		}
	}
	r := request{actor: actor, path: ev.PathParameters, query: ev.QueryStringParameters, body: body,
		idemKey: header(ev.Headers, "idempotency-key"), accept: header(ev.Headers, "accept")}
	return f(ctx, h, r)
}

func (h *Handler) respond(reqID string, rep reply, err error) events.APIGatewayV2HTTPResponse {
	headers := map[string]string{"X-Request-Id": reqID, "Cache-Control": "no-store"}
	status, body := rep.status, rep.body
	if err != nil {
		p := problemFor(err, reqID)
		status, body = p.Status, p
		headers["Content-Type"] = "application/problem+json"
		var de *gc.Error
		if asDomain(err, &de) && de.Detail["retryAfter"] != "" {
			headers["Retry-After"] = de.Detail["retryAfter"]
		}
	} else if t, ok := body.(textBody); ok {
		// A body that is not JSON (the CSV of a report) goes as it is.
		headers["Content-Type"] = t.contentType
		for k, v := range t.headers {
			headers[k] = v
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: t.text}
	} else {
		headers["Content-Type"] = "application/json"
	}
	b, merr := encode(body)
	if merr != nil {
		p := problemFor(fmt.Errorf("encode response: %w", merr), reqID)
		status, headers["Content-Type"] = p.Status, "application/problem+json"
		b, _ = encode(p) // a Problem always encodes
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: b}
}

// encode writes JSON without HTML escaping: responses are JSON for
// programs, and "<key>" reads better than "\u003ckey\u003e".
func encode(v any) (string, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(sb.String(), "\n"), nil
}

// Authorizer context keys (set by the authorizer function).
const (
	ctxShopID = "shopId"
	ctxKeyID  = "keyId"
	ctxRole   = "role"
	ctxError  = "error"
	// ctxUnavailable marks a request whose key could not be checked.
	ctxUnavailable = "unavailable"
)

// actorOf takes the caller only from the authorizer's context.
func actorOf(ev events.APIGatewayV2HTTPRequest) (gc.Actor, error) {
	var lam map[string]any
	if ev.RequestContext.Authorizer != nil {
		lam = ev.RequestContext.Authorizer.Lambda
	}
	str := func(k string) string { s, _ := lam[k].(string); return s }
	if str(ctxUnavailable) == "true" {
		return gc.Actor{}, &gc.Error{Code: gc.EUNAVAILABLE, Detail: map[string]string{"retryAfter": RetryAfterUnavailable},
			Message: "the API key could not be checked in time; nothing was done, retry the request"}
	}
	a := gc.Actor{ShopID: str(ctxShopID), KeyID: str(ctxKeyID), Role: gc.Role(str(ctxRole))}
	if a.ShopID == "" || a.KeyID == "" || (a.Role != gc.RoleShop && a.Role != gc.RoleAdmin) {
		msg := "a valid API key is required: Authorization: Bearer <key>"
		if reason := str(ctxError); reason != "" {
			msg = reason
		}
		return gc.Actor{}, gc.Errorf(gc.EUNAUTHORIZED, "%s", msg)
	}
	return a, nil
}

// header finds a header case-insensitively (API Gateway lower-cases them,
// but tests and other callers may not).
func header(hs map[string]string, name string) string {
	if v, ok := hs[name]; ok {
		return v
	}
	for k, v := range hs {
		if http.CanonicalHeaderKey(k) == http.CanonicalHeaderKey(name) {
			return v
		}
	}
	return ""
}

func asDomain(err error, target **gc.Error) bool { return errors.As(err, target) }

// checkJSONMediaType accepts the Content-Type of a request that has a body
// only if it is application/json, in any case and with any parameters
// (such as "; charset=utf-8"). A body without a Content-Type is refused
// too: the contract declares every request body as application/json, and a
// form post or text/plain body (which a browser may send cross-site
// without a preflight) must not be read as JSON by accident.
func checkJSONMediaType(contentType string) error {
	if contentType == "" {
		return gc.Errorf(gc.EUNSUPPORTEDMEDIA, "a request body needs Content-Type: application/json")
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return gc.Errorf(gc.EUNSUPPORTEDMEDIA, "the request body must be application/json")
	}
	return nil
}

// queryLimit reads the optional page size query parameter: absent means
// the default page size; present, it must be a decimal integer from 1 to
// gc.MaxPageSize (so "0", "-1", "101", "", "ten" and "1e2" are EINVALID).
func queryLimit(q map[string]string) (int, error) {
	const name = "limit"
	s, ok := q[name]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > gc.MaxPageSize || strings.TrimLeft(s, "0123456789") != "" {
		return 0, gc.Invalid(name, "%s must be an integer from 1 to %d", name, gc.MaxPageSize)
	}
	return n, nil
}
