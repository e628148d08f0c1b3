package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
)

// controlHandler serves what AWS would offer through its consoles and
// APIs rather than through the HTTP API:
//
//	GET  /                      what is served, as text
//	POST /                      the SQS API (X-Amz-Target: AmazonSQS.<Action>) and the
//	                            event bus's PutEvents (X-Amz-Target: AWSEvents.PutEvents)
//	GET  /events                every event the bus received, oldest first
//	GET  /schedules             the schedules, as JSON
//	POST /schedules/<rule>      fire a schedule now; answers the function's response
//	GET  /queues/<queue>        a queue's counts and messages, as JSON
//	POST /queues/<queue>        send the request body as a message
//	GET  /functions             each function's process counts, as JSON
func (s *Stack) controlHandler() http.Handler {
	sqs := &sqsAPI{queues: s.queues}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveIndex)
	mux.Handle("POST /{$}", s.withBus(sqs))
	if s.bus != nil {
		mux.Handle("GET "+eventsPath, s.bus.Handler())
	}
	// A queue URL is <control>/<account>/<name>; the SDK posts to the
	// endpoint, but some clients post to the queue URL itself.
	mux.Handle("POST /"+s.cfg.AccountID+"/{queue}", sqs)
	mux.HandleFunc("GET /schedules", s.serveSchedules)
	mux.HandleFunc("POST /schedules/{rule}", s.serveFire)
	mux.HandleFunc("GET /queues/{queue}", s.serveQueue)
	mux.HandleFunc("POST /queues/{queue}", s.serveSend)
	mux.HandleFunc("GET /functions", s.serveFunctions)
	return mux
}

func (s *Stack) serveIndex(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "giftcredit local stack: control server\n\nHTTP API: %s\n\nSchedules (POST to fire now):\n", s.apiURL)
	for _, sc := range s.Schedules() {
		fmt.Fprintf(&b, "  %s  %s  -> %s\n", sc.URL, sc.Expression, sc.Function)
	}
	b.WriteString("\nQueues (GET to look, POST a body to send; SQS API: POST / with X-Amz-Target):\n")
	for _, q := range s.Queues() {
		fmt.Fprintf(&b, "  %s/queues/%s  (queue URL %s)\n", s.controlURL, q.LogicalID, q.URL)
	}
	fmt.Fprintf(&b, "\nFunctions (process counts): %s/functions\n", s.controlURL)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, b.String())
}

func (s *Stack) serveSchedules(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Schedules())
}

// serveFire fires a schedule and answers like `sam local invoke`: the
// function's response with 200, its error payload with 502, 504 on a
// timeout.
func (s *Stack) serveFire(w http.ResponseWriter, r *http.Request) {
	res, err := s.Fire(r.Context(), r.PathValue("rule"))
	if res.RequestID != "" {
		w.Header().Set("X-Amz-Request-Id", res.RequestID)
	}
	switch {
	case errors.Is(err, errNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"message": err.Error()})
	case errors.Is(err, runtime.ErrTimeout):
		writeJSON(w, http.StatusGatewayTimeout, map[string]string{"message": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusBadGateway, map[string]string{"message": err.Error()})
	case res.FunctionError != nil:
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		writeJSON(w, http.StatusBadGateway, res.FunctionError)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(res.Payload)
	}
}

func (s *Stack) serveQueue(w http.ResponseWriter, r *http.Request) {
	q := s.queues[r.PathValue("queue")]
	if q == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such queue"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"queueUrl": q.URL, "arn": q.ARN, "counts": q.Stats(), "messages": q.Messages()})
}

func (s *Stack) serveSend(w http.ResponseWriter, r *http.Request) {
	q := s.queues[r.PathValue("queue")]
	if q == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such queue"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSQSMessage+1))
	if err != nil || len(body) == 0 || len(body) > maxSQSMessage {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": fmt.Sprintf("the body must be a message of 1 to %d bytes", maxSQSMessage)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"messageId": q.Send(string(body), nil, 0)})
}

// FunctionStats is a function's process counts on GET /functions.
type FunctionStats struct {
	Started int `json:"started"`
	Alive   int `json:"alive"`
	Busy    int `json:"busy"`
	Queued  int `json:"queued"`
}

func (s *Stack) serveFunctions(w http.ResponseWriter, _ *http.Request) {
	out := map[string]FunctionStats{}
	for _, fn := range slices.Sorted(maps.Keys(s.pools)) {
		st := s.pools[fn].Stats()
		out[fn] = FunctionStats{Started: st.Started, Alive: st.Alive, Busy: st.Busy, Queued: st.Queued}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
