package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// parseIdentitySource splits "$request.header.X" or
// "$request.querystring.x" into its kind and name.
func parseIdentitySource(src string) (kind, name string, ok bool) {
	for _, k := range []string{"header", "querystring"} {
		if n, found := strings.CutPrefix(src, "$request."+k+"."); found && n != "" {
			return k, n, true
		}
	}
	return "", "", false
}

// identityValues returns the values of the configured identity sources, or
// false when one is missing or empty.
func (g *gateway) identityValues(event *events.APIGatewayV2HTTPRequest) ([]string, bool) {
	var values []string
	for _, src := range g.cfg.IdentitySource {
		kind, name, _ := parseIdentitySource(src)
		var v string
		switch kind {
		case "header":
			v = event.Headers[strings.ToLower(name)]
		case "querystring":
			v = event.QueryStringParameters[name]
		}
		if v == "" {
			return nil, false
		}
		values = append(values, v)
	}
	return values, true
}

// authorize runs the Lambda authorizer for a request. It returns the
// context to put in requestContext.authorizer.lambda, or the status and
// message API Gateway answers instead: 401 for a missing identity source,
// 403 for a denial, 500 when the authorizer fails or answers nonsense.
func (g *gateway) authorize(ctx context.Context, r *http.Request, route compiledRoute, event *events.APIGatewayV2HTTPRequest) (map[string]any, int, string) {
	identity, ok := g.identityValues(event)
	if !ok {
		return nil, http.StatusUnauthorized, msgUnauthorized
	}
	routeARN := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s%s",
		g.cfg.Region, g.cfg.AccountID, g.cfg.APIID, g.cfg.Stage, r.Method, event.RawPath)
	req := events.APIGatewayV2CustomAuthorizerV2Request{
		Version:               "2.0",
		Type:                  "REQUEST",
		RouteArn:              routeARN,
		IdentitySource:        identity,
		RouteKey:              event.RouteKey,
		RawPath:               event.RawPath,
		RawQueryString:        event.RawQueryString,
		Cookies:               event.Cookies,
		Headers:               event.Headers,
		QueryStringParameters: event.QueryStringParameters,
		RequestContext:        event.RequestContext,
		PathParameters:        event.PathParameters,
		StageVariables:        event.StageVariables,
	}
	payload, err := json.Marshal(req)
	if err != nil {
		g.log.Error("encode authorizer request", "err", err)
		return nil, http.StatusInternalServerError, msgInternal
	}
	requestID := event.RequestContext.RequestID
	res, status := g.invoke(ctx, g.cfg.Authorizer, payload, requestID)
	if status != 0 {
		// Whatever went wrong with the authorizer, API Gateway answers 500.
		return nil, http.StatusInternalServerError, msgInternal
	}
	var (
		allowed     bool
		authContext map[string]any
	)
	if g.cfg.SimpleResponses {
		allowed, authContext, err = simpleDecision(res.Payload)
	} else {
		allowed, authContext, err = policyDecision(res.Payload, routeARN)
	}
	if err != nil {
		g.log.Error("malformed authorizer response", "function", g.cfg.Authorizer, "requestId", requestID, "err", err)
		return nil, http.StatusInternalServerError, msgInternal
	}
	if !allowed {
		return nil, http.StatusForbidden, msgForbidden
	}
	return authContext, 0, ""
}

// simpleDecision reads an {isAuthorized, context} answer.
func simpleDecision(payload []byte) (bool, map[string]any, error) {
	var resp struct {
		IsAuthorized *bool          `json:"isAuthorized"`
		Context      map[string]any `json:"context"`
	}
	if err := json.Unmarshal(payload, &resp); err != nil {
		return false, nil, fmt.Errorf("simple response: %w", err)
	}
	if resp.IsAuthorized == nil {
		return false, nil, fmt.Errorf("simple response without isAuthorized: %s", payload)
	}
	return *resp.IsAuthorized, resp.Context, nil
}

// stringList is an IAM policy field that may be one string or a list.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// policyDecision evaluates an IAM policy answer for routeARN as IAM does:
// an explicit Deny wins, then an Allow, and otherwise the request is denied.
func policyDecision(payload []byte, routeARN string) (bool, map[string]any, error) {
	var resp struct {
		PrincipalID    string `json:"principalId"`
		PolicyDocument struct {
			Statement []struct {
				Effect   string     `json:"Effect"`
				Action   stringList `json:"Action"`
				Resource stringList `json:"Resource"`
			} `json:"Statement"`
		} `json:"policyDocument"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(payload, &resp); err != nil {
		return false, nil, fmt.Errorf("policy response: %w", err)
	}
	allowed := false
	for _, st := range resp.PolicyDocument.Statement {
		if !matchesAny(st.Action, "execute-api:Invoke") || !matchesAny(st.Resource, routeARN) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false, nil, nil
		case "Allow":
			allowed = true
		}
	}
	return allowed, resp.Context, nil
}

// matchesAny reports whether one of the IAM patterns matches s.
func matchesAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against an IAM pattern, where * is any run of
// characters (slashes included) and ? any one character. It backtracks only
// to the last *, so it runs in O(len(p)*len(s)).
func wildcardMatch(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
