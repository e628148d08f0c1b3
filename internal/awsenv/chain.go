//go:build !lambda.norpc

package awsenv

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// defaultConfig is the SDK's default chain: shared config and credentials
// files, SSO, web identity, container and instance roles. Tools run by
// people (shopadmin) need it.
func defaultConfig(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx)
}
