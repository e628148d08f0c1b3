package giftcredit

import (
	"context"
	"fmt"
	"time"

	"github.com/giftcredit/giftcredit/internal/money"
)

// This file holds the checkout: holds on a customer's credit or a gift
// card, their captures and releases, and refunds of spends, with their
// planners (pure, like those of plan.go).
//
// The ledger of a hold: the hold transaction moves value from its funds
// (customer:<id> or card:<id>) to hold:<id>; a capture moves part of it to
// sales; a release (void, the rest of a final capture, expiry) moves what
// is left back to the funds. The hold account's balance is stored on the
// hold item (what is still held) and, like a customer's or a card's, is
// the sum of its postings with a version per posting; the funds also keep
// a "held" figure (the sum of their open holds) for balances[] and card
// checks, which the audit proves against the holds.

// Checkout is the set of operations of a web shop's checkout: holds and
// refunds. Every mutation is atomic and idempotent like Ledger's; records
// of another shop are ENOTFOUND.
type Checkout interface {
	// CreateHold reserves min(amount, available) of a customer's credit or
	// of a gift card (by code). EINSUFFICIENTFUNDS when nothing is
	// available; ENOTFOUND for an unknown customer; a wrong, used or
	// disabled code is ErrCardUnavailable (ECONFLICT) and counts toward
	// the lockout like a redemption (ERATELIMITED once locked); a
	// malformed code is EINVALID.
	CreateHold(ctx context.Context, a Actor, idemKey string, in NewHold) (Hold, error)
	// Hold returns a hold as it stands now (HoldAsOf: past its expiresAt
	// it is expired, released or not), or ENOTFOUND.
	Hold(ctx context.Context, shopID, holdID string) (Hold, error)
	// CaptureHold takes part of what a hold still holds. ECONFLICT if the
	// hold is no longer held or has expired; EINSUFFICIENTFUNDS if the
	// amount exceeds what is held; ENOTFOUND.
	CaptureHold(ctx context.Context, a Actor, idemKey string, in HoldCapture) (Hold, error)
	// VoidHold releases what a hold has not captured; voiding a voided or
	// expired hold changes nothing (one past its expiresAt that the
	// release job has not released yet is released, and stays expired);
	// a fully captured hold is ECONFLICT.
	VoidHold(ctx context.Context, a Actor, idemKey, holdID string) (Hold, error)
	// Refund gives back part or all of a spend. ENOTFOUND (transaction,
	// customer); ECONFLICT if the transaction is not a spend, the card it
	// came from was redeemed since (refund to credit instead), or the
	// refunds would exceed the spend; EINVALID.
	Refund(ctx context.Context, a Actor, idemKey string, in NewRefund) (Refund, error)
}

// MaxClientRefLen bounds the clientRef a shop passes with a code.
const MaxClientRefLen = 128

// Hold limits: expiresIn in seconds. MaxCaptures bounds the captures of
// one hold, which are kept on its item (well under DynamoDB's 400 KB).
const (
	DefaultHoldExpiresIn = 7 * 24 * 3600
	MinHoldExpiresIn     = 60
	MaxHoldExpiresIn     = 30 * 24 * 3600
	MaxCaptures          = 100
)

// HoldStatus is the life-cycle state of a hold. Only a held hold changes.
type HoldStatus string

// The statuses of a hold.
const (
	HoldHeld     HoldStatus = "held"
	HoldCaptured HoldStatus = "captured"
	HoldVoided   HoldStatus = "voided"
	HoldExpired  HoldStatus = "expired"
)

// The types of a hold's source.
const (
	SourceCredit   = "credit"
	SourceGiftCard = "gift_card"
)

// HoldSource is where a hold's value comes from.
type HoldSource struct {
	Type       string `json:"type"`
	CustomerID string `json:"customerId,omitempty"`
	CardID     string `json:"cardId,omitempty"`
	Last4      string `json:"last4,omitempty"`
}

// Account is the ledger account of the source.
func (s HoldSource) Account() string {
	if s.Type == SourceGiftCard {
		return CardAccount(s.CardID)
	}
	return CustomerAccount(s.CustomerID)
}

