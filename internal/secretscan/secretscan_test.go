package secretscan

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// Secret-looking test values are generated at run time, so that no
// realistic secret is committed in this package (not even a fake one that
// a scanner, this one included, would flag).

const (
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upperN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	hexa   = "0123456789abcdef"
	b64url = alnum + "-_"
)

func randString(r *rand.Rand, set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// secretFor returns a random value that is not a placeholder.
func secretFor(r *rand.Rand, set string, n int) string {
	for {
		v := randString(r, set, n)
		if !IsPlaceholder(v) && Entropy(v) >= MinEntropy {
			return v
		}
	}
}

// assertNoLeak fails when any candidate field holds the secret or any
// 6-character piece of it.
func assertNoLeak(t *testing.T, cands []Candidate, secrets ...string) {
	t.Helper()
	dump := fmt.Sprintf("%#v", cands)
	for _, s := range secrets {
		for i := 0; i+6 <= len(s); i++ {
			if strings.Contains(dump, s[i:i+6]) {
				t.Fatalf("a candidate holds part of the secret value (at %d)", i)
			}
		}
	}
}

func TestPlaceholdersAreNotCandidates(t *testing.T) {
	placeholders := []string{
		"...", "…", "<value>", "<your-key>", "changeme", "change-me", "xxx", "your-secret-here", "your_secret_key",
		"${VAR}", "$VAR", "{{ var }}", "%(x)s", "secret", "password", "example", "test", "dummy", "",
		"None", "null", `os.environ["SECRET_KEY"]`, `env("SECRET_KEY")`, "secrets.token_urlsafe(32)",
		"changethis", "xxxxxxxxxxxxxxxxxxxxxxxx", "****************", "xxxx-xxxx-xxxx-xxxx", "{YOUR_PASSWORD}",
		"[REDACTED]", "${{ secrets.FLY_API_TOKEN }}", "%SECRET_KEY%", "op://vault/item/password",
		"!vault", "replace-with-a-long-random-string", "test-secret-key-for-ci-only-1234",
		"sk-...", "ghp_...", "settings.SECRET_KEY", "os.getenv('X')", "$(openssl rand -hex 32)",
		"your-api-key-here-0123456789abcdef", "this-is-an-example-key-0123456789",
	}
	forms := []struct{ path, format string }{
		{".env", "SECRET_KEY=%s\n"},
		{"deploy.sh", "export JWT_SECRET_KEY=\"%s\"\n"},
		{"docker-compose.yml", "services:\n  web:\n    environment:\n      API_KEY: '%s'\n"},
		{"config.json", "{\"client_secret\": \"%s\"}\n"},
		{"app/config.py", "SECRET_KEY = \"%s\"\n"},
		{"app/config.py", "JWT_SECRET_KEY: str = '%s'\n"},
		{"README.md", "fly secrets set SECRET_KEY=%s\n"},
		{"app.ini", "password = %s\n"},
	}
	for _, p := range placeholders {
		if p != "" && !IsPlaceholder(p) {
			t.Errorf("IsPlaceholder(%q) = false", p)
		}
		for _, f := range forms {
			src := fmt.Sprintf(f.format, p)
			if got := Scan(f.path, []byte(src)); len(got) > 0 {
				t.Errorf("%s %q: got %+v, want no candidate", f.path, src, got)
			}
		}
	}
}

func TestIsPlaceholderRealValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		for _, set := range []string{alnum, hexa, b64url, upperN} {
			v := randString(r, set, 40)
			if IsPlaceholder(v) && !strings.Contains(strings.ToLower(v), "test") && !strings.Contains(strings.ToLower(v), "here") {
				t.Errorf("IsPlaceholder(random %d) = true", i)
			}
		}
	}
	for _, v := range []string{"Hunter2024!", "django-insecure-" + "k3$9x!q@z8w#p1m&v7b^n2c*r5t%y4u0", "s3cr3t-P4ssw0rd-2024"} {
		if IsPlaceholder(v) {
			t.Errorf("IsPlaceholder(%q) = true", v)
		}
	}
}

