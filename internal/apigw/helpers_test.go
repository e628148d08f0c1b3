package apigw

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
	"github.com/giftcredit/giftcredit/internal/sesmail"
)

// sesStand is the one aws-ses-v2-local of this test binary, started by
// TestMain. Tests share it, so every test addresses mail to its own
// recipients (env.addr) and reads back only theirs.
var sesStand *localaws.SES

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s, err := localaws.StartSES(ctx, 0)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "apigw tests need the SES stand-in: %v\n", err)
		return 1
	}
	defer s.Close()
	sesStand = s
	if _, err := loadAPIDoc(); err != nil {
		fmt.Fprintf(os.Stderr, "api/openapi.yaml: %v\n", err)
		return 1
	}
	return m.Run()
}

// eventsDir holds the golden events that also drive `make invoke`.
const eventsDir = "../../events"

// caller is who sends a request: the key (if any) put in Authorization.
type caller int

const (
	shopKey    caller = iota // shop A's shop-role key
	adminKey                 // shop A's admin key
	shopKey2                 // shop A's second live shop key (rotation)
	otherKey                 // shop B's admin key: any record of shop A must be 404 to it
	noKey                    // no Authorization header
	badScheme                // "Authorization: Basic …"
	unknownKey               // a well-formed key that was never issued
	revokedKey               // shop A's key, revoked
	adminKey2                // shop A's second admin key
)

func (c caller) String() string {
	return [...]string{"shop key", "admin key", "second shop key", "other shop's key", "no key",
		"basic auth", "unknown key", "revoked key", "second admin key"}[c]
}

// clock is a test clock that moves forward a millisecond per reading, so
// that every record gets a distinct, ordered time.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Add(int64(time.Millisecond))).UTC() }

// syncBuffer collects log lines from concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one test's deployment: its own minidyn and table, the real store,
// one Handler per function of template.yaml, the real Authorizer, and two
// shops with keys. Everything it logs is kept to prove that no key or code
// is ever logged.
type env struct {
	ctx      context.Context
	dyn      *localaws.Dynamo
	fault    *localaws.Fault // between the store and minidyn (withDynamoFault only)
	client   *dynamodb.Client
	store    *dynamo.Store
	clock    *clock
	tag      string
	shop     gc.Shop // shop A: the shop of shopKey, adminKey, shopKey2, revokedKey
	other    gc.Shop // shop B: the shop of otherKey
	admin    gc.Actor
	otherAdm gc.Actor
	secrets  map[caller]string
	handlers map[string]*Handler
	auth     *Authorizer
	logs     *syncBuffer
	seq      atomic.Int64
	note     map[string]string // values a case's setup leaves for its check

	mu    sync.Mutex
	codes []string // every code a response carried: none may be logged
}

type envOption func(*envConfig)

type envConfig struct {
	mailer     gc.Mailer
	dynamoSide bool
	rand       io.Reader
}

// withRand makes the store draw ids and codes from r (golden responses).
func withRand(r io.Reader) envOption { return func(c *envConfig) { c.rand = r } }

// withDynamoFault puts a localaws.Fault (passing) between the store and
// minidyn: env.fault hangs it.
func withDynamoFault() envOption { return func(c *envConfig) { c.dynamoSide = true } }

// withMailer replaces the live SES mailer (e.g. with one for an SES outage).
func withMailer(m gc.Mailer) envOption { return func(c *envConfig) { c.mailer = m } }

// liveMailer sends through the shared SES stand-in.
func liveMailer() gc.Mailer { return sesmail.New(localaws.NewSESClient(sesStand.URL())) }

