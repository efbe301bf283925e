package root

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(cmdutil.IO{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	ex := filepath.Join(testutil.RepoRoot(t), "examples")
	good := filepath.Join(ex, "grupo-gad")
	bad := filepath.Join(ex, "broken", "fly-toml-syntax")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"no args", nil, 2, "", "Usage:"},
		{"help", []string{"help"}, 0, "deploy-action validate", ""},
		{"version", []string{"version"}, 0, "deploy-action dev", ""},
		{"unknown command", []string{"deplyo"}, 2, "", `unknown command "deplyo"`},
		{"validate help", []string{"validate", "--help"}, 0, "Exit status", ""},
		{"good example", []string{"validate", good}, 0, "✓ validate passed", ""},
		{"broken example", []string{"validate", bad}, 1, "fly-toml-syntax", ""},
		{"flags after dir", []string{"validate", bad, "--format", "github"}, 1, "::error file=", ""},
		{"bad format", []string{"validate", "--format", "xml", good}, 2, "", `unknown --format "xml"`},
		{"unknown flag", []string{"validate", "--frmat", "json", good}, 2, "", "flag provided but not defined: -frmat"},
		{"two dirs", []string{"validate", good, bad}, 2, "", "one directory"},
		{"missing dir", []string{"validate", filepath.Join(ex, "nope")}, 2, "", "not a directory"},
		{"missing config", []string{"validate", "--config", "nope.toml", good}, 2, "", "--config nope.toml: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			if !strings.Contains(out, tt.inStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.inStdout, out)
			}
			if !strings.Contains(errOut, tt.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inStderr, errOut)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	dir := filepath.Join(testutil.RepoRoot(t), "examples", "broken", "fly-toml-syntax")
	code, out, _ := run(t, "validate", "--format", "json", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var rep struct {
		Version    int    `json:"version"`
		Command    string `json:"command"`
		Conclusion string `json:"conclusion"`
		Phases     []struct {
			Name     string `json:"name"`
			Findings []struct {
				Rule string `json:"rule"`
				File string `json:"file"`
				Line int    `json:"line"`
			} `json:"findings"`
		} `json:"phases"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	var names []string
	for _, p := range rep.Phases {
		names = append(names, p.Name)
	}
	if rep.Version != 1 || rep.Command != "validate" || rep.Conclusion != "failure" ||
		strings.Join(names, ",") != "build,release,runtime,networking,secrets" {
		t.Errorf("unexpected report header: %+v", rep)
	}
}
