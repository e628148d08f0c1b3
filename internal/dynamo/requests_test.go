package dynamo_test

import (
	"strings"
	"testing"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Every mutation is one write request and at most one read request.
func TestOneWriteRequestPerMutation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "count@example.com")
	MustCredit(t, e, cust.ID, 10_000)
	card := MustGiftCard(t, e, 100)
	cardToDisable := MustGiftCard(t, e, 100)
	credit := MustCredit(t, e, cust.ID, 1)
	five := make([]gc.NewGiftCard, 5)
	for i := range five {
		five[i] = gc.NewGiftCard{Amount: 100}
	}
	ops := []struct {
		name string
		run  func(key string) error
	}{
		{"create customer", func(k string) error {
			_, err := e.store.CreateCustomer(e.ctx, e.admin, k, gc.NewCustomer{Email: "c2" + k + "@example.com", Name: "C2"})
			return err
		}},
		{"order with 1 card", func(k string) error {
			_, err := e.store.PlaceOrder(e.ctx, e.admin, k, gc.NewOrder{BillingName: "B", BillingEmail: "b@example.com", PaymentMethod: "cash", Currency: "USD", GiftCards: five[:1]})
			return err
		}},
		{"order with 5 cards and credit", func(k string) error {
			_, err := e.store.PlaceOrder(e.ctx, e.admin, k, gc.NewOrder{CustomerID: cust.ID, BillingName: "B", BillingEmail: "b@example.com", PaymentMethod: "card", Currency: "USD",
				GiftCards: five, Goods: []gc.OrderLine{{Description: "g", UnitPrice: 500, Quantity: 1}}})
			return err
		}},
		{"redeem", func(k string) error { _, err := e.store.Redeem(e.ctx, e.admin, k, cust.ID, card.Code, ""); return err }},
		{"disable", func(k string) error { _, err := e.store.DisableCard(e.ctx, e.admin, k, cardToDisable.ID); return err }},
		{"direct credit", func(k string) error {
			_, err := e.store.Credit(e.ctx, e.admin, k, gc.DirectCredit{CustomerID: cust.ID, Amount: 5, Currency: "USD", PaymentType: "promo"})
			return err
		}},
		{"apply credit", func(k string) error {
			_, err := e.store.ApplyCredit(e.ctx, e.admin, k, gc.CreditApplication{CustomerID: cust.ID, OrderRef: "count-1", AmountDue: 50, Currency: "USD"})
			return err
		}},
		{"reverse", func(k string) error {
			_, err := e.store.Reverse(e.ctx, e.admin, k, gc.Reversal{CustomerID: cust.ID, TransactionID: credit.ID, Reason: "test"})
			return err
		}},
	}
	for _, op := range ops {
		for _, key := range []string{"", "key-" + strings.ReplaceAll(op.name, " ", "-")} {
			if key == "" && (op.name == "redeem" || op.name == "disable" || op.name == "apply credit" || op.name == "reverse") {
				continue // these run once, with a key
			}
			e.counter.Reset()
			if err := op.run(key); err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
			got := e.counter.Counts()
			writes, reads := got["TransactWriteItems"], got["TransactGetItems"]
			if writes != 1 || reads > 1 || len(got) != writes+reads {
				t.Errorf("%s (key %q): requests %v, want 1 TransactWriteItems and at most 1 TransactGetItems", op.name, key, got)
			}
		}
	}
}

