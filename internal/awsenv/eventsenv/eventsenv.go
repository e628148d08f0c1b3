// Package eventsenv builds the EventBridge client of the functions that
// publish events (a subpackage, so the others do not link it).
package eventsenv

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/giftcredit/giftcredit/internal/eventbus"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Client returns an EventBridge client, on endpoint when it is set (the
// local stack's bus).
func Client(cfg aws.Config, endpoint string) *eventbridge.Client {
	return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// Bus returns the publisher of the bus EVENT_BUS_NAME names (on
// EVENTS_ENDPOINT when set), or nil when the function has no bus: its
// events then wait for the scheduled publisher.
func Bus(cfg aws.Config) gc.EventPublisher {
	name := os.Getenv("EVENT_BUS_NAME")
	if name == "" {
		return nil
	}
	return &eventbus.Bus{Client: Client(cfg, os.Getenv("EVENTS_ENDPOINT")), Name: name}
}
