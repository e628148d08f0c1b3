package giftcredit

import (
	"fmt"
	"time"

	"github.com/giftcredit/giftcredit/internal/money"
)

// This file holds the ledger's planners: for every mutation, a pure
// function from the state that was read (decoded domain values), the
// caller's validated input and a Stamp (the new transaction's id, the
// caller and the time) to the decision: the transaction with its postings,
// each stored balance change with the version it expects, the records to
// create and the result, or a domain error. A planner does no I/O; the
// storage adapter reads, calls it, encodes what it returns and writes it in
// one transaction, conditioned on the versions the plan names.

// Stamp is what a planner gets instead of a clock and a random source.
type Stamp struct {
	TxID           string
	Actor          Actor
	IdempotencyKey string
	At             time.Time
}

// Tx starts the transaction of kind that the stamp identifies.
func (s Stamp) Tx(kind TxKind) Transaction {
	return Transaction{ID: s.TxID, Kind: kind, Actor: s.Actor, IdempotencyKey: s.IdempotencyKey, CreatedAt: s.At.UTC()}
}

// CustomerState is a customer as read, with the version its next change
// must be conditioned on.
type CustomerState struct {
	Customer
	Version int64
	// Lots are the customer's live credit lots, LotSeq the number of
	// the last lot made (lots.go).
	Lots   []LotBalance
	LotSeq int64
}

// CardState is a gift card as read, with its version.
type CardState struct {
	GiftCard
	Version int64
}

// BalanceChange is a planned change of a customer's stored balance in one
// currency: After is written only if the customer is still at Version, and
// the version becomes Version+1.
type BalanceChange struct {
	CustomerID string
	Currency   string
	After      int64
	Version    int64
	// Lots is the currency's lots after the change.
	Lots LotsChange
}

// CardChange is a planned change of a card: its new status and balance,
// written only if it is still active at Version.
type CardChange struct {
	CardID  string
	Status  CardStatus
	Balance int64
	Version int64
}

// Errors the planners return; the storage adapter also uses them as the
// meaning of a failed write condition.
var (
	ErrCustomerNotFound = Errorf(ENOTFOUND, "customer not found")
	ErrTxNotFound       = Errorf(ENOTFOUND, "transaction not found")
	ErrCardNotFound     = Errorf(ENOTFOUND, "gift card not found")
	ErrAlreadyApplied   = Errorf(ECONFLICT, "credit was already applied to this order ref")
	ErrAlreadyReversed  = Errorf(ECONFLICT, "the transaction was already reversed")
	// ErrCardUnavailable is the one answer for a wrong, used or disabled
	// code, so that no response tells a guesser whether a code exists.
	ErrCardUnavailable = Errorf(ECONFLICT, "this gift card code cannot be redeemed")
)

// Move plans delta to the customer's balance in cur: the change and its
// posting with the balance after. Below zero is EINSUFFICIENTFUNDS; past
// int64 is EINVALID.
func (c CustomerState) Move(cur string, delta int64) (BalanceChange, Posting, error) {
	after, err := money.AddInt64(c.BalanceOf(cur), delta)
	if err != nil {
		return BalanceChange{}, Posting{}, Invalid("amount", "the balance would overflow")
	}
	if after < 0 {
		return BalanceChange{}, Posting{}, Errorf(EINSUFFICIENTFUNDS, "the customer's %s credit is %s", cur, FormatMinor(c.BalanceOf(cur), cur))
	}
	ch := BalanceChange{CustomerID: c.ID, Currency: cur, After: after, Version: c.Version}
	return ch, Posting{Account: CustomerAccount(c.ID), Currency: cur, Amount: delta, BalanceAfter: &after, Version: c.Version + 1}, nil
}

// FormatMinor renders minor units with the currency's exponent ("12.50
// USD"), or "<amount> <cur>" for a currency the table does not know.
func FormatMinor(amount int64, cur string) string {
	m, err := money.New(amount, cur)
	if err != nil {
		return fmt.Sprintf("%d %s", amount, cur)
	}
	return m.String()
}

