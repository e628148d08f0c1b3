package stack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/giftcredit/giftcredit/infra/samtemplate"
)

// CreateTableInput returns the CreateTable request for the template's
// table: its attributes, key schema, GSIs and billing mode. Provisioned
// throughput, TTL, point-in-time recovery and deletion protection are not
// part of it (the last three are not CreateTable parameters, and local
// servers ignore throughput).
func CreateTableInput(t samtemplate.Table, name string) (*dynamodb.CreateTableInput, error) {
	if t.HashKey == "" {
		return nil, errors.New("table: no hash key")
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), KeySchema: keySchema(t.HashKey, t.RangeKey)}
	for _, attr := range slices.Sorted(maps.Keys(t.Attributes)) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(attr), AttributeType: types.ScalarAttributeType(t.Attributes[attr])})
	}
	switch t.BillingMode {
	case "", "PROVISIONED":
		// Local servers ignore capacity, but CreateTable needs some.
		in.BillingMode = types.BillingModeProvisioned
		in.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)}
	default:
		in.BillingMode = types.BillingMode(t.BillingMode)
	}
	for _, g := range t.GSIs {
		gsi := types.GlobalSecondaryIndex{
			IndexName:  aws.String(g.Name),
			KeySchema:  keySchema(g.HashKey, g.RangeKey),
			Projection: &types.Projection{ProjectionType: types.ProjectionType(g.Projection)},
		}
		if in.ProvisionedThroughput != nil {
			gsi.ProvisionedThroughput = in.ProvisionedThroughput
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	return in, nil
}

func keySchema(hash, rng string) []types.KeySchemaElement {
	ks := []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}
	if rng != "" {
		ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
	}
	return ks
}

// describeTable says what was created, for the start-up output:
// "PK/SK, GSI1 (GSI1PK/GSI1SK), GSI2 (GSI2PK/GSI2SK)".
func describeTable(t samtemplate.Table) string {
	key := func(h, r string) string {
		if r == "" {
			return h
		}
		return h + "/" + r
	}
	parts := []string{key(t.HashKey, t.RangeKey)}
	for _, g := range t.GSIs {
		parts = append(parts, fmt.Sprintf("%s (%s)", g.Name, key(g.HashKey, g.RangeKey)))
	}
	return strings.Join(parts, ", ")
}

// ensureTable creates the table unless it exists. It does not wait for it
// to become ACTIVE: minidyn never reports a status, and DynamoDB Local's
// tables are usable at once.
func ensureTable(ctx context.Context, client *dynamodb.Client, in *dynamodb.CreateTableInput) (created bool, err error) {
	_, err = client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	if err == nil {
		return false, nil
	}
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		return false, fmt.Errorf("describe table %s: %w", aws.ToString(in.TableName), err)
	}
	if _, err := client.CreateTable(ctx, in); err != nil {
		return false, fmt.Errorf("create table %s: %w", aws.ToString(in.TableName), err)
	}
	return true, nil
}

// enableTTL turns on TTL for attr. It returns an error when the server
// cannot (minidyn has no TTL at all).
func enableTTL(ctx context.Context, client *dynamodb.Client, table, attr string) error {
	_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(true)},
	})
	return err
}
