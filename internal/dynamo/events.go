package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/giftcredit/giftcredit/internal/deadline"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Events. A transaction's events are not items of their own: the
// transaction item, which the mutation writes anyway, carries a GSI3 key
// that marks it unpublished, in its shop's pending-events shard
// (EventShards, by the transaction id), so the TransactWriteItems gains no
// item and no key is shared by a shop's transactions. Its events are
// derived from it by the domain (gc.TxEvents), so the same transaction
// always yields the same event ids. The two changes that write no
// transaction (a card disabled, a promotion run finished, both rare) put
// an event item of their own, marked the same way, in their write.
//
// After the write the store publishes the events inline, within the
// request's budget, and leaves the marker: clearing it would be a second
// write request per mutation. The scheduled publisher (EventPublisher)
// reads the markers due (eventGrace after the change), publishes their
// events again and moves the markers to the published shard. Every event is
// therefore published at least once, normally twice; consumers dedupe on the id
// (webhook deliveries do, with a conditional write).

// EventShards spreads a shop's pending events. Each mutation writes one
// marker and the publisher removes it: two index writes per mutation on
// these partitions, so 32 shards keep each under 0.1 unit per mutation.
const EventShards = 32

// eventGrace is how long the scheduled publisher leaves a new change to
// the request that made it (whose inline publish usually succeeds).
const eventGrace = time.Minute

// InlineEventBudget bounds the inline publish after a write.
const InlineEventBudget = time.Second

func gsiPendingEvents(shopID, id string) string {
	return shopPrefix(shopID) + "EVENTS#" + shardOf(id, EventShards)
}

// gsiPublishedEvents is where a published change's marker moves: minidyn
// keeps an index entry whose key attributes were REMOVEd, so the marker
// moves out of the pending partitions instead, as sent mail does. GSI3
// projects keys only, so a published change costs its keys in the index.
func gsiPublishedEvents(shopID, id string) string {
	return shopPrefix(shopID) + "EVENTS#DONE#" + shardOf(id, EventShards)
}

func gsiAllPendingEvents(shopID string) []string {
	return shardKeys(shopPrefix(shopID)+"EVENTS", EventShards)
}

// WithEvents sets the publisher the store publishes a write's events to
// right after the write. Without one, events wait for the scheduled
// publisher.
func WithEvents(p gc.EventPublisher) Option { return func(s *Store) { s.events = p } }

// InlineEventPause is how long the store stops publishing inline after an
// inline publish failed: while the bus is down, each write would otherwise
// wait out the budget (a promotion run's grants one after another), and
// the scheduled publisher sends the events anyway.
const InlineEventPause = 30 * time.Second

// WithInlineEventPause replaces InlineEventPause (tests; 0: never pause).
func WithInlineEventPause(d time.Duration) Option { return func(s *Store) { s.eventPause = &d } }

// markEvents sets the pending-events marker on an item about to be put.
func markEvents(it item, shopID, id string, at time.Time) {
	it[attrGSI3PK] = avS(gsiPendingEvents(shopID, id))
	it[attrGSI3SK] = avS(fmtTime(at.Add(eventGrace)) + "#" + id)
}

// keyEvent is the item of an event whose change wrote no transaction (a
// card disabled, a promotion run finished): the few changes that are not
// transactions get one item more in their write.
func keyEvent(shopID, id string) key { return key{shopPrefix(shopID) + "EVENT#" + id, "EVENT"} }

// eventPut plans the event item of a change that is not a transaction.
func (s *Store) eventPut(shopID string, ev gc.Event) (action, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return action{}, fmt.Errorf("event %s: encode: %w", ev.ID, err)
	}
	it := keyEvent(shopID, ev.ID).av()
	it["id"] = avS(ev.ID)
	it["type"] = avS(string(ev.Type))
	it["event"] = avS(string(b))
	it["createdAt"] = avS(fmtTime(ev.CreatedAt))
	markEvents(it, shopID, ev.ID, ev.CreatedAt)
	act := s.putNew(it, nil)
	act.events = []gc.Event{ev}
	return act, nil
}

// publishInline publishes the events of a write that succeeded, within
// InlineEventBudget and the request's own deadline. A failure only
// leaves the events to the scheduled publisher.
func (s *Store) publishInline(ctx context.Context, evs []gc.Event) {
	if s.events == nil || len(evs) == 0 || deadline.Low(ctx, 100*time.Millisecond) ||
		time.Now().UnixNano() < s.eventsPausedUntil.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, InlineEventBudget)
	defer cancel()
	failed, err := s.events.Publish(ctx, evs)
	if err == nil {
		return
	}
	pause := InlineEventPause
	if s.eventPause != nil {
		pause = *s.eventPause
	}
	s.eventsPausedUntil.Store(time.Now().Add(pause).UnixNano())
	if s.logger != nil {
		s.logger.Warn("inline event publish", "events", len(evs), "failed", len(failed), "pausedFor", pause.String(), "error", err.Error())
	}
}

