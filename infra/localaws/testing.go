package localaws

import (
	"context"
	"testing"
)

// SESForTest starts an SES stand-in on a free loopback port for tb and
// closes it when tb ends. It fails tb (rather than skipping) when the
// stand-in is not installed: `make test` installs it, and a silently
// skipped mail test would hide a broken setup.
func SESForTest(tb testing.TB) *SES {
	tb.Helper()
	s, err := StartSES(context.Background(), 0)
	if err != nil {
		tb.Fatalf("start SES stand-in: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close SES stand-in: %v", err)
		}
	})
	return s
}
