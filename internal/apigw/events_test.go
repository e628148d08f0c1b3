package apigw

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
)

// functionOfDir maps the <dir> prefix of an events/<dir>-<action>.json file
// to the template.yaml function built from functions/<dir>.
var functionOfDir = map[string]string{
	"authorizer":         "AuthorizerFunction",
	"customers":          "CustomersFunction",
	"orders":             "OrdersFunction",
	"redemption":         "RedemptionFunction",
	"credits":            "CreditsFunction",
	"creditapplications": "CreditApplicationsFunction",
	"promotions":         "PromotionsFunction",
	"emailsender":        "EmailSenderFunction",
	"audit":              "AuditFunction",
	"promotionrun":       "PromotionRunFunction",
	"promotionworker":    "PromotionWorkerFunction",
	"checkout":           "CheckoutFunction",
	"holdrelease":        "HoldReleaseFunction",
	"dailyclose":         "DailyCloseFunction",
	"reports":            "ReportsFunction",
	"creditexpiry":       "CreditExpiryFunction",
	"admin":              "AdminFunction",
	// Events out (issue 14).
	"webhooks":        "WebhooksFunction",
	"eventpublisher":  "EventPublisherFunction",
	"webhookdelivery": "WebhookDeliveryFunction",
}

// TestGoldenEvents proves the events/ fixtures are what `make invoke` and
// these tests need: every function has one, every route has a request
// event served by the function its file is named after, each file decodes
// strictly into its aws-lambda-go type and round-trips, and each API event
// is internally consistent (paths, route keys, authorizer context).
func TestGoldenEvents(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events in %s (%v)", eventsDir, err)
	}
	hasEvent := map[string]bool{}
	routeEvents := map[string][]string{}
	for _, f := range files {
		name := filepath.Base(f)
		dir, _, ok := strings.Cut(strings.TrimSuffix(name, ".json"), "-")
		fn := functionOfDir[dir]
		if !ok || fn == "" {
			t.Errorf("%s: name it <dir>-<action>.json after a functions/<dir>", name)
			continue
		}
		hasEvent[fn] = true
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		switch fn {
		case "AuthorizerFunction":
			var ev events.APIGatewayV2CustomAuthorizerV2Request
			roundTrip(t, name, b, &ev)
			if ev.Version != "2.0" || ev.Type != "REQUEST" || !strings.HasPrefix(header(ev.Headers, "authorization"), "Bearer ") {
				t.Errorf("%s: want a payload 2.0 REQUEST authorizer event with a Bearer key", name)
			}
		case "PromotionWorkerFunction":
			var ev events.SQSEvent
			roundTrip(t, name, b, &ev)
			if len(ev.Records) == 0 || ev.Records[0].EventSource != "aws:sqs" {
				t.Errorf("%s: want an SQS batch event", name)
			}
		case "WebhookDeliveryFunction":
			// Its SQS batches (of bus events) and its retry schedule.
			if strings.Contains(name, "schedule") {
				var ev events.EventBridgeEvent
				roundTrip(t, name, b, &ev)
				if ev.DetailType != "Scheduled Event" || len(ev.Resources) != 1 || !strings.Contains(ev.Resources[0], "WebhookDelivery") {
					t.Errorf("%s: want an EventBridge Scheduled Event from the function's rule", name)
				}
				break
			}
			var ev events.SQSEvent
			roundTrip(t, name, b, &ev)
			if len(ev.Records) == 0 || ev.Records[0].EventSource != "aws:sqs" {
				t.Errorf("%s: want an SQS batch event", name)
			}
			for _, r := range ev.Records {
				var be events.EventBridgeEvent
				roundTrip(t, name, []byte(r.Body), &be)
				if be.Source != "giftcredit" {
					t.Errorf("%s: want bodies that are giftcredit bus events", name)
				}
			}
		case "EmailSenderFunction", "AuditFunction", "PromotionRunFunction", "HoldReleaseFunction", "EventPublisherFunction", "CreditExpiryFunction", "DailyCloseFunction":
			var ev events.EventBridgeEvent
			roundTrip(t, name, b, &ev)
			if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || len(ev.Resources) != 1 ||
				!strings.Contains(ev.Resources[0], strings.TrimSuffix(fn, "Function")) {
				t.Errorf("%s: want an EventBridge Scheduled Event from the function's rule", name)
			}
		case "AdminFunction":
			// The console's page, not a v1 route: no key, no authorizer
			// context (internal/console serves these files in its tests).
			var ev events.APIGatewayV2HTTPRequest
			roundTrip(t, name, b, &ev)
			if ev.RequestContext.Authorizer != nil || ev.Headers["authorization"] != "" || !strings.HasPrefix(ev.RawPath, "/admin") {
				t.Errorf("%s: want a keyless request for the console under /admin", name)
			}
		default:
			var ev events.APIGatewayV2HTTPRequest
			roundTrip(t, name, b, &ev)
			checkAPIEvent(t, name, fn, ev)
			routeEvents[ev.RouteKey] = append(routeEvents[ev.RouteKey], name)
		}
	}
	for _, fn := range functionOfDir {
		if !hasEvent[fn] {
			t.Errorf("no events/*.json for %s", fn)
		}
	}
	for _, r := range Routes {
		if len(routeEvents[r.Key()]) == 0 {
			t.Errorf("no events/*.json for route %s", r.Key())
		}
	}
}

