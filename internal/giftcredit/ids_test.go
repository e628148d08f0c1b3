package giftcredit_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// newID draws an id of prefix from a fixed clock and a source of fill.
func newID(t *testing.T, prefix string, fill byte) string {
	t.Helper()
	g := &gc.IDs{Now: func() time.Time { return at }, Rand: bytes.NewReader(bytes.Repeat([]byte{fill}, 10))}
	id, err := g.New(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

const cardID = "gc_3f9a1c7e5b2d4086a1e9c3b7d5f20e48"

func TestValidCardID(t *testing.T) {
	for _, c := range []struct {
		id   string
		want bool
	}{
		{cardID, true},
		{"gc_3f9a1c7e5b2d4086a1e9c3b7d5f20e4", false},   // one digit short
		{"gc_3f9a1c7e5b2d4086a1e9c3b7d5f20e488", false}, // one too many
		{"gc_3F9A1C7E5B2D4086A1E9C3B7D5F20E48", false},  // upper case
		{"gc_3f9a1c7e5b2d4086a1e9c3b7d5f20e4g", false},  // not hex
		{"cu_3f9a1c7e5b2d4086a1e9c3b7d5f20e48", false},
		{"", false},
	} {
		if got := gc.ValidCardID(c.id); got != c.want {
			t.Errorf("ValidCardID(%q) = %v, want %v", c.id, got, c.want)
		}
	}
}

// An id names its funds by carrying the customer's or card's id; only
// the exact shape decodes, and anything else names nothing.
func TestIDsNamingFunds(t *testing.T) {
	hold, tx, cus := newID(t, "hld", 1), newID(t, "txn", 2), newID(t, "cus", 3)
	onCredit, err := gc.WithFunds(hold, gc.CustomerAccount(cus))
	if err != nil {
		t.Fatal(err)
	}
	if want := hold + "_" + cus; onCredit != want {
		t.Fatalf("WithFunds = %q, want %q", onCredit, want)
	}
	onCard, err := gc.WithFunds(tx, gc.CardAccount(cardID))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "sales", "hold:" + hold, "funding:cash", "customer:cus_x", "card:gc_x", "customer:" + cardID, "card:" + cus} {
		if id, err := gc.WithFunds(hold, bad); err == nil {
			t.Errorf("WithFunds(%q) = %q, want an error", bad, id)
		}
	}
	cases := []struct {
		name    string
		prefix  string
		id      string
		account string // "" names nothing
		valid   bool   // ValidFundsID
	}{
		{"a hold on credit", "hld", onCredit, gc.CustomerAccount(cus), true},
		{"a capture of a card hold", "txn", onCard, gc.CardAccount(cardID), true},
		{"a plain id names nothing but is valid", "hld", hold, "", true},
		{"a plain transaction id", "txn", tx, "", true},
		{"another prefix", "txn", onCredit, "", false},
		{"a hold id read as a transaction's", "hld", onCard, "", false},
		{"no separator", "hld", hold + cus, "", false},
		{"another separator", "hld", hold + "-" + cus, "", false},
		{"a truncated customer id", "hld", onCredit[:len(onCredit)-1], "", false},
		{"a customer id too long", "hld", onCredit + "0", "", false},
		{"a card id in upper case", "txn", tx + "_" + strings.ToUpper(cardID), "", false},
		{"a malformed base", "hld", "hld_" + strings.Repeat("u", 26) + "_" + cus, "", false},
		{"a short base", "hld", hold[:len(hold)-1] + "_" + cus, "", false},
		{"an order id is not funds", "txn", tx + "_" + newID(t, "ord", 4), "", false},
		{"a hold id is not funds", "txn", tx + "_" + hold, "", false},
		{"funds twice", "hld", onCredit + "_" + cus, "", false},
		{"only a separator", "hld", hold + "_", "", false},
		{"empty", "hld", "", "", false},
		{"junk", "hld", "hld_x", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			account, ok := gc.FundsOf(c.prefix, c.id)
			if ok != (c.account != "") || account != c.account {
				t.Errorf("FundsOf(%q, %q) = %q, %v, want %q", c.prefix, c.id, account, ok, c.account)
			}
			if got := gc.ValidFundsID(c.prefix, c.id); got != c.valid {
				t.Errorf("ValidFundsID(%q, %q) = %v, want %v", c.prefix, c.id, got, c.valid)
			}
			if gc.ValidID(c.prefix, c.id) && c.account != "" {
				t.Errorf("ValidID(%q, %q) accepts an id naming funds", c.prefix, c.id)
			}
		})
	}
}

