package giftcode

// The check symbol is computed with a Damm-style quasigroup of order 32:
//
//	x ∘ y = α·x + y   over the field GF(32),
//
// where symbols are read as elements of GF(2)[t]/(t⁵+t²+1), α = t (the
// symbol "2") and + is XOR. Checking a code folds its 17 values from the
// left, r ← r ∘ d starting from r = 0, and accepts it when r ends at 0; the
// check symbol is the one value that makes this so.
//
// Unrolled, the fold is the weighted sum Σ α^(16−i)·d_i over positions
// i = 0…16, with the check symbol at position 16 and weight α⁰ = 1. That
// makes the guarantees easy to see:
//
//   - A substitution at position i changes the sum by α^(16−i)·e with the
//     error e ≠ 0. In a field that product is never 0, so every single
//     substitution is detected.
//   - Swapping distinct symbols x ≠ y at positions i < j changes the sum by
//     (α^(16−i) + α^(16−j))·(x + y). This is 0 only if α^(j−i) = 1. The
//     multiplicative group of GF(32) has prime order 31, so α ≠ 1 has order
//     31, and j−i ≤ 16 < 31: every transposition of distinct symbols, at any
//     distance and including one with the check symbol, is detected.
//
// In quasigroup terms, ∘ is totally anti-symmetric ((c∘x)∘y = (c∘y)∘x only
// if x = y) because α + 1 ≠ 0, which is Damm's condition for catching
// adjacent transpositions; the field structure extends it to every
// distance. TestCheckTableProperties and the exhaustive tests in
// check_test.go verify all of this rather than trusting the algebra.

// gfPoly is t⁵+t²+1, an irreducible (indeed primitive) polynomial over GF(2).
const gfPoly = 0b100101

// alpha is the multiplier α = t.
const alpha = 2

// gfMul multiplies a and b in GF(32).
func gfMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		b >>= 1
		a <<= 1
		if a&32 != 0 {
			a ^= gfPoly
		}
	}
	return p & 31
}

// op is the quasigroup operation x ∘ y = α·x + y.
func op(x, y byte) byte {
	return gfMul(alpha, x) ^ y
}

// fold returns the fold of vals under op, starting from 0.
func fold(vals []byte) byte {
	var r byte
	for _, d := range vals {
		r = op(r, d&31)
	}
	return r
}

// checkSymbol returns the value of the check symbol for the data values:
// the c with fold(data) ∘ c = 0, which is α·fold(data) as −1 = 1 in GF(32).
func checkSymbol(data []byte) byte {
	return gfMul(alpha, fold(data))
}

// valid reports whether vals, data followed by the check symbol, fold to 0.
func valid(vals []byte) bool {
	return fold(vals) == 0
}
