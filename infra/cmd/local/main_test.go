package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
)

// TestReportShowsACrashAsLambdaDoes checks `make invoke` on a process that
// exits mid-invocation: Lambda's Invoke answers a function error
// (X-Amz-Function-Error: Unhandled) with the payload
// {"errorType":"Runtime.ExitError","errorMessage":"RequestId: <id> Error:
// Runtime exited with error: exit status 3"}, in the words of AWS's runtime
// interface emulator (github.com/aws/aws-lambda-runtime-interface-emulator,
// internal/lambda/rapid/handlers.go).
func TestReportShowsACrashAsLambdaDoes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	crash := &runtime.ExitError{Function: "OrdersFunction", Instance: 1, PID: 42, Status: "exit status 3", ExitCode: 3}
	err := report(&stdout, &stderr, runtime.Result{RequestID: "r-1", Instance: 1}, fmt.Errorf("wrapped: %w", crash))
	if err == nil || !strings.Contains(err.Error(), "function error Runtime.ExitError") {
		t.Errorf("err = %v, want a Runtime.ExitError function error", err)
	}
	var payload map[string]string
	if jerr := json.Unmarshal(stdout.Bytes(), &payload); jerr != nil {
		t.Fatalf("stdout %q is not JSON: %v", stdout.String(), jerr)
	}
	want := map[string]string{
		"errorType":    "Runtime.ExitError",
		"errorMessage": "RequestId: r-1 Error: Runtime exited with error: exit status 3",
	}
	if len(payload) != len(want) || payload["errorType"] != want["errorType"] || payload["errorMessage"] != want["errorMessage"] {
		t.Errorf("payload %v, want %v", payload, want)
	}
	if !strings.Contains(stderr.String(), "REPORT RequestId: r-1 ") {
		t.Errorf("stderr lacks the REPORT line:\n%s", stderr.String())
	}

	// A runtime that posted an init error before exiting is reported with
	// that error.
	stdout.Reset()
	initCrash := &runtime.ExitError{Function: "OrdersFunction", DuringInit: true, Status: "signal: killed", ExitCode: -1,
		InitError: &runtime.ErrorPayload{ErrorType: "InitFailure", ErrorMessage: "config missing"}}
	if err := report(&stdout, &stderr, runtime.Result{RequestID: "r-2"}, initCrash); err == nil || !strings.Contains(err.Error(), "InitFailure") {
		t.Errorf("init crash: err = %v", err)
	}
	if !strings.Contains(stdout.String(), `"errorType": "InitFailure"`) {
		t.Errorf("init crash payload: %s", stdout.String())
	}

	// A timeout is not a crash: it stays an error of the command.
	stdout.Reset()
	if err := report(&stdout, &stderr, runtime.Result{}, fmt.Errorf("x: %w after 3.00 seconds", runtime.ErrTimeout)); err == nil || stdout.Len() != 0 {
		t.Errorf("timeout: err %v, stdout %q", err, stdout.String())
	}
}