func TestHoldAsOf(t *testing.T) {
	base := openHold().Hold // 3000 held, 1000 captured, expires at+1h
	with := func(edit func(*gc.Hold)) gc.Hold { h := base; edit(&h); return h }
	cases := []struct {
		name      string
		hold      gc.Hold
		now       time.Time
		status    gc.HoldStatus
		remaining int64
	}{
		{"held before expiry", base, at, gc.HoldHeld, 2000},
		{"a millisecond before expiry", base, base.ExpiresAt.Add(-time.Millisecond), gc.HoldHeld, 2000},
		{"at expiry, before the job", base, base.ExpiresAt, gc.HoldExpired, 0},
		{"long after expiry, before the job", base, base.ExpiresAt.Add(72 * time.Hour), gc.HoldExpired, 0},
		{"released by the job", with(func(h *gc.Hold) { h.Status, h.Released = gc.HoldExpired, 2000 }), base.ExpiresAt.Add(time.Hour), gc.HoldExpired, 0},
		{"captured stays captured after expiry", with(func(h *gc.Hold) { h.Status, h.Captured = gc.HoldCaptured, 3000 }), base.ExpiresAt.Add(time.Hour), gc.HoldCaptured, 0},
		{"voided stays voided after expiry", with(func(h *gc.Hold) { h.Status, h.Released = gc.HoldVoided, 2000 }), base.ExpiresAt.Add(time.Hour), gc.HoldVoided, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := gc.HoldAsOf(c.hold, c.now)
			if got.Status != c.status || got.Remaining() != c.remaining {
				t.Errorf("HoldAsOf = %s with %d remaining, want %s with %d", got.Status, got.Remaining(), c.status, c.remaining)
			}
			if got.Amount != c.hold.Amount || got.Captured != c.hold.Captured || len(got.Captures) != len(c.hold.Captures) || !got.ExpiresAt.Equal(c.hold.ExpiresAt) {
				t.Errorf("HoldAsOf changed more than the status: %+v", got)
			}
			// What a capture at that instant would decide agrees with
			// what the view says.
			_, err := gc.PlanCapture(gc.Stamp{TxID: "txn_new", Actor: clerk, At: c.now}, &gc.HoldState{Hold: c.hold, Version: 2}, gc.HoldCapture{Amount: 1},
				gc.Funds{Customer: ptr(customer("cus_1", "USD", 0))})
			if capturable := err == nil; capturable != (got.Status == gc.HoldHeld && got.Remaining() > 0) {
				t.Errorf("view %s, but a capture at that instant: %v", got.Status, err)
			}
		})
	}
}

// A hold or a spend whose id names other funds than its own is not found,
// and funds read that are not the hold's are refused: the adapter reads
// the funds an id names, so a mismatch must never reach a write.
func TestPlannersCheckTheFundsIDsName(t *testing.T) {
	cus, other := newID(t, "cus", 3), newID(t, "cus", 5)
	named := func(id, customerID string) string {
		s, err := gc.WithFunds(id, gc.CustomerAccount(customerID))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hold := func(id string) *gc.HoldState {
		h := openHold()
		h.ID, h.Source.CustomerID = id, cus
		return h
	}
	funds := func(id string) gc.Funds { return gc.Funds{Customer: ptr(customer(id, "USD", 500))} }
	own, forged := named(newID(t, "hld", 1), cus), named(newID(t, "hld", 1), other)
	for _, c := range []struct {
		name  string
		hold  *gc.HoldState
		funds gc.Funds
		code  string
	}{
		{"its own funds", hold(own), funds(cus), ""},
		{"a plain id (named nothing)", hold(newID(t, "hld", 1)), funds(cus), ""},
		{"an id naming another customer", hold(forged), funds(other), gc.ENOTFOUND},
		{"another customer's funds read", hold(own), funds(other), gc.EINTERNAL},
	} {
		t.Run(c.name, func(t *testing.T) {
			for name, plan := range map[string]func() (gc.HoldPlan, error){
				"capture": func() (gc.HoldPlan, error) {
					return gc.PlanCapture(stamp(clerk), c.hold, gc.HoldCapture{Amount: 100, Final: true}, c.funds)
				},
				"void": func() (gc.HoldPlan, error) { return gc.PlanVoid(stamp(clerk), c.hold, c.funds) },
				"release": func() (gc.HoldPlan, error) {
					return gc.PlanRelease(gc.Stamp{TxID: "txn_new", At: at.Add(2 * time.Hour)}, c.hold, c.funds)
				},
			} {
				if _, err := plan(); gc.ErrorCode(err) != c.code {
					t.Errorf("%s: %v, want code %q", name, err, c.code)
				}
			}
		})
	}

	spend := func(id string) *gc.Transaction {
		return &gc.Transaction{ID: id, Kind: gc.TxCreditApplication, CustomerID: cus,
			Postings: []gc.Posting{{Account: gc.CustomerAccount(cus), Currency: "USD", Amount: -2000}, {Account: "sales", Currency: "USD", Amount: 2000}}}
	}
	target := gc.RefundTarget{Account: gc.CustomerAccount(cus), Customer: ptr(customer(cus, "USD", 0))}
	in := gc.NewRefund{TransactionID: "txn_x", Amount: 100, Currency: "USD"}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	tx := newID(t, "txn", 2)
	if _, err := gc.PlanRefund(stamp(clerk), in, spend(named(tx, cus)), 0, 0, false, target); err != nil {
		t.Errorf("refund of a spend naming its funds: %v", err)
	}
	if _, err := gc.PlanRefund(stamp(clerk), in, spend(named(tx, other)), 0, 0, false, gc.RefundTarget{Account: gc.CustomerAccount(other)}); gc.ErrorCode(err) != gc.ENOTFOUND {
		t.Errorf("refund of a spend naming other funds: %v, want not found", err)
	}
}
