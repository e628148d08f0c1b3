package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
)

// env is one test's ledger: its own minidyn server and table. minidyn
// copies the whole table on every transaction and its table operations are
// not safe beside writes, so every test gets a small table on its own server.
type env struct {
	ctx     context.Context
	dyn     *localaws.Dynamo
	counter *localaws.Counter
	store   *dynamo.Store
	shop    gc.Shop
	admin   gc.Actor
	clock   *clock
}

// clock is a test clock that moves forward a millisecond per reading.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Add(int64(time.Millisecond))).UTC() }

func newEnv(tb testing.TB, opts ...dynamo.Option) *env {
	tb.Helper()
	ctx := context.Background()
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		tb.Fatalf("start minidyn: %v", err)
	}
	tb.Cleanup(dyn.Close)
	counter := &localaws.Counter{}
	client := localaws.NewDynamoClient(dyn.URL(), counter)
	if err := dynamo.CreateTable(ctx, client, "giftcredit"); err != nil {
		tb.Fatal(err)
	}
	// minidyn can lose index entries where DynamoDB would not
	// (localaws.CheckIndexes): a test that made it do so fails here,
	// rather than passing on a blind index.
	tb.Cleanup(func() {
		if tb.Failed() {
			return
		}
		if err := localaws.CheckIndexes(ctx, localaws.NewDynamoClient(dyn.URL(), nil), "giftcredit"); err != nil {
			tb.Error(err)
		}
	})
	kr, err := giftcode.NewKeyring([]byte("test-secret-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	clk := &clock{}
	clk.ns.Store(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	store := dynamo.New(client, "giftcredit", append([]dynamo.Option{dynamo.WithKeyring(kr), dynamo.WithClock(clk.Now), dynamo.WithComposer(mail.NewComposer(""))}, opts...)...)
	shop, err := store.CreateShop(ctx, gc.Shop{Name: "Test Shop", AdminEmail: "admin@shop.test", SenderAddress: "noreply@shop.test", DefaultCurrency: "USD"})
	if err != nil {
		tb.Fatal(err)
	}
	counter.Reset()
	return &env{ctx: ctx, dyn: dyn, counter: counter, store: store, shop: shop, clock: clk,
		admin: gc.Actor{ShopID: shop.ID, KeyID: "key_test", Role: gc.RoleAdmin}}
}

func (e *env) otherShop(tb testing.TB) gc.Actor {
	tb.Helper()
	sh, err := e.store.CreateShop(e.ctx, gc.Shop{Name: "Other Shop", DefaultCurrency: "USD"})
	if err != nil {
		tb.Fatal(err)
	}
	return gc.Actor{ShopID: sh.ID, KeyID: "key_other", Role: gc.RoleAdmin}
}

func MustCustomer(tb testing.TB, e *env, email string) gc.Customer {
	tb.Helper()
	c, err := e.store.CreateCustomer(e.ctx, e.admin, "", gc.NewCustomer{Email: email, Name: "Customer " + email})
	if err != nil {
		tb.Fatalf("create customer %s: %v", email, err)
	}
	return c
}

func MustCredit(tb testing.TB, e *env, customerID string, amount int64) gc.Transaction {
	tb.Helper()
	t, err := e.store.Credit(e.ctx, e.admin, "", gc.DirectCredit{CustomerID: customerID, Amount: amount, Currency: "USD", PaymentType: "goodwill"})
	if err != nil {
		tb.Fatalf("credit: %v", err)
	}
	return t
}

// MustGiftCard places a cash order for one card and returns its code.
func MustGiftCard(tb testing.TB, e *env, amount int64) gc.OrderCard {
	tb.Helper()
	o, err := e.store.PlaceOrder(e.ctx, e.admin, "", gc.NewOrder{BillingName: "Staff", BillingEmail: "staff@shop.test",
		PaymentMethod: "cash", Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: amount}}})
	if err != nil {
		tb.Fatalf("place order: %v", err)
	}
	return o.Order.GiftCards[0]
}

func MustBalance(tb testing.TB, e *env, customerID string) int64 {
	tb.Helper()
	c, err := e.store.Customer(e.ctx, e.shop.ID, customerID)
	if err != nil {
		tb.Fatal(err)
	}
	return c.BalanceOf("USD")
}

// MustAudit fails the test on any broken invariant.
func MustAudit(tb testing.TB, e *env) gc.AuditReport {
	tb.Helper()
	r, err := e.store.Audit(e.ctx, e.shop.ID)
	if err != nil {
		tb.Fatalf("audit: %v", err)
	}
	if !r.OK() {
		tb.Fatalf("audit found breaches: %+v", r.Breaches)
	}
	return r
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := gc.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// snapshot is every item of the table, to prove a rejected operation
// changed nothing.
func (e *env) snapshot(tb testing.TB) string {
	tb.Helper()
	items, err := dynamo.DumpForTest(e.ctx, e.store)
	if err != nil {
		tb.Fatal(err)
	}
	return items
}

var errStop = errors.New("stop")

func ref(i int) string { return fmt.Sprintf("order-%03d", i) }

func errorsAs(err error, target **gc.Error) bool { return errors.As(err, target) }
