// Package console serves the admin console: one HTML page, its script and
// its style sheet, embedded in the binary, for shop staff to do the seed
// workflows (credit a customer, sell a gift card and redeem it) and look at
// the ledger in a browser. It adapts API Gateway HTTP API events (payload
// format 2.0) to those static files only: the page itself calls the v1 API
// with the admin key the user types, so this package knows no domain code
// and no AWS client, and its routes need no authorizer.
//
// The script and style sheet are served under names that carry a hash of
// their content and are cached for a year; the page names them and is
// revalidated by ETag on every load, so a deployment is seen at once. Every
// answer carries a strict Content-Security-Policy: the page has no inline
// script or style, and may connect only to its own origin (the API).
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Path is where the page is served; assets are under Path + "/".
const Path = "/admin"

// Route is one route of the console as template.yaml declares it.
type Route struct {
	Method, Path string
}

// Key is the route key as API Gateway writes it.
func (r Route) Key() string { return r.Method + " " + r.Path }

// Routes are the console's routes. template.yaml declares exactly these on
// the console's function, without the API authorizer; a test holds the two
// together.
var Routes = []Route{
	{"GET", Path},
	{"GET", Path + "/{proxy+}"},
}

// ContentSecurityPolicy is sent with every answer. Nothing may load but the
// page's own files; the script may connect only to the page's origin (the
// v1 API); images only from the origin or data: URLs; the page may not be
// framed, change its base URL or post forms elsewhere.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Cache-Control values: the page is revalidated on every load (ETag), an
// asset under its hashed name never changes.
const (
	cachePage      = "no-cache"
	cacheImmutable = "public, max-age=31536000, immutable"
)

// asset is one file as served.
type asset struct {
	body        string
	contentType string
	etag        string
	cache       string
}

// Site is the console's files, ready to serve.
type Site struct {
	page   asset
	assets map[string]asset // by hashed name, e.g. "console.3f9a1c7e5b.js"
}

// contentTypes are the types of the files under static/.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// New reads the embedded files: every file but index.html becomes an asset
// under a hashed name, and index.html, whose references to
// "/admin/<name>" are rewritten to the hashed names, becomes the page.
// currencies (ISO code to exponent) is given to the page's script as a
// data attribute of <body>, so that amounts are read and shown with the
// server's own table.
func New(currencies map[string]int) (*Site, error) {
	s := &Site{assets: map[string]asset{}}
	entries, err := fs.ReadDir(static, "static")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	renames := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if name == "index.html" || e.IsDir() {
			continue
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return nil, fmt.Errorf("console: static/%s: no content type for %s", name, path.Ext(name))
		}
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		sum := hash(b)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + sum[:10] + ext
		renames[Path+"/"+name] = Path + "/" + hashed
		s.assets[hashed] = asset{body: string(b), contentType: ct, etag: `"` + sum[:16] + `"`, cache: cacheImmutable}
	}
	b, err := static.ReadFile("static/index.html")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	page := string(b)
	for from, to := range renames {
		quoted := `"` + from + `"`
		if !strings.Contains(page, quoted) {
			return nil, fmt.Errorf("console: index.html does not name %s", from)
		}
		page = strings.ReplaceAll(page, quoted, `"`+to+`"`)
	}
	cur, err := json.Marshal(currencies)
	if err != nil {
		return nil, fmt.Errorf("console: currencies: %w", err)
	}
	const marker = "data-currencies"
	if strings.Count(page, marker) != 1 {
		return nil, fmt.Errorf("console: index.html must have one %s attribute", marker)
	}
	page = strings.Replace(page, marker, marker+`="`+html.EscapeString(string(cur))+`"`, 1)
	s.page = asset{body: page, contentType: contentTypes[".html"], etag: `"` + hash([]byte(page))[:16] + `"`, cache: cachePage}
	return s, nil
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// AssetNames returns the hashed names of the assets, for tests and logs.
func (s *Site) AssetNames() []string {
	out := make([]string, 0, len(s.assets))
	for n := range s.assets {
		out = append(out, n)
	}
	return out
}

// lookup returns the file for a request path, if there is one.
func (s *Site) lookup(p string) (asset, bool) {
	if p == Path {
		return s.page, true
	}
	name, ok := strings.CutPrefix(p, Path+"/")
	if !ok {
		return asset{}, false
	}
	a, ok := s.assets[name]
	return a, ok
}
