package samtemplate

import (
	"debug/elf"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/giftcredit/giftcredit/internal/apigw"
	"github.com/giftcredit/giftcredit/internal/console"
)

// The template test: it holds template.yaml together with the code that
// depends on it (the route table, the function mains, the Makefile) and
// with the decisions the template must keep (least privilege, no literal
// secrets, the table schema, the runtime settings).

// repoRoot is the repository root, relative to this package's directory.
const repoRoot = "../.."

// mailers are the functions that send email; only they may use SES.
var mailers = []string{"OrdersFunction", "EmailSenderFunction", "AuditFunction", "CreditExpiryFunction"}

// sesIdentityARN is the only resource SES actions may be granted on.
const sesIdentityARN = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderIdentityName}"

func mustLoadTemplate(tb testing.TB) *Template {
	tb.Helper()
	tpl, err := Load(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		tb.Fatalf("load template.yaml: %v", err)
	}
	return tpl
}

// makefileDirs returns the DIR_<LogicalId> := <dir> variables of the
// Makefile: the function directory `make build-<LogicalId>` builds.
func makefileDirs(tb testing.TB) map[string]string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		tb.Fatalf("read Makefile: %v", err)
	}
	re := regexp.MustCompile(`(?m)^DIR_(\w+)\s*:?=\s*(\S+)\s*$`)
	dirs := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		dirs[m[1]] = m[2]
	}
	return dirs
}

func TestTemplateFunctionsMatchMakefile(t *testing.T) {
	t.Parallel()
	tpl := mustLoadTemplate(t)
	dirs := makefileDirs(t)
	for _, fn := range tpl.Functions {
		if _, ok := dirs[fn.LogicalID]; !ok {
			t.Errorf("%s: no DIR_%s in the Makefile, so make build-%s cannot build it", fn.LogicalID, fn.LogicalID, fn.LogicalID)
		}
		if fn.BuildMethod != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod = %q, want makefile", fn.LogicalID, fn.BuildMethod)
		}
		if fn.Handler != "bootstrap" {
			t.Errorf("%s: Handler = %q, want bootstrap", fn.LogicalID, fn.Handler)
		}
		info, err := os.Stat(filepath.Join(repoRoot, fn.CodeURI))
		if fn.CodeURI == "" || err != nil || !info.IsDir() {
			t.Errorf("%s: CodeUri %q is not a directory of the repository (%v)", fn.LogicalID, fn.CodeURI, err)
		}
	}
	for id := range dirs {
		if _, ok := tpl.Function(id); !ok {
			t.Errorf("Makefile has DIR_%s but template.yaml has no such function (make build would build it)", id)
		}
	}
}

// TestTemplateFunctionsBuild runs SAM's build step, `make build-<LogicalId>`
// with ARTIFACTS_DIR, for every function, and checks it leaves a linux/arm64
// bootstrap executable there.
func TestTemplateFunctionsBuild(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds every function; skipped with -short")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make not found: %v", err)
	}
	tpl := mustLoadTemplate(t)
	for _, fn := range tpl.Functions {
		t.Run(fn.LogicalID, func(t *testing.T) {
			t.Parallel()
			artifacts := t.TempDir()
			cmd := exec.Command("make", "--no-print-directory", "build-"+fn.LogicalID,
				"ARTIFACTS_DIR="+artifacts, "LAMBDA_GOARCH=arm64")
			cmd.Dir = repoRoot
			cmd.Env = withoutMakeVars(os.Environ())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make build-%s: %v\n%s", fn.LogicalID, err, out)
			}
			bootstrap := filepath.Join(artifacts, "bootstrap")
			f, err := elf.Open(bootstrap)
			if err != nil {
				t.Fatalf("make build-%s left no executable bootstrap in ARTIFACTS_DIR: %v", fn.LogicalID, err)
			}
			defer f.Close()
			if f.Machine != elf.EM_AARCH64 {
				t.Errorf("bootstrap is built for %v, want %v (Architectures: arm64)", f.Machine, elf.EM_AARCH64)
			}
			if info, err := os.Stat(bootstrap); err != nil || info.Mode()&0o111 == 0 {
				t.Errorf("bootstrap is not executable (%v)", err)
			}
		})
	}
}

