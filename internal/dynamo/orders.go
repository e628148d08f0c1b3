package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/money"
)

// PlaceOrder places an order in one TransactWriteItems: the order, its gift
// cards, the customer's balance (credit applied to goods), the ledger
// transaction, an outbox record per email and the idempotency record. The
// emails come back in the result for the caller to send right away.
func (s *Store) PlaceOrder(ctx context.Context, a gc.Actor, idemKey string, in gc.NewOrder) (gc.PlacedOrder, error) {
	cardsTotal, goodsTotal, err := in.Validate()
	if err != nil {
		return gc.PlacedOrder{}, err
	}
	if _, err := money.LookupCurrency(in.Currency); err != nil {
		return gc.PlacedOrder{}, gc.Invalid("currency", "currency must be an ISO 4217 code such as USD")
	}
	if len(in.GiftCards) > 0 && s.keyring == nil {
		return gc.PlacedOrder{}, fmt.Errorf("place order: no keyring configured to issue gift cards")
	}
	keys := []key{keyShop(a.ShopID)}
	if in.CustomerID != "" {
		if !gc.ValidID("cus", in.CustomerID) {
			return gc.PlacedOrder{}, errCustomerNotFound
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
			if !shop.AllowsTender(a.Role, in.PaymentMethod) {
				return p, gc.Errorf(gc.EFORBIDDEN, "paymentMethod %s needs an admin key: a shop key may pay with card%s", in.PaymentMethod, tenderList(shop.ShopTenders))
			}
			orderID, err := s.ids.New("ord")
			if err != nil {
				return p, err
			}
			tx, err := s.newTx(a, gc.TxOrder, idemKey)
			if err != nil {
				return p, err
			}
			now := tx.CreatedAt
			o := gc.Order{
				ID: orderID, CustomerID: in.CustomerID, BillingName: in.BillingName, BillingEmail: in.BillingEmail,
				PaymentMethod: in.PaymentMethod, Currency: in.Currency, Goods: in.Goods,
				GiftCardTotal: cardsTotal, GoodsTotal: goodsTotal, Total: cardsTotal + goodsTotal,
				TransactionID: tx.ID, CreatedAt: now,
			}
			if o.Goods == nil {
				o.Goods = []gc.OrderLine{}
			}
			tx.OrderID, tx.CustomerID = orderID, in.CustomerID
			var acts []action
			if in.CustomerID != "" {
				cust, err := customerFrom(items[1])
				if err != nil {
					return p, err
				}
				// Credit pays only for goods, never for gift cards.
				if in.WantsCredit() {
					o.CreditApplied = min(cust.BalanceOf(in.Currency), goodsTotal)
				}
				if o.CreditApplied > 0 {
					act, posting, err := s.moveBalance(a.ShopID, cust, in.Currency, -o.CreditApplied)
					if err != nil {
						return p, err
					}
					acts = append(acts, act)
					tx.Postings = append(tx.Postings, posting)
				}
			}
			if o.AmountDue, err = money.SubInt64(o.Total, o.CreditApplied); err != nil {
				return p, fmt.Errorf("place order: amount due: %w", err)
			}
			if o.AmountDue > 0 {
				tx.Postings = append(tx.Postings, gc.Posting{Account: gc.FundingAccount(in.PaymentMethod), Currency: in.Currency, Amount: -o.AmountDue})
			}
			if goodsTotal > 0 {
				tx.Postings = append(tx.Postings, gc.Posting{Account: gc.AccountSales, Currency: in.Currency, Amount: goodsTotal})
			}
			o.GiftCards = make([]gc.OrderCard, 0, len(in.GiftCards))
			for _, nc := range in.GiftCards {
				code, err := s.codes.New()
				if err != nil {
					return p, fmt.Errorf("place order: new code: %w", err)
				}
				cardID, err := s.cardID(a.ShopID, code)
				if err != nil {
					return p, err
				}
				card := gc.GiftCard{ID: cardID, Last4: code.Last4(), Currency: in.Currency, InitialAmount: nc.Amount,
					Balance: nc.Amount, Status: gc.CardActive, OrderID: orderID, RecipientEmail: nc.RecipientEmail, CreatedAt: now}
				// A code collision (2^-80 per pair) or a replayed random
				// source fails this condition; retrying draws a new code.
				acts = append(acts, s.putNew(cardItem(a.ShopID, card), nil))
				bal := nc.Amount
				tx.Postings = append(tx.Postings, gc.Posting{Account: gc.CardAccount(cardID), Currency: in.Currency, Amount: nc.Amount, BalanceAfter: &bal, Version: 1})
				o.GiftCards = append(o.GiftCards, gc.OrderCard{ID: cardID, Code: code.Display(), Last4: card.Last4, Amount: nc.Amount, RecipientEmail: nc.RecipientEmail})
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

func tenderList(ts []string) string {
	if len(ts) == 0 {
		return ""
	}
	return " or " + strings.Join(ts, ", ")
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
	it[attrGSI1PK] = avS(gsiOrders(shopID))
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
