package bench

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// OverheadConfig sizes figure 2.
type OverheadConfig struct {
	// Iterations is the number of A/B pairs per operation (≥ 500).
	Iterations int
	// Chunk is how many iterations run on one ledger before the next
	// starts on a fresh server and table, keeping the table small.
	Chunk int
}

// overheadSamples are one operation's interleaved measurements.
type overheadSamples struct {
	handler Sample // A: the run through its handler
	own     Sample // A's time outside its DynamoDB calls
	aReads  Sample // A's read calls
	aWrite  Sample // A's TransactWriteItems
	write   Sample // B: the bare replay of its TransactWriteItems
	reads   Sample // the bare replay of its read requests
	all     Sample // the bare replay of all its writes (B and any after it)
	items   []int  // table sizes at the start and end of each chunk
	shape   string // the requests of one run
	txItems int    // items of the TransactWriteItems
}

// Overhead measures figure 2: each mutation through its handler (an API
// Gateway event in, the response out, in process) against the bare
// TransactWriteItems it sent, replayed with the same items on fresh keys
// on the same server, A and B interleaved (ABBA order, so that a table
// growing under both costs both the same).
func Overhead(ctx context.Context, ops []Op, cfg OverheadConfig) ([]Result, error) {
	var out []Result
	for _, op := range ops {
		s, err := overheadOf(ctx, op, cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op.Name, err)
		}
		out = append(out, overheadResults(op.Name, s)...)
	}
	return out, nil
}