// withoutMakeVars drops the variables a parent make (make test) passes
// down, so each build runs like SAM's: a fresh make with only our overrides.
func withoutMakeVars(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "MAKEFLAGS" || name == "MFLAGS" || name == "MAKELEVEL"
	})
}

func TestTemplateRoutesAreTheAPI(t *testing.T) {
	t.Parallel()
	tpl := mustLoadTemplate(t)

	declared := map[string][]string{} // route key -> functions declaring it
	for _, fn := range tpl.Functions {
		for _, r := range fn.Routes {
			declared[r.Key()] = append(declared[r.Key()], fn.LogicalID)
			if r.PayloadFormatVersion != "2.0" {
				t.Errorf("%s %s: PayloadFormatVersion = %q, want 2.0", fn.LogicalID, r.Key(), r.PayloadFormatVersion)
			}
			if r.ApiID == "" || r.ApiID != tpl.HttpApiLogicalID {
				t.Errorf("%s %s: ApiId = %q, want !Ref %s (without it SAM creates a second, implicit API)", fn.LogicalID, r.Key(), r.ApiID, tpl.HttpApiLogicalID)
			}
			if isConsoleRoute(r.Key()) {
				// The console's static files are open: the page asks for the
				// admin key and sends it to the v1 API itself.
				if fn.LogicalID != consoleFunction || r.Authorizer != NoAuthorizer {
					t.Errorf("%s %s: a console route must be on %s with Auth.Authorizer NONE (authorizer %q)", fn.LogicalID, r.Key(), consoleFunction, r.Authorizer)
				}
				continue
			}
			if r.Authorizer == "" || r.Authorizer != tpl.Authorizer.Name {
				t.Errorf("%s %s: authorizer = %q, want the default authorizer %q", fn.LogicalID, r.Key(), r.Authorizer, tpl.Authorizer.Name)
			}
		}
		for _, ev := range fn.OtherEvents {
			t.Errorf("%s: event %s has type %s; only HttpApi, Schedule and SQS events are expected", fn.LogicalID, ev.Name, ev.Type)
		}
	}

	want := map[string]bool{}
	for _, r := range apigw.Routes {
		want[r.Key()] = true
		fns := declared[r.Key()]
		switch {
		case len(fns) == 0:
			t.Errorf("%s (apigw.Routes, served by %s) is not declared in template.yaml", r.Key(), r.Function)
		case len(fns) > 1:
			t.Errorf("%s is declared %d times (%s), want once", r.Key(), len(fns), strings.Join(fns, ", "))
		case fns[0] != r.Function:
			t.Errorf("%s is declared on %s, but apigw.Routes says %s serves it", r.Key(), fns[0], r.Function)
		}
	}
	for _, r := range console.Routes {
		want[r.Key()] = true
		if fns := declared[r.Key()]; len(fns) != 1 || fns[0] != consoleFunction {
			t.Errorf("%s (console.Routes) is declared on %v, want once on %s", r.Key(), fns, consoleFunction)
		}
	}
	for key, fns := range declared {
		if !want[key] {
			t.Errorf("%s (on %s) is declared in template.yaml but not in apigw.Routes", key, strings.Join(fns, ", "))
		}
	}
}

// consoleFunction serves the admin console's routes (console.Routes).
const consoleFunction = "AdminFunction"

func isConsoleRoute(key string) bool {
	return slices.ContainsFunc(console.Routes, func(r console.Route) bool { return r.Key() == key })
}

func TestTemplateAuthorizer(t *testing.T) {
	t.Parallel()
	tpl := mustLoadTemplate(t)
	a := tpl.Authorizer
	if a.Name == "" {
		t.Fatalf("the HttpApi %q has no DefaultAuthorizer", tpl.HttpApiLogicalID)
	}
	if a.FunctionLogicalID != "AuthorizerFunction" {
		t.Errorf("authorizer function = %q, want AuthorizerFunction", a.FunctionLogicalID)
	}
	if a.PayloadFormatVersion != "2.0" || !a.SimpleResponses {
		t.Errorf("authorizer payload %q, simple responses %v; want 2.0, true", a.PayloadFormatVersion, a.SimpleResponses)
	}
	// Without an identity source every request reaches the authorizer, so a
	// missing key gets the function's problem+json 401, not API Gateway's.
	if len(a.IdentitySources) > 0 {
		t.Errorf("authorizer identity sources = %v, want none", a.IdentitySources)
	}
	if a.TTLSeconds != 0 {
		t.Errorf("authorizer TTL = %d, want 0 (no caching: no identity source, and revocation takes effect at once)", a.TTLSeconds)
	}
	if fn, ok := tpl.Function(a.FunctionLogicalID); ok && len(fn.Routes) > 0 {
		t.Errorf("the authorizer function serves routes %v", fn.Routes)
	}
	api := tpl.HttpApi
	if !api.FailOnWarnings {
		t.Error("HttpApi FailOnWarnings is not true")
	}
	if api.CORSConfigured {
		t.Error("HttpApi has CORS configured; the API is for shop backends, not browsers")
	}
	if api.ThrottlingBurstLimit <= 0 || api.ThrottlingRateLimit <= 0 {
		t.Errorf("HttpApi default route throttling = burst %d, rate %v; want both set", api.ThrottlingBurstLimit, api.ThrottlingRateLimit)
	}
}

