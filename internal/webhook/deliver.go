package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/giftcredit/giftcredit/internal/deadline"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Store keeps webhooks and their deliveries.
type Store interface {
	// ShopWebhooks returns the shop's webhooks with their secrets opened.
	ShopWebhooks(ctx context.Context, shopID string) ([]Webhook, error)
	// Webhook returns one webhook with its secret opened; gc.ENOTFOUND
	// when it does not exist (or was deleted).
	Webhook(ctx context.Context, shopID, id string) (Webhook, error)
	// StartDelivery records a new pending delivery of an event to a
	// webhook, due again at d.NextAttemptAt in case this attempt never
	// reports. It returns false, writing nothing, when the event was
	// already delivered (or is being delivered) to that webhook: the bus
	// delivers at least once, so duplicates end here.
	StartDelivery(ctx context.Context, shopID string, d Delivery) (bool, error)
	// ClaimDelivery pushes a due delivery's next attempt to until,
	// conditioned on its attempt count still being d.Attempts, so of two
	// retriers only one tries it (gc.ECONFLICT for the other).
	ClaimDelivery(ctx context.Context, shopID string, d Delivery, until time.Time) error
	// RecordAttempt saves d after an attempt, conditioned on the attempt
	// count before it (prev); gc.ECONFLICT if another attempt was recorded.
	RecordAttempt(ctx context.Context, shopID string, d Delivery, prev int) error
	// DueDeliveries returns up to limit pending deliveries due at now, of
	// every shop.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]PendingDelivery, error)
}

// PendingDelivery is a due delivery and its shop.
type PendingDelivery struct {
	ShopID   string
	Delivery Delivery
}

// Service delivers events to webhooks.
type Service struct {
	Store  Store
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
	// Timeout bounds one attempt (default Timeout).
	Timeout time.Duration
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) timeout() time.Duration {
	if s.Timeout <= 0 {
		return Timeout
	}
	return s.Timeout
}

// claimMargin is how long after an attempt's timeout its delivery stays
// with the attempt before a retrier may take it.
const claimMargin = 30 * time.Second

