package secrets

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	flygo "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
	"github.com/grupo-gad/deploy-action/internal/remote"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func TestNewOptions(t *testing.T) {
	o, err := NewOptions(cmdutil.IO{}, []string{"--require", "SENTRY_DSN", "dir", "--require", "A, B", "--app", "x", "--format", "json"})
	if err != nil || o.Dir != "dir" || o.App != "x" || o.Format != "json" || strings.Join(o.Require, " ") != "SENTRY_DSN A B" {
		t.Fatalf("NewOptions = %+v, %v", o, err)
	}
	for _, args := range [][]string{{"--require", "SECRET_KEY=abc"}, {"a", "b"}, {"--format", "x"}} {
		if _, err := NewOptions(cmdutil.IO{}, args); !cmdutil.IsUsage(err) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

func run(t *testing.T, api remote.API, require ...string) (int, string, *report.Report) {
	t.Helper()
	var out bytes.Buffer
	code, err := Run(context.Background(), &Options{
		IO: cmdutil.IO{Out: &out}, Dir: filepath.Join(testutil.RepoRoot(t), "examples", "grupo-gad"), Format: "json", Require: require,
		Fly: func(context.Context) (remote.API, error) { return api, nil },
	})
	if err != nil {
		return code, err.Error(), nil
	}
	text := out.String()
	rep, err := report.ReadJSON(&out)
	if err != nil {
		t.Fatal(err)
	}
	return code, text, rep
}

func TestSecrets(t *testing.T) {
	tests := []struct {
		name    string
		set     []string
		require []string
		code    int
		missing []string // names in error findings
	}{
		{"all set", []string{"SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL"}, nil, cmdutil.ExitOK, nil},
		{"database url missing", []string{"SECRET_KEY", "JWT_SECRET_KEY"}, nil, cmdutil.ExitFindings, []string{"DATABASE_URL"}},
		{"listed name missing", []string{"SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL"}, []string{"SENTRY_DSN"}, cmdutil.ExitFindings, []string{"SENTRY_DSN"}},
		{"none set", nil, nil, cmdutil.ExitFindings, []string{"DATABASE_URL", "SECRET_KEY", "JWT_SECRET_KEY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flyfake.New("grupo-gad")
			for _, n := range tt.set {
				f.SetSecret(n, "topsecret-"+n)
			}
			code, text, rep := run(t, f, tt.require...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, text)
			}
			if strings.Contains(text, "topsecret") {
				t.Error("a secret value was printed")
			}
			var missing []string
			for _, fd := range rep.Findings() {
				if fd.Severity == report.Error {
					missing = append(missing, strings.Fields(fd.Title)[1])
				}
			}
			if strings.Join(missing, " ") != strings.Join(tt.missing, " ") {
				t.Errorf("missing %v, want %v", missing, tt.missing)
			}
			if rep.Command != "secrets" || rep.Phases[0].Name != report.Release || rep.Phases[1].Name != report.Secrets {
				t.Errorf("report %s %+v", rep.Command, rep.Phases)
			}
			if tt.code == 0 && !strings.Contains(text, "3 of 3 required secret(s) set on grupo-gad") {
				t.Errorf("no summary:\n%s", text)
			}
		})
	}
}

type down struct{}

func (down) GetApp(context.Context, string) (*flaps.App, error) {
	return nil, &flaps.FlapsError{ResponseStatusCode: 503, OriginalError: errors.New("unavailable")}
}

func (down) ListAppSecrets(context.Context, string, *uint64, bool) ([]flygo.AppSecret, error) {
	return nil, errors.New("unavailable")
}

func TestSecretsErrors(t *testing.T) {
	if code, msg, _ := run(t, down{}); code != cmdutil.ExitUsage || !strings.Contains(msg, "503") && !strings.Contains(msg, "unavailable") {
		t.Errorf("API down: %d %s", code, msg)
	}
	f := flyfake.New("other-app")
	code, text, rep := run(t, f)
	if code != cmdutil.ExitFindings || rep.Findings()[0].Rule != remote.RuleAppMissing {
		t.Errorf("app missing: %d\n%s", code, text)
	}
	t.Setenv("FLY_API_TOKEN", "")
	t.Setenv("FLY_ACCESS_TOKEN", "")
	if code, err := Run(context.Background(), &Options{Dir: "."}); code != cmdutil.ExitUsage || !errors.Is(err, fly.ErrNoToken) {
		t.Errorf("no token: %d, %v", code, err)
	}
}
