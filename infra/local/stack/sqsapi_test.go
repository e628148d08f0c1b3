package stack

import (
	"testing"
)

// TestAttributesMD5 checks MD5OfMessageAttributes against values SQS
// itself computed (published in AWS's documentation and in the tests of
// other SQS emulators).
func TestAttributesMD5(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name  string
		attrs map[string]sqsAttribute
		want  string
	}{
		{"none", nil, ""},
		{"one string", map[string]sqsAttribute{"SellerName": {DataType: "String", StringValue: str("Example Store")}},
			"cd28f3b68aeee4b2eac9c66f2f694b58"},
		{"one number", map[string]sqsAttribute{"timestamp": {DataType: "Number", StringValue: str("1493147359900")}},
			"235c5c510d26fb653d073faed50ae77c"},
		{"two, sorted by name", map[string]sqsAttribute{
			"ordinal":  {DataType: "Number", StringValue: str("1")},
			"category": {DataType: "String", StringValue: str("test")},
		}, "d21ae90c49061e927f57df5f5d72be1f"},
	} {
		if got := attributesMD5(tc.attrs); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
