// Command authorizer is the HTTP API's Lambda authorizer: it resolves the
// Bearer API key to the shop, key id and role the functions act for.
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
	a := &apigw.Authorizer{Keys: store, Logger: awsenv.Logger()}
	lambda.Start(a.Handle)
}
