package apigw

import (
	"net/http"
	"strings"
	"testing"
)

// TestLiabilityReportRoute: the report for today folds the open day (a
// credit and an order of a card), as JSON and, with Accept: text/csv, as
// CSV with the same figures; bad ranges and currencies are 400 naming
// the field; a shop key is 403.
func TestLiabilityReportRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cus := e.mustCustomer(t, "reader")
	e.mustCredit(t, e.admin, cus.ID, 2500)
	today := e.clock.Now().Format("2006-01-02")
	q := func(from, to, cur string) []adjust {
		return []adjust{withQuery("from", from), withQuery("to", to), withQuery("currency", cur)}
	}
	r := e.do(t, adminKey, e.event(t, "reports-liability.json", q("2026-10-01", today, "USD")...))
	if r.StatusCode != http.StatusOK || r.Headers["Content-Type"] != "application/json" {
		t.Fatalf("report: %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
	want := `{"currency":"USD","from":"2026-10-01","to":"` + today + `","giftCards":{"opening":0,"issued":0,"redeemed":0,"spent":0,"refunded":0,"closing":0,"outstandingCount":0},` +
		`"credit":{"opening":0,"granted":{"redemption":0,"credit":2500,"promotion":0,"refund":0},"spent":0,"expired":0,"reversed":0,"closing":2500}}`
	if r.Body != want {
		t.Errorf("report body\n%s\nwant\n%s", r.Body, want)
	}
	r = e.do(t, adminKey, e.event(t, "reports-liability-csv.json", q(today, today, "USD")...))
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Headers["Content-Type"], "text/csv") ||
		!strings.Contains(r.Headers["Content-Disposition"], "liability-USD-") {
		t.Fatalf("CSV: %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
	lines := strings.Split(strings.TrimSuffix(r.Body, "\r\n"), "\r\n")
	if len(lines) != 2 || lines[1] != today+",USD,0,0,0,0,0,0,0,0,0,2500,0,0,0,0,0,2500,false" {
		t.Errorf("CSV rows %q", lines)
	}
	for _, c := range []struct {
		name      string
		adj       []adjust
		wantField string
	}{
		{"from missing", q("", today, "USD"), "from"},
		{"from not a date", q("10/01/2026", today, "USD"), "from"},
		{"to before from", q(today, "2026-10-01", "USD"), "to"},
		{"more than 366 days", q("2025-01-01", today, "USD"), "to"},
		{"to in the future", q(today, "2030-01-01", "USD"), "to"},
		{"unknown currency", q("2026-10-01", today, "ABC"), "currency"},
		{"no currency", q(today, today, ""), "currency"},
	} {
		r := e.do(t, adminKey, e.event(t, "reports-liability.json", c.adj...))
		if r.StatusCode != http.StatusBadRequest || r.Headers["Content-Type"] != "application/problem+json" {
			t.Errorf("%s: %d %s", c.name, r.StatusCode, r.Body)
			continue
		}
		if p := r.problem(t); p.Field != c.wantField {
			t.Errorf("%s: field %q, want %q (%s)", c.name, p.Field, c.wantField, r.Body)
		}
	}
	if r := e.do(t, shopKey, e.event(t, "reports-liability.json", q(today, today, "USD")...)); r.StatusCode != http.StatusForbidden {
		t.Errorf("shop key: %d %s", r.StatusCode, r.Body)
	}
	// Another shop's admin sees its own (empty) ledger.
	r = e.do(t, otherKey, e.event(t, "reports-liability.json", q(today, today, "USD")...))
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"closing":0}}`) {
		t.Errorf("other shop: %d %s", r.StatusCode, r.Body)
	}
}

func TestWantsCSV(t *testing.T) {
	t.Parallel()
	for accept, want := range map[string]bool{
		"": false, "application/json": false, "text/csv": true, "text/csv; charset=utf-8": true, "*/*": false,
		"text/csv, application/json;q=0.5": true, "application/json, text/csv;q=0.9": false, "text/csv;q=0": false,
		"text/html, text/csv": true,
	} {
		if got := wantsCSV(accept); got != want {
			t.Errorf("wantsCSV(%q) = %v, want %v", accept, got, want)
		}
	}
}
