// Package flyfake is an in-memory stand-in for the Fly Machines API
// (fly.API), for unit tests of the deploy engine. Machines are not
// processes: each image maps to a Behavior (start delay, crash with an exit
// code or OOM, health checks that pass or not, release command exit code,
// log lines), and a machine's state follows from the time elapsed since its
// last update. Faults can be injected per call (5xx bursts, a lease held by
// another owner), and every call is recorded.
//
// For end-to-end tests with real processes use internal/flysim.
package flyfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	flygo "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"

	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
)

// Behavior is how a machine running an image behaves.
type Behavior struct {
	// StartDelay is the time from an update (or launch) to "started".
	StartDelay time.Duration
	// Crash makes the process exit CrashAfter after it started, with
	// ExitCode (and oom_killed when OOM). The machine then stays stopped.
	Crash      bool
	CrashAfter time.Duration
	ExitCode   int
	OOM        bool
	// ChecksFail keeps every health check critical; otherwise checks pass
	// ChecksDelay after the start.
	ChecksFail  bool
	ChecksDelay time.Duration
	// CheckOutput is the output of a failing check.
	CheckOutput string
	// RunFor is how long a machine with auto_destroy (a release command)
	// runs before it exits with ExitCode and is destroyed. A zero RunFor
	// with StayUp keeps it running forever.
	RunFor time.Duration
	StayUp bool
	// Logs are the lines the machine writes when it starts.
	Logs []string
}

// Call is one recorded API call.
type Call struct {
	Op        string
	MachineID string
	Nonce     string
	Image     string
	Time      time.Time
}

type fault struct {
	op     string
	left   int
	status int
}

type lease struct {
	nonce   string
	owner   string
	expires time.Time
}

type machine struct {
	m        flygo.Machine
	lease    *lease
	startAt  time.Time
	exitAt   time.Time // zero: never exits
	exitCode int
	oom      bool
	autoDel  bool
	behavior Behavior
	logs     []flygo.LogEntry
}

// Fake is the in-memory API. Create it with New; it is safe for concurrent
// use.
type Fake struct {
	// App is the one app the fake serves.
	App string
	// FlyGoLeaseRetry makes AcquireLease behave like fly-go's: a held lease
	// is retried until the context ends, which then returns the context's
	// error. When false a held lease answers 409 at once. New sets it.
	FlyGoLeaseRetry bool
	// OnCall, when set, is called (without locks held) at the start of each
	// call; tests use it to cancel a context mid-deploy.
	OnCall func(op, machineID string)

	mu        sync.Mutex
	behaviors map[string]Behavior
	perMach   map[string]Behavior // machine ID + "|" + image
	machines  map[string]*machine
	order     []string
	faults    []*fault
	calls     []Call
	secrets   map[string]string
	seq       int
}

// New returns a fake serving app, with no machines.
func New(app string) *Fake {
	return &Fake{App: app, FlyGoLeaseRetry: true, behaviors: map[string]Behavior{}, perMach: map[string]Behavior{}, machines: map[string]*machine{}, secrets: map[string]string{}}
}

var _ fly.API = (*Fake)(nil)

// SetBehavior sets how machines running image behave. Images without one
// start at once and pass their checks at once.
func (f *Fake) SetBehavior(image string, b Behavior) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.behaviors[image] = b
}

// SetBehaviorFor sets how one machine behaves when it runs image; it wins
// over SetBehavior.
func (f *Fake) SetBehaviorFor(machineID, image string, b Behavior) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.perMach[machineID+"|"+image] = b
}

// SetSecret records a secret name (its value is never returned).
func (f *Fake) SetSecret(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[name] = value
}

// Fail makes the next n calls of op (a method name, "*" for any) fail with
// the HTTP status.
func (f *Fake) Fail(op string, n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &fault{op: op, left: n, status: status})
}

// HoldLease makes another owner hold the machine's lease for d.
func (f *Fake) HoldLease(machineID, owner string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.machines[machineID]; m != nil {
		m.lease = &lease{nonce: "other-" + owner, owner: owner, expires: time.Now().Add(d)}
	}
}

