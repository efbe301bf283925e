package dockerfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// parseString parses an inline Dockerfile and fails on error findings.
func parseString(t *testing.T, text string) *File {
	t.Helper()
	f, findings := Parse("Dockerfile", []byte(text))
	for _, fd := range findings {
		t.Fatalf("unexpected finding %s: %s", fd.Location, fd.Message)
	}
	return f
}

// pkgNames returns "name@line:col" for each package.
func pkgNames(pkgs []SysPackage) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, fmt.Sprintf("%s@%d:%d", p.Name, p.Loc.Line, p.Loc.Column))
	}
	return out
}

func TestParseTestdata(t *testing.T) {
	type want struct {
		line, col, endLine int
		msg                string
	}
	tests := []struct {
		file     string
		findings []want
		stages   int
		check    func(t *testing.T, f *File)
	}{
		{file: "empty.Dockerfile", findings: []want{{1, 1, 1, "empty or holds only comments"}}},
		{file: "comments-only.Dockerfile", findings: []want{{1, 1, 1, "empty or holds only comments"}}},
		{
			file:     "bad-instruction.Dockerfile",
			findings: []want{{5, 5, 5, `unknown instruction "libpq-dev"`}},
			stages:   1,
			check: func(t *testing.T, f *File) {
				s := f.Final()
				if got := pkgNames(s.Packages); !reflect.DeepEqual(got, []string{"gcc@4:5"}) {
					t.Errorf("packages = %q", got)
				}
				if s.Cmd == nil || len(s.PipInstalls) != 1 {
					t.Errorf("instructions after the bad line were lost: cmd %v, pip %d", s.Cmd, len(s.PipInstalls))
				}
			},
		},
		{
			file:     "bad-json.Dockerfile",
			findings: []want{{3, 1, 3, "arrays must be comprised of strings"}},
			stages:   1,
			check: func(t *testing.T, f *File) {
				if s := f.Final(); len(s.Expose) != 1 || s.Expose[0].Port != 8080 || s.Cmd != nil {
					t.Errorf("expose %+v cmd %v; want EXPOSE 8080 kept and the bad CMD dropped", s.Expose, s.Cmd)
				}
			},
		},
		{
			file:     "unterminated-heredoc.Dockerfile",
			findings: []want{{3, 1, 5, "unterminated heredoc"}},
			stages:   1,
			check: func(t *testing.T, f *File) {
				if got := pkgNames(f.Final().Packages); !reflect.DeepEqual(got, []string{"libpq5@2:24"}) {
					t.Errorf("packages = %q", got)
				}
			},
		},
		{file: "no-from.Dockerfile", findings: []want{{2, 1, 2, "before any FROM"}}},
		{
			file:   "heredoc.Dockerfile",
			stages: 1,
			check: func(t *testing.T, f *File) {
				s := f.Final()
				if got := pkgNames(s.Packages); !reflect.DeepEqual(got, []string{"libpq5@7:5", "curl@8:5"}) {
					t.Errorf("packages = %q (the python heredoc must not count)", got)
				}
				if len(s.PipInstalls) != 1 || s.PipInstalls[0].Packages[0] != "psycopg[binary]==3.2.1" || s.PipInstalls[0].Loc.Line != 20 {
					t.Errorf("pip installs = %+v", s.PipInstalls)
				}
				if r := s.Runs[0]; !r.Heredoc || r.Loc.Line != 3 || r.Loc.EndLine != 10 || len(r.Flags) != 1 {
					t.Errorf("first RUN = %+v", r)
				}
				if len(s.Copies) != 1 || s.Copies[0].Sources[0] != "<<EOF" || s.Copies[0].Dest != "/app/settings.ini" {
					t.Errorf("copies = %+v", s.Copies)
				}
			},
		},
		{
			file:   "continuation.Dockerfile",
			stages: 1,
			check: func(t *testing.T, f *File) {
				s := f.Final()
				if s.Name != "Build" || f.Target("build") != s {
					t.Errorf("stage name %q, Target(build) = %v", s.Name, f.Target("build"))
				}
				if got := pkgNames(s.Packages); !reflect.DeepEqual(got, []string{"build-essential@10:9", "libpq-dev@12:9"}) {
					t.Errorf("packages = %q", got)
				}
				if got := pkgNames(s.RemovedPackages); !reflect.DeepEqual(got, []string{"build-essential@15:39"}) {
					t.Errorf("removed = %q", got)
				}
				if got := pkgNames(s.EffectivePackages()); !reflect.DeepEqual(got, []string{"libpq-dev@12:9"}) {
					t.Errorf("effective = %q", got)
				}
				if pi := s.PipInstalls; len(pi) != 1 || pi[0].Loc.Line != 14 || pi[0].Packages[0] != "psycopg2==2.9.9" {
					t.Errorf("pip = %+v", pi)
				}
				if len(s.Env) != 2 || s.Env[1].Name != "APP_HOME" || s.Env[1].Loc.Line != 5 || s.Env[1].Value != "/srv/app" {
					t.Errorf("env = %+v", s.Env)
				}
				if s.Workdir != "/srv/app" {
					t.Errorf("workdir = %q", s.Workdir)
				}
				if len(s.Expose) != 2 || s.Expose[1].Port != 9000 || s.Expose[1].Proto != "udp" {
					t.Errorf("expose = %+v", s.Expose)
				}
				if c := s.Cmd; c == nil || c.Exec || !reflect.DeepEqual(c.Argv, []string{"gunicorn", "app.wsgi", "--bind", "0.0.0.0:8000"}) {
					t.Errorf("cmd = %+v", c)
				}
			},
		},
		{
			file:   "escape-backtick.Dockerfile",
			stages: 1,
			check: func(t *testing.T, f *File) {
				pi := f.Final().PipInstalls
				if len(pi) != 1 || !reflect.DeepEqual(pi[0].Packages, []string{"flask", "gunicorn"}) || pi[0].PackageLocs[1].Line != 5 {
					t.Errorf("pip = %+v", pi)
				}
			},
		},
		{
			file:   "global-args.Dockerfile",
			stages: 2,
			check: func(t *testing.T, f *File) {
				b := f.Stages[0]
				if b.BaseResolved != "python:3.12-slim-bookworm" || b.Platform != "$BUILDPLATFORM" || b.Name != "Builder" {
					t.Errorf("stage 0 = %q %q %q", b.BaseResolved, b.Platform, b.Name)
				}
				if v, loc, ok := b.PythonVersion(); !ok || v != "3.12" || loc.Line != 4 || loc.Column != 32 {
					t.Errorf("python = %q %v %v", v, loc, ok)
				}
				final := f.Final()
				if final.FromStage != b || !final.Image.IsZero() {
					t.Errorf("final FromStage = %v, image %+v", final.FromStage, final.Image)
				}
				if f.Stage(final.Copies[0].From) != b || f.Stage(final.Copies[1].From) != b || f.Stage("python:3.12") != nil {
					t.Errorf("Stage() lookups wrong")
				}
				if b.PipInstalls[0].Prefix != "/install" || b.PipInstalls[0].PrefixFlag != "--prefix" {
					t.Errorf("prefix = %+v", b.PipInstalls[0])
				}
				if len(f.GlobalArgs) != 3 || f.GlobalArgs[2].Default != "python:${PYTHON_VERSION}-${VARIANT}" {
					t.Errorf("global args = %+v", f.GlobalArgs)
				}
				if e := final.EffectiveEntrypoint(); e == nil || final.EffectiveCmd() != nil {
					t.Errorf("entrypoint %v cmd %v", e, final.EffectiveCmd())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rel := "app/" + tt.file
			f, findings := Parse(rel, data)
			if len(findings) != len(tt.findings) {
				t.Fatalf("findings = %+v, want %d", findings, len(tt.findings))
			}
			for i, w := range tt.findings {
				fd := findings[i]
				if fd.Rule != RuleSyntax || fd.Severity != report.Error || fd.File != rel ||
					fd.Line != w.line || fd.Column != w.col || fd.EndLine != w.endLine ||
					!strings.Contains(fd.Message, w.msg) || fd.Fix == "" || fd.Title == "" {
					t.Errorf("finding %d = %+v, want %s:%d:%d-%d %q", i, fd, rel, w.line, w.col, w.endLine, w.msg)
				}
			}
			if len(f.Stages) != tt.stages {
				t.Fatalf("%d stages, want %d", len(f.Stages), tt.stages)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func TestUnknownInstructionSuggestion(t *testing.T) {
	_, findings := Parse("Dockerfile", []byte("FROM python:3.12\nRUNN pip install x\n"))
	if len(findings) != 1 || findings[0].Line != 2 || !strings.Contains(findings[0].Message, "RUNN") {
		t.Fatalf("findings = %+v", findings)
	}
	t.Log(findings[0].Message)
}

func TestPackages(t *testing.T) {
	tests := []struct {
		name            string
		run             string
		added, removed  []string
		manager, virtua string
	}{
		{"apt one line", "RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev gcc=4:12.2.0-3",
			[]string{"libpq-dev@2:66", "gcc@2:76"}, nil, "apt", ""},
		{"apt options first", "RUN apt-get -y -o Dpkg::Options::=--force-confnew install curl",
			[]string{"curl@2:59"}, nil, "apt", ""},
		{"apt-get update only", "RUN apt-get update && apt-get upgrade -y", nil, nil, "", ""},
		{"apt purge", "RUN apt-get purge -y --auto-remove gcc && apt-get autoremove -y",
			nil, []string{"gcc@2:36"}, "apt", ""},
		{"apk virtual", "RUN apk add --no-cache --virtual .build-deps gcc musl-dev && pip install x && apk del .build-deps",
			[]string{"gcc@2:46", "musl-dev@2:50"}, []string{"gcc@2:87", "musl-dev@2:87"}, "apk", ".build-deps"},
		{"apk version", "RUN apk add postgresql-libs~=16 libpq=16.1-r0", []string{"postgresql-libs@2:13", "libpq@2:33"}, nil, "apk", ""},
		{"dnf", "RUN dnf install -y --setopt=install_weak_deps=False gcc-c++ make && dnf remove -y make",
			[]string{"gcc-c++@2:53", "make@2:61"}, []string{"make@2:83"}, "dnf", ""},
		{"yum", "RUN yum -y install postgresql-devel", []string{"postgresql-devel@2:20"}, nil, "yum", ""},
		{"microdnf", "RUN microdnf install -y libpq", []string{"libpq@2:25"}, nil, "microdnf", ""},
		{"variable in script", "RUN DEPS='libpq-dev gcc' && apt-get install -y $DEPS",
			[]string{"libpq-dev@2:11", "gcc@2:21"}, nil, "apt", ""},
		{"unknown variable skipped", "RUN apt-get install -y $(cat pkgs.txt) ${EXTRA}", nil, nil, "", ""},
		{"sh -c", `RUN sh -c "apt-get install -y libpq5"`, []string{"libpq5@2:31"}, nil, "apt", ""},
		{"env prefix", "RUN DEBIAN_FRONTEND=noninteractive apt-get install -yq tzdata", []string{"tzdata@2:56"}, nil, "apt", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseString(t, "FROM debian:bookworm\n"+tt.run+"\n")
			s := f.Final()
			if got := pkgNames(s.Packages); !reflect.DeepEqual(got, tt.added) {
				t.Errorf("added = %q, want %q", got, tt.added)
			}
			if got := pkgNames(s.RemovedPackages); !reflect.DeepEqual(got, tt.removed) {
				t.Errorf("removed = %q, want %q", got, tt.removed)
			}
			for _, p := range s.Packages {
				if p.Manager != tt.manager || p.Virtual != tt.virtua {
					t.Errorf("package %+v: want manager %q virtual %q", p, tt.manager, tt.virtua)
				}
			}
		})
	}
	s := parseString(t, "FROM debian\nRUN apt-get install -y gcc=4:12.2.0-3\n").Final()
	if s.Packages[0].Version != "4:12.2.0-3" {
		t.Errorf("version = %q", s.Packages[0].Version)
	}
}

func TestPipInstalls(t *testing.T) {
	tests := []struct {
		run  string
		want PipInstall
	}{
		{"pip install -r requirements.txt", PipInstall{Tool: "pip", Subcommand: "install", RequirementFiles: []string{"requirements.txt"}}},
		{"pip3 install --no-cache-dir --upgrade pip", PipInstall{Tool: "pip", Subcommand: "install", Packages: []string{"pip"}}},
		{"python -m pip install 'psycopg[binary]' psycopg2==2.9.9", PipInstall{Tool: "pip", Subcommand: "install", Packages: []string{"psycopg[binary]", "psycopg2==2.9.9"}}},
		{"python3.11 -m pip install --requirement=req.txt -c constraints.txt", PipInstall{Tool: "pip", Subcommand: "install", RequirementFiles: []string{"req.txt"}, Constraints: []string{"constraints.txt"}}},
		{"/opt/venv/bin/pip install -e . ", PipInstall{Tool: "pip", Subcommand: "install", Editable: []string{"."}, InstallsProject: true}},
		{"pip install .[postgres]", PipInstall{Tool: "pip", Subcommand: "install", InstallsProject: true}},
		{"pip install --no-binary psycopg2,lxml --only-binary=:all: x", PipInstall{Tool: "pip", Subcommand: "install", Packages: []string{"x"}, NoBinary: []string{"psycopg2", "lxml"}, OnlyBinary: []string{":all:"}}},
		{"pip install --user -rrequirements.txt", PipInstall{Tool: "pip", Subcommand: "install", RequirementFiles: []string{"requirements.txt"}, Prefix: "~/.local", PrefixFlag: "--user"}},
		{"pip install --target /deps -i https://pypi.org/simple flask", PipInstall{Tool: "pip", Subcommand: "install", Packages: []string{"flask"}, Prefix: "/deps", PrefixFlag: "--target"}},
		{"pip wheel --wheel-dir /wheels -r requirements.txt", PipInstall{Tool: "pip", Subcommand: "wheel", RequirementFiles: []string{"requirements.txt"}, Prefix: "/wheels", PrefixFlag: "--wheel-dir"}},
		{"uv pip install --system --no-cache -r requirements.txt", PipInstall{Tool: "uv pip", Subcommand: "install", RequirementFiles: []string{"requirements.txt"}}},
		{"uv pip sync requirements.lock", PipInstall{Tool: "uv pip", Subcommand: "sync", RequirementFiles: []string{"requirements.lock"}}},
		{"uv sync --frozen --no-dev", PipInstall{Tool: "uv sync", Subcommand: "sync", InstallsProject: true}},
		{"uv sync --frozen --no-install-project", PipInstall{Tool: "uv sync", Subcommand: "sync"}},
		{"poetry install --no-root --only main", PipInstall{Tool: "poetry", Subcommand: "install"}},
		{"poetry install", PipInstall{Tool: "poetry", Subcommand: "install", InstallsProject: true}},
		{"poetry add gunicorn", PipInstall{Tool: "poetry", Subcommand: "add", Packages: []string{"gunicorn"}}},
		{"pipenv install --system --deploy", PipInstall{Tool: "pipenv", Subcommand: "install"}},
		{"pdm install --prod --no-self", PipInstall{Tool: "pdm", Subcommand: "install"}},
		{"conda install -y -c conda-forge psycopg2 -p /env", PipInstall{Tool: "conda", Subcommand: "install", Packages: []string{"psycopg2"}, Prefix: "/env", PrefixFlag: "--prefix"}},
		{"conda env create -f environment.yml", PipInstall{Tool: "conda", Subcommand: "create", RequirementFiles: []string{"environment.yml"}}},
		{"poetry run pip install x", PipInstall{Tool: "pip", Subcommand: "install", Packages: []string{"x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.run, func(t *testing.T) {
			s := parseString(t, "FROM python:3.12\nRUN "+tt.run+"\n").Final()
			if len(s.PipInstalls) != 1 {
				t.Fatalf("%d installs", len(s.PipInstalls))
			}
			got := s.PipInstalls[0]
			if len(got.PackageLocs) != len(got.Packages) {
				t.Errorf("%d package locations for %d packages", len(got.PackageLocs), len(got.Packages))
			}
			// The location is the installer's first word, after wrappers
			// such as `poetry run`.
			if col := 5 + strings.Index(tt.run, strings.Fields(got.Args[0])[0]); got.Loc.Line != 2 || got.Loc.Column != col {
				t.Errorf("loc = %v, want column %d", got.Loc, col)
			}
			got.PackageLocs, got.Loc, got.Args = nil, report.Location{}, nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	for _, run := range []string{"pip freeze > r.txt", "pip --version", "uv venv", "poetry export -f requirements.txt", "python manage.py collectstatic", "python -m venv /venv"} {
		if s := parseString(t, "FROM python:3.12\nRUN "+run+"\n").Final(); len(s.PipInstalls) != 0 {
			t.Errorf("%q: unexpected installs %+v", run, s.PipInstalls)
		}
	}
}

func TestPythonVersion(t *testing.T) {
	tests := []struct {
		dockerfile string
		want       string
		line       int
	}{
		{"FROM python:3.11-slim", "3.11", 1},
		{"FROM python:3.12.3-bookworm", "3.12", 1},
		{"FROM docker.io/library/python:3.10", "3.10", 1},
		{"FROM ghcr.io/astral-sh/uv:python3.12-bookworm-slim", "3.12", 1},
		{"FROM tiangolo/uvicorn-gunicorn-fastapi:python3.11", "3.11", 1},
		{"FROM public.ecr.aws/lambda/python:3.14", "3.14", 1},
		{"FROM nikolaik/python-nodejs:python3.11-nodejs20", "3.11", 1},
		{"FROM python:3", "", 0},
		{"FROM python", "", 0},
		{"FROM nginx:1.25", "", 0},
		{"FROM debian:bookworm\nENV PYTHON_VERSION=3.11.9", "3.11", 2},
		{"FROM debian:bookworm\nARG PYTHON_VERSION=3.10\nRUN echo", "3.10", 2},
		{"FROM ubuntu:22.04\nRUN apt-get install -y python3.11 python3.11-venv", "3.11", 2},
		{"FROM python:3.9-slim AS base\nFROM base", "3.9", 1},
		{"ARG PY=3.13\nFROM python:${PY}-alpine", "3.13", 2},
		{"FROM python:${PY}-alpine", "", 0},
	}
	for _, tt := range tests {
		f := parseString(t, tt.dockerfile+"\n")
		v, loc, ok := f.Final().PythonVersion()
		if v != tt.want || ok != (tt.want != "") || loc.Line != tt.line {
			t.Errorf("%q: PythonVersion() = %q %v %v, want %q at line %d", tt.dockerfile, v, loc, ok, tt.want, tt.line)
		}
	}
}

func TestImage(t *testing.T) {
	tests := []struct {
		ref  string
		want Image
		name string
	}{
		{"python:3.11-slim", Image{"docker.io", "library/python", "3.11-slim", ""}, "python"},
		{"ghcr.io/astral-sh/uv:0.4", Image{"ghcr.io", "astral-sh/uv", "0.4", ""}, "ghcr.io/astral-sh/uv"},
		{"tiangolo/uvicorn-gunicorn-fastapi:python3.11", Image{"docker.io", "tiangolo/uvicorn-gunicorn-fastapi", "python3.11", ""}, "tiangolo/uvicorn-gunicorn-fastapi"},
		{"python:3.10.6-slim-buster@sha256:f17c94905c9cd56dce9ef6ce63229045a75f395f7b5b68eb69ef617079c51848",
			Image{"docker.io", "library/python", "3.10.6-slim-buster", "sha256:f17c94905c9cd56dce9ef6ce63229045a75f395f7b5b68eb69ef617079c51848"}, "python"},
		{"localhost:5000/app", Image{"localhost:5000", "app", "", ""}, "localhost:5000/app"},
		{"registry.fly.io/grupo-gad:deployment-01HQ", Image{"registry.fly.io", "grupo-gad", "deployment-01HQ", ""}, "registry.fly.io/grupo-gad"},
		{"gcr.io/distroless/static-debian12:nonroot", Image{"gcr.io", "distroless/static-debian12", "nonroot", ""}, "gcr.io/distroless/static-debian12"},
		{"my_org__x/some-app", Image{"docker.io", "my_org__x/some-app", "", ""}, "my_org__x/some-app"},
	}
	for _, tt := range tests {
		got, err := ParseImage(tt.ref)
		if err != nil || got != tt.want || got.Name() != tt.name || got.String() != strings.TrimPrefix(tt.ref, "") && got.Registry == "docker.io" && got.String() != tt.ref {
			t.Errorf("ParseImage(%q) = %+v (%q), %v; want %+v (%q)", tt.ref, got, got.Name(), err, tt.want, tt.name)
		}
	}
	for _, bad := range []string{"python:${PY}", "Python:3", "", "python:", "a//b", "app-", "python@sha256:xyz", "python:-x", "ghcr.io:/x", "ghcr.io/X"} {
		if _, err := ParseImage(bad); err == nil {
			t.Errorf("ParseImage(%q): no error", bad)
		}
	}
}

func TestInheritance(t *testing.T) {
	f := parseString(t, `FROM python:3.12-slim AS base
ENV A=1 B=2
WORKDIR /app
RUN apt-get update && apt-get install -y libpq-dev gcc curl
CMD ["python", "app.py"]

FROM base AS build
RUN apt-get purge -y gcc
ENV B=3
WORKDIR src

FROM build AS run
ENTRYPOINT ["/entrypoint.sh"]
RUN apt-get install -y gcc
USER app

FROM scratch
COPY --from=run /app /app
`)
	base, build, run, last := f.Stages[0], f.Stages[1], f.Stages[2], f.Stages[3]
	if got := run.Ancestors(); !reflect.DeepEqual(got, []*Stage{build, base}) {
		t.Errorf("ancestors = %v", got)
	}
	if got := pkgNames(build.EffectivePackages()); !reflect.DeepEqual(got, []string{"libpq-dev@4:42", "curl@4:56"}) {
		t.Errorf("build packages = %q", got)
	}
	if got := pkgNames(run.EffectivePackages()); !reflect.DeepEqual(got, []string{"libpq-dev@4:42", "curl@4:56", "gcc@14:24"}) {
		t.Errorf("run packages = %q", got)
	}
	if !run.HasPackage("gcc") || build.HasPackage("gcc") {
		t.Errorf("HasPackage wrong")
	}
	env := build.EffectiveEnv()
	if len(env) != 2 || env[0].Name != "A" || env[1].Name != "B" || env[1].Value != "3" || env[1].Loc.Line != 9 {
		t.Errorf("env = %+v", env)
	}
	if v, ok := run.LookupEnv("A"); !ok || v.Value != "1" {
		t.Errorf("LookupEnv(A) = %+v %v", v, ok)
	}
	if c := build.EffectiveCmd(); c == nil || c.Argv[0] != "python" {
		t.Errorf("build cmd = %+v", c)
	}
	if c := run.EffectiveCmd(); c != nil {
		t.Errorf("run cmd = %+v, want nil (ENTRYPOINT resets an inherited CMD)", c)
	}
	if e := run.EffectiveEntrypoint(); e == nil || e.Argv[0] != "/entrypoint.sh" {
		t.Errorf("run entrypoint = %+v", e)
	}
	if w := run.EffectiveWorkdir(); w != "/app/src" {
		t.Errorf("workdir = %q", w)
	}
	if u := run.EffectiveUser(); u != "app" || base.EffectiveUser() != "" {
		t.Errorf("user = %q", u)
	}
	if !last.Image.IsZero() || last.FromStage != nil || f.Final() != last || f.Target("") != last || f.Target("RUN") != run || f.Target("2") != run || f.Target("nope") != nil {
		t.Errorf("final/target lookups wrong")
	}
	if v, _, ok := last.PythonVersion(); ok {
		t.Errorf("scratch python = %q", v)
	}
	var nilFile *File
	if nilFile.Final() != nil || nilFile.Stage("x") != nil {
		t.Errorf("nil file lookups")
	}
}

func TestCommandForms(t *testing.T) {
	f := parseString(t, `FROM python:3.12
ENV PORT=8080
CMD uvicorn app:app --host 0.0.0.0 \
    --port $PORT
FROM python:3.12
CMD alembic upgrade head && exec uvicorn app:app --port 8000
FROM python:3.12
ENTRYPOINT ["sh", "-c", "alembic upgrade head && gunicorn app:app -b 0.0.0.0:8080"]
`)
	c := f.Stages[0].Cmd
	if c.Exec || !reflect.DeepEqual(c.Argv, []string{"uvicorn", "app:app", "--host", "0.0.0.0", "--port", "$PORT"}) {
		t.Errorf("cmd 0 = %+v", c)
	}
	if w := c.Commands[0].Words[5]; w.Value != "8080" || !w.Expanded || w.Line != 4 || w.Col != 12 {
		t.Errorf("$PORT word = %+v", w)
	}
	if loc := c.Location(c.Commands[0].Words[5].Offset); loc.Line != 4 || loc.Column != 12 {
		t.Errorf("Location = %v", loc)
	}
	c = f.Stages[1].Cmd
	if !reflect.DeepEqual(c.Argv, []string{"/bin/sh", "-c", c.Raw}) || len(c.Commands) != 2 || c.Commands[1].Col != 29 {
		t.Errorf("cmd 1 = %+v", c)
	}
	e := f.Stages[2].Entrypoint
	if !e.Exec || len(e.Commands) != 2 || e.Commands[1].Args[0] != "gunicorn" || e.Commands[1].Line != 8 || e.Commands[1].Col != 50 {
		t.Errorf("entrypoint = %+v", e)
	}
}

func TestRunLocation(t *testing.T) {
	f := parseString(t, "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache \\\n  pip install \\\n  # comment\n    flask\n")
	r := f.Final().Runs[0]
	if r.Script != "pip install     flask" || r.Loc.Line != 2 || r.Loc.EndLine != 5 {
		t.Fatalf("run = %+v", r)
	}
	w := r.Commands[0].Words[2]
	if loc := r.Location(w.Offset); loc.Line != 5 || loc.Column != 5 {
		t.Errorf("flask at %v", loc)
	}
	if pi := f.Final().PipInstalls[0]; pi.Loc.Line != 3 || pi.Loc.EndLine != 5 || pi.PackageLocs[0].Line != 5 {
		t.Errorf("pip loc %v %v", pi.Loc, pi.PackageLocs)
	}
}

func TestExpose(t *testing.T) {
	s := parseString(t, "FROM python\nARG PORT\nENV WEB=8000\nEXPOSE ${PORT:-8080} $WEB 5000-5010/udp $UNSET\n").Final()
	want := []struct {
		port  int
		proto string
		col   int
	}{{8080, "tcp", 8}, {8000, "tcp", 22}, {5000, "udp", 27}, {0, "tcp", 41}}
	if len(s.Expose) != len(want) {
		t.Fatalf("expose = %+v", s.Expose)
	}
	for i, w := range want {
		if p := s.Expose[i]; p.Port != w.port || p.Proto != w.proto || p.Loc.Column != w.col {
			t.Errorf("port %d = %+v, want %+v", i, p, w)
		}
	}
}

func TestCRLFAndBOM(t *testing.T) {
	data := "\xEF\xBB\xBFFROM python:3.11\r\nRUN apt-get install -y \\\r\n    libpq-dev\r\n"
	f, findings := Parse("Dockerfile", []byte(data))
	if len(findings) != 0 {
		t.Fatalf("findings %+v", findings)
	}
	if got := pkgNames(f.Final().Packages); !reflect.DeepEqual(got, []string{"libpq-dev@3:5"}) {
		t.Errorf("packages = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, data := range corpusFiles(f) {
		f.Add(data)
	}
	paths, _ := filepath.Glob("testdata/*.Dockerfile")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if res, err := parser.Parse(bytes.NewReader(data)); err == nil && utf8.Valid(data) {
			src := newSource(bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF}), res.EscapeToken)
			for _, node := range res.AST.Children {
				if m, _ := src.join(node.StartLine); m.text != node.Original {
					t.Fatalf("line %d: joined %q, BuildKit %q", node.StartLine, m.text, node.Original)
				}
			}
		}
		file, findings := Parse("Dockerfile", data)
		for _, fd := range findings {
			if fd.Line < 1 || fd.Rule == "" || fd.Message == "" || fd.Fix == "" {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		for _, s := range file.Stages {
			_, _, _ = s.PythonVersion()
			_ = s.EffectivePackages()
			_ = s.EffectiveEnv()
			_ = s.EffectiveCmd()
			_ = s.EffectiveWorkdir()
			for _, r := range s.Runs {
				for _, c := range r.Commands {
					for _, w := range c.Words {
						if loc := r.Location(w.Offset); loc.Line < 1 {
							t.Fatalf("word %+v maps to %v", w, loc)
						}
					}
				}
			}
		}
	})
}

func BenchmarkParseCorpus(b *testing.B) {
	files := corpusFiles(b)
	size := 0
	for _, data := range files {
		size += len(data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for name, data := range files {
			Parse(name, data)
		}
	}
}

func TestLatin1(t *testing.T) {
	// "# Instalação" in ISO-8859-1, then a package after two Latin-1 letters.
	data := []byte("FROM python:3.12\n# Instala\xe7\xe3o\nRUN echo \xe7\xe3 && apt-get install -y libpq5\n")
	f, findings := Parse("Dockerfile", data)
	if len(findings) != 0 {
		t.Fatalf("findings %+v", findings)
	}
	if got := pkgNames(f.Final().Packages); !reflect.DeepEqual(got, []string{"libpq5@3:35"}) {
		t.Errorf("packages = %q", got)
	}
}
