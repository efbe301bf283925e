package flysim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	fly "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/flysim"
	"github.com/grupo-gad/deploy-action/internal/flysim/flysimtest"
	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
)

// TestMain lets this test binary serve as a machine image: re-executed with
// simapp.ReexecEnv=1 it runs simapp instead of the tests.
func TestMain(m *testing.M) {
	simapp.MainIfReexec()
	os.Exit(m.Run())
}

const (
	testApp   = "grupo-gad"
	goodImage = "registry.fly.io/grupo-gad:deployment-good"
	testScale = 0.05 // 1 s of emulated time lasts 50 ms
)

// newSim starts a contract-checked emulator with the good image plus extra
// images, and an app named testApp.
func newSim(t *testing.T, extra map[string]simapp.Faults, tweak ...func(*flysim.Options)) *flysimtest.Sim {
	t.Helper()
	images := map[string]flysim.Image{goodImage: flysim.ReexecImage(simapp.Faults{Label: "good"})}
	for ref, f := range extra {
		if f.Label == "" {
			f.Label = ref
		}
		images[ref] = flysim.ReexecImage(f)
	}
	opts := flysim.Options{Images: images, TimeScale: testScale}
	if testing.Verbose() {
		opts.MachineOutput = testWriter{t}
	}
	for _, f := range tweak {
		f(&opts)
	}
	sim := flysimtest.New(t, opts)
	if err := sim.CreateApp(testApp); err != nil {
		t.Fatal(err)
	}
	return sim
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// appConfig is the machine config flyctl derives from the example fly.toml:
// an HTTP service on 8080 with a /health check.
func appConfig(image string) *fly.MachineConfig {
	port := 8080
	httpType, path := "http", "/health"
	return &fly.MachineConfig{
		Image: image,
		Env:   map[string]string{"PORT": "8080", "APP_ENV": "production"},
		Metadata: map[string]string{
			fly.MachineConfigMetadataKeyFlyPlatformVersion: fly.MachineFlyPlatformVersion2,
			fly.MachineConfigMetadataKeyFlyProcessGroup:    fly.MachineProcessGroupApp,
		},
		Guest: &fly.MachineGuest{CPUKind: "shared", CPUs: 1, MemoryMB: 512},
		Services: []fly.MachineService{{
			Protocol: "tcp", InternalPort: port,
			Ports: []fly.MachinePort{{Port: intp(80), Handlers: []string{"http"}, ForceHTTPS: true}, {Port: intp(443), Handlers: []string{"tls", "http"}}},
			Checks: []fly.MachineServiceCheck{{
				Type: &httpType, HTTPPath: &path, Port: &port,
				Interval: &fly.Duration{Duration: time.Second}, Timeout: &fly.Duration{Duration: 2 * time.Second},
				GracePeriod: &fly.Duration{Duration: time.Second},
			}},
		}},
		Restart:    &fly.MachineRestart{Policy: fly.MachineRestartPolicyOnFailure, MaxRetries: 3},
		StopConfig: &fly.StopConfig{Timeout: &fly.Duration{Duration: 60 * time.Second}}, // 3 s at testScale
	}
}

func intp(n int) *int { return &n }

// api is a small raw client for the emulator's HTTP API.
type api struct {
	t    *testing.T
	base string
}

type response struct {
	status int
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) errorText() string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}

func (a api) do(method, path string, body any, headers ...string) response {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: b}
}

func (a api) must(status int, method, path string, body any, headers ...string) response {
	a.t.Helper()
	r := a.do(method, path, body, headers...)
	if r.status != status {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.body)
	}
	return r
}

func (a api) launch(cfg *fly.MachineConfig) fly.Machine {
	a.t.Helper()
	var m fly.Machine
	a.must(200, "POST", "/v1/apps/"+testApp+"/machines", fly.LaunchMachineInput{Config: cfg, Region: "gru"}).decode(a.t, &m)
	return m
}

func (a api) get(id string) fly.Machine {
	a.t.Helper()
	var m fly.Machine
	a.must(200, "GET", "/v1/apps/"+testApp+"/machines/"+id, nil).decode(a.t, &m)
	return m
}

func (a api) wait(id, state string) {
	a.t.Helper()
	a.must(200, "GET", fmt.Sprintf("/v1/apps/%s/machines/%s/wait?state=%s&timeout=30", testApp, id, state), nil)
}

// waitFor polls the machine until cond holds or 20 s pass.
func (a api) waitFor(id, what string, cond func(fly.Machine) bool) fly.Machine {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := a.get(id)
		if cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("machine %s: %s never happened; last state %s, checks %+v", id, what, m.State, checks(m))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checks(m fly.Machine) map[string]string {
	out := map[string]string{}
	for _, c := range m.Checks {
		out[c.Name] = string(c.Status) + ": " + c.Output
	}
	return out
}

func allPassing(m fly.Machine) bool {
	return m.State == fly.MachineStateStarted && len(m.Checks) > 0 && m.AllHealthChecks().AllPassing()
}

// latestExit returns the newest exit event.
func latestExit(t *testing.T, m fly.Machine) *fly.MachineExitEvent {
	t.Helper()
	e := m.GetLatestEventOfType("exit")
	if e == nil || e.Request == nil || e.Request.ExitEvent == nil {
		t.Fatalf("machine %s has no exit event: %+v", m.ID, m.Events)
	}
	return e.Request.ExitEvent
}
