package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Response shapes, as much of them as the scenarios read.
type (
	customer struct {
		ID       string `json:"id"`
		Email    string `json:"email"`
		Balances []struct {
			Currency string `json:"currency"`
			Amount   int64  `json:"amount"`
		} `json:"balances"`
	}
	order struct {
		ID        string `json:"id"`
		GiftCards []struct {
			ID, Code, Last4 string
			Amount          int64
		} `json:"giftCards"`
		CreditApplied int64 `json:"creditApplied"`
		AmountDue     int64 `json:"amountDue"`
	}
	posting struct {
		Account  string `json:"account"`
		Currency string `json:"currency"`
		Amount   int64  `json:"amount"`
	}
	transaction struct {
		ID        string    `json:"id"`
		Kind      string    `json:"kind"`
		Postings  []posting `json:"postings"`
		Reference string    `json:"reference"`
	}
	problem struct {
		Status     int    `json:"status"`
		Code       string `json:"code"`
		CustomerID string `json:"customerId"`
	}
)

func (c customer) balance(cur string) int64 {
	for _, b := range c.Balances {
		if b.Currency == cur {
			return b.Amount
		}
	}
	return 0
}

// TestLocalStack runs the scenarios against one stack, in order: the
// cold-start test needs functions nobody has called yet, and the secrets
// test must see the output of everything before it.
func TestLocalStack(t *testing.T) {
	h := startStack(t)
	shop := h.info.Shops[0]

	t.Run("cold start: the first request starts a process, concurrency grows the pool up to the limit", func(t *testing.T) {
		pool := h.st.Pool("CustomersFunction")
		if s := pool.Stats(); s.Started != 0 {
			t.Fatalf("CustomersFunction has %d processes before any request", s.Started)
		}
		status, _ := h.call(t, "GET", "/v1/customers?email=nobody@example.test", shop.ShopKey, nil)
		if status != http.StatusNotFound {
			t.Fatalf("status %d, want 404", status)
		}
		if s := pool.Stats(); s.Started != 1 || s.Alive != 1 || len(s.ColdStarts) != 1 {
			t.Fatalf("after one request: %+v, want one process and one cold start", s)
		}
		t.Logf("cold start (exec to first /next): %s", pool.Stats().ColdStarts[0])

		// Many requests at once: the pool grows, but never past its limit.
		const concurrent = 12
		stop := make(chan struct{})
		peak := make(chan int)
		go func() {
			most := 0
			for {
				select {
				case <-stop:
					peak <- most
					return
				default:
				}
				most = max(most, pool.Stats().Alive)
				time.Sleep(time.Millisecond)
			}
		}()
		var wg sync.WaitGroup
		start := make(chan struct{})
		statuses := make([]int, concurrent)
		for i := range concurrent {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i], _ = h.call(t, "GET", fmt.Sprintf("/v1/customers?email=nobody%d@example.test", i), shop.ShopKey, nil)
			}()
		}
		close(start)
		wg.Wait()
		close(stop)
		most := <-peak
		for i, s := range statuses {
			if s != http.StatusNotFound {
				t.Errorf("request %d: status %d", i, s)
			}
		}
		s := pool.Stats()
		if s.Started < 2 {
			t.Errorf("%d concurrent requests started no new process: %+v", concurrent, s)
		}
		if s.Started > maxProcesses || s.Alive > maxProcesses || most > maxProcesses {
			t.Errorf("pool went past its limit of %d: %+v, peak %d alive", maxProcesses, s, most)
		}
		if a := h.st.Pool("AuthorizerFunction").Stats(); a.Alive > maxProcesses {
			t.Errorf("authorizer pool past its limit: %+v", a)
		}
	})

	for _, method := range []string{"cash", "check", "other"} {
		t.Run("seed 000: gift card paid by "+method+", mailed, redeemed, credit applied to the next order", func(t *testing.T) {
			staffEmail := "staff-" + method + "@corner-books.test"
			var placed order
			h.mustCall(t, http.StatusCreated, "POST", "/v1/orders", shop.AdminKey, map[string]any{
				"billingName": "Sam Staff", "billingEmail": staffEmail, "paymentMethod": method,
				"currency": "USD", "giftCards": []map[string]any{{"amount": 5000}},
			}, &placed, "Idempotency-Key", "seed000-"+method)
			if len(placed.GiftCards) != 1 || !codeRE.MatchString(placed.GiftCards[0].Code) || placed.AmountDue != 5000 {
				t.Fatalf("order %+v: want one card with a code, 50.00 due", placed)
			}
			code := placed.GiftCards[0].Code

			// The code reaches the buyer by mail; the admin's copy is masked.
			h.waitEmail(t, staffEmail, code, "50.00 USD")
			for _, e := range h.emails(t) {
				if slices.Contains(e.Destination.To, shop.AdminEmail) && strings.Contains(e.Body.Text+e.Body.HTML, code) {
					t.Errorf("the admin's confirmation shows the whole code: %q", e.Subject)
				}
			}

			// Staff find the customer, or create them.
			email := "ana-" + method + "@example.test"
			var p problem
			h.mustCall(t, http.StatusNotFound, "GET", "/v1/customers?email="+email, shop.ShopKey, nil, &p)
			var c customer
			h.mustCall(t, http.StatusCreated, "POST", "/v1/customers", shop.ShopKey, map[string]string{"email": email, "name": "Ana Lima"}, &c)

			var red struct {
				Amount, Balance int64
			}
			h.mustCall(t, http.StatusCreated, "POST", "/v1/customers/"+c.ID+"/redemptions", shop.ShopKey, map[string]string{"code": code}, &red)
			if red.Amount != 5000 || red.Balance != 5000 {
				t.Fatalf("redemption %+v, want 50.00 onto a 50.00 balance", red)
			}
			h.mustCall(t, http.StatusConflict, "POST", "/v1/customers/"+c.ID+"/redemptions", shop.ShopKey, map[string]string{"code": code}, &p)
			if p.Code != "conflict" {
				t.Errorf("second redemption: code %q, want conflict", p.Code)
			}

			// The credit applies by itself to the customer's next order.
			var next order
			h.mustCall(t, http.StatusCreated, "POST", "/v1/orders", shop.ShopKey, map[string]any{
				"customerId": c.ID, "billingName": "Ana Lima", "billingEmail": email, "paymentMethod": "card",
				"currency": "USD", "goods": []map[string]any{{"description": "Atlas of Remote Islands", "unitPrice": 3200, "quantity": 1}},
			}, &next)
			if next.CreditApplied != 3200 || next.AmountDue != 0 {
				t.Errorf("next order: credit applied %d, due %d; want 3200 and 0", next.CreditApplied, next.AmountDue)
			}
			h.mustCall(t, http.StatusOK, "GET", "/v1/customers/"+c.ID, shop.ShopKey, nil, &c)
			if got := c.balance("USD"); got != 1800 {
				t.Errorf("balance %d, want 1800", got)
			}
		})
	}

	t.Run("seed 003: find or create the customer, credit with a reference, history balanced against the payment type", func(t *testing.T) {
		email := "bo@example.test"
		var p problem
		h.mustCall(t, http.StatusNotFound, "GET", "/v1/customers?email="+email, shop.ShopKey, nil, &p)
		if p.Code != "not_found" {
			t.Errorf("find: code %q, want not_found", p.Code)
		}
		var c customer
		h.mustCall(t, http.StatusCreated, "POST", "/v1/customers", shop.ShopKey, map[string]string{"email": email, "name": "Bo Park"}, &c)
		h.mustCall(t, http.StatusConflict, "POST", "/v1/customers", shop.ShopKey, map[string]string{"email": "BO@example.test", "name": "Bo Park"}, &p)
		if p.CustomerID != c.ID {
			t.Errorf("creating him again: customerId %q, want the existing %q", p.CustomerID, c.ID)
		}

		const reference = "Refund to credit for order #1042 (damaged item)"
		credit := map[string]any{"amount": 2500, "currency": "USD", "paymentType": "goodwill", "reference": reference}
		status, _ := h.call(t, "POST", "/v1/customers/"+c.ID+"/credits", shop.ShopKey, credit)
		if status != http.StatusForbidden {
			t.Errorf("credit with a shop key: status %d, want 403", status)
		}
		var tx transaction
		h.mustCall(t, http.StatusCreated, "POST", "/v1/customers/"+c.ID+"/credits", shop.AdminKey, credit, &tx, "Idempotency-Key", "seed003-credit")
		var replay transaction
		h.mustCall(t, http.StatusCreated, "POST", "/v1/customers/"+c.ID+"/credits", shop.AdminKey, credit, &replay, "Idempotency-Key", "seed003-credit")
		if replay.ID != tx.ID {
			t.Errorf("replay created transaction %s, want the first, %s", replay.ID, tx.ID)
		}

		var history struct {
			Transactions []transaction `json:"transactions"`
		}
		h.mustCall(t, http.StatusOK, "GET", "/v1/customers/"+c.ID+"/transactions", shop.ShopKey, nil, &history)
		if len(history.Transactions) != 1 {
			t.Fatalf("history has %d transactions, want the one credit", len(history.Transactions))
		}
		got := history.Transactions[0]
		if got.Kind != "credit" || got.Reference != reference {
			t.Errorf("history shows %s %q, want credit %q", got.Kind, got.Reference, reference)
		}
		sum, legs := int64(0), map[string]int64{}
		for _, p := range got.Postings {
			sum += p.Amount
			legs[p.Account] = p.Amount
		}
		if sum != 0 || legs["funding:goodwill"] != -2500 || legs["customer:"+c.ID] != 2500 {
			t.Errorf("postings %+v: want +2500 to the customer balanced by -2500 from funding:goodwill", got.Postings)
		}
		h.mustCall(t, http.StatusOK, "GET", "/v1/customers/"+c.ID, shop.ShopKey, nil, &c)
		if c.balance("USD") != 2500 {
			t.Errorf("balance %d, want 2500", c.balance("USD"))
		}

		// One shop never sees another's records.
		status, _ = h.call(t, "GET", "/v1/customers/"+c.ID, h.info.Shops[1].ShopKey, nil)
		if status != http.StatusNotFound {
			t.Errorf("the other shop reads the customer: status %d, want 404", status)
		}
	})

	t.Run("SES hung: the order answers 201 with its code in time; its mail goes out once SES answers", func(t *testing.T) {
		ses := h.st.SES()
		if err := ses.Stop(); err != nil {
			t.Fatal(err)
		}
		frozen := true
		defer func() {
			if frozen {
				_ = ses.Continue()
			}
		}()
		buyer := "hung-ses@corner-books.test"
		var placed order
		start := time.Now()
		h.mustCall(t, http.StatusCreated, "POST", "/v1/orders", shop.AdminKey, map[string]any{
			"billingName": "Sam Staff", "billingEmail": buyer, "paymentMethod": "cash",
			"currency": "USD", "giftCards": []map[string]any{{"amount": 2500}},
		}, &placed, "Idempotency-Key", "hung-ses-1")
		// The orders function has 15 s; the inline mail budget is 2 s.
		if took := time.Since(start); took >= 3*time.Second {
			t.Errorf("the order answered after %v with SES hung; want under 3 s", took)
		}
		if len(placed.GiftCards) != 1 || !codeRE.MatchString(placed.GiftCards[0].Code) {
			t.Fatalf("order %+v: want one card with its code", placed)
		}
		code := placed.GiftCards[0].Code
		if err := ses.Continue(); err != nil {
			t.Fatal(err)
		}
		frozen = false
		resp, err := http.Post(h.info.Schedules["EmailSenderFunctionEveryFiveMinutes"], "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("email sender: status %d", resp.StatusCode)
		}
		h.waitEmail(t, buyer, code)
	})

	t.Run("scheduled invocations through the fire-now URLs", func(t *testing.T) {
		for _, rule := range []string{"AuditFunctionDaily", "EmailSenderFunctionEveryFiveMinutes"} {
			url, ok := h.info.Schedules[rule]
			if !ok {
				t.Fatalf("stack.json has no schedule %s: %v", rule, h.info.Schedules)
			}
			resp, err := http.Post(url, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			var res struct {
				Job      string         `json:"job"`
				Counts   map[string]int `json:"counts"`
				Breaches int            `json:"breaches"`
			}
			err = json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d, %v", rule, resp.StatusCode, err)
			}
			switch rule {
			case "AuditFunctionDaily":
				// After the workflows above, the ledger proves every invariant.
				if res.Job != "audit" || res.Counts["shops"] != 2 || res.Counts["transactions"] == 0 || res.Breaches != 0 {
					t.Errorf("audit: %+v, want 2 shops, some transactions, no breach", res)
				}
			case "EmailSenderFunctionEveryFiveMinutes":
				if res.Job != "email-sender" {
					t.Errorf("email sender: %+v", res)
				}
			}
		}
	})

	// Liability report (issue 15).
	t.Run("liability report: the daily close through its URL, the report as JSON and as CSV", func(t *testing.T) {
		sh := h.info.Shops[1]
		var c customer
		h.mustCall(t, http.StatusCreated, "POST", "/v1/customers", sh.AdminKey, map[string]any{"email": "ledger@harbour-tea.test", "name": "Lee Dger"},
			&c, "Idempotency-Key", "liab-c1")
		h.mustCall(t, http.StatusCreated, "POST", "/v1/customers/"+c.ID+"/credits", sh.AdminKey,
			map[string]any{"amount": 1250, "currency": "BHD", "paymentType": "cash"}, nil, "Idempotency-Key", "liab-k1")
		h.mustCall(t, http.StatusCreated, "POST", "/v1/orders", sh.AdminKey, map[string]any{"billingName": "Till", "billingEmail": "till@harbour-tea.test",
			"paymentMethod": "cash", "currency": "BHD", "giftCards": []map[string]any{{"amount": 4000}}}, nil, "Idempotency-Key", "liab-o1")
		resp, err := http.Post(h.info.Schedules["DailyCloseFunctionHourly"], "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var run struct {
			Job    string         `json:"job"`
			Counts map[string]int `json:"counts"`
		}
		err = json.NewDecoder(resp.Body).Decode(&run)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || run.Job != "daily-close" || run.Counts["shops"] != 2 || run.Counts["failed"] != 0 {
			t.Fatalf("daily close: status %d, %+v, %v", resp.StatusCode, run, err)
		}
		now := time.Now().UTC()
		today, yesterday := now.Format("2006-01-02"), now.AddDate(0, 0, -1).Format("2006-01-02")
		q := "/v1/reports/liability?from=" + yesterday + "&to=" + today + "&currency=BHD"
		var rep struct {
			Currency, From, To string
			GiftCards          struct{ Opening, Issued, Closing, OutstandingCount int64 }
			Credit             struct {
				Granted struct{ Credit int64 }
				Closing int64
			}
		}
		h.mustCall(t, http.StatusOK, "GET", q, sh.AdminKey, nil, &rep)
		if rep.Currency != "BHD" || rep.From != yesterday || rep.To != today || rep.GiftCards.Opening != 0 || rep.GiftCards.Issued != 4000 ||
			rep.GiftCards.Closing != 4000 || rep.GiftCards.OutstandingCount != 1 || rep.Credit.Granted.Credit != 1250 || rep.Credit.Closing != 1250 {
			t.Errorf("report %+v", rep)
		}
		status, body := h.call(t, "GET", q, sh.AdminKey, nil, "Accept", "text/csv")
		lines := strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n")
		if status != http.StatusOK || len(lines) != 3 || !strings.HasPrefix(lines[0], "day,currency,giftCards.opening,") ||
			lines[2] != today+",BHD,0,4000,0,0,0,4000,1,0,0,1250,0,0,0,0,0,1250,false" {
			t.Errorf("CSV: %d %q", status, lines)
		}
		if status, _ := h.call(t, "GET", q, sh.ShopKey, nil); status != http.StatusForbidden {
			t.Errorf("shop key: %d, want 403", status)
		}
		status, body = h.call(t, "GET", "/v1/reports/liability?from="+today+"&to="+yesterday+"&currency=BHD", sh.AdminKey, nil)
		if status != http.StatusBadRequest || !strings.Contains(string(body), `"field":"to"`) {
			t.Errorf("to before from: %d %s", status, body)
		}
	})
	t.Run("expiring credit: a reminder before, an expiry transaction at expiresAt", func(t *testing.T) { testExpiringCredit(t, h) })

	t.Run("README tour runs as written", func(t *testing.T) { testTour(t, h) })

	t.Run("secrets stay secret: no code or key in any function's output or in the table", func(t *testing.T) { testSecrets(t, h) })
}
