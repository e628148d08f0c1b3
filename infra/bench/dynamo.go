package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"
)

// Dynamo is one figure's own minidyn server on loopback, in this process
// or in a child process. It can log the items every write request names
// (from the request bodies, so it sees the calls of function processes
// too, which SDK middleware in this process cannot): see StartLog.
type Dynamo struct {
	url   string
	close func()
	// log is the server's write log when it runs in this process; nil
	// when it runs in a child, which answers for it under /bench/.
	log *WriteLog
}

// StartDynamo starts a server in this process.
func StartDynamo() (*Dynamo, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	log := &WriteLog{}
	hs := &httptest.Server{Listener: l, Config: &http.Server{Handler: logging(server.NewServer(), log)}}
	hs.Start()
	return &Dynamo{url: hs.URL, close: hs.Close, log: log}, nil
}

// logging serves minidyn behind log, and log itself under /bench/log/.
func logging(srv *server.Server, log *WriteLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bench/log/start":
			log.Start()
			return
		case "/bench/log/stop":
			log.Stop()
			return
		case "/bench/log/top":
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			_ = json.NewEncoder(w).Encode(log.Report(n))
			return
		case "/bench/log/requests":
			_ = json.NewEncoder(w).Encode(log.Requests())
			return
		}
		if log.On() && r.Body != nil {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			target := r.Header.Get("X-Amz-Target")
			op := target[strings.LastIndexByte(target, '.')+1:]
			log.add(op, body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			srv.ServeHTTP(sw, r)
			log.done(op, body, sw.status)
			return
		}
		srv.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// serveEnv, set in a process's environment to a listen address, makes
// MaybeServeDynamo serve minidyn there instead of running the program.
const serveEnv = "GIFTCREDIT_BENCH_MINIDYN"

// StartDynamoProcess starts minidyn in a child process (this program
// again, see MaybeServeDynamo), so that the server's work, its garbage
// above all (it copies the table on every transaction), is not collected
// inside the process whose calls are being timed: DynamoDB is remote too.
func StartDynamoProcess() (*Dynamo, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	// A larger GC target makes the stand-in's own collections, of the table
	// copies it makes on every transaction, rarer: less noise in what the
	// figures time, the same for every side of a comparison.
	cmd.Env = append(os.Environ(), serveEnv+"=127.0.0.1:0", "GOGC=400")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("minidyn process: no address (%q, %v)", line, err)
	}
	return &Dynamo{url: "http://" + addr, close: func() {
		_ = stdin.Close() // the child exits when its stdin closes
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}}, nil
}

// MaybeServeDynamo serves minidyn and exits, when this process was started
// by StartDynamoProcess; otherwise it returns at once. Call it first thing
// in main (and in TestMain).
func MaybeServeDynamo() {
	addr := os.Getenv(serveEnv)
	if addr == "" {
		return
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "minidyn:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", l.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	h := logging(server.NewServer(), &WriteLog{})
	err = (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(l)
	fmt.Fprintln(os.Stderr, "minidyn:", err)
	os.Exit(1)
}

// URL is the endpoint to give the SDK and the functions.
func (d *Dynamo) URL() string { return d.url }

// Close stops the server.
func (d *Dynamo) Close() { d.close() }

// StartLog clears the write log and starts it.
func (d *Dynamo) StartLog(ctx context.Context) error {
	if d.log != nil {
		d.log.Start()
		return nil
	}
	return d.control(ctx, "/bench/log/start", nil)
}

// StopLog stops the write log; what it logged stays.
func (d *Dynamo) StopLog(ctx context.Context) error {
	if d.log != nil {
		d.log.Stop()
		return nil
	}
	return d.control(ctx, "/bench/log/stop", nil)
}

// WriteRequests returns the write requests the log recorded, in the order
// the server answered them (see WriteLog.Requests).
func (d *Dynamo) WriteRequests(ctx context.Context) ([]WriteRequest, error) {
	var logged []LoggedWrite
	if d.log != nil {
		logged = d.log.Requests()
	} else if err := d.control(ctx, "/bench/log/requests", &logged); err != nil {
		return nil, err
	}
	out := make([]WriteRequest, 0, len(logged))
	for _, l := range logged {
		if r, ok := ParseWriteRequest(l.Op, l.Body, l.OK); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// HotItems reports the n most-written items of the log.
func (d *Dynamo) HotItems(ctx context.Context, n int) (HotReport, error) {
	if d.log != nil {
		return d.log.Report(n), nil
	}
	var r HotReport
	err := d.control(ctx, "/bench/log/top?n="+strconv.Itoa(n), &r)
	return r, err
}

func (d *Dynamo) control(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("minidyn write log: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("minidyn write log: %s", resp.Status)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// NewClient returns a client for d with dummy static credentials, the
// recorder installed when rec is not nil.
func (d *Dynamo) NewClient(rec *Recorder) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(d.URL()),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		Retryer:      retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 3 }),
	}, func(o *dynamodb.Options) {
		if rec != nil {
			rec.Option()(o)
		}
	})
}

// TableItems returns the number of items of table. minidyn answers
// DescribeTable without its lock: call it only when no write is running.
func TableItems(ctx context.Context, client *dynamodb.Client, table string) (int, error) {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return 0, fmt.Errorf("describe table: %w", err)
	}
	return int(aws.ToInt64(out.Table.ItemCount)), nil
}

