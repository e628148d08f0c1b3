package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// A promotion grant is one TransactWriteItems:
//
//	grant record     SHOP#<s>#PROMO#<p>#GRANT#<order>[#<card>]  GRANT      put if absent: never twice
//	customer count   SHOP#<s>#PROMO#<p>#CUST#<customer>         GRANTS     ADD granted 1 if granted < limit
//	promotion        SHOP#<s>#PROMO#<p>                         PROMO      only when paid from the budget (no lease,
//	                                                                       or the lease ran out): budgetRemaining -=
//	                                                                       credit if status active and
//	                                                                       budgetRemaining >= credit; otherwise not
//	                                                                       written nor checked (see grantWrites)
//	lease shard      SHOP#<s>#PROMO#<p>#RUN#<r>#BATCH#<n>#LEASE#<k>  LEASE leaseRemaining -= credit if leaseRemaining
//	                                                                       >= credit and not returned (paid from it:
//	                                                                       the candidate's own shard, or the first
//	                                                                       other that can pay)
//	customer         SHOP#<s>#CUST#<customer>                   CUSTOMER   balance += credit if version unchanged
//	transaction      SHOP#<s>#TX#<id>                           TX         promotion_expense -credit, customer +credit
//	notice           SHOP#<s>#MAIL#<id>                         MAIL       the customer's credit notice, in the outbox
//	each card        SHOP#<s>#CARD#<id>                         CARD       condition check: not disabled
//	waiting record   SHOP#<s>#PROMO#<p>#WAIT#<grant key>        WAIT       resolved, for a candidate that waited
//
// It is planned from one consistent TransactGetItems of the grant record,
// the promotion, the customer, the customer's count, the cards and the
// shards of the batch's lease, so that every skip is decided without
// writing. Every
// condition's failure means "something changed since the read": the grant
// reads again and decides again (a concurrent worker granted it, the lease,
// the budget or the limit ran out, the lease was returned, a card was
// disabled, the promotion was paused). Grant records, counts and waiting
// records have their own partition keys, and a budget is spent from the
// batch's lease (one batch is one worker's; its shards are a partition
// each, so a batch's grants spread over them), so parallel workers only read
// the promotion item and check its status: it is written once per batch
// (the lease, then its return; promorun.go), not once per grant. While a
// batch runs, the promotion's budgetRemaining, as the API shows it, is
// lower by what the batch still holds; once every batch is done it is the
// budget less what was granted, as if each grant had spent it directly.
// Only a grant whose lease cannot pay (a lease bounded by what was left)
// spends the promotion's budget directly, as every grant did before leases.

func keyGrant(shopID, promoID, grantKey string) key {
	return key{shopPrefix(shopID) + "PROMO#" + promoID + "#GRANT#" + grantKey, "GRANT"}
}

func keyPromoCustomer(shopID, promoID, customerID string) key {
	return key{shopPrefix(shopID) + "PROMO#" + promoID + "#CUST#" + customerID, "GRANTS"}
}

// promotionActor is who grant transactions are recorded as made by.
const promotionActor = "promotion-run"

