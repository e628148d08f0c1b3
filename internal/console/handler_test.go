package console

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/internal/money"
)

func mustSite(tb testing.TB) *Site {
	tb.Helper()
	s, err := New(money.Exponents())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func get(tb testing.TB, s *Site, path string, headers ...string) events.APIGatewayV2HTTPResponse {
	tb.Helper()
	ev := events.APIGatewayV2HTTPRequest{RawPath: path, Headers: map[string]string{}}
	ev.RequestContext.HTTP.Method = http.MethodGet
	ev.RequestContext.HTTP.Path = path
	for i := 0; i+1 < len(headers); i += 2 {
		ev.Headers[headers[i]] = headers[i+1]
	}
	resp, err := s.Handle(context.Background(), ev)
	if err != nil {
		tb.Fatalf("GET %s: error %v (API Gateway would answer a bare 500)", path, err)
	}
	return resp
}

// assetRefs are the page's references to its script and style sheet.
var assetRefs = regexp.MustCompile(`(?:src|href)="(/admin/[^"]+)"`)

func TestPageAndAssets(t *testing.T) {
	t.Parallel()
	s := mustSite(t)
	page := get(t, s, "/admin")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin: %d", page.StatusCode)
	}
	if got := page.Headers["Content-Type"]; got != "text/html; charset=utf-8" {
		t.Errorf("page Content-Type = %q", got)
	}
	if got := page.Headers["Cache-Control"]; got != "no-cache" {
		t.Errorf("page Cache-Control = %q, want no-cache (revalidated by ETag, so a deployment shows at once)", got)
	}
	refs := assetRefs.FindAllStringSubmatch(page.Body, -1)
	wantTypes := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	seen := map[string]bool{}
	for _, m := range refs {
		ref := m[1]
		ext := ref[strings.LastIndex(ref, "."):]
		if !regexp.MustCompile(`\.[0-9a-f]{10}\.(js|css)$`).MatchString(ref) {
			t.Errorf("the page names %s, not a hashed asset name", ref)
		}
		a := get(t, s, ref)
		if a.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", ref, a.StatusCode)
			continue
		}
		seen[ext] = true
		if got := a.Headers["Content-Type"]; got != wantTypes[ext] {
			t.Errorf("%s Content-Type = %q, want %q", ref, got, wantTypes[ext])
		}
		if got := a.Headers["Cache-Control"]; got != "public, max-age=31536000, immutable" {
			t.Errorf("%s Cache-Control = %q, want a year, immutable", ref, got)
		}
		if a.Headers["ETag"] == "" || a.Body == "" {
			t.Errorf("%s: no ETag or an empty body", ref)
		}
	}
	if !seen[".js"] || !seen[".css"] {
		t.Errorf("the page names %v; want its script and its style sheet", refs)
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	s := mustSite(t)
	paths := []string{"/admin", "/admin/nope.js", "/admin/console.js", "/elsewhere"}
	for _, n := range s.AssetNames() {
		paths = append(paths, "/admin/"+n)
	}
	for _, p := range paths {
		resp := get(t, s, p)
		csp := resp.Headers["Content-Security-Policy"]
		for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
			"img-src 'self' data:", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("GET %s: CSP %q lacks %s", p, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-") {
			t.Errorf("GET %s: CSP allows %q", p, csp)
		}
		if resp.Headers["X-Content-Type-Options"] != "nosniff" || resp.Headers["Referrer-Policy"] != "no-referrer" {
			t.Errorf("GET %s: headers %v", p, resp.Headers)
		}
	}
}

