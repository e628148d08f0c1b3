// Command local runs giftcredit's SAM template on this machine without
// Docker: `make run` starts the whole stack (infra/local/stack), `make
// invoke` runs one function once with an event file, like `sam local
// invoke -e`.
//
//	local [run] [flags]                     start the stack; Ctrl-C stops it
//	local invoke -function <LogicalId> -event <file>
//
// Ports, the table name and the process limit come from flags or, when a
// flag is not given, from LOCAL_API_PORT, LOCAL_CONTROL_PORT,
// LOCAL_DYNAMODB_PORT, LOCAL_SES_PORT, LOCAL_DYNAMODB_ADMIN_PORT,
// TABLE_NAME and LOCAL_MAX_PROCESSES. run also starts dynamodb-admin (npm)
// on loopback, pointed at the table, and prints the admin console's URL.
// DYNAMODB_ENDPOINT, when set, is used instead of starting minidyn.
// infra/local/env.json, if present, overrides function environment
// variables as `sam local --env-vars` does.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/giftcredit/giftcredit/infra/local/runtime"
	"github.com/giftcredit/giftcredit/infra/local/stack"
	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/infra/samtemplate"
	"github.com/giftcredit/giftcredit/internal/console"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// consoleFunction serves the admin console (internal/console).
const consoleFunction = "AdminFunction"

// The demo shops every start creates (or reuses) with fresh keys.
var demoShops = []stack.DemoShop{
	{Name: "Corner Books", AdminEmail: "admin@corner-books.test", SenderAddress: "shop@corner-books.test", Currency: "USD"},
	{Name: "Harbour Tea", AdminEmail: "admin@harbour-tea.test", SenderAddress: "shop@harbour-tea.test", Currency: "EUR"},
}

// localParameters are the values of the template parameters that have no
// default (and a local stage name); -parameter-overrides wins.
var localParameters = map[string]string{
	"Stage":              "local",
	"SenderAddress":      "no-reply@giftcredit.test",
	"AdminAddress":       "ops@giftcredit.test",
	"SenderIdentityName": "giftcredit.test",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[1:]
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = run(ctx, args)
	case "invoke":
		err = invoke(ctx, args)
	default:
		err = fmt.Errorf("unknown command %q: want run or invoke", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

// common are the flags of both commands.
type common struct {
	root, template, stateDir, envVars, params string
	table                                     string
}

func (c *common) register(fs *flag.FlagSet, root string) {
	fs.StringVar(&c.template, "template", filepath.Join(root, "template.yaml"), "SAM template")
	fs.StringVar(&c.stateDir, "state-dir", filepath.Join(root, ".local"), "where builds, stack.json and env.json go")
	fs.StringVar(&c.envVars, "env-vars", filepath.Join(root, "infra", "local", "env.json"), "environment overrides in `sam local --env-vars` format (a missing file is none)")
	fs.StringVar(&c.params, "parameter-overrides", "", "template parameters as Key=Value pairs separated by spaces or commas")
	fs.StringVar(&c.table, "table", envOr("TABLE_NAME", "giftcredit"), "DynamoDB table name (TABLE_NAME)")
	c.root = root
}

func (c *common) parameters() (map[string]string, error) {
	out := map[string]string{}
	for k, v := range localParameters {
		out[k] = v
	}
	for _, kv := range strings.FieldsFunc(c.params, func(r rune) bool { return r == ' ' || r == ',' }) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("-parameter-overrides: %q is not Key=Value", kv)
		}
		out[k] = v
	}
	return out, nil
}

