// Package samtemplate reads giftcredit's SAM template (template.yaml) into
// plain Go values: the functions with Globals merged in, their routes,
// schedules and queue events, the HTTP API's authorizer, the DynamoDB table,
// the SQS queues and the parameters. The template test and the local stack
// both read the template through it, so there is no second hand-written list
// of functions or routes.
//
// It is deliberately not a general CloudFormation model. It understands the
// properties giftcredit's template uses, keeps intrinsic functions (!Ref,
// !GetAtt, !Sub) as [Value]s instead of resolving them, and reports anything
// it cannot represent as an error rather than guessing.
package samtemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// Resource types the loader reads.
const (
	typeFunction    = "AWS::Serverless::Function"
	typeHttpApi     = "AWS::Serverless::HttpApi"
	typeTable       = "AWS::DynamoDB::Table"
	typeQueue       = "AWS::SQS::Queue"
	typeQueuePolicy = "AWS::SQS::QueuePolicy"
)

// NoAuthorizer is the authorizer name SAM uses for a route that is not
// authorized (Auth.Authorizer: NONE).
const NoAuthorizer = "NONE"

// defaultPayloadFormatVersion is the payload format SAM gives an HttpApi
// event that does not declare one.
const defaultPayloadFormatVersion = "2.0"

// Template is the part of template.yaml giftcredit's tools need.
type Template struct {
	// Functions are the AWS::Serverless::Function resources with the
	// template's Globals.Function merged in, sorted by LogicalID.
	Functions []Function
	// GlobalFunction is Globals.Function as declared (LogicalID is empty).
	GlobalFunction Function
	// HttpApiLogicalID is the logical id of the one AWS::Serverless::HttpApi,
	// or "" when the template declares none.
	HttpApiLogicalID string
	// HttpApi holds the HTTP API's settings.
	HttpApi HttpApi
	// Authorizer is the HTTP API's default authorizer (zero when none).
	Authorizer Authorizer
	// Table is the one AWS::DynamoDB::Table.
	Table Table
	// Queues are the AWS::SQS::Queue resources, sorted by LogicalID.
	Queues []Queue
	// Parameters are the template parameters by name.
	Parameters map[string]Parameter
	// EventBuses and Rules are the AWS::Events::EventBus and
	// AWS::Events::Rule resources, sorted by LogicalID (events.go).
	EventBuses []EventBus
	Rules      []Rule
}

// Function is one AWS::Serverless::Function with Globals merged in: a value
// the function declares wins over Globals, and Environment variables are
// merged key by key.
type Function struct {
	LogicalID string
	CodeURI   string
	Handler   string
	Runtime   string
	// BuildMethod is Metadata.BuildMethod ("makefile", "go1.x" or "").
	BuildMethod   string
	Architectures []string
	MemoryMB      int
	TimeoutSec    int
	// Tracing is "Active", "PassThrough" or "".
	Tracing string
	// LogFormat is LoggingConfig.LogFormat ("JSON", "Text" or "").
	LogFormat   string
	Environment map[string]Value
	// Routes are the HttpApi events, sorted by EventName.
	Routes []Route
	// Schedules are the Schedule and ScheduleV2 events, sorted by EventName.
	Schedules []Schedule
	// Queues are the SQS events, sorted by EventName.
	Queues []QueueEvent
	// OtherEvents are events of any other type, sorted by Name. The loader
	// does not interpret them; the template test rejects them.
	OtherEvents []Event
	// Policies are the statements of the inline policy documents in
	// Policies, in template order.
	Policies []PolicyStatement
	// ManagedPolicies are the Policies entries that name a managed policy.
	ManagedPolicies []Value
	// PolicyTemplates are the names of the SAM policy templates in Policies
	// (e.g. "DynamoDBCrudPolicy"), in template order.
	PolicyTemplates []string
	// AsyncInvoke is EventInvokeConfig, or nil when the function has none.
	AsyncInvoke *AsyncInvokeConfig
}