// Hold is value reserved at checkout. Amount is what was reserved,
// Captured what was taken; Released (not part of the contract's JSON) what
// went back to the source.
type Hold struct {
	ID        string     `json:"id"`
	OrderRef  string     `json:"orderRef"`
	Source    HoldSource `json:"source"`
	Currency  string     `json:"currency"`
	Amount    int64      `json:"amount"`
	Captured  int64      `json:"captured"`
	Released  int64      `json:"-"`
	Status    HoldStatus `json:"status"`
	ExpiresAt time.Time  `json:"expiresAt"`
	CreatedAt time.Time  `json:"createdAt"`
	Captures  []Capture  `json:"captures"`
	// Lots is what a hold on credit took from the customer's lots, in
	// spending order: captures take it from the front, a release gives
	// back the rest. Not shown.
	Lots []LotMove `json:"-"`
}

// Remaining is what the hold still holds.
func (h Hold) Remaining() int64 { return h.Amount - h.Captured - h.Released }

// Expired reports whether a held hold has passed its expiresAt at now:
// nothing can be captured from it any more, whether or not the release
// job has released it yet.
func (h Hold) Expired(now time.Time) bool { return h.Status == HoldHeld && !now.Before(h.ExpiresAt) }

// HoldAsOf is the hold as it stands at now, the view every read shows: a
// held hold past its expiresAt is expired, with nothing left to capture
// (what it still holds is as good as released), even before the release
// job has written that; the job's release then changes nothing a reader
// sees. Any other hold is as stored.
func HoldAsOf(h Hold, now time.Time) Hold {
	if !h.Expired(now) {
		return h
	}
	h.Status = HoldExpired
	h.Released += h.Remaining()
	return h
}

// Capture is one capture of a hold.
type Capture struct {
	TransactionID string    `json:"transactionId"`
	Amount        int64     `json:"amount"`
	CreatedAt     time.Time `json:"createdAt"`
}

// HoldState is a hold as read, with the version of its item (also the
// version of the last posting to its account).
type HoldState struct {
	Hold
	Version int64
}

// NewHold is the input of a hold: exactly one of CustomerID and
// GiftCardCode. ExpiresIn nil means DefaultHoldExpiresIn.
type NewHold struct {
	Currency     string `json:"currency"`
	Amount       int64  `json:"amount"`
	OrderRef     string `json:"orderRef"`
	CustomerID   string `json:"customerId,omitempty"`
	GiftCardCode string `json:"giftCardCode,omitempty"`
	ExpiresIn    *int64 `json:"expiresIn,omitempty"`
	Capture      bool   `json:"capture,omitempty"`
	// ClientRef names the shop's end client, as in a redemption: failed
	// codes are limited per client.
	ClientRef string `json:"clientRef,omitempty"`
}

// Validate checks the input, its currency last.
func (in NewHold) Validate() error {
	if err := ValidateAmount("amount", in.Amount); err != nil {
		return err
	}
	if err := ValidateText("orderRef", in.OrderRef, true, MaxOrderRefLen); err != nil {
		return err
	}
	switch {
	case in.CustomerID == "" && in.GiftCardCode == "":
		return Invalid("customerId", "customerId or giftCardCode is required")
	case in.CustomerID != "" && in.GiftCardCode != "":
		return Invalid("giftCardCode", "give customerId or giftCardCode, not both")
	}
	if in.ExpiresIn != nil && (*in.ExpiresIn < MinHoldExpiresIn || *in.ExpiresIn > MaxHoldExpiresIn) {
		return Invalid("expiresIn", "expiresIn must be between %d and %d seconds", MinHoldExpiresIn, MaxHoldExpiresIn)
	}
	if err := ValidateText("clientRef", in.ClientRef, false, MaxClientRefLen); err != nil {
		return err
	}
	return ValidateCurrency(in.Currency)
}

// ExpiresAfter is the hold's lifetime.
func (in NewHold) ExpiresAfter() time.Duration {
	if in.ExpiresIn == nil {
		return DefaultHoldExpiresIn * time.Second
	}
	return time.Duration(*in.ExpiresIn) * time.Second
}

// HoldCapture is the input of a capture.
type HoldCapture struct {
	HoldID string `json:"holdId"`
	Amount int64  `json:"amount"`
	Final  bool   `json:"final,omitempty"`
}

// Validate checks the input.
func (in HoldCapture) Validate() error { return ValidateAmount("amount", in.Amount) }

