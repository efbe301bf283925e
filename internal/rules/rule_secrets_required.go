package rules

import (
	"fmt"
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/pysettings"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/secretscan"
)

var ruleSecretsRequired = register(&Rule{
	ID:       "secrets-required",
	Phase:    report.Secrets,
	Severity: report.Notice,
	Doc:      "environment variables the app reads with no default that fly.toml [env] does not set: secrets to set with `fly secrets set` before deploying",
	Why:      "without them the app stops at start-up (pydantic ValidationError, KeyError) and the release command fails, so no machine ever passes its health check.",
	Check:    checkSecretsRequired,
})

// secNeed is one environment variable the deploy needs.
type secNeed struct {
	v       pysettings.EnvVar
	release bool // read by Alembic's env.py: the release command needs it
	app     bool // read with no default elsewhere: the app needs it
}

// checkSecretsRequired reports, once per name at its definition (a pydantic
// field when there is one, else its first read), each environment variable
// read with no default (pysettings Required), plus the database URL that
// Alembic's env.py reads however it reads it, that neither fly.toml [env]
// nor the Dockerfile's ENV sets and Fly does not set itself. Secret-looking
// names and credential URLs (DATABASE_URL, REDIS_URL) are to be set with
// `fly secrets set`; other names are to be added to [env]. All are notices:
// validate cannot see the secrets the app already has.
func checkSecretsRequired(r *Rule, p *project.Project) []report.Finding {
	var out []report.Finding
	for _, n := range secNeeds(p) {
		out = append(out, secRequiredFinding(r, p, n))
	}
	return out
}

// RequiredEnv is an environment variable the deployed app or its release
// command needs and the repository does not set: a secret the Fly app must
// hold. RequiredEnvVars lists them.
type RequiredEnv struct {
	// Name is the variable's name; Aliases are other names that satisfy it.
	Name    string
	Aliases []string
	// CaseInsensitive reports that the app matches the name in any case
	// (pydantic settings).
	CaseInsensitive bool
	// Loc is where it is defined or first read.
	Loc report.Location
	// Release reports that Alembic's env.py reads it (the release command
	// needs it); App that the app reads it with no default.
	Release, App bool
}

// RequiredEnvVars returns, in order of first appearance, the variables the
// secrets-required rule reports: read with no default (or the database URL
// Alembic's env.py reads), not set by fly.toml [env], the Dockerfile or Fly.
func RequiredEnvVars(p *project.Project) []RequiredEnv {
	var out []RequiredEnv
	for _, n := range secNeeds(p) {
		out = append(out, RequiredEnv{Name: n.v.Name, Aliases: n.v.Aliases, CaseInsensitive: n.v.Kind == pysettings.KindPydantic,
			Loc: n.v.Loc, Release: n.release, App: n.app})
	}
	return out
}

// secNeeds returns the variables checkSecretsRequired reports, in order.
func secNeeds(p *project.Project) []*secNeed {
	envPy := secAlembicEnvFiles(p)
	exact, folded := secSetNames(p)
	var order []string
	needs := map[string]*secNeed{}
	for _, m := range p.Settings {
		release := envPy[m.Path]
		for _, v := range m.Vars {
			if !v.Required && !(release && secIsDBURLName(v.Name)) {
				continue
			}
			if v.Loc.File == "" {
				v.Loc.File = m.Path
			}
			app := !release && v.Required
			if n, ok := needs[v.Name]; ok {
				n.release = n.release || release
				n.app = n.app || app
				if n.v.Kind != pysettings.KindPydantic && v.Kind == pysettings.KindPydantic {
					n.v = v // point at the definition rather than a read
				}
				continue
			}
			needs[v.Name] = &secNeed{v: v, release: release, app: app}
			order = append(order, v.Name)
		}
	}
	var out []*secNeed
	for _, name := range order {
		n := needs[name]
		if secFlyProvided(name) || secIsSet(n.v, exact, folded) {
			continue
		}
		out = append(out, n)
	}
	return out
}

