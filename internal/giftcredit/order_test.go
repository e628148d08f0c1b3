package giftcredit

import (
	"errors"
	"testing"
)

// TestNewOrderValidateOverflow is issue 17 item 2: a goods line whose
// unitPrice × quantity does not fit in int64 used to wrap around and pass
// with a small or negative total. Every product and sum is checked.
func TestNewOrderValidateOverflow(t *testing.T) {
	line := func(price, qty int64) OrderLine { return OrderLine{Description: "x", UnitPrice: price, Quantity: qty} }
	base := NewOrder{BillingName: "B", BillingEmail: "b@example.test", PaymentMethod: "card", Currency: "USD"}
	cases := []struct {
		name        string
		goods       []OrderLine
		cards       []NewGiftCard
		field       string // "" = valid
		cardT, good int64
	}{
		{name: "product wraps int64", goods: []OrderLine{line(922337203685478, 10000), line(922337203685478, 10000)}, field: "goods[0].unitPrice"},
		{name: "largest price times largest quantity", goods: []OrderLine{line(MaxAmount, MaxQuantity)}, field: "goods[0].unitPrice"},
		{name: "line just over the bound", goods: []OrderLine{line(MaxAmount/10+1, 10)}, field: "goods[0].unitPrice"},
		{name: "lines sum over the bound", goods: []OrderLine{line(MaxAmount/2+1, 1), line(MaxAmount/2+1, 1)}, field: "goods"},
		{name: "cards and goods over the bound", goods: []OrderLine{line(MaxAmount, 1)}, cards: []NewGiftCard{{Amount: 1}}, field: "giftCards"},
		{name: "cards sum over the bound", cards: []NewGiftCard{{Amount: MaxAmount}, {Amount: 1}}, field: "giftCards"},
		{name: "at the bound", goods: []OrderLine{line(MaxAmount/10_000, 10_000)}, good: MaxAmount},
		{name: "ordinary", goods: []OrderLine{line(1500, 2)}, cards: []NewGiftCard{{Amount: 5000}}, cardT: 5000, good: 3000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base
			in.Goods, in.GiftCards = c.goods, c.cards
			cards, goods, err := in.Validate()
			if c.field == "" {
				if err != nil || cards != c.cardT || goods != c.good {
					t.Fatalf("Validate = %d, %d, %v; want %d, %d, nil", cards, goods, err, c.cardT, c.good)
				}
				return
			}
			if ErrorCode(err) != EINVALID {
				t.Fatalf("Validate = %d, %d, %v; want EINVALID on %s", cards, goods, err, c.field)
			}
			var e *Error
			if !errors.As(err, &e) || e.Field != c.field {
				t.Fatalf("field = %q, want %q (%v)", e.Field, c.field, err)
			}
		})
	}
}
