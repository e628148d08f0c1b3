package apigw

import (
	"context"
	"fmt"
	"net"
	"net/http"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/webhook"
)

// WebhookAdmin keeps a shop's webhooks (internal/dynamo implements it).
type WebhookAdmin interface {
	// CreateWebhook registers a validated webhook with a new secret,
	// shown in the result only.
	CreateWebhook(ctx context.Context, a gc.Actor, idemKey string, in webhook.NewWebhook) (webhook.Webhook, error)
	// Webhooks lists the shop's webhooks without secrets.
	Webhooks(ctx context.Context, shopID string) ([]webhook.Webhook, error)
	// DeleteWebhook stops a webhook; ENOTFOUND when it does not exist.
	DeleteWebhook(ctx context.Context, shopID, id string) (webhook.Webhook, error)
	// Deliveries pages through a webhook's deliveries; ENOTFOUND when the
	// webhook does not exist.
	Deliveries(ctx context.Context, shopID, id string, pr gc.PageRequest) (webhook.DeliveryPage, error)
}

// WebhookBody is the body of POST /v1/webhooks.
type WebhookBody = webhook.NewWebhook

func (h *Handler) webhooks() (WebhookAdmin, error) {
	if h.cfg.Webhooks == nil {
		return nil, fmt.Errorf("function %s has no webhook store (apigw.Config.Webhooks)", h.cfg.Function)
	}
	return h.cfg.Webhooks, nil
}

func createWebhook(ctx context.Context, h *Handler, r request) (reply, error) {
	var in WebhookBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	wa, err := h.webhooks()
	if err != nil {
		return reply{}, err
	}
	// The URL's form first, then every address its host resolves to; a
	// delivery checks the address it dials again.
	if err := h.cfg.WebhookPolicy.Validate(in); err != nil {
		return reply{}, err
	}
	var res webhook.Resolver = net.DefaultResolver
	if h.cfg.Resolver != nil {
		res = h.cfg.Resolver
	}
	if err := h.cfg.WebhookPolicy.CheckResolved(ctx, res, in.URL); err != nil {
		return reply{}, err
	}
	w, err := wa.CreateWebhook(ctx, r.actor, r.idemKey, in)
	return reply{http.StatusCreated, w}, err
}

func listWebhooks(ctx context.Context, h *Handler, r request) (reply, error) {
	wa, err := h.webhooks()
	if err != nil {
		return reply{}, err
	}
	ws, err := wa.Webhooks(ctx, r.actor.ShopID)
	return reply{http.StatusOK, webhook.WebhookList{Webhooks: ws}}, err
}

func deleteWebhook(ctx context.Context, h *Handler, r request) (reply, error) {
	wa, err := h.webhooks()
	if err != nil {
		return reply{}, err
	}
	w, err := wa.DeleteWebhook(ctx, r.actor.ShopID, r.path["id"])
	return reply{http.StatusOK, w}, err
}

func webhookDeliveries(ctx context.Context, h *Handler, r request) (reply, error) {
	limit, err := queryLimit(r.query)
	if err != nil {
		return reply{}, err
	}
	wa, err := h.webhooks()
	if err != nil {
		return reply{}, err
	}
	p, err := wa.Deliveries(ctx, r.actor.ShopID, r.path["id"], gc.PageRequest{Cursor: r.query["cursor"], Limit: limit})
	return reply{http.StatusOK, p}, err
}
