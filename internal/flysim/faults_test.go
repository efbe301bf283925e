package flysim_test

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	fly "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/flysim"
	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
)

func TestExitEvents(t *testing.T) {
	tests := []struct {
		name      string
		faults    simapp.Faults
		policy    fly.MachineRestartPolicy
		stop      bool // ask for the stop
		code      int
		oom       bool
		requested bool
		log       string // a line the machine's log must hold
	}{
		{name: "crash on start", faults: simapp.Faults{CrashExitCode: 3}, policy: fly.MachineRestartPolicyNo,
			code: 3, log: "Main child exited normally with code: 3"},
		{name: "crash after serving", faults: simapp.Faults{CrashExitCode: 4, CrashAfter: 300 * time.Millisecond}, policy: fly.MachineRestartPolicyNo,
			code: 4, log: "machine restart policy set to 'no', not restarting"},
		{name: "oom", faults: simapp.Faults{OOM: true, OOMAfter: 200 * time.Millisecond}, policy: fly.MachineRestartPolicyNo,
			code: 137, oom: true, log: "Out of memory: Killed process"},
		{name: "requested stop", stop: true, policy: fly.MachineRestartPolicyNo,
			code: 0, requested: true, log: "Sending signal SIGINT to main child process"},
		{name: "stop ignored until kill_timeout", faults: simapp.Faults{IgnoreStop: true}, stop: true, policy: fly.MachineRestartPolicyNo,
			code: 137, requested: true, log: "Sending signal SIGKILL to main child process"},
	}
	images := map[string]simapp.Faults{}
	for _, tt := range tests {
		images["registry.fly.io/grupo-gad:"+strings.ReplaceAll(tt.name, " ", "-")] = tt.faults
	}
	sim := newSim(t, images)
	c := api{t, sim.URL}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := appConfig("registry.fly.io/grupo-gad:" + strings.ReplaceAll(tt.name, " ", "-"))
			cfg.Restart = &fly.MachineRestart{Policy: tt.policy}
			if tt.faults.IgnoreStop {
				cfg.StopConfig.Timeout = &fly.Duration{Duration: 5 * time.Second}
			}
			m := c.launch(cfg)
			if tt.stop {
				c.wait(m.ID, "started")
				c.waitFor(m.ID, "checks passing", allPassing)
				c.must(200, "POST", "/v1/apps/"+testApp+"/machines/"+m.ID+"/stop", nil)
			}
			c.wait(m.ID, "stopped")
			got := c.get(m.ID)
			e := latestExit(t, got)
			if e.ExitCode != tt.code || e.OOMKilled != tt.oom || e.RequestedStop != tt.requested || e.Restarting {
				t.Errorf("exit event %+v, want code %d oom %v requested %v", e, tt.code, tt.oom, tt.requested)
			}
			if ev := got.GetLatestEventOfType("exit"); ev.Source != "flyd" || ev.Status != "stopped" {
				t.Errorf("exit event source %q status %q", ev.Source, ev.Status)
			}
			if !logHas(sim, got.ID, tt.log) {
				t.Errorf("log of %s lacks %q:\n%s", got.ID, tt.log, logText(sim, got.ID))
			}
			for _, ch := range got.Checks {
				if ch.Status == fly.Passing {
					t.Errorf("check %s passing on a stopped machine", ch.Name)
				}
			}
		})
	}
	if logHas(sim, "", simapp.OOMMarker) {
		t.Error("the OOM marker reached the log")
	}
}

func TestCrashLoopRestartsOnFailure(t *testing.T) {
	const img = "registry.fly.io/grupo-gad:crashing"
	sim := newSim(t, map[string]simapp.Faults{img: {CrashExitCode: 1}})
	c := api{t, sim.URL}
	cfg := appConfig(img)
	cfg.Restart = &fly.MachineRestart{Policy: fly.MachineRestartPolicyOnFailure, MaxRetries: 2}
	m := c.launch(cfg)
	got := c.waitFor(m.ID, "retries exhausted", func(m fly.Machine) bool {
		n := 0
		for _, e := range m.Events {
			if e.Type == "exit" {
				n++
			}
		}
		return n == 3 && m.State == fly.MachineStateStopped
	})
	var restarting []int
	for _, e := range got.Events {
		if e.Type == "exit" {
			if e.Request.ExitEvent.Restarting {
				restarting = append(restarting, e.Request.RestartCount)
			}
		}
	}
	// Newest first: the second crash (restart 2), the first (restart 1).
	if len(restarting) != 2 || restarting[0] != 2 || restarting[1] != 1 {
		t.Errorf("restart counts of restarting exits %v, want [2 1]", restarting)
	}
	if !logHas(sim, m.ID, "machine has reached its max restart count of 2") {
		t.Errorf("log:\n%s", logText(sim, m.ID))
	}
}

