package deploy

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
	"github.com/grupo-gad/deploy-action/internal/fly/lease"
	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/report"
)

const (
	app      = "grupo-gad"
	oldImage = "registry.fly.io/grupo-gad:v1"
	newImage = "registry.fly.io/grupo-gad:v2"
)

func loadConfig(t testing.TB) *flytoml.Config {
	t.Helper()
	data, err := os.ReadFile("testdata/fly.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, fs := flytoml.Parse("fly.toml", data)
	for _, f := range fs {
		if f.Severity == report.Error {
			t.Fatalf("testdata/fly.toml: %s: %s", f.Location, f.Message)
		}
	}
	return cfg
}

// setup returns a fake app with n started machines on oldImage, configured
// from testdata/fly.toml.
func setup(t testing.TB, n int) (*flyfake.Fake, []string, *flytoml.Config) {
	t.Helper()
	cfg := loadConfig(t)
	f := flyfake.New(app)
	var ids []string
	for range n {
		mc, err := machineconf.ForMachine(cfg, &flygo.MachineConfig{Metadata: map[string]string{"fly_process_group": "app"}}, oldImage)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.AddMachine("mad", mc))
	}
	f.SetBehavior(newImage, flyfake.Behavior{StartDelay: 5 * time.Millisecond, Logs: []string{"Running upgrade -> 29e2b3c8b942"}})
	return f, ids, cfg
}

func testDeployer(f fly.API) *Deployer {
	return &Deployer{
		API:            fly.WithRetry(f, fly.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond}),
		SmokeWindow:    30 * time.Millisecond,
		PollInterval:   5 * time.Millisecond,
		WaitSlice:      time.Second,
		LeaseTimeout:   300 * time.Millisecond,
		LogWait:        30 * time.Millisecond,
		InterruptGrace: 2 * time.Second,
	}
}

func testPlan(cfg *flytoml.Config) Plan {
	return Plan{App: app, Image: newImage, Config: cfg, WaitTimeout: 2 * time.Second}
}

func allOn(t *testing.T, f *flyfake.Fake, image string) {
	t.Helper()
	for id, img := range f.Images() {
		if img != image {
			t.Errorf("machine %s runs %s, want %s", id, img, image)
		}
	}
}

func noLeases(t *testing.T, f *flyfake.Fake) {
	t.Helper()
	if held := f.HeldLeases(); len(held) > 0 {
		t.Errorf("leases still held on %v", held)
	}
}

func finding(rep *report.Report, rule string) *report.Finding {
	for _, f := range rep.Findings() {
		if f.Rule == rule {
			return &f
		}
	}
	return nil
}

func TestDeployHappy(t *testing.T) {
	tests := []struct {
		n        int
		strategy Strategy
		maxU     float64
		batches  []int
	}{
		{1, Rolling, 0, []int{1}},
		{3, Rolling, 0, []int{1, 1, 1}},
		{10, Rolling, 0.33, []int{1, 3, 3, 3}},
		{10, Rolling, 4, []int{1, 4, 4, 1}},
		{4, Immediate, 0, []int{4}},
	}
	for _, tt := range tests {
		t.Run(string(tt.strategy)+"/"+strings.Repeat("m", tt.n), func(t *testing.T) {
			f, ids, cfg := setup(t, tt.n)
			rep := report.New("deploy")
			p := testPlan(cfg)
			p.Strategy, p.MaxUnavailable = tt.strategy, tt.maxU
			res, err := testDeployer(f).Deploy(context.Background(), p, rep)
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			allOn(t, f, newImage)
			noLeases(t, f)
			var sizes []int
			for _, b := range res.Batches {
				sizes = append(sizes, len(b))
			}
			if !slices.Equal(sizes, tt.batches) {
				t.Errorf("batches %v, want %v", sizes, tt.batches)
			}
			if len(res.Updated()) != tt.n || res.PreviousImage != oldImage || !res.Succeeded() {
				t.Errorf("result: updated %v, previous %q, succeeded %v", res.Updated(), res.PreviousImage, res.Succeeded())
			}
			for _, id := range ids {
				m := f.Machine(id)
				if got := m.Config.Metadata[MetaPreviousImage]; got != oldImage {
					t.Errorf("machine %s: %s = %q, want %q", id, MetaPreviousImage, got, oldImage)
				}
			}
			// Every update carried the machine's lease nonce.
			for _, c := range f.Calls() {
				if c.Op == "Update" && c.Nonce == "" {
					t.Errorf("update of %s without a nonce", c.MachineID)
				}
			}
			rep.Finish()
			if rep.Conclusion != report.Success {
				t.Errorf("conclusion %s: %+v", rep.Conclusion, rep.Findings())
			}
			if finding(rep, RuleReleaseOK) == nil || finding(rep, RuleSummary) == nil || finding(rep, RuleMachine) == nil {
				t.Errorf("missing release/summary/machine notices: %+v", rep.Findings())
			}
		})
	}
}

