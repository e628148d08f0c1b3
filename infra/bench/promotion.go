package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// PromotionConfig sizes figure 6.
type PromotionConfig struct {
	// Orders qualifying orders are placed by Customers customers, each
	// with CardsPerOrder gift cards; with more than one card per order the
	// promotion is per card, so that every card earns a grant.
	Orders, CardsPerOrder, Customers int
	// Workers is the number of queue workers granting batches at once,
	// and of writers replaying them.
	Workers int
	// Progress, if not nil, receives a note per wave.
	Progress io.Writer
	// PartitionWrites adds figure 8 from the run's write requests.
	PartitionWrites bool
}

// promotionTarget is figure 6's floor on grants/s ÷ raw writes/s.
const promotionTarget = 0.8

// PromotionRun measures figure 6: a promotion run over cfg.Orders
// qualifying orders (the scheduled tick scans them into batches, queue
// workers grant the batches in parallel, the last one finishes the run)
// against the bare TransactWriteItems of its grants, replayed by as many
// parallel writers on fresh keys. The two alternate wave by wave on one
// server: the tick, then its inline grants replayed; then Workers batches
// granted, then their grants replayed; and so on. Each replay is deleted
// again before the run goes on, so both always see the same table.
func PromotionRun(ctx context.Context, cfg PromotionConfig) ([]Result, error) {
	cfg.Orders, cfg.CardsPerOrder = max(cfg.Orders, 1), max(cfg.CardsPerOrder, 1)
	cfg.Customers, cfg.Workers = max(cfg.Customers, 1), max(cfg.Workers, 1)
	// minidyn copies the whole table, emails included, on every
	// transaction: a shop without an admin address keeps the order
	// confirmations out of it.
	l, err := NewLedger(ctx, LedgerOptions{Process: true, NoAdminEmail: true})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	seedStart := time.Now()
	p, err := seedRun(ctx, l, cfg)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	progress(cfg.Progress, "figure 6: seeded %d orders in %s", cfg.Orders, time.Since(seedStart).Round(time.Millisecond))
	startItems, err := l.Items(ctx)
	if err != nil {
		return nil, err
	}
	rawClient := l.Dyn.NewClient(nil)
	calls := &taggedCalls{byTag: map[any][]Call{}}
	// Figure 8 counts the run's own write requests (the replays have a
	// client of their own), in the order they returned, after the run.
	var before []Item
	var writes []Call
	var writesMu sync.Mutex
	if cfg.PartitionWrites {
		if before, err = ScanItems(ctx, l.Client, Table); err != nil {
			return nil, err
		}
		l.Rec.Observe(func(c Call) {
			calls.add(c)
			if writeOps[c.Op] {
				writesMu.Lock()
				writes = append(writes, c)
				writesMu.Unlock()
			}
		})
	} else {
		l.Rec.Observe(calls.add)
	}
	defer l.Rec.Observe(nil)

	l.Rec.Reset()
	var waveTimes [][2]float64
	q := &collectingQueue{}
	svc := &promotion.Service{Store: l.Store, Queue: q, Composer: mail.NewComposer(Sender), InlineGrants: 1, ScanSteps: 1 << 20}
	var runTime, rawTime time.Duration
	var grants, batches, waves int
	replay := func(tags []any) error {
		var caps []*Capture
		for _, tag := range tags {
			cs, err := grantCaptures(calls.take(tag))
			if err != nil {
				return err
			}
			caps = append(caps, cs...)
		}
		d, err := replayParallel(ctx, rawClient, caps, cfg.Workers)
		rawTime += d
		return err
	}

	// The tick: the run starts, its orders are scanned into batches, the
	// first batch is granted inline and the others are queued.
	t := time.Now()
	rep, err := svc.Tick(WithTag(ctx, "tick"))
	if err != nil {
		return nil, fmt.Errorf("tick: %w", err)
	}
	runTime += time.Since(t)
	grants, batches = rep.Grants, rep.BatchesInline
	progress(cfg.Progress, "figure 6: tick %s (%d grants inline)", time.Since(t).Round(time.Millisecond), rep.Grants)
	if err := replay([]any{"tick"}); err != nil {
		return nil, err
	}
	for {
		msgs := q.take(cfg.Workers)
		if len(msgs) == 0 {
			break
		}
		waves++
		var mu sync.Mutex
		var errs []error
		var wg sync.WaitGroup
		tags := make([]any, len(msgs))
		t := time.Now()
		for i, m := range msgs {
			tags[i] = fmt.Sprintf("wave%d-%d", waves, i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := svc.Handle(WithTag(ctx, tags[i]), m)
				mu.Lock()
				defer mu.Unlock()
				grants += rep.Grants
				if m.Kind == promotion.KindBatch {
					batches++
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s message: %w", m.Kind, err))
				}
			}()
		}
		wg.Wait()
		wave := time.Since(t)
		runTime += wave
		if len(errs) > 0 {
			return nil, errs[0]
		}
		before := rawTime
		if err := replay(tags); err != nil {
			return nil, err
		}
		waveTimes = append(waveTimes, [2]float64{round3(wave.Seconds()), round3((rawTime - before).Seconds())})
		progress(cfg.Progress, "figure 6: wave %d: %d grants so far; run %s, raw %s", waves, grants, runTime.Round(time.Millisecond), rawTime.Round(time.Millisecond))
	}
	l.Rec.Observe(nil)
	// Every request of the run, per grant (the replays have a client of
	// their own): what the machinery costs beyond the grants' own read and
	// write, whatever the table's size.
	perGrant := map[string]float64{}
	for op, n := range l.Rec.Counts() {
		perGrant[op] = round3(float64(n) / float64(max(grants, 1)))
	}
	run, err := l.Store.Promotion(ctx, l.Shop.ID, p.ID)
	if err != nil {
		return nil, err
	}
	audit, err := l.Store.Audit(ctx, l.Shop.ID)
	if err != nil {
		return nil, err
	}
	endItems, err := l.Items(ctx)
	if err != nil {
		return nil, err
	}
	want := cfg.Orders * cfg.CardsPerOrder
	runRate := float64(grants) / runTime.Seconds()
	rawRate := float64(grants) / rawTime.Seconds()
	ratio := Ratio(runRate, rawRate)
	r := Result{Name: "promotion run: grants/s ÷ raw writes/s", Value: ratio, Unit: "×", Target: fmt.Sprintf("≥ %.1f", promotionTarget),
		OK: ratio >= promotionTarget && grants == want && audit.OK(),
		Extra: map[string]any{"grants": grants, "qualifyingOrders": cfg.Orders, "cardsPerOrder": cfg.CardsPerOrder, "customers": cfg.Customers,
			"workers": cfg.Workers, "batches": batches, "waves": waves, "grantsPerSecond": round3(runRate), "rawWritesPerSecond": round3(rawRate),
			"runSeconds": round3(runTime.Seconds()), "rawSeconds": round3(rawTime.Seconds()), "tableItems": []int{startItems, endItems},
			"budgetRemaining": p.BudgetRemaining, "budgetRemainingAfter": run.BudgetRemaining, "auditBreaches": len(audit.Breaches),
			"runRequestsPerGrant": perGrant, "waveRunAndRawSeconds": waveTimes}}
	switch {
	case grants != want:
		r.Reason = fmt.Sprintf("the run granted %d of %d candidates", grants, want)
	case !audit.OK():
		r.Reason = fmt.Sprintf("the audit after the run found %d breaches", len(audit.Breaches))
	case !r.OK:
		r.Reason = fmt.Sprintf("%.0f grants/s against %.0f raw transactional writes/s of the same items", runRate, rawRate)
	}
	out := []Result{r}
	if cfg.PartitionWrites {
		parts := NewPartitionCounter(TableIndexes(), before)
		for _, c := range writes {
			if w, ok := SDKWriteRequest(c); ok {
				parts.Add(w)
			}
		}
		now, err := ScanItems(ctx, l.Client, Table)
		if err != nil {
			return nil, err
		}
		mismatched, touched := parts.Mismatches(now)
		out = append(out, partitionFigure("promotion run", parts, grants, []string{l.Shop.ID}, mismatched, touched)...)
	}
	return out, nil
}

