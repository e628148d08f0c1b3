package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/apigw"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/eventbus"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
)

// Table is the table name every figure uses, each on its own server.
const Table = "giftcredit"

// CodeSecret is the code-hash secret of the benchmark ledgers and of the
// function processes that share their tables.
const CodeSecret = "bench-code-hash-secret-0123456789"

// Sender is the From address of the benchmark shop.
const Sender = "noreply@bench.example"

// Ledger is one figure's ledger: its own minidyn server and table, a store
// on a client with a Recorder, and one shop with an admin and a shop actor
// (as the authorizer would name them).
type Ledger struct {
	Dyn     *Dynamo
	Rec     *Recorder
	Client  *dynamodb.Client
	Store   *dynamo.Store
	Keyring *giftcode.Keyring
	Shop    gc.Shop
	Admin   gc.Actor
	Clerk   gc.Actor
	// Bus is the event bus stand-in of a ledger with Events (else nil).
	Bus *localaws.Bus

	seq     atomic.Int64
	closers []func()
}

// LedgerOptions choose a ledger's server.
type LedgerOptions struct {
	// Process runs the server in a child process (see StartDynamoProcess).
	Process bool
	// NoAdminEmail makes a shop without an admin address, which gets no
	// order confirmations: fewer (and the largest) items in the table.
	NoAdminEmail bool
	// Events makes the store publish each write's events to a local bus
	// stand-in right after the write, as the functions do.
	Events bool
}

// NewLedger starts a server, creates the table and a shop.
func NewLedger(ctx context.Context, o LedgerOptions) (*Ledger, error) {
	var dyn *Dynamo
	var err error
	if o.Process {
		dyn, err = StartDynamoProcess()
	} else {
		dyn, err = StartDynamo()
	}
	if err != nil {
		return nil, fmt.Errorf("start minidyn: %w", err)
	}
	l := &Ledger{Dyn: dyn, Rec: &Recorder{}}
	l.Client = dyn.NewClient(l.Rec)
	if err := dynamo.CreateTable(ctx, l.Client, Table); err != nil {
		dyn.Close()
		return nil, err
	}
	if l.Keyring, err = giftcode.NewKeyring([]byte(CodeSecret)); err != nil {
		dyn.Close()
		return nil, err
	}
	opts := []dynamo.Option{dynamo.WithKeyring(l.Keyring), dynamo.WithComposer(mail.NewComposer(Sender))}
	if o.Events {
		l.Bus = localaws.StartBus()
		opts = append(opts, dynamo.WithEvents(&eventbus.Bus{Client: localaws.NewEventsClient(l.Bus.URL()), Name: "giftcredit-bench"}))
	}
	l.Store = dynamo.New(l.Client, Table, opts...)
	adminEmail := "admin@bench.example"
	if o.NoAdminEmail {
		adminEmail = ""
	}
	l.Shop, err = l.Store.CreateShop(ctx, gc.Shop{Name: "Bench Shop", AdminEmail: adminEmail, SenderAddress: Sender, DefaultCurrency: "USD"})
	if err != nil {
		dyn.Close()
		return nil, err
	}
	l.Admin = gc.Actor{ShopID: l.Shop.ID, KeyID: "key_bench_admin", Role: gc.RoleAdmin}
	l.Clerk = gc.Actor{ShopID: l.Shop.ID, KeyID: "key_bench_shop", Role: gc.RoleShop}
	return l, nil
}

// Close stops the server and what OnClose was given.
func (l *Ledger) Close() {
	l.Dyn.Close()
	if l.Bus != nil {
		l.Bus.Close()
	}
	for _, f := range l.closers {
		f()
	}
}

// OnClose has Close call f too (a workload's receiver).
func (l *Ledger) OnClose(f func()) { l.closers = append(l.closers, f) }

// Items returns the table's item count (call it when no write runs).
func (l *Ledger) Items(ctx context.Context) (int, error) { return TableItems(ctx, l.Client, Table) }

