package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/giftcredit/giftcredit/internal/apigw"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// Op is one ledger mutation as a user (through its API handler) or the
// promotion run (through the store) makes it.
type Op struct {
	Name string
	// Setup prepares what every run of the operation shares and returns
	// Prepare, which makes (untimed) what run i needs and returns the run.
	Setup func(ctx context.Context, l *Ledger) (Prepare, error)
	// Chunk, when set, caps figure 2's iterations per fresh table for an
	// operation whose runs each leave many items behind (minidyn's writes
	// slow down as the table grows, which would be measured as overhead).
	Chunk int
}

// Prepare returns the i-th run of an operation.
type Prepare func(ctx context.Context, i int) (Run, error)

// Run performs the operation once.
type Run func(ctx context.Context) error

// customerPool makes n customers with the given balance.
func customerPool(ctx context.Context, l *Ledger, n int, balance int64) ([]gc.Customer, error) {
	out := make([]gc.Customer, n)
	for i := range out {
		c, err := l.NewCustomer(ctx, balance)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// apiOp is an operation through a function's handler; body returns the
// request of run i, given the state prepared for it.
func apiOp(name, function string, setup func(ctx context.Context, l *Ledger, h *apigw.Handler) (func(ctx context.Context, i int) (APIRequest, error), error)) Op {
	return Op{Name: name, Setup: func(ctx context.Context, l *Ledger) (Prepare, error) {
		h, err := l.Handler(function)
		if err != nil {
			return nil, err
		}
		req, err := setup(ctx, l, h)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, i int) (Run, error) {
			r, err := req(ctx, i)
			if err != nil {
				return nil, err
			}
			ev, err := r.Event()
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				resp, err := h.Handle(ctx, ev)
				if err != nil {
					return err
				}
				if resp.StatusCode/100 != 2 {
					return fmt.Errorf("%s: status %d: %s", r.Route, resp.StatusCode, resp.Body)
				}
				return nil
			}, nil
		}, nil
	}}
}

// poolSize is how many customers an operation spreads its runs over, so
// that no customer's history grows without bound.
const poolSize = 8

// Redeem redeems a fresh gift card onto a customer (RedemptionFunction).
var Redeem = apiOp("redeem", "RedemptionFunction", func(ctx context.Context, l *Ledger, _ *apigw.Handler) (func(context.Context, int) (APIRequest, error), error) {
	custs, err := customerPool(ctx, l, poolSize, 0)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, i int) (APIRequest, error) {
		o, err := l.NewOrder(ctx, "", "buyer@bench.example", 2500)
		if err != nil {
			return APIRequest{}, err
		}
		return APIRequest{Route: "POST /v1/customers/{id}/redemptions", Path: map[string]string{"id": custs[i%len(custs)].ID},
			Actor: l.Clerk, IdemKey: "redeem-" + strconv.Itoa(i), Body: apigw.CodeBody{Code: o.GiftCards[0].Code}}, nil
	}, nil
})

// DirectCredit credits a customer (CreditsFunction).
var DirectCredit = apiOp("direct credit", "CreditsFunction", func(ctx context.Context, l *Ledger, _ *apigw.Handler) (func(context.Context, int) (APIRequest, error), error) {
	custs, err := customerPool(ctx, l, poolSize, 0)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, i int) (APIRequest, error) {
		return APIRequest{Route: "POST /v1/customers/{id}/credits", Path: map[string]string{"id": custs[i%len(custs)].ID},
			Actor: l.Admin, IdemKey: "credit-" + strconv.Itoa(i),
			Body: apigw.CreditBody{Amount: 500, Currency: "USD", PaymentType: "goodwill", Reference: "bench"}}, nil
	}, nil
})

