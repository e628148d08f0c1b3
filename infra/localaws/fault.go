package localaws

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is a TCP proxy on loopback that stands in front of a real server
// (or of nothing) and fails the way a hung dependency does: it accepts the
// connection and then never answers. Tests put its URL in place of an
// endpoint (SES, DynamoDB, SQS) and switch its mode between calls.
type Fault struct {
	ln     net.Listener
	target string
	mode   atomic.Int32
	delay  atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Fault modes.
const (
	// FaultPass forwards both ways.
	FaultPass int32 = iota
	// FaultHang reads requests and never forwards or answers them.
	FaultHang
	// FaultSwallow forwards requests but never answers: the request takes
	// effect and the caller cannot know.
	FaultSwallow
	// FaultDelay forwards each request after the delay set by Delay.
	FaultDelay
)

// NewFault listens on a free loopback port in front of target (host:port;
// "" for none: every mode but FaultHang then closes the connection). It
// starts in FaultHang.
func NewFault(target string) (*Fault, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Fault{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	f.mode.Store(FaultHang)
	f.wg.Add(1)
	go f.accept()
	return f, nil
}

// URL is the endpoint to give the SDK.
func (f *Fault) URL() string { return "http://" + f.ln.Addr().String() }

// Pass, Hang and Swallow switch the mode for requests from now on. A
// connection that hung or swallowed once stays so (its caller gives it up
// at its deadline), so no half-forwarded request ever reaches the server.
func (f *Fault) Pass()    { f.mode.Store(FaultPass) }
func (f *Fault) Hang()    { f.mode.Store(FaultHang) }
func (f *Fault) Swallow() { f.mode.Store(FaultSwallow) }

// Delay forwards each request after d: a dependency that is slow but
// answers.
func (f *Fault) Delay(d time.Duration) {
	f.delay.Store(int64(d))
	f.mode.Store(FaultDelay)
}

// Close stops listening and drops every connection.
func (f *Fault) Close() {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	_ = f.ln.Close()
	f.wg.Wait()
}

func (f *Fault) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		_ = c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *Fault) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	_ = c.Close()
}

func (f *Fault) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		if !f.track(c) {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.untrack(c)
			f.serve(c)
		}()
	}
}

// serve relays one connection, chunk by chunk, in the mode of the moment.
func (f *Fault) serve(client net.Conn) {
	var up net.Conn
	var stuck atomic.Bool // this connection hung or swallowed: answers are dropped
	defer func() {
		if up != nil {
			f.untrack(up)
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			mode := f.mode.Load()
			if stuck.Load() && mode != FaultSwallow {
				mode = FaultHang
			}
			switch mode {
			case FaultHang:
				stuck.Store(true)
				continue
			case FaultSwallow:
				stuck.Store(true)
			case FaultDelay:
				time.Sleep(time.Duration(f.delay.Load()))
			}
			if up == nil {
				if f.target == "" {
					return
				}
				if up, err = net.Dial("tcp", f.target); err != nil || !f.track(up) {
					return
				}
				f.wg.Add(1)
				go func(up net.Conn) {
					defer f.wg.Done()
					f.relayBack(up, client, &stuck)
				}(up)
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// relayBack copies the server's answers to the client, dropping them once
// the connection is stuck.
func (f *Fault) relayBack(up, client net.Conn, stuck *atomic.Bool) {
	buf := make([]byte, 64<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 && !stuck.Load() {
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			// The server ended the connection: so does the client's,
			// unless it is stuck (then it waits for its caller's deadline).
			if !stuck.Load() {
				_ = client.Close()
			}
			return
		}
	}
}
