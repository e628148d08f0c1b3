package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
	"github.com/giftcredit/giftcredit/infra/samtemplate"
)

// Lambda's retry delays for a failed asynchronous invocation (a schedule's
// invocation is asynchronous): about one minute, then about two.
var asyncRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// schedule is one Schedule event of a running function.
type schedule struct {
	ruleID, function, expression string
	enabled                      bool
	input                        string
	expr                         scheduleExpr // nil when the expression cannot be evaluated here
	exprErr                      error
	async                        *samtemplate.AsyncInvokeConfig
}

// ScheduleInfo describes a schedule for the start-up output.
type ScheduleInfo struct {
	RuleLogicalID, Function, Expression string
	// URL fires the schedule now when POSTed to.
	URL string
	// Next is the next time it fires on its own; zero when it does not
	// (disabled, RunSchedules off, or an expression the local scheduler
	// cannot evaluate, which Problem explains).
	Next    time.Time
	Problem string
}

// startSchedules reads the schedules of the running functions and, with
// RunSchedules, starts a timer for each enabled one.
func (s *Stack) startSchedules() error {
	now := time.Now()
	for _, fn := range s.tpl.Functions {
		if s.pools[fn.LogicalID] == nil {
			continue
		}
		for _, ev := range fn.Schedules {
			sc := &schedule{ruleID: ev.RuleLogicalID, function: fn.LogicalID, expression: ev.Expression,
				enabled: ev.Enabled, input: ev.Input, async: fn.AsyncInvoke}
			sc.expr, sc.exprErr = parseScheduleExpr(ev.Expression, now)
			if sc.exprErr != nil && !errors.Is(sc.exprErr, errCronUnsupported) {
				return fmt.Errorf("stack: %s.%s: %w", fn.LogicalID, ev.EventName, sc.exprErr)
			}
			if sc.exprErr != nil {
				s.note("%s fires only through its URL: %v", sc.ruleID, sc.exprErr)
			}
			s.schedules = append(s.schedules, sc)
			if s.cfg.RunSchedules && sc.enabled && sc.expr != nil {
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					s.runSchedule(sc)
				}()
			}
		}
	}
	return nil
}

// Schedules describes the schedules of the running functions.
func (s *Stack) Schedules() []ScheduleInfo {
	out := make([]ScheduleInfo, 0, len(s.schedules))
	for _, sc := range s.schedules {
		si := ScheduleInfo{RuleLogicalID: sc.ruleID, Function: sc.function, Expression: sc.expression, URL: s.scheduleURL(sc.ruleID)}
		switch {
		case sc.exprErr != nil:
			si.Problem = sc.exprErr.Error()
		case !sc.enabled:
			si.Problem = "disabled in the template"
		case !s.cfg.RunSchedules:
			si.Problem = "schedules fire only when asked"
		default:
			si.Next, _ = sc.expr.Next(time.Now())
		}
		out = append(out, si)
	}
	return out
}

func (s *Stack) scheduleURL(ruleID string) string {
	return s.controlURL + "/schedules/" + url.PathEscape(ruleID)
}

// runSchedule fires sc at each of its times until the stack closes. Each
// firing is an asynchronous invocation: the timer does not wait for it.
func (s *Stack) runSchedule(sc *schedule) {
	for {
		next, ok := sc.expr.Next(time.Now())
		if !ok {
			return
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.fireAsync(sc, next)
		}()
	}
}

// scheduledEvent is the event EventBridge sends for a rule: the rule's
// Input when it has one, else a "Scheduled Event".
func (s *Stack) scheduledEvent(sc *schedule, at time.Time) []byte {
	if sc.input != "" {
		return []byte(sc.input)
	}
	ev := events.EventBridgeEvent{
		Version:    "0",
		ID:         newUUID(),
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  s.cfg.AccountID,
		Time:       at.UTC().Truncate(time.Second),
		Region:     s.cfg.Region,
		Resources:  []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", s.cfg.Region, s.cfg.AccountID, sc.ruleID)},
		Detail:     json.RawMessage("{}"),
	}
	b, _ := json.Marshal(ev) // plain values always encode
	return b
}

