package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// A promotion grant is one TransactWriteItems:
//
//	grant record     SHOP#<s>#PROMO#<p>#GRANT#<order>[#<card>]  GRANT      put if absent: never twice
//	customer count   SHOP#<s>#PROMO#<p>#CUST#<customer>         GRANTS     ADD granted 1 if granted < limit
//	promotion        SHOP#<s>#PROMO#<p>                         PROMO      budgetRemaining -= credit if status active
//	                                                                       and budgetRemaining >= credit (a condition
//	                                                                       check on status without a budget)
//	customer         SHOP#<s>#CUST#<customer>                   CUSTOMER   balance += credit if version unchanged
//	transaction      SHOP#<s>#TX#<id>                           TX         promotion_expense -credit, customer +credit
//	notice           SHOP#<s>#MAIL#<id>                         MAIL       the customer's credit notice, in the outbox
//	each card        SHOP#<s>#CARD#<id>                         CARD       condition check: not disabled
//	waiting record   SHOP#<s>#PROMO#<p>#WAIT#<grant key>        WAIT       resolved, for a candidate that waited
//
// It is planned from one consistent TransactGetItems of the grant record,
// the promotion, the customer, the customer's count and the cards, so that
// every skip is decided without writing. Every condition's failure means
// "something changed since the read": the grant reads again and decides
// again (a concurrent worker granted it, the budget or the limit ran out, a
// card was disabled, the promotion was paused). Grant records, counts and
// waiting records have their own partition keys, so parallel workers do not
// share a partition except on the promotion item's budget.

func keyGrant(shopID, promoID, grantKey string) key {
	return key{shopPrefix(shopID) + "PROMO#" + promoID + "#GRANT#" + grantKey, "GRANT"}
}

func keyPromoCustomer(shopID, promoID, customerID string) key {
	return key{shopPrefix(shopID) + "PROMO#" + promoID + "#CUST#" + customerID, "GRANTS"}
}

// promotionActor is who grant transactions are recorded as made by.
const promotionActor = "promotion-run"

// Grant grants one candidate's credit, at most once per grant key.
func (s *Store) Grant(ctx context.Context, r gc.GrantRequest) (gc.GrantOutcome, error) {
	shopID, c := r.Shop.ID, r.Candidate
	if !gc.ValidID("pro", r.Promotion.ID) {
		return gc.GrantOutcome{}, errPromotionNotFound
	}
	if len(c.Cards) == 0 || len(c.Cards) > gc.MaxGiftCards {
		return gc.GrantOutcome{}, fmt.Errorf("grant: candidate %s has %d cards", c.OrderID, len(c.Cards))
	}
	gk := c.Key(r.Promotion.Per)
	customerID, err := s.grantCustomer(ctx, shopID, c)
	if err != nil || customerID == "" {
		return gc.GrantOutcome{Skip: gc.SkipNoCustomer}, err
	}
	keys := []key{keyGrant(shopID, r.Promotion.ID, gk), keyPromotion(shopID, r.Promotion.ID),
		keyCustomer(shopID, customerID), keyPromoCustomer(shopID, r.Promotion.ID, customerID)}
	for _, card := range c.Cards {
		keys = append(keys, keyCard(shopID, card.ID))
	}
	return mutate(ctx, s, mutation[gc.GrantOutcome]{
		actor: gc.System(shopID, promotionActor), op: "promotion_grant", keys: keys,
		build: func(items []item) (plan[gc.GrantOutcome], error) {
			var pl plan[gc.GrantOutcome]
			if g := items[0]; g != nil {
				pl.result, err = grantOutcome(g, r.RunID)
				return pl, err
			}
			if items[1] == nil {
				return pl, errPromotionNotFound
			}
			p, err := decodePromotion(items[1])
			if err != nil {
				return pl, err
			}
			if p.Status != gc.PromotionActive {
				return pl, gc.ErrPromotionNotActive
			}
			if items[2] == nil {
				pl.result = gc.GrantOutcome{Skip: gc.SkipNoCustomer}
				return pl, nil
			}
			cust, err := decodeCustomer(items[2])
			if err != nil {
				return pl, err
			}
			pl.result.CustomerID = cust.ID
			status := map[string]gc.CardStatus{}
			for i, card := range c.Cards {
				if it := items[4+i]; it != nil {
					status[card.ID] = gc.CardStatus(it.s("status"))
				}
			}
			if reason := p.Qualifies(c, status); reason != "" {
				pl.result.Skip = reason
				return pl, nil
			}
			granted, err := item(items[3]).nOr("granted", 0)
			if err != nil {
				return pl, err
			}
			if granted >= p.PerCustomerLimit {
				pl.result.Skip = gc.SkipCustomerLimit
				return pl, nil
			}
			if p.BudgetRemaining != nil && *p.BudgetRemaining < p.CreditAmount {
				pl.result.Skip = gc.SkipBudgetExhausted
				return pl, nil
			}
			pl.acts, pl.result, err = s.planGrant(r, p, cust, gk, status)
			return pl, err
		},
	})
}