func secRequiredFinding(r *Rule, p *project.Project, n *secNeed) report.Finding {
	v := n.v
	name := v.Name
	who := "the app fails at start-up"
	switch {
	case n.release && n.app:
		who = "the release command (Alembic's env.py) and the app fail"
	case n.release:
		who = "the release command (Alembic's env.py) fails"
	}
	notSet := "neither " + secProjectFly(p) + " [env] nor the Dockerfile sets it"
	switch {
	case p.Fly == nil && p.Dockerfile == nil:
		notSet = "there is no fly.toml [env] or Dockerfile to set it"
	case p.Fly == nil:
		notSet = "the Dockerfile does not set it (and there is no fly.toml)"
	case p.Dockerfile == nil:
		notSet = secProjectFly(p) + " [env] does not set it"
	}
	head := fmt.Sprintf("%s has no default (%s)", name, secHowRead(v))
	if !v.Required {
		head = fmt.Sprintf("%s is what Alembic's env.py connects to (%s)", name, secHowRead(v))
	}
	if secretscan.LooksSecretName(name) || secIsCredentialURLName(name) {
		msg := fmt.Sprintf("%s and %s: set it with `fly secrets set %s=…` before deploying; "+
			"%s without it (%s). Nothing to do if `fly secrets list` already shows it.",
			head, notSet, name, who, secFailure(v))
		fix := fmt.Sprintf("Run `fly secrets set %s=<value>` before the first deploy (for a key, a generated one: `%s=\"$(openssl rand -hex 32)\"`).", name, name)
		if secIsDBURLName(name) {
			fix = fmt.Sprintf("Run `fly postgres attach <postgres-app>`, which sets %s for you, or `fly secrets set %s=<url>`, before the first deploy.", name, name)
		} else if secIsCredentialURLName(name) {
			fix = fmt.Sprintf("Run `fly secrets set %s=<url>` before the first deploy.", name)
		}
		return r.Finding(v.Loc, secTitle("Set secret before deploying: ", name), msg, fix)
	}
	msg := fmt.Sprintf("%s and %s: %s without it (%s).", head, notSet, who, secFailure(v))
	fix := fmt.Sprintf("Add it to [env] in %s: `%s = \"<value>\"` (or, if the value is sensitive, run `fly secrets set %s=<value>`).", secProjectFly(p), name, name)
	return r.Finding(v.Loc, secTitle("Required setting not in [env]: ", name), msg, fix)
}

// secHowRead describes how v is read, in the code's own terms.
func secHowRead(v pysettings.EnvVar) string {
	switch v.Kind {
	case pysettings.KindPydantic:
		if v.Class != "" {
			return "pydantic settings class " + v.Class
		}
		return "pydantic settings"
	case pysettings.KindEnviron:
		return fmt.Sprintf("os.environ[%q]", v.Name)
	case pysettings.KindGetenv:
		return fmt.Sprintf("os.getenv(%q)", v.Name)
	case pysettings.KindEnvironGet:
		return fmt.Sprintf("os.environ.get(%q)", v.Name)
	case pysettings.KindDecouple, pysettings.KindStarlette:
		return fmt.Sprintf("config(%q)", v.Name)
	case pysettings.KindEnvirons:
		return fmt.Sprintf("env(%q)", v.Name)
	}
	return "read"
}

// secFailure is the error the app raises when v is missing.
func secFailure(v pysettings.EnvVar) string {
	switch v.Kind {
	case pysettings.KindPydantic:
		return "pydantic ValidationError: Field required"
	case pysettings.KindEnviron:
		return "KeyError: '" + v.Name + "'"
	case pysettings.KindDecouple:
		return "decouple.UndefinedValueError"
	case pysettings.KindEnvirons:
		return "environs.EnvError, or django-environ's ImproperlyConfigured"
	case pysettings.KindStarlette:
		return "KeyError: Config '" + v.Name + "' is missing, and has no default"
	case pysettings.KindGetenv, pysettings.KindEnvironGet:
		return "the lookup returns None and SQLAlchemy cannot connect"
	}
	return "the variable is missing"
}