// ApplyCredit spends a customer's credit on an order of the shop's own
// checkout (CreditApplicationsFunction).
var ApplyCredit = apiOp("credit application", "CreditApplicationsFunction", func(ctx context.Context, l *Ledger, _ *apigw.Handler) (func(context.Context, int) (APIRequest, error), error) {
	custs, err := customerPool(ctx, l, poolSize, 1_000_000_000)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, i int) (APIRequest, error) {
		return APIRequest{Route: "POST /v1/customers/{id}/credit-applications", Path: map[string]string{"id": custs[i%len(custs)].ID},
			Actor: l.Clerk, IdemKey: "apply-" + strconv.Itoa(i),
			Body: apigw.CreditApplicationBody{OrderRef: "web-" + strconv.Itoa(i), AmountDue: 700, Currency: "USD"}}, nil
	}, nil
})

// PlaceOrder returns the operation that places a guest cash order of n
// gift cards (OrdersFunction), whose emails are sent at once.
func PlaceOrder(n int) Op {
	name := "order, 1 gift card"
	if n != 1 {
		name = fmt.Sprintf("order, %d gift cards", n)
	}
	return apiOp(name, "OrdersFunction", func(_ context.Context, l *Ledger, _ *apigw.Handler) (func(context.Context, int) (APIRequest, error), error) {
		return func(_ context.Context, i int) (APIRequest, error) {
			cards := make([]gc.NewGiftCard, n)
			for j := range cards {
				cards[j] = gc.NewGiftCard{Amount: 5000}
			}
			return APIRequest{Route: "POST /v1/orders", Actor: l.Clerk, IdemKey: "order" + strconv.Itoa(n) + "-" + strconv.Itoa(i),
				Body: gc.NewOrder{BillingName: "Sam Staff", BillingEmail: "sam.staff@bench.example", PaymentMethod: "card",
					Currency: "USD", GiftCards: cards}}, nil
		}, nil
	})
}

// NewOrder places a cash order for cards of the given amounts, for
// customerID if not empty, billed to billingEmail.
func (l *Ledger) NewOrder(ctx context.Context, customerID, billingEmail string, amounts ...int64) (gc.Order, error) {
	cards := make([]gc.NewGiftCard, len(amounts))
	for i, a := range amounts {
		cards[i] = gc.NewGiftCard{Amount: a}
	}
	p, err := l.Store.PlaceOrder(ctx, l.Admin, "", gc.NewOrder{CustomerID: customerID, BillingName: "Bench Buyer",
		BillingEmail: billingEmail, PaymentMethod: "cash", Currency: "USD", GiftCards: cards})
	if err != nil {
		return gc.Order{}, fmt.Errorf("place order: %w", err)
	}
	return p.Order, nil
}

// NewPromotion defines an active promotion: a gift-card purchase of at
// least 50.00 USD earns 5.00 of credit, up to 1,000 times per customer,
// within a large budget (so each grant updates the budget, the costlier
// path).
func (l *Ledger) NewPromotion(ctx context.Context) (gc.Promotion, error) {
	budget := int64(1_000_000_000)
	now := time.Now().UTC()
	return l.Store.CreatePromotion(ctx, l.Admin, "", gc.NewPromotion{Name: "Bench promotion", Currency: "USD",
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(24 * time.Hour), MinGiftCardAmount: 5000, CreditAmount: 500,
		Per: gc.PerOrder, PerCustomerLimit: 1000, Budget: &budget})
}

// Grant returns the operation that grants a promotion's credit for one
// fresh qualifying order (the promotion worker's unit of work), placed by
// a customer, or by a guest whose billing email is a customer's.
func Grant(guest bool) Op {
	name := "promotion grant"
	if guest {
		name = "promotion grant, guest order"
	}
	return Op{Name: name, Setup: func(ctx context.Context, l *Ledger) (Prepare, error) {
		p, err := l.NewPromotion(ctx)
		if err != nil {
			return nil, err
		}
		custs, err := customerPool(ctx, l, poolSize, 0)
		if err != nil {
			return nil, err
		}
		runID, err := (&gc.IDs{}).New("run")
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, i int) (Run, error) {
			c := custs[i%len(custs)]
			customerID := c.ID
			if guest {
				customerID = ""
			}
			o, err := l.NewOrder(ctx, customerID, c.Email, 5000)
			if err != nil {
				return nil, err
			}
			cands, _ := promotion.Candidates(p, o)
			if len(cands) != 1 {
				return nil, fmt.Errorf("grant: order %s makes %d candidates", o.ID, len(cands))
			}
			// A run resolves its batch's guest customers when it builds
			// the batch (one BatchGetItem for the batch), not per grant.
			if err := l.Store.ResolveGuests(ctx, l.Shop.ID, cands); err != nil {
				return nil, err
			}
			req := promotion.GrantRequest{Shop: l.Shop, Promotion: p, RunID: runID, Candidate: cands[0]}
			return func(ctx context.Context) error {
				out, err := l.Store.Grant(ctx, req)
				if err != nil {
					return err
				}
				if !out.Granted {
					return fmt.Errorf("grant of order %s skipped: %s", o.ID, out.Skip)
				}
				return nil
			}, nil
		}, nil
	}}
}

