package giftcredit

import (
	"context"
	"strconv"
	"time"
)

// EventType names a kind of change a shop's other systems are told of.
type EventType string

// The event types (PRODUCT.md, "Events and webhooks"). api/events holds a
// JSON Schema for each.
const (
	EventGiftCardIssued       EventType = "giftcard.issued"
	EventGiftCardRedeemed     EventType = "giftcard.redeemed"
	EventGiftCardDisabled     EventType = "giftcard.disabled"
	EventCreditGranted        EventType = "credit.granted"
	EventCreditApplied        EventType = "credit.applied"
	EventCreditReversed       EventType = "credit.reversed"
	EventCreditExpired        EventType = "credit.expired"
	EventHoldCreated          EventType = "hold.created"
	EventHoldCaptured         EventType = "hold.captured"
	EventHoldReleased         EventType = "hold.released"
	EventRefundCreated        EventType = "refund.created"
	EventPromotionRunFinished EventType = "promotion.run.finished"
)

// EventTypes lists every event type, in the contract's order.
var EventTypes = []EventType{
	EventGiftCardIssued, EventGiftCardRedeemed, EventGiftCardDisabled, EventCreditGranted, EventCreditApplied,
	EventCreditReversed, EventCreditExpired, EventHoldCreated, EventHoldCaptured, EventHoldReleased,
	EventRefundCreated, EventPromotionRunFinished,
}

// ValidEventType reports whether t is one of EventTypes.
func ValidEventType(t EventType) bool {
	for _, x := range EventTypes {
		if x == t {
			return true
		}
	}
	return false
}

// Event is the envelope published to the bus and POSTed to webhooks. Its
// ID is derived from the change (the same change always yields the same
// id), so a consumer that sees an event twice can tell.
type Event struct {
	ID        string    `json:"id"`
	Type      EventType `json:"type"`
	ShopID    string    `json:"shopId"`
	CreatedAt time.Time `json:"createdAt"`
	Data      EventData `json:"data"`
}

// EventData names the transaction, the customer or card (or hold), the
// currency, the amount and the balance after. Which fields an event type
// carries is fixed by its schema under api/events.
type EventData struct {
	TransactionID string `json:"transactionId,omitempty"`
	CustomerID    string `json:"customerId,omitempty"`
	CardID        string `json:"cardId,omitempty"`
	Last4         string `json:"last4,omitempty"`
	HoldID        string `json:"holdId,omitempty"`
	OrderID       string `json:"orderId,omitempty"`
	OrderRef      string `json:"orderRef,omitempty"`
	// Reverses names the transaction a reversal compensates; RefundOf the
	// spend a refund gives back part of.
	Reverses string `json:"reverses,omitempty"`
	RefundOf string `json:"refundOf,omitempty"`
	// LotID names the lot of credit.expired: what was left of it expired.
	LotID string `json:"lotId,omitempty"`
	// Source says where granted credit came from: redemption, credit,
	// promotion or refund.
	Source   string `json:"source,omitempty"`
	Currency string `json:"currency,omitempty"`
	// Amount is the value the change moved, in minor units: positive,
	// except for credit.reversed, where it is the signed change of the
	// customer's credit (negative when a grant is reversed, positive when
	// an application is).
	Amount int64 `json:"amount"`
	// BalanceAfter is the customer's or card's balance right after the
	// change; HeldAfter what the hold still holds.
	BalanceAfter *int64 `json:"balanceAfter,omitempty"`
	HeldAfter    *int64 `json:"heldAfter,omitempty"`
	// A finished promotion run.
	PromotionID    string `json:"promotionId,omitempty"`
	RunID          string `json:"runId,omitempty"`
	OrdersExamined *int64 `json:"ordersExamined,omitempty"`
	CreditsGranted *int64 `json:"creditsGranted,omitempty"`
}

// EventPublisher publishes events to the bus at least once.
type EventPublisher interface {
	// Publish sends events and returns those that could not be sent (the
	// caller keeps them for a later attempt); err says why, when some
	// were not sent. It never returns an event it sent as failed unless
	// it cannot know.
	Publish(ctx context.Context, events []Event) (failed []Event, err error)
}

