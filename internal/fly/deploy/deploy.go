// Package deploy is deploy-action's deploy engine: what `fly deploy` does on
// the Machines platform, through the Machines API alone, with the one thing
// flyctl gets wrong fixed — a failed deploy never leaves the app
// half-updated.
//
// A deploy goes through these steps, each in its own file:
//
//	plan.go      the plan: fly.toml [deploy] settings and defaults, batches
//	deploy.go    Deploy: snapshot every machine's config (the rollback point),
//	             take the leases, run the release command, update, restore
//	release.go   the release_command step (package release runs it)
//	machine.go   one machine: update with the lease nonce, wait started,
//	             smoke window, health checks
//	restore.go   put every touched machine back on its snapshot
//	rollback.go  Rollback: back to the previous image recorded in metadata
//	first.go     a first deploy, when the app has no machine yet
//	findings.go  the report: phases release and deploy, findings, timings
//	result.go    what Deploy returns: Result, MachineResult, Failure, Event
//
// Each machine's new config records the image it replaces in its metadata
// (MetaPreviousImage), so a later Rollback needs nothing but the Machines
// API. Leases are released on every path, with a context of their own; when
// the deploy's context is cancelled (the CLI cancels it on SIGINT/SIGTERM),
// the machines already changed are restored within InterruptGrace before
// Deploy returns.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/lease"
	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Metadata keys deploy-action writes into each machine's config.
const (
	// MetaPreviousImage is the image the machine ran before the deploy
	// that gave it its current config.
	MetaPreviousImage = "deploy_action_previous_image"
	// MetaDeployID identifies that deploy.
	MetaDeployID = "deploy_action_deploy_id"
)

// Defaults of Deployer's knobs.
const (
	DefaultSmokeWindow    = 10 * time.Second
	DefaultWaitSlice      = 10 * time.Second
	DefaultInterruptGrace = 20 * time.Second
	DefaultMaxConcurrent  = 8
	DefaultLogLines       = 30
)

// Deployer runs deploys and rollbacks through the Fly API. Only API is
// required; the zero value of every other field means its default.
type Deployer struct {
	// API is the Fly API, usually fly.WithRetry(client, fly.RetryPolicy{}).
	API fly.API

	// LeaseTTL, LeaseTimeout: see lease.Options (TTL, Timeout).
	LeaseTTL, LeaseTimeout time.Duration
	// SmokeWindow is how long a machine must stay up after it started
	// before it counts as healthy (flyctl's smoke checks: 10 s). It runs
	// alongside the health checks, so it costs time only when the checks
	// pass sooner.
	SmokeWindow time.Duration
	// PollInterval is the time between looks at a machine while waiting
	// for its checks; 0 derives it from the shortest check interval
	// (a quarter of it, between 100 ms and 2 s).
	PollInterval time.Duration
	// WaitSlice bounds one call of the API's wait endpoint (at most 60 s);
	// between calls the machine is looked at for a crash.
	WaitSlice time.Duration
	// InterruptGrace bounds the restore that runs after the context was
	// cancelled. GitHub Actions sends SIGINT, then SIGTERM 7.5 s later, then
	// kills the job 2.5 s after that: keep it under 10 s there.
	InterruptGrace time.Duration
	// MaxConcurrent bounds the machines handled at once (immediate
	// strategy, restores).
	MaxConcurrent int
	// LogLines is the number of log lines kept for a failed machine or
	// release command; LogWait how long to wait for them (see logtail).
	LogLines int
	LogWait  time.Duration
	// Mask lists secret values to hide in any log line or check output
	// that goes into the report.
	Mask []string
	// Progress, when set, receives progress events (from several
	// goroutines at once: it must be safe for concurrent use).
	Progress func(Event)
}

func (d *Deployer) smokeWindow() time.Duration {
	if d.SmokeWindow < 0 {
		return 0
	}
	if d.SmokeWindow == 0 {
		return DefaultSmokeWindow
	}
	return d.SmokeWindow
}

