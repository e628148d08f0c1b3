// Command webhookdelivery delivers events to the shops' webhooks: the
// events the bus rule puts on the webhook queue, and on a schedule the
// deliveries due for a retry.
package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	"github.com/giftcredit/giftcredit/internal/schedule"
	"github.com/giftcredit/giftcredit/internal/webhook"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	// Webhook secrets are sealed with the key derived from this secret.
	keyring := awsenv.Must(giftcode.NewKeyring([]byte(os.Getenv("CODE_HASH_SECRET"))))
	logger := awsenv.Logger()
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"),
		dynamo.WithKeyring(keyring), dynamo.WithLogger(logger))
	// Only the local stack sets WEBHOOK_ALLOW_LOOPBACK_HTTP (http://127.0.0.1).
	loopback, _ := strconv.ParseBool(os.Getenv("WEBHOOK_ALLOW_LOOPBACK_HTTP"))
	svc := &webhook.Service{Store: store, Client: webhook.NewClient(webhook.Policy{AllowLoopbackHTTP: loopback}),
		Logger: logger, Now: time.Now}
	d := &schedule.WebhookDeliverer{Service: svc, Logger: logger}
	lambda.Start(d.Handle)
}