func TestReleaseMachineConfig(t *testing.T) {
	f, _, cfg := setup(t, 1)
	if _, err := testDeployer(f).Deploy(context.Background(), testPlan(cfg), report.New("deploy")); err != nil {
		t.Fatal(err)
	}
	var rel *flygo.Machine
	for _, c := range f.Calls() {
		if c.Op == "Launch" {
			ms, _ := f.List(context.Background(), app, "")
			for _, m := range ms {
				if m.Config.AutoDestroy {
					rel = m
				}
			}
		}
	}
	if rel == nil {
		t.Fatal("no release command machine launched")
	}
	c := rel.Config
	if !slices.Equal(c.Init.Cmd, []string{"alembic", "upgrade", "head"}) || c.Env["RELEASE_COMMAND"] != "1" || c.Env["LOG_LEVEL"] != "info" ||
		c.Restart == nil || c.Restart.Policy != flygo.MachineRestartPolicyNo || c.Image != newImage || c.Guest == nil || c.Guest.MemoryMB != 512 ||
		c.Metadata["fly_process_group"] != "fly_app_release_command" || len(c.Services) != 0 {
		t.Errorf("release machine config: %+v", c)
	}
	if rel.State != flygo.MachineStateDestroyed {
		t.Errorf("release machine left %s", rel.State)
	}
}

func TestReleaseFails(t *testing.T) {
	f, _, cfg := setup(t, 3)
	f.SetBehavior(newImage, flyfake.Behavior{ExitCode: 1, Logs: []string{
		"INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
		"sqlalchemy.exc.OperationalError: could not connect to postgres://app:hunter2hunter2@db.internal:5432/app",
		"FAILED: No 'script_location' key found in configuration.",
	}})
	rep := report.New("deploy", report.StaticPhases...)
	res, err := testDeployer(f).Deploy(context.Background(), testPlan(cfg), rep)
	var fl *Failure
	if !errors.As(err, &fl) || fl.Phase != report.Release || fl.Exit == nil || fl.Exit.Code != 1 {
		t.Fatalf("Deploy error = %v, want a release failure with exit code 1", err)
	}
	if n := f.CallCount("Update"); n != 0 {
		t.Errorf("%d machine updates after a failed release command", n)
	}
	allOn(t, f, oldImage)
	noLeases(t, f)
	if res.Release == nil || res.Release.ExitCode != 1 {
		t.Errorf("release result %+v", res.Release)
	}
	rep.Finish()
	fd := finding(rep, RuleReleaseFailed)
	if fd == nil || rep.Phase(report.Release).Status != report.Failed || rep.Phase(report.Deploy).Status != report.Skipped {
		t.Fatalf("report: release %s, deploy %s, findings %+v", rep.Phase(report.Release).Status, rep.Phase(report.Deploy).Status, rep.Findings())
	}
	if fd.Line != 8 || !strings.Contains(fd.Title, "code 1") || !strings.Contains(fd.Message, "script_location") {
		t.Errorf("finding at %s: %q / %q", fd.Location, fd.Title, fd.Message)
	}
	if strings.Contains(fd.Message, "hunter2hunter2") {
		t.Errorf("secret leaked into the finding: %q", fd.Message)
	}
}

