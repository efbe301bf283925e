package diagnose

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// TestPointers diagnoses logs against the repository's example projects
// (and one in testdata) and checks the file and line each finding points
// at.
func TestPointers(t *testing.T) {
	ex := filepath.Join(testutil.RepoRoot(t), "examples")
	tests := []struct {
		name   string
		dir    string // under examples/, or testdata/…
		corpus string // a corpus log, or
		lines  []string
		id     string
		loc    string // file:line
		in     string // text of the message
	}{
		{name: "pg_config → pip install", dir: "broken/build-pg-config", corpus: "B01.log", id: "log-pg-config", loc: "Dockerfile:7", in: "requirements.txt declares at line"},
		{name: "proxy refused → CMD", dir: "broken/runtime-localhost", corpus: "H05.log", id: "log-proxy-refused", loc: "Dockerfile:12", in: "It binds 127.0.0.1"},
		{name: "OOM → [[vm]] memory", dir: "broken/runtime-oom", corpus: "H10.log", id: "log-oom-killed", loc: "fly.toml:19", in: "256 MB"},
		{name: "gunicorn SIGKILL → [[vm]] memory", dir: "grupo-gad", corpus: "H11.log", id: "log-worker-sigkill", loc: "fly.toml:37", in: "512 MB"},
		{name: "two heads → a head revision", dir: "broken/release-two-heads", corpus: "R05.log", id: "log-alembic-multiple-heads", loc: "alembic/versions/ea3f2633a037_create_incidents.py:14", in: "2 heads"},
		{name: "missing revision → down_revision", dir: "broken/release-broken-chain", lines: []string{"FAILED: Can't locate revision identified by '1b0ae377cbf6'"},
			id: "log-alembic-revision-missing", loc: "alembic/versions/ea3f2633a037_create_incidents.py:15", in: "down_revision"},
		{name: "unknown revision → release_command", dir: "broken/release-broken-chain", corpus: "R07.log", id: "log-alembic-revision-missing", loc: "fly.toml:5", in: "release_command runs"},
		{name: "release failed → release_command", dir: "grupo-gad", corpus: "R01.log", id: "log-release-command-failed", loc: "fly.toml:15", in: "alembic upgrade head"},
		{name: "env.py failed → release_command", dir: "grupo-gad", corpus: "S08.log", id: "log-alembic-env-failed", loc: "fly.toml:15"},
		{name: "libpq → final stage", dir: "broken/build-runtime-libpq", corpus: "H14.log", id: "log-libpq-missing", loc: "Dockerfile:14", in: "does not install libpq5"},
		{name: "postgres scheme → DATABASE_URL", dir: "grupo-gad", corpus: "H17.log", id: "log-sqlalchemy-postgres-scheme", loc: "app/core/config.py:14", in: "DATABASE_URL here"},
		{name: "SECRET_KEY at build → settings", dir: "grupo-gad", corpus: "B16.log", id: "log-env-missing", loc: "app/core/config.py:12", in: "requires SECRET_KEY"},
		{name: "settings fields → settings", dir: "grupo-gad", lines: []string{
			"pydantic_core._pydantic_core.ValidationError: 2 validation errors for Settings",
			"jwt_secret_key", "  Field required [type=missing, input_value={}, input_type=dict]",
			"database_url", "  Field required [type=missing, input_value={}, input_type=dict]",
		}, id: "log-settings-invalid", loc: "app/core/config.py:13", in: "JWT_SECRET_KEY, DATABASE_URL"},
		{name: "health timeout → grace_period", dir: "broken/runtime-check-timing", corpus: "H01.log", id: "log-health-timeout", loc: "fly.toml:16", in: "grace_period"},
		{name: "ASGI import → CMD", dir: "grupo-gad", corpus: "H13.log", id: "log-asgi-import", loc: "Dockerfile:32"},
		{name: "CA certificates → final stage", dir: "grupo-gad", corpus: "N07.log", id: "log-tls-untrusted", loc: "Dockerfile:15", in: "does not install ca-certificates"},
		{name: "fly.toml syntax → its line", dir: "broken/fly-toml-syntax", lines: []string{"Error: failed loading app config from /src/fly.toml: toml: line 7: Key 'env.PORT' has already been defined."},
			id: "log-fly-toml-duplicate", loc: "fly.toml:7"},
		{name: "column exists → create_all", dir: "broken/release-create-all", lines: []string{
			`asyncpg.exceptions.DuplicateTableError: relation "incidents" already exists`,
		}, id: "log-db-object-exists", loc: "app/main.py:14", in: "create_all"},
		{name: "alembic.ini ignored → .dockerignore", dir: "broken/release-alembic-dockerignored", lines: []string{"  FAILED: No 'script_location' key found in configuration."},
			id: "log-alembic-no-script-location", loc: ".dockerignore:6", in: "excludes alembic.ini"},
		{name: "COPY of an ignored file → COPY", dir: "testdata/repo-dockerignored", corpus: "B07.log", id: "log-copy-missing", loc: "Dockerfile:3", in: ".dockerignore line 4 excludes it"},
		{name: "no Dockerfile → fly.toml", dir: "broken/build-dockerfile-missing", corpus: "B11.log", id: "log-no-dockerfile", loc: "fly.toml:4", in: "no Dockerfile"},
		{name: "no pointer without a cause in the repo", dir: "grupo-gad", corpus: "R04.log", id: "log-release-machine-vanished", loc: "deploy.log:1"},
	}
	logs := testutil.CorpusDir(t, "logs")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(ex, tt.dir)
			if strings.HasPrefix(tt.dir, "testdata/") {
				dir = tt.dir
			}
			p, err := project.Load(dir, project.Options{})
			if err != nil {
				t.Fatal(err)
			}
			lines := tt.lines
			if tt.corpus != "" {
				data, err := os.ReadFile(filepath.Join(logs, tt.corpus))
				if err != nil {
					t.Fatal(err)
				}
				lines = splitLines(data)
			}
			fs := diagnoseLines(t, Options{Project: p, LogName: "deploy.log"}, lines...)
			f := find(fs, tt.id)
			if f == nil {
				t.Fatalf("no %s finding: %v", tt.id, rules(fs))
			}
			if got := f.File + ":" + strconv.Itoa(f.Line); got != tt.loc {
				t.Errorf("points at %s, want %s\n%s", got, tt.loc, f.Message)
			}
			if !strings.Contains(f.Message, tt.in) {
				t.Errorf("message lacks %q: %s", tt.in, f.Message)
			}
			if !strings.Contains(f.Message, "Log line ") {
				t.Errorf("message lacks the log line: %s", f.Message)
			}
		})
	}
}