// Value is a template value that is either a literal or an unresolved
// intrinsic function. Exactly one of Ref, GetAtt and Sub is set for an
// intrinsic; none of them for a literal (which may be "").
type Value struct {
	// Literal is the value when no intrinsic is set. Numbers and booleans
	// are kept in their YAML spelling.
	Literal string
	// Ref is the name of the parameter, resource or pseudo parameter of a
	// !Ref (e.g. "Table", "AWS::Region").
	Ref string
	// GetAtt is the "Resource.Attribute" of a !GetAtt (e.g. "Table.Arn").
	GetAtt string
	// Sub is the format string of a !Sub.
	Sub string
	// SubVars are the variables of the two-argument form of !Sub.
	SubVars map[string]Value
}

// Route is one HttpApi event: an HTTP route of the API.
type Route struct {
	EventName string
	// Method is upper case ("GET", "POST", "ANY").
	Method string
	Path   string
	// PayloadFormatVersion is the declared version, or SAM's default "2.0".
	PayloadFormatVersion string
	// ApiID is the logical id the event's ApiId refers to, or "" when it
	// has none (SAM would then create an implicit API).
	ApiID string
	// Authorizer is the name of the authorizer that guards the route: the
	// event's Auth.Authorizer, else the API's default authorizer.
	// NoAuthorizer or "" (no default either) means the route is open.
	Authorizer string
}

// Key returns the route key as API Gateway writes it, e.g. "GET /v1/orders/{id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Schedule is one Schedule (EventBridge rule) or ScheduleV2 (EventBridge
// Scheduler) event.
type Schedule struct {
	EventName string
	// Type is "Schedule" or "ScheduleV2".
	Type string
	// Expression is the rate(...) or cron(...) expression.
	Expression string
	// Enabled is false only when the event says Enabled: false or a State
	// other than ENABLED.
	Enabled bool
	// Input is the event's Input (JSON text), or "" for the default event.
	Input string
	// RuleLogicalID is the logical id SAM gives the generated rule or
	// schedule: the function's logical id followed by the event name.
	RuleLogicalID string
	// DeadLetterQueueLogicalID is the queue of DeadLetterConfig: the
	// resource of its Arn's !GetAtt, or the QueueLogicalId of a
	// SAM-created queue (SAM's default name when that is absent). It is ""
	// when the event has no DeadLetterConfig.
	DeadLetterQueueLogicalID string
}

// QueueEvent is one SQS event: the function consumes a queue.
type QueueEvent struct {
	EventName string
	// QueueLogicalID is the resource of the Queue property's !GetAtt.
	QueueLogicalID string
	// BatchSize is the declared batch size, or 0 for SAM's default.
	BatchSize               int
	ReportBatchItemFailures bool
}

// Event is an event of a type the loader does not interpret.
type Event struct {
	Name string
	Type string
}

// PolicyStatement is one statement of an inline IAM policy.
type PolicyStatement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []Value
	// NotActions and NotResources are set when the statement uses
	// NotAction / NotResource.
	NotActions   []string
	NotResources []Value
}

// AsyncInvokeConfig is a function's EventInvokeConfig: what Lambda does
// with an asynchronous invocation (e.g. a schedule's) that fails.
type AsyncInvokeConfig struct {
	// MaximumRetryAttempts is -1 when not declared.
	MaximumRetryAttempts int
	// MaximumEventAgeSec is 0 when not declared.
	MaximumEventAgeSec int
	// OnFailureType is DestinationConfig.OnFailure.Type ("SQS", "SNS",
	// "Lambda", "EventBridge", "S3Bucket"), or "" when there is none.
	OnFailureType string
	// OnFailure is DestinationConfig.OnFailure.Destination.
	OnFailure Value
}

// HttpApi holds the settings of the AWS::Serverless::HttpApi.
type HttpApi struct {
	FailOnWarnings bool
	// CORSConfigured is true when CorsConfiguration is set.
	CORSConfigured bool
	// ThrottlingBurstLimit and ThrottlingRateLimit are
	// DefaultRouteSettings' (0 when not set).
	ThrottlingBurstLimit int
	ThrottlingRateLimit  float64
}

