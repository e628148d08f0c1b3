package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/webhook"
)

// Webhooks and deliveries.
//
//	record     PK                                     SK        GSI1PK / GSI1SK                                   GSI2PK / GSI2SK
//	webhook    SHOP#<s>#WEBHOOK#<w>                   WEBHOOK   SHOP#<s>#WEBHOOKS / <time>#<w> (#DELETED once deleted)
//	delivery   SHOP#<s>#WEBHOOK#<w>#DLV#<event>       DELIVERY  SHOP#<s>#WEBHOOK#<w>#DLV#<n> / <time>#<event>       SHOP#<s>#WHPENDING#<n> / <next attempt>#<w>#<event>, then #WHDONE#<n>
//
// A webhook's secret is sealed with the keyring (never in plaintext at
// rest). A shop has few webhooks, written rarely: one partition. A
// webhook's deliveries grow with the shop's traffic and are sharded by
// event (ListShards); the pending ones sit in a sparse, sharded GSI2 list
// the retrier fans out over, as pending mail does.

var errWebhookNotFound = gc.Errorf(gc.ENOTFOUND, "webhook not found")

func keyWebhook(shopID, id string) key { return key{shopPrefix(shopID) + "WEBHOOK#" + id, "WEBHOOK"} }
func keyDelivery(shopID, webhookID, eventID string) key {
	return key{shopPrefix(shopID) + "WEBHOOK#" + webhookID + "#DLV#" + eventID, "DELIVERY"}
}
func gsiWebhooks(shopID string) string { return shopPrefix(shopID) + "WEBHOOKS" }
func gsiDeliveries(shopID, webhookID, eventID string) string {
	return shopPrefix(shopID) + "WEBHOOK#" + webhookID + "#DLV#" + shardOf(eventID, ListShards)
}
func gsiAllDeliveries(shopID, webhookID string) []string {
	return shardKeys(shopPrefix(shopID)+"WEBHOOK#"+webhookID+"#DLV", ListShards)
}
func gsiPendingDeliveries(shopID, eventID string) string {
	return shopPrefix(shopID) + "WHPENDING#" + shardOf(eventID, ListShards)
}
func gsiDoneDeliveries(shopID, eventID string) string {
	return shopPrefix(shopID) + "WHDONE#" + shardOf(eventID, ListShards)
}

var _ webhook.Store = (*Store)(nil)

// CreateWebhook registers a webhook (the caller has validated in against
// its policy) with a new secret, returned in the result only: the result
// is remembered sealed for an idempotent replay.
func (s *Store) CreateWebhook(ctx context.Context, a gc.Actor, idemKey string, in webhook.NewWebhook) (webhook.Webhook, error) {
	if s.keyring == nil {
		return webhook.Webhook{}, fmt.Errorf("create webhook: no keyring to seal the secret")
	}
	return mutate(ctx, s, mutation[webhook.Webhook]{
		actor: a, op: "create_webhook", idemKey: idemKey, input: in,
		build: func([]item) (plan[webhook.Webhook], error) {
			var p plan[webhook.Webhook]
			id, err := s.ids.New("whk")
			if err != nil {
				return p, err
			}
			var raw [24]byte
			if _, err := io.ReadFull(s.rand, raw[:]); err != nil {
				return p, fmt.Errorf("create webhook: secret: %w", err)
			}
			secret := "whsec_" + hex.EncodeToString(raw[:])
			sealed, err := s.keyring.Seal([]byte(secret))
			if err != nil {
				return p, fmt.Errorf("create webhook: seal: %w", err)
			}
			wanted := in.Types
			if wanted == nil {
				wanted = []gc.EventType{}
			}
			w := webhook.Webhook{ID: id, URL: in.URL, Types: wanted, Secret: secret, CreatedAt: s.now().UTC()}
			it := keyWebhook(a.ShopID, id).av()
			it["id"] = avS(id)
			it["url"] = avS(w.URL)
			if len(wanted) > 0 {
				ts := make([]string, len(wanted))
				for i, t := range wanted {
					ts[i] = string(t)
				}
				b, _ := json.Marshal(ts) // strings always encode
				it["types"] = avS(string(b))
			}
			it["sealedSecret"] = avB(sealed)
			it["status"] = avS("active")
			at := fmtTime(w.CreatedAt)
			it["createdAt"] = avS(at)
			it[attrGSI1PK] = avS(gsiWebhooks(a.ShopID))
			it[attrGSI1SK] = avS(at + "#" + id)
			p.acts = []action{s.putNew(it, nil)}
			p.result, p.sealed = w, true
			return p, nil
		},
	})
}

