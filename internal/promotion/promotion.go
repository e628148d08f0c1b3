package promotion

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/giftcredit/giftcredit/internal/deadline"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Message is one unit of queued work, the body of a queue message.
type Message struct {
	// Kind is KindBatch (grant one batch) or KindScan (continue a run's scan).
	Kind        string `json:"kind"`
	ShopID      string `json:"shopId"`
	PromotionID string `json:"promotionId"`
	RunID       string `json:"runId"`
	// Seq is the batch's number (KindBatch only).
	Seq int `json:"seq,omitempty"`
}

// The kinds of messages.
const (
	KindBatch = "batch"
	KindScan  = "scan"
)

// Validate checks a decoded message.
func (m Message) Validate() error {
	if m.Kind != KindBatch && m.Kind != KindScan {
		return fmt.Errorf("promotion message: unknown kind %q", m.Kind)
	}
	if m.ShopID == "" || !gc.ValidID("pro", m.PromotionID) || !gc.ValidID("run", m.RunID) {
		return fmt.Errorf("promotion message: missing or malformed shop, promotion or run id")
	}
	if m.Kind == KindBatch && m.Seq < 1 {
		return fmt.Errorf("promotion message: batch number %d", m.Seq)
	}
	return nil
}

// Queue hands messages to workers, at least once each: a message may be
// delivered more than once, and Handle makes that harmless.
type Queue interface {
	// Send queues messages; an error means some may not have been queued.
	Send(ctx context.Context, msgs []Message) error
}

// Store is what runs need of the ledger's storage.
type Store interface {
	PromotionRuns
	// Shops lists every shop.
	Shops(ctx context.Context) ([]gc.Shop, error)
	// Shop returns a shop (ENOTFOUND).
	Shop(ctx context.Context, shopID string) (gc.Shop, error)
	// Promotion returns a promotion (ENOTFOUND).
	Promotion(ctx context.Context, shopID, id string) (gc.Promotion, error)
	// ListPromotions lists a shop's promotions.
	ListPromotions(ctx context.Context, shopID string, p gc.PageRequest) (gc.PromotionPage, error)
}

// Defaults of the Service's settings.
const (
	DefaultPageSize        = 100
	DefaultInlineGrants    = 250
	DefaultScanSteps       = 40
	DefaultReadAhead       = 10
	DefaultSettleLag       = time.Minute
	DefaultFollowUp        = 30 * 24 * time.Hour
	DefaultRedispatchAfter = 15 * time.Minute
	DefaultReserve         = 15 * time.Second
)

// CallReserve is how long before the invocation's deadline every DynamoDB
// and SQS call of a Tick or Handle must end: a dependency that never
// answers fails the call with time left to return, instead of the
// invocation being killed mid-batch. (Reserve, counted from this earlier
// deadline, is when no new step starts.)
const CallReserve = 2 * time.Second

// Service runs promotions. The scheduled function calls Tick; the queue's
// worker calls Handle for each message. Zero settings take the defaults.
type Service struct {
	Store Store
	// Queue receives the batches an invocation does not process itself, and
	// the continuation of long scans. Nil: every batch is processed inline,
	// and a scan that runs out of time resumes on the next tick.
	Queue Queue
	// Now is the business clock (run windows, follow-up); deadlines use the
	// context's.
	Now    func() time.Time
	Logger *slog.Logger
	// Composer composes the summary of a finished run (internal/mail).
	Composer gc.Composer
	// PageSize is how many orders (or waiting candidates) one step takes:
	// at most that many candidates per batch (per card: more). A batch is
	// the unit of the writes a run makes per batch rather than per grant
	// (doc.go, Scale), so it is not small.
	PageSize int
	// InlineGrants is how many candidates one invocation grants itself
	// before it sends the rest to the Queue (ignored without a Queue); a
	// negative value sends every batch to the Queue.
	InlineGrants int
	// ScanSteps is how many steps one invocation scans of one run before it
	// hands the scan to the Queue (ignored without a Queue).
	ScanSteps int
	// ReadAhead is how many pages of orders one read of the orders index
	// fetches (at most the steps this invocation has left): the steps then
	// cut their pages from it, so that the index's shards are queried once
	// for several steps instead of once a step.
	ReadAhead int
	// SettleLag keeps the newest orders for the next run.
	SettleLag time.Duration
	// FollowUp is how long after a promotion's end waiting guest orders
	// are still tried.
	FollowUp time.Duration
	// RedispatchAfter is how long a run whose scan is done may go without
	// progress before the scheduler hands out its outstanding batches again.
	RedispatchAfter time.Duration
	// Reserve is how close to the invocation's deadline no new step or
	// batch is started.
	Reserve time.Duration
}

