// Command echofn is a Lambda function for the tests of infra/local/runtime
// and infra/local/gateway. It runs under lambda.Start like every real
// function, and does what its event's "mode" says:
//
//	echo (or none)  reply with what the function saw (see reply)
//	sleep           sleep "ms" milliseconds, then echo
//	call            GET "url" (the test holds it open), then do what "then"
//	                says: "exit" (with "code"), "panic", or echo
//	error           return an error with "message"
//	panic           panic with "message"
//	exit            os.Exit("code") in the middle of the invocation
//	print           write "stdout" to stdout and "stderr" to stderr, then echo
//	big             reply with a string of "bytes" bytes
//	bogus           post a response for an unknown request id, echo its status
//	http            reply {"statusCode": "code", "body": "message", ...}
//
// An API Gateway event selects its mode through its query string
// (?mode=sleep&ms=100). At init, ECHOFN_EXIT_AT_INIT=<code> makes it exit,
// ECHOFN_INIT_ERROR=1 makes it post to /runtime/init/error first, and
// ECHOFN_INIT_SLEEP_MS delays init.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Mode    string `json:"mode"`
	Ms      int    `json:"ms"`
	Code    int    `json:"code"`
	Bytes   int    `json:"bytes"`
	Message string `json:"message"`
	URL     string `json:"url"`
	Then    string `json:"then"`
	Stdout  string `json:"stdout"`
	Stderr  string `json:"stderr"`

	// Set when the event comes from API Gateway.
	RawPath string            `json:"rawPath"`
	Query   map[string]string `json:"queryStringParameters"`
}

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
	Status       int               `json:"status,omitempty"`
	Event        json.RawMessage   `json:"event"`
}

// envShown are the variables echoed back; "<unset>" marks a missing one.
var envShown = []string{
	"AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "AWS_DEFAULT_REGION", "TZ", "_HANDLER",
	"LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_MAX_CONCURRENCY",
	"AWS_LAMBDA_FUNCTION_VERSION", "HOME", "ECHOFN_CUSTOM", "AWS_ACCESS_KEY_ID",
	"AWS_EXECUTION_ENV",
}

func main() {
	if ms, err := strconv.Atoi(os.Getenv("ECHOFN_INIT_SLEEP_MS")); err == nil {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	if os.Getenv("ECHOFN_INIT_ERROR") != "" {
		postInitError()
	}
	if code, err := strconv.Atoi(os.Getenv("ECHOFN_EXIT_AT_INIT")); err == nil {
		fmt.Fprintln(os.Stderr, "echofn: exiting at init as asked")
		os.Exit(code)
	}
	lambda.Start(handle)
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	if ev.Mode == "" && ev.Query != nil {
		ev.Mode = ev.Query["mode"]
		ev.Ms, _ = strconv.Atoi(ev.Query["ms"])
		ev.Code, _ = strconv.Atoi(ev.Query["code"])
		ev.Message = ev.Query["message"]
	}
	status := 0
	switch ev.Mode {
	case "", "echo":
	case "sleep":
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
	case "call":
		resp, err := http.Get(ev.URL)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch ev.Then {
		case "exit":
			os.Exit(ev.Code)
		case "panic":
			panic(ev.Message)
		}
	case "error":
		return nil, errors.New(ev.Message)
	case "panic":
		panic(ev.Message)
	case "exit":
		os.Exit(ev.Code)
	case "print":
		fmt.Fprint(os.Stdout, ev.Stdout)
		fmt.Fprint(os.Stderr, ev.Stderr)
	case "big":
		return strings.Repeat("x", ev.Bytes), nil
	case "bogus":
		resp, err := http.Post("http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/invocation/not-a-request-id/response", "application/json", strings.NewReader("{}"))
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		status = resp.StatusCode
	case "http":
		return map[string]any{
			"statusCode": ev.Code,
			"headers":    map[string]string{"content-type": "text/plain", "x-echofn": "yes"},
			"cookies":    []string{"a=1", "b=2"},
			"body":       ev.Message,
		}, nil
	default:
		return nil, fmt.Errorf("unknown mode %q", ev.Mode)
	}

	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	traceID, _ := ctx.Value("x-amzn-trace-id").(string)
	cwd, _ := os.Getwd()
	r := reply{
		PID:          os.Getpid(),
		DeadlineMs:   deadline.UnixMilli(),
		TraceID:      traceID,
		TraceEnv:     os.Getenv("_X_AMZN_TRACE_ID"),
		FunctionName: lambdacontext.FunctionName,
		MemoryMB:     lambdacontext.MemoryLimitInMB,
		Version:      lambdacontext.FunctionVersion,
		Cwd:          cwd,
		Env:          map[string]string{},
		Status:       status,
		Event:        raw,
	}
	if lc != nil {
		r.RequestID = lc.AwsRequestID
		r.FunctionARN = lc.InvokedFunctionArn
	}
	for _, k := range envShown {
		v, ok := os.LookupEnv(k)
		if !ok {
			v = "<unset>"
		}
		r.Env[k] = v
	}
	return r, nil
}

// postInitError reports an init failure the way runtimes other than
// aws-lambda-go do, then waits to be killed.
func postInitError() {
	body := `{"errorMessage":"config missing","errorType":"InitFailure"}`
	resp, err := http.Post("http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error", "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, "echofn: init error post:", err)
		os.Exit(2)
	}
	resp.Body.Close()
	fmt.Fprintln(os.Stderr, "echofn: init error status", resp.StatusCode)
	time.Sleep(time.Minute) // the runtime API kills the process before this ends
	os.Exit(2)
}
