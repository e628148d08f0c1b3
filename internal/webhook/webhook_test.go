package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/webhook"
)

func TestSignAndVerify(t *testing.T) {
	t.Parallel()
	at := time.Unix(1793523611, 0)
	body := []byte(`{"id":"evt_1"}`)
	h := webhook.Sign("whsec_k", at, body)
	// The documented scheme, computed independently: HMAC-SHA256 of
	// "<t>.<body>" in hex.
	m := hmac.New(sha256.New, []byte("whsec_k"))
	m.Write([]byte("1793523611." + string(body)))
	if want := "t=1793523611,v1=" + hex.EncodeToString(m.Sum(nil)); h != want {
		t.Fatalf("header = %s, want %s", h, want)
	}
	if err := webhook.Verify(h, "whsec_k", body, at.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("verify: %v", err)
	}
	for name, c := range map[string]struct {
		header, secret, body string
		now                  time.Time
	}{
		"another secret":    {h, "whsec_other", string(body), at},
		"another body":      {h, "whsec_k", `{"id":"evt_2"}`, at},
		"too old":           {h, "whsec_k", string(body), at.Add(6 * time.Minute)},
		"no timestamp":      {strings.Replace(h, "t=", "x=", 1), "whsec_k", string(body), at},
		"a moved timestamp": {strings.Replace(h, "t=1793523611", "t=1793523612", 1), "whsec_k", string(body), at},
	} {
		if err := webhook.Verify(c.header, c.secret, []byte(c.body), c.now, 5*time.Minute); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func TestNextAttemptBacksOffFor72Hours(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now, n := first, 0
	var delays []time.Duration
	for {
		n++
		next, ok := webhook.NextAttempt(first, n, now)
		if !ok {
			break
		}
		delays = append(delays, next.Sub(now))
		now = next
	}
	if delays[0] != 30*time.Second || delays[1] != time.Minute || delays[2] != 2*time.Minute {
		t.Errorf("first delays = %v", delays[:3])
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] < delays[i-1] || delays[i] > webhook.MaxRetryDelay {
			t.Errorf("delay %d = %v after %v", i, delays[i], delays[i-1])
		}
	}
	if end := now.Sub(first); end > webhook.RetryWindow || end < webhook.RetryWindow-webhook.MaxRetryDelay {
		t.Errorf("the last retry is %v after the first attempt, want within the last %v of 72 h", end, webhook.MaxRetryDelay)
	}
	t.Logf("%d attempts over %v", n, now.Sub(first))
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	aws, local := webhook.Policy{}, webhook.Policy{AllowLoopbackHTTP: true}
	for _, c := range []struct {
		url           string
		onAWS, onHost bool
	}{
		{"https://hooks.example.com/in", true, true},
		{"https://93.184.215.14/in", true, true},
		{"http://hooks.example.com/in", false, false},
		{"http://127.0.0.1:9000/in", false, true},
		{"http://localhost:9000/in", false, false},
		{"https://127.0.0.1/in", false, true},
		{"https://10.0.0.1/", false, false},
		{"https://172.16.5.4/", false, false},
		{"https://192.168.1.1/", false, false},
		{"https://169.254.169.254/latest", false, false},
		{"https://100.64.0.1/", false, false},
		{"https://[::1]/", false, false},
		{"https://[fe80::1]/", false, false},
		{"https://[fd00::1]/", false, false},
		{"https://[::ffff:10.0.0.1]/", false, false},
		{"https://0.0.0.0/", false, false},
		{"https://user:pw@hooks.example.com/", false, false},
		{"https://hooks.example.com/#frag", false, false},
		{"hooks.example.com/in", false, false},
		{"", false, false},
		{"https://" + strings.Repeat("a", 2050) + ".com/", false, false},
	} {
		if err := aws.CheckURL(c.url); (err == nil) != c.onAWS {
			t.Errorf("AWS policy, %q: %v", c.url, err)
		} else if err != nil && gc.ErrorCode(err) != gc.EINVALID {
			t.Errorf("%q: %v is not a 400", c.url, err)
		}
		if err := local.CheckURL(c.url); (err == nil) != c.onHost {
			t.Errorf("local policy, %q: %v", c.url, err)
		}
	}
	if err := aws.Validate(webhook.NewWebhook{URL: "https://hooks.example.com/", Types: []gc.EventType{"credit.granted", "credit.granted"}}); gc.ErrorCode(err) != gc.EINVALID {
		t.Errorf("a repeated type: %v", err)
	}
}

type resolver map[string][]string

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range r[host] {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func TestCheckResolvedRefusesAnyPrivateAnswer(t *testing.T) {
	t.Parallel()
	r := resolver{"ok.example": {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"}, "mixed.example": {"93.184.215.14", "192.168.0.7"}}
	p := webhook.Policy{}
	if err := p.CheckResolved(context.Background(), r, "https://ok.example/in"); err != nil {
		t.Errorf("public: %v", err)
	}
	for _, u := range []string{"https://mixed.example/in", "https://unknown.example/in"} {
		if err := p.CheckResolved(context.Background(), r, u); gc.ErrorCode(err) != gc.EINVALID {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// The delivery client checks the address it dials: a listener on
// loopback is refused on AWS's policy (whatever the URL said at
// registration, e.g. a name that now resolves there) and reached on the
// local stack's.
func TestClientDialsOnlyAllowedAddresses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	if _, err := webhook.NewClient(webhook.Policy{}).Post(srv.URL, "application/json", strings.NewReader("{}")); err == nil ||
		!strings.Contains(err.Error(), "public addresses") {
		t.Errorf("AWS policy reached loopback: %v", err)
	}
	resp, err := webhook.NewClient(webhook.Policy{AllowLoopbackHTTP: true}).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("local policy: %v", err)
	}
	resp.Body.Close()
	// A redirect is not followed (it could point anywhere).
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL, http.StatusTemporaryRedirect)
	}))
	defer redir.Close()
	resp, err = webhook.NewClient(webhook.Policy{AllowLoopbackHTTP: true}).Post(redir.URL, "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("redirect: %v %v", resp, err)
	}
}