func TestAssignments(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	type tc struct {
		name, path, src, wantName string
		value                     string
	}
	var tests []tc
	add := func(name, path, format, wantName string, set string, n int) {
		v := secretFor(r, set, n)
		tests = append(tests, tc{name, path, strings.ReplaceAll(format, "VALUE", v), wantName, v})
	}
	add("env file", ".env", "DEBUG=false\nSECRET_KEY=VALUE\n", "SECRET_KEY", b64url, 43)
	add("env file quoted", ".env.production", "JWT_SECRET_KEY=\"VALUE\"\n", "JWT_SECRET_KEY", hexa, 64)
	add("export", "scripts/deploy.sh", "#!/bin/sh\nexport API_KEY='VALUE'\n", "API_KEY", alnum, 32)
	add("fly secrets set, second pair", "README.md", "Run:\n\n    fly secrets set DEBUG=0 JWT_SECRET_KEY=VALUE --app x\n", "JWT_SECRET_KEY", b64url, 40)
	add("docker -e", "Makefile", "run:\n\tdocker run -e PORT=8080 -e POSTGRES_PASSWORD=VALUE app\n", "POSTGRES_PASSWORD", alnum, 20)
	add("yaml", "docker-compose.yml", "services:\n  web:\n    environment:\n      SECRET_KEY: VALUE\n", "SECRET_KEY", b64url, 50)
	add("yaml list", "docker-compose.yml", "    environment:\n      - \"CLIENT_SECRET=VALUE\"\n", "CLIENT_SECRET", alnum, 24)
	add("json", "credentials.json", "{\n  \"client_id\": \"abc\",\n  \"client_secret\": \"VALUE\"\n}\n", "client_secret", b64url, 35)
	add("toml", "fly.toml", "[env]\n  OPENAI_API_KEY = \"VALUE\"\n", "OPENAI_API_KEY", alnum, 48)
	add("ini", "alembic.ini", "[db]\npassword = VALUE\n", "password", alnum, 18)
	add("python", "app/settings.py", "import os\nSECRET_KEY = 'VALUE'\n", "SECRET_KEY", b64url, 50)
	add("python annotated", "app/core/config.py", "class Settings(BaseSettings):\n    JWT_SECRET_KEY: str | None = \"VALUE\"\n", "JWT_SECRET_KEY", hexa, 32)
	add("python getenv default", "app/settings.py", "SECRET_KEY = os.getenv(\"DJANGO_SECRET_KEY\", \"VALUE\")\n", "DJANGO_SECRET_KEY", b64url, 50)
	add("python config default", "app/settings.py", "SECRET_KEY = config(\"SECRET_KEY\", default=\"VALUE\")\n", "SECRET_KEY", b64url, 50)
	add("python kwarg", "app/db.py", "conn = connect(host=\"db\", password=\"VALUE\")\n", "password", alnum, 20)
	add("python dict", "app/db.py", "OPTS = {'user': 'app', 'password': 'VALUE'}\n", "password", alnum, 20)
	add("python bytes", "app/settings.py", "SIGNING_KEY = b\"VALUE\"\n", "SIGNING_KEY", alnum, 32)
	add("dockerfile ENV", "Dockerfile", "FROM python:3.12\nENV SECRET_KEY=VALUE\n", "SECRET_KEY", b64url, 50)
	add("dockerfile legacy ENV", "backend/Dockerfile", "FROM python:3.12\nENV SECRET_KEY \"VALUE\"\n", "SECRET_KEY", b64url, 50)
	add("dockerfile ARG", "Dockerfile", "ARG GITHUB_TOKEN=VALUE\n", "GITHUB_TOKEN", alnum, 40)
	add("camelCase", "src/config.ts", "export const config = { apiKey: \"VALUE\" };\n", "apiKey", alnum, 39)
	add("cli flag", "deploy.sh", "tool login --password=VALUE\n", "password", alnum, 22)
	add("commented out", ".env", "# SECRET_KEY=VALUE\n", "SECRET_KEY", b64url, 43)
	add("url query", "notes.txt", "curl https://api.example.net/v1?access_token=VALUE\n", "access_token", alnum, 40)
	tests = append(tests, tc{"human password", ".env", "DB_PASSWORD=Hunter2024!x\n", "DB_PASSWORD", "Hunter2024!x"})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Scan(tt.path, []byte(tt.src))
			assertNoLeak(t, got, tt.value)
			if len(got) != 1 {
				t.Fatalf("got %d candidates %+v, want 1", len(got), got)
			}
			c := got[0]
			lines := strings.Split(tt.src, "\n")
			wantLine, wantCol := 0, 0
			for i, l := range lines {
				if k := strings.Index(l, tt.value); k >= 0 {
					wantLine, wantCol = i+1, len([]rune(l[:k]))+1
					break
				}
			}
			if c.Name != tt.wantName || c.Loc.Line != wantLine || c.Loc.Column != wantCol || c.Loc.EndLine != wantLine ||
				c.Loc.File != tt.path || c.Length != len([]rune(tt.value)) || c.Kind != KindAssignment || c.Format != "" {
				t.Errorf("got %+v, want name %s at %d:%d, length %d", c, tt.wantName, wantLine, wantCol, len(tt.value))
			}
			if e := Entropy(tt.value); c.Entropy != e {
				t.Errorf("entropy %v, want %v", c.Entropy, e)
			}
		})
	}
}

