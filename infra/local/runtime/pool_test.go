package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
)

// echoBin is the test function (testdata/echofn), built once by TestMain.
var echoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "echofn-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	echoBin = filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", echoBin, "./testdata/echofn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build echofn: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// reply is what echofn answers (see testdata/echofn).
type reply struct {
	PID          int               `json:"pid"`
	RequestID    string            `json:"requestId"`
	FunctionARN  string            `json:"functionArn"`
	DeadlineMs   int64             `json:"deadlineMs"`
	TraceID      string            `json:"traceId"`
	TraceEnv     string            `json:"traceEnv"`
	FunctionName string            `json:"functionName"`
	MemoryMB     int               `json:"memoryMB"`
	Version      string            `json:"version"`
	Cwd          string            `json:"cwd"`
	Env          map[string]string `json:"env"`
	Status       int               `json:"status"`
	Event        json.RawMessage   `json:"event"`
}

// ev is an echofn event.
type ev map[string]any

// newPool returns a pool of echofn that is closed when tb ends.
func newPool(tb testing.TB, cfg runtime.FunctionConfig) *runtime.Pool {
	tb.Helper()
	if cfg.Name == "" {
		cfg.Name = "echo"
	}
	if cfg.Binary == "" {
		cfg.Binary = echoBin
	}
	p := runtime.NewPool(cfg)
	tb.Cleanup(func() { p.Close() })
	return p
}

// invoke sends event to p with a test-sized deadline.
func invoke(tb testing.TB, p *runtime.Pool, event ev) (runtime.Result, error) {
	tb.Helper()
	payload, err := json.Marshal(event)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.Invoke(ctx, payload)
}

// mustEcho invokes p and decodes echofn's reply, failing tb on any error.
func mustEcho(tb testing.TB, p *runtime.Pool, event ev) (runtime.Result, reply) {
	tb.Helper()
	res, err := invoke(tb, p, event)
	if err != nil {
		tb.Fatalf("invoke %v: %v", event, err)
	}
	if res.FunctionError != nil {
		tb.Fatalf("invoke %v: function error %+v", event, res.FunctionError)
	}
	var r reply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		tb.Fatalf("decode reply %s: %v", res.Payload, err)
	}
	return res, r
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receive waits for a value from ch, failing tb if none comes before every
// invocation's own 30 s context would have ended.
func receive[T any](tb testing.TB, ch <-chan T) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(40 * time.Second):
		tb.Fatalf("no %T arrived", *new(T))
		panic("unreachable")
	}
}

// processGone reports whether no process has pid any more.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// gate is an HTTP endpoint echofn's "call" mode blocks on until released.
type gate struct {
	srv      *httptest.Server
	arrivals atomic.Int32
	release  chan struct{}
	once     sync.Once
}

func newGate(tb testing.TB) *gate {
	g := &gate{release: make(chan struct{})}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.arrivals.Add(1)
		select {
		case <-g.release:
		case <-r.Context().Done():
		}
	}))
	tb.Cleanup(func() {
		g.open()
		g.srv.Close()
	})
	return g
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