// fireAsync invokes sc's function the way Lambda runs an asynchronous
// invocation: on a function error or timeout it retries after Lambda's
// delays up to EventInvokeConfig's MaximumRetryAttempts (default 2) within
// MaximumEventAgeInSeconds, then sends the invocation record to the
// OnFailure destination when that is a queue of the stack.
func (s *Stack) fireAsync(sc *schedule, at time.Time) {
	payload := s.scheduledEvent(sc, at)
	retries, maxAge := 2, 6*time.Hour
	if sc.async != nil {
		if sc.async.MaximumRetryAttempts >= 0 {
			retries = sc.async.MaximumRetryAttempts
		}
		if sc.async.MaximumEventAgeSec > 0 {
			maxAge = time.Duration(sc.async.MaximumEventAgeSec) * time.Second
		}
	}
	var (
		res runtime.Result
		err error
	)
	for attempt := 0; ; attempt++ {
		res, err = s.Invoke(s.ctx, sc.function, payload)
		if s.ctx.Err() != nil {
			return
		}
		failure := describeFailure(res, err)
		if failure == "" {
			s.log.printf("%s fired %s: %s", sc.ruleID, sc.function, truncate(string(res.Payload), 300))
			return
		}
		if attempt >= retries || attempt >= len(asyncRetryDelays) || time.Since(at)+asyncRetryDelays[attempt] > maxAge {
			s.log.printf("%s: %s failed after %d attempts: %s", sc.ruleID, sc.function, attempt+1, failure)
			s.sendToOnFailure(sc, payload, res, err, attempt+1)
			return
		}
		s.log.printf("%s: %s failed (%s); retrying in %s as Lambda does", sc.ruleID, sc.function, failure, asyncRetryDelays[attempt])
		t := time.NewTimer(asyncRetryDelays[attempt])
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// describeFailure says why an invocation failed, or "" if it did not.
func describeFailure(res runtime.Result, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case res.FunctionError != nil:
		return res.FunctionError.ErrorType + ": " + res.FunctionError.ErrorMessage
	}
	return ""
}

// sendToOnFailure puts Lambda's invocation record into the OnFailure
// destination queue, if it is a queue of the stack.
func (s *Stack) sendToOnFailure(sc *schedule, payload []byte, res runtime.Result, err error, attempts int) {
	if sc.async == nil || sc.async.OnFailureType != "SQS" {
		return
	}
	qid, _, _ := strings.Cut(sc.async.OnFailure.GetAtt, ".")
	q := s.queues[qid]
	if q == nil {
		s.log.printf("%s: OnFailure destination %s is not a queue of the stack; the record is dropped", sc.ruleID, sc.async.OnFailure)
		return
	}
	condition, responsePayload := "RetriesExhausted", json.RawMessage(res.Payload)
	if errors.Is(err, runtime.ErrTimeout) {
		responsePayload, _ = json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "Sandbox.Timedout"})
	} else if err != nil {
		responsePayload, _ = json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "Runtime.ExitError"})
	}
	if !json.Valid(responsePayload) {
		responsePayload = json.RawMessage("null")
	}
	record := map[string]any{
		"version":   "1.0",
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"requestContext": map[string]any{
			"requestId":              res.RequestID,
			"functionArn":            fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s:$LATEST", s.cfg.Region, s.cfg.AccountID, sc.function),
			"condition":              condition,
			"approximateInvokeCount": attempts,
		},
		"requestPayload":  json.RawMessage(payload),
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"responsePayload": responsePayload,
	}
	b, _ := json.Marshal(record)
	q.Send(string(b), nil, 0)
	s.log.printf("%s: invocation record sent to %s", sc.ruleID, qid)
}

// Fire invokes a schedule's function now, synchronously, with the event
// its rule would send, and returns the function's answer. Unlike a timer
// firing it does not retry: the caller sees the failure.
func (s *Stack) Fire(ctx context.Context, ruleID string) (runtime.Result, error) {
	for _, sc := range s.schedules {
		if sc.ruleID == ruleID {
			return s.Invoke(ctx, sc.function, s.scheduledEvent(sc, time.Now()))
		}
	}
	return runtime.Result{}, fmt.Errorf("no schedule %q: %w", ruleID, errNotFound)
}

var errNotFound = errors.New("not found")

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
