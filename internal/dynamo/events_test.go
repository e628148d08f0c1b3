package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/eventbus"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/schedule"
)

// busEnv is a ledger whose store publishes to the local bus stand-in,
// directly or through a fault proxy.
type busEnv struct {
	*env
	bus   *localaws.Bus
	fault *localaws.Fault
	pub   *eventbus.Bus
}

func newBusEnv(tb testing.TB, viaFault bool) *busEnv {
	tb.Helper()
	bus := localaws.StartBus()
	tb.Cleanup(bus.Close)
	endpoint := bus.URL()
	var fault *localaws.Fault
	if viaFault {
		var err error
		if fault, err = localaws.NewFault(strings.TrimPrefix(bus.URL(), "http://")); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(fault.Close)
		fault.Pass()
		endpoint = fault.URL()
	}
	pub := &eventbus.Bus{Client: localaws.NewEventsClient(endpoint), Name: "giftcredit-test", Attempts: 2, CallTimeout: 300 * time.Millisecond}
	e := newEnv(tb, dynamo.WithEvents(pub), dynamo.WithInlineEventPause(0))
	return &busEnv{env: e, bus: bus, fault: fault, pub: pub}
}

// published decodes the envelopes the bus received, oldest first.
func (b *busEnv) published(tb testing.TB) []gc.Event {
	tb.Helper()
	var out []gc.Event
	for _, be := range b.bus.Events() {
		if be.Source != eventbus.Source {
			tb.Errorf("source %q", be.Source)
		}
		var ev gc.Event
		if err := json.Unmarshal(be.Detail, &ev); err != nil {
			tb.Fatal(err)
		}
		if string(ev.Type) != be.DetailType {
			tb.Errorf("detail-type %q for a %s event", be.DetailType, ev.Type)
		}
		out = append(out, ev)
	}
	return out
}

// runPublisher runs the scheduled publisher at the env's time plus ahead.
func (b *busEnv) runPublisher(tb testing.TB, ahead time.Duration) schedule.Result {
	tb.Helper()
	p := &schedule.EventPublisher{Outbox: b.store, Bus: b.pub, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return b.clock.Now().Add(ahead) }}
	res, err := p.Handle(b.ctx, events.EventBridgeEvent{})
	if err != nil {
		tb.Fatalf("publisher: %v", err)
	}
	return res
}

