package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one figure as results.json records it: the measured value, its
// unit, the target it is held against and whether it meets it. Extra holds
// the figure's other numbers (table size, baseline values, breakdowns) and
// is written inline beside the fixed fields.
type Result struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target"`
	OK     bool    `json:"ok"`
	// Reason says, for a figure that misses its target or was not
	// measured, why.
	Reason string         `json:"reason,omitempty"`
	Extra  map[string]any `json:"-"`
}

// MarshalJSON writes the fixed fields first, then Extra's in key order.
func (r Result) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	field := func(k string, v any) error {
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("result %q field %s: %w", r.Name, k, err)
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		return nil
	}
	fixed := []struct {
		k string
		v any
	}{{"name", r.Name}, {"value", finite(r.Value)}, {"unit", r.Unit}, {"target", r.Target}, {"ok", r.OK}}
	for _, f := range fixed {
		if err := field(f.k, f.v); err != nil {
			return nil, err
		}
	}
	if r.Reason != "" {
		if err := field("reason", r.Reason); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		switch k {
		case "name", "value", "unit", "target", "ok", "reason":
			return nil, fmt.Errorf("result %q: extra field %q shadows a fixed one", r.Name, k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := field(k, r.Extra[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// finite keeps NaN and infinities (a figure that could not be computed)
// out of JSON, which cannot hold them.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// Report is every result of one run.
type Report struct {
	Results []Result
}

// Add appends results.
func (rp *Report) Add(rs ...Result) { rp.Results = append(rp.Results, rs...) }

// Missed returns the results that miss their target.
func (rp *Report) Missed() []Result {
	var out []Result
	for _, r := range rp.Results {
		if !r.OK {
			out = append(out, r)
		}
	}
	return out
}

// WriteFile writes the results as a JSON array, one object per figure.
func (rp *Report) WriteFile(path string) error {
	b, err := json.MarshalIndent(rp.Results, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// MergeFile writes the results into the JSON array at path, keeping what
// it already holds: a result replaces the one of the same name in place,
// and a new name is added at the end. A run of some figures
// (-figures=1,2) so updates those figures and leaves the others as the
// last run measured them.
func (rp *Report) MergeFile(path string) error {
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return rp.WriteFile(path)
	} else if err != nil {
		return err
	}
	var kept []json.RawMessage
	if err := json.Unmarshal(old, &kept); err != nil {
		return fmt.Errorf("merge into %s: %w", path, err)
	}
	fresh := map[string]int{}
	for i, r := range rp.Results {
		fresh[r.Name] = i
	}
	out := make([]json.RawMessage, 0, len(kept)+len(rp.Results))
	placed := map[string]bool{}
	for _, raw := range kept {
		var named struct{ Name string }
		if err := json.Unmarshal(raw, &named); err != nil {
			return fmt.Errorf("merge into %s: %w", path, err)
		}
		if i, ok := fresh[named.Name]; ok {
			if placed[named.Name] {
				continue
			}
			b, err := json.Marshal(rp.Results[i])
			if err != nil {
				return err
			}
			raw, placed[named.Name] = b, true
		}
		out = append(out, raw)
	}
	for _, r := range rp.Results {
		if !placed[r.Name] {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			out, placed[r.Name] = append(out, b), true
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// PrintTable writes the human table: one line per result, and the reasons
// of the misses underneath.
func (rp *Report) PrintTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tunit\ttarget\tok")
	for _, r := range rp.Results {
		ok := "ok"
		if !r.OK {
			ok = "MISS"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, FormatValue(r.Value), r.Unit, r.Target, ok)
	}
	tw.Flush()
	if missed := rp.Missed(); len(missed) > 0 {
		fmt.Fprintln(w, "\nmisses:")
		for _, r := range missed {
			fmt.Fprintf(w, "- %s: %s\n", r.Name, r.Reason)
		}
	}
}

// FormatValue prints a value with as many decimals as its size deserves.
func FormatValue(v float64) string {
	switch a := math.Abs(v); {
	case a == math.Trunc(a) && a < 1e9:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Sample is a set of measured durations.
type Sample []time.Duration

// Quantile returns the q-quantile (0 ≤ q ≤ 1) by the nearest-rank method,
// or 0 for an empty sample.
func (s Sample) Quantile(q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	rank := int(math.Ceil(q*float64(len(c)))) - 1
	return c[max(0, min(rank, len(c)-1))]
}

// Median is the 0.5-quantile.
func (s Sample) Median() time.Duration { return s.Quantile(0.5) }

// Ms converts a duration to milliseconds for results.json.
func Ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

// Ratio returns a/b, rounded for reading, or NaN when b is zero.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return round3(a / b)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// notMeasured is a result for a figure that could not be measured in this
// run: it is never ok, and says why.
func notMeasured(name, unit, target, reason string) Result {
	return Result{Name: name, Unit: unit, Target: target, Reason: reason, Value: 0}
}

// progress writes a note on a long figure's progress to w, if not nil.
func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "bench:   "+format+"\n", args...)
	}
}
