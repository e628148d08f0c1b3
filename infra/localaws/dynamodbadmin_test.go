package localaws

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// minidynWithTable starts minidyn with one PK/SK table holding one item.
func minidynWithTable(t *testing.T, table string) *Dynamo {
	t.Helper()
	d, err := StartDynamo("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	c := NewDynamoClient(d.URL(), nil)
	ctx := context.Background()
	if _, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("PK"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("SK"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("PK"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("SK"), KeyType: types.KeyTypeRange},
		},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "SHOP#shp_1"}, "SK": &types.AttributeValueMemberS{Value: "SHOP"},
	}}); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDynamoShim: through the shim, the SDK lists the table and describes
// it with its attribute definitions and a status, which minidyn alone
// does not; everything else passes through.
func TestDynamoShim(t *testing.T) {
	t.Parallel()
	d := minidynWithTable(t, "things")
	if _, err := NewDynamoClient(d.URL(), nil).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err == nil {
		t.Log("minidyn answers ListTables now; the shim passes it through")
	}
	shim, err := startDynamoShim(d.URL(), "things", map[string]string{"PK": "S", "SK": "S"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(shim.close)
	c := NewDynamoClient(shim.url, nil)
	ctx := context.Background()
	lt, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil || !slices.Equal(lt.TableNames, []string{"things"}) {
		t.Fatalf("ListTables: %v, %v", lt, err)
	}
	dt, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("things")})
	if err != nil {
		t.Fatal(err)
	}
	if len(dt.Table.AttributeDefinitions) != 2 || dt.Table.TableStatus != types.TableStatusActive {
		t.Errorf("DescribeTable: attributes %v, status %q", dt.Table.AttributeDefinitions, dt.Table.TableStatus)
	}
	sc, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("things")})
	if err != nil || sc.Count != 1 {
		t.Errorf("Scan through the shim: %v items, %v", sc, err)
	}
}

// TestDynamoDBAdmin starts the real dynamodb-admin against minidyn: the
// table's page lists its item.
func TestDynamoDBAdmin(t *testing.T) {
	t.Parallel()
	d := minidynWithTable(t, "things")
	a, err := StartDynamoDBAdmin(context.Background(), 0, d.URL(), "things", map[string]string{"PK": "S", "SK": "S"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	for _, u := range []string{a.URL() + "/", a.TableURL("things"), a.TableURL("things") + "/items", a.TableURL("things") + "/meta", a.TableURL("things") + "/ttl"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "things") || (strings.HasSuffix(u, "/items") && !strings.Contains(string(b), "SHOP#shp_1")) {
			t.Errorf("GET %s: %d %.300s", u, resp.StatusCode, b)
		}
	}
	if !strings.HasPrefix(a.TableURL("things"), "http://127.0.0.1:") {
		t.Errorf("not on loopback: %s", a.TableURL("things"))
	}
}