// seedRun places the qualifying orders ten minutes in the past (a run
// leaves the last minute's orders to the next one) and defines the
// promotion.
func seedRun(ctx context.Context, l *Ledger, cfg PromotionConfig) (gc.Promotion, error) {
	custs, err := customerPool(ctx, l, cfg.Customers, 0)
	if err != nil {
		return gc.Promotion{}, err
	}
	past := dynamo.New(l.Client, Table, dynamo.WithKeyring(l.Keyring), dynamo.WithComposer(mail.NewComposer(Sender)),
		dynamo.WithClock(func() time.Time { return time.Now().Add(-10 * time.Minute) }))
	cards := make([]gc.NewGiftCard, cfg.CardsPerOrder)
	for i := range cards {
		cards[i] = gc.NewGiftCard{Amount: 5000}
	}
	for i := range cfg.Orders {
		c := custs[i%len(custs)]
		if _, err := past.PlaceOrder(ctx, l.Admin, "", gc.NewOrder{CustomerID: c.ID, BillingName: "Bench Buyer", BillingEmail: c.Email,
			PaymentMethod: "cash", Currency: "USD", GiftCards: cards}); err != nil {
			return gc.Promotion{}, fmt.Errorf("place order: %w", err)
		}
	}
	per := gc.PerOrder
	if cfg.CardsPerOrder > 1 {
		per = gc.PerCard
	}
	perCustomer := (cfg.Orders*cfg.CardsPerOrder + cfg.Customers - 1) / cfg.Customers
	budget := int64(1_000_000_000)
	now := time.Now().UTC()
	return l.Store.CreatePromotion(ctx, l.Admin, "", gc.NewPromotion{Name: "Bench run", Currency: "USD",
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour), MinGiftCardAmount: 5000, CreditAmount: 500,
		Per: per, PerCustomerLimit: int64(perCustomer), Budget: &budget})
}

