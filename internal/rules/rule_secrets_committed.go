package rules

import (
	"fmt"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/pysettings"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/secretscan"
)

var ruleSecretsCommitted = register(&Rule{
	ID:        "secrets-committed",
	Phase:     report.Secrets,
	Severity:  report.Error,
	Doc:       "a secret-looking literal in a committed file (docs, scripts, .env files, YAML, Python, Dockerfile ENV)",
	Why:       "a secret in the repository is readable by everyone who can read the repository, and stays in its git history after the line is deleted: it must be rotated and set with `fly secrets set`.",
	Sensitive: true,
	Check:     checkSecretsCommitted,
})

// checkSecretsCommitted scans every file of the project (leaving out, inside
// a git work tree, the files git ignores) with secretscan and reports each
// candidate at its value's line and column, naming the key, the length and
// why it looks real, never the value.
//
// Severity: error, except warning for test code and fixtures (tests/,
// *_test.*, conftest.py, …), where made-up keys are common, and for the
// fallback of an environment lookup (os.environ.get("SECRET_KEY", "…")),
// which the app only uses when the Fly secret is missing. Dotenv templates
// (.env.example, .env.sample, .env.template) are not spared: real values
// get pasted there. fly.toml [env] and [build.args] values are left to
// secrets-env-literal. Binary, lock and minified files are skipped, as are
// files over project.MaxFileSize (ReadText refuses them).
func checkSecretsCommitted(r *Rule, p *project.Project) []report.Finding {
	var files []string
	for _, rel := range p.Files() {
		if secScanFile(rel) {
			files = append(files, rel)
		}
	}
	flyLines := secFlyLiteralLines(p.Fly)
	fallbacks := secSettingsDefaults(p)
	scan := func(rel string) []report.Finding {
		data, err := p.ReadText(rel)
		if err != nil {
			return nil
		}
		cands := secretscan.Scan(rel, data)
		if len(cands) == 0 {
			return nil
		}
		lines := strings.Split(string(data), "\n")
		var out []report.Finding
		for _, c := range cands {
			if rel == p.FlyPath && flyLines[c.Loc.Line] {
				continue // secrets-env-literal reports it
			}
			line := ""
			if c.Loc.Line >= 1 && c.Loc.Line <= len(lines) {
				line = strings.TrimSuffix(lines[c.Loc.Line-1], "\r")
			}
			if c.Kind == secretscan.KindAssignment && secIsEnvNameValue(secValueAt(line, c.Loc.Column, c.Length)) {
				continue // EnvAccessToken = "FLY_ACCESS_TOKEN": the name of a variable, not a secret
			}
			fallback := fallbacks[secLineKey{rel, c.Loc.Line}] || secLookupDefault(line, c.Loc.Column)
			out = append(out, secCommittedFinding(r, rel, line, fallback, c))
		}
		return out
	}
	// Reading dominates on a large repository (one open, stat and read a
	// file), so a few workers read and scan in parallel; each file's
	// findings go to its own slot, keeping the output in file order.
	results := make([][]report.Finding, len(files))
	workers := min(len(files), max(2, runtime.GOMAXPROCS(0)), 8)
	if workers <= 1 || len(files) < 32 {
		for i, rel := range files {
			results[i] = scan(rel)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(files) {
						return
					}
					results[i] = scan(files[i])
				}
			}()
		}
		wg.Wait()
	}
	// Only files git would commit count: a developer's ignored local .env
	// is not in the repository. Git is asked only about files with a
	// finding, so a clean repository never starts it.
	var flagged []string
	for i, fs := range results {
		if len(fs) > 0 {
			flagged = append(flagged, files[i])
		}
	}
	ignored := p.GitIgnored(flagged)
	var out []report.Finding
	for i, fs := range results {
		if !ignored[files[i]] {
			out = append(out, fs...)
		}
	}
	return out
}

// secValueAt returns the n characters of line from 1-based column col: a
// candidate's value, read only to rule it out, never reported.
func secValueAt(line string, col, n int) string {
	i := secByteOffset(line, col)
	rest := line[i:]
	j := 0
	for k := range rest {
		if j == n {
			return rest[:k]
		}
		j++
	}
	return rest
}

// secIsEnvNameValue reports whether v is the name of an environment
// variable (FLY_ACCESS_TOKEN, GITHUB_TOKEN), as assigned to a constant that
// holds the name: upper-case words joined by underscores. secretscan takes
// such long names for high-entropy values.
func secIsEnvNameValue(v string) bool {
	if !strings.Contains(v, "_") || v[0] < 'A' || v[0] > 'Z' {
		return false
	}
	for _, w := range strings.Split(v, "_") {
		if w == "" || len(w) > 16 {
			return false
		}
		letters := 0
		for i := 0; i < len(w); i++ {
			c := w[i]
			switch {
			case c >= 'A' && c <= 'Z':
				letters++
			case c >= '0' && c <= '9':
			default:
				return false
			}
		}
		if letters == 0 {
			return false
		}
	}
	return true
}

