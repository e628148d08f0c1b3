// Package money represents amounts of money exactly, as an integer count of
// a currency's minor units (cents for USD, yen for JPY, fils for BHD), with
// the currency carried alongside. It never uses floating point: amounts are
// parsed from and formatted to decimal strings digit by digit, and every
// arithmetic operation reports overflow instead of wrapping.
//
// The package is a leaf: it imports only the standard library.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// Errors returned by this package, always wrapped with context; test for
// them with errors.Is.
var (
	// ErrUnknownCurrency means a code is not an active ISO 4217 currency
	// written as three uppercase letters.
	ErrUnknownCurrency = errors.New("unknown currency")
	// ErrSyntax means a decimal string is not of the form -?digits(.digits)?.
	ErrSyntax = errors.New("invalid decimal syntax")
	// ErrPrecision means a decimal has more significant decimal places than
	// the currency's minor unit, so it cannot be held exactly.
	ErrPrecision = errors.New("more decimal places than the currency allows")
	// ErrOverflow means a result does not fit in an int64 count of minor
	// units.
	ErrOverflow = errors.New("amount out of range")
	// ErrCurrencyMismatch means an operation was given amounts in two
	// different currencies.
	ErrCurrencyMismatch = errors.New("currency mismatch")
)

// Money is an amount of money: Amount minor units of the ISO 4217 currency
// Currency. Use New or Parse to build one with a checked currency; the zero
// Money has no currency.
type Money struct {
	Amount   int64
	Currency string
}

// New returns amount minor units of currency. The currency must be known to
// LookupCurrency; otherwise the error wraps ErrUnknownCurrency.
func New(amount int64, currency string) (Money, error) {
	if _, err := LookupCurrency(currency); err != nil {
		return Money{}, err
	}
	return Money{Amount: amount, Currency: currency}, nil
}

// Parse reads a decimal amount in major units, such as "50", "50.0" or
// "-0.05", and returns it in minor units of currency.
//
// The accepted syntax is deliberately narrow: an optional leading "-",
// one or more ASCII digits, and optionally a "." followed by one or more
// digits. Anything else ("+5", " 5", "5.", ".5", "1e3", "1,000", "") wraps
// ErrSyntax. A fractional part with more places than the currency's
// exponent is accepted only when the extra places are zeros ("50.000" USD
// is 5000), because then no rounding happens; "50.001" USD and "1.5" JPY
// wrap ErrPrecision. An amount outside the int64 range of minor units wraps
// ErrOverflow, and an unknown currency wraps ErrUnknownCurrency.
func Parse(decimal, currency string) (Money, error) {
	cur, err := LookupCurrency(currency)
	if err != nil {
		return Money{}, err
	}
	fail := func(e error) (Money, error) {
		return Money{}, fmt.Errorf("money: parse %s %s: %w", quote(decimal), currency, e)
	}

	s := decimal
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			if frac == "" {
				return fail(ErrSyntax) // "5."
			}
			break
		}
	}
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return fail(ErrSyntax)
	}
	// Check precision before range so that "1.5" JPY is reported as a
	// precision error however many digits precede it.
	if len(frac) > cur.Exponent {
		if !allZeros(frac[cur.Exponent:]) {
			return fail(ErrPrecision)
		}
		frac = frac[:cur.Exponent]
	}

	// Accumulate the magnitude as a uint64 so that math.MinInt64, whose
	// magnitude has no positive int64, can still be parsed.
	var mag uint64
	push := func(d byte) bool {
		hi, lo := bits.Mul64(mag, 10)
		if hi != 0 {
			return false
		}
		lo, carry := bits.Add64(lo, uint64(d-'0'), 0)
		mag = lo
		return carry == 0
	}
	for i := 0; i < len(intPart); i++ {
		if !push(intPart[i]) {
			return fail(ErrOverflow)
		}
	}
	for i := 0; i < cur.Exponent; i++ {
		d := byte('0')
		if i < len(frac) {
			d = frac[i]
		}
		if !push(d) {
			return fail(ErrOverflow)
		}
	}

	var amount int64
	switch {
	case !neg && mag <= math.MaxInt64:
		amount = int64(mag)
	case neg && mag <= 1<<63:
		amount = int64(-mag) // two's complement; exact for mag == 1<<63
	default:
		return fail(ErrOverflow)
	}
	return Money{Amount: amount, Currency: currency}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func allZeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// Format returns the amount in major units with exactly as many decimal