// taggedCalls keeps recorded calls by their context's tag.
type taggedCalls struct {
	mu    sync.Mutex
	byTag map[any][]Call
}

func (t *taggedCalls) add(c Call) {
	t.mu.Lock()
	t.byTag[c.Tag] = append(t.byTag[c.Tag], c)
	t.mu.Unlock()
}

func (t *taggedCalls) take(tag any) []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	cs := t.byTag[tag]
	delete(t.byTag, tag)
	return cs
}

// grantCaptures picks, from one goroutine's calls in order, every grant
// that was written: its TransactWriteItems (the one that puts a GRANT
// record) with the TransactGetItems it was decided on (the last before it).
func grantCaptures(calls []Call) ([]*Capture, error) {
	var out []*Capture
	var lastRead *Call
	for i, c := range calls {
		if c.Err != nil {
			continue
		}
		switch in := c.Input.(type) {
		case *dynamodb.TransactGetItemsInput:
			lastRead = &calls[i]
		case *dynamodb.TransactWriteItemsInput:
			isGrant := false
			for _, w := range in.TransactItems {
				if w.Put != nil && keyOf(w.Put.Item).SK == "GRANT" {
					isGrant = true
				}
			}
			if !isGrant {
				continue
			}
			if lastRead == nil {
				return nil, fmt.Errorf("a grant was written without a read before it")
			}
			cp, err := NewCapture([]Call{*lastRead, c})
			if err != nil {
				return nil, err
			}
			out = append(out, cp)
		}
	}
	return out, nil
}

// replayParallel replays captures on fresh keys (sharing the promotion
// item, as the grants did) with workers parallel writers, and returns the
// time the writes took. It goes in groups of a few captures per writer:
// a group's items are set up, its writes timed, and its items deleted
// again before the next group, so that the replay writes on a table the
// size the run wrote on (set-up and clean-up are not timed).
func replayParallel(ctx context.Context, client *dynamodb.Client, caps []*Capture, workers int) (time.Duration, error) {
	var total time.Duration
	group := 4 * workers
	for len(caps) > 0 {
		n := min(group, len(caps))
		d, err := replayGroup(ctx, client, caps[:n], workers)
		total += d
		if err != nil {
			return total, err
		}
		caps = caps[n:]
	}
	return total, nil
}

func replayGroup(ctx context.Context, client *dynamodb.Client, caps []*Capture, workers int) (time.Duration, error) {
	rr := NewReplayer("PROMO")
	replays := make([]*Replay, len(caps))
	for i, c := range caps {
		replays[i] = rr.Replay(c)
		if err := replays[i].Prepare(ctx, client); err != nil {
			return 0, err
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	t := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(replays); i += workers {
				for j := range replays[i].Writes {
					if err := replays[i].Write(ctx, client, j); err != nil {
						errs[w] = err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(t)
	for _, err := range errs {
		if err != nil {
			return d, err
		}
	}
	return d, rr.Cleanup(ctx, client)
}
