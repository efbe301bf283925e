// Package release runs a fly.toml release_command the way `fly deploy`
// does: on a one-off machine of the new image, with the command as the
// machine's init.cmd, restart policy "no", auto_destroy, the app's env plus
// RELEASE_COMMAND=1, and no service registration. Run waits for the machine
// to exit, reads the exit code from its exit event and, when the command
// failed, fetches its last log lines.
package release

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/logtail"
	"github.com/grupo-gad/deploy-action/internal/fly/machinewait"
	"github.com/grupo-gad/deploy-action/internal/shellcmd"
)

// Client is the part of the Fly API Run calls.
type Client interface {
	machinewait.Client
	logtail.Client
	Launch(ctx context.Context, app string, input flygo.LaunchMachineInput) (*flygo.Machine, error)
	Destroy(ctx context.Context, app string, input flygo.RemoveMachineInput, nonce string) error
}

// DefaultTimeout is flyctl's release_command_timeout.
const DefaultTimeout = 5 * time.Minute

// Metadata values that mark a release command machine (as flyctl marks it).
const (
	ProcessGroup = flygo.MachineProcessGroupFlyAppReleaseCommand
)

// Spec is what to run.
type Spec struct {
	App   string
	Image string
	// Command is the release_command as written in fly.toml; it is split as
	// a shell would (it must be one simple command: no &&, pipes or
	// redirections, since no shell runs it).
	Command string
	// Env is the app's environment; RELEASE_COMMAND=1 is added unless set.
	Env map[string]string
	// Guest is the VM to run on (nil: the platform's default).
	Guest *flygo.MachineGuest
	// Region is where to run it ("" lets the platform choose).
	Region string
	// Metadata is added to the machine's metadata.
	Metadata map[string]string
	// Name names the machine; "" derives one from the time. A name makes
	// a retried launch safe (see fly.WithRetry).
	Name string
	// Timeout bounds the run (0: DefaultTimeout).
	Timeout time.Duration
	// WaitSlice bounds one wait call (see machinewait.Options.Slice).
	WaitSlice time.Duration
	// LogLines and LogWait tune the log tail of a failed run (see
	// logtail.Options); Mask lists secret values to hide in it.
	LogLines int
	LogWait  time.Duration
	Mask     []string
}

// Result is how the run went.
type Result struct {
	MachineID string
	// Argv is the command as run.
	Argv []string
	// ExitCode is the command's exit code, -1 when unknown.
	ExitCode  int
	OOMKilled bool
	// TimedOut reports that the command was still running at the timeout
	// and was killed.
	TimedOut bool
	Duration time.Duration
	// LogTail is the machine's last log lines (secrets masked), fetched
	// when the command failed.
	LogTail []string
	// LogErr is why the log tail could not be fetched, if it could not.
	LogErr error
}

// ExitError is returned when the command ran and failed: it exited with a
// non-zero code, or it was still running at the timeout.
type ExitError struct {
	Result *Result
}

// Error says what failed.
func (e *ExitError) Error() string {
	r := e.Result
	switch {
	case r.TimedOut:
		return fmt.Sprintf("release_command %q on machine %s did not finish within %s", strings.Join(r.Argv, " "), r.MachineID, r.Duration.Round(time.Second))
	case r.OOMKilled:
		return fmt.Sprintf("release_command %q on machine %s ran out of memory (exit code %d)", strings.Join(r.Argv, " "), r.MachineID, r.ExitCode)
	}
	return fmt.Sprintf("release_command %q on machine %s exited with code %d", strings.Join(r.Argv, " "), r.MachineID, r.ExitCode)
}

// CommandError is returned when the command cannot be run without a shell.
type CommandError struct {
	Command string
	Err     error
}

// Error says what failed.
func (e *CommandError) Error() string {
	return fmt.Sprintf("release_command %q cannot be run: %v", e.Command, e.Err)
}

// Unwrap returns the underlying error.
func (e *CommandError) Unwrap() error { return e.Err }

// Argv splits the command as Run will run it.
func Argv(command string) ([]string, error) {
	argv, err := shellcmd.Split(command)
	if err == nil && len(argv) == 0 {
		err = errors.New("the command is empty")
	}
	if err != nil {
		return nil, &CommandError{Command: command, Err: err}
	}
	return argv, nil
}

