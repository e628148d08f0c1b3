package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrTimeout is returned (wrapped) by Invoke when the function did not answer
// before its deadline, or its process did not finish init in time. The
// process has been killed; a later invocation starts a fresh one. Lambda
// reports it to a synchronous caller as a function error, so an HTTP API in
// front answers 500, as for any other function error.
var ErrTimeout = errors.New("task timed out")

// ErrClosed is returned by Invoke once Close has been called, including for
// invocations that were queued or running when it was.
var ErrClosed = errors.New("function pool closed")

// ErrPayloadTooLarge is returned by Invoke for an event larger than
// MaxRequestPayload, which Lambda rejects before running anything.
var ErrPayloadTooLarge = errors.New("request payload too large")

// ErrorPayload is what a runtime posts to /invocation/{id}/error or
// /init/error, and what Lambda returns to the caller of a failed invocation.
type ErrorPayload struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
	// StackTrace is kept as the runtime sent it: aws-lambda-go sends an
	// array of {path, line, label} frames, other runtimes arrays of strings.
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

// ExitError reports a process that exited, or was killed after failing
// init, while an invocation depended on it: during init (before its first
// /next; Lambda's Runtime.ExitError at init) or while running an invocation
// (a crash or os.Exit mid-invocation).
type ExitError struct {
	// Function and Instance name the process as output lines do
	// ("[Function#Instance]"); PID is its operating-system id.
	Function string
	Instance int
	PID      int
	// DuringInit is true when the process never asked for an invocation.
	DuringInit bool
	// Status is the exit status as the operating system reports it, e.g.
	// "exit status 3" or "signal: killed"; ExitCode is the code, or -1 when
	// the process was ended by a signal.
	Status   string
	ExitCode int
	// InitError is what the runtime posted to /runtime/init/error, if
	// anything (aws-lambda-go never does: it just exits).
	InitError *ErrorPayload
}

// Error describes the exit the way Lambda logs it.
func (e *ExitError) Error() string {
	phase := "invocation"
	if e.DuringInit {
		phase = "init"
	}
	msg := fmt.Sprintf("%s#%d (pid %d): runtime exited during %s: %s", e.Function, e.Instance, e.PID, phase, e.Status)
	if e.InitError != nil {
		msg += fmt.Sprintf(" after init error %s: %s", e.InitError.ErrorType, e.InitError.ErrorMessage)
	}
	return msg
}

// ErrorPayload is the error Lambda's Invoke API returns to a synchronous
// caller, with X-Amz-Function-Error: Unhandled, for this exit: the runtime's
// own init error when it posted one, otherwise
//
//	{"errorType": "Runtime.ExitError",
//	 "errorMessage": "RequestId: <id> Error: Runtime exited with error: exit status 3"}
//
// requestID is the invocation's (Result.RequestID). The wording is the one
// AWS's runtime interface emulator uses (internal/lambda/rapid/handlers.go
// in github.com/aws/aws-lambda-runtime-interface-emulator: "Runtime exited
// with error: %s", or "Runtime exited without providing a reason").
func (e *ExitError) ErrorPayload(requestID string) *ErrorPayload {
	if e.InitError != nil {
		return e.InitError
	}
	reason := "Runtime exited with error: " + e.Status
	if e.Status == "" {
		reason = "Runtime exited without providing a reason"
	}
	msg := "Error: " + reason
	if requestID != "" {
		msg = "RequestId: " + requestID + " " + msg
	}
	return &ErrorPayload{ErrorType: "Runtime.ExitError", ErrorMessage: msg}
}
