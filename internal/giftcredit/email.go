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
	var unsent []string
	for _, e := range emails {
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
