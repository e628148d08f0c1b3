package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
)

// ColdStartConfig sizes figure 3.
type ColdStartConfig struct {
	// Rounds is the number of fresh processes per binary (the median is
	// reported); one more round is run first and discarded, so that every
	// binary is in the page cache.
	Rounds int
	// InitTraceRounds is the number of GODEBUG=inittrace=1 runs per binary
	// investigated.
	InitTraceRounds int
}

// Figure 3's targets: every cold start ≤ 1.10 × hello+SDK; the binary of
// every function that sends no mail ≤ 1.15 ×, the authorizer's ≤ 1.05 ×.
// The functions that send mail (they link the SES client and the mail
// renderer) are reported against the same ratio without a target.
const (
	coldStartTarget = 1.10
	sizeTarget      = 1.15
	authorizerSize  = 1.05
)

// mailSenders are the functions that send email through SES themselves.
var mailSenders = map[string]bool{"orders": true, "audit": true, "emailsender": true}

// ColdStart measures figure 3: exec to the first GET /next on the local
// Runtime API, for every function and both baselines, round-robin in a
// fresh random order each round so that noise spreads over all of them,
// and the binaries' sizes for linux/arm64. env is the functions'
// environment (a ledger on an empty table).
func ColdStart(ctx context.Context, bins []Binary, env map[string]string, cfg ColdStartConfig) ([]Result, error) {
	samples, cpu := map[string]Sample{}, map[string]Sample{}
	order := make([]Binary, len(bins))
	copy(order, bins)
	for round := 0; round <= cfg.Rounds; round++ {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, b := range order {
			cs, err := coldStartOnce(ctx, b, env, nil)
			if err != nil {
				return nil, err
			}
			if round > 0 {
				samples[b.Name] = append(samples[b.Name], cs.wall)
				cpu[b.Name] = append(cpu[b.Name], cs.cpu)
			}
		}
	}
	byName := map[string]Binary{}
	for _, b := range bins {
		byName[b.Name] = b
	}
	hello, sdk := samples["hello"].Median(), samples["hellosdk"].Median()
	helloCPU, sdkCPU := cpu["hello"].Median(), cpu["hellosdk"].Median()
	helloSize, sdkSize := byName["hello"].ARM64Bytes, byName["hellosdk"].ARM64Bytes
	out := []Result{{
		Name: "cold start: hello+SDK baseline", Value: Ratio(float64(sdk), float64(hello)), Unit: "× hello", Target: "baseline (report)", OK: true,
		Extra: map[string]any{"helloMs": Ms(hello), "helloSDKMs": Ms(sdk), "helloP90Ms": Ms(samples["hello"].Quantile(0.9)),
			"helloSDKP90Ms": Ms(samples["hellosdk"].Quantile(0.9)), "processes": cfg.Rounds,
			"helloCPUMs": Ms(helloCPU), "helloSDKCPUMs": Ms(sdkCPU), "cpuRatio": Ratio(float64(sdkCPU), float64(helloCPU)),
			"helloARM64Bytes": helloSize, "helloSDKARM64Bytes": sdkSize},
	}}
	for _, b := range bins {
		if b.Baseline {
			continue
		}
		m := samples[b.Name].Median()
		ratio := Ratio(float64(m), float64(sdk))
		r := Result{Name: "cold start: " + b.Name, Value: ratio, Unit: "× hello+SDK", Target: fmt.Sprintf("≤ %.2f", coldStartTarget),
			OK: ratio <= coldStartTarget, Extra: map[string]any{"medianMs": Ms(m), "p90Ms": Ms(samples[b.Name].Quantile(0.9)),
				"ratioToHello": Ratio(float64(m), float64(hello)), "helloMs": Ms(hello), "helloSDKMs": Ms(sdk), "processes": len(samples[b.Name]),
				"cpuMs": Ms(cpu[b.Name].Median()), "cpuRatioToHelloSDK": Ratio(float64(cpu[b.Name].Median()), float64(sdkCPU)),
				"cpuRatioToHello": Ratio(float64(cpu[b.Name].Median()), float64(helloCPU))}}
		if !r.OK {
			r.Reason = fmt.Sprintf("%.1f ms against %.1f ms for hello+SDK (%.1f ms for hello)", Ms(m), Ms(sdk), Ms(hello))
		}
		out = append(out, r)
	}
	for _, b := range bins {
		if b.Baseline {
			continue
		}
		ratio := Ratio(float64(b.ARM64Bytes), float64(sdkSize))
		limit, target := sizeTarget, fmt.Sprintf("≤ %.2f", sizeTarget)
		switch {
		case b.Name == "authorizer":
			limit, target = authorizerSize, fmt.Sprintf("≤ %.2f", authorizerSize)
		case mailSenders[b.Name]:
			limit, target = math.Inf(1), "report (sends mail)"
		}
		r := Result{Name: "binary size linux/arm64: " + b.Name, Value: ratio, Unit: "× hello+SDK", Target: target,
			OK: ratio <= limit, Extra: map[string]any{"bytes": b.ARM64Bytes, "helloSDKBytes": sdkSize, "helloBytes": helloSize}}
		if !r.OK {
			r.Reason = fmt.Sprintf("%.1f MB against %.1f MB for hello+SDK", float64(b.ARM64Bytes)/1e6, float64(sdkSize)/1e6)
		}
		out = append(out, r)
	}
	return out, nil
}