// Refund destinations.
const (
	RefundToSource = "source"
	RefundToCredit = "credit"
)

// NewRefund is the input of a refund. To "" means RefundToSource.
type NewRefund struct {
	TransactionID string `json:"transactionId"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	To            string `json:"to,omitempty"`
	CustomerID    string `json:"customerId,omitempty"`
}

// Validate checks the input and applies the default destination.
func (in *NewRefund) Validate() error {
	if in.TransactionID == "" {
		return Invalid("transactionId", "transactionId is required")
	}
	if err := ValidateAmount("amount", in.Amount); err != nil {
		return err
	}
	if in.To == "" {
		in.To = RefundToSource
	}
	if in.To != RefundToSource && in.To != RefundToCredit {
		return Invalid("to", "to must be source or credit")
	}
	if in.To == RefundToSource && in.CustomerID != "" {
		return Invalid("customerId", "customerId names the customer of a refund to credit; a refund to source goes where the spend came from")
	}
	return ValidateCurrency(in.Currency)
}

// Refund is a posted refund: ID is its transaction.
type Refund struct {
	ID            string `json:"id"`
	TransactionID string `json:"transactionId"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	To            string `json:"to"`
}

// Errors of the checkout.
var (
	ErrHoldNotFound = Errorf(ENOTFOUND, "hold not found")
	ErrHoldClosed   = Errorf(ECONFLICT, "the hold is no longer held")
	ErrHoldExpired  = Errorf(ECONFLICT, "the hold has expired")
	ErrNotASpend    = Errorf(ECONFLICT, "the transaction is not a spend that can be refunded")
)

// Funds is the source of a hold as read: a customer or a card.
type Funds struct {
	Customer *CustomerState
	Card     *CardState
}

// FundsChange is a planned change of a hold's funds (a customer's credit
// or a card): Delta to its spendable balance, written as After and
// conditioned on Version when Delta is not zero (RequireActive: and on
// the card being active), and HeldDelta added to what it has on hold,
// which needs no condition because the hold item's version orders every
// change of one hold.
type FundsChange struct {
	CustomerID    string
	CardID        string
	Currency      string
	Delta         int64
	After         int64
	Version       int64
	HeldDelta     int64
	RequireActive bool
	// Lots is a customer's lots in Currency after the change (when it
	// moves a customer's balance).
	Lots LotsChange
}

// Moves reports whether the change writes a balance (and needs a version).
func (c FundsChange) Moves() bool { return c.Delta != 0 }

// HoldPlan is the decision of a hold mutation: the hold as it will be
// (its Version the one expected before: 0 for a new hold), the
// transactions, and the change of its funds (nothing when Funds is nil).
type HoldPlan struct {
	Hold    Hold
	Version int64
	// NewVersion is the hold item's version after the plan.
	NewVersion int64
	Txs        []Transaction
	Funds      *FundsChange
}

// holdWork accumulates a plan: the hold and its funds as they become.
type holdWork struct {
	plan  HoldPlan
	funds Funds
}

func (w *holdWork) change() *FundsChange {
	if w.plan.Funds == nil {
		h := w.plan.Hold
		ch := &FundsChange{Currency: h.Currency}
		if h.Source.Type == SourceGiftCard {
			ch.CardID = h.Source.CardID
		} else {
			ch.CustomerID = h.Source.CustomerID
		}
		w.plan.Funds = ch
	}
	return w.plan.Funds
}

