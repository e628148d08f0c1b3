package gateway

import (
	"fmt"
	"strings"
)

// Route is one route of the HTTP API: a method and a path template served
// by a function.
type Route struct {
	// Method is an HTTP method or "ANY".
	Method string
	// Path is a template such as "/v1/customers/{id}" or "/files/{proxy+}"
	// (a greedy variable, last segment only), or "$default" for the route
	// that catches every request no other route matches.
	Path string
	// Function is the name the gateway passes to Config.Invoke.
	Function string
	// NoAuthorizer exempts the route from Config.Authorizer (SAM's
	// `Auth: {Authorizer: NONE}` on an event).
	NoAuthorizer bool
}

// Key is the route key as API Gateway writes it: "GET /v1/customers/{id}"
// or "$default".
func (r Route) Key() string {
	if r.Path == defaultPath {
		return defaultPath
	}
	return r.Method + " " + r.Path
}

const defaultPath = "$default"

// segment kinds, in increasing specificity.
const (
	segGreedy = iota
	segParam
	segLiteral
)

type segment struct {
	kind int
	text string // the literal, or the variable's name
}

// compiledRoute is a Route with its template parsed.
type compiledRoute struct {
	Route
	segs []segment
}

// compile parses r's path template.
func compile(r Route) (compiledRoute, error) {
	c := compiledRoute{Route: r}
	if r.Function == "" {
		return c, fmt.Errorf("route %q: no function", r.Key())
	}
	if r.Path == defaultPath {
		return c, nil
	}
	if r.Method == "" || strings.ToUpper(r.Method) != r.Method {
		return c, fmt.Errorf("route %q: method must be upper case or ANY", r.Key())
	}
	if !strings.HasPrefix(r.Path, "/") {
		return c, fmt.Errorf("route %q: path must start with /", r.Key())
	}
	parts := splitPath(r.Path)
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}"):
			if i != len(parts)-1 {
				return c, fmt.Errorf("route %q: a greedy variable must be the last segment", r.Key())
			}
			c.segs = append(c.segs, segment{segGreedy, p[1 : len(p)-2]})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			c.segs = append(c.segs, segment{segParam, p[1 : len(p)-1]})
		case strings.ContainsAny(p, "{}"):
			return c, fmt.Errorf("route %q: a variable must be a whole segment", r.Key())
		default:
			c.segs = append(c.segs, segment{segLiteral, p})
		}
	}
	return c, nil
}

// splitPath cuts "/a/b" into ["a", "b"]; "/" has no segments.
func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match returns the path parameters when c serves a request for method and
// the decoded path parts.
func (c compiledRoute) match(method string, parts []string) (map[string]string, bool) {
	if c.Path == defaultPath || (c.Method != "ANY" && c.Method != method) {
		return nil, false
	}
	var params map[string]string
	set := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
	}
	for i, s := range c.segs {
		if s.kind == segGreedy {
			if i >= len(parts) {
				return nil, false
			}
			rest := strings.Join(parts[i:], "/")
			if rest == "" {
				return nil, false
			}
			set(s.text, rest)
			return params, true
		}
		if i >= len(parts) {
			return nil, false
		}
		switch s.kind {
		case segLiteral:
			if parts[i] != s.text {
				return nil, false
			}
		case segParam:
			if parts[i] == "" {
				return nil, false
			}
			set(s.text, parts[i])
		}
	}
	return params, len(parts) == len(c.segs)
}

// moreSpecific orders two routes that both match a request: literal
// segments beat variables, which beat greedy variables, from the left; then
// a named method beats ANY.
func moreSpecific(a, b compiledRoute) bool {
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if a.segs[i].kind != b.segs[i].kind {
			return a.segs[i].kind > b.segs[i].kind
		}
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	return a.Method != "ANY" && b.Method == "ANY"
}

// router picks the route for a request.
type router struct {
	routes []compiledRoute
	dflt   *compiledRoute
}

func newRouter(routes []Route) (*router, error) {
	rt := &router{}
	seen := map[string]bool{}
	for _, r := range routes {
		c, err := compile(r)
		if err != nil {
			return nil, err
		}
		if seen[r.Key()] {
			return nil, fmt.Errorf("route %q declared twice", r.Key())
		}
		seen[r.Key()] = true
		if r.Path == defaultPath {
			rt.dflt = &c
			continue
		}
		rt.routes = append(rt.routes, c)
	}
	return rt, nil
}

// route returns the most specific route for method and the decoded path,
// with its path parameters; of equally specific routes, the first declared.
func (rt *router) route(method, path string) (compiledRoute, map[string]string, bool) {
	parts := splitPath(path)
	var (
		best   compiledRoute
		params map[string]string
		found  bool
	)
	for _, c := range rt.routes {
		p, ok := c.match(method, parts)
		if !ok {
			continue
		}
		if !found || moreSpecific(c, best) {
			best, params, found = c, p, true
		}
	}
	if !found && rt.dflt != nil {
		return *rt.dflt, nil, true
	}
	return best, params, found
}
