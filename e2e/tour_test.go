package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Markers of the tour in README.md.
const (
	tourStart = "<!-- tour -->"
	tourEnd   = "<!-- /tour -->"
)

// readTour returns the tour between the markers of README.md.
func readTour(t *testing.T) (string, string) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, tourStart)
	j := strings.Index(s, tourEnd)
	if i < 0 || j < i || strings.TrimSpace(s[i+len(tourStart):j]) == "" {
		t.Fatalf("README.md has no tour between %s and %s", tourStart, tourEnd)
	}
	return s[i+len(tourStart) : j], "README.md"
}

// tourStep is a ```sh block and the ```text block that follows it, if any.
type tourStep struct {
	line   int // of the opening fence
	code   string
	expect []string
}

// parseTour returns the runnable steps: ```sh blocks run; a ```text block
// right after one (only blank lines between) is what it must print.
// ```shell and other blocks are for reading only.
func parseTour(doc string) []tourStep {
	var (
		steps   []tourStep
		info    string
		body    []string
		start   int
		inBlock bool
		// lastSh is the index of the step a following ```text block
		// belongs to, or -1 once anything but blank lines intervenes.
		lastSh = -1
	)
	sc := bufio.NewScanner(strings.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case !inBlock && strings.HasPrefix(trimmed, "```"):
			inBlock, info, body, start = true, strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), nil, n
		case inBlock && trimmed == "```":
			inBlock = false
			switch {
			case info == "sh":
				steps = append(steps, tourStep{line: start, code: strings.Join(body, "\n")})
				lastSh = len(steps) - 1
				continue
			case info == "text" && lastSh >= 0:
				steps[lastSh].expect = body
			}
			lastSh = -1
		case inBlock:
			body = append(body, line)
		case trimmed != "":
			lastSh = -1
		}
	}
	return steps
}

// expectRE turns an expected line into a pattern: … stands for any text.
func expectRE(line string) *regexp.Regexp {
	parts := strings.Split(line, "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

// testTour runs the tour's commands with bash, with the variables make run
// prints taken from the stack, and checks each step's output.
func testTour(t *testing.T, h *harness) {
	doc, from := readTour(t)
	steps := parseTour(doc)
	if len(steps) < 5 {
		t.Fatalf("%s: only %d runnable ```sh blocks; is the tour there?", from, len(steps))
	}
	for _, tool := range []string{"bash", "curl", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the tour needs %s: %v", tool, err)
		}
	}
	_, awsErr := exec.LookPath("aws")
	_, pyErr := exec.LookPath("python3")

	const marker = "@@tour-step@@"
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	var ran []tourStep
	for _, st := range steps {
		if awsErr != nil && strings.Contains(st.code, "aws ") {
			t.Logf("%s:%d skipped: the AWS CLI is not installed", from, st.line)
			continue
		}
		if pyErr != nil && strings.Contains(st.code, "python3 ") {
			t.Logf("%s:%d skipped: python3 is not installed", from, st.line)
			continue
		}
		fmt.Fprintf(&script, "echo %s\n%s\n", marker, st.code)
		ran = append(ran, st)
	}

	shop := h.info.Shops[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"API="+h.info.APIURL, "SHOP_KEY="+shop.ShopKey, "ADMIN_KEY="+shop.AdminKey, "SES_URL="+h.info.SESURL,
		"DDB_URL="+h.info.DynamoDBEndpoint, "TABLE="+h.info.TableName, "STACK_URL="+h.st.ControlURL(), "EVENTS_URL="+h.info.EventsURL)
	out, err := cmd.CombinedOutput()
	h.remember(codeRE.FindAllString(string(out), -1)...)
	if err != nil {
		t.Errorf("the tour's commands failed: %v", err)
	}
	// Output before the first marker is nothing; then one part per step.
	parts := strings.Split(string(out), marker+"\n")[1:]
	for i, st := range ran {
		if i >= len(parts) {
			t.Errorf("%s:%d: did not run (an earlier command failed)", from, st.line)
			continue
		}
		if missing := unmatched(st.expect, strings.Split(parts[i], "\n")); missing != "" {
			t.Errorf("%s:%d: the output lacks %q (in order):\n%s\noutput:\n%s", from, st.line, missing, st.code, parts[i])
		}
	}
}

// unmatched returns the first expected line that no output line (after the
// one that matched the previous expected line) matches, or "".
func unmatched(expect, output []string) string {
	j := 0
	for _, e := range expect {
		re := expectRE(e)
		for j < len(output) && !re.MatchString(output[j]) {
			j++
		}
		if j == len(output) {
			return e
		}
		j++
	}
	return ""
}

func TestTourParsing(t *testing.T) {
	doc := "Intro\n\n```shell\nmake run\n```\n\n```sh\necho a\n```\n\n```text\na\n```\n\nprose\n\n```sh\necho b\n```\n\nprose\n\n```text\nnot b's\n```\n"
	steps := parseTour(doc)
	if len(steps) != 2 || steps[0].code != "echo a" || len(steps[0].expect) != 1 || steps[1].expect != nil {
		t.Fatalf("steps %+v", steps)
	}
	if m := unmatched([]string{`{"id":"ord_…","amount":5000,…}`, "code: …-…"}, []string{"x", `{"id":"ord_1","amount":5000,"due":0}`, "code: AB-CD"}); m != "" {
		t.Errorf("unmatched %q", m)
	}
	if m := unmatched([]string{"b", "a"}, []string{"a", "b"}); m != "a" {
		t.Errorf("order not enforced: %q", m)
	}
}
