// Command creditapplications serves the HTTP API routes of spending customers' credit at checkout.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/apigw"
	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/eventsenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"), dynamo.WithEvents(eventsenv.Bus(cfg)))
	h := awsenv.Must(apigw.New(apigw.Config{Function: "CreditApplicationsFunction", Ledger: store, Logger: awsenv.Logger()}))
	lambda.Start(h.Handle)
}