// Authorizer is the HTTP API's default Lambda authorizer.
type Authorizer struct {
	Name string
	// FunctionLogicalID is the function of FunctionArn's !GetAtt.
	FunctionLogicalID    string
	PayloadFormatVersion string
	SimpleResponses      bool
	// TTLSeconds is Identity.ReauthorizeEvery (0 when not declared).
	TTLSeconds int
	// IdentitySources are the identity sources as API Gateway writes them
	// ("$request.header.Authorization"); empty means the authorizer runs
	// for every request, with or without credentials.
	IdentitySources []string
}

// Table is the AWS::DynamoDB::Table.
type Table struct {
	LogicalID string
	// TableName is the declared TableName; a zero Value means CloudFormation
	// names the table.
	TableName Value
	HashKey   string
	RangeKey  string
	// Attributes maps each declared attribute to its type ("S", "N", "B").
	Attributes map[string]string
	GSIs       []GSI
	// TTLAttribute is the attribute of an enabled TimeToLiveSpecification.
	TTLAttribute        string
	BillingMode         string
	PointInTimeRecovery bool
	DeletionProtection  bool
}

// GSI is a global secondary index of the table.
type GSI struct {
	Name     string
	HashKey  string
	RangeKey string
	// Projection is the ProjectionType ("ALL", "KEYS_ONLY", "INCLUDE").
	Projection string
}

// Queue is an AWS::SQS::Queue.
type Queue struct {
	LogicalID string
	FIFO      bool
	// SSE is true when SqsManagedSseEnabled is true or KmsMasterKeyId is set.
	SSE                  bool
	VisibilityTimeoutSec int
	MessageRetentionSec  int
	// DeadLetterQueueLogicalID and MaxReceiveCount come from RedrivePolicy.
	DeadLetterQueueLogicalID string
	MaxReceiveCount          int
	// EventBridgeRules are the logical ids of the rules that an
	// AWS::SQS::QueuePolicy lets events.amazonaws.com send to this queue
	// (from aws:SourceArn conditions with !GetAtt <Rule>.Arn), sorted.
	EventBridgeRules []string
}

// Parameter is a template parameter.
type Parameter struct {
	Type        string
	Description string
	Default     string
	// HasDefault tells a Default of "" from no Default.
	HasDefault     bool
	AllowedPattern string
}

// Function returns the function with the given logical id.
func (t *Template) Function(id string) (*Function, bool) {
	for i := range t.Functions {
		if t.Functions[i].LogicalID == id {
			return &t.Functions[i], true
		}
	}
	return nil, false
}

// Queue returns the queue with the given logical id.
func (t *Template) Queue(id string) (*Queue, bool) {
	for i := range t.Queues {
		if t.Queues[i].LogicalID == id {
			return &t.Queues[i], true
		}
	}
	return nil, false
}

// yamlMu serializes goformation's YAML reader: intrinsics.ProcessYAML
// (re)registers its short-form tag handlers in a package-level map on every
// call, which is a data race when two goroutines load a template at once.
var yamlMu sync.Mutex

// Load reads and parses the SAM template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse parses a SAM template from YAML (or JSON, which is YAML).
func Parse(data []byte) (*Template, error) {
	// goformation turns the YAML, with its short-form tags (!Ref, !GetAtt,
	// !Sub), into JSON with long-form intrinsics. NoProcess keeps those
	// intrinsics as they are: goformation's default processing would resolve
	// a Ref to a resource to "", and its typed model flattens Environment
	// into map[string]string and over-matches event types, so decoding into
	// the small types below is simpler and keeps every Ref.
	yamlMu.Lock()
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	yamlMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	var raw rawTemplate
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	return build(&raw)
}