// accountMove is what one transaction did to one account: the sum of its
// postings there and the last balance recorded.
type accountMove struct {
	account, currency string
	amount            int64
	after             *int64
}

// moves sums tx's postings per account and currency, in the order each
// account first appears, so events come out in a stable order.
func moves(tx Transaction, accept func(account string) bool) []accountMove {
	var out []accountMove
	idx := map[[2]string]int{}
	for _, p := range tx.Postings {
		if !accept(p.Account) {
			continue
		}
		k := [2]string{p.Account, p.Currency}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, accountMove{account: p.Account, currency: p.Currency})
		}
		out[i].amount += p.Amount
		if p.BalanceAfter != nil {
			b := *p.BalanceAfter
			out[i].after = &b
		}
	}
	return out
}

func isCustomer(a string) bool { return hasPrefix(a, "customer:") }
func isCard(a string) bool     { return hasPrefix(a, "card:") }
func isHold(a string) bool     { return hasPrefix(a, "hold:") }
func isFunds(a string) bool    { return isCustomer(a) || isCard(a) }

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// grantSource is the source of credit.granted for each kind that grants.
var grantSource = map[TxKind]string{
	TxRedemption: "redemption", TxCredit: "credit", TxPromotionGrant: "promotion",
}

// TxEvents derives the events of one ledger transaction of shop: what each
// kind of transaction means to a shop's other systems. It is a function of
// the transaction alone, so the event ids (the transaction id and the
// event's index) are the same whenever the transaction is read, and a
// new kind of transaction gets its events here (a test checks every kind
// has some).
func TxEvents(shopID string, tx Transaction) []Event {
	var evs []Event
	add := func(t EventType, d EventData) {
		d.TransactionID = tx.ID
		if d.OrderID == "" {
			d.OrderID = tx.OrderID
		}
		if d.OrderRef == "" {
			d.OrderRef = tx.OrderRef
		}
		evs = append(evs, Event{ID: "evt_" + tx.ID + "_" + strconv.Itoa(len(evs)), Type: t, ShopID: shopID,
			CreatedAt: tx.CreatedAt.UTC(), Data: d})
	}
	funds := func(m accountMove, d EventData) EventData {
		switch {
		case isCustomer(m.account):
			d.CustomerID = m.account[len("customer:"):]
		case isCard(m.account):
			d.CardID = m.account[len("card:"):]
		}
		d.Currency, d.BalanceAfter = m.currency, m.after
		return d
	}
	holdOf := func() (accountMove, bool) {
		ms := moves(tx, isHold)
		if len(ms) == 0 {
			return accountMove{}, false
		}
		return ms[0], true
	}
	switch tx.Kind {
	case TxOrder:
		for _, m := range moves(tx, isFunds) {
			switch {
			case isCard(m.account) && m.amount > 0:
				add(EventGiftCardIssued, funds(m, EventData{Amount: m.amount}))
			case isCustomer(m.account) && m.amount < 0:
				add(EventCreditApplied, funds(m, EventData{Amount: -m.amount}))
			}
		}
	case TxRedemption:
		ms := moves(tx, isFunds)
		var cardID string
		for _, m := range ms {
			if isCard(m.account) {
				cardID = m.account[len("card:"):]
				add(EventGiftCardRedeemed, funds(m, EventData{Amount: -m.amount, CustomerID: tx.CustomerID}))
			}
		}
		for _, m := range ms {
			if isCustomer(m.account) {
				add(EventCreditGranted, funds(m, EventData{Amount: m.amount, Source: grantSource[tx.Kind], CardID: cardID}))
			}
		}
	case TxCredit, TxPromotionGrant:
		for _, m := range moves(tx, isCustomer) {
			add(EventCreditGranted, funds(m, EventData{Amount: m.amount, Source: grantSource[tx.Kind]}))
		}
	case TxCreditApplication:
		for _, m := range moves(tx, isCustomer) {
			add(EventCreditApplied, funds(m, EventData{Amount: -m.amount}))
		}
	case TxReversal:
		for _, m := range moves(tx, isCustomer) {
			add(EventCreditReversed, funds(m, EventData{Amount: m.amount, Reverses: tx.Reverses}))
		}
	case TxExpiry:
		for _, m := range moves(tx, isCustomer) {
			add(EventCreditExpired, funds(m, EventData{Amount: -m.amount, LotID: tx.LotID}))
		}
	case TxHold:
		h, _ := holdOf()
		for _, m := range moves(tx, isFunds) {
			add(EventHoldCreated, funds(m, EventData{Amount: -m.amount, HoldID: tx.HoldID, HeldAfter: h.after}))
		}
	case TxCapture:
		h, _ := holdOf()
		var captured int64
		for _, p := range tx.Postings {
			if p.Account == AccountSales {
				captured += p.Amount
			}
		}
		back := moves(tx, isFunds)
		// A final capture also moves the rest back: the hold's balance
		// after the capture alone is what the release then takes back.
		var heldAfterCapture *int64
		if h.after != nil {
			v := *h.after
			for _, m := range back {
				v += m.amount
			}
			heldAfterCapture = &v
		}
		d := EventData{Amount: captured, HoldID: tx.HoldID, HeldAfter: heldAfterCapture, Currency: h.currency}
		d = withFunds(d, tx.Funds)
		add(EventHoldCaptured, d)
		for _, m := range back {
			add(EventHoldReleased, funds(m, EventData{Amount: m.amount, HoldID: tx.HoldID, HeldAfter: h.after}))
		}
	case TxRelease:
		h, _ := holdOf()
		for _, m := range moves(tx, isFunds) {
			add(EventHoldReleased, funds(m, EventData{Amount: m.amount, HoldID: tx.HoldID, HeldAfter: h.after}))
		}
	case TxRefund:
		for _, m := range moves(tx, isFunds) {
			add(EventRefundCreated, funds(m, EventData{Amount: m.amount, RefundOf: tx.RefundOf}))
		}
	}
	return evs
}

