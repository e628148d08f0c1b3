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

// CreditExpirer is what the credit expiry job needs of the store.
type CreditExpirer interface {
	// Shops lists every shop.
	Shops(ctx context.Context) ([]gc.Shop, error)
	// ExpiredLots lists up to limit lots of a shop expired at now that
	// the job is not done with (possibly a few just done: the list is
	// read from an eventually consistent index).
	ExpiredLots(ctx context.Context, shopID string, now time.Time, limit int) ([]gc.LotRef, error)
	// ExpireLot posts what is left of an expired lot exactly once.
	ExpireLot(ctx context.Context, shopID string, ref gc.LotRef) (gc.ExpiryOutcome, error)
	// NoticeLots lists up to limit lots of a shop expiring before until
	// whose reminder is still to be decided.
	NoticeLots(ctx context.Context, shopID string, until time.Time, limit int) ([]gc.LotRef, error)
	// NoticeLot writes a lot's reminder to the outbox once, when due, and
	// returns it (nil: none was due).
	NoticeLot(ctx context.Context, shop gc.Shop, ref gc.LotRef) (*gc.Email, error)
}

// CreditExpiry expires what is left of each lot of credit at its
// expiresAt (one expiry transaction per lot: the customer debited,
// breakage credited) and reminds customers expiryNoticeDays before. It
// keeps no state of its own: a lot it is done with leaves the expiry
// index, a lot reminded leaves the notice index, so a run that stops (out
// of time, or killed) leaves the rest for the next, and overlapping runs
// expire and remind each lot once (both writes are conditioned). The
// indexes are sharded by lot id; a shop's shards are read together.
type CreditExpiry struct {
	Store  CreditExpirer
	Mailer gc.Mailer
	Outbox gc.Outbox
	Logger *slog.Logger
	Now    func() time.Time
	// Batch is how many lots of a shop are listed at a time (default 100).
	Batch int
	// Reserve is kept free before the deadline (default DefaultReserve);
	// PerLot is the least time left to start a lot (default
	// DefaultPerLot).
	Reserve, PerLot time.Duration
}

// DefaultPerLot is the least time left to start a lot: a read, a write
// and, for a reminder, a send (sesmail bounds it to 10 s).
const DefaultPerLot = 12 * time.Second

// Handle runs once per schedule tick over every shop: expiries first, so
// a lot that has expired is not reminded.
func (j *CreditExpiry) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	now := j.Now().UTC()
	res := Result{Job: "credit-expiry", StartedAt: now, Counts: map[string]int{}}
	work, cancel := deadline.Reserve(ctx, cmp.Or(j.Reserve, DefaultReserve))
	defer cancel()
	shops, err := j.Store.Shops(work)
	if err != nil {
		return res, fmt.Errorf("credit expiry: %w", err)
	}
	for i, sh := range shops {
		if j.low(work) {
			res.Counts["deferred"] += len(shops) - i
			j.Logger.WarnContext(ctx, "credit expiry out of time", "shopsLeft", len(shops)-i)
			break
		}
		res.Counts["shops"]++
		if err := j.expireShop(ctx, work, sh.ID, now, &res); err != nil {
			return res, err
		}
		if err := j.remindShop(ctx, work, sh, now, &res); err != nil {
			return res, err
		}
	}
	j.Logger.InfoContext(ctx, "credit expiry run", "expired", res.Counts["expired"], "reminded", res.Counts["reminded"], "deferred", res.Counts["deferred"])
	return res, nil
}

func (j *CreditExpiry) low(ctx context.Context) bool {
	return deadline.Low(ctx, cmp.Or(j.PerLot, DefaultPerLot))
}

func (j *CreditExpiry) batch() int { return cmp.Or(j.Batch, 100) }

// eachDue walks the lots list returns, a page at a time, until a page
// brings nothing new or time runs short.
func (j *CreditExpiry) eachDue(ctx, work context.Context, list func() ([]gc.LotRef, error), do func(gc.LotRef), res *Result) error {
	seen := map[gc.LotRef]bool{}
	for {
		if j.low(work) {
			res.Counts["deferred"]++
			return nil
		}
		refs, err := list()
		if err != nil {
			return err
		}
		fresh := 0
		for _, r := range refs {
			if seen[r] {
				continue // still in the index a moment after its write
			}
			seen[r] = true
			fresh++
			if j.low(work) {
				res.Counts["deferred"]++
				return nil
			}
			do(r)
		}
		if len(refs) < j.batch() || fresh == 0 {
			return nil
		}
	}
}

func (j *CreditExpiry) expireShop(ctx, work context.Context, shopID string, now time.Time, res *Result) error {
	err := j.eachDue(ctx, work, func() ([]gc.LotRef, error) {
		return j.Store.ExpiredLots(work, shopID, now, j.batch())
	}, func(r gc.LotRef) {
		out, err := j.Store.ExpireLot(work, shopID, r)
		switch {
		case err != nil:
			res.Counts["failed"]++
			j.Logger.WarnContext(ctx, "lot not expired", "shop", shopID, "customer", r.CustomerID, "lot", r.Seq, "error", err.Error())
		case out.TransactionID != "":
			res.Counts["expired"]++
		case out.Done:
			res.Counts["spent"]++
		default:
			res.Counts["unchanged"]++
		}
	}, res)
	if err != nil {
		return fmt.Errorf("credit expiry: shop %s: %w", shopID, err)
	}
	return nil
}

func (j *CreditExpiry) remindShop(ctx, work context.Context, sh gc.Shop, now time.Time, res *Result) error {
	days := sh.NoticeDays()
	if days <= 0 {
		return nil
	}
	until := now.Add(time.Duration(days) * 24 * time.Hour)
	err := j.eachDue(ctx, work, func() ([]gc.LotRef, error) {
		return j.Store.NoticeLots(work, sh.ID, until, j.batch())
	}, func(r gc.LotRef) {
		e, err := j.Store.NoticeLot(work, sh, r)
		switch {
		case err != nil:
			res.Counts["failed"]++
			j.Logger.WarnContext(ctx, "lot not reminded", "shop", sh.ID, "customer", r.CustomerID, "lot", r.Seq, "error", err.Error())
		case e != nil:
			res.Counts["reminded"]++
			// Sent now; if SES fails it stays pending for the sender.
			if _, err := gc.Deliver(work, 0, j.Mailer, j.Outbox, sh.ID, []gc.Email{*e}); err != nil {
				j.Logger.WarnContext(ctx, "reminder left for the email sender", "shop", sh.ID, "error", err.Error())
			}
		}
	}, res)
	if err != nil {
		return fmt.Errorf("credit expiry: reminders of shop %s: %w", sh.ID, err)
	}
	return nil
}
