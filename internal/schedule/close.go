package schedule

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/internal/deadline"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// DailyCloser is what the daily close needs of the store.
type DailyCloser interface {
	// Shops lists every shop.
	Shops(ctx context.Context) ([]gc.Shop, error)
	// DueDays lists the shop's days due to close at now, oldest first.
	DueDays(ctx context.Context, sh gc.Shop, now time.Time) ([]string, error)
	// CloseDay closes the shop's next day exactly once, or stores where it
	// got to (Checkpointed) when ctx has less than need left.
	CloseDay(ctx context.Context, sh gc.Shop, day string, need time.Duration) (gc.CloseOutcome, error)
}

// DailyClose folds each shop's days, once they have ended (and their
// grace passed), into the per-day totals of the liability report. It
// keeps its state in the table: a run that stops (out of time, killed)
// leaves checkpoints that the next goes on from, and overlapping runs
// close each day once.
type DailyClose struct {
	Store  DailyCloser
	Logger *slog.Logger
	Now    func() time.Time
	// Reserve is kept free before the deadline (default DefaultReserve);
	// PerPage is the least time left to read and fold one more page of a
	// shard (default DefaultPerPage).
	Reserve, PerPage time.Duration
}

// DefaultPerPage is the least time left to read a page of a day's
// transactions (500 items) and, if it is the last, write the day.
const DefaultPerPage = 3 * time.Second

// Handle runs once per schedule tick over every shop, starting one shop
// further each hour so that a shop late in the list is not always the
// one left for the next run.
func (j *DailyClose) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	now := j.Now()
	res := Result{Job: "daily-close", StartedAt: now, Counts: map[string]int{}}
	work, cancel := deadline.Reserve(ctx, cmp.Or(j.Reserve, DefaultReserve))
	defer cancel()
	need := cmp.Or(j.PerPage, DefaultPerPage)
	shops, err := j.Store.Shops(work)
	if err != nil {
		return res, fmt.Errorf("daily close: %w", err)
	}
	failed := 0
	for i := range shops {
		sh := shops[(i+int(now.Unix()/3600))%len(shops)]
		if deadline.Low(work, need) {
			res.Counts["deferred"] += len(shops) - i
			j.Logger.WarnContext(ctx, "daily close out of time", "shopsLeft", len(shops)-i)
			break
		}
		res.Counts["shops"]++
		if err := j.closeShop(ctx, work, sh, now, need, &res); err != nil {
			// One shop's failure (a transaction the fold refuses) must not
			// stop the others; the run fails at the end so the alarm sees it.
			failed++
			res.Counts["failed"]++
			j.Logger.ErrorContext(ctx, "daily close failed", "shop", sh.ID, "error", err.Error())
		}
	}
	j.Logger.InfoContext(ctx, "daily close run", "closed", res.Counts["closed"], "checkpointed", res.Counts["checkpointed"], "failed", failed)
	if failed > 0 {
		return res, fmt.Errorf("daily close: %d shops failed", failed)
	}
	return res, nil
}

func (j *DailyClose) closeShop(ctx, work context.Context, sh gc.Shop, now time.Time, need time.Duration, res *Result) error {
	days, err := j.Store.DueDays(work, sh, now)
	if err != nil {
		return err
	}
	for _, day := range days {
		if deadline.Low(work, need) {
			res.Counts["deferred"]++
			return nil
		}
		out, err := j.Store.CloseDay(work, sh, day, need)
		switch {
		case err != nil:
			return err
		case out.Checkpointed:
			res.Counts["checkpointed"]++
			j.Logger.WarnContext(ctx, "daily close checkpointed", "shop", sh.ID, "day", day)
			return nil
		case out.AlreadyClosed:
			res.Counts["closed_elsewhere"]++
		default:
			res.Counts["closed"]++
			res.Counts["transactions"] += out.Transactions
		}
	}
	return nil
}