// move posts delta to the funds' spendable balance and records the
// change; the in-memory funds advance so a second move chains. A
// customer's lots give what is taken (delta < 0, soonest-expiring first
// at st.At) or take back what takes took (delta > 0); the moves are
// returned.
func (w *holdWork) move(st Stamp, delta int64, takes []LotMove) (Posting, []LotMove, error) {
	cur := w.plan.Hold.Currency
	ch := w.change()
	var p Posting
	var moves []LotMove
	switch {
	case w.funds.Customer != nil:
		c := w.funds.Customer
		version := c.Version
		var made []Lot
		var err error
		if delta < 0 {
			moves, err = c.takeLots(cur, -delta, st.At)
		} else {
			moves, made, err = c.restoreLots(st, cur, coverTakes(takes, delta))
		}
		if err != nil {
			return p, nil, err
		}
		bc, posting, err := c.balanceMove(cur, delta, made)
		if err != nil {
			return p, nil, err
		}
		if !ch.Moves() {
			ch.Version = version
		}
		ch.Delta += delta
		ch.After = bc.After
		made = append(ch.Lots.New, made...)
		ch.Lots = bc.Lots
		ch.Lots.New = made
		p = posting
	case w.funds.Card != nil:
		c := w.funds.Card
		after, err := money.AddInt64(c.Balance, delta)
		if err != nil || after < 0 {
			return p, nil, Errorf(EINSUFFICIENTFUNDS, "the gift card holds %s", FormatMinor(c.Balance, cur))
		}
		if !ch.Moves() {
			ch.Version = c.Version
		}
		ch.Delta += delta
		ch.After = after
		c.Balance = after
		c.Version++
		p = Posting{Account: CardAccount(c.ID), Currency: cur, Amount: delta, BalanceAfter: &after, Version: c.Version}
	default:
		return p, nil, fmt.Errorf("hold %s: its funds were not read", w.plan.Hold.ID)
	}
	return p, moves, nil
}

// coverTakes returns takes, plus a take from lot 0 for what they do not
// cover of amount (a hold or spend recorded before lots existed).
func coverTakes(takes []LotMove, amount int64) []LotMove {
	var sum int64
	for _, t := range takes {
		sum -= t.Amount
	}
	if sum < amount {
		takes = append(append([]LotMove(nil), takes...), LotMove{Seq: 0, Amount: -(amount - sum)})
	}
	return takes
}

// holdPosting posts delta to the hold's account.
func (w *holdWork) holdPosting(delta int64) Posting {
	w.plan.NewVersion++
	after := w.plan.Hold.Remaining()
	return Posting{Account: HoldAccount(w.plan.Hold.ID), Currency: w.plan.Hold.Currency, Amount: delta, BalanceAfter: &after, Version: w.plan.NewVersion}
}

func (w *holdWork) tx(st Stamp, kind TxKind) Transaction {
	h := w.plan.Hold
	tx := st.Tx(kind)
	tx.HoldID, tx.OrderRef, tx.Funds, tx.CustomerID = h.ID, h.OrderRef, h.Source.Account(), h.Source.CustomerID
	return tx
}

func setBalance(c *CustomerState, cur string, amount int64) {
	for i := range c.Balances {
		if c.Balances[i].Currency == cur {
			c.Balances[i].Amount = amount
			return
		}
	}
	c.Balances = append(c.Balances, Balance{Currency: cur, Amount: amount})
}

// PlanHold reserves min(in.Amount, available) of the funds: a customer
// (cust) or the card a code named (card nil: no such card). A card that
// is not active or holds nothing is ErrCardUnavailable, like a
// redemption; nothing available in the currency is EINSUFFICIENTFUNDS.
// With in.Capture the whole hold is captured at once by a second
// transaction, captureTx.
func PlanHold(st Stamp, in NewHold, holdID, captureTx string, funds Funds) (HoldPlan, error) {
	h := Hold{ID: holdID, OrderRef: in.OrderRef, Currency: in.Currency, Status: HoldHeld,
		CreatedAt: st.At.UTC(), ExpiresAt: st.At.UTC().Add(in.ExpiresAfter()), Captures: []Capture{}}
	var available int64
	switch {
	case funds.Customer != nil:
		c := funds.Customer.clone()
		funds.Customer = &c
		h.Source = HoldSource{Type: SourceCredit, CustomerID: c.ID}
		available = c.spendable(in.Currency, st.At)
	case in.CustomerID != "":
		return HoldPlan{}, ErrCustomerNotFound
	default:
		card := funds.Card
		if card == nil || card.Status != CardActive || card.Balance <= 0 {
			return HoldPlan{}, ErrCardUnavailable
		}
		c := *card
		funds.Card = &c
		h.Source = HoldSource{Type: SourceGiftCard, CardID: c.ID, Last4: c.Last4}
		if c.Currency == in.Currency {
			available = c.Balance
		}
	}
	amount := min(available, in.Amount)
	if amount <= 0 {
		return HoldPlan{}, Errorf(EINSUFFICIENTFUNDS, "nothing is available to hold in %s", in.Currency)
	}
	h.Amount = amount
	w := &holdWork{plan: HoldPlan{Hold: h}, funds: funds}
	tx := w.tx(st, TxHold)
	out, moves, err := w.move(st, -amount, nil)
	if err != nil {
		return HoldPlan{}, err
	}
	w.plan.Hold.Lots, tx.Lots = moves, moves
	w.change().HeldDelta += amount
	w.change().RequireActive = funds.Card != nil
	tx.Postings = []Posting{out, w.holdPosting(amount)}
	w.plan.Txs = append(w.plan.Txs, tx)
	if in.Capture {
		cst := st
		cst.TxID = captureTx
		if err := w.capture(cst, amount, true); err != nil {
			return HoldPlan{}, err
		}
	}
	return w.plan, nil
}