func (d *Deployer) waitSlice() time.Duration {
	if d.WaitSlice <= 0 {
		return DefaultWaitSlice
	}
	return d.WaitSlice
}

func (d *Deployer) interruptGrace() time.Duration {
	if d.InterruptGrace <= 0 {
		return DefaultInterruptGrace
	}
	return d.InterruptGrace
}

func (d *Deployer) maxConcurrent() int {
	if d.MaxConcurrent <= 0 {
		return DefaultMaxConcurrent
	}
	return d.MaxConcurrent
}

func (d *Deployer) logLines() int {
	if d.LogLines <= 0 {
		return DefaultLogLines
	}
	return d.LogLines
}

// target is one machine of the deploy.
type target struct {
	snap     *flygo.Machine       // the machine as listed: the rollback point
	baseline int64                // its newest event time at the snapshot
	next     *flygo.MachineConfig // the config to apply
	group    string               // its process group
	res      *MachineResult       // what happened to it
	touched  atomic.Bool          // an Update was sent
	updErr   error                // the Update's error, if it failed
	launched bool                 // created by a first deploy
}

func (t *target) id() string { return t.snap.ID }

// run is one deploy in progress.
type run struct {
	d          *Deployer
	api        fly.API
	s          *settings
	rep        *report.Report
	isRollback bool
	id         string
	res        *Result
	leases     *lease.Set

	mu      sync.Mutex // guards res.Failure, FailedAt
	targets []*target
	diag    sync.WaitGroup // log and process fetches for the report
}

func newID() string {
	return fmt.Sprintf("%x", time.Now().UnixNano())
}

func (r *run) emit(phase report.PhaseName, step Step, machineID, format string, args ...any) {
	if r.d.Progress == nil {
		return
	}
	r.d.Progress(Event{Time: time.Now(), Phase: phase, Step: step, MachineID: machineID, Message: fmt.Sprintf(format, args...)})
}

// Deploy deploys plan.Image to every machine of plan.App and writes the
// phases release and deploy into rep. It returns the result, and an error
// when the app does not run the new image at the end: a *Failure when a
// step failed (the machines it touched are then back on their snapshot,
// see Result.RolledBack), the context's error when it was cancelled, or
// the API's error.
func (d *Deployer) Deploy(ctx context.Context, plan Plan, rep *report.Report) (*Result, error) {
	if rep == nil {
		rep = report.New("deploy")
	}
	s, err := resolve(plan, false)
	if err != nil {
		res := &Result{App: plan.App, Image: plan.Image, Started: time.Now()}
		return res, planFailure(rep, res, err)
	}
	r := &run{d: d, api: d.API, s: s, rep: rep, id: newID(), res: &Result{App: s.App, Image: s.Image, Strategy: s.Strategy, Started: time.Now()}}
	return r.deploy(ctx)
}

func (r *run) deploy(ctx context.Context) (res *Result, err error) {
	defer func() { res, err = r.finish(ctx, err) }()
	r.emit(report.Deploy, StepPlan, "", "listing the machines of %s", r.s.App)
	machines, err := r.appMachines(ctx)
	if err != nil {
		return r.res, r.fail(&Failure{Phase: report.Deploy, Step: StepPlan, Err: err})
	}
	if len(machines) == 0 {
		if r.s.InitialMachines > 0 {
			return r.res, r.firstDeploy(ctx)
		}
		return r.res, r.fail(&Failure{Phase: report.Deploy, Step: StepPlan, Err: errNoMachines})
	}
	if err := r.snapshot(machines, func(m *flygo.Machine) (*flygo.MachineConfig, error) {
		return machineconf.ForMachine(r.s.Config, m.Config, r.s.Image)
	}); err != nil {
		return r.res, r.fail(&Failure{Phase: report.Deploy, Step: StepPlan, Err: err})
	}
	return r.res, r.leaseAndUpdate(ctx, true)
}

var errNoMachines = errors.New("the app has no machines to deploy to")

