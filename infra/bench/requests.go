package bench

import (
	"context"
	"fmt"
	"maps"
	"strings"
)

// RequestsOps are figure 1's operations: the mutations, and a grant of a
// guest order, whose customer the run found by email when it built the
// batch (one BatchGetItem a batch, not counted here).
func RequestsOps() []Op { return append(Mutations(), Grant(true)) }

// Requests measures figure 1: the DynamoDB requests one run of each
// operation makes, counted by SDK middleware, everything the handler does
// included (an order's emails are sent and marked sent, and every write's
// events published to the bus stand-in, which costs no DynamoDB request:
// the events ride on the transaction item). All operations share one
// small table.
func Requests(ctx context.Context, ops []Op) ([]Result, error) {
	l, err := NewLedger(ctx, LedgerOptions{Process: true, Events: true})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	var out []Result
	for _, op := range ops {
		prep, err := op.Setup(ctx, l)
		if err != nil {
			return nil, fmt.Errorf("%s: setup: %w", op.Name, err)
		}
		// The second run is the one counted: nothing of a first use
		// (an empty history, a fresh customer) can flatter it.
		var counts map[string]int
		var calls []Call
		var busCalls, busEvents int
		for i := range 2 {
			run, err := prep(ctx, i)
			if err != nil {
				return nil, fmt.Errorf("%s: prepare: %w", op.Name, err)
			}
			l.Rec.Reset()
			before, beforeEvents := len(l.Bus.Calls()), len(l.Bus.Events())
			if calls, err = l.Rec.Record(func() error { return run(ctx) }); err != nil {
				return nil, fmt.Errorf("%s: %w", op.Name, err)
			}
			counts = l.Rec.Counts()
			busCalls, busEvents = len(l.Bus.Calls())-before, len(l.Bus.Events())-beforeEvents
		}
		rs := requestsResult(op.Name, counts, calls)
		for i := range rs {
			rs[i].Extra["putEventsCalls"], rs[i].Extra["eventsPublished"] = busCalls, busEvents
		}
		out = append(out, rs...)
	}
	items, err := l.Items(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Extra["tableItems"] = items
	}
	return out, nil
}

// requestsResult is figure 1 for one operation: a row for its write
// requests and one for its read requests.
func requestsResult(name string, counts map[string]int, calls []Call) []Result {
	reads, writes, other := RequestCounts(counts)
	shape := DescribeCalls(calls)
	extra := func() map[string]any {
		return map[string]any{"reads": reads, "writes": writes, "other": other, "requests": maps.Clone(counts), "calls": shape}
	}
	w := Result{Name: "DynamoDB writes: " + name, Value: float64(writes), Unit: "requests", Target: "1 (a TransactWriteItems)",
		OK: writes == 1 && counts["TransactWriteItems"] == 1 && other == 0, Extra: extra()}
	if !w.OK {
		w.Reason = fmt.Sprintf("%d write requests: %s%s", writes, shape, explain(calls))
	}
	r := Result{Name: "DynamoDB reads: " + name, Value: float64(reads), Unit: "requests", Target: "≤ 1", OK: reads <= 1, Extra: extra()}
	if !r.OK {
		r.Reason = fmt.Sprintf("%d read requests: %s%s", reads, shape, explain(calls))
	}
	return []Result{w, r}
}

// explain names the known causes of extra requests, from the kinds of
// item they touch.
func explain(calls []Call) string {
	var notes []string
	writes := 0
	for _, c := range calls {
		kinds := strings.Join(itemKinds(c.Input), ",")
		switch {
		case writeOps[c.Op]:
			writes++
			if writes > 1 && strings.Trim(strings.ReplaceAll(kinds, "Update MAIL", ""), ",") == "" {
				notes = append(notes, "the second write marks the order's emails sent once SES has accepted them (the outbox), outside the ledger transaction")
			}
		case c.Op == "GetItem" && kinds == "EMAIL":
			notes = append(notes, "the extra read finds a guest order's customer by its billing email before the grant's read can name the customer")
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return "; " + strings.Join(notes, "; ")
}
