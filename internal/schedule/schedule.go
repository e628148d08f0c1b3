// Package schedule adapts EventBridge schedule invocations to the
// housekeeping jobs: re-sending pending emails and auditing the ledger. It
// is the only package besides apigw that knows events.* types.
package schedule

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Result is what a scheduled run returns (shown by make invoke and in logs).
type Result struct {
	Job       string         `json:"job"`
	Counts    map[string]int `json:"counts"`
	Breaches  int            `json:"breaches,omitempty"`
	StartedAt time.Time      `json:"startedAt"`
}

// EmailSender retries the outbox's pending emails until SES accepts them.
type EmailSender struct {
	Queue  gc.MailQueue
	Mailer gc.Mailer
	Logger *slog.Logger
	Now    func() time.Time
	// Batch bounds the emails handled by one run.
	Batch int
}

// Handle runs once per schedule tick. Each email is first claimed with a
// conditional write (so two overlapping runs never both send it), then sent,
// then marked sent with another conditional write. A failure leaves it
// pending with its next attempt pushed out exponentially.
func (s *EmailSender) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	now := s.Now()
	res := Result{Job: "email-sender", StartedAt: now, Counts: map[string]int{}}
	batch := s.Batch
	if batch == 0 {
		batch = 100
	}
	due, err := s.Queue.DueEmails(ctx, now, batch)
	if err != nil {
		return res, fmt.Errorf("email sender: %w", err)
	}
	for _, p := range due {
		if err := s.Queue.Claim(ctx, p, now); err != nil {
			res.Counts[outcome(err, "claimed_elsewhere")]++
			continue
		}
		n, err := gc.Deliver(ctx, s.Mailer, s.Queue, p.ShopID, []gc.Email{p.Email})
		if err != nil || n == 0 {
			res.Counts["failed"]++
			s.Logger.WarnContext(ctx, "email still pending", "shop", p.ShopID, "email", p.Email.ID, "attempts", p.Attempts+1, "error", errText(err))
			continue
		}
		res.Counts["sent"]++
	}
	s.Logger.InfoContext(ctx, "email sender run", "due", len(due), "sent", res.Counts["sent"], "failed", res.Counts["failed"])
	return res, nil
}

// Auditor is what the audit job needs of the store.
type Auditor interface {
	Shops(ctx context.Context) ([]gc.Shop, error)
	Audit(ctx context.Context, shopID string) (gc.AuditReport, error)
}

// Audit walks every shop's ledger, logs a metric either way and emails the
// shop's admin a report when an invariant is broken.
type Audit struct {
	Store  Auditor
	Queue  gc.MailQueue
	Mailer gc.Mailer
	Sender string
	Logger *slog.Logger
	Now    func() time.Time
}

// Handle runs one audit of every shop.
func (a *Audit) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	res := Result{Job: "audit", StartedAt: a.Now(), Counts: map[string]int{}}
	shops, err := a.Store.Shops(ctx)
	if err != nil {
		return res, fmt.Errorf("audit: %w", err)
	}
	for _, sh := range shops {
		r, err := a.Store.Audit(ctx, sh.ID)
		if err != nil {
			return res, fmt.Errorf("audit shop %s: %w", sh.ID, err)
		}
		res.Counts["shops"]++
		res.Counts["transactions"] += r.Transactions
		res.Breaches += len(r.Breaches)
		emitMetric(sh.ID, len(r.Breaches), r.Transactions)
		if r.OK() || sh.AdminEmail == "" {
			continue
		}
		e, err := gc.AuditEmail(sh, r, a.Sender)
		if err != nil {
			return res, fmt.Errorf("audit shop %s: compose email: %w", sh.ID, err)
		}
		if e, err = a.Queue.Enqueue(ctx, sh.ID, e); err != nil {
			return res, fmt.Errorf("audit shop %s: %w", sh.ID, err)
		}
		if _, err := gc.Deliver(ctx, a.Mailer, a.Queue, sh.ID, []gc.Email{e}); err != nil {
			a.Logger.WarnContext(ctx, "audit email left pending", "shop", sh.ID, "error", err.Error())
		}
		a.Logger.ErrorContext(ctx, "ledger audit found breaches", "shop", sh.ID, "breaches", len(r.Breaches))
	}
	return res, nil
}

// emitMetric writes a CloudWatch embedded-metric-format line to stdout:
// CloudWatch turns it into the LedgerBreaches metric per shop.
func emitMetric(shopID string, breaches, transactions int) {
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": time.Now().UnixMilli(),
			"CloudWatchMetrics": []map[string]any{{
				"Namespace":  "giftcredit",
				"Dimensions": [][]string{{"shop"}},
				"Metrics":    []map[string]string{{"Name": "LedgerBreaches", "Unit": "Count"}, {"Name": "LedgerTransactions", "Unit": "Count"}},
			}},
		},
		"shop": shopID, "LedgerBreaches": breaches, "LedgerTransactions": transactions,
	}
	b, _ := json.Marshal(line) // a map of plain values always encodes
	fmt.Fprintln(os.Stdout, string(b))
}

func outcome(err error, conflict string) string {
	if gc.ErrorCode(err) == gc.ECONFLICT {
		return conflict
	}
	return "error"
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