func TestEchoRoundTripSeesLambdaHeadersAndEnvironment(t *testing.T) {
	const timeout = 5 * time.Second
	p := newPool(t, runtime.FunctionConfig{
		Name:       "echo",
		Timeout:    timeout,
		ARN:        "arn:aws:lambda:us-east-1:123456789012:function:echo",
		MemorySize: 256,
		LogFormat:  "JSON",
		Env: map[string]string{
			"ECHOFN_CUSTOM":              "hello",
			"AWS_LAMBDA_MAX_CONCURRENCY": "4",                // must not reach the function
			"AWS_EXECUTION_ENV":          "AWS_Lambda_go1.x", // reserved: must not either
		},
	})
	event := ev{"mode": "echo", "n": 1.5}
	before := time.Now()
	res, got := mustEcho(t, p, event)
	after := time.Now()

	if got.RequestID != res.RequestID || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(got.RequestID) {
		t.Errorf("request id: function saw %q, result says %q", got.RequestID, res.RequestID)
	}
	if got.FunctionARN != "arn:aws:lambda:us-east-1:123456789012:function:echo" {
		t.Errorf("function ARN = %q", got.FunctionARN)
	}
	if lo, hi := before.Add(timeout).UnixMilli(), after.Add(timeout).UnixMilli(); got.DeadlineMs < lo || got.DeadlineMs > hi {
		t.Errorf("deadline %d not within [%d, %d]", got.DeadlineMs, lo, hi)
	}
	traceRE := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)
	if !traceRE.MatchString(got.TraceID) || got.TraceEnv != got.TraceID {
		t.Errorf("trace id: context %q, _X_AMZN_TRACE_ID %q", got.TraceID, got.TraceEnv)
	}
	if got.FunctionName != "echo" || got.MemoryMB != 256 || got.Version != "$LATEST" {
		t.Errorf("lambdacontext: name %q memory %d version %q", got.FunctionName, got.MemoryMB, got.Version)
	}
	taskRoot := filepath.Dir(echoBin)
	// AWS_EXECUTION_ENV is reserved and not defined for the OS-only
	// (provided.*) runtimes:
	// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
	wantEnv := map[string]string{
		"AWS_REGION":                  "us-east-1",
		"AWS_DEFAULT_REGION":          "us-east-1",
		"TZ":                          ":UTC",
		"_HANDLER":                    "bootstrap",
		"LAMBDA_TASK_ROOT":            taskRoot,
		"AWS_LAMBDA_LOG_FORMAT":       "JSON",
		"AWS_LAMBDA_MAX_CONCURRENCY":  "<unset>",
		"AWS_EXECUTION_ENV":           "<unset>", // see above
		"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
		"HOME":                        "<unset>",
		"ECHOFN_CUSTOM":               "hello",
		"AWS_ACCESS_KEY_ID":           "local",
	}
	for k, want := range wantEnv {
		if got.Env[k] != want {
			t.Errorf("env %s = %q, want %q", k, got.Env[k], want)
		}
	}
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(got.Env["AWS_LAMBDA_RUNTIME_API"]) {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", got.Env["AWS_LAMBDA_RUNTIME_API"])
	}
	if got.Cwd != taskRoot {
		t.Errorf("working directory %q, want %q", got.Cwd, taskRoot)
	}
	var gotEvent ev
	if err := json.Unmarshal(got.Event, &gotEvent); err != nil || gotEvent["n"] != 1.5 || gotEvent["mode"] != "echo" {
		t.Errorf("event seen by the function = %s (%v)", got.Event, err)
	}
	if res.InitDuration <= 0 || res.Duration <= 0 || res.Instance != 1 {
		t.Errorf("first result: init %v duration %v instance %d", res.InitDuration, res.Duration, res.Instance)
	}

	res2, got2 := mustEcho(t, p, event)
	if got2.PID != got.PID || res2.InitDuration != 0 || res2.RequestID == res.RequestID || got2.TraceID == got.TraceID {
		t.Errorf("second invoke: pid %d (first %d), init %v, request id %q (first %q), trace reused: %v",
			got2.PID, got.PID, res2.InitDuration, res2.RequestID, res.RequestID, got2.TraceID == got.TraceID)
	}
}

func TestFunctionErrorKeepsProcess(t *testing.T) {
	p := newPool(t, runtime.FunctionConfig{})
	_, first := mustEcho(t, p, ev{})

	res, err := invoke(t, p, ev{"mode": "error", "message": "boom"})
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.ErrorPayload{ErrorMessage: "boom", ErrorType: "errorString"}
	if res.FunctionError == nil || res.FunctionError.ErrorMessage != want.ErrorMessage || res.FunctionError.ErrorType != want.ErrorType {
		t.Fatalf("function error = %+v, want %+v", res.FunctionError, want)
	}
	var payload runtime.ErrorPayload
	if err := json.Unmarshal(res.Payload, &payload); err != nil || payload.ErrorMessage != "boom" {
		t.Errorf("payload %s is not the error (%v)", res.Payload, err)
	}

	_, after := mustEcho(t, p, ev{})
	if after.PID != first.PID {
		t.Errorf("process replaced after a returned error: pid %d then %d", first.PID, after.PID)
	}
}