// PlanCapture takes in.Amount of what the hold still holds; with
// in.Final, or when nothing would be left, the hold is captured and the
// rest released to its funds (which must then have been read).
func PlanCapture(st Stamp, h *HoldState, in HoldCapture, funds Funds) (HoldPlan, error) {
	w, err := startWork(h, funds)
	if err != nil {
		return HoldPlan{}, err
	}
	if h.Status != HoldHeld {
		return HoldPlan{}, ErrHoldClosed
	}
	if h.Expired(st.At) {
		return HoldPlan{}, ErrHoldExpired
	}
	if in.Amount > h.Remaining() {
		return HoldPlan{}, Errorf(EINSUFFICIENTFUNDS, "the hold holds %s", FormatMinor(h.Remaining(), h.Currency))
	}
	if len(h.Captures) >= MaxCaptures {
		return HoldPlan{}, Errorf(ECONFLICT, "a hold takes at most %d captures; void it and hold again", MaxCaptures)
	}
	if err := w.capture(st, in.Amount, in.Final); err != nil {
		return HoldPlan{}, err
	}
	return w.plan, nil
}

// startWork begins a plan of a change of the hold h (nil: not found)
// with its funds as read. A hold whose id names other funds than its
// source is not found: the funds were read by the id's word, and the id
// is not this hold's to give. Funds that are not the hold's source are
// an adapter's mistake and are refused.
func startWork(h *HoldState, funds Funds) (*holdWork, error) {
	if h == nil || NamesOtherFunds("hld", h.ID, h.Source.Account()) {
		return nil, ErrHoldNotFound
	}
	if (funds.Customer != nil && CustomerAccount(funds.Customer.ID) != h.Source.Account()) ||
		(funds.Card != nil && CardAccount(funds.Card.ID) != h.Source.Account()) {
		return nil, fmt.Errorf("hold %s: the funds read are not its source %s", h.ID, h.Source.Account())
	}
	hold := h.Hold
	hold.Captures = append([]Capture{}, h.Captures...)
	hold.Lots = append([]LotMove(nil), h.Lots...)
	if funds.Customer != nil {
		c := funds.Customer.clone()
		funds.Customer = &c
	}
	if funds.Card != nil {
		c := *funds.Card
		funds.Card = &c
	}
	return &holdWork{plan: HoldPlan{Hold: hold, Version: h.Version, NewVersion: h.Version}, funds: funds}, nil
}

// capture posts one capture transaction: amount to sales and, when final
// or when nothing is left, the rest back to the funds.
func (w *holdWork) capture(st Stamp, amount int64, final bool) error {
	h := &w.plan.Hold
	tx := w.tx(st, TxCapture)
	tx.Spent = SliceMoves(h.Lots, h.Captured, amount)
	h.Captured += amount
	h.Captures = append(h.Captures, Capture{TransactionID: tx.ID, Amount: amount, CreatedAt: tx.CreatedAt})
	var back []Posting
	var rest int64
	if final && h.Remaining() > 0 {
		rest = h.Remaining()
		p, moves, err := w.move(st, rest, SliceMoves(h.Lots, h.Captured+h.Released, rest))
		if err != nil {
			return err
		}
		tx.Lots = append(tx.Lots, moves...)
		h.Released += rest
		back = append(back, p)
	}
	w.change().HeldDelta -= amount + rest
	if final || h.Remaining() == 0 {
		h.Status = HoldCaptured
	}
	tx.Postings = append([]Posting{w.holdPosting(-(amount + rest)), {Account: AccountSales, Currency: h.Currency, Amount: amount}}, back...)
	w.plan.Txs = append(w.plan.Txs, tx)
	return nil
}