func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func newEnv(tb testing.TB, opts ...envOption) *env {
	tb.Helper()
	cfg := envConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.mailer == nil {
		cfg.mailer = liveMailer()
	}
	ctx := context.Background()
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		tb.Fatalf("start minidyn: %v", err)
	}
	tb.Cleanup(dyn.Close)
	endpoint := dyn.URL()
	var fault *localaws.Fault
	if cfg.dynamoSide {
		if fault, err = localaws.NewFault(strings.TrimPrefix(endpoint, "http://")); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(fault.Close)
		fault.Pass()
		endpoint = fault.URL()
	}
	client := localaws.NewDynamoClient(endpoint, nil)
	if err := dynamo.CreateTable(ctx, client, "giftcredit"); err != nil {
		tb.Fatal(err)
	}
	kr, err := giftcode.NewKeyring([]byte("apigw-test-secret-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	clk := &clock{}
	clk.ns.Store(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	storeOpts := []dynamo.Option{dynamo.WithKeyring(kr), dynamo.WithClock(clk.Now), dynamo.WithComposer(mail.NewComposer("noreply@giftcredit.test"))}
	if cfg.rand != nil {
		storeOpts = append(storeOpts, dynamo.WithRand(cfg.rand))
	}
	store := dynamo.New(client, "giftcredit", storeOpts...)
	e := &env{ctx: ctx, dyn: dyn, fault: fault, client: client, store: store, clock: clk, tag: randomHex(tb, 5),
		secrets: map[caller]string{}, note: map[string]string{}, handlers: map[string]*Handler{}, logs: &syncBuffer{}}
	e.shop, err = store.CreateShop(ctx, gc.Shop{Name: "Corner Books", AdminEmail: e.addr("admin"), SenderAddress: "orders@corner-books.test", DefaultCurrency: "USD"})
	if err != nil {
		tb.Fatal(err)
	}
	e.other, err = store.CreateShop(ctx, gc.Shop{Name: "Other Shop", AdminEmail: e.addr("other-admin"), SenderAddress: "orders@other.test", DefaultCurrency: "USD"})
	if err != nil {
		tb.Fatal(err)
	}
	for who, k := range map[caller]struct {
		shop string
		role gc.Role
	}{shopKey: {e.shop.ID, gc.RoleShop}, adminKey: {e.shop.ID, gc.RoleAdmin}, shopKey2: {e.shop.ID, gc.RoleShop},
		otherKey: {e.other.ID, gc.RoleAdmin}, revokedKey: {e.shop.ID, gc.RoleShop}, adminKey2: {e.shop.ID, gc.RoleAdmin}} {
		secret := "gck_" + randomHex(tb, 20)
		key, err := store.CreateAPIKey(ctx, k.shop, k.role, secret)
		if err != nil {
			tb.Fatal(err)
		}
		e.secrets[who] = secret
		switch who {
		case revokedKey:
			if err := store.RevokeAPIKey(ctx, k.shop, key.ID); err != nil {
				tb.Fatal(err)
			}
		case adminKey:
			e.admin = gc.Actor{ShopID: k.shop, KeyID: key.ID, Role: k.role}
		case otherKey:
			e.otherAdm = gc.Actor{ShopID: k.shop, KeyID: key.ID, Role: k.role}
		}
	}
	e.secrets[unknownKey] = "gck_" + randomHex(tb, 20)
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, rt := range Routes {
		if e.handlers[rt.Function] != nil {
			continue
		}
		h, err := New(Config{Function: rt.Function, Ledger: store, Mailer: cfg.mailer, Outbox: store,
			Promotions: store, Checkout: store, Logger: logger, Now: clk.Now,
			Webhooks: store, Resolver: testResolver, Reports: store})
		if err != nil {
			tb.Fatalf("New(%s): %v", rt.Function, err)
		}
		e.handlers[rt.Function] = h
	}
	e.auth = &Authorizer{Keys: store, Logger: logger}
	tb.Cleanup(func() { e.checkLogs(tb) })
	return e
}

// addr is an email address that only this env uses.
func (e *env) addr(who string) string { return who + "+" + e.tag + "@example.test" }

// checkLogs proves that nothing logged holds a key or a gift-card code.
func (e *env) checkLogs(tb testing.TB) {
	logs := e.logs.String()
	if logs == "" {
		return
	}
	for who, s := range e.secrets {
		if strings.Contains(logs, s) {
			tb.Errorf("the logs hold the %s", who)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.codes {
		n, err := giftcode.Normalize(c)
		if err != nil {
			continue
		}
		if strings.Contains(logs, c) || strings.Contains(logs, string(n)) {
			tb.Errorf("the logs hold a gift-card code (…%s)", n.Last4())
		}
	}
}

// ---------------------------------------------------------------- events

// loadEvent reads a golden API event, strictly: a typo in a fixture is a
// test failure, not a silently ignored field.
func loadEvent(tb testing.TB, name string) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := strictJSON(b, &ev); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return ev
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the event")
	}
	return nil
}

// adjust changes a loaded event the way a different request would.
type adjust func(ev *events.APIGatewayV2HTTPRequest)

func withPath(name, value string) adjust {
	return func(ev *events.APIGatewayV2HTTPRequest) {
		if ev.PathParameters == nil {
			ev.PathParameters = map[string]string{}
		}
		ev.PathParameters[name] = value
	}
}

func withBody(v any) adjust {
	return func(ev *events.APIGatewayV2HTTPRequest) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		ev.Body = string(b)
	}
}

// eventT is the API Gateway HTTP API (payload 2.0) request.
type eventT = events.APIGatewayV2HTTPRequest

func base64Encoded(ev *eventT) { ev.IsBase64Encoded = true }

func withRaw(s string) adjust { return func(ev *events.APIGatewayV2HTTPRequest) { ev.Body = s } }

// withPatch changes fields of the fixture's JSON body (nil deletes a field).
func withPatch(fields map[string]any) adjust {
	return func(ev *events.APIGatewayV2HTTPRequest) {
		m := map[string]any{}
		if ev.Body != "" {
			if err := json.Unmarshal([]byte(ev.Body), &m); err != nil {
				panic(err)
			}
		}
		for k, v := range fields {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		withBody(m)(ev)
	}
}

func withQuery(name, value string) adjust {
	return func(ev *events.APIGatewayV2HTTPRequest) {
		if ev.QueryStringParameters == nil {
			ev.QueryStringParameters = map[string]string{}
		}
		if value == "" {
			delete(ev.QueryStringParameters, name)
		} else {
			ev.QueryStringParameters[name] = value
		}
	}
}

func withIdem(k string) adjust {
	return func(ev *events.APIGatewayV2HTTPRequest) {
		if k == "" {
			delete(ev.Headers, "idempotency-key")
		} else {
			ev.Headers["idempotency-key"] = k
		}
	}
}

// event loads a golden event, applies adjustments and makes the raw path,
// query string and content length agree with them, as API Gateway would.
// Each event gets a fresh idempotency key unless an adjustment sets one.
func (e *env) event(tb testing.TB, name string, adj ...adjust) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	ev := loadEvent(tb, name)
	if _, ok := ev.Headers["idempotency-key"]; ok {
		ev.Headers["idempotency-key"] = "idem-" + randomHex(tb, 8)
	}
	for _, a := range adj {
		a(&ev)
	}
	finish(&ev)
	return ev
}

// finish recomputes what API Gateway derives from the request: the path
// (dropping parameters the route does not have), query string and length.
func finish(ev *events.APIGatewayV2HTTPRequest) {
	_, tmpl, _ := strings.Cut(ev.RouteKey, " ")
	p := tmpl
	for k, v := range ev.PathParameters {
		if !strings.Contains(tmpl, "{"+k+"}") {
			delete(ev.PathParameters, k)
			continue
		}
		p = strings.ReplaceAll(p, "{"+k+"}", url.PathEscape(v))
	}
	if len(ev.PathParameters) == 0 {
		ev.PathParameters = nil
	}
	ev.RawPath, ev.RequestContext.HTTP.Path = p, p
	q := url.Values{}
	for k, v := range ev.QueryStringParameters {
		q.Set(k, v)
	}
	ev.RawQueryString = q.Encode()
	if len(ev.QueryStringParameters) == 0 {
		ev.QueryStringParameters = nil
	}
	if ev.Body != "" {
		ev.Headers["content-length"] = strconv.Itoa(len(ev.Body))
		if _, ok := ev.Headers["content-type"]; !ok {
			ev.Headers["content-type"] = "application/json"
		}
	} else {
		delete(ev.Headers, "content-length")
		delete(ev.Headers, "content-type")
	}
}

// ---------------------------------------------------------------- calling

// response is a handler's answer.
type response struct {
	events.APIGatewayV2HTTPResponse
	requestID string
}

func (r response) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		tb.Fatalf("decode %d body %s: %v", r.StatusCode, r.Body, err)
	}
}