// Grant grants one candidate's credit, at most once per grant key.
func (s *Store) Grant(ctx context.Context, r promotion.GrantRequest) (promotion.GrantOutcome, error) {
	shopID, c := r.Shop.ID, r.Candidate
	if !gc.ValidID("pro", r.Promotion.ID) {
		return promotion.GrantOutcome{}, gc.ErrPromotionNotFound
	}
	if len(c.Cards) == 0 || len(c.Cards) > gc.MaxGiftCards {
		return promotion.GrantOutcome{}, fmt.Errorf("grant: candidate %s has %d cards", c.OrderID, len(c.Cards))
	}
	gk := c.Key(r.Promotion.Per)
	customerID, err := s.grantCustomer(ctx, shopID, c)
	if err != nil || customerID == "" {
		return promotion.GrantOutcome{Skip: gc.SkipNoCustomer}, err
	}
	keys := []key{keyGrant(shopID, r.Promotion.ID, gk), keyPromotion(shopID, r.Promotion.ID),
		keyCustomer(shopID, customerID), keyPromoCustomer(shopID, r.Promotion.ID, customerID)}
	for _, card := range c.Cards {
		keys = append(keys, keyCard(shopID, card.ID))
	}
	if leased(r) {
		// Every shard of the batch's lease: the candidate spends its own
		// first, another one's if its own cannot pay.
		keys = append(keys, leaseKeys(shopID, r.Promotion.ID, r.RunID, r.Seq, r.BatchSize)...)
	}
	return mutate(ctx, s, mutation[promotion.GrantOutcome]{
		actor: gc.System(shopID, promotionActor), op: "promotion_grant", keys: keys,
		build: func(items []item) (plan[promotion.GrantOutcome], error) {
			var pl plan[promotion.GrantOutcome]
			state, err := s.grantState(r, items)
			if err != nil {
				return pl, err
			}
			st, err := s.stamp(gc.System(shopID, promotionActor), promotion.GrantIdempotencyKey(r.Promotion.ID, gk))
			if err != nil {
				return pl, err
			}
			gp, err := promotion.PlanGrant(st, r, state)
			if err != nil || !gp.Outcome.Granted || state.Existing != nil {
				pl.result = gp.Outcome
				return pl, err
			}
			pl.acts, err = s.grantWrites(r, *state.Promotion, *state.Customer, gk, state.CardStatus, gp)
			pl.result = gp.Outcome
			return pl, err
		},
	})
}

// leased says whether a grant is paid from its batch's lease: a promotion
// with a budget, granted by a batch.
func leased(r promotion.GrantRequest) bool { return r.Promotion.Budget != nil && r.Seq > 0 }

// grantState decodes what a grant read: the grant record, the promotion,
// the customer, the customer's count, the candidate's cards and the
// shards of the batch's lease (last, if read).
func (s *Store) grantState(r promotion.GrantRequest, items []item) (promotion.GrantState, error) {
	c := r.Candidate
	var st promotion.GrantState
	if g := items[0]; g != nil {
		amount, err := g.n("amount")
		if err != nil {
			return st, err
		}
		st.Existing = &promotion.GrantRecord{RunID: g.s("runId"), CustomerID: g.s("customerId"), Amount: amount, TransactionID: g.s("transactionId")}
		return st, nil
	}
	if items[1] != nil {
		p, err := decodePromotion(items[1])
		if err != nil {
			return st, err
		}
		st.Promotion = &p
	}
	if items[2] != nil {
		cust, err := decodeCustomer(items[2])
		if err != nil {
			return st, err
		}
		st.Customer = &cust
	}
	st.CardStatus = map[string]gc.CardStatus{}
	for i, card := range c.Cards {
		if it := items[4+i]; it != nil {
			st.CardStatus[card.ID] = gc.CardStatus(it.s("status"))
		}
	}
	if n := 4 + len(c.Cards); len(items) > n {
		shards := items[n:]
		st.Shards = make([]int64, len(shards))
		for k, l := range shards {
			if l == nil || l.s(attrLeaseReturned) != "" {
				continue
			}
			left, err := l.n(attrLeaseRemaining)
			if err != nil {
				return st, err
			}
			st.Shards[k] = left
			if k == promotion.LeaseShard(r.Index, len(shards)) {
				st.Lease = &left
			}
		}
	}
	var err error
	st.Granted, err = item(items[3]).nOr("granted", 0)
	return st, err
}

