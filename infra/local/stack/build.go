package stack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/giftcredit/giftcredit/infra/samtemplate"
)

// BuildConfig says where and how Build builds the functions.
type BuildConfig struct {
	// Root is the directory of the Makefile and template.yaml.
	Root string
	// Dir receives <Dir>/<LogicalId>/bootstrap. Keeping it between runs
	// keeps starts fast: go build does not relink a binary that is up to
	// date.
	Dir string
	// Functions are the functions to build.
	Functions []samtemplate.Function
	// GOOS and GOARCH default to the host's.
	GOOS, GOARCH string
	// Jobs bounds parallel builds (0: the number of CPUs).
	Jobs int
	// Make is the make command ("make" when empty).
	Make string
	// Snapshot, when set, receives <Snapshot>/<LogicalId>/bootstrap, a
	// hard link (or else a copy) of each binary made before the build lock
	// is released, and Build returns those paths. A stack that runs the
	// snapshot is immune to a later build into Dir (make invoke, a
	// concurrent test run) replacing a binary while a process execs it.
	Snapshot string
}

// Build builds each function with the Makefile's build-<LogicalId> target,
// the target `sam build` runs (BuildMethod: makefile), for the host's
// GOOS/GOARCH, and returns the binaries by logical id. A failed build's
// error carries make's output.
func Build(ctx context.Context, cfg BuildConfig) (map[string]string, error) {
	if cfg.GOOS == "" {
		cfg.GOOS = goruntime.GOOS
	}
	if cfg.GOARCH == "" {
		cfg.GOARCH = goruntime.GOARCH
	}
	if cfg.Jobs <= 0 {
		cfg.Jobs = goruntime.NumCPU()
	}
	if cfg.Make == "" {
		cfg.Make = "make"
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for _, fn := range cfg.Functions {
		if fn.BuildMethod != "makefile" {
			return nil, fmt.Errorf("build %s: BuildMethod %q: the local stack builds only BuildMethod: makefile functions", fn.LogicalID, fn.BuildMethod)
		}
	}
	var (
		mu   sync.Mutex
		bins = map[string]string{}
		errs []error
		wg   sync.WaitGroup
		jobs = make(chan struct{}, cfg.Jobs)
	)
	// The first build runs alone: with a cold build cache it compiles the
	// dependencies every function shares (the AWS SDK above all), which
	// parallel go builds would each compile again.
	first := make(chan struct{})
	for i, fn := range cfg.Functions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 {
				defer close(first)
			} else {
				<-first
			}
			jobs <- struct{}{}
			defer func() { <-jobs }()
			out := filepath.Join(dir, fn.LogicalID)
			cmd := exec.CommandContext(ctx, cfg.Make, "-s", "--no-print-directory", "build-"+fn.LogicalID,
				"LAMBDA_GOOS="+cfg.GOOS, "LAMBDA_GOARCH="+cfg.GOARCH, "ARTIFACTS_DIR="+out)
			cmd.Dir = cfg.Root
			cmd.Env = withoutMakeVars(os.Environ())
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, &buf
			err := cmd.Run()
			bin := filepath.Join(out, "bootstrap")
			if err == nil {
				_, err = os.Stat(bin)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("make build-%s: %w\n%s", fn.LogicalID, err, buf.Bytes()))
				return
			}
			bins[fn.LogicalID] = bin
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if cfg.Snapshot == "" {
		return bins, nil
	}
	return snapshot(bins, cfg.Snapshot)
}

// withoutMakeVars drops the variables a parent make passes down (as `make
// test` does to go test): its jobserver descriptors are not open here, and
// the targets need none of its flags.
func withoutMakeVars(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "MAKEFLAGS" || name == "MFLAGS" || name == "MAKELEVEL" || name == "MAKEOVERRIDES"
	})
}

// lockDir takes an exclusive lock on dir/.build.lock, waiting for any
// other build into dir (another make run, make invoke or test process).
func lockDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("build: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("build: lock: %w", err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

// snapshot links (or copies) every binary into dir/<LogicalId>/bootstrap.
func snapshot(bins map[string]string, dir string) (map[string]string, error) {
	out := make(map[string]string, len(bins))
	for fn, src := range bins {
		dst := filepath.Join(dir, fn, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("build: snapshot: %w", err)
		}
		_ = os.Remove(dst)
		if err := os.Link(src, dst); err != nil {
			if err := copyFile(src, dst); err != nil {
				return nil, fmt.Errorf("build: snapshot %s: %w", fn, err)
			}
		}
		out[fn] = dst
	}
	return out, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
