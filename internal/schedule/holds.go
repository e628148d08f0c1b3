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

// HoldReleaser is what the hold release job needs of the store.
type HoldReleaser interface {
	// Shops lists every shop.
	Shops(ctx context.Context) ([]gc.Shop, error)
	// ExpiredHolds lists up to limit ids of a shop's holds still held
	// and expired at now (possibly a few just closed: the list is read
	// from an eventually consistent index).
	ExpiredHolds(ctx context.Context, shopID string, now time.Time, limit int) ([]string, error)
	// ReleaseHold releases an expired hold exactly once; a hold that is
	// closed or not yet expired is returned unchanged.
	ReleaseHold(ctx context.Context, shopID, holdID string) (gc.Hold, error)
}

// HoldRelease releases expired holds: what a hold still holds goes back
// to the customer's credit or the card, by one release transaction per
// hold. It keeps no state of its own: a released hold leaves the list of
// open holds, so a run that stops (out of time, or killed) leaves the
// rest for the next, and two overlapping runs release each hold once
// (ReleaseHold is conditioned on the hold's version).
type HoldRelease struct {
	Store  HoldReleaser
	Logger *slog.Logger
	Now    func() time.Time
	// Batch is how many holds of a shop are listed at a time (default 100).
	Batch int
	// Reserve is kept free before the deadline (default DefaultReserve);
	// PerHold is the least time left to start a release (default
	// DefaultPerHold).
	Reserve, PerHold time.Duration
}

// DefaultPerHold is the least time left to start releasing a hold: three
// requests to DynamoDB.
const DefaultPerHold = 2 * time.Second

// Handle runs once per schedule tick over every shop.
func (j *HoldRelease) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	now := j.Now()
	res := Result{Job: "hold-release", StartedAt: now, Counts: map[string]int{}}
	batch := j.Batch
	if batch == 0 {
		batch = 100
	}
	work, cancel := deadline.Reserve(ctx, cmp.Or(j.Reserve, DefaultReserve))
	defer cancel()
	shops, err := j.Store.Shops(work)
	if err != nil {
		return res, fmt.Errorf("hold release: %w", err)
	}
	for i, sh := range shops {
		if deadline.Low(work, cmp.Or(j.PerHold, DefaultPerHold)) {
			// Out of time: the shops not reached are left to the next run.
			res.Counts["deferred"] += len(shops) - i
			j.Logger.WarnContext(ctx, "hold release out of time", "shopsLeft", len(shops)-i)
			break
		}
		res.Counts["shops"]++
		if err := j.releaseShop(ctx, work, sh.ID, now, batch, &res); err != nil {
			return res, err
		}
	}
	j.Logger.InfoContext(ctx, "hold release run", "released", res.Counts["released"], "deferred", res.Counts["deferred"])
	return res, nil
}

func (j *HoldRelease) releaseShop(ctx, work context.Context, shopID string, now time.Time, batch int, res *Result) error {
	seen := map[string]bool{}
	for {
		if deadline.Low(work, cmp.Or(j.PerHold, DefaultPerHold)) {
			res.Counts["deferred"]++
			j.Logger.WarnContext(ctx, "hold release out of time", "shop", shopID)
			return nil
		}
		ids, err := j.Store.ExpiredHolds(work, shopID, now, batch)
		if err != nil {
			return fmt.Errorf("hold release: shop %s: %w", shopID, err)
		}
		fresh := 0
		for _, id := range ids {
			if seen[id] {
				continue // still in the index a moment after its release
			}
			seen[id] = true
			fresh++
			if deadline.Low(work, cmp.Or(j.PerHold, DefaultPerHold)) {
				res.Counts["deferred"]++
				return nil
			}
			h, err := j.Store.ReleaseHold(work, shopID, id)
			switch {
			case err != nil:
				res.Counts["failed"]++
				j.Logger.WarnContext(ctx, "hold not released", "shop", shopID, "hold", id, "error", err.Error())
			case h.Status == gc.HoldExpired:
				res.Counts["released"]++
			default:
				res.Counts["unchanged"]++
			}
		}
		if len(ids) < batch || fresh == 0 {
			return nil
		}
	}
}
