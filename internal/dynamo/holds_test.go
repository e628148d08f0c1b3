package dynamo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/giftcredit/giftcredit/infra/localaws"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

func MustHold(tb testing.TB, e *env, in gc.NewHold) gc.Hold {
	tb.Helper()
	h, err := e.store.CreateHold(e.ctx, e.admin, "", in)
	if err != nil {
		tb.Fatalf("create hold: %v", err)
	}
	return h
}

func creditHold(customerID string, amount int64) gc.NewHold {
	return gc.NewHold{Currency: "USD", Amount: amount, OrderRef: "ord-" + customerID, CustomerID: customerID}
}

func mustCustomerState(tb testing.TB, e *env, id string) gc.Balance {
	tb.Helper()
	c, err := e.store.Customer(e.ctx, e.shop.ID, id)
	if err != nil {
		tb.Fatal(err)
	}
	for _, b := range c.Balances {
		if b.Currency == "USD" {
			return b
		}
	}
	return gc.Balance{Currency: "USD"}
}

// A checkout holds credit, captures part, and the final capture releases
// the rest; balances and held follow, and the audit proves it all.
func TestHoldCaptureOnCredit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "holder@example.com")
	MustCredit(t, e, c.ID, 5000)
	h := MustHold(t, e, creditHold(c.ID, 8000))
	if h.Amount != 5000 || h.Status != gc.HoldHeld || h.Source.CustomerID != c.ID || !gc.ValidFundsID("hld", h.ID) {
		t.Fatalf("hold = %+v", h)
	}
	if b := mustCustomerState(t, e, c.ID); b.Amount != 0 || b.Held != 5000 {
		t.Errorf("balance after hold = %+v", b)
	}
	MustAudit(t, e)
	h, err := e.store.CaptureHold(e.ctx, e.admin, "cap-1", gc.HoldCapture{HoldID: h.ID, Amount: 1000})
	if err != nil || h.Captured != 1000 || h.Status != gc.HoldHeld || len(h.Captures) != 1 {
		t.Fatalf("capture = %+v, %v", h, err)
	}
	if b := mustCustomerState(t, e, c.ID); b.Amount != 0 || b.Held != 4000 {
		t.Errorf("balance after capture = %+v", b)
	}
	// A replay writes nothing and answers the same.
	again, err := e.store.CaptureHold(e.ctx, e.admin, "cap-1", gc.HoldCapture{HoldID: h.ID, Amount: 1000})
	if err != nil || again.Captured != 1000 {
		t.Fatalf("replay = %+v, %v", again, err)
	}
	h, err = e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: h.ID, Amount: 1500, Final: true})
	if err != nil || h.Captured != 2500 || h.Status != gc.HoldCaptured {
		t.Fatalf("final capture = %+v, %v", h, err)
	}
	if b := mustCustomerState(t, e, c.ID); b.Amount != 2500 || b.Held != 0 {
		t.Errorf("balance after final capture = %+v", b)
	}
	_, err = e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: h.ID, Amount: 1})
	wantCode(t, err, gc.ECONFLICT)
	got, err := e.store.Hold(e.ctx, e.shop.ID, h.ID)
	if err != nil || got.Captured != 2500 || got.Status != gc.HoldCaptured || len(got.Captures) != 2 {
		t.Errorf("read back %+v, %v", got, err)
	}
	MustAudit(t, e)
}

