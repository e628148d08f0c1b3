package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/mail"
)

// LiabilityReportDays is the range figure 9 reports over.
const LiabilityReportDays = gc.MaxReportDays

// LiabilityReads measures figure 9: the DynamoDB requests, and the items
// they return, of one liability report over 366 days, for a shop whose
// ledger spans 370 days in two currencies and whose daily close has run
// (through yesterday: today is the open day, read from its transactions).
// The target: at most 366 day items of the currency, plus the open day's
// transactions and the close state, whatever the ledger's size.
func LiabilityReads(ctx context.Context) ([]Result, error) {
	l, err := NewLedger(ctx, LedgerOptions{Process: true, NoAdminEmail: true})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var clock atomic.Int64
	clock.Store(today.AddDate(0, 0, -370).Add(9 * time.Hour).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Add(int64(time.Millisecond))).UTC() }
	s := dynamo.New(l.Client, Table, dynamo.WithKeyring(l.Keyring), dynamo.WithClock(now), dynamo.WithComposer(mail.NewComposer(Sender)))
	sh, err := s.CreateShop(ctx, gc.Shop{Name: "Year Shop", DefaultCurrency: "USD"})
	if err != nil {
		return nil, err
	}
	admin := gc.Actor{ShopID: sh.ID, KeyID: "key_bench_year", Role: gc.RoleAdmin}
	cust, err := s.CreateCustomer(ctx, admin, "", gc.NewCustomer{Email: "year@bench.example", Name: "Year"})
	if err != nil {
		return nil, err
	}
	// A few transactions every week, and two on the open day.
	txs := 0
	for d := 0; d <= 370; d++ {
		clock.Store(today.AddDate(0, 0, d-370).Add(10 * time.Hour).UnixNano())
		if d%7 != 0 && d != 370 {
			continue
		}
		for _, cur := range []string{"USD", "JPY"} {
			if _, err := s.Credit(ctx, admin, "", gc.DirectCredit{CustomerID: cust.ID, Amount: 1000, Currency: cur, PaymentType: "cash"}); err != nil {
				return nil, err
			}
			txs++
		}
		if _, err := s.PlaceOrder(ctx, admin, "", gc.NewOrder{BillingName: "Y", BillingEmail: "year@bench.example", PaymentMethod: "cash",
			Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: 2500}}}); err != nil {
			return nil, err
		}
		txs++
		if d%28 == 0 {
			if _, err := s.ApplyCredit(ctx, admin, "", gc.CreditApplication{CustomerID: cust.ID, OrderRef: fmt.Sprint("year-", d), AmountDue: 700, Currency: "USD"}); err != nil {
				return nil, err
			}
			txs++
		}
	}
	clock.Store(today.Add(10*time.Hour + time.Minute).UnixNano())
	due, err := s.DueDays(ctx, sh, now())
	if err != nil {
		return nil, err
	}
	for _, d := range due {
		if out, err := s.CloseDay(ctx, sh, d, 0); err != nil || !out.Closed {
			return nil, fmt.Errorf("close %s: %+v %v", d, out, err)
		}
	}
	r, err := gc.ParseReportRange(today.AddDate(0, 0, -(LiabilityReportDays-1)).Format(gc.DayLayout), today.Format(gc.DayLayout), "USD", now())
	if err != nil {
		return nil, err
	}
	var rep gc.LiabilityReport
	l.Rec.Reset()
	calls, err := l.Rec.Record(func() error {
		var err error
		rep, _, err = s.Liability(ctx, sh.ID, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	counts := l.Rec.Counts()
	reads, writes, other := RequestCounts(counts)
	dayItems, txItems, otherItems := 0, 0, 0
	for _, c := range calls {
		switch out := c.Output.(type) {
		case *dynamodb.QueryOutput:
			pk := queryPK(c.Input)
			switch {
			case strings.Contains(pk, "#LIAB#"):
				dayItems += len(out.Items)
			case strings.Contains(pk, "#TXS#"):
				txItems += len(out.Items)
			default:
				otherItems += len(out.Items)
			}
		case *dynamodb.GetItemOutput:
			if len(out.Item) > 0 {
				otherItems++
			}
		}
	}
	items, err := l.Items(ctx)
	if err != nil {
		return nil, err
	}
	extra := func() map[string]any {
		return map[string]any{"reads": reads, "writes": writes, "other": other, "requests": maps.Clone(counts), "calls": DescribeCalls(calls),
			"dayItems": dayItems, "openDayTransactions": txItems, "otherItems": otherItems, "closedDays": len(due),
			"ledgerTransactions": txs, "tableItems": items, "closingGiftCards": rep.GiftCards.Closing, "closingCredit": rep.Credit.Closing}
	}
	res := []Result{
		{Name: "liability report, 366 days: day items read", Value: float64(dayItems), Unit: "items", Target: "≤ 366 per currency",
			OK: dayItems <= LiabilityReportDays, Extra: extra()},
		{Name: "liability report, 366 days: other items read", Value: float64(txItems + otherItems), Unit: "items",
			Target: "the open day's transactions and the close state", OK: txItems <= 3 && otherItems <= 1 && writes == 0, Extra: extra()},
		{Name: "liability report, 366 days: DynamoDB requests", Value: float64(reads + writes + other), Unit: "requests",
			Target: "1 close state + 1 day query + 16 open-day shards", OK: writes == 0 && reads <= 2+dynamo.ListShards, Extra: extra()},
	}
	for i := range res {
		if !res[i].OK {
			res[i].Reason = fmt.Sprintf("%d day items, %d open-day transactions, %d other items in %d requests: %s", dayItems, txItems, otherItems, reads+writes+other, DescribeCalls(calls))
		}
	}
	return res, nil
}

// queryPK is the partition key value of a Query's key condition (its :pk).
func queryPK(in any) string {
	q, ok := in.(*dynamodb.QueryInput)
	if !ok {
		return ""
	}
	if v, ok := q.ExpressionAttributeValues[":pk"].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// reportsLoad asks for the liability report of the last 30 days, as JSON
// and every other time as CSV, on a ledger with some of today's traffic
// (a new shop has no closed day: the report folds its open days).
func reportsLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	if _, err := customerPool(ctx, l, 8, 5000); err != nil {
		return nil, err
	}
	today := time.Now().UTC()
	q := map[string]string{"from": today.AddDate(0, 0, -29).Format(gc.DayLayout), "to": today.Format(gc.DayLayout), "currency": "USD"}
	return func(i int) ([]byte, error) {
		ev, err := APIRequest{Route: "GET /v1/reports/liability", Actor: l.Admin}.Event()
		if err != nil {
			return nil, err
		}
		ev.QueryStringParameters = q
		if i%2 == 1 {
			ev.Headers["accept"] = "text/csv"
		}
		return json.Marshal(ev)
	}, nil
}

// dailyCloseLoad ticks the daily close on a ledger with some of today's
// traffic: the shop's first day (yesterday) closes on the first tick, the
// later ones find nothing due.
func dailyCloseLoad(ctx context.Context, l *Ledger) (func(int) ([]byte, error), error) {
	if _, err := customerPool(ctx, l, 8, 5000); err != nil {
		return nil, err
	}
	return func(int) ([]byte, error) { return scheduleEvent() }, nil
}
