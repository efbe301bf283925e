package action

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/flysim"
	"github.com/grupo-gad/deploy-action/internal/flysim/flysimtest"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// TestSecretsCommand runs the secrets command in GitHub mode against the
// Fly emulator: one required secret missing fails the secrets phase, names
// only, and the token input reaches the Fly client.
func TestSecretsCommand(t *testing.T) {
	const token, app = "fo1_action-secrets-test", "grupo-gad"
	sim := flysimtest.New(t, flysim.Options{Token: token})
	if err := sim.CreateApp(app); err != nil {
		t.Fatal(err)
	}
	const value = "a-value-that-must-never-be-printed"
	for _, n := range []string{"SECRET_KEY", "DATABASE_URL"} { // JWT_SECRET_KEY is missing
		if err := sim.SetSecret(app, n, value); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("FLY_API_TOKEN", "")
	t.Setenv("FLY_ACCESS_TOKEN", "")
	t.Setenv("FLY_FLAPS_BASE_URL", sim.URL)
	t.Setenv("FLY_API_BASE_URL", sim.URL)

	var log bytes.Buffer
	req := &Request{
		Inputs: Inputs{App: app, FlyAPIToken: token},
		Dir:    filepath.Join(testutil.RepoRoot(t), "examples", "grupo-gad"),
		Log:    &log,
	}
	res, err := Secrets(context.Background(), req)
	if err != nil {
		t.Fatalf("secrets: %v\nlog:\n%s", err, log.String())
	}
	ph := res.Report.Phase(report.Secrets)
	var missing []string
	for _, f := range ph.Findings {
		if f.Severity == report.Error {
			missing = append(missing, f.Message)
		}
		if strings.Contains(f.Message+f.Fix, value) {
			t.Fatalf("a secret value reached the report: %+v", f)
		}
	}
	if len(missing) != 1 || !strings.Contains(missing[0], "JWT_SECRET_KEY") {
		t.Errorf("want one error naming JWT_SECRET_KEY, got %q", missing)
	}
	if strings.Contains(log.String(), value) {
		t.Error("a secret value reached the job log")
	}

	if _, err := Secrets(context.Background(), &Request{Inputs: Inputs{}, Dir: req.Dir, Log: &log}); err == nil ||
		!strings.Contains(err.Error(), "needs the app input") {
		t.Errorf("without app: %v", err)
	}
	t.Setenv("FLY_API_TOKEN", "")
	if _, err := Rollback(context.Background(), &Request{Inputs: Inputs{App: app}, Dir: req.Dir, Log: &log}); err == nil ||
		!strings.Contains(err.Error(), "needs a Fly token") {
		t.Errorf("rollback without a token: %v", err)
	}
}
