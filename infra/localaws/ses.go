// Package localaws holds local stand-ins for the AWS services giftcredit
// uses, started on loopback by tests, benchmarks and make run. Each stand-in
// is a real server speaking the service's wire protocol, so the production
// adapters are exercised unchanged; only the client's endpoint differs.
//
// The SES stand-in is the npm package aws-ses-v2-local, pinned in
// infra/package.json and installed by `make node-deps`. Process groups are
// used to stop it, so this package builds on Unix only.
package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ses"
)

// sesStartTimeout bounds how long StartSES waits for the stand-in to answer
// its health check. It is ready in about a second on a 2-core machine; the
// margin covers a loaded CI runner.
const sesStartTimeout = 15 * time.Second

// stderrLimit caps how much of the stand-in's stderr is kept for error
// messages, so a chatty long-running process cannot grow memory unbounded.
const stderrLimit = 64 << 10

// RepoRoot returns the directory holding go.mod, found by walking up from
// the working directory. Tests run in their package's directory, so this is
// how they find infra/node_modules.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repo root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("repo root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repo root: no go.mod in the working directory or any parent")
		}
		dir = parent
	}
}

// SES is a running aws-ses-v2-local: an SES v1/v2 API on loopback that keeps
// every message it accepts in memory, readable with Emails.
type SES struct {
	port   int
	cmd    *exec.Cmd
	stderr *headBuffer
	http   *http.Client

	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed

	closeOnce sync.Once
	closeErr  error
}

// StartSES starts aws-ses-v2-local on 127.0.0.1:port (port 0 picks a free
// port) and returns once it answers its health check. ctx bounds only the
// start; the server runs until Close. It fails, with the process's stderr,
// if the process exits first, and with a hint to run `make node-deps` if
// the package is not installed.
func StartSES(ctx context.Context, port int) (*SES, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("start ses: %w", err)
	}
	bin := filepath.Join(root, "infra", "node_modules", ".bin", "aws-ses-v2-local")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("start ses: %s not found: run `make node-deps` (or `cd infra && npm ci`): %w", bin, err)
	}

	// A port picked here can be taken by another process before the stand-in
	// binds it; that shows as an early exit, so try a few fresh ports.
	attempts := 1
	if port == 0 {
		attempts = 3
	}
	for i := 1; ; i++ {
		p := port
		if p == 0 {
			if p, err = freePort(); err != nil {
				return nil, fmt.Errorf("start ses: %w", err)
			}
		}
		s, err := startSES(ctx, bin, p)
		if err == nil || i == attempts || ctx.Err() != nil || !errors.Is(err, errExitedEarly) {
			return s, err
		}
	}
}

// errExitedEarly marks a start that failed because the process exited.
var errExitedEarly = errors.New("aws-ses-v2-local exited before it was ready")

func startSES(ctx context.Context, bin string, port int) (*SES, error) {
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	// Its own process group, so Close can kill node and anything it spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := &headBuffer{limit: stderrLimit}
	cmd.Stderr = stderr
	// If a grandchild keeps the stderr pipe open after the kill, do not let
	// Wait block forever on it.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ses: %w", err)
	}
	s := &SES{
		port:   port,
		cmd:    cmd,
		stderr: stderr,
		http:   &http.Client{Timeout: 5 * time.Second},
		exited: make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("start ses on port %d: %w", port, err)
	}
	return s, nil
}

// waitReady polls GET /health-check until it answers 200, the process exits,
// or the start deadline passes.
func (s *SES) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, sesStartTimeout)
	defer cancel()
	switch err := pollUntil(ctx, s.exited, s.healthy); {
	case errors.Is(err, errProcessExited):
		return fmt.Errorf("%w (%v): %s", errExitedEarly, s.waitErr, s.stderr.String())
	case err != nil:
		return fmt.Errorf("no answer from /health-check: %w; stderr: %s", err, s.stderr.String())
	}
	return nil
}

