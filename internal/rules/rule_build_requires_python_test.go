package rules

import (
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/project/pydeps"
)

func TestBuildRequiresPythonCases(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
		says  string
	}{
		{
			name: "pipenv --deploy with another python_version",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim\nRUN pip install pipenv\nCOPY Pipfile Pipfile.lock ./\nRUN pipenv install --system --deploy\n",
				"Pipfile":    "[packages]\ndjango = \"*\"\n\n[requires]\npython_version = \"3.11\"\n",
			},
			want: "Dockerfile:1 error", says: "Pipfile:5",
		},
		{
			name: "pipenv without --deploy",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim\nRUN pip install pipenv && pipenv install\n",
				"Pipfile":    "[packages]\ndjango = \"*\"\n\n[requires]\npython_version = \"3.11\"\n",
			},
			want: "Dockerfile:1 warning",
		},
		{
			name: "uv sync may download its own Python",
			files: map[string]string{
				"Dockerfile":     "FROM ghcr.io/astral-sh/uv:python3.11-bookworm-slim\nCOPY . .\nRUN uv sync --frozen\n",
				"pyproject.toml": "[project]\nname = \"a\"\nversion = \"1\"\nrequires-python = \">=3.12\"\n",
			},
			want: "Dockerfile:1 warning", says: "python3.12",
		},
		{
			name: "version from an ARG default",
			files: map[string]string{
				"Dockerfile":     "ARG PYTHON_VERSION=3.10\nFROM python:${PYTHON_VERSION}-slim AS app\nCOPY . .\nRUN pip install -e .\n",
				"pyproject.toml": "[project]\nname = \"a\"\nversion = \"1\"\nrequires-python = \">=3.11\"\n",
			},
			want: "Dockerfile:2 error", says: "FROM python:3.11-slim AS app",
		},
		{
			name: "upper bound",
			files: map[string]string{
				"Dockerfile":     "FROM python:3.13-slim\nCOPY . .\nRUN pip install .\n",
				"pyproject.toml": "[project]\nname = \"a\"\nversion = \"1\"\nrequires-python = \">=3.9,<3.13\"\n",
			},
			want: "Dockerfile:1 error", says: "python:3.12-slim",
		},
		{
			name: "no requires-python",
			files: map[string]string{
				"Dockerfile":     "FROM python:3.8-slim\nCOPY . .\nRUN pip install .\n",
				"pyproject.toml": "[project]\nname = \"a\"\nversion = \"1\"\n",
			},
		},
		{
			name: "image Python unknown",
			files: map[string]string{
				"Dockerfile":     "FROM acme/base:1\nCOPY . .\nRUN pip install .\n",
				"pyproject.toml": "[project]\nname = \"a\"\nversion = \"1\"\nrequires-python = \">=3.12\"\n",
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, fs := bldCheck(t, ruleBuildRequiresPython, c.files)
			if strings.Join(got, ", ") != c.want {
				t.Fatalf("got %v, want %q", got, c.want)
			}
			if c.says != "" && !strings.Contains(fs[0].Message+fs[0].Fix, c.says) {
				t.Errorf("finding does not say %q: %s | %s", c.says, fs[0].Message, fs[0].Fix)
			}
		})
	}
}

func TestPythonSatisfies(t *testing.T) {
	for _, c := range []struct {
		spec, minor, exact string
		want               bool
	}{
		{">=3.12", "3.11", "", false},
		{">=3.12", "3.12", "", true},
		{"~=3.11.6", "3.11", "", true},
		{"~=3.11.6", "3.11", "3.11.4", false},
		{"==3.11.*", "3.12", "", false},
		{">=3.9,<3.13", "3.13", "", false},
		{">=3.10,<4.0", "3.14", "", true},
	} {
		v := pydeps.Value{Text: c.spec, Spec: c.spec}
		if got := pythonSatisfies(v, c.minor, c.exact); got != c.want {
			t.Errorf("pythonSatisfies(%q, %s, %q) = %v, want %v", c.spec, c.minor, c.exact, got, c.want)
		}
	}
	if got := suggestPython(pydeps.Value{Spec: ">=3.12"}, "3.11"); got != "3.12" {
		t.Errorf("suggestPython(>=3.12, 3.11) = %s, want 3.12", got)
	}
	if got := suggestPython(pydeps.Value{Spec: "<3.12"}, "3.13"); got != "3.11" {
		t.Errorf("suggestPython(<3.12, 3.13) = %s, want 3.11", got)
	}
}

// TestBuildRequiresPythonCorpus: every real Dockerfile with a pyproject or
// Pipfile in the corpus builds on a Python its project allows.
func TestBuildRequiresPythonCorpus(t *testing.T) {
	for _, name := range []string{
		"DannyMac180__ace-platform", "bwhli__fly-fastapi-example", "genkai-otaku__fastapi-flyio", "saleor__saleor",
		"fastapi__full-stack-fastapi-template", "polarsource__polar", "PDHdata__SmallFormats", "ue12-p25__backend-fastapi-flyio",
		"JoshuaOliphant__Link-Content-Scraper", "Netflix__dispatch", "getredash__redash", "peacefulseeker__django-libraryms",
	} {
		files := map[string]string{
			"Dockerfile":     bldCorpus(t, name+"__Dockerfile"),
			"pyproject.toml": bldCorpus(t, name+"__pyproject.toml"),
		}
		if got, _ := bldCheck(t, ruleBuildRequiresPython, files); len(got) != 0 {
			t.Errorf("%s: want no finding, got %v", name, got)
		}
	}
	// ace-platform requires Python >= 3.10 and installs itself with
	// `pip install .` on python:3.11-slim; moved to 3.9 it would fail.
	files := map[string]string{
		"Dockerfile":     strings.Replace(bldCorpus(t, "DannyMac180__ace-platform__Dockerfile"), "python:3.11-slim", "python:3.9-slim", 1),
		"pyproject.toml": bldCorpus(t, "DannyMac180__ace-platform__pyproject.toml"),
	}
	if got, _ := bldCheck(t, ruleBuildRequiresPython, files); strings.Join(got, ",") != "Dockerfile:7 error" {
		t.Errorf("ace-platform on 3.9: got %v, want Dockerfile:7 error", got)
	}
}
