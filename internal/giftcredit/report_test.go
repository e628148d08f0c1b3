package giftcredit_test

import (
	"strings"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// post is a posting; after >= 0 records a balance after (card, customer
// and hold accounts).
func post(account, cur string, amount int64, after ...int64) gc.Posting {
	p := gc.Posting{Account: account, Currency: cur, Amount: amount}
	if len(after) > 0 {
		p.BalanceAfter, p.Version = ptr(after[0]), 2
	}
	return p
}

func txOf(kind gc.TxKind, funds string, ps ...gc.Posting) gc.Transaction {
	return gc.Transaction{ID: "txn_" + string(kind), Kind: kind, Funds: funds, Postings: ps, CreatedAt: at}
}

// TestFigureRulesCoverEveryKind holds figureRules to the kinds: a kind of
// transaction the fold does not know would stop every close.
func TestFigureRulesCoverEveryKind(t *testing.T) {
	t.Parallel()
	for _, k := range gc.KnownTxKinds {
		m := map[string]*gc.Movements{}
		if err := gc.FoldDay(m, txOf(k, "", post("sales", "USD", 1), post("funding:card", "USD", -1))); err != nil {
			t.Errorf("kind %s: %v", k, err)
		}
	}
	if err := gc.FoldDay(map[string]*gc.Movements{}, txOf("mystery", "", post("sales", "USD", 1), post("funding:card", "USD", -1))); err == nil {
		t.Error("an unknown kind folded without error")
	}
}

// TestFoldDay: each kind's postings, as its planner writes them, move
// exactly the figures the report names.
func TestFoldDay(t *testing.T) {
	t.Parallel()
	const usd = "USD"
	cases := []struct {
		name string
		tx   gc.Transaction
		want gc.Movements
	}{
		{"order issues cards and spends credit on goods", txOf(gc.TxOrder, "",
			post("customer:c1", usd, -300, 700), post("funding:card", usd, -4700), post("sales", usd, 1000),
			post("card:g1", usd, 2500, 2500), post("card:g2", usd, 1500, 1500)),
			gc.Movements{GiftCards: gc.GiftCardFigures{Issued: 4000}, Credit: gc.CreditFigures{Spent: 300}, OutstandingDelta: 2}},
		{"redemption moves a card onto credit", txOf(gc.TxRedemption, "", post("card:g1", usd, -2500, 0), post("customer:c1", usd, 2500, 2500)),
			gc.Movements{GiftCards: gc.GiftCardFigures{Redeemed: 2500}, Credit: gc.CreditFigures{Granted: gc.CreditGranted{Redemption: 2500}}, OutstandingDelta: -1}},
		{"direct credit", txOf(gc.TxCredit, "", post("funding:cash", usd, -900), post("customer:c1", usd, 900, 900)),
			gc.Movements{Credit: gc.CreditFigures{Granted: gc.CreditGranted{Credit: 900}}}},
		{"promotion grant", txOf(gc.TxPromotionGrant, "", post("promotion_expense", usd, -500), post("customer:c1", usd, 500, 500)),
			gc.Movements{Credit: gc.CreditFigures{Granted: gc.CreditGranted{Promotion: 500}}}},
		{"credit application", txOf(gc.TxCreditApplication, "", post("customer:c1", usd, -400, 100), post("sales", usd, 400)),
			gc.Movements{Credit: gc.CreditFigures{Spent: 400}}},
		{"reversal of a credit", txOf(gc.TxReversal, "", post("funding:cash", usd, 900), post("customer:c1", usd, -900, 0)),
			gc.Movements{Credit: gc.CreditFigures{Reversed: 900}}},
		{"reversal of a spend gives credit back", txOf(gc.TxReversal, "", post("customer:c1", usd, 400, 500), post("sales", usd, -400)),
			gc.Movements{Credit: gc.CreditFigures{Reversed: -400}}},
		{"a card hold stays owed", txOf(gc.TxHold, "card:g1", post("card:g1", usd, -1000, 1500), post("hold:h1", usd, 1000, 1000)),
			gc.Movements{}},
		{"a card hold of the whole card empties it", txOf(gc.TxHold, "card:g1", post("card:g1", usd, -1000, 0), post("hold:h1", usd, 1000, 1000)),
			gc.Movements{OutstandingDelta: -1}},
		{"a credit hold stays owed", txOf(gc.TxHold, "customer:c1", post("customer:c1", usd, -200, 300), post("hold:h2", usd, 200, 200)),
			gc.Movements{}},
		{"capture of a card hold, final, the rest back", txOf(gc.TxCapture, "card:g1", post("hold:h1", usd, -1000, 0), post("sales", usd, 600), post("card:g1", usd, 400, 1900)),
			gc.Movements{GiftCards: gc.GiftCardFigures{Spent: 600}}},
		{"capture of a credit hold", txOf(gc.TxCapture, "customer:c1", post("hold:h2", usd, -200, 0), post("sales", usd, 200)),
			gc.Movements{Credit: gc.CreditFigures{Spent: 200}}},
		{"release of a credit hold", txOf(gc.TxRelease, "customer:c1", post("hold:h2", usd, -200, 0), post("customer:c1", usd, 200, 500)),
			gc.Movements{}},
		{"refund to a card", txOf(gc.TxRefund, "", post("sales", usd, -300), post("card:g1", usd, 300, 300)),
			gc.Movements{GiftCards: gc.GiftCardFigures{Refunded: 300}, OutstandingDelta: 1}},
		{"refund to credit", txOf(gc.TxRefund, "", post("sales", usd, -300), post("customer:c1", usd, 300, 300)),
			gc.Movements{Credit: gc.CreditFigures{Granted: gc.CreditGranted{Refund: 300}}}},
		{"expiry", txOf(gc.TxExpiry, "", post("customer:c1", usd, -250, 0), post("breakage", usd, 250)),
			gc.Movements{Credit: gc.CreditFigures{Expired: 250}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := map[string]*gc.Movements{}
			if err := gc.FoldDay(m, c.tx); err != nil {
				t.Fatal(err)
			}
			c.want.Transactions = 1
			if got := m[usd]; got == nil || *got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestFoldDayRefusesUnnamedMovements: a movement the kind's figures do
// not name stops the fold instead of vanishing from the report.
func TestFoldDayRefusesUnnamedMovements(t *testing.T) {
	t.Parallel()
	for name, tx := range map[string]gc.Transaction{
		"a credit that posts to a card": txOf(gc.TxCredit, "", post("funding:cash", "USD", -9), post("card:g1", "USD", 9, 9)),
		"a hold that leaves its side":   txOf(gc.TxHold, "customer:c1", post("card:g1", "USD", -9, 0), post("hold:h1", "USD", 9, 9)),
		"a hold without funds":          txOf(gc.TxHold, "", post("customer:c1", "USD", -9, 0), post("hold:h1", "USD", 9, 9)),
		"a card posting without after":  txOf(gc.TxOrder, "", post("funding:card", "USD", -9), post("card:g1", "USD", 9)),
	} {
		if err := gc.FoldDay(map[string]*gc.Movements{}, tx); err == nil {
			t.Errorf("%s: folded without error", name)
		}
	}
}

func TestRollForwardAndSummary(t *testing.T) {
	t.Parallel()
	d1, err := gc.RollForward(gc.LiabilityDay{}, "2026-12-01", "JPY", gc.Movements{
		GiftCards: gc.GiftCardFigures{Issued: 10000, Redeemed: 3000, Spent: 1000, Refunded: 500}, OutstandingDelta: 3,
		Credit: gc.CreditFigures{Granted: gc.CreditGranted{Redemption: 3000, Credit: 2000, Promotion: 100, Refund: 50}, Spent: 700, Expired: 10, Reversed: 40}})
	if err != nil {
		t.Fatal(err)
	}
	if d1.GiftCards.Closing != 6500 || d1.Credit.Closing != 4400 || d1.GiftCards.OutstandingCount != 3 {
		t.Fatalf("day 1 closes at %d/%d with %d cards, want 6500/4400 with 3", d1.GiftCards.Closing, d1.Credit.Closing, d1.GiftCards.OutstandingCount)
	}
	d2, err := gc.RollForward(d1, "2026-12-02", "JPY", gc.Movements{GiftCards: gc.GiftCardFigures{Spent: 500}, OutstandingDelta: -1, Credit: gc.CreditFigures{Spent: 400}})
	if err != nil {
		t.Fatal(err)
	}
	if d2.GiftCards.Opening != 6500 || d2.GiftCards.Closing != 6000 || d2.Credit.Opening != 4400 || d2.Credit.Closing != 4000 || d2.GiftCards.OutstandingCount != 2 {
		t.Fatalf("day 2: %+v", d2)
	}
	if msgs := gc.CheckRollForward([]gc.LiabilityDay{d1, d2}); len(msgs) != 0 {
		t.Errorf("a true roll-forward: %v", msgs)
	}
	broken := d2
	broken.GiftCards.Opening++
	if msgs := gc.CheckRollForward([]gc.LiabilityDay{d1, broken}); len(msgs) != 2 {
		t.Errorf("an opening off by one: %v (want the opening and the closing named)", msgs)
	}
	gap := d2
	gap.Day = "2026-12-03"
	if msgs := gc.CheckRollForward([]gc.LiabilityDay{d1, gap}); len(msgs) != 1 {
		t.Errorf("a missing day: %v", msgs)
	}
	r, err := gc.SummarizeLiability("JPY", []gc.LiabilityDay{d1, d2})
	if err != nil {
		t.Fatal(err)
	}
	want := gc.LiabilityReport{Currency: "JPY", From: "2026-12-01", To: "2026-12-02",
		GiftCards: gc.GiftCardFigures{Opening: 0, Issued: 10000, Redeemed: 3000, Spent: 1500, Refunded: 500, Closing: 6000, OutstandingCount: 2},
		Credit:    gc.CreditFigures{Opening: 0, Granted: gc.CreditGranted{Redemption: 3000, Credit: 2000, Promotion: 100, Refund: 50}, Spent: 1100, Expired: 10, Reversed: 40, Closing: 4000}}
	if r != want {
		t.Errorf("summary %+v, want %+v", r, want)
	}
	csv := gc.LiabilityCSV([]gc.LiabilityDay{d1, d2})
	wantCSV := "day,currency,giftCards.opening,giftCards.issued,giftCards.redeemed,giftCards.spent,giftCards.refunded,giftCards.closing,giftCards.outstandingCount," +
		"credit.opening,credit.granted.redemption,credit.granted.credit,credit.granted.promotion,credit.granted.refund,credit.spent,credit.expired,credit.reversed,credit.closing,closed\r\n" +
		"2026-12-01,JPY,0,10000,3000,1000,500,6500,3,0,3000,2000,100,50,700,10,40,4400,false\r\n" +
		"2026-12-02,JPY,6500,0,0,500,0,6000,2,4400,0,0,0,0,400,0,0,4000,false\r\n"
	if csv != wantCSV {
		t.Errorf("CSV:\n%s\nwant:\n%s", csv, wantCSV)
	}
}

func TestRollForwardOverflow(t *testing.T) {
	t.Parallel()
	prev := gc.LiabilityDay{GiftCards: gc.GiftCardFigures{Closing: 1 << 62}}
	if _, err := gc.RollForward(prev, "2026-12-01", "USD", gc.Movements{GiftCards: gc.GiftCardFigures{Issued: 1 << 62}}); err == nil {
		t.Error("a closing past int64 rolled forward")
	}
}

func TestParseReportRange(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	cases := []struct{ name, from, to, cur, field string }{
		{"ok", "2026-12-01", "2026-12-03", "USD", ""},
		{"one day", "2026-12-03", "2026-12-03", "BHD", ""},
		{"366 days", "2025-12-03", "2026-12-03", "JPY", ""},
		{"367 days", "2025-12-02", "2026-12-03", "JPY", "to"},
		{"from missing", "", "2026-12-03", "USD", "from"},
		{"to missing", "2026-12-01", "", "USD", "to"},
		{"from not a date", "yesterday", "2026-12-03", "USD", "from"},
		{"from without zero padding", "2026-1-01", "2026-12-03", "USD", "from"},
		{"to not a day", "2026-12-01", "2026-02-30", "USD", "to"},
		{"to a timestamp", "2026-12-01", "2026-12-03T00:00:00Z", "USD", "to"},
		{"to before from", "2026-12-03", "2026-12-01", "USD", "to"},
		{"to in the future", "2026-12-01", "2026-12-04", "USD", "to"},
		{"currency missing", "2026-12-01", "2026-12-03", "", "currency"},
		{"currency lower case", "2026-12-01", "2026-12-03", "usd", "currency"},
		{"currency unknown", "2026-12-01", "2026-12-03", "XYZ", "currency"},
	}
	for _, c := range cases {
		_, err := gc.ParseReportRange(c.from, c.to, c.cur, now)
		var field string
		if e, ok := err.(*gc.Error); ok && e.Code == gc.EINVALID {
			field = e.Field
		} else if err != nil {
			t.Errorf("%s: %v is not EINVALID", c.name, err)
			continue
		}
		if field != c.field {
			t.Errorf("%s: field %q (%v), want %q", c.name, field, err, c.field)
		}
	}
}

// TestLiabilitySeries: stored days up to the last closed one, a closed
// day the currency had nothing on carried forward, open days rolled from
// the last closing, an opening that needs open days before the range.
func TestLiabilitySeries(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time { d, _ := time.Parse(gc.DayLayout, s); return d }
	d2, _ := gc.RollForward(gc.LiabilityDay{}, "2026-12-02", "USD", gc.Movements{GiftCards: gc.GiftCardFigures{Issued: 100}, OutstandingDelta: 1})
	d2.Closed = true
	stored := map[string]gc.LiabilityDay{"2026-12-02": d2}
	open := map[string]*gc.Movements{"2026-12-03": {Credit: gc.CreditFigures{Granted: gc.CreditGranted{Credit: 50}}}, "2026-12-04": {GiftCards: gc.GiftCardFigures{Spent: 30}}}
	r := gc.ReportRange{Currency: "USD", From: day("2026-12-01"), To: day("2026-12-04")}
	days, err := gc.LiabilitySeries(r, "2026-12-02", d2, stored, open)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range days {
		got = append(got, d.Day+" "+itoa(d.GiftCards.Closing)+"/"+itoa(d.Credit.Closing)+map[bool]string{true: " closed", false: " open"}[d.Closed])
	}
	want := "2026-12-01 0/0 closed,2026-12-02 100/0 closed,2026-12-03 100/50 open,2026-12-04 70/50 open"
	if strings.Join(got, ",") != want {
		t.Errorf("series %s, want %s", strings.Join(got, ","), want)
	}
	if msgs := gc.CheckRollForward(days); len(msgs) != 0 {
		t.Errorf("the series does not roll forward: %v", msgs)
	}
	// From after the last closed day: the opening needs 12-03 folded.
	r.From = day("2026-12-04")
	days, err = gc.LiabilitySeries(r, "2026-12-02", d2, stored, open)
	if err != nil || len(days) != 1 || days[0].GiftCards.Opening != 100 || days[0].Credit.Opening != 50 {
		t.Errorf("opening after open days: %+v %v", days, err)
	}
	if _, err := gc.OpenDays(gc.ReportRange{From: day("2026-11-01"), To: day("2026-12-01")}, "2026-11-01"); gc.ErrorCode(err) != gc.EUNAVAILABLE {
		t.Errorf("a close 30 days behind: %v, want EUNAVAILABLE", err)
	}
}

// TestPlanClose: every currency with a day before or a movement gets a
// day, rolled forward.
func TestPlanClose(t *testing.T) {
	t.Parallel()
	prev := map[string]gc.LiabilityDay{"BHD": {Day: "2026-12-01", Currency: "BHD", GiftCards: gc.GiftCardFigures{Closing: 1500, OutstandingCount: 1}}}
	days, err := gc.PlanClose("2026-12-02", prev, map[string]*gc.Movements{"JPY": {Credit: gc.CreditFigures{Granted: gc.CreditGranted{Credit: 700}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || days[0].Currency != "BHD" || days[0].GiftCards.Opening != 1500 || days[0].GiftCards.Closing != 1500 || days[0].GiftCards.OutstandingCount != 1 ||
		days[1].Currency != "JPY" || days[1].Credit.Closing != 700 || !days[1].Closed {
		t.Errorf("closed days %+v", days)
	}
}