func TestPanicIsReportedAndProcessReplaced(t *testing.T) {
	p := newPool(t, runtime.FunctionConfig{})
	_, first := mustEcho(t, p, ev{})

	res, err := invoke(t, p, ev{"mode": "panic", "message": "kaboom"})
	if err != nil {
		t.Fatal(err)
	}
	fe := res.FunctionError
	if fe == nil || fe.ErrorMessage != "kaboom" || fe.ErrorType != "string" {
		t.Fatalf("function error = %+v", fe)
	}
	var frames []map[string]any
	if err := json.Unmarshal(fe.StackTrace, &frames); err != nil || len(frames) == 0 {
		t.Errorf("stack trace %s: %d frames (%v)", fe.StackTrace, len(frames), err)
	}
	// aws-lambda-go exits after reporting a panic.
	waitFor(t, "the panicked process to exit", func() bool { return processGone(first.PID) && p.Stats().Alive == 0 })

	_, after := mustEcho(t, p, ev{})
	if after.PID == first.PID || p.Stats().Started != 2 {
		t.Errorf("after panic: pid %d (before %d), started %d", after.PID, first.PID, p.Stats().Started)
	}
}

func TestCrashMidInvocationFailsItWithExitStatus(t *testing.T) {
	p := newPool(t, runtime.FunctionConfig{})
	_, err := invoke(t, p, ev{"mode": "exit", "code": 3})
	var exitErr *runtime.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("err = %v, want *ExitError", err)
	}
	if exitErr.ExitCode != 3 || exitErr.Status != "exit status 3" || exitErr.DuringInit || exitErr.Instance != 1 {
		t.Errorf("exit error = %+v", exitErr)
	}
	// What Lambda's Invoke returns for it (with X-Amz-Function-Error:
	// Unhandled), worded as AWS's runtime interface emulator words it
	// (github.com/aws/aws-lambda-runtime-interface-emulator,
	// internal/lambda/rapid/handlers.go).
	want := runtime.ErrorPayload{ErrorType: "Runtime.ExitError", ErrorMessage: "RequestId: req-1 Error: Runtime exited with error: exit status 3"}
	if got := exitErr.ErrorPayload("req-1"); got == nil || got.ErrorType != want.ErrorType || got.ErrorMessage != want.ErrorMessage {
		t.Errorf("error payload %+v, want %+v", got, want)
	}
	if _, r := mustEcho(t, p, ev{}); r.PID == exitErr.PID {
		t.Errorf("crashed pid %d reused", r.PID)
	}
}

func TestQueuedInvocationSurvivesCrashOfTheProcessAhead(t *testing.T) {
	g := newGate(t)
	p := newPool(t, runtime.FunctionConfig{MaxProcesses: 1})

	crashed := make(chan error, 1)
	go func() {
		_, err := invoke(t, p, ev{"mode": "call", "url": g.srv.URL, "then": "exit", "code": 4})
		crashed <- err
	}()
	waitFor(t, "the first invocation to run", func() bool { return g.arrivals.Load() == 1 })
	queued := make(chan error, 1)
	go func() {
		_, err := invoke(t, p, ev{})
		queued <- err
	}()
	waitFor(t, "the second invocation to queue", func() bool { return p.Stats().Queued == 1 })
	g.open()

	var exitErr *runtime.ExitError
	if err := receive(t, crashed); !errors.As(err, &exitErr) || exitErr.ExitCode != 4 {
		t.Fatalf("first invocation: %v, want exit code 4", err)
	}
	if err := receive(t, queued); err != nil {
		t.Fatalf("queued invocation: %v", err)
	}
	if s := p.Stats(); s.Started != 2 || s.Alive != 1 {
		t.Errorf("stats %+v, want 2 started, 1 alive", s)
	}
}

