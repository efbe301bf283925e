package rules

import (
	"strings"
	"testing"
)

func TestBuildPythonMismatchCases(t *testing.T) {
	for _, c := range []struct {
		name, dockerfile, want, says string
	}{
		{
			name:       "version only in the copied path",
			dockerfile: "FROM acme/builder:1 AS b\nRUN true\nFROM python:3.12-slim\nCOPY --from=b /usr/local/lib/python3.10/site-packages /usr/local/lib/python3.10/site-packages\n",
			want:       "Dockerfile:4 error", says: "3.10",
		},
		{
			name:       "runtime version unknown",
			dockerfile: "FROM python:3.11-slim AS b\nRUN pip install --prefix=/i fastapi\nFROM acme/runtime:1\nCOPY --from=b /i /usr/local\n",
		},
		{
			name:       "version from ENV PYTHON_VERSION of a bare image",
			dockerfile: "FROM python:3.11-slim AS b\nRUN pip install --user fastapi\nFROM debian:bookworm-slim\nENV PYTHON_VERSION=3.12.4\nCOPY --from=b /root/.local /root/.local\n",
			want:       "Dockerfile:5 error", says: "Dockerfile:4",
		},
		{
			name:       "an intermediate stage between builder and image",
			dockerfile: "FROM python:3.10-slim AS b\nRUN python -m venv /venv && /venv/bin/pip install fastapi\nFROM python:3.12-slim AS base\nCOPY --from=b /venv /venv\nFROM base\nCMD [\"/venv/bin/python\"]\n",
			want:       "Dockerfile:4 error",
		},
		{
			name:       "distroless Debian 12 runs Python 3.11",
			dockerfile: "FROM python:3.12-slim AS b\nRUN python -m venv /venv && /venv/bin/pip install fastapi\nFROM gcr.io/distroless/python3-debian12\nCOPY --from=b /venv /venv\n",
			want:       "Dockerfile:4 error", says: "3.11",
		},
		{
			name:       "Debian's own python3",
			dockerfile: "FROM python:3.11-slim AS b\nRUN pip install --prefix=/i fastapi\nFROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y python3\nCOPY --from=b /i /usr/local\n",
		},
		{
			name:       "same minor, different patch and variant",
			dockerfile: "FROM python:3.12.4-bookworm AS b\nRUN pip install --prefix=/i fastapi\nFROM python:3.12-slim\nCOPY --from=b /i /usr/local\n",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, fs := bldCheck(t, ruleBuildPythonMismatch, map[string]string{"Dockerfile": c.dockerfile})
			if strings.Join(got, ", ") != c.want {
				t.Fatalf("got %v, want %q", got, c.want)
			}
			if c.says != "" && !strings.Contains(fs[0].Message+fs[0].Fix, c.says) {
				t.Errorf("finding does not say %q: %s", c.says, fs[0].Message)
			}
		})
	}
}

// TestBuildPythonMismatchCorpus checks real multi-stage Dockerfiles that
// copy site-packages, a venv, /install or ~/.local between stages of the
// same Python (no finding), and saleor's with its runtime moved to 3.13.
func TestBuildPythonMismatchCorpus(t *testing.T) {
	for _, name := range []string{
		"DannyMac180__ace-platform", "saleor__saleor", "bwhli__fly-fastapi-example", "genkai-otaku__fastapi-flyio",
		"Tetsuozxcmid__irminsul-backend", "scholarX-Assesment__student-service", "CTFd__CTFd", "valenbatata__API-Practicas1",
	} {
		files := map[string]string{"Dockerfile": bldCorpus(t, name+"__Dockerfile")}
		if got, _ := bldCheck(t, ruleBuildPythonMismatch, files); len(got) != 0 {
			t.Errorf("%s: want no finding, got %v", name, got)
		}
	}
	df := bldCorpus(t, "saleor__saleor__Dockerfile")
	moved := strings.Replace(df, "FROM python:3.12-slim\n", "FROM python:3.13-slim\n", 1)
	if moved == df {
		t.Fatal("saleor's Dockerfile changed: no `FROM python:3.12-slim` line")
	}
	got, fs := bldCheck(t, ruleBuildPythonMismatch, map[string]string{"Dockerfile": moved})
	if strings.Join(got, ",") != "Dockerfile:48 error" {
		t.Fatalf("saleor on 3.13: got %v, want Dockerfile:48 error (the site-packages COPY)", got)
	}
	if !strings.Contains(fs[0].Fix, "python3.13/site-packages") {
		t.Errorf("fix should name the 3.13 site-packages: %s", fs[0].Fix)
	}
}
