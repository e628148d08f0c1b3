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
	limit, err := queryLimit(r.query)
	if err != nil {
		return reply{}, err
	}
	p, err := h.cfg.Promotions.ListPromotions(ctx, r.actor.ShopID, gc.PageRequest{Cursor: r.query["cursor"], Limit: limit})
	return reply{http.StatusOK, p}, err
}

// PromotionDetail is a promotion with its latest runs.
type PromotionDetail struct {
	gc.Promotion
	Runs           []gc.PromotionRun `json:"runs"`
	RunsNextCursor string            `json:"runsNextCursor,omitempty"`
}

func getPromotion(ctx context.Context, h *Handler, r request) (reply, error) {
	p, err := h.cfg.Promotions.Promotion(ctx, r.actor.ShopID, r.path["id"])
	if err != nil {
		return reply{}, err
	}
	runs, err := h.cfg.Promotions.PromotionRunHistory(ctx, r.actor.ShopID, p.ID, gc.PageRequest{Cursor: r.query["runsCursor"]})
	if err != nil {
		return reply{}, err
	}
	if runs.Runs == nil {
		runs.Runs = []gc.PromotionRun{}
	}
	return reply{http.StatusOK, PromotionDetail{Promotion: p, Runs: runs.Runs, RunsNextCursor: runs.NextCursor}}, nil
}

func pausePromotion(ctx context.Context, h *Handler, r request) (reply, error) {
	p, err := h.cfg.Promotions.SetPromotionStatus(ctx, r.actor, r.idemKey, r.path["id"], gc.PromotionPaused)
	return reply{http.StatusOK, p}, err
}

func resumePromotion(ctx context.Context, h *Handler, r request) (reply, error) {
	p, err := h.cfg.Promotions.SetPromotionStatus(ctx, r.actor, r.idemKey, r.path["id"], gc.PromotionActive)
	return reply{http.StatusOK, p}, err
}