func overheadOf(ctx context.Context, op Op, cfg OverheadConfig) (*overheadSamples, error) {
	s := &overheadSamples{}
	chunk := cfg.Chunk
	if op.Chunk > 0 && (chunk <= 0 || op.Chunk < chunk) {
		chunk = op.Chunk
	}
	if chunk <= 0 {
		chunk = cfg.Iterations
	}
	for done := 0; done < cfg.Iterations; done += chunk {
		if err := overheadChunk(ctx, op, min(chunk, cfg.Iterations-done), s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func overheadChunk(ctx context.Context, op Op, n int, s *overheadSamples) error {
	l, err := NewLedger(ctx, LedgerOptions{Process: true})
	if err != nil {
		return err
	}
	defer l.Close()
	prep, err := op.Setup(ctx, l)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	items, err := l.Items(ctx)
	if err != nil {
		return err
	}
	s.items = append(s.items, items)
	var last *Capture
	runA := func(run Run) (*Capture, error) {
		var d time.Duration
		calls, err := l.Rec.Record(func() error {
			t := time.Now()
			err := run(ctx)
			d = time.Since(t)
			return err
		})
		if err != nil {
			return nil, err
		}
		c, err := NewCapture(calls)
		if err != nil {
			return nil, err
		}
		var inCalls time.Duration
		for _, call := range calls {
			inCalls += call.Took
		}
		s.handler, s.own = append(s.handler, d), append(s.own, d-inCalls)
		var rd time.Duration
		for _, call := range c.Reads {
			rd += call.Took
		}
		s.aReads, s.aWrite = append(s.aReads, rd), append(s.aWrite, c.Writes[0].Took)
		return c, nil
	}
	// prepareB puts a replay's setup items and returns the timed replay.
	prepareB := func(c *Capture) (func() error, error) {
		rp := NewReplayer().Replay(c)
		if err := rp.Prepare(ctx, l.Client); err != nil {
			return nil, err
		}
		return func() error {
			var reads time.Duration
			for i := range c.Reads {
				t := time.Now()
				if err := c.Read(ctx, l.Client, i); err != nil {
					return err
				}
				reads += time.Since(t)
			}
			var write, all time.Duration
			for i := range rp.Writes {
				t := time.Now()
				if err := rp.Write(ctx, l.Client, i); err != nil {
					return err
				}
				d := time.Since(t)
				if i == 0 {
					write = d
				}
				all += d
			}
			s.write, s.reads, s.all = append(s.write, write), append(s.reads, reads), append(s.all, reads+all)
			return nil
		}, nil
	}
	// Each iteration first prepares (untimed) both runs, then times A and
	// B back to back: A first on even iterations, B first on odd ones,
	// replaying the previous iteration's capture.
	for i := range n {
		run, err := prep(ctx, i)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		if i%2 == 0 || last == nil {
			c, err := runA(run)
			if err != nil {
				return err
			}
			b, err := prepareB(c)
			if err != nil {
				return err
			}
			if err := b(); err != nil {
				return err
			}
			last = c
			continue
		}
		b, err := prepareB(last)
		if err != nil {
			return err
		}
		if err := b(); err != nil {
			return err
		}
		if last, err = runA(run); err != nil {
			return err
		}
	}
	s.shape, s.txItems = last.Describe(), last.WriteItems()
	items, err = l.Items(ctx)
	if err != nil {
		return err
	}
	s.items = append(s.items, items)
	return nil
}

// overheadTarget is figure 2's limit on handler ÷ bare write.
const overheadTarget = 1.15

func overheadResults(name string, s *overheadSamples) []Result {
	var out []Result
	common := func() map[string]any {
		return map[string]any{"iterations": len(s.handler), "tableItems": s.items, "requests": s.shape, "writeItems": s.txItems}
	}
	for _, q := range []struct {
		label string
		q     float64
	}{{"median", 0.5}, {"p99", 0.99}} {
		h, w, rw := s.handler.Quantile(q.q), s.write.Quantile(q.q), s.all.Quantile(q.q)
		reads := s.reads.Quantile(q.q)
		ratio := Ratio(float64(h), float64(w))
		r := Result{Name: fmt.Sprintf("handler overhead: %s, %s", name, q.label), Value: ratio, Unit: "× bare write",
			Target: fmt.Sprintf("≤ %.2f", overheadTarget), OK: ratio <= overheadTarget, Extra: common()}
		for k, v := range map[string]any{"handlerMs": Ms(h), "handlerOutsideCallsMs": Ms(s.own.Quantile(q.q)),
			"handlerReadsMs": Ms(s.aReads.Quantile(q.q)), "handlerWriteMs": Ms(s.aWrite.Quantile(q.q)),
			"bareWriteMs": Ms(w), "bareReadsMs": Ms(reads), "bareReadsAndWritesMs": Ms(rw),
			"ratioToBareReadsAndWrites": Ratio(float64(h), float64(rw))} {
			r.Extra[k] = v
		}
		if !r.OK {
			r.Reason = fmt.Sprintf("%s %.2f ms through the handler against %.2f ms for its TransactWriteItems alone: the handler also makes its read "+
				"(%.2f ms bare: every mutation reads before it writes, figure 1)", q.label, Ms(h), Ms(w), Ms(reads))
			if strings.Count(s.shape, "TransactWriteItems") > 1 || strings.Contains(s.shape, "UpdateItem") {
				r.Reason += " and a second write after it (an order's emails marked sent)"
			}
			r.Reason += fmt.Sprintf("; its own code outside DynamoDB calls takes %.2f ms, and against the same reads and writes replayed bare it is %.2f×",
				Ms(s.own.Quantile(q.q)), Ratio(float64(h), float64(rw)))
		}
		out = append(out, r)
	}
	// The handler's own cost: the same ratio against everything it sends,
	// replayed bare, which is what code in the handler can still change.
	h, rw := s.handler.Median(), s.all.Median()
	ratio := Ratio(float64(h), float64(rw))
	r := Result{Name: fmt.Sprintf("handler overhead vs its bare requests: %s, median", name), Value: ratio, Unit: "× bare reads+writes",
		Target: fmt.Sprintf("≤ %.2f", overheadTarget), OK: ratio <= overheadTarget, Extra: common()}
	r.Extra["handlerMs"], r.Extra["bareReadsAndWritesMs"], r.Extra["handlerOutsideCallsMs"] = Ms(h), Ms(rw), Ms(s.own.Median())
	if !r.OK {
		r.Reason = fmt.Sprintf("%.2f ms through the handler against %.2f ms for the same requests sent bare; its code outside the calls takes %.2f ms",
			Ms(h), Ms(rw), Ms(s.own.Median()))
	}
	return append(out, r)
}
