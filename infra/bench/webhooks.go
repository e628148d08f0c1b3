package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/eventbus"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/webhook"
)

// Figure 4's workloads of the events and webhooks functions. These run
// with the bus stand-in and loopback webhooks (eventEnv), as make run's
// stack runs them; the other functions keep their environment.

// eventFunctions are the functions figure 4 gives eventEnv.
var eventFunctions = map[string]bool{"eventpublisher": true, "webhookdelivery": true, "webhooks": true}

// benchBus is the bus name the event publisher is given.
const benchBus = "giftcredit-bench"

// eventEnv adds to env the bus stand-in at busURL and allows webhooks to
// http://127.0.0.1 (the receivers of figure 4 listen there).
func eventEnv(env map[string]string, busURL string) map[string]string {
	env["EVENTS_ENDPOINT"], env["EVENT_BUS_NAME"], env["WEBHOOK_ALLOW_LOOPBACK_HTTP"] = busURL, benchBus, "true"
	return env
}

// webhookReceiver starts a receiver on 127.0.0.1 that answers every
// delivery 204 at once, closed with l; it returns its URL and the count
// of deliveries it received.
func webhookReceiver(l *Ledger) (string, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	l.OnClose(srv.Close)
	return srv.URL + "/giftcredit", &n
}

// pastStore is l's store with a clock ten minutes behind: its changes'
// events are due for the scheduled publisher at once.
func pastStore(l *Ledger) *dynamo.Store {
	return dynamo.New(l.Client, Table, dynamo.WithKeyring(l.Keyring), dynamo.WithComposer(mail.NewComposer(Sender)),
		dynamo.WithClock(func() time.Time { return time.Now().Add(-10 * time.Minute) }))
}

// webhooksLoad is a shop's admin managing its webhooks: it registers one
// (an Idempotency-Key per request), lists them, reads a webhook's
// deliveries, and deletes the one it registered.
func webhooksLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	url, _ := webhookReceiver(l)
	h, err := l.Store.CreateWebhook(ctx, l.Admin, "", webhook.NewWebhook{URL: url})
	if err != nil {
		return nil, err
	}
	// Some deliveries to list: the events of a few credits, delivered.
	custs, err := customerPool(ctx, l, 2, 0)
	if err != nil {
		return nil, err
	}
	svc := &webhook.Service{Store: l.Store, Client: webhook.NewClient(webhook.Policy{AllowLoopbackHTTP: true}), Now: time.Now}
	for i := range 10 {
		tx, err := l.Store.Credit(ctx, l.Admin, "", gc.DirectCredit{CustomerID: custs[i%len(custs)].ID, Amount: 100, Currency: "USD", PaymentType: "goodwill"})
		if err != nil {
			return nil, err
		}
		for _, ev := range gc.TxEvents(l.Shop.ID, tx) {
			body, err := json.Marshal(ev)
			if err != nil {
				return nil, err
			}
			if err := svc.Deliver(ctx, ev, body); err != nil {
				return nil, err
			}
		}
	}
	return func(i int) ([]byte, error) {
		switch i % 4 {
		case 0:
			return APIRequest{Route: "POST /v1/webhooks", Actor: l.Admin, IdemKey: "webhook-" + strconv.Itoa(i),
				Body: webhook.NewWebhook{URL: "http://127.0.0.1:9/hook-" + strconv.Itoa(i), Types: []gc.EventType{gc.EventCreditGranted}}}.Payload()
		case 1:
			return APIRequest{Route: "GET /v1/webhooks", Actor: l.Admin}.Payload()
		case 2:
			return APIRequest{Route: "GET /v1/webhooks/{id}/deliveries", Path: map[string]string{"id": h.ID}, Actor: l.Admin}.Payload()
		}
		// The webhook of this cycle's POST, found by listing in this
		// process (the function's answer is not seen here).
		ws, err := l.Store.Webhooks(ctx, l.Shop.ID)
		if err != nil {
			return nil, err
		}
		created := h.ID
		for _, w := range ws {
			if w.ID != h.ID {
				created = w.ID
			}
		}
		if created == h.ID {
			return APIRequest{Route: "GET /v1/webhooks", Actor: l.Admin}.Payload()
		}
		return APIRequest{Route: "DELETE /v1/webhooks/{id}", Path: map[string]string{"id": created}, Actor: l.Admin}.Payload()
	}, nil
}

// eventPublisherLoad is the publisher's tick over a table with changes
// whose events are due (made through a store whose clock is behind): the
// first tick publishes the seeded ones, later ones a change now and then,
// most find none due.
func eventPublisherLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	custs, err := customerPool(ctx, l, 4, 0)
	if err != nil {
		return nil, err
	}
	past := pastStore(l)
	credit := func(i int) error {
		_, err := past.Credit(ctx, l.Admin, "", gc.DirectCredit{CustomerID: custs[i%len(custs)].ID, Amount: 100, Currency: "USD", PaymentType: "goodwill"})
		return err
	}
	for i := range 50 {
		if err := credit(i); err != nil {
			return nil, err
		}
	}
	return func(i int) ([]byte, error) {
		if i%10 == 9 {
			if err := credit(i); err != nil {
				return nil, err
			}
		}
		return scheduleEvent()
	}, nil
}

// busMessage is an SQS message of the webhook queue: a bus event as the
// rule's target receives it.
func busMessage(id string, ev gc.Event, receives int) (events.SQSMessage, error) {
	detail, err := json.Marshal(ev)
	if err != nil {
		return events.SQSMessage{}, err
	}
	body, err := json.Marshal(localaws.BusEvent{Version: "0", ID: "bench-" + ev.ID, DetailType: string(ev.Type), Source: eventbus.Source,
		Account: "000000000000", Time: ev.CreatedAt, Region: "us-east-1", Resources: []string{}, Detail: detail})
	if err != nil {
		return events.SQSMessage{}, err
	}
	return events.SQSMessage{MessageId: id, Body: string(body), EventSource: "aws:sqs",
		Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(receives)}}, nil
}

// webhookDeliveryLoad hands the delivery function SQS batches of the
// events of a credit each, for a webhook registered to a receiver on
// 127.0.0.1; every fifth batch is the previous one again (SQS delivers at
// least once), whose deliveries the function must find started.
func webhookDeliveryLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	url, _ := webhookReceiver(l)
	if _, err := l.Store.CreateWebhook(ctx, l.Admin, "", webhook.NewWebhook{URL: url}); err != nil {
		return nil, err
	}
	custs, err := customerPool(ctx, l, 4, 0)
	if err != nil {
		return nil, err
	}
	var last []events.SQSMessage
	return func(i int) ([]byte, error) {
		if i%5 == 4 && last != nil {
			again := make([]events.SQSMessage, len(last))
			for j, m := range last {
				m.Attributes = map[string]string{"ApproximateReceiveCount": "2"}
				again[j] = m
			}
			return json.Marshal(events.SQSEvent{Records: again})
		}
		tx, err := l.Store.Credit(ctx, l.Admin, "", gc.DirectCredit{CustomerID: custs[i%len(custs)].ID, Amount: 100, Currency: "USD", PaymentType: "goodwill"})
		if err != nil {
			return nil, err
		}
		last = last[:0:0]
		for j, ev := range gc.TxEvents(l.Shop.ID, tx) {
			m, err := busMessage("msg-"+strconv.Itoa(i)+"-"+strconv.Itoa(j), ev, 1)
			if err != nil {
				return nil, err
			}
			last = append(last, m)
		}
		return json.Marshal(events.SQSEvent{Records: last})
	}, nil
}
