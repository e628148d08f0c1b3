package promotion_test

import (
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

var (
	start = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	end   = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
)

func promo(per string) gc.Promotion {
	return gc.Promotion{ID: "pro_x", Currency: "USD", StartsAt: start, EndsAt: end, MinGiftCardAmount: 5000,
		CreditAmount: 1000, Per: per, PerCustomerLimit: 1, Status: gc.PromotionActive}
}

func order(at time.Time, cur string, amounts ...int64) gc.Order {
	o := gc.Order{ID: "ord_x", CustomerID: "cus_x", BillingEmail: "x@example.com", Currency: cur, CreatedAt: at}
	for i, a := range amounts {
		o.GiftCards = append(o.GiftCards, gc.OrderCard{ID: "gc_" + string(rune('a'+i)), Amount: a})
	}
	return o
}

// The rule as a table: what an order earns, per order and per card, and
// why not.
func TestCandidates(t *testing.T) {
	t.Parallel()
	mid := start.Add(24 * time.Hour)
	cases := []struct {
		name  string
		per   string
		order gc.Order
		cands int
		skips map[gc.SkipReason]int64
	}{
		{"exactly the minimum", gc.PerOrder, order(mid, "USD", 5000), 1, nil},
		{"one cent below", gc.PerOrder, order(mid, "USD", 4999), 0, map[gc.SkipReason]int64{gc.SkipBelowMinimum: 1}},
		{"cards adding up", gc.PerOrder, order(mid, "USD", 2000, 3000), 1, nil},
		{"at the start (inclusive)", gc.PerOrder, order(start, "USD", 5000), 1, nil},
		{"a nanosecond before the start", gc.PerOrder, order(start.Add(-1), "USD", 5000), 0, map[gc.SkipReason]int64{gc.SkipOutsideWindow: 1}},
		{"at the end (exclusive)", gc.PerOrder, order(end, "USD", 5000), 0, map[gc.SkipReason]int64{gc.SkipOutsideWindow: 1}},
		{"a nanosecond before the end", gc.PerOrder, order(end.Add(-1), "USD", 5000), 1, nil},
		{"other currency", gc.PerOrder, order(mid, "EUR", 9000), 0, map[gc.SkipReason]int64{gc.SkipOtherCurrency: 1}},
		{"goods only", gc.PerOrder, order(mid, "USD"), 0, map[gc.SkipReason]int64{gc.SkipNoGiftCards: 1}},
		{"per card: each card on its own", gc.PerCard, order(mid, "USD", 5000, 2000, 3000, 6000), 2, map[gc.SkipReason]int64{gc.SkipBelowMinimum: 2}},
		{"per card: other currency counts cards", gc.PerCard, order(mid, "EUR", 5000, 6000), 0, map[gc.SkipReason]int64{gc.SkipOtherCurrency: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cands, skips := promotion.Candidates(promo(c.per), c.order)
			if len(cands) != c.cands {
				t.Errorf("candidates = %d, want %d", len(cands), c.cands)
			}
			if len(skips.Skipped) != len(c.skips) {
				t.Errorf("skips = %v, want %v", skips.Skipped, c.skips)
			}
			for r, n := range c.skips {
				if skips.Skipped[r] != n {
					t.Errorf("skips = %v, want %v", skips.Skipped, c.skips)
				}
			}
			keys := map[string]bool{}
			for _, cand := range cands {
				keys[cand.Key(c.per)] = true
			}
			if len(keys) != len(cands) {
				t.Errorf("grant keys %v are not one per candidate", keys)
			}
		})
	}
}

// At grant time a disabled card does not count; a redeemed one does.
func TestQualifies(t *testing.T) {
	t.Parallel()
	p := promo(gc.PerOrder)
	cands, _ := promotion.Candidates(p, order(start, "USD", 2500, 2500))
	c := cands[0]
	for _, tc := range []struct {
		name   string
		status map[string]gc.CardStatus
		want   gc.SkipReason
	}{
		{"both active", map[string]gc.CardStatus{"gc_a": gc.CardActive, "gc_b": gc.CardActive}, ""},
		{"one redeemed", map[string]gc.CardStatus{"gc_a": gc.CardRedeemed, "gc_b": gc.CardActive}, ""},
		{"one disabled", map[string]gc.CardStatus{"gc_a": gc.CardDisabled, "gc_b": gc.CardActive}, gc.SkipCardDisabled},
		{"one unknown", map[string]gc.CardStatus{"gc_a": gc.CardActive}, gc.SkipCardDisabled},
	} {
		if got := promotion.Qualifies(p, c, tc.status); got != tc.want {
			t.Errorf("%s: Qualifies = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMessageValidate(t *testing.T) {
	t.Parallel()
	ok := promotion.Message{Kind: promotion.KindBatch, ShopID: "shp_1", PromotionID: "pro_01m6b5cjm0p223epq4g0zjka08",
		RunID: "run_01m6b8q2x4r7t9v3w5y8z0a2c4", Seq: 1}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*promotion.Message){
		"unknown kind":    func(m *promotion.Message) { m.Kind = "grant" },
		"no shop":         func(m *promotion.Message) { m.ShopID = "" },
		"bad promotion":   func(m *promotion.Message) { m.PromotionID = "pro_../x" },
		"bad run":         func(m *promotion.Message) { m.RunID = "x" },
		"batch number 0":  func(m *promotion.Message) { m.Seq = 0 },
		"negative number": func(m *promotion.Message) { m.Seq = -3 },
	} {
		m := ok
		mut(&m)
		if m.Validate() == nil {
			t.Errorf("%s: accepted %+v", name, m)
		}
	}
}
