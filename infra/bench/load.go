package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/giftcredit/giftcredit/infra/local/stack"
	"github.com/giftcredit/giftcredit/infra/samtemplate"
	"github.com/giftcredit/giftcredit/internal/apigw"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// LoadConfig sizes figure 5.
type LoadConfig struct {
	// Clients run at once for Duration over Customers customers.
	Clients   int
	Duration  time.Duration
	Customers int
	// MaxProcesses bounds each function's processes (Lambda's concurrency).
	MaxProcesses int
	// Template is the path of template.yaml.
	Template string
	// PartitionWrites adds figure 8 from the load's write requests.
	PartitionWrites bool
}

// Figure 7's limit on the share of all writes one item other than a
// customer's or a card's own may take.
const hotItemLimit = 0.01

// Concurrency measures figures 5 and 7: the local stack (every function a
// process pool behind the local API Gateway and its authorizer, built
// from template.yaml) on a minidyn that logs every write, Clients clients
// mixing orders, redemptions of the cards those orders issued, credit
// applications and reads for Duration, then an audit of the shop. Figure
// 7 is the most-written items' share of the writes logged meanwhile.
func Concurrency(ctx context.Context, bins []Binary, cfg LoadConfig) ([]Result, error) {
	if cfg.Template == "" {
		cfg.Template = "template.yaml"
	}
	cfg.Customers, cfg.MaxProcesses = max(cfg.Customers, 1), max(cfg.MaxProcesses, 1)
	dyn, err := StartDynamoProcess()
	if err != nil {
		return nil, err
	}
	defer dyn.Close()
	tpl, err := samtemplate.Load(cfg.Template)
	if err != nil {
		return nil, err
	}
	binaries := map[string]string{}
	for _, b := range bins {
		if id := Logical[b.Name]; id != "" {
			binaries[id] = b.Path
		}
	}
	st, err := stack.Start(ctx, stack.Config{Template: tpl, Binaries: binaries, DynamoDBEndpoint: dyn.URL(), TableName: Table,
		MaxProcesses: cfg.MaxProcesses, Parameters: map[string]string{"Stage": "bench", "SenderAddress": Sender,
			"AdminAddress": "ops@bench.example", "SenderIdentityName": "bench.example"},
		DemoShops: []stack.DemoShop{{Name: "Bench Shop", AdminEmail: "admin@bench.example", SenderAddress: Sender, Currency: "USD"}}})
	if err != nil {
		return nil, fmt.Errorf("start the local stack: %w", err)
	}
	defer st.Close()
	info := st.Info()
	if len(info.Shops) == 0 {
		return nil, fmt.Errorf("the local stack made no shop")
	}
	shop := info.Shops[0]
	client := dyn.NewClient(nil)
	// The functions hash codes with the secret the stack gave them; the
	// seeding store needs only the table.
	store := dynamo.New(client, Table)
	admin := gc.Actor{ShopID: shop.ID, KeyID: "bench-seed", Role: gc.RoleAdmin}
	custs := make([]string, cfg.Customers)
	for i := range custs {
		c, err := store.CreateCustomer(ctx, admin, "", gc.NewCustomer{Email: "load" + strconv.Itoa(i) + "@bench.example", Name: "Load " + strconv.Itoa(i)})
		if err != nil {
			return nil, fmt.Errorf("seed customer: %w", err)
		}
		if _, err := store.Credit(ctx, admin, "", gc.DirectCredit{CustomerID: c.ID, Amount: 100_000, Currency: "USD", PaymentType: "goodwill"}); err != nil {
			return nil, fmt.Errorf("seed credit: %w", err)
		}
		custs[i] = c.ID
	}
	startItems, err := TableItems(ctx, client, Table)
	if err != nil {
		return nil, err
	}
	var before []Item
	if cfg.PartitionWrites {
		if before, err = ScanItems(ctx, client, Table); err != nil {
			return nil, err
		}
	}

	g := &loadGen{api: info.APIURL, shopKey: shop.ShopKey, customers: custs, codes: make(chan string, 1<<16),
		http:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients * 2}, Timeout: time.Minute},
		stats: map[string]*opStats{}}
	if err := dyn.StartLog(ctx); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(cfg.Duration)
	var wg sync.WaitGroup
	for c := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			for time.Now().Before(deadline) {
				g.one(ctx, rng)
			}
		}()
	}
	wg.Wait()
	took := time.Since(deadline.Add(-cfg.Duration))
	if err := dyn.StopLog(ctx); err != nil {
		return nil, err
	}
	hot, err := dyn.HotItems(ctx, 10)
	if err != nil {
		return nil, err
	}
	var parts []Result
	if cfg.PartitionWrites {
		if parts, err = g.partitions(ctx, dyn, client, before, shop.ID); err != nil {
			return nil, err
		}
	}

	endItems, err := TableItems(ctx, client, Table)
	if err != nil {
		return nil, err
	}
	audit, err := store.Audit(ctx, shop.ID)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return append(g.results(cfg, took, audit, []int{startItems, endItems}, st, hot), parts...), nil
}

