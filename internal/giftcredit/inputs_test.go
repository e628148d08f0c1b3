package giftcredit

import (
	"errors"
	"testing"
)

// TestNormalizeEmail is issue 17 item 8: emails are compared after NFC and
// Unicode case folding, so forms a person cannot tell apart are one
// customer, and domains that are IP addresses are refused.
func TestNormalizeEmail(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // the canonical form; "" = refused
	}{
		{name: "ascii is lower-cased", in: "Kate@Example.COM", want: "kate@example.com"},
		{name: "kelvin sign folds to k", in: "\u212Aate@example.com", want: "kate@example.com"},
		{name: "nfc stays nfc", in: "J\u00f6rg@example.de", want: "j\u00f6rg@example.de"},
		{name: "nfd composes to nfc", in: "Jo\u0308rg@example.de", want: "j\u00f6rg@example.de"},
		{name: "upper nfd composes and folds", in: "JO\u0308RG@EXAMPLE.DE", want: "j\u00f6rg@example.de"},
		{name: "sharp s folds to ss", in: "Stra\u00dfe@example.de", want: "strasse@example.de"},
		{name: "final sigma folds like sigma", in: "\u039f\u03a3@example.gr", want: "\u03bf\u03c3@example.gr"},
		{name: "ip literal", in: "a@[127.0.0.1]"},
		{name: "ipv6 literal", in: "a@[IPv6:::1]"},
		{name: "bare ipv4 domain", in: "a@127.0.0.1"},
		{name: "no dot in the domain", in: "a@localhost"},
		{name: "right-to-left override", in: "ann\u202egpj.exe@example.com"},
		{name: "zero-width space is format", in: "a\u200b@example.com"},
		{name: "display name", in: "Ann <ann@example.com>"},
		{name: "empty", in: ""},
		{name: "not an address", in: "ann at example"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := NormalizeEmail("email", c.in)
			if c.want == "" {
				var de *Error
				if !errors.As(err, &de) || de.Code != EINVALID || de.Field != "email" {
					t.Fatalf("NormalizeEmail(%q) = %q, %v; want an invalid error naming email", c.in, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			if again, err := NormalizeEmail("email", got); err != nil || again != got {
				t.Errorf("NormalizeEmail is not idempotent on %q: %q, %v", got, again, err)
			}
		})
	}
}