func TestNotSecrets(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	long := secretFor(r, alnum, 40)
	tests := []struct{ path, src string }{
		{".env", "PASSWORD_MIN_LENGTH=12\nACCESS_TOKEN_EXPIRE_MINUTES=11520\n"},
		{".env", "SECRET_KEY_FILE=/run/secrets/secret_key\nAUTH_URL=https://auth.example.net/oauth/token\n"},
		{".env", "AWS_ACCESS_KEY_ID_NAME=" + long + "\n"}, // not a secret name
		{".env", "DEBUG_MODE=" + long + "\n"},
		{".env", "TOKEN=12345678901234567890\n"},
		{"settings.py", "SECRET_KEY = get_secret_key()\nAPI_KEY = API_KEY_FROM_VAULT\n"},
		{"settings.py", "password = \"short\"\nTOKEN = \"development\"\n"},
		{"notes.md", "DJANGO_SECRET_KEY \"this is a secret key for building purposes\"\n"},
		{"pyproject.toml", "[project.entry-points]\ndispatch_basic_auth = \"dispatch.plugins.core.plugin:BasicAuthProviderPlugin\"\n"},
		{".env", "PWD=/home/user/" + long + "\n"},
		{"a.py", "if token == \"" + long + "\":\n"},
		{"a.py", "SECRET_KEY = f\"{prefix}" + long + "\"\n"},
	}
	for _, tt := range tests {
		if got := Scan(tt.path, []byte(tt.src)); len(got) > 0 {
			t.Errorf("%s %q: got %+v", tt.path, tt.src, got)
		}
	}
}