// A guest pays with a gift card code; the card shows what is held; a
// wrong code counts toward the lockout like a redemption.
func TestHoldOnGiftCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	card := MustGiftCard(t, e, 5000)
	h := MustHold(t, e, gc.NewHold{Currency: "USD", Amount: 2000, OrderRef: "guest-1", GiftCardCode: card.Code, Capture: true})
	if h.Status != gc.HoldCaptured || h.Captured != 2000 || h.Source.CardID != card.ID || h.Source.Last4 != card.Last4 {
		t.Fatalf("one-step payment = %+v", h)
	}
	h2 := MustHold(t, e, gc.NewHold{Currency: "USD", Amount: 9000, OrderRef: "guest-2", GiftCardCode: card.Code})
	if h2.Amount != 3000 {
		t.Fatalf("second hold = %+v, want the 3000 left", h2)
	}
	got, err := e.store.CheckCard(e.ctx, e.shop.ID, card.Code, "")
	if err != nil || got.Balance != 0 || got.Held != 3000 || got.Status != gc.CardActive {
		t.Fatalf("card = %+v, %v", got, err)
	}
	// Nothing is available now: the same single answer as a used code.
	_, err = e.store.CreateHold(e.ctx, e.admin, "", gc.NewHold{Currency: "USD", Amount: 1, OrderRef: "guest-3", GiftCardCode: card.Code})
	wantCode(t, err, gc.ECONFLICT)
	// A card with value on hold cannot be redeemed until the hold closes.
	cust := MustCustomer(t, e, "later@example.com")
	_, err = e.store.Redeem(e.ctx, e.admin, "", cust.ID, card.Code, "")
	wantCode(t, err, gc.ECONFLICT)
	if _, err := e.store.VoidHold(e.ctx, e.admin, "", h2.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.CheckCard(e.ctx, e.shop.ID, card.Code, ""); got.Balance != 3000 || got.Held != 0 {
		t.Errorf("card after void = %+v", got)
	}
	MustAudit(t, e)
}

func TestHoldCodeLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	card := MustGiftCard(t, e, 500)
	if _, err := e.store.DisableCard(e.ctx, e.admin, "", card.ID); err != nil {
		t.Fatal(err)
	}
	good := MustGiftCard(t, e, 500)
	in := func(code string) gc.NewHold {
		return gc.NewHold{Currency: "USD", Amount: 100, OrderRef: "g", GiftCardCode: code, ClientRef: "session-1"}
	}
	for i := 0; i < 20; i++ {
		_, err := e.store.CreateHold(e.ctx, e.admin, "", in(card.Code))
		wantCode(t, err, gc.ECONFLICT)
	}
	_, err := e.store.CreateHold(e.ctx, e.admin, "", in(good.Code))
	wantCode(t, err, gc.ERATELIMITED)
	_, err = e.store.CreateHold(e.ctx, e.admin, "", gc.NewHold{Currency: "USD", Amount: 100, OrderRef: "g", GiftCardCode: "not-a-code"})
	wantCode(t, err, gc.EINVALID)
	MustAudit(t, e)
}

// Fifty concurrent captures never take more than is held.
func TestRaceCapturesNeverExceedHeld(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "race-cap@example.com")
	MustCredit(t, e, c.ID, 1000)
	h := MustHold(t, e, creditHold(c.ID, 1000))
	errs := race(func(i int) error {
		_, err := e.store.CaptureHold(e.ctx, e.admin, fmt.Sprintf("cap-%d", i), gc.HoldCapture{HoldID: h.ID, Amount: 30})
		return err
	})
	ok := 0
	for _, err := range errs {
		switch gc.ErrorCode(err) {
		case "":
			ok++
		case gc.ECONFLICT, gc.EINSUFFICIENTFUNDS:
		default:
			t.Fatalf("capture: %v", err)
		}
	}
	got, err := e.store.Hold(e.ctx, e.shop.ID, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Captured != int64(ok)*30 || got.Captured > 1000 || len(got.Captures) != ok || ok == 0 {
		t.Errorf("%d captures succeeded, hold %+v", ok, got)
	}
	if b := mustCustomerState(t, e, c.ID); b.Held != 1000-got.Captured {
		t.Errorf("held = %d, want %d", b.Held, 1000-got.Captured)
	}
	MustAudit(t, e)
}

