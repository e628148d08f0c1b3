package apigw

import (
	"net/http"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// statusOf is the one table from domain error codes to HTTP statuses.
var statusOf = map[string]int{
	gc.EINVALID:             http.StatusBadRequest,
	gc.EUNAUTHORIZED:        http.StatusUnauthorized,
	gc.EFORBIDDEN:           http.StatusForbidden,
	gc.ENOTFOUND:            http.StatusNotFound,
	gc.ECONFLICT:            http.StatusConflict,
	gc.EINSUFFICIENTFUNDS:   http.StatusConflict,
	gc.ETOOLARGE:            http.StatusRequestEntityTooLarge,
	gc.EUNSUPPORTEDMEDIA:    http.StatusUnsupportedMediaType,
	gc.EIDEMPOTENCYMISMATCH: http.StatusUnprocessableEntity,
	gc.ERATELIMITED:         http.StatusTooManyRequests,
	gc.EUNAVAILABLE:         http.StatusServiceUnavailable,
	gc.EINTERNAL:            http.StatusInternalServerError,
}

// Problem is an RFC 9457 problem details body. Code is the stable machine
// code web shops switch on.
type Problem struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Detail     string `json:"detail"`
	Code       string `json:"code"`
	Field      string `json:"field,omitempty"`
	RequestID  string `json:"requestId"`
	CustomerID string `json:"customerId,omitempty"`
}

// problemFor builds the problem for err. Internal errors say nothing of
// their cause.
func problemFor(err error, requestID string) Problem {
	code := gc.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = gc.EINTERNAL, http.StatusInternalServerError
	}
	p := Problem{
		Type:      "urn:giftcredit:problem:" + code,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    gc.ErrorMessage(err),
		Code:      code,
		RequestID: requestID,
	}
	var de *gc.Error
	if asDomain(err, &de) {
		p.Field = de.Field
		p.CustomerID = de.Detail["customerId"]
	}
	return p
}
