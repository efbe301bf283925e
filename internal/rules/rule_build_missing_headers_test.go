package rules

import (
	"strings"
	"testing"
)

func TestBuildMissingHeadersCases(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string // sorted "file:line severity", joined by ", "
		says  string // a word the first message must hold
	}{
		{
			name: "PIP_ONLY_BINARY leaves the build to fail otherwise",
			files: map[string]string{
				"Dockerfile":       "FROM python:3.12-slim\nENV PIP_ONLY_BINARY=:all:\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
				"requirements.txt": "psycopg2==2.9.9\n",
			},
		},
		{
			name: "--only-binary on the command",
			files: map[string]string{
				"Dockerfile":       "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install --only-binary :all: -r requirements.txt\n",
				"requirements.txt": "psycopg2==2.9.9\n",
			},
		},
		{
			name: "psycopg2-binary is never flagged, even with --no-binary",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim\nRUN pip install --no-binary psycopg2-binary psycopg2-binary==2.9.10 asyncpg\n",
			},
		},
		{
			name: "--no-binary in the requirements file",
			files: map[string]string{
				"Dockerfile":       "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
				"requirements.txt": "--no-binary lxml\nlxml==5.3.0\n",
			},
			want: "Dockerfile:3 error", says: "libxml2",
		},
		{
			name: "PIP_NO_BINARY",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim\nENV PIP_NO_BINARY=lxml\nRUN pip install lxml==5.3.0\n",
			},
			want: "Dockerfile:3 error", says: "--no-binary",
		},
		{
			name: "uv pip",
			files: map[string]string{
				"Dockerfile":       "FROM python:3.12-slim\nCOPY --from=ghcr.io/astral-sh/uv:0.5.4 /uv /bin/uv\nCOPY requirements.txt .\nRUN uv pip install --system -r requirements.txt\n",
				"requirements.txt": "psycopg2==2.9.9\n",
			},
			want: "Dockerfile:4 error", says: "pg_config",
		},
		{
			name: "poetry installs the main group, not dev",
			files: map[string]string{
				"Dockerfile":     "FROM python:3.12-slim\nRUN pip install poetry\nCOPY pyproject.toml poetry.lock ./\nRUN poetry install --no-root\n",
				"pyproject.toml": "[tool.poetry]\nname = \"a\"\nversion = \"1\"\n\n[tool.poetry.dependencies]\npython = \"^3.12\"\nmysqlclient = \"^2.2\"\n\n[tool.poetry.group.dev.dependencies]\npsycopg2 = \"^2.9\"\n",
				"poetry.lock":    "",
			},
			want: "Dockerfile:4 error", says: "mysqlclient",
		},
		{
			name: "pipenv",
			files: map[string]string{
				"Dockerfile": "FROM python:3.11-slim\nRUN pip install pipenv\nCOPY Pipfile Pipfile.lock ./\nRUN pipenv install --system --deploy\n",
				"Pipfile":    "[packages]\npsycopg2 = \"==2.9.9\"\n\n[dev-packages]\nuwsgi = \"*\"\n",
			},
			want: "Dockerfile:4 error", says: "Pipfile:2",
		},
		{
			name: "pip install . with an extra",
			files: map[string]string{
				"Dockerfile":     "FROM python:3.12-slim\nCOPY . .\nRUN pip install \".[ldap]\"\n",
				"pyproject.toml": "[project]\nname = \"a\"\nversion = \"1\"\ndependencies = [\"django\"]\n\n[project.optional-dependencies]\nldap = [\"python-ldap>=3.4\"]\npg = [\"psycopg2\"]\n",
			},
			want: "Dockerfile:3 error", says: "python-ldap",
		},
		{
			name: "Alpine: cryptography before 35 has no musl wheel; 3.3 needs no Rust",
			files: map[string]string{
				"Dockerfile": "FROM python:3.9-alpine\nRUN apk add --no-cache build-base libffi-dev\nRUN pip install cryptography==3.3.2 \"cryptography>=35\"\n",
			},
			want: "Dockerfile:3 error", says: "OpenSSL",
		},
		{
			name: "Alpine: recent wheels",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-alpine\nRUN pip install cryptography Pillow==11.0.0 lxml psycopg2-binary==2.9.10\n",
			},
		},
		{
			name: "Debian: old Pillow still has manylinux wheels",
			files: map[string]string{
				"Dockerfile": "FROM python:3.9-slim\nRUN pip install Pillow==8.4.0 cryptography==3.3.2\n",
			},
		},
		{
			name: "mysqlclient before 2.2 needs no pkg-config",
			files: map[string]string{
				"Dockerfile": "FROM python:3.10-slim\nRUN apt-get update && apt-get install -y gcc default-libmysqlclient-dev\nRUN pip install mysqlclient==2.1.1\n",
			},
		},
		{
			name: "bare Ubuntu needs the Python headers",
			files: map[string]string{
				"Dockerfile": "FROM ubuntu:24.04\nRUN apt-get update && apt-get install -y python3 python3-pip gcc libpq-dev\nRUN pip3 install --break-system-packages psycopg2==2.9.9\n",
			},
			want: "Dockerfile:3 error", says: "Python.h",
		},
		{
			name: "local wheels",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim\nRUN pip install --no-index --find-links /wheels psycopg2\n",
			},
		},
		{
			name: "the deployed target skips the stage",
			files: map[string]string{
				"fly.toml":   "app = \"a\"\n[build]\n  build-target = \"web\"\n",
				"Dockerfile": "FROM python:3.12-slim AS web\nRUN pip install asyncpg\n\nFROM python:3.12-slim AS legacy\nRUN pip install psycopg2\n",
			},
		},
		{
			name: "apt package list from a variable",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim\nARG DEPS\nRUN apt-get update && apt-get install -y $DEPS\nRUN pip install psycopg2\n",
			},
		},
		{
			name: "already in the venv copied from the builder",
			files: map[string]string{
				"Dockerfile":       "FROM python:3.12-slim AS b\nRUN apt-get update && apt-get install -y gcc libpq-dev\nRUN python -m venv /venv\nENV PATH=/venv/bin:$PATH\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n\nFROM python:3.12-slim\nRUN apt-get update && apt-get install -y libpq5\nENV PATH=/venv/bin:$PATH\nCOPY --from=b /venv /venv\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
				"requirements.txt": "psycopg2==2.9.9\n",
			},
		},
		{
			name: "the package is installed in a later RUN only",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim\nRUN pip install uwsgi\nRUN apt-get update && apt-get install -y build-essential\n",
			},
			want: "Dockerfile:2 error", says: "gcc",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, fs := bldCheck(t, ruleBuildMissingHeaders, c.files)
			if strings.Join(got, ", ") != c.want {
				t.Fatalf("got %v, want %q", got, c.want)
			}
			if c.says != "" && !strings.Contains(fs[0].Message+fs[0].Fix, c.says) {
				t.Errorf("finding does not say %q: %s", c.says, fs[0].Message)
			}
		})
	}
}

