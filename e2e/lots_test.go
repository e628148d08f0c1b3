package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fireSchedule runs one schedule now through its fire-now URL and returns
// the job's counts.
func fireSchedule(t *testing.T, h *harness, rule string) map[string]int {
	t.Helper()
	url, ok := h.info.Schedules[rule]
	if !ok {
		t.Fatalf("stack.json has no schedule %s: %v", rule, h.info.Schedules)
	}
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Job    string         `json:"job"`
		Counts map[string]int `json:"counts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d, %v", rule, resp.StatusCode, err)
	}
	return res.Counts
}

// testExpiringCredit grants a credit that expires some seconds ahead (the
// stack's clock is the wall clock; 12 s leaves a loaded CI machine time
// for the steps before expiresAt), fires the expiry job before (the
// reminder mail) and after its expiresAt (the expiry transaction), and
// sees the customer's balance and lots follow.
func testExpiringCredit(t *testing.T, h *harness) {
	shop := h.info.Shops[0]
	var c customer
	h.mustCall(t, http.StatusCreated, "POST", "/v1/customers", shop.ShopKey,
		map[string]any{"email": "lapse@example.com", "name": "Lee Lapse"}, &c, "Idempotency-Key", "e2e-lapse-customer")
	h.mustCall(t, http.StatusCreated, "POST", "/v1/customers/"+c.ID+"/credits", shop.AdminKey,
		map[string]any{"amount": 1000, "currency": "USD", "paymentType": "goodwill"}, nil, "Idempotency-Key", "e2e-lapse-1")
	exp := time.Now().UTC().Add(12 * time.Second).Truncate(time.Second).Add(time.Second)
	h.mustCall(t, http.StatusCreated, "POST", "/v1/customers/"+c.ID+"/credits", shop.AdminKey,
		map[string]any{"amount": 750, "currency": "USD", "paymentType": "goodwill", "expiresAt": exp.Format(time.RFC3339)}, nil,
		"Idempotency-Key", "e2e-lapse-2")

	var got struct {
		Balances []struct {
			Amount     int64 `json:"amount"`
			NextExpiry *struct {
				Amount    int64     `json:"amount"`
				ExpiresAt time.Time `json:"expiresAt"`
			} `json:"nextExpiry"`
		} `json:"balances"`
	}
	h.mustCall(t, http.StatusOK, "GET", "/v1/customers/"+c.ID, shop.ShopKey, nil, &got)
	if len(got.Balances) != 1 || got.Balances[0].Amount != 1750 || got.Balances[0].NextExpiry == nil ||
		got.Balances[0].NextExpiry.Amount != 750 || !got.Balances[0].NextExpiry.ExpiresAt.Equal(exp) {
		t.Fatalf("customer before expiry: %+v", got)
	}
	var lots struct {
		Lots []struct {
			Source    string `json:"source"`
			Remaining int64  `json:"remaining"`
		} `json:"lots"`
	}
	h.mustCall(t, http.StatusOK, "GET", "/v1/customers/"+c.ID+"/lots", shop.ShopKey, nil, &lots)
	if len(lots.Lots) != 2 || lots.Lots[0].Remaining != 750 || lots.Lots[1].Remaining != 1000 {
		t.Fatalf("lots: %+v, want the expiring one first", lots)
	}

	// Before expiresAt: the reminder (expiryNoticeDays defaults to 7).
	if counts := fireSchedule(t, h, "CreditExpiryFunctionEveryFiveMinutes"); counts["reminded"] < 1 {
		t.Fatalf("first run: %v, want a reminder", counts)
	}
	h.waitEmail(t, "lapse@example.com", "7.50 USD", "expires on")

	for time.Now().Before(exp.Add(200 * time.Millisecond)) {
		time.Sleep(100 * time.Millisecond)
	}
	if counts := fireSchedule(t, h, "CreditExpiryFunctionEveryFiveMinutes"); counts["expired"] < 1 {
		t.Fatalf("run after expiresAt: %v, want an expiry", counts)
	}
	var hist struct {
		Transactions []transaction `json:"transactions"`
	}
	h.mustCall(t, http.StatusOK, "GET", "/v1/customers/"+c.ID+"/transactions", shop.ShopKey, nil, &hist)
	if len(hist.Transactions) == 0 || hist.Transactions[0].Kind != "expiry" || len(hist.Transactions[0].Postings) != 2 ||
		hist.Transactions[0].Postings[0].Amount != -750 || hist.Transactions[0].Postings[1].Account != "breakage" {
		t.Fatalf("newest transaction: %+v, want the expiry of 7.50 to breakage", hist.Transactions)
	}
	// The job published the expiry's credit.expired right after its write
	// (the scheduled publisher is not fired here, and would wait a minute).
	if ev := expiredEvent(t, h, c.ID); ev == nil || ev.Data.Amount != 750 || !strings.HasPrefix(ev.Data.LotID, "lot_") ||
		ev.Data.TransactionID != hist.Transactions[0].ID {
		t.Fatalf("credit.expired on the bus: %+v, want the expiry of 7.50 naming its lot", ev)
	}
	got.Balances = nil // a decode into got keeps what the body omits
	h.mustCall(t, http.StatusOK, "GET", "/v1/customers/"+c.ID, shop.ShopKey, nil, &got)
	if got.Balances[0].Amount != 1000 || got.Balances[0].NextExpiry != nil {
		t.Fatalf("customer after expiry: %+v", got)
	}
	// Nothing more to expire, and no second reminder.
	if counts := fireSchedule(t, h, "CreditExpiryFunctionEveryFiveMinutes"); counts["expired"] != 0 || counts["reminded"] != 0 {
		t.Fatalf("third run: %v, want nothing", counts)
	}
}

// expiredEvent is the credit.expired of customerID among the events the
// stack's bus received (nil if none).
func expiredEvent(t *testing.T, h *harness, customerID string) *expiredEnvelope {
	t.Helper()
	if h.info.EventsURL == "" {
		t.Fatal("stack.json has no eventsUrl")
	}
	resp, err := http.Get(h.info.EventsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var listed struct {
		Events []struct {
			DetailType string          `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&listed); err != nil {
		t.Fatal(err)
	}
	for _, be := range listed.Events {
		if be.DetailType != "credit.expired" {
			continue
		}
		var ev expiredEnvelope
		if err := json.Unmarshal(be.Detail, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Data.CustomerID == customerID {
			return &ev
		}
	}
	return nil
}

type expiredEnvelope struct {
	ID   string `json:"id"`
	Data struct {
		TransactionID string `json:"transactionId"`
		CustomerID    string `json:"customerId"`
		LotID         string `json:"lotId"`
		Amount        int64  `json:"amount"`
	} `json:"data"`
}