func TestInvocationHandedToAProcessThatThenDiesRunsElsewhere(t *testing.T) {
	g := newGate(t)
	p := newPool(t, runtime.FunctionConfig{MaxProcesses: 1})

	panicked := make(chan runtime.Result, 1)
	go func() {
		res, err := invoke(t, p, ev{"mode": "call", "url": g.srv.URL, "then": "panic", "message": "late"})
		if err != nil {
			res.FunctionError = &runtime.ErrorPayload{ErrorMessage: err.Error()}
		}
		panicked <- res
	}()
	waitFor(t, "the first invocation to run", func() bool { return g.arrivals.Load() == 1 })
	firstPID := p.Stats().PIDs[0]
	type answer struct {
		res runtime.Result
		err error
	}
	queued := make(chan answer, 1)
	go func() {
		res, err := invoke(t, p, ev{})
		queued <- answer{res, err}
	}()
	waitFor(t, "the second invocation to queue", func() bool { return p.Stats().Queued == 1 })
	// The panic is reported (so the queued invocation is handed to the same
	// process at once) and then the process exits instead of asking for it.
	g.open()

	if res := receive(t, panicked); res.FunctionError == nil || res.FunctionError.ErrorMessage != "late" {
		t.Fatalf("first invocation: %+v", res)
	}
	second := receive(t, queued)
	var r reply
	if second.err != nil || json.Unmarshal(second.res.Payload, &r) != nil {
		t.Fatalf("second invocation: %v, %s", second.err, second.res.Payload)
	}
	if r.PID == firstPID {
		t.Errorf("second invocation ran on the panicked process %d", firstPID)
	}
	if s := p.Stats(); s.Started != 2 {
		t.Errorf("stats %+v, want 2 started", s)
	}
}

func TestInitFailures(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		initTO     time.Duration
		check      func(t *testing.T, err error)
		wantOutput string
	}{
		{
			name: "exit at init",
			env:  map[string]string{"ECHOFN_EXIT_AT_INIT": "7"},
			check: func(t *testing.T, err error) {
				var e *runtime.ExitError
				if !errors.As(err, &e) || !e.DuringInit || e.ExitCode != 7 || e.InitError != nil {
					t.Errorf("err = %v, want *ExitError at init with code 7", err)
					return
				}
				if got := e.ErrorPayload("r"); got.ErrorType != "Runtime.ExitError" || got.ErrorMessage != "RequestId: r Error: Runtime exited with error: exit status 7" {
					t.Errorf("error payload %+v", got)
				}
			},
			wantOutput: "[initfail#1] echofn: exiting at init as asked\n",
		},
		{
			name: "init error endpoint",
			env:  map[string]string{"ECHOFN_INIT_ERROR": "1"},
			check: func(t *testing.T, err error) {
				var e *runtime.ExitError
				if !errors.As(err, &e) || !e.DuringInit || e.InitError == nil {
					t.Fatalf("err = %v, want *ExitError with an init error", err)
				}
				if e.InitError.ErrorType != "InitFailure" || e.InitError.ErrorMessage != "config missing" || e.ExitCode != -1 {
					t.Errorf("exit error %+v, init error %+v", e, e.InitError)
				}
			},
			wantOutput: "[initfail#1] INIT_REPORT Phase: init Status: error Error Type: InitFailure\n",
		},
		{
			name:   "init timeout",
			env:    map[string]string{"ECHOFN_INIT_SLEEP_MS": "20000"},
			initTO: 200 * time.Millisecond,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, runtime.ErrTimeout) {
					t.Errorf("err = %v, want ErrTimeout", err)
				}
			},
			wantOutput: "[initfail#1] INIT_REPORT Init Duration: 200ms Phase: init Status: timeout\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := runtime.NewCapture(nil)
			p := newPool(t, runtime.FunctionConfig{Name: "initfail", Env: tt.env, InitTimeout: tt.initTO, Output: out})
			start := time.Now()
			res, err := invoke(t, p, ev{})
			tt.check(t, err)
			// The failed invocation still has its request id, which Lambda's
			// Runtime.ExitError message names.
			if _, ok := errors.AsType[*runtime.ExitError](err); ok && res.RequestID == "" {
				t.Error("the invocation that failed at init has no request id")
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("took %v", el)
			}
			// A second invocation starts a fresh process and fails the same way.
			_, err = invoke(t, p, ev{})
			tt.check(t, err)
			p.Close()
			if s := p.Stats(); s.Started != 2 || s.Alive != 0 || len(s.ColdStarts) != 0 {
				t.Errorf("stats %+v, want 2 started, none alive, no cold start", s)
			}
			if !strings.Contains(out.String(), tt.wantOutput) {
				t.Errorf("output lacks %q:\n%s", tt.wantOutput, out)
			}
		})
	}
}