func (s *Store) decodeWebhook(it item, withSecret bool) (webhook.Webhook, error) {
	w := webhook.Webhook{ID: it.s("id"), URL: it.s("url"), Types: []gc.EventType{}}
	if ts := it.s("types"); ts != "" {
		if err := json.Unmarshal([]byte(ts), &w.Types); err != nil {
			return w, fmt.Errorf("webhook %s: types: %w", w.ID, err)
		}
	}
	var err error
	if w.CreatedAt, err = it.t("createdAt"); err != nil {
		return w, err
	}
	if withSecret {
		if s.keyring == nil {
			return w, fmt.Errorf("webhook %s: no keyring to open the secret", w.ID)
		}
		b, err := s.keyring.Open(it.b("sealedSecret"))
		if err != nil {
			return w, fmt.Errorf("webhook %s: open secret: %w", w.ID, err)
		}
		w.Secret = string(b)
	}
	return w, nil
}

func (s *Store) listWebhooks(ctx context.Context, shopID string, withSecret bool) ([]webhook.Webhook, error) {
	items, err := s.queryIndex(ctx, indexGSI1, attrGSI1PK, attrGSI1SK, gsiWebhooks(shopID), "~", 0)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	out := []webhook.Webhook{}
	for _, it := range items {
		if it.s("status") != "active" {
			continue
		}
		w, err := s.decodeWebhook(it, withSecret)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// Webhooks lists a shop's webhooks, oldest first, without their secrets.
func (s *Store) Webhooks(ctx context.Context, shopID string) ([]webhook.Webhook, error) {
	return s.listWebhooks(ctx, shopID, false)
}

// ShopWebhooks lists a shop's webhooks with their secrets (delivery).
func (s *Store) ShopWebhooks(ctx context.Context, shopID string) ([]webhook.Webhook, error) {
	return s.listWebhooks(ctx, shopID, true)
}

// Webhook returns one active webhook with its secret.
func (s *Store) Webhook(ctx context.Context, shopID, id string) (webhook.Webhook, error) {
	if !gc.ValidID("whk", id) {
		return webhook.Webhook{}, errWebhookNotFound
	}
	it, err := s.getOne(ctx, keyWebhook(shopID, id))
	if err != nil {
		return webhook.Webhook{}, fmt.Errorf("webhook: %w", err)
	}
	if it == nil || it.s("status") != "active" {
		return webhook.Webhook{}, errWebhookNotFound
	}
	return s.decodeWebhook(it, true)
}

// DeleteWebhook stops a webhook: it receives nothing more, and its
// pending deliveries fail at their next attempt. The record stays
// (deleted) so its deliveries remain explained.
func (s *Store) DeleteWebhook(ctx context.Context, shopID, id string) (webhook.Webhook, error) {
	w, err := s.Webhook(ctx, shopID, id)
	if err != nil {
		return w, err
	}
	err = s.updateOne(ctx, s.update(keyWebhook(shopID, id), "SET #status = :deleted, deletedAt = :now, GSI1PK = :pk",
		"#status = :active", map[string]string{"#status": "status"},
		item{":deleted": avS("deleted"), ":now": avS(fmtTime(s.now())), ":active": avS("active"), ":pk": avS(gsiWebhooks(shopID) + "#DELETED")},
		errWebhookNotFound))
	w.Secret = ""
	return w, err
}

// deliveryItem encodes a delivery; pending ones carry the GSI2 retry key.
func deliveryItem(shopID string, d webhook.Delivery) (item, error) {
	it := keyDelivery(shopID, d.WebhookID, d.EventID).av()
	it["eventId"] = avS(d.EventID)
	it["eventType"] = avS(string(d.EventType))
	it["webhookId"] = avS(d.WebhookID)
	it["shopId"] = avS(shopID)
	it["status"] = avS(string(d.Status))
	it["attempts"] = avN(int64(d.Attempts))
	it["body"] = avS(string(d.Body))
	hist, err := json.Marshal(d.History)
	if err != nil {
		return nil, fmt.Errorf("delivery: encode attempts: %w", err)
	}
	it["history"] = avS(string(hist))
	at := fmtTime(d.CreatedAt)
	it["createdAt"] = avS(at)
	if d.DeliveredAt != nil {
		it["deliveredAt"] = avS(fmtTime(*d.DeliveredAt))
	}
	it[attrGSI1PK] = avS(gsiDeliveries(shopID, d.WebhookID, d.EventID))
	it[attrGSI1SK] = avS(at + "#" + d.EventID)
	if d.Status == webhook.DeliveryPending && d.NextAttemptAt != nil {
		it["nextAttemptAt"] = avS(fmtTime(*d.NextAttemptAt))
		it[attrGSI2PK] = avS(gsiPendingDeliveries(shopID, d.EventID))
		it[attrGSI2SK] = avS(fmtTime(*d.NextAttemptAt) + "#" + d.WebhookID + "#" + d.EventID)
	} else {
		// A settled delivery leaves the pending list by moving to the
		// done list (minidyn keeps a REMOVEd index key).
		it[attrGSI2PK] = avS(gsiDoneDeliveries(shopID, d.EventID))
		it[attrGSI2SK] = avS(at + "#" + d.WebhookID + "#" + d.EventID)
	}
	return it, nil
}

func decodeDelivery(it item) (webhook.Delivery, error) {
	d := webhook.Delivery{EventID: it.s("eventId"), EventType: gc.EventType(it.s("eventType")), WebhookID: it.s("webhookId"),
		Status: webhook.DeliveryStatus(it.s("status")), Body: []byte(it.s("body")), History: []webhook.Attempt{}}
	n, err := it.n("attempts")
	if err != nil {
		return d, err
	}
	d.Attempts = int(n)
	if err := json.Unmarshal([]byte(it.s("history")), &d.History); err != nil {
		return d, fmt.Errorf("delivery %s: attempts: %w", d.EventID, err)
	}
	if d.CreatedAt, err = it.t("createdAt"); err != nil {
		return d, err
	}
	for _, f := range []struct {
		k string
		p **time.Time
	}{{"nextAttemptAt", &d.NextAttemptAt}, {"deliveredAt", &d.DeliveredAt}} {
		if it.s(f.k) == "" || (f.k == "nextAttemptAt" && d.Status != webhook.DeliveryPending) {
			continue
		}
		t, err := it.t(f.k)
		if err != nil {
			return d, err
		}
		*f.p = &t
	}
	return d, nil
}

// StartDelivery writes a new delivery unless one exists for the event
// and webhook (a duplicate from the bus).
func (s *Store) StartDelivery(ctx context.Context, shopID string, d webhook.Delivery) (bool, error) {
	it, err := deliveryItem(shopID, d)
	if err != nil {
		return false, err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it,
		ConditionExpression: aws.String("attribute_not_exists(PK)")})
	var ccf *types.ConditionalCheckFailedException
	if asErr(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("start delivery: %w", err)
	}
	return true, nil
}

// ClaimDelivery moves a due delivery's next attempt to until, if no
// other attempt was recorded since it was read.
func (s *Store) ClaimDelivery(ctx context.Context, shopID string, d webhook.Delivery, until time.Time) error {
	return s.updateOne(ctx, s.update(keyDelivery(shopID, d.WebhookID, d.EventID),
		"SET nextAttemptAt = :next, GSI2SK = :sk", "#status = :pending AND attempts = :n",
		map[string]string{"#status": "status"},
		item{":next": avS(fmtTime(until)), ":sk": avS(fmtTime(until) + "#" + d.WebhookID + "#" + d.EventID),
			":pending": avS(string(webhook.DeliveryPending)), ":n": avN(int64(d.Attempts))},
		gc.Errorf(gc.ECONFLICT, "delivery %s was claimed by another attempt", d.EventID)))
}

// RecordAttempt replaces the delivery with d, if its attempt count is
// still prev.
func (s *Store) RecordAttempt(ctx context.Context, shopID string, d webhook.Delivery, prev int) error {
	it, err := deliveryItem(shopID, d)
	if err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it,
		ConditionExpression:       aws.String("attempts = :n AND #status = :pending"),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: item{":n": avN(int64(prev)), ":pending": avS(string(webhook.DeliveryPending))}})
	var ccf *types.ConditionalCheckFailedException
	if asErr(err, &ccf) {
		return gc.Errorf(gc.ECONFLICT, "delivery %s changed meanwhile", d.EventID)
	}
	if err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	return nil
}