// AddMachine creates a started machine running cfg (a copy is kept) and
// returns its ID.
func (f *Fake) AddMachine(region string, cfg *flygo.MachineConfig) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.newMachine("", region, machineconf.Clone(cfg))
	m.startAt = time.Now().Add(-time.Minute)
	m.m.State = flygo.MachineStateStarted
	m.m.Events = append(m.m.Events, f.event("launch", "created", m.startAt.Add(-time.Second)), f.event("start", "started", m.startAt))
	m.exitAt = time.Time{}
	return m.m.ID
}

// Calls returns the calls made so far.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// CallCount returns how many calls of op were made.
func (f *Fake) CallCount(op string) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Op == op {
			n++
		}
	}
	return n
}

// Machine returns a copy of the machine as the API would return it now, or
// nil.
func (f *Fake) Machine(id string) *flygo.Machine {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.machines[id]
	if m == nil {
		return nil
	}
	f.settle(m, time.Now())
	return f.view(m)
}

// Images returns the image each live app machine runs, by machine ID.
func (f *Fake) Images() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for id, m := range f.machines {
		if m.m.State != flygo.MachineStateDestroyed && m.m.Config != nil && !m.autoDel {
			out[id] = m.m.Config.Image
		}
	}
	return out
}

// HeldLeases returns the IDs of machines whose lease is held now.
func (f *Fake) HeldLeases() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, m := range f.machines {
		if m.lease != nil && time.Now().Before(m.lease.expires) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// --- internals ---

func newID() string {
	b := make([]byte, 7)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *Fake) newMachine(name, region string, cfg *flygo.MachineConfig) *machine {
	f.seq++
	id := fmt.Sprintf("m%02d%s", f.seq, newID()[:6])
	if name == "" {
		name = "machine-" + id
	}
	if cfg == nil {
		cfg = &flygo.MachineConfig{}
	}
	m := &machine{m: flygo.Machine{ID: id, Name: name, Region: region, Config: cfg, InstanceID: newID(), State: flygo.MachineStateCreated}}
	f.machines[id] = m
	f.order = append(f.order, id)
	return m
}

func (f *Fake) event(typ, status string, at time.Time) *flygo.MachineEvent {
	return &flygo.MachineEvent{Type: typ, Status: status, Source: "flyd", Timestamp: at.UnixMilli()}
}

// boot schedules a start of m's current config from now.
func (f *Fake) boot(m *machine, now time.Time) {
	b, ok := f.perMach[m.m.ID+"|"+m.m.Config.Image]
	if !ok {
		b = f.behaviors[m.m.Config.Image]
	}
	m.behavior = b
	m.startAt = now.Add(b.StartDelay)
	m.exitAt = time.Time{}
	m.exitCode, m.oom = 0, false
	m.autoDel = m.m.Config.AutoDestroy
	switch {
	case m.autoDel && !b.StayUp:
		m.exitAt = m.startAt.Add(b.RunFor)
		m.exitCode = b.ExitCode
		m.oom = b.OOM
	case b.Crash:
		m.exitAt = m.startAt.Add(b.CrashAfter)
		m.exitCode = b.ExitCode
		m.oom = b.OOM
	}
	m.m.State = "starting"
}

// settle moves m along its timeline up to now.
func (f *Fake) settle(m *machine, now time.Time) {
	if m.m.State == "starting" && !now.Before(m.startAt) {
		m.m.State = flygo.MachineStateStarted
		m.m.Events = append(m.m.Events, f.event("start", "started", m.startAt))
		for i, l := range m.behavior.Logs {
			m.logs = append(m.logs, flygo.LogEntry{Timestamp: m.startAt.Add(time.Duration(i) * time.Microsecond).UTC().Format(time.RFC3339Nano), Message: l, Instance: m.m.ID, Region: m.m.Region})
		}
	}
	if m.m.State == flygo.MachineStateStarted && !m.exitAt.IsZero() && !now.Before(m.exitAt) {
		ev := f.event("exit", "stopped", m.exitAt)
		ev.Request = &flygo.MachineRequest{ExitEvent: &flygo.MachineExitEvent{ExitCode: m.exitCode, OOMKilled: m.oom, ExitedAt: m.exitAt}}
		m.m.Events = append(m.m.Events, ev)
		m.m.State = flygo.MachineStateStopped
		if m.autoDel {
			m.m.Events = append(m.m.Events, f.event("destroy", "destroyed", m.exitAt))
			m.m.State = flygo.MachineStateDestroyed
		}
	}
	m.m.Checks = nil
	n := machineconf.CheckCount(m.m.Config)
	if n == 0 || m.m.State != flygo.MachineStateStarted {
		return
	}
	status, out := flygo.Passing, "OK"
	if m.behavior.ChecksFail || now.Before(m.startAt.Add(m.behavior.ChecksDelay)) {
		status, out = flygo.Critical, m.behavior.CheckOutput
		if out == "" {
			out = "connection refused"
		}
	}
	t := now
	for i := range n {
		m.m.Checks = append(m.m.Checks, &flygo.MachineCheckStatus{Name: fmt.Sprintf("servicecheck-%02d-http", i), Status: status, Output: out, UpdatedAt: &t})
	}
}

// view returns a copy of m as the API shows it: events newest first.
func (f *Fake) view(m *machine) *flygo.Machine {
	v := m.m
	v.Config = machineconf.Clone(m.m.Config)
	v.Events = make([]*flygo.MachineEvent, 0, len(m.m.Events))
	for i := len(m.m.Events) - 1; i >= 0; i-- {
		e := *m.m.Events[i]
		v.Events = append(v.Events, &e)
	}
	v.Checks = nil
	for _, c := range m.m.Checks {
		cc := *c
		v.Checks = append(v.Checks, &cc)
	}
	if m.m.Config != nil {
		v.ImageRef = flygo.MachineImageRef{Repository: m.m.Config.Image}
	}
	return &v
}

func apiError(status int, msg string) error {
	return &flaps.FlapsError{
		OriginalError:      errors.New(msg),
		ResponseStatusCode: status,
		ResponseBody:       []byte(fmt.Sprintf(`{"error":%q}`, msg)),
	}
}

// enter records a call and returns an injected fault, if any.
func (f *Fake) enter(op, id, nonce, image string) error {
	if f.OnCall != nil {
		f.OnCall(op, id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{Op: op, MachineID: id, Nonce: nonce, Image: image, Time: time.Now()})
	for _, ft := range f.faults {
		if ft.left > 0 && (ft.op == op || ft.op == "*") {
			ft.left--
			return apiError(ft.status, fmt.Sprintf("injected %d on %s", ft.status, op))
		}
	}
	return nil
}

func (f *Fake) lookup(app, id string) (*machine, error) {
	if app != f.App {
		return nil, apiError(http.StatusNotFound, "app not found")
	}
	m := f.machines[id]
	if m == nil {
		return nil, apiError(http.StatusNotFound, "machine not found")
	}
	return m, nil
}

// checkNonce refuses a change to a leased machine without its nonce.
func checkNonce(m *machine, nonce string) error {
	if m.lease == nil || time.Now().After(m.lease.expires) {
		return nil
	}
	if nonce != m.lease.nonce {
		return apiError(http.StatusConflict, "machine is leased by "+m.lease.owner)
	}
	return nil
}

// --- fly.API ---

// GetApp returns the app.
func (f *Fake) GetApp(ctx context.Context, name string) (*flaps.App, error) {
	if err := f.enter("GetApp", "", "", ""); err != nil {
		return nil, err
	}
	if name != f.App {
		return nil, apiError(http.StatusNotFound, "app not found")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &flaps.App{Name: f.App, Status: "deployed", MachineCount: int64(len(f.machines))}, nil
}

// List returns every machine of the app, destroyed ones included.
func (f *Fake) List(ctx context.Context, app, state string) ([]*flygo.Machine, error) {
	if err := f.enter("List", "", "", ""); err != nil {
		return nil, fmt.Errorf("failed to list VMs: %w", err)
	}
	if app != f.App {
		return nil, apiError(http.StatusNotFound, "app not found")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	var out []*flygo.Machine
	for _, id := range f.order {
		m := f.machines[id]
		f.settle(m, now)
		out = append(out, f.view(m))
	}
	return out, nil
}

// Get returns a machine.
func (f *Fake) Get(ctx context.Context, app, id string) (*flygo.Machine, error) {
	if err := f.enter("Get", id, "", ""); err != nil {
		return nil, fmt.Errorf("failed to get VM %s: %w", id, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, id)
	if err != nil {
		return nil, fmt.Errorf("failed to get VM %s: %w", id, err)
	}
	f.settle(m, time.Now())
	return f.view(m), nil
}

// Launch creates a machine and boots it (unless SkipLaunch).
func (f *Fake) Launch(ctx context.Context, app string, in flygo.LaunchMachineInput) (*flygo.Machine, error) {
	img := ""
	if in.Config != nil {
		img = in.Config.Image
	}
	if err := f.enter("Launch", "", "", img); err != nil {
		return nil, fmt.Errorf("failed to launch VM: %w", err)
	}
	if app != f.App {
		return nil, apiError(http.StatusNotFound, "app not found")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	m := f.newMachine(in.Name, in.Region, machineconf.Clone(in.Config))
	m.m.Events = append(m.m.Events, f.event("launch", "created", now))
	if !in.SkipLaunch {
		f.boot(m, now)
	}
	if in.LeaseTTL > 0 {
		m.lease = &lease{nonce: newID(), owner: "fake", expires: now.Add(time.Duration(in.LeaseTTL) * time.Second)}
		m.m.LeaseNonce = m.lease.nonce
	}
	v := f.view(m)
	m.m.LeaseNonce = ""
	return v, nil
}

// Update replaces a machine's config and restarts it (unless SkipLaunch).
func (f *Fake) Update(ctx context.Context, app string, in flygo.LaunchMachineInput, nonce string) (*flygo.Machine, error) {
	img := ""
	if in.Config != nil {
		img = in.Config.Image
	}
	if err := f.enter("Update", in.ID, nonce, img); err != nil {
		return nil, fmt.Errorf("failed to update VM %s: %w", in.ID, err)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("failed to update VM %s: %w", in.ID, ctx.Err())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, in.ID)
	if err == nil {
		err = checkNonce(m, nonce)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to update VM %s: %w", in.ID, err)
	}
	now := time.Now()
	f.settle(m, now)
	if m.m.State == flygo.MachineStateStarted {
		ev := f.event("exit", "stopped", now)
		ev.Request = &flygo.MachineRequest{ExitEvent: &flygo.MachineExitEvent{RequestedStop: true}}
		m.m.Events = append(m.m.Events, ev)
	}
	m.m.Config = machineconf.Clone(in.Config)
	m.m.InstanceID = newID()
	m.m.Events = append(m.m.Events, f.event("update", "replaced", now))
	if in.SkipLaunch {
		m.m.State = flygo.MachineStateStopped
		m.startAt, m.exitAt = time.Time{}, time.Time{}
	} else {
		f.boot(m, now)
	}
	return f.view(m), nil
}

// Wait blocks until the machine, at the given version, is in state, or the
// timeout passes (408).
func (f *Fake) Wait(ctx context.Context, app string, in *flygo.Machine, state string, timeout time.Duration) error {
	if err := f.enter("Wait", in.ID, "", ""); err != nil {
		return fmt.Errorf("failed to wait for VM %s in %s state: %w", in.ID, state, err)
	}
	if state == "" {
		state = flygo.MachineStateStarted
	}
	timeout = min(max(timeout, time.Second), time.Minute)
	version := in.InstanceID
	if in.Version != "" {
		version = in.Version
	}
	deadline := time.Now().Add(timeout)
	for {
		f.mu.Lock()
		m, err := f.lookup(app, in.ID)
		if err != nil {
			f.mu.Unlock()
			return fmt.Errorf("failed to wait for VM %s in %s state: %w", in.ID, state, err)
		}
		f.settle(m, time.Now())
		ok := m.m.State == state && (version == "" || version == m.m.InstanceID || state == flygo.MachineStateDestroyed)
		f.mu.Unlock()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("failed to wait for VM %s in %s state: %w", in.ID, state, apiError(http.StatusRequestTimeout, "deadline_exceeded: timeout waiting for machine"))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("failed to wait for VM %s in %s state: %w", in.ID, state, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Start boots a stopped machine.
func (f *Fake) Start(ctx context.Context, app, id, nonce string) (*flygo.MachineStartResponse, error) {
	if err := f.enter("Start", id, nonce, ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, id)
	if err == nil {
		err = checkNonce(m, nonce)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to start VM %s: %w", id, err)
	}
	prev := m.m.State
	f.boot(m, time.Now())
	return &flygo.MachineStartResponse{Status: "success", PreviousState: prev}, nil
}

// Stop stops a machine.
func (f *Fake) Stop(ctx context.Context, app string, in flygo.StopMachineInput, nonce string) error {
	if err := f.enter("Stop", in.ID, nonce, ""); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, in.ID)
	if err == nil {
		err = checkNonce(m, nonce)
	}
	if err != nil {
		return fmt.Errorf("failed to stop VM %s: %w", in.ID, err)
	}
	now := time.Now()
	ev := f.event("exit", "stopped", now)
	ev.Request = &flygo.MachineRequest{ExitEvent: &flygo.MachineExitEvent{RequestedStop: true}}
	m.m.Events = append(m.m.Events, ev)
	m.m.State = flygo.MachineStateStopped
	m.exitAt = time.Time{}
	return nil
}

// Destroy destroys a machine (it stays visible as destroyed).
func (f *Fake) Destroy(ctx context.Context, app string, in flygo.RemoveMachineInput, nonce string) error {
	if err := f.enter("Destroy", in.ID, nonce, ""); err != nil {
		return fmt.Errorf("failed to destroy VM %s: %w", in.ID, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, in.ID)
	if err == nil && m.m.State == flygo.MachineStateDestroyed {
		err = apiError(http.StatusNotFound, "machine not found")
	}
	if err == nil {
		err = checkNonce(m, nonce)
	}
	if err != nil {
		return fmt.Errorf("failed to destroy VM %s: %w", in.ID, err)
	}
	m.m.Events = append(m.m.Events, f.event("destroy", "destroyed", time.Now()))
	m.m.State = flygo.MachineStateDestroyed
	m.exitAt = time.Time{}
	return nil
}

// AcquireLease takes a machine's lease; see Fake.FlyGoLeaseRetry.
func (f *Fake) AcquireLease(ctx context.Context, app, id string, ttl *int) (*flygo.MachineLease, error) {
	for {
		if err := f.enter("AcquireLease", id, "", ""); err != nil {
			if !f.FlyGoLeaseRetry {
				return nil, fmt.Errorf("failed to get lease on VM %s: %w", id, err)
			}
		} else {
			l, err := f.acquire(app, id, ttl)
			if err == nil || !f.FlyGoLeaseRetry || !fly.IsConflict(err) {
				return l, err
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (f *Fake) acquire(app, id string, ttl *int) (*flygo.MachineLease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, id)
	if err != nil {
		return nil, fmt.Errorf("failed to get lease on VM %s: %w", id, err)
	}
	now := time.Now()
	if m.lease != nil && now.Before(m.lease.expires) {
		return nil, fmt.Errorf("failed to get lease on VM %s: %w", id, apiError(http.StatusConflict, "lease currently held by "+m.lease.owner))
	}
	d := 30 * time.Second
	if ttl != nil && *ttl > 0 {
		d = time.Duration(*ttl) * time.Second
	}
	m.lease = &lease{nonce: newID(), owner: "deploy-action@fake", expires: now.Add(d)}
	return &flygo.MachineLease{Status: "success", Data: &flygo.MachineLeaseData{Nonce: m.lease.nonce, ExpiresAt: m.lease.expires.Unix(), Owner: m.lease.owner}}, nil
}

// RefreshLease extends a lease held with nonce.
func (f *Fake) RefreshLease(ctx context.Context, app, id string, ttl *int, nonce string) (*flygo.MachineLease, error) {
	if err := f.enter("RefreshLease", id, nonce, ""); err != nil {
		return nil, fmt.Errorf("failed to get lease on VM %s: %w", id, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, id)
	if err != nil {
		return nil, err
	}
	if m.lease == nil || m.lease.nonce != nonce {
		return nil, fmt.Errorf("failed to get lease on VM %s: %w", id, apiError(http.StatusConflict, "lease not held"))
	}
	d := 30 * time.Second
	if ttl != nil && *ttl > 0 {
		d = time.Duration(*ttl) * time.Second
	}
	m.lease.expires = time.Now().Add(d)
	return &flygo.MachineLease{Status: "success", Data: &flygo.MachineLeaseData{Nonce: nonce, ExpiresAt: m.lease.expires.Unix(), Owner: m.lease.owner}}, nil
}

// ReleaseLease gives a lease back.
func (f *Fake) ReleaseLease(ctx context.Context, app, id, nonce string) error {
	if err := f.enter("ReleaseLease", id, nonce, ""); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, id)
	if err != nil {
		return err
	}
	if m.lease == nil || m.lease.nonce != nonce {
		return apiError(http.StatusConflict, "lease not held with this nonce")
	}
	m.lease = nil
	return nil
}

// FindLease returns the machine's current lease (404 when none).
func (f *Fake) FindLease(ctx context.Context, app, id string) (*flygo.MachineLease, error) {
	if err := f.enter("FindLease", id, "", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, id)
	if err != nil {
		return nil, err
	}
	if m.lease == nil || time.Now().After(m.lease.expires) {
		return nil, apiError(http.StatusNotFound, "no lease")
	}
	return &flygo.MachineLease{Status: "success", Data: &flygo.MachineLeaseData{Owner: m.lease.owner, ExpiresAt: m.lease.expires.Unix()}}, nil
}

// SetMetadata sets one metadata key of the machine's config.
func (f *Fake) SetMetadata(ctx context.Context, app, id, key, value string) error {
	if err := f.enter("SetMetadata", id, "", ""); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, id)
	if err != nil {
		return err
	}
	if m.m.Config.Metadata == nil {
		m.m.Config.Metadata = map[string]string{}
	}
	m.m.Config.Metadata[key] = value
	return nil
}

// GetProcesses returns one process listening on the first service port.
func (f *Fake) GetProcesses(ctx context.Context, app, id string) (flygo.MachinePsResponse, error) {
	if err := f.enter("GetProcesses", id, "", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.lookup(app, id)
	if err != nil {
		return nil, err
	}
	ps := flygo.ProcessStat{Pid: 1, Command: strings.Join(m.m.Config.Init.Cmd, " ")}
	for _, s := range m.m.Config.Services {
		ps.ListenSockets = append(ps.ListenSockets, flygo.ListenSocket{Proto: "tcp", Address: fmt.Sprintf("0.0.0.0:%d", s.InternalPort)})
	}
	return flygo.MachinePsResponse{ps}, nil
}

// ListAppSecrets returns the secrets' names and digests; values only when
// showSecrets is true (the engine never asks).
func (f *Fake) ListAppSecrets(ctx context.Context, app string, version *uint64, showSecrets bool) ([]flygo.AppSecret, error) {
	if err := f.enter("ListAppSecrets", "", "", ""); err != nil {
		return nil, fmt.Errorf("failed to list app secrets: %w", err)
	}
	if app != f.App {
		return nil, apiError(http.StatusNotFound, "app not found")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []flygo.AppSecret
	for _, k := range slices.Sorted(maps.Keys(f.secrets)) {
		s := flygo.AppSecret{Name: k, Digest: fmt.Sprintf("%x", len(f.secrets[k]))}
		if showSecrets {
			v := f.secrets[k]
			s.Value = &v
		}
		out = append(out, s)
	}
	return out, nil
}

// GetAppLogs returns the log lines of the machine instanceID (or of all).
func (f *Fake) GetAppLogs(ctx context.Context, app, token, region, instanceID string) ([]flygo.LogEntry, string, error) {
	if err := f.enter("GetAppLogs", instanceID, "", ""); err != nil {
		return nil, "", err
	}
	if token != "" {
		return nil, token, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []flygo.LogEntry
	for _, id := range f.order {
		m := f.machines[id]
		f.settle(m, time.Now())
		if instanceID == "" || instanceID == id {
			out = append(out, m.logs...)
		}
	}
	return out, "end", nil
}
