package samtemplate

import (
	"reflect"
	"strings"
	"sync"
	"testing"
)

// miniTemplate exercises the loader's reading rules on a template small
// enough to read at a glance.
const miniTemplate = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  Empty:
    Type: String
    Default: ""
  Required:
    Type: String
Globals:
  Function:
    Runtime: provided.al2023
    Architectures: [arm64]
    MemorySize: 128
    Timeout: 10
    Tracing: Active
    LoggingConfig:
      LogFormat: JSON
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        STAGE: !Ref Stage
        OVERRIDDEN: global
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: PK, AttributeType: S}
        - {AttributeName: SK, AttributeType: S}
      KeySchema:
        - {AttributeName: PK, KeyType: HASH}
        - {AttributeName: SK, KeyType: RANGE}
      TimeToLiveSpecification:
        AttributeName: ttl
        Enabled: false
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Keys
        Authorizers:
          Keys:
            FunctionArn:
              Fn::GetAtt: [AuthFn, Arn]
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 60
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: "90"
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDLQ.Arn
        maxReceiveCount: 5
  WorkDLQ:
    Type: AWS::SQS::Queue
  WorkDLQPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref WorkDLQ]
      PolicyDocument:
        Statement:
          Effect: Allow
          Principal: {Service: events.amazonaws.com}
          Action: sqs:SendMessage
          Resource: !GetAtt WorkDLQ.Arn
          Condition:
            ArnEquals:
              aws:SourceArn: !GetAtt ApiFnTick.Arn
  AuthFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./
      Handler: bootstrap
      Policies: AWSLambdaBasicExecutionRole
  ApiFn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: makefile
    Properties:
      CodeUri: ./
      Handler: bootstrap
      Timeout: 60
      Architectures: [x86_64]
      Environment:
        Variables:
          OVERRIDDEN: mine
          SECRET: !Sub "{{resolve:secretsmanager:${Stage}-key}}"
          QUEUE: !GetAtt Work.Arn
          COUNT: 3
          URL: !Sub ["https://${Host}/${!Literal}", {Host: !Ref Api}]
      Policies:
        - DynamoDBReadPolicy:
            TableName: !Ref Table
        - Statement:
            - Effect: Allow
              Action: dynamodb:GetItem
              Resource: !GetAtt Table.Arn
      EventInvokeConfig:
        MaximumRetryAttempts: 0
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt WorkDLQ.Arn
      Events:
        Get:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: get
            Path: /things/{id}
        Open:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: POST
            Path: /open
            PayloadFormatVersion: "1.0"
            Auth:
              Authorizer: NONE
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
            Enabled: false
            Input: '{"k":1}'
            DeadLetterConfig:
              Type: SQS
        Consume:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
        Rest:
          Type: Api
          Properties:
            Path: /rest
            Method: get
