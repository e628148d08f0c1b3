// Command dailyclose runs on a schedule and closes every shop's ended
// days: it folds each day's transactions into the per-day totals the
// liability report reads.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/schedule"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"))
	j := &schedule.DailyClose{Store: store, Logger: awsenv.Logger(), Now: time.Now}
	lambda.Start(j.Handle)
}
