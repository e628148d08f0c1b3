package localaws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// DynamoDBAdmin is a running dynamodb-admin (npm, pinned in
// infra/package.json): a web page on loopback to browse and edit the items
// of a DynamoDB endpoint, for a developer looking inside the local table.
//
// It talks to the endpoint through a shim, because its pages need two
// answers minidyn does not give: ListTables (unsupported there) and the
// AttributeDefinitions of DescribeTable (null there).
type DynamoDBAdmin struct {
	port   int
	cmd    *exec.Cmd
	stderr *headBuffer

	exited  chan struct{}
	waitErr error

	shim *dynamoShim

	closeOnce sync.Once
	closeErr  error
}

// dynamoDBAdminStartTimeout bounds the wait for its first answer (about a
// second here).
const dynamoDBAdminStartTimeout = 20 * time.Second

// StartDynamoDBAdmin starts dynamodb-admin on 127.0.0.1:port (0 picks a free
// port) pointed at endpoint through a shim (see dynamoShim) that knows
// table and its attribute definitions (name to type, S/N/B), and returns
// once it answers HTTP.
func StartDynamoDBAdmin(ctx context.Context, port int, endpoint, table string, attributes map[string]string) (*DynamoDBAdmin, error) {
	shim, err := startDynamoShim(endpoint, table, attributes)
	if err != nil {
		return nil, fmt.Errorf("start dynamodb-admin: %w", err)
	}
	d, err := startDynamoDBAdmin(ctx, port, shim.url)
	if err != nil {
		shim.close()
		return nil, err
	}
	d.shim = shim
	return d, nil
}

func startDynamoDBAdmin(ctx context.Context, port int, endpoint string) (*DynamoDBAdmin, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("start dynamodb-admin: %w", err)
	}
	bin := filepath.Join(root, "infra", "node_modules", ".bin", "dynamodb-admin")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("start dynamodb-admin: %s not found: run `make node-deps` (or `cd infra && npm ci`): %w", bin, err)
	}
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("start dynamodb-admin: %w", err)
		}
	}
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--dynamo-endpoint", endpoint)
	// Dummy credentials and region of its own, whatever the shell has.
	cmd.Env = append(os.Environ(), "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := &headBuffer{limit: stderrLimit}
	cmd.Stderr = stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynamodb-admin: %w", err)
	}
	d := &DynamoDBAdmin{port: port, cmd: cmd, stderr: stderr, exited: make(chan struct{})}
	go func() {
		d.waitErr = cmd.Wait()
		close(d.exited)
	}()
	if err := d.waitReady(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("start dynamodb-admin on port %d: %w", port, err)
	}
	return d, nil
}

func (d *DynamoDBAdmin) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dynamoDBAdminStartTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	answers := func(ctx context.Context) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.URL()+"/favicon.ico", nil)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return true
	}
	switch err := pollUntil(ctx, d.exited, answers); {
	case errors.Is(err, errProcessExited):
		return fmt.Errorf("exited before it was ready (%v): %s", d.waitErr, d.stderr.String())
	case err != nil:
		return fmt.Errorf("no answer: %w; stderr: %s", err, d.stderr.String())
	}
	return nil
}

// URL is its home page, http://127.0.0.1:<port>.
func (d *DynamoDBAdmin) URL() string { return "http://127.0.0.1:" + strconv.Itoa(d.port) }

// TableURL is the page of one table's items.
func (d *DynamoDBAdmin) TableURL(table string) string {
	return d.URL() + "/tables/" + url.PathEscape(table)
}

// Close kills its process group and waits for it to end.
func (d *DynamoDBAdmin) Close() error {
	d.closeOnce.Do(func() {
		select {
		case <-d.exited:
			d.closeErr = fmt.Errorf("dynamodb-admin exited early (%v): %s", d.waitErr, d.stderr.String())
			return
		default:
		}
		if err := syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			d.closeErr = fmt.Errorf("dynamodb-admin close: kill: %w", err)
		}
		<-d.exited
	})
	if d.shim != nil {
		d.shim.close()
	}
	return d.closeErr
}
