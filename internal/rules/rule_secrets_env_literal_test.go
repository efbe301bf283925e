package rules

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// secRandToken returns a random URL-safe token of n bytes, made at run time
// so that no secret-looking literal is committed with the tests.
func secRandToken(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func secRandHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// secWriteRepo writes files (path → content) into a new temporary folder,
// outside any git work tree, and returns it.
func secWriteRepo(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// secRun loads dir and runs rule r over it, failing the test when a
// finding repeats one of the secrets.
func secRun(t testing.TB, r *Rule, dir string, secrets ...string) []report.Finding {
	t.Helper()
	p, err := project.Load(dir, project.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := runOne(r, p)
	secCheckNoLeak(t, fs, secrets...)
	return fs
}

// secCheckNoLeak fails when a finding holds one of the secret values (or a
// long part of one). It never prints the value.
func secCheckNoLeak(t testing.TB, fs []report.Finding, secrets ...string) {
	t.Helper()
	for _, f := range fs {
		text := f.Title + "\n" + f.Message + "\n" + f.Fix
		for i, s := range secrets {
			if len(s) < 8 {
				continue
			}
			for _, part := range []string{s, s[:8], s[len(s)-8:]} {
				if strings.Contains(text, part) {
					t.Errorf("finding at %s repeats (part of) secret #%d", f.Location, i)
				}
			}
		}
		if f.Rule == "" || f.Title == "" || f.Message == "" || f.Fix == "" {
			t.Errorf("finding at %s lacks a field: %+v", f.Location, f)
		}
		if n := len([]rune(f.Title)); n > 60 {
			t.Errorf("title of %d characters (max 60): %q", n, f.Title)
		}
	}
}

func TestSecretsEnvLiteralCases(t *testing.T) {
	key := secRandToken(t, 32)
	hexKey := secRandHex(t, 24)
	pw := secRandToken(t, 12)
	tests := []struct {
		name, section, key, value string
		want                      report.Severity // "" for no finding
	}{
		{"generated key", "env", "SECRET_KEY", key, report.Error},
		{"hex key", "env", "JWT_SECRET_KEY", hexKey, report.Error},
		{"known format under any name", "env", "DB", "postgres://app:" + pw + "@db.internal:5432/app", report.Error},
		{"lower-case name", "env", "api_key", key, report.Error},
		{"build arg", "build.args", "NPM_TOKEN", key, report.Error},
		{"human password", "env", "SMTP_PASSWORD", "Hunter2024!", report.Error},
		{"weak stand-in", "env", "SECRET_KEY", "mysecret1", report.Notice},
		{"weak build arg", "build.args", "GITHUB_TOKEN", "abcabcabc", report.Notice},
		{"placeholder", "env", "SECRET_KEY", "changeme", ""},
		{"template placeholder", "env", "API_KEY", "${API_KEY}", ""},
		{"angle placeholder", "env", "API_KEY", "<your-api-key>", ""},
		{"empty", "env", "API_TOKEN", "", ""},
		{"not a secret name", "env", "LOG_LEVEL", "debug", ""},
		{"random but not secret-named", "env", "BUILD_ID", key, ""},
		{"a path", "env", "SECRET_KEY_FILE", "/run/secrets/key", ""},
		{"a number", "env", "AUTH_TOKEN_TTL", "3600", ""},
		{"a flag", "env", "AUTH", "true", ""},
		{"password hash", "env", "ADMIN_TOKEN", "$argon2id$v=19$m=65540,t=3,p=4$" + key, ""},
		{"url without password", "env", "DATABASE_URL", "postgres://db.internal:5432/app", ""},
		{"local url password", "env", "DATABASE_URL", "postgres://postgres:postgres@localhost:5432/app", ""},
		{"cookie name", "env", "SESSION_KEY", "_app-session", report.Notice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toml := "app = \"x\"\n\n[" + tt.section + "]\n  " + tt.key + " = '" + tt.value + "'\n"
			dir := secWriteRepo(t, map[string]string{"fly.toml": toml})
			fs := secRun(t, ruleSecretsEnvLiteral, dir, key, hexKey, pw)
			if tt.want == "" {
				if len(fs) != 0 {
					t.Fatalf("want no finding, got %d: %s", len(fs), fs[0].Message)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("want one %s, got %d findings", tt.want, len(fs))
			}
			f := fs[0]
			if f.Severity != tt.want || f.File != "fly.toml" || f.Line != 4 || f.Column != 3 {
				t.Errorf("got %s at %s, want %s at fly.toml:4:3", f.Severity, f.Location, tt.want)
			}
			if !strings.Contains(f.Message, tt.key) {
				t.Errorf("message does not name %s: %s", tt.key, f.Message)
			}
		})
	}
}

// TestSecretsEnvLiteralOldEnvList checks the old [[env]] list form, which
// flyctl merges into one table.
func TestSecretsEnvLiteralOldEnvList(t *testing.T) {
	key := secRandToken(t, 32)
	dir := secWriteRepo(t, map[string]string{"fly.toml": "app = \"x\"\n\n[[env]]\n  PORT = \"8080\"\n\n[[env]]\n  SECRET_KEY = \"" + key + "\"\n"})
	fs := secRun(t, ruleSecretsEnvLiteral, dir, key)
	if len(fs) != 1 || fs[0].Line != 7 || fs[0].Severity != report.Error {
		t.Fatalf("want one error at line 7, got %v", fs)
	}
}

// TestSecretsEnvLiteralCorpus runs the rule over every real fly.toml: the
// only error is AI4Wings/CodeAnalysisAgent's OPENAI_API_KEY, a JWT written
// in [env] (line 9). Its GITHUB_TOKEN (a made-up "adasdsdf…") is a notice.
func TestSecretsEnvLiteralCorpus(t *testing.T) {
	dir := testutil.CorpusDir(t, "flytoml")
	files, err := filepath.Glob(filepath.Join(dir, "*fly.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus fly.toml files: %v", err)
	}
	var errs []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		repo := secWriteRepo(t, map[string]string{"fly.toml": string(data)})
		p, err := project.Load(repo, project.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		if p.Fly != nil {
			for _, v := range p.Fly.Env {
				values = append(values, v.V)
			}
		}
		fs := runOne(ruleSecretsEnvLiteral, p)
		secCheckNoLeak(t, fs, values...)
		for _, f := range fs {
			t.Logf("%s %s: %s %s", filepath.Base(file), f.Location, f.Severity, f.Title)
			if f.Severity == report.Error {
				errs = append(errs, filepath.Base(file)+":"+strconv.Itoa(f.Line))
			}
		}
	}
	want := "AI4Wings__CodeAnalysisAgent__fly.toml:9"
	if strings.Join(errs, ",") != want {
		t.Errorf("errors on the corpus: got %v, want [%s]", errs, want)
	}
}
