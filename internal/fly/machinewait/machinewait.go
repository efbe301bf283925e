// Package machinewait waits for a Fly machine to reach a state and reads
// what its events say about how it ended.
//
// The Machines API's wait endpoint holds a request for at most 60 seconds
// (fly-go caps the timeout it sends there), so State loops around it until
// its own timeout, looking at the machine between calls so that a crash is
// seen at once rather than when the timeout runs out.
package machinewait

import (
	"context"
	"fmt"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly"
)

// MaxWait is the longest timeout the API's wait endpoint accepts.
const MaxWait = 60 * time.Second

// Client is the part of the Machines API this package calls.
type Client interface {
	Get(ctx context.Context, app, machineID string) (*flygo.Machine, error)
	Wait(ctx context.Context, app string, m *flygo.Machine, state string, timeout time.Duration) error
}

// Options tunes State. The zero value waits up to 5 minutes in slices of
// MaxWait.
type Options struct {
	// Timeout bounds the whole wait; 0 means 5 minutes.
	Timeout time.Duration
	// Slice bounds one wait call; 0 (or more than MaxWait) means MaxWait.
	// Shorter slices notice a stopped or crashed machine sooner.
	Slice time.Duration
	// Check, when set, is called with the machine as fetched after each
	// slice that ended without the state; a non-nil error stops the wait
	// and is returned (for example "the machine exited with code 1").
	Check func(m *flygo.Machine) error
}

// TimeoutError is returned when the machine did not reach the state in time.
type TimeoutError struct {
	MachineID string
	State     string
	Timeout   time.Duration
	// LastState is the state the machine was last seen in ("" if unknown).
	LastState string
}

// Error says what failed.
func (e *TimeoutError) Error() string {
	s := fmt.Sprintf("machine %s did not reach state %q within %s", e.MachineID, e.State, e.Timeout)
	if e.LastState != "" {
		s += fmt.Sprintf(" (last seen %q)", e.LastState)
	}
	return s
}

// State waits until machine m, at the version m describes, reaches state
// ("started", "stopped", "destroyed", ...). It returns the machine as last
// fetched (nil when the wait endpoint answered at once, or when the machine
// is gone and state is "destroyed"). A 404 counts as reaching "destroyed".
func State(ctx context.Context, c Client, app string, m *flygo.Machine, state string, opt Options) (*flygo.Machine, error) {
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	slice := opt.Slice
	if slice <= 0 || slice > MaxWait {
		slice = MaxWait
	}
	deadline := time.Now().Add(timeout)
	pause := 100 * time.Millisecond
	var last *flygo.Machine
	for {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			te := &TimeoutError{MachineID: m.ID, State: state, Timeout: timeout}
			if last != nil {
				te.LastState = last.State
			}
			return last, te
		}
		err := c.Wait(ctx, app, m, state, min(remaining, slice))
		switch {
		case err == nil:
			return nil, nil
		case ctx.Err() != nil:
			return last, fmt.Errorf("wait for machine %s to be %s: %w", m.ID, state, ctx.Err())
		case fly.IsNotFound(err) && state == flygo.MachineStateDestroyed:
			return nil, nil
		case fly.IsNotFound(err):
			return last, fmt.Errorf("wait for machine %s to be %s: machine not found: %w", m.ID, state, err)
		}
		cur, gerr := c.Get(ctx, app, m.ID)
		switch {
		case gerr == nil:
			last = cur
			if cur.State == state {
				return cur, nil
			}
			if opt.Check != nil {
				if cerr := opt.Check(cur); cerr != nil {
					return cur, cerr
				}
			}
		case fly.IsNotFound(gerr) && state == flygo.MachineStateDestroyed:
			return nil, nil
		case ctx.Err() != nil:
			return last, fmt.Errorf("wait for machine %s to be %s: %w", m.ID, state, ctx.Err())
		}
		if fly.IsWaitTimeout(err) {
			pause = 100 * time.Millisecond
			continue
		}
		if !fly.IsTransient(err) && fly.StatusCode(err) != 0 {
			return last, fmt.Errorf("wait for machine %s to be %s: %w", m.ID, state, err)
		}
		// A transient failure the retrying client gave up on: back off.
		if err := sleep(ctx, min(pause, time.Until(deadline))); err != nil {
			return last, fmt.Errorf("wait for machine %s to be %s: %w", m.ID, state, err)
		}
		pause = min(2*pause, 2*time.Second)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
