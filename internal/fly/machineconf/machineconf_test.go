package machineconf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func parse(t *testing.T, path string) *flytoml.Config {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := flytoml.Parse("fly.toml", data)
	if cfg == nil {
		t.Fatalf("%s: nothing parsed", path)
	}
	return cfg
}

func TestForMachineGrupoGad(t *testing.T) {
	cfg := parse(t, filepath.Join(testutil.RepoRoot(t), "examples", "grupo-gad", "fly.toml"))
	cur := &flygo.MachineConfig{
		Image:    "registry.fly.io/grupo-gad:old",
		Env:      map[string]string{"STALE": "1"},
		Metadata: map[string]string{"fly_process_group": "app", "other-tool": "kept"},
		Mounts:   []flygo.MachineMount{{Volume: "vol_123", Path: "/data"}},
		Schedule: "",
	}
	got, err := ForMachine(cfg, cur, "registry.fly.io/grupo-gad:new")
	if err != nil {
		t.Fatal(err)
	}
	if got.Image != "registry.fly.io/grupo-gad:new" || cur.Image != "registry.fly.io/grupo-gad:old" {
		t.Errorf("image %q (current changed to %q?)", got.Image, cur.Image)
	}
	if got.Env["PORT"] != "8080" || got.Env["PRIMARY_REGION"] != "mad" || got.Env["FLY_PROCESS_GROUP"] != "app" || got.Env["STALE"] != "" {
		t.Errorf("env %v", got.Env)
	}
	if got.Metadata["other-tool"] != "kept" || got.Metadata["fly_platform_version"] != "v2" || len(got.Mounts) != 1 {
		t.Errorf("kept fields: %v %v", got.Metadata, got.Mounts)
	}
	if g := got.Guest; g == nil || g.MemoryMB != 512 || g.CPUs != 1 || g.CPUKind != "shared" {
		t.Errorf("guest %+v", got.Guest)
	}
	if sc := got.StopConfig; sc == nil || *sc.Signal != "SIGTERM" || sc.Timeout.Duration != 30*time.Second {
		t.Errorf("stop config %+v", got.StopConfig)
	}
	if len(got.Services) != 1 {
		t.Fatalf("services %+v", got.Services)
	}
	s := got.Services[0]
	if s.InternalPort != 8080 || len(s.Ports) != 2 || *s.Ports[0].Port != 80 || !s.Ports[0].ForceHTTPS || *s.Ports[1].Port != 443 ||
		s.Autostop == nil || *s.Autostop != flygo.MachineAutostopStop || *s.MinMachinesRunning != 1 {
		t.Errorf("service %+v", s)
	}
	if len(s.Checks) != 1 {
		t.Fatalf("checks %+v", s.Checks)
	}
	c := s.Checks[0]
	if *c.Type != "http" || *c.Port != 8080 || *c.HTTPPath != "/health" || c.Interval.Duration != 15*time.Second || c.GracePeriod.Duration != 20*time.Second {
		t.Errorf("check %+v", c)
	}
	if CheckCount(got) != 1 || ShortestCheckInterval(got, time.Minute) != 15*time.Second {
		t.Errorf("CheckCount %d, ShortestCheckInterval %s", CheckCount(got), ShortestCheckInterval(got, time.Minute))
	}
	if CheckCount(nil) != 0 || ShortestCheckInterval(&flygo.MachineConfig{}, time.Minute) != time.Minute {
		t.Error("defaults")
	}
}

func TestForMachineProcessGroups(t *testing.T) {
	cfg := parse(t, filepath.Join(testutil.CorpusDir(t, "flytoml"), "DannyMac180__ace-platform__fly.toml"))
	api, err := ForMachine(cfg, &flygo.MachineConfig{Metadata: map[string]string{"fly_process_group": "api"}}, "img")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(api.Init.Cmd[:2], []string{"uvicorn", "ace_platform.api.main:app"}) || len(api.Services) != 1 || api.Services[0].InternalPort != 8000 {
		t.Errorf("api: cmd %v services %+v", api.Init.Cmd, api.Services)
	}
	worker, err := ForMachine(cfg, &flygo.MachineConfig{Metadata: map[string]string{"fly_process_group": "worker"}}, "img")
	if err != nil {
		t.Fatal(err)
	}
	if worker.Init.Cmd[0] != "celery" || len(worker.Services) != 0 || worker.Env["FLY_PROCESS_GROUP"] != "worker" {
		t.Errorf("worker: cmd %v services %+v", worker.Init.Cmd, worker.Services)
	}
}

func TestForMachineTopLevelChecks(t *testing.T) {
	cfg := parse(t, filepath.Join(testutil.CorpusDir(t, "flytoml"), "fly-apps__postgres-flex__fly.toml"))
	got, err := ForMachine(cfg, &flygo.MachineConfig{}, "img")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Checks) != 3 || got.Checks["pg"].HTTPPath == nil || got.Metrics == nil {
		t.Errorf("checks %+v metrics %+v", got.Checks, got.Metrics)
	}
}

func TestForMachineNilConfigKeepsEverything(t *testing.T) {
	cur := &flygo.MachineConfig{Image: "a", Env: map[string]string{"K": "v"}, Services: []flygo.MachineService{{InternalPort: 1}}}
	got, err := ForMachine(nil, cur, "b")
	if err != nil || got.Image != "b" || got.Env["K"] != "v" || len(got.Services) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	got.Env["K"] = "changed"
	if cur.Env["K"] != "v" {
		t.Error("ForMachine shares memory with the current config")
	}
}

func TestForMachineErrors(t *testing.T) {
	cfg, _ := flytoml.Parse("fly.toml", []byte("app = \"x\"\n[processes]\n  app = \"migrate && serve\"\n"))
	if _, err := ForMachine(cfg, &flygo.MachineConfig{}, "img"); err == nil || !strings.Contains(err.Error(), "fly.toml:3") {
		t.Errorf("a process command needing a shell: %v", err)
	}
	cfg, _ = flytoml.Parse("fly.toml", []byte("app = \"x\"\n[[vm]]\n  size = \"shared-cpu-3x\"\n"))
	if _, err := ForMachine(cfg, &flygo.MachineConfig{}, "img"); err == nil {
		t.Error("an unknown VM size was accepted")
	}
}

// TestForMachineCorpus turns every real fly.toml into a machine config for
// each of its process groups: no panic, and an error only for a process
// command that needs a shell or a VM size fly-go does not know.
func TestForMachineCorpus(t *testing.T) {
	dir := testutil.CorpusDir(t, "flytoml")
	files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
	if len(files) < 50 {
		t.Fatalf("only %d fly.toml files in the corpus", len(files))
	}
	converted := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := flytoml.Parse("fly.toml", data)
		if cfg == nil {
			continue
		}
		for _, g := range cfg.ProcessNames() {
			got, err := ForMachine(cfg, &flygo.MachineConfig{Metadata: map[string]string{"fly_process_group": g}}, "img")
			if err != nil {
				if !strings.Contains(err.Error(), "command of process") && !strings.Contains(err.Error(), "machine size") && !strings.Contains(err.Error(), "machine preset") {
					t.Errorf("%s [%s]: %v", filepath.Base(f), g, err)
				}
				continue
			}
			if got.Image != "img" || got.Env["FLY_PROCESS_GROUP"] != g {
				t.Errorf("%s [%s]: %+v", filepath.Base(f), g, got)
			}
			converted++
		}
	}
	t.Logf("%d process groups converted from %d files", converted, len(files))
}
