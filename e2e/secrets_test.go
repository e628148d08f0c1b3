package e2e_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/giftcredit/giftcredit/infra/localaws"
)

// testSecrets checks, after every other scenario ran, that no gift-card
// code and no API key issued during the run appears in any function's
// output, and that no code appears in the table in any spelling.
func testSecrets(t *testing.T, h *harness) {
	codes := h.issuedCodes()
	if len(codes) < 3 {
		t.Fatalf("only %d codes were issued during the run; the scenarios above should have issued more", len(codes))
	}
	var keys []string
	for _, sh := range h.info.Shops {
		keys = append(keys, sh.ShopKey, sh.AdminKey)
	}

	// The positive control: what is searched for is findable where it
	// belongs (the buyer's mail), so a miss below means something.
	mail := ""
	for _, e := range h.emails(t) {
		mail += e.Body.Text
	}
	if !strings.Contains(mail, codes[0]) {
		t.Fatalf("code %s is not in any mail either: the search itself is broken", codes[0])
	}

	logs := strings.ToUpper(h.functionOutput.String())
	if !strings.Contains(logs, "[ORDERSFUNCTION#1]") {
		t.Fatalf("the captured function output lacks OrdersFunction's lines; it captured %d bytes", len(logs))
	}
	for _, c := range codes {
		for _, v := range codeSpellings(c) {
			if strings.Contains(logs, v) {
				t.Errorf("gift-card code %s…(%d chars) appears in function output as %q", c[:4], len(c), v[:4]+"…")
			}
		}
	}
	for _, k := range keys {
		if strings.Contains(h.functionOutput.String(), k) {
			t.Errorf("API key %s… appears in function output", k[:6])
		}
	}

	items := scanAll(t, h)
	if len(items) == 0 {
		t.Fatal("the table is empty")
	}
	for i, it := range items {
		text := strings.ToUpper(flatten(it))
		for _, c := range codes {
			for _, v := range codeSpellings(c) {
				if strings.Contains(text, v) {
					t.Errorf("item %d (%s) holds gift-card code %s… in plaintext", i, flatten(map[string]types.AttributeValue{"PK": it["PK"]}), c[:4])
				}
			}
		}
		for _, k := range keys {
			if strings.Contains(flatten(it), k) {
				t.Errorf("item %d holds API key %s… in plaintext", i, k[:6])
			}
		}
	}
	t.Logf("%d codes and %d keys checked against %d bytes of function output and %d items", len(codes), len(keys), len(logs), len(items))
}

// codeSpellings are the forms a code could be written in, upper case: as
// shown, without dashes, and without dashes or its check character.
func codeSpellings(code string) []string {
	plain := strings.ReplaceAll(strings.ToUpper(code), "-", "")
	return []string{strings.ToUpper(code), plain, plain[:len(plain)-1]}
}

// scanAll reads every item of the table.
func scanAll(t *testing.T, h *harness) []map[string]types.AttributeValue {
	t.Helper()
	client := localaws.NewDynamoClient(h.info.DynamoDBEndpoint, nil)
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(h.info.TableName)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Items...)
	}
	return items
}

// flatten writes every attribute name and value of an item, nested ones
// included, binary values both raw and base64, into one string.
func flatten(item map[string]types.AttributeValue) string {
	var b strings.Builder
	var walk func(v types.AttributeValue)
	walk = func(v types.AttributeValue) {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			b.WriteString(v.Value)
		case *types.AttributeValueMemberN:
			b.WriteString(v.Value)
		case *types.AttributeValueMemberB:
			b.Write(v.Value)
			b.WriteString(" " + base64.StdEncoding.EncodeToString(v.Value))
		case *types.AttributeValueMemberSS:
			b.WriteString(strings.Join(v.Value, " "))
		case *types.AttributeValueMemberNS:
			b.WriteString(strings.Join(v.Value, " "))
		case *types.AttributeValueMemberBS:
			for _, x := range v.Value {
				b.Write(x)
				b.WriteString(" " + base64.StdEncoding.EncodeToString(x))
			}
		case *types.AttributeValueMemberL:
			for _, x := range v.Value {
				walk(x)
			}
		case *types.AttributeValueMemberM:
			for k, x := range v.Value {
				b.WriteString(k + "=")
				walk(x)
			}
		}
		b.WriteString(" ")
	}
	for k, v := range item {
		b.WriteString(k + "=")
		walk(v)
	}
	return b.String()
}
