package rules

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func TestNetworkingTLSHandler(t *testing.T) {
	port := func(lines string) string {
		return "app = \"demo\"\n\n[[services]]\n  internal_port = 8080\n  protocol = \"tcp\"\n\n  [[services.ports]]\n" + lines + "\n"
	}
	tests := []struct{ name, fly, want string }{
		{"upper-case handler", port("    port = 443\n    handlers = [\"TLS\", \"http\"]"), ""},
		{"proxy protocol passthrough", port("    port = 443\n    handlers = [\"proxy_proto\"]"), ""},
		{"range over 443", port("    start_port = 440\n    end_port = 450\n    handlers = [\"http\"]"), "fly.toml:10 error"},
		{"http on 8443 is allowed", port("    port = 8443\n    handlers = [\"http\"]"), ""},
		{"ports without [[services]]", "app = \"demo\"\n\n[[services.ports]]\n  port = 443\n  handlers = [\"http\"]\n", "fly.toml:5 error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := at(runRuleFiles(t, "networking-tls-handler", map[string]string{"fly.toml": tt.fly})); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestNetworkingTLSHandlerCorpus: every real fly.toml that declares port
// 443 gives it the tls handler.
func TestNetworkingTLSHandlerCorpus(t *testing.T) {
	dir := testutil.CorpusDir(t, "flytoml")
	files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
	more, _ := filepath.Glob(filepath.Join(dir, "flyctl-testdata", "*.toml"))
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range runRuleFiles(t, "networking-tls-handler", map[string]string{"fly.toml": string(data)}) {
			t.Errorf("%s: %s: %s", filepath.Base(f), fd.Location, fd.Message)
		}
	}
}
