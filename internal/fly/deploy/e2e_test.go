package deploy

// End-to-end tests against flysim: the Machines API answered by the local
// emulator, each machine a real process (simapp, this test binary
// re-executed), its health checks real HTTP probes, and fly-go's own flaps
// client on the wire.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/lease"
	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
	"github.com/grupo-gad/deploy-action/internal/fly/machinewait"
	"github.com/grupo-gad/deploy-action/internal/flysim"
	"github.com/grupo-gad/deploy-action/internal/flysim/flysimtest"
	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/report"
)

func TestMain(m *testing.M) {
	simapp.MainIfReexec()
	os.Exit(m.Run())
}

const simToken = "fo1_deploy-engine-e2e"

// sim is an emulated app with machines on oldImage.
type sim struct {
	*flysimtest.Sim
	api fly.API
	ids []string
	cfg *flytoml.Config

	mu     sync.Mutex
	images map[string]flysim.Image
}

// newSim starts flysim with oldImage healthy and newImage showing faults,
// and launches n machines on oldImage, all started.
func newSim(t testing.TB, n int, faults simapp.Faults) *sim {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with real processes")
	}
	s := &sim{cfg: loadConfig(t), images: map[string]flysim.Image{
		oldImage: flysim.ReexecImage(simapp.Faults{}),
		newImage: flysim.ReexecImage(faults),
	}}
	s.Sim = flysimtest.New(t, flysim.Options{
		Region: "mad",
		Token:  simToken,
		ResolveImage: func(ref string) (flysim.Image, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if img, ok := s.images[ref]; ok {
				return img, nil
			}
			return flysim.Image{}, fmt.Errorf("unknown image %s", ref)
		},
	})
	if err := s.CreateApp(app); err != nil {
		t.Fatal(err)
	}
	client, err := fly.NewClient(context.Background(), fly.ClientOptions{Token: simToken, MachinesURL: s.URL, APIURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	s.api = fly.WithRetry(client, fly.RetryPolicy{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var launched []*flygo.Machine
	for i := range n {
		mc, err := machineconf.ForMachine(s.cfg, &flygo.MachineConfig{Metadata: map[string]string{"fly_process_group": "app"}}, oldImage)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.api.Launch(ctx, app, flygo.LaunchMachineInput{Config: mc, Region: "mad", Name: fmt.Sprintf("app-%d", i)})
		if err != nil {
			t.Fatalf("launch machine %d: %v", i, err)
		}
		launched = append(launched, m)
		s.ids = append(s.ids, m.ID)
	}
	for _, m := range launched {
		if _, err := machinewait.State(ctx, s.api, app, m, flygo.MachineStateStarted, machinewait.Options{Timeout: 30 * time.Second}); err != nil {
			t.Fatalf("machine %s did not start: %v", m.ID, err)
		}
	}
	return s
}

// setImage maps an image reference to a local command from now on.
func (s *sim) setImage(ref string, img flysim.Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images[ref] = img
}

func (s *sim) deployer() *Deployer {
	return &Deployer{
		API:            s.api,
		SmokeWindow:    300 * time.Millisecond,
		PollInterval:   50 * time.Millisecond,
		WaitSlice:      5 * time.Second,
		LeaseTimeout:   2 * time.Second,
		LogWait:        time.Second,
		InterruptGrace: 8 * time.Second,
	}
}

func (s *sim) plan() Plan {
	return Plan{App: app, Image: newImage, Config: s.cfg, WaitTimeout: 20 * time.Second}
}

// consistent checks that every app machine runs image and no lease is left.
func (s *sim) consistent(t *testing.T, image string) {
	t.Helper()
	for _, m := range s.Machines(app) {
		if !slices.Contains(s.ids, m.ID) {
			continue
		}
		if m.Image != image || m.State != flygo.MachineStateStarted {
			t.Errorf("machine %s: %s on %s, want started on %s", m.ID, m.State, m.Image, image)
		}
	}
	if ls := s.Leases(app); len(ls) > 0 {
		t.Errorf("leases left: %+v", ls)
	}
}

// dump logs the emulator's log of the machine err names, to explain an
// unexpected failure.
func (s *sim) dump(t testing.TB, err error) {
	t.Helper()
	var fl *Failure
	if !errors.As(err, &fl) || fl.MachineID == "" {
		return
	}
	for _, l := range s.Logs(app, fl.MachineID) {
		t.Logf("  %s %s/%s: %s", l.Time.Format("15:04:05.000"), l.Machine, l.Provider, l.Message)
	}
}

// appUpdates counts the update requests sent to the app machines.
func (s *sim) appUpdates() int {
	n := 0
	for _, r := range s.Requests() {
		for _, id := range s.ids {
			if r.Method == "POST" && r.Path == "/v1/apps/"+app+"/machines/"+id {
				n++
			}
		}
	}
	return n
}

func TestE2EHappyPath(t *testing.T) {
	for _, n := range []int{1, 3, 10} {
		t.Run(fmt.Sprintf("%d machines", n), func(t *testing.T) {
			s := newSim(t, n, simapp.Faults{})
			rep := report.New("deploy", report.StaticPhases...)
			p := s.plan()
			p.MaxUnavailable = 0.33
			res, err := s.deployer().Deploy(context.Background(), p, rep)
			if err != nil {
				s.dump(t, err)
				t.Fatalf("Deploy: %v", err)
			}
			s.consistent(t, newImage)
			for _, m := range s.Machines(app) {
				if slices.Contains(s.ids, m.ID) && m.Metadata[MetaPreviousImage] != oldImage {
					t.Errorf("machine %s metadata %v", m.ID, m.Metadata)
				}
				if slices.Contains(s.ids, m.ID) {
					for name, st := range m.Checks {
						if st != string(flygo.Passing) {
							t.Errorf("machine %s check %s is %s", m.ID, name, st)
						}
					}
				}
			}
			if res.Release == nil || res.Release.ExitCode != 0 || len(res.Updated()) != n {
				t.Errorf("result %+v", res)
			}
			rep.Finish()
			if rep.Conclusion != report.Success {
				t.Errorf("report %s: %+v", rep.Conclusion, rep.Findings())
			}
		})
	}
}

func TestE2EReleaseFails(t *testing.T) {
	s := newSim(t, 3, simapp.Faults{ReleaseExitCode: 1, ReleaseFailure: simapp.FailNoDatabaseURL})
	rep := report.New("deploy", report.StaticPhases...)
	_, err := s.deployer().Deploy(context.Background(), s.plan(), rep)
	var fl *Failure
	if !errors.As(err, &fl) || fl.Phase != report.Release || fl.Exit == nil || fl.Exit.Code != 1 {
		t.Fatalf("Deploy error = %v, want the release command's exit code 1", err)
	}
	if n := s.appUpdates(); n != 0 {
		t.Errorf("%d updates sent to app machines", n)
	}
	s.consistent(t, oldImage)
	rep.Finish()
	fd := finding(rep, RuleReleaseFailed)
	if fd == nil || fd.Line != 8 || !strings.Contains(fd.Message, "DATABASE_URL") || rep.Phase(report.Deploy).Status != report.Skipped {
		t.Errorf("release finding %+v / deploy %s", fd, rep.Phase(report.Deploy).Status)
	}
}

func TestE2ESecondMachineCrashes(t *testing.T) {
	s := newSim(t, 3, simapp.Faults{})
	// The new image crashes on machine 2 only (a shell wrapper reads the
	// machine's FLY_MACHINE_ID).
	img := flysim.ReexecImage(simapp.Faults{})
	script := `if [ "$FLY_MACHINE_ID" = "$CRASH_MACHINE" ]; then echo "RuntimeError: cannot connect to redis" >&2; exit 3; fi; exec "$@"`
	img.Entrypoint = append([]string{"/bin/sh", "-c", script, "sh"}, img.Entrypoint...)
	img.Env["CRASH_MACHINE"] = s.ids[1]
	s.setImage(newImage, img)

	rep := report.New("deploy")
	p := s.plan()
	p.MaxUnavailable = 1
	res, err := s.deployer().Deploy(context.Background(), p, rep)
	var fl *Failure
	if !errors.As(err, &fl) || fl.MachineID != s.ids[1] || fl.Exit == nil || fl.Exit.Code != 3 {
		t.Fatalf("Deploy error = %v, want machine %s exiting 3", err, s.ids[1])
	}
	s.consistent(t, oldImage)
	if !res.RolledBack {
		t.Error("not rolled back")
	}
	rep.Finish()
	fd := finding(rep, RuleMachineCrashed)
	if fd == nil || !strings.Contains(fd.Title, s.ids[1]) || !strings.Contains(fd.Message, "redis") {
		t.Errorf("crash finding %+v", fd)
	}
}

func TestE2EChecksNeverPass(t *testing.T) {
	s := newSim(t, 2, simapp.Faults{HealthStatus: 500})
	rep := report.New("deploy")
	p := s.plan()
	p.WaitTimeout = 3 * time.Second
	res, err := s.deployer().Deploy(context.Background(), p, rep)
	var fl *Failure
	if !errors.As(err, &fl) || fl.Step != StepChecks || fl.Check == nil {
		t.Fatalf("Deploy error = %v, want failing checks", err)
	}
	if res.FailedAt.Sub(res.Started) < p.WaitTimeout {
		t.Errorf("gave up before wait_timeout")
	}
	s.consistent(t, oldImage)
	if fd := finding(rep, RuleChecksFailing); fd == nil || fd.Line != 23 || !strings.Contains(fd.Message, "500") {
		t.Errorf("checks finding %+v", fd)
	}
}

func TestE2EBoundToLoopback(t *testing.T) {
	s := newSim(t, 1, simapp.Faults{Bind: "127.0.0.1"})
	rep := report.New("deploy")
	p := s.plan()
	p.WaitTimeout = 3 * time.Second
	if _, err := s.deployer().Deploy(context.Background(), p, rep); err == nil {
		t.Fatal("deploy of an app bound to 127.0.0.1 succeeded")
	}
	s.consistent(t, oldImage)
	if fd := finding(rep, RuleChecksFailing); fd == nil || !strings.Contains(fd.Fix, "0.0.0.0") {
		t.Errorf("checks finding %+v", fd)
	}
}

func TestE2EOOM(t *testing.T) {
	s := newSim(t, 2, simapp.Faults{OOM: true, OOMAfter: 200 * time.Millisecond})
	rep := report.New("deploy")
	_, err := s.deployer().Deploy(context.Background(), s.plan(), rep)
	var fl *Failure
	if !errors.As(err, &fl) || fl.Exit == nil || !fl.Exit.OOMKilled {
		s.dump(t, err)
		t.Fatalf("Deploy error = %v, want an OOM kill", err)
	}
	s.consistent(t, oldImage)
	fd := finding(rep, RuleMachineOOM)
	if fd == nil || fd.File != "fly.toml" || fd.Line != 31 || !strings.Contains(fd.Message, "OOM") {
		t.Errorf("OOM finding %+v", fd)
	}
}

func TestE2ELeaseHeld(t *testing.T) {
	s := newSim(t, 3, simapp.Faults{})
	if err := s.InjectLeaseHeld(app, s.ids[1], "other-deploy@example.com", time.Hour); err != nil {
		t.Fatal(err)
	}
	d := s.deployer()
	d.LeaseTimeout = 1500 * time.Millisecond
	rep := report.New("deploy")
	start := time.Now()
	_, err := d.Deploy(context.Background(), s.plan(), rep)
	var he *lease.HeldError
	if !errors.As(err, &he) || he.MachineID != s.ids[1] {
		t.Fatalf("Deploy error = %v, want the lease of %s held", err, s.ids[1])
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s to give up, want about the lease timeout", took)
	}
	if n := s.appUpdates(); n != 0 {
		t.Errorf("%d updates sent", n)
	}
	ls := s.Leases(app)
	if len(ls) != 1 || ls[0].Owner != "other-deploy@example.com" {
		t.Errorf("leases after: %+v", ls)
	}
	if fd := finding(rep, RuleLeaseHeld); fd == nil || !strings.Contains(fd.Message, "other-deploy@example.com") {
		t.Errorf("lease finding %+v", rep.Findings())
	}
}

func TestE2E5xxBursts(t *testing.T) {
	s := newSim(t, 3, simapp.Faults{})
	s.Inject5xx("/v1/apps/"+app+"/machines", 12)
	_, err := s.deployer().Deploy(context.Background(), s.plan(), report.New("deploy"))
	if err != nil {
		s.dump(t, err)
		t.Fatalf("Deploy through 5xx bursts: %v", err)
	}
	s.consistent(t, newImage)
}

func TestE2ESIGTERMMidDeploy(t *testing.T) {
	s := newSim(t, 3, simapp.Faults{})
	// What the CLI does: cancel the deploy's context on SIGINT/SIGTERM.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	d := s.deployer()
	var once sync.Once
	d.Progress = func(e Event) {
		if e.Step == StepDone && e.MachineID != "" {
			once.Do(func() { _ = syscall.Kill(os.Getpid(), syscall.SIGTERM) })
		}
	}
	p := s.plan()
	p.MaxUnavailable = 1
	res, err := d.Deploy(ctx, p, report.New("deploy"))
	if !errors.Is(err, context.Canceled) || !res.Interrupted {
		t.Fatalf("Deploy error = %v, want an interruption", err)
	}
	s.consistent(t, oldImage)
}

func TestE2EFirstDeployThenRollback(t *testing.T) {
	s := newSim(t, 0, simapp.Faults{})
	p := s.plan()
	p.Image = oldImage
	p.InitialMachines = 3
	res, err := s.deployer().Deploy(context.Background(), p, report.New("deploy"))
	if err != nil {
		s.dump(t, err)
		t.Fatalf("first deploy: %v", err)
	}
	for _, m := range res.Machines {
		s.ids = append(s.ids, m.ID)
	}
	if len(s.ids) != 3 {
		t.Fatalf("%d machines after a first deploy of 3", len(s.ids))
	}
	s.consistent(t, oldImage)
	if _, err := s.deployer().Deploy(context.Background(), s.plan(), report.New("deploy")); err != nil {
		t.Fatal(err)
	}
	s.consistent(t, newImage)
	if _, err := s.deployer().Rollback(context.Background(), Plan{App: app, Config: s.cfg, WaitTimeout: 20 * time.Second}, report.New("rollback")); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	s.consistent(t, oldImage)
}