// coldStart is one cold start: exec to the first /next, and the CPU time
// the process had used when its first invocation was answered (its init,
// plus an invocation that does next to nothing), which the machine's
// other load does not inflate.
type coldStart struct {
	wall, cpu time.Duration
	output    []byte
}

// coldStartOnce starts a fresh process of b and invokes it once.
func coldStartOnce(ctx context.Context, b Binary, env map[string]string, extraEnv map[string]string) (coldStart, error) {
	payload, err := ColdPayload(b.Name)
	if err != nil {
		return coldStart{}, err
	}
	e := map[string]string{}
	for k, v := range env {
		e[k] = v
	}
	for k, v := range extraEnv {
		e[k] = v
	}
	var out lockedBuffer
	p := runtime.NewPool(runtime.FunctionConfig{Name: b.Name, Binary: b.Path, Env: e, MaxProcesses: 1, Timeout: 10 * time.Second, Output: &out})
	defer p.Close()
	res, err := p.Invoke(ctx, payload)
	if err != nil {
		return coldStart{}, fmt.Errorf("cold start of %s: %w\n%s", b.Name, err, out.Bytes())
	}
	if res.FunctionError != nil {
		return coldStart{}, fmt.Errorf("cold start of %s: function error %s: %s", b.Name, res.FunctionError.ErrorType, res.FunctionError.ErrorMessage)
	}
	if res.InitDuration == 0 {
		return coldStart{}, fmt.Errorf("cold start of %s: the invocation reported no init", b.Name)
	}
	cs := coldStart{wall: res.InitDuration}
	if pids := p.Stats().PIDs; len(pids) == 1 {
		if cs.cpu, err = cpuTime(pids[0]); err != nil {
			return coldStart{}, err
		}
	}
	_ = p.Close() // the process's remaining output is flushed before Close returns
	cs.output = out.Bytes()
	return cs, nil
}