func build(raw *rawTemplate) (*Template, error) {
	t := &Template{Parameters: make(map[string]Parameter, len(raw.Parameters))}
	for name, p := range raw.Parameters {
		t.Parameters[name] = Parameter{
			Type:           p.Type,
			Description:    p.Description,
			Default:        string(p.Default.s),
			HasDefault:     p.Default.set,
			AllowedPattern: p.AllowedPattern,
		}
	}

	var globals rawFunctionProps
	if len(raw.Globals.Function) > 0 {
		if err := json.Unmarshal(raw.Globals.Function, &globals); err != nil {
			return nil, fmt.Errorf("Globals.Function: %w", err)
		}
		g, err := globals.function("", rawMetadata{})
		if err != nil {
			return nil, fmt.Errorf("Globals.Function: %w", err)
		}
		t.GlobalFunction = g
	}

	ids := sortedKeys(raw.Resources)
	var tables []string
	for _, id := range ids {
		switch raw.Resources[id].Type {
		case typeHttpApi:
			if t.HttpApiLogicalID != "" {
				return nil, fmt.Errorf("two HTTP APIs (%s, %s): the loader supports one", t.HttpApiLogicalID, id)
			}
			if err := t.readHttpApi(id, raw.Resources[id].Properties); err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
		case typeTable:
			tables = append(tables, id)
		}
	}
	switch len(tables) {
	case 0:
		return nil, errors.New("no AWS::DynamoDB::Table")
	case 1:
		tbl, err := readTable(tables[0], raw.Resources[tables[0]].Properties)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tables[0], err)
		}
		t.Table = tbl
	default:
		return nil, fmt.Errorf("%d DynamoDB tables (%s): the loader supports one", len(tables), strings.Join(tables, ", "))
	}

	for _, id := range ids {
		res := raw.Resources[id]
		switch res.Type {
		case typeFunction:
			var props rawFunctionProps
			if err := json.Unmarshal(res.Properties, &props); err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			fn, err := globals.merge(props).function(id, res.Metadata)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			for i := range fn.Routes {
				if fn.Routes[i].Authorizer == "" {
					fn.Routes[i].Authorizer = t.Authorizer.Name
				}
			}
			t.Functions = append(t.Functions, fn)
		case typeQueue:
			q, err := readQueue(id, res.Properties)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			t.Queues = append(t.Queues, q)
		}
	}

	if err := t.readEvents(ids, raw.Resources); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if raw.Resources[id].Type != typeQueuePolicy {
			continue
		}
		if err := t.readQueuePolicy(raw.Resources[id].Properties); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
	}
	return t, nil
}

func (t *Template) readHttpApi(id string, props json.RawMessage) error {
	var p rawHttpApiProps
	if err := json.Unmarshal(props, &p); err != nil {
		return err
	}
	t.HttpApiLogicalID = id
	t.HttpApi = HttpApi{
		FailOnWarnings:       bool(p.FailOnWarnings),
		CORSConfigured:       len(p.CorsConfiguration) > 0 && string(p.CorsConfiguration) != "null" && string(p.CorsConfiguration) != "false",
		ThrottlingBurstLimit: int(p.DefaultRouteSettings.ThrottlingBurstLimit),
		ThrottlingRateLimit:  float64(p.DefaultRouteSettings.ThrottlingRateLimit),
	}
	name := string(p.Auth.DefaultAuthorizer)
	if name == "" || name == NoAuthorizer {
		return nil
	}
	a, ok := p.Auth.Authorizers[name]
	if !ok {
		return fmt.Errorf("Auth.DefaultAuthorizer %q is not among Auth.Authorizers", name)
	}
	fnID, err := a.FunctionArn.getAttResource("Arn")
	if err != nil {
		return fmt.Errorf("Auth.Authorizers.%s.FunctionArn: %w", name, err)
	}
	auth := Authorizer{
		Name:                 name,
		FunctionLogicalID:    fnID,
		PayloadFormatVersion: string(a.AuthorizerPayloadFormatVersion),
		SimpleResponses:      bool(a.EnableSimpleResponses),
	}
	if id := a.Identity; id != nil {
		auth.TTLSeconds = int(id.ReauthorizeEvery)
		for _, src := range []struct {
			prefix string
			names  []string
		}{
			{"$request.header.", id.Headers},
			{"$request.querystring.", id.QueryStrings},
			{"$stageVariables.", id.StageVariables},
			{"$context.", id.Context},
		} {
			for _, n := range src.names {
				auth.IdentitySources = append(auth.IdentitySources, src.prefix+n)
			}
		}
	}
	t.Authorizer = auth
	return nil
}

