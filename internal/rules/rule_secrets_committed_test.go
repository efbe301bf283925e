package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func TestSecretsCommittedCases(t *testing.T) {
	key := secRandToken(t, 32)
	hexKey := secRandHex(t, 20)
	pw := secRandToken(t, 12)
	// Known formats are assembled at run time so that no token-shaped
	// literal is committed with the tests.
	ghToken := "gh" + "p_" + strings.ReplaceAll(strings.ReplaceAll(secRandToken(t, 27), "-", "a"), "_", "b")[:36]
	pemBody := secRandToken(t, 96)
	pem := "-----BEGIN " + "RSA PRIVATE KEY-----\n" + pemBody[:64] + "\n" + pemBody[64:] + "\n-----END RSA PRIVATE KEY-----\n"
	secrets := []string{key, hexKey, pw, ghToken, pemBody[:64]}

	tests := []struct {
		name  string
		files map[string]string
		want  []string // file:line:col severity
	}{
		{"dotenv", map[string]string{".env": "DEBUG=1\nSECRET_KEY=" + key + "\n"}, []string{".env:2:12 error"}},
		{"dotenv sample", map[string]string{".env.sample": "API_KEY=" + key + "\n"}, []string{".env.sample:1:9 error"}},
		{"dotenv template", map[string]string{"config/.env.template": "API_KEY=\"" + key + "\"\n"}, []string{"config/.env.template:1:10 error"}},
		{"markdown", map[string]string{"docs/SETUP.md": "Run:\n\n    fly secrets set SECRET_KEY=" + hexKey + "\n"}, []string{"docs/SETUP.md:3:32 error"}},
		{"known format without a name", map[string]string{"README.md": "token: `" + ghToken + "`\n"}, []string{"README.md:1:9 error"}},
		{"private key block", map[string]string{"deploy/key.pem": pem}, []string{"deploy/key.pem:1:1 error"}},
		{"shell script", map[string]string{"scripts/deploy.sh": "#!/bin/sh\nexport API_TOKEN='" + key + "'\n"}, []string{"scripts/deploy.sh:2:19 error"}},
		{"yaml url", map[string]string{"docker-compose.prod.yml": "services:\n  web:\n    environment:\n      DATABASE_URL: postgres://app:" + pw + "@db:5432/app\n"}, []string{"docker-compose.prod.yml:4:36 error"}},
		{"python literal", map[string]string{"app/settings.py": "SECRET_KEY = '" + key + "'\n"}, []string{"app/settings.py:1:15 error"}},
		{"python getenv fallback", map[string]string{"app/settings.py": "import os\nSECRET_KEY = os.getenv('SECRET_KEY', '" + key + "')\n"}, []string{"app/settings.py:2:39 warning"}},
		{"decouple default", map[string]string{"app/settings.py": "SECRET_KEY = config('SECRET_KEY', default='" + key + "')\n"}, []string{"app/settings.py:1:44 warning"}},
		{"pydantic settings default", map[string]string{"app/config.py": "class S(BaseSettings):\n    SECRET_KEY: str = \"" + key + "\"\n"}, []string{"app/config.py:2:24 warning"}},
		{"dockerfile legacy env", map[string]string{"Dockerfile": "FROM python:3.12\nENV SECRET_KEY \"" + key + "\"\n"}, []string{"Dockerfile:2:17 error"}},
		{"dockerfile env", map[string]string{"docker/Dockerfile.prod": "FROM python:3.12\nENV DEBUG=0 SECRET_KEY=" + key + "\n"}, []string{"docker/Dockerfile.prod:2:24 error"}},
		{"tests folder", map[string]string{"tests/conftest.py": "API_KEY = '" + key + "'\n"}, []string{"tests/conftest.py:1:12 warning"}},
		{"test file", map[string]string{"app/auth_test.go": "const apiKey = \"" + key + "\"\n"}, []string{"app/auth_test.go:1:17 warning"}},
		{"spec file", map[string]string{"web/src/api.spec.ts": "const apiKey = \"" + key + "\";\n"}, []string{"web/src/api.spec.ts:1:17 warning"}},
		{"fly.toml env is env-literal's", map[string]string{"fly.toml": "app = \"x\"\n[env]\n  SECRET_KEY = \"" + key + "\"\n[build.args]\n  NPM_TOKEN = \"" + hexKey + "\"\n"}, nil},
		{"fly.toml outside env", map[string]string{"fly.toml": "app = \"x\"\n[env]\n  PORT = \"8080\"\n[[files]]\n  guest_path = \"/app/.npmrc\"\n  api_token = \"" + key + "\"\n"}, []string{"fly.toml:6:16 error"}},
		{"another fly config", map[string]string{"fly.toml": "app = \"x\"\n", "deploy/fly.staging.toml": "app = \"y\"\n[env]\n  SECRET_KEY = \"" + key + "\"\n"}, []string{"deploy/fly.staging.toml:3:17 error"}},
		{"placeholders", map[string]string{
			"README.md":    "fly secrets set SECRET_KEY=\"$(openssl rand -hex 32)\" JWT_SECRET_KEY=<value>\nREDIS_URL=redis://default:<password>@host:6379\n",
			".env.example": "SECRET_KEY=changeme\nAPI_KEY=your-api-key-here\nDATABASE_URL=postgresql://user:password@localhost/app\n",
			"app/s.py":     "SECRET_KEY = os.environ['SECRET_KEY']\nTOKEN_URL = 'https://example.com/oauth/token'\n",
		}, nil},
		{"skipped files", map[string]string{
			"package-lock.json":   "{\"api_key\": \"" + key + "\"}\n",
			"static/app.min.js":   "var apiKey=\"" + key + "\";\n",
			"static/logo.png":     "\x89PNG\r\n\x1a\nSECRET_KEY=" + key + "\n",
			"data/blob.txt":       "\x00\x01SECRET_KEY=" + key + "\n",
			"node_modules/x/.env": "SECRET_KEY=" + key + "\n",
		}, nil},
		{"a constant holding a variable name", map[string]string{"internal/fly/client.go": "const (\n\tEnvAccessToken = \"FLY_ACCESS_TOKEN\"\n\tEnvAPIToken = \"FLY_API_TOKEN\"\n)\n"}, nil},
		{"many files", secManyFiles(40, ".env", "SECRET_KEY="+key+"\n"), []string{"d00/.env:1:12 error", "d39/.env:1:12 error"}},
		{"utf-16 file", map[string]string{".env": secUTF16LE("SECRET_KEY=" + key + "\r\n")}, []string{".env:1:12 error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := secWriteRepo(t, tt.files)
			fs := secRun(t, ruleSecretsCommitted, dir, secrets...)
			var got []string
			for _, f := range fs {
				got = append(got, fmt.Sprintf("%s %s", f.Location, f.Severity))
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				for _, f := range fs {
					t.Logf("%s: %s | %s", f.Location, f.Message, f.Fix)
				}
			}
		})
	}
}

