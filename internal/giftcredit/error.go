// Package giftcredit is the domain of the gift-card and account-credit ledger:
// shops, customers, gift cards, orders, double-entry transactions and
// promotions, the rules that keep them consistent, and the interfaces that
// adapters (DynamoDB, SES, API Gateway) implement or call. It imports no AWS
// package and nothing of ours but the value packages money and giftcode.
package giftcredit

import (
	"errors"
	"fmt"
)

// Error codes: every domain outcome that is not success carries exactly one.
// The transport adapter maps each to an HTTP status in one table.
const (
	EINVALID             = "invalid"
	ENOTFOUND            = "not_found"
	ECONFLICT            = "conflict"
	EINSUFFICIENTFUNDS   = "insufficient_funds"
	EUNAUTHORIZED        = "unauthorized"
	EFORBIDDEN           = "forbidden"
	ERATELIMITED         = "rate_limited"
	EIDEMPOTENCYMISMATCH = "idempotency_mismatch"
	ETOOLARGE            = "too_large"
	EUNSUPPORTEDMEDIA    = "unsupported_media_type"
	EUNAVAILABLE         = "unavailable"
	EINTERNAL            = "internal"
)

// Error is the one error type of the domain. Code is machine-readable and
// stable; Message is safe to show to the caller; Field names the input field
// at fault for invalid input; Detail carries extra safe values (for example
// the id of an existing customer on an email conflict).
type Error struct {
	Code    string
	Message string
	Field   string
	Detail  map[string]string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("giftcredit error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("giftcredit error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns a domain error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first domain error in err's chain,
// EINTERNAL for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of the first domain error in
// err's chain, or a generic message that reveals no internals.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
