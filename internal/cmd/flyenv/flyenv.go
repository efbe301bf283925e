// Package flyenv holds what the commands that talk to Fly share: the API
// client built from the environment (FLY_API_TOKEN or FLY_ACCESS_TOKEN,
// FLY_FLAPS_BASE_URL), the remote checks `validate` adds when a token is
// set, the signal handling of a deploy (the first SIGINT/SIGTERM cancels and
// lets the engine restore, a second exits at once), the engine's grace
// period for that restore, and progress lines a person can follow.
package flyenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/deploy"
	"github.com/grupo-gad/deploy-action/internal/remote"
)

// API returns the Fly API configured by the environment, with transient
// failures retried (fly.WithRetry). It returns fly.ErrNoToken when neither
// FLY_API_TOKEN nor FLY_ACCESS_TOKEN is set. Building it sends no request.
func API(ctx context.Context) (fly.API, error) {
	c, err := fly.NewClientFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	return fly.WithRetry(c, fly.RetryPolicy{}), nil
}

// HasToken reports whether a Fly token is set in the environment.
func HasToken() bool {
	_, err := fly.ClientOptionsFromEnv()
	return err == nil
}

// Remote returns the remote checks `validate` runs when a Fly token is set,
// or nil (and no error) when none is: without a token validate sends
// nothing over the network.
func Remote(ctx context.Context) (*remote.Checker, error) {
	if !HasToken() {
		return nil, nil
	}
	c, err := fly.NewClientFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	// Three attempts, not ten: validate must not hang for long on an API
	// it cannot reach; it says so in a warning instead.
	return &remote.Checker{API: fly.WithRetry(c, fly.RetryPolicy{Attempts: 3})}, nil
}

// GitHubInterruptGrace bounds the restore after a signal under GitHub
// Actions, which sends SIGINT, then SIGTERM 7.5 s later, then kills the job
// 2.5 s after that.
const GitHubInterruptGrace = 7 * time.Second

// InterruptGrace is the Deployer's InterruptGrace for this environment:
// GitHubInterruptGrace when GITHUB_ACTIONS=true, else the engine's default.
func InterruptGrace() time.Duration {
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		return GitHubInterruptGrace
	}
	return deploy.DefaultInterruptGrace
}

// exit ends the process; tests replace it.
var exit = os.Exit

// SignalContext returns a context cancelled by the first SIGINT or SIGTERM,
// after writing to w that the machines already changed are being restored
// (within grace) and that a second signal exits at once. On a second signal
// it writes that the leases left expire by themselves, calls onForce (if
// set; the demo stops its emulator there) and exits with 128+signal. The
// returned stop function stops listening for signals.
func SignalContext(parent context.Context, w io.Writer, grace time.Duration, onForce func()) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		count := 0
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				count++
				if count == 1 {
					fmt.Fprintf(w, "\n%s: stopping; machines already changed are put back on their previous config (up to %s). Send it again to exit at once.\n", sig, grace.Round(time.Second))
					cancel()
					continue
				}
				fmt.Fprintf(w, "\n%s again: exiting now. Machines may be left mid-update (run `deploy-action rollback`); leases held expire by themselves.\n", sig)
				if onForce != nil {
					onForce()
				}
				code := 130
				if s, ok := sig.(syscall.Signal); ok {
					code = 128 + int(s)
				}
				exit(code)
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
		})
	}
}

// Progress writes a deploy's progress events as lines a person can follow:
//
//	+1.2s release: running `alembic upgrade head` on a one-off machine
//	+3.4s deploy: machine 2/3 e7843d0c: healthy on registry.fly.io/app:v2 (1.1s)
//
// It numbers the app's machines in the order they are first updated. It is
// safe for concurrent use.
type Progress struct {
	w     io.Writer
	start time.Time

	mu    sync.Mutex
	total int
	order map[string]int
}

// NewProgress returns a Progress writing to w, timing lines from now.
func NewProgress(w io.Writer) *Progress {
	return &Progress{w: w, start: time.Now(), order: map[string]int{}}
}

// SetTotal sets the number of machines, shown as "machine 2/3".
func (p *Progress) SetTotal(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = n
}

// Restart times the next lines from now and forgets the machines' numbers.
func (p *Progress) Restart() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start = time.Now()
	p.order = map[string]int{}
	p.total = 0
}

// Printf writes one line for phase (e.g. "validate").
func (p *Progress) Printf(phase, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line(phase, fmt.Sprintf(format, args...))
}

func (p *Progress) line(phase, msg string) {
	fmt.Fprintf(p.w, "%7s %s: %s\n", fmt.Sprintf("+%.1fs", time.Since(p.start).Seconds()), phase, msg)
}

// Event writes e; use it as deploy.Deployer's Progress.
func (p *Progress) Event(e deploy.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := e.Message
	switch {
	case e.Step == deploy.StepRelease && e.MachineID == "":
		if cmd, ok := strings.CutPrefix(msg, "running release_command: "); ok {
			msg = fmt.Sprintf("running `%s` on a one-off machine", cmd)
		}
	case e.Phase == "release" && e.MachineID != "":
		msg = fmt.Sprintf("machine %s: %s", e.MachineID, msg)
	case e.MachineID != "":
		n, ok := p.order[e.MachineID]
		if !ok {
			n = len(p.order) + 1
			p.order[e.MachineID] = n
		}
		msg = strings.Replace(msg, "machine "+e.MachineID+": ", "", 1) // said once, in front
		label := fmt.Sprintf("machine %d", n)
		if p.total > 0 {
			label = fmt.Sprintf("machine %d/%d", n, p.total)
		}
		msg = fmt.Sprintf("%s %s: %s", label, e.MachineID, msg)
	}
	p.line(string(e.Phase), msg)
}
