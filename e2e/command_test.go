package e2e_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRunCommand runs `make run`'s command as a user does, on free ports:
// it must write .local/stack.json with exactly the documented fields, serve
// the API with the keys it wrote, and on Ctrl-C (SIGINT) stop every process
// it started, free every port and remove stack.json.
func TestRunCommand(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("finds the command's child processes through /proc")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "giftcredit-local")
	if out, err := exec.Command("go", "build", "-o", bin, "../infra/cmd/local").CombinedOutput(); err != nil {
		t.Fatalf("build the command: %v\n%s", err, out)
	}
	// The functions TestMain built are up to date, so make build-* only
	// checks them.
	// Under .local, on the build directory's file system, so that the
	// command's snapshot of the binaries is hard links, not copies.
	stateDir, err := os.MkdirTemp(filepath.Join(repoRoot, ".local"), "e2e-cmd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stateDir) })
	if err := os.Symlink(filepath.Join(repoRoot, ".local", "e2e-build"), filepath.Join(stateDir, "build")); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "run", "-state-dir", stateDir, "-env-vars", filepath.Join(dir, "none.json"),
		"-api-port", "0", "-control-port", "0", "-dynamodb-port", "0", "-ses-port", "0", "-dynamodb-admin-port", "0", "-schedules=false")
	cmd.Dir = repoRoot
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "DYNAMODB_ENDPOINT=") || strings.HasPrefix(kv, "TABLE_NAME=") || strings.HasPrefix(kv, "LOCAL_")
	})
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("command output:\n%s", out.String())
		}
	})

	stackFile := filepath.Join(stateDir, "stack.json")
	var raw []byte
	for deadline := time.Now().Add(180 * time.Second); ; {
		var err error
		if raw, err = os.ReadFile(stackFile); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the command exited before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no stack.json after 180s")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// stack.json has exactly the documented fields.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(fields)), []string{"apiUrl", "dynamodbEndpoint", "schedules", "sesUrl", "shops", "tableName"}; !slices.Equal(got, want) {
		t.Errorf("stack.json fields %v, want %v", got, want)
	}
	var info struct {
		APIURL, DynamoDBEndpoint, SESURL string
		Shops                            []map[string]string
		Schedules                        map[string]string
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Shops) != 2 || !slices.Equal(slices.Sorted(maps.Keys(info.Shops[0])), []string{"adminEmail", "adminKey", "id", "shopKey"}) {
		t.Errorf("shops %v, want two with id, shopKey, adminKey, adminEmail", info.Shops)
	}
	if fi, err := os.Stat(stackFile); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("stack.json (which holds keys) has mode %v, want 0600", fi.Mode().Perm())
	}
	for _, want := range []string{"ready in", "export API=" + info.APIURL + " SHOP_KEY=" + info.Shops[0]["shopKey"],
		"Admin console  " + info.APIURL + "/admin", "dynamodb-admin http://127.0.0.1:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}

	// The keys work; the request starts function processes.
	req, _ := http.NewRequest("GET", info.APIURL+"/v1/customers?email=nobody@example.test", nil)
	req.Header.Set("Authorization", "Bearer "+info.Shops[0]["shopKey"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/customers?email=…: status %d, want 404", resp.StatusCode)
	}
	children := childPIDs(cmd.Process.Pid)
	if len(children) < 3 { // aws-ses-v2-local, the authorizer, CustomersFunction
		t.Errorf("the command runs %d child processes, want at least 3", len(children))
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGINT: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20s after SIGINT")
	}
	for _, pid := range children {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("child process %d outlived the command", pid)
		}
	}
	for _, u := range []string{info.APIURL, info.DynamoDBEndpoint, info.SESURL} {
		pu, _ := url.Parse(u)
		ln, err := net.Listen("tcp", pu.Host)
		if err != nil {
			t.Errorf("%s still taken after SIGINT: %v", pu.Host, err)
			continue
		}
		ln.Close()
	}
	if _, err := os.Stat(stackFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stack.json left behind: %v", err)
	}
}

// childPIDs lists the processes whose parent is pid, from /proc.
func childPIDs(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may
		// hold spaces: state ppid ...
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		f := strings.Fields(string(rest))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the command's two output pipes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