func (r response) problem(tb testing.TB) Problem {
	tb.Helper()
	var p Problem
	r.decode(tb, &p)
	return p
}

// authorize runs the real Authorizer on the request, as API Gateway does
// before invoking the function, and puts its context into the request.
func (e *env) authorize(tb testing.TB, who caller, ev *events.APIGatewayV2HTTPRequest) {
	tb.Helper()
	e.authorizeCtx(tb, e.ctx, who, ev)
}

// authorizeCtx is authorize within the authorizer invocation's context.
func (e *env) authorizeCtx(tb testing.TB, ctx context.Context, who caller, ev *events.APIGatewayV2HTTPRequest) {
	tb.Helper()
	switch who {
	case noKey:
		delete(ev.Headers, "authorization")
	case badScheme:
		ev.Headers["authorization"] = "Basic " + e.secrets[shopKey]
	default:
		ev.Headers["authorization"] = "Bearer " + e.secrets[who]
	}
	rc := ev.RequestContext
	rc.Authorizer = nil
	_, p, _ := strings.Cut(ev.RouteKey, " ")
	areq := events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST",
		RouteArn: "arn:aws:execute-api:eu-west-1:123456789012:" + rc.APIID + "/$default/" + rc.HTTP.Method + p,
		RouteKey: ev.RouteKey, RawPath: ev.RawPath, RawQueryString: ev.RawQueryString, Headers: ev.Headers,
		QueryStringParameters: ev.QueryStringParameters, RequestContext: rc, PathParameters: ev.PathParameters,
	}
	res, err := e.auth.Handle(ctx, areq)
	if err != nil {
		tb.Fatalf("authorizer returned an error: %v", err)
	}
	if !res.IsAuthorized {
		tb.Fatalf("authorizer denied the request outright (store failure?)")
	}
	// API Gateway hands the context on as JSON.
	b, err := json.Marshal(res.Context)
	if err != nil {
		tb.Fatal(err)
	}
	var lam map[string]any
	if err := json.Unmarshal(b, &lam); err != nil {
		tb.Fatal(err)
	}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lam}
}