// Report says what one Tick or Handle did, for logs and make invoke.
type Report struct {
	Promotions    int `json:"promotions"`
	Runs          int `json:"runs"`
	Steps         int `json:"steps"`
	BatchesInline int `json:"batchesInline"`
	BatchesQueued int `json:"batchesQueued"`
	Grants        int `json:"grants"`
	RunsFinished  int `json:"runsFinished"`
}

// errOutOfTime stops an invocation that is close to its deadline.
var errOutOfTime = errors.New("the invocation is close to its deadline")

// invocation is the allowance of one Tick or Handle.
type invocation struct {
	deadline   time.Time
	inlineLeft int
	report     Report
}

func (s *Service) start(ctx context.Context) *invocation {
	inv := &invocation{inlineLeft: or(s.InlineGrants, DefaultInlineGrants)}
	if s.InlineGrants < 0 {
		inv.inlineLeft = 0
	}
	if d, ok := ctx.Deadline(); ok {
		inv.deadline = d.Add(-cmp.Or(s.Reserve, DefaultReserve))
	}
	return inv
}

func (inv *invocation) outOfTime() bool {
	return !inv.deadline.IsZero() && !time.Now().Before(inv.deadline)
}

func or(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Tick starts or continues the run of every promotion that is due: active,
// started, and not past FollowUp after its end. A failure in one promotion
// does not keep the others from running; the failures are returned joined.
func (s *Service) Tick(ctx context.Context) (Report, error) {
	ctx, cancel := deadline.Reserve(ctx, CallReserve)
	defer cancel()
	inv := s.start(ctx)
	shops, err := s.Store.Shops(ctx)
	if err != nil {
		return inv.report, fmt.Errorf("promotion tick: %w", err)
	}
	var errs []error
	for _, shop := range shops {
		promos, err := s.promotions(ctx, shop.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("shop %s: %w", shop.ID, err))
			continue
		}
		for _, p := range promos {
			if err := s.advance(ctx, inv, shop, p); err != nil {
				errs = append(errs, fmt.Errorf("shop %s promotion %s: %w", shop.ID, p.ID, err))
			}
		}
	}
	return inv.report, errors.Join(errs...)
}

// promotions lists a shop's promotions that may need a run.
func (s *Service) promotions(ctx context.Context, shopID string) ([]gc.Promotion, error) {
	now := s.now()
	// Past the follow-up, a run that is still in progress is finished, for
	// a day; no new run starts.
	horizon := cmp.Or(s.FollowUp, DefaultFollowUp) + 24*time.Hour
	var due []gc.Promotion
	pr := gc.PageRequest{Limit: gc.MaxPageSize}
	for {
		page, err := s.Store.ListPromotions(ctx, shopID, pr)
		if err != nil {
			return nil, err
		}
		for _, p := range page.Promotions {
			if p.Status == gc.PromotionActive && !now.Before(p.StartsAt) && now.Before(p.EndsAt.Add(horizon)) {
				due = append(due, p)
			}
		}
		if page.NextCursor == "" {
			return due, nil
		}
		pr.Cursor = page.NextCursor
	}
}

// advance starts the promotion's next run (or finds the one in progress)
// and drives it as far as this invocation allows.
func (s *Service) advance(ctx context.Context, inv *invocation, shop gc.Shop, p gc.Promotion) error {
	inv.report.Promotions++
	now := s.now()
	var run gc.PromotionRun
	if now.Before(p.EndsAt.Add(cmp.Or(s.FollowUp, DefaultFollowUp))) {
		until := p.EndsAt
		if settled := now.Add(-cmp.Or(s.SettleLag, DefaultSettleLag)); settled.Before(until) {
			until = settled
		}
		r, ok, err := s.Store.StartRun(ctx, shop.ID, p.ID, until)
		if err != nil || !ok {
			return err
		}
		run = r
	} else {
		page, err := s.Store.PromotionRunHistory(ctx, shop.ID, p.ID, gc.PageRequest{Limit: 1})
		if err != nil || len(page.Runs) == 0 || page.Runs[0].Status != gc.RunRunning {
			return err
		}
		run = page.Runs[0]
	}
	return s.stopped(s.drive(ctx, inv, shop, p, run))
}

