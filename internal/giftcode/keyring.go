package giftcode

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// MinSecretLen is the shortest secret NewKeyring accepts, in bytes.
const MinSecretLen = 16

// Labels that derive the Keyring's subkeys from the secret. Changing one
// orphans every stored hash or sealed message, hence the version suffix.
const (
	hashLabel = "giftcode/hash/v1"
	sealLabel = "giftcode/seal/v1"
)

// Keyring holds the keys derived from one secret: a key for Hash and a key
// for Seal and Open. Build one with NewKeyring; the zero Keyring holds no
// keys, and its Seal and Open return errors. Separate subkeys mean a hash can never be confused
// with, or help to forge, a sealed message. A Keyring is safe for
// concurrent use.
type Keyring struct {
	hashKey []byte
	aead    cipher.AEAD
}

// NewKeyring derives a Keyring from secret, which must be at least
// MinSecretLen bytes of high-entropy key material (not a password). The
// subkeys are HMAC-SHA256(secret, "giftcode/hash/v1") and
// HMAC-SHA256(secret, "giftcode/seal/v1"); the secret itself is not kept.
func NewKeyring(secret []byte) (*Keyring, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("giftcode: keyring secret is %d bytes, want at least %d", len(secret), MinSecretLen)
	}
	sealKey := derive(secret, sealLabel)
	block, err := aes.NewCipher(sealKey) // 32 bytes: AES-256
	if err != nil {
		return nil, fmt.Errorf("giftcode: keyring: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("giftcode: keyring: %w", err)
	}
	return &Keyring{hashKey: derive(secret, hashLabel), aead: aead}, nil
}

func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Hash returns the keyed hash of c within shop shopID, as 64 lowercase hex
// digits of HMAC-SHA256(hashKey, shopID + "\x00" + c). It is stable for a
// given secret, differs between shops for the same code, and cannot be
// inverted or brute-forced without the secret, so it is safe to store and
// index in place of the code. A canonical code contains no NUL and has a
// fixed length, so the message is unambiguous even if shopID contains NUL.
func (k *Keyring) Hash(shopID string, c Code) string {
	m := hmac.New(sha256.New, k.hashKey)
	m.Write([]byte(shopID))
	m.Write([]byte{0})
	m.Write([]byte(c))
	return hex.EncodeToString(m.Sum(nil))
}

// errOpen is what Open returns for anything it cannot authenticate; the
// cause is deliberately not distinguished.
var errOpen = errors.New("giftcode: open: message is truncated, tampered with or sealed with another key")

// errNoKey is returned by a Keyring that did not come from NewKeyring.
var errNoKey = errors.New("giftcode: keyring not initialised; use NewKeyring")

// Seal encrypts and authenticates plaintext with AES-256-GCM under a fresh
// random 12-byte nonce, returning nonce ‖ ciphertext ‖ tag. It fails only
// if the system's random source does.
func (k *Keyring) Seal(plaintext []byte) ([]byte, error) {
	if k == nil || k.aead == nil {
		return nil, errNoKey
	}
	ns := k.aead.NonceSize()
	out := make([]byte, ns, ns+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("giftcode: seal: read nonce: %w", err)
	}
	return k.aead.Seal(out, out, plaintext, nil), nil
}

// Open reverses Seal. Any change to sealed, a truncation, or a message
// sealed under a different secret is an error, and no plaintext is
// returned.
func (k *Keyring) Open(sealed []byte) ([]byte, error) {
	if k == nil || k.aead == nil {
		return nil, errNoKey
	}
	ns := k.aead.NonceSize()
	if len(sealed) < ns+k.aead.Overhead() {
		return nil, errOpen
	}
	p, err := k.aead.Open(make([]byte, 0, len(sealed)), sealed[:ns], sealed[ns:], nil)
	if err != nil {
		return nil, errOpen
	}
	return p, nil
}