func eventTypes(evs []gc.Event) []gc.EventType {
	out := []gc.EventType{}
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// TestEveryOperationEmitsItsEvents runs each operation that changes value
// (the credit expiry job's included) and checks the bus received exactly its events, with the right data,
// right after the write (the inline publish); then the scheduled
// publisher sends them all again (same ids, same content) and clears the
// markers, and every event validates against its schema.
func TestEveryOperationEmitsItsEvents(t *testing.T) {
	t.Parallel()
	b := newBusEnv(t, false)
	e := b.env
	ctx, a := e.ctx, e.admin
	cust := MustCustomer(t, e, "events@example.com")
	var card gc.OrderCard
	var creditTx gc.Transaction
	var hold gc.Hold
	var captureTx, promoID string
	var expiring gc.Transaction
	var expiresAt time.Time
	type step struct {
		name  string
		do    func(t *testing.T)
		want  []gc.EventType
		check func(t *testing.T, evs []gc.Event)
	}
	steps := []step{
		{"an order of two cards", func(t *testing.T) {
			o, err := e.store.PlaceOrder(ctx, a, "", gc.NewOrder{BillingName: "Staff", BillingEmail: "staff@shop.test",
				PaymentMethod: "cash", Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: 2500}, {Amount: 4000}}})
			if err != nil {
				t.Fatal(err)
			}
			card = o.Order.GiftCards[0]
		}, []gc.EventType{gc.EventGiftCardIssued, gc.EventGiftCardIssued}, func(t *testing.T, evs []gc.Event) {
			if d := evs[0].Data; d.CardID != card.ID || d.Amount != 2500 || *d.BalanceAfter != 2500 || d.OrderID == "" || d.Currency != "USD" {
				t.Errorf("issued = %+v", d)
			}
		}},
		{"a redemption", func(t *testing.T) {
			if _, err := e.store.Redeem(ctx, a, "", cust.ID, card.Code, ""); err != nil {
				t.Fatal(err)
			}
		}, []gc.EventType{gc.EventGiftCardRedeemed, gc.EventCreditGranted}, func(t *testing.T, evs []gc.Event) {
			if d := evs[0].Data; d.CardID != card.ID || d.CustomerID != cust.ID || d.Amount != 2500 || *d.BalanceAfter != 0 {
				t.Errorf("redeemed = %+v", d)
			}
			if d := evs[1].Data; d.CustomerID != cust.ID || d.Source != "redemption" || d.Amount != 2500 || *d.BalanceAfter != 2500 {
				t.Errorf("granted = %+v", d)
			}
		}},
		{"a direct credit", func(t *testing.T) { creditTx = MustCredit(t, e, cust.ID, 1000) },
			[]gc.EventType{gc.EventCreditGranted}, func(t *testing.T, evs []gc.Event) {
				if d := evs[0].Data; d.TransactionID != creditTx.ID || d.Source != "credit" || d.Amount != 1000 || *d.BalanceAfter != 3500 {
					t.Errorf("granted = %+v", d)
				}
			}},
		{"a credit application", func(t *testing.T) {
			if _, err := e.store.ApplyCredit(ctx, a, "", gc.CreditApplication{CustomerID: cust.ID, OrderRef: "web-1", AmountDue: 700, Currency: "USD"}); err != nil {
				t.Fatal(err)
			}
		}, []gc.EventType{gc.EventCreditApplied}, func(t *testing.T, evs []gc.Event) {
			if d := evs[0].Data; d.OrderRef != "web-1" || d.Amount != 700 || *d.BalanceAfter != 2800 {
				t.Errorf("applied = %+v", d)
			}
		}},
		{"an order that uses credit", func(t *testing.T) {
			if _, err := e.store.PlaceOrder(ctx, a, "", gc.NewOrder{CustomerID: cust.ID, BillingName: "Ana", BillingEmail: "ana@example.com",
				PaymentMethod: "card", Currency: "USD", Goods: []gc.OrderLine{{Description: "Tea", UnitPrice: 300, Quantity: 1}}}); err != nil {
				t.Fatal(err)
			}
		}, []gc.EventType{gc.EventCreditApplied}, func(t *testing.T, evs []gc.Event) {
			if d := evs[0].Data; d.OrderID == "" || d.Amount != 300 || *d.BalanceAfter != 2500 {
				t.Errorf("applied by an order = %+v", d)
			}
		}},
		{"a reversal", func(t *testing.T) {
			if _, err := e.store.Reverse(ctx, a, "", gc.Reversal{CustomerID: cust.ID, TransactionID: creditTx.ID, Reason: "typo"}); err != nil {
				t.Fatal(err)
			}
		}, []gc.EventType{gc.EventCreditReversed}, func(t *testing.T, evs []gc.Event) {
			if d := evs[0].Data; d.Reverses != creditTx.ID || d.Amount != -1000 || *d.BalanceAfter != 1500 {
				t.Errorf("reversed = %+v", d)
			}
		}},
		{"disabling a card", func(t *testing.T) {
			card = MustGiftCard(t, e, 900)
			MustDisable(t, e, card.ID)
		}, []gc.EventType{gc.EventGiftCardIssued, gc.EventGiftCardDisabled}, func(t *testing.T, evs []gc.Event) {
			if d := evs[1].Data; d.CardID != card.ID || d.Last4 != card.Last4 || *d.BalanceAfter != 900 {
				t.Errorf("disabled = %+v", d)
			}
		}},
		{"a hold on credit", func(t *testing.T) { hold = MustHold(t, e, creditHold(cust.ID, 1000)) },
			[]gc.EventType{gc.EventHoldCreated}, func(t *testing.T, evs []gc.Event) {
				if d := evs[0].Data; d.HoldID != hold.ID || d.CustomerID != cust.ID || d.Amount != 1000 || *d.BalanceAfter != 500 || *d.HeldAfter != 1000 {
					t.Errorf("hold = %+v", d)
				}
			}},
		{"a partial capture", func(t *testing.T) {
			h, err := e.store.CaptureHold(ctx, a, "", gc.HoldCapture{HoldID: hold.ID, Amount: 400})
			if err != nil {
				t.Fatal(err)
			}
			captureTx = h.Captures[0].TransactionID
		}, []gc.EventType{gc.EventHoldCaptured}, func(t *testing.T, evs []gc.Event) {
			if d := evs[0].Data; d.TransactionID != captureTx || d.Amount != 400 || *d.HeldAfter != 600 || d.CustomerID != cust.ID {
				t.Errorf("captured = %+v", d)
			}
		}},
		{"a final capture releases the rest", func(t *testing.T) {
			if _, err := e.store.CaptureHold(ctx, a, "", gc.HoldCapture{HoldID: hold.ID, Amount: 100, Final: true}); err != nil {
				t.Fatal(err)
			}
		}, []gc.EventType{gc.EventHoldCaptured, gc.EventHoldReleased}, func(t *testing.T, evs []gc.Event) {
			if d := evs[1].Data; d.Amount != 500 || *d.BalanceAfter != 1000 || *d.HeldAfter != 0 {
				t.Errorf("released = %+v", d)
			}
		}},
		{"a void", func(t *testing.T) {
			h := MustHold(t, e, creditHold(cust.ID, 200))
			if _, err := e.store.VoidHold(ctx, a, "", h.ID); err != nil {
				t.Fatal(err)
			}
		}, []gc.EventType{gc.EventHoldCreated, gc.EventHoldReleased}, nil},
		{"a refund", func(t *testing.T) {
			if _, err := e.store.Refund(ctx, a, "", gc.NewRefund{TransactionID: captureTx, Amount: 150, Currency: "USD"}); err != nil {
				t.Fatal(err)
			}
		}, []gc.EventType{gc.EventRefundCreated}, func(t *testing.T, evs []gc.Event) {
			if d := evs[0].Data; d.RefundOf != captureTx || d.Amount != 150 || d.CustomerID != cust.ID || *d.BalanceAfter != 1150 {
				t.Errorf("refund = %+v", d)
			}
		}},
		{"a promotion run grants and finishes", func(t *testing.T) {
			// Its grants are lots that expire in 30 days.
			days := int64(30)
			promoID = MustPromotion(t, e, func(p *gc.NewPromotion) { p.CreditExpiresInDays = &days }).ID
			MustOrder(t, e, cust.ID, "events@example.com", "USD", 5000)
			s := newService(e)
			for range 10 {
				if r := MustTick(t, s); r.RunsFinished > 0 {
					break
				}
			}
		}, []gc.EventType{gc.EventGiftCardIssued, gc.EventCreditGranted, gc.EventPromotionRunFinished}, func(t *testing.T, evs []gc.Event) {
			if d := evs[1].Data; d.Source != "promotion" || d.Amount != 1000 {
				t.Errorf("grant = %+v", d)
			}
			if d := evs[2].Data; d.PromotionID != promoID || *d.CreditsGranted != 1 || d.Amount != 1000 || d.RunID == "" {
				t.Errorf("run finished = %+v", d)
			}
		}},
		{"an expiring credit", func(t *testing.T) {
			expiresAt = e.now().Add(time.Hour).Truncate(time.Second)
			expiring = mustExpiringCredit(t, e, cust.ID, 300, expiresAt)
		}, []gc.EventType{gc.EventCreditGranted}, func(t *testing.T, evs []gc.Event) {
			if d := evs[0].Data; d.TransactionID != expiring.ID || d.Source != "credit" || d.Amount != 300 {
				t.Errorf("granted = %+v", d)
			}
		}},
		{"the expiry job expires it", func(t *testing.T) {
			before := MustBalance(t, e, cust.ID)
			// Its reminder is not sent at expiresAt: the job expires first.
			e.at(expiresAt.Add(time.Second))
			if r := runExpiry(t, e, nil); r.Counts["expired"] != 1 || r.Counts["reminded"] != 0 || r.Counts["failed"] != 0 {
				t.Fatalf("expiry job = %+v, want one lot expired", r.Counts)
			}
			if after := MustBalance(t, e, cust.ID); after != before-300 {
				t.Fatalf("balance %d after the expiry, want %d", after, before-300)
			}
		}, []gc.EventType{gc.EventCreditExpired}, func(t *testing.T, evs []gc.Event) {
			d := evs[0].Data
			if d.CustomerID != cust.ID || d.LotID != gc.LotID(expiring.ID) || d.Amount != 300 || d.Currency != "USD" ||
				d.BalanceAfter == nil || !strings.HasPrefix(d.TransactionID, "txn_") || d.TransactionID == expiring.ID {
				t.Errorf("expired = %+v", d)
			}
			if !evs[0].CreatedAt.After(expiresAt) {
				t.Errorf("expired at %v, before the lot's expiresAt %v", evs[0].CreatedAt, expiresAt)
			}
		}},
	}
	seen := 0
	for _, s := range steps {
		s.do(t)
		all := b.published(t)
		got := all[seen:]
		seen = len(all)
		if !reflect.DeepEqual(eventTypes(got), s.want) {
			t.Fatalf("%s: published %v, want %v", s.name, eventTypes(got), s.want)
		}
		for _, ev := range got {
			if ev.ShopID != e.shop.ID || !strings.HasPrefix(ev.ID, "evt_") {
				t.Errorf("%s: envelope %+v", s.name, ev)
			}
		}
		if s.check != nil {
			s.check(t, got)
		}
	}
	inline := b.published(t)
	MustAudit(t, e)

	// After the grace the scheduled publisher sends each again, then
	// clears the markers.
	r := b.runPublisher(t, 2*time.Minute)
	if r.Counts["published"] != len(inline) || r.Counts["failed"] != 0 {
		t.Errorf("publisher = %+v, want %d published", r.Counts, len(inline))
	}
	again := b.published(t)[len(inline):]
	byID := map[string]gc.Event{}
	for _, ev := range inline {
		byID[ev.ID] = ev
	}
	for _, ev := range again {
		first, ok := byID[ev.ID]
		if !ok || !reflect.DeepEqual(first, ev) {
			t.Errorf("republished %s differs from the inline event:\n%+v\n%+v", ev.ID, ev, first)
		}
	}
	if len(byID) != len(inline) {
		t.Errorf("inline events repeat ids: %d ids for %d events", len(byID), len(inline))
	}
	if r := b.runPublisher(t, 2*time.Minute); r.Counts["published"] != 0 {
		t.Errorf("a second run published %d: the markers were not cleared", r.Counts["published"])
	}
	validateAll(t, inline)
}

