package samtemplate

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// composers are the functions that compose email (internal/mail): the
// mailers, and those that write mail to the outbox for the email sender to
// send (a guessing alert, promotion notices and summaries, credit expiry
// reminders, which CreditExpiry also sends at once). EmailSender
// sends what others composed.
var composers = []string{"OrdersFunction", "AuditFunction", "RedemptionFunction", "PromotionRunFunction", "PromotionWorkerFunction", "CheckoutFunction", "CreditExpiryFunction"}

// eventPublishers are the functions that call EventBridge: those that
// write changes (and publish their events inline) and the scheduled
// publisher.
var eventPublishers = []string{"OrdersFunction", "RedemptionFunction", "CreditsFunction", "CreditApplicationsFunction",
	"CheckoutFunction", "HoldReleaseFunction", "PromotionRunFunction", "PromotionWorkerFunction", "EventPublisherFunction",
	"CreditExpiryFunction"}

// queueUsers are the functions that call SQS.
var queueUsers = []string{"PromotionRunFunction", "PromotionWorkerFunction"}

// authorizerLinks are the only non-standard packages the authorizer may link
// (by import path prefix): the Lambda runtime, the SDK core and DynamoDB
// client, and the packages that resolve an API key. golang.org/x/text comes
// with the domain package (email normalisation); the authorizer does not
// call it.
var authorizerLinks = []string{
	"github.com/aws/aws-lambda-go/",
	"github.com/aws/aws-sdk-go-v2/aws",
	"github.com/aws/aws-sdk-go-v2/credentials",
	"github.com/aws/aws-sdk-go-v2/internal/",
	"github.com/aws/aws-sdk-go-v2/service/dynamodb",
	"github.com/aws/aws-sdk-go-v2/service/internal/",
	"github.com/aws/smithy-go",
	"github.com/giftcredit/giftcredit/functions/authorizer",
	"github.com/giftcredit/giftcredit/internal/apigw",
	"github.com/giftcredit/giftcredit/internal/awsenv",
	"github.com/giftcredit/giftcredit/internal/deadline",
	"github.com/giftcredit/giftcredit/internal/dynamo",
	"github.com/giftcredit/giftcredit/internal/giftcode",
	"github.com/giftcredit/giftcredit/internal/giftcredit",
	"github.com/giftcredit/giftcredit/internal/money",
	// The one-table store implements the promotion run port; the
	// package is pure Go without templates or clients.
	"github.com/giftcredit/giftcredit/internal/promotion",
	// The store implements the webhook port too; pure Go over net/http,
	// which the SDK links anyway.
	"github.com/giftcredit/giftcredit/internal/webhook",
	"golang.org/x/text/",
}

