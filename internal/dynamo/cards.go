package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// parseCode normalises what a person typed. A malformed code (bad length,
// symbol or check character) reveals nothing and is EINVALID.
func parseCode(code string) (giftcode.Code, error) {
	c, err := giftcode.Normalize(code)
	if err != nil {
		return "", gc.Invalid("code", "the gift card code is malformed (check for a typo)")
	}
	return c, nil
}

// cardID derives a card's id from the keyed hash of its code: the id is
// the only handle stored, and the code cannot be recovered from it.
func (s *Store) cardID(shopID string, c giftcode.Code) (string, error) {
	if s.keyring == nil {
		return "", fmt.Errorf("gift card code: no keyring configured")
	}
	return "gc_" + s.keyring.Hash(shopID, c)[:32], nil
}

// ValidCardID reports whether s has the shape of a card id (gc.ValidCardID).
func ValidCardID(s string) bool { return gc.ValidCardID(s) }

func cardItem(shopID string, c gc.GiftCard) item {
	it := keyCard(shopID, c.ID).av()
	it["id"] = avS(c.ID)
	it["last4"] = avS(c.Last4)
	it["currency"] = avS(c.Currency)
	it["initialAmount"] = avN(c.InitialAmount)
	it["balance"] = avN(c.Balance)
	it["status"] = avS(string(c.Status))
	it["orderId"] = avS(c.OrderID)
	it.setS("recipientEmail", c.RecipientEmail)
	it["createdAt"] = avS(fmtTime(c.CreatedAt))
	it["version"] = avN(1)
	it[attrGSI1PK] = avS(gsiCards(shopID, c.ID))
	it[attrGSI1SK] = avS(c.ID)
	return it
}

func decodeCard(it item) (gc.CardState, error) {
	r := gc.CardState{GiftCard: gc.GiftCard{
		ID: it.s("id"), Last4: it.s("last4"), Currency: it.s("currency"),
		Status: gc.CardStatus(it.s("status")), OrderID: it.s("orderId"), RecipientEmail: it.s("recipientEmail"),
	}}
	var err error
	if r.InitialAmount, err = it.n("initialAmount"); err != nil {
		return r, err
	}
	if r.Balance, err = it.n("balance"); err != nil {
		return r, err
	}
	if r.Version, err = it.n("version"); err != nil {
		return r, err
	}
	if r.Held, err = it.nOr("held", 0); err != nil {
		return r, err
	}
	r.CreatedAt, err = it.t("createdAt")
	return r, err
}

// cardFrom decodes a card read by a mutation; nil if there is none.
func cardFrom(it item) (*gc.CardState, error) {
	if it == nil {
		return nil, nil
	}
	c, err := decodeCard(it)
	return &c, err
}

// cardUpdate encodes a planned card change, conditioned on the card being
// active at the version read.
func (s *Store) cardUpdate(shopID string, ch gc.CardChange, fail error) action {
	return s.update(keyCard(shopID, ch.CardID),
		"SET #status = :status, balance = :balance, version = :next",
		"#status = :active AND version = :v",
		map[string]string{"#status": "status"},
		item{":status": avS(string(ch.Status)), ":balance": avN(ch.Balance), ":next": avN(ch.Version + 1),
			":active": avS(string(gc.CardActive)), ":v": avN(ch.Version)},
		fail)
}