// Next returns a number unique within the ledger, for keys and emails.
func (l *Ledger) Next() int64 { return l.seq.Add(1) }

// NewCustomer creates a customer, with balance minor units of USD credit
// when balance > 0.
func (l *Ledger) NewCustomer(ctx context.Context, balance int64) (gc.Customer, error) {
	n := l.Next()
	c, err := l.Store.CreateCustomer(ctx, l.Admin, "", gc.NewCustomer{
		Email: "customer" + strconv.FormatInt(n, 10) + "@bench.example", Name: "Customer " + strconv.FormatInt(n, 10)})
	if err != nil {
		return c, fmt.Errorf("create customer: %w", err)
	}
	if balance > 0 {
		if _, err := l.Store.Credit(ctx, l.Admin, "", gc.DirectCredit{CustomerID: c.ID, Amount: balance, Currency: "USD", PaymentType: "goodwill"}); err != nil {
			return c, fmt.Errorf("credit customer: %w", err)
		}
	}
	return c, nil
}

// Handler returns the API handler of a template.yaml function, wired as
// its main.go wires it, with a mailer that accepts every email at once.
func (l *Ledger) Handler(function string) (*apigw.Handler, error) {
	return apigw.New(apigw.Config{Function: function, Ledger: l.Store, Mailer: AcceptingMailer{}, Outbox: l.Store,
		Promotions: l.Store, Checkout: l.Store, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
}

// AcceptingMailer accepts every email at once, so that handler figures
// measure the ledger and not the mail service.
type AcceptingMailer struct{}

var msgSeq atomic.Int64

// Send accepts e.
func (AcceptingMailer) Send(_ context.Context, e gc.Email) (string, error) {
	return "bench-" + strconv.FormatInt(msgSeq.Add(1), 10), nil
}

var _ gc.Mailer = AcceptingMailer{}

// APIRequest describes one API call: the route key, its path parameters,
// the caller and the body (encoded as JSON unless it is a string).
type APIRequest struct {
	Route   string
	Path    map[string]string
	Actor   gc.Actor
	IdemKey string
	Body    any
}

// Event returns the API Gateway HTTP API (payload 2.0) event of r, with
// the caller in the Lambda authorizer's context, as the gateway sends it.
func (r APIRequest) Event() (events.APIGatewayV2HTTPRequest, error) {
	body := ""
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return events.APIGatewayV2HTTPRequest{}, err
		}
		body = string(j)
	}
	method, path, _ := strings.Cut(r.Route, " ")
	raw := path
	for k, v := range r.Path {
		raw = strings.ReplaceAll(raw, "{"+k+"}", v)
	}
	headers := map[string]string{"content-type": "application/json", "accept": "application/json"}
	if r.IdemKey != "" {
		headers["idempotency-key"] = r.IdemKey
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: r.Route, RawPath: raw, Headers: headers, PathParameters: r.Path, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: r.Route, Stage: "$default", RequestID: "bench-" + strconv.FormatInt(msgSeq.Add(1), 10),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: raw, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{
				"shopId": r.Actor.ShopID, "keyId": r.Actor.KeyID, "role": string(r.Actor.Role)}},
		},
	}, nil
}

// Payload is Event encoded as a Lambda invocation payload.
func (r APIRequest) Payload() ([]byte, error) {
	ev, err := r.Event()
	if err != nil {
		return nil, err
	}
	return json.Marshal(ev)
}

// Serve runs r through h and returns the response, or an error for a
// non-2xx answer.
func Serve(ctx context.Context, h *apigw.Handler, r APIRequest) (events.APIGatewayV2HTTPResponse, error) {
	ev, err := r.Event()
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	resp, err := h.Handle(ctx, ev)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode/100 != 2 {
		return resp, fmt.Errorf("%s: status %d: %s", r.Route, resp.StatusCode, resp.Body)
	}
	return resp, nil
}