func run(ctx context.Context, args []string) error {
	began := time.Now()
	root, err := localaws.RepoRoot()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c common
	c.register(fs, root)
	apiPort := fs.Int("api-port", envInt("LOCAL_API_PORT", 3000), "HTTP API port (LOCAL_API_PORT)")
	controlPort := fs.Int("control-port", envInt("LOCAL_CONTROL_PORT", 3001), "port of the schedules' fire-now URLs, the queues and the SQS API (LOCAL_CONTROL_PORT)")
	ddbPort := fs.Int("dynamodb-port", envInt("LOCAL_DYNAMODB_PORT", 8000), "minidyn port (LOCAL_DYNAMODB_PORT)")
	sesPort := fs.Int("ses-port", envInt("LOCAL_SES_PORT", 8005), "aws-ses-v2-local port (LOCAL_SES_PORT)")
	maxProcs := fs.Int("max-processes", envInt("LOCAL_MAX_PROCESSES", runtime.DefaultMaxProcesses), "most processes per function (LOCAL_MAX_PROCESSES)")
	schedules := fs.Bool("schedules", envBool("LOCAL_SCHEDULES", true), "fire the schedules on their own (LOCAL_SCHEDULES); their URLs work either way")
	ddbAdminPort := fs.Int("dynamodb-admin-port", envInt("LOCAL_DYNAMODB_ADMIN_PORT", 8001), "dynamodb-admin port (LOCAL_DYNAMODB_ADMIN_PORT); -1 starts none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	params, err := c.parameters()
	if err != nil {
		return err
	}
	tpl, err := samtemplate.Load(c.template)
	if err != nil {
		return err
	}
	envVars, err := stack.LoadEnvVars(c.envVars)
	if err != nil {
		return err
	}
	stackFile, envFile := filepath.Join(c.stateDir, "stack.json"), filepath.Join(c.stateDir, "env.json")
	// A file left by a stack that did not stop cleanly describes nothing.
	_ = os.Remove(stackFile)
	_ = os.Remove(envFile)

	// The stack runs a snapshot of the binaries, so that make invoke
	// rebuilding one meanwhile cannot replace it under a starting process.
	snapshot := filepath.Join(c.stateDir, "run", strconv.Itoa(os.Getpid()))
	removeStaleSnapshots(filepath.Dir(snapshot))
	defer os.RemoveAll(snapshot)
	bins, err := build(ctx, root, c.stateDir, snapshot, tpl.Functions)
	if err != nil {
		return err
	}
	ddbEndpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if ddbEndpoint != "" {
		if err := reachable(ddbEndpoint); err != nil {
			return fmt.Errorf("DYNAMODB_ENDPOINT=%s does not answer (%v): start that server, or unset DYNAMODB_ENDPOINT to let make run start minidyn", ddbEndpoint, err)
		}
	}
	logf("starting the stack")
	st, err := stack.Start(ctx, stack.Config{
		Template:         tpl,
		Binaries:         bins,
		APIPort:          *apiPort,
		ControlPort:      *controlPort,
		DynamoDBPort:     *ddbPort,
		SESPort:          *sesPort,
		DynamoDBEndpoint: ddbEndpoint,
		TableName:        c.table,
		Parameters:       params,
		EnvVars:          envVars,
		MaxProcesses:     *maxProcs,
		RunSchedules:     *schedules,
		DemoShops:        demoShops,
		FunctionOutput:   os.Stdout,
		Log:              os.Stdout,
	})
	if err != nil {
		return err
	}
	defer func() {
		logf("stopping: every function process, aws-ses-v2-local and minidyn")
		_ = os.Remove(stackFile)
		_ = os.Remove(envFile)
		if err := st.Close(); err != nil {
			logf("stop: %v", err)
		}
		logf("stopped; every port is free")
	}()
	// dynamodb-admin is for a developer's eyes only: the stack works
	// without it, so a failure to start it is reported and run goes on.
	var ddbAdmin *localaws.DynamoDBAdmin
	if *ddbAdminPort >= 0 && st.Info().DynamoDBEndpoint != "" {
		if ddbAdmin, err = localaws.StartDynamoDBAdmin(ctx, *ddbAdminPort, st.Info().DynamoDBEndpoint, st.Info().TableName, tpl.Table.Attributes); err != nil {
			logf("dynamodb-admin not started: %v", err)
		} else {
			defer func() {
				if err := ddbAdmin.Close(); err != nil {
					logf("stop dynamodb-admin: %v", err)
				}
			}()
		}
	}
	if err := writeJSON(stackFile, st.Info()); err != nil {
		return err
	}
	// make invoke runs a function against this stack with exactly this
	// environment (the same code-hash secret above all).
	if err := writeJSON(envFile, st.Envs()); err != nil {
		return err
	}
	printReady(os.Stdout, st, tpl, ddbAdmin, stackFile, time.Since(began))
	<-ctx.Done()
	fmt.Println()
	return nil
}

// build builds functions into <stateDir>/build (and links them into
// snapshot, if set) and says how long it took.
func build(ctx context.Context, root, stateDir, snapshot string, fns []samtemplate.Function) (map[string]string, error) {
	t0 := time.Now()
	logf("building %d functions for %s/%s (make build-<LogicalId>)", len(fns), goruntime.GOOS, goruntime.GOARCH)
	bins, err := stack.Build(ctx, stack.BuildConfig{Root: root, Dir: filepath.Join(stateDir, "build"), Functions: fns, Snapshot: snapshot})
	if err != nil {
		return nil, err
	}
	logf("built in %.1fs", time.Since(t0).Seconds())
	return bins, nil
}

// removeStaleSnapshots removes the binary snapshots of stacks whose
// process is gone (one killed without a chance to clean up).
func removeStaleSnapshots(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// printReady prints every URL, the keys and the export line to paste.
func printReady(w io.Writer, st *stack.Stack, tpl *samtemplate.Template, ddbAdmin *localaws.DynamoDBAdmin, stackFile string, took time.Duration) {
	info := st.Info()
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("")
	p("giftcredit local stack ready in %.1fs", took.Seconds())
	p("")
	p("  HTTP API       %s   (%d routes from template.yaml, %d functions)", info.APIURL, st.Routes(), len(tpl.Functions))
	if info.SESURL != "" {
		p("  Mail viewer    %s/", info.SESURL)
	}
	if _, ok := tpl.Function(consoleFunction); ok {
		p("  Admin console  %s%s   (sign in with an admin key below)", info.APIURL, console.Path)
	}
	p("  DynamoDB       %s   table %s", info.DynamoDBEndpoint, info.TableName)
	if ddbAdmin != nil {
		p("  dynamodb-admin %s   (the table's items)", ddbAdmin.TableURL(info.TableName))
	}
	p("  Stack control  %s/   (schedules, queues, process counts)", st.ControlURL())
	if info.EventsURL != "" {
		p("  Event bus      %s   (every event published, oldest first)", info.EventsURL)
	}
	p("")
	p("  Schedules (POST to fire now):")
	for _, sc := range st.Schedules() {
		when := "next " + sc.Next.Local().Format("15:04:05")
		if sc.Next.IsZero() {
			when = sc.Problem
		}
		p("    %-40s %-18s %s   (%s)", sc.RuleLogicalID, sc.Expression, sc.URL, when)
	}
	if qs := st.Queues(); len(qs) > 0 {
		p("")
		p("  Queues (SQS_ENDPOINT=%s):", st.ControlURL())
		for _, q := range qs {
			to := "no consumer"
			if len(q.Consumers) > 0 {
				to = "-> " + strings.Join(q.Consumers, ", ")
			}
			if q.DeadLetterQueue != "" {
				to += ", dead letters to " + q.DeadLetterQueue
			}
			p("    %-20s %s/queues/%s   (%s)", q.LogicalID, st.ControlURL(), q.LogicalID, to)
		}
	}
	p("")
	p("  Demo shops (keys are new at every start):")
	for _, sh := range info.Shops {
		p("    %s (%s) %s  admin mail %s", sh.Name, sh.Currency, sh.ID, sh.AdminEmail)
		p("      shop key  %s", sh.ShopKey)
		p("      admin key %s", sh.AdminKey)
	}
	if len(info.Shops) > 0 {
		sh := info.Shops[0]
		p("")
		p("  Paste into another shell for the README tour:")
		p("")
		p("export API=%s SHOP_KEY=%s ADMIN_KEY=%s SES_URL=%s DDB_URL=%s TABLE=%s STACK_URL=%s EVENTS_URL=%s",
			info.APIURL, sh.ShopKey, sh.AdminKey, info.SESURL, info.DynamoDBEndpoint, info.TableName, st.ControlURL(), info.EventsURL)
	}
	p("")
	p("  Written to %s. Ctrl-C stops everything.", stackFile)
	p("")
}

// invoke runs one function once, like `sam local invoke -e`: against the
// running stack when .local/stack.json names one that answers, otherwise
// against stand-ins started for this invocation alone.
func invoke(ctx context.Context, args []string) error {
	logOut = os.Stderr
	root, err := localaws.RepoRoot()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	var c common
	c.register(fs, root)
	fnName := fs.String("function", "", "logical id of the function (FN)")
	eventPath := fs.String("event", "", "event file, - for standard input (EVENT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *fnName == "" {
		return errors.New("usage: make invoke FN=<LogicalId> EVENT=events/<file>.json")
	}
	tpl, err := samtemplate.Load(c.template)
	if err != nil {
		return err
	}
	fn, ok := tpl.Function(*fnName)
	if !ok {
		ids := make([]string, len(tpl.Functions))
		for i, f := range tpl.Functions {
			ids[i] = f.LogicalID
		}
		return fmt.Errorf("no function %q in %s; there are: %s", *fnName, c.template, strings.Join(ids, ", "))
	}
	payload, err := readEvent(*eventPath)
	if err != nil {
		return err
	}
	bins, err := build(ctx, root, c.stateDir, "", []samtemplate.Function{*fn})
	if err != nil {
		return err
	}

	var (
		res  runtime.Result
		ierr error
	)
	if env, ok := runningStackEnv(c.stateDir, fn.LogicalID); ok {
		logf("running %s against the stack of %s", fn.LogicalID, filepath.Join(c.stateDir, "stack.json"))
		if err := ensureEventShop(ctx, env["DYNAMODB_ENDPOINT"], env["TABLE_NAME"], payload); err != nil {
			return err
		}
		res, ierr = runtime.InvokeOnce(ctx, runtime.FunctionConfig{
			Name: fn.LogicalID, Binary: bins[fn.LogicalID], Env: env, Timeout: time.Duration(fn.TimeoutSec) * time.Second,
			MemorySize: fn.MemoryMB, LogFormat: fn.LogFormat, Output: os.Stderr,
		}, payload)
	} else {
		res, ierr = invokeEphemeral(ctx, c, tpl, fn.LogicalID, bins, payload)
	}
	return report(os.Stdout, os.Stderr, res, ierr)
}

// invokeEphemeral starts stand-ins for one invocation (minidyn with the
// table, SES if the function sends mail, the queues) and stops them after.
func invokeEphemeral(ctx context.Context, c common, tpl *samtemplate.Template, fn string, bins map[string]string, payload []byte) (runtime.Result, error) {
	logf("no running stack (make run): starting stand-ins for this invocation only")
	params, err := c.parameters()
	if err != nil {
		return runtime.Result{}, err
	}
	envVars, err := stack.LoadEnvVars(c.envVars)
	if err != nil {
		return runtime.Result{}, err
	}
	st, err := stack.Start(ctx, stack.Config{
		Template: tpl, Binaries: bins, TableName: c.table, DynamoDBEndpoint: os.Getenv("DYNAMODB_ENDPOINT"),
		Parameters: params, EnvVars: envVars, MaxProcesses: 1, FunctionOutput: os.Stderr, Log: os.Stderr,
	})
	if err != nil {
		return runtime.Result{}, err
	}
	defer st.Close()
	info := st.Info()
	if err := ensureEventShop(ctx, info.DynamoDBEndpoint, info.TableName, payload); err != nil {
		return runtime.Result{}, err
	}
	res, err := st.Invoke(ctx, fn, payload)
	for _, q := range st.Queues() {
		if n := len(st.Queue(q.LogicalID).Messages()); n > 0 {
			logf("%s received %d message(s); they are dropped with the stand-ins (make run delivers them)", q.LogicalID, n)
		}
	}
	return res, err
}

// ensureEventShop creates the shop an API Gateway event's authorizer
// context names (events/*.json name a fixed one) when the table lacks it,
// so that the function answers as it would for a real shop rather than
// failing on a missing tenant.
func ensureEventShop(ctx context.Context, endpoint, table string, payload []byte) error {
	var ev struct {
		RequestContext struct {
			Authorizer struct {
				Lambda struct {
					ShopID string `json:"shopId"`
				} `json:"lambda"`
			} `json:"authorizer"`
		} `json:"requestContext"`
	}
	_ = json.Unmarshal(payload, &ev) // not an API event: nothing to do
	id := ev.RequestContext.Authorizer.Lambda.ShopID
	if id == "" || endpoint == "" || table == "" {
		return nil
	}
	store := dynamo.New(localaws.NewDynamoClient(endpoint, nil), table)
	_, err := store.Shop(ctx, id)
	if gc.ErrorCode(err) != gc.ENOTFOUND {
		return err
	}
	if _, err := store.CreateShop(ctx, gc.Shop{ID: id, Name: "Event Shop", AdminEmail: "admin@event-shop.test",
		SenderAddress: "shop@event-shop.test", DefaultCurrency: "USD"}); err != nil {
		return fmt.Errorf("create the event's shop %s: %w", id, err)
	}
	logf("created shop %s, which the event's authorizer context names", id)
	return nil
}

// runningStackEnv returns the function's environment in the running stack
// when stack.json names a stack whose DynamoDB answers.
func runningStackEnv(stateDir, fn string) (map[string]string, bool) {
	var info stack.Info
	b, err := os.ReadFile(filepath.Join(stateDir, "stack.json"))
	if err != nil || json.Unmarshal(b, &info) != nil {
		return nil, false
	}
	if err := reachable(info.DynamoDBEndpoint); err != nil {
		logf("%s is stale (its DynamoDB %s does not answer)", filepath.Join(stateDir, "stack.json"), info.DynamoDBEndpoint)
		return nil, false
	}
	var envs map[string]map[string]string
	b, err = os.ReadFile(filepath.Join(stateDir, "env.json"))
	if err != nil || json.Unmarshal(b, &envs) != nil || envs[fn] == nil {
		logf("the running stack has no environment for %s (restart make run after changing template.yaml)", fn)
		return nil, false
	}
	return envs[fn], true
}

// report prints the function's response on stdout and a REPORT line on
// stderr, and fails for a function error, a timeout or a crash. A process
// that exited during the invocation is reported as Lambda's Invoke reports
// it, as a function error whose payload is
// {"errorType":"Runtime.ExitError","errorMessage":"RequestId: … Error:
// Runtime exited with error: exit status N"} (see runtime.ExitError).
func report(stdout, stderr io.Writer, res runtime.Result, err error) error {
	if exitErr, ok := errors.AsType[*runtime.ExitError](err); ok {
		fmt.Fprintf(stderr, "[local] %v\n", exitErr)
		res.FunctionError = exitErr.ErrorPayload(res.RequestID)
		res.Payload, _ = json.Marshal(res.FunctionError)
		err = nil
	}
	if err != nil {
		return fmt.Errorf("invoke: %w", err)
	}
	fmt.Fprintf(stderr, "REPORT RequestId: %s Duration: %.2f ms", res.RequestID, float64(res.Duration.Microseconds())/1000)
	if res.InitDuration > 0 {
		fmt.Fprintf(stderr, " Init Duration: %.2f ms", float64(res.InitDuration.Microseconds())/1000)
	}
	fmt.Fprintln(stderr)
	out := res.Payload
	var v any
	if json.Unmarshal(out, &v) == nil {
		if pretty, err := json.MarshalIndent(v, "", "  "); err == nil {
			out = pretty
		}
	}
	fmt.Fprintln(stdout, string(out))
	if res.FunctionError != nil {
		return fmt.Errorf("function error %s: %s", res.FunctionError.ErrorType, res.FunctionError.ErrorMessage)
	}
	return nil
}

func readEvent(path string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	switch path {
	case "":
		b = []byte("{}")
	case "-":
		b, err = io.ReadAll(os.Stdin)
	default:
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("event %s is not JSON", path)
	}
	return b, nil
}

// reachable dials an http://host:port endpoint.
func reachable(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not a URL: %q", endpoint)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[bool]string{true: "443", false: "80"}[u.Scheme == "https"])
	}
	conn, err := net.DialTimeout("tcp", host, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

// writeJSON writes v to path, readable by the owner only: stack.json holds
// API keys, env.json the local code-hash secret.
func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// logOut receives the command's own lines: stdout for run, stderr for
// invoke (whose stdout is the function's response alone).
var logOut io.Writer = os.Stdout

func logf(format string, args ...any) {
	fmt.Fprintf(logOut, "[local] "+format+"\n", args...)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func envBool(name string, def bool) bool {
	if b, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return b
	}
	return def
}
