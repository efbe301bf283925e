package rules

// What the secrets rules share: how a literal is judged, which files are
// scanned, and how a secret-looking value is described without repeating it.

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/secretscan"
)

// secLiteralCandidate judges a value written in fly.toml ([env], [build.args])
// with the secretscan thresholds, by scanning it as a one-line TOML
// assignment. It returns the candidate, or nil when the value does not look
// like a real secret.
func secLiteralCandidate(name, value string) *secretscan.Candidate {
	var q string
	switch {
	case !strings.ContainsAny(value, "\"\\\n\r"):
		q = `"` + value + `"`
	case !strings.ContainsAny(value, "'\n\r"):
		q = `'` + value + `'`
	default:
		q = strconv.Quote(value)
	}
	key := name
	if !secIsEnvName(name) {
		key = strconv.Quote(name)
	}
	cs := secretscan.Scan("fly.toml", []byte(key+" = "+q+"\n"))
	if len(cs) == 0 {
		return nil
	}
	c := cs[0]
	return &c
}

// secWeakSecretLiteral reports whether value, assigned to the secret-sounding
// name, is a real value too short or too plain to pass the secretscan
// thresholds ("mysecret1", a made-up "adasdsdf…" token) rather than a
// placeholder or a value that is not a secret at all (a number, a flag, a
// path, a URL without password, a password hash).
func secWeakSecretLiteral(name, value string) bool {
	if !secretscan.LooksSecretName(name) || secretscan.IsPlaceholder(value) {
		return false
	}
	v := strings.TrimSpace(value)
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return false
	}
	switch strings.ToLower(v) {
	case "yes", "no", "on", "off", "enabled", "disabled":
		return false
	}
	if strings.Contains(v, "://") || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || secIsPasswordHash(v) {
		return false
	}
	return true
}

// secPasswordHashPrefixes start password hashes (argon2, bcrypt, crypt(3),
// Django's and Werkzeug's formats): values meant to be stored, such as
// Vaultwarden's hashed ADMIN_TOKEN.
var secPasswordHashPrefixes = []string{"$argon2", "$2a$", "$2b$", "$2y$", "$1$", "$5$", "$6$", "$y$", "$scrypt$",
	"pbkdf2_", "pbkdf2:", "sha256$", "bcrypt$", "argon2$", "scrypt:"}