// Deliver delivers one event (body is its envelope as published) to every
// webhook of its shop that wants it: the first attempt of each delivery.
func (s *Service) Deliver(ctx context.Context, ev gc.Event, body []byte) error {
	hooks, err := s.Store.ShopWebhooks(ctx, ev.ShopID)
	if err != nil {
		return fmt.Errorf("deliver %s: %w", ev.ID, err)
	}
	var errs []error
	for _, h := range hooks {
		// A webhook receives the events of changes made after it was
		// registered (the publisher may send older ones again).
		if !h.Wants(ev.Type) || ev.CreatedAt.Before(h.CreatedAt) {
			continue
		}
		if deadline.Low(ctx, s.timeout()+2*time.Second) {
			// The message comes back (its deliveries started so far are
			// then duplicates and skipped).
			errs = append(errs, fmt.Errorf("deliver %s: out of time before webhook %s", ev.ID, h.ID))
			break
		}
		now := s.now()
		next := now.Add(s.timeout() + claimMargin)
		d := Delivery{EventID: ev.ID, EventType: ev.Type, WebhookID: h.ID, Status: DeliveryPending, CreatedAt: now,
			NextAttemptAt: &next, Body: body, History: []Attempt{}}
		created, err := s.Store.StartDelivery(ctx, ev.ShopID, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("deliver %s to %s: %w", ev.ID, h.ID, err))
			continue
		}
		if !created {
			continue
		}
		if err := s.attempt(ctx, ev.ShopID, h, d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RetryDue tries the deliveries that are due, until ctx is about to end.
// It returns how many it tried.
func (s *Service) RetryDue(ctx context.Context, limit int) (int, error) {
	due, err := s.Store.DueDeliveries(ctx, s.now(), limit)
	if err != nil {
		return 0, fmt.Errorf("retry deliveries: %w", err)
	}
	tried := 0
	for _, p := range due {
		if deadline.Low(ctx, s.timeout()+2*time.Second) {
			break
		}
		d := p.Delivery
		h, err := s.Store.Webhook(ctx, p.ShopID, d.WebhookID)
		if gc.ErrorCode(err) == gc.ENOTFOUND {
			// The webhook was deleted: nothing will receive it.
			prev := d.Attempts
			d.Status, d.NextAttemptAt = DeliveryFailed, nil
			if err := s.Store.RecordAttempt(ctx, p.ShopID, d, prev); err != nil && gc.ErrorCode(err) != gc.ECONFLICT {
				return tried, err
			}
			continue
		} else if err != nil {
			return tried, fmt.Errorf("retry %s: %w", d.EventID, err)
		}
		if err := s.Store.ClaimDelivery(ctx, p.ShopID, d, s.now().Add(s.timeout()+claimMargin)); err != nil {
			if gc.ErrorCode(err) == gc.ECONFLICT {
				continue
			}
			return tried, fmt.Errorf("retry %s: %w", d.EventID, err)
		}
		tried++
		if err := s.attempt(ctx, p.ShopID, h, d); err != nil {
			return tried, err
		}
	}
	return tried, nil
}

// attempt POSTs the delivery once and records the outcome.
func (s *Service) attempt(ctx context.Context, shopID string, h Webhook, d Delivery) error {
	start := s.now()
	a := Attempt{At: start}
	code, err := s.post(ctx, h, d.Body, start)
	a.StatusCode, a.DurationMs = code, s.now().Sub(start).Milliseconds()
	prev := d.Attempts
	d.Attempts++
	ok := err == nil && code >= 200 && code < 300
	switch {
	case ok:
		at := s.now()
		d.Status, d.DeliveredAt, d.NextAttemptAt = DeliveryDelivered, &at, nil
	default:
		if err != nil {
			a.Error = err.Error()
		} else {
			a.Error = fmt.Sprintf("answered %d", code)
		}
		if next, more := NextAttempt(d.CreatedAt, d.Attempts, s.now()); more {
			d.NextAttemptAt = &next
		} else {
			d.Status, d.NextAttemptAt = DeliveryFailed, nil
		}
	}
	d.History = append(d.History, a)
	if len(d.History) > MaxAttemptsKept {
		d.History = d.History[len(d.History)-MaxAttemptsKept:]
	}
	if s.Logger != nil {
		s.Logger.Info("webhook attempt", "shop", shopID, "webhook", h.ID, "event", d.EventID,
			"status", code, "delivered", ok, "attempts", d.Attempts, "outcome", string(d.Status))
	}
	if err := s.Store.RecordAttempt(ctx, shopID, d, prev); err != nil && gc.ErrorCode(err) != gc.ECONFLICT {
		return fmt.Errorf("record attempt of %s to %s: %w", d.EventID, h.ID, err)
	}
	return nil
}

// post sends body to the webhook, signed, within the attempt's timeout.
func (s *Service) post(ctx context.Context, h Webhook, body []byte, at time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "giftcredit-webhooks/1")
	req.Header.Set(SignatureHeader, Sign(h.Secret, at, body))
	resp, err := s.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("no answer within %s", s.timeout())
		}
		return 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// NewClient returns the HTTP client deliveries go through: it dials only
// addresses the policy allows, checked on the address actually dialed
// (after DNS resolution, so a name that resolves to a private address,
// or that changes its answer after registration, is refused), never
// through a proxy, and follows no redirects.
func NewClient(p Policy) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("dial %s: %w", address, err)
		}
		return p.CheckAddr(ap.Addr())
	}}
	tr := &http.Transport{Proxy: nil, DialContext: dialer.DialContext, ForceAttemptHTTP2: true,
		MaxIdleConns: 10, IdleConnTimeout: 30 * time.Second, TLSHandshakeTimeout: 5 * time.Second,
		ResponseHeaderTimeout: Timeout}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// Resolver looks up a host's addresses (net.DefaultResolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckResolved checks, at registration, that every address the URL's
// host resolves to is allowed (a literal address was checked by CheckURL).
func (p Policy) CheckResolved(ctx context.Context, r Resolver, rawURL string) error {
	if err := p.CheckURL(rawURL); err != nil {
		return err
	}
	u, _ := urlHost(rawURL)
	if _, err := netip.ParseAddr(u); err == nil {
		return nil
	}
	addrs, err := r.LookupNetIP(ctx, "ip", u)
	if err != nil || len(addrs) == 0 {
		return gc.Invalid("url", "the url's host %s does not resolve", u)
	}
	for _, a := range addrs {
		if err := p.CheckAddr(a); err != nil {
			return err
		}
	}
	return nil
}