// Config returns the machine config Run launches for spec with argv.
func Config(spec Spec, argv []string) *flygo.MachineConfig {
	env := maps.Clone(spec.Env)
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["RELEASE_COMMAND"]; !ok {
		env["RELEASE_COMMAND"] = "1"
	}
	env["FLY_PROCESS_GROUP"] = ProcessGroup
	md := maps.Clone(spec.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	md[flygo.MachineConfigMetadataKeyFlyProcessGroup] = ProcessGroup
	md[flygo.MachineConfigMetadataKeyFlyPlatformVersion] = flygo.MachineFlyPlatformVersion2
	return &flygo.MachineConfig{
		Image:       spec.Image,
		Init:        flygo.MachineInit{Cmd: argv},
		Env:         env,
		Guest:       spec.Guest,
		Metadata:    md,
		Restart:     &flygo.MachineRestart{Policy: flygo.MachineRestartPolicyNo},
		AutoDestroy: true,
		DNS:         &flygo.DNSConfig{SkipRegistration: true},
	}
}

// errExited stops the wait once the machine has stopped.
var errExited = errors.New("exited")

// Run launches the release command machine and waits for it to finish. It
// returns the result and nil when the command exited 0; the result and an
// *ExitError when it failed or timed out (the machine is then destroyed);
// a *CommandError when the command cannot be run without a shell; and the
// API's or the context's error otherwise (the machine, if launched, is
// destroyed with a fresh context).
func Run(ctx context.Context, c Client, spec Spec) (*Result, error) {
	argv, err := Argv(spec.Command)
	if err != nil {
		return nil, err
	}
	if spec.Timeout <= 0 {
		spec.Timeout = DefaultTimeout
	}
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("release-command-%d", time.Now().UnixNano())
	}
	res := &Result{Argv: argv, ExitCode: -1}
	start := time.Now()
	m, err := c.Launch(ctx, spec.App, flygo.LaunchMachineInput{Config: Config(spec, argv), Region: spec.Region, Name: spec.Name})
	if err != nil {
		return nil, fmt.Errorf("launch release_command machine: %w", err)
	}
	res.MachineID = m.ID

	last, err := machinewait.State(ctx, c, spec.App, m, flygo.MachineStateDestroyed, machinewait.Options{
		Timeout: spec.Timeout,
		Slice:   spec.WaitSlice,
		Check: func(cur *flygo.Machine) error {
			if (cur.State == flygo.MachineStateStopped || cur.State == "failed") && machinewait.ExitAfter(cur, 0, true) != nil {
				return errExited
			}
			return nil
		},
	})
	res.Duration = time.Since(start)
	var te *machinewait.TimeoutError
	switch {
	case err == nil, errors.Is(err, errExited):
	case errors.As(err, &te):
		res.TimedOut = true
		destroy(ctx, c, spec.App, m.ID)
		tail(ctx, c, spec, res)
		return res, &ExitError{Result: res}
	default:
		destroy(ctx, c, spec.App, m.ID)
		return res, fmt.Errorf("wait for release_command machine %s: %w", m.ID, err)
	}

	exit, err := readExit(ctx, c, spec.App, m.ID, last)
	if err != nil {
		return res, err
	}
	res.ExitCode, res.OOMKilled = exit.Code, exit.OOMKilled
	if last != nil && last.State == flygo.MachineStateStopped {
		destroy(ctx, c, spec.App, m.ID) // auto_destroy did not (yet) remove it
	}
	if res.ExitCode != 0 || res.OOMKilled {
		tail(ctx, c, spec, res)
		return res, &ExitError{Result: res}
	}
	return res, nil
}

// readExit reads the machine's exit event, giving the API a few seconds to
// record it.
func readExit(ctx context.Context, c Client, app, id string, last *flygo.Machine) (*machinewait.Exit, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if x := machinewait.ExitAfter(last, 0, true); x != nil {
			return x, nil
		}
		m, err := c.Get(ctx, app, id)
		switch {
		case err == nil:
			last = m
			if x := machinewait.ExitAfter(m, 0, true); x != nil {
				return x, nil
			}
		case fly.IsNotFound(err):
			return nil, fmt.Errorf("release_command machine %s was removed before its exit code could be read: %w", id, err)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("read exit of release_command machine %s: %w", id, ctx.Err())
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("release_command machine %s finished without an exit event", id)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read exit of release_command machine %s: %w", id, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func tail(ctx context.Context, c Client, spec Spec, res *Result) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), spec.LogWait+10*time.Second)
	defer cancel()
	res.LogTail, res.LogErr = logtail.Fetch(lctx, c, spec.App, res.MachineID, logtail.Options{Lines: spec.LogLines, Wait: spec.LogWait, Region: spec.Region, Mask: spec.Mask})
}

// destroy kills and removes the machine with a context of its own, so that
// it also runs after ctx was cancelled. Errors are ignored: the machine has
// auto_destroy and restart policy "no", so at worst it stays stopped.
func destroy(ctx context.Context, c Client, app, id string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = c.Destroy(dctx, app, flygo.RemoveMachineInput{ID: id, Kill: true}, "")
}
