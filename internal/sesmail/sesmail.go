// Package sesmail is the Amazon SES adapter: it implements giftcredit.Mailer
// with the SES v1 SendEmail API. It is named sesmail so that it does not
// clash with the SDK's ses package.
//
// Emails carry gift-card codes, so neither a body nor a subject ever goes
// into an error returned from here.
package sesmail

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"

	"github.com/giftcredit/giftcredit/internal/giftcredit"
)

// DefaultTimeout bounds one Send, whatever the context's deadline. A
// request SES (or the local stand-in) never answers must not hold a Lambda
// invocation until it times out.
const DefaultTimeout = 10 * time.Second

// charset is declared on every part so that SES does not guess.
const charset = "UTF-8"

// Mailer sends email through SES.
type Mailer struct {
	client  *ses.Client
	timeout time.Duration
}

var _ giftcredit.Mailer = (*Mailer)(nil)

// New returns a Mailer using the caller's client, which carries the
// endpoint, credentials, region and retry policy.
func New(client *ses.Client) *Mailer {
	return &Mailer{client: client, timeout: DefaultTimeout}
}

// Send sends e to its one recipient and returns the SES message id. It
// sends to exactly one address because a message to several would be
// retried as a whole by the outbox if any part failed; the v1 API stand-in
// also keeps only the first address of a list.
//
// It returns a giftcredit EINVALID error, without calling SES, if From or To
// is empty or the message has neither a text nor an HTML body; resending
// such a message cannot succeed. Any other error means the message may not
// have been sent.
func (m *Mailer) Send(ctx context.Context, e giftcredit.Email) (string, error) {
	if strings.TrimSpace(e.From) == "" {
		return "", giftcredit.Invalid("from", "the sender address is required")
	}
	if strings.TrimSpace(e.To) == "" {
		return "", giftcredit.Invalid("to", "the recipient address is required")
	}
	body := &types.Body{}
	if e.Text != "" {
		body.Text = content(e.Text)
	}
	if e.HTML != "" {
		body.Html = content(e.HTML)
	}
	if body.Text == nil && body.Html == nil {
		return "", giftcredit.Invalid("body", "a text or HTML body is required")
	}

	// The send timeout applies whatever the caller's deadline: a Lambda
	// context always has one (the whole invocation), and a stalled SES must
	// not eat it. A nearer caller deadline still wins.
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	out, err := m.client.SendEmail(ctx, &ses.SendEmailInput{
		Source:      aws.String(e.From),
		Destination: &types.Destination{ToAddresses: []string{e.To}},
		Message: &types.Message{
			Subject: content(e.Subject),
			Body:    body,
		},
	})
	if err != nil {
		// SDK errors name the operation, status and request id, never the
		// request body.
		return "", fmt.Errorf("ses send email: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

func content(s string) *types.Content {
	return &types.Content{Data: aws.String(s), Charset: aws.String(charset)}
}