// stopped turns the reasons to stop driving a run for now into success.
func (s *Service) stopped(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrPromotionNotActive), errors.Is(err, errOutOfTime):
		s.log().Info("promotion run paused", "reason", err.Error())
		return nil
	}
	return err
}

// drive hands out the batches a killed invocation may not have, scans the
// run step by step (dispatching each new batch), then hands out batches
// stuck elsewhere and finishes the run if every batch is done.
func (s *Service) drive(ctx context.Context, inv *invocation, shop gc.Shop, p gc.Promotion, run gc.PromotionRun) error {
	if run.Status != gc.RunRunning {
		return nil
	}
	inv.report.Runs++
	saved := run.Dispatched
	for seq := run.Dispatched + 1; seq <= run.Batches; seq++ {
		if err := s.dispatch(ctx, inv, shop, p, run, seq, or(s.PageSize, DefaultPageSize)); err != nil {
			return err
		}
		run.Dispatched = seq
	}
	steps := 0
	var ahead readAhead
	for !run.ScanDone() {
		if inv.outOfTime() || (s.Queue != nil && steps >= or(s.ScanSteps, DefaultScanSteps)) {
			return s.continueLater(ctx, shop, run, saved)
		}
		pages := or(s.ReadAhead, DefaultReadAhead)
		if s.Queue != nil {
			pages = min(pages, or(s.ScanSteps, DefaultScanSteps)-steps)
		}
		step, err := s.scan(ctx, shop, p, run, &ahead, pages)
		if err != nil {
			return err
		}
		step.Dispatched = run.Dispatched
		next, err := s.Store.SaveRunStep(ctx, shop.ID, run, step)
		if gc.ErrorCode(err) == gc.ECONFLICT {
			// Another invocation drives this run; leave it to it.
			return nil
		} else if err != nil {
			return err
		}
		run, saved = next, step.Dispatched
		steps++
		inv.report.Steps++
		if len(step.Candidates) > 0 {
			if err := s.dispatch(ctx, inv, shop, p, run, run.Batches, len(step.Candidates)); err != nil {
				return err
			}
			run.Dispatched = run.Batches
		}
	}
	if run.Dispatched != saved {
		if err := s.Store.TouchRun(ctx, shop.ID, run); err != nil {
			return err
		}
	}
	// Read the run again: batches were done here or by workers meanwhile.
	run, err := s.Store.Run(ctx, shop.ID, p.ID, run.ID)
	if err != nil {
		return err
	}
	if run.Status == gc.RunRunning && !run.Complete() &&
		(s.Queue == nil || !s.now().Before(run.UpdatedAt.Add(cmp.Or(s.RedispatchAfter, DefaultRedispatchAfter)))) {
		if run, err = s.redispatch(ctx, inv, shop, p, run); err != nil {
			return err
		}
	}
	return s.finish(ctx, inv, shop, p, run)
}

// readAhead holds the orders one read of the index returned beyond the
// steps already cut from it: at is the run's cursor they follow, next the
// cursor after the last of them ("" if the window ends there).
type readAhead struct {
	at, next string
	orders   []gc.Order
}

