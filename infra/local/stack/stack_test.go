package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
	"github.com/giftcredit/giftcredit/infra/local/stack"
	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/infra/samtemplate"
)

// testTemplate is a small template with every kind of thing the stack
// reads: parameters (one without a default), Globals, a table with a GSI
// and TTL, an HTTP API with a Lambda authorizer, a schedule, a cron the
// local scheduler cannot evaluate, and a queue with a dead-letter queue
// consumed by a function that reports batch item failures. Every function
// is the recorder.
const testTemplate = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  Sender:
    Type: String
  SecretName:
    Type: String
    Default: test/secret
Globals:
  Function:
    Runtime: provided.al2023
    Timeout: 5
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        DYNAMODB_ENDPOINT: ""
        STAGE: !Ref Stage
        CALLBACK_URL: ""
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: PK, AttributeType: S}
        - {AttributeName: SK, AttributeType: S}
        - {AttributeName: G1, AttributeType: S}
      KeySchema:
        - {AttributeName: PK, KeyType: HASH}
        - {AttributeName: SK, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: ByG1
          KeySchema:
            - {AttributeName: G1, KeyType: HASH}
          Projection: {ProjectionType: ALL}
      TimeToLiveSpecification:
        AttributeName: expiresAt
        Enabled: true
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDLQ.Arn
        maxReceiveCount: 2
  WorkDLQ:
    Type: AWS::SQS::Queue
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "things-${Sender}"
  ToWork:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern:
        source: [things]
      Targets:
        - Id: work
          Arn: !GetAtt WorkQueue.Arn
  Ignored:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern:
        source: [others]
      Targets:
        - Id: dead
          Arn: !GetAtt WorkDLQ.Arn
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Keys
        Authorizers:
          Keys:
            FunctionArn: !GetAtt AuthFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              ReauthorizeEvery: 0
  AuthFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      CodeUri: ./
      Handler: bootstrap
  ApiFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      CodeUri: ./
      Handler: bootstrap
      Environment:
        Variables:
          QUEUE_URL: !Ref WorkQueue
          QUEUE_ARN: !GetAtt WorkQueue.Arn
          SQS_ENDPOINT: ""
          SECRET: !Sub "{{resolve:secretsmanager:${SecretName}:SecretString}}"
          SENDER: !Ref Sender
          TABLE_ARN: !Sub "${Table.Arn}/index/*"
      Events:
        Get:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: GET
            Path: /things/{id}
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(1 minute)
        LastDay:
          Type: Schedule
          Properties:
            Schedule: cron(0 0 L * ? *)
  WorkerFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      CodeUri: ./
      Handler: bootstrap
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt WorkQueue.Arn
            BatchSize: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
`

// recorderBin is testdata/recorder, built once by TestMain.
var recorderBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "recorder-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	recorderBin = filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", recorderBin, "./testdata/recorder")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build recorder: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// recorded is one event a function reported to the test.
type recorded struct {
	function string
	event    json.RawMessage
}

// recorder collects the events the recorder function POSTs.
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	events []recorded
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.events = append(rec.events, recorded{r.Header.Get("X-Function"), b})
		rec.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rec.Close)
	return rec
}

// of returns the events a function got so far.
func (rec *recorder) of(function string) []json.RawMessage {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []json.RawMessage
	for _, e := range rec.events {
		if e.function == function {
			out = append(out, e.event)
		}
	}
	return out
}

// mustStart starts the test template's stack and closes it when t ends.
func mustStart(t *testing.T, rec *recorder) (*stack.Stack, *runtime.Capture) {
	t.Helper()
	tpl, err := samtemplate.Parse([]byte(testTemplate))
	if err != nil {
		t.Fatal(err)
	}
	logs := runtime.NewCapture(nil)
	st, err := stack.Start(context.Background(), stack.Config{
		Template:  tpl,
		Binaries:  map[string]string{"AuthFunction": recorderBin, "ApiFunction": recorderBin, "WorkerFunction": recorderBin},
		TableName: "things",
		Parameters: map[string]string{
			"Sender": "sender@example.test",
		},
		Secrets: map[string]string{"test/secret": "local-secret-0123456789"},
		EnvVars: stack.EnvVars{
			"Parameters":  {"CALLBACK_URL": rec.URL, "NOT_DECLARED": "x"},
			"ApiFunction": {"STAGE": "from-env-json", "DYNAMODB_ENDPOINT": "http://elsewhere.test"},
		},
		MaxProcesses:   2,
		FunctionOutput: logs,
		Log:            logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("stack and function output:\n%s", logs.String())
		}
	})
	return st, logs
}

func TestStackRunsTheTemplate(t *testing.T) {
	rec := newRecorder(t)
	st, _ := mustStart(t, rec)
	info := st.Info()

	t.Run("environment resolved from the template, env.json and the stack", func(t *testing.T) {
		resp := mustGet(t, info.APIURL+"/things/42", nil)
		var got struct {
			Env        map[string]string `json:"env"`
			Authorizer struct {
				Lambda map[string]any `json:"lambda"`
			} `json:"authorizer"`
		}
		mustDecode(t, resp, &got)
		want := map[string]string{
			"TABLE_NAME":        "things",
			"DYNAMODB_ENDPOINT": info.DynamoDBEndpoint,
			"STAGE":             "from-env-json",
			"CALLBACK_URL":      rec.URL,
			"QUEUE_URL":         st.Queue("WorkQueue").URL,
			"QUEUE_ARN":         "arn:aws:sqs:us-east-1:000000000000:WorkQueue",
			"SQS_ENDPOINT":      st.ControlURL(),
			"SECRET":            "local-secret-0123456789",
			"SENDER":            "sender@example.test",
			"TABLE_ARN":         "arn:aws:dynamodb:us-east-1:000000000000:table/things/index/*",
		}
		for k, v := range want {
			if got.Env[k] != v {
				t.Errorf("%s = %q, want %q", k, got.Env[k], v)
			}
		}
		if _, ok := got.Env["NOT_DECLARED"]; ok {
			t.Error("NOT_DECLARED from env.json reached the function; SAM sets only declared variables")
		}
		if got.Authorizer.Lambda["who"] != "recorder" {
			t.Errorf("authorizer context = %v, want who=recorder", got.Authorizer.Lambda)
		}
		notes := strings.Join(st.Notes(), "\n")
		for _, want := range []string{"NOT_DECLARED from env.json ignored", "ApiFunction: DYNAMODB_ENDPOINT from env.json ignored", "ApiFunctionLastDay fires only through its URL"} {
			if !strings.Contains(notes, want) {
				t.Errorf("notes lack %q:\n%s", want, notes)
			}
		}
	})

	t.Run("authorizer denial is API Gateway's 403", func(t *testing.T) {
		resp := mustGet(t, info.APIURL+"/things/42", map[string]string{"X-Deny": "1"})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
		resp.Body.Close()
	})

	t.Run("table created as declared", func(t *testing.T) {
		out, err := localaws.NewDynamoClient(info.DynamoDBEndpoint, nil).DescribeTable(context.Background(),
			&dynamodb.DescribeTableInput{TableName: aws.String("things")})
		if err != nil {
			t.Fatal(err)
		}
		var keys, gsis []string
		for _, k := range out.Table.KeySchema {
			keys = append(keys, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		for _, g := range out.Table.GlobalSecondaryIndexes {
			gsis = append(gsis, aws.ToString(g.IndexName))
		}
		if got, want := strings.Join(keys, ","), "PK:HASH,SK:RANGE"; got != want {
			t.Errorf("key schema %s, want %s", got, want)
		}
		if !slices.Equal(gsis, []string{"ByG1"}) {
			t.Errorf("GSIs %v, want [ByG1]", gsis)
		}
	})

	t.Run("schedule fired now", func(t *testing.T) {
		url, ok := info.Schedules["ApiFunctionTick"]
		if !ok {
			t.Fatalf("no ApiFunctionTick in %v", info.Schedules)
		}
		before := len(rec.of("ApiFunction"))
		resp, err := http.Post(url, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]string
		mustDecode(t, resp, &env)
		if env["STAGE"] != "from-env-json" {
			t.Errorf("answer is not the function's: %v", env)
		}
		evs := rec.of("ApiFunction")
		if len(evs) != before+1 {
			t.Fatalf("the function got %d events, want %d", len(evs), before+1)
		}
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(evs[len(evs)-1], &ev); err != nil {
			t.Fatal(err)
		}
		if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" ||
			!slices.Equal(ev.Resources, []string{"arn:aws:events:us-east-1:000000000000:rule/ApiFunctionTick"}) {
			t.Errorf("event %s", evs[len(evs)-1])
		}

		resp, err = http.Post(st.ControlURL()+"/schedules/NoSuchRule", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("unknown schedule: status %d, want 404", resp.StatusCode)
		}
	})

	t.Run("queue: sent through the SQS API, delivered in batches, failures redriven", func(t *testing.T) {
		resp := mustGet(t, info.APIURL+"/things/1?send=ok-1,fail-1,ok-2", nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("send: status %d", resp.StatusCode)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := st.Queue("WorkQueue").WaitEmpty(ctx); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, raw := range rec.of("WorkerFunction") {
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if len(ev.Records) > 2 {
				t.Errorf("batch of %d, BatchSize is 2", len(ev.Records))
			}
			for _, r := range ev.Records {
				got[r.Body]++
				if r.EventSourceARN != st.Queue("WorkQueue").ARN || r.EventSource != "aws:sqs" {
					t.Errorf("record source %s %s", r.EventSource, r.EventSourceARN)
				}
			}
		}
		// fail-1 is received twice (maxReceiveCount 2), then redriven.
		if want := map[string]int{"ok-1": 1, "ok-2": 1, "fail-1": 2}; !maps.Equal(got, want) {
			t.Errorf("deliveries %v, want %v", got, want)
		}
		dead := st.Queue("WorkDLQ").Messages()
		if len(dead) != 1 || dead[0].Body != "fail-1" {
			t.Errorf("dead letters %+v, want fail-1", dead)
		}
	})

	t.Run("SQS API through the SDK", func(t *testing.T) {
		ctx := context.Background()
		client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(st.ControlURL()),
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
		u, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("WorkDLQ")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(u.QueueUrl) != st.Queue("WorkDLQ").URL {
			t.Errorf("queue URL %s", aws.ToString(u.QueueUrl))
		}
		// The SDK checks MD5OfMessageBody; a wrong one fails the call.
		_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String("héllo"),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("test")}}})
		if err != nil {
			t.Fatal(err)
		}
		attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
		if err != nil {
			t.Fatal(err)
		}
		if n := attrs.Attributes["ApproximateNumberOfMessages"]; n != "2" {
			t.Errorf("ApproximateNumberOfMessages %s, want 2", n)
		}
		_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(st.ControlURL() + "/000000000000/Nope"), MessageBody: aws.String("x")})
		var qne *sqstypes.QueueDoesNotExist
		if !errors.As(err, &qne) {
			t.Errorf("send to a missing queue: %v, want QueueDoesNotExist", err)
		}
		_, err = client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: u.QueueUrl})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnsupportedOperation" {
			t.Errorf("ReceiveMessage: %v, want UnsupportedOperation", err)
		}
	})

	t.Run("event bus: PutEvents recorded, listed, and sent on as the rules say", func(t *testing.T) {
		ctx := context.Background()
		if info.EventsURL != st.ControlURL()+"/events" {
			t.Fatalf("eventsUrl %q", info.EventsURL)
		}
		client := localaws.NewEventsClient(st.ControlURL())
		out, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
			{EventBusName: aws.String("things-sender@example.test"), Source: aws.String("things"), DetailType: aws.String("thing.made"), Detail: aws.String(`{"n":1}`)},
			{Source: aws.String("others"), DetailType: aws.String("other"), Detail: aws.String(`{"n":2}`)},
			{Source: aws.String("things"), DetailType: aws.String("thing.made"), Detail: aws.String(`not json`)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if out.FailedEntryCount != 1 || out.Entries[2].ErrorCode == nil || out.Entries[0].EventId == nil {
			t.Errorf("PutEvents = %d failed, %+v", out.FailedEntryCount, out.Entries)
		}
		resp := mustGet(t, info.EventsURL, nil)
		var listed struct{ Events []localaws.BusEvent }
		if err := json.NewDecoder(resp.Body).Decode(&listed); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if len(listed.Events) != 2 || string(listed.Events[0].Detail) != `{"n":1}` || listed.Events[1].Source != "others" {
			t.Errorf("listed %+v", listed.Events)
		}
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := st.Queue("WorkQueue").WaitEmpty(wctx); err != nil {
			t.Fatal(err)
		}
		var got []localaws.BusEvent
		for _, raw := range rec.of("WorkerFunction") {
			var ev events.SQSEvent
			_ = json.Unmarshal(raw, &ev)
			for _, r := range ev.Records {
				var be localaws.BusEvent
				if json.Unmarshal([]byte(r.Body), &be) == nil && be.Source != "" {
					got = append(got, be)
				}
			}
		}
		if len(got) != 1 || got[0].DetailType != "thing.made" || string(got[0].Detail) != `{"n":1}` || got[0].ID != aws.ToString(out.Entries[0].EventId) {
			t.Errorf("the worker got %+v, want the one event its rule matches", got)
		}
		others := 0
		for _, m := range st.Queue("WorkDLQ").Messages() {
			if strings.Contains(m.Body, `"source":"others"`) {
				others++
			}
		}
		if others != 1 {
			t.Errorf("the other rule's queue got %d of its events, want 1", others)
		}
	})
}

func TestCloseFreesEveryPort(t *testing.T) {
	rec := newRecorder(t)
	st, _ := mustStart(t, rec)
	resp := mustGet(t, st.Info().APIURL+"/things/1", nil) // starts processes
	resp.Body.Close()
	info := st.Info()
	var pids []int
	for _, fn := range []string{"AuthFunction", "ApiFunction"} {
		pids = append(pids, st.Pool(fn).Stats().PIDs...)
	}
	if len(pids) == 0 {
		t.Fatal("no function process started")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{info.APIURL, st.ControlURL(), info.DynamoDBEndpoint} {
		pu, _ := url.Parse(u)
		ln, err := net.Listen("tcp", pu.Host)
		if err != nil {
			t.Errorf("%s still taken after Close: %v", pu.Host, err)
			continue
		}
		ln.Close()
	}
	for _, fn := range []string{"AuthFunction", "ApiFunction"} {
		if s := st.Pool(fn).Stats(); s.Alive != 0 {
			t.Errorf("%s: %d processes alive after Close", fn, s.Alive)
		}
	}
}

func TestStartFailsCleanly(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(testTemplate))
	if err != nil {
		t.Fatal(err)
	}
	ports := []int{freePort(t), freePort(t), freePort(t)}
	// Sender has no default and is not given: resolving ApiFunction's
	// environment fails, after DynamoDB and the listeners started.
	_, err = stack.Start(context.Background(), stack.Config{Template: tpl, TableName: "things",
		APIPort: ports[0], ControlPort: ports[1], DynamoDBPort: ports[2],
		Binaries: map[string]string{"ApiFunction": recorderBin}})
	if err == nil || !strings.Contains(err.Error(), `"Sender"`) {
		t.Fatalf("err = %v, want one naming the parameter Sender", err)
	}
	for _, p := range ports {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Errorf("port %d still taken after a failed Start: %v", p, err)
			continue
		}
		ln.Close()
	}
}

func mustGet(t *testing.T, url string, headers map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func mustDecode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
