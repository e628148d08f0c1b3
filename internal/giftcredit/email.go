package giftcredit

import "context"

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
