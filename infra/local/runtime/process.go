package runtime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// procState is where a process is in its life; guarded by the pool mutex.
type procState int

const (
	// stateStarting: exec'd, has not called /next yet.
	stateStarting procState = iota
	// stateIdle: blocked in /next with nothing to run.
	stateIdle
	// stateBusy: running an invocation it has not answered yet.
	stateBusy
	// stateFinishing: has answered and is about to call /next again.
	stateFinishing
	// stateDying: killed or failed; waiting to be reaped.
	stateDying
)

// Paths of the Runtime API, version 2018-06-01.
const (
	pathNext      = "/2018-06-01/runtime/invocation/next"
	pathResponse  = "/2018-06-01/runtime/invocation/{id}/response"
	pathError     = "/2018-06-01/runtime/invocation/{id}/error"
	pathInitError = "/2018-06-01/runtime/init/error"
)

// Headers of the Runtime API.
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody  = "Lambda-Runtime-Function-Error-Body"
)

// process is one running copy of the function binary with its own Runtime
// API server.
type process struct {
	pool     *Pool
	instance int
	pid      int
	cmd      *exec.Cmd
	srv      *http.Server
	stdout   *lineWriter
	stderr   *lineWriter
	prefix   string

	execAt    time.Time
	initTimer *time.Timer

	// wake is signalled when next is set for a process blocked in /next.
	wake chan struct{}
	// dead is closed once the process has been reaped.
	dead chan struct{}

	// Guarded by the pool mutex.
	state     procState
	ready     bool          // has called /next at least once
	initDur   time.Duration // exec to first /next
	next      *invocation   // to hand over at the next /next
	current   *invocation   // handed over, not answered
	initError *ErrorPayload // posted to /init/error
}

// startLocked starts a new process that will run inv first.
func (p *Pool) startLocked(inv *invocation) error {
	cfg := p.cfg
	bin, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return fmt.Errorf("%s: binary %q: %w", cfg.Name, cfg.Binary, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("%s: runtime API listener: %w", cfg.Name, err)
	}
	instance := p.started + 1
	pr := &process{
		pool:     p,
		instance: instance,
		prefix:   fmt.Sprintf("[%s#%d] ", cfg.Name, instance),
		wake:     make(chan struct{}, 1),
		dead:     make(chan struct{}),
		next:     inv,
	}
	pr.stdout = &lineWriter{out: p.out, prefix: pr.prefix}
	pr.stderr = &lineWriter{out: p.out, prefix: pr.prefix}
	pr.srv = &http.Server{Handler: pr.routes(), ReadHeaderTimeout: 10 * time.Second}

	taskRoot := filepath.Dir(bin)
	now := time.Now()
	logStream := fmt.Sprintf("%s/[$LATEST]%s", now.UTC().Format("2006/01/02"), randomHex(16))
	cmd := exec.Command(bin)
	cmd.Dir = taskRoot
	cmd.Env = cfg.environ(taskRoot, ln.Addr().String(), logStream)
	cmd.Stdout = pr.stdout
	cmd.Stderr = pr.stderr
	// A descendant holding the output pipes open must not keep Wait, and
	// so Close, waiting for long once the process itself has ended.
	cmd.WaitDelay = time.Second
	isolate(cmd)
	pr.cmd = cmd

	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		// Serve returns ErrServerClosed once the process is reaped.
		_ = pr.srv.Serve(ln)
	}()
	pr.execAt = time.Now()
	if err := cmd.Start(); err != nil {
		_ = pr.srv.Close()
		_ = ln.Close() // Serve may not have taken it over yet
		return fmt.Errorf("%s: start %s: %w", cfg.Name, bin, err)
	}
	pr.pid = cmd.Process.Pid
	p.started++
	p.procs = append(p.procs, pr)
	inv.proc = pr
	pr.initTimer = time.AfterFunc(cfg.InitTimeout, func() { p.initTimedOut(pr) })
	p.wg.Add(1)
	go p.watch(pr)
	return nil
}

