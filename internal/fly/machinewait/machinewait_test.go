package machinewait

import (
	"context"
	"errors"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
)

// capped counts wait calls and the timeouts they asked for.
type capped struct {
	*flyfake.Fake
	waits    int
	timeouts []time.Duration
}

func (c *capped) Wait(ctx context.Context, app string, m *flygo.Machine, state string, timeout time.Duration) error {
	c.waits++
	c.timeouts = append(c.timeouts, timeout)
	return c.Fake.Wait(ctx, app, m, state, timeout)
}

func TestStateLoopsAroundTheCap(t *testing.T) {
	f := flyfake.New("app")
	id := f.AddMachine("mad", &flygo.MachineConfig{Image: "slow"})
	f.SetBehavior("slow", flyfake.Behavior{StartDelay: 2500 * time.Millisecond})
	m, err := f.Update(context.Background(), "app", flygo.LaunchMachineInput{ID: id, Config: &flygo.MachineConfig{Image: "slow"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	c := &capped{Fake: f}
	// Slices of 1 s (the fake, like fly-go, rounds up to whole seconds).
	if _, err := State(context.Background(), c, "app", m, "started", Options{Timeout: 10 * time.Second, Slice: time.Second}); err != nil {
		t.Fatal(err)
	}
	if c.waits < 3 {
		t.Errorf("%d wait calls for a 2.5 s start with 1 s slices", c.waits)
	}
	for _, d := range c.timeouts {
		if d > time.Second {
			t.Errorf("a wait asked for %s, more than the slice", d)
		}
	}
}

func TestStateTimeoutAndCheck(t *testing.T) {
	f := flyfake.New("app")
	id := f.AddMachine("mad", &flygo.MachineConfig{Image: "v1"})
	f.SetBehavior("never", flyfake.Behavior{StartDelay: time.Hour})
	m, _ := f.Update(context.Background(), "app", flygo.LaunchMachineInput{ID: id, Config: &flygo.MachineConfig{Image: "never"}}, "")
	_, err := State(context.Background(), f, "app", m, "started", Options{Timeout: 1200 * time.Millisecond, Slice: time.Second})
	var te *TimeoutError
	if !errors.As(err, &te) || te.LastState != "starting" {
		t.Fatalf("err = %v, want a TimeoutError seen in state starting", err)
	}

	// A crash stops the wait as soon as a slice ends.
	f.SetBehavior("crash", flyfake.Behavior{Crash: true, ExitCode: 2})
	m, _ = f.Update(context.Background(), "app", flygo.LaunchMachineInput{ID: id, Config: &flygo.MachineConfig{Image: "crash"}}, "")
	stop := errors.New("crashed")
	start := time.Now()
	_, err = State(context.Background(), f, "app", m, "destroyed", Options{Timeout: time.Minute, Slice: time.Second, Check: func(cur *flygo.Machine) error {
		if x := ExitAfter(cur, 0, false); x != nil && x.Code == 2 {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) || time.Since(start) > 3*time.Second {
		t.Fatalf("err = %v after %s, want the check's error after one slice", err, time.Since(start))
	}
}

func TestStateNotFoundAndCancel(t *testing.T) {
	f := flyfake.New("app")
	m := &flygo.Machine{ID: "gone"}
	if _, err := State(context.Background(), f, "app", m, "destroyed", Options{}); err != nil {
		t.Errorf("waiting for a missing machine to be destroyed: %v", err)
	}
	if _, err := State(context.Background(), f, "app", m, "started", Options{}); err == nil {
		t.Error("waiting for a missing machine to start succeeded")
	}
	id := f.AddMachine("mad", &flygo.MachineConfig{Image: "v1"})
	f.SetBehavior("never", flyfake.Behavior{StartDelay: time.Hour})
	m, _ = f.Update(context.Background(), "app", flygo.LaunchMachineInput{ID: id, Config: &flygo.MachineConfig{Image: "never"}}, "")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := State(ctx, f, "app", m, "started", Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's", err)
	}
}

func TestExitAfter(t *testing.T) {
	ev := func(typ string, ts int64, x *flygo.MachineExitEvent) *flygo.MachineEvent {
		e := &flygo.MachineEvent{Type: typ, Timestamp: ts}
		if x != nil {
			e.Request = &flygo.MachineRequest{ExitEvent: x}
		}
		return e
	}
	m := &flygo.Machine{Events: []*flygo.MachineEvent{
		ev("exit", 500, &flygo.MachineExitEvent{ExitCode: 137, OOMKilled: true}),
		ev("start", 400, nil),
		ev("update", 300, nil),
		ev("exit", 290, &flygo.MachineExitEvent{RequestedStop: true}),
		ev("exit", 100, &flygo.MachineExitEvent{ExitCode: 1}),
	}}
	if x := ExitAfter(m, 300, false); x == nil || !x.OOMKilled || x.Code != 137 {
		t.Errorf("ExitAfter(300) = %+v", x)
	}
	if x := ExitAfter(m, 500, false); x != nil {
		t.Errorf("ExitAfter(500) = %+v, want nil", x)
	}
	m.Events = m.Events[1:]
	if x := ExitAfter(m, 200, false); x != nil {
		t.Errorf("a requested stop counted as a crash: %+v", x)
	}
	if x := ExitAfter(m, 200, true); x == nil || !x.RequestedStop {
		t.Errorf("ExitAfter(requested) = %+v", x)
	}
	if LastEventTime(m) != 400 || LastEventOf(m, "start", 0).Timestamp != 400 || LastEventOf(m, "start", 400) != nil {
		t.Error("LastEventTime / LastEventOf")
	}
	// A monitor event's exit wins over the plain one.
	mon := &flygo.Machine{Events: []*flygo.MachineEvent{{Type: "exit", Timestamp: 1, Request: &flygo.MachineRequest{
		ExitEvent: &flygo.MachineExitEvent{ExitCode: 1}, MonitorEvent: &flygo.MachineMonitorEvent{ExitEvent: &flygo.MachineExitEvent{ExitCode: 9}}}}}}
	if x := ExitAfter(mon, 0, false); x.Code != 9 {
		t.Errorf("monitor exit code %d", x.Code)
	}
}
