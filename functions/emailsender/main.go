// Command emailsender runs on a schedule and re-sends the outbox's pending
// emails through SES until they are sent.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/sesenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	"github.com/giftcredit/giftcredit/internal/schedule"
	"github.com/giftcredit/giftcredit/internal/sesmail"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	keyring := awsenv.Must(giftcode.NewKeyring([]byte(os.Getenv("CODE_HASH_SECRET"))))
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"), dynamo.WithKeyring(keyring))
	s := &schedule.EmailSender{Queue: store, Mailer: sesmail.New(sesenv.Client(cfg, os.Getenv("SES_ENDPOINT"))), Logger: awsenv.Logger(), Now: time.Now}
	lambda.Start(s.Handle)
}