// errProcessExited is pollUntil's answer when the process ended first.
var errProcessExited = errors.New("the process exited")

// pollUntil calls ready every 50 ms until it says yes (nil), the process
// whose exited channel is given ends (errProcessExited) or ctx ends (its
// error): the start of every stand-in process the stack runs.
func pollUntil(ctx context.Context, exited <-chan struct{}, ready func(context.Context) bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(ctx) {
			return nil
		}
		select {
		case <-exited:
			return errProcessExited
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (s *SES) healthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/health-check", nil)
	if err != nil {
		return false
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// URL returns the stand-in's base URL, http://127.0.0.1:<port>. It is both
// the SES API endpoint and, at /, a mail viewer.
func (s *SES) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) }

// StoredEmail is one message as the stand-in kept it (GET /store).
type StoredEmail struct {
	MessageID   string      `json:"messageId"`
	From        string      `json:"from"`
	ReplyTo     []string    `json:"replyTo"`
	Destination Destination `json:"destination"`
	Subject     string      `json:"subject"`
	Body        Body        `json:"body"`
	// At is when the stand-in accepted the message, in Unix seconds.
	At int64 `json:"at"`
}

// Destination lists a stored message's recipients.
type Destination struct {
	To  []string `json:"to"`
	Cc  []string `json:"cc"`
	Bcc []string `json:"bcc"`
}

// Body holds a stored message's text and HTML parts (empty when absent).
type Body struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

// Emails returns every message the stand-in has accepted since it started
// or was last cleared, oldest first.
func (s *SES) Emails(ctx context.Context) ([]StoredEmail, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/store", nil)
	if err != nil {
		return nil, fmt.Errorf("ses store: %w", err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ses store: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ses store: status %s", resp.Status)
	}
	var store struct {
		Emails []StoredEmail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("ses store: decode: %w", err)
	}
	return store.Emails, nil
}

// Clear deletes every stored message.
func (s *SES) Clear(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/clear-store", nil)
	if err != nil {
		return fmt.Errorf("ses clear store: %w", err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("ses clear store: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ses clear store: status %s", resp.Status)
	}
	return nil
}

// Stop freezes the stand-in (SIGSTOP to its process group): it keeps its
// port and accepts connections but answers nothing, as a hung SES would.
// Continue (SIGCONT) wakes it; requests it buffered meanwhile are then
// served.
func (s *SES) Stop() error { return s.signal(syscall.SIGSTOP) }

// Continue wakes a stand-in frozen by Stop.
func (s *SES) Continue() error { return s.signal(syscall.SIGCONT) }

func (s *SES) signal(sig syscall.Signal) error {
	if err := syscall.Kill(-s.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("ses: signal %v: %w", sig, err)
	}
	return nil
}

// Close kills the stand-in's process group and waits for it to exit, which
// frees its port. Stored messages are lost. It is safe to call more than
// once; it reports an error if the process had already exited on its own.
func (s *SES) Close() error {
	s.closeOnce.Do(func() {
		select {
		case <-s.exited:
			s.closeErr = fmt.Errorf("ses: %w (%v): %s", errExitedEarly, s.waitErr, s.stderr.String())
			return
		default:
		}
		// The negative pid addresses the whole group (Setpgid made pgid == pid).
		if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			s.closeErr = fmt.Errorf("ses close: kill: %w", err)
		}
		<-s.exited
	})
	return s.closeErr
}

// NewSESClient returns an SES (v1 API) client for endpoint, such as
// SES.URL(), with dummy static credentials, region us-east-1 and a retry
// budget small enough that tests of an outage fail within a second.
func NewSESClient(endpoint string) *ses.Client {
	return ses.New(ses.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 2
			o.MaxBackoff = 100 * time.Millisecond
			o.RateLimiter = ratelimit.None
		}),
	})
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// headBuffer is a goroutine-safe writer keeping the first limit bytes
// written to it (a startup failure is explained at the start of stderr).
type headBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	limit int
}

func (b *headBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *headBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
