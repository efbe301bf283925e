package rules

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func TestRuntimeKillTimeout(t *testing.T) {
	tests := []struct{ value, want string }{
		{"300", ""},
		{"\"5m\"", ""},
		{"\"5m1s\"", "fly.toml:2 error"},
		{"301", "fly.toml:2 error"},
		{"1", ""},
		{"\"900ms\"", "fly.toml:2 warning"},
		{"0", "fly.toml:2 warning"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			fly := "app = \"demo\"\nkill_timeout = " + tt.value + "\n"
			if got := at(runRuleFiles(t, "runtime-kill-timeout", map[string]string{"fly.toml": fly})); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRuntimeKillTimeoutCorpus: the real files use 5, 30, 120 and "5s"
// to "30s", all plausible.
func TestRuntimeKillTimeoutCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testutil.CorpusDir(t, "flytoml"), "*.toml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range runRuleFiles(t, "runtime-kill-timeout", map[string]string{"fly.toml": string(data)}) {
			t.Errorf("%s: %s: %s", filepath.Base(f), fd.Location, fd.Message)
		}
	}
}