// handlerFor is the handler of the function that serves routeKey.
func (e *env) handlerFor(tb testing.TB, routeKey string) *Handler {
	tb.Helper()
	for _, rt := range Routes {
		if rt.Key() == routeKey {
			return e.handlers[rt.Function]
		}
	}
	tb.Fatalf("no route %s", routeKey)
	return nil
}

// do authorizes ev as who, invokes the function that serves it and checks
// the response against the contract: the OpenAPI document, the request id,
// the problem shape. Every request of these tests goes through here.
func (e *env) do(tb testing.TB, who caller, ev events.APIGatewayV2HTTPRequest) response {
	tb.Helper()
	ev.RequestContext.RequestID = fmt.Sprintf("req-%s-%d", e.tag, e.seq.Add(1))
	e.authorize(tb, who, &ev)
	return e.invoke(tb, ev)
}

// invoke calls the handler with ev as it is (its authorizer context too).
func (e *env) invoke(tb testing.TB, ev events.APIGatewayV2HTTPRequest) response {
	tb.Helper()
	if ev.RequestContext.RequestID == "" {
		ev.RequestContext.RequestID = fmt.Sprintf("req-%s-%d", e.tag, e.seq.Add(1))
	}
	return e.invokeCtx(tb, e.ctx, ev)
}

// invokeCtx is invoke with the invocation's context (its deadline).
func (e *env) invokeCtx(tb testing.TB, ctx context.Context, ev events.APIGatewayV2HTTPRequest) response {
	tb.Helper()
	if ev.RequestContext.RequestID == "" {
		ev.RequestContext.RequestID = fmt.Sprintf("req-%s-%d", e.tag, e.seq.Add(1))
	}
	out, err := e.handlerFor(tb, ev.RouteKey).Handle(ctx, ev)
	if err != nil {
		tb.Fatalf("Handle returned an error (API Gateway would answer a bare 502): %v", err)
	}
	r := response{APIGatewayV2HTTPResponse: out, requestID: ev.RequestContext.RequestID}
	checkContract(tb, ev, r)
	e.noteCodes(r)
	return r
}

