// Command bench runs giftcredit's benchmark figures (`make bench`), prints
// a table and writes results.json. Run it from the module root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/giftcredit/giftcredit/infra/bench"
)

func main() {
	bench.MaybeServeDynamo()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "infra/bench/results.json", "where to write the results")
	figures := flag.String("figures", "1,2,3,4,5,6,7,8,9", "the figures to measure (7 comes with 5; 8 runs 5 and 6)")
	goCmd := flag.String("go", "go", "the go command that builds the functions")
	buildDir := flag.String("build-dir", ".local/bench", "where to build the function binaries")
	buildFlags := flag.String("build-flags", bench.DefaultBuildFlags, "go build flags of the functions (the Makefile's GOFLAGS_LAMBDA)")
	iters := flag.Int("overhead-iterations", 500, "A/B pairs per operation in figure 2")
	chunk := flag.Int("overhead-chunk", 100, "figure 2 iterations per fresh table")
	coldRounds := flag.Int("cold-rounds", 20, "fresh processes per binary in figure 3")
	memInvocations := flag.Int("memory-invocations", 1000, "invocations per function process in figure 4")
	loadFor := flag.Duration("load-duration", 30*time.Second, "how long figure 5's clients run")
	clients := flag.Int("load-clients", 32, "figure 5's concurrent clients")
	loadProcs := flag.Int("load-processes", 8, "figure 5's processes per function at most")
	orders := flag.Int("promotion-orders", 1000, "qualifying orders of figure 6's promotion run")
	cardsPerOrder := flag.Int("promotion-cards", 1, "gift cards per order in figure 6 (more than 1: a per-card promotion)")
	customers := flag.Int("promotion-customers", 250, "customers placing figure 6's orders")
	workers := flag.Int("promotion-workers", 4, "parallel queue workers (and raw writers) in figure 6")
	merge := flag.Bool("merge", false, "update only the measured figures' results in -out, keeping the others (the default when -figures is given)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process here")
	flag.Parse()
	if isSet("figures") && !isSet("merge") {
		*merge = true
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	want := map[string]bool{}
	for _, f := range strings.Split(*figures, ",") {
		want[strings.TrimSpace(f)] = true
	}
	// Figure 7 is measured from figure 5's run, figure 8 from figures 5
	// and 6; the build serves 3, 4 and 5.
	want["5"] = want["5"] || want["7"] || want["8"]
	want["6"] = want["6"] || want["8"]
	want["build"] = want["3"] || want["4"] || want["5"]
	ctx := context.Background()
	start := time.Now()
	var rp bench.Report
	step := func(figure, name string, f func() ([]bench.Result, error)) error {
		if !want[figure] {
			return nil
		}
		t := time.Now()
		fmt.Fprintf(os.Stderr, "bench: %s ...\n", name)
		rs, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rp.Add(rs...)
		fmt.Fprintf(os.Stderr, "bench: %s: %s\n", name, time.Since(t).Round(100*time.Millisecond))
		return nil
	}
	var bins []bench.Binary
	steps := []struct {
		figure, name string
		f            func() ([]bench.Result, error)
	}{
		{"1", "figure 1, requests per operation", func() ([]bench.Result, error) { return bench.Requests(ctx, bench.RequestsOps()) }},
		// Liability report (issue 15).
		{"9", "figure 9, liability report reads", func() ([]bench.Result, error) { return bench.LiabilityReads(ctx) }},
		{"2", "figure 2, handler overhead", func() ([]bench.Result, error) {
			return bench.Overhead(ctx, bench.Mutations(), bench.OverheadConfig{Iterations: *iters, Chunk: *chunk})
		}},
		{"build", "build the functions and baselines", func() ([]bench.Result, error) {
			var err error
			bins, err = bench.Build(ctx, *goCmd, ".", *buildDir, *buildFlags)
			return nil, err
		}},
		{"3", "figure 3, cold start and size", func() ([]bench.Result, error) {
			return bench.ColdStartFigure(ctx, bins, bench.ColdStartConfig{Rounds: *coldRounds, InitTraceRounds: 5})
		}},
		{"4", "figure 4, memory", func() ([]bench.Result, error) {
			return bench.Memory(ctx, bins, bench.MemoryConfig{Invocations: *memInvocations, Parallel: 3, Progress: os.Stderr})
		}},
		{"6", "figure 6, promotion run", func() ([]bench.Result, error) {
			return bench.PromotionRun(ctx, bench.PromotionConfig{Orders: *orders, CardsPerOrder: *cardsPerOrder, Customers: *customers, Workers: *workers, Progress: os.Stderr,
				PartitionWrites: want["8"]})
		}},
		{"5", "figures 5 and 7, concurrency through the local stack", func() ([]bench.Result, error) {
			return bench.Concurrency(ctx, bins, bench.LoadConfig{Clients: *clients, Duration: *loadFor,
				Customers: 500, MaxProcesses: *loadProcs, Template: "template.yaml", PartitionWrites: want["8"]})
		}},
	}
	for _, s := range steps {
		if err := step(s.figure, s.name, s.f); err != nil {
			return err
		}
	}
	rp.PrintTable(os.Stdout)
	write := rp.WriteFile
	if *merge {
		write = rp.MergeFile
	}
	if err := write(*out); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s; the figures took %s\n", *out, time.Since(start).Round(time.Second))
	return nil
}

// isSet reports whether the flag name was given on the command line.
func isSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
