package apigw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// MaxBodyBytes bounds a request body; larger is ETOOLARGE (413).
const MaxBodyBytes = 64 << 10

// rawBody returns the raw request body, decoding base64 as API Gateway sends
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

// decodeJSON decodes one JSON object into v strictly: unknown fields (also
// a known field's name in another case), duplicate fields, wrong types,
// times that are not RFC 3339 strings, strings that are not UTF-8 or hold
// an unpaired surrogate escape, trailing data and an empty body are
// EINVALID naming the field.
func decodeJSON(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return gc.Invalid("body", "a JSON object body is required")
	}
	if err := checkWellFormed(b); err != nil {
		return err
	}
	// The keys and times are checked before decoding: the decoder would
	// take a miscased key for the field it matches and report a time's
	// error without the field's name.
	var first json.RawMessage
	if json.NewDecoder(bytes.NewReader(b)).Decode(&first) == nil {
		if err := checkExactKeys(first, reflect.TypeOf(v), ""); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // checkExactKeys has named any; this is a second guard
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return gc.Invalid("body", "the body must hold exactly one JSON object")
	}
	return nil
}

// jsonError translates an error of the decoder. Unknown fields and times
// have been named by checkExactKeys already, so what is left is a type
// error, which names its field, or a body that is not JSON.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return gc.Invalid(field, "%s must be of JSON type %s", field, jsonType(te.Type.Kind().String()))
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return gc.Invalid("body", "the body is not valid JSON")
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