// validateAll checks every event against its schema in api/events, and
// that every type was seen.
func validateAll(t *testing.T, evs []gc.Event) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	schemas := map[gc.EventType]*jsonschema.Schema{}
	for _, typ := range gc.EventTypes {
		path := filepath.Join("..", "..", "api", "events", string(typ)+".json")
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("no schema for %s: %v", typ, err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := c.AddResource(path, doc); err != nil {
			t.Fatal(err)
		}
		if schemas[typ], err = c.Compile(path); err != nil {
			t.Fatalf("compile %s: %v", path, err)
		}
	}
	seen := map[gc.EventType]bool{}
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := schemas[ev.Type].Validate(inst); err != nil {
			t.Errorf("%s %s does not match its schema: %v\n%s", ev.Type, ev.ID, err, b)
		}
		// And no other type's schema takes it (each schema pins its type).
		for typ, s := range schemas {
			if typ != ev.Type && s.Validate(inst) == nil {
				t.Errorf("%s validates as %s", ev.ID, typ)
			}
		}
		seen[ev.Type] = true
	}
	for _, typ := range gc.EventTypes {
		if !seen[typ] {
			t.Errorf("no real %s event was validated", typ)
		}
	}
}

// TestABusOutageLosesNothing: while PutEvents hangs or refuses, every
// mutation still succeeds (the inline publish gives up within its
// budget); once the bus is back, the scheduled publisher sends every
// event, and events seen twice (a response lost after the bus took them)
// are the same event under the same id.
func TestABusOutageLosesNothing(t *testing.T) {
	t.Parallel()
	b := newBusEnv(t, true)
	e := b.env
	cust := MustCustomer(t, e, "outage@example.com")
	var want []gc.Event
	credit := func(amount int64) {
		start := time.Now()
		tx := MustCredit(t, e, cust.ID, amount)
		if d := time.Since(start); d > dynamo.InlineEventBudget+2*time.Second {
			t.Errorf("a credit took %v while the bus was down", d)
		}
		want = append(want, gc.TxEvents(e.shop.ID, tx)...)
	}
	credit(100) // bus up
	// Within the grace the scheduled publisher leaves it to the request.
	if r := b.runPublisher(t, 0); r.Counts["published"] != 0 {
		t.Errorf("the publisher took %d events inside the grace", r.Counts["published"])
	}
	b.fault.Hang()
	credit(200) // hung: the inline publish gives up at its budget
	b.fault.Swallow()
	credit(300) // the bus takes it, the answer is lost
	b.fault.Hang()
	// A store that pauses its inline publishing after a failure does not
	// wait for the hung bus at all.
	paused := dynamo.New(localaws.NewDynamoClient(e.dyn.URL(), nil), "giftcredit", dynamo.WithEvents(b.pub),
		dynamo.WithClock(e.clock.Now), dynamo.WithInlineEventPause(time.Hour))
	for i := range 3 {
		start := time.Now()
		tx, err := paused.Credit(e.ctx, e.admin, "", gc.DirectCredit{CustomerID: cust.ID, Amount: 10, Currency: "USD", PaymentType: "goodwill"})
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); i > 0 && d > dynamo.InlineEventBudget/2 {
			t.Errorf("credit %d waited %v for a bus that failed before", i, d)
		}
		want = append(want, gc.TxEvents(e.shop.ID, tx)...)
	}
	// The scheduled publisher during the outage leaves everything marked.
	if r := b.runPublisher(t, 2*time.Minute); r.Counts["changes"] != 0 || r.Counts["failed"] == 0 {
		t.Errorf("publisher during the outage = %+v", r.Counts)
	}
	b.fault.Pass()
	if r := b.runPublisher(t, 2*time.Minute); r.Counts["failed"] != 0 {
		t.Errorf("publisher after the outage = %+v", r.Counts)
	}
	got := b.published(t)
	ids := map[string]gc.Event{}
	for _, ev := range got {
		if first, ok := ids[ev.ID]; ok && !reflect.DeepEqual(first, ev) {
			t.Errorf("two different events share the id %s", ev.ID)
		}
		ids[ev.ID] = ev
	}
	for _, w := range want {
		if g, ok := ids[w.ID]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("event %s lost or changed: %+v", w.ID, g)
		}
	}
	if len(ids) != len(want) {
		t.Errorf("%d distinct events, want %d", len(ids), len(want))
	}
	if r := b.runPublisher(t, 2*time.Minute); r.Counts["published"] != 0 {
		t.Errorf("markers left after a clean run: %+v", r.Counts)
	}
	// A bus that refuses connections outright.
	refusing, err := localaws.NewFault("")
	if err != nil {
		t.Fatal(err)
	}
	defer refusing.Close()
	refusing.Pass()
	down := &eventbus.Bus{Client: localaws.NewEventsClient(refusing.URL()), Name: "giftcredit-test"}
	failed, err := down.Publish(e.ctx, want)
	if err == nil || len(failed) != len(want) {
		t.Errorf("a refusing bus: %d of %d failed, %v", len(failed), len(want), err)
	}
}