func secIsPasswordHash(v string) bool {
	for _, p := range secPasswordHashPrefixes {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

// secWhyLooksReal says, without the value, why a candidate looks like a real
// secret: its format, or its length and entropy.
func secWhyLooksReal(c secretscan.Candidate) string {
	switch {
	case c.Format == "private key block":
		return fmt.Sprintf("it is a private key block (%d base64 characters, lines %d-%d)", c.Length, c.Loc.Line, c.Loc.EndLine)
	case strings.Contains(c.Format, "URL with password"):
		return fmt.Sprintf("it is a %s: the password is %d characters long and is not a placeholder", c.Format, c.Length)
	case c.Format != "":
		return fmt.Sprintf("it has the format of a%s %s (%d characters)", secArticle(c.Format), c.Format, c.Length)
	case c.Length >= secretscan.MinLength && c.Entropy >= secretscan.MinEntropy:
		return fmt.Sprintf("it is %d characters long with %.1f bits of entropy per character, as random as a generated key", c.Length, c.Entropy)
	}
	return fmt.Sprintf("it is a %d-character password mixing letters, digits and symbols (%.1f bits of entropy per character), not a placeholder", c.Length, c.Entropy)
}

func secArticle(s string) string {
	if s != "" && strings.ContainsRune("AEIOU", rune(s[0])) {
		return "n"
	}
	return ""
}

// secSecretLabel names a candidate for a message: its key, else its format.
func secSecretLabel(c secretscan.Candidate) string {
	switch {
	case c.Name != "":
		return c.Name
	case c.Format != "":
		return "a" + secArticle(c.Format) + " " + c.Format
	}
	return "a secret"
}

// secSecretsSetCmd is the `fly secrets set` command for name, never with a
// value.
func secSecretsSetCmd(name string) string {
	if !secIsEnvName(name) {
		name = "NAME"
	}
	return "`fly secrets set " + name + "=<value>`"
}

// secVarName turns the key a secret was found under into the environment
// variable to hold it: SECRET_KEY stays, apiKey and X-Api-Key become API_KEY
// and X_API_KEY; NAME when nothing usable is left.
func secVarName(key string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToUpper(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, r := range rs {
		alnum := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !alnum {
			flush()
			continue
		}
		if i > 0 && r >= 'A' && r <= 'Z' && len(cur) > 0 {
			prev := rs[i-1]
			if (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9') {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	name := strings.Join(words, "_")
	if !secIsEnvName(name) {
		return "NAME"
	}
	return name
}

// secIsEnvName reports whether name can be an environment variable name.
func secIsEnvName(name string) bool {
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// secTitle builds a finding secTitle of at most 60 characters: prefix plus name,
// the name shortened when needed.
func secTitle(prefix, name string) string {
	const limit = 60
	if len(prefix)+len(name) <= limit {
		return prefix + name
	}
	keep := limit - len(prefix) - 1
	if keep < 1 {
		return prefix[:limit]
	}
	return prefix + name[:keep] + "…"
}

// secFlyLiteralLines returns the lines of fly.toml that hold [env] and
// [build.args] values, which secrets-env-literal reports (so that
// secrets-committed does not report them again).
func secFlyLiteralLines(cfg *flytoml.Config) map[int]bool {
	lines := map[int]bool{}
	if cfg == nil {
		return lines
	}
	add := func(v flytoml.Value[string]) {
		end := max(v.Loc.EndLine, v.Loc.Line)
		for l := v.Loc.Line; l <= end; l++ {
			lines[l] = true
		}
	}
	for _, k := range cfg.EnvKeys {
		add(cfg.Env[k])
	}
	if cfg.Build != nil {
		for _, k := range cfg.Build.ArgKeys {
			add(cfg.Build.Args[k])
		}
	}
	return lines
}

// secScanSkipExts are file types never scanned for committed secrets: binary
// formats (read would be wasted) and generated files whose hashes and
// minified code only make noise.
var secScanSkipExts = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".ico": true, ".bmp": true,
	".tif": true, ".tiff": true, ".avif": true, ".heic": true, ".psd": true, ".xcf": true,
	".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true,
	".zip": true, ".gz": true, ".tgz": true, ".bz2": true, ".xz": true, ".zst": true, ".7z": true, ".rar": true,
	".tar": true, ".jar": true, ".war": true, ".whl": true, ".egg": true,
	".pdf": true, ".doc": true, ".docx": true, ".xls": true, ".xlsx": true, ".ppt": true, ".pptx": true,
	".mp3": true, ".mp4": true, ".wav": true, ".ogg": true, ".webm": true, ".mov": true, ".avi": true, ".flac": true,
	".pyc": true, ".pyo": true, ".so": true, ".dll": true, ".dylib": true, ".exe": true, ".o": true, ".a": true,
	".class": true, ".wasm": true, ".bin": true, ".dat": true, ".db": true, ".sqlite": true, ".sqlite3": true,
	".pkl": true, ".pickle": true, ".npy": true, ".npz": true, ".h5": true, ".onnx": true, ".pt": true,
	".parquet": true, ".feather": true, ".ipynb": true, ".map": true,
}

// secScanSkipNames are lock files: dependency hashes, never secrets.
var secScanSkipNames = map[string]bool{
	"package-lock.json": true, "yarn.lock": true, "pnpm-lock.yaml": true, "poetry.lock": true,
	"pipfile.lock": true, "uv.lock": true, "pdm.lock": true, "cargo.lock": true, "go.sum": true,
	"composer.lock": true, "gemfile.lock": true, "mix.lock": true, "bun.lockb": true, "flake.lock": true,
}

// secScanFile reports whether the secrets scan reads the file at rel.
func secScanFile(rel string) bool {
	base := strings.ToLower(path.Base(rel))
	if secScanSkipNames[base] || strings.HasSuffix(base, ".min.js") || strings.HasSuffix(base, ".min.css") {
		return false
	}
	return !secScanSkipExts[path.Ext(base)]
}

// secIsTestFile reports whether rel is test code or a test fixture, where a
// made-up key is common: tests/, test/, __tests__/, spec/, testdata/,
// fixtures/ folders, test_*.py, *_test.*, *.test.*, *.spec.*, conftest.py.
func secIsTestFile(rel string) bool {
	parts := strings.Split(strings.ToLower(rel), "/")
	for _, d := range parts[:len(parts)-1] {
		switch d {
		case "tests", "test", "__tests__", "spec", "specs", "testdata", "fixtures", "__fixtures__", "test_data":
			return true
		}
	}
	base := parts[len(parts)-1]
	stem := strings.TrimSuffix(base, path.Ext(base))
	return strings.HasPrefix(base, "test_") || strings.HasSuffix(stem, "_test") || strings.HasSuffix(stem, "_spec") ||
		strings.HasSuffix(stem, ".test") || strings.HasSuffix(stem, ".spec") || base == "conftest.py"
}

// secIsEnvFile reports whether rel is a dotenv file (.env, .env.production,
// prod.env, .env.example, …).
func secIsEnvFile(rel string) bool {
	base := strings.ToLower(path.Base(rel))
	return base == ".env" || strings.HasPrefix(base, ".env.") || strings.HasSuffix(base, ".env")
}

// secIsEnvExample reports whether rel is a dotenv template meant to be copied.
func secIsEnvExample(rel string) bool {
	base := strings.ToLower(path.Base(rel))
	for _, s := range []string{"example", "sample", "template", "dist", "defaults", "tmpl", "tpl"} {
		if strings.Contains(base, s) {
			return secIsEnvFile(rel) || strings.HasPrefix(base, "env.")
		}
	}
	return false
}

// secIsDockerfile reports whether rel is a Dockerfile (Dockerfile,
// Dockerfile.prod, api.Dockerfile, Containerfile).
func secIsDockerfile(rel string) bool {
	base := strings.ToLower(path.Base(rel))
	return strings.Contains(base, "dockerfile") || strings.Contains(base, "containerfile")
}

// secIsDocFile reports whether rel is documentation.
func secIsDocFile(rel string) bool {
	switch strings.ToLower(path.Ext(rel)) {
	case ".md", ".markdown", ".rst", ".txt", ".adoc", ".html", ".mdx":
		return true
	}
	return false
}

// secLookupDefault reports whether the value starting at 1-based column col
// of line is the fallback of an environment lookup:
// os.environ.get("SECRET_KEY", "…"), config("SECRET_KEY", default="…").
func secLookupDefault(line string, col int) bool {
	i := secByteOffset(line, col)
	pre := strings.TrimRight(line[:i], " \t\"'`")
	for len(pre) > 0 && strings.ContainsRune("bBrRuUfF", rune(pre[len(pre)-1])) {
		pre = pre[:len(pre)-1] // string prefix: b"…", r'…'
	}
	pre = strings.TrimRight(pre, " \t")
	if !strings.Contains(pre, "(") {
		return false
	}
	if strings.HasSuffix(pre, ",") {
		return true
	}
	if strings.HasSuffix(pre, "=") {
		k := strings.TrimRight(pre[:len(pre)-1], " \t")
		return strings.HasSuffix(k, "default")
	}
	return false
}

// secByteOffset returns the byte offset of 1-based character column col of
// line (len(line) when past its end).
func secByteOffset(line string, col int) int {
	n := 1
	for i := range line {
		if n == col {
			return i
		}
		n++
	}
	return len(line)
}

// secProjectFly returns p's fly.toml path for messages.
func secProjectFly(p *project.Project) string {
	if p.FlyPath != "" {
		return p.FlyPath
	}
	return "fly.toml"
}