// A full capture and a void race: exactly one wins; a second void is a
// no-op that answers 200.
func TestRaceCaptureVoidExactlyOneWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for round := 0; round < 5; round++ {
		c := MustCustomer(t, e, fmt.Sprintf("cv%d@example.com", round))
		MustCredit(t, e, c.ID, 700)
		h := MustHold(t, e, creditHold(c.ID, 700))
		errs := race(func(i int) error {
			var err error
			if i%2 == 0 {
				_, err = e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: h.ID, Amount: 700})
			} else {
				_, err = e.store.VoidHold(e.ctx, e.admin, "", h.ID)
			}
			return err
		})
		captures, voids := 0, 0
		for i, err := range errs {
			if err != nil {
				if gc.ErrorCode(err) != gc.ECONFLICT {
					t.Fatalf("racer %d: %v", i, err)
				}
				continue
			}
			if i%2 == 0 {
				captures++
			} else {
				voids++
			}
		}
		got, err := e.store.Hold(e.ctx, e.shop.ID, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		b := mustCustomerState(t, e, c.ID)
		switch got.Status {
		case gc.HoldCaptured:
			if captures != 1 || voids != 0 || b.Amount != 0 || b.Held != 0 {
				t.Errorf("captured: %d captures, %d voids succeeded, balance %+v", captures, voids, b)
			}
		case gc.HoldVoided:
			// The void won; later voids are no-ops that succeed too.
			if captures != 0 || voids == 0 || b.Amount != 700 || b.Held != 0 {
				t.Errorf("voided: %d captures, %d voids succeeded, balance %+v", captures, voids, b)
			}
		default:
			t.Errorf("status %s", got.Status)
		}
	}
	MustAudit(t, e)
}

func TestVoidTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "void@example.com")
	MustCredit(t, e, c.ID, 900)
	h := MustHold(t, e, creditHold(c.ID, 900))
	if _, err := e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: h.ID, Amount: 100}); err != nil {
		t.Fatal(err)
	}
	v, err := e.store.VoidHold(e.ctx, e.admin, "", h.ID)
	if err != nil || v.Status != gc.HoldVoided || v.Captured != 100 {
		t.Fatalf("void = %+v, %v", v, err)
	}
	before := e.snapshot(t)
	e.counter.Reset()
	v2, err := e.store.VoidHold(e.ctx, e.admin, "", h.ID)
	if err != nil || v2.Status != gc.HoldVoided {
		t.Fatalf("second void = %+v, %v", v2, err)
	}
	if n := e.counter.Counts()["TransactWriteItems"]; n != 0 {
		t.Errorf("a second void wrote (%d requests)", n)
	}
	if e.snapshot(t) != before {
		t.Error("a second void changed the table")
	}
	if b := mustCustomerState(t, e, c.ID); b.Amount != 800 || b.Held != 0 {
		t.Errorf("balance = %+v", b)
	}
	MustAudit(t, e)
}

// After expiresAt nothing can be captured, even before the release job.
func TestCaptureAfterExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "late@example.com")
	MustCredit(t, e, c.ID, 900)
	sixty := int64(60)
	in := creditHold(c.ID, 900)
	in.ExpiresIn = &sixty
	h := MustHold(t, e, in)
	e.clock.ns.Add(int64(61 * time.Second))
	_, err := e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: h.ID, Amount: 1})
	wantCode(t, err, gc.ECONFLICT)
	MustAudit(t, e)
}

func TestHoldsOfAnotherShop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "mine@example.com")
	MustCredit(t, e, c.ID, 900)
	h := MustHold(t, e, creditHold(c.ID, 900))
	other := e.otherShop(t)
	_, err := e.store.Hold(e.ctx, other.ShopID, h.ID)
	wantCode(t, err, gc.ENOTFOUND)
	_, err = e.store.CaptureHold(e.ctx, other, "", gc.HoldCapture{HoldID: h.ID, Amount: 1})
	wantCode(t, err, gc.ENOTFOUND)
	_, err = e.store.VoidHold(e.ctx, other, "", h.ID)
	wantCode(t, err, gc.ENOTFOUND)
	_, err = e.store.CreateHold(e.ctx, other, "", creditHold(c.ID, 1))
	wantCode(t, err, gc.ENOTFOUND)
}