// TestBuildMissingHeadersCorpus runs the rule on Fly's own Django
// Dockerfile (the generator's expected output for Postgres, which builds
// psycopg2 with libpq-dev and gcc) and on the same file without libpq-dev.
func TestBuildMissingHeadersCorpus(t *testing.T) {
	df := bldCorpus(t, "fly-apps__dockerfile-django__Dockerfile")
	req := bldCorpus(t, "fly-apps__dockerfile-django__requirements.txt")
	files := map[string]string{"Dockerfile": df, "requirements.txt": req}
	if got, _ := bldCheck(t, ruleBuildMissingHeaders, files); len(got) != 0 {
		t.Errorf("fly-apps/dockerfile-django: want no finding, got %v", got)
	}
	files["Dockerfile"] = strings.Replace(df, "    libpq-dev \\\n", "", 1)
	got, fs := bldCheck(t, ruleBuildMissingHeaders, files)
	if strings.Join(got, ",") != "Dockerfile:20 error" { // the pip line, one line up
		t.Fatalf("without libpq-dev: got %v, want Dockerfile:20 error", got)
	}
	if !strings.Contains(fs[0].Message, "requirements.txt:1") || !strings.Contains(fs[0].Fix, "libpq-dev") {
		t.Errorf("message should name requirements.txt:1 and the fix libpq-dev: %+v", fs[0])
	}

	// ace-platform installs libpq-dev and gcc in its base stage, but its
	// pyproject asks for psycopg2-binary and asyncpg: nothing compiles.
	files = map[string]string{
		"Dockerfile":     bldCorpus(t, "DannyMac180__ace-platform__Dockerfile"),
		"pyproject.toml": bldCorpus(t, "DannyMac180__ace-platform__pyproject.toml"),
	}
	if got, _ := bldCheck(t, ruleBuildMissingHeaders, files); len(got) != 0 {
		t.Errorf("ace-platform: want no finding, got %v", got)
	}
	// healthchecks builds uwsgi, mysqlclient and psycopg[c] with
	// build-essential, libpq-dev, libmariadb-dev and pkg-config.
	files = map[string]string{
		"Dockerfile":       bldCorpus(t, "healthchecks__healthchecks__Dockerfile"),
		"requirements.txt": bldCorpus(t, "healthchecks__healthchecks__requirements.txt"),
	}
	if got, _ := bldCheck(t, ruleBuildMissingHeaders, files); len(got) != 0 {
		t.Errorf("healthchecks: want no finding, got %v", got)
	}
	files["Dockerfile"] = strings.Replace(files["Dockerfile"], "libcurl4-openssl-dev pkg-config", "libcurl4-openssl-dev", 1)
	if got, _ := bldCheck(t, ruleBuildMissingHeaders, files); strings.Join(got, ",") != "Dockerfile:15 error" {
		t.Errorf("healthchecks without pkg-config: got %v, want Dockerfile:15 error (mysqlclient)", got)
	}
}
