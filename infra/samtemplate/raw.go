package samtemplate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// The raw* types mirror the JSON goformation produces from the template, for
// the properties the loader reads. Fields with a pointer type are optional
// where Globals merging must tell "absent" from "zero".

type rawTemplate struct {
	Parameters map[string]rawParameter
	Globals    struct {
		Function json.RawMessage
	}
	Resources map[string]rawResource
}

type rawParameter struct {
	Type           string
	Description    string
	Default        optString
	AllowedPattern string
}

type rawResource struct {
	Type       string
	Properties json.RawMessage
	Metadata   rawMetadata
}

type rawMetadata struct {
	BuildMethod flexString
}

type rawFunctionProps struct {
	CodeUri           *flexString
	Handler           *flexString
	Runtime           *flexString
	Architectures     []string
	MemorySize        *flexInt
	Timeout           *flexInt
	Tracing           *flexString
	LoggingConfig     *struct{ LogFormat flexString }
	Environment       *rawEnvironment
	Events            map[string]rawEvent
	Policies          json.RawMessage
	EventInvokeConfig *rawEventInvokeConfig
}

type rawEnvironment struct {
	Variables map[string]Value
}

type rawEvent struct {
	Type       string
	Properties json.RawMessage
}

type rawEventInvokeConfig struct {
	MaximumRetryAttempts     *flexInt
	MaximumEventAgeInSeconds flexInt
	DestinationConfig        *struct {
		OnFailure *struct {
			Type        string
			Destination Value
		}
	}
}

type rawHttpApiEventProps struct {
	ApiId                Value
	Method               flexString
	Path                 flexString
	PayloadFormatVersion flexString
	Auth                 struct{ Authorizer flexString }
}

type rawScheduleEventProps struct {
	Schedule           flexString
	ScheduleExpression flexString
	Enabled            optBool
	State              string
	Input              flexString
	DeadLetterConfig   *struct {
		Arn            Value
		Type           string
		QueueLogicalId string
	}
}

type rawSQSEventProps struct {
	Queue                 Value
	BatchSize             flexInt
	FunctionResponseTypes []string
}

type rawPolicyDocument struct {
	Statement statementList
}

type rawStatement struct {
	Sid         string
	Effect      string
	Principal   rawPrincipal
	Action      stringList
	NotAction   stringList
	Resource    valueList
	NotResource valueList
	Condition   map[string]map[string]valueList
}

type rawPrincipal struct {
	Service stringList
}

type rawHttpApiProps struct {
	FailOnWarnings       flexBool
	CorsConfiguration    json.RawMessage
	DefaultRouteSettings struct {
		ThrottlingBurstLimit flexInt
		ThrottlingRateLimit  flexFloat
	}
	Auth struct {
		DefaultAuthorizer flexString
		Authorizers       map[string]rawAuthorizer
	}
}

type rawAuthorizer struct {
	FunctionArn                    Value
	AuthorizerPayloadFormatVersion flexString
	EnableSimpleResponses          flexBool
	Identity                       *struct {
		ReauthorizeEvery flexInt
		Headers          []string
		QueryStrings     []string
		StageVariables   []string
		Context          []string
	}
}

type rawTableProps struct {
	TableName            Value
	AttributeDefinitions []struct {
		AttributeName string
		AttributeType string
	}
	KeySchema              []rawKeyElement
	GlobalSecondaryIndexes []struct {
		IndexName  string
		KeySchema  []rawKeyElement
		Projection struct{ ProjectionType string }
	}
	BillingMode                      flexString
	PointInTimeRecoverySpecification *struct{ PointInTimeRecoveryEnabled flexBool }
	DeletionProtectionEnabled        flexBool
	TimeToLiveSpecification          *struct {
		AttributeName string
		Enabled       flexBool
	}
}

type rawKeyElement struct {
	AttributeName string
	KeyType       string
}

type rawQueueProps struct {
	FifoQueue              flexBool
	SqsManagedSseEnabled   flexBool
	KmsMasterKeyId         Value
	VisibilityTimeout      flexInt
	MessageRetentionPeriod flexInt
	RedrivePolicy          *struct {
		DeadLetterTargetArn Value   `json:"deadLetterTargetArn"`
		MaxReceiveCount     flexInt `json:"maxReceiveCount"`
	}
}

type rawQueuePolicyProps struct {
	Queues         []Value
	PolicyDocument rawPolicyDocument
}

// flexString is a scalar read as text: YAML lets a string property be
// written as a number or boolean (Timeout: "10", PayloadFormatVersion: 2.0),
// so numbers and booleans keep their JSON spelling.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		*s = flexString(b)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a scalar, got %s", b)
		}
		*s = flexString(n)
	}
	return nil
}

// flexInt is an integer written as a number or a numeric string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer, got %s", b)
	}
	*n = flexInt(v)
	return nil
}

// flexFloat is a number written as a number or a numeric string.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return fmt.Errorf("want a number, got %s", b)
	}
	*f = flexFloat(v)
	return nil
}

// flexBool is a boolean written as a boolean or "true"/"false".
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch s {
	case "", "false", "False":
		*v = false
	case "true", "True":
		*v = true
	default:
		return fmt.Errorf("want a boolean, got %s", b)
	}
	return nil
}

// optString is a scalar that remembers whether it was present.
type optString struct {
	s   flexString
	set bool
}

func (o *optString) UnmarshalJSON(b []byte) error {
	if err := o.s.UnmarshalJSON(b); err != nil {
		return err
	}
	o.set = !bytes.Equal(bytes.TrimSpace(b), []byte("null"))
	return nil
}

// optBool is a boolean that remembers whether it was present.
type optBool struct {
	b   flexBool
	set bool
}

func (o *optBool) UnmarshalJSON(b []byte) error {
	if err := o.b.UnmarshalJSON(b); err != nil {
		return err
	}
	o.set = !bytes.Equal(bytes.TrimSpace(b), []byte("null"))
	return nil
}

// stringList is IAM's "one string or a list of strings".
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %s", b)
	}
	*l = many
	return nil
}

// valueList is "one value or a list of values".
type valueList []Value

func (l *valueList) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '[' {
		var many []Value
		if err := json.Unmarshal(b, &many); err != nil {
			return err
		}
		*l = many
		return nil
	}
	var one Value
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*l = valueList{one}
	return nil
}

// statementList is a policy's Statement: one statement or a list.
type statementList []rawStatement

func (l *statementList) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '[' {
		var many []rawStatement
		if err := json.Unmarshal(b, &many); err != nil {
			return err
		}
		*l = many
		return nil
	}
	var one rawStatement
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*l = statementList{one}
	return nil
}

// UnmarshalJSON reads a Principal: "*" (which names no service) or a map
// whose Service entry lists service principals.
func (p *rawPrincipal) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		*p = rawPrincipal{}
		return nil
	}
	type plain rawPrincipal
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = rawPrincipal(v)
	return nil
}
