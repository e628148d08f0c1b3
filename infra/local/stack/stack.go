package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/giftcredit/giftcredit/infra/local/gateway"
	"github.com/giftcredit/giftcredit/infra/local/runtime"
	"github.com/giftcredit/giftcredit/infra/localaws"
	"github.com/giftcredit/giftcredit/infra/samtemplate"
)

// Host is the only address the stack binds: loopback.
const Host = "127.0.0.1"

// Local identity of the emulated AWS account.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
	DefaultStackName = "giftcredit-local"
)

// Config describes a stack to start. Template and TableName are required
// (TableName only when the template has a table); every port may be 0 for
// a free one.
type Config struct {
	// Template is the loaded template.yaml.
	Template *samtemplate.Template
	// Binaries maps a function's logical id to its compiled bootstrap
	// (what Build returns). A function without one is not run: its routes
	// answer 500 and its schedules and queue events are left out.
	Binaries map[string]string

	// APIPort serves the HTTP API; ControlPort the schedules' fire-now
	// URLs, the queues and the SQS API; DynamoDBPort minidyn (unused when
	// DynamoDBEndpoint is set); SESPort aws-ses-v2-local.
	APIPort, ControlPort, DynamoDBPort, SESPort int
	// DynamoDBEndpoint, when set, is used instead of starting minidyn; the
	// table is created there only if it is missing.
	DynamoDBEndpoint string
	// TableName names the template's table locally.
	TableName string

	// Parameters override template parameter defaults; a parameter without
	// a default must be given here if anything refers to it.
	Parameters map[string]string
	// Secrets are the values of Secrets Manager dynamic references by
	// secret name; a missing one gets a random value for this start.
	Secrets map[string]string
	// EnvVars are the env.json overrides.
	EnvVars EnvVars

	// MaxProcesses bounds each function's processes (0: the runtime's
	// default).
	MaxProcesses int
	// RunSchedules fires the template's enabled schedules on their own
	// (rate and cron). Without it schedules fire only through their
	// fire-now URLs.
	RunSchedules bool
	// DemoShops are created (or, in a table that already has a shop of
	// that name, reused) with a fresh shop and admin key each.
	DemoShops []DemoShop

	// FunctionOutput receives every function's stdout and stderr, each
	// line prefixed "[Function#n] "; it must be safe for concurrent use.
	// Nil discards it.
	FunctionOutput io.Writer
	// Log receives the stack's own notes ("[local] ...") and the gateway's
	// ("[gateway] ..."). Nil discards them.
	Log io.Writer

	// Region and AccountID are the emulated account (defaults above).
	Region, AccountID string
}

// Info is what .local/stack.json holds: what scripts need to use the stack.
type Info struct {
	APIURL           string     `json:"apiUrl"`
	DynamoDBEndpoint string     `json:"dynamodbEndpoint"`
	TableName        string     `json:"tableName"`
	SESURL           string     `json:"sesUrl"`
	Shops            []ShopInfo `json:"shops"`
	// Schedules maps each schedule's rule logical id to the URL that
	// fires it now when POSTed to.
	Schedules map[string]string `json:"schedules"`
	// EventsURL lists every event the bus stand-in received, oldest
	// first, on GET.
	EventsURL string `json:"eventsUrl,omitempty"`
}

// Stack is a running local stack. Close stops it.
type Stack struct {
	cfg Config
	tpl *samtemplate.Template
	log *logger

	dynamo      *localaws.Dynamo // nil when DynamoDBEndpoint is used
	ddbEndpoint string
	ddb         *dynamodb.Client
	ses         *localaws.SES

	apiURL, controlURL string
	apiLn, controlLn   net.Listener
	apiSrv, controlSrv *http.Server
	routes             int

	pools     map[string]*runtime.Pool
	envs      map[string]map[string]string
	queues    map[string]*Queue // by logical id
	bus       *localaws.Bus     // the event bus stand-in (bus.go)
	mappings  []*mapping
	schedules []*schedule
	shops     []ShopInfo
	notes     []string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
}

