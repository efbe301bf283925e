package flyenv

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/deploy"
)

func TestAPIAndRemoteNeedAToken(t *testing.T) {
	t.Setenv("FLY_API_TOKEN", "")
	t.Setenv("FLY_ACCESS_TOKEN", "")
	if _, err := API(context.Background()); !errors.Is(err, fly.ErrNoToken) {
		t.Errorf("API without a token: %v", err)
	}
	if c, err := Remote(context.Background()); c != nil || err != nil {
		t.Errorf("Remote without a token = %v, %v; want nil, nil", c, err)
	}
	t.Setenv("FLY_API_TOKEN", "fo1_x")
	if c, err := Remote(context.Background()); c == nil || err != nil {
		t.Errorf("Remote with a token = %v, %v", c, err)
	}
}

func TestInterruptGrace(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "true")
	if g := InterruptGrace(); g != GitHubInterruptGrace || g >= 10*time.Second {
		t.Errorf("under GitHub Actions: %s", g)
	}
	t.Setenv("GITHUB_ACTIONS", "")
	if g := InterruptGrace(); g != deploy.DefaultInterruptGrace {
		t.Errorf("elsewhere: %s", g)
	}
}

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b)
	p.SetTotal(3)
	p.Printf("validate", "passed (%d notices)", 4)
	p.Event(deploy.Event{Phase: "release", Step: deploy.StepRelease, Message: "running release_command: alembic upgrade head"})
	p.Event(deploy.Event{Phase: "release", Step: deploy.StepRelease, MachineID: "rel1", Message: "release_command exited 0 in 1s"})
	p.Event(deploy.Event{Phase: "deploy", Step: deploy.StepUpdate, Message: "batch 1 of 2: 1 machine(s)"})
	p.Event(deploy.Event{Phase: "deploy", Step: deploy.StepUpdate, MachineID: "m-a", Message: "updating to img:2"})
	p.Event(deploy.Event{Phase: "deploy", Step: deploy.StepUpdate, MachineID: "m-b", Message: "updating to img:2"})
	p.Event(deploy.Event{Phase: "deploy", Step: deploy.StepDone, MachineID: "m-a", Message: "healthy on img:2"})
	want := []string{
		"validate: passed (4 notices)",
		"release: running `alembic upgrade head` on a one-off machine",
		"release: machine rel1: release_command exited 0 in 1s",
		"deploy: batch 1 of 2: 1 machine(s)",
		"deploy: machine 1/3 m-a: updating to img:2",
		"deploy: machine 2/3 m-b: updating to img:2",
		"deploy: machine 1/3 m-a: healthy on img:2",
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), b.String())
	}
	for i, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "+0.0s ") || !strings.HasSuffix(l, want[i]) {
			t.Errorf("line %d = %q, want +0.0s … %q", i, l, want[i])
		}
	}
	p.Restart()
	b.Reset()
	p.Event(deploy.Event{Phase: "deploy", Step: deploy.StepUpdate, MachineID: "m-b", Message: "x"})
	if !strings.HasSuffix(b.String(), "deploy: machine 1 m-b: x\n") {
		t.Errorf("after Restart: %q", b.String())
	}
}

// TestSignalContext sends this process SIGTERM twice: the first cancels the
// context, the second calls onForce and exits with 128+15.
func TestSignalContext(t *testing.T) {
	var mu sync.Mutex
	codes := make(chan int, 1)
	exit = func(code int) { codes <- code }
	defer func() { exit = os.Exit }()
	forced := false
	var b syncBuffer
	ctx, stop := SignalContext(context.Background(), &b, 7*time.Second, func() { mu.Lock(); forced = true; mu.Unlock() })
	defer stop()

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first SIGTERM did not cancel the context")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-codes:
		if code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second SIGTERM did not exit")
	}
	mu.Lock()
	defer mu.Unlock()
	out := b.String()
	if !forced || !strings.Contains(out, "up to 7s") || !strings.Contains(out, "exiting now") {
		t.Errorf("forced %v, output %q", forced, out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressSaysTheMachineOnce(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b)
	p.Event(deploy.Event{Phase: "deploy", Step: deploy.StepSmoke, MachineID: "m1", Message: "failed: machine m1: smoke failed: exited with code 1"})
	if !strings.HasSuffix(b.String(), "deploy: machine 1 m1: failed: smoke failed: exited with code 1\n") {
		t.Errorf("%q", b.String())
	}
}
