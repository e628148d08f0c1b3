package giftcode

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
)

// MustNew generates a code from the given random bytes or fails the test.
func MustNew(tb testing.TB, random []byte) Code {
	tb.Helper()
	c, err := Generator{Rand: bytes.NewReader(random)}.New()
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

// seededCodes returns n codes from a deterministic random stream.
func seededCodes(tb testing.TB, n int) []Code {
	tb.Helper()
	g := Generator{Rand: rand.NewChaCha8([32]byte{'g', 'i', 'f', 't'})}
	codes := make([]Code, n)
	for i := range codes {
		c, err := g.New()
		if err != nil {
			tb.Fatalf("New: %v", err)
		}
		codes[i] = c
	}
	return codes
}

// values returns the symbol values of a canonical code.
func values(c Code) ([]byte, error) {
	v := make([]byte, len(c))
	for i := 0; i < len(c); i++ {
		x := strings.IndexByte(alphabet, c[i])
		if x < 0 {
			return nil, fmt.Errorf("symbol %d not in the alphabet", i)
		}
		v[i] = byte(x)
	}
	return v, nil
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestGeneratorIsDeterministicGivenItsRandomBytes(t *testing.T) {
	tests := []struct {
		name   string
		random string
		want   Code
	}{
		// The 5-bit groups of these bytes are 0, 1, …, 15 and 16, 17, …, 31;
		// the check symbols were computed independently of this package.
		{"first half of the alphabet", "00443214c74254b635cf", "0123456789ABCDEFP"},
		{"second half of the alphabet", "84653a56d7c675be77df", "GHJKMNPQRSTVWXYZX"},
		{"all zero bits", "00000000000000000000", "00000000000000000"},
		{"all one bits", "ffffffffffffffffffff", "ZZZZZZZZZZZZZZZZM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MustNew(t, mustHex(t, tt.random)); got != tt.want {
				t.Errorf("New() = %s, want %s", string(got), string(tt.want))
			}
		})
	}
}

func TestGeneratorReadsExactly80Bits(t *testing.T) {
	r := bytes.NewReader(make([]byte, 25))
	g := Generator{Rand: r}
	for range 2 {
		if _, err := g.New(); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := r.Len(), 5; got != want {
		t.Errorf("%d bytes left unread after two codes, want %d", got, want)
	}
	if _, err := g.New(); err == nil {
		t.Error("New succeeded with only 5 random bytes left")
	}
}

func TestGeneratorDefaultsToCryptoRand(t *testing.T) {
	var g Generator
	a, err := g.New()
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.New()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two codes from crypto/rand are both %s", string(a))
	}
	for _, c := range []Code{a, b} {
		if got, err := Normalize(string(c)); err != nil || got != c {
			t.Errorf("Normalize(%s) = %s, %v", string(c), string(got), err)
		}
	}
}

func TestEverySymbolAppearsInEveryPosition(t *testing.T) {
	var seen [codeLen]map[byte]bool
	for i := range seen {
		seen[i] = map[byte]bool{}
	}
	for _, c := range seededCodes(t, 2000) {
		if len(c) != codeLen {
			t.Fatalf("code %q has length %d", string(c), len(c))
		}
		for i := 0; i < codeLen; i++ {
			seen[i][c[i]] = true
		}
	}
	for i, s := range seen {
		if len(s) != 32 {
			t.Errorf("position %d saw %d distinct symbols in 2000 codes, want 32", i, len(s))
		}
		for sym := range s {
			if !strings.ContainsRune(alphabet, rune(sym)) {
				t.Errorf("position %d has symbol %q outside the alphabet", i, sym)
			}
		}
	}
}

