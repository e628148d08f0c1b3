package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// item is one DynamoDB item. Items are built and read by hand (no
// reflection-based marshalling) so that every attribute name and type is
// visible here, in the only package that knows them.
type item map[string]types.AttributeValue

func avS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func avN(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func avB(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }
func avL(v []types.AttributeValue) types.AttributeValue {
	return &types.AttributeValueMemberL{Value: v}
}
func avM(v item) types.AttributeValue { return &types.AttributeValueMemberM{Value: v} }

// setS sets a string attribute unless v is empty (DynamoDB keys may not be
// empty and empty optional strings carry no information).
func (it item) setS(k, v string) {
	if v != "" {
		it[k] = avS(v)
	}
}

func (it item) s(k string) string {
	if v, ok := it[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func (it item) n(k string) (int64, error) {
	v, ok := it[k].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s: not a number", k)
	}
	i, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", k, err)
	}
	return i, nil
}

// nOr returns a number attribute, or def when it is absent.
func (it item) nOr(k string, def int64) (int64, error) {
	if _, ok := it[k]; !ok {
		return def, nil
	}
	return it.n(k)
}

func (it item) b(k string) []byte {
	if v, ok := it[k].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

func (it item) l(k string) []types.AttributeValue {
	if v, ok := it[k].(*types.AttributeValueMemberL); ok {
		return v.Value
	}
	return nil
}

func (it item) t(k string) (time.Time, error) {
	s := it.s(k)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("attribute %s: %w", k, err)
	}
	return t, nil
}

// timeLayout is fixed-width so that times sort as strings in sort keys.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func asItem(v types.AttributeValue) item {
	if m, ok := v.(*types.AttributeValueMemberM); ok {
		return m.Value
	}
	return nil
}

// key is a primary key.
type key struct{ pk, sk string }

func (k key) av() item { return item{attrPK: avS(k.pk), attrSK: avS(k.sk)} }

// Key builders. Every key of a shop's record starts with SHOP#<shop>#, so a
// record of another shop can never be addressed by a caller's ids.
func shopPrefix(shopID string) string { return "SHOP#" + shopID + "#" }

func keyShop(shopID string) key { return key{"SHOP#" + shopID, "SHOP"} }
func keyAPIKey(hash string) key { return key{"KEY#" + hash, "KEY"} }
func keyCustomer(shopID, id string) key {
	return key{shopPrefix(shopID) + "CUST#" + id, "CUSTOMER"}
}
func keyEmail(shopID, email string) key {
	return key{shopPrefix(shopID) + "EMAIL#" + email, "EMAIL"}
}
func keyCard(shopID, id string) key { return key{shopPrefix(shopID) + "CARD#" + id, "CARD"} }
func keyOrder(shopID, id string) key {
	return key{shopPrefix(shopID) + "ORDER#" + id, "ORDER"}
}
func keyTx(shopID, id string) key { return key{shopPrefix(shopID) + "TX#" + id, "TX"} }
func keyReversed(shopID, txID string) key {
	return key{shopPrefix(shopID) + "TX#" + txID, "REVERSED"}
}
func keyApply(shopID, orderRef string) key {
	return key{shopPrefix(shopID) + "APPLY#" + orderRef, "APPLY"}
}
func keyIdem(shopID, idemKey string) key {
	return key{shopPrefix(shopID) + "IDEM#" + idemKey, "IDEM"}
}
func keyMail(shopID, id string) key { return key{shopPrefix(shopID) + "MAIL#" + id, "MAIL"} }
func keyLimit(shopID, scope string) key {
	return key{shopPrefix(shopID) + "LIMIT#" + scope, "LIMIT"}
}

// GSI1 partitions. A shop's keys and promotions, and the list of shops,
// are written rarely and have one partition each. Every list that grows
// with the shop's traffic is sharded (shards.go): transactions and orders
// by day and shard, customers, cards and mail by shard, the shard drawn
// from the item's id.
func gsiShops() string             { return "SHOPS" }
func gsiKeys(shopID string) string { return shopPrefix(shopID) + "KEYS" }
func gsiCustomers(shopID, id string) string {
	return shopPrefix(shopID) + "CUSTOMERS#" + shardOf(id, CustomerShards)
}
func gsiCards(shopID, id string) string {
	return shopPrefix(shopID) + "CARDS#" + shardOf(id, ListShards)
}
func gsiOrders(shopID string, at time.Time, id string) string {
	return shopPrefix(shopID) + "ORDERS#" + dayOf(at) + "#" + shardOf(id, ListShards)
}
func gsiTxs(shopID string, at time.Time, id string) string {
	return shopPrefix(shopID) + "TXS#" + dayOf(at) + "#" + shardOf(id, ListShards)
}
func gsiPendingMail(shopID, id string) string {
	return shopPrefix(shopID) + "MAIL#PENDING#" + shardOf(id, MailShards)
}
func gsiSentMail(shopID, id string) string {
	return shopPrefix(shopID) + "MAIL#SENT#" + shardOf(id, MailShards)
}

// Every partition of a sharded list (of the days from..until when by day).
func gsiAllCustomers(shopID string) []string {
	return shardKeys(shopPrefix(shopID)+"CUSTOMERS", CustomerShards)
}
func gsiAllCards(shopID string) []string { return shardKeys(shopPrefix(shopID)+"CARDS", ListShards) }
func gsiAllPendingMail(shopID string) []string {
	return shardKeys(shopPrefix(shopID)+"MAIL#PENDING", MailShards)
}
func gsiDaily(shopID, list string, from, until time.Time) []string {
	var out []string
	for _, d := range days(from, until) {
		out = append(out, shardKeys(shopPrefix(shopID)+list+"#"+d, ListShards)...)
	}
	return out
}

// GSI2 partition: a customer's transactions.
func gsiCustomerTxs(shopID, customerID string) string {
	return shopPrefix(shopID) + "CUST#" + customerID
}