func TestKnownFormats(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	type tc struct {
		name, format, prefix, value, line, wantName string
	}
	mk := func(name, format, value, tmpl, wantName string) tc {
		return tc{name: name, format: format, value: value, line: strings.ReplaceAll(tmpl, "VALUE", value), wantName: wantName}
	}
	aws := "AK" + "IA" + secretFor(r, upperN, 16)
	gh := "gh" + "p_" + secretFor(r, alnum, 36)
	pat := "github" + "_pat_" + secretFor(r, alnum+"_", 82)
	fly := "FlyV1 " + "fm2" + "_" + secretFor(r, alnum+"+/", 120) + ",fm2_" + secretFor(r, alnum+"+/", 60)
	slack := "xo" + "xb-" + secretFor(r, "0123456789", 12) + "-" + secretFor(r, alnum, 24)
	stripe := "sk" + "_live_" + secretFor(r, alnum, 24)
	openai := "sk" + "-proj-" + secretFor(r, alnum+"_-", 60)
	anthropic := "sk" + "-ant-api03-" + secretFor(r, alnum+"_-", 80)
	google := "AI" + "za" + secretFor(r, alnum+"_-", 35)
	tests := []tc{
		mk("aws in prose", "AWS access key", aws, "The key VALUE was rotated.", ""),
		mk("aws assigned to a plain name", "AWS access key", aws, "AWS_ACCESS_KEY_ID=VALUE", "AWS_ACCESS_KEY_ID"),
		mk("github classic", "GitHub token", gh, "git clone https://x-access-token:VALUE@github.com/o/r", ""),
		mk("github fine-grained", "GitHub token", pat, "token: VALUE", "token"),
		mk("fly", "Fly.io token", fly, "FLY_API_TOKEN=\"VALUE\"", "FLY_API_TOKEN"),
		mk("slack", "Slack token", slack, "slack = VALUE", "slack"),
		mk("stripe", "Stripe live key", stripe, "stripe.api_key = 'VALUE'", "stripe.api_key"),
		mk("openai", "OpenAI API key", openai, "OPENAI_API_KEY=VALUE", "OPENAI_API_KEY"),
		mk("anthropic", "Anthropic API key", anthropic, "key: VALUE", "key"),
		mk("google", "Google API key", google, "<script src=\"https://maps.example.net/js?key=VALUE\"></script>", "key"),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "# header\n" + tt.line + "\n"
			got := Scan("docs/notes.md", []byte(src))
			assertNoLeak(t, got, tt.value)
			if len(got) != 1 {
				t.Fatalf("got %+v, want 1 candidate", got)
			}
			c := got[0]
			col := len([]rune(tt.line[:strings.Index(tt.line, tt.value)])) + 1
			if c.Format != tt.format || c.Kind != KindKnownFormat || c.Loc.Line != 2 || c.Loc.Column != col ||
				c.Length != len(tt.value) || c.Name != tt.wantName {
				t.Errorf("got %+v, want %s at 2:%d length %d name %q", c, tt.format, col, len(tt.value), tt.wantName)
			}
		})
	}
}

func TestDatabaseURLs(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	pw := secretFor(r, alnum, 24)
	tests := []struct {
		src, format string
		name        string
	}{
		{"DATABASE_URL=postgres://app:" + pw + "@grupo-gad-db.flycast:5432/app?sslmode=disable", "postgres URL with password", "DATABASE_URL"},
		{"url = \"postgresql+asyncpg://app:" + pw + "@db.internal/app\"", "postgres URL with password", "url"},
		{"REDIS_URL: rediss://default:" + pw + "@fly-redis.upstash.io:6379", "redis URL with password", "REDIS_URL"},
		{"mysql://root:" + pw + "@10.0.0.1/app", "mysql URL with password", ""},
		{"see https://deploy:" + pw + "@example.net/hook", "URL with password", ""},
	}
	for _, tt := range tests {
		got := Scan("notes.txt", []byte(tt.src+"\n"))
		assertNoLeak(t, got, pw)
		if len(got) != 1 {
			t.Errorf("%q: got %+v, want 1", tt.src, got)
			continue
		}
		c := got[0]
		col := len([]rune(tt.src[:strings.Index(tt.src, pw)])) + 1
		if c.Format != tt.format || c.Loc.Column != col || c.Length != len(pw) || c.Name != tt.name {
			t.Errorf("%q: got %+v, want %s at col %d", tt.src, c, tt.format, col)
		}
	}
	for _, src := range []string{
		"postgres://postgres:postgres@localhost/db", "postgres://user:password@host/db", "postgres://u:pass@h/db",
		"postgres://app:${DB_PASSWORD}@db/app", "postgres://app:$DB_PASSWORD@db/app", "postgres://app:app@db/app",
		"redis://:password@localhost:6379", "postgres://localhost/db", "postgres://user@host/db",
		"https://user:<token>@example.net", "amqp://guest:guest@localhost", "postgres://u:%(pw)s@h/db",
	} {
		if got := Scan("x.md", []byte(src)); len(got) > 0 {
			t.Errorf("%q: got %+v", src, got)
		}
	}
}