func TestTemplatePoliciesAreLeastPrivilege(t *testing.T) {
	t.Parallel()
	tpl := mustLoadTemplate(t)
	tableResources := map[string]bool{"!GetAtt Table.Arn": true, `!Sub "${Table.Arn}/index/*"`: true}

	for _, fn := range tpl.Functions {
		if len(fn.ManagedPolicies) > 0 || len(fn.PolicyTemplates) > 0 {
			t.Errorf("%s: managed policies %v / policy templates %v; write inline statements so this test can check them",
				fn.LogicalID, fn.ManagedPolicies, fn.PolicyTemplates)
		}
		var dynamoActions, sesActions []string
		for _, st := range fn.Policies {
			name := fn.LogicalID + " statement " + strconv.Quote(st.Sid)
			if len(st.NotActions) > 0 || len(st.NotResources) > 0 {
				t.Errorf("%s: uses NotAction/NotResource", name)
			}
			if len(st.Resources) == 0 {
				t.Errorf("%s: no Resource", name)
			}
			for _, r := range st.Resources {
				if r.IsLiteral() && strings.TrimSpace(r.Literal) == "*" {
					t.Errorf("%s: Resource \"*\"", name)
				}
			}
			for _, a := range st.Actions {
				if a == "*" || strings.HasSuffix(a, ":*") {
					t.Errorf("%s: Action %q", name, a)
				}
				service, _, _ := strings.Cut(a, ":")
				switch service {
				case "dynamodb":
					dynamoActions = append(dynamoActions, a)
					for _, r := range st.Resources {
						if !tableResources[r.String()] {
							t.Errorf("%s: DynamoDB action on %s; only the table and its indexes are allowed", name, r)
						}
					}
				case "ses":
					sesActions = append(sesActions, a)
					for _, r := range st.Resources {
						if r.Sub != sesIdentityARN {
							t.Errorf("%s: SES action on %s, want only the sender identity %s", name, r, sesIdentityARN)
						}
					}
				}
			}
		}
		if fn.LogicalID == "AuthorizerFunction" && !slices.Equal(dynamoActions, []string{"dynamodb:GetItem"}) {
			t.Errorf("AuthorizerFunction DynamoDB actions = %v, want only dynamodb:GetItem", dynamoActions)
		}
		isMailer := slices.Contains(mailers, fn.LogicalID)
		if !isMailer && len(sesActions) > 0 {
			t.Errorf("%s sends no email but is granted %v", fn.LogicalID, sesActions)
		}
		if isMailer && !slices.Contains(sesActions, "ses:SendEmail") && !slices.Contains(sesActions, "ses:SendRawEmail") {
			t.Errorf("%s sends email but is granted no ses:SendEmail/SendRawEmail", fn.LogicalID)
		}
	}
}