// appMachines lists the app's machines that a deploy updates: active ones,
// without release command and console machines.
func (r *run) appMachines(ctx context.Context) ([]*flygo.Machine, error) {
	all, err := r.api.List(ctx, r.s.App, "")
	if err != nil {
		return nil, fmt.Errorf("list machines of %s: %w", r.s.App, err)
	}
	var out []*flygo.Machine
	for _, m := range all {
		if m == nil || !m.IsActive() || m.Config == nil {
			continue
		}
		if g := m.ProcessGroup(); g == flygo.MachineProcessGroupFlyAppReleaseCommand || g == flygo.MachineProcessGroupFlyAppConsole ||
			g == flygo.MachineProcessGroupFlyAppTestMachineCommand || m.IsReleaseCommandMachine() {
			continue
		}
		out = append(out, m)
	}
	// Started machines first: the first one is the canary.
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].State == flygo.MachineStateStarted && out[j].State != flygo.MachineStateStarted
	})
	return out, nil
}

// snapshot records each machine as it is and the config it gets.
func (r *run) snapshot(machines []*flygo.Machine, next func(*flygo.Machine) (*flygo.MachineConfig, error)) error {
	counts := map[string]int{}
	for _, m := range machines {
		snap := *m
		snap.Config = machineconf.Clone(m.Config)
		cfg, err := next(&snap)
		if err != nil {
			return fmt.Errorf("config for machine %s: %w", m.ID, err)
		}
		from := snap.Config.Image
		if cfg.Metadata == nil {
			cfg.Metadata = map[string]string{}
		}
		cfg.Metadata[MetaPreviousImage] = from
		cfg.Metadata[MetaDeployID] = r.id
		t := &target{snap: &snap, baseline: lastEventTime(&snap), next: cfg, group: machineconf.Group(r.s.Config, snap.Config)}
		t.res = &MachineResult{ID: m.ID, Region: m.Region, Group: t.group, FromImage: from, ToImage: cfg.Image, WasStarted: m.State == flygo.MachineStateStarted}
		r.targets = append(r.targets, t)
		counts[from]++
	}
	// The previous image is the one most machines run (ties: by name).
	imgs := slices.Sorted(maps.Keys(counts))
	for _, img := range imgs {
		if counts[img] > counts[r.res.PreviousImage] || r.res.PreviousImage == "" {
			r.res.PreviousImage = img
		}
	}
	return nil
}

// leaseAndUpdate takes the leases, runs the release command (when
// withRelease), updates the machines batch by batch and restores them on
// failure.
func (r *run) leaseAndUpdate(ctx context.Context, withRelease bool) (err error) {
	ids := make([]string, len(r.targets))
	for i, t := range r.targets {
		ids[i] = t.id()
	}
	r.emit(report.Deploy, StepLease, "", "acquiring leases on %d machines", len(ids))
	leases, err := lease.Acquire(ctx, r.api, r.s.App, ids, lease.Options{TTL: r.d.LeaseTTL, Timeout: r.d.LeaseTimeout})
	if err != nil && ctx.Err() != nil {
		r.res.Interrupted = true
		return fmt.Errorf("deploy of %s interrupted while acquiring leases: %w", r.s.App, ctx.Err())
	}
	if err != nil {
		return r.fail(&Failure{Phase: report.Deploy, Step: StepLease, MachineID: heldMachine(err), Err: err})
	}
	r.leases = leases
	defer func() {
		if rerr := leases.Release(); rerr != nil {
			r.rep.Add(report.Deploy, report.Finding{Rule: RuleLeaseRelease, Severity: report.Warning,
				Title:   "Some machine leases could not be released",
				Message: fmt.Sprintf("%v. They expire by themselves within %s.", rerr, leaseTTL(r.d.LeaseTTL)),
				Fix:     "Nothing to do unless another deploy starts within that time; it will wait for them."})
		}
	}()
	defer func() {
		// A panic in the middle of an update must not leave the app
		// half-updated either.
		if p := recover(); p != nil {
			r.restore(ctx, true)
			panic(p)
		}
	}()

	if withRelease && r.s.ReleaseCommand != "" {
		if err := r.runRelease(ctx); err != nil {
			return err
		}
	}

	bs := batches(len(r.targets), r.s.Strategy, r.s.MaxUnavailable)
	for _, b := range bs {
		ids := make([]string, len(b))
		for i, ti := range b {
			ids[i] = r.targets[ti].id()
		}
		r.res.Batches = append(r.res.Batches, ids)
	}
	for bi, b := range bs {
		if lerr := leases.Err(); lerr != nil {
			r.fail(&Failure{Phase: report.Deploy, Step: StepLease, Err: lerr})
			break
		}
		if ctx.Err() != nil {
			break
		}
		r.emit(report.Deploy, StepUpdate, "", "batch %d of %d: %d machine(s)", bi+1, len(bs), len(b))
		if r.runBatch(ctx, b) {
			break
		}
	}
	if r.failure() == nil && ctx.Err() == nil {
		return nil
	}
	if ctx.Err() != nil {
		r.res.Interrupted = true
	}
	r.restore(ctx, ctx.Err() != nil)
	if f := r.failure(); f != nil {
		return f
	}
	return fmt.Errorf("deploy of %s interrupted: %w", r.s.App, ctx.Err())
}

