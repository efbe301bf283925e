package remote

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	flygo "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"

	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
	"github.com/grupo-gad/deploy-action/internal/fly/secrets"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// example loads examples/grupo-gad, which needs SECRET_KEY, JWT_SECRET_KEY
// and DATABASE_URL (the last one read by Alembic's env.py).
func example(t *testing.T) *project.Project {
	t.Helper()
	p, err := project.Load(filepath.Join("..", "..", "examples", "grupo-gad"), project.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, files map[string]string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := project.Load(dir, project.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func names(ns []Need) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}

func ruleIDs(rep *report.Report, phase report.PhaseName) []string {
	var out []string
	for _, f := range rep.Phase(phase).Findings {
		out = append(out, f.Rule)
	}
	return out
}

func TestNeedsExample(t *testing.T) {
	p := example(t)
	got := Needs(p, []string{"SENTRY_DSN", "SECRET_KEY", " "})
	want := []string{"SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL", "SENTRY_DSN"}
	if !slices.Equal(names(got), want) {
		t.Fatalf("Needs = %v, want %v", names(got), want)
	}
	for _, n := range got {
		if release := n.Name == "DATABASE_URL"; n.Release != release {
			t.Errorf("%s: Release = %v", n.Name, n.Release)
		}
		if n.Name != "SENTRY_DSN" && n.Loc.File == "" {
			t.Errorf("%s has no location", n.Name)
		}
	}
	if !ReleaseRunsAlembic(p) {
		t.Error("the example's release runs alembic")
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		set     []string
		app     string
		ok      bool
		release []string // rules in the release phase
		secrets []string // rules in the secrets phase
	}{
		{"all set", []string{"SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL", "REDIS_URL"}, "", true, nil, []string{RuleSecretsSummary}},
		{"database url missing", []string{"SECRET_KEY", "JWT_SECRET_KEY"}, "", false, []string{RuleReleaseSecret}, []string{RuleSecretsSummary}},
		{"app secret missing", []string{"DATABASE_URL", "JWT_SECRET_KEY", "secret_key_old"}, "", false, nil, []string{secrets.Rule, RuleSecretsSummary}},
		{"no secret at all", nil, "", false, []string{RuleReleaseSecret}, []string{secrets.Rule, secrets.Rule, RuleSecretsSummary}},
		{"app missing", nil, "other-app", false, nil, []string{RuleAppMissing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flyfake.New("grupo-gad")
			for _, n := range tt.set {
				f.SetSecret(n, "value-"+n)
			}
			rep := report.New("validate", report.StaticPhases...)
			res, err := (&Checker{API: f, App: tt.app}).Check(context.Background(), example(t), rep)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() != tt.ok {
				t.Errorf("OK = %v, missing %v", res.OK(), names(res.Missing))
			}
			if got := ruleIDs(rep, report.Release); !slices.Equal(got, tt.release) {
				t.Errorf("release findings %v, want %v", got, tt.release)
			}
			if got := ruleIDs(rep, report.Secrets); !slices.Equal(got, tt.secrets) {
				t.Errorf("secrets findings %v, want %v", got, tt.secrets)
			}
			for _, fd := range rep.Findings() {
				if strings.Contains(fd.Message+fd.Title+fd.Fix, "value-") {
					t.Errorf("a secret value reached a finding: %+v", fd)
				}
			}
		})
	}
}

func TestReleaseFindingPointsAtReleaseCommand(t *testing.T) {
	f := flyfake.New("grupo-gad")
	rep := report.New("validate", report.StaticPhases...)
	if _, err := (&Checker{API: f}).Check(context.Background(), example(t), rep); err != nil {
		t.Fatal(err)
	}
	fd := rep.Phase(report.Release).Findings[0]
	if fd.File != "fly.toml" || fd.Line == 0 || !strings.Contains(fd.Message, "app/core/config.py:14") || !strings.Contains(fd.Fix, "fly postgres attach") {
		t.Errorf("release finding %+v", fd)
	}
}

func TestAliasesAndCase(t *testing.T) {
	p := load(t, map[string]string{
		"fly.toml": "app = \"a\"\n",
		"app/config.py": "from pydantic import AliasChoices, Field\nfrom pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n" +
			"    database_url: str = Field(validation_alias=AliasChoices('DATABASE_URL', 'DB_DSN'))\n    secret_key: str\n",
		"app/main.py": "import os\nTOKEN = os.environ['API_TOKEN']\n",
	})
	f := flyfake.New("a")
	f.SetSecret("DB_DSN", "x")
	f.SetSecret("Secret_Key", "x") // pydantic ignores case
	f.SetSecret("api_token", "x")  // os.environ does not
	rep := report.New("secrets", report.Secrets)
	res, err := (&Checker{API: f}).Check(context.Background(), p, rep)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Missing); !slices.Equal(got, []string{"API_TOKEN"}) {
		t.Errorf("missing %v, want [API_TOKEN]", got)
	}
	if fd := rep.Phase(report.Secrets).Findings[0]; !strings.Contains(fd.Message, "names are case-sensitive") {
		t.Errorf("finding %+v", fd)
	}
}

// failing answers every call with an API error.
type failing struct{ status int }

func (f failing) GetApp(context.Context, string) (*flaps.App, error) {
	return nil, &flaps.FlapsError{ResponseStatusCode: f.status, OriginalError: errors.New(http.StatusText(f.status))}
}

func (f failing) ListAppSecrets(context.Context, string, *uint64, bool) ([]flygo.AppSecret, error) {
	return nil, errors.New("unreachable")
}

func TestUnavailable(t *testing.T) {
	for _, tt := range []struct {
		status int
		fix    string
	}{{http.StatusUnauthorized, "refused the token"}, {http.StatusInternalServerError, "network"}} {
		rep := report.New("validate", report.StaticPhases...)
		c := &Checker{API: failing{tt.status}}
		if _, err := c.Check(context.Background(), example(t), rep); err == nil {
			t.Fatalf("%d: no error", tt.status)
		}
		if len(rep.Findings()) != 0 {
			t.Errorf("%d: Check wrote findings on error: %+v", tt.status, rep.Findings())
		}
		c.CheckOrWarn(context.Background(), example(t), rep)
		fs := rep.Findings()
		if len(fs) != 1 || fs[0].Rule != RuleUnavailable || fs[0].Severity != report.Warning || !strings.Contains(fs[0].Fix, tt.fix) {
			t.Errorf("%d: findings %+v", tt.status, fs)
		}
	}
}

func TestNoAppName(t *testing.T) {
	t.Setenv("FLY_APP", "")
	p := load(t, map[string]string{"app/main.py": "import os\nK = os.environ['SECRET_KEY']\n"})
	if _, err := (&Checker{API: flyfake.New("x")}).Check(context.Background(), p, report.New("validate")); !errors.Is(err, ErrNoApp) {
		t.Errorf("err = %v, want ErrNoApp", err)
	}
	t.Setenv("FLY_APP", "from-env")
	if got := AppName(p, ""); got != "from-env" {
		t.Errorf("AppName = %q", got)
	}
	if got := AppName(p, "flag"); got != "flag" {
		t.Errorf("AppName = %q", got)
	}
}

// counting counts ListAppSecrets calls and returns values, which must be
// dropped.
type counting struct {
	*flyfake.Fake
	lists int
}

func (c *counting) ListAppSecrets(ctx context.Context, app string, v *uint64, show bool) ([]flygo.AppSecret, error) {
	c.lists++
	if show {
		panic("values asked for")
	}
	val := "s3cr3t-value"
	return []flygo.AppSecret{{Name: "SECRET_KEY", Value: &val}}, nil
}

func TestOneListCallNoValues(t *testing.T) {
	c := &counting{Fake: flyfake.New("grupo-gad")}
	rep := report.New("validate", report.StaticPhases...)
	if _, err := (&Checker{API: c}).Check(context.Background(), example(t), rep); err != nil {
		t.Fatal(err)
	}
	if c.lists != 1 {
		t.Errorf("%d list calls, want 1", c.lists)
	}
	for _, fd := range rep.Findings() {
		if strings.Contains(fd.Message+fd.Title+fd.Fix, "s3cr3t") {
			t.Errorf("value in %+v", fd)
		}
	}
}
