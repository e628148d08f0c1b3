package giftcode

import (
	"bytes"
	"strings"
	"testing"
)

// MustKeyring builds a Keyring from secret or fails the test.
func MustKeyring(tb testing.TB, secret string) *Keyring {
	tb.Helper()
	k, err := NewKeyring([]byte(secret))
	if err != nil {
		tb.Fatalf("NewKeyring: %v", err)
	}
	return k
}

const testSecret = "test-secret-0123456789abcdef"

func TestNewKeyringRejectsShortSecrets(t *testing.T) {
	for _, n := range []int{0, 1, 15} {
		if _, err := NewKeyring(bytes.Repeat([]byte{'k'}, n)); err == nil {
			t.Errorf("NewKeyring accepted a %d-byte secret", n)
		}
	}
	if _, err := NewKeyring(bytes.Repeat([]byte{'k'}, 16)); err != nil {
		t.Errorf("NewKeyring rejected a 16-byte secret: %v", err)
	}
}

func TestHash(t *testing.T) {
	const code = Code("0123456789ABCDEFP")
	k := MustKeyring(t, testSecret)

	t.Run("matches the documented derivation", func(t *testing.T) {
		// Computed outside Go as HMAC-SHA256(HMAC-SHA256(secret,
		// "giftcode/hash/v1"), "shop_1\x00" + code); pinning it means a
		// refactor cannot silently orphan every stored card id.
		got := k.Hash("shop_1", code)
		if want := "529c9ea8f69e57767b0f8fba9fb97aec198219e8ec8ae485e6515f47907ca03d"; got != want {
			t.Errorf("Hash = %s, want %s", got, want)
		}
	})
	t.Run("is stable across keyrings from the same secret", func(t *testing.T) {
		if got, want := MustKeyring(t, testSecret).Hash("shop_1", code), k.Hash("shop_1", code); got != want {
			t.Errorf("Hash = %s, want %s", got, want)
		}
	})
	t.Run("is 64 lowercase hex digits", func(t *testing.T) {
		h := k.Hash("shop_1", code)
		if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			t.Errorf("Hash = %q", h)
		}
	})
	t.Run("differs by shop, code and secret", func(t *testing.T) {
		base := k.Hash("shop_1", code)
		others := map[string]string{
			"other shop":            k.Hash("shop_2", code),
			"other code":            k.Hash("shop_1", "GHJKMNPQRSTVWXYZX"),
			"other secret":          MustKeyring(t, testSecret+"!").Hash("shop_1", code),
			"shop boundary moved":   k.Hash("shop_10", code[1:]),
			"empty shop":            k.Hash("", code),
			"seal key used to hash": hashWith(derive([]byte(testSecret), sealLabel), "shop_1", code),
		}
		for name, h := range others {
			if h == base {
				t.Errorf("%s gives the same hash %s", name, h)
			}
		}
	})
}

// hashWith hashes as Hash does but with an arbitrary key.
func hashWith(key []byte, shopID string, c Code) string {
	return (&Keyring{hashKey: key}).Hash(shopID, c)
}

func TestSealOpen(t *testing.T) {
	k := MustKeyring(t, testSecret)
	plaintext := []byte(`{"code":"0123-4567-89AB-CDEF-P"}`)

	t.Run("round trip", func(t *testing.T) {
		for _, p := range [][]byte{plaintext, {}, bytes.Repeat([]byte{0}, 4096)} {
			sealed, err := k.Seal(p)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(sealed, p) && len(p) > 0 {
				t.Errorf("sealed message contains the plaintext")
			}
			if got, want := len(sealed), 12+len(p)+16; got != want {
				t.Errorf("sealed length = %d, want %d", got, want)
			}
			got, err := k.Open(sealed)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, p) {
				t.Errorf("Open = %q, want %q", got, p)
			}
		}
	})
	t.Run("nonces are fresh", func(t *testing.T) {
		a, _ := k.Seal(plaintext)
		b, _ := k.Seal(plaintext)
		if bytes.Equal(a[:12], b[:12]) || bytes.Equal(a, b) {
			t.Error("sealing twice gave the same nonce")
		}
	})
	t.Run("any flipped bit is rejected", func(t *testing.T) {
		sealed, err := k.Seal(plaintext)
		if err != nil {
			t.Fatal(err)
		}
		for i := range sealed {
			tampered := bytes.Clone(sealed)
			tampered[i] ^= 0x01
			if got, err := k.Open(tampered); err == nil || got != nil {
				t.Errorf("byte %d flipped: Open = %q, %v; want an error", i, got, err)
			}
		}
	})
	t.Run("truncated and padded messages are rejected", func(t *testing.T) {
		sealed, _ := k.Seal(plaintext)
		for _, b := range [][]byte{nil, {}, sealed[:11], sealed[:12], sealed[:27], sealed[:len(sealed)-1], append(bytes.Clone(sealed), 0)} {
			if _, err := k.Open(b); err == nil {
				t.Errorf("Open of %d bytes succeeded", len(b))
			}
		}
	})
	t.Run("another secret cannot open it", func(t *testing.T) {
		sealed, _ := k.Seal(plaintext)
		if _, err := MustKeyring(t, testSecret+"!").Open(sealed); err == nil {
			t.Error("a keyring with another secret opened the message")
		}
	})
	t.Run("zero keyring fails instead of panicking", func(t *testing.T) {
		var zero Keyring
		if _, err := zero.Seal(plaintext); err == nil {
			t.Error("zero Keyring sealed")
		}
		if _, err := zero.Open(make([]byte, 64)); err == nil {
			t.Error("zero Keyring opened")
		}
	})
}