// secManyFiles returns n harmless files, the first and last of which (in
// path order) are named name and hold content: enough files for the
// parallel scan.
func secManyFiles(n int, name, content string) map[string]string {
	files := map[string]string{}
	for i := 0; i < n; i++ {
		files[fmt.Sprintf("d%02d/README.md", i)] = "# part " + fmt.Sprint(i) + "\n"
	}
	files["d00/"+name] = content
	files[fmt.Sprintf("d%02d/%s", n-1, name)] = content
	return files
}

// secUTF16LE encodes ASCII s as UTF-16 LE with a byte order mark, as
// PowerShell writes files.
func secUTF16LE(s string) string {
	b := []byte{0xFF, 0xFE}
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return string(b)
}

func TestSecretsCommittedPrivateKeyEndLine(t *testing.T) {
	body := secRandToken(t, 120)
	pem := "# deploy key\nKEY = \"\"\"\n-----BEGIN " + "OPENSSH PRIVATE KEY-----\n" + body[:70] + "\n" + body[70:140] + "\n" + body[140:] + "\n-----END OPENSSH PRIVATE KEY-----\n\"\"\"\n"
	dir := secWriteRepo(t, map[string]string{"ops/keys.py": pem})
	fs := secRun(t, ruleSecretsCommitted, dir, body[:70])
	if len(fs) != 1 {
		t.Fatalf("want one finding, got %d", len(fs))
	}
	if f := fs[0]; f.Line != 3 || f.EndLine != 7 || f.Severity != report.Error || !strings.Contains(f.Message, "private key block") {
		t.Errorf("got %s-%d %s: %s", f.Location, f.EndLine, f.Severity, f.Message)
	}
}

