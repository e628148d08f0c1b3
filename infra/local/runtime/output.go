package runtime

import (
	"bytes"
	"io"
	"sync"
)

// maxLine bounds how much of a line without a newline is buffered: a longer
// run is written out as a line of its own, so a function printing megabytes
// without newlines cannot grow memory without bound.
const maxLine = 64 * 1024

// output serialises the lines of every process of a pool onto one writer.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

// writeLine writes prefix+line+"\n" in one Write call. Write errors are
// ignored: a broken log sink must not fail invocations.
func (o *output) writeLine(prefix string, line []byte) {
	buf := make([]byte, 0, len(prefix)+len(line)+1)
	buf = append(buf, prefix...)
	buf = append(buf, line...)
	buf = append(buf, '\n')
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(buf)
}

// lineWriter is the stdout or stderr of one process: it cuts what the
// process writes into lines and hands each to the pool's output with the
// process's prefix. exec.Cmd copies each pipe from a single goroutine, so a
// lineWriter needs no lock of its own.
type lineWriter struct {
	out    *output
	prefix string
	buf    []byte
}

// Write implements io.Writer; it never fails.
func (lw *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			lw.buf = append(lw.buf, p...)
			if len(lw.buf) >= maxLine {
				lw.flush()
			}
			break
		}
		line := p[:i]
		if len(lw.buf) > 0 {
			line = append(lw.buf, line...)
		}
		lw.out.writeLine(lw.prefix, bytes.TrimSuffix(line, []byte{'\r'}))
		lw.buf = lw.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}

// flush writes a pending partial line, if any.
func (lw *lineWriter) flush() {
	if len(lw.buf) > 0 {
		lw.out.writeLine(lw.prefix, lw.buf)
		lw.buf = lw.buf[:0]
	}
}

// Capture is an io.Writer, safe for concurrent use, that keeps everything
// written to it and also passes it on to another writer. Give one to several
// pools as their Output to see all function output on the terminal and
// still assert on it afterwards (for instance that no secret was logged).
type Capture struct {
	mu   sync.Mutex
	next io.Writer
	buf  bytes.Buffer
}

// NewCapture returns a Capture passing everything on to next (nil: to
// nothing).
func NewCapture(next io.Writer) *Capture {
	if next == nil {
		next = io.Discard
	}
	return &Capture{next: next}
}

// Write keeps p and writes it to the next writer. It reports the next
// writer's error, but p is kept either way.
func (c *Capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	return c.next.Write(p)
}

// String returns everything written so far.
func (c *Capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