// ItemKey is an item's primary key as written on the wire.
type ItemKey struct{ PK, SK string }

// WriteLog counts, per item, the write requests that named it: every Put,
// Update and Delete of a TransactWriteItems, PutItem, UpdateItem, DeleteItem
// and BatchWriteItem, whether or not its condition then held (a failed
// conditional write costs the item's partition capacity all the same).
// ConditionCheck actions are counted apart: they write nothing. It also
// keeps every write request's body and outcome, for figure 8.
type WriteLog struct {
	mu       sync.Mutex
	on       bool
	writes   map[ItemKey]int
	checks   map[ItemKey]int
	total    int
	requests []LoggedWrite
}

// LoggedWrite is one write request the server answered while the log was
// on: its operation, body and whether it succeeded (a 2xx answer).
type LoggedWrite struct {
	Op   string          `json:"op"`
	Body json.RawMessage `json:"body"`
	OK   bool            `json:"ok"`
}

// Start clears the log and starts recording.
func (l *WriteLog) Start() {
	l.mu.Lock()
	l.on, l.writes, l.checks, l.total, l.requests = true, map[ItemKey]int{}, map[ItemKey]int{}, 0, nil
	l.mu.Unlock()
}

// done records a write request once the server has answered it, so that
// the requests are kept in the order they took effect (minidyn applies
// one request at a time).
func (l *WriteLog) done(op string, body []byte, status int) {
	if !writeOps[op] || !json.Valid(body) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.on {
		l.requests = append(l.requests, LoggedWrite{Op: op, Body: body, OK: status/100 == 2})
	}
}

// Requests returns the write requests recorded, in the order they were
// answered.
func (l *WriteLog) Requests() []LoggedWrite {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LoggedWrite(nil), l.requests...)
}

// Stop stops recording; the counts stay.
func (l *WriteLog) Stop() {
	l.mu.Lock()
	l.on = false
	l.mu.Unlock()
}

// On reports whether the log is recording.
func (l *WriteLog) On() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.on
}

// HotReport is the top of a write log.
type HotReport struct {
	// Top are the most-written items, most first.
	Top []HotItem `json:"top"`
	// Writes is the number of item writes logged.
	Writes int `json:"writes"`
	// Others are the most-written items that are not a customer's or a
	// card's own.
	Others []HotItem `json:"others"`
	// Checks are the most condition-checked items.
	Checks []HotItem `json:"checks"`
}

// Report returns the n most-written and most-checked items.
func (l *WriteLog) Report(n int) HotReport {
	all, total := l.Top(-1)
	r := HotReport{Writes: total, Checks: l.TopChecks(n)}
	for _, it := range all {
		if len(r.Top) < n {
			r.Top = append(r.Top, it)
		}
		if !it.Own && len(r.Others) < n {
			r.Others = append(r.Others, it)
		}
	}
	return r
}

func (l *WriteLog) add(op string, body []byte) {
	req, ok := ParseWriteRequest(op, body, true)
	if !ok {
		return // not a write, or malformed: minidyn answers it itself
	}
	var writes, checks []ItemKey
	for _, a := range req.Actions {
		if a.Kind == "Check" {
			checks = append(checks, a.Key)
		} else {
			writes = append(writes, a.Key)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.on {
		return
	}
	for _, k := range writes {
		l.writes[k]++
	}
	for _, k := range checks {
		l.checks[k]++
	}
	l.total += len(writes)
}

// HotItem is one item's share of the logged writes.
type HotItem struct {
	PK     string  `json:"pk"`
	SK     string  `json:"sk"`
	Writes int     `json:"writes"`
	Share  float64 `json:"share"`
	// Own says the item is a customer's or a gift card's own record, whose
	// writes are that customer's or card's own traffic.
	Own bool `json:"own"`
}

// ownKinds are the record types (sort keys) whose writes belong to one
// customer or one card.
var ownKinds = map[string]bool{"CUSTOMER": true, "CARD": true}

// Top returns the n most-written items (all for n < 0), most first, and
// the total number of item writes logged.
func (l *WriteLog) Top(n int) ([]HotItem, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]HotItem, 0, len(l.writes))
	for k, c := range l.writes {
		out = append(out, HotItem{PK: k.PK, SK: k.SK, Writes: c, Own: ownKinds[k.SK]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Writes != out[j].Writes {
			return out[i].Writes > out[j].Writes
		}
		return out[i].PK+out[i].SK < out[j].PK+out[j].SK
	})
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	for i := range out {
		out[i].Share = math.Round(1e5*float64(out[i].Writes)/float64(max(l.total, 1))) / 1e5
	}
	return out, l.total
}

// TopChecks returns the n most condition-checked items and their counts.
func (l *WriteLog) TopChecks(n int) []HotItem {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]HotItem, 0, len(l.checks))
	for k, c := range l.checks {
		out = append(out, HotItem{PK: k.PK, SK: k.SK, Writes: c, Own: ownKinds[k.SK]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Writes > out[j].Writes })
	if len(out) > n {
		out = out[:n]
	}
	return out
}
