package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func TestRuntimeCheckTiming(t *testing.T) {
	svc := "app = \"demo\"\n\n[[services]]\n  internal_port = 8080\n  protocol = \"tcp\"\n\n  [[services.%s]]\n%s\n"
	tests := []struct {
		name, fly, want string
	}{
		// An integer in [[services.*_checks]] is milliseconds.
		{"milliseconds in a service check", strings.Replace(strings.Replace(svc, "%s", "http_checks", 1), "%s", "    interval = 1000\n    timeout = 500\n    path = \"/\"", 1), "fly.toml:8 error"},
		{"duration in a service check", strings.Replace(strings.Replace(svc, "%s", "http_checks", 1), "%s", "    interval = \"10s\"\n    timeout = \"2s\"\n    grace_period = \"1s\"", 1), "fly.toml:10 warning"},
		// The flyctl-generated TCP check (grace 1s < timeout 2s) passes as
		// soon as the socket listens.
		{"tcp check grace", strings.Replace(strings.Replace(svc, "%s", "tcp_checks", 1), "%s", "    interval = \"15s\"\n    timeout = \"2s\"\n    grace_period = \"1s\"", 1), ""},
		// flyctl reads an integer in [[http_service.checks]] as
		// nanoseconds; the loader reports it, this rule does not.
		{"nanoseconds are the loader's", testFly + "\n  [[http_service.checks]]\n    interval = 15000\n    timeout = 5000\n", ""},
		{"exactly the limits", testFly + "\n  [[http_service.checks]]\n    interval = \"2s\"\n    timeout = \"1s\"\n    grace_period = \"60s\"\n", ""},
		{"top-level check over the limits", testFly + "\n[checks.db]\n  type = \"tcp\"\n  port = 5432\n  interval = \"1s\"\n  timeout = \"61s\"\n  grace_period = \"1s\"\n", "fly.toml:10 error, fly.toml:9 error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := at(runRuleFiles(t, "runtime-check-timing", map[string]string{"fly.toml": tt.fly})); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRuntimeCheckTimingCorpus runs the rule over every real fly.toml:
// none of them has a check outside Fly's limits, so no error may come out.
func TestRuntimeCheckTimingCorpus(t *testing.T) {
	dir := testutil.CorpusDir(t, "flytoml")
	files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
	more, _ := filepath.Glob(filepath.Join(dir, "flyctl-testdata", "*.toml"))
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range runRuleFiles(t, "runtime-check-timing", map[string]string{"fly.toml": string(data)}) {
			if fd.Severity == report.Error {
				t.Errorf("%s: %s: %s", filepath.Base(f), fd.Location, fd.Message)
			}
		}
	}
}
