package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Limits bound failed gift-card code attempts (wrong, used or disabled
// codes) in fixed windows.
//
// Two counters lock: one per customer (redemptions onto that customer) and
// one per client (the clientRef the shop passes: its shopper's session or
// IP). They stop one person or one script from hammering codes, and a lock
// only ever affects whoever earned it.
//
// The shop-wide counter never locks. A shop-wide lock would be a denial of
// service anyone with a public balance-check page could trigger (1,000
// random codes locked every customer of the shop out for the rest of the
// hour), while a shop-wide guessing attack cannot succeed anyway: codes
// carry 80 random bits, so a million guesses against a million live cards
// hit with probability about 1e-12. When the shop's failures in a window
// reach ShopAlert, the shop's admin is emailed (through the outbox) and a
// CloudWatch metric is logged, once per window.
//
// The counters are items with a TTL. The locking ones are read in the same
// request as the card, so the happy path costs nothing extra; all are
// written only on a failure.
type Limits struct {
	Window      time.Duration
	PerCustomer int64
	PerClient   int64
	ShopAlert   int64
}

// DefaultLimits allow 10 failed attempts per customer and 20 per client an
// hour, and alert the admin at 1,000 failures across the shop in an hour.
var DefaultLimits = Limits{Window: time.Hour, PerCustomer: 10, PerClient: 20, ShopAlert: 1000}

// MaxClientRefLen bounds the clientRef a shop passes with a code.
const MaxClientRefLen = gc.MaxClientRefLen

// WithLimits replaces DefaultLimits.
func WithLimits(l Limits) Option { return func(s *Store) { s.limits = l } }

// WithLogger sets where the store logs what an operator must see (the
// code-guessing alert metric). The default discards.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.logger = l } }

// attemptLimits are the counters of one code attempt in the current window.
type attemptLimits struct {
	shopID string
	shop   key
	locks  []key   // customer and/or client counters, in that order
	caps   []int64 // the limit of each lock
	start  time.Time
	end    time.Time
}

// limitKeys returns the counters of an attempt in the current window.
// customerID and clientRef may be empty. clientRef is stored only as a
// hash: it may be an IP address or a session id.
func (s *Store) limitKeys(shopID, customerID, clientRef string) (attemptLimits, error) {
	if err := gc.ValidateText("clientRef", clientRef, false, MaxClientRefLen); err != nil {
		return attemptLimits{}, err
	}
	start := s.now().UTC().Truncate(s.limits.Window)
	w := strconv.FormatInt(start.Unix(), 10)
	l := attemptLimits{shopID: shopID, shop: keyLimit(shopID, "shop#"+w), start: start, end: start.Add(s.limits.Window)}
	if customerID != "" {
		l.locks = append(l.locks, keyLimit(shopID, "cust#"+customerID+"#"+w))
		l.caps = append(l.caps, s.limits.PerCustomer)
	}
	if clientRef != "" {
		h := sha256.Sum256([]byte(shopID + "\x00" + clientRef))
		l.locks = append(l.locks, keyLimit(shopID, "client#"+hex.EncodeToString(h[:16])+"#"+w))
		l.caps = append(l.caps, s.limits.PerClient)
	}
	return l, nil
}

// checkLimits turns the locking counters read with an operation into ERATELIMITED.
func (s *Store) checkLimits(l attemptLimits, counters []item) error {
	for i, it := range counters {
		if it == nil {
			continue
		}
		n, err := it.nOr("count", 0)
		if err != nil {
			return err
		}
		if n >= l.caps[i] {
			retry := int64(l.end.Sub(s.now()).Seconds()) + 1
			return &gc.Error{Code: gc.ERATELIMITED, Message: "too many failed gift card code attempts; try again later",
				Detail: map[string]string{"retryAfter": strconv.FormatInt(max(retry, 1), 10)}}
		}
	}
	return nil
}

// countFailure adds one failed attempt to each counter: the locking ones in
// one transaction, the shop's with an update that returns the new count, so
// that exactly one failure sees the alert threshold reached and raises the
// alert.
func (s *Store) countFailure(ctx context.Context, l attemptLimits) error {
	exp := avN(l.end.Add(time.Hour).Unix())
	if len(l.locks) > 0 {
		acts := make([]action, len(l.locks))
		for i, k := range l.locks {
			acts[i] = s.update(k, "ADD #count :one SET expiresAt = :exp", "", map[string]string{"#count": "count"},
				item{":one": avN(1), ":exp": exp}, nil)
		}
		if err := s.transact(ctx, acts); err != nil {
			return fmt.Errorf("count failed code attempt: %w", err)
		}
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: l.shop.av(),
		UpdateExpression:          aws.String("ADD #count :one SET expiresAt = :exp"),
		ExpressionAttributeNames:  map[string]string{"#count": "count"},
		ExpressionAttributeValues: item{":one": avN(1), ":exp": exp},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return fmt.Errorf("count failed code attempt for the shop: %w", err)
	}
	n, err := item(out.Attributes).n("count")
	if err != nil {
		return fmt.Errorf("count failed code attempt for the shop: %w", err)
	}
	if s.limits.ShopAlert > 0 && n == s.limits.ShopAlert {
		return s.alertGuessing(ctx, l.shopID, l.start, n)
	}
	return nil
}

// alertGuessing tells the shop's admin (one outbox email) and the operator
// (one CloudWatch embedded-metric log line) that failed code attempts
// across the shop reached the alert threshold in a window.
func (s *Store) alertGuessing(ctx context.Context, shopID string, windowStart time.Time, failures int64) error {
	if s.logger != nil {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "gift card code guessing alert",
			slog.Group("_aws",
				slog.Int64("Timestamp", s.now().UnixMilli()),
				slog.Any("CloudWatchMetrics", []map[string]any{{
					"Namespace":  "giftcredit",
					"Dimensions": [][]string{{"shopId"}},
					"Metrics":    []map[string]string{{"Name": "CodeGuessingAlerts", "Unit": "Count"}},
				}}),
			),
			slog.String("shopId", shopID), slog.Int("CodeGuessingAlerts", 1),
			slog.Int64("failures", failures), slog.String("windowStart", windowStart.Format(time.RFC3339)))
	}
	shop, err := s.Shop(ctx, shopID)
	if err != nil {
		return fmt.Errorf("guessing alert: %w", err)
	}
	if shop.AdminEmail == "" {
		return nil
	}
	e, err := s.mail.GuessingAlertEmail(shop, windowStart, failures)
	if err != nil {
		return fmt.Errorf("guessing alert: compose: %w", err)
	}
	if _, err := s.Enqueue(ctx, shopID, e); err != nil {
		return fmt.Errorf("guessing alert: %w", err)
	}
	return nil
}
