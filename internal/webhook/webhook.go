// Package webhook is the domain of a shop's webhooks: registration rules
// (which URLs may receive events), the signature a receiver verifies, the
// retry schedule, and the service that delivers events to the URLs and
// records every attempt. It knows no AWS type: the store and the HTTP
// client are passed in.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Webhook is a URL of a shop that receives its events, all of them or the
// listed types. Secret is set only in the answer to its registration.
type Webhook struct {
	ID        string         `json:"id"`
	URL       string         `json:"url"`
	Types     []gc.EventType `json:"types"`
	Secret    string         `json:"secret,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
}

// Wants reports whether the webhook receives events of type t.
func (w Webhook) Wants(t gc.EventType) bool {
	if len(w.Types) == 0 {
		return true
	}
	for _, x := range w.Types {
		if x == t {
			return true
		}
	}
	return false
}

// NewWebhook is the body of POST /v1/webhooks.
type NewWebhook struct {
	URL   string         `json:"url"`
	Types []gc.EventType `json:"types,omitempty"`
}

// MaxURL bounds a webhook URL's length.
const MaxURL = 2048

// Policy says which URLs may receive events. On AWS only https URLs to
// public addresses; the local stack (AllowLoopbackHTTP) also allows
// http://127.0.0.1, so that make run can deliver to a listener on this
// machine.
type Policy struct {
	AllowLoopbackHTTP bool
}

// Validate checks a registration: a URL the policy allows (by its form;
// the addresses its host resolves to are checked by CheckAddr at
// registration and again at every delivery) and known event types.
func (p Policy) Validate(in NewWebhook) error {
	if err := p.CheckURL(in.URL); err != nil {
		return err
	}
	seen := map[gc.EventType]bool{}
	for _, t := range in.Types {
		if !gc.ValidEventType(t) {
			return gc.Invalid("types", "unknown event type %q", t)
		}
		if seen[t] {
			return gc.Invalid("types", "event type %q is listed twice", t)
		}
		seen[t] = true
	}
	return nil
}

// CheckURL checks a URL's form: absolute https with a host (or, when the
// policy allows it, http to 127.0.0.1), no user info, no fragment.
func (p Policy) CheckURL(raw string) error {
	if raw == "" {
		return gc.Invalid("url", "url is required")
	}
	if len(raw) > MaxURL {
		return gc.Invalid("url", "url is longer than %d bytes", MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return gc.Invalid("url", "url must be an absolute https URL")
	}
	if u.User != nil {
		return gc.Invalid("url", "url must not carry credentials")
	}
	if u.Fragment != "" {
		return gc.Invalid("url", "url must not have a fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowLoopbackHTTP || u.Hostname() != "127.0.0.1" {
			return gc.Invalid("url", "url must use https")
		}
	default:
		return gc.Invalid("url", "url must use https")
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		if err := p.CheckAddr(ip); err != nil {
			return err
		}
	}
	return nil
}

// CheckAddr refuses an address events must not be sent to: loopback,
// private, link-local (the cloud metadata service among them), unspecified,
// multicast and other non-public ranges, unless the policy allows loopback.
func (p Policy) CheckAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	if p.AllowLoopbackHTTP && ip == netip.MustParseAddr("127.0.0.1") {
		return nil
	}
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || nonPublic(ip) {
		return gc.Invalid("url", "url must resolve to public addresses only (%s is not)", ip)
	}
	return nil
}

// nonPublicRanges are special-purpose ranges that netip does not classify:
// carrier-grade NAT, benchmarking, documentation, 6to4 relays, NAT64 and
// the IPv4 "this network" block.
var nonPublicRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
}

func nonPublic(ip netip.Addr) bool {
	for _, p := range nonPublicRanges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// SignatureHeader is the header a delivery's signature travels in.
const SignatureHeader = "Giftcredit-Signature"

// Sign returns the signature header value of body sent at t:
// t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a signature header against body as a receiver would: a
// v1 signature that matches, made no longer than tolerance from now (a
// replayed old delivery is refused). The README shows the same steps.
func Verify(header, secret string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("signature: no timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signature: timestamp outside the tolerance")
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return fmt.Errorf("signature: no v1 signature matches")
}

// Retry schedule: the first retry after FirstRetry, each next one twice as
// late up to MaxRetryDelay, for RetryWindow after the event's first
// attempt; then the delivery is marked failed.
const (
	FirstRetry    = 30 * time.Second
	MaxRetryDelay = 2 * time.Hour
	RetryWindow   = 72 * time.Hour
	// Timeout bounds one attempt: a 2xx within it is delivered.
	Timeout = 10 * time.Second
)

// NextAttempt returns when to try again after attempts failed attempts of
// a delivery first tried at first, or ok false once the next attempt
// would fall outside RetryWindow (the delivery has failed).
func NextAttempt(first time.Time, attempts int, now time.Time) (next time.Time, ok bool) {
	d := FirstRetry
	for i := 1; i < attempts && d < MaxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, MaxRetryDelay)
	next = now.Add(d)
	if next.After(first.Add(RetryWindow)) {
		return time.Time{}, false
	}
	return next, true
}

// DeliveryStatus is the state of one event's delivery to one webhook.
type DeliveryStatus string

// A delivery is pending until a 2xx answer, or failed after RetryWindow.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Attempt is one try of a delivery: when, the HTTP status (0 when there
// was no answer) and, without a 2xx, why.
type Attempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"statusCode,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMs int64     `json:"durationMs"`
}

// MaxAttemptsKept bounds the attempts a delivery keeps (the count goes on).
const MaxAttemptsKept = 20

// Delivery is one event's delivery to one webhook, as the admin sees it.
type Delivery struct {
	EventID       string         `json:"eventId"`
	EventType     gc.EventType   `json:"eventType"`
	WebhookID     string         `json:"webhookId"`
	Status        DeliveryStatus `json:"status"`
	Attempts      int            `json:"attempts"`
	NextAttemptAt *time.Time     `json:"nextAttemptAt,omitempty"`
	CreatedAt     time.Time      `json:"createdAt"`
	DeliveredAt   *time.Time     `json:"deliveredAt,omitempty"`
	History       []Attempt      `json:"history"`
	// Body is the envelope as POSTed (kept for the retries).
	Body []byte `json:"-"`
}

// DeliveryPage is a page of a webhook's deliveries.
type DeliveryPage struct {
	Deliveries []Delivery `json:"deliveries"`
	NextCursor string     `json:"nextCursor,omitempty"`
}

// WebhookList is the answer of GET /v1/webhooks.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
}

func urlHost(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	return u.Hostname(), nil
}
