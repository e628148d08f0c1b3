package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"unicode"
)

// DefaultBuildFlags are the Makefile's GOFLAGS_LAMBDA, which `make bench`
// passes in so that the two cannot drift apart.
const DefaultBuildFlags = `-tags lambda.norpc -trimpath -ldflags="-s -w"`

// Baselines are figure 3's baseline functions, under infra/bench/baseline.
var Baselines = []string{"hello", "hellosdk"}

// Binary is one function (or baseline) built for this machine, to run, and
// for linux/arm64, Lambda's architecture, to weigh.
type Binary struct {
	Name       string
	Path       string
	ARM64Bytes int64
	Baseline   bool
}

// SplitFlags splits a command line as a POSIX shell would for the simple
// cases a Makefile variable holds: blanks separate words, double and
// single quotes group.
func SplitFlags(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case unicode.IsSpace(r):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unbalanced %c in %q", quote, s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// Build builds every directory of functions/ and the baselines, from the
// module root root, into dir: dir/<goarch>/<name>, with the go command
// goCmd and flags.
func Build(ctx context.Context, goCmd, root, dir, flags string) ([]Binary, error) {
	args, err := SplitFlags(flags)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var pkgs []string
	var bins []Binary
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); e.IsDir() && err == nil {
			pkgs = append(pkgs, "./functions/"+e.Name())
			bins = append(bins, Binary{Name: e.Name()})
		}
	}
	for _, b := range Baselines {
		pkgs = append(pkgs, "./infra/bench/baseline/"+b)
		bins = append(bins, Binary{Name: b, Baseline: true})
	}
	for _, arch := range uniq(runtime.GOARCH, "arm64") {
		out := filepath.Join(dir, arch)
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, goCmd, append(append([]string{"build"}, args...), append([]string{"-o", out + "/"}, pkgs...)...)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build for linux/%s: %v\n%s", arch, err, b)
		}
	}
	for i := range bins {
		bins[i].Path = filepath.Join(dir, runtime.GOARCH, bins[i].Name)
		st, err := os.Stat(filepath.Join(dir, "arm64", bins[i].Name))
		if err != nil {
			return nil, err
		}
		bins[i].ARM64Bytes = st.Size()
	}
	return bins, nil
}

func uniq(s ...string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
