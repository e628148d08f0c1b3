// Package sqsenv builds the SQS client of the functions that use a queue.
// It is apart from awsenv so that only those functions link the SQS client:
// a linked package's initialisers run at every cold start, whether or not
// the function calls it (figure 3 of infra/bench).
package sqsenv

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Client returns an SQS client, on endpoint when it is set (the local stack).
func Client(cfg aws.Config, endpoint string) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
