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

// ValidCardID reports whether s has the shape of a gift card's id: "gc_"
// and 32 lower-case hex digits (the first 128 bits of the keyed hash of
// its code).
func ValidCardID(s string) bool {
	if len(s) != 35 || !strings.HasPrefix(s, "gc_") {
		return false
	}
	for _, c := range s[3:] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// Ids that name their funds. A hold's id and the id of a transaction of
// a hold or of a spend (a capture, a credit application, an order that
// uses credit) carry, after their own id and an underscore, the id of the
// customer or card their value comes from:
//
//	hld_01jc…x4_cus_01jb…q9      a hold on a customer's credit
//	txn_01jc…m2_gc_3f9a…0e48     a capture of a hold on a gift card
//
// so that a change of the hold or a refund of the spend can name the
// funds' item in its one consistent read instead of reading the hold or
// the spend first to learn it. What an id names is a claim, never trusted:
// the records are keyed by the whole id, so a forged suffix names a record
// that does not exist, and the planners check the funds an id names
// against what the hold or the spend records (ENOTFOUND otherwise). Every
// key is under the caller's shop, so naming another shop's customer reads
// nothing of it.

// WithFunds returns id naming account, a customer's or a card's.
func WithFunds(id, account string) (string, error) {
	if ref, ok := strings.CutPrefix(account, "customer:"); ok && ValidID("cus", ref) {
		return id + "_" + ref, nil
	}
	if ref, ok := strings.CutPrefix(account, "card:"); ok && ValidCardID(ref) {
		return id + "_" + ref, nil
	}
	return "", fmt.Errorf("id %s: %q is not a customer's or a card's account", id, account)
}

// FundsOf returns the account an id of the given prefix names; ok is
// false for an id that names none (or is not an id of that prefix).
func FundsOf(prefix, id string) (account string, ok bool) {
	n := len(prefix) + 27
	if len(id) <= n+1 || id[n] != '_' || !ValidID(prefix, id[:n]) {
		return "", false
	}
	switch ref := id[n+1:]; {
	case ValidID("cus", ref):
		return CustomerAccount(ref), true
	case ValidCardID(ref):
		return CardAccount(ref), true
	}
	return "", false
}

// ValidFundsID reports whether s is an id of the given prefix, naming
// its funds or not.
func ValidFundsID(prefix, s string) bool {
	if ValidID(prefix, s) {
		return true
	}
	_, ok := FundsOf(prefix, s)
	return ok
}

// NamesOtherFunds reports whether id names funds other than account: a
// record whose id claims funds it does not have is not that id's record.
func NamesOtherFunds(prefix, id, account string) bool {
	named, ok := FundsOf(prefix, id)
	return ok && named != account
}