func TestUnknownPathsAre404(t *testing.T) {
	t.Parallel()
	s := mustSite(t)
	for _, p := range []string{
		"/admin/nope.js",
		"/admin/console.js", // only the hashed name is served
		"/admin/index.html", // the page is /admin
		"/admin/../go.mod",  // no file system behind it
		"/admin/static/console.js",
		"/admin/",
		"/administrator",
	} {
		resp := get(t, s, p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
		if resp.Headers["Cache-Control"] != "no-store" || !strings.HasPrefix(resp.Headers["Content-Type"], "text/plain") {
			t.Errorf("GET %s: 404 headers %v", p, resp.Headers)
		}
	}
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/admin"}
	ev.RequestContext.HTTP.Method = http.MethodPost
	resp, err := s.Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed || resp.Headers["Allow"] != "GET, HEAD" {
		t.Errorf("POST /admin: %d %v %v, want 405 with Allow", resp.StatusCode, resp.Headers, err)
	}
}

func TestETagRevalidation(t *testing.T) {
	t.Parallel()
	s := mustSite(t)
	first := get(t, s, "/admin")
	etag := first.Headers["ETag"]
	if !regexp.MustCompile(`^"[0-9a-f]{16}"$`).MatchString(etag) {
		t.Fatalf("ETag %q", etag)
	}
	again := get(t, s, "/admin", "if-none-match", etag)
	if again.StatusCode != http.StatusNotModified || again.Body != "" || again.Headers["ETag"] != etag {
		t.Errorf("revalidation: %d, body %d bytes, ETag %q; want 304, empty, the same ETag", again.StatusCode, len(again.Body), again.Headers["ETag"])
	}
	if weak := get(t, s, "/admin", "if-none-match", `"other", W/`+etag); weak.StatusCode != http.StatusNotModified {
		t.Errorf("a list with the weak ETag: %d, want 304", weak.StatusCode)
	}
	if other := get(t, s, "/admin", "if-none-match", `"0000000000000000"`); other.StatusCode != http.StatusOK {
		t.Errorf("another ETag: %d, want 200", other.StatusCode)
	}
}

// TestNoInlineScriptOrStyle holds the page to its CSP: no inline script,
// event-handler attribute, javascript: URL, style element or attribute.
func TestNoInlineScriptOrStyle(t *testing.T) {
	t.Parallel()
	body := get(t, mustSite(t), "/admin").Body
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?is)<script\b[^>]*>\s*[^<\s]`), // a script element with content
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)javascript:`),
		regexp.MustCompile(`(?i)<style\b`),
		regexp.MustCompile(`(?i)\sstyle\s*=`),
	} {
		if m := re.FindString(body); m != "" {
			t.Errorf("the page has %q (%s)", m, re)
		}
	}
	if n := strings.Count(body, "<script"); n != 1 || !regexp.MustCompile(`<script src="/admin/console\.[0-9a-f]{10}\.js" defer></script>`).MatchString(body) {
		t.Errorf("the page has %d script elements; want exactly the external, deferred console script", n)
	}
}

// TestCurrenciesReachThePage checks the exponents the script reads are the
// ledger's own (JPY 0, USD 2, BHD 3), escaped into one attribute.
func TestCurrenciesReachThePage(t *testing.T) {
	t.Parallel()
	body := get(t, mustSite(t), "/admin").Body
	m := regexp.MustCompile(`data-currencies="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no data-currencies attribute")
	}
	var got map[string]int
	if err := json.Unmarshal([]byte(strings.ReplaceAll(m[1], "&#34;", `"`)), &got); err != nil {
		t.Fatalf("data-currencies is not the escaped JSON table: %v", err)
	}
	for c, e := range map[string]int{"JPY": 0, "USD": 2, "BHD": 3, "CLF": 4} {
		if got[c] != e {
			t.Errorf("%s exponent = %d, want %d", c, got[c], e)
		}
	}
	if len(got) != len(money.Exponents()) {
		t.Errorf("%d currencies on the page, the ledger knows %d", len(got), len(money.Exponents()))
	}
}

// TestGoldenEvent serves events/admin-page.json, the event `make invoke
// FN=AdminFunction` sends.
func TestGoldenEvent(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../events/admin-page.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	resp, err := mustSite(t).Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "<title>giftcredit admin</title>") {
		t.Errorf("events/admin-page.json: %d, %v", resp.StatusCode, err)
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/admin"}
	ev.RequestContext.HTTP.Method = http.MethodHead
	resp, err := mustSite(t).Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Body != "" || resp.Headers["Content-Length"] == "0" {
		t.Errorf("HEAD /admin: %d, %d bytes, %v", resp.StatusCode, len(resp.Body), resp.Headers)
	}
}
