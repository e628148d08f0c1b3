package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumNames are the browser executables the console test looks for, in
// order; CHROMIUM names another. .ci/run installs Debian's chromium.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome"}

func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	// Failing rather than skipping, as for the SES stand-in: a skipped
	// browser test would hide a broken setup.
	t.Fatalf("no Chromium (%s) on PATH: install it (apt-get install -y chromium; .ci/run does) or set CHROMIUM", strings.Join(chromiumNames, ", "))
	return ""
}

// browser is one headless Chromium tab on the admin console, with what the
// page reported that a test must not ignore: uncaught exceptions and
// Content-Security-Policy violations.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string // screenshots

	mu       sync.Mutex
	problems []string
	clicks   int
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findChromium(t)),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "en-US"),
	)
	if os.Geteuid() == 0 {
		// Chromium's sandbox refuses to run as root (CI runs as root).
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, dir: t.ArtifactDir()}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.problem(fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		case *cdplog.EventEntryAdded:
			if strings.Contains(ev.Entry.Text, "Content Security Policy") {
				b.problem("CSP violation: " + ev.Entry.Text)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == "error" {
				b.problem("console.error")
			}
		}
	}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("Log.enable: %v", err)
	}
	return b
}

func (b *browser) problem(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

func (b *browser) checkProblems(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("the page reported %s", p)
	}
	b.problems = nil
}

// do runs actions within a deadline (the browser itself lives on).
func (b *browser) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// click clicks a button as a user does, and counts it.
func (b *browser) click(t *testing.T, id string) {
	t.Helper()
	b.do(t, chromedp.WaitVisible(chromedp.ID(id)), chromedp.Click(chromedp.ID(id)))
	b.mu.Lock()
	b.clicks++
	b.mu.Unlock()
}

func (b *browser) countClicks() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.clicks
	b.clicks = 0
	return n
}

// fill sets form fields by id (typing, which is not clicking).
func (b *browser) fill(t *testing.T, idValue ...string) {
	t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(idValue); i += 2 {
		steps = append(steps, chromedp.SetValue(chromedp.ID(idValue[i]), idValue[i+1]))
	}
	b.do(t, steps...)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text returns an element's text, once it is visible.
func (b *browser) text(t *testing.T, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID(id))); err != nil {
		t.Fatalf("#%s never became visible: %v (page errors: %s)", id, err, b.visibleErrors(t))
	}
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return s
}