// Start starts everything cfg describes and returns once the API answers.
// On failure everything already started is stopped again.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.Template == nil {
		return nil, errors.New("stack: Config.Template is nil")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	s := &Stack{
		cfg:    cfg,
		tpl:    cfg.Template,
		log:    &logger{w: cfg.Log},
		pools:  map[string]*runtime.Pool{},
		envs:   map[string]map[string]string{},
		queues: map[string]*Queue{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	if s.apiLn, err = listen(cfg.APIPort, "API"); err != nil {
		return nil, err
	}
	s.apiURL = "http://" + s.apiLn.Addr().String()
	if s.controlLn, err = listen(cfg.ControlPort, "control"); err != nil {
		return nil, err
	}
	s.controlURL = "http://" + s.controlLn.Addr().String()
	s.makeQueues()
	s.makeBus()

	if err := s.startDynamoDB(ctx); err != nil {
		return nil, err
	}
	if s.needsSES() {
		if s.ses, err = localaws.StartSES(ctx, cfg.SESPort); err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
		s.log.printf("SES (aws-ses-v2-local) at %s, mail viewer %s/", s.ses.URL(), s.ses.URL())
	}
	if err := s.startFunctions(); err != nil {
		return nil, err
	}
	if err := s.startSchedules(); err != nil {
		return nil, err
	}
	if err := s.serve(); err != nil {
		return nil, err
	}
	if len(cfg.DemoShops) > 0 {
		if s.shops, err = s.demoShops(ctx, cfg.DemoShops); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// listen binds a loopback port; what names it in errors.
func listen(port int, what string) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(Host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("stack: %s port: %w (is another stack running? choose another port)", what, err)
	}
	return ln, nil
}

// makeQueues creates a local queue per AWS::SQS::Queue, wired to its
// dead-letter queue.
func (s *Stack) makeQueues() {
	for _, tq := range s.tpl.Queues {
		url := fmt.Sprintf("%s/%s/%s", s.controlURL, s.cfg.AccountID, tq.LogicalID)
		arn := fmt.Sprintf("arn:aws:sqs:%s:%s:%s", s.cfg.Region, s.cfg.AccountID, tq.LogicalID)
		s.queues[tq.LogicalID] = newQueue(tq.LogicalID, url, arn, s.cfg.Region,
			time.Duration(tq.VisibilityTimeoutSec)*time.Second, tq.MaxReceiveCount)
		if tq.FIFO {
			s.note("%s is a FIFO queue: the local queue keeps no message groups and deduplicates nothing", tq.LogicalID)
		}
	}
	for _, tq := range s.tpl.Queues {
		if tq.DeadLetterQueueLogicalID != "" {
			s.queues[tq.LogicalID].dlq = s.queues[tq.DeadLetterQueueLogicalID]
		}
	}
}

// startDynamoDB starts minidyn (or connects to DynamoDBEndpoint) and
// creates the template's table.
func (s *Stack) startDynamoDB(ctx context.Context) error {
	tbl := s.tpl.Table
	if tbl.LogicalID == "" {
		return nil
	}
	if s.cfg.TableName == "" {
		return errors.New("stack: Config.TableName is empty")
	}
	if s.cfg.DynamoDBEndpoint != "" {
		s.ddbEndpoint = s.cfg.DynamoDBEndpoint
	} else {
		d, err := localaws.StartDynamo(net.JoinHostPort(Host, strconv.Itoa(s.cfg.DynamoDBPort)))
		if err != nil {
			return fmt.Errorf("stack: DynamoDB port: %w", err)
		}
		s.dynamo = d
		s.ddbEndpoint = d.URL()
	}
	s.ddb = localaws.NewDynamoClient(s.ddbEndpoint, nil)
	in, err := CreateTableInput(tbl, s.cfg.TableName)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	created, err := ensureTable(ctx, s.ddb, in)
	if err != nil {
		return fmt.Errorf("stack: %s: %w", s.ddbEndpoint, err)
	}
	server := "minidyn"
	if s.dynamo == nil {
		server = "DYNAMODB_ENDPOINT"
	}
	if created {
		s.log.printf("DynamoDB (%s) at %s: created table %s from template.yaml: %s", server, s.ddbEndpoint, s.cfg.TableName, describeTable(tbl))
	} else {
		s.log.printf("DynamoDB (%s) at %s: table %s exists, left as it is", server, s.ddbEndpoint, s.cfg.TableName)
	}
	if tbl.TTLAttribute != "" && created {
		if s.dynamo != nil {
			s.log.printf("note: TimeToLiveSpecification (%s) skipped: minidyn has no TTL, so expired items stay until the stack stops", tbl.TTLAttribute)
		} else if err := enableTTL(ctx, s.ddb, s.cfg.TableName, tbl.TTLAttribute); err != nil {
			s.log.printf("note: TimeToLiveSpecification (%s) skipped: the server refused UpdateTimeToLive", tbl.TTLAttribute)
		}
	}
	return nil
}

// needsSES reports whether a function that runs declares SES_ENDPOINT.
func (s *Stack) needsSES() bool {
	for _, fn := range s.tpl.Functions {
		if _, ok := fn.Environment["SES_ENDPOINT"]; ok && s.cfg.Binaries[fn.LogicalID] != "" {
			return true
		}
	}
	return false
}

// locals returns the values the template's references resolve to here.
func (s *Stack) locals() *Locals {
	params := ParameterValues(s.tpl, s.cfg.Parameters)
	secrets := maps.Clone(s.cfg.Secrets)
	if secrets == nil {
		secrets = map[string]string{}
	}
	for _, name := range SecretNames(s.tpl, params) {
		if _, ok := secrets[name]; !ok {
			secrets[name] = NewDevSecret()
		}
	}
	l := &Locals{
		Region:         s.cfg.Region,
		AccountID:      s.cfg.AccountID,
		StackName:      DefaultStackName,
		Parameters:     params,
		TableLogicalID: s.tpl.Table.LogicalID,
		TableName:      s.cfg.TableName,
		Endpoints:      map[string]string{"SQS_ENDPOINT": s.controlURL},
		Queues:         s.queues,
		APIID:          s.tpl.HttpApiLogicalID,
		Secrets:        secrets,
	}
	if s.ddbEndpoint != "" {
		l.Endpoints["DYNAMODB_ENDPOINT"] = s.ddbEndpoint
	}
	if s.ses != nil {
		l.Endpoints["SES_ENDPOINT"] = s.ses.URL()
	}
	for _, fn := range s.tpl.Functions {
		l.Functions = append(l.Functions, fn.LogicalID)
	}
	if s.bus != nil {
		// The functions publish to the bus stand-in, and webhooks may
		// point at this machine (http://127.0.0.1), which AWS refuses.
		l.Endpoints["EVENTS_ENDPOINT"] = s.controlURL
		l.Endpoints["WEBHOOK_ALLOW_LOOPBACK_HTTP"] = "true"
		l.EventBuses = s.eventBusNames(l)
	}
	return l
}

// startFunctions resolves every function's environment and makes its
// process pool (which starts no process before the first invocation).
func (s *Stack) startFunctions() error {
	l := s.locals()
	seen := map[string]bool{}
	for i := range s.tpl.Functions {
		fn := &s.tpl.Functions[i]
		bin := s.cfg.Binaries[fn.LogicalID]
		if bin == "" {
			continue
		}
		env, notes, err := FunctionEnv(fn, l, s.cfg.EnvVars)
		if err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		for _, n := range notes {
			if !seen[n] {
				seen[n] = true
				s.note("%s", n)
			}
		}
		s.envs[fn.LogicalID] = env
		s.pools[fn.LogicalID] = runtime.NewPool(runtime.FunctionConfig{
			Name:         fn.LogicalID,
			Binary:       bin,
			Env:          env,
			Timeout:      time.Duration(fn.TimeoutSec) * time.Second,
			MaxProcesses: s.cfg.MaxProcesses,
			Output:       s.cfg.FunctionOutput,
			MemorySize:   fn.MemoryMB,
			LogFormat:    fn.LogFormat,
			ARN:          fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.cfg.Region, s.cfg.AccountID, fn.LogicalID),
		})
	}
	s.checkEnvVars()
	for i := range s.tpl.Functions {
		fn := &s.tpl.Functions[i]
		if s.pools[fn.LogicalID] == nil {
			continue
		}
		for _, qe := range fn.Queues {
			q := s.queues[qe.QueueLogicalID]
			if q == nil {
				return fmt.Errorf("stack: %s.%s: no queue %s in the template", fn.LogicalID, qe.EventName, qe.QueueLogicalID)
			}
			batch := qe.BatchSize
			if batch <= 0 {
				batch = defaultSQSBatchSize
			}
			m := &mapping{
				function:       fn.LogicalID,
				queue:          q,
				batchSize:      batch,
				reportFailures: qe.ReportBatchItemFailures,
				concurrency:    s.maxProcesses(),
				invoke:         s.Invoke,
				logf:           s.log.printf,
			}
			s.mappings = append(s.mappings, m)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				m.run(s.ctx)
			}()
		}
	}
	return nil
}