func TestTemplateEnvironment(t *testing.T) {
	t.Parallel()
	tpl := mustLoadTemplate(t)

	globals := tpl.GlobalFunction.Environment
	for name, want := range map[string]Value{
		"TABLE_NAME":        {Ref: "Table"},
		"STAGE":             {Ref: "Stage"},
		"DYNAMODB_ENDPOINT": {Literal: ""},
		"SES_ENDPOINT":      {Literal: ""},
	} {
		if got, ok := globals[name]; !ok || got.String() != want.String() || !got.IsLiteral() != !want.IsLiteral() {
			t.Errorf("Globals env %s = %q, want %q", name, got, want)
		}
	}
	for _, id := range []string{"OrdersFunction", "RedemptionFunction"} {
		fn, ok := tpl.Function(id)
		if !ok {
			t.Errorf("no %s", id)
			continue
		}
		if v := fn.Environment["CODE_HASH_SECRET"]; !strings.HasPrefix(v.Sub, "{{resolve:secretsmanager:${CodeHashSecretName}") {
			t.Errorf("%s CODE_HASH_SECRET = %s, want a Secrets Manager dynamic reference built from CodeHashSecretName", id, v)
		}
	}
	for _, id := range mailers {
		if fn, ok := tpl.Function(id); ok && fn.Environment["SENDER_ADDRESS"].Ref != "SenderAddress" {
			t.Errorf("%s SENDER_ADDRESS = %s, want !Ref SenderAddress", id, fn.Environment["SENDER_ADDRESS"])
		}
	}
	// A secret is never written into the template.
	for _, fn := range tpl.Functions {
		for name, v := range fn.Environment {
			if strings.Contains(name, "SECRET") && !strings.Contains(v.Sub, "{{resolve:") {
				t.Errorf("%s %s = %s: a secret must come from a dynamic reference, never a literal", fn.LogicalID, name, v)
			}
		}
	}
	for _, p := range []string{"Stage", "SenderAddress", "AdminAddress", "SenderIdentityName", "CodeHashSecretName"} {
		if _, ok := tpl.Parameters[p]; !ok {
			t.Errorf("no parameter %s", p)
		}
	}
	if p := tpl.Parameters["Stage"]; p.Default != "dev" {
		t.Errorf("Stage default = %q, want dev", p.Default)
	}
}

// TestTemplateEnvironmentCoversMains checks that every environment variable a
// function's main package reads is set for it by the template.
func TestTemplateEnvironmentCoversMains(t *testing.T) {
	t.Parallel()
	tpl := mustLoadTemplate(t)
	dirs := makefileDirs(t)
	for _, fn := range tpl.Functions {
		t.Run(fn.LogicalID, func(t *testing.T) {
			t.Parallel()
			dir, ok := dirs[fn.LogicalID]
			if !ok {
				t.Fatalf("no DIR_%s in the Makefile", fn.LogicalID)
			}
			pkgDir := filepath.Join(repoRoot, "functions", dir)
			names, err := envReads(pkgDir)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				if lambdaProvided(n) {
					continue
				}
				if _, ok := fn.Environment[n]; !ok {
					t.Errorf("functions/%s reads %s, but template.yaml does not set it for %s", dir, n, fn.LogicalID)
				}
			}
		})
	}
}

// lambdaProvided reports whether Lambda's runtime sets the variable itself
// (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME, _X_AMZN_TRACE_ID, TZ, ...).
func lambdaProvided(name string) bool {
	return strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "LAMBDA_") ||
		strings.HasPrefix(name, "_") || name == "TZ"
}

// envReads returns the environment variable names the Go package in dir
// reads with os.Getenv or os.LookupEnv, sorted. A name must be a string
// literal or a package-level string constant, either in the call itself or
// passed to a package-level helper whose parameter reaches os.Getenv.
func envReads(dir string) ([]string, error) {
	fset := token.NewFileSet()
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, m := range matches {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, m, nil, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, errors.New(dir + " has no Go files (no main.go yet?)")
	}

	consts := map[string]string{}
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							consts[n.Name] = s
						}
					}
				}
			}
		}
	}
	constant := func(e ast.Expr) (string, bool) {
		if s, ok := stringLit(e); ok {
			return s, true
		}
		if id, ok := e.(*ast.Ident); ok {
			s, ok := consts[id.Name]
			return s, ok
		}
		return "", false
	}

	type helperParam struct {
		fn    string
		index int
	}
	seen := map[string]bool{}
	helpers := map[helperParam]bool{}
	var problems []string
	for _, f := range files {
		osNames := importNames(f, "os")
		if len(osNames) == 0 {
			continue
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Getenv" && sel.Sel.Name != "LookupEnv") {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); !ok || !osNames[x.Name] {
					return true
				}
				if s, ok := constant(call.Args[0]); ok {
					seen[s] = true
					return true
				}
				if id, ok := call.Args[0].(*ast.Ident); ok && fd.Recv == nil {
					if i := paramIndex(fd, id.Name); i >= 0 {
						helpers[helperParam{fd.Name.Name, i}] = true
						return true
					}
				}
				problems = append(problems, fset.Position(call.Pos()).String()+": os."+sel.Sel.Name+" with a name this test cannot see; use a string literal or constant")
				return true
			})
		}
	}
	if len(helpers) > 0 {
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				id, ok := call.Fun.(*ast.Ident)
				if !ok {
					return true
				}
				for hp := range helpers {
					if hp.fn != id.Name || hp.index >= len(call.Args) {
						continue
					}
					if s, ok := constant(call.Args[hp.index]); ok {
						seen[s] = true
					} else {
						problems = append(problems, fset.Position(call.Pos()).String()+": "+id.Name+" with a name this test cannot see; use a string literal or constant")
					}
				}
				return true
			})
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// importNames returns the names file f uses for the package at path.
func importNames(f *ast.File, path string) map[string]bool {
	names := map[string]bool{}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p != path {
			continue
		}
		if imp.Name != nil {
			names[imp.Name.Name] = true
		} else {
			names[filepath.Base(path)] = true
		}
	}
	return names
}

