package root

import (
	"strings"
	"testing"
)

// TestDeployCommands: deploy, rollback, secrets and demo are listed and
// answer --help and bad usage; the simapp subcommand runs but is hidden.
func TestDeployCommands(t *testing.T) {
	_, help, _ := run(t, "help")
	for _, name := range []string{"deploy", "rollback", "secrets", "demo"} {
		if !strings.Contains(help, "deploy-action "+name+" ") {
			t.Errorf("help does not list %s:\n%s", name, help)
		}
		if code, out, _ := run(t, name, "--help"); code != 0 || !strings.Contains(out, "Usage: deploy-action "+name) {
			t.Errorf("%s --help: %d %q", name, code, out)
		}
		if code, _, errOut := run(t, name, "--no-such-flag"); code != 2 || !strings.Contains(errOut, "usage: deploy-action "+name) {
			t.Errorf("%s with a bad flag: %d %q", name, code, errOut)
		}
	}
	if strings.Contains(help, "simapp") {
		t.Error("help lists the hidden simapp subcommand")
	}
	if code, _, _ := run(t, "simapp", "-no-such-flag"); code != 2 {
		t.Errorf("simapp with a bad flag: exit %d, want simapp's 2", code)
	}
	if code, _, errOut := run(t, "deploy", "--app", "a"); code != 2 || !strings.Contains(errOut, "--image is required") {
		t.Errorf("deploy without --image: %d %q", code, errOut)
	}
}