func readTable(id string, props json.RawMessage) (Table, error) {
	var p rawTableProps
	if err := json.Unmarshal(props, &p); err != nil {
		return Table{}, err
	}
	tbl := Table{
		LogicalID:           id,
		TableName:           p.TableName,
		Attributes:          make(map[string]string, len(p.AttributeDefinitions)),
		BillingMode:         string(p.BillingMode),
		PointInTimeRecovery: p.PointInTimeRecoverySpecification != nil && bool(p.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled),
		DeletionProtection:  bool(p.DeletionProtectionEnabled),
	}
	for _, a := range p.AttributeDefinitions {
		tbl.Attributes[a.AttributeName] = a.AttributeType
	}
	var err error
	if tbl.HashKey, tbl.RangeKey, err = keySchema(p.KeySchema); err != nil {
		return Table{}, fmt.Errorf("KeySchema: %w", err)
	}
	for _, g := range p.GlobalSecondaryIndexes {
		gsi := GSI{Name: g.IndexName, Projection: g.Projection.ProjectionType}
		if gsi.HashKey, gsi.RangeKey, err = keySchema(g.KeySchema); err != nil {
			return Table{}, fmt.Errorf("GlobalSecondaryIndexes %s: %w", g.IndexName, err)
		}
		tbl.GSIs = append(tbl.GSIs, gsi)
	}
	if ttl := p.TimeToLiveSpecification; ttl != nil && bool(ttl.Enabled) {
		tbl.TTLAttribute = ttl.AttributeName
	}
	return tbl, nil
}

func keySchema(ks []rawKeyElement) (hash, rng string, err error) {
	for _, k := range ks {
		switch k.KeyType {
		case "HASH":
			hash = k.AttributeName
		case "RANGE":
			rng = k.AttributeName
		default:
			return "", "", fmt.Errorf("unknown KeyType %q", k.KeyType)
		}
	}
	if hash == "" {
		return "", "", errors.New("no HASH key")
	}
	return hash, rng, nil
}

func readQueue(id string, props json.RawMessage) (Queue, error) {
	q := Queue{LogicalID: id}
	if len(props) == 0 {
		return q, nil
	}
	var p rawQueueProps
	if err := json.Unmarshal(props, &p); err != nil {
		return Queue{}, err
	}
	q.FIFO = bool(p.FifoQueue)
	q.SSE = bool(p.SqsManagedSseEnabled) || !p.KmsMasterKeyId.isZero()
	q.VisibilityTimeoutSec = int(p.VisibilityTimeout)
	q.MessageRetentionSec = int(p.MessageRetentionPeriod)
	if p.RedrivePolicy != nil {
		dlq, err := p.RedrivePolicy.DeadLetterTargetArn.getAttResource("Arn")
		if err != nil {
			return Queue{}, fmt.Errorf("RedrivePolicy.deadLetterTargetArn: %w", err)
		}
		q.DeadLetterQueueLogicalID = dlq
		q.MaxReceiveCount = int(p.RedrivePolicy.MaxReceiveCount)
	}
	return q, nil
}

// readQueuePolicy records, on each queue the policy applies to, the rules
// whose events EventBridge may send to it.
func (t *Template) readQueuePolicy(props json.RawMessage) error {
	var p rawQueuePolicyProps
	if err := json.Unmarshal(props, &p); err != nil {
		return err
	}
	var rules []string
	for _, st := range p.PolicyDocument.Statement {
		if st.Effect != "Allow" || !slices.Contains(st.Principal.Service, "events.amazonaws.com") ||
			!slices.ContainsFunc(st.Action, func(a string) bool { return a == "sqs:SendMessage" || a == "sqs:*" }) {
			continue
		}
		for _, op := range []string{"ArnEquals", "ArnLike"} {
			for _, v := range st.Condition[op]["aws:SourceArn"] {
				if rule, err := v.getAttResource("Arn"); err == nil {
					rules = append(rules, rule)
				}
			}
		}
	}
	for _, qv := range p.Queues {
		if qv.Ref == "" {
			continue
		}
		q, ok := t.Queue(qv.Ref)
		if !ok {
			return fmt.Errorf("Queues: %s is not an AWS::SQS::Queue of the template", qv.Ref)
		}
		q.EventBridgeRules = append(q.EventBridgeRules, rules...)
		slices.Sort(q.EventBridgeRules)
		q.EventBridgeRules = slices.Compact(q.EventBridgeRules)
	}
	return nil
}

