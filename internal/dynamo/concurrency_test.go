package dynamo_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/truora/minidyn/server"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

const racers = 50

// race runs f in racers goroutines released together and collects errors.
func race(f func(i int) error) []error {
	errs := make([]error, racers)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := 0; i < racers; i++ {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = f(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

func TestRaceRedeemSameCodeOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	card := MustGiftCard(t, e, 5000)
	custs := make([]gc.Customer, racers)
	for i := range custs {
		custs[i] = MustCustomer(t, e, fmt.Sprintf("racer%d@example.com", i))
	}
	errs := race(func(i int) error {
		_, err := e.store.Redeem(e.ctx, e.admin, "", custs[i%5].ID, card.Code, "")
		return err
	})
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if gc.ErrorCode(err) != gc.ECONFLICT {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d redemptions succeeded, want exactly 1", ok)
	}
	var total int64
	for _, c := range custs[:5] {
		total += MustBalance(t, e, c.ID)
	}
	if total != 5000 {
		t.Fatalf("credited %d in all, want 5000", total)
	}
	MustAudit(t, e)
}

func TestRaceApplyFullBalanceToManyOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "spender@example.com")
	MustCredit(t, e, cust.ID, 3000)
	applied := make([]int64, racers)
	errs := race(func(i int) error {
		r, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: cust.ID, OrderRef: fmt.Sprintf("ref-%d", i), AmountDue: 3000, Currency: "USD"})
		applied[i] = r.Applied
		return err
	})
	var total int64
	for i, err := range errs {
		if err != nil && gc.ErrorCode(err) != gc.ECONFLICT {
			t.Fatalf("racer %d: %v", i, err)
		}
		total += applied[i]
	}
	if total > 3000 {
		t.Fatalf("applied %d in all, more than the balance 3000", total)
	}
	if bal := MustBalance(t, e, cust.ID); bal < 0 || bal != 3000-total {
		t.Fatalf("balance %d after applying %d of 3000", bal, total)
	}
	MustAudit(t, e)
}

func TestReplaysOfOneIdempotencyKeyApplyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "idem@example.com")
	in := gc.DirectCredit{CustomerID: cust.ID, Amount: 1234, Currency: "USD", PaymentType: "other", Reference: "once"}
	results := make([]gc.Transaction, racers)
	errs := race(func(i int) error {
		var err error
		results[i], err = e.store.Credit(e.ctx, e.admin, "same-key", in)
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
		if results[i].ID != results[0].ID {
			t.Fatalf("replay %d returned transaction %s, first was %s", i, results[i].ID, results[0].ID)
		}
	}
	if got := MustBalance(t, e, cust.ID); got != 1234 {
		t.Fatalf("balance %d, want 1234 (one credit)", got)
	}
	page, _ := e.store.History(e.ctx, e.shop.ID, cust.ID, gc.PageRequest{})
	if len(page.Transactions) != 1 {
		t.Fatalf("%d transactions, want 1", len(page.Transactions))
	}
	in.Amount = 999
	_, err := e.store.Credit(e.ctx, e.admin, "same-key", in)
	wantCode(t, err, gc.EIDEMPOTENCYMISMATCH)
	MustAudit(t, e)
}

func TestIdempotentOrderReplayReturnsTheSameCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := gc.NewOrder{BillingName: "B", BillingEmail: "b@example.com", PaymentMethod: "cash", Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: 100}, {Amount: 200}}}
	first, err := e.store.PlaceOrder(e.ctx, e.admin, "order-key", in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.store.PlaceOrder(e.ctx, e.admin, "order-key", in)
	if err != nil {
		t.Fatal(err)
	}
	if again.Order.ID != first.Order.ID || again.Order.GiftCards[1].Code != first.Order.GiftCards[1].Code {
		t.Fatalf("replay differs: %+v vs %+v", again.Order, first.Order)
	}
	if len(again.Emails) != 0 {
		t.Fatalf("a replay must not send the emails again")
	}
	// The codes are at rest only sealed: no plaintext code in any item.
	dump := e.snapshot(t)
	for _, c := range first.Order.GiftCards {
		plain := strings.ReplaceAll(c.Code, "-", "")
		if strings.Contains(dump, c.Code) || strings.Contains(dump, plain) {
			t.Fatalf("code of card %s is stored in plaintext", c.ID)
		}
	}
}