func roundTrip(t *testing.T, name string, b []byte, v any) {
	t.Helper()
	if err := strictJSON(b, v); err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	w := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	if err := json.Unmarshal(again, w); err != nil || !reflect.DeepEqual(v, w) {
		t.Errorf("%s does not round-trip (%v)", name, err)
	}
}

func checkAPIEvent(t *testing.T, name, fn string, ev events.APIGatewayV2HTTPRequest) {
	t.Helper()
	i := slices.IndexFunc(Routes, func(r Route) bool { return r.Key() == ev.RouteKey })
	if i < 0 {
		t.Errorf("%s: routeKey %q is not a route", name, ev.RouteKey)
		return
	}
	rt := Routes[i]
	if rt.Function != fn {
		t.Errorf("%s: %s is served by %s, but the file is named for %s", name, rt.Key(), rt.Function, fn)
	}
	if ev.Version != "2.0" || ev.RequestContext.RouteKey != ev.RouteKey || ev.RequestContext.HTTP.Method != rt.Method ||
		ev.RequestContext.RequestID == "" || ev.RequestContext.TimeEpoch == 0 || ev.RequestContext.Time == "" || ev.RequestContext.Stage == "" {
		t.Errorf("%s: incomplete payload 2.0 request context", name)
	}
	got := ev
	finish(&got)
	if got.RawPath != ev.RawPath || ev.RequestContext.HTTP.Path != ev.RawPath || got.RawQueryString != ev.RawQueryString {
		t.Errorf("%s: rawPath %q / http.path %q / rawQueryString %q disagree with pathParameters and query (want %q, %q)",
			name, ev.RawPath, ev.RequestContext.HTTP.Path, ev.RawQueryString, got.RawPath, got.RawQueryString)
	}
	if got.Headers["content-length"] != ev.Headers["content-length"] {
		t.Errorf("%s: content-length %q, the body has %s bytes", name, ev.Headers["content-length"], got.Headers["content-length"])
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("%s: header %q is not lower-cased as API Gateway sends it", name, k)
		}
	}
	if !strings.HasPrefix(ev.Headers["authorization"], "Bearer ") {
		t.Errorf("%s: no Bearer authorization header", name)
	}
	if rt.Method == "POST" && ev.Headers["idempotency-key"] == "" && rt.Key() != "POST /v1/gift-cards/check" {
		t.Errorf("%s: a POST event should show its Idempotency-Key", name)
	}
	if ev.RequestContext.Authorizer == nil {
		t.Errorf("%s: no authorizer context", name)
		return
	}
	a, err := actorOf(ev)
	if err != nil {
		t.Errorf("%s: authorizer context: %v", name, err)
	} else if !a.Role.Allows(rt.Role) {
		t.Errorf("%s: the authorizer context's role %q may not call %s", name, a.Role, rt.Key())
	}
}