// secSetNames returns the variables the deploy sets: fly.toml [env] and the
// ENV of the Dockerfile stage that is deployed, by exact name and
// upper-cased (pydantic settings match names case-insensitively).
func secSetNames(p *project.Project) (exact, folded map[string]bool) {
	exact, folded = map[string]bool{}, map[string]bool{}
	add := func(n string) {
		exact[n] = true
		folded[strings.ToUpper(n)] = true
	}
	target := ""
	if p.Fly != nil {
		for _, k := range p.Fly.EnvKeys {
			add(k)
		}
		if p.Fly.Build != nil {
			target = p.Fly.Build.Target.V
		}
	}
	if p.Dockerfile != nil {
		if st := p.Dockerfile.Target(target); st != nil {
			for _, e := range st.EffectiveEnv() {
				add(e.Name)
			}
		}
	}
	return exact, folded
}

// secIsSet reports whether the deploy sets v under its name or an alias.
func secIsSet(v pysettings.EnvVar, exact, folded map[string]bool) bool {
	for _, n := range append([]string{v.Name}, v.Aliases...) {
		if exact[n] || (v.Kind == pysettings.KindPydantic && folded[strings.ToUpper(n)]) {
			return true
		}
	}
	return false
}

// secFlyProvided reports whether Fly (or the container runtime) sets name
// on every machine: FLY_APP_NAME, FLY_REGION, PRIMARY_REGION, PATH, HOME, …
func secFlyProvided(name string) bool {
	if strings.HasPrefix(name, "FLY_") {
		return true
	}
	switch name {
	case "PRIMARY_REGION", "PATH", "HOME", "HOSTNAME":
		return true
	}
	return false
}

// secAlembicEnvFiles returns the env.py of each Alembic script location.
func secAlembicEnvFiles(p *project.Project) map[string]bool {
	out := map[string]bool{}
	for _, a := range p.Alembic {
		if a.Config == nil {
			continue
		}
		for _, sl := range a.Config.ScriptLocations() {
			dirs := append([]string{sl.Dir}, sl.Candidates...)
			for _, d := range dirs {
				if d != "" {
					out[path.Join(d, "env.py")] = true
				}
			}
		}
		if a.Config.FlaskMigrate {
			out[path.Join(path.Dir(a.Config.Path), "env.py")] = true
		}
	}
	for _, m := range p.Settings {
		if path.Base(m.Path) == "env.py" && p.IsDir(path.Join(path.Dir(m.Path), "versions")) {
			out[m.Path] = true
		}
	}
	return out
}

// secNameWords splits an environment variable name into upper-cased words.
func secNameWords(name string) []string {
	return strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '_' || r == '-' || r == '.' })
}

// secIsDBURLName reports whether name is a database URL variable:
// DATABASE_URL, SQLALCHEMY_DATABASE_URI, POSTGRES_DSN, DB_URL, …
func secIsDBURLName(name string) bool {
	w := secNameWords(name)
	if len(w) < 2 {
		return false
	}
	switch w[len(w)-1] {
	case "URL", "URI", "DSN":
	default:
		return false
	}
	for _, x := range w[:len(w)-1] {
		switch x {
		case "DATABASE", "DB", "POSTGRES", "POSTGRESQL", "PG", "SQLALCHEMY", "MYSQL":
			return true
		}
	}
	return false
}

// secIsCredentialURLName reports whether name is a URL that usually holds
// a password: a database, cache or broker URL, or a DSN.
func secIsCredentialURLName(name string) bool {
	if secIsDBURLName(name) {
		return true
	}
	w := secNameWords(name)
	if len(w) == 0 {
		return false
	}
	last := w[len(w)-1]
	if last == "DSN" || (last == "CONNECTION" && len(w) > 1) || last == "CONNSTR" {
		return true
	}
	if last != "URL" && last != "URI" {
		return false
	}
	for _, x := range w[:len(w)-1] {
		switch x {
		case "REDIS", "VALKEY", "MONGO", "MONGODB", "AMQP", "BROKER", "RABBITMQ", "RABBIT", "CELERY", "CACHE",
			"MEMCACHED", "ELASTICSEARCH", "KAFKA", "NATS", "UPSTASH":
			return true
		}
	}
	return false
}
