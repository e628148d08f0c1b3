package money

import "testing"

// TestCurrencyTableShape guards the hand-written table against typos: every
// code is three uppercase ASCII letters and every exponent is one ISO uses.
func TestCurrencyTableShape(t *testing.T) {
	if got, want := len(exponents), 150; got < want {
		t.Errorf("table has %d currencies, want at least %d", got, want)
	}
	for code, e := range exponents {
		if len(code) != 3 || !isUpper(code[0]) || !isUpper(code[1]) || !isUpper(code[2]) {
			t.Errorf("code %q is not three uppercase letters", code)
		}
		if e < 0 || e > 4 {
			t.Errorf("%s has exponent %d, want 0 to 4", code, e)
		}
	}
}

func isUpper(b byte) bool { return 'A' <= b && b <= 'Z' }
