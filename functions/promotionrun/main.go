// Command promotionrun runs on a schedule: it starts or continues the run of
// every due promotion, grants the first batches itself and sends the rest
// to the promotion queue (see package promotion).
package main

import (
	"context"
	"os"
	"time"

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
	// Without a queue URL every batch is granted by this function itself.
	if url := os.Getenv("PROMOTION_QUEUE_URL"); url != "" {
		svc.Queue = &sqsqueue.Queue{Client: sqsenv.Client(cfg, os.Getenv("SQS_ENDPOINT")), URL: url}
	}
	h := &schedule.PromotionRun{Service: svc, Logger: logger, Now: time.Now}
	lambda.Start(h.Handle)
}