func TestReleaseCommandMachine(t *testing.T) {
	const failing = "registry.fly.io/grupo-gad:deployment-bad-migration"
	sim := newSim(t, map[string]simapp.Faults{failing: {ReleaseExitCode: 1, ReleaseFailure: simapp.FailDuplicateColumn}})
	c := api{t, sim.URL}
	tests := []struct {
		image string
		code  int
		log   string
	}{
		{goodImage, 0, "Running upgrade 3f2a9c1d7b4e -> 8c5d2e6f1a90"},
		{failing, 1, `column "email" of relation "users" already exists`},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			cfg := appConfig(tt.image)
			cfg.Init.Cmd = []string{"alembic", "upgrade", "head"}
			cfg.Restart = &fly.MachineRestart{Policy: fly.MachineRestartPolicyNo}
			cfg.AutoDestroy = true
			cfg.Services = nil
			cfg.Env["RELEASE_COMMAND"] = "1"
			cfg.Metadata[fly.MachineConfigMetadataKeyFlyProcessGroup] = fly.MachineProcessGroupFlyAppReleaseCommand
			m := c.launch(cfg)
			// flyctl: wait started (404 means it already exited and was
			// destroyed), then wait destroyed.
			if r := c.do("GET", "/v1/apps/"+testApp+"/machines/"+m.ID+"/wait?state=started&timeout=10", nil); r.status != 200 && r.status != 404 {
				t.Fatalf("wait started: %d %s", r.status, r.body)
			}
			c.wait(m.ID, "destroyed")
			got := c.get(m.ID)
			if got.State != fly.MachineStateDestroyed || !got.IsReleaseCommandMachine() {
				t.Errorf("release machine state %s", got.State)
			}
			ev := got.GetLatestEventOfTypeAfterType("exit", "start")
			if ev == nil {
				t.Fatalf("no exit after start in %+v", got.Events)
			}
			if code, err := ev.Request.GetExitCode(); err != nil || code != tt.code {
				t.Errorf("release exit code %d (%v), want %d", code, err, tt.code)
			}
			if !logHas(sim, m.ID, tt.log) {
				t.Errorf("release log lacks %q:\n%s", tt.log, logText(sim, m.ID))
			}
			if !logHas(sim, m.ID, "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.") {
				t.Errorf("release log lacks alembic's first line")
			}
		})
	}
}

func TestDestroyKillsTheProcess(t *testing.T) {
	const stubborn = "registry.fly.io/grupo-gad:stubborn"
	sim := newSim(t, map[string]simapp.Faults{stubborn: {IgnoreStop: true}})
	c := api{t, sim.URL}
	m := c.launch(appConfig(stubborn))
	c.wait(m.ID, "started")
	pid := sim.Machines(testApp)[0].PID
	if pid == 0 || !alive(pid) {
		t.Fatalf("machine process %d not running", pid)
	}
	c.must(200, "DELETE", "/v1/apps/"+testApp+"/machines/"+m.ID+"?kill=true", nil)
	c.wait(m.ID, "destroyed")
	if alive(pid) {
		t.Errorf("process %d survived destroy", pid)
	}
	if info := sim.Machines(testApp)[0]; info.State != "destroyed" || info.PID != 0 || len(info.Ports) != 0 {
		t.Errorf("after destroy: %+v", info)
	}
}