// secCommittedFinding builds the finding for candidate c found on line of
// the file at rel.
func secCommittedFinding(r *Rule, rel, line string, fallback bool, c secretscan.Candidate) report.Finding {
	label := secSecretLabel(c)
	name := secVarName(c.Name)
	isURL := strings.Contains(c.Format, "URL with password")
	if isURL {
		label = "the password of the " + strings.TrimSuffix(c.Format, " with password")
		if c.Name != "" {
			label += " (" + c.Name + ")"
		}
		if c.Name == "" || strings.ToUpper(c.Name) != c.Name || !secIsEnvName(c.Name) {
			name = secURLVar(c.Format)
		}
	}
	loc := c.Loc
	loc.File = rel
	msg := fmt.Sprintf("%s is committed in %s: %s. Anyone who can read the repository has it, and it stays in git history after the line is removed.",
		secCapital(label), rel, secWhyLooksReal(c))
	rotate := "Rotate it (revoke it and generate a new one: deleting the line does not take it out of git history)"
	if isURL {
		rotate = "Change that password on the server (it stays in git history after the line is removed)"
	}
	set := fmt.Sprintf("set the new value with %s", secSecretsSetCmd(name))
	placeholder := "replace the value here with a placeholder such as `<value>`"

	sev := report.Error
	kind := "Secret committed: "
	switch {
	case secIsTestFile(rel):
		sev = report.Warning
		kind = "Secret-looking value in a test: "
		msg += " This is test code, where made-up keys are common: if this one is made up, nothing leaked, but it cannot be told apart from a real one."
		return r.FindingSev(sev, loc, secTitle(kind, secNameOrFormat(c)), msg,
			"If the value is real, rotate it and have the tests read it from the environment; if it is made up, make that obvious "+
				"(for example `test-secret-not-real`, which secret scanners skip) so that real keys stand out.")
	case fallback:
		sev = report.Warning
		kind = "Secret committed as a fallback: "
		msg += fmt.Sprintf(" It is the fallback the app uses when %s is not in the environment: if the Fly secret is ever missing, the app runs with a key everyone can read.", name)
		fix := fmt.Sprintf("Remove the default so that a missing secret stops the app at start-up (`os.environ[\"%s\"]` instead of `os.environ.get(\"%s\", \"…\")`; "+
			"a settings field with no default: `%s: str`), keep the value with %s, and rotate it if this one was ever used in production.", name, name, name, secSecretsSetCmd(name))
		return r.FindingSev(sev, loc, secTitle(kind, secNameOrFormat(c)), msg, fix)
	case secIsEnvExample(rel):
		msg += " Template files are copied by hand to make a real .env, and real values get pasted back into them."
		placeholder = fmt.Sprintf("put a placeholder back in the template (`%s=changeme`)", name)
	case secIsEnvFile(rel):
		msg += " A .env file holds the real values of one machine and should never be committed."
		placeholder = fmt.Sprintf("stop tracking the file (`git rm --cached %s`, then add it to .gitignore) and commit a template with placeholders (`%s=changeme`) instead", rel, name)
	case isURL:
		placeholder = "write the URL here with a placeholder password (`…://user:<password>@host…`)"
	case secIsDockerfile(rel):
		msg += " An ENV value is also baked into every image built from this Dockerfile."
		placeholder = fmt.Sprintf("remove the ENV line: the app receives %s from Fly at run time; if a build step needs a value, give that RUN a throwaway one "+
			"(`RUN %s=build-only python manage.py collectstatic --noinput`) or a build secret (`RUN --mount=type=secret,id=%s …`)", name, name, name)
	case secIsDocFile(rel):
		placeholder = fmt.Sprintf("write a placeholder or a command in the document instead (`%s=<value>` or `%s=\"$(openssl rand -hex 32)\"`)", name, name)
	case strings.HasSuffix(rel, ".py"):
		placeholder = fmt.Sprintf("read it from the environment in the code (`os.environ[\"%s\"]`)", name)
	case strings.EqualFold(path.Base(rel), "alembic.ini"):
		placeholder = "leave sqlalchemy.url empty or a placeholder, and have alembic/env.py read DATABASE_URL from the environment"
	}
	return r.FindingSev(sev, loc, secTitle(kind, secNameOrFormat(c)), msg,
		rotate+", "+set+", and "+placeholder+".")
}

// secLineKey is a line of a file.
type secLineKey struct {
	file string
	line int
}

// secSettingsDefaults returns the lines of pydantic settings fields that
// have a default: a literal there is the fallback used when the environment
// does not set the variable.
func secSettingsDefaults(p *project.Project) map[secLineKey]bool {
	out := map[secLineKey]bool{}
	for _, m := range p.Settings {
		for _, v := range m.Vars {
			if v.Kind == pysettings.KindPydantic && !v.Required {
				for l := v.Loc.Line; l <= max(v.Loc.Line, v.Loc.EndLine); l++ {
					out[secLineKey{m.Path, l}] = true
				}
			}
		}
	}
	return out
}

// secNameOrFormat is the candidate's key, else its format, for a title.
func secNameOrFormat(c secretscan.Candidate) string {
	switch {
	case c.Name != "":
		return c.Name
	case c.Format != "":
		return c.Format
	}
	return "value"
}

// secCapital upper-cases the first letter of s.
func secCapital(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// secURLVar is the usual environment variable for a URL of the given
// secretscan format.
func secURLVar(format string) string {
	switch {
	case strings.HasPrefix(format, "redis"):
		return "REDIS_URL"
	case strings.HasPrefix(format, "amqp"):
		return "BROKER_URL"
	case strings.HasPrefix(format, "mongodb"):
		return "MONGODB_URL"
	case strings.HasPrefix(format, "postgres"), strings.HasPrefix(format, "mysql"), strings.HasPrefix(format, "database"):
		return "DATABASE_URL"
	}
	return "NAME"
}
