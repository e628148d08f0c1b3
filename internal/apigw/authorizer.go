package apigw

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/internal/deadline"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// AuthorizerReserve is the part of the authorizer's invocation kept for
// answering after the key lookup.
const AuthorizerReserve = 300 * time.Millisecond

// KeyStore authenticates API keys.
type KeyStore interface {
	// APIKeyBySecret returns the live key with this secret, or EUNAUTHORIZED.
	APIKeyBySecret(ctx context.Context, secret string) (gc.APIKey, error)
}

// Authorizer is the HTTP API's Lambda REQUEST authorizer (payload 2.0,
// simple responses). It always lets the request through: with a valid key
// the context carries shopId, keyId and role; without one it carries only
// an error, and the function answers 401 as problem+json (API Gateway's own
// 401 has no problem+json body). When the key cannot be checked, the
// context says so and the function answers 503 problem+json.
type Authorizer struct {
	Keys   KeyStore
	Logger *slog.Logger
}

// Handle authorizes one request.
func (a *Authorizer) Handle(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	log := a.Logger
	if log == nil {
		log = slog.Default()
	}
	reqID := ev.RequestContext.RequestID
	deny := func(reason string) events.APIGatewayV2CustomAuthorizerSimpleResponse {
		log.InfoContext(ctx, "authorize", "requestId", reqID, "route", ev.RouteKey, "outcome", "anonymous", "reason", reason)
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{ctxError: reason}}
	}
	auth := header(ev.Headers, "authorization")
	if auth == "" {
		return deny("a valid API key is required: Authorization: Bearer <key>"), nil
	}
	scheme, secret, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return deny("the Authorization header must be: Bearer <key>"), nil
	}
	work, cancel := deadline.Reserve(ctx, AuthorizerReserve)
	defer cancel()
	k, err := a.Keys.APIKeyBySecret(work, strings.TrimSpace(secret))
	if gc.ErrorCode(err) == gc.EUNAUTHORIZED {
		return deny("the API key is unknown or revoked"), nil
	} else if err != nil {
		// The key could not be checked (the store failed or did not answer
		// in time). The request goes on with no caller and a mark, and the
		// function answers 503 problem+json without touching anything:
		// denying here would be API Gateway's bare 403, and an authorizer
		// error its bare 500. Never log the key; the error holds only the
		// key's hash path.
		log.ErrorContext(ctx, "authorize", "requestId", reqID, "route", ev.RouteKey, "outcome", "unavailable", "error", err.Error())
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{ctxUnavailable: "true"}}, nil
	}
	log.InfoContext(ctx, "authorize", "requestId", reqID, "route", ev.RouteKey, "outcome", "ok", "shop", k.ShopID, "keyId", k.ID, "role", string(k.Role))
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{
		ctxShopID: k.ShopID, ctxKeyID: k.ID, ctxRole: string(k.Role),
	}}, nil
}