// runBatch updates the batch's machines concurrently and reports whether
// one failed. The first failure cancels the others' waits.
func (r *run) runBatch(ctx context.Context, batch []int) bool {
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, r.d.maxConcurrent())
	var wg sync.WaitGroup
	var failed atomic.Bool
	for _, ti := range batch {
		t := r.targets[ti]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			defer func() {
				// A panic here (in a Progress callback, say) cannot reach
				// the caller's recover: turn it into a failure so the
				// batch stops and the app is restored.
				if p := recover(); p != nil {
					r.fail(&Failure{Phase: report.Deploy, Step: StepUpdate, MachineID: t.id(), Err: fmt.Errorf("panic: %v", p)})
					failed.Store(true)
					cancel()
				}
			}()
			if bctx.Err() != nil {
				return
			}
			if f := r.updateMachine(bctx, t); f != nil {
				if ctx.Err() == nil && (bctx.Err() == nil || !errors.Is(f.Err, context.Canceled)) {
					r.fail(f)
					failed.Store(true)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	return failed.Load()
}

// fail records the deploy's first failure and returns it.
func (r *run) fail(f *Failure) *Failure {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.res.Failure == nil {
		if f.Err != nil && f.Message == "" {
			f.Message = f.Err.Error()
		}
		r.res.Failure = f
		r.res.FailedAt = time.Now()
		r.emit(f.Phase, f.Step, f.MachineID, "failed: %v", f)
	}
	return r.res.Failure
}

func (r *run) failure() *Failure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res.Failure
}

// finish completes the result and writes the report.
func (r *run) finish(ctx context.Context, err error) (*Result, error) {
	r.diag.Wait()
	r.res.Duration = time.Since(r.res.Started)
	for _, t := range r.targets {
		r.res.Machines = append(r.res.Machines, *t.res)
	}
	r.report()
	if err == nil {
		r.emit(report.Deploy, StepDone, "", "%s now runs %s on %d machine(s) (%s)", r.s.App, r.res.Image, len(r.targets), r.res.Duration.Round(time.Millisecond))
	}
	return r.res, err
}

func heldMachine(err error) string {
	var he *lease.HeldError
	if errors.As(err, &he) {
		return he.MachineID
	}
	return ""
}

func leaseTTL(d time.Duration) time.Duration {
	if d < time.Second {
		return lease.DefaultTTL
	}
	return d
}

func lastEventTime(m *flygo.Machine) int64 {
	var t int64
	for _, e := range m.Events {
		if e != nil && e.Timestamp > t {
			t = e.Timestamp
		}
	}
	return t
}
