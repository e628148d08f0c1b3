package apigw

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/webhook"
)

// hostTable resolves the test's webhook hosts without DNS: one public,
// some that point inside (the SSRF cases), any other name is unknown.
type hostTable map[string][]string

func (h hostTable) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := h[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

var testResolver = hostTable{
	"hooks.corner-books.example":    {"93.184.215.14"},
	"internal.corner-books.example": {"93.184.215.15", "10.1.2.3"},
	"metadata.corner-books.example": {"169.254.169.254"},
	"v6loop.corner-books.example":   {"::1"},
}

func (e *env) mustWebhook(tb testing.TB, a gc.Actor) webhook.Webhook {
	tb.Helper()
	w, err := e.store.CreateWebhook(e.ctx, a, "", webhook.NewWebhook{URL: "https://hooks.corner-books.example/in"})
	if err != nil {
		tb.Fatalf("create webhook: %v", err)
	}
	return w
}

func onWebhook(t testing.TB, e *env) []adjust {
	return []adjust{withPath("id", e.mustWebhook(t, e.admin).ID)}
}

// webhookRouteCases are the route matrix's cases of the webhook routes.
func webhookRouteCases() []routeCase {
	refused := func(name, url string) routeCase {
		return routeCase{name: name, event: "webhooks-create.json", caller: adminKey, status: 400, field: "url",
			setup: adj(withPatch(map[string]any{"url": url}))}
	}
	return []routeCase{
		// ------------------------------------------------- POST /v1/webhooks
		{name: "registered with a secret shown once, sealed at rest", event: "webhooks-create.json", caller: adminKey, status: 201,
			check: func(t testing.TB, e *env, r response) {
				w := decodeAs[webhook.Webhook](t, r)
				if !strings.HasPrefix(w.ID, "whk_") || !strings.HasPrefix(w.Secret, "whsec_") || len(w.Types) != 2 ||
					w.URL != "https://hooks.corner-books.example/giftcredit" {
					t.Fatalf("created %s", r.Body)
				}
				out, err := e.client.Scan(e.ctx, &dynamodb.ScanInput{TableName: aws.String("giftcredit")})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range out.Items {
					for k, v := range it {
						if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, w.Secret) {
							t.Errorf("the secret is stored in plaintext in %s", k)
						}
					}
				}
				got, err := e.store.Webhook(e.ctx, e.shop.ID, w.ID)
				if err != nil || got.Secret != w.Secret {
					t.Errorf("the sealed secret does not open to the one shown: %v", err)
				}
				list := e.do(t, adminKey, e.event(t, "webhooks-list.json"))
				if strings.Contains(list.Body, w.Secret) {
					t.Errorf("the list shows the secret")
				}
			}},
		{name: "all types when none are listed", event: "webhooks-create.json", caller: adminKey, status: 201,
			setup: adj(withBody(map[string]any{"url": "https://hooks.corner-books.example/all"})),
			check: func(t testing.TB, e *env, r response) {
				if w := decodeAs[webhook.Webhook](t, r); len(w.Types) != 0 || !w.Wants(gc.EventCreditExpired) {
					t.Errorf("created %s", r.Body)
				}
			}},
		{name: "not by a shop key", event: "webhooks-create.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN},
		{name: "another shop registers its own", event: "webhooks-create.json", caller: otherKey, status: 201},
		refused("plain http", "http://hooks.corner-books.example/in"),
		refused("http to loopback (allowed only by the local stack)", "http://127.0.0.1:8080/in"),
		refused("a name that resolves to a private address too", "https://internal.corner-books.example/in"),
		refused("a name that resolves to the metadata service", "https://metadata.corner-books.example/"),
		refused("a name that resolves to IPv6 loopback", "https://v6loop.corner-books.example/"),
		refused("a name that does not resolve", "https://nowhere.corner-books.example/"),
		refused("a private address", "https://10.0.0.1/in"),
		refused("a link-local address", "https://169.254.169.254/latest/meta-data"),
		refused("loopback", "https://127.0.0.1/in"),
		refused("IPv6 loopback", "https://[::1]/in"),
		refused("IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/in"),
		refused("unspecified", "https://0.0.0.0/in"),
		refused("credentials in the URL", "https://user:pw@hooks.corner-books.example/in"),
		refused("not a URL", "hooks.corner-books.example"),
		refused("ftp", "ftp://hooks.corner-books.example/"),
		{name: "an unknown event type", event: "webhooks-create.json", caller: adminKey, status: 400, field: "types",
			setup: adj(withPatch(map[string]any{"types": []string{"giftcard.stolen"}}))},
		{name: "an unknown field", event: "webhooks-create.json", caller: adminKey, status: 400,
			setup: adj(withPatch(map[string]any{"secret": "mine"}))},

		// -------------------------------------------------- GET /v1/webhooks
		{name: "listed without secrets", event: "webhooks-list.json", caller: adminKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust { e.note["w"] = e.mustWebhook(t, e.admin).ID; return nil },
			check: func(t testing.TB, e *env, r response) {
				l := decodeAs[webhook.WebhookList](t, r)
				found := false
				for _, w := range l.Webhooks {
					found = found || w.ID == e.note["w"]
					if w.Secret != "" {
						t.Errorf("listed a secret")
					}
				}
				if !found {
					t.Errorf("list = %s, want %s", r.Body, e.note["w"])
				}
			}},
		{name: "list not by a shop key", event: "webhooks-list.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN},
		{name: "another shop sees none of ours", event: "webhooks-list.json", caller: otherKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust { e.note["w"] = e.mustWebhook(t, e.admin).ID; return nil },
			check: func(t testing.TB, e *env, r response) {
				if strings.Contains(r.Body, e.note["w"]) {
					t.Errorf("shop B sees %s", r.Body)
				}
			}},

		// ------------------------------------------- DELETE /v1/webhooks/{id}
		{name: "deleted", event: "webhooks-delete.json", caller: adminKey, status: 200,
			setup: func(t testing.TB, e *env) []adjust {
				w := e.mustWebhook(t, e.admin)
				e.note["w"] = w.ID
				return []adjust{withPath("id", w.ID)}
			},
			check: func(t testing.TB, e *env, r response) {
				if _, err := e.store.Webhook(e.ctx, e.shop.ID, e.note["w"]); gc.ErrorCode(err) != gc.ENOTFOUND {
					t.Errorf("the webhook is still active: %v", err)
				}
				again := e.do(t, adminKey, e.event(t, "webhooks-delete.json", withPath("id", e.note["w"])))
				expect(t, again, 404, gc.ENOTFOUND)
			}},
		{name: "delete not by a shop key", event: "webhooks-delete.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN, setup: onWebhook},
		{name: "another shop's webhook", event: "webhooks-delete.json", caller: otherKey, status: 404, code: gc.ENOTFOUND, setup: onWebhook},
		{name: "an unknown webhook", event: "webhooks-delete.json", caller: adminKey, status: 404, code: gc.ENOTFOUND},

		// --------------------------------- GET /v1/webhooks/{id}/deliveries
		{name: "no deliveries yet", event: "webhooks-deliveries.json", caller: adminKey, status: 200, setup: onWebhook,
			check: func(t testing.TB, e *env, r response) {
				if p := decodeAs[webhook.DeliveryPage](t, r); len(p.Deliveries) != 0 || p.NextCursor != "" {
					t.Errorf("deliveries = %s", r.Body)
				}
			}},
		{name: "deliveries not by a shop key", event: "webhooks-deliveries.json", caller: shopKey, status: 403, code: gc.EFORBIDDEN, setup: onWebhook},
		{name: "another shop's deliveries", event: "webhooks-deliveries.json", caller: otherKey, status: 404, code: gc.ENOTFOUND, setup: onWebhook},
		{name: "deliveries page too large", event: "webhooks-deliveries.json", caller: adminKey, status: 400, field: "limit",
			setup: func(t testing.TB, e *env) []adjust { return append(onWebhook(t, e), withQuery("limit", "1000")) }},
		{name: "a cursor that is not one", event: "webhooks-deliveries.json", caller: adminKey, status: 400, field: "cursor",
			setup: func(t testing.TB, e *env) []adjust { return append(onWebhook(t, e), withQuery("cursor", "!!")) }},
	}
}