// checkEnvVars notes the env.json entries that reach no function: a
// section for a function the template lacks, or a "Parameters" variable no
// function declares.
func (s *Stack) checkEnvVars() {
	for _, section := range slices.Sorted(maps.Keys(s.cfg.EnvVars)) {
		if section == "Parameters" {
			continue
		}
		if _, ok := s.tpl.Function(section); !ok {
			s.note("env.json section %s ignored: the template has no such function", section)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.cfg.EnvVars["Parameters"])) {
		declared := slices.ContainsFunc(s.tpl.Functions, func(fn samtemplate.Function) bool {
			_, ok := fn.Environment[name]
			return ok
		})
		if !declared {
			s.note("%s from env.json ignored: no function declares it", name)
		}
	}
}

func (s *Stack) maxProcesses() int {
	if s.cfg.MaxProcesses > 0 {
		return s.cfg.MaxProcesses
	}
	return runtime.DefaultMaxProcesses
}

// gatewayConfig builds the HTTP API from the template's routes and
// authorizer.
func (s *Stack) gatewayConfig() (gateway.Config, error) {
	cfg := gateway.Config{
		Invoke:    s.Invoke,
		AccountID: s.cfg.AccountID,
		Region:    s.cfg.Region,
		Log:       slog.New(slog.NewTextHandler(&prefixWriter{prefix: "[gateway] ", w: s.cfg.Log}, nil)),
	}
	if a := s.tpl.Authorizer; a.Name != "" {
		if a.PayloadFormatVersion != "" && a.PayloadFormatVersion != "2.0" {
			return cfg, fmt.Errorf("stack: authorizer %s: payload format %s is not emulated (only 2.0)", a.Name, a.PayloadFormatVersion)
		}
		cfg.Authorizer = a.FunctionLogicalID
		cfg.SimpleResponses = a.SimpleResponses
		cfg.IdentitySource = a.IdentitySources
	}
	for _, fn := range s.tpl.Functions {
		for _, r := range fn.Routes {
			if r.ApiID != "" && r.ApiID != s.tpl.HttpApiLogicalID {
				continue
			}
			if r.PayloadFormatVersion != "2.0" {
				return cfg, fmt.Errorf("stack: %s %s: payload format %s is not emulated (only 2.0)", fn.LogicalID, r.Key(), r.PayloadFormatVersion)
			}
			open := r.Authorizer == "" || r.Authorizer == samtemplate.NoAuthorizer
			if !open && r.Authorizer != s.tpl.Authorizer.Name {
				return cfg, fmt.Errorf("stack: %s %s: authorizer %s: only the API's default authorizer is emulated", fn.LogicalID, r.Key(), r.Authorizer)
			}
			cfg.Routes = append(cfg.Routes, gateway.Route{Method: r.Method, Path: r.Path, Function: fn.LogicalID, NoAuthorizer: open})
		}
	}
	s.routes = len(cfg.Routes)
	return cfg, cfg.Validate()
}

