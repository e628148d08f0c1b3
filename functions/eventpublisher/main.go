// Command eventpublisher runs on a schedule and publishes to the event
// bus the events of changes still marked unpublished, then clears their
// markers.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/awsenv/eventsenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/eventbus"
	"github.com/giftcredit/giftcredit/internal/schedule"
)

func main() {
	cfg := awsenv.Must(awsenv.Config(context.Background()))
	logger := awsenv.Logger()
	store := dynamo.New(awsenv.DynamoDB(cfg, os.Getenv("DYNAMODB_ENDPOINT")), os.Getenv("TABLE_NAME"), dynamo.WithLogger(logger))
	bus := &eventbus.Bus{Client: eventsenv.Client(cfg, os.Getenv("EVENTS_ENDPOINT")), Name: os.Getenv("EVENT_BUS_NAME")}
	p := &schedule.EventPublisher{Outbox: store, Bus: bus, Logger: logger, Now: time.Now}
	lambda.Start(p.Handle)
}
