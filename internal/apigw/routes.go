// Package apigw adapts API Gateway HTTP API (payload format 2.0) events to the
// giftcredit domain: it authenticates the caller from the authorizer context,
// decodes and validates requests, calls the domain, and writes JSON or RFC 9457
// problem+json responses. It is the only package that knows events.* types.
package apigw

import gc "github.com/giftcredit/giftcredit/internal/giftcredit"

// The roles a route may require.
const (
	RoleShop  = gc.RoleShop
	RoleAdmin = gc.RoleAdmin
)

// Route is one HTTP route of the v1 API: the method and path as declared in
// template.yaml, the least role allowed to call it, and the template.yaml
// function (logical id) that serves it.
type Route struct {
	Method   string
	Path     string
	Role     gc.Role
	Function string
}

// Key returns the route key as API Gateway writes it, e.g. "GET /v1/orders/{id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Routes is the v1 API. template.yaml must declare exactly these routes, each
// on the function named here; a test holds the two together.
var Routes = []Route{
	{"POST", "/v1/customers", RoleShop, "CustomersFunction"},
	{"GET", "/v1/customers", RoleShop, "CustomersFunction"},
	{"GET", "/v1/customers/{id}", RoleShop, "CustomersFunction"},
	{"GET", "/v1/customers/{id}/transactions", RoleShop, "CustomersFunction"},
	{"GET", "/v1/customers/{id}/lots", RoleShop, "CustomersFunction"},
	{"POST", "/v1/orders", RoleShop, "OrdersFunction"},
	{"GET", "/v1/orders/{id}", RoleShop, "OrdersFunction"},
	{"POST", "/v1/customers/{id}/redemptions", RoleShop, "RedemptionFunction"},
	{"POST", "/v1/gift-cards/check", RoleShop, "RedemptionFunction"},
	{"POST", "/v1/gift-cards/{id}/disable", RoleAdmin, "RedemptionFunction"},
	{"POST", "/v1/customers/{id}/credits", RoleAdmin, "CreditsFunction"},
	{"POST", "/v1/customers/{id}/transactions/{txId}/reversals", RoleAdmin, "CreditsFunction"},
	{"POST", "/v1/customers/{id}/credit-applications", RoleShop, "CreditApplicationsFunction"},
	{"POST", "/v1/promotions", RoleAdmin, "PromotionsFunction"},
	{"GET", "/v1/promotions", RoleAdmin, "PromotionsFunction"},
	{"GET", "/v1/promotions/{id}", RoleAdmin, "PromotionsFunction"},
	{"POST", "/v1/promotions/{id}/pause", RoleAdmin, "PromotionsFunction"},
	{"POST", "/v1/promotions/{id}/resume", RoleAdmin, "PromotionsFunction"},
	{"POST", "/v1/holds", RoleShop, "CheckoutFunction"},
	{"GET", "/v1/holds/{id}", RoleShop, "CheckoutFunction"},
	{"POST", "/v1/holds/{id}/captures", RoleShop, "CheckoutFunction"},
	{"POST", "/v1/holds/{id}/void", RoleShop, "CheckoutFunction"},
	{"POST", "/v1/refunds", RoleShop, "CheckoutFunction"},
	{"GET", "/v1/reports/liability", RoleAdmin, "ReportsFunction"},
	// Webhooks (issue 14).
	{"POST", "/v1/webhooks", RoleAdmin, "WebhooksFunction"},
	{"GET", "/v1/webhooks", RoleAdmin, "WebhooksFunction"},
	{"DELETE", "/v1/webhooks/{id}", RoleAdmin, "WebhooksFunction"},
	{"GET", "/v1/webhooks/{id}/deliveries", RoleAdmin, "WebhooksFunction"},
}
