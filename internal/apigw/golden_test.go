package apigw

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden/routes.txt from this build")

// goldenFile holds the responses of goldenScript as they were before the
// ledger's rules moved into the domain's planners: any refactor must keep
// them byte for byte (ids, codes, times and request ids, which are random
// or counted in production, are replaced by placeholders in order of first
// appearance).
const goldenFile = "testdata/golden/routes.txt"

// TestGoldenResponses runs a fixed script through every route, with a
// deterministic source for ids and codes, and compares each status and
// body with the golden file.
func TestGoldenResponses(t *testing.T) {
	e := newEnv(t, withRand(rand.NewChaCha8([32]byte{'g', 'o', 'l', 'd', 'e', 'n'})))
	var out strings.Builder
	step := func(name string, who caller, event string, adj ...adjust) response {
		t.Helper()
		r := e.do(t, who, e.event(t, event, adj...))
		fmt.Fprintf(&out, "%s\n%d %s\n\n", name, r.StatusCode, r.Body)
		return r
	}
	idem := func(k string) adjust { return withIdem("golden-" + k) }

	cus := decodeAs[struct{ ID string }](t, step("create customer", adminKey, "customers-create.json", idem("c1"),
		withPatch(map[string]any{"email": "golden.buyer@example.test", "name": "Golden Buyer"})))
	step("create the same customer again", adminKey, "customers-create.json", idem("c2"),
		withPatch(map[string]any{"email": "Golden.Buyer@example.test", "name": "Other"}))
	step("find by email", shopKey, "customers-find.json", withQuery("email", "golden.buyer@example.test"))
	onCus := withPath("id", cus.ID)
	credit := decodeAs[struct{ ID string }](t, step("credit 25.00", adminKey, "credits-credit.json", onCus, idem("k1"),
		withPatch(map[string]any{"amount": 2500, "currency": "USD", "paymentType": "cash", "reference": "golden"})))
	step("credit in an unknown currency", adminKey, "credits-credit.json", onCus, idem("k2"), withPatch(map[string]any{"currency": "XXX"}))
	step("credit a missing customer", adminKey, "credits-credit.json", withPath("id", "cus_01m6b5cjm0ytqbq220va9wdt9y"), idem("k3"))
	step("apply 10.00", shopKey, "creditapplications-apply.json", onCus, idem("a1"),
		withPatch(map[string]any{"orderRef": "web-1", "amountDue": 1000, "currency": "USD"}))
	step("apply to the same order ref", shopKey, "creditapplications-apply.json", onCus, idem("a2"),
		withPatch(map[string]any{"orderRef": "web-1", "amountDue": 1000, "currency": "USD"}))
	step("apply more than the balance", shopKey, "creditapplications-apply.json", onCus, idem("a3"),
		withPatch(map[string]any{"orderRef": "web-2", "amountDue": 99999, "currency": "USD"}))
	step("apply with nothing left", shopKey, "creditapplications-apply.json", onCus, idem("a4"),
		withPatch(map[string]any{"orderRef": "web-3", "amountDue": 500, "currency": "USD"}))
	step("apply in an unknown currency", shopKey, "creditapplications-apply.json", onCus, idem("a5"),
		withPatch(map[string]any{"orderRef": "web-4", "amountDue": 500, "currency": "ZZZ"}))
	step("reverse the credit after it was spent", adminKey, "credits-reverse.json", onCus, withPath("txId", credit.ID), idem("r0"))
	credit2 := decodeAs[struct{ ID string }](t, step("credit 30.00", adminKey, "credits-credit.json", onCus, idem("k4"),
		withPatch(map[string]any{"amount": 3000, "currency": "USD", "paymentType": "goodwill"})))
	step("reverse it", adminKey, "credits-reverse.json", onCus, withPath("txId", credit2.ID), idem("r1"))
	step("reverse it again", adminKey, "credits-reverse.json", onCus, withPath("txId", credit2.ID), idem("r2"))
	step("reverse a missing transaction", adminKey, "credits-reverse.json", onCus, withPath("txId", "txn_01m6b5cjm0ytqbq220va9wdt9y"), idem("r3"))

	order := decodeAs[struct {
		ID            string
		TransactionID string
		GiftCards     []struct{ ID, Code string }
	}](t, step("staff order for cash", adminKey, "orders-place.json", idem("o1"),
		withPatch(map[string]any{"billingEmail": "golden.staff@example.test", "giftCards": []map[string]any{{"amount": 5000}, {"amount": 1500, "recipientEmail": "golden.friend@example.test"}}})))
	step("reverse an order's transaction", adminKey, "credits-reverse.json", onCus, withPath("txId", order.TransactionID), idem("r4"))
	step("shop key order for cash", shopKey, "orders-place.json", idem("o2"))
	step("shop key order in an unknown currency", shopKey, "orders-place.json", idem("o3"), withPatch(map[string]any{"paymentMethod": "card", "currency": "QQQ"}))
	step("credit for the next order", adminKey, "credits-credit.json", onCus, idem("k5"),
		withPatch(map[string]any{"amount": 1200, "currency": "USD", "paymentType": "cash"}))
	step("order with credit", shopKey, "orders-place-with-credit.json", idem("o4"),
		withPatch(map[string]any{"customerId": cus.ID, "billingEmail": "golden.buyer@example.test"}))
	step("order for a missing customer", shopKey, "orders-place-with-credit.json", idem("o5"),
		withPatch(map[string]any{"customerId": "cus_01m6b5cjm0ytqbq220va9wdt9y"}))
	step("order read back", shopKey, "orders-get.json", withPath("id", order.ID))
	code := order.GiftCards[0].Code
	step("check the card", shopKey, "redemption-check.json", withPatch(map[string]any{"code": code}))
	step("redeem it", shopKey, "redemption-redeem.json", onCus, idem("d1"), withPatch(map[string]any{"code": code}))
	step("redeem it again", shopKey, "redemption-redeem.json", onCus, idem("d2"), withPatch(map[string]any{"code": code}))
	step("disable the redeemed card", adminKey, "redemption-disable.json", withPath("id", order.GiftCards[0].ID), idem("x1"))
	step("disable the other card", adminKey, "redemption-disable.json", withPath("id", order.GiftCards[1].ID), idem("x2"))
	step("disable it again", adminKey, "redemption-disable.json", withPath("id", order.GiftCards[1].ID), idem("x3"))
	step("redeem the disabled card", shopKey, "redemption-redeem.json", onCus, idem("d3"), withPatch(map[string]any{"code": order.GiftCards[1].Code}))
	step("customer", shopKey, "customers-get.json", onCus)
	step("history (admin)", adminKey, "customers-transactions.json", onCus)
	step("history (shop)", shopKey, "customers-transactions.json", onCus)
	promo := decodeAs[struct{ ID string }](t, step("create a promotion", adminKey, "promotions-create.json", idem("p1")))
	onPromo := withPath("id", promo.ID)
	step("pause it", adminKey, "promotions-pause.json", onPromo, idem("p2"))
	step("resume it", adminKey, "promotions-resume.json", onPromo, idem("p3"))
	step("read it", shopKey, "promotions-get.json", onPromo)
	step("list promotions", shopKey, "promotions-list.json")

	got := normalizeGolden(out.String())
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run with -update-golden on the reference build)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("responses differ from %s at line %d:\ngot:  %s\nwant: %s", goldenFile, i+1, g, w)
			}
		}
	}
}

// goldenVolatile matches what differs between runs of the same script:
// ids, codes, last4s, times and request ids. An id that names its funds
// (a spend's, a hold's) is one placeholder, as it was one id before ids
// named their funds.
var goldenVolatile = regexp.MustCompile(`\b(?:txn|hld)_[0-9a-z]{26}_(?:cus_[0-9a-z]{26}|gc_[0-9a-f]{32})\b|\b(?:cus|txn|ord|msg|pro|run|key|shp)_[0-9a-z]{26}\b|\bgc_[0-9a-f]{32}\b|\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]\b|"last4":"[0-9A-Z]{4}"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z|req-[0-9a-f]+-\d+`)

func normalizeGolden(s string) string {
	seen := map[string]string{}
	return goldenVolatile.ReplaceAllStringFunc(s, func(m string) string {
		if p, ok := seen[m]; ok {
			return p
		}
		p := fmt.Sprintf("<%d>", len(seen)+1)
		seen[m] = p
		return p
	})
}