// Mutations are the operations of figures 1 and 2.
func Mutations() []Op {
	return append([]Op{Redeem, DirectCredit, ApplyCredit, PlaceOrder(1), PlaceOrder(5), Grant(false), SpendAcrossLots}, Checkout()...)
}

// Checkout are the checkout's mutations (CheckoutFunction): a hold on a
// customer's credit and on a gift card by its code, a capture, a void and
// a refund of a capture. What a run changes is prepared for it, untimed: a
// fresh card for a card hold, a fresh hold for a capture or a void, a
// fresh capture for a refund.
func Checkout() []Op {
	return []Op{HoldOnCredit, HoldOnCard, CaptureHold(false), CaptureHold(true), VoidHold, RefundCapture}
}

// holdOn holds 4200 of a customer's credit (through the store, untimed).
func (l *Ledger) holdOn(ctx context.Context, customerID string, capture bool) (gc.Hold, error) {
	h, err := l.Store.CreateHold(ctx, l.Clerk, "", gc.NewHold{Currency: "USD", Amount: 4200, OrderRef: "web-" + strconv.FormatInt(l.Next(), 10),
		CustomerID: customerID, Capture: capture})
	if err != nil {
		return h, fmt.Errorf("hold: %w", err)
	}
	return h, nil
}

// HoldOnCredit holds part of a customer's credit for a checkout.
var HoldOnCredit = apiOp("hold on credit", "CheckoutFunction", func(ctx context.Context, l *Ledger, _ *apigw.Handler) (func(context.Context, int) (APIRequest, error), error) {
	custs, err := customerPool(ctx, l, poolSize, 1_000_000_000)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, i int) (APIRequest, error) {
		return APIRequest{Route: "POST /v1/holds", Actor: l.Clerk, IdemKey: "hold-" + strconv.Itoa(i),
			Body: apigw.HoldBody{Currency: "USD", Amount: 4200, OrderRef: "web-" + strconv.Itoa(i), CustomerID: custs[i%len(custs)].ID}}, nil
	}, nil
})

// HoldOnCard holds part of a fresh gift card by its code, as a guest's
// checkout does (the code hashed, the client's attempt counters read).
var HoldOnCard = apiOp("hold on a gift card", "CheckoutFunction", func(ctx context.Context, l *Ledger, _ *apigw.Handler) (func(context.Context, int) (APIRequest, error), error) {
	return func(ctx context.Context, i int) (APIRequest, error) {
		o, err := l.NewOrder(ctx, "", "buyer@bench.example", 5000)
		if err != nil {
			return APIRequest{}, err
		}
		return APIRequest{Route: "POST /v1/holds", Actor: l.Clerk, IdemKey: "card-hold-" + strconv.Itoa(i),
			Body: apigw.HoldBody{Currency: "USD", Amount: 4200, OrderRef: "guest-" + strconv.Itoa(i), GiftCardCode: o.GiftCards[0].Code,
				ClientRef: "session-" + strconv.Itoa(i%poolSize)}}, nil
	}, nil
})

