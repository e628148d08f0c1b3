package money_test

import (
	"errors"
	"math"
	"math/big"
	"regexp"
	"testing"

	"github.com/giftcredit/giftcredit/internal/money"
)

// fuzzCurrencies are the currencies FuzzParse picks from: every exponent in
// the table, and one code that must be rejected.
var fuzzCurrencies = []string{"USD", "JPY", "BHD", "CLF", "EUR", "KRW", "usd"}

// decimalSyntax is the grammar Parse documents, written independently of
// Parse so that the fuzzer can compare the two.
var decimalSyntax = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// FuzzParse checks Parse against an independent oracle built on math/big:
// for any input it must agree on which error (if any) applies and on the
// amount, and whatever it accepts, and any Money at all, must survive
// Format and Parse unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"50", "50.0", "50.00", "50.001", "-0.05", "-0", "0", "007.50", "1.5",
		"1.000", "0.0001", "", "-", "+5", " 5", "5 ", "1e3", "1,000", ".5", "5.",
		"5..0", "--1", "NaN", "٥", "\xff",
		"92233720368547758.07", "92233720368547758.08", "-92233720368547758.08",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808",
		"922337203685477.5807", "99999999999999999999999.99",
	} {
		for i := range fuzzCurrencies {
			f.Add(s, int64(0), uint8(i))
		}
	}
	f.Add("1", int64(math.MaxInt64), uint8(0))
	f.Add("1", int64(math.MinInt64), uint8(3))
	f.Add("1", int64(-5), uint8(1))

	f.Fuzz(func(t *testing.T, s string, amount int64, curIndex uint8) {
		cur := fuzzCurrencies[int(curIndex)%len(fuzzCurrencies)]

		got, err := money.Parse(s, cur)
		if wantErr, want := oracle(s, cur); wantErr != nil {
			if !errors.Is(err, wantErr) {
				t.Fatalf("Parse(%q, %q) = %+v, %v; want error %v", s, cur, got, err, wantErr)
			}
		} else if err != nil || got != want {
			t.Fatalf("Parse(%q, %q) = %+v, %v; want %+v, nil", s, cur, got, err, want)
		}
		if err == nil {
			mustRoundTrip(t, got)
		}

		if _, err := money.LookupCurrency(cur); err == nil {
			mustRoundTrip(t, money.Money{Amount: amount, Currency: cur})
		}
	})
}

// oracle returns what Parse(s, cur) should return, computed with exact
// rational arithmetic.
func oracle(s, cur string) (error, money.Money) {
	c, err := money.LookupCurrency(cur)
	if err != nil {
		return money.ErrUnknownCurrency, money.Money{}
	}
	if !decimalSyntax.MatchString(s) {
		return money.ErrSyntax, money.Money{}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("big.Rat rejected " + s)
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Exponent)), nil)
	r.Mul(r, new(big.Rat).SetInt(scale))
	if !r.IsInt() {
		return money.ErrPrecision, money.Money{}
	}
	if !r.Num().IsInt64() {
		return money.ErrOverflow, money.Money{}
	}
	return nil, money.Money{Amount: r.Num().Int64(), Currency: cur}
}

// mustRoundTrip fails the test unless m.Format() parses back to m.
func mustRoundTrip(t *testing.T, m money.Money) {
	t.Helper()
	s := m.Format()
	got, err := money.Parse(s, m.Currency)
	if err != nil || got != m {
		t.Fatalf("Parse(%q, %q) = %+v, %v; want %+v (the Money it was formatted from)", s, m.Currency, got, err, m)
	}
}