// DueDeliveries returns up to limit pending deliveries due at now, from
// every pending shard of every shop.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]webhook.PendingDelivery, error) {
	shops, err := s.Shops(ctx)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	var out []webhook.PendingDelivery
	for _, sh := range shops {
		for _, pk := range shardKeys(shopPrefix(sh.ID)+"WHPENDING", ListShards) {
			if len(out) >= limit {
				return out, nil
			}
			items, err := s.queryIndex(ctx, indexGSI2, attrGSI2PK, attrGSI2SK, pk, fmtTime(now)+"#~", limit-len(out))
			if err != nil {
				return out, fmt.Errorf("due deliveries: %w", err)
			}
			for _, it := range items {
				d, err := decodeDelivery(it)
				if err != nil {
					return out, err
				}
				out = append(out, webhook.PendingDelivery{ShopID: sh.ID, Delivery: d})
			}
		}
	}
	return out, nil
}

// Deliveries returns a page of a webhook's deliveries, oldest first.
func (s *Store) Deliveries(ctx context.Context, shopID, webhookID string, pr gc.PageRequest) (webhook.DeliveryPage, error) {
	page := webhook.DeliveryPage{Deliveries: []webhook.Delivery{}}
	if !gc.ValidID("whk", webhookID) {
		return page, errWebhookNotFound
	}
	it, err := s.getOne(ctx, keyWebhook(shopID, webhookID))
	if err != nil {
		return page, fmt.Errorf("deliveries: %w", err)
	}
	if it == nil {
		return page, errWebhookNotFound
	}
	after := ""
	if pr.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(pr.Cursor)
		if err != nil || len(b) == 0 {
			return page, gc.Invalid("cursor", "the cursor is not one this list returned")
		}
		after = string(b)
	}
	limit := pr.Limit
	if limit <= 0 {
		limit = gc.DefaultPageSize
	}
	items, more, err := s.queryMerged(ctx, gsiAllDeliveries(shopID, webhookID), after, "", limit)
	if err != nil {
		return page, fmt.Errorf("deliveries: %w", err)
	}
	for _, it := range items {
		d, err := decodeDelivery(it)
		if err != nil {
			return page, err
		}
		page.Deliveries = append(page.Deliveries, d)
	}
	if more && len(items) > 0 {
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(items[len(items)-1].s(attrGSI1SK)))
	}
	return page, nil
}