// function turns merged properties into a Function.
func (p rawFunctionProps) function(id string, md rawMetadata) (Function, error) {
	fn := Function{
		LogicalID:     id,
		CodeURI:       deref(p.CodeUri),
		Handler:       deref(p.Handler),
		Runtime:       deref(p.Runtime),
		BuildMethod:   string(md.BuildMethod),
		Architectures: p.Architectures,
		MemoryMB:      int(derefInt(p.MemorySize)),
		TimeoutSec:    int(derefInt(p.Timeout)),
		Tracing:       deref(p.Tracing),
		Environment:   map[string]Value{},
	}
	if p.LoggingConfig != nil {
		fn.LogFormat = string(p.LoggingConfig.LogFormat)
	}
	if p.Environment != nil {
		for k, v := range p.Environment.Variables {
			fn.Environment[k] = v
		}
	}
	if err := fn.readPolicies(p.Policies); err != nil {
		return Function{}, fmt.Errorf("Policies: %w", err)
	}
	if c := p.EventInvokeConfig; c != nil {
		ai := &AsyncInvokeConfig{MaximumRetryAttempts: -1}
		if c.MaximumRetryAttempts != nil {
			ai.MaximumRetryAttempts = int(*c.MaximumRetryAttempts)
		}
		ai.MaximumEventAgeSec = int(c.MaximumEventAgeInSeconds)
		if d := c.DestinationConfig; d != nil && d.OnFailure != nil {
			ai.OnFailureType = d.OnFailure.Type
			ai.OnFailure = d.OnFailure.Destination
		}
		fn.AsyncInvoke = ai
	}
	for _, name := range sortedKeys(p.Events) {
		if err := fn.readEvent(name, p.Events[name]); err != nil {
			return Function{}, fmt.Errorf("Events.%s: %w", name, err)
		}
	}
	return fn, nil
}

func (fn *Function) readEvent(name string, ev rawEvent) error {
	switch ev.Type {
	case "HttpApi":
		var p rawHttpApiEventProps
		if len(ev.Properties) > 0 {
			if err := json.Unmarshal(ev.Properties, &p); err != nil {
				return err
			}
		}
		r := Route{
			EventName:            name,
			Method:               strings.ToUpper(string(p.Method)),
			Path:                 string(p.Path),
			PayloadFormatVersion: string(p.PayloadFormatVersion),
			Authorizer:           string(p.Auth.Authorizer),
		}
		if r.PayloadFormatVersion == "" {
			r.PayloadFormatVersion = defaultPayloadFormatVersion
		}
		if !p.ApiId.isZero() {
			if p.ApiId.Ref == "" {
				return fmt.Errorf("ApiId: want !Ref to the HttpApi, got %s", p.ApiId)
			}
			r.ApiID = p.ApiId.Ref
		}
		fn.Routes = append(fn.Routes, r)
	case "Schedule", "ScheduleV2":
		var p rawScheduleEventProps
		if err := json.Unmarshal(ev.Properties, &p); err != nil {
			return err
		}
		s := Schedule{
			EventName:     name,
			Type:          ev.Type,
			Expression:    string(p.Schedule),
			Enabled:       true,
			Input:         string(p.Input),
			RuleLogicalID: fn.LogicalID + name,
		}
		if ev.Type == "ScheduleV2" {
			s.Expression = string(p.ScheduleExpression)
		}
		if p.Enabled.set && !bool(p.Enabled.b) {
			s.Enabled = false
		}
		if p.State != "" && p.State != "ENABLED" {
			s.Enabled = false
		}
		if d := p.DeadLetterConfig; d != nil {
			switch {
			case !d.Arn.isZero():
				q, err := d.Arn.getAttResource("Arn")
				if err != nil {
					return fmt.Errorf("DeadLetterConfig.Arn: %w", err)
				}
				s.DeadLetterQueueLogicalID = q
			case d.QueueLogicalId != "":
				s.DeadLetterQueueLogicalID = d.QueueLogicalId
			default:
				// SAM creates the queue and names it after the rule.
				s.DeadLetterQueueLogicalID = s.RuleLogicalID + "Queue"
			}
		}
		fn.Schedules = append(fn.Schedules, s)
	case "SQS":
		var p rawSQSEventProps
		if err := json.Unmarshal(ev.Properties, &p); err != nil {
			return err
		}
		q, err := p.Queue.getAttResource("Arn")
		if err != nil {
			return fmt.Errorf("Queue: %w", err)
		}
		fn.Queues = append(fn.Queues, QueueEvent{
			EventName:               name,
			QueueLogicalID:          q,
			BatchSize:               int(p.BatchSize),
			ReportBatchItemFailures: slices.Contains(p.FunctionResponseTypes, "ReportBatchItemFailures"),
		})
	default:
		fn.OtherEvents = append(fn.OtherEvents, Event{Name: name, Type: ev.Type})
	}
	return nil
}

