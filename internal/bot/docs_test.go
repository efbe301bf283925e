package bot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v4"

	"github.com/grupo-gad/deploy-action/internal/bot/config"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func docFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "docs", "bot", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestAppManifest keeps docs/bot/app-manifest.json to the permissions and
// events the bot needs, and no more.
func TestAppManifest(t *testing.T) {
	var m struct {
		HookAttributes struct {
			URL    string `json:"url"`
			Active bool   `json:"active"`
		} `json:"hook_attributes"`
		Permissions map[string]string `json:"default_permissions"`
		Events      []string          `json:"default_events"`
		Public      bool              `json:"public"`
	}
	if err := json.Unmarshal(docFile(t, "app-manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"checks": "read", "contents": "read", "issues": "write", "pull_requests": "write", "actions": "write", "metadata": "read"}
	if !reflect.DeepEqual(m.Permissions, want) {
		t.Errorf("permissions %v, want %v", m.Permissions, want)
	}
	events := slices.Sorted(slices.Values(m.Events))
	if !reflect.DeepEqual(events, []string{"check_run", "issue_comment", "workflow_run"}) {
		t.Errorf("events %v", events)
	}
	if !strings.HasSuffix(m.HookAttributes.URL, "/webhook") || !m.HookAttributes.Active || m.Public {
		t.Errorf("hook %+v public %v", m.HookAttributes, m.Public)
	}
}

// TestExampleConfig: the example .github/deploy-bot.yml is valid.
func TestExampleConfig(t *testing.T) {
	c, fs := config.Parse(docFile(t, "deploy-bot.yml"))
	if len(fs) > 0 {
		t.Fatalf("findings: %+v", fs)
	}
	if c.Environments["production"].Approvals != 1 || c.Environments["staging"].URL() != "https://grupo-gad-staging.fly.dev/health" {
		t.Errorf("config %+v", c)
	}
}

// TestExampleWorkflow: the example workflow declares every input the bot
// dispatches and names its runs with the request id.
func TestExampleWorkflow(t *testing.T) {
	var wf struct {
		RunName string `yaml:"run-name"`
		On      struct {
			Dispatch struct {
				Inputs map[string]struct {
					Required bool `yaml:"required"`
				} `yaml:"inputs"`
			} `yaml:"workflow_dispatch"`
		} `yaml:"on"`
	}
	if err := yaml.Unmarshal(docFile(t, "deploy-workflow.yml"), &wf); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"command", "sha", "pr", "environment", "request_id", "target"} {
		if _, ok := wf.On.Dispatch.Inputs[in]; !ok {
			t.Errorf("input %s is not declared", in)
		}
	}
	if wf.On.Dispatch.Inputs["target"].Required {
		t.Error("target must be optional: only /rollback with an argument sends it")
	}
	if !strings.Contains(wf.RunName, "inputs.request_id") {
		t.Errorf("run-name %q lacks the request id", wf.RunName)
	}
}

// TestFlyConfig: the bot's fly.toml routes to the port the bot listens on,
// checks /healthz and gives SIGTERM time to drain.
func TestFlyConfig(t *testing.T) {
	var f struct {
		KillSignal  string `toml:"kill_signal"`
		KillTimeout string `toml:"kill_timeout"`
		Env         map[string]string
		HTTPService struct {
			InternalPort int `toml:"internal_port"`
			Checks       []struct {
				Path string `toml:"path"`
			} `toml:"checks"`
		} `toml:"http_service"`
	}
	if err := toml.Unmarshal(docFile(t, "fly.toml"), &f); err != nil {
		t.Fatal(err)
	}
	if f.Env["ADDR"] != ":8080" || f.HTTPService.InternalPort != 8080 {
		t.Errorf("ADDR %q, internal_port %d", f.Env["ADDR"], f.HTTPService.InternalPort)
	}
	if len(f.HTTPService.Checks) != 1 || f.HTTPService.Checks[0].Path != "/healthz" {
		t.Errorf("checks %+v", f.HTTPService.Checks)
	}
	if f.KillSignal != "SIGTERM" || f.KillTimeout != "30s" {
		t.Errorf("kill %s after %s", f.KillSignal, f.KillTimeout)
	}
	if !strings.HasPrefix(f.Env["STATE_PATH"], "/data/") {
		t.Errorf("STATE_PATH %q is not on the volume", f.Env["STATE_PATH"])
	}
}