func TestReleaseCommandNeedsShell(t *testing.T) {
	f, _, cfg := setup(t, 1)
	p := testPlan(cfg)
	p.ReleaseCommand = "alembic upgrade head && python seed.py"
	rep := report.New("deploy")
	_, err := testDeployer(f).Deploy(context.Background(), p, rep)
	if err == nil || f.CallCount("Launch") != 0 || f.CallCount("Update") != 0 {
		t.Fatalf("err %v, launches %d, updates %d", err, f.CallCount("Launch"), f.CallCount("Update"))
	}
	if finding(rep, RuleReleaseInvalid) == nil {
		t.Errorf("no %s finding: %+v", RuleReleaseInvalid, rep.Findings())
	}
	noLeases(t, f)
}

func TestLeaseHeldUntilDeadline(t *testing.T) {
	f, ids, cfg := setup(t, 3)
	f.HoldLease(ids[1], "someone@example.com", time.Hour)
	d := testDeployer(f)
	d.LeaseTimeout = 200 * time.Millisecond
	rep := report.New("deploy")
	start := time.Now()
	_, err := d.Deploy(context.Background(), testPlan(cfg), rep)
	took := time.Since(start)
	var he *lease.HeldError
	if !errors.As(err, &he) || he.MachineID != ids[1] || he.Owner != "someone@example.com" {
		t.Fatalf("Deploy error = %v, want a HeldError for %s", err, ids[1])
	}
	if took > 2*time.Second {
		t.Errorf("gave up after %s, want about the 200ms lease timeout", took)
	}
	if f.CallCount("Update") != 0 || f.CallCount("Launch") != 0 {
		t.Error("something was changed while a lease was held")
	}
	if held := f.HeldLeases(); !slices.Equal(held, []string{ids[1]}) {
		t.Errorf("held leases %v, want only the other owner's on %s", held, ids[1])
	}
	if fd := finding(rep, RuleLeaseHeld); fd == nil || !strings.Contains(fd.Message, "someone@example.com") {
		t.Errorf("lease finding: %+v", rep.Findings())
	}
}

func TestCrashOfMachineTwoRestoresTouched(t *testing.T) {
	f, ids, cfg := setup(t, 3)
	f.SetBehaviorFor(ids[1], newImage, flyfake.Behavior{Crash: true, CrashAfter: 5 * time.Millisecond, ExitCode: 3,
		Logs: []string{"pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings", "SECRET_KEY", "  Field required"}})
	rep := report.New("deploy")
	res, err := testDeployer(f).Deploy(context.Background(), testPlan(cfg), rep)
	var fl *Failure
	if !errors.As(err, &fl) || fl.MachineID != ids[1] || fl.Exit == nil || fl.Exit.Code != 3 {
		t.Fatalf("Deploy error = %v, want machine %s exit 3", err, ids[1])
	}
	allOn(t, f, oldImage)
	noLeases(t, f)
	if !res.RolledBack {
		t.Error("not rolled back")
	}
	for _, c := range f.Calls() {
		if c.Op == "Update" && c.MachineID == ids[2] {
			t.Errorf("machine 3 (%s) was touched", ids[2])
		}
	}
	byID := map[string]MachineResult{}
	for _, m := range res.Machines {
		byID[m.ID] = m
	}
	if !byID[ids[0]].Restored || !byID[ids[1]].Restored || byID[ids[2]].Updated {
		t.Errorf("machine results %+v", res.Machines)
	}
	rep.Finish()
	fd := finding(rep, RuleMachineCrashed)
	if fd == nil || !strings.Contains(fd.Title, ids[1]) || !strings.Contains(fd.Message, "code 3") || !strings.Contains(fd.Message, "SECRET_KEY") {
		t.Errorf("crash finding: %q %q", fd.Title, fd.Message)
	}
	if finding(rep, RuleRolledBack) == nil || rep.Conclusion != report.Failure {
		t.Errorf("report: %s %+v", rep.Conclusion, rep.Findings())
	}
}

