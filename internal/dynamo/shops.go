package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

func shopItem(sh gc.Shop) item {
	it := keyShop(sh.ID).av()
	it["id"] = avS(sh.ID)
	it["name"] = avS(sh.Name)
	it.setS("adminEmail", sh.AdminEmail)
	it.setS("senderAddress", sh.SenderAddress)
	it["defaultCurrency"] = avS(sh.DefaultCurrency)
	it.setS("shopTenders", strings.Join(sh.ShopTenders, ","))
	if sh.ExpiryNoticeDays != nil {
		it["expiryNoticeDays"] = avN(*sh.ExpiryNoticeDays)
	}
	it["createdAt"] = avS(fmtTime(sh.CreatedAt))
	it[attrGSI1PK] = avS(gsiShops())
	it[attrGSI1SK] = avS(sh.ID)
	return it
}

func decodeShop(it item) (gc.Shop, error) {
	sh := gc.Shop{ID: it.s("id"), Name: it.s("name"), AdminEmail: it.s("adminEmail"),
		SenderAddress: it.s("senderAddress"), DefaultCurrency: it.s("defaultCurrency")}
	if t := it.s("shopTenders"); t != "" {
		sh.ShopTenders = strings.Split(t, ",")
	}
	if _, ok := it["expiryNoticeDays"]; ok {
		d, err := it.n("expiryNoticeDays")
		if err != nil {
			return sh, err
		}
		sh.ExpiryNoticeDays = &d
	}
	var err error
	sh.CreatedAt, err = it.t("createdAt")
	return sh, err
}

// CreateShop creates a tenant. The id is generated unless sh.ID is set.
func (s *Store) CreateShop(ctx context.Context, sh gc.Shop) (gc.Shop, error) {
	if err := gc.ValidateText("name", sh.Name, true, gc.MaxNameLen); err != nil {
		return gc.Shop{}, err
	}
	if sh.AdminEmail != "" {
		if _, err := gc.NormalizeEmail("adminEmail", sh.AdminEmail); err != nil {
			return gc.Shop{}, err
		}
	}
	if sh.ID == "" {
		id, err := s.ids.New("shp")
		if err != nil {
			return gc.Shop{}, err
		}
		sh.ID = id
	}
	sh.CreatedAt = s.now().UTC()
	if err := s.transact(ctx, []action{s.putNew(shopItem(sh), gc.Errorf(gc.ECONFLICT, "shop %s exists", sh.ID))}); err != nil {
		return gc.Shop{}, fmt.Errorf("create shop: %w", err)
	}
	return sh, nil
}

// SetShopTenders replaces the payment methods besides card that the shop's
// `shop` keys may use. Each is a payment type slug; card and the
// gift_card/credit pseudo-methods are refused.
func (s *Store) SetShopTenders(ctx context.Context, shopID string, tenders []string) (gc.Shop, error) {
	seen := map[string]bool{}
	var list []string
	for _, t := range tenders {
		if err := gc.ValidatePaymentType("tenders", t); err != nil {
			return gc.Shop{}, err
		}
		if t == gc.TenderCard || t == "gift_card" || t == "credit" {
			return gc.Shop{}, gc.Invalid("tenders", "%s cannot be listed as a shop tender", t)
		}
		if !seen[t] {
			seen[t] = true
			list = append(list, t)
		}
	}
	// An empty list is stored as "" rather than removed: it reads back as
	// none either way, and minidyn ignores REMOVE.
	act := s.update(keyShop(shopID), "SET shopTenders = :t", "attribute_exists(PK)", nil,
		item{":t": avS(strings.Join(list, ","))}, gc.Errorf(gc.ENOTFOUND, "shop not found"))
	if err := s.transact(ctx, []action{act}); err != nil {
		return gc.Shop{}, fmt.Errorf("set shop tenders: %w", err)
	}
	return s.Shop(ctx, shopID)
}

// SetExpiryNoticeDays sets how many days before a lot of credit expires
// its customer is reminded (0: never; gc.DefaultNoticeDays until set).
func (s *Store) SetExpiryNoticeDays(ctx context.Context, shopID string, days int64) (gc.Shop, error) {
	if err := gc.ValidateNoticeDays(days); err != nil {
		return gc.Shop{}, err
	}
	act := s.update(keyShop(shopID), "SET expiryNoticeDays = :d", "attribute_exists(PK)", nil,
		item{":d": avN(days)}, gc.Errorf(gc.ENOTFOUND, "shop not found"))
	if err := s.transact(ctx, []action{act}); err != nil {
		return gc.Shop{}, fmt.Errorf("set expiry notice days: %w", err)
	}
	return s.Shop(ctx, shopID)
}

// Shop returns a shop.
func (s *Store) Shop(ctx context.Context, shopID string) (gc.Shop, error) {
	it, err := s.getOne(ctx, keyShop(shopID))
	if err != nil {
		return gc.Shop{}, fmt.Errorf("get shop: %w", err)
	}
	if it == nil {
		return gc.Shop{}, gc.Errorf(gc.ENOTFOUND, "shop not found")
	}
	return decodeShop(it)
}