// initTimedOut kills a process that has not called /next within
// InitTimeout and fails the invocation waiting for it.
func (p *Pool) initTimedOut(pr *process) {
	p.mu.Lock()
	if pr.state != stateStarting {
		p.mu.Unlock()
		return
	}
	pr.state = stateDying
	if inv := pr.next; inv != nil {
		pr.next = nil
		p.finishLocked(inv, outcome{err: fmt.Errorf("%s#%d: %w: init did not finish within %s", p.cfg.Name, pr.instance, ErrTimeout, p.cfg.InitTimeout)})
	}
	p.mu.Unlock()
	p.out.writeLine(pr.prefix, fmt.Appendf(nil, "INIT_REPORT Init Duration: %s Phase: init Status: timeout", p.cfg.InitTimeout))
	killGroup(pr.pid)
}

// expire kills the process running inv when inv's deadline passes without
// an answer, and fails inv with ErrTimeout.
func (p *Pool) expire(pr *process, inv *invocation) {
	p.mu.Lock()
	if pr.current != inv {
		p.mu.Unlock()
		return
	}
	pr.current = nil
	pr.state = stateDying
	p.finishLocked(inv, outcome{
		res: Result{RequestID: inv.id, Duration: p.cfg.Timeout, InitDuration: inv.initDuration, Instance: pr.instance},
		err: fmt.Errorf("%s#%d: request %s: %w after %.2f seconds", p.cfg.Name, pr.instance, inv.id, ErrTimeout, p.cfg.Timeout.Seconds()),
	})
	p.mu.Unlock()
	p.out.writeLine(pr.prefix, fmt.Appendf(nil, "%s Task timed out after %.2f seconds", inv.id, p.cfg.Timeout.Seconds()))
	killGroup(pr.pid)
}

// watch reaps the process, fails or requeues what depended on it, and
// shuts its server down.
func (p *Pool) watch(pr *process) {
	defer p.wg.Done()
	_ = pr.cmd.Wait() // the exit status is read from ProcessState below
	pr.stdout.flush()
	pr.stderr.flush()
	// Whatever the process started dies with it, as a sandbox would.
	killGroup(pr.pid)
	pr.initTimer.Stop()

	ps := pr.cmd.ProcessState
	p.mu.Lock()
	expected := pr.state == stateDying
	exitErr := &ExitError{
		Function:   p.cfg.Name,
		Instance:   pr.instance,
		PID:        pr.pid,
		DuringInit: !pr.ready,
		Status:     ps.String(),
		ExitCode:   ps.ExitCode(),
		InitError:  pr.initError,
	}
	var err error = exitErr
	if p.closed {
		err = fmt.Errorf("%s#%d: %w", p.cfg.Name, pr.instance, ErrClosed)
	}
	pr.state = stateDying
	if i := indexOf(p.procs, pr); i >= 0 {
		p.procs = append(p.procs[:i:i], p.procs[i+1:]...)
	}
	if inv := pr.current; inv != nil {
		pr.current = nil
		p.finishLocked(inv, outcome{res: Result{RequestID: inv.id, Instance: pr.instance}, err: err})
	}
	if inv := pr.next; inv != nil {
		pr.next = nil
		inv.proc = nil
		if pr.ready {
			// The process died between answering and its next /next: the
			// function never saw inv, so another process may run it.
			p.queue = append([]*invocation{inv}, p.queue...)
		} else {
			p.finishLocked(inv, outcome{res: Result{RequestID: inv.id, Instance: pr.instance}, err: err})
		}
	}
	close(pr.dead)
	p.dispatchLocked()
	p.mu.Unlock()

	if !expected && !p.isClosed() {
		p.out.writeLine(pr.prefix, fmt.Appendf(nil, "Runtime exited: %s", ps))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if pr.srv.Shutdown(ctx) != nil {
		_ = pr.srv.Close()
	}
}

// isClosed reports whether Close has been called.
func (p *Pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// indexOf returns the index of pr in procs, or -1.
func indexOf(procs []*process, pr *process) int {
	for i, q := range procs {
		if q == pr {
			return i
		}
	}
	return -1
}

// kill kills the process group on behalf of a handler that found the
// runtime misbehaving.
func (pr *process) kill() {
	p := pr.pool
	p.mu.Lock()
	select {
	case <-pr.dead:
		p.mu.Unlock()
		return // reaped: its pid may already belong to another process
	default:
	}
	pr.state = stateDying
	p.mu.Unlock()
	killGroup(pr.pid)
}

// routes is the Runtime API of this process.
func (pr *process) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathNext, pr.handleNext)
	mux.HandleFunc("POST "+pathResponse, pr.handleResponse)
	mux.HandleFunc("POST "+pathError, pr.handleError)
	mux.HandleFunc("POST "+pathInitError, pr.handleInitError)
	return mux
}