func TestCloseKillsEveryProcess(t *testing.T) {
	const stubborn = "registry.fly.io/grupo-gad:stubborn"
	sim := newSim(t, map[string]simapp.Faults{stubborn: {IgnoreStop: true}})
	c := api{t, sim.URL}
	for range 3 {
		m := c.launch(appConfig(stubborn))
		c.wait(m.ID, "started")
	}
	var pids []int
	for _, info := range sim.Machines(testApp) {
		pids = append(pids, info.PID)
	}
	done := make(chan struct{})
	go func() { _ = sim.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d survived Close", pid)
		}
	}
	if _, err := sim.Start(); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func TestBindLocalhostFailsChecks(t *testing.T) {
	const local = "registry.fly.io/grupo-gad:localhost"
	sim := newSim(t, map[string]simapp.Faults{local: {Bind: "127.0.0.1"}})
	c := api{t, sim.URL}
	m := c.launch(appConfig(local))
	c.wait(m.ID, "started")
	if info := sim.Machines(testApp)[0]; info.Addr == "127.0.0.1" {
		t.Skip("this system cannot bind loopback aliases; an app bound to 127.0.0.1 is reachable")
	}
	var listening time.Time
	c.waitFor(m.ID, "the app listening", func(fly.Machine) bool {
		for _, l := range sim.Logs(testApp, m.ID) {
			if strings.Contains(l.Message, "Uvicorn running on http://127.0.0.1:8080") {
				listening = l.Time
				return true
			}
		}
		return false
	})
	got := c.waitFor(m.ID, "a failed probe of the listening app", func(m fly.Machine) bool {
		return len(m.Checks) > 0 && m.Checks[0].UpdatedAt.After(listening) && strings.Contains(m.Checks[0].Output, "connection refused")
	})
	if got.Checks[0].Status != fly.Critical || !strings.Contains(got.Checks[0].Output, ":8080") {
		t.Errorf("check %+v, want critical, connection refused on :8080", got.Checks[0])
	}
	var ps fly.MachinePsResponse
	c.must(200, "GET", "/v1/apps/"+testApp+"/machines/"+m.ID+"/ps", nil).decode(t, &ps)
	found := false
	for _, p := range ps {
		for _, s := range p.ListenSockets {
			found = found || s.Address == "127.0.0.1:8080"
		}
	}
	if !found {
		t.Errorf("ps %+v, want a socket on 127.0.0.1:8080", ps)
	}
}

func TestHealthFailuresShowInChecks(t *testing.T) {
	const flaky, broken, slow = "registry.fly.io/grupo-gad:flaky", "registry.fly.io/grupo-gad:broken", "registry.fly.io/grupo-gad:slow"
	sim := newSim(t, map[string]simapp.Faults{
		flaky:  {Health5xx: 2},
		broken: {HealthStatus: 500},
		slow:   {ListenDelay: 400 * time.Millisecond},
	})
	c := api{t, sim.URL}
	mf := c.launch(appConfig(flaky))
	mb := c.launch(appConfig(broken))
	ms := c.launch(appConfig(slow))
	c.waitFor(mf.ID, "critical, then passing", func(m fly.Machine) bool {
		return allPassing(m) && logHas(sim, m.ID, `"GET /health HTTP/1.1" 503`)
	})
	got := c.waitFor(mb.ID, "a 500 probe", func(m fly.Machine) bool {
		return len(m.Checks) > 0 && strings.Contains(m.Checks[0].Output, "500 Internal Server Error")
	})
	if got.Checks[0].Status != fly.Critical {
		t.Errorf("broken app check %+v", got.Checks[0])
	}
	c.waitFor(ms.ID, "passing after the slow start", allPassing)
}

func TestAPIFaults(t *testing.T) {
	sim := newSim(t, nil)
	c := api{t, sim.URL}
	prefix := "/v1/apps/" + testApp
	sim.Inject5xx(prefix, 3)
	var got []int
	for range 4 {
		got = append(got, c.do("GET", prefix, nil).status)
	}
	if want := []int{503, 500, 503, 200}; !equalInts(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	sim.FailNextLaunch(testApp)
	r := c.do("POST", prefix+"/machines", fly.LaunchMachineInput{Config: appConfig(goodImage)})
	if r.status != 412 || !strings.Contains(string(r.body), "insufficient_capacity") {
		t.Errorf("failed launch: %d %s", r.status, r.body)
	}
	c.launch(appConfig(goodImage))
	reqs := sim.Requests()
	if len(reqs) < 6 || reqs[0].String() != "GET "+prefix+" -> 503" {
		t.Errorf("requests %v", reqs)
	}
}

func TestTokenRequired(t *testing.T) {
	sim := newSim(t, nil, func(o *flysim.Options) { o.Token = "fo1_test" })
	c := api{t, sim.URL}
	if r := c.do("GET", "/v1/apps/"+testApp, nil); r.status != 401 || r.errorText() != "unauthorized" {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
	c.must(200, "GET", "/v1/apps/"+testApp, nil, "Authorization", "Bearer fo1_test")
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func logHas(sim interface {
	Logs(string, string) []flysim.LogLine
}, machineID, text string) bool {
	for _, l := range sim.Logs(testApp, machineID) {
		if strings.Contains(l.Message, text) {
			return true
		}
	}
	return false
}

func logText(sim interface {
	Logs(string, string) []flysim.LogLine
}, machineID string) string {
	var b strings.Builder
	for _, l := range sim.Logs(testApp, machineID) {
		b.WriteString(l.Provider + " | " + l.Message + "\n")
	}
	return b.String()
}
