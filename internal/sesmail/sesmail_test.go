package sesmail_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/sesmail"
)

// secretCode stands in for a gift-card code: it must reach the recipient and
// must never appear in an error.
const secretCode = "7K3Q-M9XW-2HPA-R4TD-8"

func giftEmail() giftcredit.Email {
	return giftcredit.Email{
		ID:      "em_1",
		From:    "Café Shop <shop@example.com>",
		To:      "ana@example.com",
		Subject: "Your gift card from Café Shop: 50,00 €",
		Text:    "Your code: " + secretCode + "\nAmount: 50,00 €\n",
		HTML:    "<p>Your code: <strong>" + secretCode + "</strong></p><p>Amount: 50,00 €</p>",
	}
}

func TestSendArrives(t *testing.T) {
	t.Parallel()
	stand := localaws.SESForTest(t)
	m := sesmail.New(localaws.NewSESClient(stand.URL()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	e := giftEmail()
	id, err := m.Send(ctx, e)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id == "" {
		t.Fatal("Send returned an empty message id")
	}

	emails, err := stand.Emails(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(emails) != 1 {
		t.Fatalf("stand-in holds %d emails, want 1", len(emails))
	}
	got := emails[0]
	if got.MessageID != id {
		t.Errorf("messageId = %q, want %q", got.MessageID, id)
	}
	if got.From != e.From {
		t.Errorf("from = %q, want %q", got.From, e.From)
	}
	if !slices.Equal(got.Destination.To, []string{e.To}) {
		t.Errorf("to = %q, want [%q]", got.Destination.To, e.To)
	}
	if len(got.Destination.Cc)+len(got.Destination.Bcc) != 0 {
		t.Errorf("cc/bcc = %q/%q, want none", got.Destination.Cc, got.Destination.Bcc)
	}
	// Non-ASCII text round-trips only if the charset was declared.
	if got.Subject != e.Subject {
		t.Errorf("subject = %q, want %q", got.Subject, e.Subject)
	}
	if strings.TrimRight(got.Body.Text, "\n") != strings.TrimRight(e.Text, "\n") {
		t.Errorf("text = %q, want %q", got.Body.Text, e.Text)
	}
	if got.Body.HTML != e.HTML {
		t.Errorf("html = %q, want %q", got.Body.HTML, e.HTML)
	}
}

func TestSendTextOnly(t *testing.T) {
	t.Parallel()
	stand := localaws.SESForTest(t)
	m := sesmail.New(localaws.NewSESClient(stand.URL()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	e := giftEmail()
	e.HTML = ""
	if _, err := m.Send(ctx, e); err != nil {
		t.Fatalf("Send: %v", err)
	}
	emails, err := stand.Emails(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(emails) != 1 || emails[0].Body.HTML != "" || !strings.Contains(emails[0].Body.Text, secretCode) {
		t.Errorf("stored = %+v, want one text-only email", emails)
	}
}

func TestSendRejectsIncompleteEmail(t *testing.T) {
	t.Parallel()
	// Nothing listens here: a request that reached the client would fail
	// with a connection error instead of the validation error asserted.
	m := sesmail.New(localaws.NewSESClient(closedEndpoint(t)))
	tests := []struct {
		name      string
		edit      func(*giftcredit.Email)
		wantField string
	}{
		{"no sender", func(e *giftcredit.Email) { e.From = "" }, "from"},
		{"blank recipient", func(e *giftcredit.Email) { e.To = "  " }, "to"},
		{"no body", func(e *giftcredit.Email) { e.Text, e.HTML = "", "" }, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := giftEmail()
			tt.edit(&e)
			_, err := m.Send(context.Background(), e)
			if got := giftcredit.ErrorCode(err); got != giftcredit.EINVALID {
				t.Fatalf("error code = %q (%v), want %q", got, err, giftcredit.EINVALID)
			}
			if ge, ok := err.(*giftcredit.Error); !ok || ge.Field != tt.wantField {
				t.Errorf("error = %#v, want field %q", err, tt.wantField)
			}
		})
	}
}

func TestSendDuringOutageFailsPromptly(t *testing.T) {
	t.Parallel()
	m := sesmail.New(localaws.NewSESClient(closedEndpoint(t)))

	start := time.Now()
	id, err := m.Send(context.Background(), giftEmail())
	elapsed := time.Since(start)
	if err == nil {
		t.Fatalf("Send to a closed port succeeded with id %q", id)
	}
	if id != "" {
		t.Errorf("id = %q on failure, want empty", id)
	}
	if elapsed > 3*time.Second {
		t.Errorf("Send took %v to fail, want under 3s", elapsed)
	}
	assertSafeError(t, err)
}

func TestSendDuringOutageAfterClose(t *testing.T) {
	t.Parallel()
	stand := localaws.SESForTest(t)
	m := sesmail.New(localaws.NewSESClient(stand.URL()))
	if err := stand.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Send(context.Background(), giftEmail()); err == nil {
		t.Fatal("Send after the stand-in closed succeeded")
	}
}

func TestSendHonoursCallerDeadline(t *testing.T) {
	t.Parallel()
	hang := hangingServer(t)
	m := sesmail.New(localaws.NewSESClient(hang.URL))

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := m.Send(ctx, giftEmail())
	if err == nil {
		t.Fatal("Send to a server that never answers succeeded")
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("Send took %v, want it to stop at the caller's 300ms deadline", elapsed)
	}
	assertSafeError(t, err)
}

func TestSendAppliesDefaultTimeout(t *testing.T) {
	t.Parallel()
	m := sesmail.New(localaws.NewSESClient(hangingServer(t).URL))
	if got := sesmail.Timeout(m); got != sesmail.DefaultTimeout {
		t.Fatalf("New set timeout %v, want DefaultTimeout %v", got, sesmail.DefaultTimeout)
	}
	const short = 200 * time.Millisecond
	sesmail.SetTimeout(m, short)

	start := time.Now()
	_, err := m.Send(context.Background(), giftEmail())
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if elapsed < short || elapsed > 3*time.Second {
		t.Errorf("Send returned after %v, want about %v", elapsed, short)
	}
	assertSafeError(t, err)
}

// assertSafeError checks that err is wrapped with context, is not mistaken
// for invalid input, and leaks nothing of the message.
func assertSafeError(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "ses send email: ") {
		t.Errorf("error %q lacks the ses send email prefix", msg)
	}
	if got := giftcredit.ErrorCode(err); got != giftcredit.EINTERNAL {
		t.Errorf("error code = %q, want %q (retry later)", got, giftcredit.EINTERNAL)
	}
	for _, secret := range []string{secretCode, "50,00", "Your code"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q contains message content %q", msg, secret)
		}
	}
}

// closedEndpoint returns a loopback URL on which nothing listens.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// hangingServer accepts requests and never answers them, like the stand-in
// does for the SES actions it does not implement.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a client hanging up only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	// Cleanups run last-registered first: release the handlers, then close.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	return srv
}