// readPolicies reads SAM's Policies property: a managed policy name, an
// inline policy document, or a list of managed policy names, inline
// documents and SAM policy templates.
func (fn *Function) readPolicies(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var list []json.RawMessage
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return err
		}
	} else {
		list = []json.RawMessage{raw}
	}
	for i, item := range list {
		var v Value
		if err := json.Unmarshal(item, &v); err == nil {
			fn.ManagedPolicies = append(fn.ManagedPolicies, v)
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(item, &m); err != nil {
			return fmt.Errorf("[%d]: want a policy name, a policy document or a policy template: %w", i, err)
		}
		if _, ok := m["Statement"]; !ok {
			for _, name := range sortedKeys(m) {
				fn.PolicyTemplates = append(fn.PolicyTemplates, name)
			}
			continue
		}
		var doc rawPolicyDocument
		if err := json.Unmarshal(item, &doc); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
		for _, st := range doc.Statement {
			fn.Policies = append(fn.Policies, PolicyStatement{
				Sid:          st.Sid,
				Effect:       st.Effect,
				Actions:      st.Action,
				Resources:    st.Resource,
				NotActions:   st.NotAction,
				NotResources: st.NotResource,
			})
		}
	}
	return nil
}

// merge returns Globals.Function (g) overlaid with a function's own
// properties (p): each property p declares wins, Environment variables are
// merged key by key. Events, Policies and EventInvokeConfig are not global.
func (g rawFunctionProps) merge(p rawFunctionProps) rawFunctionProps {
	out := p
	if out.CodeUri == nil {
		out.CodeUri = g.CodeUri
	}
	if out.Handler == nil {
		out.Handler = g.Handler
	}
	if out.Runtime == nil {
		out.Runtime = g.Runtime
	}
	if out.Architectures == nil {
		out.Architectures = g.Architectures
	}
	if out.MemorySize == nil {
		out.MemorySize = g.MemorySize
	}
	if out.Timeout == nil {
		out.Timeout = g.Timeout
	}
	if out.Tracing == nil {
		out.Tracing = g.Tracing
	}
	if out.LoggingConfig == nil {
		out.LoggingConfig = g.LoggingConfig
	}
	if g.Environment != nil {
		vars := make(map[string]Value, len(g.Environment.Variables))
		for k, v := range g.Environment.Variables {
			vars[k] = v
		}
		if p.Environment != nil {
			for k, v := range p.Environment.Variables {
				vars[k] = v
			}
		}
		out.Environment = &rawEnvironment{Variables: vars}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func deref(s *flexString) string {
	if s == nil {
		return ""
	}
	return string(*s)
}

func derefInt(n *flexInt) flexInt {
	if n == nil {
		return 0
	}
	return *n
}

// String returns the value in the template's short form, for messages:
// the literal itself, or "!Ref X", "!GetAtt X.Y", "!Sub ...".
func (v Value) String() string {
	switch {
	case v.Ref != "":
		return "!Ref " + v.Ref
	case v.GetAtt != "":
		return "!GetAtt " + v.GetAtt
	case v.Sub != "":
		return "!Sub " + strconv.Quote(v.Sub)
	default:
		return v.Literal
	}
}

// IsLiteral reports whether v is a literal rather than an intrinsic function.
func (v Value) IsLiteral() bool { return v.Ref == "" && v.GetAtt == "" && v.Sub == "" }

func (v Value) isZero() bool { return v.IsLiteral() && v.Literal == "" }

// getAttResource returns X of a "!GetAtt X.<attr>".
func (v Value) getAttResource(attr string) (string, error) {
	res, a, ok := strings.Cut(v.GetAtt, ".")
	if !ok || a != attr {
		return "", fmt.Errorf("want !GetAtt <Resource>.%s, got %s", attr, v)
	}
	return res, nil
}

// Resolve returns v as a string, asking lookup for the value of every name
// it refers to: the name of a !Ref, the "Resource.Attribute" of a !GetAtt,
// and each ${Name} or ${Resource.Attribute} of a !Sub that is not one of its
// own variables. "${!Text}" stands for the literal "${Text}". Other text,
// including dynamic references such as {{resolve:secretsmanager:…}}, is
// returned unchanged for the caller to deal with. Resolve fails when lookup
// does not know a name.
func (v Value) Resolve(lookup func(name string) (string, bool)) (string, error) {
	get := func(name string) (string, error) {
		s, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("unresolved reference %q in %s", name, v)
		}
		return s, nil
	}
	switch {
	case v.Ref != "":
		return get(v.Ref)
	case v.GetAtt != "":
		return get(v.GetAtt)
	case v.Sub != "":
		return v.resolveSub(get, lookup)
	default:
		return v.Literal, nil
	}
}

func (v Value) resolveSub(get func(string) (string, error), lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	rest := v.Sub
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		rest = rest[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated ${ in %s", v)
		}
		name := rest[:j]
		rest = rest[j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var s string
		var err error
		if sv, ok := v.SubVars[name]; ok {
			s, err = sv.Resolve(lookup)
		} else {
			s, err = get(name)
		}
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
}

// UnmarshalJSON reads a literal (string, number or boolean) or one of the
// intrinsics Ref, Fn::GetAtt and Fn::Sub in long form, which is what
// goformation turns the short forms into.
func (v *Value) UnmarshalJSON(b []byte) error {
	var lit flexString
	if err := json.Unmarshal(b, &lit); err == nil {
		*v = Value{Literal: string(lit)}
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 1 {
		return fmt.Errorf("want a literal, !Ref, !GetAtt or !Sub, got %s", b)
	}
	for fn, arg := range m {
		switch fn {
		case "Ref":
			var name string
			if err := json.Unmarshal(arg, &name); err != nil {
				return fmt.Errorf("Ref: want a name, got %s", arg)
			}
			*v = Value{Ref: name}
		case "Fn::GetAtt":
			var s string
			if err := json.Unmarshal(arg, &s); err == nil {
				*v = Value{GetAtt: s}
				return nil
			}
			var parts []string
			if err := json.Unmarshal(arg, &parts); err != nil || len(parts) != 2 {
				return fmt.Errorf("Fn::GetAtt: want Resource.Attribute or [Resource, Attribute], got %s", arg)
			}
			*v = Value{GetAtt: parts[0] + "." + parts[1]}
		case "Fn::Sub":
			var s string
			if err := json.Unmarshal(arg, &s); err == nil {
				*v = Value{Sub: s}
				return nil
			}
			var parts []json.RawMessage
			if err := json.Unmarshal(arg, &parts); err != nil || len(parts) != 2 {
				return fmt.Errorf("Fn::Sub: want a string or [string, {variables}], got %s", arg)
			}
			var out Value
			if err := json.Unmarshal(parts[0], &out.Sub); err != nil {
				return fmt.Errorf("Fn::Sub: want a format string, got %s", parts[0])
			}
			if err := json.Unmarshal(parts[1], &out.SubVars); err != nil {
				return fmt.Errorf("Fn::Sub variables: %w", err)
			}
			*v = out
		default:
			return fmt.Errorf("unsupported intrinsic function %s", fn)
		}
	}
	return nil
}
