// Command hellosdk is figure 3's second cold-start baseline: the hello
// function that also builds a DynamoDB and an SES client at init from
// config.LoadDefaultConfig, as the AWS SDK's documentation shows.
package main

import (
	"context"
	"encoding/json"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ses"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	db, mail := dynamodb.NewFromConfig(cfg), ses.NewFromConfig(cfg)
	lambda.Start(func(context.Context, json.RawMessage) (string, error) {
		_, _ = db, mail
		return "hello", nil
	})
}
