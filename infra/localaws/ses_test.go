package localaws_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"

	"github.com/giftcredit/giftcredit/infra/localaws"
)

func TestRepoRootHoldsGoMod(t *testing.T) {
	root, err := localaws.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.SplitN(string(b), "\n", 2)[0], "module github.com/giftcredit/giftcredit"; got != want {
		t.Errorf("go.mod first line = %q, want %q", got, want)
	}
}

func TestStartSESExplainsMissingInstall(t *testing.T) {
	// A module root without infra/node_modules, as on a fresh checkout.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/fresh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	s, err := localaws.StartSES(context.Background(), 0)
	if err == nil {
		s.Close()
		t.Fatal("StartSES succeeded without an installed stand-in")
	}
	if !strings.Contains(err.Error(), "make node-deps") {
		t.Errorf("error %q does not say to run make node-deps", err)
	}
}

func TestSESSendAndReadBack(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := localaws.SESForTest(t)
	t.Logf("aws-ses-v2-local ready in %v at %s", time.Since(start).Round(time.Millisecond), s.URL())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := localaws.NewSESClient(s.URL())
	out, err := client.SendEmail(ctx, &ses.SendEmailInput{
		Source:      aws.String("shop@example.com"),
		Destination: &types.Destination{ToAddresses: []string{"ana@example.com"}},
		Message: &types.Message{
			Subject: &types.Content{Data: aws.String("Hello"), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String("plain body"), Charset: aws.String("UTF-8")},
				Html: &types.Content{Data: aws.String("<p>html body</p>"), Charset: aws.String("UTF-8")},
			},
		},
	})
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	id := aws.ToString(out.MessageId)
	if id == "" {
		t.Fatal("SendEmail returned an empty message id")
	}

	emails, err := s.Emails(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(emails) != 1 {
		t.Fatalf("got %d stored emails, want 1: %+v", len(emails), emails)
	}
	got := emails[0]
	if got.MessageID != id {
		t.Errorf("messageId = %q, want %q (the id SendEmail returned)", got.MessageID, id)
	}
	if got.From != "shop@example.com" {
		t.Errorf("from = %q, want shop@example.com", got.From)
	}
	if !slices.Equal(got.Destination.To, []string{"ana@example.com"}) {
		t.Errorf("to = %q, want [ana@example.com]", got.Destination.To)
	}
	if got.Subject != "Hello" || got.Body.Text != "plain body" || got.Body.HTML != "<p>html body</p>" {
		t.Errorf("subject/text/html = %q / %q / %q", got.Subject, got.Body.Text, got.Body.HTML)
	}
	if at := time.Unix(got.At, 0); at.Before(start.Add(-time.Minute)) || at.After(time.Now().Add(time.Minute)) {
		t.Errorf("at = %v, want about now", at)
	}

	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if emails, err := s.Emails(ctx); err != nil || len(emails) != 0 {
		t.Errorf("after Clear: %d emails, err %v; want none", len(emails), err)
	}
}

func TestSESCloseFreesPort(t *testing.T) {
	t.Parallel()
	s, err := localaws.StartSES(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	url := s.URL()
	port := url[strings.LastIndex(url, ":")+1:]
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	if _, err := http.Get(url + "/health-check"); err == nil {
		t.Error("health check still answered after Close")
	}
	// The port must be bindable again. The kernel releases it when the
	// process is gone, which Close waits for; poll briefly in case it lags.
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err == nil {
			l.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %s still in use after Close: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSESStartFailsOnTakenPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := localaws.StartSES(ctx, port)
	if err == nil {
		s.Close()
		t.Fatalf("StartSES on taken port %d succeeded", port)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("error %q does not name the port", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q: want the early exit reported, not a timeout", err)
	}
	t.Logf("error on taken port: %v", err)
}