// NewCustomerRecord is the customer CreateCustomer writes.
func NewCustomerRecord(in NewCustomer, id string, at time.Time) Customer {
	return Customer{ID: id, Email: in.Email, Name: in.Name, CreatedAt: at.UTC(), Balances: []Balance{}}
}

// PlanCredit credits a customer directly, balanced against the funding
// account of the payment type, onto a new lot that expires at
// in.ExpiresAt (in the future at st.At, at most 10 years ahead) or never.
func PlanCredit(st Stamp, in DirectCredit, cust CustomerState) (Transaction, BalanceChange, error) {
	tx := st.Tx(TxCredit)
	tx.CustomerID, tx.Reference = cust.ID, in.Reference
	exp, err := ValidateLotExpiry("expiresAt", in.ExpiresAt, st.At)
	if err != nil {
		return tx, BalanceChange{}, err
	}
	ch, posting, moves, err := cust.CreditLot(st, in.Currency, in.Amount, LotCredit, exp)
	if err != nil {
		return tx, ch, err
	}
	tx.Postings = []Posting{{Account: FundingAccount(in.PaymentType), Currency: in.Currency, Amount: -in.Amount}, posting}
	tx.Lots = moves
	return tx, ch, nil
}

// ApplicationPlan is the decision of a credit application. Tx and Change
// are nil when nothing could be applied: the application is still
// recorded, so a second one for the order ref is refused.
type ApplicationPlan struct {
	Result AppliedCredit
	Tx     *Transaction
	Change *BalanceChange
}

// PlanCreditApplication spends up to the customer's credit on an order of
// the shop's checkout, once per order ref (applied: one was recorded).
func PlanCreditApplication(st Stamp, in CreditApplication, cust CustomerState, applied bool) (ApplicationPlan, error) {
	if applied {
		return ApplicationPlan{}, ErrAlreadyApplied
	}
	// Only lots that have not expired at the request's clock are spent.
	spendable := cust.Spendable(in.Currency, st.At)
	amount := min(spendable, in.AmountDue)
	p := ApplicationPlan{Result: AppliedCredit{OrderRef: in.OrderRef, Currency: in.Currency, Applied: amount,
		AmountDue: in.AmountDue - amount, Balance: spendable - amount}}
	if amount <= 0 {
		return p, nil
	}
	tx := st.Tx(TxCreditApplication)
	tx.CustomerID, tx.OrderRef = cust.ID, in.OrderRef
	ch, posting, moves, err := cust.SpendLots(st, in.Currency, amount)
	if err != nil {
		return p, err
	}
	tx.Lots = moves
	tx.Postings = []Posting{posting, {Account: AccountSales, Currency: in.Currency, Amount: amount}}
	p.Result.TransactionID = tx.ID
	p.Tx, p.Change = &tx, &ch
	return p, nil
}

// reversible lists the kinds of transaction a reversal may compensate:
// those that touch only a customer and system accounts. Orders and
// redemptions involve gift cards; a card is disabled, not reversed.
var reversible = map[TxKind]bool{TxCredit: true, TxCreditApplication: true, TxPromotionGrant: true}

// ErrAlreadyRefunded refuses to reverse a spend that was partly refunded:
// the reversal would give back what the refunds already did.
var ErrAlreadyRefunded = Errorf(ECONFLICT, "the transaction was refunded; refund the rest instead of reversing it")

