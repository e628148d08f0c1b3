// Command orders serves placing orders (which issues gift cards and emails
// their codes through SES) and reading orders back with codes masked.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/apigw"
	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/eventsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/sesenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/sesmail"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	keyring := awsenv.Must(giftcode.NewKeyring([]byte(os.Getenv("CODE_HASH_SECRET"))))
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"),
		dynamo.WithKeyring(keyring), dynamo.WithComposer(mail.NewComposer(os.Getenv("SENDER_ADDRESS"))), dynamo.WithEvents(eventsenv.Bus(cfg)))
	mailer := sesmail.New(sesenv.Client(cfg, os.Getenv("SES_ENDPOINT")))
	h := awsenv.Must(apigw.New(apigw.Config{Function: "OrdersFunction", Ledger: store, Mailer: mailer, Outbox: store, Logger: awsenv.Logger()}))
	lambda.Start(h.Handle)
}