func TestNormalizeAcceptsWhatPeopleType(t *testing.T) {
	const code = Code("0123456789ABCDEFP")
	tests := []struct {
		name  string
		input string
	}{
		{"canonical", "0123456789ABCDEFP"},
		{"display form", "0123-4567-89AB-CDEF-P"},
		{"lowercase", "0123456789abcdefp"},
		{"mixed case display", "0123-4567-89aB-cDeF-p"},
		{"spaces", " 0123 4567 89AB CDEF P "},
		{"tabs", "0123\t4567\t89AB\tCDEF\tP"},
		{"underscores", "0123_4567_89AB_CDEF_P"},
		{"unicode hyphen", "0123\u20104567\u201089AB\u2010CDEF\u2010P"},
		{"en and em dashes", "0123\u20134567\u201489AB\u2015CDEF\u2011P"},
		{"minus sign", "0123\u22124567\u221289AB\u2212CDEF\u2212P"},
		{"doubled separators", "--0123  4567--89AB__CDEF-P-"},
		{"O for zero", "O123456789ABCDEFP"},
		{"lowercase o for zero", "o123456789ABCDEFP"},
		{"I for one", "0I23456789ABCDEFP"},
		{"L for one", "0L23456789ABCDEFP"},
		{"lowercase i and l for one", "0i23-4567-89ab-cdef-p"},
		{"lowercase l for one", "0l23456789ABCDEFP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.input)
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tt.input, err)
			}
			if got != code {
				t.Errorf("Normalize(%q) = %s, want %s", tt.input, string(got), string(code))
			}
		})
	}
}

func TestNormalizeRoundTripsDisplay(t *testing.T) {
	for _, c := range seededCodes(t, 500) {
		for _, input := range []string{c.Display(), strings.ToLower(c.Display()), string(c)} {
			got, err := Normalize(input)
			if err != nil || got != c {
				t.Fatalf("Normalize(%q) = %s, %v; want %s", input, string(got), err, string(c))
			}
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantErr error
	}{
		{"empty", "", ErrMalformed},
		{"separators only", " - _ ", ErrMalformed},
		{"one symbol short", "0123456789ABCDEF", ErrMalformed},
		{"one symbol long", "0123456789ABCDEFP0", ErrMalformed},
		{"far too long", strings.Repeat("0", 10000), ErrMalformed},
		{"U is not a symbol", "U123456789ABCDEFP", ErrMalformed},
		{"lowercase u", "u123456789ABCDEFP", ErrMalformed},
		{"Crockford check symbol", "0123456789ABCDEF*", ErrMalformed},
		{"dot separator", "0123.4567.89AB.CDEF.P", ErrMalformed},
		{"slash", "0123/4567/89AB/CDEF/P", ErrMalformed},
		{"newline", "0123456789ABCDEF\nP", ErrMalformed},
		{"full-width digit", "０123456789ABCDEFP", ErrMalformed},
		{"accented letter", "É123456789ABCDEFP", ErrMalformed},
		{"Kelvin sign", "\u212a123456789ABCDEFP", ErrMalformed},
		{"invalid UTF-8", "\xff123456789ABCDEFP", ErrMalformed},
		{"replacement character", "\ufffd123456789ABCDEFP", ErrMalformed},
		{"NUL", "0123456789ABCDEF\x00P", ErrMalformed},
		{"wrong check symbol", "0123456789ABCDEFQ", ErrCheck},
		{"one data symbol wrong", "1123456789ABCDEFP", ErrCheck},
		{"adjacent symbols swapped", "1023456789ABCDEFP", ErrCheck},
		{"check symbol swapped with the last data symbol", "0123456789ABCDEPF", ErrCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.input)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Normalize(%q) = %q, %v; want error %v", tt.input, string(got), err, tt.wantErr)
			}
			if got != "" {
				t.Errorf("Normalize returned %q alongside an error", string(got))
			}
		})
	}
}

