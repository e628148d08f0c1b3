package runtime

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Result is the outcome of an invocation that reached the function.
type Result struct {
	// Payload is the function's response, or its error payload when
	// FunctionError is set (as Lambda's Invoke API returns it).
	Payload []byte
	// FunctionError is set when the function reported an error (a returned
	// error or a panic) instead of a response.
	FunctionError *ErrorPayload
	// RequestID is the Lambda request id the function saw.
	RequestID string
	// Duration runs from handing the event to the process to its answer:
	// Lambda's billed "Duration", without queueing or init.
	Duration time.Duration
	// InitDuration is the process's exec-to-first-/next time when this
	// invocation started it (a cold start), zero on a warm process.
	InitDuration time.Duration
	// Instance is the number of the process that ran the invocation, as in
	// its output prefix "[Name#Instance]".
	Instance int
}

// Stats describes a pool at one moment, for tests and benchmarks.
type Stats struct {
	// Started counts every process ever started.
	Started int
	// Alive counts processes not yet exited, including starting ones and
	// ones being killed.
	Alive int
	// Busy counts processes running an invocation.
	Busy int
	// Queued counts invocations waiting for a process.
	Queued int
	// PIDs lists the operating-system ids of the Alive processes.
	PIDs []int
	// ColdStarts lists, for every process that reached its first /next, the
	// time from exec to that request, in the order they arrived.
	ColdStarts []time.Duration
}

// Pool runs the processes of one function and routes invocations to them.
// Its methods are safe for concurrent use.
type Pool struct {
	cfg FunctionConfig
	out *output

	// wg counts the goroutines of every process (its HTTP server and the
	// goroutine waiting for its exit); Close waits for it.
	wg sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	procs      []*process    // alive processes, oldest first
	queue      []*invocation // invocations no process has been chosen for
	started    int
	coldStarts []time.Duration
}

// NewPool returns a pool for cfg. It starts nothing: the first Invoke does.
func NewPool(cfg FunctionConfig) *Pool {
	cfg = cfg.withDefaults()
	return &Pool{cfg: cfg, out: &output{w: cfg.Output}}
}

// outcome is what an invocation ends with.
type outcome struct {
	res Result
	err error
}

// invocation is one Invoke call on its way through the pool. Its fields
// other than done are guarded by the pool's mutex.
type invocation struct {
	id       string
	traceID  string
	payload  []byte
	done     chan outcome // buffered: finishing never blocks
	finished bool

	// proc is the process chosen to run it (nil while queued); delivered is
	// when it was handed over, timer its deadline.
	proc      *process
	delivered time.Time
	timer     *time.Timer
	// initDuration is set when proc was started for this invocation.
	initDuration time.Duration
}

// Invoke runs the function once with payload as the event, the way
// Lambda's synchronous Invoke does. It returns a Result when the function
// answered, with FunctionError set if it answered with an error. It returns
// an error wrapping ErrTimeout when the deadline passed, an *ExitError when
// the process died, ErrPayloadTooLarge, ErrClosed, or ctx's error when ctx
// ended first: ctx bounds the wait, but an invocation already handed to a
// process keeps running to its own deadline, as on Lambda.
func (p *Pool) Invoke(ctx context.Context, payload []byte) (Result, error) {
	if len(payload) > MaxRequestPayload {
		return Result{}, fmt.Errorf("%s: %w: %d bytes, at most %d", p.cfg.Name, ErrPayloadTooLarge, len(payload), MaxRequestPayload)
	}
	now := time.Now()
	inv := &invocation{
		id:      newRequestID(),
		traceID: newTraceID(now),
		payload: payload,
		done:    make(chan outcome, 1),
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return Result{}, fmt.Errorf("%s: %w", p.cfg.Name, ErrClosed)
	}
	p.queue = append(p.queue, inv)
	p.dispatchLocked()
	p.mu.Unlock()

	select {
	case o := <-inv.done:
		return o.res, o.err
	case <-ctx.Done():
		p.mu.Lock()
		p.withdrawLocked(inv)
		p.mu.Unlock()
		return Result{RequestID: inv.id}, fmt.Errorf("%s: invocation %s: %w", p.cfg.Name, inv.id, ctx.Err())
	}
}