// Faults: with DynamoDB failing, each mutation fails and leaves the table
// exactly as it was; once DynamoDB is back, the retry succeeds once.
func TestInjectedFailuresLeaveNothingPartial(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "fault@example.com")
	MustCredit(t, e, cust.ID, 500)
	card := MustGiftCard(t, e, 800)
	ops := []struct {
		name string
		run  func(key string) error
	}{
		{"create customer", func(k string) error {
			_, err := e.store.CreateCustomer(e.ctx, e.admin, k, gc.NewCustomer{Email: "new@example.com", Name: "New"})
			return err
		}},
		{"place order", func(k string) error {
			_, err := e.store.PlaceOrder(e.ctx, e.admin, k, gc.NewOrder{CustomerID: cust.ID, BillingName: "F", BillingEmail: "f@example.com", PaymentMethod: "cash", Currency: "USD",
				GiftCards: []gc.NewGiftCard{{Amount: 100}}, Goods: []gc.OrderLine{{Description: "g", UnitPrice: 100, Quantity: 1}}})
			return err
		}},
		{"redeem", func(k string) error { _, err := e.store.Redeem(e.ctx, e.admin, k, cust.ID, card.Code, ""); return err }},
		{"credit", func(k string) error {
			_, err := e.store.Credit(e.ctx, e.admin, k, gc.DirectCredit{CustomerID: cust.ID, Amount: 50, Currency: "USD", PaymentType: "cash"})
			return err
		}},
		{"apply credit", func(k string) error {
			_, err := e.store.ApplyCredit(e.ctx, e.admin, k, gc.CreditApplication{CustomerID: cust.ID, OrderRef: "f-1", AmountDue: 70, Currency: "USD"})
			return err
		}},
	}
	isWrite := func(target string) bool { return strings.HasSuffix(target, ".TransactWriteItems") }
	for _, op := range ops {
		before := e.snapshot(t)
		// First everything fails (the read), then only the write.
		e.dyn.EmulateFailure(server.FailureConditionInternalServerError)
		err := op.run("fault-" + op.name)
		e.dyn.EmulateFailure(server.FailureConditionNone)
		if err == nil {
			t.Fatalf("%s: succeeded while DynamoDB was failing", op.name)
		}
		e.dyn.FailRequests(isWrite)
		werr := op.run("fault-" + op.name)
		e.dyn.FailRequests(nil)
		if werr == nil {
			t.Fatalf("%s: succeeded while its write was failing", op.name)
		}
		if after := e.snapshot(t); after != before {
			t.Fatalf("%s: the failed attempts changed the table", op.name)
		}
		if err := op.run("fault-" + op.name); err != nil {
			t.Fatalf("%s: retry after recovery: %v", op.name, err)
		}
		mid := e.snapshot(t)
		if err := op.run("fault-" + op.name); err != nil {
			t.Fatalf("%s: second retry: %v", op.name, err)
		}
		if e.snapshot(t) != mid {
			t.Fatalf("%s: a retry with the same key wrote again", op.name)
		}
	}
	MustAudit(t, e)
}

// A lost response: the write happened but the caller saw an error. The
// caller's retry with the same idempotency key gets the first result.
func TestLostResponseRetryAppliesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "lost@example.com")
	e.dyn.LoseResponses(func(target string) bool { return strings.HasSuffix(target, ".TransactWriteItems") })
	_, err := e.store.Credit(e.ctx, e.admin, "lost-1", gc.DirectCredit{CustomerID: cust.ID, Amount: 300, Currency: "USD", PaymentType: "cash"})
	e.dyn.LoseResponses(nil)
	if err == nil {
		t.Fatal("the lost response did not surface as an error")
	}
	tx, err := e.store.Credit(e.ctx, e.admin, "lost-1", gc.DirectCredit{CustomerID: cust.ID, Amount: 300, Currency: "USD", PaymentType: "cash"})
	if err != nil {
		t.Fatal(err)
	}
	if got := MustBalance(t, e, cust.ID); got != 300 {
		t.Fatalf("balance %d after a lost response and a retry, want 300 (tx %s)", got, tx.ID)
	}
	MustAudit(t, e)
}
