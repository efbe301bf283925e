package text

import (
	"bytes"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
)

type fakeSources map[string][]string

func (f fakeSources) Line(file string, n int) (string, bool) {
	lines, ok := f[file]
	if !ok || n < 1 || n > len(lines) {
		return "", false
	}
	return lines[n-1], true
}

func sample() *report.Report {
	r := report.New("validate", report.StaticPhases...)
	r.Add(report.Build, report.Finding{
		Rule: "build-missing-headers", Severity: report.Error, Location: report.At("Dockerfile", 2, 5),
		Title: "psycopg2 needs pg_config", Message: "psycopg2 builds from source", Fix: "install libpq-dev",
	})
	r.Add(report.Secrets, report.Finding{
		Rule: "secrets-required", Severity: report.Notice, Location: report.At("app/config.py", 3, 5),
		Title: "secret", Message: "SECRET_KEY must be a Fly secret", Fix: "fly secrets set SECRET_KEY=…",
	})
	r.Add(report.Release, report.Finding{Rule: "remote", Severity: report.Warning, Title: "t", Message: "no location here", Fix: "f"})
	r.Finish()
	return r
}

func TestRenderPlain(t *testing.T) {
	var buf bytes.Buffer
	src := fakeSources{"Dockerfile": {"FROM python:3.12-slim", "RUN\tpip install -r requirements.txt"}}
	if err := Render(&buf, sample(), Options{Sources: src}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"✗ build: failed (1 error)\n",
		"Dockerfile:2:5: psycopg2 builds from source [build-missing-headers]\n",
		"  2 | RUN\tpip install -r requirements.txt\n",
		"    |    \t^ error\n", // the tab is copied so the caret lines up under column 5
		"  fix: install libpq-dev\n",
		"no location here [remote]\n",
		"app/config.py:3:5: SECRET_KEY must be a Fly secret [secrets-required]\n",
		"✗ validate failed: 1 error, 1 warning, 1 notice in build: fix the errors above before deploying\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("plain output must not contain ANSI escapes")
	}
	// Phases without findings are not listed unless verbose.
	if strings.Contains(out, "networking") {
		t.Errorf("clean phase listed:\n%s", out)
	}
}

func TestRenderColorAndVerbose(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, sample(), Options{Color: true, Verbose: true}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "\x1b[31m") || !strings.Contains(out, "networking: passed") {
		t.Errorf("want red and all phases:\n%q", out)
	}
}

func TestRenderSuccess(t *testing.T) {
	r := report.New("validate", report.StaticPhases...)
	r.Finish()
	var buf bytes.Buffer
	if err := Render(&buf, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "✓ validate passed: 0 errors, 0 warnings, 0 notices\n" {
		t.Errorf("got %q", got)
	}
}

func TestColorForNonTerminal(t *testing.T) {
	if ColorFor(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
}

func TestRenderNeverQuotesSecrets(t *testing.T) {
	const secret = "Zq8vL1mN4pR7sT0uW3xY6zA9bC2dE5fG"
	r := report.New("validate", report.Secrets)
	r.Add(report.Secrets,
		report.Finding{Rule: "secrets-committed", Severity: report.Error, Location: report.At("docs/DEPLOY.md", 1, 12), Redact: true, Title: "t", Message: "SECRET_KEY holds a 32-character value", Fix: "rotate it"},
		report.Finding{Rule: "requirements-syntax", Severity: report.Error, Location: report.At("requirements.txt", 2, 1), Title: "t", Message: "m", Fix: "f"},
	)
	r.Finish()
	src := fakeSources{
		"docs/DEPLOY.md":   {"SECRET_KEY=" + secret},
		"requirements.txt": {"", "--index-url https://bob:" + secret + "@pypi.example.com/simple"},
	}
	var buf bytes.Buffer
	if err := Render(&buf, r, Options{Sources: src}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, secret[:8]) {
		t.Fatalf("output shows the secret:\n%s", out)
	}
	for _, want := range []string{"SECRET_KEY=********", "https://bob:****@pypi.example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
