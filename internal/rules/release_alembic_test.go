package rules

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// relBaseFiles is a small deployable FastAPI + Alembic repository; tests
// change or drop entries (an empty value drops the file).
func relBaseFiles() map[string]string {
	return map[string]string{
		"fly.toml": "app = \"grupo-gad\"\n\n[deploy]\n  release_command = \"alembic upgrade head\"\n\n[http_service]\n  internal_port = 8080\n",
		"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n" +
			"CMD [\"uvicorn\", \"app.main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8080\"]\n",
		"requirements.txt": "fastapi==0.163.2\nsqlalchemy[asyncio]==2.1.9\nasyncpg==0.32.0\nalembic==1.20.1\n",
		"alembic.ini":      "[alembic]\nscript_location = %(here)s/alembic\nprepend_sys_path = .\nsqlalchemy.url =\n",
		"alembic/env.py": "import os\n\nfrom alembic import context\nfrom sqlalchemy.engine import make_url\n\n\n" +
			"def database_url():\n    url = make_url(os.environ[\"DATABASE_URL\"]).set(drivername=\"postgresql+asyncpg\")\n" +
			"    sslmode = url.query.get(\"sslmode\")\n    if sslmode:\n        url = url.difference_update_query([\"sslmode\"]).update_query_dict({\"ssl\": sslmode})\n" +
			"    return url.render_as_string(hide_password=False)\n",
		"alembic/versions/29e2b3c8b942_create_units.py": relTestRevision("29e2b3c8b942", "None", "    op.create_table(\"units\", sa.Column(\"id\", sa.Integer(), primary_key=True))"),
		"app/__init__.py": "",
		"app/main.py":     "from fastapi import FastAPI\n\napp = FastAPI()\n",
	}
}

// relTestRevision is a migration module; down is Python source ("None",
// `"abc"`, `("a", "b")`). down_revision is on line 9.
func relTestRevision(id, down, body string) string {
	if body == "" {
		body = "    pass"
	}
	return "\"\"\"revision " + id + "\n\nRevision ID: " + id + "\n\"\"\"\nimport sqlalchemy as sa\nfrom alembic import op\n\n" +
		"revision = \"" + id + "\"\ndown_revision = " + down + "\nbranch_labels = None\ndepends_on = None\n\n\n" +
		"def upgrade() -> None:\n" + body + "\n\n\ndef downgrade() -> None:\n    pass\n"
}