// withdrawLocked takes back an invocation whose caller gave up, unless it
// has already been handed to a process (then it runs to its end, unseen).
func (p *Pool) withdrawLocked(inv *invocation) {
	if inv.finished || !inv.delivered.IsZero() {
		return
	}
	inv.finished = true
	if i := slices.Index(p.queue, inv); i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1)
		return
	}
	if pr := inv.proc; pr != nil && pr.next == inv {
		// The process was starting or finishing its previous invocation;
		// it is free again for the queue.
		pr.next = nil
		inv.proc = nil
		p.dispatchLocked()
	}
}

// finishLocked ends inv with o, once.
func (p *Pool) finishLocked(inv *invocation, o outcome) {
	if inv.finished {
		return
	}
	inv.finished = true
	if inv.timer != nil {
		inv.timer.Stop()
	}
	inv.done <- o
}

// dispatchLocked hands queued invocations, oldest first, to processes: a
// process blocked in /next first, then one that has just answered and will
// call /next at once, then a starting one whose invocation was withdrawn,
// and otherwise a new process while fewer than MaxProcesses exist.
func (p *Pool) dispatchLocked() {
	if p.closed {
		for _, inv := range p.queue {
			p.finishLocked(inv, outcome{err: fmt.Errorf("%s: %w", p.cfg.Name, ErrClosed)})
		}
		p.queue = nil
		return
	}
	for len(p.queue) > 0 {
		inv := p.queue[0]
		pr := p.freeProcessLocked()
		if pr == nil {
			if len(p.procs) >= p.cfg.MaxProcesses {
				return
			}
			p.queue = p.queue[1:]
			if err := p.startLocked(inv); err != nil {
				p.finishLocked(inv, outcome{err: err})
			}
			continue
		}
		p.queue = p.queue[1:]
		pr.next = inv
		inv.proc = pr
		if pr.state == stateIdle {
			select {
			case pr.wake <- struct{}{}:
			default:
			}
		}
	}
}

// freeProcessLocked returns the best process to give the next invocation
// to, or nil.
func (p *Pool) freeProcessLocked() *process {
	var finishing, starting *process
	for _, pr := range p.procs {
		if pr.next != nil {
			continue
		}
		switch pr.state {
		case stateIdle:
			return pr
		case stateFinishing:
			if finishing == nil {
				finishing = pr
			}
		case stateStarting:
			if starting == nil {
				starting = pr
			}
		}
	}
	if finishing != nil {
		return finishing
	}
	return starting
}

// Stats returns the pool's current counts.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{
		Started:    p.started,
		Alive:      len(p.procs),
		Queued:     len(p.queue),
		ColdStarts: slices.Clone(p.coldStarts),
	}
	for _, pr := range p.procs {
		if pr.state == stateBusy {
			s.Busy++
		}
		s.PIDs = append(s.PIDs, pr.pid)
	}
	return s
}

// Close fails queued invocations with ErrClosed, kills every process
// group, closes every listener, and returns once every process has been
// reaped and every goroutine of the pool has ended. Invocations running at
// that moment fail with ErrClosed. Close may be called more than once.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	p.dispatchLocked() // fails the queue
	procs := slices.Clone(p.procs)
	for _, pr := range procs {
		pr.state = stateDying
	}
	p.mu.Unlock()
	for _, pr := range procs {
		killGroup(pr.pid)
	}
	p.wg.Wait()
	return nil
}

// InvokeOnce starts a pool of one process for cfg, invokes it once with
// payload, and closes the pool: `make invoke`, like `sam local invoke`.
func InvokeOnce(ctx context.Context, cfg FunctionConfig, payload []byte) (Result, error) {
	cfg.MaxProcesses = 1
	p := NewPool(cfg)
	defer p.Close()
	return p.Invoke(ctx, payload)
}
