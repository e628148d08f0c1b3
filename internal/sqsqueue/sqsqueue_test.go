package sqsqueue_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/giftcredit/giftcredit/infra/local/stack"
	"github.com/giftcredit/giftcredit/internal/promotion"
	"github.com/giftcredit/giftcredit/internal/sqsqueue"
)

// TestSendThroughTheStacksSQS: the adapter sends through the real SDK to
// the local stack's SQS API, ten messages a call, each body a message as
// the worker decodes it; an unknown queue is an error.
func TestSendThroughTheStacksSQS(t *testing.T) {
	srv := stack.NewSQSServer("PromotionQueue")
	hs := httptest.NewServer(srv)
	defer hs.Close()
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	q := &sqsqueue.Queue{Client: client, URL: hs.URL + "/000000000000/PromotionQueue"}
	var msgs []promotion.Message
	for i := 1; i <= 23; i++ {
		msgs = append(msgs, promotion.Message{Kind: promotion.KindBatch, ShopID: "shp_x", PromotionID: "pro_x", RunID: "run_x", Seq: i})
	}
	if err := q.Send(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	stored := srv.Queue("PromotionQueue").Messages()
	if len(stored) != len(msgs) {
		t.Fatalf("the queue holds %d messages, want %d", len(stored), len(msgs))
	}
	for i, m := range stored {
		var got promotion.Message
		if err := json.Unmarshal([]byte(m.Body), &got); err != nil || got != msgs[i] {
			t.Errorf("message %d: %s (%v), want %+v", i, m.Body, err, msgs[i])
		}
	}
	bad := &sqsqueue.Queue{Client: client, URL: hs.URL + "/000000000000/NoSuchQueue"}
	if err := bad.Send(context.Background(), msgs[:1]); err == nil {
		t.Fatal("sending to a missing queue succeeded")
	}
}