// handleNext blocks until an invocation is handed to this process, then
// returns its event and the Lambda headers.
func (pr *process) handleNext(w http.ResponseWriter, r *http.Request) {
	p := pr.pool
	p.mu.Lock()
	switch pr.state {
	case stateDying:
		p.mu.Unlock()
		pr.waitDead(w, r)
		return
	case stateStarting:
		pr.ready = true
		pr.initDur = time.Since(pr.execAt)
		pr.initTimer.Stop()
		p.coldStarts = append(p.coldStarts, pr.initDur)
		if inv := pr.next; inv != nil {
			inv.initDuration = pr.initDur
		}
	case stateBusy:
		// A runtime must answer before asking for more; Lambda would not
		// hand it anything else, so the unanswered invocation fails.
		if inv := pr.current; inv != nil {
			pr.current = nil
			p.finishLocked(inv, outcome{
				res: Result{RequestID: inv.id, Instance: pr.instance},
				err: fmt.Errorf("%s#%d: request %s: runtime asked for the next invocation without answering this one", p.cfg.Name, pr.instance, inv.id),
			})
		}
	}
	pr.state = stateIdle
	for {
		if pr.next == nil {
			p.dispatchLocked()
		}
		if inv := pr.next; inv != nil {
			pr.next = nil
			pr.deliverLocked(inv)
			p.mu.Unlock()
			pr.writeEvent(w, inv)
			return
		}
		p.mu.Unlock()
		select {
		case <-pr.wake:
		case <-pr.dead:
			http.Error(w, "process ended", http.StatusGone)
			return
		case <-r.Context().Done():
			// Only a dying runtime drops its /next: make sure it dies.
			pr.kill()
			return
		}
		p.mu.Lock()
		if pr.state == stateDying {
			p.mu.Unlock()
			pr.waitDead(w, r)
			return
		}
	}
}

// waitDead holds a request of a process being killed until it is gone.
func (pr *process) waitDead(w http.ResponseWriter, r *http.Request) {
	select {
	case <-pr.dead:
	case <-r.Context().Done():
	}
	http.Error(w, "process ended", http.StatusGone)
}

// deliverLocked makes inv the process's current invocation and starts its
// deadline.
func (pr *process) deliverLocked(inv *invocation) {
	p := pr.pool
	pr.current = inv
	pr.state = stateBusy
	inv.proc = pr
	inv.delivered = time.Now()
	inv.timer = time.AfterFunc(p.cfg.Timeout, func() { p.expire(pr, inv) })
}

// writeEvent answers /next with inv.
func (pr *process) writeEvent(w http.ResponseWriter, inv *invocation) {
	h := w.Header()
	h.Set(headerRequestID, inv.id)
	h.Set(headerDeadline, strconv.FormatInt(inv.delivered.Add(pr.pool.cfg.Timeout).UnixMilli(), 10))
	h.Set(headerFunctionARN, pr.pool.cfg.ARN)
	h.Set(headerTraceID, inv.traceID)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
	w.WriteHeader(http.StatusOK)
	// A failed write means the process is going away; watch handles that.
	_, _ = w.Write(inv.payload)
}