func pemBody(r *rand.Rand) (string, []string) {
	raw := make([]byte, 600)
	for i := range raw {
		raw[i] = byte(r.IntN(256))
	}
	b := base64.StdEncoding.EncodeToString(raw)
	var lines []string
	for len(b) > 64 {
		lines = append(lines, b[:64])
		b = b[64:]
	}
	return strings.Join(append(lines, b), ""), append(lines, b)
}

func TestPrivateKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 12))
	body, lines := pemBody(r)
	begin, end := "-----BEGIN "+"RSA PRIVATE KEY-----", "-----END "+"RSA PRIVATE KEY-----"
	pem := "key.pem header\n" + begin + "\n" + strings.Join(lines, "\n") + "\n" + end + "\nafter\n"
	got := Scan("deploy/key.pem", []byte(pem))
	assertNoLeak(t, got, lines...)
	if len(got) != 1 || got[0].Format != "private key block" || got[0].Loc.Line != 2 || got[0].Loc.Column != 1 ||
		got[0].Loc.EndLine != 3+len(lines) || got[0].Length != len(body) {
		t.Errorf("multi-line block: got %+v", got)
	}

	body2, _ := pemBody(r)
	js := `{"type": "service_account", "private_key": "` + "-----BEGIN " + `PRIVATE KEY-----\n` + body2[:64] + `\n` + body2[64:] +
		`\n-----END PRIVATE KEY-----\n", "client_email": "x@y.iam.gserviceaccount.com"}`
	got = Scan("sa.json", []byte(js))
	assertNoLeak(t, got, body2)
	if len(got) != 1 || got[0].Name != "private_key" || got[0].Loc.EndLine != 1 || got[0].Length != len(body2) {
		t.Errorf("one-line JSON block: got %+v", got)
	}

	for _, src := range []string{
		"-----BEGIN " + "PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n",
		"-----BEGIN " + "OPENSSH PRIVATE KEY-----\n<paste your key here>\n-----END OPENSSH PRIVATE KEY-----\n",
		"-----BEGIN CERTIFICATE-----\n" + strings.Join(lines, "\n") + "\n-----END CERTIFICATE-----\n",
		"-----BEGIN " + "EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
	} {
		if got := Scan("x.md", []byte(src)); len(got) > 0 {
			t.Errorf("%q: got %+v", src[:30], got)
		}
	}
}

func TestNoFieldHoldsTheSecret(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	var secrets []string
	var b strings.Builder
	for i := 0; i < 50; i++ {
		v := secretFor(r, b64url, 20+r.IntN(40))
		secrets = append(secrets, v)
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "SECRET_KEY=%s\n", v)
		case 1:
			fmt.Fprintf(&b, "  password: \"%s\"\n", v)
		case 2:
			fmt.Fprintf(&b, "DATABASE_URL=postgres://app:%s@db/app\n", v)
		case 3:
			fmt.Fprintf(&b, "fly secrets set API_KEY=%s TOKEN=%s\n", v, v)
		case 4:
			fmt.Fprintf(&b, "export CLIENT_SECRET='%s' # rotated\n", v)
		}
	}
	// A random key that happens to hold a secret word is not taken for a name.
	randomKey := secretFor(r, alnum, 20) + "Pass" + secretFor(r, alnum, 20)
	secrets = append(secrets, randomKey)
	fmt.Fprintf(&b, "{\"%s\": \"%s\"}\n", randomKey, secretFor(r, alnum, 30))
	got := Scan("mixed.txt", []byte(b.String()))
	if len(got) != 60 { // the fly secrets line holds two
		t.Errorf("got %d candidates, want 60", len(got))
	}
	assertNoLeak(t, got, secrets...)
}

func TestTestdataHasNoCandidates(t *testing.T) {
	files, err := filepath.Glob("testdata/*")
	more, _ := filepath.Glob("testdata/.env*")
	files = append(files, more...)
	if err != nil || len(files) < 5 {
		t.Fatalf("testdata: %v %v", files, err)
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := Scan(filepath.Base(f), data); len(got) > 0 {
			t.Errorf("%s: placeholders reported: %+v", f, got)
		}
	}
}