func TestNormalizeErrorsDoNotEchoTheInput(t *testing.T) {
	c := MustNew(t, mustHex(t, "84653a56d7c675be77df"))
	inputs := []string{
		string(c[:16]) + "0", // bad check symbol (the right one is X)
		string(c[:16]),       // too short
		string(c) + "Z",      // too long
		string(c[:16]) + "U", // bad symbol
	}
	for _, in := range inputs {
		_, err := Normalize(in)
		if err == nil {
			t.Fatalf("Normalize(%q) succeeded", in)
		}
		for i := 0; i+4 <= 16; i += 4 {
			if chunk := string(c[i : i+4]); strings.Contains(err.Error(), chunk) {
				t.Errorf("error %q contains %q from the input", err, chunk)
			}
		}
	}
}

func TestCheckDetectsEverySingleSubstitution(t *testing.T) {
	codes := append([]Code{"00000000000000000", "ZZZZZZZZZZZZZZZZM"}, seededCodes(t, 20)...)
	for _, c := range codes {
		for i := 0; i < codeLen; i++ {
			for j := 0; j < len(alphabet); j++ {
				if alphabet[j] == c[i] {
					continue
				}
				typo := string(c[:i]) + alphabet[j:j+1] + string(c[i+1:])
				if _, err := Normalize(typo); !errors.Is(err, ErrCheck) {
					t.Errorf("%s with position %d changed to %c: error %v, want ErrCheck", string(c), i, alphabet[j], err)
				}
			}
		}
	}
}

func TestCheckDetectsEveryTranspositionOfDistinctSymbols(t *testing.T) {
	codes := append([]Code{"0123456789ABCDEFP", "GHJKMNPQRSTVWXYZX"}, seededCodes(t, 50)...)
	for _, c := range codes {
		for i := 0; i < codeLen; i++ {
			for j := i + 1; j < codeLen; j++ {
				if c[i] == c[j] {
					continue
				}
				b := []byte(c)
				b[i], b[j] = b[j], b[i]
				if _, err := Normalize(string(b)); !errors.Is(err, ErrCheck) {
					t.Errorf("%s with positions %d and %d swapped: error %v, want ErrCheck", string(c), i, j, err)
				}
			}
		}
	}
}

// TestCheckTableProperties verifies exhaustively, over all 32 symbols, the
// algebra that check.go relies on rather than trusting it.
func TestCheckTableProperties(t *testing.T) {
	t.Run("every row and column is a permutation", func(t *testing.T) {
		for a := byte(0); a < 32; a++ {
			var row, col [32]bool
			for b := byte(0); b < 32; b++ {
				row[op(a, b)] = true
				col[op(b, a)] = true
			}
			for v := range 32 {
				if !row[v] || !col[v] {
					t.Fatalf("row or column %d misses %d", a, v)
				}
			}
		}
	})
	t.Run("totally anti-symmetric", func(t *testing.T) {
		for c := byte(0); c < 32; c++ {
			for x := byte(0); x < 32; x++ {
				for y := byte(0); y < 32; y++ {
					if x != y && op(op(c, x), y) == op(op(c, y), x) {
						t.Fatalf("(%d∘%d)∘%d == (%d∘%d)∘%d", c, x, y, c, y, x)
					}
				}
			}
		}
	})
	t.Run("alpha has multiplicative order 31", func(t *testing.T) {
		p := byte(1)
		for k := 1; k <= 31; k++ {
			p = gfMul(p, alpha)
			if p == 1 && k < 31 {
				t.Fatalf("alpha^%d = 1", k)
			}
		}
		if p != 1 {
			t.Fatalf("alpha^31 = %d, want 1", p)
		}
	})
	t.Run("check symbol makes the fold zero for every last step", func(t *testing.T) {
		for r := byte(0); r < 32; r++ {
			data := []byte{r} // fold([r]) = r since α·0 = 0
			if got := fold(append(data, checkSymbol(data))); got != 0 {
				t.Fatalf("fold with check symbol after %d = %d, want 0", r, got)
			}
		}
	})
}

