package localaws_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/infra/localaws"
)

// TestFault: a hung proxy holds a request until the caller's deadline; a
// swallowing one lets it take effect without an answer; pass and delay
// answer.
func TestFault(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	f, err := localaws.NewFault(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	get := func(timeout time.Duration) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.URL(), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}

	if _, err := get(200 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || served.Load() != 0 {
		t.Fatalf("hang: err %v, served %d; want a deadline error and nothing served", err, served.Load())
	}
	f.Swallow()
	if _, err := get(200 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || served.Load() != 1 {
		t.Fatalf("swallow: err %v, served %d; want a deadline error after the server served it", err, served.Load())
	}
	f.Pass()
	if body, err := get(5 * time.Second); err != nil || body != "ok" {
		t.Fatalf("pass: %q, %v", body, err)
	}
	f.Delay(50 * time.Millisecond)
	if body, err := get(5 * time.Second); err != nil || body != "ok" || served.Load() != 3 {
		t.Fatalf("delay: %q, %v, served %d", body, err, served.Load())
	}
}
