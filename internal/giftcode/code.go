// Package giftcode generates, checks and protects gift-card codes.
//
// A code carries 80 random bits written as 16 symbols of Crockford's base32
// alphabet (0-9 and the letters without I, L, O and U), followed by one check
// symbol from the same alphabet. People read codes aloud and type them from
// paper, so Normalize forgives case, separators and the look-alikes O, I
// and L, while the check symbol catches the typing mistakes people make (see
// Normalize for the guarantees).
//
// A code is a bearer secret. Code.String masks it so that logging a Code
// with %v does not leak it, Keyring.Hash derives the only handle that is
// stored, and Keyring.Seal encrypts the copy kept for the e-mail that
// delivers it.
//
// The package is a leaf: it imports only the standard library.
package giftcode

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"unicode/utf8"
)

// Errors returned by Normalize, wrapped with context but never with the
// input, which may be a real code.
var (
	// ErrMalformed means the input is not 17 symbols of the alphabet once
	// case, separators and look-alikes are forgiven.
	ErrMalformed = errors.New("malformed gift card code")
	// ErrCheck means the input has the right shape but its check symbol
	// does not match: almost certainly a typing mistake.
	ErrCheck = errors.New("gift card code check symbol mismatch")
)

const (
	// alphabet is Crockford's base32 alphabet; a symbol's value is its
	// index.
	alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	// dataLen is the number of random symbols: 16 × 5 = 80 bits.
	dataLen = 16
	// codeLen is dataLen plus the check symbol.
	codeLen = dataLen + 1
	// randBytes is the number of random bytes behind the 80 bits.
	randBytes = dataLen * 5 / 8
)

// Code is a gift-card code in canonical form: 17 uppercase symbols of the
// alphabet, the last being the check symbol, with no separators. Obtain one
// from Generator.New or Normalize; Display formats it for people.
type Code string

// Generator makes new random codes.
type Generator struct {
	// Rand is the source of random bytes; nil means crypto/rand. Tests pass
	// a bytes.Reader to get known codes.
	Rand io.Reader
}

// New returns a fresh code holding 80 bits read from g.Rand. It fails only
// if the reader does.
func (g Generator) New() (Code, error) {
	r := g.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [randBytes]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("giftcode: read random bits: %w", err)
	}
	var v [codeLen]byte
	// Split the 80 bits, most significant first, into sixteen 5-bit groups.
	var acc uint64
	var nbits uint
	i := 0
	for _, x := range b {
		acc = acc<<8 | uint64(x)
		nbits += 8
		for nbits >= 5 {
			nbits -= 5
			v[i] = byte(acc>>nbits) & 31
			i++
		}
	}
	v[dataLen] = checkSymbol(v[:dataLen])
	var out [codeLen]byte
	for i, x := range v {
		out[i] = alphabet[x]
	}
	return Code(out[:]), nil
}

// Normalize turns what a person typed into a canonical Code.
//
// It ignores case; drops spaces, tabs, '-', '_' and the Unicode dashes
// U+2010 to U+2015 and U+2212 wherever they appear; and reads O as 0 and
// I and L as 1, as Crockford's base32 does. Any other character (U
// included, which Crockford reserves), or a count other than 17 symbols,
// is ErrMalformed. A well-formed input whose check symbol does not match
// is ErrCheck.
//
// The check symbol detects, with certainty:
//   - any single substituted symbol, and
//   - any two distinct symbols swapped, adjacent or not, including a swap
//     with the check symbol itself.
//
// Errors never include the input.
func Normalize(input string) (Code, error) {
	var v [codeLen]byte
	n := 0
	for _, r := range input {
		x, ok := symbolValue(r)
		if ok == skip {
			continue
		}
		if ok == bad {
			return "", fmt.Errorf("giftcode: normalize: unexpected character: %w", ErrMalformed)
		}
		if n == codeLen {
			return "", fmt.Errorf("giftcode: normalize: more than %d symbols: %w", codeLen, ErrMalformed)
		}
		v[n] = x
		n++
	}
	if n != codeLen {
		return "", fmt.Errorf("giftcode: normalize: %d symbols, want %d: %w", n, codeLen, ErrMalformed)
	}
	if !valid(v[:]) {
		return "", fmt.Errorf("giftcode: normalize: %w", ErrCheck)
	}
	var out [codeLen]byte
	for i, x := range v {
		out[i] = alphabet[x]
	}
	return Code(out[:]), nil
}

// symbolClass says what Normalize does with a character.
type symbolClass int

const (
	symbol symbolClass = iota
	skip
	bad
)

// symbolValue classifies r and, for a symbol, returns its value.
func symbolValue(r rune) (byte, symbolClass) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r - '0'), symbol
	case r >= 'a' && r <= 'z':
		r -= 'a' - 'A'
	}
	switch r {
	case ' ', '\t', '-', '_', '\u2212':
		return 0, skip
	case 'O':
		return 0, symbol
	case 'I', 'L':
		return 1, symbol
	case utf8.RuneError:
		return 0, bad
	}
	if r >= '\u2010' && r <= '\u2015' {
		return 0, skip
	}
	if r >= 'A' && r <= 'Z' {
		if i := indexByte(alphabet, byte(r)); i >= 0 {
			return byte(i), symbol
		}
	}
	return 0, bad // U and everything else
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}

// canonical reports whether c has the canonical shape: 17 symbols of the
// alphabet. It does not verify the check symbol.
func (c Code) canonical() bool {
	if len(c) != codeLen {
		return false
	}
	for i := 0; i < len(c); i++ {
		if indexByte(alphabet, c[i]) < 0 {
			return false
		}
	}
	return true
}

// Display returns the code grouped for people as XXXX-XXXX-XXXX-XXXX-C, 21
// characters with the check symbol on its own. Normalize reads it back. A
// Code that is not in canonical form is returned unchanged.
func (c Code) Display() string {
	if !c.canonical() {
		return string(c)
	}
	s := string(c)
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:17]
}

// Last4 returns the last four random symbols (not the check symbol), which
// are stored and shown so that people can tell their cards apart. It
// returns "" for a Code that is not in canonical form.
func (c Code) Last4() string {
	if !c.canonical() {
		return ""
	}
	return string(c[12:16])
}

// String returns the code masked as ****-****-****-ABCD, showing only
// Last4, so that printing a Code with %v or %s, or logging one, does not
// disclose it. A Code not in canonical form is masked entirely.
func (c Code) String() string {
	last := c.Last4()
	if last == "" {
		last = "****"
	}
	return "****-****-****-" + last
}

// Format makes every fmt verb print the masked String form, flags and width
// included, so that no verb (%d, %x and %#v among them) prints the code.
func (c Code) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), c.String())
}

// LogValue makes log/slog log the masked String form. Without it slog's JSON
// handler, which the functions log with, would marshal the plaintext.
func (c Code) LogValue() slog.Value {
	return slog.StringValue(c.String())
}

// MarshalText makes encoding/json (and any other text encoding) write the
// masked String form, so that a Code left in a logged or returned struct does
// not leak. To send a code to its owner on purpose, put Display() in a
// string field.
func (c Code) MarshalText() ([]byte, error) {
	return []byte(c.String()), nil
}