// Every hold mutation and refund is one write and one read, a
// TransactGetItems: ids name their funds, so nothing is read first to
// learn them.
func TestHoldRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "req@example.com")
	other := MustCustomer(t, e, "req-other@example.com")
	MustCredit(t, e, c.ID, 900)
	card := MustGiftCard(t, e, 5000)
	var h, onCard, late gc.Hold
	var app gc.AppliedCredit
	var ordered gc.PlacedOrder
	sixty := int64(60)
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"hold on credit", func() (err error) {
			h, err = e.store.CreateHold(e.ctx, e.admin, "k1", creditHold(c.ID, 500))
			return err
		}},
		{"hold on a card", func() (err error) {
			onCard, err = e.store.CreateHold(e.ctx, e.admin, "k1c", gc.NewHold{Currency: "USD", Amount: 2000, OrderRef: "g-1", GiftCardCode: card.Code})
			return err
		}},
		{"capture", func() error {
			_, err := e.store.CaptureHold(e.ctx, e.admin, "k2", gc.HoldCapture{HoldID: h.ID, Amount: 100})
			return err
		}},
		{"final capture of a card hold", func() (err error) {
			onCard, err = e.store.CaptureHold(e.ctx, e.admin, "k2c", gc.HoldCapture{HoldID: onCard.ID, Amount: 1500, Final: true})
			return err
		}},
		{"void", func() (err error) { h, err = e.store.VoidHold(e.ctx, e.admin, "k3", h.ID); return err }},
		{"refund of a capture", func() error {
			_, err := e.store.Refund(e.ctx, e.admin, "k4", gc.NewRefund{TransactionID: h.Captures[0].TransactionID, Amount: 50, Currency: "USD"})
			return err
		}},
		{"refund of a card capture", func() error {
			_, err := e.store.Refund(e.ctx, e.admin, "k4c", gc.NewRefund{TransactionID: onCard.Captures[0].TransactionID, Amount: 50, Currency: "USD"})
			return err
		}},
		{"refund of a card capture to credit", func() error {
			_, err := e.store.Refund(e.ctx, e.admin, "k4d", gc.NewRefund{TransactionID: onCard.Captures[0].TransactionID, Amount: 50, Currency: "USD",
				To: gc.RefundToCredit, CustomerID: other.ID})
			return err
		}},
		{"credit application", func() (err error) {
			app, err = e.store.ApplyCredit(e.ctx, e.admin, "k5", gc.CreditApplication{CustomerID: c.ID, OrderRef: "web-1", AmountDue: 100, Currency: "USD"})
			return err
		}},
		{"refund of a credit application", func() error {
			_, err := e.store.Refund(e.ctx, e.admin, "k6", gc.NewRefund{TransactionID: app.TransactionID, Amount: 100, Currency: "USD"})
			return err
		}},
		{"order with credit", func() (err error) {
			ordered, err = e.store.PlaceOrder(e.ctx, e.admin, "k7", gc.NewOrder{CustomerID: c.ID, BillingName: "B", BillingEmail: "b@example.com",
				PaymentMethod: "card", Currency: "USD", Goods: []gc.OrderLine{{Description: "g", UnitPrice: 300, Quantity: 1}}})
			return err
		}},
		{"refund of an order's credit", func() error {
			_, err := e.store.Refund(e.ctx, e.admin, "k8", gc.NewRefund{TransactionID: ordered.Order.TransactionID, Amount: 100, Currency: "USD", To: gc.RefundToCredit})
			return err
		}},
		{"a short hold", func() (err error) {
			in := creditHold(c.ID, 100)
			in.ExpiresIn = &sixty
			late, err = e.store.CreateHold(e.ctx, e.admin, "k9", in)
			return err
		}},
		{"release after expiry", func() error {
			e.clock.ns.Add(int64(61 * time.Second))
			r, err := e.store.ReleaseHold(e.ctx, e.shop.ID, late.ID)
			if err == nil && r.Status != gc.HoldExpired {
				err = fmt.Errorf("released hold %+v", r)
			}
			return err
		}},
	} {
		e.counter.Reset()
		if err := op.run(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		got := e.counter.Counts()
		if got["TransactWriteItems"] != 1 || got["TransactGetItems"] != 1 || len(got) != 2 {
			t.Errorf("%s: requests %v, want 1 TransactGetItems and 1 TransactWriteItems", op.name, got)
		}
	}
	for _, id := range []string{h.ID, onCard.ID, h.Captures[0].TransactionID, onCard.Captures[0].TransactionID, app.TransactionID, ordered.Order.TransactionID} {
		if _, ok := gc.FundsOf(id[:3], id); !ok {
			t.Errorf("id %s names no funds", id)
		}
	}
	MustAudit(t, e)
}

