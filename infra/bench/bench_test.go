package bench

import (
	"context"
	"os"
	"testing"
)

// TestMain lets the test binary serve minidyn as a child process of
// itself (StartDynamoProcess), as the bench command does.
func TestMain(m *testing.M) {
	MaybeServeDynamo()
	os.Exit(m.Run())
}

// BenchmarkMutation is figure 2 in Go's harness: each mutation through
// its handler, and the bare TransactWriteItems it sends replayed on fresh
// keys, for benchstat. Each sub-benchmark has its own server and table,
// which grows with b.N: compare runs of the same -benchtime, e.g.
//
//	go test -run '^$' -bench Mutation -benchtime 200x -count 6 ./infra/bench | tee new.txt
//	benchstat old.txt new.txt
func BenchmarkMutation(b *testing.B) {
	for _, op := range Mutations() {
		b.Run(op.Name+"/handler", func(b *testing.B) { benchHandler(b, op) })
		b.Run(op.Name+"/bare-write", func(b *testing.B) { benchBare(b, op) })
	}
}

func benchLedger(b *testing.B, op Op) (*Ledger, Prepare) {
	b.Helper()
	ctx := context.Background()
	l, err := NewLedger(ctx, LedgerOptions{Process: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.Close)
	prep, err := op.Setup(ctx, l)
	if err != nil {
		b.Fatal(err)
	}
	return l, prep
}

func benchHandler(b *testing.B, op Op) {
	ctx := context.Background()
	l, prep := benchLedger(b, op)
	l.Rec.Reset()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		run, err := prep(ctx, i)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reads, writes, _ := RequestCounts(l.Rec.Counts())
	b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
}

func benchBare(b *testing.B, op Op) {
	ctx := context.Background()
	l, prep := benchLedger(b, op)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		run, err := prep(ctx, i)
		if err != nil {
			b.Fatal(err)
		}
		calls, err := l.Rec.Record(func() error { return run(ctx) })
		if err != nil {
			b.Fatal(err)
		}
		c, err := NewCapture(calls)
		if err != nil {
			b.Fatal(err)
		}
		rp := NewReplayer().Replay(c)
		if err := rp.Prepare(ctx, l.Client); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := rp.Write(ctx, l.Client, 0); err != nil {
			b.Fatal(err)
		}
	}
}