// visibleErrors is the text of the page's shown error messages, for
// failure messages.
func (b *browser) visibleErrors(t *testing.T) string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll('.error:not([hidden])')).map(e => '#' + e.id + ': ' + e.textContent).join(' | ')`))
	return s
}

// waitText waits until the element's text contains want.
func (b *browser) waitText(t *testing.T, id, want string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := eval[string](t, b, fmt.Sprintf(`(function(){const e=document.getElementById(%q); return e && !e.closest('[hidden]') ? e.textContent : ''})()`, id))
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("#%s says %q, want it to contain %q (errors shown: %s)", id, got, want, b.visibleErrors(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// screenshot saves the whole page as <name>.png in the test's artifact
// directory (kept with go test -artifacts, under -outputdir).
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// problemDetail is what the API itself answers a request with: the page
// must show exactly this detail.
func (h *harness) problemDetail(t *testing.T, wantStatus int, method, path, key string, body any) string {
	t.Helper()
	status, b := h.call(t, method, path, key, body)
	var p struct {
		Detail string `json:"detail"`
	}
	if status != wantStatus || json.Unmarshal(b, &p) != nil || p.Detail == "" {
		t.Fatalf("%s %s: %d %s, want a %d problem with a detail", method, path, status, b, wantStatus)
	}
	return p.Detail
}

// TestConsole drives the admin console in a real browser (one headless
// Chromium for every step) against the whole local stack: sign-in, both
// seed workflows end to end with their clicks counted, failures showing the
// API's problem detail, JPY and BHD amounts round-tripping, paging, a
// card disabled, a promotion, the report screen, and a screenshot of each
// main screen.
func TestConsole(t *testing.T) {
	h := startStack(t)
	shop := h.info.Shops[0]
	b := startBrowser(t)
	t.Cleanup(func() { b.checkProblems(t) })

	// ?pageSize=3 makes the history page after three transactions.
	b.do(t, chromedp.Navigate(h.info.APIURL+"/admin?pageSize=3"), chromedp.WaitVisible(chromedp.ID("login-key")))
	loadTimes := `(function(){ const n = performance.getEntriesByType('navigation')[0];
		const r = performance.getEntriesByType('resource');
		return Math.round(n.domContentLoadedEventEnd) + ' ms to DOMContentLoaded, ' + (r.length + 1) + ' requests, ' +
			(n.transferSize + r.reduce((a, e) => a + e.transferSize, 0)) + ' bytes over the network' })()`
	t.Logf("first load (cold function): %s", eval[string](t, b, loadTimes))
	b.do(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("login-key")))
	t.Logf("reload (304 page, cached assets): %s", eval[string](t, b, loadTimes))
	b.screenshot(t, "01-sign-in")

	var customerID string
	custPath := func(rest string) string { return "/v1/customers/" + customerID + rest }
	balance := func(t *testing.T, cur string) int64 {
		var c customer
		h.mustCall(t, http.StatusOK, "GET", custPath(""), shop.AdminKey, nil, &c)
		return c.balance(cur)
	}

	t.Run("amounts are parsed exactly, in the page's own code", func(t *testing.T) {
		for _, c := range []struct{ typed, currency, want string }{
			{"10.5", "USD", "1050"},
			{"10.50", "USD", "1050"},
			{"0.01", "USD", "1"},
			{"1500", "JPY", "1500"},
			{"1500.0", "JPY", "1500"}, // trailing zeros beyond the exponent are harmless
			{"1.234", "BHD", "1234"},
			{"0.1", "BHD", "100"},
			{"12.3456", "CLF", "123456"},
			{"90071992547409.93", "USD", "9007199254740993"}, // 2^53 + 1: exact, no float
			{"1.2345", "BHD", "error"},
			{"15.5", "JPY", "error"},
			{"1,000", "USD", "error"},
			{"-5", "USD", "error"},
			{"1e3", "USD", "error"},
			{"0.00", "USD", "error"},
			{"", "USD", "error"},
			{"10", "XXX", "error"},
		} {
			got := eval[string](t, b, fmt.Sprintf(`(function(){ try { return giftcreditConsole.parseAmount(%q, %q, 'Amount').toString() } catch (e) { return 'error' } })()`, c.typed, c.currency))
			if got != c.want {
				t.Errorf("parseAmount(%q, %s) = %s, want %s", c.typed, c.currency, got, c.want)
			}
		}
		if got := eval[string](t, b, `giftcreditConsole.toJSON({amount: 9007199254740993n, currency: "USD"})`); got != `{"amount":9007199254740993,"currency":"USD"}` {
			t.Errorf("a BigInt amount is sent as %s", got)
		}
		for expr, want := range map[string]string{
			`giftcreditConsole.formatAmount(123456789, "USD")`: "USD 1,234,567.89",
			`giftcreditConsole.formatAmount(5, "BHD")`:         "BHD 0.005",
			`giftcreditConsole.formatAmount(1500, "JPY")`:      "JPY 1,500",
			`giftcreditConsole.formatAmount(-250, "EUR")`:      "−EUR 2.50",
		} {
			if got := eval[string](t, b, expr); got != want {
				t.Errorf("%s = %q, want %q", expr, got, want)
			}
		}
	})

	t.Run("a shop key is refused with the API's problem detail", func(t *testing.T) {
		want := h.problemDetail(t, http.StatusForbidden, "GET", "/v1/promotions?limit=1", shop.ShopKey, nil)
		b.fill(t, "login-key", shop.ShopKey)
		b.click(t, "login-submit")
		b.waitText(t, "login-error", want)
		if got := eval[string](t, b, `sessionStorage.getItem('giftcredit.adminKey') || ''`); got != "" {
			t.Errorf("a refused key was kept in sessionStorage")
		}
	})

	t.Run("the admin key opens the console and stays in sessionStorage only", func(t *testing.T) {
		b.fill(t, "login-key", shop.AdminKey)
		b.click(t, "login-submit")
		b.do(t, chromedp.WaitVisible(chromedp.ID("find-email")))
		if got := eval[string](t, b, `sessionStorage.getItem('giftcredit.adminKey')`); got != shop.AdminKey {
			t.Errorf("sessionStorage holds %q", got)
		}
		if got := eval[string](t, b, `JSON.stringify(Object.assign({}, localStorage)) + document.cookie`); got != "{}" {
			t.Errorf("localStorage and cookies hold %q, want nothing", got)
		}
		b.screenshot(t, "02-customers")
	})

	t.Run("seed 003: find or create the customer, credit with amount, payment type and reference", func(t *testing.T) {
		email := "dana.whitfield@example.test"
		b.fill(t, "find-email", email)
		b.click(t, "find-submit")
		b.do(t, chromedp.WaitVisible(chromedp.ID("create-form")))
		b.fill(t, "create-name", "Dana Whitfield")
		b.click(t, "create-submit")
		b.waitText(t, "customer-name", "Dana Whitfield")
		customerID = b.text(t, "customer-id")
		var found customer
		h.mustCall(t, http.StatusOK, "GET", "/v1/customers?email="+email, shop.AdminKey, nil, &found)
		if found.ID != customerID {
			t.Fatalf("the page opened %s; the API has %s for %s", customerID, found.ID, email)
		}
		b.countClicks()

		// The customer is open: the seed's workflow starts here.
		b.fill(t, "credit-amount", "25.50", "credit-currency", "USD", "credit-payment", "other", "credit-reference", "Goodwill: late delivery")
		b.click(t, "credit-submit")
		b.waitText(t, "credit-confirm-text", "USD 25.50")
		b.click(t, "credit-confirm-yes")
		b.waitText(t, "credit-ok", "Credited USD 25.50")
		clicks := b.countClicks()
		t.Logf("seed 003 (credit the open customer): %d clicks", clicks)
		if clicks > 3 {
			t.Errorf("seed 003 took %d clicks, want at most 3", clicks)
		}
		b.waitText(t, "balances", "USD 25.50")
		if got := balance(t, "USD"); got != 2550 {
			t.Errorf("the API says USD balance %d, want 2550 minor units", got)
		}
		b.waitText(t, "history", "Goodwill: late delivery")
		if lotsErr := eval[string](t, b, `document.getElementById('lots-error').hidden ? '' : document.getElementById('lots-error').textContent`); strings.Contains(lotsErr, "from API Gateway") {
			t.Logf("lots: %s (GET /v1/customers/{id}/lots not on this stack yet?)", lotsErr)
		} else {
			// The credit is a lot with all of it left.
			b.waitText(t, "lots", "credit")
			b.waitText(t, "lots", "USD 25.50USD 25.50")
		}
		b.screenshot(t, "03-customer")
	})

	t.Run("seed 000: sell a gift card paid cash, show its code once, redeem it onto the customer", func(t *testing.T) {
		b.countClicks()
		b.click(t, "nav-sell")
		b.fill(t, "sell-amount", "50", "sell-currency", "USD", "sell-payment", "cash",
			"sell-billing-name", "Corner Books front desk", "sell-billing-email", "desk@corner-books.test")
		b.click(t, "sell-submit")
		code := b.text(t, "sell-code")
		if !codeRE.MatchString(code) {
			t.Fatalf("the page shows %q, not a gift-card code", code)
		}
		h.remember(code)
		b.waitText(t, "sell-summary", "paid by cash")
		b.screenshot(t, "04-sell")
		stored := eval[string](t, b, `JSON.stringify(Object.assign({}, sessionStorage)) + JSON.stringify(Object.assign({}, localStorage)) + document.cookie + location.href`)
		if strings.Contains(stored, code) || strings.Contains(stored, strings.ReplaceAll(code, "-", "")) {
			t.Errorf("the code is stored by the page: %s", stored)
		}
		b.waitText(t, "sell-redeem", "Redeem onto Dana Whitfield")
		b.click(t, "sell-redeem")
		b.waitText(t, "redeem-ok", "Redeemed USD 50.00")
		clicks := b.countClicks()
		t.Logf("seed 000 (gift card sold and redeemed onto the open customer): %d clicks", clicks)
		if clicks > 3 {
			t.Errorf("seed 000 took %d clicks, want at most 3", clicks)
		}
		b.waitText(t, "balances", "USD 75.50")
		if got := balance(t, "USD"); got != 7550 {
			t.Errorf("the API says USD balance %d, want 7550", got)
		}
		if eval[bool](t, b, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q)`, code)) {
			t.Error("the code is still in the page after it was redeemed")
		}
		// The order was paid cash by the staff's billing details, as the seed has it.
		var hist struct{ Transactions []transaction }
		h.mustCall(t, http.StatusOK, "GET", custPath("/transactions"), shop.AdminKey, nil, &hist)
		if len(hist.Transactions) == 0 || hist.Transactions[0].Kind != "redemption" {
			t.Errorf("newest transaction %+v, want the redemption", hist.Transactions)
		}
	})

	t.Run("JPY and BHD amounts round-trip in major units", func(t *testing.T) {
		for _, c := range []struct {
			typed, currency string
			minor           int64
			shown           string
		}{
			{"1500", "JPY", 1500, "JPY 1,500"},
			{"1.234", "BHD", 1234, "BHD 1.234"},
		} {
			b.fill(t, "credit-amount", c.typed, "credit-currency", c.currency, "credit-reference", "exponent "+c.currency)
			b.click(t, "credit-submit")
			b.waitText(t, "credit-confirm-text", c.shown)
			b.click(t, "credit-confirm-yes")
			b.waitText(t, "credit-ok", "Credited "+c.shown)
			if got := balance(t, c.currency); got != c.minor {
				t.Errorf("typed %s %s: the API holds %d minor units, want %d", c.typed, c.currency, got, c.minor)
			}
			b.waitText(t, "balances", c.shown)
		}
		// Too many decimals for BHD is refused before any request.
		b.fill(t, "credit-amount", "1.2345", "credit-currency", "BHD")
		b.click(t, "credit-submit")
		b.waitText(t, "credit-error", "BHD has 3 decimal places")
		if got := balance(t, "BHD"); got != 1234 {
			t.Errorf("BHD balance %d after a refused input, want 1234", got)
		}
	})

	t.Run("history pages through the API's cursor", func(t *testing.T) {
		// credit, redemption, JPY credit, BHD credit: two pages of three.
		rows := eval[int](t, b, `document.querySelectorAll('#history tbody tr').length`)
		if rows != 3 {
			t.Errorf("first page has %d rows, want 3", rows)
		}
		b.click(t, "history-more")
		b.waitText(t, "history", "Goodwill: late delivery")
		if rows := eval[int](t, b, `document.querySelectorAll('#history tbody tr').length`); rows != 4 {
			t.Errorf("after Older: %d rows, want 4", rows)
		}
	})

	t.Run("an expiring credit: the lots table lists it first with its UTC expiry day, the balance its next expiry", func(t *testing.T) {
		// A browser east of UTC (Auckland: UTC+13 in December), where the
		// UTC end of the chosen day is already the next day locally.
		if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Pacific/Auckland"}); err != nil {
			t.Fatalf("timezone override: %v", err)
		}
		defer chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{})
		d := time.Now().UTC().AddDate(0, 0, 30)
		date := d.Format(time.DateOnly)
		expiresAt := date + "T23:59:59Z"
		if local := eval[int](t, b, fmt.Sprintf(`new Date(%q).getDate()`, expiresAt)); local == d.Day() {
			t.Fatalf("the browser's clock reads %s as day %d locally: the timezone override is not in effect", expiresAt, local)
		}
		shown := eval[string](t, b, fmt.Sprintf(`new Date(%q).toLocaleDateString(undefined, { dateStyle: 'medium', timeZone: 'UTC' })`, expiresAt))

		b.fill(t, "credit-amount", "10.00", "credit-currency", "USD", "credit-payment", "other", "credit-reference", "Expiring goodwill",
			"credit-expires", date)
		b.click(t, "credit-submit")
		b.waitText(t, "credit-confirm-text", "expiring "+shown)
		b.click(t, "credit-confirm-yes")
		b.waitText(t, "credit-ok", "Credited USD 10.00")
		if got := balance(t, "USD"); got != 8550 {
			t.Errorf("the API says USD balance %d, want 8550", got)
		}
		type apiLot struct {
			Currency  string `json:"currency"`
			Source    string `json:"source"`
			Remaining int64  `json:"remaining"`
			ExpiresAt string `json:"expiresAt"`
		}
		var lots struct {
			Lots []apiLot `json:"lots"`
		}
		h.mustCall(t, http.StatusOK, "GET", custPath("/lots"), shop.AdminKey, nil, &lots)
		// By currency, then in spending order: the expiring lot is the first
		// of the USD lots.
		first := slices.IndexFunc(lots.Lots, func(l apiLot) bool { return l.Currency == "USD" })
		if first < 0 || lots.Lots[first].Source != "credit" || lots.Lots[first].Remaining != 1000 || lots.Lots[first].ExpiresAt != expiresAt {
			t.Fatalf("the API lists lots %+v, want the 10.00 USD credit expiring %s first of the USD lots", lots.Lots, expiresAt)
		}
		// The table shows the API's lots in the API's order, pageSize (3)
		// at a time: "More lots" brings the rest.
		row := func(i int) []string {
			return eval[[]string](t, b, fmt.Sprintf(`Array.from(document.querySelectorAll('#lots tbody tr')[%d].cells, (c) => c.textContent)`, i))
		}
		rows := func() int { return eval[int](t, b, `document.querySelectorAll('#lots tbody tr').length`) }
		b.waitText(t, "lots", shown)
		for page := 1; eval[bool](t, b, `!document.getElementById('lots-more').hidden`); page++ {
			if page > 3 {
				t.Fatal("More lots still offered after 3 pages")
			}
			before := rows()
			b.click(t, "lots-more")
			for deadline := time.Now().Add(10 * time.Second); rows() == before; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("More lots added no row to the %d shown", before)
				}
			}
		}
		if n := rows(); n != len(lots.Lots) {
			t.Fatalf("the table has %d lot rows, the API %d lots", n, len(lots.Lots))
		}
		if got := row(first); len(got) != 5 || got[0] != "credit" || got[1] != "USD 10.00" || got[2] != "USD 10.00" || got[3] != shown {
			t.Errorf("lot row %d %q, want credit, USD 10.00, USD 10.00, %s", first, got, shown)
		}
		if got := eval[string](t, b, fmt.Sprintf(`document.querySelectorAll('#lots tbody tr')[%d].cells[3].title`, first)); got != expiresAt {
			t.Errorf("the expiry cell's title is %q, want the instant %s", got, expiresAt)
		}
		for i, l := range lots.Lots {
			if i == first {
				continue
			}
			if got := row(i); len(got) != 5 || got[3] != "never" || !strings.HasPrefix(got[2], l.Currency+" ") {
				t.Errorf("lot row %d %q, want a %s lot that never expires", i, got, l.Currency)
			}
		}
		// The balance shows what can be spent now and what expires next.
		usd := func() []string {
			return eval[[]string](t, b, `Array.from(document.querySelector('#balances tr[data-currency="USD"]').cells, (c) => c.textContent)`)
		}
		b.waitText(t, "balances", "USD 85.50")
		if got := usd(); len(got) != 4 || got[1] != "USD 85.50" || got[3] != "USD 10.00 on "+shown {
			t.Errorf("USD balance row %q, want USD 85.50 and next expiry USD 10.00 on %s", got, shown)
		}
		b.screenshot(t, "03b-customer-expiring-credit")
	})

	t.Run("a disabled card: disabling works, redeeming it then shows the API's problem detail", func(t *testing.T) {
		b.click(t, "nav-sell")
		b.fill(t, "sell-amount", "20", "sell-currency", "USD", "sell-payment", "check")
		b.click(t, "sell-submit")
		code := b.text(t, "sell-code")
		h.remember(code)
		summary := b.text(t, "sell-summary")
		cardID := regexp.MustCompile(`gc_[0-9a-f]{32}`).FindString(summary)
		orderID := regexp.MustCompile(`ord_[0-9a-z]{26}`).FindString(summary)
		if cardID == "" || orderID == "" {
			t.Fatalf("no card or order id in %q", summary)
		}
		b.click(t, "sell-done")
		if eval[bool](t, b, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q)`, code)) {
			t.Error("the code is still in the page after Done")
		}
		// A lost card is found by its order and disabled from there.
		b.click(t, "nav-cards")
		b.fill(t, "order-id", orderID)
		b.click(t, "order-submit")
		b.waitText(t, "order-cards", cardID)
		b.do(t, chromedp.Click(chromedp.CSS("#order-cards button")))
		b.waitText(t, "disable-confirm-text", cardID)
		b.click(t, "disable-confirm-yes")
		b.waitText(t, "disable-ok", "is disabled")
		var card struct{ Status string }
		if status, body := h.call(t, "POST", "/v1/gift-cards/"+cardID+"/disable", shop.AdminKey, nil); status != http.StatusOK || json.Unmarshal(body, &card) != nil || card.Status != "disabled" {
			t.Errorf("the API says %d %s for the card, want it disabled", status, body)
		}
		b.screenshot(t, "05-gift-cards")

		b.click(t, "nav-customers")
		b.fill(t, "redeem-code", code)
		b.click(t, "redeem-submit")
		want := h.problemDetail(t, http.StatusConflict, "POST", custPath("/redemptions"), shop.AdminKey, map[string]string{"code": code})
		b.waitText(t, "redeem-error", want)
		b.waitText(t, "redeem-error", "409")
	})

	t.Run("promotions: create one and see it listed", func(t *testing.T) {
		b.click(t, "nav-promotions")
		b.fill(t, "promo-name", "Buy 50, get 10", "promo-currency", "USD", "promo-min", "50", "promo-credit", "10")
		b.click(t, "promo-submit")
		b.waitText(t, "promo-ok", "Created")
		b.waitText(t, "promo-table", "USD 50.00 per order earns USD 10.00")
		var page struct {
			Promotions []struct{ Name string }
		}
		h.mustCall(t, http.StatusOK, "GET", "/v1/promotions", shop.AdminKey, nil, &page)
		if len(page.Promotions) != 1 || page.Promotions[0].Name != "Buy 50, get 10" {
			t.Errorf("the API lists %+v", page.Promotions)
		}
		b.screenshot(t, "06-promotions")
	})

	t.Run("the liability report screen shows the report or the API's problem", func(t *testing.T) {
		b.click(t, "nav-report")
		b.fill(t, "report-currency", "USD")
		b.click(t, "report-submit")
		deadline := time.Now().Add(15 * time.Second)
		for !eval[bool](t, b, `!document.getElementById('report-result').hidden || !document.getElementById('report-error').hidden`) {
			if time.Now().After(deadline) {
				t.Fatal("neither a report nor a problem after Show")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if msg := eval[string](t, b, `document.getElementById('report-error').hidden ? '' : document.getElementById('report-error').textContent`); msg != "" {
			t.Logf("report: the API answered %q (GET /v1/reports/liability not on this stack yet?)", msg)
		} else {
			// The figures are the API's, in major units, and the chart is drawn.
			from, to := eval[string](t, b, `document.getElementById('report-from').value`), eval[string](t, b, `document.getElementById('report-to').value`)
			var r struct {
				Credit struct{ Closing int64 } `json:"credit"`
			}
			h.mustCall(t, http.StatusOK, "GET", "/v1/reports/liability?currency=USD&from="+from+"&to="+to, shop.AdminKey, nil, &r)
			b.waitText(t, "report-credit", fmt.Sprintf("ClosingUSD %d.%02d", r.Credit.Closing/100, r.Credit.Closing%100))
			if n := eval[int](t, b, `document.querySelectorAll('#report-chart polyline').length`); n != 2 {
				t.Errorf("the chart has %d lines, want 2", n)
			}
			b.waitText(t, "report-csv", "Download CSV")
		}
		b.screenshot(t, "07-report")
	})

	t.Run("the report chart is drawn from the CSV's closing columns", func(t *testing.T) {
		// The chart code alone, on a CSV of the report's columns: two
		// lines of one point per day, the highest point at the top.
		csv := "day,currency,giftCards.opening,giftCards.issued,giftCards.redeemed,giftCards.spent,giftCards.refunded,giftCards.closing,giftCards.outstandingCount," +
			"credit.opening,credit.granted.redemption,credit.granted.credit,credit.granted.promotion,credit.granted.refund,credit.spent,credit.expired,credit.reversed,credit.closing,closed\r\n" +
			"2026-12-01,USD,0,5000,0,0,0,5000,1,0,0,2550,0,0,0,0,0,2550,true\r\n" +
			"2026-12-02,USD,5000,2000,5000,0,0,2000,1,2550,5000,0,0,0,0,0,0,7550,true\r\n" +
			"2026-12-03,USD,2000,0,0,0,0,2000,1,7550,0,0,0,0,1000,0,0,6550,false\r\n"
		got := eval[string](t, b, `(function(){
			const box = document.getElementById('report-chart');
			giftcreditConsole.drawChart(giftcreditConsole.parseCSV(`+strconv.Quote(csv)+`), 'USD');
			const lines = box.querySelectorAll('polyline');
			const out = Array.from(lines, l => l.getAttribute('class') + ':' + l.getAttribute('points').split(' ').length);
			const ys = Array.from(box.querySelectorAll('circle.dot-credit'), c => Number(c.getAttribute('cy')));
			out.push('top:' + (ys.indexOf(Math.min(...ys)) === 1));
			out.push(box.querySelector('svg title').textContent);
			document.getElementById('report-result').hidden = false;
			return out.join(' ');
		})()`)
		want := "line-cards:3 line-credit:3 top:true Closing gift-card and credit liability per day in USD"
		if got != want {
			t.Errorf("chart: %q, want %q", got, want)
		}
		b.screenshot(t, "08-report-chart-of-a-test-csv")
		eval[bool](t, b, `(document.getElementById('report-chart').replaceChildren(), document.getElementById('report-result').hidden = true)`)
	})

	t.Run("sign out forgets the key", func(t *testing.T) {
		b.click(t, "sign-out")
		b.do(t, chromedp.WaitVisible(chromedp.ID("login-key")))
		if got := eval[string](t, b, `JSON.stringify(Object.assign({}, sessionStorage))`); got != "{}" {
			t.Errorf("after sign-out sessionStorage holds %s", got)
		}
	})

	b.checkProblems(t)
	if t.Failed() {
		t.Logf("screenshots in %s (kept with go test -artifacts -outputdir DIR)", b.dir)
	}
}