func paramIndex(fd *ast.FuncDecl, name string) int {
	i := 0
	for _, field := range fd.Type.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			if n.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

func TestTemplateEnvReadsParser(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `package main

import (
	"os"
	envpkg "os"
)

const tableVar = "TABLE_NAME"

func env(name string) string { return os.Getenv(name) }

func main() {
	_ = os.Getenv(tableVar)
	_, _ = envpkg.LookupEnv("STAGE")
	_ = env("SENDER_ADDRESS")
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := envReads(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"SENDER_ADDRESS", "STAGE", "TABLE_NAME"}; !slices.Equal(got, want) {
		t.Errorf("envReads = %v, want %v", got, want)
	}

	bad := "package main\n\nimport \"os\"\n\nfunc main() { n := \"X\"; _ = os.Getenv(n) }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := envReads(dir); err == nil {
		t.Error("envReads accepted an os.Getenv with a name it cannot see")
	}
}

func TestTemplateTable(t *testing.T) {
	t.Parallel()
	tbl := mustLoadTemplate(t).Table
	wantAttrs := map[string]string{"PK": "S", "SK": "S", "GSI1PK": "S", "GSI1SK": "S", "GSI2PK": "S", "GSI2SK": "S",
		"GSI3PK": "S", "GSI3SK": "S"}
	if len(tbl.Attributes) != len(wantAttrs) {
		t.Errorf("attributes = %v, want %v", tbl.Attributes, wantAttrs)
	}
	for name, typ := range wantAttrs {
		if tbl.Attributes[name] != typ {
			t.Errorf("attribute %s has type %q, want %q", name, tbl.Attributes[name], typ)
		}
	}
	if tbl.HashKey != "PK" || tbl.RangeKey != "SK" {
		t.Errorf("key = %s/%s, want PK/SK", tbl.HashKey, tbl.RangeKey)
	}
	wantGSIs := []GSI{
		{Name: "GSI1", HashKey: "GSI1PK", RangeKey: "GSI1SK", Projection: "ALL"},
		{Name: "GSI2", HashKey: "GSI2PK", RangeKey: "GSI2SK", Projection: "ALL"},
		{Name: "GSI3", HashKey: "GSI3PK", RangeKey: "GSI3SK", Projection: "KEYS_ONLY"},
	}
	if !slices.Equal(tbl.GSIs, wantGSIs) {
		t.Errorf("GSIs = %+v, want %+v", tbl.GSIs, wantGSIs)
	}
	if tbl.BillingMode != "PAY_PER_REQUEST" {
		t.Errorf("BillingMode = %q, want PAY_PER_REQUEST", tbl.BillingMode)
	}
	if !tbl.PointInTimeRecovery || !tbl.DeletionProtection {
		t.Errorf("point-in-time recovery %v, deletion protection %v; want both", tbl.PointInTimeRecovery, tbl.DeletionProtection)
	}
	if tbl.TTLAttribute != "expiresAt" {
		t.Errorf("TTL attribute = %q, want expiresAt", tbl.TTLAttribute)
	}
}

func TestTemplateGlobals(t *testing.T) {
	t.Parallel()
	tpl := mustLoadTemplate(t)
	g := tpl.GlobalFunction
	if g.Runtime != "provided.al2023" || !slices.Equal(g.Architectures, []string{"arm64"}) || g.MemoryMB != 128 ||
		g.Tracing != "Active" || g.LogFormat != "JSON" || g.TimeoutSec <= 0 {
		t.Errorf("Globals.Function = runtime %q, architectures %v, memory %d, timeout %d, tracing %q, log format %q; "+
			"want provided.al2023, [arm64], 128, a timeout, Active, JSON",
			g.Runtime, g.Architectures, g.MemoryMB, g.TimeoutSec, g.Tracing, g.LogFormat)
	}
	for _, fn := range tpl.Functions {
		if fn.Runtime != "provided.al2023" || !slices.Equal(fn.Architectures, []string{"arm64"}) ||
			fn.Tracing != "Active" || fn.LogFormat != "JSON" {
			t.Errorf("%s overrides the runtime settings: %q %v %q %q", fn.LogicalID, fn.Runtime, fn.Architectures, fn.Tracing, fn.LogFormat)
		}
		switch {
		case len(fn.Routes) > 0 || fn.LogicalID == tpl.Authorizer.FunctionLogicalID:
			// API Gateway gives up on an integration after 30 s.
			if fn.TimeoutSec < 1 || fn.TimeoutSec > 29 {
				t.Errorf("%s serves the API with Timeout %d; want 1-29 s", fn.LogicalID, fn.TimeoutSec)
			}
		case len(fn.Schedules) > 0:
			if fn.TimeoutSec < 60 || fn.TimeoutSec > 300 {
				t.Errorf("%s is scheduled with Timeout %d; want 60-300 s", fn.LogicalID, fn.TimeoutSec)
			}
		}
	}
}

func TestTemplateSchedules(t *testing.T) {
	t.Parallel()
	tpl := mustLoadTemplate(t)
	want := map[string]string{
		"EmailSenderFunction":  "rate(5 minutes)",
		"AuditFunction":        "rate(1 day)",
		"CreditExpiryFunction": "rate(5 minutes)",
	}
	for id, expr := range want {
		fn, ok := tpl.Function(id)
		if !ok {
			t.Errorf("no %s", id)
			continue
		}
		if !slices.ContainsFunc(fn.Schedules, func(s Schedule) bool { return s.Expression == expr }) {
			t.Errorf("%s schedules = %+v, want one at %s", id, fn.Schedules, expr)
		}
	}
	sseQueue := func(id string) bool {
		q, ok := tpl.Queue(id)
		return ok && q.SSE
	}
	for _, fn := range tpl.Functions {
		if len(fn.Schedules) == 0 {
			continue
		}
		for _, s := range fn.Schedules {
			name := fn.LogicalID + " " + s.EventName
			if !s.Enabled {
				t.Errorf("%s is disabled", name)
			}
			if !sseQueue(s.DeadLetterQueueLogicalID) {
				t.Errorf("%s: DeadLetterConfig queue %q is not an encrypted AWS::SQS::Queue of the template", name, s.DeadLetterQueueLogicalID)
				continue
			}
			if q, _ := tpl.Queue(s.DeadLetterQueueLogicalID); !slices.Contains(q.EventBridgeRules, s.RuleLogicalID) {
				t.Errorf("%s: the queue policy of %s does not let rule %s send to it (aws:SourceArn !GetAtt %s.Arn)",
					name, q.LogicalID, s.RuleLogicalID, s.RuleLogicalID)
			}
		}
		ai := fn.AsyncInvoke
		if ai == nil || ai.OnFailureType != "SQS" {
			t.Errorf("%s is invoked asynchronously but has no EventInvokeConfig with an SQS OnFailure destination", fn.LogicalID)
			continue
		}
		if q, err := ai.OnFailure.getAttResource("Arn"); err != nil || !sseQueue(q) {
			t.Errorf("%s OnFailure destination %s is not an encrypted AWS::SQS::Queue of the template", fn.LogicalID, ai.OnFailure)
		}
		if ai.MaximumRetryAttempts < 0 {
			t.Errorf("%s EventInvokeConfig declares no MaximumRetryAttempts", fn.LogicalID)
		}
	}
}

func TestTemplateCfnLint(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint not found; install it with `pip install cfn-lint` to lint template.yaml")
	}
	cmd := exec.Command(bin, "template.yaml")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}
