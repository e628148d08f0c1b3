package giftcredit

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
)

// IDs makes record ids: a type prefix and 26 lower-case Crockford base32
// symbols holding 48 bits of milliseconds and 80 random bits, so ids of one
// type sort by creation time. Now and Rand are injectable for tests.
type IDs struct {
	Now  func() time.Time
	Rand io.Reader
}

const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// New returns a new id such as "cus_01hq…".
func (g *IDs) New(prefix string) (string, error) {
	now, r := time.Now, io.Reader(rand.Reader)
	if g != nil && g.Now != nil {
		now = g.Now
	}
	if g != nil && g.Rand != nil {
		r = g.Rand
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now().UnixMilli())<<16)
	if _, err := io.ReadFull(r, b[6:]); err != nil {
		return "", fmt.Errorf("new %s id: %w", prefix, err)
	}
	// 128 bits → 26 symbols of 5 bits (the top 2 bits of the first are zero).
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	var sb strings.Builder
	sb.Grow(len(prefix) + 27)
	sb.WriteString(prefix)
	sb.WriteByte('_')
	for i := 25; i >= 0; i-- {
		shift := uint(i * 5)
		var v uint64
		switch {
		case shift >= 64:
			v = hi >> (shift - 64)
		case shift > 59:
			v = lo>>shift | hi<<(64-shift)
		default:
			v = lo >> shift
		}
		sb.WriteByte(idAlphabet[v&31])
	}
	return sb.String(), nil
}

// ValidID reports whether s looks like an id of the given prefix, so that
// junk in a path never reaches the store.
func ValidID(prefix, s string) bool {
	if len(s) != len(prefix)+27 || !strings.HasPrefix(s, prefix+"_") {
		return false
	}
	for _, c := range s[len(prefix)+1:] {
		if !strings.ContainsRune(idAlphabet, c) {
			return false
		}
	}
	return true
}