func TestTimeoutKillsProcessAndNextInvocationStartsFresh(t *testing.T) {
	out := runtime.NewCapture(nil)
	p := newPool(t, runtime.FunctionConfig{Name: "slow", Timeout: 300 * time.Millisecond, Output: out})
	_, warm := mustEcho(t, p, ev{})

	start := time.Now()
	res, err := invoke(t, p, ev{"mode": "sleep", "ms": 20000})
	if !errors.Is(err, runtime.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 10*time.Second {
		t.Errorf("timed out after %v, want about 300ms", el)
	}
	waitFor(t, "the timed-out process to be gone", func() bool { return processGone(warm.PID) })

	_, fresh := mustEcho(t, p, ev{})
	if fresh.PID == warm.PID || p.Stats().Started != 2 {
		t.Errorf("after timeout: pid %d (timed out %d), started %d", fresh.PID, warm.PID, p.Stats().Started)
	}
	want := fmt.Sprintf("[slow#1] %s Task timed out after 0.30 seconds\n", res.RequestID)
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

func TestConcurrentInvocationsGrowPoolToMaxAndNoFurther(t *testing.T) {
	const maxProcs, calls = 3, 7
	g := newGate(t)
	p := newPool(t, runtime.FunctionConfig{MaxProcesses: maxProcs})

	type answer struct {
		pid int
		err error
	}
	answers := make(chan answer, calls)
	for range calls {
		go func() {
			res, err := invoke(t, p, ev{"mode": "call", "url": g.srv.URL})
			var r reply
			if err == nil {
				err = json.Unmarshal(res.Payload, &r)
			}
			answers <- answer{r.PID, err}
		}()
	}
	waitFor(t, "every process to be busy and the rest queued", func() bool {
		s := p.Stats()
		return g.arrivals.Load() == maxProcs && s.Busy == maxProcs && s.Queued == calls-maxProcs
	})
	if s := p.Stats(); s.Started != maxProcs || s.Alive != maxProcs || len(s.PIDs) != maxProcs {
		t.Fatalf("while saturated: %+v", s)
	}
	g.open()

	pids := map[int]bool{}
	for range calls {
		a := receive(t, answers)
		if a.err != nil {
			t.Fatal(a.err)
		}
		pids[a.pid] = true
	}
	s := p.Stats()
	if len(pids) != maxProcs || s.Started != maxProcs || len(s.ColdStarts) != maxProcs {
		t.Errorf("%d distinct pids, stats %+v; want %d processes", len(pids), s, maxProcs)
	}
	for pid := range pids {
		if !slices.Contains(s.PIDs, pid) {
			t.Errorf("pid %d reported by the function is not in Stats.PIDs %v", pid, s.PIDs)
		}
	}
}

func TestSequentialInvocationsReuseOneWarmProcess(t *testing.T) {
	p := newPool(t, runtime.FunctionConfig{MaxProcesses: 4})
	var pids []int
	for i := range 5 {
		res, r := mustEcho(t, p, ev{"i": i})
		pids = append(pids, r.PID)
		if (i == 0) != (res.InitDuration > 0) {
			t.Errorf("invoke %d: init duration %v", i, res.InitDuration)
		}
	}
	if distinct := slices.Compact(slices.Sorted(slices.Values(pids))); len(distinct) != 1 {
		t.Errorf("pids %v, want one process", pids)
	}
	if s := p.Stats(); s.Started != 1 || len(s.ColdStarts) != 1 || s.Busy != 0 {
		t.Errorf("stats %+v, want one cold start", s)
	}
}

func TestOutputIsPrefixedPerProcessAndCaptured(t *testing.T) {
	var terminal bytes.Buffer
	out := runtime.NewCapture(&terminal)
	p := newPool(t, runtime.FunctionConfig{Name: "printer", Output: out})
	mustEcho(t, p, ev{"mode": "print", "stdout": "out line 1\nout line 2\r\n", "stderr": "err partial"})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"[printer#1] out line 1\n", "[printer#1] out line 2\n", "[printer#1] err partial\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if terminal.String() != got {
		t.Errorf("capture did not pass output on: %q vs %q", terminal.String(), got)
	}
}

func TestCloseEndsEveryProcessListenerAndGoroutine(t *testing.T) {
	g := newGate(t)
	before := goruntime.NumGoroutine()
	p := runtime.NewPool(runtime.FunctionConfig{Name: "closing", Binary: echoBin, MaxProcesses: 2})
	_, first := mustEcho(t, p, ev{})

	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := invoke(t, p, ev{"mode": "call", "url": g.srv.URL})
			errs <- err
		}()
	}
	waitFor(t, "two busy processes", func() bool { return p.Stats().Busy == 2 })
	pids := p.Stats().PIDs
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := receive(t, errs); !errors.Is(err, runtime.ErrClosed) {
			t.Errorf("running invocation ended with %v, want ErrClosed", err)
		}
	}
	for _, pid := range pids {
		if !processGone(pid) {
			t.Errorf("pid %d still exists after Close", pid)
		}
	}
	if conn, err := net.Dial("tcp", first.Env["AWS_LAMBDA_RUNTIME_API"]); err == nil {
		conn.Close()
		t.Errorf("runtime API %s still accepts connections", first.Env["AWS_LAMBDA_RUNTIME_API"])
	}
	if s := p.Stats(); s.Alive != 0 || len(s.PIDs) != 0 {
		t.Errorf("stats after Close: %+v", s)
	}
	if _, err := invoke(t, p, ev{}); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("invoke after Close: %v, want ErrClosed", err)
	}
	g.open()
	waitFor(t, fmt.Sprintf("goroutines back to %d", before), func() bool { return goruntime.NumGoroutine() <= before })
}