// Shops lists every shop (for scheduled jobs that run per shop).
func (s *Store) Shops(ctx context.Context) ([]gc.Shop, error) {
	var shops []gc.Shop
	err := s.queryAll(ctx, indexGSI1, gsiShops(), func(it item) error {
		sh, err := decodeShop(it)
		shops = append(shops, sh)
		return err
	})
	return shops, err
}

// HashAPIKey is how an API key is stored: keys are long random secrets, so
// a plain SHA-256 is enough (no password stretching needed).
func HashAPIKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// IssueAPIKey makes a new random key for a shop and stores its hash. The
// secret is returned once, here; it is never stored or logged.
func (s *Store) IssueAPIKey(ctx context.Context, shopID string, role gc.Role) (secret string, k gc.APIKey, err error) {
	if _, err := s.Shop(ctx, shopID); err != nil {
		return "", gc.APIKey{}, err
	}
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", gc.APIKey{}, fmt.Errorf("issue api key: %w", err)
	}
	secret = "gck_" + base64.RawURLEncoding.EncodeToString(b)
	k, err = s.CreateAPIKey(ctx, shopID, role, secret)
	return secret, k, err
}

// CreateAPIKey stores a new key of a shop by the hash of its secret.
func (s *Store) CreateAPIKey(ctx context.Context, shopID string, role gc.Role, secret string) (gc.APIKey, error) {
	if role != gc.RoleShop && role != gc.RoleAdmin {
		return gc.APIKey{}, gc.Invalid("role", "role must be shop or admin")
	}
	if len(secret) < 32 {
		return gc.APIKey{}, gc.Invalid("key", "an API key must have at least 32 characters")
	}
	id, err := s.ids.New("key")
	if err != nil {
		return gc.APIKey{}, err
	}
	k := gc.APIKey{ID: id, ShopID: shopID, Role: role, CreatedAt: s.now().UTC()}
	it := keyAPIKey(HashAPIKey(secret)).av()
	it["keyId"] = avS(k.ID)
	it["shopId"] = avS(shopID)
	it["role"] = avS(string(role))
	it["createdAt"] = avS(fmtTime(k.CreatedAt))
	it[attrGSI1PK] = avS(gsiKeys(shopID))
	it[attrGSI1SK] = avS(k.ID)
	if err := s.transact(ctx, []action{s.putNew(it, gc.Errorf(gc.ECONFLICT, "key exists"))}); err != nil {
		return gc.APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return k, nil
}

func decodeKey(it item) (gc.APIKey, error) {
	k := gc.APIKey{ID: it.s("keyId"), ShopID: it.s("shopId"), Role: gc.Role(it.s("role"))}
	var err error
	if k.CreatedAt, err = it.t("createdAt"); err != nil {
		return k, err
	}
	if it.s("revokedAt") != "" {
		r, err := it.t("revokedAt")
		if err != nil {
			return k, err
		}
		k.RevokedAt = &r
	}
	return k, nil
}

// APIKeyBySecret authenticates a key: EUNAUTHORIZED if it is unknown or revoked.
func (s *Store) APIKeyBySecret(ctx context.Context, secret string) (gc.APIKey, error) {
	it, err := s.getOne(ctx, keyAPIKey(HashAPIKey(secret)))
	if err != nil {
		return gc.APIKey{}, fmt.Errorf("authenticate key: %w", err)
	}
	if it == nil {
		return gc.APIKey{}, gc.Errorf(gc.EUNAUTHORIZED, "unknown API key")
	}
	k, err := decodeKey(it)
	if err != nil {
		return k, err
	}
	if k.RevokedAt != nil {
		return gc.APIKey{}, gc.Errorf(gc.EUNAUTHORIZED, "the API key was revoked")
	}
	return k, nil
}

// APIKeys lists a shop's keys (never their secrets).
func (s *Store) APIKeys(ctx context.Context, shopID string) ([]gc.APIKey, error) {
	var keys []gc.APIKey
	err := s.queryAll(ctx, indexGSI1, gsiKeys(shopID), func(it item) error {
		k, err := decodeKey(it)
		keys = append(keys, k)
		return err
	})
	return keys, err
}

// RevokeAPIKey revokes a shop's key by id; revoking twice is a no-op.
func (s *Store) RevokeAPIKey(ctx context.Context, shopID, keyID string) error {
	var found item
	err := s.queryAll(ctx, indexGSI1, gsiKeys(shopID), func(it item) error {
		if it.s("keyId") == keyID {
			found = it
		}
		return nil
	})
	if err != nil {
		return err
	}
	if found == nil {
		return gc.Errorf(gc.ENOTFOUND, "key not found")
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key{found.s(attrPK), found.s(attrSK)}.av(),
		UpdateExpression:          aws.String("SET revokedAt = if_not_exists(revokedAt, :now)"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: item{":now": avS(fmtTime(s.now()))},
	})
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	return nil
}

// queryAll walks every item of a GSI partition in sort-key order.
func (s *Store) queryAll(ctx context.Context, index, pk string, fn func(item) error) error {
	pkAttr := attrGSI1PK
	if index == indexGSI2 {
		pkAttr = attrGSI2PK
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkAttr},
		ExpressionAttributeValues: item{":pk": avS(pk)},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query %s %s: %w", index, pk, err)
		}
		for _, it := range out.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}