// places as the currency's exponent: "50.00" for 5000 USD, "-0.05" for -5
// USD, "1500" for 1500 JPY, "1.250" for 1250 BHD. Parse reads the result
// back to the same Money. If the currency is unknown there is no exponent
// to apply, so Format returns the plain count of minor units rather than
// guessing.
func (m Money) Format() string {
	cur, err := LookupCurrency(m.Currency)
	if err != nil {
		return strconv.FormatInt(m.Amount, 10)
	}
	mag := uint64(m.Amount)
	if m.Amount < 0 {
		mag = -mag // exact for math.MinInt64 too
	}
	digits := strconv.FormatUint(mag, 10)
	sign := ""
	if m.Amount < 0 {
		sign = "-"
	}
	if cur.Exponent == 0 {
		return sign + digits
	}
	for len(digits) <= cur.Exponent {
		digits = "0" + digits
	}
	cut := len(digits) - cur.Exponent
	return sign + digits[:cut] + "." + digits[cut:]
}

// String returns the formatted amount followed by the currency code, as in
// "50.00 USD".
func (m Money) String() string {
	return m.Format() + " " + m.Currency
}

// Add returns a+b. The currencies must be equal (ErrCurrencyMismatch) and
// the sum must fit in an int64 (ErrOverflow).
func Add(a, b Money) (Money, error) {
	if a.Currency != b.Currency {
		return Money{}, fmt.Errorf("money: add %s to %s: %w", quote(b.Currency), quote(a.Currency), ErrCurrencyMismatch)
	}
	sum, err := AddInt64(a.Amount, b.Amount)
	if err != nil {
		return Money{}, fmt.Errorf("money: add %s: %w", a.Currency, ErrOverflow)
	}
	return Money{Amount: sum, Currency: a.Currency}, nil
}

// Sub returns a-b. The currencies must be equal (ErrCurrencyMismatch) and
// the difference must fit in an int64 (ErrOverflow).
func Sub(a, b Money) (Money, error) {
	if a.Currency != b.Currency {
		return Money{}, fmt.Errorf("money: subtract %s from %s: %w", quote(b.Currency), quote(a.Currency), ErrCurrencyMismatch)
	}
	d := a.Amount - b.Amount
	// Subtraction overflowed iff the operands have different signs and the
	// result's sign differs from a's.
	if (a.Amount^b.Amount) < 0 && (a.Amount^d) < 0 {
		return Money{}, fmt.Errorf("money: subtract %s: %w", a.Currency, ErrOverflow)
	}
	return Money{Amount: d, Currency: a.Currency}, nil
}

// Neg returns -m. Only math.MinInt64 minor units has no negation
// (ErrOverflow).
func (m Money) Neg() (Money, error) {
	if m.Amount == math.MinInt64 {
		return Money{}, fmt.Errorf("money: negate %s: %w", m.Currency, ErrOverflow)
	}
	return Money{Amount: -m.Amount, Currency: m.Currency}, nil
}

// AddInt64 returns a+b, or an error wrapping ErrOverflow if the sum does not
// fit in an int64. It is for balances already known to share a currency.
func AddInt64(a, b int64) (int64, error) {
	s := a + b
	// Addition overflowed iff the operands have the same sign and the
	// result's sign differs from it.
	if (a^s)&(b^s) < 0 {
		return 0, fmt.Errorf("money: %d + %d: %w", a, b, ErrOverflow)
	}
	return s, nil
}

// SubInt64 returns a-b, or an error wrapping ErrOverflow if the difference
// does not fit in an int64.
func SubInt64(a, b int64) (int64, error) {
	d := a - b
	if (a^b) < 0 && (a^d) < 0 {
		return 0, fmt.Errorf("money: %d - %d: %w", a, b, ErrOverflow)
	}
	return d, nil
}

// MulInt64 returns a*b (a price times a quantity), or an error wrapping
// ErrOverflow if the product does not fit in an int64.
func MulInt64(a, b int64) (int64, error) {
	if a == 0 || b == 0 {
		return 0, nil
	}
	p := a * b
	if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) || p/b != a {
		return 0, fmt.Errorf("money: %d × %d: %w", a, b, ErrOverflow)
	}
	return p, nil
}

// SumInt64 returns the sum of xs (0 for none), or an error wrapping
// ErrOverflow if the total does not fit in an int64. The sum is computed
// exactly in 128 bits, so the answer does not depend on the order of xs:
// {MaxInt64, 1, -1} sums to MaxInt64 even though adding left to right
// would overflow on the way.
func SumInt64(xs ...int64) (int64, error) {
	// hi:lo is a two's-complement 128-bit accumulator; hi cannot overflow
	// for fewer than 2^63 terms.
	var hi int64
	var lo uint64
	for _, x := range xs {
		var carry uint64
		lo, carry = bits.Add64(lo, uint64(x), 0)
		hi += x >> 63 // sign extension: -1 for negative x, else 0
		hi += int64(carry)
	}
	if hi != int64(lo)>>63 {
		return 0, fmt.Errorf("money: sum of %d amounts: %w", len(xs), ErrOverflow)
	}
	return int64(lo), nil
}

// quote quotes untrusted input for an error message, cut short so that a
// huge input cannot bloat logs.
func quote(s string) string {
	const limit = 32
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "…"
	}
	return strconv.Quote(s)
}