// handleResponse takes the function's answer to an invocation.
func (pr *process) handleResponse(w http.ResponseWriter, r *http.Request) {
	body, tooLarge, err := readLimited(r.Body, MaxResponsePayload)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "cannot read the response body")
		return
	}
	o := outcome{res: Result{Payload: body}}
	status := http.StatusAccepted
	switch {
	case tooLarge:
		o.res.FunctionError = &ErrorPayload{
			ErrorType:    "Function.ResponseSizeTooLarge",
			ErrorMessage: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponsePayload),
		}
		o.res.Payload, _ = json.Marshal(o.res.FunctionError)
		status = http.StatusRequestEntityTooLarge
	case r.Trailer.Get(headerErrorType) != "":
		// aws-lambda-go reports an error raised while streaming the
		// response in trailers; Lambda turns it into a function error.
		ep := &ErrorPayload{ErrorType: r.Trailer.Get(headerErrorType)}
		if raw, err := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody)); err == nil {
			_ = json.Unmarshal(raw, ep) // keep the type alone if the body is unreadable
			o.res.Payload = raw
		}
		o.res.FunctionError = ep
	}
	if !pr.complete(w, r.PathValue("id"), o) {
		return
	}
	if status == http.StatusRequestEntityTooLarge {
		writeAPIError(w, status, "RequestEntityTooLarge", o.res.FunctionError.ErrorMessage)
		return
	}
	writeAccepted(w)
}

// handleError takes the function's error for an invocation.
func (pr *process) handleError(w http.ResponseWriter, r *http.Request) {
	body, _, err := readLimited(r.Body, MaxResponsePayload)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "cannot read the error body")
		return
	}
	ep := parseErrorPayload(body, r.Header.Get(headerErrorType))
	if !pr.complete(w, r.PathValue("id"), outcome{res: Result{Payload: body, FunctionError: ep}}) {
		return
	}
	writeAccepted(w)
}

// complete ends the process's current invocation with o if id names it;
// otherwise it answers 400 and returns false.
func (pr *process) complete(w http.ResponseWriter, id string, o outcome) bool {
	p := pr.pool
	p.mu.Lock()
	inv := pr.current
	if inv == nil || inv.id != id {
		p.mu.Unlock()
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "invalid request ID")
		return false
	}
	pr.current = nil
	if pr.state == stateBusy {
		pr.state = stateFinishing
	}
	o.res.RequestID = inv.id
	o.res.Duration = time.Since(inv.delivered)
	o.res.InitDuration = inv.initDuration
	o.res.Instance = pr.instance
	p.finishLocked(inv, o)
	p.dispatchLocked()
	p.mu.Unlock()
	return true
}

// handleInitError records an init failure; the process is then killed and
// the invocation waiting for it fails with an *ExitError carrying it.
func (pr *process) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _, err := readLimited(r.Body, MaxResponsePayload)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "cannot read the error body")
		return
	}
	ep := parseErrorPayload(body, r.Header.Get(headerErrorType))
	p := pr.pool
	p.mu.Lock()
	pr.initError = ep
	pr.state = stateDying
	p.mu.Unlock()
	p.out.writeLine(pr.prefix, fmt.Appendf(nil, "INIT_REPORT Phase: init Status: error Error Type: %s", ep.ErrorType))
	writeAccepted(w)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	killGroup(pr.pid)
}

// parseErrorPayload reads an error body, falling back to the error-type
// header and the raw text when the body is not the expected JSON.
func parseErrorPayload(body []byte, headerType string) *ErrorPayload {
	ep := &ErrorPayload{}
	if err := json.Unmarshal(body, ep); err != nil {
		ep = &ErrorPayload{ErrorMessage: string(body)}
	}
	if ep.ErrorType == "" {
		ep.ErrorType = headerType
	}
	if ep.ErrorType == "" {
		ep.ErrorType = "Runtime.Unknown"
	}
	return ep
}

// readLimited reads r up to limit bytes, reporting whether there was more.
func readLimited(r io.Reader, limit int64) (body []byte, tooLarge bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(body)) > limit {
		// Drain the rest so that trailers and the connection stay usable.
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, false, err
		}
		return body[:limit], true, nil
	}
	return body, false, nil
}

// writeAccepted is the Runtime API's answer to an accepted post.
func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`+"\n")
}

// writeAPIError is the Runtime API's error answer.
func writeAPIError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorPayload{ErrorType: errorType, ErrorMessage: message})
}