// Redeem moves a card's whole balance onto a customer's credit.
func (s *Store) Redeem(ctx context.Context, a gc.Actor, idemKey, customerID, code, clientRef string) (gc.Redemption, error) {
	c, err := parseCode(code)
	if err != nil {
		return gc.Redemption{}, err
	}
	cardID, err := s.cardID(a.ShopID, c)
	if err != nil {
		return gc.Redemption{}, err
	}
	if !gc.ValidID("cus", customerID) {
		return gc.Redemption{}, gc.ErrCustomerNotFound
	}
	// The request fingerprint holds the card id, never the code.
	input := struct{ CustomerID, CardID string }{customerID, cardID}
	limits, err := s.limitKeys(a.ShopID, customerID, clientRef)
	if err != nil {
		return gc.Redemption{}, err
	}
	r, err := mutate(ctx, s, mutation[gc.Redemption]{
		actor: a, op: "redeem", idemKey: idemKey, input: input,
		keys: append([]key{keyCard(a.ShopID, cardID), keyCustomer(a.ShopID, customerID)}, limits.locks...),
		build: func(items []item) (plan[gc.Redemption], error) {
			var p plan[gc.Redemption]
			cust, err := customerFrom(items[1])
			if err != nil {
				return p, err
			}
			if err := s.checkLimits(limits, items[2:]); err != nil {
				return p, err
			}
			card, err := cardFrom(items[0])
			if err != nil {
				return p, err
			}
			st, err := s.stamp(a, idemKey)
			if err != nil {
				return p, err
			}
			rp, err := gc.PlanRedemption(st, cust, card)
			if err != nil {
				return p, err
			}
			txAct, err := s.putTx(a.ShopID, rp.Tx)
			if err != nil {
				return p, err
			}
			p.acts = append(append([]action{s.cardUpdate(a.ShopID, rp.Card, gc.ErrCardUnavailable)}, s.balanceWrites(a.ShopID, rp.Change)...), txAct)
			p.result = rp.Result
			return p, nil
		},
	})
	if errors.Is(err, gc.ErrCardUnavailable) {
		if cerr := s.countFailure(ctx, limits); cerr != nil {
			return r, cerr
		}
	}
	return r, err
}

// CheckCard returns the card a code belongs to.
func (s *Store) CheckCard(ctx context.Context, shopID, code, clientRef string) (gc.GiftCard, error) {
	c, err := parseCode(code)
	if err != nil {
		return gc.GiftCard{}, err
	}
	id, err := s.cardID(shopID, c)
	if err != nil {
		return gc.GiftCard{}, err
	}
	limits, err := s.limitKeys(shopID, "", clientRef)
	if err != nil {
		return gc.GiftCard{}, err
	}
	items, err := s.get(ctx, append([]key{keyCard(shopID, id)}, limits.locks...)...)
	if err != nil {
		return gc.GiftCard{}, fmt.Errorf("check card: %w", err)
	}
	if err := s.checkLimits(limits, items[1:]); err != nil {
		return gc.GiftCard{}, err
	}
	if items[0] == nil {
		if cerr := s.countFailure(ctx, limits); cerr != nil {
			return gc.GiftCard{}, cerr
		}
		return gc.GiftCard{}, gc.ErrCardUnavailable
	}
	r, err := decodeCard(items[0])
	return r.GiftCard, err
}

// Card returns a card by id.
func (s *Store) Card(ctx context.Context, shopID, cardID string) (gc.GiftCard, error) {
	if !ValidCardID(cardID) {
		return gc.GiftCard{}, gc.ErrCardNotFound
	}
	it, err := s.getOne(ctx, keyCard(shopID, cardID))
	if err != nil {
		return gc.GiftCard{}, fmt.Errorf("get card: %w", err)
	}
	if it == nil {
		return gc.GiftCard{}, gc.ErrCardNotFound
	}
	r, err := decodeCard(it)
	return r.GiftCard, err
}

// DisableCard disables an active card. Its balance stays on the card
// account (the liability is not released), but it can no longer be redeemed.
func (s *Store) DisableCard(ctx context.Context, a gc.Actor, idemKey, cardID string) (gc.GiftCard, error) {
	if !ValidCardID(cardID) {
		return gc.GiftCard{}, gc.ErrCardNotFound
	}
	return mutate(ctx, s, mutation[gc.GiftCard]{
		actor: a, op: "disable_card", idemKey: idemKey, input: cardID,
		keys: []key{keyCard(a.ShopID, cardID)},
		build: func(items []item) (plan[gc.GiftCard], error) {
			var p plan[gc.GiftCard]
			card, err := cardFrom(items[0])
			if err != nil {
				return p, err
			}
			out, ch, err := gc.PlanDisable(card)
			if err != nil {
				return p, err
			}
			if ch != nil {
				// Disabling writes no transaction: its event gets an
				// item of its own in the same write (events.go).
				ev, err := s.eventPut(a.ShopID, gc.CardDisabledEvent(a.ShopID, out, s.now()))
				if err != nil {
					return p, err
				}
				p.acts = []action{s.cardUpdate(a.ShopID, *ch, nil), ev}
			}
			p.result = out
			return p, nil
		},
	})
}
