package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly/logtail"
	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
	"github.com/grupo-gad/deploy-action/internal/fly/machinewait"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// updateMachine applies t.next to the machine with the lease nonce, then
// verifies it: started, up for the smoke window, checks passing. A machine
// that was stopped before the deploy is updated without being started (it
// starts on its next request), unless no machine of the app was started,
// in which case the first one is started and verified.
func (r *run) updateMachine(ctx context.Context, t *target) *Failure {
	start := time.Now()
	id := t.id()
	skipLaunch := !t.res.WasStarted && !(t == r.targets[0] && !r.anyStarted())
	r.emit(report.Deploy, StepUpdate, id, "updating to %s", t.next.Image)
	t.touched.Store(true)
	m, err := r.api.Update(ctx, r.s.App, flygo.LaunchMachineInput{
		ID:         id,
		Config:     machineconf.Clone(t.next),
		Region:     t.snap.Region,
		SkipLaunch: skipLaunch,
	}, r.leases.Nonce(id))
	t.res.Timings.Update = time.Since(start)
	if err != nil {
		t.updErr = err
		return &Failure{Phase: report.Deploy, Step: StepUpdate, MachineID: id, Err: fmt.Errorf("update machine %s: %w", id, err)}
	}
	t.res.Updated = true
	if skipLaunch {
		t.res.Timings.Total = time.Since(start)
		r.emit(report.Deploy, StepDone, id, "updated while stopped: it starts on its next request")
		return nil
	}
	f := r.verify(ctx, id, m, t.baseline, t.next, &t.res.Timings, report.Deploy)
	t.res.Timings.Total = time.Since(start)
	if f == nil {
		t.res.Verified = true
		r.emit(report.Deploy, StepDone, id, "healthy on %s (%s)", t.next.Image, t.res.Timings.Total.Round(time.Millisecond))
	}
	return f
}

func (r *run) anyStarted() bool {
	for _, t := range r.targets {
		if t.res.WasStarted {
			return true
		}
	}
	return false
}

// crashError is a machine that stopped when it should run.
type crashError struct {
	exit  *machinewait.Exit // nil when no exit event explains it
	state string
	after time.Duration // from its start to its exit
}

func (e *crashError) Error() string {
	switch {
	case e.exit != nil && e.exit.OOMKilled:
		return fmt.Sprintf("the process was killed for running out of memory %s after it started", e.after.Round(time.Millisecond))
	case e.exit != nil:
		return fmt.Sprintf("the process exited with code %d %s after it started", e.exit.Code, e.after.Round(time.Millisecond))
	}
	return fmt.Sprintf("the machine is %s", e.state)
}

// crashed reports a machine whose process exited after the Unix millisecond
// baseline, or that is no longer running.
func crashed(m *flygo.Machine, baseline int64) *crashError {
	x := machinewait.ExitAfter(m, baseline, false)
	if x == nil {
		switch m.State {
		case flygo.MachineStateStopped, flygo.MachineStateDestroyed, flygo.MachineStateDestroying, flygo.MachineStateSuspended, "failed":
			x = machinewait.ExitAfter(m, baseline, true)
		default:
			return nil
		}
	}
	ce := &crashError{exit: x, state: m.State}
	if x != nil {
		if s := machinewait.LastEventOf(m, "start", baseline); s != nil && x.Timestamp >= s.Timestamp {
			ce.after = time.Duration(x.Timestamp-s.Timestamp) * time.Millisecond
		}
	}
	return ce
}

// verify waits until machine m (as returned by its update) is started, has
// stayed up for the smoke window and passes every health check of cfg.
// baseline is the newest event time before the update: older exits are not
// this version's.
func (r *run) verify(ctx context.Context, id string, m *flygo.Machine, baseline int64, cfg *flygo.MachineConfig, tm *Timings, phase report.PhaseName) *Failure {
	return r.verifyWith(ctx, id, m, baseline, cfg, tm, phase, r.d.smokeWindow())
}

