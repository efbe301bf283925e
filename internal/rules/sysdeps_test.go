package rules

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/project/pydeps"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// bldLoad writes files into a fresh folder and loads it as a project.
func bldLoad(t testing.TB, files map[string]string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := project.Load(dir, project.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// bldCheck runs one rule over files and returns its findings as sorted
// "file:line severity" strings, logging each in full.
func bldCheck(t testing.TB, r *Rule, files map[string]string) ([]string, []report.Finding) {
	t.Helper()
	fs := runOne(r, bldLoad(t, files))
	var out []string
	for _, f := range fs {
		t.Logf("%s %s: %s | fix: %s", f.Severity, f.Location, f.Message, f.Fix)
		if f.Title == "" || f.Message == "" || f.Fix == "" {
			t.Errorf("finding without title, message or fix: %+v", f)
		}
		if len(f.Title) > 60 {
			t.Errorf("title longer than 60 characters: %q", f.Title)
		}
		out = append(out, expectLine(f))
	}
	sort.Strings(out)
	return out, fs
}

// bldCorpus returns a file of the corpus's dockerfiles folder.
func bldCorpus(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.CorpusDir(t, "dockerfiles"), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestAllowsAtLeast(t *testing.T) {
	for _, c := range []struct {
		spec, min string
		want      bool
	}{
		{"", "9.1.0", true},
		{"==8.4.0", "9.1.0", false},
		{"==9.5.0", "9.1.0", true},
		{"<9", "9.1.0", false},
		{">=8,<10", "9.1.0", true},
		{">=9.5,<10", "9.1.0", true},
		{"~=8.3", "9.1.0", false},
		{"==8.*", "9.1.0", false},
		{"!=9.2", "9.1.0", true},
		{">=10", "9.1.0", true},
		{"<35", "35.0.0", false},
		{"<2.2", "2.2.0", false},
		{">=2.0,<2.3", "2.2.0", true},
		{"<9||>=10", "9.1.0", true},
		{"==not a version", "9.1.0", true},
	} {
		if got := allowsAtLeast(c.spec, c.min); got != c.want {
			t.Errorf("allowsAtLeast(%q, %q) = %v, want %v", c.spec, c.min, got, c.want)
		}
	}
}

func TestClassifyImage(t *testing.T) {
	for _, c := range []struct {
		ref  string
		kind int
		fam  string
	}{
		{"python:3.12-slim", basePython, famDebian},
		{"python:3.11.6-slim-bullseye", basePython, famDebian},
		{"python:3.12-alpine", basePython, famAlpine},
		{"python:3.12", baseFull, famDebian},
		{"python:3.9-buster", baseFull, famDebian},
		{"python", baseFull, famDebian},
		{"python:3.12-windowsservercore", baseUnknown, ""},
		{"ghcr.io/astral-sh/uv:python3.12-bookworm-slim", basePython, famDebian},
		{"ghcr.io/astral-sh/uv:python3.12-alpine", basePython, famAlpine},
		{"ghcr.io/astral-sh/uv:bookworm-slim", baseOS, famDebian},
		{"ghcr.io/astral-sh/uv:0.5.4", baseUnknown, ""},
		{"tiangolo/uvicorn-gunicorn-fastapi:python3.11-slim", basePython, famDebian},
		{"tiangolo/uvicorn-gunicorn-fastapi:python3.11", baseFull, famDebian},
		{"ubuntu:24.04", baseOS, famDebian},
		{"alpine:3.21", baseOS, famAlpine},
		{"fedora:41", baseOS, famRHEL},
		{"nvidia/cuda:12.6.3-cudnn-devel-ubuntu22.04", baseUnknown, ""},
		{"ghcr.io/acme/python:3.12-slim", baseUnknown, ""},
	} {
		img, err := dockerfile.ParseImage(c.ref)
		if err != nil {
			t.Fatal(err)
		}
		got := classifyImage(img)
		if got.Kind != c.kind || got.Family != c.fam {
			t.Errorf("classifyImage(%s) = %+v, want kind %d family %q", c.ref, got, c.kind, c.fam)
		}
	}
}

func TestMarkerExcludesLinux(t *testing.T) {
	for _, c := range []struct {
		marker string
		want   bool
	}{
		{`sys_platform == "win32"`, true},
		{`sys_platform=='darwin'`, true},
		{`platform_system == "Windows" and python_version < "3.12"`, true},
		{`sys_platform == "win32" or sys_platform == "linux"`, false},
		{`sys_platform == "linux"`, false},
		{`python_version >= "3.10"`, false},
		{``, false},
	} {
		if got := bldMarkerExcludesLinux(c.marker); got != c.want {
			t.Errorf("bldMarkerExcludesLinux(%q) = %v, want %v", c.marker, got, c.want)
		}
	}
}

func TestLookupSourcePkgs(t *testing.T) {
	for _, c := range []struct {
		req  string
		want string // dist names, joined
	}{
		{"psycopg2==2.9.9", "psycopg2"},
		{"psycopg2-binary==2.9.9", ""},
		{"asyncpg", ""},
		{"psycopg==3.2", "psycopg"},
		{"psycopg[binary]==3.2", ""},
		{"psycopg[binary,pool]", ""},
		{"psycopg[c]", "psycopg-c"},
		{"psycopg-c", "psycopg-c"},
		{"mysqlclient", "mysqlclient"},
		{"Python_LDAP", "python-ldap"},
		{"uWSGI", "uwsgi"},
		{"pyuwsgi", ""},
	} {
		f, _ := pydeps.ParseRequirements("r.txt", []byte(c.req))
		var got []string
		for _, e := range lookupSourcePkgs(f.Requirements[0]) {
			got = append(got, e.dist())
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("lookupSourcePkgs(%s) = %v, want %q", c.req, got, c.want)
		}
	}
}

func TestOverlaps(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"/opt/venv", "/opt/venv", true},
		{"/opt/venv/", "/opt/venv", true},
		{"/opt", "/opt/venv", true},
		{"/opt/venv/lib", "/opt/venv", true},
		{"/opt/venv2", "/opt/venv", false},
		{"/usr/local/bin", "/usr/local/lib/python3.12/site-packages", false},
		{"/usr/local", "/usr/local/lib/python3.12/site-packages", true},
		{"/", "/anything", true},
	} {
		if got := bldOverlaps(c.a, c.b); got != c.want {
			t.Errorf("bldOverlaps(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestInstallDirs checks where each kind of install command writes.
func TestInstallDirs(t *testing.T) {
	for _, c := range []struct {
		name, dockerfile, want string
	}{
		{"system", "FROM python:3.12-slim\nRUN pip install fastapi\n", "/usr/local/lib/python3.12/site-packages"},
		{"prefix", "FROM python:3.12-slim\nWORKDIR /app\nRUN pip install --prefix=install fastapi\n", "/app/install"},
		{"user", "FROM python:3.12-slim\nRUN pip install --user fastapi\n", "/root/.local"},
		{"user as app", "FROM python:3.12-slim\nUSER app\nRUN pip install --user fastapi\n", "/home/app/.local"},
		{"target", "FROM python:3.12-slim\nRUN pip install --target /deps fastapi\n", "/deps"},
		{"wheel dir", "FROM python:3.12-slim\nRUN pip wheel -w /wheels fastapi\n", "/wheels"},
		{"venv on PATH", "FROM python:3.12-slim\nRUN python -m venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\nRUN pip install fastapi\n", "/opt/venv"},
		{"venv pip path", "FROM python:3.12-slim\nRUN python3 -m venv /venv && /venv/bin/pip install fastapi\n", "/venv"},
		{"activated", "FROM python:3.12-slim\nENV V=/v\nRUN python -m venv $V && . $V/bin/activate && pip install fastapi\n", "/v"},
		{"VIRTUAL_ENV", "FROM python:3.12-slim\nENV VIRTUAL_ENV=/v\nRUN pip install fastapi\n", "/v"},
		{"uv sync", "FROM python:3.12-slim\nWORKDIR /app\nRUN uv sync --frozen\n", "/app/.venv"},
		{"uv sync env", "FROM python:3.12-slim\nENV UV_PROJECT_ENVIRONMENT=/usr/local\nRUN uv sync\n", "/usr/local"},
		{"poetry in project", "FROM python:3.12-slim\nENV POETRY_VIRTUALENVS_IN_PROJECT=true\nWORKDIR /srv\nRUN poetry install\n", "/srv/.venv"},
		{"poetry no venv", "FROM python:3.11-slim\nENV POETRY_VIRTUALENVS_CREATE=false\nRUN poetry install\n", "/usr/local/lib/python3.11/site-packages"},
		{"poetry default", "FROM python:3.12-slim\nRUN poetry install\n", "/root/.cache/pypoetry/virtualenvs"},
		{"pipenv in project", "FROM python:3.12-slim\nENV PIPENV_VENV_IN_PROJECT=1\nWORKDIR /app\nRUN pipenv install\n", "/app/.venv"},
		{"pipenv system", "FROM python:3.12-slim\nRUN pipenv install --system\n", "/usr/local/lib/python3.12/site-packages"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := bldLoad(t, map[string]string{"Dockerfile": c.dockerfile})
			st := p.Dockerfile.Final()
			insts := bldInstallsOf(p, st)
			if len(insts) == 0 {
				t.Fatalf("no install found")
			}
			dirs := bldInstallDirs(insts[len(insts)-1])
			if len(dirs) == 0 || dirs[0] != c.want {
				t.Errorf("bldInstallDirs = %v, want %s first", dirs, c.want)
			}
		})
	}
}

// TestResolveContextFile checks how a requirements path in the image is
// traced back to the project file through COPY, ADD and bind mounts.
func TestResolveContextFile(t *testing.T) {
	files := map[string]string{
		"requirements.txt":          "fastapi\n",
		"requirements/prod.txt":     "fastapi\n",
		"backend/requirements.txt":  "fastapi\n",
		"docker/requirements-a.txt": "fastapi\n",
	}
	for _, c := range []struct {
		name, dockerfile, file, want string
	}{
		{"dot dest", "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n", "requirements.txt", "requirements.txt"},
		{"renamed", "FROM python:3.12-slim\nCOPY requirements/prod.txt /tmp/req.txt\nRUN pip install -r /tmp/req.txt\n", "/tmp/req.txt", "requirements/prod.txt"},
		{"into dir", "FROM python:3.12-slim\nCOPY backend/requirements.txt /srv/\nRUN pip install -r /srv/requirements.txt\n", "/srv/requirements.txt", "backend/requirements.txt"},
		{"workdir as dir", "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt /app\nRUN pip install -r /app/requirements.txt\n", "/app/requirements.txt", "requirements.txt"},
		{"whole context", "FROM python:3.12-slim\nWORKDIR /code\nCOPY . .\nRUN pip install -r requirements/prod.txt\n", "requirements/prod.txt", "requirements/prod.txt"},
		{"folder", "FROM python:3.12-slim\nCOPY backend /b\nRUN pip install -r /b/requirements.txt\n", "/b/requirements.txt", "backend/requirements.txt"},
		{"glob", "FROM python:3.12-slim\nCOPY docker/requirements-*.txt /r/\nRUN pip install -r /r/requirements-a.txt\n", "/r/requirements-a.txt", "docker/requirements-a.txt"},
		{"bind mount", "FROM python:3.12-slim\nRUN --mount=type=bind,source=requirements.txt,target=/tmp/r.txt pip install -r /tmp/r.txt\n", "/tmp/r.txt", "requirements.txt"},
		{"from stage", "FROM python:3.12-slim AS gen\nRUN echo x > /r.txt\nFROM python:3.12-slim\nCOPY --from=gen /r.txt /r.txt\nRUN pip install -r /r.txt\n", "/r.txt", ""},
		{"missing file", "FROM python:3.12-slim\nCOPY requirements_production.txt /app/requirements.txt\nRUN pip install -r /app/requirements.txt\n", "/app/requirements.txt", ""},
		{"not copied", "FROM python:3.12-slim\nRUN pip install -r /requirements.txt\n", "/requirements.txt", ""},
		{"copied after", "FROM python:3.12-slim\nRUN pip install -r /requirements.txt\nCOPY requirements.txt /\n", "/requirements.txt", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			all := map[string]string{"Dockerfile": c.dockerfile}
			for k, v := range files {
				all[k] = v
			}
			p := bldLoad(t, all)
			st := p.Dockerfile.Final()
			pi := st.PipInstalls[len(st.PipInstalls)-1]
			got, ok := bldResolveContextFile(p, st, pi.Loc, c.file)
			if got != c.want || ok != (c.want != "") {
				t.Errorf("bldResolveContextFile(%s) = %q, %v; want %q", c.file, got, ok, c.want)
			}
		})
	}
}

// TestSourcePkgsDocumented keeps every entry of the table usable.
func TestSourcePkgsDocumented(t *testing.T) {
	for _, e := range sourcePkgs {
		if e.Name != pydeps.Normalize(e.Name) {
			t.Errorf("%s: name is not normalised", e.Name)
		}
		if e.Fails == "" {
			t.Errorf("%s: no build error text", e.Name)
		}
		if e.Wheels == wheelsGlibc && e.MuslSince == "" {
			t.Errorf("%s: wheelsGlibc without MuslSince", e.Name)
		}
		for _, n := range append(append([]sysNeed{}, e.Needs...), e.Runtime...) {
			if n.What == "" || (len(n.Apt) == 0 && len(n.Apk) == 0) {
				t.Errorf("%s: incomplete need %+v", e.Name, n)
			}
			for _, fam := range []string{famDebian, famAlpine, famRHEL} {
				if names := n.names(fam); len(names) > 0 && strings.ContainsAny(names[0], "*?[") {
					t.Errorf("%s: the first %s name of %q is a pattern; it is the one suggested to install", e.Name, fam, n.What)
				}
			}
		}
	}
}

// TestBuildRulesCorpus runs the six build rules on every repository of the
// corpus's dockerfiles folder, its Dockerfile, requirements, pyproject and
// Pipfile at their real paths. None of these real files has a defect these
// rules report as an error or a warning (see each rule's corpus test for
// the same files made broken on purpose).
func TestBuildRulesCorpus(t *testing.T) {
	dir := testutil.CorpusDir(t, "dockerfiles")
	data, err := os.ReadFile(filepath.Join(dir, "SOURCES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	repos := map[string]map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		cols := strings.Split(line, "\t")
		if i == 0 || len(cols) < 3 {
			continue
		}
		content, err := os.ReadFile(filepath.Join(dir, cols[0]))
		if err != nil {
			t.Fatal(err)
		}
		if repos[cols[1]] == nil {
			repos[cols[1]] = map[string]string{}
		}
		repos[cols[1]][cols[2]] = string(content)
	}
	rules := []*Rule{ruleBuildMissingHeaders, ruleBuildRuntimeLibMissing, ruleBuildPythonMismatch, ruleBuildRequiresPython, ruleBuildCopyFromUnknownStage, ruleBuildUnpinnedBase}
	checked := 0
	for repo, files := range repos {
		// A Dockerfile kept in a folder is the one fly.toml names; build
		// from that folder, as `fly deploy` with [build] dockerfile would.
		for path := range files {
			if base := filepath.Base(path); !strings.EqualFold(base, "Dockerfile") || path == base {
				continue
			}
			files["Dockerfile"] = files[path]
		}
		if _, ok := files["Dockerfile"]; !ok {
			if _, ok := files["dockerfile"]; !ok {
				continue
			}
		}
		p := bldLoad(t, files)
		if p.Dockerfile == nil {
			t.Errorf("%s: Dockerfile not loaded", repo)
			continue
		}
		checked++
		for _, r := range rules {
			for _, f := range runOne(r, p) {
				if f.Severity != report.Notice {
					t.Errorf("%s: %s %s: %s", repo, f.Rule, f.Location, f.Message)
				}
			}
		}
	}
	if checked < 50 {
		t.Errorf("checked %d Dockerfiles, want the corpus's 57", checked)
	}
}
