package deadline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/giftcredit/giftcredit/internal/deadline"
)

func TestReserve(t *testing.T) {
	t.Run("no deadline stays without one", func(t *testing.T) {
		ctx, cancel := deadline.Reserve(context.Background(), time.Second)
		defer cancel()
		if _, ok := ctx.Deadline(); ok {
			t.Fatal("Reserve gave a context without a deadline one")
		}
		if deadline.Low(ctx, time.Hour) {
			t.Fatal("Low without a deadline")
		}
	})
	t.Run("moves the deadline earlier by the reserve", func(t *testing.T) {
		end := time.Now().Add(time.Hour)
		parent, pc := context.WithDeadline(context.Background(), end)
		defer pc()
		ctx, cancel := deadline.Reserve(parent, time.Minute)
		defer cancel()
		d, _ := ctx.Deadline()
		if !d.Equal(end.Add(-time.Minute)) {
			t.Fatalf("deadline %v, want %v", d, end.Add(-time.Minute))
		}
	})
	t.Run("keeps half when less than twice the reserve is left", func(t *testing.T) {
		end := time.Now().Add(time.Hour)
		parent, pc := context.WithDeadline(context.Background(), end)
		defer pc()
		ctx, cancel := deadline.Reserve(parent, 2*time.Hour)
		defer cancel()
		d, _ := ctx.Deadline()
		if got := end.Sub(d); got < 29*time.Minute || got > 31*time.Minute {
			t.Fatalf("kept %v before the deadline, want about 30m", got)
		}
	})
}

func TestLowAndExpired(t *testing.T) {
	parent, pc := context.WithTimeout(context.Background(), time.Hour)
	defer pc()
	if deadline.Low(parent, time.Minute) {
		t.Error("an hour left is not low for a minute of work")
	}
	if !deadline.Low(parent, 2*time.Hour) {
		t.Error("an hour left is low for two hours of work")
	}
	ctx, cancel := context.WithCancel(parent)
	err := errors.New("call failed")
	if deadline.Expired(ctx, err) {
		t.Error("a live context has not expired")
	}
	cancel()
	if !deadline.Low(ctx, 0) {
		t.Error("an ended context is always low")
	}
	if !deadline.Expired(ctx, err) || deadline.Expired(ctx, nil) {
		t.Error("Expired must be true only for an error after the context ended")
	}
}
