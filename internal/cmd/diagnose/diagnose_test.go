package diagnose_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/root"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = root.Main(cmdutil.IO{In: strings.NewReader(stdin), Out: &out, Err: &errb}, append([]string{"diagnose"}, args...))
	return code, out.String(), errb.String()
}

func TestCLI(t *testing.T) {
	logs := testutil.CorpusDir(t, "logs")
	ex := filepath.Join(testutil.RepoRoot(t), "examples")
	pg := filepath.Join(ex, "broken", "build-pg-config")
	b01 := filepath.Join(logs, "B01.log")
	clean, err := os.ReadFile(filepath.Join("..", "..", "diagnose", "testdata", "clean", "fly-deploy.log"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		inStdout []string
		inStderr string
	}{
		{"failure with a pointer", "", []string{b01, pg}, 1, []string{"✗ build: failed", "Dockerfile:7:5: Log line 1", "RUN pip install", "[log-pg-config]"}, ""},
		{"github format", "", []string{"--format", "github", b01, pg}, 1, []string{"::error file=../../../examples/broken/build-pg-config/Dockerfile,line=7,col=5", "[log-pg-config]"}, ""},
		{"flags after the arguments", "", []string{b01, pg, "--format", "github"}, 1, []string{"::error file="}, ""},
		{"log location without a pointer", "", []string{filepath.Join(logs, "R04.log"), pg}, 1, []string{"R04.log:1: Log line 1", "Retry the deploy", "error running release_command machine"}, ""},
		{"github format at the log", "", []string{"--format", "github", filepath.Join(logs, "R04.log"), pg}, 1, []string{"R04.log,line=1,title=Fly platform fault"}, ""},
		{"warning only", "", []string{filepath.Join(logs, "H08.log"), pg}, 0, []string{"! runtime: warning", "[log-listen-warning]"}, ""},
		{"not Fly.io", "", []string{filepath.Join(logs, "N08.log"), pg}, 0, []string{"[log-not-flyio]"}, ""},
		{"clean log from stdin", string(clean), []string{"-", pg}, 0, []string{"No known signature", "(47 lines)", "[log-no-known-signature]"}, ""},
		{"stdin by default", "Error: pg_config executable not found.\n", nil, 1, []string{"[log-pg-config]"}, ""},
		{"help", "", []string{"--help"}, 0, []string{"Exit status", "no known"}, ""},
		{"bad format", "", []string{"--format", "xml", b01}, 2, nil, `unknown --format "xml"`},
		{"missing log", "", []string{filepath.Join(logs, "nope.log"), pg}, 2, nil, "cannot read the log"},
		{"directory given as the log", "", []string{pg}, 2, nil, "give the log file first"},
		{"missing directory", "", []string{b01, filepath.Join(ex, "nope")}, 2, nil, "not a directory"},
		{"three arguments", "", []string{b01, pg, pg}, 2, nil, "a log file and a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.inStdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errOut, tt.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inStderr, errOut)
			}
		})
	}
}

func TestCLIJSON(t *testing.T) {
	logs := testutil.CorpusDir(t, "logs")
	dir := filepath.Join(testutil.RepoRoot(t), "examples", "grupo-gad")
	code, out, errOut := run(t, "", "--format", "json", filepath.Join(logs, "H02.log"), dir)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rep, err := report.ReadJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Command != "diagnose" || rep.Conclusion != report.Failure || len(rep.Phases) != 1 || rep.Phases[0].Name != report.Runtime {
		t.Fatalf("report %+v", rep)
	}
	fs := rep.Phases[0].Findings
	if len(fs) != 2 || fs[0].Rule != "log-health-timeout" || fs[0].File != "fly.toml" || fs[0].Line != 34 {
		t.Errorf("findings %+v", fs)
	}
	if !strings.Contains(fs[1].Message, "Log line 6") {
		t.Errorf("message %q", fs[1].Message)
	}
}