// grantCustomer returns the candidate's customer: the order's, or for a
// guest order the one whose email is the billing email ("" if none).
func (s *Store) grantCustomer(ctx context.Context, shopID string, c gc.GrantCandidate) (string, error) {
	if c.CustomerID != "" {
		return c.CustomerID, nil
	}
	emailKey, err := gc.NormalizeEmail("billingEmail", c.BillingEmail)
	if err != nil {
		return "", nil
	}
	lock, err := s.getOne(ctx, keyEmail(shopID, emailKey))
	if err != nil || lock == nil {
		return "", err
	}
	return lock.s("customerId"), nil
}

// grantOutcome reports an existing grant: granted again for the run that
// wrote it (a retried batch counts the same), already granted for others.
func grantOutcome(g item, runID string) (gc.GrantOutcome, error) {
	out := gc.GrantOutcome{CustomerID: g.s("customerId")}
	if g.s("runId") != runID {
		out.Skip = gc.SkipAlreadyGranted
		return out, nil
	}
	amount, err := g.n("amount")
	if err != nil {
		return out, err
	}
	out.Granted, out.Amount, out.TransactionID = true, amount, g.s("transactionId")
	return out, nil
}

// planGrant plans the writes of a grant that every read allows.
func (s *Store) planGrant(r gc.GrantRequest, p gc.Promotion, cust customerRecord, gk string, status map[string]gc.CardStatus) ([]action, gc.GrantOutcome, error) {
	shopID, c := r.Shop.ID, r.Candidate
	tx, err := s.newTx(gc.System(shopID, promotionActor), gc.TxPromotionGrant, "grant:"+p.ID+":"+gk)
	if err != nil {
		return nil, gc.GrantOutcome{}, err
	}
	tx.CustomerID, tx.OrderID, tx.Reference = cust.ID, c.OrderID, truncate("Promotion: "+p.Name, gc.MaxReferenceLen)
	custAct, posting, err := s.moveBalance(shopID, cust, p.Currency, p.CreditAmount)
	if err != nil {
		return nil, gc.GrantOutcome{}, err
	}
	tx.Postings = []gc.Posting{{Account: gc.AccountPromotionExpense, Currency: p.Currency, Amount: -p.CreditAmount}, posting}
	txAct, err := s.putTx(shopID, tx)
	if err != nil {
		return nil, gc.GrantOutcome{}, err
	}
	now := tx.CreatedAt

	g := keyGrant(shopID, p.ID, gk).av()
	g["promotionId"] = avS(p.ID)
	g["orderId"] = avS(c.OrderID)
	if p.Per == gc.PerCard {
		g["cardId"] = avS(c.Cards[0].ID)
	}
	g["customerId"] = avS(cust.ID)
	g["runId"] = avS(r.RunID)
	g["currency"] = avS(p.Currency)
	g["amount"] = avN(p.CreditAmount)
	g["transactionId"] = avS(tx.ID)
	g["createdAt"] = avS(fmtTime(now))

	active := item{":active": avS(string(gc.PromotionActive))}
	statusName := map[string]string{"#status": "status"}
	var promoAct action
	if p.BudgetRemaining != nil {
		active[":credit"] = avN(p.CreditAmount)
		promoAct = s.update(keyPromotion(shopID, p.ID), "SET budgetRemaining = budgetRemaining - :credit",
			"#status = :active AND budgetRemaining >= :credit", statusName, active, nil)
	} else {
		promoAct = s.check(keyPromotion(shopID, p.ID), "#status = :active", statusName, active)
	}
	counter := s.update(keyPromoCustomer(shopID, p.ID, cust.ID), "SET promotionId = :p, customerId = :c ADD granted :one",
		"attribute_not_exists(granted) OR granted < :limit", nil,
		item{":p": avS(p.ID), ":c": avS(cust.ID), ":one": avN(1), ":limit": avN(p.PerCustomerLimit)}, nil)

	notice, err := s.mail.PromotionCreditEmail(r.Shop, p, cust.Customer)
	if err != nil {
		return nil, gc.GrantOutcome{}, fmt.Errorf("grant: compose notice: %w", err)
	}
	if notice.ID, err = s.ids.New("msg"); err != nil {
		return nil, gc.GrantOutcome{}, err
	}
	noticeAct, err := s.outboxPut(shopID, notice, now)
	if err != nil {
		return nil, gc.GrantOutcome{}, err
	}

	// The grant record goes first: when several conditions fail at once,
	// the reread finds the grant and reports it.
	acts := []action{s.putNew(g, nil), promoAct, counter, custAct, txAct, noticeAct}
	for _, card := range c.Cards {
		// Only the cards that counted are checked; a disabled one stays so.
		if st, ok := status[card.ID]; ok && st != gc.CardDisabled {
			acts = append(acts, s.check(keyCard(shopID, card.ID), "#status <> :disabled", statusName,
				item{":disabled": avS(string(gc.CardDisabled))}))
		}
	}
	if r.Waiting {
		acts = append(acts, s.resolveWaiting(shopID, p.ID, gk))
	}
	out := gc.GrantOutcome{Granted: true, CustomerID: cust.ID, Amount: p.CreditAmount, TransactionID: tx.ID}
	return acts, out, nil
}

// check plans a condition check on an item that the transaction does not
// write. Its failure means "changed since read": read again and retry.
func (s *Store) check(k key, cond string, names map[string]string, vals item) action {
	return action{w: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(s.table), Key: k.av(), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	}}}
}

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
