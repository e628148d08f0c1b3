// Package sesenv builds the SES client of the functions that send email.
// It is apart from awsenv so that only those functions link the SES client:
// a linked package's initialisers run at every cold start, whether or not
// the function calls it (figure 3 of infra/bench).
package sesenv

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
)

// Client returns an SES (v1) client, on endpoint when it is set
// (aws-ses-v2-local).
func Client(cfg aws.Config, endpoint string) *ses.Client {
	return ses.NewFromConfig(cfg, func(o *ses.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
