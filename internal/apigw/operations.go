package apigw

import (
	"context"
	"fmt"
	"net/http"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// implementations maps each route key of Routes to its code.
var implementations = map[string]routeFunc{
	"POST /v1/customers":                                    createCustomer,
	"GET /v1/customers":                                     findCustomer,
	"GET /v1/customers/{id}":                                getCustomer,
	"GET /v1/customers/{id}/transactions":                   customerHistory,
	"GET /v1/customers/{id}/lots":                           customerLots,
	"POST /v1/orders":                                       placeOrder,
	"GET /v1/orders/{id}":                                   getOrder,
	"POST /v1/customers/{id}/redemptions":                   redeem,
	"POST /v1/gift-cards/check":                             checkCard,
	"POST /v1/gift-cards/{id}/disable":                      disableCard,
	"POST /v1/customers/{id}/credits":                       credit,
	"POST /v1/customers/{id}/transactions/{txId}/reversals": reverse,
	"POST /v1/customers/{id}/credit-applications":           applyCredit,
	"POST /v1/promotions":                                   createPromotion,
	"GET /v1/promotions":                                    listPromotions,
	"GET /v1/promotions/{id}":                               getPromotion,
	"POST /v1/promotions/{id}/pause":                        pausePromotion,
	"POST /v1/promotions/{id}/resume":                       resumePromotion,
	"POST /v1/holds":                                        createHold,
	"GET /v1/holds/{id}":                                    getHold,
	"POST /v1/holds/{id}/captures":                          captureHold,
	"POST /v1/holds/{id}/void":                              voidHold,
	"POST /v1/refunds":                                      refund,
	"GET /v1/reports/liability":                             liabilityReport,
	// Webhooks (webhooks.go).
	"POST /v1/webhooks":                createWebhook,
	"GET /v1/webhooks":                 listWebhooks,
	"DELETE /v1/webhooks/{id}":         deleteWebhook,
	"GET /v1/webhooks/{id}/deliveries": webhookDeliveries,
}

// Request bodies. Each has exactly the fields of the contract; anything
// else is rejected as an unknown field.
type (
	// CreateCustomerBody is the body of POST /v1/customers.
	CreateCustomerBody = gc.NewCustomer
	// PlaceOrderBody is the body of POST /v1/orders.
	PlaceOrderBody = gc.NewOrder
	// CodeBody is the body of redemptions and card checks.
	CodeBody struct {
		Code string `json:"code"`
		// ClientRef names the shop's end client (its shopper's session or
		// IP): failed attempts are limited per client as well as per customer.
		ClientRef string `json:"clientRef,omitempty"`
	}
	// CreditBody is the body of POST /v1/customers/{id}/credits.
	CreditBody struct {
		Amount      int64  `json:"amount"`
		Currency    string `json:"currency"`
		PaymentType string `json:"paymentType"`
		Reference   string `json:"reference,omitempty"`
		// ExpiresAt makes the credit expire then (RFC 3339, in the
		// future, at most 10 years ahead); omitted, it never expires.
		ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	}
	// CreditApplicationBody is the body of POST /v1/customers/{id}/credit-applications.
	CreditApplicationBody struct {
		OrderRef  string `json:"orderRef"`
		AmountDue int64  `json:"amountDue"`
		Currency  string `json:"currency"`
	}
	// ReversalBody is the body of a reversal.
	ReversalBody struct {
		Reason string `json:"reason"`
	}
	// HoldBody is the body of POST /v1/holds.
	HoldBody = gc.NewHold
	// CaptureBody is the body of POST /v1/holds/{id}/captures.
	CaptureBody struct {
		Amount int64 `json:"amount"`
		Final  bool  `json:"final,omitempty"`
	}
	// RefundBody is the body of POST /v1/refunds.
	RefundBody = gc.NewRefund
)

// CardCheck is the answer of POST /v1/gift-cards/check. Held is what open
// holds reserve (omitted when nothing is).
type CardCheck struct {
	Last4    string        `json:"last4"`
	Balance  int64         `json:"balance"`
	Held     int64         `json:"held,omitempty"`
	Currency string        `json:"currency"`
	Status   gc.CardStatus `json:"status"`
}

func createCustomer(ctx context.Context, h *Handler, r request) (reply, error) {
	var in CreateCustomerBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	c, err := h.cfg.Ledger.CreateCustomer(ctx, r.actor, r.idemKey, in)
	return reply{http.StatusCreated, c}, err
}

func findCustomer(ctx context.Context, h *Handler, r request) (reply, error) {
	email := r.query["email"]
	if email == "" {
		return reply{}, gc.Invalid("email", "the email query parameter is required")
	}
	c, err := h.cfg.Ledger.CustomerByEmail(ctx, r.actor.ShopID, email)
	return reply{http.StatusOK, c}, err
}

func getCustomer(ctx context.Context, h *Handler, r request) (reply, error) {
	c, err := h.cfg.Ledger.Customer(ctx, r.actor.ShopID, r.path["id"])
	return reply{http.StatusOK, c}, err
}

func customerHistory(ctx context.Context, h *Handler, r request) (reply, error) {
	limit, err := queryLimit(r.query)
	if err != nil {
		return reply{}, err
	}
	p, err := h.cfg.Ledger.History(ctx, r.actor.ShopID, r.path["id"], gc.PageRequest{Cursor: r.query["cursor"], Limit: limit})
	for i, t := range p.Transactions {
		p.Transactions[i] = t.VisibleTo(r.actor.Role)
	}
	return reply{http.StatusOK, p}, err
}

func customerLots(ctx context.Context, h *Handler, r request) (reply, error) {
	limit, err := queryLimit(r.query)
	if err != nil {
		return reply{}, err
	}
	p, err := h.cfg.Ledger.Lots(ctx, r.actor.ShopID, r.path["id"], gc.PageRequest{Cursor: r.query["cursor"], Limit: limit})
	return reply{http.StatusOK, p}, err
}

func placeOrder(ctx context.Context, h *Handler, r request) (reply, error) {
	var in PlaceOrderBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	placed, err := h.cfg.Ledger.PlaceOrder(ctx, r.actor, r.idemKey, in)
	if err != nil {
		return reply{}, err
	}
	if len(placed.Emails) > 0 && h.cfg.Mailer != nil && h.cfg.Outbox != nil {
		// Mail trouble never fails the order: unsent emails stay pending in
		// the outbox for the scheduled sender.
		if n, err := gc.Deliver(ctx, InlineMailBudget, h.cfg.Mailer, h.cfg.Outbox, r.actor.ShopID, placed.Emails); err != nil {
			h.cfg.Logger.WarnContext(ctx, "order emails left pending", "shop", r.actor.ShopID, "order", placed.Order.ID,
				"sent", n, "pending", len(placed.Emails)-n, "error", err.Error())
		}
	}
	return reply{http.StatusCreated, placed.Order}, nil
}

func getOrder(ctx context.Context, h *Handler, r request) (reply, error) {
	o, err := h.cfg.Ledger.Order(ctx, r.actor.ShopID, r.path["id"])
	return reply{http.StatusOK, o}, err
}

func redeem(ctx context.Context, h *Handler, r request) (reply, error) {
	var in CodeBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	if in.Code == "" {
		return reply{}, gc.Invalid("code", "code is required")
	}
	red, err := h.cfg.Ledger.Redeem(ctx, r.actor, r.idemKey, r.path["id"], in.Code, in.ClientRef)
	return reply{http.StatusCreated, red}, err
}

func checkCard(ctx context.Context, h *Handler, r request) (reply, error) {
	var in CodeBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	if in.Code == "" {
		return reply{}, gc.Invalid("code", "code is required")
	}
	c, err := h.cfg.Ledger.CheckCard(ctx, r.actor.ShopID, in.Code, in.ClientRef)
	return reply{http.StatusOK, CardCheck{Last4: c.Last4, Balance: c.Balance, Held: c.Held, Currency: c.Currency, Status: c.Status}}, err
}

func disableCard(ctx context.Context, h *Handler, r request) (reply, error) {
	c, err := h.cfg.Ledger.DisableCard(ctx, r.actor, r.idemKey, r.path["id"])
	return reply{http.StatusOK, c}, err
}

func credit(ctx context.Context, h *Handler, r request) (reply, error) {
	var in CreditBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	t, err := h.cfg.Ledger.Credit(ctx, r.actor, r.idemKey, gc.DirectCredit{CustomerID: r.path["id"], Amount: in.Amount,
		Currency: in.Currency, PaymentType: in.PaymentType, Reference: in.Reference, ExpiresAt: in.ExpiresAt})
	return reply{http.StatusCreated, t}, err
}

func reverse(ctx context.Context, h *Handler, r request) (reply, error) {
	var in ReversalBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	t, err := h.cfg.Ledger.Reverse(ctx, r.actor, r.idemKey, gc.Reversal{CustomerID: r.path["id"], TransactionID: r.path["txId"], Reason: in.Reason})
	return reply{http.StatusCreated, t}, err
}

func applyCredit(ctx context.Context, h *Handler, r request) (reply, error) {
	var in CreditApplicationBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	a, err := h.cfg.Ledger.ApplyCredit(ctx, r.actor, r.idemKey, gc.CreditApplication{CustomerID: r.path["id"], OrderRef: in.OrderRef,
		AmountDue: in.AmountDue, Currency: in.Currency})
	return reply{http.StatusCreated, a}, err
}

// checkout is the function's checkout service; a function wired without
// one serves none of its routes.
func (h *Handler) checkout() (gc.Checkout, error) {
	if h.cfg.Checkout == nil {
		return nil, fmt.Errorf("function %s has no checkout service (apigw.Config.Checkout)", h.cfg.Function)
	}
	return h.cfg.Checkout, nil
}

func createHold(ctx context.Context, h *Handler, r request) (reply, error) {
	var in HoldBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	co, err := h.checkout()
	if err != nil {
		return reply{}, err
	}
	hold, err := co.CreateHold(ctx, r.actor, r.idemKey, in)
	return reply{http.StatusCreated, hold}, err
}

func getHold(ctx context.Context, h *Handler, r request) (reply, error) {
	co, err := h.checkout()
	if err != nil {
		return reply{}, err
	}
	hold, err := co.Hold(ctx, r.actor.ShopID, r.path["id"])
	return reply{http.StatusOK, hold}, err
}

func captureHold(ctx context.Context, h *Handler, r request) (reply, error) {
	var in CaptureBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	co, err := h.checkout()
	if err != nil {
		return reply{}, err
	}
	hold, err := co.CaptureHold(ctx, r.actor, r.idemKey, gc.HoldCapture{HoldID: r.path["id"], Amount: in.Amount, Final: in.Final})
	return reply{http.StatusCreated, hold}, err
}

func voidHold(ctx context.Context, h *Handler, r request) (reply, error) {
	co, err := h.checkout()
	if err != nil {
		return reply{}, err
	}
	hold, err := co.VoidHold(ctx, r.actor, r.idemKey, r.path["id"])
	return reply{http.StatusOK, hold}, err
}

func refund(ctx context.Context, h *Handler, r request) (reply, error) {
	var in RefundBody
	if err := decodeJSON(r.body, &in); err != nil {
		return reply{}, err
	}
	co, err := h.checkout()
	if err != nil {
		return reply{}, err
	}
	rf, err := co.Refund(ctx, r.actor, r.idemKey, in)
	return reply{http.StatusCreated, rf}, err
}