// PlanReversal posts the compensating transaction of one of a customer's
// transactions (orig nil: not found), once (reversed: it already was),
// and never of a spend that was refunded.
func PlanReversal(st Stamp, in Reversal, cust CustomerState, orig *Transaction, reversed, refunded bool) (Transaction, []BalanceChange, error) {
	if orig == nil || orig.CustomerID != cust.ID {
		return Transaction{}, nil, ErrTxNotFound
	}
	if !reversible[orig.Kind] {
		return Transaction{}, nil, Errorf(ECONFLICT, "a %s transaction cannot be reversed", orig.Kind)
	}
	if reversed {
		return Transaction{}, nil, ErrAlreadyReversed
	}
	if refunded {
		return Transaction{}, nil, ErrAlreadyRefunded
	}
	tx := st.Tx(TxReversal)
	tx.CustomerID, tx.Reverses, tx.Reference, tx.OrderRef = cust.ID, orig.ID, in.Reason, orig.OrderRef
	var changes []BalanceChange
	for _, op := range orig.Postings {
		if op.Account == CustomerAccount(cust.ID) {
			// A credit is taken back from the lot it made; a spend gives
			// back to the lots it took from.
			var ch BalanceChange
			var posting Posting
			var moves []LotMove
			var err error
			if op.Amount > 0 {
				ch, posting, moves, err = cust.ReverseCredit(st, op.Currency, op.Amount, orig.Lots)
			} else {
				ch, posting, moves, err = cust.RestoreLots(st, op.Currency, TakesOf(*orig, -op.Amount))
			}
			if err != nil {
				return tx, nil, err
			}
			changes = append(changes, ch)
			tx.Postings = append(tx.Postings, posting)
			tx.Lots = append(tx.Lots, moves...)
			continue
		}
		tx.Postings = append(tx.Postings, Posting{Account: op.Account, Currency: op.Currency, Amount: -op.Amount})
	}
	return tx, changes, nil
}

// RedemptionPlan is the decision of a redemption.
type RedemptionPlan struct {
	Result Redemption
	Tx     Transaction
	Change BalanceChange
	Card   CardChange
}

// PlanRedemption moves a card's whole balance onto a customer's credit.
// A missing, used, empty or disabled card is ErrCardUnavailable.
func PlanRedemption(st Stamp, cust CustomerState, card *CardState) (RedemptionPlan, error) {
	var p RedemptionPlan
	// A card with value on hold is not redeemed until its holds close:
	// a release must find the card able to take the value back.
	if card == nil || card.Status != CardActive || card.Balance <= 0 || card.Held > 0 {
		return p, ErrCardUnavailable
	}
	p.Tx = st.Tx(TxRedemption)
	p.Tx.CustomerID, p.Tx.OrderID = cust.ID, card.OrderID
	// Value paid for with money never expires.
	ch, posting, moves, err := cust.CreditLot(st, card.Currency, card.Balance, LotRedemption, time.Time{})
	if err != nil {
		return p, err
	}
	p.Tx.Lots = moves
	zero := int64(0)
	p.Tx.Postings = []Posting{
		{Account: CardAccount(card.ID), Currency: card.Currency, Amount: -card.Balance, BalanceAfter: &zero, Version: card.Version + 1},
		posting,
	}
	p.Change = ch
	p.Card = CardChange{CardID: card.ID, Status: CardRedeemed, Balance: 0, Version: card.Version}
	p.Result = Redemption{CardID: card.ID, Last4: card.Last4, Currency: card.Currency, Amount: card.Balance,
		Balance: *posting.BalanceAfter, TransactionID: p.Tx.ID}
	return p, nil
}

// PlanDisable disables an active card; its balance stays on the card
// account. Disabling a disabled card changes nothing (change nil); a
// redeemed card is ECONFLICT.
func PlanDisable(card *CardState) (GiftCard, *CardChange, error) {
	if card == nil {
		return GiftCard{}, nil, ErrCardNotFound
	}
	switch card.Status {
	case CardDisabled:
		return card.GiftCard, nil, nil
	case CardRedeemed:
		return GiftCard{}, nil, Errorf(ECONFLICT, "the gift card was already redeemed")
	}
	ch := &CardChange{CardID: card.ID, Status: CardDisabled, Balance: card.Balance, Version: card.Version}
	out := card.GiftCard
	out.Status = CardDisabled
	return out, ch, nil
}

// IssuedCode is a new gift card's code as the adapter drew and hashed it.
type IssuedCode struct {
	CardID  string
	Display string
	Last4   string
}

// OrderPlan is the decision of an order: the order (its cards with their
// codes), the cards to create, the ledger transaction and the change of
// the customer's balance if credit was applied.
type OrderPlan struct {
	Order  Order
	Cards  []GiftCard
	Tx     Transaction
	Change *BalanceChange
}