var _ gc.EventOutbox = (*Store)(nil)

// changeRef names a marked item and its marker: "<PK>\x00<SK>\x00<GSI3SK>".
func changeRef(it item) string {
	return it.s(attrPK) + "\x00" + it.s(attrSK) + "\x00" + it.s(attrGSI3SK)
}

// PendingEvents returns up to limit changes whose events are due for
// (re)publishing at now, from every events shard of every shop.
func (s *Store) PendingEvents(ctx context.Context, now time.Time, limit int) ([]gc.PendingChange, error) {
	shops, err := s.Shops(ctx)
	if err != nil {
		return nil, fmt.Errorf("pending events: %w", err)
	}
	var out []gc.PendingChange
	for _, sh := range shops {
		for _, pk := range gsiAllPendingEvents(sh.ID) {
			if len(out) >= limit {
				return out, nil
			}
			keys, err := s.queryIndex(ctx, indexGSI3, attrGSI3PK, attrGSI3SK, pk, fmtTime(now)+"#~", limit-len(out))
			if err != nil {
				return out, fmt.Errorf("pending events: %w", err)
			}
			// GSI3 projects keys only: the changes are read from the table.
			var items []item
			var ks []item
			for _, k := range keys {
				ks = append(ks, item{attrPK: k[attrPK], attrSK: k[attrSK]})
			}
			if err := s.batchGet(ctx, ks, "", nil, func(it item) (bool, error) {
				if it.s(attrGSI3PK) == pk {
					items = append(items, it)
				}
				return true, nil
			}); err != nil {
				return out, fmt.Errorf("pending events: %w", err)
			}
			sortByAttr(items, attrGSI3SK)
			for _, it := range items {
				evs, err := s.eventsOf(sh.ID, it)
				if err != nil {
					return out, err
				}
				out = append(out, gc.PendingChange{ShopID: sh.ID, Ref: changeRef(it), Events: evs})
			}
		}
	}
	return out, nil
}

// eventsOf derives the events of a marked item from the item alone.
func (s *Store) eventsOf(shopID string, it item) ([]gc.Event, error) {
	switch sk := it.s(attrSK); {
	case sk == "TX":
		tx, err := decodeTx(shopID, it)
		if err != nil {
			return nil, err
		}
		return gc.TxEvents(shopID, tx), nil
	case sk == "EVENT":
		var ev gc.Event
		if err := json.Unmarshal([]byte(it.s("event")), &ev); err != nil {
			return nil, fmt.Errorf("event %s: decode: %w", it.s("id"), err)
		}
		return []gc.Event{ev}, nil
	default:
		return nil, fmt.Errorf("pending events: item %s/%s has no events", it.s(attrPK), sk)
	}
}

// MarkPublished removes the marker of a change whose events were all
// published, conditioned on the marker read (a change is marked once).
func (s *Store) MarkPublished(ctx context.Context, c gc.PendingChange) error {
	parts := strings.Split(c.Ref, "\x00")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], shopPrefix(c.ShopID)) {
		return fmt.Errorf("mark published: not a change of shop %s: %q", c.ShopID, c.Ref)
	}
	_, id, _ := strings.Cut(parts[2], "#")
	err := s.updateOne(ctx, s.update(key{parts[0], parts[1]}, "SET "+attrGSI3PK+" = :done", attrGSI3SK+" = :sk AND "+attrGSI3PK+" <> :done", nil,
		item{":sk": avS(parts[2]), ":done": avS(gsiPublishedEvents(c.ShopID, id))},
		gc.Errorf(gc.ECONFLICT, "events of %s were marked published meanwhile", parts[0])))
	if gc.ErrorCode(err) == gc.ECONFLICT {
		return nil
	}
	return err
}

// queryIndex reads up to limit items (0: all) of one partition of index
// whose sort key is at most until, in sort-key order.
func (s *Store) queryIndex(ctx context.Context, index, pkAttr, skAttr, pk, until string, limit int) ([]item, error) {
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(index),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk <= :until"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkAttr, "#sk": skAttr},
		ExpressionAttributeValues: item{":pk": avS(pk), ":until": avS(until)}}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	var out []item
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", pk, err)
		}
		for _, it := range page.Items {
			out = append(out, it)
		}
		if limit > 0 && len(out) >= limit {
			return out[:limit], nil
		}
	}
	return out, nil
}

func sortByAttr(items []item, attr string) {
	sort.SliceStable(items, func(i, j int) bool { return items[i].s(attr) < items[j].s(attr) })
}
