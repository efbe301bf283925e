package project

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func TestLoadExample(t *testing.T) {
	dir := filepath.Join(testutil.RepoRoot(t), "examples", "grupo-gad")
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.FlyPath != "fly.toml" || p.Fly == nil || p.DockerfilePath != "Dockerfile" || p.Dockerfile == nil {
		t.Fatalf("fly.toml or Dockerfile not loaded: %+v", p)
	}
	if p.DockerIgnore == nil || len(p.PyDeps) == 0 || len(p.Alembic) != 1 || len(p.Settings) == 0 {
		t.Errorf("missing parts: ignore=%v deps=%d alembic=%d settings=%d", p.DockerIgnore != nil, len(p.PyDeps), len(p.Alembic), len(p.Settings))
	}
	if len(p.Problems) != 0 {
		t.Errorf("the good example must load without problems: %+v", p.Problems)
	}
	if line, ok := p.Line("fly.toml", 1); !ok || line == "" {
		t.Errorf("Line(fly.toml, 1) = %q, %v", line, ok)
	}
	if _, ok := p.Line("fly.toml", 100000); ok {
		t.Error("a line past the end must not be found")
	}
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadProblemsNotErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "fly.toml", []byte("app = \"x\"\n[build]\ndockerfile = \"nope/Dockerfile\"\n"))
	write(t, dir, "requirements.txt", []byte("flask=2.0\n"))
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, pr := range p.Problems {
		rules[pr.Finding.Rule] = true
	}
	for _, want := range []string{"build-dockerfile-missing", "requirements-syntax"} {
		if !rules[want] {
			t.Errorf("want a %s problem, got %+v", want, p.Problems)
		}
	}
}

func TestLoadMissingDirIsError(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope"), Options{}); err == nil {
		t.Error("want an error for a missing directory")
	}
}

func TestLineDecodesUTF16(t *testing.T) {
	dir := t.TempDir()
	text := "flask==2.0\r\nrequests==2.31\r\n"
	b := []byte{0xFF, 0xFE}
	for _, r := range text {
		b = append(b, byte(r), 0)
	}
	write(t, dir, "requirements.txt", b)
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := p.Line("requirements.txt", 2); !ok || got != "requests==2.31" {
		t.Errorf("Line 2 = %q, %v", got, ok)
	}
}

func TestConfigOutsideProject(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	cfg := filepath.Join(other, "fly.staging.toml")
	write(t, other, "fly.staging.toml", []byte("app = \"staging\"\n"))
	p, err := Load(dir, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if p.Fly == nil || p.Fly.App.V != "staging" {
		t.Fatalf("config outside the project not loaded: %+v", p.Problems)
	}
	if line, ok := p.Line(p.FlyPath, 1); !ok || !strings.Contains(line, "staging") {
		t.Errorf("Line of an outside config = %q, %v", line, ok)
	}
}

// TestGitIgnored checks that inside a git work tree an ignored file (a
// developer's local .env) is reported as ignored, and a tracked one is not.
func TestGitIgnored(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Skipf("git init failed: %v %s", err, out)
	}
	write(t, dir, ".gitignore", []byte(".env\n"))
	write(t, dir, ".env", []byte("SECRET_KEY=x\n"))
	write(t, dir, "app.py", []byte("print(1)\n"))
	write(t, dir, "node_modules/x.js", []byte("x\n"))
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Files(), " "); got != ".env .gitignore app.py" {
		t.Errorf("files = %q, want .env .gitignore app.py (node_modules skipped)", got)
	}
	ign := p.GitIgnored([]string{".env", "app.py"})
	if !ign[".env"] || ign["app.py"] || len(ign) != 1 {
		t.Errorf("GitIgnored = %v, want only .env", ign)
	}
	outside, err := Load(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := outside.GitIgnored([]string{".env"}); len(got) != 0 {
		t.Errorf("outside a work tree nothing is ignored, got %v", got)
	}
}