// PlanOrder places an order. The rules: a shop key pays only with the
// tenders its shop allows it; the customer's credit pays only for goods,
// never for gift cards (and only if the order wants it); whatever is not
// paid by credit is due from the payment method's funding account; goods
// are sales; each card is a liability account holding its amount. codes
// has one entry per requested card; cust is the order's customer as read
// (nil for a guest order, or when the customer does not exist).
func PlanOrder(st Stamp, in NewOrder, shop Shop, cust *CustomerState, orderID string, codes []IssuedCode) (OrderPlan, error) {
	var p OrderPlan
	cardsTotal, goodsTotal, err := in.Validate()
	if err != nil {
		return p, err
	}
	if !shop.AllowsTender(st.Actor.Role, in.PaymentMethod) {
		return p, Errorf(EFORBIDDEN, "paymentMethod %s needs an admin key: a shop key may pay with card%s", in.PaymentMethod, tenderList(shop.ShopTenders))
	}
	if len(codes) != len(in.GiftCards) {
		return p, fmt.Errorf("place order: %d codes for %d gift cards", len(codes), len(in.GiftCards))
	}
	if in.CustomerID != "" && cust == nil {
		return p, ErrCustomerNotFound
	}
	tx := st.Tx(TxOrder)
	now := tx.CreatedAt
	o := Order{
		ID: orderID, CustomerID: in.CustomerID, BillingName: in.BillingName, BillingEmail: in.BillingEmail,
		PaymentMethod: in.PaymentMethod, Currency: in.Currency, Goods: in.Goods,
		GiftCardTotal: cardsTotal, GoodsTotal: goodsTotal, Total: cardsTotal + goodsTotal,
		TransactionID: tx.ID, CreatedAt: now,
	}
	if o.Goods == nil {
		o.Goods = []OrderLine{}
	}
	tx.OrderID, tx.CustomerID = orderID, in.CustomerID
	if cust != nil {
		if in.WantsCredit() {
			o.CreditApplied = min(cust.Spendable(in.Currency, st.At), goodsTotal)
		}
		if o.CreditApplied > 0 {
			ch, posting, moves, err := cust.SpendLots(st, in.Currency, o.CreditApplied)
			if err != nil {
				return p, err
			}
			tx.Lots = moves
			p.Change = &ch
			tx.Postings = append(tx.Postings, posting)
		}
	}
	if o.AmountDue, err = money.SubInt64(o.Total, o.CreditApplied); err != nil {
		return p, fmt.Errorf("place order: amount due: %w", err)
	}
	if o.AmountDue > 0 {
		tx.Postings = append(tx.Postings, Posting{Account: FundingAccount(in.PaymentMethod), Currency: in.Currency, Amount: -o.AmountDue})
	}
	if goodsTotal > 0 {
		tx.Postings = append(tx.Postings, Posting{Account: AccountSales, Currency: in.Currency, Amount: goodsTotal})
	}
	o.GiftCards = make([]OrderCard, 0, len(in.GiftCards))
	for i, nc := range in.GiftCards {
		c := codes[i]
		card := GiftCard{ID: c.CardID, Last4: c.Last4, Currency: in.Currency, InitialAmount: nc.Amount,
			Balance: nc.Amount, Status: CardActive, OrderID: orderID, RecipientEmail: nc.RecipientEmail, CreatedAt: now}
		p.Cards = append(p.Cards, card)
		bal := nc.Amount
		tx.Postings = append(tx.Postings, Posting{Account: CardAccount(c.CardID), Currency: in.Currency, Amount: nc.Amount, BalanceAfter: &bal, Version: 1})
		o.GiftCards = append(o.GiftCards, OrderCard{ID: c.CardID, Code: c.Display, Last4: c.Last4, Amount: nc.Amount, RecipientEmail: nc.RecipientEmail})
	}
	if err := tx.Validate(); err != nil {
		return p, fmt.Errorf("place order: planned an invalid transaction: %w", err)
	}
	p.Order, p.Tx = o, tx
	return p, nil
}

func tenderList(ts []string) string {
	if len(ts) == 0 {
		return ""
	}
	out := " or "
	for i, t := range ts {
		if i > 0 {
			out += ", "
		}
		out += t
	}
	return out
}

// ErrPromotionNotFound is the answer for a promotion that does not exist.
var ErrPromotionNotFound = Errorf(ENOTFOUND, "promotion not found")

// TruncateText shortens s to at most n bytes without splitting a character.
func TruncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
