package diagnose

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Secrets: the app, its release command or a build step reads a setting
// that is not set; CI or Docker lacks Fly credentials.

// inBuildContexts lets a missing setting be a build or release failure
// when the log shows it stopping a build step or the release command.
var inBuildContexts = []report.PhaseName{report.Build, report.Release}

func secretsSigs() []*Signature {
	return []*Signature{
		{
			ID: "log-env-missing", Phase: report.Secrets, RootPhase: report.Secrets, Severity: report.Error, Key: "name",
			ContextPhases: inBuildContexts,
			Literals:      []string{"KeyError: '", "not found. Declare it as envvar or define a default value", "environment variable", "Environment variable \""},
			Patterns: res(`KeyError: '(?P<name>[A-Za-z_][A-Za-z0-9_]*)'`,
				`(?P<name>[A-Za-z_][A-Za-z0-9_]*) not found\. Declare it as envvar or define a default value`,
				`ImproperlyConfigured: Set the (?P<name>[A-Za-z_][A-Za-z0-9_]*) environment variable`,
				`Environment variable "(?P<name>[A-Za-z_][A-Za-z0-9_]*)" not set`),
			Title: "environment variable {$name} is not set",
			Cause: "The code read the environment variable {$name}, which is not set where it ran",
			Fix:   "Set it as a Fly secret: `fly secrets set {$name}=…` (every machine of the app, and the release command, get the app's secrets).",
			Refine: func(m *Match) bool {
				name := m.Get("name")
				if strings.HasPrefix(m.Quote, "KeyError") && !envEvidence(m) {
					return false // a dictionary key, not an environment variable
				}
				if m.Phase == report.Build {
					m.Fix = fmt.Sprintf("Secrets are not available while the image builds: give the build step a harmless value (`RUN %s=build-placeholder python manage.py collectstatic --noinput`), or read %s with a default at import time and require it only when serving.", name, name)
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return settingsVar(p, m.Get("name")) },
		},
		{
			ID: "log-django-secret-key-empty", Phase: report.Secrets, RootPhase: report.Secrets, Severity: report.Error,
			ContextPhases: inBuildContexts,
			Literals:      []string{"The SECRET_KEY setting must not be empty"},
			Title:         "Django SECRET_KEY is empty",
			Cause:         "Django started with an empty SECRET_KEY: the settings read it from the environment, where it is not set (or is set to an empty string)",
			Fix:           "Set it as a Fly secret: `fly secrets set SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')`; for a build step such as collectstatic, give the step a placeholder value instead.",
			Point: func(p *project.Project, m *Match) Pointer {
				return first(settingsVar(p, "SECRET_KEY"), settingsVar(p, "DJANGO_SECRET_KEY"), settingsLine(p, secretKeyLine.Re(), "SECRET_KEY is set here."))
			},
		},
		{
			ID: "log-settings-invalid", Phase: report.Secrets, RootPhase: report.Secrets, Severity: report.Error, Key: "class",
			ContextPhases: inBuildContexts,
			Literals:      []string{"validation error for ", "validation errors for "},
			Patterns:      res(`(?P<n>\d+) validation errors? for (?P<class>\w+)`),
			Follow:        40,
			Title:         "settings missing from the environment",
			Cause:         "{$what}",
			Fix:           "Set each missing setting as a Fly secret (`fly secrets set {$env|NAME}=…`), or give the field a default in {$class}.",
			Refine:        refineSettings,
			Point: func(p *project.Project, m *Match) Pointer {
				for _, f := range strings.Split(m.Get("fields"), ", ") {
					if ptr := settingsVar(p, f); ptr.Loc.File != "" {
						return ptr
					}
				}
				return Pointer{}
			},
		},
		{
			ID: "log-sqlalchemy-url-invalid", Phase: report.Secrets, RootPhase: report.Secrets, Severity: report.Error,
			ContextPhases: inBuildContexts,
			Literals:      []string{"Could not parse SQLAlchemy URL from"},
			Patterns:      res(`Could not parse SQLAlchemy URL from (?:string '(?P<val>[^']*)'|given URL string)`),
			Quote:         "Could not parse SQLAlchemy URL",
			Title:         "database URL is empty or malformed",
			Cause:         "create_engine was given {$what|a value that is not a URL}: DATABASE_URL (or the setting that feeds the engine) is unset, empty, or quoted",
			Fix:           "Set DATABASE_URL as a Fly secret (`fly postgres attach` does it), without quotes around the value.",
			Refine: func(m *Match) bool {
				if strings.Contains(m.Quote, "string ''") {
					m.Set("what", "An empty string")
				}
				m.Set("val", "") // never keep the value: it may hold a password
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return settingsVar(p, "DATABASE_URL") },
		},
		{
			ID: "log-db-auth-failed", Phase: report.Secrets, Severity: report.Error, Key: "user",
			Literals: []string{"password authentication failed for user"},
			Patterns: res(`password authentication failed for user "(?P<user>[^"]*)"`),
			Title:    "database refused the password",
			Cause:    "Postgres refused the password for user {$user}: the credentials in DATABASE_URL are wrong or out of date (the database was recreated, or the user's password changed)",
			Fix:      "Attach the database again (`fly postgres attach <db-app>`) or set DATABASE_URL with the current credentials (`fly secrets set`); never commit them.",
			Point:    func(p *project.Project, m *Match) Pointer { return settingsVar(p, "DATABASE_URL") },
		},
		{
			ID: "log-no-fly-token", Phase: report.Secrets, Severity: report.Error,
			Literals: []string{"No access token available"},
			Title:    "no Fly API token",
			Cause:    "flyctl has no API token: in CI, FLY_API_TOKEN is not set for the step that runs it (a missing repository secret, or a workflow run from a fork, which gets no secrets)",
			Fix:      "Create a deploy token (`fly tokens create deploy`), store it as the repository secret FLY_API_TOKEN, and pass it to the step: `env: FLY_API_TOKEN: ${{ secrets.FLY_API_TOKEN }}`.",
			Point: func(p *project.Project, m *Match) Pointer {
				return workflowLine(p, flyDeployLine.Re(), "This workflow step runs flyctl.")
			},
		},
		{
			ID: "log-registry-auth", Phase: report.Secrets, Severity: report.Error,
			Literals: []string{"no basic auth credentials", "401 Unauthorized"},
			Patterns: res(`no basic auth credentials`, `(?:push|registry)\S*\s.*401 Unauthorized|401 Unauthorized.*(?:registry|push)|failed to push registry: 401 Unauthorized`),
			Title:    "registry.fly.io refused the push",
			Cause:    "Docker could not push the image to Fly's registry: {$what}",
			Fix:      "Run `fly auth docker` (it writes fresh registry.fly.io credentials into Docker's config) with a token allowed to deploy this app; in CI, set FLY_API_TOKEN before the build step.",
			Refine: func(m *Match) bool {
				if strings.Contains(m.Quote, "no basic auth") {
					m.Set("what", "it has no credentials for registry.fly.io")
				} else {
					m.Set("what", "its credentials for registry.fly.io were refused (stale, or a token that may not deploy this app)")
				}
				return true
			},
		},
	}
}

var (
	secretKeyLine = lazyre.New(`\bSECRET_KEY\b\s*[:=]`)
	flyDeployLine = lazyre.New(`\bfly(?:ctl)?\s+deploy\b|superfly/flyctl-actions`)
	envRead       = lazyre.New(`os\.environ|<frozen os>|environ\[|getenv|environ\.get`)
	composePrefix = lazyre.New(`^\S+\s+\|\s?`)
	fieldName     = lazyre.New(`^([A-Za-z_][\w.]*)$`)
)

// envEvidence reports whether a KeyError is about the environment: the
// traceback before it reads os.environ.
func envEvidence(m *Match) bool {
	for _, l := range m.Before(12) {
		if envRead.MatchString(l) {
			return true
		}
	}
	return envRead.MatchString(m.Text)
}

// refineSettings reads a pydantic ValidationError: the fields reported
// missing, and whether the class is a settings class.
func refineSettings(m *Match) bool {
	class := m.Get("class")
	var missing, other []string
	lines := m.After(40)
	for i, l := range lines {
		l = strings.TrimSpace(composePrefix.ReplaceAllString(l, ""))
		g := fieldName.FindStringSubmatch(l)
		if g == nil || i+1 >= len(lines) {
			continue
		}
		next := strings.TrimSpace(composePrefix.ReplaceAllString(lines[i+1], ""))
		switch {
		case strings.HasPrefix(next, "Field required") || strings.HasPrefix(next, "field required"):
			missing = append(missing, g[1])
		case strings.Contains(next, "[type=") || strings.Contains(next, "(type="):
			other = append(other, g[1])
		}
	}
	settingsClass := strings.Contains(strings.ToLower(class), "settings") || strings.Contains(strings.ToLower(class), "config")
	if !settingsClass && len(missing) == 0 {
		return false // a request model's validation, not configuration
	}
	if !settingsClass && !strings.Contains(strings.Join(m.Before(15), "\n"), "settings") {
		return false
	}
	switch {
	case len(missing) > 0:
		var env []string
		for _, f := range missing {
			env = append(env, strings.ToUpper(f))
		}
		m.Set("fields", strings.Join(env, ", "))
		m.Set("env", env[0])
		m.Set("what", fmt.Sprintf("The settings class %s requires %s, which %s not set in the environment", class, strings.Join(env, ", "), plural2(len(env))))
		if n := m.Get("n"); n != "" && n != fmt.Sprint(len(missing)) {
			m.Set("what", m.Get("what")+fmt.Sprintf(" (the error reports %s problems; the excerpt shows %d)", n, len(missing)+len(other)))
		}
	case len(other) > 0:
		m.Set("what", fmt.Sprintf("The settings class %s rejected values from the environment: %s", class, strings.Join(other, ", ")))
		m.Set("fields", strings.ToUpper(strings.Join(other, ", ")))
	default:
		m.Set("what", fmt.Sprintf("The settings class %s rejected its configuration (%s problems; the fields follow this line)", class, m.Get("n")))
	}
	return true
}

func plural2(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