func TestChecksNeverPassRollsBackAfterWaitTimeout(t *testing.T) {
	f, _, cfg := setup(t, 2)
	f.SetBehavior(newImage, flyfake.Behavior{ChecksFail: true, CheckOutput: "HTTP GET http://172.19.0.2:8080/health: 301 Moved Permanently"})
	p := testPlan(cfg)
	p.WaitTimeout = 150 * time.Millisecond
	rep := report.New("deploy")
	res, err := testDeployer(f).Deploy(context.Background(), p, rep)
	var fl *Failure
	if !errors.As(err, &fl) || fl.Step != StepChecks || fl.Check == nil {
		t.Fatalf("Deploy error = %v, want a checks failure", err)
	}
	if waited := res.FailedAt.Sub(res.Started); waited < p.WaitTimeout {
		t.Errorf("failed after %s, before wait_timeout %s", waited, p.WaitTimeout)
	}
	allOn(t, f, oldImage)
	noLeases(t, f)
	rep.Finish()
	fd := finding(rep, RuleChecksFailing)
	if fd == nil || fd.Line != 23 || !strings.Contains(fd.Message, "301 Moved") {
		t.Errorf("checks finding: %+v", fd)
	}
}

func TestOOMPointsAtVMMemory(t *testing.T) {
	f, _, cfg := setup(t, 2)
	f.SetBehavior(newImage, flyfake.Behavior{Crash: true, CrashAfter: 10 * time.Millisecond, ExitCode: 137, OOM: true})
	// The release command runs out of memory first: no machine touched.
	rep := report.New("deploy")
	if _, err := testDeployer(f).Deploy(context.Background(), testPlan(cfg), rep); err == nil || f.CallCount("Update") != 0 {
		t.Fatalf("release OOM: err %v, updates %d", err, f.CallCount("Update"))
	}
	if fd := finding(rep, RuleReleaseFailed); fd == nil || fd.Line != 31 || !strings.Contains(fd.Title, "out of memory") {
		t.Errorf("release OOM finding: %+v", rep.Findings())
	}
	// Then the app itself.
	p := testPlan(cfg)
	p.SkipReleaseCommand = true
	rep = report.New("deploy")
	_, err := testDeployer(f).Deploy(context.Background(), p, rep)
	var fl *Failure
	if !errors.As(err, &fl) || fl.Exit == nil || !fl.Exit.OOMKilled {
		t.Fatalf("Deploy error = %v, want an OOM failure", err)
	}
	allOn(t, f, oldImage)
	fd := finding(rep, RuleMachineOOM)
	if fd == nil {
		t.Fatalf("no OOM finding: %v / %+v", err, rep.Findings())
	}
	if fd.File != "fly.toml" || fd.Line != 31 || !strings.Contains(fd.Title, "OOM") || !strings.Contains(fd.Message, "512 MB") {
		t.Errorf("OOM finding: %q %q", fd.Title, fd.Message)
	}
}