func TestQueuedInvocationRespectsContext(t *testing.T) {
	g := newGate(t)
	p := newPool(t, runtime.FunctionConfig{MaxProcesses: 1})
	running := make(chan error, 1)
	go func() {
		_, err := invoke(t, p, ev{"mode": "call", "url": g.srv.URL})
		running <- err
	}()
	waitFor(t, "the first invocation to run", func() bool { return g.arrivals.Load() == 1 })

	ctx, cancel := context.WithCancel(context.Background())
	queued := make(chan error, 1)
	go func() {
		_, err := p.Invoke(ctx, []byte(`{}`))
		queued <- err
	}()
	waitFor(t, "the second invocation to queue", func() bool { return p.Stats().Queued == 1 })
	cancel()
	if err := receive(t, queued); !errors.Is(err, context.Canceled) {
		t.Errorf("queued invocation: %v, want context.Canceled", err)
	}
	if q := p.Stats().Queued; q != 0 {
		t.Errorf("%d still queued after cancel", q)
	}
	g.open()
	if err := receive(t, running); err != nil {
		t.Fatal(err)
	}
	mustEcho(t, p, ev{})
	if s := p.Stats(); s.Started != 1 || g.arrivals.Load() != 1 {
		t.Errorf("stats %+v, %d calls: the withdrawn invocation must not run", s, g.arrivals.Load())
	}
}

func TestUnknownRequestIDIsRejected(t *testing.T) {
	p := newPool(t, runtime.FunctionConfig{})
	if _, r := mustEcho(t, p, ev{"mode": "bogus"}); r.Status != http.StatusBadRequest {
		t.Errorf("response for an unknown request id: status %d, want 400", r.Status)
	}
}