// serve starts the API and control servers on their listeners.
func (s *Stack) serve() error {
	gcfg, err := s.gatewayConfig()
	if err != nil {
		return err
	}
	s.apiSrv = &http.Server{Handler: gateway.New(gcfg), ReadHeaderTimeout: 10 * time.Second}
	s.controlSrv = &http.Server{Handler: s.controlHandler(), ReadHeaderTimeout: 10 * time.Second}
	for _, srv := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{s.apiSrv, s.apiLn}, {s.controlSrv, s.controlLn}} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// Serve closes the listener when it returns, which it does
			// with ErrServerClosed once Close runs.
			_ = srv.srv.Serve(srv.ln)
		}()
	}
	return nil
}

// Invoke runs a function of the stack once with payload as its event,
// through its process pool.
func (s *Stack) Invoke(ctx context.Context, function string, payload []byte) (runtime.Result, error) {
	p := s.pools[function]
	if p == nil {
		return runtime.Result{}, fmt.Errorf("function %s is not running in this stack", function)
	}
	return p.Invoke(ctx, payload)
}

// Info returns what .local/stack.json holds.
func (s *Stack) Info() Info {
	info := Info{
		APIURL:           s.apiURL,
		DynamoDBEndpoint: s.ddbEndpoint,
		TableName:        s.cfg.TableName,
		Shops:            slices.Clone(s.shops),
		Schedules:        map[string]string{},
	}
	if s.ses != nil {
		info.SESURL = s.ses.URL()
	}
	if info.Shops == nil {
		info.Shops = []ShopInfo{}
	}
	for _, sc := range s.schedules {
		info.Schedules[sc.ruleID] = s.scheduleURL(sc.ruleID)
	}
	info.EventsURL = s.EventsURL()
	return info
}

