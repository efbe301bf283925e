package secrets

import (
	"context"
	"strings"
	"testing"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
	"github.com/grupo-gad/deploy-action/internal/report"
)

func TestCheck(t *testing.T) {
	f := flyfake.New("grupo-gad")
	f.SetSecret("SECRET_KEY", "sk-value-never-shown-1234567890")
	f.SetSecret("database_url", "postgres://u:p@h/db")
	f.SetSecret("JWT_SECRET_KEY", "jwt-value-never-shown-123456789")
	rep := report.New("secrets", report.Secrets)
	req := []Required{
		{Name: "SECRET_KEY"},
		{Name: "DATABASE_URL", Why: "the release command (alembic env.py)", Loc: report.At("alembic/env.py", 12, 5)},
		{Name: "REDIS_URL"},
		{Name: "REDIS_URL"},
		{Name: "JWT_SECRET_KEY"},
	}
	res, err := Check(context.Background(), f, "grupo-gad", req, rep)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() || len(res.Missing) != 2 || res.Missing[0].Name != "DATABASE_URL" || res.Missing[1].Name != "REDIS_URL" {
		t.Fatalf("missing %+v", res.Missing)
	}
	rep.Finish()
	fs := rep.Findings()
	if len(fs) != 2 || rep.Phase(report.Secrets).Status != report.Failed {
		t.Fatalf("findings %+v", fs)
	}
	if fs[1].File != "alembic/env.py" || !strings.Contains(fs[1].Message, "case-sensitive") || !strings.Contains(fs[1].Message, "alembic") {
		t.Errorf("DATABASE_URL finding %+v", fs[1])
	}
	for _, c := range f.Calls() {
		if c.Op != "ListAppSecrets" {
			t.Errorf("unexpected call %s", c.Op)
		}
	}
	for _, fd := range fs {
		if strings.Contains(fd.Message+fd.Fix, "never-shown") || strings.Contains(fd.Message, "u:p@") {
			t.Errorf("a secret value reached a finding: %+v", fd)
		}
	}
}

func TestNamesNeverAsksForValues(t *testing.T) {
	f := flyfake.New("a")
	f.SetSecret("X", "value")
	got, err := Names(context.Background(), asserting{f, t}, "a")
	if err != nil || len(got) != 1 || got[0] != "X" {
		t.Fatalf("Names = %v, %v", got, err)
	}
	f.Fail("ListAppSecrets", 1, 404)
	if _, err := Names(context.Background(), f, "a"); err == nil {
		t.Fatal("no error from a failing API")
	}
}

type asserting struct {
	*flyfake.Fake
	t *testing.T
}

func (a asserting) ListAppSecrets(ctx context.Context, app string, version *uint64, show bool) ([]flygo.AppSecret, error) {
	if show {
		a.t.Error("secret values asked for")
	}
	return a.Fake.ListAppSecrets(ctx, app, version, show)
}
