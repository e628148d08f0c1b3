package stack

import (
	"errors"
	"testing"
	"time"
)

func TestScheduleExpressions(t *testing.T) {
	start := time.Date(2026, 11, 22, 9, 30, 15, 0, time.UTC) // a Sunday
	tests := []struct {
		name, expr string
		after      time.Time
		want       []time.Time // successive firings
	}{
		{"rate counts from the start", "rate(5 minutes)", start,
			[]time.Time{start.Add(5 * time.Minute), start.Add(10 * time.Minute)}},
		{"rate singular", "rate(1 hour)", start.Add(-time.Hour),
			[]time.Time{start.Add(time.Hour), start.Add(2 * time.Hour)}},
		{"rate of days", "rate(1 day)", start.Add(36 * time.Hour),
			[]time.Time{start.Add(48 * time.Hour)}},
		{"cron daily at noon", "cron(0 12 * * ? *)", start,
			[]time.Time{time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}},
		{"cron every 15 minutes", "cron(0/15 * * * ? *)", start,
			[]time.Time{time.Date(2026, 11, 22, 9, 45, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}},
		{"cron weekdays by name", "cron(30 8 ? * MON-FRI *)", start,
			[]time.Time{time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC), time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)}},
		{"cron Sunday is 1", "cron(0 10 ? * 1 *)", start,
			[]time.Time{time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}},
		{"cron list of months, first day", "cron(0 0 1 JAN,JUL ? *)", start,
			[]time.Time{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)}},
		{"cron 31st skips short months", "cron(0 0 31 * ? *)", start,
			[]time.Time{time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)}},
		{"cron in a past year never fires", "cron(0 0 * * ? 2020)", start, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := parseScheduleExpr(tc.expr, start)
			if err != nil {
				t.Fatal(err)
			}
			at := tc.after
			for i, want := range tc.want {
				got, ok := e.Next(at)
				if !ok || !got.Equal(want) {
					t.Fatalf("firing %d after %s: got %s (%v), want %s", i+1, at, got, ok, want)
				}
				at = got
			}
			if tc.want == nil {
				if got, ok := e.Next(at); ok {
					t.Fatalf("fires at %s, want never", got)
				}
			}
		})
	}
}

func TestScheduleExpressionErrors(t *testing.T) {
	for _, tc := range []struct {
		expr        string
		unsupported bool
	}{
		{"rate(0 minutes)", false},
		{"rate(5 fortnights)", false},
		{"rate(5)", false},
		{"every 5 minutes", false},
		{"cron(0 12 * * *)", false},       // five fields
		{"cron(0 12 * * * *)", false},     // neither day field is ?
		{"cron(0 12 ? * ? *)", false},     // both are
		{"cron(61 12 * * ? *)", false},    // minute out of range
		{"cron(0 12 L * ? *)", true},      // last day of month
		{"cron(0 12 ? * 6L *)", true},     // last Friday
		{"cron(0 12 ? * FRI#3 *)", false}, // # after a name is refused as a bad value
		{"cron(0 12 15W * ? *)", true},    // nearest weekday
	} {
		_, err := parseScheduleExpr(tc.expr, time.Now())
		if err == nil {
			t.Errorf("%s: no error", tc.expr)
			continue
		}
		if got := errors.Is(err, errCronUnsupported); got != tc.unsupported {
			t.Errorf("%s: %v; unsupported = %v, want %v", tc.expr, err, got, tc.unsupported)
		}
	}
}
