// Command recorder is a Lambda function for the stack's tests. It runs under
// lambda.Start like every real function and POSTs every event it gets to
// $CALLBACK_URL (with its function name in X-Function), then answers by the
// event's kind:
//
//	authorizer      allows the request, with {"who": "recorder"} as its
//	                context, unless it has an x-deny header
//	SQS batch       reports the records whose body contains "fail" as
//	                failed (ReportBatchItemFailures)
//	HTTP API        {"statusCode": 200, "body": {"env": <its environment>,
//	                "authorizer": <requestContext.authorizer>}};
//	                with ?send=a,b,c it first sends those bodies to
//	                $QUEUE_URL through the real SQS client at $SQS_ENDPOINT
//	anything else   its environment as JSON
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func main() { lambda.Start(handle) }

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if err := report(ctx, raw); err != nil {
		return nil, err
	}
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
		RouteKey string            `json:"routeKey"`
		Type     string            `json:"type"`
		Headers  map[string]string `json:"headers"`
	}
	_ = json.Unmarshal(raw, &probe)
	switch {
	case probe.Type == "REQUEST":
		_, deny := probe.Headers["x-deny"]
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: !deny, Context: map[string]any{"who": "recorder"}}, nil
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if strings.Contains(r.Body, "fail") {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	case probe.RouteKey != "":
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		if send := ev.QueryStringParameters["send"]; send != "" {
			if err := sendAll(ctx, strings.Split(send, ",")); err != nil {
				return nil, err
			}
		}
		body, _ := json.Marshal(map[string]any{"env": environ(), "authorizer": ev.RequestContext.Authorizer})
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body)}, nil
	}
	return environ(), nil
}

func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// report POSTs the event to the test.
func report(ctx context.Context, raw json.RawMessage) error {
	url := os.Getenv("CALLBACK_URL")
	if url == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("X-Function", os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("callback: %s", resp.Status)
	}
	return nil
}

func sendAll(ctx context.Context, bodies []string) error {
	client := sqs.New(sqs.Options{
		Region:       os.Getenv("AWS_REGION"),
		BaseEndpoint: aws.String(os.Getenv("SQS_ENDPOINT")),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	var entries []sqstypes.SendMessageBatchRequestEntry
	for i, b := range bodies {
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
	}
	out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(os.Getenv("QUEUE_URL")), Entries: entries})
	if err != nil {
		return err
	}
	if len(out.Failed) > 0 {
		return fmt.Errorf("%d messages refused: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
	}
	return nil
}