// TestFunctionsLinkOnlyWhatTheyCall checks what each function's Lambda
// build (linux/arm64, tag lambda.norpc) links. A linked package costs binary
// size and its initialisers run at every cold start whether or not the
// function calls it (infra/bench, figure 3): internal/mail only where email
// is composed, text/template and html/template (whose reflective method
// calls kept about 4 MB of methods) nowhere, the SES client only where
// email is sent, SQS only where a queue is used, and
// the authorizer, on every API request's path, nothing beyond what
// resolves a key.
func TestFunctionsLinkOnlyWhatTheyCall(t *testing.T) {
	t.Parallel()
	tpl := mustLoadTemplate(t)
	dirs := makefileDirs(t)
	pkgs := map[string]string{} // import path → logical id
	var args []string
	for _, fn := range tpl.Functions {
		dir, ok := dirs[fn.LogicalID]
		if !ok {
			continue // TestTemplateFunctionsMatchMakefile reports it
		}
		pkgs["github.com/giftcredit/giftcredit/functions/"+dir] = fn.LogicalID
		args = append(args, "./functions/"+dir)
	}
	cmd := exec.Command("go", append([]string{"list", "-tags", "lambda.norpc", "-f", `{{.ImportPath}} {{join .Deps " "}}`}, args...)...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rules := []struct {
		pkgs    []string
		allowed []string
		why     string
	}{
		{[]string{"github.com/giftcredit/giftcredit/internal/mail"}, composers, "composes no email"},
		{[]string{"html/template", "text/template"}, nil, "renders no template"},
		{[]string{"github.com/aws/aws-sdk-go-v2/service/ses", "github.com/giftcredit/giftcredit/internal/sesmail"}, mailers, "sends no email"},
		{[]string{"github.com/aws/aws-sdk-go-v2/service/sqs"}, queueUsers, "uses no queue"},
		{[]string{"github.com/aws/aws-sdk-go-v2/service/eventbridge", "github.com/giftcredit/giftcredit/internal/eventbus"}, eventPublishers, "publishes no events"},
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, rest, _ := strings.Cut(line, " ")
		id, ok := pkgs[path]
		if !ok {
			t.Fatalf("go list printed %q, not one of the functions", path)
		}
		seen++
		deps := strings.Fields(rest)
		for _, r := range rules {
			allowed := slices.Contains(r.allowed, id)
			for _, p := range r.pkgs {
				if linked := slices.Contains(deps, p); linked && !allowed {
					t.Errorf("%s %s but links %s", id, r.why, p)
				} else if !linked && allowed && p == r.pkgs[0] {
					t.Errorf("%s links no %s: update this test's lists if it no longer needs it", id, p)
				}
			}
		}
		if id != "AuthorizerFunction" {
			continue
		}
		for _, d := range append(deps, path) {
			first, _, _ := strings.Cut(d, "/")
			if !strings.Contains(first, ".") {
				continue // the standard library (and its vendored packages)
			}
			if !slices.ContainsFunc(authorizerLinks, func(prefix string) bool { return strings.HasPrefix(d, prefix) }) {
				t.Errorf("AuthorizerFunction links %s, which resolving an API key does not need", d)
			}
		}
	}
	if seen != len(pkgs) {
		t.Errorf("go list reported %d of %d functions", seen, len(pkgs))
	}
}

// TestTemplateEventPublishers checks that each function that links the
// EventBridge client (eventPublishers) is told the bus (EVENT_BUS_NAME
// !Ref EventBus, EVENTS_ENDPOINT empty on AWS) and may call
// events:PutEvents on that bus only, and that no other function may call
// EventBridge at all. Without the variable a writer publishes nothing
// inline (eventsenv.Bus gives nil), and only the scheduled publisher's
// minute-late copy would reach the bus.
func TestTemplateEventPublishers(t *testing.T) {
	t.Parallel()
	tpl := mustLoadTemplate(t)
	for _, id := range eventPublishers {
		if _, ok := tpl.Function(id); !ok {
			t.Errorf("eventPublishers names %s, which the template does not define", id)
		}
	}
	for _, fn := range tpl.Functions {
		publisher := slices.Contains(eventPublishers, fn.LogicalID)
		var actions []string
		for _, st := range fn.Policies {
			for _, a := range st.Actions {
				if !strings.HasPrefix(a, "events:") {
					continue
				}
				actions = append(actions, a)
				if len(st.Resources) != 1 || st.Resources[0].GetAtt != "EventBus.Arn" {
					t.Errorf("%s statement %q: %s on %v, want only !GetAtt EventBus.Arn", fn.LogicalID, st.Sid, a, st.Resources)
				}
			}
		}
		if !publisher {
			if len(actions) > 0 {
				t.Errorf("%s publishes no events but is granted %v", fn.LogicalID, actions)
			}
			continue
		}
		if !slices.Equal(actions, []string{"events:PutEvents"}) {
			t.Errorf("%s publishes events: granted %v, want exactly events:PutEvents", fn.LogicalID, actions)
		}
		if v := fn.Environment["EVENT_BUS_NAME"]; v.Ref != "EventBus" {
			t.Errorf("%s EVENT_BUS_NAME = %q, want !Ref EventBus", fn.LogicalID, v)
		}
		if v, ok := fn.Environment["EVENTS_ENDPOINT"]; !ok || !v.IsLiteral() || v.Literal != "" {
			t.Errorf("%s EVENTS_ENDPOINT = %q (set: %v), want \"\" (the local stack sets its own)", fn.LogicalID, v, ok)
		}
	}
}
