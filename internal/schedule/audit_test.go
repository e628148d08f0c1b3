package schedule_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/giftcredit/giftcredit/infra/localaws"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/schedule"
	"github.com/giftcredit/giftcredit/internal/sesmail"
)

// The scheduled audit finds a balance that no posting explains and emails
// the shop's admin; a sound shop gets no email.
func TestAuditEmailsTheAdminOnABreach(t *testing.T) {
	ctx := context.Background()
	dyn := startDynamo(t)
	store := storeAt(t, dyn.URL())
	sound, err := store.CreateShop(ctx, gc.Shop{Name: "Sound", AdminEmail: "sound@shop.test", SenderAddress: "noreply@shop.test", DefaultCurrency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	broken, err := store.CreateShop(ctx, gc.Shop{Name: "Broken", AdminEmail: "broken@shop.test", SenderAddress: "noreply@shop.test", DefaultCurrency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range []gc.Shop{sound, broken} {
		a := gc.Actor{ShopID: sh.ID, KeyID: "key_t", Role: gc.RoleAdmin}
		c, err := store.CreateCustomer(ctx, a, "", gc.NewCustomer{Email: "c@example.com", Name: "C"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Credit(ctx, a, "", gc.DirectCredit{CustomerID: c.ID, Amount: 500, Currency: "USD", PaymentType: "cash"}); err != nil {
			t.Fatal(err)
		}
		if sh.ID == broken.ID {
			// Someone edits a balance by hand, outside the ledger.
			_, err := localaws.NewDynamoClient(dyn.URL(), nil).UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                 aws.String("t"),
				Key:                       map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "SHOP#" + sh.ID + "#CUST#" + c.ID}, "SK": &types.AttributeValueMemberS{Value: "CUSTOMER"}},
				UpdateExpression:          aws.String("SET bal_USD = :b"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":b": &types.AttributeValueMemberN{Value: "900"}},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	ses := localaws.SESForTest(t)
	job := &schedule.Audit{Store: store, Queue: store, Mailer: sesmail.New(localaws.NewSESClient(ses.URL())),
		Composer: mail.NewComposer("noreply@shop.test"), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: time.Now}
	res, err := job.Handle(ctx, events.EventBridgeEvent{DetailType: "Scheduled Event"})
	if err != nil {
		t.Fatal(err)
	}
	// The edited balance disagrees with its postings and with its lots.
	if res.Counts["shops"] != 2 || res.Breaches != 2 {
		t.Fatalf("result = %+v, want 2 shops and 2 breaches", res)
	}
	mails, err := ses.Emails(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 {
		t.Fatalf("got %d emails, want 1 (to the broken shop's admin)", len(mails))
	}
	m := mails[0]
	if len(m.Destination.To) != 1 || m.Destination.To[0] != "broken@shop.test" || !strings.Contains(m.Body.Text, "balance_mismatch") {
		t.Fatalf("email to %v with text %q", m.Destination.To, m.Body.Text)
	}
}