// Refunds: of a card capture back to the card or to a customer's credit,
// of a credit application back to credit; all refunds of a spend stay
// within it, even when they race.
func TestRefunds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	card := MustGiftCard(t, e, 5000)
	paid := MustHold(t, e, gc.NewHold{Currency: "USD", Amount: 3000, OrderRef: "g-1", GiftCardCode: card.Code, Capture: true})
	capTx := paid.Captures[0].TransactionID
	r, err := e.store.Refund(e.ctx, e.admin, "r-1", gc.NewRefund{TransactionID: capTx, Amount: 1000, Currency: "USD"})
	if err != nil || r.To != gc.RefundToSource || r.TransactionID != capTx || r.Amount != 1000 || !gc.ValidID("txn", r.ID) {
		t.Fatalf("refund = %+v, %v", r, err)
	}
	if got, _ := e.store.CheckCard(e.ctx, e.shop.ID, card.Code, ""); got.Balance != 3000 {
		t.Errorf("card after refund = %+v", got)
	}
	_, err = e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: capTx, Amount: 1000, Currency: "USD", To: "credit"})
	wantCode(t, err, gc.EINVALID)
	cust := MustCustomer(t, e, "refundee@example.com")
	if _, err := e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: capTx, Amount: 500, Currency: "USD", To: "credit", CustomerID: cust.ID}); err != nil {
		t.Fatal(err)
	}
	if b := MustBalance(t, e, cust.ID); b != 500 {
		t.Errorf("customer credit after refund = %d", b)
	}
	// 1500 is left to refund: 50 racers of 100 refund exactly 15.
	errs := race(func(i int) error {
		_, err := e.store.Refund(e.ctx, e.admin, fmt.Sprintf("race-%d", i), gc.NewRefund{TransactionID: capTx, Amount: 100, Currency: "USD"})
		return err
	})
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if gc.ErrorCode(err) != gc.ECONFLICT {
			t.Fatal(err)
		}
	}
	if ok > 15 {
		t.Errorf("%d refunds of 100 succeeded, 1500 was left", ok)
	}
	for ok < 15 {
		if _, err := e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: capTx, Amount: 100, Currency: "USD"}); err != nil {
			t.Fatalf("refund %d: %v", ok, err)
		}
		ok++
	}
	_, err = e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: capTx, Amount: 1, Currency: "USD"})
	wantCode(t, err, gc.ECONFLICT)

	MustCredit(t, e, cust.ID, 1000)
	app, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: cust.ID, OrderRef: "web-9", AmountDue: 1200, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: app.TransactionID, Amount: app.Applied, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	if b := MustBalance(t, e, cust.ID); b != 1500 {
		t.Errorf("credit after refunding the application = %d, want 1500", b)
	}
	// A spend is either reversed or refunded, never both.
	_, err = e.store.Reverse(e.ctx, e.admin, "", gc.Reversal{CustomerID: cust.ID, TransactionID: app.TransactionID, Reason: "twice?"})
	wantCode(t, err, gc.ECONFLICT)
	app2, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: cust.ID, OrderRef: "web-10", AmountDue: 100, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Reverse(e.ctx, e.admin, "", gc.Reversal{CustomerID: cust.ID, TransactionID: app2.TransactionID, Reason: "cancelled"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: app2.TransactionID, Amount: 1, Currency: "USD"})
	wantCode(t, err, gc.ECONFLICT)
	credit := MustCredit(t, e, cust.ID, 10)
	_, err = e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: credit.ID, Amount: 1, Currency: "USD"})
	wantCode(t, err, gc.ECONFLICT)
	_, err = e.store.Refund(e.ctx, e.otherShop(t), "", gc.NewRefund{TransactionID: capTx, Amount: 1, Currency: "USD"})
	wantCode(t, err, gc.ENOTFOUND)
	MustAudit(t, e)
}