func TestCancelMidDeployRestoresAndReleases(t *testing.T) {
	f, ids, cfg := setup(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var updates atomic.Int32
	f.OnCall = func(op, id string) {
		if op == "Update" && updates.Add(1) == 2 {
			cancel() // SIGTERM while the second machine is being updated
		}
	}
	rep := report.New("deploy")
	res, err := testDeployer(f).Deploy(ctx, testPlan(cfg), rep)
	if !errors.Is(err, context.Canceled) || !res.Interrupted {
		t.Fatalf("Deploy error = %v (interrupted %v), want context.Canceled", err, res.Interrupted)
	}
	f.OnCall = nil
	allOn(t, f, oldImage)
	noLeases(t, f)
	if m := f.Machine(ids[2]); m.Config.Metadata[MetaDeployID] != "" {
		t.Errorf("machine 3 was updated after the cancel")
	}
	if finding(rep, RuleInterrupted) == nil {
		t.Errorf("no interrupted finding: %+v", rep.Findings())
	}
}

func TestAPI5xxRetried(t *testing.T) {
	f, _, cfg := setup(t, 3)
	f.Fail("List", 2, 502)
	f.Fail("Update", 2, 503)
	f.Fail("Get", 3, 500)
	f.Fail("Wait", 2, 504)
	f.Fail("Launch", 1, 503)
	_, err := testDeployer(f).Deploy(context.Background(), testPlan(cfg), report.New("deploy"))
	if err != nil {
		t.Fatalf("Deploy with 5xx bursts: %v", err)
	}
	allOn(t, f, newImage)
	noLeases(t, f)
	if n := f.CallCount("Launch"); n != 2 {
		t.Errorf("%d launches of the release machine, want 2 (one 503, one retry)", n)
	}
}

func TestPanicInProgressRestoresAndReleases(t *testing.T) {
	f, _, cfg := setup(t, 3)
	d := testDeployer(f)
	var n atomic.Int32
	d.Progress = func(e Event) {
		if e.Step == StepChecks && n.Add(1) == 2 {
			panic("progress printer bug")
		}
	}
	_, err := d.Deploy(context.Background(), testPlan(cfg), report.New("deploy"))
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("Deploy error = %v, want the panic as a failure", err)
	}
	allOn(t, f, oldImage)
	noLeases(t, f)

	// A panic on the deploy's own goroutine goes up after the restore.
	f2, _, _ := setup(t, 2)
	d2 := testDeployer(f2)
	d2.Progress = func(e Event) {
		if strings.HasPrefix(e.Message, "batch 2") {
			panic("boom")
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		_, _ = d2.Deploy(context.Background(), testPlan(cfg), report.New("deploy"))
	}()
	allOn(t, f2, oldImage)
	noLeases(t, f2)
}

func TestStoppedMachinesUpdatedWithoutStart(t *testing.T) {
	f, ids, cfg := setup(t, 3)
	if err := f.Stop(context.Background(), app, flygo.StopMachineInput{ID: ids[2]}, ""); err != nil {
		t.Fatal(err)
	}
	res, err := testDeployer(f).Deploy(context.Background(), testPlan(cfg), report.New("deploy"))
	if err != nil {
		t.Fatal(err)
	}
	allOn(t, f, newImage)
	if m := f.Machine(ids[2]); m.State != flygo.MachineStateStopped {
		t.Errorf("stopped machine is %s after the deploy", m.State)
	}
	for _, m := range res.Machines {
		if m.ID == ids[2] && (m.Verified || !m.Updated) {
			t.Errorf("stopped machine result %+v", m)
		}
	}
}

func TestRollback(t *testing.T) {
	f, _, cfg := setup(t, 3)
	d := testDeployer(f)
	if _, err := d.Deploy(context.Background(), testPlan(cfg), report.New("deploy")); err != nil {
		t.Fatal(err)
	}
	f.SetBehavior(oldImage, flyfake.Behavior{StartDelay: time.Millisecond})
	rep := report.New("rollback")
	res, err := d.Rollback(context.Background(), Plan{App: app, Config: cfg, WaitTimeout: 2 * time.Second}, rep)
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	allOn(t, f, oldImage)
	noLeases(t, f)
	if res.Image != oldImage || f.CallCount("Launch") != 1 {
		t.Errorf("rolled back to %q; launches %d (the release command must not run again)", res.Image, f.CallCount("Launch"))
	}
	for _, m := range res.Machines {
		if mm := f.Machine(m.ID); mm.Config.Metadata[MetaPreviousImage] != newImage {
			t.Errorf("machine %s previous image %q after rollback", m.ID, mm.Config.Metadata[MetaPreviousImage])
		}
	}
	// Rolling back again goes forward to v2: the metadata toggles.
	if _, err := d.Rollback(context.Background(), Plan{App: app, WaitTimeout: 2 * time.Second}, report.New("rollback")); err != nil {
		t.Fatal(err)
	}
	allOn(t, f, newImage)
}

func TestRollbackWithoutPreviousImage(t *testing.T) {
	f, _, _ := setup(t, 2)
	rep := report.New("rollback")
	_, err := testDeployer(f).Rollback(context.Background(), Plan{App: app}, rep)
	if err == nil || !strings.Contains(err.Error(), MetaPreviousImage) || f.CallCount("Update") != 0 {
		t.Fatalf("Rollback error = %v", err)
	}
	// With an explicit image it works.
	if _, err := testDeployer(f).Rollback(context.Background(), Plan{App: app, Image: newImage, WaitTimeout: time.Second}, report.New("rollback")); err != nil {
		t.Fatal(err)
	}
	allOn(t, f, newImage)
}

func TestFirstDeploy(t *testing.T) {
	f, _, cfg := setup(t, 0)
	p := testPlan(cfg)
	if _, err := testDeployer(f).Deploy(context.Background(), p, report.New("deploy")); err == nil {
		t.Fatal("deploy to an app without machines succeeded")
	}
	p.InitialMachines = 2
	res, err := testDeployer(f).Deploy(context.Background(), p, report.New("deploy"))
	if err != nil {
		t.Fatal(err)
	}
	if imgs := f.Images(); len(imgs) != 2 || len(res.Machines) != 2 {
		t.Fatalf("after a first deploy: %v", imgs)
	}
	allOn(t, f, newImage)

	// A failing first deploy destroys what it launched.
	f2, _, _ := setup(t, 0)
	f2.SetBehavior(newImage, flyfake.Behavior{Crash: true, ExitCode: 1})
	p.Image = newImage
	if _, err := testDeployer(f2).Deploy(context.Background(), Plan{App: app, Image: newImage, Config: cfg, InitialMachines: 2, SkipReleaseCommand: true, WaitTimeout: time.Second}, report.New("deploy")); err == nil {
		t.Fatal("crashing first deploy succeeded")
	}
	if imgs := f2.Images(); len(imgs) != 0 {
		t.Errorf("machines left after a failed first deploy: %v", imgs)
	}
}

func TestPlanErrors(t *testing.T) {
	f, _, cfg := setup(t, 1)
	for _, p := range []Plan{{Image: newImage}, {App: app}, {App: app, Image: newImage, Strategy: "bluegreen"}} {
		rep := report.New("deploy")
		if _, err := testDeployer(f).Deploy(context.Background(), p, rep); err == nil || finding(rep, RulePlan) == nil {
			t.Errorf("plan %+v: err %v, findings %+v", p, err, rep.Findings())
		}
	}
	// fly.toml's canary runs as rolling, with a notice.
	cfg.Deploy.Strategy = flytoml.Value[string]{V: "canary", Set: true}
	rep := report.New("deploy")
	if _, err := testDeployer(f).Deploy(context.Background(), testPlan(cfg), rep); err != nil || finding(rep, RuleStrategy) == nil {
		t.Errorf("canary: %v %+v", err, rep.Findings())
	}
}

func TestBatches(t *testing.T) {
	tests := []struct {
		n    int
		st   Strategy
		mu   float64
		want [][]int
	}{
		{0, Rolling, 1, nil},
		{1, Rolling, 0.33, [][]int{{0}}},
		{5, Rolling, 2, [][]int{{0}, {1, 2}, {3, 4}}},
		{4, Rolling, 0.5, [][]int{{0}, {1, 2}, {3}}},
		{3, Immediate, 1, [][]int{{0, 1, 2}}},
	}
	for _, tt := range tests {
		got := batches(tt.n, tt.st, tt.mu)
		if len(got) != len(tt.want) {
			t.Errorf("batches(%d, %s, %g) = %v, want %v", tt.n, tt.st, tt.mu, got, tt.want)
			continue
		}
		for i := range got {
			if !slices.Equal(got[i], tt.want[i]) {
				t.Errorf("batches(%d, %s, %g) = %v, want %v", tt.n, tt.st, tt.mu, got, tt.want)
			}
		}
	}
}

func TestUndeclaredProcessGroupStopsBeforeAnyChange(t *testing.T) {
	f, _, cfg := setup(t, 1)
	f.AddMachine("mad", &flygo.MachineConfig{Image: oldImage, Metadata: map[string]string{"fly_process_group": "worker"}})
	rep := report.New("deploy")
	_, err := testDeployer(f).Deploy(context.Background(), testPlan(cfg), rep)
	if err == nil || !strings.Contains(err.Error(), `"worker"`) {
		t.Fatalf("err = %v", err)
	}
	if f.CallCount("AcquireLease") != 0 || f.CallCount("Launch") != 0 || finding(rep, RulePlan) == nil {
		t.Errorf("calls %v, findings %+v", f.Calls(), rep.Findings())
	}
}
