// Command redemption serves redeeming gift cards onto customers, checking a
// card by its code and disabling cards.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/apigw"
	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/eventsenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	"github.com/giftcredit/giftcredit/internal/mail"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	keyring := awsenv.Must(giftcode.NewKeyring([]byte(os.Getenv("CODE_HASH_SECRET"))))
	logger := awsenv.Logger()
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"),
		dynamo.WithKeyring(keyring), dynamo.WithComposer(mail.NewComposer(os.Getenv("SENDER_ADDRESS"))), dynamo.WithLogger(logger),
		dynamo.WithEvents(eventsenv.Bus(cfg)))
	h := awsenv.Must(apigw.New(apigw.Config{Function: "RedemptionFunction", Ledger: store, Logger: logger}))
	lambda.Start(h.Handle)
}