// TestPublishResendsOnlyFailedEntries: at most 10 entries a call, and the
// entries a call reports failed (only those) go again.
func TestPublishResendsOnlyFailedEntries(t *testing.T) {
	t.Parallel()
	bus := localaws.StartBus()
	defer bus.Close()
	pub := &eventbus.Bus{Client: localaws.NewEventsClient(bus.URL()), Name: "giftcredit-test"}
	var evs []gc.Event
	for i := range 23 {
		evs = append(evs, gc.Event{ID: fmt.Sprintf("evt_test_%d", i), Type: gc.EventCreditGranted, ShopID: "shp_1", CreatedAt: time.Now().UTC()})
	}
	bus.FailEntries(3)
	failed, err := pub.Publish(context.Background(), evs)
	if err != nil || len(failed) != 0 {
		t.Fatalf("publish: %d failed, %v", len(failed), err)
	}
	if calls := bus.Calls(); !reflect.DeepEqual(calls, []int{10, 3, 10, 3}) {
		t.Errorf("calls = %v, want [10 3 10 3]", calls)
	}
	seen := map[string]int{}
	for _, be := range bus.Events() {
		var ev gc.Event
		_ = json.Unmarshal(be.Detail, &ev)
		seen[ev.ID]++
	}
	for _, ev := range evs {
		if seen[ev.ID] != 1 {
			t.Errorf("%s published %d times", ev.ID, seen[ev.ID])
		}
	}
	// An entry that keeps failing comes back to the caller.
	bus.FailEntries(100)
	pub.Attempts = 2
	failed, err = pub.Publish(context.Background(), evs[:4])
	if err == nil || len(failed) != 4 {
		t.Errorf("a failing bus: %d failed, %v", len(failed), err)
	}
}
