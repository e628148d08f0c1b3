// Command holdrelease runs on a schedule and releases every shop's expired
// holds back to the customer's credit or the card they came from.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/eventsenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/schedule"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"), dynamo.WithEvents(eventsenv.Bus(cfg)))
	j := &schedule.HoldRelease{Store: store, Logger: awsenv.Logger(), Now: time.Now}
	lambda.Start(j.Handle)
}