func (e *env) noteCodes(r response) {
	var o struct {
		GiftCards []struct {
			Code string `json:"code"`
		} `json:"giftCards"`
	}
	if json.Unmarshal([]byte(r.Body), &o) != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range o.GiftCards {
		if c.Code != "" {
			e.codes = append(e.codes, c.Code)
		}
	}
}

// expect fails tb unless r has the status and, for a problem, the code.
func expect(tb testing.TB, r response, status int, code string) {
	tb.Helper()
	if r.StatusCode != status {
		tb.Fatalf("status = %d, want %d; body %s", r.StatusCode, status, r.Body)
	}
	if code != "" {
		if p := r.problem(tb); p.Code != code {
			tb.Fatalf("problem code = %q, want %q; body %s", p.Code, code, r.Body)
		}
	}
}

// expectField fails tb unless r is a 400 naming field.
func expectField(tb testing.TB, r response, field string) {
	tb.Helper()
	expect(tb, r, 400, gc.EINVALID)
	if p := r.problem(tb); p.Field != field {
		tb.Fatalf("problem field = %q, want %q; body %s", p.Field, field, r.Body)
	}
}

// ---------------------------------------------------------------- fixtures

// mustCustomer creates a customer of shop A (directly in the store).
func (e *env) mustCustomer(tb testing.TB, name string) gc.Customer {
	tb.Helper()
	return e.mustCustomerOf(tb, e.admin, name)
}

func (e *env) mustCustomerOf(tb testing.TB, a gc.Actor, name string) gc.Customer {
	tb.Helper()
	c, err := e.store.CreateCustomer(e.ctx, a, "", gc.NewCustomer{Email: e.addr(name + "-" + randomHex(tb, 3)), Name: name})
	if err != nil {
		tb.Fatalf("create customer: %v", err)
	}
	return c
}

// mustCard issues a gift card of shop A (a cash order) and returns it with its code.
func (e *env) mustCard(tb testing.TB, amount int64) gc.OrderCard {
	tb.Helper()
	return e.mustCardOf(tb, e.admin, amount)
}

func (e *env) mustCardOf(tb testing.TB, a gc.Actor, amount int64) gc.OrderCard {
	tb.Helper()
	o, err := e.store.PlaceOrder(e.ctx, a, "", gc.NewOrder{BillingName: "Staff", BillingEmail: e.addr("staff"),
		PaymentMethod: "cash", Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: amount}}})
	if err != nil {
		tb.Fatalf("place order: %v", err)
	}
	c := o.Order.GiftCards[0]
	e.mu.Lock()
	e.codes = append(e.codes, c.Code)
	e.mu.Unlock()
	return c
}

func (e *env) mustOrder(tb testing.TB, a gc.Actor) gc.Order {
	tb.Helper()
	o, err := e.store.PlaceOrder(e.ctx, a, "", gc.NewOrder{BillingName: "Buyer", BillingEmail: e.addr("buyer"),
		PaymentMethod: "card", Currency: "USD", Goods: []gc.OrderLine{{Description: "Book", UnitPrice: 1500, Quantity: 1}}})
	if err != nil {
		tb.Fatalf("place order: %v", err)
	}
	return o.Order
}

func (e *env) mustRedeem(tb testing.TB, customerID, code string) {
	tb.Helper()
	if _, err := e.store.Redeem(e.ctx, e.admin, "", customerID, code, ""); err != nil {
		tb.Fatalf("redeem: %v", err)
	}
}

func (e *env) mustDisable(tb testing.TB, cardID string) {
	tb.Helper()
	if _, err := e.store.DisableCard(e.ctx, e.admin, "", cardID); err != nil {
		tb.Fatalf("disable: %v", err)
	}
}