func TestDisplayLast4AndMasking(t *testing.T) {
	c := Code("0123456789ABCDEFP")
	if got, want := c.Display(), "0123-4567-89AB-CDEF-P"; got != want {
		t.Errorf("Display() = %q, want %q", got, want)
	}
	if got, want := len(c.Display()), 21; got != want {
		t.Errorf("len(Display()) = %d, want %d", got, want)
	}
	if got, want := c.Last4(), "CDEF"; got != want {
		t.Errorf("Last4() = %q, want %q", got, want)
	}
	if got, want := c.String(), "****-****-****-CDEF"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	secret := string(c[:12])
	for _, verb := range []string{"%v", "%s", "%q", "%x", "%X", "%#v", "%d", "%+v", "%10s"} {
		got := fmt.Sprintf(verb, c)
		if strings.Contains(got, secret) || strings.Contains(strings.ToLower(got), hex.EncodeToString([]byte(secret))) {
			t.Errorf("Sprintf(%q) = %q leaks the code", verb, got)
		}
	}
	if got := fmt.Sprintf("%v", struct{ C Code }{c}); strings.Contains(got, secret) {
		t.Errorf("a struct holding the code prints as %q", got)
	}
}

func TestNonCanonicalCodesDoNotPanicOrLeak(t *testing.T) {
	for _, c := range []Code{"", "ABC", "0123-4567-89AB-CDEF-P", "0123456789abcdefp", "0123456789ABCDEF\xff"} {
		if got := c.Last4(); got != "" {
			t.Errorf("Code(%q).Last4() = %q, want empty", string(c), got)
		}
		if got, want := c.String(), "****-****-****-****"; got != want {
			t.Errorf("Code(%q).String() = %q, want %q", string(c), got, want)
		}
		if got := c.Display(); got != string(c) {
			t.Errorf("Code(%q).Display() = %q, want it unchanged", string(c), got)
		}
	}
}

func TestLoggingAndMarshallingMaskTheCode(t *testing.T) {
	c := Code("0123456789ABCDEFP")
	secret := string(c[:12])

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("redeem", "code", c, slog.Any("card", struct{ Code Code }{c}))
	slog.New(slog.NewTextHandler(&buf, nil)).Info("redeem", "code", c)
	if got := buf.String(); strings.Contains(got, secret) || !strings.Contains(got, "****-****-****-CDEF") {
		t.Errorf("slog output %q leaks the code or lacks its masked form", got)
	}

	b, err := json.Marshal(struct{ Code Code }{c})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"Code":"****-****-****-CDEF"}`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"0123456789ABCDEFP", "0123-4567-89AB-CDEF-P", "0123-4567-89ab-cdef-p",
		"O123456789ABCDEFP", "0I23 4567 89AB CDEF P", "0L23\u20144567\u221289AB_CDEF\tP",
		"0123456789ABCDEFQ", "U123456789ABCDEFP", "", "-", "\xff", "0123456789ABCDEF",
		"GHJKMNPQRSTVWXYZX", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-M",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		c, err := Normalize(input)
		if err != nil {
			if c != "" {
				t.Fatalf("Normalize(%q) returned %q with error %v", input, string(c), err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrCheck) {
				t.Fatalf("Normalize(%q) error %v is neither ErrMalformed nor ErrCheck", input, err)
			}
			return
		}
		if !c.canonical() {
			t.Fatalf("Normalize(%q) = %q, not canonical", input, string(c))
		}
		if v, err := values(c); err != nil || !valid(v) {
			t.Fatalf("Normalize(%q) = %q, whose check symbol does not verify", input, string(c))
		}
		back, err := Normalize(c.Display())
		if err != nil || back != c {
			t.Fatalf("Normalize(%q) = %q, %v; want %q", c.Display(), string(back), err, string(c))
		}
		if got := len(c.Display()); got != 21 {
			t.Fatalf("Display() of %q has length %d", string(c), got)
		}
	})
}
