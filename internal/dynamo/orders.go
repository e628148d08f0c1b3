package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// PlaceOrder places an order in one TransactWriteItems (gc.PlanOrder
// decides): the order, its gift cards, the customer's balance, the ledger
// transaction, an outbox record per email and the idempotency record. The
// emails come back in the result for the caller to send right away.
func (s *Store) PlaceOrder(ctx context.Context, a gc.Actor, idemKey string, in gc.NewOrder) (gc.PlacedOrder, error) {
	if _, _, err := in.Validate(); err != nil {
		return gc.PlacedOrder{}, err
	}
	if len(in.GiftCards) > 0 && s.keyring == nil {
		return gc.PlacedOrder{}, fmt.Errorf("place order: no keyring configured to issue gift cards")
	}
	keys := []key{keyShop(a.ShopID)}
	if in.CustomerID != "" {
		if !gc.ValidID("cus", in.CustomerID) {
			return gc.PlacedOrder{}, gc.ErrCustomerNotFound
		}
		keys = append(keys, keyCustomer(a.ShopID, in.CustomerID))
	}
	return mutate(ctx, s, mutation[gc.PlacedOrder]{
		actor: a, op: "place_order", idemKey: idemKey, input: in, keys: keys,
		build: func(items []item) (plan[gc.PlacedOrder], error) {
			var p plan[gc.PlacedOrder]
			if items[0] == nil {
				return p, fmt.Errorf("place order: shop %s has no record", a.ShopID)
			}
			shop, err := decodeShop(items[0])
			if err != nil {
				return p, err
			}
			var cust *gc.CustomerState
			if in.CustomerID != "" && items[1] != nil {
				c, err := decodeCustomer(items[1])
				if err != nil {
					return p, err
				}
				cust = &c
			}
			orderID, err := s.ids.New("ord")
			if err != nil {
				return p, err
			}
			// An order of a customer may spend their credit: its id then
			// names the customer, for a refund's one read.
			var st gc.Stamp
			if in.CustomerID != "" {
				st, err = s.stampFor(a, idemKey, gc.CustomerAccount(in.CustomerID))
			} else {
				st, err = s.stamp(a, idemKey)
			}
			if err != nil {
				return p, err
			}
			codes := make([]gc.IssuedCode, len(in.GiftCards))
			for i := range codes {
				code, err := s.codes.New()
				if err != nil {
					return p, fmt.Errorf("place order: new code: %w", err)
				}
				id, err := s.cardID(a.ShopID, code)
				if err != nil {
					return p, err
				}
				codes[i] = gc.IssuedCode{CardID: id, Display: code.Display(), Last4: code.Last4()}
			}
			op, err := gc.PlanOrder(st, in, shop, cust, orderID, codes)
			if err != nil {
				return p, err
			}
			o, tx, now := op.Order, op.Tx, op.Tx.CreatedAt
			var acts []action
			if op.Change != nil {
				acts = append(acts, s.balanceWrites(a.ShopID, *op.Change)...)
			}
			for _, card := range op.Cards {
				// A code collision (2^-80 per pair) or a replayed random
				// source fails this condition; retrying draws a new code.
				acts = append(acts, s.putNew(cardItem(a.ShopID, card), nil))
			}
			txAct, err := s.putTx(a.ShopID, tx)
			if err != nil {
				return p, err
			}
			acts = append(acts, s.putNew(orderItem(a.ShopID, o), nil), txAct)
			emails, err := s.mail.OrderEmails(shop, o)
			if err != nil {
				return p, fmt.Errorf("place order: compose emails: %w", err)
			}
			for i := range emails {
				if emails[i].ID, err = s.ids.New("msg"); err != nil {
					return p, err
				}
				act, err := s.outboxPut(a.ShopID, emails[i], now)
				if err != nil {
					return p, err
				}
				acts = append(acts, act)
			}
			p.acts, p.sealed = acts, len(o.GiftCards) > 0
			p.result = gc.PlacedOrder{Order: o, Emails: emails}
			return p, nil
		},
	})
}