// CaptureHold returns the capture of part of a fresh hold on credit: a
// final one, which releases the rest to the customer (it reads and writes
// the customer), or one that leaves the hold open (it touches the
// customer only to lower what is held, and reads nothing of it).
func CaptureHold(final bool) Op {
	name, key := "capture, part", "capture-part-"
	if final {
		name, key = "capture, final (rest released)", "capture-final-"
	}
	return apiOp(name, "CheckoutFunction", func(ctx context.Context, l *Ledger, _ *apigw.Handler) (func(context.Context, int) (APIRequest, error), error) {
		custs, err := customerPool(ctx, l, poolSize, 1_000_000_000)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, i int) (APIRequest, error) {
			h, err := l.holdOn(ctx, custs[i%len(custs)].ID, false)
			if err != nil {
				return APIRequest{}, err
			}
			return APIRequest{Route: "POST /v1/holds/{id}/captures", Path: map[string]string{"id": h.ID}, Actor: l.Clerk,
				IdemKey: key + strconv.Itoa(i), Body: apigw.CaptureBody{Amount: 4000, Final: final}}, nil
		}, nil
	})
}

// VoidHold voids a fresh hold on credit (the card payment failed).
var VoidHold = apiOp("void", "CheckoutFunction", func(ctx context.Context, l *Ledger, _ *apigw.Handler) (func(context.Context, int) (APIRequest, error), error) {
	custs, err := customerPool(ctx, l, poolSize, 1_000_000_000)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, i int) (APIRequest, error) {
		h, err := l.holdOn(ctx, custs[i%len(custs)].ID, false)
		if err != nil {
			return APIRequest{}, err
		}
		return APIRequest{Route: "POST /v1/holds/{id}/void", Path: map[string]string{"id": h.ID}, Actor: l.Clerk, IdemKey: "void-" + strconv.Itoa(i)}, nil
	}, nil
})

// RefundCapture refunds part of a fresh capture back to the credit it
// came from.
var RefundCapture = apiOp("refund", "CheckoutFunction", func(ctx context.Context, l *Ledger, _ *apigw.Handler) (func(context.Context, int) (APIRequest, error), error) {
	custs, err := customerPool(ctx, l, poolSize, 1_000_000_000)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, i int) (APIRequest, error) {
		h, err := l.holdOn(ctx, custs[i%len(custs)].ID, true)
		if err != nil {
			return APIRequest{}, err
		}
		return APIRequest{Route: "POST /v1/refunds", Actor: l.Clerk, IdemKey: "refund-" + strconv.Itoa(i),
			Body: apigw.RefundBody{TransactionID: h.Captures[0].TransactionID, Amount: 1000, Currency: "USD"}}, nil
	}, nil
})

// spendLots is how many lots SpendAcrossLots spends.
const spendLots = 50

// SpendAcrossLots spends a customer's whole balance held in spendLots
// lots (two thirds expiring on different days, a third never) with one
// credit application (CreditApplicationsFunction): still one read and one
// write, since the customer item keeps its lots.
var SpendAcrossLots = withChunk(10, apiOp("spend across 50 lots", "CreditApplicationsFunction", func(ctx context.Context, l *Ledger, _ *apigw.Handler) (func(context.Context, int) (APIRequest, error), error) {
	return func(ctx context.Context, i int) (APIRequest, error) {
		c, err := l.NewCustomer(ctx, 0)
		if err != nil {
			return APIRequest{}, err
		}
		for j := range spendLots {
			in := gc.DirectCredit{CustomerID: c.ID, Amount: 100, Currency: "USD", PaymentType: "goodwill"}
			if j%3 != 0 {
				exp := time.Now().Add(time.Duration(1+j) * 24 * time.Hour)
				in.ExpiresAt = &exp
			}
			if _, err := l.Store.Credit(ctx, l.Admin, "", in); err != nil {
				return APIRequest{}, fmt.Errorf("credit a lot: %w", err)
			}
		}
		return APIRequest{Route: "POST /v1/customers/{id}/credit-applications", Path: map[string]string{"id": c.ID},
			Actor: l.Clerk, IdemKey: "lots-" + strconv.Itoa(i),
			Body: apigw.CreditApplicationBody{OrderRef: "lots-" + strconv.Itoa(i), AmountDue: 100 * spendLots, Currency: "USD"}}, nil
	}, nil
}))

// withChunk sets an operation's figure 2 chunk.
func withChunk(n int, op Op) Op {
	op.Chunk = n
	return op
}
