package bench

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/giftcredit/giftcredit/internal/apigw"
	"github.com/giftcredit/giftcredit/internal/schedule"
)

// TestReportWorkloads: figure 4's payloads for the reports and daily
// close functions are what their handlers serve (JSON, then CSV; a tick
// that closes the shop's first day).
func TestReportWorkloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, err := NewLedger(ctx, LedgerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	next, err := reportsLoad(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	h, err := apigw.New(apigw.Config{Function: "ReportsFunction", Ledger: l.Store, Reports: l.Store,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"application/json", "text/csv"} {
		b, err := next(i)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		r, _ := h.Handle(ctx, ev)
		if r.StatusCode != 200 || !strings.HasPrefix(r.Headers["Content-Type"], want) {
			t.Errorf("payload %d: %d %s %s", i, r.StatusCode, r.Headers["Content-Type"], r.Body)
		}
	}
	tick, err := dailyCloseLoad(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tick(0)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	job := &schedule.DailyClose{Store: l.Store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
	res, err := job.Handle(ctx, ev)
	if err != nil || res.Counts["shops"] != 1 {
		t.Errorf("tick: %+v %v", res, err)
	}
}
