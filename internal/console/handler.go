package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// securityHeaders are sent with every answer, the 404 included.
var securityHeaders = map[string]string{
	"Content-Security-Policy": ContentSecurityPolicy,
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	"X-Frame-Options":         "DENY",
	// The page holds an admin key: no other window may script it.
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Strict-Transport-Security":    "max-age=31536000",
}

// Handle answers one API Gateway request for the page or an asset: 200
// with the file, 304 when If-None-Match names its ETag, 404 for any other
// path and 405 for a method other than GET or HEAD. It never returns an
// error (API Gateway would turn one into a bare 500).
func (s *Site) Handle(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	h := map[string]string{}
	for k, v := range securityHeaders {
		h[k] = v
	}
	method := ev.RequestContext.HTTP.Method
	if method != http.MethodGet && method != http.MethodHead {
		h["Allow"] = "GET, HEAD"
		return text(h, http.StatusMethodNotAllowed, "Method Not Allowed"), nil
	}
	p := ev.RawPath
	if p == "" {
		p = ev.RequestContext.HTTP.Path
	}
	a, ok := s.lookup(p)
	if !ok {
		return text(h, http.StatusNotFound, "Not Found"), nil
	}
	h["Content-Type"] = a.contentType
	h["Cache-Control"] = a.cache
	h["ETag"] = a.etag
	if etagMatches(header(ev.Headers, "if-none-match"), a.etag) {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotModified, Headers: h}, nil
	}
	body := a.body
	if method == http.MethodHead {
		h["Content-Length"] = strconv.Itoa(len(body))
		body = ""
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: h, Body: body}, nil
}

func text(h map[string]string, status int, body string) events.APIGatewayV2HTTPResponse {
	h["Content-Type"] = "text/plain; charset=utf-8"
	h["Cache-Control"] = "no-store"
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: h, Body: body + "\n"}
}

// etagMatches reports whether an If-None-Match value (a list of ETags,
// weak or strong, or "*") names etag.
func etagMatches(ifNoneMatch, etag string) bool {
	for tag := range strings.SplitSeq(ifNoneMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}

// header reads a header from an event, whose names API Gateway lower-cases.
func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
