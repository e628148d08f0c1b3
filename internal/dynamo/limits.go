package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Limits bound failed gift-card code attempts (wrong, used or disabled
// codes) in fixed windows, per customer and per shop. The counters are
// items with a TTL; they are read in the same request as the card, so the
// happy path costs nothing extra, and written only on a failure.
type Limits struct {
	Window      time.Duration
	PerCustomer int64
	PerShop     int64
}

// DefaultLimits allow 10 failed attempts per customer and 1,000 per shop
// an hour: a busy shop's honest typos never lock it, and guessing an
// 80-bit code at 1,000 an hour is hopeless.
var DefaultLimits = Limits{Window: time.Hour, PerCustomer: 10, PerShop: 1000}

// WithLimits replaces DefaultLimits.
func WithLimits(l Limits) Option { return func(s *Store) { s.limits = l } }

// limitKeys returns the counter keys for the current window (customerID
// may be empty) and the window's end.
func (s *Store) limitKeys(shopID, customerID string) (keys []key, end time.Time) {
	start := s.now().UTC().Truncate(s.limits.Window)
	w := strconv.FormatInt(start.Unix(), 10)
	keys = []key{keyLimit(shopID, "shop#"+w)}
	if customerID != "" {
		keys = append(keys, keyLimit(shopID, "cust#"+customerID+"#"+w))
	}
	return keys, start.Add(s.limits.Window)
}

// checkLimits turns counters read with an operation into ERATELIMITED.
func (s *Store) checkLimits(counters []item, end time.Time) error {
	for i, it := range counters {
		if it == nil {
			continue
		}
		n, err := it.nOr("count", 0)
		if err != nil {
			return err
		}
		limit := s.limits.PerShop
		if i == 1 {
			limit = s.limits.PerCustomer
		}
		if n >= limit {
			retry := int64(end.Sub(s.now()).Seconds()) + 1
			return &gc.Error{Code: gc.ERATELIMITED, Message: "too many failed gift card code attempts; try again later",
				Detail: map[string]string{"retryAfter": strconv.FormatInt(max(retry, 1), 10)}}
		}
	}
	return nil
}

// countFailure adds one failed attempt to each counter. It is best-effort
// bookkeeping after the answer is known, in one request.
func (s *Store) countFailure(ctx context.Context, keys []key, end time.Time) error {
	acts := make([]action, len(keys))
	for i, k := range keys {
		acts[i] = s.update(k, "ADD #count :one SET expiresAt = :exp", "", map[string]string{"#count": "count"},
			item{":one": avN(1), ":exp": avN(end.Add(time.Hour).Unix())}, nil)
	}
	if err := s.transact(ctx, acts); err != nil {
		return fmt.Errorf("count failed code attempt: %w", err)
	}
	return nil
}