// Bad input is a typed invalid error and writes nothing.
func TestInvalidInputWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "valid@example.com")
	long := strings.Repeat("x", 201)
	order := func(mut func(*gc.NewOrder)) gc.NewOrder {
		o := gc.NewOrder{BillingName: "B", BillingEmail: "b@example.com", PaymentMethod: "cash", Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: 100}}}
		mut(&o)
		return o
	}
	credit := func(mut func(*gc.DirectCredit)) gc.DirectCredit {
		c := gc.DirectCredit{CustomerID: cust.ID, Amount: 100, Currency: "USD", PaymentType: "cash"}
		mut(&c)
		return c
	}
	cases := []struct {
		name string
		run  func() error
	}{
		{"negative credit", func() error {
			_, err := e.store.Credit(e.ctx, e.admin, "", credit(func(c *gc.DirectCredit) { c.Amount = -1 }))
			return err
		}},
		{"zero credit", func() error {
			_, err := e.store.Credit(e.ctx, e.admin, "", credit(func(c *gc.DirectCredit) { c.Amount = 0 }))
			return err
		}},
		{"overflowing credit", func() error {
			_, err := e.store.Credit(e.ctx, e.admin, "", credit(func(c *gc.DirectCredit) { c.Amount = 1 << 62 }))
			return err
		}},
		{"unknown currency", func() error {
			_, err := e.store.Credit(e.ctx, e.admin, "", credit(func(c *gc.DirectCredit) { c.Currency = "XYZ" }))
			return err
		}},
		{"lower-case currency", func() error {
			_, err := e.store.Credit(e.ctx, e.admin, "", credit(func(c *gc.DirectCredit) { c.Currency = "usd" }))
			return err
		}},
		{"bad payment type", func() error {
			_, err := e.store.Credit(e.ctx, e.admin, "", credit(func(c *gc.DirectCredit) { c.PaymentType = "Cash Money!" }))
			return err
		}},
		{"over-long reference", func() error {
			_, err := e.store.Credit(e.ctx, e.admin, "", credit(func(c *gc.DirectCredit) { c.Reference = long }))
			return err
		}},
		{"malformed email", func() error {
			_, err := e.store.CreateCustomer(e.ctx, e.admin, "", gc.NewCustomer{Email: "not-an-email", Name: "N"})
			return err
		}},
		{"email with display name", func() error {
			_, err := e.store.CreateCustomer(e.ctx, e.admin, "", gc.NewCustomer{Email: "Jo <jo@example.com>", Name: "N"})
			return err
		}},
		{"empty name", func() error {
			_, err := e.store.CreateCustomer(e.ctx, e.admin, "", gc.NewCustomer{Email: "n@example.com", Name: "  "})
			return err
		}},
		{"order without items", func() error {
			_, err := e.store.PlaceOrder(e.ctx, e.admin, "", order(func(o *gc.NewOrder) { o.GiftCards = nil }))
			return err
		}},
		{"order with zero card", func() error {
			_, err := e.store.PlaceOrder(e.ctx, e.admin, "", order(func(o *gc.NewOrder) { o.GiftCards[0].Amount = 0 }))
			return err
		}},
		{"order paid with a gift card", func() error {
			_, err := e.store.PlaceOrder(e.ctx, e.admin, "", order(func(o *gc.NewOrder) { o.PaymentMethod = "gift_card" }))
			return err
		}},
		{"order with too many cards", func() error {
			_, err := e.store.PlaceOrder(e.ctx, e.admin, "", order(func(o *gc.NewOrder) { o.GiftCards = make([]gc.NewGiftCard, gc.MaxGiftCards+1) }))
			return err
		}},
		{"order with zero quantity", func() error {
			_, err := e.store.PlaceOrder(e.ctx, e.admin, "", order(func(o *gc.NewOrder) {
				o.Goods = []gc.OrderLine{{Description: "g", UnitPrice: 1, Quantity: 0}}
			}))
			return err
		}},
		{"bad code", func() error { _, err := e.store.Redeem(e.ctx, e.admin, "", cust.ID, "HELLO", ""); return err }},
		{"apply without order ref", func() error {
			_, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: cust.ID, AmountDue: 1, Currency: "USD"})
			return err
		}},
		{"over-long idempotency key", func() error {
			_, err := e.store.Credit(e.ctx, e.admin, strings.Repeat("k", 256), credit(func(*gc.DirectCredit) {}))
			return err
		}},
	}
	for _, c := range cases {
		before := e.snapshot(t)
		e.counter.Reset()
		err := c.run()
		wantCode(t, err, gc.EINVALID)
		if n := e.counter.Counts()["TransactWriteItems"]; n != 0 {
			t.Errorf("%s: %d write requests, want 0", c.name, n)
		}
		if e.snapshot(t) != before {
			t.Errorf("%s: the table changed", c.name)
		}
	}
}
