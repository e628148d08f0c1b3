package apigw

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// checkExactKeys walks a JSON document beside the Go type it decodes into
// and rejects object keys that match a field only case-insensitively:
// encoding/json accepts {"Email": …} for a field tagged "email", but the
// contract's field names are exact.
func checkExactKeys(raw json.RawMessage, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			// time.Time accepts some strings RFC 3339 does not (a one-digit
			// hour); the contract says date-time, so hold it to that.
			var s string
			if json.Unmarshal(raw, &s) == nil && !rfc3339.MatchString(s) {
				return gc.Invalid(path, "%s must be an RFC 3339 date-time such as 2026-12-01T00:00:00Z", path)
			}
			return nil
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil // not an object: the decoder reports the type error
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
		for k, v := range obj {
			ft, ok := fields[k]
			field := join(path, k)
			if !ok {
				return gc.Invalid(field, "unknown field %q", field)
			}
			if err := checkExactKeys(v, ft, field); err != nil {
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

var rfc3339 = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func itoa(i int) string { return strconv.Itoa(i) }
