// Package eventsenv builds the EventBridge client of the functions that
// publish events (a subpackage, so the others do not link it).
package eventsenv

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
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
