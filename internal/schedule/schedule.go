// Package schedule adapts EventBridge schedule invocations to the
// housekeeping jobs: re-sending pending emails, auditing the ledger and
// releasing expired holds (holds.go). It
// is the only package besides apigw that knows events.* types.
package schedule

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/internal/deadline"
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
	// Reserve is kept free before the invocation's deadline (default
	// DefaultReserve); PerEmail is the least time left to start an email
	// (default DefaultPerEmail).
	Reserve, PerEmail time.Duration
}

// DefaultReserve is how long before its deadline a scheduled job's calls
// must end, so that it returns its summary instead of being killed.
const DefaultReserve = 2 * time.Second

// DefaultPerEmail is the least time left for the sender to start an email:
// one claim, one send (sesmail bounds it to 10 s) and one update.
const DefaultPerEmail = 12 * time.Second

// DefaultPerShop is the least time left for the audit to start a shop.
const DefaultPerShop = 20 * time.Second

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
	// Every call runs until Reserve before the invocation's deadline, and
	// no email is started with less than PerEmail left: the rest stay
	// pending for the next run instead of the run dying mid-batch.
	work, cancel := deadline.Reserve(ctx, cmp.Or(s.Reserve, DefaultReserve))
	defer cancel()
	due, err := s.Queue.DueEmails(work, now, batch)
	if err != nil {
		return res, fmt.Errorf("email sender: %w", err)
	}
	for i, p := range due {
		if deadline.Low(work, cmp.Or(s.PerEmail, DefaultPerEmail)) {
			res.Counts["deferred"] = len(due) - i
			s.Logger.WarnContext(ctx, "email sender out of time", "deferred", len(due)-i)
			break
		}
		if err := s.Queue.Claim(work, p, now); err != nil {
			res.Counts[outcome(err, "claimed_elsewhere")]++
			continue
		}
		n, err := gc.Deliver(work, 0, s.Mailer, s.Queue, p.ShopID, []gc.Email{p.Email})
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
	// Composer composes the report (internal/mail).
	Composer gc.Composer
	Logger   *slog.Logger
	Now      func() time.Time
	// Reserve and PerShop are as EmailSender's Reserve and PerEmail
	// (defaults DefaultReserve and DefaultPerShop).
	Reserve, PerShop time.Duration
}

// Handle runs one audit of every shop. When time runs low it stops before
// the next shop and reports the rest as deferred; the shops are taken in
// an order that turns with the clock (it starts one shop further each
// hour), so shops at the end of the list are not always the ones left out.
func (a *Audit) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	res := Result{Job: "audit", StartedAt: a.Now(), Counts: map[string]int{}}
	work, cancel := deadline.Reserve(ctx, cmp.Or(a.Reserve, DefaultReserve))
	defer cancel()
	shops, err := a.Store.Shops(work)
	if err != nil {
		return res, fmt.Errorf("audit: %w", err)
	}
	for i := range shops {
		sh := shops[(i+int(res.StartedAt.Unix()/3600))%len(shops)]
		if deadline.Low(work, cmp.Or(a.PerShop, DefaultPerShop)) {
			res.Counts["deferred"] = len(shops) - i
			a.Logger.WarnContext(ctx, "audit out of time", "deferred", len(shops)-i)
			break
		}
		r, err := a.Store.Audit(work, sh.ID)
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
		e, err := a.Composer.AuditEmail(sh, r)
		if err != nil {
			return res, fmt.Errorf("audit shop %s: compose email: %w", sh.ID, err)
		}
		if e, err = a.Queue.Enqueue(work, sh.ID, e); err != nil {
			return res, fmt.Errorf("audit shop %s: %w", sh.ID, err)
		}
		if _, err := gc.Deliver(work, 0, a.Mailer, a.Queue, sh.ID, []gc.Email{e}); err != nil {
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
