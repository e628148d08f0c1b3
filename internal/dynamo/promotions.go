package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

var _ gc.Promotions = (*Store)(nil)

func keyPromotion(shopID, id string) key { return key{shopPrefix(shopID) + "PROMO#" + id, "PROMO"} }
func gsiPromotions(shopID string) string { return shopPrefix(shopID) + "PROMOS" }

func promotionItem(shopID string, p gc.Promotion) item {
	it := keyPromotion(shopID, p.ID).av()
	it["id"] = avS(p.ID)
	it["name"] = avS(p.Name)
	it["currency"] = avS(p.Currency)
	it["startsAt"] = avS(fmtTime(p.StartsAt))
	it["endsAt"] = avS(fmtTime(p.EndsAt))
	it["minGiftCardAmount"] = avN(p.MinGiftCardAmount)
	it["creditAmount"] = avN(p.CreditAmount)
	it["per"] = avS(p.Per)
	it["perCustomerLimit"] = avN(p.PerCustomerLimit)
	if p.Budget != nil {
		it["budget"] = avN(*p.Budget)
		it["budgetRemaining"] = avN(*p.BudgetRemaining)
	}
	if p.CreditExpiresInDays != nil {
		it["creditExpiresInDays"] = avN(*p.CreditExpiresInDays)
	}
	it["status"] = avS(string(p.Status))
	it["createdAt"] = avS(fmtTime(p.CreatedAt))
	it[attrGSI1PK] = avS(gsiPromotions(shopID))
	it[attrGSI1SK] = avS(p.ID)
	return it
}

func decodePromotion(it item) (gc.Promotion, error) {
	p := gc.Promotion{ID: it.s("id"), Name: it.s("name"), Currency: it.s("currency"), Per: it.s("per"), Status: gc.PromotionStatus(it.s("status"))}
	var err error
	for _, f := range []struct {
		k string
		v *int64
	}{{"minGiftCardAmount", &p.MinGiftCardAmount}, {"creditAmount", &p.CreditAmount}, {"perCustomerLimit", &p.PerCustomerLimit}} {
		if *f.v, err = it.n(f.k); err != nil {
			return p, err
		}
	}
	if _, ok := it["budget"]; ok {
		b, err := it.n("budget")
		if err != nil {
			return p, err
		}
		r, err := it.n("budgetRemaining")
		if err != nil {
			return p, err
		}
		p.Budget, p.BudgetRemaining = &b, &r
	}
	if _, ok := it["creditExpiresInDays"]; ok {
		d, err := it.n("creditExpiresInDays")
		if err != nil {
			return p, err
		}
		p.CreditExpiresInDays = &d
	}
	if p.StartsAt, err = it.t("startsAt"); err != nil {
		return p, err
	}
	if p.EndsAt, err = it.t("endsAt"); err != nil {
		return p, err
	}
	p.CreatedAt, err = it.t("createdAt")
	return p, err
}

// CreatePromotion defines a promotion.
func (s *Store) CreatePromotion(ctx context.Context, a gc.Actor, idemKey string, in gc.NewPromotion) (gc.Promotion, error) {
	if err := in.Validate(); err != nil {
		return gc.Promotion{}, err
	}
	return mutate(ctx, s, mutation[gc.Promotion]{
		actor: a, op: "create_promotion", idemKey: idemKey, input: in,
		build: func([]item) (plan[gc.Promotion], error) {
			id, err := s.ids.New("pro")
			if err != nil {
				return plan[gc.Promotion]{}, err
			}
			p := gc.Promotion{ID: id, Name: in.Name, Currency: in.Currency, StartsAt: in.StartsAt.UTC(), EndsAt: in.EndsAt.UTC(),
				MinGiftCardAmount: in.MinGiftCardAmount, CreditAmount: in.CreditAmount, Per: in.Per,
				PerCustomerLimit: in.PerCustomerLimit, CreditExpiresInDays: in.CreditExpiresInDays, Status: gc.PromotionActive, CreatedAt: s.now().UTC()}
			if in.Budget != nil {
				b, r := *in.Budget, *in.Budget
				p.Budget, p.BudgetRemaining = &b, &r
			}
			return plan[gc.Promotion]{result: p, acts: []action{s.putNew(promotionItem(a.ShopID, p), nil)}}, nil
		},
	})
}

// Promotion returns one promotion.
func (s *Store) Promotion(ctx context.Context, shopID, id string) (gc.Promotion, error) {
	if !gc.ValidID("pro", id) {
		return gc.Promotion{}, gc.ErrPromotionNotFound
	}
	it, err := s.getOne(ctx, keyPromotion(shopID, id))
	if err != nil {
		return gc.Promotion{}, fmt.Errorf("get promotion: %w", err)
	}
	if it == nil {
		return gc.Promotion{}, gc.ErrPromotionNotFound
	}
	return decodePromotion(it)
}

// ListPromotions lists a shop's promotions, newest first (ids sort by time).
func (s *Store) ListPromotions(ctx context.Context, shopID string, pr gc.PageRequest) (gc.PromotionPage, error) {
	pr, err := pr.Normalize()
	if err != nil {
		return gc.PromotionPage{}, err
	}
	partition := gsiPromotions(shopID)
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(indexGSI1),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: item{":pk": avS(partition)},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(pr.Limit)),
	}
	if pr.Cursor != "" {
		start, err := decodeCursor(pr.Cursor)
		if err != nil || start.s(attrGSI1PK) != partition {
			return gc.PromotionPage{}, gc.Invalid("cursor", "the cursor is not valid for this list")
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return gc.PromotionPage{}, fmt.Errorf("list promotions: %w", err)
	}
	page := gc.PromotionPage{Promotions: make([]gc.Promotion, 0, len(out.Items))}
	for _, it := range out.Items {
		p, err := decodePromotion(it)
		if err != nil {
			return page, err
		}
		page.Promotions = append(page.Promotions, p)
	}
	if len(out.LastEvaluatedKey) > 0 {
		page.NextCursor = encodeCursor(out.LastEvaluatedKey)
	}
	return page, nil
}

// SetPromotionStatus pauses or resumes a promotion.
func (s *Store) SetPromotionStatus(ctx context.Context, a gc.Actor, idemKey, id string, status gc.PromotionStatus) (gc.Promotion, error) {
	if !gc.ValidID("pro", id) {
		return gc.Promotion{}, gc.ErrPromotionNotFound
	}
	return mutate(ctx, s, mutation[gc.Promotion]{
		actor: a, op: "set_promotion_status", idemKey: idemKey, input: []string{id, string(status)},
		keys: []key{keyPromotion(a.ShopID, id)},
		build: func(items []item) (plan[gc.Promotion], error) {
			var p plan[gc.Promotion]
			if items[0] == nil {
				return p, gc.ErrPromotionNotFound
			}
			promo, err := decodePromotion(items[0])
			if err != nil {
				return p, err
			}
			p.result = promo
			if promo.Status == status {
				return p, nil
			}
			p.result.Status = status
			p.acts = []action{s.update(keyPromotion(a.ShopID, id), "SET #status = :s", "attribute_exists(PK)",
				map[string]string{"#status": "status"}, item{":s": avS(string(status))}, gc.ErrPromotionNotFound)}
			return p, nil
		},
	})
}