func (e *env) mustCredit(tb testing.TB, a gc.Actor, customerID string, amount int64) gc.Transaction {
	tb.Helper()
	t, err := e.store.Credit(e.ctx, a, "", gc.DirectCredit{CustomerID: customerID, Amount: amount, Currency: "USD", PaymentType: "goodwill"})
	if err != nil {
		tb.Fatalf("credit: %v", err)
	}
	return t
}

// mustHold holds up to amount of a new customer's credit of amount.
func (e *env) mustHold(tb testing.TB, amount int64) gc.Hold {
	tb.Helper()
	c := e.mustCustomer(tb, "holder")
	e.mustCredit(tb, e.admin, c.ID, amount)
	h, err := e.store.CreateHold(e.ctx, e.admin, "", gc.NewHold{Currency: "USD", Amount: amount, OrderRef: "web-" + c.ID, CustomerID: c.ID})
	if err != nil {
		tb.Fatalf("create hold: %v", err)
	}
	return h
}

// mustCardCapture pays amount of a new card of 5000 in one step and
// returns the capture's transaction.
func (e *env) mustCardCapture(tb testing.TB, amount int64) string {
	tb.Helper()
	card := e.mustCard(tb, 5000)
	h, err := e.store.CreateHold(e.ctx, e.admin, "", gc.NewHold{Currency: "USD", Amount: amount, OrderRef: "guest", GiftCardCode: card.Code, Capture: true})
	if err != nil {
		tb.Fatalf("pay with a card: %v", err)
	}
	return h.Captures[0].TransactionID
}

func (e *env) mustPromotion(tb testing.TB, a gc.Actor) gc.Promotion {
	tb.Helper()
	p, err := e.store.CreatePromotion(e.ctx, a, "", gc.NewPromotion{Name: "Holiday bonus", Currency: "USD",
		StartsAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), EndsAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		MinGiftCardAmount: 5000, CreditAmount: 1000})
	if err != nil {
		tb.Fatalf("create promotion: %v", err)
	}
	return p
}

func (e *env) balance(tb testing.TB, customerID string) int64 {
	tb.Helper()
	c, err := e.store.Customer(e.ctx, e.shop.ID, customerID)
	if err != nil {
		tb.Fatal(err)
	}
	return c.BalanceOf("USD")
}

// mustAudit fails tb on any broken ledger invariant of shop A.
func (e *env) mustAudit(tb testing.TB) {
	tb.Helper()
	r, err := e.store.Audit(e.ctx, e.shop.ID)
	if err != nil {
		tb.Fatalf("audit: %v", err)
	}
	if !r.OK() {
		tb.Fatalf("audit found breaches: %+v", r.Breaches)
	}
}

// itemCount is the number of items in the table, to prove a request wrote nothing.
func (e *env) itemCount(tb testing.TB) int {
	tb.Helper()
	n := 0
	p := dynamodb.NewScanPaginator(e.client, &dynamodb.ScanInput{TableName: aws.String("giftcredit"), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			tb.Fatal(err)
		}
		n += len(out.Items)
	}
	return n
}

// unusedCode is a well-formed code that no card has.
func unusedCode(tb testing.TB) string {
	tb.Helper()
	c, err := giftcode.Generator{}.New()
	if err != nil {
		tb.Fatal(err)
	}
	return c.Display()
}

// ---------------------------------------------------------------- mail

// mailTo returns the messages the SES stand-in holds for to.
func mailTo(tb testing.TB, to string) []localaws.StoredEmail {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all, err := sesStand.Emails(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var out []localaws.StoredEmail
	for _, m := range all {
		if slices.Contains(m.Destination.To, to) {
			out = append(out, m)
		}
	}
	return out
}

// waitMail polls the SES stand-in until n messages to `to` arrived (failing
// at a deadline) and fails if more than n did.
func waitMail(tb testing.TB, to string, n int) []localaws.StoredEmail {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := mailTo(tb, to)
		if len(got) > n {
			tb.Fatalf("%d messages to %s, want %d", len(got), to, n)
		}
		if len(got) == n {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d messages to %s after 10s, want %d", len(got), to, n)
		}
		t := time.NewTimer(20 * time.Millisecond)
		<-t.C
	}
}