// verifyWith is verify with the given smoke window.
func (r *run) verifyWith(ctx context.Context, id string, m *flygo.Machine, baseline int64, cfg *flygo.MachineConfig, tm *Timings, phase report.PhaseName, smoke time.Duration) *Failure {
	t0 := time.Now()
	r.emit(phase, StepStart, id, "waiting for state started")
	_, err := machinewait.State(ctx, r.api, r.s.App, m, flygo.MachineStateStarted, machinewait.Options{
		Timeout: r.s.WaitTimeout,
		Slice:   r.d.waitSlice(),
		Check: func(cur *flygo.Machine) error {
			if ce := crashed(cur, baseline); ce != nil {
				return ce
			}
			return nil
		},
	})
	tm.Start = time.Since(t0)
	if err != nil {
		var ce *crashError
		if errors.As(err, &ce) {
			return r.crashFailure(ctx, phase, StepStart, id, ce)
		}
		return &Failure{Phase: phase, Step: StepStart, MachineID: id, Err: err}
	}

	started := time.Now()
	want := machineconf.CheckCount(cfg)
	poll := r.pollInterval(cfg)
	interval := machineconf.ShortestCheckInterval(cfg, 15*time.Second)
	checksOK := want == 0
	if want > 0 {
		r.emit(phase, StepChecks, id, "waiting for %d health check(s) to pass", want)
	}
	var last checkState
	for {
		cur, err := r.api.Get(ctx, r.s.App, id)
		if err != nil {
			return &Failure{Phase: phase, Step: StepChecks, MachineID: id, Err: fmt.Errorf("get machine %s: %w", id, err)}
		}
		now := time.Now()
		if ce := crashed(cur, baseline); ce != nil {
			step := StepChecks
			if now.Sub(started) <= smoke || checksOK {
				step = StepSmoke
			}
			return r.crashFailure(ctx, phase, step, id, ce)
		}
		if !checksOK {
			last = evalChecks(cur, want, baseline)
			if !last.last.IsZero() {
				last.due = last.last.Add(interval)
			}
			if last.ok {
				checksOK = true
				tm.Checks = now.Sub(started)
			}
		}
		if checksOK && now.Sub(started) >= smoke {
			tm.Smoke = smoke
			return nil
		}
		if !checksOK && now.Sub(started) > r.s.WaitTimeout {
			return r.checksFailure(ctx, phase, id, last)
		}
		wait := r.nextPoll(poll, interval, last, checksOK, now)
		if checksOK {
			wait = min(wait, smoke-now.Sub(started))
		}
		if err := sleep(ctx, wait); err != nil {
			return &Failure{Phase: phase, Step: StepChecks, MachineID: id, Err: err}
		}
	}
}

// pollInterval is the longest time between looks at a machine waiting for
// its checks: PollInterval, or half the shortest check interval between
// 100 ms and 1 s.
func (r *run) pollInterval(cfg *flygo.MachineConfig) time.Duration {
	if r.d.PollInterval > 0 {
		return r.d.PollInterval
	}
	return min(max(machineconf.ShortestCheckInterval(cfg, 15*time.Second)/2, 100*time.Millisecond), time.Second)
}

// dueMargin is how long after a check result is due the machine is looked
// at again.
const dueMargin = 30 * time.Millisecond