// scan takes the run's next page and turns it into a step. In the orders
// phase the page is cut from what was read ahead, and when that is used up
// (or the run's cursor is not where it ends) pages pages are read at once;
// the orders keep the index's time order, and each step's cursor is the
// position after its last order, so a step saved and then interrupted
// resumes exactly as if each page had been read alone.
func (s *Service) scan(ctx context.Context, shop gc.Shop, p gc.Promotion, run gc.PromotionRun, ahead *readAhead, pages int) (RunStep, error) {
	limit := or(s.PageSize, DefaultPageSize)
	var step RunStep
	switch run.Phase {
	case gc.PhaseOrders:
		if len(ahead.orders) == 0 || ahead.at != run.Cursor {
			orders, next, err := s.Store.RunOrders(ctx, shop.ID, run, limit*max(pages, 1))
			if err != nil {
				return step, err
			}
			*ahead = readAhead{at: run.Cursor, next: next, orders: orders}
		}
		n := min(limit, len(ahead.orders))
		orders := ahead.orders[:n]
		ahead.orders = ahead.orders[n:]
		next := ahead.next
		if len(ahead.orders) > 0 {
			next = s.Store.OrderCursor(orders[n-1])
		}
		ahead.at = next
		for _, o := range orders {
			cands, skips := Candidates(p, o)
			step.Candidates = append(step.Candidates, cands...)
			step.Counts.Add(skips)
		}
		step.Counts.OrdersExamined = int64(len(orders))
		step.Cursor, step.PhaseDone = next, next == ""
	case gc.PhaseWaiting:
		cands, next, err := s.Store.RunWaiting(ctx, shop.ID, run, limit)
		if err != nil {
			return step, err
		}
		step.Candidates = cands
		step.Counts.Reexamined = int64(len(cands))
		step.Cursor, step.PhaseDone = next, next == ""
	default:
		return step, fmt.Errorf("scan: run %s is in phase %s", run.ID, run.Phase)
	}
	// The batch's guest orders find their customers here, all at once,
	// so that a grant reads once.
	if err := s.Store.ResolveGuests(ctx, shop.ID, step.Candidates); err != nil {
		return step, err
	}
	return step, nil
}

// dispatch processes a batch inline while the invocation's allowance lasts
// (always, without a queue), else queues it.
func (s *Service) dispatch(ctx context.Context, inv *invocation, shop gc.Shop, p gc.Promotion, run gc.PromotionRun, seq, size int) error {
	m := Message{Kind: KindBatch, ShopID: shop.ID, PromotionID: p.ID, RunID: run.ID, Seq: seq}
	if s.Queue == nil || (inv.inlineLeft >= size && !inv.outOfTime()) {
		if inv.outOfTime() {
			return errOutOfTime
		}
		inv.inlineLeft -= size
		inv.report.BatchesInline++
		return s.process(ctx, inv, shop, p, m)
	}
	if err := s.Queue.Send(ctx, []Message{m}); err != nil {
		return fmt.Errorf("queue batch %d of run %s: %w", seq, run.ID, err)
	}
	inv.report.BatchesQueued++
	return nil
}

// continueLater records what was handed out and, with a queue, hands the
// rest of the scan to a worker; without one the next tick resumes it.
func (s *Service) continueLater(ctx context.Context, shop gc.Shop, run gc.PromotionRun, saved int) error {
	if run.Dispatched != saved {
		if err := s.Store.TouchRun(ctx, shop.ID, run); err != nil {
			return err
		}
	}
	if s.Queue == nil {
		return errOutOfTime
	}
	m := Message{Kind: KindScan, ShopID: shop.ID, PromotionID: run.PromotionID, RunID: run.ID}
	if err := s.Queue.Send(ctx, []Message{m}); err != nil {
		return fmt.Errorf("queue the scan of run %s: %w", run.ID, err)
	}
	return nil
}

// redispatch hands out again every batch of the run that is not done.
func (s *Service) redispatch(ctx context.Context, inv *invocation, shop gc.Shop, p gc.Promotion, run gc.PromotionRun) (gc.PromotionRun, error) {
	seqs, err := s.Store.OutstandingBatches(ctx, shop.ID, run)
	if err != nil || len(seqs) == 0 {
		return run, err
	}
	s.log().Info("promotion run: handing out outstanding batches again", "shop", shop.ID, "promotion", p.ID, "run", run.ID, "batches", len(seqs))
	for _, seq := range seqs {
		if err := s.dispatch(ctx, inv, shop, p, run, seq, or(s.PageSize, DefaultPageSize)); err != nil {
			return run, err
		}
	}
	run.Dispatched = run.Batches
	if err := s.Store.TouchRun(ctx, shop.ID, run); err != nil {
		return run, err
	}
	return s.Store.Run(ctx, shop.ID, p.ID, run.ID)
}