// grantCustomer returns the candidate's customer: the order's, or for a
// guest order the one whose email is the billing email ("" if none).
func (s *Store) grantCustomer(ctx context.Context, shopID string, c promotion.GrantCandidate) (string, error) {
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

// ResolveGuests fills in the customers of guest candidates from the email
// locks of their billing emails, with BatchGetItem (100 keys a call).
func (s *Store) ResolveGuests(ctx context.Context, shopID string, cands []promotion.GrantCandidate) error {
	byEmail := map[string][]int{}
	var keys []item
	for i, c := range cands {
		if c.CustomerID != "" {
			continue
		}
		email, err := gc.NormalizeEmail("billingEmail", c.BillingEmail)
		if err != nil {
			continue
		}
		if _, ok := byEmail[email]; !ok {
			keys = append(keys, keyEmail(shopID, email).av())
		}
		byEmail[email] = append(byEmail[email], i)
	}
	err := s.batchGet(ctx, keys, "", nil, func(it item) (bool, error) {
		email, _ := strings.CutPrefix(it.s(attrPK), shopPrefix(shopID)+"EMAIL#")
		for _, i := range byEmail[email] {
			cands[i].CustomerID = it.s("customerId")
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("resolve guests: %w", err)
	}
	return nil
}

// grantWrites encodes a grant that PlanGrant decided.
func (s *Store) grantWrites(r promotion.GrantRequest, p gc.Promotion, cust gc.CustomerState, gk string, status map[string]gc.CardStatus, gp promotion.GrantPlan) ([]action, error) {
	shopID, c, tx := r.Shop.ID, r.Candidate, *gp.Tx
	custActs := s.balanceWrites(shopID, *gp.Change)
	txAct, err := s.putTx(shopID, tx)
	if err != nil {
		return nil, err
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
	// Only a grant paid from what is left unleased writes the promotion
	// item. Neither a grant from a lease nor one of a promotion without a
	// budget touches it, not even with a condition check (which costs write
	// units on the item's partition like a write): the promotion's status
	// was read in the grant's consistent read, so a pause stops every grant
	// that reads after it; one whose read came first may still commit
	// (milliseconds), and no budget is ever exceeded either way.
	var budgetActs []action
	switch {
	case gp.FromLease:
		budgetActs = append(budgetActs, s.update(keyLease(shopID, p.ID, r.RunID, r.Seq, gp.LeaseShard),
			"SET "+attrLeaseRemaining+" = "+attrLeaseRemaining+" - :credit",
			attrLeaseRemaining+" >= :credit AND attribute_not_exists("+attrLeaseReturned+")", nil,
			item{":credit": avN(p.CreditAmount)}, nil))
	case p.BudgetRemaining != nil:
		active[":credit"] = avN(p.CreditAmount)
		budgetActs = append(budgetActs, s.update(keyPromotion(shopID, p.ID), "SET budgetRemaining = budgetRemaining - :credit",
			"#status = :active AND budgetRemaining >= :credit", statusName, active, nil))
	}
	counter := s.update(keyPromoCustomer(shopID, p.ID, cust.ID), "SET promotionId = :p, customerId = :c ADD granted :one",
		"attribute_not_exists(granted) OR granted < :limit", nil,
		item{":p": avS(p.ID), ":c": avS(cust.ID), ":one": avN(1), ":limit": avN(p.PerCustomerLimit)}, nil)

	notice, err := s.mail.PromotionCreditEmail(r.Shop, p, cust.Customer)
	if err != nil {
		return nil, fmt.Errorf("grant: compose notice: %w", err)
	}
	if notice.ID, err = s.ids.New("msg"); err != nil {
		return nil, err
	}
	noticeAct, err := s.outboxPut(shopID, notice, now)
	if err != nil {
		return nil, err
	}

	// The grant record goes first: when several conditions fail at once,
	// the reread finds the grant and reports it.
	acts := append([]action{s.putNew(g, nil)}, budgetActs...)
	acts = append(append(append(acts, counter), custActs...), txAct, noticeAct)
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
	return acts, nil
}

// check plans a condition check on an item that the transaction does not
// write. Its failure means "changed since read": read again and retry.
func (s *Store) check(k key, cond string, names map[string]string, vals item) action {
	return action{w: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(s.table), Key: k.av(), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	}}}
}
