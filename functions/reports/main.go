// Command reports serves the admin's reports: the liability report of
// gift cards and credit, as JSON or CSV.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/apigw"
	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"))
	h := awsenv.Must(apigw.New(apigw.Config{Function: "ReportsFunction", Ledger: store, Reports: store, Logger: awsenv.Logger()}))
	lambda.Start(h.Handle)
}