// An id naming other funds than its record's, or a record's id with its
// funds cut off, is a 404 that writes nothing, however real the funds it
// names: the records are keyed by the whole id.
func TestForgedIDsAreNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, rich := MustCustomer(t, e, "forged@example.com"), MustCustomer(t, e, "rich@example.com")
	MustCredit(t, e, c.ID, 900)
	MustCredit(t, e, rich.ID, 900)
	card := MustGiftCard(t, e, 900)
	h := MustHold(t, e, creditHold(c.ID, 500))
	h, err := e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: h.ID, Amount: 100})
	if err != nil {
		t.Fatal(err)
	}
	capTx := h.Captures[0].TransactionID
	base := func(id string) string { return id[:len("hld")+27] }
	forge := func(id, account string) string {
		s, err := gc.WithFunds(base(id), account)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	holds := []string{forge(h.ID, gc.CustomerAccount(rich.ID)), forge(h.ID, gc.CardAccount(card.ID)), base(h.ID), h.ID + "_" + rich.ID}
	spends := []string{forge(capTx, gc.CustomerAccount(rich.ID)), forge(capTx, gc.CardAccount(card.ID)), base(capTx)}
	before := e.snapshot(t)
	for _, id := range holds {
		_, err := e.store.Hold(e.ctx, e.shop.ID, id)
		wantCode(t, err, gc.ENOTFOUND)
		_, err = e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: id, Amount: 1, Final: true})
		wantCode(t, err, gc.ENOTFOUND)
		_, err = e.store.VoidHold(e.ctx, e.admin, "", id)
		wantCode(t, err, gc.ENOTFOUND)
		r, err := e.store.ReleaseHold(e.ctx, e.shop.ID, id)
		if err == nil && r.ID != "" {
			t.Errorf("release of %s = %+v", id, r)
		}
	}
	for _, id := range spends {
		for _, in := range []gc.NewRefund{{TransactionID: id, Amount: 1, Currency: "USD"}, {TransactionID: id, Amount: 1, Currency: "USD", To: gc.RefundToCredit},
			{TransactionID: id, Amount: 1, Currency: "USD", To: gc.RefundToCredit, CustomerID: rich.ID}} {
			_, err := e.store.Refund(e.ctx, e.admin, "", in)
			wantCode(t, err, gc.ENOTFOUND)
		}
	}
	if e.snapshot(t) != before {
		t.Error("a forged id changed the table")
	}
	// The real ids still work.
	if _, err := e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: capTx, Amount: 100, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.VoidHold(e.ctx, e.admin, "", h.ID); err != nil {
		t.Fatal(err)
	}
	if b := MustBalance(t, e, c.ID); b != 900 {
		t.Errorf("balance = %d, want 900", b)
	}
	if b := MustBalance(t, e, rich.ID); b != 900 {
		t.Errorf("the named customer's balance = %d, want 900", b)
	}
	MustAudit(t, e)
}

// A hold past its expiresAt reads as expired, with nothing capturable,
// before the release job has run; a void then keeps it expired; the job
// later changes nothing a reader sees.
func TestExpiredHoldReadsExpiredBeforeTheJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "expiring@example.com")
	MustCredit(t, e, c.ID, 900)
	sixty := int64(60)
	in := creditHold(c.ID, 400)
	in.ExpiresIn = &sixty
	h, v := MustHold(t, e, in), MustHold(t, e, in)
	if got, err := e.store.Hold(e.ctx, e.shop.ID, h.ID); err != nil || got.Status != gc.HoldHeld {
		t.Fatalf("before expiry: %+v, %v", got, err)
	}
	e.clock.ns.Add(int64(61 * time.Second))
	got, err := e.store.Hold(e.ctx, e.shop.ID, h.ID)
	if err != nil || got.Status != gc.HoldExpired || got.Remaining() != 0 || got.Amount != 400 || got.Captured != 0 {
		t.Fatalf("after expiry, before the job: %+v, %v", got, err)
	}
	_, err = e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: h.ID, Amount: 1})
	wantCode(t, err, gc.ECONFLICT)
	vv, err := e.store.VoidHold(e.ctx, e.admin, "", v.ID)
	if err != nil || vv.Status != gc.HoldExpired {
		t.Fatalf("void after expiry = %+v, %v", vv, err)
	}
	released, err := e.store.ReleaseHold(e.ctx, e.shop.ID, h.ID)
	if err != nil || released.Status != gc.HoldExpired {
		t.Fatalf("release = %+v, %v", released, err)
	}
	after, err := e.store.Hold(e.ctx, e.shop.ID, h.ID)
	if err != nil || after.Status != got.Status || after.Remaining() != 0 {
		t.Errorf("after the job: %+v, %v", after, err)
	}
	if b := mustCustomerState(t, e, c.ID); b.Amount != 900 || b.Held != 0 {
		t.Errorf("balance = %+v", b)
	}
	MustAudit(t, e)
}