// PlanVoid releases what the hold has not captured. A voided or expired
// hold is unchanged (a plan without transactions); a captured one is
// ErrHoldClosed. A held hold past its expiresAt is already expired to
// every reader (HoldAsOf), so voiding it is voiding an expired hold: it
// stays expired, and the void releases it as the release job would.
func PlanVoid(st Stamp, h *HoldState, funds Funds) (HoldPlan, error) {
	w, err := startWork(h, funds)
	if err != nil {
		return HoldPlan{}, err
	}
	switch {
	case h.Status == HoldVoided, h.Status == HoldExpired:
		return w.plan, nil
	case h.Status == HoldCaptured:
		return HoldPlan{}, ErrHoldClosed
	case h.Expired(st.At):
		return w.plan, w.release(st, HoldExpired)
	}
	return w.plan, w.release(st, HoldVoided)
}

// PlanRelease releases an expired hold (the scheduled job): a hold that
// is not held, or not yet expired at st.At, is unchanged.
func PlanRelease(st Stamp, h *HoldState, funds Funds) (HoldPlan, error) {
	w, err := startWork(h, funds)
	if err != nil {
		return HoldPlan{}, err
	}
	if !h.Expired(st.At) {
		return w.plan, nil
	}
	return w.plan, w.release(st, HoldExpired)
}

// release moves what is left back to the funds and closes the hold.
func (w *holdWork) release(st Stamp, status HoldStatus) error {
	h := &w.plan.Hold
	rest := h.Remaining()
	h.Status = status
	if rest == 0 {
		// Nothing is left to move, but the status changes: the plan
		// writes the hold (a closed hold with a zero balance).
		w.plan.NewVersion++
		return nil
	}
	tx := w.tx(st, TxRelease)
	back, moves, err := w.move(st, rest, SliceMoves(h.Lots, h.Captured+h.Released, rest))
	if err != nil {
		return err
	}
	tx.Lots = moves
	h.Released += rest
	w.change().HeldDelta -= rest
	tx.Postings = []Posting{w.holdPosting(-rest), back}
	w.plan.Txs = append(w.plan.Txs, tx)
	return nil
}

// Spend is what a transaction spent, for a refund: the amount and the
// account it came from.
type Spend struct {
	Amount   int64
	Currency string
	Funds    string
}

// SpendOf returns what a transaction spent: a capture (what went to
// sales, from the hold's funds), a credit application, or the credit an
// order used. ok is false for anything else.
func SpendOf(t Transaction) (Spend, bool) {
	switch t.Kind {
	case TxCapture:
		for _, p := range t.Postings {
			if p.Account == AccountSales && p.Amount > 0 && t.Funds != "" {
				return Spend{Amount: p.Amount, Currency: p.Currency, Funds: t.Funds}, true
			}
		}
	case TxCreditApplication, TxOrder:
		if t.CustomerID == "" {
			return Spend{}, false
		}
		for _, p := range t.Postings {
			if p.Account == CustomerAccount(t.CustomerID) && p.Amount < 0 {
				return Spend{Amount: -p.Amount, Currency: p.Currency, Funds: p.Account}, true
			}
		}
	}
	return Spend{}, false
}

// RefundTarget is where a refund goes, as the adapter resolved and read
// it: Account is the account it read (RefundTargetOf of the spend the
// transaction id names, "" when it could name none), and at most one of
// Customer and Card is that account's state (both nil when it does not
// exist).
type RefundTarget struct {
	Account  string
	Customer *CustomerState
	Card     *CardState
}

// RefundTargetOf names the account a refund of spend goes to: its funds
// for RefundToSource, the given customer (or the spend's) for
// RefundToCredit. A card spend refunded to credit needs customerId.
func RefundTargetOf(in NewRefund, spend Spend) (account string, err error) {
	if in.To == RefundToCredit {
		if in.CustomerID != "" {
			return CustomerAccount(in.CustomerID), nil
		}
		if hasPrefix(spend.Funds, "customer:") {
			return spend.Funds, nil
		}
		return "", Invalid("customerId", "customerId is required to refund a gift card spend to credit")
	}
	return spend.Funds, nil
}

