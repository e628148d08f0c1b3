package giftcredit

import (
	"context"
	"fmt"
	"time"
)

// Email is one message ready to send: rendered, addressed, with the outbox
// id it is tracked under (empty when it is not tracked).
type Email struct {
	ID      string
	From    string
	To      string
	Subject string
	Text    string
	HTML    string
}

// Composer renders and addresses the emails giftcredit sends, from the
// domain's values. Internal/mail implements it; the domain and the stores
// only call it, so they neither render templates nor know a default sender
// address. Every email it returns is From the shop's SenderAddress, or the
// composer's own default sender when the shop has none, and has no ID: the
// outbox gives it one.
//
// An error means the values cannot be rendered safely (a template fails, or
// a card has no code, or an admin's copy would show more than the last four
// characters of a code). It is a bug upstream rather than bad input, not a
// domain error: callers wrap it, and a request that meets one is answered as
// an internal error.
type Composer interface {
	// OrderEmails composes the emails of a placed order whose cards still
	// carry their codes: one to the buyer with the cards that have no
	// recipient, one to each recipient with theirs, and, when the shop has
	// an admin address, a confirmation with masked codes to it.
	OrderEmails(shop Shop, o Order) ([]Email, error)
	// AuditEmail composes the report of a failed audit to the shop's admin.
	AuditEmail(shop Shop, r AuditReport) (Email, error)
	// PromotionSummaryEmail composes the summary of a finished promotion
	// run for the shop's admin: orders examined, credits and amount
	// granted, and what was skipped and why.
	PromotionSummaryEmail(shop Shop, p Promotion, r PromotionRun) (Email, error)
	// PromotionCreditEmail composes the notice to customer c that p granted
	// them its credit.
	PromotionCreditEmail(shop Shop, p Promotion, c Customer) (Email, error)
	// GuessingAlertEmail composes the alert to the shop's admin that failed
	// gift-card code attempts across the shop reached the alert threshold,
	// failures of them in the window starting at windowStart.
	GuessingAlertEmail(shop Shop, windowStart time.Time, failures int64) (Email, error)
	// LotExpiryEmail composes the reminder to customer c that what is
	// left of lot (its Remaining) expires at its expiresAt.
	LotExpiryEmail(shop Shop, c Customer, lot Lot) (Email, error)
}

// Mailer sends one email and returns the provider's message id. An error
// means the message may not have been sent and should be retried later; the
// caller keeps it pending in the outbox.
type Mailer interface {
	Send(ctx context.Context, e Email) (messageID string, err error)
}

// Outbox keeps emails until they are sent.
type Outbox interface {
	// MarkSent records emails (outbox id → provider message id) as sent,
	// each only if still pending; ECONFLICT if another sender got there first.
	MarkSent(ctx context.Context, shopID string, sent map[string]string) error
	// Release makes emails that the request that wrote them could not send
	// due for the scheduled sender now, rather than after the grace period
	// it leaves a request to send its own mail.
	Release(ctx context.Context, shopID string, ids []string) error
}

// Deliver sends emails written to the outbox and marks those SES accepted
// as sent. A failed send stays pending for the scheduled sender; Deliver
// never fails the caller's request. It returns how many were sent.
//
// A positive budget bounds all the sends together (not each): an email not
// accepted within it stays pending, as if SES had refused it. The outbox
// update that follows runs under ctx, so a slow SES cannot keep an accepted
// email from being marked sent.
func Deliver(ctx context.Context, budget time.Duration, m Mailer, o Outbox, shopID string, emails []Email) (int, error) {
	sendCtx := ctx
	if budget > 0 {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithTimeout(ctx, budget)
		defer cancel()
	}
	sent := map[string]string{}
	var firstErr error
	for _, e := range emails {
		if err := sendCtx.Err(); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("mail budget of %v spent: %w", budget, err)
			}
			break
		}
		id, err := m.Send(sendCtx, e)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		sent[e.ID] = id
	}
	if len(sent) > 0 {
		if err := o.MarkSent(ctx, shopID, sent); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	// Only a request's own delivery (it has a budget) hands what it could
	// not send to the scheduled sender at once; the sender's retries are
	// already scheduled by their claim.
	var unsent []string
	for _, e := range emails {
		if budget <= 0 {
			break
		}
		if _, ok := sent[e.ID]; !ok && e.ID != "" {
			unsent = append(unsent, e.ID)
		}
	}
	if len(unsent) > 0 {
		if err := o.Release(ctx, shopID, unsent); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return len(sent), firstErr
}

// PendingEmail is an outbox record due for (re)sending.
type PendingEmail struct {
	ShopID   string
	Email    Email
	Attempts int64
}

// MailQueue is the outbox as the scheduled sender sees it.
type MailQueue interface {
	Outbox
	// Enqueue writes a pending email and returns it with its outbox id.
	Enqueue(ctx context.Context, shopID string, e Email) (Email, error)
	// DueEmails returns up to limit pending emails due at now.
	DueEmails(ctx context.Context, now time.Time, limit int) ([]PendingEmail, error)
	// Claim takes a pending email for one send attempt and schedules the
	// next one with backoff; ECONFLICT if another sender claimed it.
	Claim(ctx context.Context, p PendingEmail, now time.Time) error
}
