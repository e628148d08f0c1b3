// Command promotionworker consumes the promotion queue: it grants the
// queued batches of promotion runs and continues long scans, reporting
// failed records one by one.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/eventsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/sqsenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/promotion"
	"github.com/giftcredit/giftcredit/internal/schedule"
	"github.com/giftcredit/giftcredit/internal/sqsqueue"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	keyring := awsenv.Must(giftcode.NewKeyring([]byte(os.Getenv("CODE_HASH_SECRET"))))
	composer := mail.NewComposer(os.Getenv("SENDER_ADDRESS"))
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"),
		dynamo.WithKeyring(keyring), dynamo.WithComposer(composer), dynamo.WithEvents(eventsenv.Bus(cfg)))
	logger := awsenv.Logger()
	svc := &promotion.Service{Store: store, Logger: logger, Composer: composer}
	// A worker continuing a long scan queues the batches it does not grant.
	if url := os.Getenv("PROMOTION_QUEUE_URL"); url != "" {
		svc.Queue = &sqsqueue.Queue{Client: sqsenv.Client(cfg, os.Getenv("SQS_ENDPOINT")), URL: url}
	}
	w := &schedule.PromotionWorker{Service: svc, Logger: logger}
	lambda.Start(w.Handle)
}
