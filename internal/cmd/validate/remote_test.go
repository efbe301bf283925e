package validate

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
	"github.com/grupo-gad/deploy-action/internal/fly/secrets"
	"github.com/grupo-gad/deploy-action/internal/remote"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// TestRemoteChecksOnlyWithToken: without a Fly token validate has no remote
// checks (and sends nothing); with one it has.
func TestRemoteChecksOnlyWithToken(t *testing.T) {
	t.Setenv("FLY_API_TOKEN", "")
	t.Setenv("FLY_ACCESS_TOKEN", "")
	opts, err := NewOptions(cmdutil.IO{}, []string{"."})
	if err != nil || opts.Remote != nil {
		t.Fatalf("without a token: Remote = %v, err %v", opts.Remote, err)
	}
	t.Setenv("FLY_ACCESS_TOKEN", "fo1_test")
	t.Setenv("FLY_FLAPS_BASE_URL", "http://127.0.0.1:1")
	opts, err = NewOptions(cmdutil.IO{}, []string{"."})
	if err != nil || opts.Remote == nil {
		t.Fatalf("with a token: Remote = %v, err %v", opts.Remote, err)
	}
}

// TestRemoteChecks runs validate on examples/grupo-gad against a fake Fly
// app holding some of its secrets.
func TestRemoteChecks(t *testing.T) {
	dir := filepath.Join(testutil.RepoRoot(t), "examples", "grupo-gad")
	tests := []struct {
		name    string
		app     string
		set     []string
		code    int
		release []string
		secrets []string
	}{
		{"every secret set", "grupo-gad", []string{"SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL"}, cmdutil.ExitOK, nil, []string{remote.RuleSecretsSummary}},
		{"database url missing", "grupo-gad", []string{"SECRET_KEY", "JWT_SECRET_KEY"}, cmdutil.ExitFindings, []string{remote.RuleReleaseSecret}, []string{remote.RuleSecretsSummary}},
		{"jwt key missing", "grupo-gad", []string{"SECRET_KEY", "DATABASE_URL"}, cmdutil.ExitFindings, nil, []string{remote.RuleSecretsSummary, secrets.Rule}},
		{"app missing", "another-app", nil, cmdutil.ExitFindings, nil, []string{remote.RuleAppMissing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flyfake.New(tt.app)
			for _, n := range tt.set {
				f.SetSecret(n, "x")
			}
			var out bytes.Buffer
			code, err := Run(&Options{IO: cmdutil.IO{Out: &out}, Dir: dir, Format: "json", Remote: &remote.Checker{API: f}})
			if err != nil || code != tt.code {
				t.Fatalf("Run = %d, %v; want %d", code, err, tt.code)
			}
			rep, err := report.ReadJSON(&out)
			if err != nil {
				t.Fatal(err)
			}
			remoteRules := func(phase report.PhaseName) []string {
				var ids []string
				for _, p := range rep.Phases {
					for _, fd := range p.Findings {
						if p.Name == phase && fd.Rule != "secrets-required" && fd.Rule != "release-database-url" {
							ids = append(ids, fd.Rule)
						}
					}
				}
				return ids
			}
			if got := remoteRules(report.Release); !slices.Equal(got, tt.release) {
				t.Errorf("release: %v, want %v", got, tt.release)
			}
			if got := remoteRules(report.Secrets); !slices.Equal(got, tt.secrets) {
				t.Errorf("secrets: %v, want %v", got, tt.secrets)
			}
		})
	}
}
