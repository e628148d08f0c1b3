package money

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// MustParse parses decimal in currency or fails the test.
func MustParse(tb testing.TB, decimal, currency string) Money {
	tb.Helper()
	m, err := Parse(decimal, currency)
	if err != nil {
		tb.Fatalf("Parse(%q, %q): %v", decimal, currency, err)
	}
	return m
}

func TestLookupCurrency(t *testing.T) {
	t.Run("required currencies have ISO exponents", func(t *testing.T) {
		want := map[string]int{
			"JPY": 0, "KRW": 0, "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2,
			"CAD": 2, "AUD": 2, "BHD": 3, "KWD": 3, "JOD": 3, "TND": 3,
			"OMR": 3, "CLF": 4,
		}
		for code, exp := range want {
			got, err := LookupCurrency(code)
			if err != nil {
				t.Errorf("LookupCurrency(%q): %v", code, err)
				continue
			}
			if got.Code != code || got.Exponent != exp {
				t.Errorf("LookupCurrency(%q) = %+v, want {%s %d}", code, got, code, exp)
			}
		}
	})
	for _, code := range []string{"", "usd", "Usd", " USD", "USD ", "USDD", "US", "XXX", "XTS", "XAU", "HRK", "ZZZ", "ＵＳＤ"} {
		t.Run("rejects "+code, func(t *testing.T) {
			_, err := LookupCurrency(code)
			if !errors.Is(err, ErrUnknownCurrency) {
				t.Errorf("LookupCurrency(%q) error = %v, want ErrUnknownCurrency", code, err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	got, err := New(-5, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Money{Amount: -5, Currency: "USD"}); got != want {
		t.Errorf("New = %+v, want %+v", got, want)
	}
	if _, err := New(5, "usd"); !errors.Is(err, ErrUnknownCurrency) {
		t.Errorf("New(5, usd) error = %v, want ErrUnknownCurrency", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		decimal  string
		currency string
		want     int64
		wantErr  error
	}{
		{"whole units", "50", "USD", 5000, nil},
		{"one decimal place", "50.0", "USD", 5000, nil},
		{"two decimal places", "50.00", "USD", 5000, nil},
		{"cents", "0.05", "USD", 5, nil},
		{"negative cents", "-0.05", "USD", -5, nil},
		{"negative zero is zero", "-0", "USD", 0, nil},
		{"leading zeros", "007.10", "USD", 710, nil},
		{"extra zero places are exact", "50.000", "USD", 5000, nil},
		{"yen", "1500", "JPY", 1500, nil},
		{"yen with zero fraction", "1500.0", "JPY", 1500, nil},
		{"won", "1000", "KRW", 1000, nil},
		{"dinar three places", "1.250", "BHD", 1250, nil},
		{"unidad de fomento four places", "0.0001", "CLF", 1, nil},
		{"largest", "92233720368547758.07", "USD", math.MaxInt64, nil},
		{"smallest", "-92233720368547758.08", "USD", math.MinInt64, nil},
		{"largest yen", "9223372036854775807", "JPY", math.MaxInt64, nil},

		{"sub-cent", "50.001", "USD", 0, ErrPrecision},
		{"fractional yen", "1.5", "JPY", 0, ErrPrecision},
		{"fourth place of dinar", "0.0001", "BHD", 0, ErrPrecision},
		{"precision checked before range", "99999999999999999999999.5", "JPY", 0, ErrPrecision},

		{"one past largest", "92233720368547758.08", "USD", 0, ErrOverflow},
		{"one past smallest", "-92233720368547758.09", "USD", 0, ErrOverflow},
		{"far too large", "100000000000000000000000000", "USD", 0, ErrOverflow},
		{"largest yen plus one", "9223372036854775808", "JPY", 0, ErrOverflow},
		{"digit push overflows uint64", "18446744073709551616", "JPY", 0, ErrOverflow},

		{"empty", "", "USD", 0, ErrSyntax},
		{"minus only", "-", "USD", 0, ErrSyntax},
		{"plus sign", "+5", "USD", 0, ErrSyntax},
		{"double minus", "--5", "USD", 0, ErrSyntax},
		{"leading space", " 5", "USD", 0, ErrSyntax},
		{"trailing space", "5 ", "USD", 0, ErrSyntax},
		{"inner space", "5 000", "USD", 0, ErrSyntax},
		{"exponent", "1e3", "USD", 0, ErrSyntax},
		{"thousands comma", "1,000", "USD", 0, ErrSyntax},
		{"decimal comma", "1,50", "USD", 0, ErrSyntax},
		{"no integer part", ".5", "USD", 0, ErrSyntax},
		{"no fraction digits", "5.", "USD", 0, ErrSyntax},
		{"two points", "5.0.0", "USD", 0, ErrSyntax},
		{"letters", "five", "USD", 0, ErrSyntax},
		{"hex", "0x10", "USD", 0, ErrSyntax},
		{"non-ASCII digit", "٥", "USD", 0, ErrSyntax},
		{"NaN", "NaN", "USD", 0, ErrSyntax},
		{"minus after digits", "5-", "USD", 0, ErrSyntax},

		{"lowercase currency", "5", "usd", 0, ErrUnknownCurrency},
		{"unknown currency", "5", "ABC", 0, ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.decimal, tt.currency)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q, %q) = %+v, %v; want error %v", tt.decimal, tt.currency, got, err, tt.wantErr)
				}
				if got != (Money{}) {
					t.Errorf("Parse returned %+v alongside an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q, %q): %v", tt.decimal, tt.currency, err)
			}
			if want := (Money{Amount: tt.want, Currency: tt.currency}); got != want {
				t.Errorf("Parse(%q, %q) = %+v, want %+v", tt.decimal, tt.currency, got, want)
			}
		})
	}
}

func TestParseErrorHasContextButBoundedInput(t *testing.T) {
	_, err := Parse("50.001", "USD")
	if got, want := err.Error(), `money: parse "50.001" USD: more decimal places than the currency allows`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	long := strings.Repeat("9", 10000) + "x"
	_, err = Parse(long, "USD")
	if !errors.Is(err, ErrSyntax) {
		t.Fatalf("error = %v, want ErrSyntax", err)
	}
	if n := len(err.Error()); n > 100 {
		t.Errorf("error message is %d bytes long; a huge input should be cut short", n)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		m          Money
		wantFormat string
		wantString string
	}{
		{Money{5000, "USD"}, "50.00", "50.00 USD"},
		{Money{5, "USD"}, "0.05", "0.05 USD"},
		{Money{-5, "USD"}, "-0.05", "-0.05 USD"},
		{Money{-105, "USD"}, "-1.05", "-1.05 USD"},
		{Money{0, "USD"}, "0.00", "0.00 USD"},
		{Money{1500, "JPY"}, "1500", "1500 JPY"},
		{Money{-1, "KRW"}, "-1", "-1 KRW"},
		{Money{1250, "BHD"}, "1.250", "1.250 BHD"},
		{Money{1, "CLF"}, "0.0001", "0.0001 CLF"},
		{Money{math.MaxInt64, "USD"}, "92233720368547758.07", "92233720368547758.07 USD"},
		{Money{math.MinInt64, "USD"}, "-92233720368547758.08", "-92233720368547758.08 USD"},
		{Money{1234, "usd"}, "1234", "1234 usd"}, // no exponent to apply
		{Money{}, "0", "0 "},
	}
	for _, tt := range tests {
		t.Run(tt.wantString, func(t *testing.T) {
			if got := tt.m.Format(); got != tt.wantFormat {
				t.Errorf("Format() = %q, want %q", got, tt.wantFormat)
			}
			if got := tt.m.String(); got != tt.wantString {
				t.Errorf("String() = %q, want %q", got, tt.wantString)
			}
		})
	}
}

func TestAddSub(t *testing.T) {
	usd := func(a int64) Money { return Money{a, "USD"} }
	tests := []struct {
		name    string
		op      func(a, b Money) (Money, error)
		a, b    Money
		want    Money
		wantErr error
	}{
		{"add", Add, usd(150), usd(-50), usd(100), nil},
		{"add to largest", Add, usd(math.MaxInt64 - 1), usd(1), usd(math.MaxInt64), nil},
		{"add past largest", Add, usd(math.MaxInt64), usd(1), Money{}, ErrOverflow},
		{"add past smallest", Add, usd(math.MinInt64), usd(-1), Money{}, ErrOverflow},
		{"add opposite extremes", Add, usd(math.MinInt64), usd(math.MaxInt64), usd(-1), nil},
		{"add across currencies", Add, usd(1), Money{1, "EUR"}, Money{}, ErrCurrencyMismatch},
		{"sub", Sub, usd(150), usd(50), usd(100), nil},
		{"sub to smallest", Sub, usd(-1), usd(math.MaxInt64), usd(math.MinInt64), nil},
		{"sub past smallest", Sub, usd(-2), usd(math.MaxInt64), Money{}, ErrOverflow},
		{"sub smallest from zero", Sub, usd(0), usd(math.MinInt64), Money{}, ErrOverflow},
		{"sub smallest from minus one", Sub, usd(-1), usd(math.MinInt64), usd(math.MaxInt64), nil},
		{"sub past largest", Sub, usd(math.MaxInt64), usd(-1), Money{}, ErrOverflow},
		{"sub across currencies", Sub, usd(1), Money{1, "JPY"}, Money{}, ErrCurrencyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.op(tt.a, tt.b)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNeg(t *testing.T) {
	got, err := Money{5, "USD"}.Neg()
	if want := (Money{-5, "USD"}); err != nil || got != want {
		t.Errorf("Neg = %+v, %v; want %+v", got, err, want)
	}
	got, err = Money{math.MaxInt64, "USD"}.Neg()
	if want := (Money{-math.MaxInt64, "USD"}); err != nil || got != want {
		t.Errorf("Neg(max) = %+v, %v; want %+v", got, err, want)
	}
	if _, err := (Money{math.MinInt64, "USD"}).Neg(); !errors.Is(err, ErrOverflow) {
		t.Errorf("Neg(min) error = %v, want ErrOverflow", err)
	}
}

func TestAddInt64(t *testing.T) {
	tests := []struct {
		a, b, want int64
		overflow   bool
	}{
		{2, 3, 5, false},
		{-2, -3, -5, false},
		{math.MaxInt64, 0, math.MaxInt64, false},
		{math.MaxInt64, math.MinInt64, -1, false},
		{math.MaxInt64, 1, 0, true},
		{math.MinInt64, -1, 0, true},
		{math.MaxInt64, math.MaxInt64, 0, true},
		{math.MinInt64, math.MinInt64, 0, true},
	}
	for _, tt := range tests {
		got, err := AddInt64(tt.a, tt.b)
		if tt.overflow {
			if !errors.Is(err, ErrOverflow) {
				t.Errorf("AddInt64(%d, %d) = %d, %v; want ErrOverflow", tt.a, tt.b, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("AddInt64(%d, %d) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
	}
}

func TestSumInt64(t *testing.T) {
	tests := []struct {
		name     string
		xs       []int64
		want     int64
		overflow bool
	}{
		{"none", nil, 0, false},
		{"one", []int64{-7}, -7, false},
		{"several", []int64{100, -30, 5}, 75, false},
		{"overflow on the way but total fits", []int64{math.MaxInt64, 1, -1}, math.MaxInt64, false},
		{"underflow on the way but total fits", []int64{math.MinInt64, -5, 10}, math.MinInt64 + 5, false},
		{"exactly smallest", []int64{math.MinInt64 + 1, -1}, math.MinInt64, false},
		{"total too large", []int64{math.MaxInt64, 1}, 0, true},
		{"total too small", []int64{math.MinInt64, -1}, 0, true},
		{"many large", []int64{math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MinInt64}, 0, true},
		{"many large that almost cancel", []int64{math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MinInt64, math.MinInt64}, math.MaxInt64 - 2, false},
		{"many large that cancel", []int64{math.MaxInt64, math.MaxInt64, math.MinInt64, math.MinInt64, 1}, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SumInt64(tt.xs...)
			if tt.overflow {
				if !errors.Is(err, ErrOverflow) {
					t.Errorf("SumInt64 = %d, %v; want ErrOverflow", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("SumInt64 = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestFormatParseRoundTripInEveryCurrency(t *testing.T) {
	amounts := []int64{0, 1, -1, 9, 10, 99, 100, 12345, -12345, math.MaxInt64, math.MinInt64}
	for code := range exponents {
		for _, a := range amounts {
			m := Money{Amount: a, Currency: code}
			if got := MustParse(t, m.Format(), code); got != m {
				t.Errorf("Parse(%q) = %+v, want %+v", m.Format(), got, m)
			}
		}
	}
}

func TestMulInt64(t *testing.T) {
	cases := []struct {
		a, b, want int64
		overflow   bool
	}{
		{a: 1500, b: 3, want: 4500},
		{a: 0, b: math.MaxInt64, want: 0},
		{a: -1, b: math.MaxInt64, want: -math.MaxInt64},
		{a: 922337203685478, b: 10000, overflow: true},
		{a: 1_000_000_000_000_000, b: 10_000, overflow: true},
		{a: math.MinInt64, b: -1, overflow: true},
		{a: -1, b: math.MinInt64, overflow: true},
		{a: math.MaxInt64, b: 2, overflow: true},
		{a: 1 << 32, b: 1 << 31, overflow: true},
		{a: 1 << 31, b: 1 << 31, want: 1 << 62},
	}
	for _, c := range cases {
		got, err := MulInt64(c.a, c.b)
		if c.overflow {
			if !errors.Is(err, ErrOverflow) {
				t.Errorf("MulInt64(%d, %d) = %d, %v; want ErrOverflow", c.a, c.b, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("MulInt64(%d, %d) = %d, %v; want %d", c.a, c.b, got, err, c.want)
		}
	}
}

func TestSubInt64(t *testing.T) {
	if _, err := SubInt64(math.MinInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Errorf("MinInt64 - 1: err = %v, want ErrOverflow", err)
	}
	if got, err := SubInt64(5, 7); err != nil || got != -2 {
		t.Errorf("5 - 7 = %d, %v", got, err)
	}
}