// RefundPlan is the decision of a refund: the transaction, the change of
// the account it goes to, and the spend's refunded total after (written
// only if it is still Refunded before).
type RefundPlan struct {
	Result   Refund
	Tx       Transaction
	Funds    FundsChange
	Refunded int64
}

// PlanRefund gives back in.Amount of spend (nil: not found), which has
// been refunded `refunded` so far (at version refundedVersion, 0 for
// none), to target, as read. A spend whose id names other funds than it
// spent from is not found (the target was read by the id's word); a
// target that is not the account RefundTargetOf names for the spend is
// refused. A spend that was reversed (a credit application can be) gave
// everything back already and is ErrAlreadyReversed.
func PlanRefund(st Stamp, in NewRefund, spend *Transaction, refunded, refundedVersion int64, reversed bool, target RefundTarget) (RefundPlan, error) {
	var p RefundPlan
	if spend == nil {
		return p, ErrTxNotFound
	}
	sp, ok := SpendOf(*spend)
	if !ok {
		return p, ErrNotASpend
	}
	if NamesOtherFunds("txn", spend.ID, sp.Funds) {
		return p, ErrTxNotFound
	}
	account, err := RefundTargetOf(in, sp)
	if err != nil {
		return p, err
	}
	if target.Account != account {
		return p, fmt.Errorf("refund %s: read the account %q, the refund goes to %s", spend.ID, target.Account, account)
	}
	if reversed {
		return p, ErrAlreadyReversed
	}
	if sp.Currency != in.Currency {
		return p, Invalid("currency", "the transaction spent %s", sp.Currency)
	}
	if in.Amount > sp.Amount-refunded {
		return p, Errorf(ECONFLICT, "the refunds would exceed what the transaction spent: %s is left to refund", FormatMinor(sp.Amount-refunded, sp.Currency))
	}
	tx := st.Tx(TxRefund)
	tx.RefundOf, tx.OrderRef, tx.OrderID = spend.ID, spend.OrderRef, spend.OrderID
	switch {
	case target.Customer != nil:
		c := target.Customer
		var bc BalanceChange
		var posting Posting
		var moves []LotMove
		var err error
		if in.To == RefundToSource && sp.Funds == CustomerAccount(c.ID) {
			// Back to the lots it came from, the longest-lived first:
			// this refund gives back [refunded, refunded+amount) of the
			// spend's takes in that order.
			takes := SliceMoves(ReversedMoves(TakesOf(*spend, sp.Amount)), refunded, in.Amount)
			bc, posting, moves, err = c.RestoreLots(st, in.Currency, coverTakes(takes, in.Amount))
		} else {
			// Refunded to credit: paid value, a new lot that never expires.
			bc, posting, moves, err = c.CreditLot(st, in.Currency, in.Amount, LotRefund, time.Time{})
		}
		if err != nil {
			return p, err
		}
		tx.CustomerID = c.ID
		tx.Lots = moves
		tx.Postings = []Posting{{Account: AccountSales, Currency: in.Currency, Amount: -in.Amount}, posting}
		p.Funds = FundsChange{CustomerID: c.ID, Currency: in.Currency, Delta: in.Amount, After: bc.After, Version: c.Version, Lots: bc.Lots}
	case target.Card != nil:
		c := target.Card
		if c.Status == CardRedeemed {
			return p, Errorf(ECONFLICT, "the gift card was redeemed since; refund to credit instead")
		}
		after, err := money.AddInt64(c.Balance, in.Amount)
		if err != nil {
			return p, Invalid("amount", "the balance would overflow")
		}
		tx.Postings = []Posting{{Account: AccountSales, Currency: in.Currency, Amount: -in.Amount},
			{Account: CardAccount(c.ID), Currency: in.Currency, Amount: in.Amount, BalanceAfter: &after, Version: c.Version + 1}}
		p.Funds = FundsChange{CardID: c.ID, Currency: in.Currency, Delta: in.Amount, After: after, Version: c.Version}
	default:
		if in.To == RefundToCredit {
			return p, ErrCustomerNotFound
		}
		return p, fmt.Errorf("refund %s: the source account was not read", spend.ID)
	}
	p.Tx, p.Refunded = tx, refunded+in.Amount
	p.Result = Refund{ID: tx.ID, TransactionID: spend.ID, Amount: in.Amount, Currency: in.Currency, To: in.To}
	return p, nil
}