func TestUTF16AndBinary(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	v := secretFor(r, alnum, 30)
	src := "DEBUG=1\r\nSECRET_KEY=" + v + "\r\n"
	u := utf16.Encode([]rune(src))
	buf := []byte{0xFF, 0xFE}
	for _, c := range u {
		buf = append(buf, byte(c), byte(c>>8))
	}
	got := Scan(".env", buf)
	if len(got) != 1 || got[0].Loc.Line != 2 || got[0].Loc.Column != 12 || got[0].Length != 30 {
		t.Errorf("UTF-16: got %+v", got)
	}
	if got := Scan("blob.bin", append([]byte("SECRET_KEY="+v+"\n"), 0, 1, 2)); got != nil {
		t.Errorf("binary: got %+v", got)
	}
	bom := append([]byte{0xEF, 0xBB, 0xBF}, []byte("SECRET_KEY="+v)...)
	if got := Scan(".env", bom); len(got) != 1 || got[0].Loc.Column != 12 {
		t.Errorf("UTF-8 BOM: got %+v", got)
	}
}

func TestLooksSecretName(t *testing.T) {
	yes := []string{"SECRET", "SECRET_KEY", "JWT_SECRET_KEY", "PASSWORD", "POSTGRES_PASSWORD", "PASSWD", "DB_PASS",
		"TOKEN", "GITHUB_TOKEN", "FLY_API_TOKEN", "API_KEY", "apiKey", "PRIVATE_KEY", "ACCESS_KEY", "AWS_SECRET_ACCESS_KEY",
		"CLIENT_SECRET", "clientSecret", "CREDENTIALS", "AUTH", "BASIC_AUTH", "AUTH_TOKEN", "dbPassword", "DBPassword",
		"dbpassword", "SIGNING_KEY", "ENCRYPTION_KEY", "APP_KEY", "WEBHOOK_SECRET", "password", "--password",
		"SECRET_KEY_BASE", "SESSION_SECRET", "access_token", "PASSPHRASE", "stripe.api_key"}
	no := []string{"PWD", "OLDPWD", "ACCESS_TOKEN_EXPIRE_MINUTES", "TOKEN_URL", "PASSWORD_MIN_LENGTH", "SECRET_KEY_FILE",
		"AWS_ACCESS_KEY_ID", "AUTHOR", "KEY", "MONKEY", "PASSENGER", "BYPASS_CACHE", "COMPASS", "DATABASE_URL",
		"SECRET_NAME", "PASSWORD_HASHERS", "AUTH_PASSWORD_VALIDATORS", "KEYBOARD", "AUTH_BACKEND", "PRIMARY_KEY", ""}
	for _, n := range yes {
		if !LooksSecretName(n) {
			t.Errorf("LooksSecretName(%q) = false", n)
		}
	}
	for _, n := range no {
		if LooksSecretName(n) {
			t.Errorf("LooksSecretName(%q) = true", n)
		}
	}
}

