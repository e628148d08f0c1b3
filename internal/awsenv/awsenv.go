// Package awsenv builds AWS SDK clients for a Lambda function from its
// environment, without config.LoadDefaultConfig: on Lambda the region and
// credentials are in environment variables, and skipping the shared-config
// file reading and the credential chain cuts cold start. Outside Lambda
// (no credentials in the environment) it falls back to the default chain.
//
// Binaries built for Lambda (with the lambda.norpc tag, as `make build`
// does) leave the default chain out altogether: Lambda always sets the
// credentials, and merely linking the SDK's config package adds its STS,
// SSO, SSO OIDC, sign-in and IMDS clients, about 2.4 MB of an arm64
// binary and their package initialisers to every cold start (see
// infra/bench, figure 3). Such a binary fails at init without them.
//
// Clients of the services only some functions call are built by their own
// subpackages (sesenv, sqsenv), so that the others do not link them.
package awsenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Config returns the SDK config for this process.
func Config(ctx context.Context) (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region != "" && id != "" && secret != "" {
		return aws.Config{
			Region:      region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))),
		}, nil
	}
	cfg, err := defaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}

// DynamoDB returns a client, on endpoint when it is set (minidyn, DynamoDB Local).
func DynamoDB(cfg aws.Config, endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// Logger returns the JSON logger every function writes to stdout, where
// Lambda's JSON log format picks it up.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Must ends the process at init when wiring failed: Lambda reports an init
// error and retries with a fresh process.
func Must[T any](v T, err error) T {
	if err != nil {
		Logger().Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	return v
}