// partitions is figure 8 from the load's write requests: every partition
// key's write units per successful mutation (order, redemption, credit
// application).
func (g *loadGen) partitions(ctx context.Context, dyn *Dynamo, client *dynamodb.Client, before []Item, shopID string) ([]Result, error) {
	reqs, err := dyn.WriteRequests(ctx)
	if err != nil {
		return nil, err
	}
	c := NewPartitionCounter(TableIndexes(), before)
	for _, r := range reqs {
		c.Add(r)
	}
	now, err := ScanItems(ctx, client, Table)
	if err != nil {
		return nil, err
	}
	mismatched, touched := c.Mismatches(now)
	g.mu.Lock()
	mutations := 0
	for op, s := range g.stats {
		if op != "read" {
			mutations += s.ok
		}
	}
	g.mu.Unlock()
	return partitionFigure("mixed load", c, mutations, []string{shopID}, mismatched, touched), nil
}

// loadGen is figure 5's clients' shared state.
type loadGen struct {
	api, shopKey string
	customers    []string
	codes        chan string // codes of issued cards, each redeemed once
	http         *http.Client
	seq          atomic.Int64

	mu    sync.Mutex
	stats map[string]*opStats
}

// opStats are one operation's outcomes.
type opStats struct {
	lat       Sample
	ok        int
	conflicts int            // 409 conflict: a lost race the store gave up retrying
	errors    map[string]int // everything else that is not 2xx, by status and code
}

// one makes one request of the mix: a quarter each of orders,
// redemptions (of a card an earlier order issued; an order when there is
// none yet), credit applications and reads.
func (g *loadGen) one(ctx context.Context, rng *rand.Rand) {
	cust := g.customers[rng.IntN(len(g.customers))]
	n := strconv.FormatInt(g.seq.Add(1), 10)
	switch k := rng.IntN(4); {
	case k == 1:
		select {
		case code := <-g.codes:
			g.do(ctx, "redeem", "POST", "/v1/customers/"+cust+"/redemptions", "redeem-"+n, apigw.CodeBody{Code: code}, nil)
			return
		default:
		}
		fallthrough
	case k == 0:
		o := gc.NewOrder{BillingName: "Load Buyer", BillingEmail: "buyer" + n + "@bench.example", PaymentMethod: "card",
			Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: 2500}}}
		if rng.IntN(2) == 0 {
			o.CustomerID = cust
			o.Goods = []gc.OrderLine{{Description: "Mug", UnitPrice: 1200, Quantity: 1}}
		}
		g.do(ctx, "order", "POST", "/v1/orders", "order-"+n, o, func(body []byte) {
			var placed gc.Order
			if json.Unmarshal(body, &placed) == nil {
				for _, c := range placed.GiftCards {
					select {
					case g.codes <- c.Code:
					default:
					}
				}
			}
		})
	case k == 2:
		g.do(ctx, "apply", "POST", "/v1/customers/"+cust+"/credit-applications", "apply-"+n,
			apigw.CreditApplicationBody{OrderRef: "web-" + n, AmountDue: int64(100 + rng.IntN(2000)), Currency: "USD"}, nil)
	default:
		path := "/v1/customers/" + cust
		if rng.IntN(2) == 0 {
			path += "/transactions"
		}
		g.do(ctx, "read", "GET", path, "", nil, nil)
	}
}

func (g *loadGen) do(ctx context.Context, op, method, path, idemKey string, body any, onOK func([]byte)) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			g.record(op, 0, "encode: "+err.Error(), false)
			return
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.api+path, rd)
	if err != nil {
		g.record(op, 0, "request: "+err.Error(), false)
		return
	}
	req.Header.Set("Authorization", "Bearer "+g.shopKey)
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	t := time.Now()
	resp, err := g.http.Do(req)
	if err != nil {
		g.record(op, time.Since(t), "transport error", false)
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t)
	if err != nil {
		g.record(op, d, "transport error", false)
		return
	}
	if resp.StatusCode/100 == 2 {
		if onOK != nil {
			onOK(b)
		}
		g.record(op, d, "", false)
		return
	}
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b, &p)
	g.record(op, d, strconv.Itoa(resp.StatusCode)+" "+p.Code, resp.StatusCode == http.StatusConflict && p.Code == gc.ECONFLICT)
}