// copyUnder copies the item of record id (its PK "SHOP#<s>#<kind>#<id>",
// its sort key sk) to the plain id base, as a record made before ids named
// their funds would be stored.
func copyUnder(tb testing.TB, e *env, kind, sk, id, base string) {
	tb.Helper()
	client := localaws.NewDynamoClient(e.dyn.URL(), nil)
	pk := func(id string) types.AttributeValue {
		return &types.AttributeValueMemberS{Value: "SHOP#" + e.shop.ID + "#" + kind + "#" + id}
	}
	out, err := client.GetItem(e.ctx, &dynamodb.GetItemInput{TableName: aws.String("giftcredit"), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"PK": pk(id), "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil || len(out.Item) == 0 {
		tb.Fatalf("get %s %s: %v", kind, id, err)
	}
	out.Item["PK"], out.Item["id"] = pk(base), &types.AttributeValueMemberS{Value: base}
	if _, err := client.PutItem(e.ctx, &dynamodb.PutItemInput{TableName: aws.String("giftcredit"), Item: out.Item}); err != nil {
		tb.Fatal(err)
	}
}

// A hold or a spend whose id names no funds (made before ids named them)
// still changes and refunds correctly: it is read first to learn its
// funds, the one extra read the ids otherwise save.
func TestIDsNamingNoFundsAreReadFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := MustCustomer(t, e, "legacy@example.com")
	MustCredit(t, e, c.ID, 900)
	h := MustHold(t, e, creditHold(c.ID, 500))
	app, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: c.ID, OrderRef: "web-legacy", AmountDue: 300, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	hold, spend := h.ID[:len("hld")+27], app.TransactionID[:len("txn")+27]
	copyUnder(t, e, "HOLD", "HOLD", h.ID, hold)
	copyUnder(t, e, "TX", "TX", app.TransactionID, spend)
	if _, ok := gc.FundsOf("hld", hold); ok || !gc.ValidID("hld", hold) {
		t.Fatalf("%s is not a plain hold id", hold)
	}
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"capture", func() error {
			_, err := e.store.CaptureHold(e.ctx, e.admin, "", gc.HoldCapture{HoldID: hold, Amount: 100})
			return err
		}},
		{"void", func() error {
			v, err := e.store.VoidHold(e.ctx, e.admin, "", hold)
			if err == nil && (v.Status != gc.HoldVoided || v.Captured != 100) {
				err = fmt.Errorf("voided %+v", v)
			}
			return err
		}},
		{"refund", func() error {
			_, err := e.store.Refund(e.ctx, e.admin, "", gc.NewRefund{TransactionID: spend, Amount: 300, Currency: "USD"})
			return err
		}},
	} {
		e.counter.Reset()
		if err := op.run(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if got := e.counter.Counts(); got["GetItem"] != 1 || got["TransactGetItems"] != 1 || got["TransactWriteItems"] != 1 || len(got) != 3 {
			t.Errorf("%s: requests %v, want the record read first", op.name, got)
		}
	}
	// 900 credited, 300 applied and refunded, 100 of the hold captured.
	if b := mustCustomerState(t, e, c.ID); b.Amount != 800 || b.Held != 0 {
		t.Errorf("balance = %+v", b)
	}
}