`

func mustParse(tb testing.TB, yaml string) *Template {
	tb.Helper()
	tpl, err := Parse([]byte(yaml))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return tpl
}

func mustFunction(tb testing.TB, tpl *Template, id string) *Function {
	tb.Helper()
	fn, ok := tpl.Function(id)
	if !ok {
		tb.Fatalf("function %s not found", id)
	}
	return fn
}

func TestParseMergesGlobals(t *testing.T) {
	t.Parallel()
	tpl := mustParse(t, miniTemplate)
	fn := mustFunction(t, tpl, "ApiFn")

	if got, want := fn.Runtime, "provided.al2023"; got != want {
		t.Errorf("Runtime = %q, want %q (from Globals)", got, want)
	}
	if got, want := fn.Architectures, []string{"x86_64"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Architectures = %v, want %v (the function's own wins)", got, want)
	}
	if got, want := fn.TimeoutSec, 60; got != want {
		t.Errorf("TimeoutSec = %d, want %d", got, want)
	}
	if got, want := fn.MemoryMB, 128; got != want {
		t.Errorf("MemoryMB = %d, want %d", got, want)
	}
	if fn.Tracing != "Active" || fn.LogFormat != "JSON" || fn.BuildMethod != "makefile" {
		t.Errorf("Tracing, LogFormat, BuildMethod = %q, %q, %q", fn.Tracing, fn.LogFormat, fn.BuildMethod)
	}
	wantEnv := map[string]Value{
		"TABLE_NAME": {Ref: "Table"},
		"STAGE":      {Ref: "Stage"},
		"OVERRIDDEN": {Literal: "mine"},
		"SECRET":     {Sub: "{{resolve:secretsmanager:${Stage}-key}}"},
		"QUEUE":      {GetAtt: "Work.Arn"},
		"COUNT":      {Literal: "3"},
		"URL":        {Sub: "https://${Host}/${!Literal}", SubVars: map[string]Value{"Host": {Ref: "Api"}}},
	}
	if !reflect.DeepEqual(fn.Environment, wantEnv) {
		t.Errorf("Environment =\n%v\nwant\n%v", fn.Environment, wantEnv)
	}

	auth := mustFunction(t, tpl, "AuthFn")
	if got, want := auth.Environment["OVERRIDDEN"], (Value{Literal: "global"}); !reflect.DeepEqual(got, want) {
		t.Errorf("AuthFn OVERRIDDEN = %v, want %v", got, want)
	}
	if got, want := tpl.GlobalFunction.TimeoutSec, 10; got != want {
		t.Errorf("GlobalFunction.TimeoutSec = %d, want %d", got, want)
	}
	if auth.BuildMethod != "" {
		t.Errorf("AuthFn BuildMethod = %q, want none", auth.BuildMethod)
	}
	if got, want := []string{tpl.Functions[0].LogicalID, tpl.Functions[1].LogicalID}, []string{"ApiFn", "AuthFn"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Functions order = %v, want %v", got, want)
	}
}

func TestParseEvents(t *testing.T) {
	t.Parallel()
	tpl := mustParse(t, miniTemplate)
	fn := mustFunction(t, tpl, "ApiFn")

	wantRoutes := []Route{
		{EventName: "Get", Method: "GET", Path: "/things/{id}", PayloadFormatVersion: "2.0", ApiID: "Api", Authorizer: "Keys"},
		{EventName: "Open", Method: "POST", Path: "/open", PayloadFormatVersion: "1.0", ApiID: "Api", Authorizer: NoAuthorizer},
	}
	if !reflect.DeepEqual(fn.Routes, wantRoutes) {
		t.Errorf("Routes =\n%+v\nwant\n%+v", fn.Routes, wantRoutes)
	}
	if got, want := fn.Routes[0].Key(), "GET /things/{id}"; got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
	wantSchedules := []Schedule{{
		EventName: "Tick", Type: "Schedule", Expression: "rate(1 hour)", Enabled: false, Input: `{"k":1}`,
		RuleLogicalID: "ApiFnTick", DeadLetterQueueLogicalID: "ApiFnTickQueue",
	}}
	if !reflect.DeepEqual(fn.Schedules, wantSchedules) {
		t.Errorf("Schedules =\n%+v\nwant\n%+v", fn.Schedules, wantSchedules)
	}
	wantQueues := []QueueEvent{{EventName: "Consume", QueueLogicalID: "Work", BatchSize: 10, ReportBatchItemFailures: true}}
	if !reflect.DeepEqual(fn.Queues, wantQueues) {
		t.Errorf("Queues = %+v, want %+v", fn.Queues, wantQueues)
	}
	if got, want := fn.OtherEvents, []Event{{Name: "Rest", Type: "Api"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("OtherEvents = %v, want %v", got, want)
	}
	wantAsync := &AsyncInvokeConfig{MaximumRetryAttempts: 0, OnFailureType: "SQS", OnFailure: Value{GetAtt: "WorkDLQ.Arn"}}
	if !reflect.DeepEqual(fn.AsyncInvoke, wantAsync) {
		t.Errorf("AsyncInvoke = %+v, want %+v", fn.AsyncInvoke, wantAsync)
	}
}

func TestParsePolicies(t *testing.T) {
	t.Parallel()
	tpl := mustParse(t, miniTemplate)

	fn := mustFunction(t, tpl, "ApiFn")
	if got, want := fn.PolicyTemplates, []string{"DynamoDBReadPolicy"}; !reflect.DeepEqual(got, want) {
		t.Errorf("PolicyTemplates = %v, want %v", got, want)
	}
	wantStatements := []PolicyStatement{{Effect: "Allow", Actions: []string{"dynamodb:GetItem"}, Resources: []Value{{GetAtt: "Table.Arn"}}}}
	if !reflect.DeepEqual(fn.Policies, wantStatements) {
		t.Errorf("Policies = %+v, want %+v", fn.Policies, wantStatements)
	}

	auth := mustFunction(t, tpl, "AuthFn")
	if got, want := auth.ManagedPolicies, []Value{{Literal: "AWSLambdaBasicExecutionRole"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ManagedPolicies = %v, want %v", got, want)
	}
}

func TestParseResources(t *testing.T) {
	t.Parallel()
	tpl := mustParse(t, miniTemplate)

	if got, want := tpl.HttpApiLogicalID, "Api"; got != want {
		t.Errorf("HttpApiLogicalID = %q, want %q", got, want)
	}
	wantAuth := Authorizer{
		Name: "Keys", FunctionLogicalID: "AuthFn", PayloadFormatVersion: "2.0", SimpleResponses: true,
		TTLSeconds: 60, IdentitySources: []string{"$request.header.Authorization"},
	}
	if !reflect.DeepEqual(tpl.Authorizer, wantAuth) {
		t.Errorf("Authorizer = %+v, want %+v", tpl.Authorizer, wantAuth)
	}
	wantTable := Table{
		LogicalID: "Table", HashKey: "PK", RangeKey: "SK",
		Attributes:  map[string]string{"PK": "S", "SK": "S"},
		BillingMode: "PAY_PER_REQUEST",
		// A disabled TTL specification names no TTL attribute.
	}
	if !reflect.DeepEqual(tpl.Table, wantTable) {
		t.Errorf("Table = %+v, want %+v", tpl.Table, wantTable)
	}
	wantQueues := []Queue{
		{LogicalID: "Work", VisibilityTimeoutSec: 90, DeadLetterQueueLogicalID: "WorkDLQ", MaxReceiveCount: 5},
		{LogicalID: "WorkDLQ", EventBridgeRules: []string{"ApiFnTick"}},
	}
	if !reflect.DeepEqual(tpl.Queues, wantQueues) {
		t.Errorf("Queues = %+v, want %+v", tpl.Queues, wantQueues)
	}
	wantParams := map[string]Parameter{
		"Stage":    {Type: "String", Default: "dev", HasDefault: true},
		"Empty":    {Type: "String", Default: "", HasDefault: true},
		"Required": {Type: "String"},
	}
	if !reflect.DeepEqual(tpl.Parameters, wantParams) {
		t.Errorf("Parameters = %+v, want %+v", tpl.Parameters, wantParams)
	}
}

func TestValueResolve(t *testing.T) {
	t.Parallel()
	known := map[string]string{"Table": "gc-table", "Api": "abc123", "Stage": "dev", "Table.Arn": "arn:table"}
	lookup := func(name string) (string, bool) { v, ok := known[name]; return v, ok }

	tests := []struct {
		name    string
		value   Value
		want    string
		wantErr string
	}{
		{name: "literal", value: Value{Literal: "x"}, want: "x"},
		{name: "empty literal", value: Value{}, want: ""},
		{name: "ref", value: Value{Ref: "Table"}, want: "gc-table"},
		{name: "getatt", value: Value{GetAtt: "Table.Arn"}, want: "arn:table"},
		{name: "sub", value: Value{Sub: "${Table.Arn}/index/*"}, want: "arn:table/index/*"},
		{name: "sub escape", value: Value{Sub: "a${!Literal}b"}, want: "a${Literal}b"},
		{name: "sub vars", value: Value{Sub: "https://${Host}/${Stage}", SubVars: map[string]Value{"Host": {Ref: "Api"}}}, want: "https://abc123/dev"},
		{name: "dynamic reference kept", value: Value{Sub: "{{resolve:secretsmanager:${Stage}-key}}"}, want: "{{resolve:secretsmanager:dev-key}}"},
		{name: "unknown ref", value: Value{Ref: "Nope"}, wantErr: `unresolved reference "Nope"`},
		{name: "unknown sub name", value: Value{Sub: "${AWS::Region}"}, wantErr: `unresolved reference "AWS::Region"`},
		{name: "unterminated", value: Value{Sub: "${Stage"}, wantErr: "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.value.Resolve(lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("Resolve() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValueString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value Value
		want  string
	}{
		{Value{Literal: "x"}, "x"},
		{Value{Ref: "Table"}, "!Ref Table"},
		{Value{GetAtt: "Table.Arn"}, "!GetAtt Table.Arn"},
		{Value{Sub: "a${B}"}, `!Sub "a${B}"`},
	}
	for _, tt := range tests {
		if got := tt.value.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.value, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const table = `
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: PK, KeyType: HASH}]
`
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{name: "not yaml", yaml: "Resources: [", wantErr: "parse template"},
		{name: "no table", yaml: "Resources: {}", wantErr: "no AWS::DynamoDB::Table"},
		{name: "two tables", yaml: "Resources:" + table + strings.ReplaceAll(table, "  Table:", "  Other:"), wantErr: "2 DynamoDB tables"},
		{
			name: "unsupported intrinsic in env",
			yaml: "Resources:" + table + `
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          X: !Join ["", [a, b]]
`,
			wantErr: "Fn::Join",
		},
		{
			name: "route ApiId not a Ref",
			yaml: "Resources:" + table + `
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E:
          Type: HttpApi
          Properties:
            ApiId: some-id
            Method: GET
            Path: /x
`,
			wantErr: "Fn: Events.E: ApiId",
		},
		{
			name: "unknown default authorizer",
			yaml: "Resources:" + table + `
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Missing
`,
			wantErr: `Auth.DefaultAuthorizer "Missing"`,
		},
		{
			name: "non-numeric timeout",
			yaml: "Resources:" + table + `
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: soon
`,
			wantErr: "want an integer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	if _, err := Load(t.TempDir() + "/nope.yaml"); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

// TestParseConcurrently guards the lock around goformation's YAML reader;
// run it with -race.
func TestParseConcurrently(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Parse([]byte(miniTemplate)); err != nil {
				t.Errorf("Parse: %v", err)
			}
		}()
	}
	wg.Wait()
}