func (g *loadGen) record(op string, d time.Duration, errKind string, conflict bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats[op]
	if s == nil {
		s = &opStats{errors: map[string]int{}}
		g.stats[op] = s
	}
	s.lat = append(s.lat, d)
	switch {
	case errKind == "":
		s.ok++
	case conflict:
		s.conflicts++
	default:
		s.errors[errKind]++
	}
}

func (g *loadGen) results(cfg LoadConfig, took time.Duration, audit gc.AuditReport, items []int, st *stack.Stack, hot HotReport) []Result {
	g.mu.Lock()
	defer g.mu.Unlock()
	var all Sample
	total, realErrors, conflicts := 0, 0, 0
	errorsByType := map[string]int{}
	perOp := map[string]any{}
	for _, op := range sortedKeys(g.stats) {
		s := g.stats[op]
		all = append(all, s.lat...)
		total += len(s.lat)
		conflicts += s.conflicts
		for k, n := range s.errors {
			realErrors += n
			errorsByType[op+": "+k] += n
		}
		perOp[op] = map[string]any{"requests": len(s.lat), "ok": s.ok, "conflicts": s.conflicts, "errors": s.errors,
			"p50Ms": Ms(s.lat.Median()), "p99Ms": Ms(s.lat.Quantile(0.99))}
	}
	processes := map[string]int{}
	for _, id := range sortedKeys(Logical) {
		if p := st.Pool(Logical[id]); p != nil {
			processes[Logical[id]] = p.Stats().Started
		}
	}
	rps := round3(float64(total) / took.Seconds())
	common := map[string]any{"clients": cfg.Clients, "seconds": round3(took.Seconds()), "customers": cfg.Customers,
		"maxProcessesPerFunction": cfg.MaxProcesses, "tableItems": items, "through": "local stack (infra/local/stack): gateway, authorizer, function processes"}
	load := Result{Name: "concurrency: throughput", Value: rps, Unit: "requests/s", Target: "report", OK: true,
		Extra: map[string]any{"requests": total, "p50Ms": Ms(all.Median()), "p99Ms": Ms(all.Quantile(0.99)), "perOperation": perOp,
			"expectedConflicts": conflicts, "errorsByType": errorsByType, "processesStarted": processes}}
	for k, v := range common {
		load.Extra[k] = v
	}
	errs := Result{Name: "concurrency: real errors", Value: float64(realErrors), Unit: "requests", Target: "0", OK: realErrors == 0,
		Extra: map[string]any{"errorsByType": errorsByType, "expectedConflicts": conflicts, "requests": total}}
	if !errs.OK {
		errs.Reason = fmt.Sprintf("%d of %d requests failed: %v", realErrors, total, errorsByType)
	}
	breaches := Result{Name: "concurrency: audit breaches", Value: float64(len(audit.Breaches)), Unit: "breaches", Target: "0", OK: audit.OK(),
		Extra: map[string]any{"transactions": audit.Transactions}}
	if !audit.OK() {
		breaches.Reason = fmt.Sprintf("the audit after the load found %v", audit.Breaches)
	}
	p50 := Result{Name: "concurrency: p50 latency", Value: Ms(all.Median()), Unit: "ms", Target: "report", OK: true,
		Extra: map[string]any{"clients": cfg.Clients, "tableItems": items}}
	p99 := Result{Name: "concurrency: p99 latency", Value: Ms(all.Quantile(0.99)), Unit: "ms", Target: "report", OK: true,
		Extra: map[string]any{"clients": cfg.Clients, "tableItems": items}}
	return []Result{load, p50, p99, errs, breaches, hotItems(hot)}
}

// hotItems is figure 7 from the write log.
func hotItems(hot HotReport) Result {
	top, total := hot.Top, hot.Writes
	var worst HotItem
	if len(hot.Others) > 0 {
		worst = hot.Others[0]
	}
	share := 0.0
	if total > 0 {
		share = float64(worst.Writes) / float64(total)
	}
	r := Result{Name: "hot items: most-written item not a customer's or card's own", Value: round3(100 * share), Unit: "% of writes",
		Target: fmt.Sprintf("≤ %.0f%%", 100*hotItemLimit), OK: share <= hotItemLimit,
		Extra: map[string]any{"itemWrites": total, "top": top, "topOthers": hot.Others, "topConditionChecks": hot.Checks}}
	if len(top) > 0 {
		r.Extra["mostWrittenShare"] = top[0].Share
	}
	if !r.OK {
		r.Reason = fmt.Sprintf("%s / %s took %d of %d item writes", worst.PK, worst.SK, worst.Writes, total)
	}
	return r
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
