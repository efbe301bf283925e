package deploy

import (
	"errors"
	"path/filepath"
	"testing"

	flydeploy "github.com/grupo-gad/deploy-action/internal/fly/deploy"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// TestExplainFailure checks that a failed deploy's report carries the cause
// found by the diagnosis catalog in the failing machine's log tail and exit
// event, pointing into the repository where it can.
func TestExplainFailure(t *testing.T) {
	root := filepath.Join(testutil.RepoRoot(t), "examples")
	tests := []struct {
		name      string
		dir       string
		failure   *flydeploy.Failure
		wantRule  string
		wantPhase report.PhaseName
		wantFile  string
	}{
		{
			name: "release: alembic heads", dir: "grupo-gad",
			failure: &flydeploy.Failure{Phase: report.Release, MachineID: "m1", LogTail: []string{
				"INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
				"ERROR [alembic.util.messaging] Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads",
				"  FAILED: Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads",
			}},
			wantRule: "log-alembic-multiple-heads", wantPhase: report.Release, wantFile: "fly.toml",
		},
		{
			name: "runtime: OOM points at the VM memory", dir: "broken/runtime-oom",
			failure: &flydeploy.Failure{Phase: report.Deploy, MachineID: "m2",
				Exit: &flydeploy.ExitInfo{Code: 137, OOMKilled: true}},
			wantRule: "log-oom-killed", wantPhase: report.Runtime, wantFile: "fly.toml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := project.Load(filepath.Join(root, tt.dir), project.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rep := report.New("deploy", report.StaticPhases...)
			explain(rep, p, tt.failure)
			var got []report.Finding
			for _, ph := range rep.Phases {
				for _, f := range ph.Findings {
					t.Logf("%s %s %s: %s", ph.Name, f.Rule, f.Location, f.Message)
					if f.Rule == tt.wantRule && ph.Name == tt.wantPhase {
						got = append(got, f)
					}
				}
			}
			if len(got) == 0 {
				t.Fatalf("no %s finding in phase %s", tt.wantRule, tt.wantPhase)
			}
			if got[0].File != tt.wantFile || got[0].Line == 0 {
				t.Errorf("%s points at %s, want a line of %s", tt.wantRule, got[0].Location, tt.wantFile)
			}
		})
	}
	// Not a deploy failure (e.g. the API was unreachable): nothing to explain.
	rep := report.New("deploy", report.StaticPhases...)
	explain(rep, nil, errors.New("dial tcp: connection refused"))
	if n := len(rep.Findings()); n != 0 {
		t.Errorf("a plain error must add no diagnosis, got %d findings", n)
	}
}