// cpuTime is the CPU time all threads of pid have run, from Linux's
// /proc/<pid>/task/<tid>/schedstat (nanoseconds on CPU, first field).
func cpuTime(pid int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("CPU time needs Linux's /proc: %w", err)
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s/%s/schedstat: %w", dir, t.Name(), err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// lockedBuffer is an io.Writer safe for a pool's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Bytes returns a copy of what was written.
func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// inittraceLine matches the runtime's GODEBUG=inittrace=1 lines:
// "init <pkg> @<start> ms, <clock> ms clock, <bytes> bytes, <allocs> allocs".
var inittraceLine = regexp.MustCompile(`init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, (\d+) bytes, (\d+) allocs`)

// InitCost is one package's init as GODEBUG=inittrace=1 reports it.
type InitCost struct {
	Package string  `json:"package"`
	ClockMs float64 `json:"clockMs"`
	Bytes   int64   `json:"bytes"`
	Allocs  int64   `json:"allocs"`
}

// InitTrace is where a cold start's time goes: the process's package
// initialisers (their clock time), what precedes them (exec, the runtime's
// own start), and main until the first /next (the wiring: AWS config,
// clients, handler).
type InitTrace struct {
	Binary     string     `json:"binary"`
	ColdMs     float64    `json:"coldStartMs"`
	InitsMs    float64    `json:"packageInitsMs"`
	InitsEndMs float64    `json:"packageInitsEndMs"`
	MainMs     float64    `json:"mainToFirstNextMs"`
	Allocs     int64      `json:"initAllocs"`
	Top        []InitCost `json:"topInits"`
}

// TraceInits runs b rounds times with GODEBUG=inittrace=1 and returns the
// median run's breakdown (by cold start) with its costliest package inits.
func TraceInits(ctx context.Context, b Binary, env map[string]string, rounds int) (InitTrace, error) {
	var traces []InitTrace
	for range max(rounds, 1) {
		cs, err := coldStartOnce(ctx, b, env, map[string]string{"GODEBUG": "inittrace=1"})
		if err != nil {
			return InitTrace{}, err
		}
		out := cs.output
		t := InitTrace{Binary: b.Name, ColdMs: Ms(cs.wall)}
		var costs []InitCost
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			m := inittraceLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			at, _ := strconv.ParseFloat(m[2], 64)
			clock, _ := strconv.ParseFloat(m[3], 64)
			by, _ := strconv.ParseInt(m[4], 10, 64)
			allocs, _ := strconv.ParseInt(m[5], 10, 64)
			costs = append(costs, InitCost{Package: m[1], ClockMs: clock, Bytes: by, Allocs: allocs})
			t.InitsMs += clock
			t.Allocs += allocs
			t.InitsEndMs = max(t.InitsEndMs, at+clock)
		}
		if len(costs) == 0 {
			return InitTrace{}, fmt.Errorf("%s printed no inittrace lines", b.Name)
		}
		sort.Slice(costs, func(i, j int) bool { return costs[i].ClockMs > costs[j].ClockMs })
		t.Top = costs[:min(8, len(costs))]
		t.InitsMs, t.InitsEndMs = round3(t.InitsMs), round3(t.InitsEndMs)
		t.MainMs = round3(t.ColdMs - t.InitsEndMs)
		traces = append(traces, t)
	}
	sort.Slice(traces, func(i, j int) bool { return traces[i].ColdMs < traces[j].ColdMs })
	return traces[len(traces)/2], nil
}

// traced are the binaries whose cold start figure 3 breaks down.
var traced = []string{"hello", "hellosdk", "redemption", "orders"}

// ColdStartFigure runs figure 3 on a ledger of its own (an empty table)
// and breaks down the cold start of the baselines and two functions with
// GODEBUG=inittrace=1.
func ColdStartFigure(ctx context.Context, bins []Binary, cfg ColdStartConfig) ([]Result, error) {
	l, err := NewLedger(ctx, LedgerOptions{})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	ses, err := StartFakeSES()
	if err != nil {
		return nil, err
	}
	defer ses.Close()
	env := FunctionEnv(l.Dyn.URL(), ses.URL())
	out, err := ColdStart(ctx, bins, env, cfg)
	if err != nil {
		return nil, err
	}
	for _, name := range traced {
		for _, b := range bins {
			if b.Name != name {
				continue
			}
			t, err := TraceInits(ctx, b, env, cfg.InitTraceRounds)
			if err != nil {
				return nil, err
			}
			out = append(out, Result{Name: "cold start breakdown: " + name, Value: t.InitsMs, Unit: "ms in package inits",
				Target: "report", OK: true, Extra: map[string]any{"trace": t}})
		}
	}
	return out, nil
}
