package apigw

import (
	"context"
	"net/http"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// CreatePromotionBody is the body of POST /v1/promotions.
type CreatePromotionBody = gc.NewPromotion

func createPromotion(ctx context.Context, h *Handler, r request) (reply, error) {
	var in CreatePromotionBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	p, err := h.cfg.Promotions.CreatePromotion(ctx, r.actor, r.idemKey, in)
	return reply{http.StatusCreated, p}, err
}

func listPromotions(ctx context.Context, h *Handler, r request) (reply, error) {
	limit, err := queryInt(r.query, "limit")
	if err != nil {
		return reply{}, err
	}
	p, err := h.cfg.Promotions.ListPromotions(ctx, r.actor.ShopID, gc.PageRequest{Cursor: r.query["cursor"], Limit: limit})
	return reply{http.StatusOK, p}, err
}

func getPromotion(ctx context.Context, h *Handler, r request) (reply, error) {
	p, err := h.cfg.Promotions.Promotion(ctx, r.actor.ShopID, r.path["id"])
	return reply{http.StatusOK, p}, err
}

func pausePromotion(ctx context.Context, h *Handler, r request) (reply, error) {
	p, err := h.cfg.Promotions.SetPromotionStatus(ctx, r.actor, r.idemKey, r.path["id"], gc.PromotionPaused)
	return reply{http.StatusOK, p}, err
}

func resumePromotion(ctx context.Context, h *Handler, r request) (reply, error) {
	p, err := h.cfg.Promotions.SetPromotionStatus(ctx, r.actor, r.idemKey, r.path["id"], gc.PromotionActive)
	return reply{http.StatusOK, p}, err
}