func TestPayloadLimits(t *testing.T) {
	p := newPool(t, runtime.FunctionConfig{})
	if _, err := p.Invoke(context.Background(), make([]byte, runtime.MaxRequestPayload+1)); !errors.Is(err, runtime.ErrPayloadTooLarge) {
		t.Errorf("oversized event: %v, want ErrPayloadTooLarge", err)
	}
	if s := p.Stats(); s.Started != 0 {
		t.Errorf("an oversized event started a process: %+v", s)
	}
	// Lambda accepts a response of 6 MiB + 100 bytes and rejects one byte
	// more: "Response payload size exceeded maximum allowed payload size
	// (6291556 bytes)" (limit: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html;
	// exact figure: interop.MaxPayloadSize in
	// github.com/aws/aws-lambda-runtime-interface-emulator).
	if runtime.MaxResponsePayload != 6_291_556 {
		t.Errorf("MaxResponsePayload = %d, want 6291556", runtime.MaxResponsePayload)
	}
	// What aws-lambda-go adds around a string of n bytes (quotes, newline).
	small, err := invoke(t, p, ev{"mode": "big", "bytes": 10})
	if err != nil || small.FunctionError != nil {
		t.Fatalf("small response: %v %+v", err, small.FunctionError)
	}
	overhead := len(small.Payload) - 10
	atLimit, err := invoke(t, p, ev{"mode": "big", "bytes": runtime.MaxResponsePayload - overhead})
	if err != nil {
		t.Fatal(err)
	}
	if atLimit.FunctionError != nil || len(atLimit.Payload) != runtime.MaxResponsePayload {
		t.Errorf("response of exactly %d bytes: %d bytes back, function error %+v", runtime.MaxResponsePayload, len(atLimit.Payload), atLimit.FunctionError)
	}
	res, err := invoke(t, p, ev{"mode": "big", "bytes": runtime.MaxResponsePayload - overhead + 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError == nil || res.FunctionError.ErrorType != "Function.ResponseSizeTooLarge" ||
		res.FunctionError.ErrorMessage != "Response payload size exceeded maximum allowed payload size (6291556 bytes)." {
		t.Errorf("response one byte over the limit: function error %+v", res.FunctionError)
	}
	mustEcho(t, p, ev{}) // the pool recovers whatever the runtime did next
}

func TestMissingBinaryFailsInvocation(t *testing.T) {
	p := newPool(t, runtime.FunctionConfig{Binary: filepath.Join(t.TempDir(), "nope")})
	if _, err := invoke(t, p, ev{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("err = %v, want a start error naming the binary", err)
	}
	if s := p.Stats(); s.Alive != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestInvokeOnce(t *testing.T) {
	res, err := runtime.InvokeOnce(context.Background(), runtime.FunctionConfig{Name: "once", Binary: echoBin}, []byte(`{"mode":"echo"}`))
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatal(err)
	}
	if r.FunctionName != "once" || !processGone(r.PID) {
		t.Errorf("function %q, pid %d gone: %v", r.FunctionName, r.PID, processGone(r.PID))
	}
}

// BenchmarkColdStart measures exec to first /next of echofn (the
// cold-start-ms metric is the median) and a warm invocation.
func BenchmarkColdStart(b *testing.B) {
	var inits []time.Duration
	for b.Loop() {
		res, err := runtime.InvokeOnce(context.Background(), runtime.FunctionConfig{Name: "bench", Binary: echoBin}, []byte(`{}`))
		if err != nil {
			b.Fatal(err)
		}
		inits = append(inits, res.InitDuration)
	}
	slices.Sort(inits)
	b.ReportMetric(float64(inits[len(inits)/2].Microseconds())/1000, "cold-start-ms")
}

func BenchmarkWarmInvoke(b *testing.B) {
	p := newPool(b, runtime.FunctionConfig{MaxProcesses: 1})
	mustEcho(b, p, ev{})
	for b.Loop() {
		mustEcho(b, p, ev{})
	}
}