// relTestRepo writes files (base files overridden by changes; "" drops a
// file) into a temporary folder and loads it.
func relTestRepo(t *testing.T, base, changes map[string]string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for k, v := range base {
		files[k] = v
	}
	for k, v := range changes {
		files[k] = v
	}
	for rel, content := range files {
		if content == "" && rel != "app/__init__.py" {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := project.Load(dir, project.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// relCheckRule runs one rule and checks the findings are well formed.
func relCheckRule(t *testing.T, r *Rule, p *project.Project) []report.Finding {
	t.Helper()
	fs := runOne(r, p)
	for _, f := range fs {
		if f.Rule != r.ID || f.Title == "" || f.Message == "" || f.Fix == "" || f.File == "" || f.Line == 0 {
			t.Errorf("malformed finding: %+v", f)
		}
		if n := len([]rune(f.Title)); n > 60 {
			t.Errorf("title longer than 60 characters (%d): %q", n, f.Title)
		}
		if strings.Contains(f.Message, "internal error") {
			t.Errorf("rule crashed: %s", f.Message)
		}
	}
	return fs
}

// relCorpusRepo rebuilds one repository of the corpus (fly.toml,
// Dockerfile, requirements, alembic.ini and the sampled migrations) at the
// files' real paths and loads it with the given fly.toml ("" for none).
// Only a sample of each migration history is in the corpus.
func relCorpusRepo(t *testing.T, repo, flyPath string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	found := 0
	for _, sub := range []string{"flytoml", "dockerfiles", "alembic"} {
		base := testutil.CorpusDir(t, sub)
		f, err := os.Open(filepath.Join(base, "SOURCES.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			cols := strings.Split(sc.Text(), "\t")
			if len(cols) < 3 || cols[1] != repo {
				continue
			}
			data, err := os.ReadFile(filepath.Join(base, filepath.FromSlash(cols[0])))
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, filepath.FromSlash(cols[2]))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				t.Fatal(err)
			}
			found++
		}
		f.Close()
	}
	if found == 0 {
		t.Fatalf("corpus has no file of %s", repo)
	}
	opt := project.Options{}
	if flyPath != "" {
		opt.Config = filepath.Join(dir, filepath.FromSlash(flyPath))
	}
	p, err := project.Load(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRelAnalyzeRuns(t *testing.T) {
	tests := []struct {
		name, rc string
		files    map[string]string
		// want is "display|config|section|command|target|cwd|via" per run.
		want []string
	}{
		{name: "plain", rc: "alembic upgrade head", want: []string{"alembic upgrade head||alembic|upgrade|head||"}},
		{name: "config and name", rc: "alembic -c backend/alembic.ini -n tenant upgrade heads",
			want: []string{"alembic -c backend/alembic.ini -n tenant upgrade heads|backend/alembic.ini|tenant|upgrade|heads||"}},
		{name: "long options", rc: "alembic --config=db/alembic.ini --raiseerr upgrade --sql head",
			want: []string{"alembic --config=db/alembic.ini --raiseerr upgrade --sql head|db/alembic.ini|alembic|upgrade|head||"}},
		{name: "python -m", rc: "python3.12 -u -m alembic upgrade head", want: []string{"python3.12 -u -m alembic upgrade head||alembic|upgrade|head||"}},
		{name: "wrappers", rc: "poetry run alembic upgrade head", want: []string{"alembic upgrade head||alembic|upgrade|head||"}},
		{name: "venv path", rc: "/app/.venv/bin/alembic upgrade head", want: []string{"/app/.venv/bin/alembic upgrade head||alembic|upgrade|head||"}},
		{name: "sh -c with cd", rc: "sh -c 'cd /srv/app && alembic upgrade head && python -m app.seed'",
			want: []string{"alembic upgrade head||alembic|upgrade|head|/srv/app|"}},
		{name: "flask", rc: "flask --app crunevo.app:create_app db upgrade", want: []string{"flask --app crunevo.app:create_app db upgrade|migrations/alembic.ini|alembic|upgrade|head||"}},
		{name: "flask directory", rc: "flask db upgrade -d db/migrations", want: []string{"flask db upgrade -d db/migrations|db/migrations/alembic.ini|alembic|upgrade|head||"}},
		{name: "not alembic", rc: "python manage.py migrate --noinput", files: map[string]string{"manage.py": "import django\n"}, want: nil},
		{name: "operators still scanned", rc: "alembic upgrade head && python -m app.seed", want: []string{"alembic upgrade head||alembic|upgrade|head||"}},
		{name: "shell script", rc: "./scripts/release.sh", files: map[string]string{
			"scripts/release.sh": "#!/bin/sh\nset -e\ncd /app\necho migrating\nalembic -c alembic.ini upgrade head\n"},
			want: []string{"alembic -c alembic.ini upgrade head|alembic.ini|alembic|upgrade|head|/app|scripts/release.sh:5"}},
		{name: "bash script through pipenv", rc: "pipenv run bash .bin/release.sh", files: map[string]string{
			".bin/release.sh": "#!/bin/bash\npython -m alembic upgrade head\n"},
			want: []string{"python -m alembic upgrade head||alembic|upgrade|head||.bin/release.sh:2"}},
		{name: "python api", rc: "python migrate.py", files: map[string]string{
			"migrate.py": "from alembic import command\nfrom alembic.config import Config\n\ncfg = Config(\"alembic.ini\")\ncommand.upgrade(cfg, \"head\")\n"},
			want: []string{"command.upgrade(cfg, \"head\")|alembic.ini|alembic|upgrade|head||migrate.py:5"}},
		{name: "python api, config built in code", rc: "python -m app.migrate", files: map[string]string{
			"app/migrate.py": "from alembic import command\nfrom alembic.config import Config\n\ncfg = Config()\ncfg.set_main_option(\"script_location\", \"alembic\")\ncommand.upgrade(cfg, \"head\")\n"},
			want: []string{"command.upgrade(cfg, \"head\")|?|alembic|upgrade|head||app/migrate.py:6"}},
		{name: "python subprocess", rc: "python release.py", files: map[string]string{
			"release.py": "import subprocess\n\nsubprocess.run([\"alembic\", \"upgrade\", \"head\"], check=True)\n"},
			want: []string{"subprocess.run([\"alembic\", \"upgrade\", \"head\"], check=True)||alembic|upgrade|head||release.py:3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes := map[string]string{"fly.toml": strings.Replace(relBaseFiles()["fly.toml"], "alembic upgrade head", strings.ReplaceAll(tt.rc, `"`, `\"`), 1)}
			for k, v := range tt.files {
				changes[k] = v
			}
			p := relTestRepo(t, relBaseFiles(), changes)
			rel := relAnalyzeUncached(p)
			if rel == nil {
				t.Fatal("no release command")
			}
			var got []string
			for _, r := range rel.Runs {
				cfg := r.Config
				if r.ConfigUnknown {
					cfg = "?"
				}
				via := ""
				if r.Via != "" {
					via = r.Via + ":" + strconv.Itoa(r.ViaLine)
				}
				got = append(got, strings.Join([]string{r.Display, cfg, r.Section, r.Command, r.Target, r.Cwd, via}, "|"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("runs:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRelImageIni(t *testing.T) {
	df := func(body string) string { return body }
	tests := []struct {
		name    string
		changes map[string]string
		want    relIniState
		img     string
	}{
		{name: "copy all", want: relIniOK, img: "/app/alembic.ini"},
		{name: "explicit file into workdir without slash", changes: map[string]string{
			"Dockerfile": df("FROM python:3.12-slim\nWORKDIR /app\nCOPY alembic.ini /app\nCOPY alembic alembic\n")}, want: relIniOK},
		{name: "glob", changes: map[string]string{
			"Dockerfile": df("FROM python:3.12-slim\nWORKDIR /app\nCOPY *.ini *.txt ./\n")}, want: relIniOK},
		{name: "relative workdir", changes: map[string]string{
			"Dockerfile": df("FROM python:3.12-slim\nWORKDIR /srv\nWORKDIR app\nCOPY . .\n")}, want: relIniOK, img: "/srv/app/alembic.ini"},
		{name: "workdir set after the copy", changes: map[string]string{
			"Dockerfile": df("FROM python:3.12-slim\nCOPY . /code/\nWORKDIR /code\n")}, want: relIniOK, img: "/code/alembic.ini"},
		{name: "copy before workdir lands elsewhere", changes: map[string]string{
			"Dockerfile": df("FROM python:3.12-slim\nCOPY . .\nWORKDIR /app\n")}, want: relIniNotCopied, img: "/app/alembic.ini"},
		{name: "variable destination", changes: map[string]string{
			"Dockerfile": df("FROM python:3.12-slim\nENV APP_HOME=/home/app/web\nWORKDIR $APP_HOME\nCOPY . $APP_HOME\n")}, want: relIniOK, img: "/home/app/web/alembic.ini"},
		{name: "through two stages", changes: map[string]string{
			"Dockerfile": df("FROM python:3.12-slim AS src\nCOPY . /src\n\nFROM python:3.12-slim AS build\nCOPY --from=src /src/ /build/\n\nFROM python:3.12-slim\nWORKDIR /app\nCOPY --from=build /build .\n")}, want: relIniOK},
		{name: "inherited from the base stage", changes: map[string]string{
			"Dockerfile": df("FROM python:3.12-slim AS base\nWORKDIR /app\nCOPY alembic.ini ./\n\nFROM base\nCOPY app/ ./app/\n")}, want: relIniOK},
		{name: "from another image", changes: map[string]string{
			"Dockerfile": df("FROM python:3.12-slim\nWORKDIR /app\nCOPY --from=ghcr.io/acme/migrations:1 /migrations /app\n")}, want: relIniUnknown},
		{name: "archive", changes: map[string]string{
			"Dockerfile": df("FROM python:3.12-slim\nWORKDIR /app\nADD release.tar.gz /app/\n"), "release.tar.gz": "x"}, want: relIniUnknown},
		{name: "ALEMBIC_CONFIG from fly.toml", changes: map[string]string{
			"fly.toml":    relBaseFiles()["fly.toml"] + "\n[env]\n  ALEMBIC_CONFIG = \"/app/db/alembic.ini\"\n",
			"alembic.ini": "", "db/alembic.ini": "[alembic]\nscript_location = %(here)s/../alembic\n"}, want: relIniOK, img: "/app/db/alembic.ini"},
		{name: "pyproject configures alembic", changes: map[string]string{
			"alembic.ini": "", "pyproject.toml": "[project]\nname = \"x\"\n\n[tool.alembic]\nscript_location = \"%(here)s/alembic\"\n"}, want: relIniUnknown},
		{name: "dockerignore exception keeps it", changes: map[string]string{
			".dockerignore": "*.ini\n!alembic.ini\n"}, want: relIniOK},
		{name: "dockerignore", changes: map[string]string{".dockerignore": "**/*.ini\n"}, want: relIniIgnored},
		{name: "missing", changes: map[string]string{"alembic.ini": ""}, want: relIniMissing},
		{name: "prebuilt image", changes: map[string]string{
			"fly.toml": relBaseFiles()["fly.toml"] + "\n[build]\n  image = \"registry.fly.io/grupo-gad:v42\"\n", "alembic.ini": ""}, want: relIniUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := relTestRepo(t, relBaseFiles(), tt.changes)
			rel := relAnalyzeUncached(p)
			if rel == nil || len(rel.Runs) != 1 {
				t.Fatalf("want one alembic run, got %+v", rel)
			}
			ini := rel.ini(p, rel.Runs[0])
			if ini.State != tt.want {
				t.Errorf("state = %d, want %d (img %q, why %q)", ini.State, tt.want, ini.Img, ini.Why)
			}
			if tt.img != "" && ini.Img != tt.img {
				t.Errorf("img = %q, want %q", ini.Img, tt.img)
			}
		})
	}
}

func TestRelRelPath(t *testing.T) {
	tests := []struct{ base, target, want string }{
		{".", "alembic", "alembic"},
		{"backend", "backend/alembic", "alembic"},
		{"backend", "alembic", "../alembic"},
		{"/app", "/app/alembic.ini", "alembic.ini"},
		{"/", "/srv/x", "srv/x"},
		{"/app", "/srv/x", "../srv/x"},
		{"/app", "/app", "."},
		{"a/b", "c", "../../c"},
	}
	for _, tt := range tests {
		if got := relRelPath(tt.base, tt.target); got != tt.want {
			t.Errorf("relRelPath(%q, %q) = %q, want %q", tt.base, tt.target, got, tt.want)
		}
	}
}

// TestRelEntrypointChangesDir: fly keeps the image's ENTRYPOINT in front of
// release_command, so an entrypoint script that changes directory moves
// alembic out of WORKDIR: the rules then do not guess where it runs.
func TestRelEntrypointChangesDir(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		want    bool
	}{
		{name: "none"},
		{name: "exec form without cd", changes: map[string]string{
			"Dockerfile": relBaseFiles()["Dockerfile"] + "ENTRYPOINT [\"/usr/bin/tini\", \"--\"]\n"}},
		{name: "script with cd", want: true, changes: map[string]string{
			"Dockerfile":           relBaseFiles()["Dockerfile"] + "ENTRYPOINT [\"./docker-entrypoint.sh\"]\n",
			"docker-entrypoint.sh": "#!/bin/sh\nset -e\ncd /app/backend\nexec \"$@\"\n"}},
		{name: "script without cd", changes: map[string]string{
			"Dockerfile":           relBaseFiles()["Dockerfile"] + "ENTRYPOINT [\"/app/docker-entrypoint.sh\"]\n",
			"docker-entrypoint.sh": "#!/bin/sh\nset -e\n# cd is not needed\nexec \"$@\"\n"}},
		{name: "shell form with cd", want: true, changes: map[string]string{
			"Dockerfile": relBaseFiles()["Dockerfile"] + "ENTRYPOINT cd /srv && exec \"$@\"\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := relTestRepo(t, relBaseFiles(), tt.changes)
			im := relNewImage(p)
			if got := im.Workdir == ""; got != tt.want {
				t.Errorf("workdir unknown = %v, want %v (workdir %q)", got, tt.want, im.Workdir)
			}
		})
	}
}
