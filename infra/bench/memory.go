package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
	"github.com/giftcredit/giftcredit/infra/localaws"
)

// memoryTargetMB is figure 4's limit: a function must fit in Lambda's
// 128 MB with room to spare.
const memoryTargetMB = 40

// MemoryConfig sizes figure 4.
type MemoryConfig struct {
	// Invocations of each function's one process.
	Invocations int
	// Parallel functions are measured at once.
	Parallel int
	// Progress, if not nil, receives a note per function.
	Progress io.Writer
}

// Memory measures figure 4: the peak RSS (VmHWM) of one process of each
// function over invocations invocations of its workload, each function on
// its own small ledger. Peak memory does not depend on speed, so parallel
// functions run at once.
func Memory(ctx context.Context, bins []Binary, cfg MemoryConfig) ([]Result, error) {
	invocations, parallel := cfg.Invocations, cfg.Parallel
	ses, err := StartFakeSES()
	if err != nil {
		return nil, err
	}
	defer ses.Close()
	bus := localaws.StartBus()
	defer bus.Close()
	var fns []Binary
	for _, b := range bins {
		if !b.Baseline {
			fns = append(fns, b)
		}
	}
	out := make([]Result, len(fns))
	errs := make([]error, len(fns))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, b := range fns {
		load, ok := Workloads[b.Name]
		if !ok {
			out[i] = notMeasured("peak RSS: "+b.Name, "MB", fmt.Sprintf("≤ %d", memoryTargetMB),
				"no workload is defined for this function in infra/bench/functions.go")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t := time.Now()
			out[i], errs[i] = memoryOf(ctx, b, load, ses, bus, invocations)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", b.Name, errs[i])
			}
			progress(cfg.Progress, "figure 4: %s in %s", b.Name, time.Since(t).Round(time.Millisecond))
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func memoryOf(ctx context.Context, b Binary, load Workload, ses *FakeSES, bus *localaws.Bus, invocations int) (Result, error) {
	l, err := NewLedger(ctx, LedgerOptions{})
	if err != nil {
		return Result{}, err
	}
	defer l.Close()
	payload, err := load(ctx, l)
	if err != nil {
		return Result{}, fmt.Errorf("seed: %w", err)
	}
	var output lockedBuffer
	env := FunctionEnv(l.Dyn.URL(), ses.URL())
	if eventFunctions[b.Name] {
		env = eventEnv(env, bus.URL())
	}
	p := runtime.NewPool(runtime.FunctionConfig{Name: b.Name, Binary: b.Path, Env: env,
		MaxProcesses: 1, Timeout: 30 * time.Second, Output: &output})
	defer p.Close()
	failed := 0
	var firstFailure string
	start := time.Now()
	for i := range invocations {
		ev, err := payload(i)
		if err != nil {
			return Result{}, err
		}
		res, err := p.Invoke(ctx, ev)
		if err != nil {
			return Result{}, fmt.Errorf("invocation %d: %w\n%s", i, err, tail(output.Bytes(), 2000))
		}
		if why := failure(res); why != "" {
			failed++
			if firstFailure == "" {
				firstFailure = why
			}
		}
	}
	took := time.Since(start)
	st := p.Stats()
	if st.Started != 1 || len(st.PIDs) != 1 {
		return Result{}, fmt.Errorf("%d processes were started (%d alive): the measure needs one", st.Started, len(st.PIDs))
	}
	hwm, rss, err := procMemory(st.PIDs[0])
	if err != nil {
		return Result{}, err
	}
	items, err := l.Items(ctx)
	if err != nil {
		return Result{}, err
	}
	mb := round3(float64(hwm) / 1024)
	r := Result{Name: "peak RSS: " + b.Name, Value: mb, Unit: "MB", Target: fmt.Sprintf("≤ %d", memoryTargetMB), OK: mb <= memoryTargetMB,
		Extra: map[string]any{"invocations": invocations, "finalRssMB": round3(float64(rss) / 1024), "failedInvocations": failed,
			"tableItems": items, "meanInvocationMs": Ms(took / time.Duration(invocations))}}
	if firstFailure != "" {
		r.Extra["firstFailure"] = firstFailure
	}
	if !r.OK {
		r.Reason = fmt.Sprintf("peak RSS %.1f MB over %d invocations", mb, invocations)
	}
	// A workload that mostly fails would measure the error path only.
	if failed*10 > invocations {
		r.OK = false
		r.Reason = fmt.Sprintf("%d of %d invocations failed (first: %s): the workload does not exercise the function", failed, invocations, firstFailure)
	}
	return r, nil
}

// failure says why an invocation did not succeed: a function error, an
// HTTP API answer that is not 2xx (an expected 4xx of a mix, such as a
// wrong key or a paused promotion, is fine for memory but counted), or an
// SQS batch item failure; "" for success.
func failure(res runtime.Result) string {
	if res.FunctionError != nil {
		return res.FunctionError.ErrorType + ": " + res.FunctionError.ErrorMessage
	}
	var v struct {
		StatusCode int `json:"statusCode"`
		Body       string
		Failures   []json.RawMessage `json:"batchItemFailures"`
	}
	if json.Unmarshal(res.Payload, &v) != nil {
		return ""
	}
	if v.StatusCode != 0 && v.StatusCode/100 != 2 {
		return strconv.Itoa(v.StatusCode) + " " + truncate(v.Body, 200)
	}
	if len(v.Failures) > 0 {
		return "batch item failures: " + string(res.Payload)
	}
	return ""
}

// procMemory reads VmHWM (peak resident set) and VmRSS of pid, in kB.
func procMemory(pid int) (hwm, rss int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, fmt.Errorf("peak RSS needs Linux's /proc: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmHWM:":
			hwm, _ = strconv.ParseInt(f[1], 10, 64)
		case "VmRSS:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if hwm == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
	}
	return hwm, rss, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
