package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// History lists a customer's transactions newest first from GSI2. The
// cursor is the opaque encoding of DynamoDB's LastEvaluatedKey; a cursor
// that does not belong to this customer is EINVALID.
func (s *Store) History(ctx context.Context, shopID, customerID string, pr gc.PageRequest) (gc.TransactionPage, error) {
	pr, err := pr.Normalize()
	if err != nil {
		return gc.TransactionPage{}, err
	}
	if _, err := s.Customer(ctx, shopID, customerID); err != nil {
		return gc.TransactionPage{}, err
	}
	partition := gsiCustomerTxs(shopID, customerID)
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(indexGSI2),
		KeyConditionExpression:    aws.String("GSI2PK = :pk"),
		ExpressionAttributeValues: item{":pk": avS(partition)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(pr.Limit)),
	}
	if pr.Cursor != "" {
		start, err := decodeCursor(pr.Cursor)
		if err != nil || start.s(attrGSI2PK) != partition {
			return gc.TransactionPage{}, gc.Invalid("cursor", "the cursor is not valid for this list")
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return gc.TransactionPage{}, fmt.Errorf("history: %w", err)
	}
	page := gc.TransactionPage{Transactions: make([]gc.Transaction, 0, len(out.Items))}
	for _, it := range out.Items {
		t, err := decodeTx(shopID, it)
		if err != nil {
			return page, err
		}
		page.Transactions = append(page.Transactions, t)
	}
	if len(out.LastEvaluatedKey) > 0 {
		page.NextCursor = encodeCursor(out.LastEvaluatedKey)
	}
	return page, nil
}

// Cursors hold only string key attributes, so a flat map encodes them.
func encodeCursor(k item) string {
	m := map[string]string{}
	for name := range k {
		m[name] = k.s(name)
	}
	b, _ := json.Marshal(m) // a map of strings always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string) (item, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	it := item{}
	for _, name := range []string{attrPK, attrSK, attrGSI1PK, attrGSI1SK, attrGSI2PK, attrGSI2SK} {
		if v, ok := m[name]; ok {
			it[name] = avS(v)
		}
	}
	if len(it) != len(m) {
		return nil, fmt.Errorf("cursor has unexpected attributes")
	}
	return it, nil
}
