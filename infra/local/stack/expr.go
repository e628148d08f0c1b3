package stack

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// scheduleExpr is a parsed EventBridge schedule expression: rate(...) or
// cron(...). Next returns the first firing strictly after a moment.
type scheduleExpr interface {
	Next(after time.Time) (time.Time, bool)
}

// parseScheduleExpr parses "rate(5 minutes)" or "cron(0 12 * * ? *)". start
// is when the schedule was created: a rate fires first one period after it,
// as an EventBridge rule does.
func parseScheduleExpr(expr string, start time.Time) (scheduleExpr, error) {
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		return parseRate(expr[len("rate("):len(expr)-1], start)
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		return parseCron(expr[len("cron(") : len(expr)-1])
	}
	return nil, fmt.Errorf("schedule %q: want rate(...) or cron(...)", expr)
}

// rateExpr fires every period, counted from start.
type rateExpr struct {
	start  time.Time
	period time.Duration
}

func parseRate(s string, start time.Time) (rateExpr, error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return rateExpr{}, fmt.Errorf("rate(%s): want rate(<value> <unit>)", s)
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n <= 0 {
		return rateExpr{}, fmt.Errorf("rate(%s): the value must be a positive integer", s)
	}
	var unit time.Duration
	switch fields[1] {
	case "minute", "minutes":
		unit = time.Minute
	case "hour", "hours":
		unit = time.Hour
	case "day", "days":
		unit = 24 * time.Hour
	default:
		return rateExpr{}, fmt.Errorf("rate(%s): the unit must be minute(s), hour(s) or day(s)", s)
	}
	return rateExpr{start: start, period: time.Duration(n) * unit}, nil
}

// Next implements scheduleExpr.
func (r rateExpr) Next(after time.Time) (time.Time, bool) {
	if after.Before(r.start) {
		return r.start.Add(r.period), true
	}
	n := after.Sub(r.start)/r.period + 1
	return r.start.Add(n * r.period), true
}

// cronExpr is EventBridge's six-field cron (minutes hours day-of-month
// month day-of-week year), evaluated in UTC. Each set holds the allowed
// values of its field; a nil day set means "?" (any).
type cronExpr struct {
	minutes, hours, doms, months, dows, years map[int]bool
}

// cronField describes one field of a cron expression.
type cronField struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	cronMonthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
		"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	// EventBridge numbers the days of the week 1 (Sunday) to 7 (Saturday).
	cronDayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

	cronFields = [6]cronField{
		{name: "minutes", min: 0, max: 59},
		{name: "hours", min: 0, max: 23},
		{name: "day-of-month", min: 1, max: 31},
		{name: "month", min: 1, max: 12, names: cronMonthNames},
		{name: "day-of-week", min: 1, max: 7, names: cronDayNames},
		{name: "year", min: 1970, max: 2199},
	}
)

// errCronUnsupported marks the parts of EventBridge's cron syntax (L, W, #)
// the local scheduler does not evaluate.
var errCronUnsupported = errors.New("not supported by the local scheduler")

func parseCron(s string) (cronExpr, error) {
	parts := strings.Fields(s)
	if len(parts) != 6 {
		return cronExpr{}, fmt.Errorf("cron(%s): want 6 fields (minutes hours day-of-month month day-of-week year)", s)
	}
	var sets [6]map[int]bool
	for i, f := range cronFields {
		p := strings.ToUpper(parts[i])
		if p == "?" {
			if i != 2 && i != 4 {
				return cronExpr{}, fmt.Errorf("cron(%s): ? is allowed only in day-of-month and day-of-week", s)
			}
			continue
		}
		if strings.ContainsAny(p, "LW#") && !containsName(p, f.names) {
			return cronExpr{}, fmt.Errorf("cron(%s): %s %q: L, W and # are %w", s, f.name, parts[i], errCronUnsupported)
		}
		set, err := f.parse(p)
		if err != nil {
			return cronExpr{}, fmt.Errorf("cron(%s): %w", s, err)
		}
		sets[i] = set
	}
	if (sets[2] == nil) == (sets[4] == nil) {
		return cronExpr{}, fmt.Errorf("cron(%s): exactly one of day-of-month and day-of-week must be ?", s)
	}
	return cronExpr{minutes: sets[0], hours: sets[1], doms: sets[2], months: sets[3], dows: sets[4], years: sets[5]}, nil
}

// containsName reports whether p uses one of the field's names (so its
// letters are not the special characters L, W and #).
func containsName(p string, names map[string]int) bool {
	for n := range names {
		if strings.Contains(p, n) {
			return true
		}
	}
	return false
}

// parse reads a comma-separated list of *, values, ranges a-b and steps
// x/n into the set of allowed values.
func (f cronField) parse(p string) (map[int]bool, error) {
	set := map[int]bool{}
	for item := range strings.SplitSeq(p, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("%s %q: bad step", f.name, item)
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return nil, err
			}
			if hi, err = f.value(b); err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, fmt.Errorf("%s %q: range runs backwards", f.name, item)
			}
		default:
			v, err := f.value(rng)
			if err != nil {
				return nil, err
			}
			lo = v
			if !hasStep {
				hi = v
			}
		}
		for v := lo; v <= hi; v += step {
			set[v] = true
		}
	}
	return set, nil
}

func (f cronField) value(s string) (int, error) {
	if v, ok := f.names[s]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < f.min || v > f.max {
		return 0, fmt.Errorf("%s %q: want %d-%d", f.name, s, f.min, f.max)
	}
	return v, nil
}

// cronHorizon bounds the search for the next firing: an expression that
// never fires again (a past year) reports false instead of looping.
const cronHorizon = 5 * 366 * 24 * time.Hour

// Next implements scheduleExpr: the first whole minute after after that
// every field allows.
func (c cronExpr) Next(after time.Time) (time.Time, bool) {
	t := after.UTC().Truncate(time.Minute).Add(time.Minute)
	end := t.Add(cronHorizon)
	for t.Before(end) {
		switch {
		case !c.years[t.Year()]:
			t = time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
		case !c.months[int(t.Month())]:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case !c.hours[t.Hour()]:
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, time.UTC)
		case !c.minutes[t.Minute()]:
			t = t.Add(time.Minute)
		default:
			return t, true
		}
	}
	return time.Time{}, false
}

func (c cronExpr) dayMatches(t time.Time) bool {
	if c.doms != nil {
		return c.doms[t.Day()]
	}
	return c.dows[int(t.Weekday())+1]
}