func TestSecretsLookupDefault(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{`SECRET_KEY = os.environ.get("SECRET_KEY", "VALUE")`, true},
		{`SECRET_KEY = os.getenv('SECRET_KEY', r'VALUE')`, true},
		{`SECRET_KEY = config("SECRET_KEY", default="VALUE")`, true},
		{`SECRET_KEY = env.str("SECRET_KEY", default = 'VALUE')`, true},
		{`SECRET_KEY = "VALUE"`, false},
		{`headers = {"Authorization": "VALUE"}`, false},
		{`SECRET_KEY: str = "VALUE"`, false},
	}
	for _, tt := range tests {
		col := strings.Index(tt.line, "VALUE") + 1
		if got := secLookupDefault(tt.line, col); got != tt.want {
			t.Errorf("secLookupDefault(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

func TestSecretsFileKinds(t *testing.T) {
	tests := []struct {
		rel                            string
		test, env, example, scan, dock bool
	}{
		{".env", false, true, false, true, false},
		{".env.production", false, true, false, true, false},
		{"prod.env", false, true, false, true, false},
		{".env.example", false, true, true, true, false},
		{"config/.env.sample", false, true, true, true, false},
		{"env.template", false, false, true, true, false},
		{"tests/test_api.py", true, false, false, true, false},
		{"app/api_test.py", true, false, false, true, false},
		{"src/__tests__/a.js", true, false, false, true, false},
		{"spec/models/user_spec.rb", true, false, false, true, false},
		{"internal/x/testdata/fly.toml", true, false, false, true, false},
		{"web/a.test.ts", true, false, false, true, false},
		{"app/latest.py", false, false, false, true, false},
		{"contest/main.py", false, false, false, true, false},
		{"Dockerfile", false, false, false, true, true},
		{"docker/api.Dockerfile", false, false, false, true, true},
		{"Containerfile", false, false, false, true, true},
		{"static/logo.PNG", false, false, false, false, false},
		{"poetry.lock", false, false, false, false, false},
		{"static/app.min.js", false, false, false, false, false},
	}
	for _, tt := range tests {
		if got := secIsTestFile(tt.rel); got != tt.test {
			t.Errorf("secIsTestFile(%q) = %v", tt.rel, got)
		}
		if got := secIsEnvFile(tt.rel); got != tt.env {
			t.Errorf("secIsEnvFile(%q) = %v", tt.rel, got)
		}
		if got := secIsEnvExample(tt.rel); got != tt.example {
			t.Errorf("secIsEnvExample(%q) = %v", tt.rel, got)
		}
		if got := secScanFile(tt.rel); got != tt.scan {
			t.Errorf("secScanFile(%q) = %v", tt.rel, got)
		}
		if got := secIsDockerfile(tt.rel); got != tt.dock {
			t.Errorf("secIsDockerfile(%q) = %v", tt.rel, got)
		}
	}
}

func TestSecretsVarName(t *testing.T) {
	for in, want := range map[string]string{
		"SECRET_KEY": "SECRET_KEY", "apiKey": "API_KEY", "X-Api-Key": "X_API_KEY", "db.password": "DB_PASSWORD",
		"": "NAME", "---": "NAME", "2fa_secret": "NAME", "clientSecret": "CLIENT_SECRET",
	} {
		if got := secVarName(in); got != want {
			t.Errorf("secVarName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSecretsCommittedCorpus runs the rule over the corpus repositories'
// Dockerfiles, requirements, fly.toml and alembic.ini files. The one real
// committed secret is morisy/django-fly-starter's SECRET_KEY, set with the
// old `ENV NAME "value"` form at Dockerfile:25 (the value starts at column
// 17). AI4Wings/CodeAnalysisAgent's [env] key is secrets-env-literal's.
func TestSecretsCommittedCorpus(t *testing.T) {
	var got []string
	for _, sub := range []string{"dockerfiles", "flytoml", "alembic"} {
		dir := testutil.CorpusDir(t, sub)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() || e.Name() == "SOURCES.tsv" {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			name := e.Name()
			switch {
			case strings.HasSuffix(name, "Dockerfile"):
				name = "Dockerfile"
			case strings.HasSuffix(name, "fly.toml"):
				name = "fly.toml"
			case strings.HasSuffix(name, "alembic.ini"):
				name = "alembic.ini"
			}
			repo := secWriteRepo(t, map[string]string{name: string(data)})
			p, err := project.Load(repo, project.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range runOne(ruleSecretsCommitted, p) {
				got = append(got, fmt.Sprintf("%s/%s %s %s", sub, e.Name(), f.Location, f.Severity))
				if strings.Contains(f.Message+f.Fix+f.Title, "7TkF") {
					t.Errorf("finding repeats the value")
				}
			}
		}
	}
	want := "dockerfiles/morisy__django-fly-starter__Dockerfile Dockerfile:25:17 error"
	if strings.Join(got, "\n") != want {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// TestSecretsExamples checks the sample repositories: examples/grupo-gad
// has no secrets finding but the secrets-required notices, and
// examples/broken/secrets-committed has exactly the findings of its
// expect.txt.
func TestSecretsExamples(t *testing.T) {
	root := testutil.RepoRoot(t)
	run := func(dir string) []string {
		p, err := project.Load(filepath.Join(root, dir), project.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range []*Rule{ruleSecretsEnvLiteral, ruleSecretsCommitted, ruleSecretsRequired} {
			for _, f := range runOne(r, p) {
				got = append(got, fmt.Sprintf("%s %s:%d %s", f.Rule, f.File, f.Line, f.Severity))
			}
		}
		sort.Strings(got)
		return got
	}
	got := run("examples/grupo-gad")
	want := []string{
		"secrets-required app/core/config.py:12 notice",
		"secrets-required app/core/config.py:13 notice",
		"secrets-required app/core/config.py:14 notice",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("examples/grupo-gad: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = run("examples/broken/secrets-committed")
	want = []string{
		"secrets-committed docs/DEPLOY.md:15 error",
		"secrets-committed docs/DEPLOY.md:16 error",
		"secrets-env-literal fly.toml:6 error",
		// app/main.py reads nothing from the environment.
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("examples/broken/secrets-committed: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkSecretsGrupoGad times the three secrets rules on the sample
// repository (loading excluded); validate's whole budget there is ~15 ms.
func BenchmarkSecretsGrupoGad(b *testing.B) {
	p, err := project.Load(filepath.Join(testutil.RepoRoot(b), "examples", "grupo-gad"), project.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range []*Rule{ruleSecretsEnvLiteral, ruleSecretsCommitted, ruleSecretsRequired} {
			runOne(r, p)
		}
	}
}
