package apigw

import (
	"bytes"
	"cmp"
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// checkExactKeys walks a JSON document beside the Go type it decodes into
// and refuses, naming the field at fault, what encoding/json would accept
// or could only report without a field name:
//   - an object key that is not a field, or matches a field only
//     case-insensitively: encoding/json accepts {"emAil": …} for a field
//     tagged "email", but the contract's field names are exact;
//   - a time that is not a JSON string holding an RFC 3339 date-time: the
//     decoder reports time.Time's own errors without the field's name, and
//     time.Time accepts some strings RFC 3339 does not (a one-digit hour).
//
// Members are checked in document order, so of two faults the first is
// named. It runs before the decoder (a key in the wrong case must be named
// as sent, not as the field the decoder matched it to); what is not the
// shape of t (a string where an object belongs) is left to the decoder,
// which reports it as a type error naming the field.
func checkExactKeys(raw json.RawMessage, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			return checkTime(raw, path)
		}
		keys, values, ok := members(raw)
		if !ok {
			return nil // not an object: the decoder reports the type error
		}
		fields := jsonFields(t)
		for i, k := range keys {
			ft, ok := fields[k]
			field := join(path, k)
			if !ok {
				return gc.Invalid(cmp.Or(field, "body"), "unknown field %q", field)
			}
			if err := checkExactKeys(values[i], ft, field); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return nil
		}
		for i, v := range list {
			if err := checkExactKeys(v, t.Elem(), path+"["+itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkTime refuses a time that encoding/json would not decode, or would
// decode although it is not RFC 3339. A null is left to the decoder, which
// makes it the zero time (and the domain's validation calls the field
// required).
func checkTime(raw json.RawMessage, path string) error {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var s string
	var tm time.Time
	if json.Unmarshal(raw, &s) != nil || !rfc3339.MatchString(s) || json.Unmarshal(raw, &tm) != nil {
		field := cmp.Or(path, "body")
		return gc.Invalid(field, "%s must be an RFC 3339 date-time such as 2026-12-01T00:00:00Z", field)
	}
	return nil
}

// members returns the keys of the JSON object raw and their values, in
// document order, or ok false if raw is not a JSON object.
func members(raw json.RawMessage) (keys []string, values []json.RawMessage, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, false
		}
		keys, values = append(keys, k), append(values, v)
	}
	return keys, values, true
}

// jsonFields maps the JSON names of struct type t to their types, as
// encoding/json sees them: a field tagged "-" is not one, an untagged
// embedded struct lends its fields (unless t has a field of that name).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	for _, et := range embedded {
		for name, ft := range jsonFields(et) {
			if _, ok := fields[name]; !ok {
				fields[name] = ft
			}
		}
	}
	return fields
}

var rfc3339 = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func itoa(i int) string { return strconv.Itoa(i) }

// checkWellFormed walks the first JSON value of b token by token and
// rejects what encoding/json would silently accept but the contract does
// not: an object with the same key twice, at any depth (the decoder keeps
// the last, so {"amount":1,"amount":99999} means what a log or a proxy that
// keeps the first does not), and a string holding bytes that are not UTF-8
// or an unpaired UTF-16 surrogate escape such as "\ud800" (the decoder
// turns both into U+FFFD, so two different bodies would decode alike). The
// error names the field at fault. Syntax errors are left to the decoder,
// which reports them as an invalid body.
func checkWellFormed(b []byte) error {
	type frame struct {
		object bool
		path   string
		keys   map[string]bool
		key    string // the key whose value comes next, in an object
		index  int    // the index of the next element, in an array
		want   bool   // in an object: the next string is a key
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []*frame
	// valuePath is the path of the value about to be read.
	valuePath := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.object {
			return join(f.path, f.key)
		}
		return f.path + "[" + itoa(f.index) + "]"
	}
	// done records that a value of the top frame has been read.
	done := func() {
		if len(stack) == 0 {
			return
		}
		if f := stack[len(stack)-1]; f.object {
			f.want = true
		} else {
			f.index++
		}
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil // not JSON, or nothing more: the decoder reports it
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &frame{object: t == '{', path: valuePath(), keys: map[string]bool{}, want: t == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
				done()
			}
		case string:
			isKey := top != nil && top.object && top.want
			field := cmp.Or(valuePath(), "body")
			if isKey {
				field = cmp.Or(top.path, "body")
			}
			if err := checkJSONString(b[start:dec.InputOffset()], field); err != nil {
				return err
			}
			if isKey {
				if top.keys[t] {
					return gc.Invalid(cmp.Or(join(top.path, t), "body"), "duplicate field %q", join(top.path, t))
				}
				top.keys[t], top.key, top.want = true, t, false
				continue
			}
			done()
		default:
			done()
		}
		if len(stack) == 0 {
			return nil // the first value is complete; trailing data is the decoder's
		}
	}
}

// checkJSONString checks the raw text of one JSON string token (with any
// separators and white space before it): it must be UTF-8, and every
// \uXXXX escape of a UTF-16 surrogate must be a high one directly followed
// by a low one.
func checkJSONString(raw []byte, field string) error {
	if !utf8.Valid(raw) {
		return gc.Invalid(field, "%s is not valid UTF-8", field)
	}
	surrogate := func(i int) rune { // the escape \uXXXX at raw[i], or -1
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return -1
		}
		n, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		if err != nil || n < 0xD800 || n > 0xDFFF {
			return -1
		}
		return rune(n)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		switch r := surrogate(i); {
		case r >= 0xD800 && r <= 0xDBFF:
			if lo := surrogate(i + 6); lo < 0xDC00 || lo > 0xDFFF {
				return gc.Invalid(field, "%s holds an unpaired UTF-16 surrogate escape", field)
			}
			i += 11 // the pair
		case r >= 0xDC00:
			return gc.Invalid(field, "%s holds an unpaired UTF-16 surrogate escape", field)
		default:
			i++ // skip the escaped character, so `\\u` is not an escape
		}
	}
	return nil
}
