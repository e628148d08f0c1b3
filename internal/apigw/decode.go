package apigw

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// MaxBodyBytes bounds a request body; larger is ETOOLARGE (413).
const MaxBodyBytes = 64 << 10

// body returns the raw request body, decoding base64 as API Gateway sends
// binary bodies.
func rawBody(body string, isBase64 bool) ([]byte, error) {
	if len(body) > MaxBodyBytes*4/3+4 {
		return nil, gc.Errorf(gc.ETOOLARGE, "the request body is larger than %d bytes", MaxBodyBytes)
	}
	b := []byte(body)
	if isBase64 {
		var err error
		if b, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, gc.Invalid("body", "the request body is not valid base64")
		}
	}
	if len(b) > MaxBodyBytes {
		return nil, gc.Errorf(gc.ETOOLARGE, "the request body is larger than %d bytes", MaxBodyBytes)
	}
	return b, nil
}

// decodeJSON decodes one JSON object into v strictly: unknown fields,
// duplicate fields, wrong types, strings that are not UTF-8 or hold an
// unpaired surrogate escape, trailing data and an empty body are EINVALID
// naming the field.
func decodeJSON(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return gc.Invalid("body", "a JSON object body is required")
	}
	if err := checkWellFormed(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return gc.Invalid("body", "the body must hold exactly one JSON object")
	}
	return checkExactKeys(b, reflect.TypeOf(v), "")
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var pe *time.ParseError
	switch {
	case errors.As(err, &pe):
		return gc.Invalid("body", "times must be RFC 3339, such as 2026-12-01T00:00:00Z")
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return gc.Invalid(field, "%s must be of JSON type %s", field, jsonType(te.Type.Kind().String()))
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return gc.Invalid("body", "the body is not valid JSON")
	}
	// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		name = strings.TrimSuffix(name, `"`)
		return gc.Invalid(cmp.Or(name, "body"), "unknown field %q", name)
	}
	return gc.Invalid("body", "the body could not be decoded")
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer"
	case "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return kind
}
