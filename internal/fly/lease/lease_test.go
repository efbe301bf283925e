package lease

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
)

func fakeWith(n int) (*flyfake.Fake, []string) {
	f := flyfake.New("app")
	var ids []string
	for range n {
		ids = append(ids, f.AddMachine("mad", &flygo.MachineConfig{Image: "img:1"}))
	}
	return f, ids
}

func TestAcquireRefreshRelease(t *testing.T) {
	f, ids := fakeWith(3)
	s, err := Acquire(context.Background(), f, "app", ids, Options{TTL: 2 * time.Second, RefreshEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.HeldLeases(); !slices.Equal(got, s.IDs()) || len(got) != 3 {
		t.Fatalf("held %v, set %v", got, s.IDs())
	}
	for _, id := range ids {
		if s.Nonce(id) == "" {
			t.Errorf("no nonce for %s", id)
		}
	}
	time.Sleep(70 * time.Millisecond)
	if n := f.CallCount("RefreshLease"); n < 3 {
		t.Errorf("%d refreshes in 70ms with a 20ms period", n)
	}
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	if held := f.HeldLeases(); len(held) != 0 {
		t.Errorf("held after Release: %v", held)
	}
	refreshes := f.CallCount("RefreshLease")
	time.Sleep(50 * time.Millisecond)
	if f.CallCount("RefreshLease") != refreshes {
		t.Error("refreshes continue after Release")
	}
	if err := s.Release(); err != nil || f.CallCount("ReleaseLease") != 3 {
		t.Errorf("second Release: %v, %d release calls", err, f.CallCount("ReleaseLease"))
	}
}

func TestHeldUntilDeadline(t *testing.T) {
	f, ids := fakeWith(3)
	f.HoldLease(ids[2], "ci@other", time.Hour)
	start := time.Now()
	_, err := Acquire(context.Background(), f, "app", ids, Options{Timeout: 150 * time.Millisecond})
	took := time.Since(start)
	var he *HeldError
	if !errors.As(err, &he) || he.MachineID != ids[2] || he.Owner != "ci@other" || he.ExpiresAt.IsZero() {
		t.Fatalf("err = %v, want a HeldError on %s", err, ids[2])
	}
	if took < 150*time.Millisecond || took > time.Second {
		t.Errorf("gave up after %s, want about 150ms", took)
	}
	if held := f.HeldLeases(); !slices.Equal(held, []string{ids[2]}) {
		t.Errorf("held %v: the leases taken before the failure must be given back", held)
	}
	// Without fly-go's retry loop the 409 comes back at once.
	f.FlyGoLeaseRetry = false
	if _, err := Acquire(context.Background(), f, "app", ids, Options{Timeout: time.Hour}); !errors.As(err, &he) {
		t.Fatalf("err = %v, want a HeldError", err)
	}
}

func TestReleaseAfterCancel(t *testing.T) {
	f, ids := fakeWith(2)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Acquire(ctx, f, "app", ids, Options{RefreshEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cancel() // a signal: the deploy's context is gone, the leases are not
	time.Sleep(30 * time.Millisecond)
	if len(f.HeldLeases()) != 2 {
		t.Fatal("leases dropped when the context was cancelled")
	}
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	if held := f.HeldLeases(); len(held) != 0 {
		t.Errorf("held after Release: %v", held)
	}
}

func TestAcquireCancelled(t *testing.T) {
	f, ids := fakeWith(2)
	f.HoldLease(ids[1], "x", time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(30 * time.Millisecond); cancel() }()
	_, err := Acquire(ctx, f, "app", ids, Options{Timeout: time.Hour})
	var he *HeldError
	if !errors.Is(err, context.Canceled) || errors.As(err, &he) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if held := f.HeldLeases(); len(held) != 1 {
		t.Errorf("held %v", held)
	}
}

func TestLostLease(t *testing.T) {
	f, ids := fakeWith(1)
	var reported atomic.Int32
	s, err := Acquire(context.Background(), f, "app", ids, Options{RefreshEvery: 10 * time.Millisecond, OnRefreshError: func(string, error) { reported.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	// Someone clears the lease and takes it.
	if err := f.ReleaseLease(context.Background(), "app", ids[0], s.Nonce(ids[0])); err != nil {
		t.Fatal(err)
	}
	f.HoldLease(ids[0], "thief", time.Hour)
	deadline := time.Now().Add(time.Second)
	for s.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Err() == nil || reported.Load() == 0 {
		t.Fatalf("lost lease not noticed: %v %v", s.Err(), reported.Load())
	}
}

func TestRefresh5xxNotLost(t *testing.T) {
	f, ids := fakeWith(1)
	f.Fail("RefreshLease", 2, 503)
	s, err := Acquire(context.Background(), f, "app", ids, Options{RefreshEvery: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(40 * time.Millisecond)
	if s.Err() != nil {
		t.Errorf("a 503 on refresh counted as a lost lease: %v", s.Err())
	}
	_ = s.Release()
}
