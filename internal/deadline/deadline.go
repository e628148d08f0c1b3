// Package deadline derives the time budgets of a Lambda invocation from the
// deadline of the context lambda.Start gives the handler. Every outbound
// call (DynamoDB, SES, SQS) runs under one of these budgets, so a
// dependency that accepts a connection and never answers makes the call
// fail in time for the function to answer, instead of the invocation being
// killed by its timeout.
package deadline

import (
	"context"
	"time"
)

// Reserve returns ctx with its deadline moved reserve earlier: the time the
// caller keeps for itself after the work (to encode and return a response,
// to log a summary). If less than 2×reserve is left, half of what is left
// is kept instead, so the work still gets a chance. A context without a
// deadline (a test, a command) is returned unchanged, with a no-op cancel.
func Reserve(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	if l := time.Until(d); l < 2*reserve {
		reserve = l / 2
	}
	return context.WithDeadline(ctx, d.Add(-reserve))
}

// left is the time until ctx's deadline; ok is false without a deadline.
func left(ctx context.Context) (time.Duration, bool) {
	d, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return time.Until(d), true
}

// Low reports whether ctx has ended, or has a deadline and less than need
// left before it: the moment a loop stops taking new work and leaves the
// rest to the next invocation.
func Low(ctx context.Context, need time.Duration) bool {
	if ctx.Err() != nil {
		return true
	}
	l, ok := left(ctx)
	return ok && l < need
}

// Expired reports whether err happened because ctx's deadline passed (or
// ctx was cancelled): the outcome of the call is then unknown, not refused.
func Expired(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil
}