// SES is the SES stand-in (nil if no function uses SES).
func (s *Stack) SES() *localaws.SES { return s.ses }

// ControlURL is the base URL of the control server: schedules, queues and
// the SQS API.
func (s *Stack) ControlURL() string { return s.controlURL }

// Routes counts the HTTP API's routes.
func (s *Stack) Routes() int { return s.routes }

// Pool returns a function's process pool, or nil.
func (s *Stack) Pool(function string) *runtime.Pool { return s.pools[function] }

// Env returns the environment a function runs with.
func (s *Stack) Env(function string) map[string]string { return maps.Clone(s.envs[function]) }

// Envs returns every running function's environment, by logical id (the
// format of `sam local --env-vars`).
func (s *Stack) Envs() map[string]map[string]string {
	out := make(map[string]map[string]string, len(s.envs))
	for fn, env := range s.envs {
		out[fn] = maps.Clone(env)
	}
	return out
}

// Queue returns the local queue of a template queue, or nil.
func (s *Stack) Queue(logicalID string) *Queue { return s.queues[logicalID] }

// QueueInfo describes a local queue for the start-up output.
type QueueInfo struct {
	LogicalID, URL string
	// Consumers are the functions with an SQS event on the queue.
	Consumers []string
	// DeadLetterQueue is the RedrivePolicy target, if any.
	DeadLetterQueue string
}

// Queues describes the local queues, sorted by logical id.
func (s *Stack) Queues() []QueueInfo {
	var out []QueueInfo
	for _, id := range slices.Sorted(maps.Keys(s.queues)) {
		q := s.queues[id]
		qi := QueueInfo{LogicalID: id, URL: q.URL}
		if q.dlq != nil {
			qi.DeadLetterQueue = q.dlq.LogicalID
		}
		for _, m := range s.mappings {
			if m.queue == q {
				qi.Consumers = append(qi.Consumers, m.function)
			}
		}
		out = append(out, qi)
	}
	return out
}

// Notes are the things the stack could not do as the template says (and
// ignored env.json values), one sentence each.
func (s *Stack) Notes() []string { return slices.Clone(s.notes) }

func (s *Stack) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	s.notes = append(s.notes, n)
	s.log.printf("note: %s", n)
}

// Close stops the schedules and queue pollers, the servers, every function
// process, aws-ses-v2-local and minidyn, and waits until all of them have
// ended, so every port is free when it returns. It is safe to call more
// than once.
func (s *Stack) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		s.cancel()
		if s.apiSrv != nil {
			errs = append(errs, s.apiSrv.Close(), s.controlSrv.Close())
		} else {
			// Not serving yet: the listeners are still only ours.
			for _, ln := range []net.Listener{s.apiLn, s.controlLn} {
				if ln != nil {
					_ = ln.Close()
				}
			}
		}
		var wg sync.WaitGroup
		for _, p := range s.pools {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = p.Close()
			}()
		}
		wg.Wait()
		s.wg.Wait()
		if s.ses != nil {
			errs = append(errs, s.ses.Close())
		}
		if s.dynamo != nil {
			s.dynamo.Close()
		}
	})
	return errors.Join(errs...)
}

// logger writes the stack's own lines, "[local] ...", one Write each.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) printf(format string, args ...any) {
	if l.w == nil {
		return
	}
	line := "[local] " + fmt.Sprintf(format, args...) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, line)
}

// prefixWriter prefixes each Write (a whole line, as slog handlers write
// them) with prefix. A nil w discards.
type prefixWriter struct {
	prefix string
	w      io.Writer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if p.w == nil {
		return len(b), nil
	}
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