func TestEntropy(t *testing.T) {
	tests := []struct {
		s    string
		want float64
	}{
		{"", 0}, {"aaaa", 0}, {"ab", 1}, {"abcd", 2}, {"0123456789abcdef", 4}, {"éé", 0}, {"aé", 1},
	}
	for _, tt := range tests {
		if got := Entropy(tt.s); got != tt.want {
			t.Errorf("Entropy(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

// TestCorpus scans every file of the real corpus. It holds two committed
// secret-looking values: a Django SECRET_KEY in a Dockerfile's legacy
// "ENV NAME value" form and a JWT given as OPENAI_API_KEY in a fly.toml.
// Every other secret-named value there is a placeholder or a dev default
// ("secret", "dummy", "{YOUR_PASSWORD}", "secret-key", postgres://dummy:dummy@…,
// an argon2 hash, plugin entry points under *_auth names).
func TestCorpus(t *testing.T) {
	dir := testutil.CorpusDir(t, "")
	var got []string
	n := 0
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		rel, _ := filepath.Rel(dir, p)
		for _, c := range Scan(filepath.ToSlash(rel), data) {
			got = append(got, fmt.Sprintf("%s %s %s", c.Loc, c.Name, c.Kind))
			if c.Length == 0 || c.Entropy < MinShortEntropy {
				t.Errorf("weak candidate %+v", c)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"dockerfiles/morisy__django-fly-starter__Dockerfile:25:17 SECRET_KEY assignment",
		"flytoml/AI4Wings__CodeAnalysisAgent__fly.toml:9:21 OPENAI_API_KEY assignment",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("scanned %d files, got:\n%s\nwant:\n%s", n, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func FuzzScan(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*")
	envs, _ := filepath.Glob("testdata/.env*")
	seeds = append(seeds, envs...)
	base := os.Getenv("DEPLOY_ACTION_CORPUS")
	if base == "" {
		base = filepath.Join(testutil.RepoRoot(f), "..", "shared", "corpus")
	}
	for _, sub := range []string{"flytoml/*.toml", "dockerfiles/*Dockerfile", "logs/*.log"} {
		m, _ := filepath.Glob(filepath.Join(base, sub))
		if len(m) > 12 {
			m = m[:12]
		}
		seeds = append(seeds, m...)
	}
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(filepath.Base(s), data)
		}
	}
	f.Add(".env", []byte("-----BEGIN PRIVATE KEY-----\nA\n"))
	f.Add("a.py", []byte("X: str = 'a'\nK=postgres://a:b@c:d@e\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		cands := Scan(name, data)
		text, _ := decodeText(data)
		lines := strings.Split(text, "\n")
		for _, c := range cands {
			if c.Loc.Line < 1 || c.Loc.Line > len(lines) || c.Loc.EndLine < c.Loc.Line || c.Loc.EndLine > len(lines) {
				t.Fatalf("bad lines %+v (%d lines)", c.Loc, len(lines))
			}
			if c.Loc.Column < 1 || c.Loc.Column > len([]rune(lines[c.Loc.Line-1]))+1 {
				t.Fatalf("bad column %+v", c.Loc)
			}
			if c.Length <= 0 || c.Entropy < 0 || (c.Kind != KindAssignment && c.Kind != KindKnownFormat) {
				t.Fatalf("bad candidate %+v", c)
			}
			if c.Name != "" && !nameShaped(c.Name) {
				t.Fatalf("bad name %q", c.Name)
			}
			if c.Kind == KindAssignment && !bytes.Contains(data, []byte(c.Name)) && !strings.Contains(text, c.Name) {
				t.Fatalf("name %q not in input", c.Name)
			}
		}
	})
}

// BenchmarkScan scans a 10 MB synthetic file mixing code, YAML, .env
// lines, prose, long base64 lines and a few secrets.
func BenchmarkScan(b *testing.B) {
	r := rand.New(rand.NewPCG(17, 18))
	var buf bytes.Buffer
	chunks := []func() string{
		func() string { return "    result = compute(value, key=other, timeout=30)  # a comment: with colons\n" },
		func() string {
			return "services:\n  web:\n    image: registry.fly.io/app:deployment-01\n    ports: [\"8080:8080\"]\n"
		},
		func() string {
			return "DEBUG=false\nPORT=8080\nDATABASE_URL=postgres://postgres:postgres@db:5432/app\n"
		},
		func() string {
			return "The deploy checks each phase, and reports findings at the file and line that caused them.\n"
		},
		func() string { return base64.StdEncoding.EncodeToString([]byte(randString(r, alnum, 57))) + "\n" },
		func() string { return "SECRET_KEY=" + randString(r, b64url, 43) + "\n" },
		func() string { return "    \"client_secret\": \"" + randString(r, alnum, 32) + "\",\n" },
		func() string {
			return "{\"name\": \"x\", \"value\": 12, \"items\": [1, 2, 3], \"url\": \"https://example.net/a?b=c\"}\n"
		},
	}
	for buf.Len() < 10<<20 {
		buf.WriteString(chunks[r.IntN(len(chunks))]())
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		Scan("big.txt", data)
	}
}
