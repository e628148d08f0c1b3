package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute and index names of the one table. template.yaml declares the
// same schema; a test holds the two together.
const (
	attrPK     = "PK"
	attrSK     = "SK"
	attrGSI1PK = "GSI1PK"
	attrGSI1SK = "GSI1SK"
	attrGSI2PK = "GSI2PK"
	attrGSI2SK = "GSI2SK"
	// GSI3 is sparse: only changes whose events are not yet published
	// carry its keys (events.go).
	attrGSI3PK = "GSI3PK"
	attrGSI3SK = "GSI3SK"
	attrTTL    = "expiresAt"

	indexGSI1 = "GSI1"
	indexGSI2 = "GSI2"
	indexGSI3 = "GSI3"
)

// TTLAttribute is the attribute DynamoDB's TTL deletes expired items by.
const TTLAttribute = attrTTL

// TableInput returns the CreateTable input for the giftcredit table.
func TableInput(name string) *dynamodb.CreateTableInput {
	sAttr := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(h, r string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(h), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(r), KeyType: types.KeyTypeRange},
		}
	}
	gsi := func(name, h, r string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName:  aws.String(name),
			KeySchema:  keys(h, r),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
	}
	// GSI3 only finds the changes to publish, which are then read by key.
	keysOnly := gsi(indexGSI3, attrGSI3PK, attrGSI3SK)
	keysOnly.Projection = &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			sAttr(attrPK), sAttr(attrSK), sAttr(attrGSI1PK), sAttr(attrGSI1SK), sAttr(attrGSI2PK), sAttr(attrGSI2SK),
			sAttr(attrGSI3PK), sAttr(attrGSI3SK),
		},
		KeySchema:   keys(attrPK, attrSK),
		BillingMode: types.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			gsi(indexGSI1, attrGSI1PK, attrGSI1SK),
			gsi(indexGSI2, attrGSI2PK, attrGSI2SK),
			keysOnly,
		},
	}
}

// CreateTable creates the table. It does not wait for the table to become
// active (DynamoDB-compatible test servers never report it so); on AWS the
// table comes from template.yaml instead.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string) error {
	if _, err := client.CreateTable(ctx, TableInput(name)); err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	return nil
}

// EnsureTable creates the table unless DescribeTable finds it.
func EnsureTable(ctx context.Context, client *dynamodb.Client, name string) (created bool, err error) {
	_, err = client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err == nil {
		return false, nil
	}
	var nf *types.ResourceNotFoundException
	if !asErr(err, &nf) {
		return false, fmt.Errorf("describe table %s: %w", name, err)
	}
	return true, CreateTable(ctx, client, name)
}