func orderItem(shopID string, o gc.Order) item {
	it := keyOrder(shopID, o.ID).av()
	it["id"] = avS(o.ID)
	it.setS("customerId", o.CustomerID)
	it["billingName"] = avS(o.BillingName)
	it["billingEmail"] = avS(o.BillingEmail)
	it["paymentMethod"] = avS(o.PaymentMethod)
	it["currency"] = avS(o.Currency)
	cards := make([]types.AttributeValue, len(o.GiftCards))
	for i, c := range o.GiftCards {
		m := item{"id": avS(c.ID), "last4": avS(c.Last4), "amount": avN(c.Amount)}
		m.setS("recipientEmail", c.RecipientEmail)
		cards[i] = avM(m)
	}
	// Empty lists are not stored: they carry nothing, and minidyn's
	// rollback of a cancelled transaction turns them into typeless values.
	if len(cards) > 0 {
		it["giftCards"] = avL(cards)
	}
	goods := make([]types.AttributeValue, len(o.Goods))
	for i, g := range o.Goods {
		goods[i] = avM(item{"description": avS(g.Description), "unitPrice": avN(g.UnitPrice), "quantity": avN(g.Quantity)})
	}
	if len(goods) > 0 {
		it["goods"] = avL(goods)
	}
	it["giftCardTotal"] = avN(o.GiftCardTotal)
	it["goodsTotal"] = avN(o.GoodsTotal)
	it["total"] = avN(o.Total)
	it["creditApplied"] = avN(o.CreditApplied)
	it["amountDue"] = avN(o.AmountDue)
	it["transactionId"] = avS(o.TransactionID)
	at := fmtTime(o.CreatedAt)
	it["createdAt"] = avS(at)
	it[attrGSI1PK] = avS(gsiOrders(shopID, o.CreatedAt, o.ID))
	it[attrGSI1SK] = avS(at + "#" + o.ID)
	return it
}

func decodeOrder(it item) (gc.Order, error) {
	o := gc.Order{ID: it.s("id"), CustomerID: it.s("customerId"), BillingName: it.s("billingName"),
		BillingEmail: it.s("billingEmail"), PaymentMethod: it.s("paymentMethod"), Currency: it.s("currency"),
		TransactionID: it.s("transactionId"), GiftCards: []gc.OrderCard{}, Goods: []gc.OrderLine{}}
	var err error
	nums := []struct {
		k string
		p *int64
	}{{"giftCardTotal", &o.GiftCardTotal}, {"goodsTotal", &o.GoodsTotal}, {"total", &o.Total},
		{"creditApplied", &o.CreditApplied}, {"amountDue", &o.AmountDue}}
	for _, n := range nums {
		if *n.p, err = it.n(n.k); err != nil {
			return o, err
		}
	}
	for _, v := range it.l("giftCards") {
		m := asItem(v)
		c := gc.OrderCard{ID: m.s("id"), Last4: m.s("last4"), RecipientEmail: m.s("recipientEmail")}
		if c.Amount, err = m.n("amount"); err != nil {
			return o, err
		}
		o.GiftCards = append(o.GiftCards, c)
	}
	for _, v := range it.l("goods") {
		m := asItem(v)
		g := gc.OrderLine{Description: m.s("description")}
		if g.UnitPrice, err = m.n("unitPrice"); err != nil {
			return o, err
		}
		if g.Quantity, err = m.n("quantity"); err != nil {
			return o, err
		}
		o.Goods = append(o.Goods, g)
	}
	o.CreatedAt, err = it.t("createdAt")
	return o, err
}

// Order returns an order; its gift cards show only last4.
func (s *Store) Order(ctx context.Context, shopID, orderID string) (gc.Order, error) {
	if !gc.ValidID("ord", orderID) {
		return gc.Order{}, errOrderNotFound
	}
	it, err := s.getOne(ctx, keyOrder(shopID, orderID))
	if err != nil {
		return gc.Order{}, fmt.Errorf("get order: %w", err)
	}
	if it == nil {
		return gc.Order{}, errOrderNotFound
	}
	return decodeOrder(it)
}

var errOrderNotFound = gc.Errorf(gc.ENOTFOUND, "order not found")
