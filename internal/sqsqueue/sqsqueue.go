// Package sqsqueue is the Amazon SQS adapter: it implements promotion.Queue
// with SendMessageBatch. It is apart from package schedule, which the audit
// and email-sender functions link too, so that only the two promotion
// functions link the SQS client; and it is named sqsqueue so that it does
// not clash with the SDK's sqs package.
package sqsqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/giftcredit/giftcredit/internal/promotion"
)

// API is the part of the SQS client the queue uses.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Queue is the promotion queue on SQS.
type Queue struct {
	Client API
	URL    string
}

var _ promotion.Queue = (*Queue)(nil)

// Send sends messages ten at a time (SendMessageBatch's limit). An entry
// SQS refuses fails the call; what was sent stays sent, which is harmless
// because the caller sends it again and messages are idempotent.
func (q *Queue) Send(ctx context.Context, msgs []promotion.Message) error {
	for start := 0; start < len(msgs); start += 10 {
		chunk := msgs[start:min(start+10, len(msgs))]
		entries := make([]sqstypes.SendMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			b, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("encode promotion message: %w", err)
			}
			entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(b))}
		}
		out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			return fmt.Errorf("send promotion messages: %w", err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("send promotion messages: %d refused, e.g. %s: %s", len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return nil
}
