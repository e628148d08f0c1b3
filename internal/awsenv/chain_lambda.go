//go:build lambda.norpc

package awsenv

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// defaultConfig has no default chain to fall back on in a binary built for
// Lambda, where the environment always holds the region and credentials.
func defaultConfig(context.Context) (aws.Config, error) {
	return aws.Config{}, errors.New("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set: " +
		"a binary built for Lambda (tag lambda.norpc) has no default credential chain")
}
