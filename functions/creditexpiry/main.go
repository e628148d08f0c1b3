// Command creditexpiry runs on a schedule: it expires what is left of each
// lot of customer credit at its expiresAt (one expiry transaction per lot,
// breakage credited, its credit.expired published right after) and
// emails customers their reminders before.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/eventsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/sesenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/schedule"
	"github.com/giftcredit/giftcredit/internal/sesmail"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	keyring := awsenv.Must(giftcode.NewKeyring([]byte(os.Getenv("CODE_HASH_SECRET"))))
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"),
		dynamo.WithKeyring(keyring), dynamo.WithComposer(mail.NewComposer(os.Getenv("SENDER_ADDRESS"))),
		dynamo.WithEvents(eventsenv.Bus(cfg)))
	j := &schedule.CreditExpiry{Store: store, Outbox: store, Mailer: sesmail.New(sesenv.Client(cfg, os.Getenv("SES_ENDPOINT"))),
		Logger: awsenv.Logger(), Now: time.Now}
	lambda.Start(j.Handle)
}