// nextPoll says when to look at the machine again. With a fixed
// PollInterval it is that; otherwise it aims just after the next result of
// a check that is not passing yet is due (its last result's time plus the
// check interval), never later than poll, and at a tenth of the interval
// when the result is overdue.
func (r *run) nextPoll(poll, interval time.Duration, st checkState, checksOK bool, now time.Time) time.Duration {
	if r.d.PollInterval > 0 || checksOK || st.due.IsZero() {
		return poll
	}
	if wait := st.due.Add(dueMargin).Sub(now); wait > 0 {
		return min(wait, poll)
	}
	return min(max(interval/10, 50*time.Millisecond), poll)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
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

// checkState is what a machine's health checks say.
type checkState struct {
	ok             bool
	passing, total int
	worst          *flygo.MachineCheckStatus
	// last is the newest result time of a check that is not passing (or
	// not fresh); the next result is due an interval after it.
	last time.Time
	due  time.Time
}

// evalChecks judges the checks of m: all want of them must be passing,
// each with a result newer than the machine's start (an older result is
// the previous version's).
func evalChecks(m *flygo.Machine, want int, baseline int64) checkState {
	var startTS int64
	if s := machinewait.LastEventOf(m, "start", baseline); s != nil {
		startTS = s.Timestamp
	}
	st := checkState{total: max(len(m.Checks), want)}
	for _, c := range m.Checks {
		if c == nil {
			continue
		}
		fresh := c.UpdatedAt == nil || startTS == 0 || c.UpdatedAt.UnixMilli() >= startTS
		if c.Status == flygo.Passing && fresh {
			st.passing++
			continue
		}
		if st.worst == nil || rank(c.Status) < rank(st.worst.Status) {
			st.worst = c
		}
		if c.UpdatedAt != nil && (st.last.IsZero() || c.UpdatedAt.Before(st.last)) {
			st.last = *c.UpdatedAt
		}
	}
	st.ok = st.passing >= want && st.passing == len(m.Checks)
	return st
}

func rank(s flygo.ConsulCheckStatus) int {
	switch s {
	case flygo.Critical:
		return 0
	case flygo.Warning:
		return 1
	case flygo.Passing:
		return 3
	}
	return 2
}

// crashFailure describes a crashed machine and fetches its last log lines
// in the background (they are joined before the report is written).
func (r *run) crashFailure(ctx context.Context, phase report.PhaseName, step Step, id string, ce *crashError) *Failure {
	f := &Failure{Phase: phase, Step: step, MachineID: id, Err: ce}
	if ce.exit != nil {
		f.Exit = &ExitInfo{Code: ce.exit.Code, OOMKilled: ce.exit.OOMKilled, Signal: ce.exit.Signal, After: ce.after}
	}
	r.fetchLogs(ctx, f)
	return f
}

// checksFailure describes a machine whose checks did not pass in time; it
// reads the addresses its processes listen on now, before a restore
// replaces them, and fetches its logs in the background.
func (r *run) checksFailure(ctx context.Context, phase report.PhaseName, id string, st checkState) *Failure {
	f := &Failure{Phase: phase, Step: StepChecks, MachineID: id,
		Err: fmt.Errorf("health checks did not all pass within wait_timeout %s", r.s.WaitTimeout)}
	ci := &CheckInfo{Passing: st.passing, Total: st.total, Status: string(flygo.Critical)}
	if w := st.worst; w != nil {
		ci.Name, ci.Status, ci.Output = w.Name, string(w.Status), logtail.Redact(truncate(w.Output, 500), r.d.Mask...)
	} else {
		ci.Output = "the check has not reported a result yet"
	}
	f.Check = ci
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if ps, err := r.api.GetProcesses(pctx, r.s.App, id); err == nil {
		for _, p := range ps {
			for _, ls := range p.ListenSockets {
				if ls.Proto == "" || ls.Proto == "tcp" {
					f.Listen = append(f.Listen, ls.Address)
				}
			}
		}
	}
	r.fetchLogs(ctx, f)
	return f
}

func (r *run) fetchLogs(ctx context.Context, f *Failure) {
	r.diag.Go(func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.d.LogWait+10*time.Second)
		defer cancel()
		lines, err := logtail.Fetch(lctx, r.api, r.s.App, f.MachineID, logtail.Options{Lines: r.d.logLines(), Wait: r.d.LogWait, Mask: r.d.Mask})
		if err == nil {
			f.LogTail = lines
		}
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// loopbackOnly reports whether every address in listen is a loopback one
// (an app bound to 127.0.0.1 cannot be reached by Fly's proxy).
func loopbackOnly(listen []string) bool {
	if len(listen) == 0 {
		return false
	}
	for _, a := range listen {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return false
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}
