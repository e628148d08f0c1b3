// Package e2e_test drives the whole local stack (infra/local/stack) the way
// a web shop and its staff would: over HTTP only, against the real function
// binaries built by the Makefile, minidyn and aws-ses-v2-local. The stack
// runs in-process on free loopback ports.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
	"github.com/giftcredit/giftcredit/infra/local/stack"
	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/infra/samtemplate"
)

// maxProcesses bounds each function's processes in the tests: small, so
// the scaling test reaches it.
const maxProcesses = 3

var (
	repoRoot string
	tpl      *samtemplate.Template
	binaries map[string]string
)

// TestMain builds every function of template.yaml once, with the
// Makefile's build-<LogicalId> targets, into .local/e2e-build (kept between
// runs: go build relinks only what changed). The stacks run hard-linked
// snapshots of those binaries, so that another test process rebuilding
// them meanwhile cannot disturb this one.
func TestMain(m *testing.M) {
	snapshot, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		if snapshot != "" {
			os.RemoveAll(snapshot)
		}
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(snapshot)
	os.Exit(code)
}

func setup() (snapshot string, err error) {
	if repoRoot, err = localaws.RepoRoot(); err != nil {
		return "", err
	}
	if tpl, err = samtemplate.Load(filepath.Join(repoRoot, "template.yaml")); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(repoRoot, ".local"), 0o755); err != nil {
		return "", err
	}
	if snapshot, err = os.MkdirTemp(filepath.Join(repoRoot, ".local"), "e2e-run-"); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	binaries, err = stack.Build(ctx, stack.BuildConfig{Root: repoRoot, Dir: filepath.Join(repoRoot, ".local", "e2e-build"),
		Functions: tpl.Functions, Snapshot: snapshot})
	return snapshot, err
}

// harness is one running stack and what the tests learnt from it.
type harness struct {
	st   *stack.Stack
	info stack.Info
	// functionOutput is every line any function process wrote.
	functionOutput *runtime.Capture
	stackLog       *runtime.Capture

	mu sync.Mutex
	// codes are the gift-card codes issued during the run.
	codes []string
}

// startStack starts the whole template on free ports with the demo shops,
// without timers (schedules fire through their URLs only).
func startStack(t *testing.T) *harness {
	t.Helper()
	var echo io.Writer
	if testing.Verbose() {
		echo = os.Stderr
	}
	h := &harness{functionOutput: runtime.NewCapture(echo), stackLog: runtime.NewCapture(echo)}
	st, err := stack.Start(context.Background(), stack.Config{
		Template:  tpl,
		Binaries:  binaries,
		TableName: "giftcredit-e2e",
		Parameters: map[string]string{
			"Stage": "e2e", "SenderAddress": "no-reply@giftcredit.test",
			"AdminAddress": "ops@giftcredit.test", "SenderIdentityName": "giftcredit.test",
		},
		MaxProcesses: maxProcesses,
		DemoShops: []stack.DemoShop{
			{Name: "Corner Books", AdminEmail: "admin@corner-books.test", SenderAddress: "shop@corner-books.test", Currency: "USD"},
			{Name: "Harbour Tea", AdminEmail: "admin@harbour-tea.test", SenderAddress: "shop@harbour-tea.test", Currency: "EUR"},
		},
		FunctionOutput: h.functionOutput,
		Log:            h.stackLog,
	})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close stack: %v", err)
		}
		if t.Failed() && !testing.Verbose() {
			t.Logf("stack log:\n%s", h.stackLog.String())
			out := h.functionOutput.String()
			if len(out) > 20000 {
				out = "…" + out[len(out)-20000:]
			}
			t.Logf("function output:\n%s", out)
		}
	})
	h.st, h.info = st, st.Info()
	if len(h.info.Shops) != 2 {
		t.Fatalf("demo shops: %+v", h.info.Shops)
	}
	return h
}

// codeRE matches a gift-card code as the API shows it.
var codeRE = regexp.MustCompile(`\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]\b`)

// remember records issued gift-card codes for the secrets test.
func (h *harness) remember(codes ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range codes {
		if !slices.Contains(h.codes, c) {
			h.codes = append(h.codes, c)
		}
	}
}

func (h *harness) issuedCodes() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.codes)
}

// call sends one API request as a web shop would and returns the status
// and the body. body is JSON-encoded unless it is nil.
func (h *harness) call(t *testing.T, method, path, key string, body any, headers ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.info.APIURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// Every answer is scanned for codes: a code returned anywhere counts
	// as issued, so the secrets test looks for it too.
	h.remember(codeRE.FindAllString(string(b), -1)...)
	return resp.StatusCode, b
}

// mustCall is call that fails the test unless the status is want, and
// decodes the body into out (if not nil).
func (h *harness) mustCall(t *testing.T, want int, method, path, key string, body, out any, headers ...string) {
	t.Helper()
	got, b := h.call(t, method, path, key, body, headers...)
	if got != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// storedEmail is a message as aws-ses-v2-local keeps it.
type storedEmail = localaws.StoredEmail

// emails returns every message the SES stand-in accepted.
func (h *harness) emails(t *testing.T) []storedEmail {
	t.Helper()
	resp, err := http.Get(h.info.SESURL + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []storedEmail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatal(err)
	}
	return store.Emails
}

// waitEmail waits (briefly: mail is sent inside the request) for a message
// to `to` whose text contains every one of want.
func (h *harness) waitEmail(t *testing.T, to string, want ...string) storedEmail {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, e := range h.emails(t) {
			if !slices.Contains(e.Destination.To, to) {
				continue
			}
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(e.Body.Text, w)
			}
			if ok {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email to %s containing %q", to, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