// withFunds names the customer or card of a hold's funds account.
func withFunds(d EventData, account string) EventData {
	switch {
	case isCustomer(account):
		d.CustomerID = account[len("customer:"):]
	case isCard(account):
		d.CardID = account[len("card:"):]
	}
	return d
}

// CardDisabledEvent is the event of disabling a card (no transaction:
// the value stays on the card). A card is disabled once, so its id names
// the change.
func CardDisabledEvent(shopID string, card GiftCard, at time.Time) Event {
	bal := card.Balance
	return Event{ID: "evt_" + card.ID + "_disabled", Type: EventGiftCardDisabled, ShopID: shopID, CreatedAt: at.UTC(),
		Data: EventData{CardID: card.ID, Last4: card.Last4, OrderID: card.OrderID, Currency: card.Currency,
			Amount: card.Balance, BalanceAfter: &bal}}
}

// RunFinishedEvent is the event of a promotion run that finished: what
// it examined and granted (Amount, in the promotion's currency).
func RunFinishedEvent(shopID string, run PromotionRun, at time.Time) Event {
	examined, granted := run.Counts.OrdersExamined, run.Counts.CreditsGranted
	return Event{ID: "evt_" + run.ID + "_finished", Type: EventPromotionRunFinished, ShopID: shopID, CreatedAt: at.UTC(),
		Data: EventData{PromotionID: run.PromotionID, RunID: run.ID, Amount: run.Counts.AmountGranted,
			OrdersExamined: &examined, CreditsGranted: &granted}}
}

// PendingChange is a recorded change whose events may not have been
// published yet, and those events. Ref is the store's opaque name for it.
type PendingChange struct {
	ShopID string
	Ref    string
	Events []Event
}

// EventOutbox is where the scheduled publisher finds what to publish.
type EventOutbox interface {
	// PendingEvents returns up to limit changes whose events are due for
	// publishing at now, of every shop.
	PendingEvents(ctx context.Context, now time.Time, limit int) ([]PendingChange, error)
	// MarkPublished records that every event of the change was published.
	MarkPublished(ctx context.Context, c PendingChange) error
}