// Handle does one queued unit of work. It is safe to call with the same
// message any number of times, concurrently. A message for a paused
// promotion is dropped: the scheduler hands its batch out again once the
// promotion is resumed.
func (s *Service) Handle(ctx context.Context, m Message) (Report, error) {
	ctx, cancel := deadline.Reserve(ctx, CallReserve)
	defer cancel()
	inv := s.start(ctx)
	if err := m.Validate(); err != nil {
		return inv.report, err
	}
	shop, err := s.Store.Shop(ctx, m.ShopID)
	if err != nil {
		return inv.report, err
	}
	p, err := s.Store.Promotion(ctx, m.ShopID, m.PromotionID)
	if err != nil {
		return inv.report, err
	}
	if p.Status != gc.PromotionActive {
		return inv.report, nil
	}
	switch m.Kind {
	case KindBatch:
		err = s.process(ctx, inv, shop, p, m)
	default:
		var run gc.PromotionRun
		if run, err = s.Store.Run(ctx, m.ShopID, m.PromotionID, m.RunID); err == nil {
			err = s.drive(ctx, inv, shop, p, run)
		}
	}
	return inv.report, s.stopped(err)
}

// process leases the batch's share of the budget, grants its candidates,
// marks it done with its counts (returning what is left of the lease) and
// finishes the run if that was its last batch.
func (s *Service) process(ctx context.Context, inv *invocation, shop gc.Shop, p gc.Promotion, m Message) error {
	b, err := s.Store.Batch(ctx, shop.ID, m.PromotionID, m.RunID, m.Seq)
	if err != nil {
		return err
	}
	if !b.Done {
		if p.Budget != nil {
			// Once per batch, whoever processes it: the grants are paid from
			// this lease, and CompleteBatch returns what is left of it.
			if err := s.Store.LeaseBudget(ctx, shop.ID, p, b); err != nil {
				return fmt.Errorf("batch %d of run %s: %w", b.Seq, b.RunID, err)
			}
		}
		var counts gc.RunCounts
		for i, c := range b.Candidates {
			out, err := s.Store.Grant(ctx, GrantRequest{Shop: shop, Promotion: p, RunID: b.RunID, Candidate: c, Waiting: b.Waiting, Seq: b.Seq,
				Index: i, BatchSize: len(b.Candidates)})
			if err != nil {
				return fmt.Errorf("batch %d of run %s, order %s: %w", b.Seq, b.RunID, c.OrderID, err)
			}
			Record(&counts, out)
			if out.Granted {
				inv.report.Grants++
			}
			switch {
			case !b.Waiting && out.Skip == gc.SkipNoCustomer:
				err = s.Store.AddWaiting(ctx, shop.ID, p.ID, b.RunID, p.Per, c)
			case b.Waiting && !out.Granted && out.Skip != gc.SkipNoCustomer:
				// Skipped for good (limit, budget, disabled card): stop waiting.
				err = s.Store.ResolveWaiting(ctx, shop.ID, p.ID, p.Per, c)
			}
			if err != nil {
				return err
			}
		}
		if _, err := s.Store.CompleteBatch(ctx, shop.ID, b, counts); err != nil {
			return err
		}
	}
	run, err := s.Store.Run(ctx, shop.ID, p.ID, m.RunID)
	if err != nil {
		return err
	}
	return s.finish(ctx, inv, shop, p, run)
}

// finish ends a run whose every batch is done, with its summary, once.
func (s *Service) finish(ctx context.Context, inv *invocation, shop gc.Shop, p gc.Promotion, run gc.PromotionRun) error {
	if run.Status != gc.RunRunning || !run.Complete() {
		return nil
	}
	var summary *gc.Email
	if shop.AdminEmail != "" && (run.Counts.OrdersExamined > 0 || run.Counts.CreditsGranted > 0) {
		e, err := s.Composer.PromotionSummaryEmail(shop, p, run)
		if err != nil {
			return fmt.Errorf("compose the summary of run %s: %w", run.ID, err)
		}
		summary = &e
	}
	finished, err := s.Store.FinishRun(ctx, shop.ID, run, summary)
	if err != nil || !finished {
		return err
	}
	inv.report.RunsFinished++
	s.log().Info("promotion run finished", "shop", shop.ID, "promotion", p.ID, "run", run.ID,
		"ordersExamined", run.Counts.OrdersExamined, "reexamined", run.Counts.Reexamined,
		"creditsGranted", run.Counts.CreditsGranted, "amountGranted", run.Counts.AmountGranted, "batches", run.Batches)
	return nil
}
