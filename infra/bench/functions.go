package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/internal/apigw"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/promotion"
)

// FakeSES answers the SES v1 SendEmail action at once with a new message
// id, so that figures measure giftcredit, not a mail service.
type FakeSES struct {
	http *httptest.Server
	sent atomic.Int64
}

// StartFakeSES starts the fake on a free loopback port.
func StartFakeSES() (*FakeSES, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &FakeSES{}
	f.http = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(f.serve)}}
	f.http.Start()
	return f, nil
}

func (f *FakeSES) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "SendEmail" {
		http.Error(w, "unsupported", http.StatusBadRequest)
		return
	}
	n := f.sent.Add(1)
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendEmailResult><MessageId>bench-%d</MessageId></SendEmailResult><ResponseMetadata><RequestId>req-%d</RequestId></ResponseMetadata></SendEmailResponse>`, n, n)
}

// URL is the endpoint to give the functions.
func (f *FakeSES) URL() string { return f.http.URL }

// Sent is the number of emails accepted.
func (f *FakeSES) Sent() int64 { return f.sent.Load() }

// Close stops the fake.
func (f *FakeSES) Close() { f.http.Close() }

// FunctionEnv is the environment of every function process on a ledger
// whose server is at dynamoURL, sending mail to sesURL.
func FunctionEnv(dynamoURL, sesURL string) map[string]string {
	return map[string]string{
		"TABLE_NAME": Table, "DYNAMODB_ENDPOINT": dynamoURL, "SES_ENDPOINT": sesURL,
		"CODE_HASH_SECRET": CodeSecret, "SENDER_ADDRESS": Sender,
	}
}

// Logical maps each directory of functions/ to its template.yaml logical id.
var Logical = map[string]string{
	"authorizer": "AuthorizerFunction", "customers": "CustomersFunction", "orders": "OrdersFunction",
	"redemption": "RedemptionFunction", "credits": "CreditsFunction", "creditapplications": "CreditApplicationsFunction",
	"promotions": "PromotionsFunction", "emailsender": "EmailSenderFunction", "audit": "AuditFunction",
	"promotionrun": "PromotionRunFunction", "promotionworker": "PromotionWorkerFunction", "checkout": "CheckoutFunction",
	"holdrelease": "HoldReleaseFunction", "creditexpiry": "CreditExpiryFunction", "admin": "AdminFunction",
	"dailyclose": "DailyCloseFunction", "reports": "ReportsFunction",
}

// scheduleEvent is an EventBridge scheduled event, as the schedules send.
func scheduleEvent() ([]byte, error) {
	return json.Marshal(events.EventBridgeEvent{Version: "0", ID: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		DetailType: "Scheduled Event", Source: "aws.events", Time: time.Now().UTC(), Region: "us-east-1", Detail: json.RawMessage("{}")})
}

// ColdPayload is the event a cold start is measured with: one that
// touches no table where the function allows it (an API call without
// credentials, an authorizer call without a key), else a scheduled tick on
// an empty table or an empty queue batch.
func ColdPayload(name string) ([]byte, error) {
	switch name {
	case "authorizer":
		return json.Marshal(events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: "GET /v1/customers/{id}",
			RawPath: "/v1/customers/x", Headers: map[string]string{}})
	case "audit", "emailsender", "promotionrun", "holdrelease", "creditexpiry", "dailyclose":
		return scheduleEvent()
	case "promotionworker":
		return json.Marshal(events.SQSEvent{Records: []events.SQSMessage{}})
	case "hello", "hellosdk":
		return []byte("{}"), nil
	case "admin":
		return consolePage()
	}
	return APIRequest{Route: "GET /v1/customers/{id}", Path: map[string]string{"id": "cus_x"}}.Payload()
}

// Workload is a function's traffic for figure 4: Seed prepares the ledger
// (in this process, untimed) and returns the payload of invocation i.
type Workload func(ctx context.Context, l *Ledger) (func(i int) ([]byte, error), error)

// Workloads are the functions' realistic mixes, by directory name.
var Workloads = map[string]Workload{
	"authorizer":         authorizerLoad,
	"customers":          customersLoad,
	"credits":            creditsLoad,
	"creditapplications": applyLoad,
	"redemption":         redemptionLoad,
	"orders":             ordersLoad,
	"promotions":         promotionsLoad,
	"promotionrun":       promotionRunLoad,
	"promotionworker":    promotionWorkerLoad,
	"emailsender":        emailSenderLoad,
	"audit":              auditLoad,
	"checkout":           checkoutLoad,
	"holdrelease":        holdReleaseLoad,
	"reports":            reportsLoad,
	"dailyclose":         dailyCloseLoad,
	"creditexpiry":       creditExpiryLoad,
	"admin":              consoleLoad,
	"webhooks":           webhooksLoad,
	"eventpublisher":     eventPublisherLoad,
	"webhookdelivery":    webhookDeliveryLoad,
}

// consolePage is a browser's GET /admin, the admin console's page (its
// function reads no table).
func consolePage() ([]byte, error) {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /admin", RawPath: "/admin",
		Headers: map[string]string{"accept": "text/html"}}
	ev.RequestContext.HTTP.Method = "GET"
	ev.RequestContext.HTTP.Path = "/admin"
	return json.Marshal(ev)
}

// consoleLoad loads the console's page again and again, as staff opening
// it do (its assets are cached by the browser for a year).
func consoleLoad(context.Context, *Ledger) (func(int) ([]byte, error), error) {
	return func(int) ([]byte, error) { return consolePage() }, nil
}

// checkoutLoad holds a customer's credit for a checkout and voids or
// captures it, as a shop's checkout does: a hold, then its void or capture.
func checkoutLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	custs, err := customerPool(ctx, l, 4, 1_000_000_000)
	if err != nil {
		return nil, err
	}
	var last string
	return func(i int) ([]byte, error) {
		if i%2 == 0 || last == "" {
			h, err := l.Store.CreateHold(ctx, l.Clerk, "", gc.NewHold{Currency: "USD", Amount: 4200, OrderRef: "web-" + strconv.Itoa(i), CustomerID: custs[i%len(custs)].ID})
			if err != nil {
				return nil, err
			}
			last = h.ID
			return APIRequest{Route: "GET /v1/holds/{id}", Path: map[string]string{"id": h.ID}, Actor: l.Clerk}.Payload()
		}
		id := last
		last = ""
		return APIRequest{Route: "POST /v1/holds/{id}/void", Path: map[string]string{"id": id}, Actor: l.Clerk,
			IdemKey: "void-" + strconv.Itoa(i)}.Payload()
	}, nil
}

// holdReleaseLoad is the release job's tick over a table with holds, none
// expired yet (the common case: the job finds nothing to release).
func holdReleaseLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	custs, err := customerPool(ctx, l, 4, 1_000_000_000)
	if err != nil {
		return nil, err
	}
	for i := range 20 {
		if _, err := l.Store.CreateHold(ctx, l.Clerk, "", gc.NewHold{Currency: "USD", Amount: 100, OrderRef: "rel-" + strconv.Itoa(i), CustomerID: custs[i%len(custs)].ID}); err != nil {
			return nil, err
		}
	}
	return func(int) ([]byte, error) { return scheduleEvent() }, nil
}

func authorizerLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	secret, _, err := l.Store.IssueAPIKey(ctx, l.Shop.ID, gc.RoleShop)
	if err != nil {
		return nil, err
	}
	return func(i int) ([]byte, error) {
		key := secret
		if i%10 == 9 {
			key = "gck_unknown" + strconv.Itoa(i) // a wrong key now and then
		}
		return json.Marshal(events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: "POST /v1/orders",
			RawPath: "/v1/orders", Headers: map[string]string{"authorization": "Bearer " + key},
			RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "bench-" + strconv.Itoa(i), RouteKey: "POST /v1/orders"}})
	}, nil
}

func customersLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	c, err := l.NewCustomer(ctx, 10_000)
	if err != nil {
		return nil, err
	}
	for range 20 {
		if _, err := l.Store.Credit(ctx, l.Admin, "", gc.DirectCredit{CustomerID: c.ID, Amount: 100, Currency: "USD", PaymentType: "goodwill"}); err != nil {
			return nil, err
		}
	}
	return func(i int) ([]byte, error) {
		switch i % 3 {
		case 0:
			return APIRequest{Route: "POST /v1/customers", Actor: l.Clerk, IdemKey: "cust-" + strconv.Itoa(i),
				Body: gc.NewCustomer{Email: "new" + strconv.Itoa(i) + "@bench.example", Name: "New " + strconv.Itoa(i)}}.Payload()
		case 1:
			return APIRequest{Route: "GET /v1/customers/{id}", Path: map[string]string{"id": c.ID}, Actor: l.Clerk}.Payload()
		}
		return APIRequest{Route: "GET /v1/customers/{id}/transactions", Path: map[string]string{"id": c.ID}, Actor: l.Clerk}.Payload()
	}, nil
}

func creditsLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	c, err := l.NewCustomer(ctx, 0)
	if err != nil {
		return nil, err
	}
	var txs []string
	for range 100 {
		t, err := l.Store.Credit(ctx, l.Admin, "", gc.DirectCredit{CustomerID: c.ID, Amount: 100, Currency: "USD", PaymentType: "goodwill"})
		if err != nil {
			return nil, err
		}
		txs = append(txs, t.ID)
	}
	return func(i int) ([]byte, error) {
		if i%10 == 5 && i/10 < len(txs) {
			return APIRequest{Route: "POST /v1/customers/{id}/transactions/{txId}/reversals", Actor: l.Admin, IdemKey: "rev-" + strconv.Itoa(i),
				Path: map[string]string{"id": c.ID, "txId": txs[i/10]}, Body: apigw.ReversalBody{Reason: "bench"}}.Payload()
		}
		return APIRequest{Route: "POST /v1/customers/{id}/credits", Path: map[string]string{"id": c.ID}, Actor: l.Admin, IdemKey: "credit-" + strconv.Itoa(i),
			Body: apigw.CreditBody{Amount: 250, Currency: "USD", PaymentType: "goodwill", Reference: "Refund for order #" + strconv.Itoa(i)}}.Payload()
	}, nil
}

func applyLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	custs, err := customerPool(ctx, l, 4, 1_000_000_000)
	if err != nil {
		return nil, err
	}
	return func(i int) ([]byte, error) {
		return APIRequest{Route: "POST /v1/customers/{id}/credit-applications", Path: map[string]string{"id": custs[i%len(custs)].ID},
			Actor: l.Clerk, IdemKey: "apply-" + strconv.Itoa(i), Body: apigw.CreditApplicationBody{OrderRef: "web-" + strconv.Itoa(i), AmountDue: 4200, Currency: "USD"}}.Payload()
	}, nil
}

func redemptionLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	custs, err := customerPool(ctx, l, 4, 0)
	if err != nil {
		return nil, err
	}
	var codes []string
	for range 50 {
		o, err := l.NewOrder(ctx, "", "buyer@bench.example", 1000, 2000, 3000, 4000, 5000)
		if err != nil {
			return nil, err
		}
		for _, c := range o.GiftCards {
			codes = append(codes, c.Code)
		}
	}
	return func(i int) ([]byte, error) {
		if i%4 == 0 && i/4 < len(codes) {
			return APIRequest{Route: "POST /v1/customers/{id}/redemptions", Path: map[string]string{"id": custs[i%len(custs)].ID},
				Actor: l.Clerk, IdemKey: "redeem-" + strconv.Itoa(i), Body: apigw.CodeBody{Code: codes[i/4]}}.Payload()
		}
		return APIRequest{Route: "POST /v1/gift-cards/check", Actor: l.Clerk, Body: apigw.CodeBody{Code: codes[i%len(codes)]}}.Payload()
	}, nil
}

func ordersLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	c, err := l.NewCustomer(ctx, 1_000_000)
	if err != nil {
		return nil, err
	}
	o, err := l.NewOrder(ctx, c.ID, c.Email, 5000)
	if err != nil {
		return nil, err
	}
	return func(i int) ([]byte, error) {
		if i%2 == 1 {
			return APIRequest{Route: "GET /v1/orders/{id}", Path: map[string]string{"id": o.ID}, Actor: l.Clerk}.Payload()
		}
		cards := []gc.NewGiftCard{{Amount: 5000}}
		if i%4 == 0 {
			cards = append(cards, gc.NewGiftCard{Amount: 2500, RecipientEmail: "friend" + strconv.Itoa(i) + "@bench.example"})
		}
		return APIRequest{Route: "POST /v1/orders", Actor: l.Clerk, IdemKey: "order-" + strconv.Itoa(i), Body: gc.NewOrder{CustomerID: c.ID,
			BillingName: "Sam Buyer", BillingEmail: c.Email, PaymentMethod: "card", Currency: "USD", GiftCards: cards,
			Goods: []gc.OrderLine{{Description: "Mug", UnitPrice: 1200, Quantity: 1}}}}.Payload()
	}, nil
}

func promotionsLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	p, err := l.NewPromotion(ctx)
	if err != nil {
		return nil, err
	}
	return func(i int) ([]byte, error) {
		id := map[string]string{"id": p.ID}
		switch i % 5 {
		case 0:
			now := time.Now().UTC()
			return APIRequest{Route: "POST /v1/promotions", Actor: l.Admin, IdemKey: "promo-" + strconv.Itoa(i), Body: gc.NewPromotion{
				Name: "Spring " + strconv.Itoa(i), Currency: "USD", StartsAt: now, EndsAt: now.Add(48 * time.Hour),
				MinGiftCardAmount: 5000, CreditAmount: 500}}.Payload()
		case 1:
			return APIRequest{Route: "GET /v1/promotions", Actor: l.Admin}.Payload()
		case 2:
			return APIRequest{Route: "GET /v1/promotions/{id}", Path: id, Actor: l.Admin}.Payload()
		case 3:
			return APIRequest{Route: "POST /v1/promotions/{id}/pause", Path: id, Actor: l.Admin, IdemKey: "pause-" + strconv.Itoa(i)}.Payload()
		}
		return APIRequest{Route: "POST /v1/promotions/{id}/resume", Path: id, Actor: l.Admin, IdemKey: "resume-" + strconv.Itoa(i)}.Payload()
	}, nil
}

// seedPromotion defines a promotion running from an hour ago to an hour
// from now and places n qualifying orders, one per customer, ten minutes
// ago (through a store whose clock is behind), so that a run started now
// finds them settled.
func seedPromotion(ctx context.Context, l *Ledger, n int) (gc.Promotion, error) {
	budget := int64(1_000_000_000)
	now := time.Now().UTC()
	p, err := l.Store.CreatePromotion(ctx, l.Admin, "", gc.NewPromotion{Name: "Seeded promotion", Currency: "USD",
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour), MinGiftCardAmount: 5000, CreditAmount: 500,
		Per: gc.PerOrder, PerCustomerLimit: 1, Budget: &budget})
	if err != nil {
		return p, err
	}
	custs, err := customerPool(ctx, l, n, 0)
	if err != nil {
		return p, err
	}
	past := dynamo.New(l.Client, Table, dynamo.WithKeyring(l.Keyring), dynamo.WithComposer(mail.NewComposer(Sender)),
		dynamo.WithClock(func() time.Time { return time.Now().Add(-10 * time.Minute) }))
	for _, c := range custs {
		if _, err := past.PlaceOrder(ctx, l.Admin, "", gc.NewOrder{CustomerID: c.ID, BillingName: "Bench Buyer",
			BillingEmail: c.Email, PaymentMethod: "cash", Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: 5000}}}); err != nil {
			return p, fmt.Errorf("place order: %w", err)
		}
	}
	return p, nil
}

func promotionRunLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	if _, err := seedPromotion(ctx, l, 20); err != nil {
		return nil, err
	}
	return func(int) ([]byte, error) { return scheduleEvent() }, nil
}

// collectingQueue keeps the messages a promotion run queues.
type collectingQueue struct {
	mu   sync.Mutex
	msgs []promotion.Message
}

// Send keeps msgs.
func (q *collectingQueue) Send(_ context.Context, msgs []promotion.Message) error {
	q.mu.Lock()
	q.msgs = append(q.msgs, msgs...)
	q.mu.Unlock()
	return nil
}

// take removes and returns up to n messages, oldest first.
func (q *collectingQueue) take(n int) []promotion.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.msgs))
	out := append([]promotion.Message(nil), q.msgs[:n]...)
	q.msgs = q.msgs[n:]
	return out
}

func promotionWorkerLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	if _, err := seedPromotion(ctx, l, 50); err != nil {
		return nil, err
	}
	// A run in this process scans the orders into batches and queues them
	// all; the function process then grants them, and gets them again
	// (SQS delivers at least once), which it must find done.
	q := &collectingQueue{}
	svc := &promotion.Service{Store: l.Store, Queue: q, Composer: mail.NewComposer(Sender), PageSize: 5, InlineGrants: 1}
	if _, err := svc.Tick(ctx); err != nil {
		return nil, err
	}
	if len(q.msgs) == 0 {
		return nil, fmt.Errorf("the promotion run queued nothing")
	}
	return func(i int) ([]byte, error) {
		m := q.msgs[i%len(q.msgs)]
		body, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		return json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "msg-" + strconv.Itoa(i), Body: string(body),
			EventSource: "aws:sqs", Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(1 + i/len(q.msgs))}}}})
	}, nil
}

func emailSenderLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	// Orders placed through the store leave their emails pending.
	for range 20 {
		if _, err := l.NewOrder(ctx, "", "buyer@bench.example", 5000, 2500); err != nil {
			return nil, err
		}
	}
	return func(int) ([]byte, error) { return scheduleEvent() }, nil
}

func auditLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	custs, err := customerPool(ctx, l, 12, 5000)
	if err != nil {
		return nil, err
	}
	for i := range 10 {
		if _, err := l.NewOrder(ctx, custs[i].ID, custs[i].Email, 5000); err != nil {
			return nil, err
		}
	}
	return func(int) ([]byte, error) { return scheduleEvent() }, nil
}

// creditExpiryLoad is the expiry job's tick over a table with expiring
// credit, none due yet (the common case: the job finds nothing to do).
func creditExpiryLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	custs, err := customerPool(ctx, l, 4, 1_000_000_000)
	if err != nil {
		return nil, err
	}
	exp := time.Now().Add(30 * 24 * time.Hour)
	for i := range 20 {
		if _, err := l.Store.Credit(ctx, l.Admin, "", gc.DirectCredit{CustomerID: custs[i%len(custs)].ID, Amount: 100, Currency: "USD",
			PaymentType: "other", ExpiresAt: &exp}); err != nil {
			return nil, err
		}
	}
	return func(int) ([]byte, error) { return scheduleEvent() }, nil
}
