package stack

import (
	"context"
	"fmt"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// DemoShop is a shop the stack creates at start.
type DemoShop struct {
	Name, AdminEmail, SenderAddress, Currency string
}

// ShopInfo is a demo shop with the keys issued for it at this start. The
// keys are the secrets themselves: they exist nowhere else (the table
// holds only their hashes).
type ShopInfo struct {
	ID         string `json:"id"`
	Name       string `json:"-"`
	Currency   string `json:"-"`
	ShopKey    string `json:"shopKey"`
	AdminKey   string `json:"adminKey"`
	AdminEmail string `json:"adminEmail"`
}

// demoShops creates the demo shops, or reuses shops of the same name that
// the table already has (a DynamoDB that outlives the stack), and issues a
// shop key and an admin key for each.
func (s *Stack) demoShops(ctx context.Context, shops []DemoShop) ([]ShopInfo, error) {
	if s.ddb == nil {
		return nil, fmt.Errorf("stack: demo shops need the template's table")
	}
	store := dynamo.New(s.ddb, s.cfg.TableName)
	existing, err := store.Shops(ctx)
	if err != nil {
		return nil, fmt.Errorf("stack: list shops: %w", err)
	}
	var out []ShopInfo
	for _, d := range shops {
		var sh gc.Shop
		for _, e := range existing {
			if e.Name == d.Name {
				sh = e
				break
			}
		}
		if sh.ID == "" {
			if sh, err = store.CreateShop(ctx, gc.Shop{Name: d.Name, AdminEmail: d.AdminEmail,
				SenderAddress: d.SenderAddress, DefaultCurrency: d.Currency}); err != nil {
				return nil, fmt.Errorf("stack: demo shop %s: %w", d.Name, err)
			}
		}
		info := ShopInfo{ID: sh.ID, Name: sh.Name, Currency: sh.DefaultCurrency, AdminEmail: sh.AdminEmail}
		if info.ShopKey, _, err = store.IssueAPIKey(ctx, sh.ID, gc.RoleShop); err != nil {
			return nil, fmt.Errorf("stack: demo shop %s: shop key: %w", d.Name, err)
		}
		if info.AdminKey, _, err = store.IssueAPIKey(ctx, sh.ID, gc.RoleAdmin); err != nil {
			return nil, fmt.Errorf("stack: demo shop %s: admin key: %w", d.Name, err)
		}
		out = append(out, info)
	}
	return out, nil
}
