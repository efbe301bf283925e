package rules

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleReleaseDatabaseURL = register(&Rule{
	ID:       "release-database-url",
	Phase:    report.Release,
	Severity: report.Notice,
	Doc:      "the release runs alembic and the database URL comes from an environment variable that nothing in the repository sets: a secret Fly must hold",
	Why:      "without the secret the release machine stops at the first line that reads it (`KeyError: 'DATABASE_URL'`, a pydantic `Field required`), and the deploy is aborted.",
	Check:    checkReleaseDatabaseURL,
})

func checkReleaseDatabaseURL(r *Rule, p *project.Project) []report.Finding {
	rel, read, ok := relReleaseSecretURL(p)
	if !ok {
		return nil
	}
	v := read.Var
	run := rel.Runs[0]
	return []report.Finding{r.Finding(rel.Loc,
		v.Name+" must be a Fly secret",
		fmt.Sprintf("%s connects with the URL in %s (read at %s), which neither alembic.ini nor fly.toml [env] sets. "+
			"%s must be set as a Fly secret (`fly secrets set %s=…` or `fly postgres attach`) — the release machine fails with %s when it is not.",
			run.relWhere(rel), v.Name, relLocString(v.Loc), v.Name, v.Name, relFailure(v)),
		fmt.Sprintf("Check it exists before deploying: `fly secrets list` must show %s; if not, run `fly postgres attach <db-app>` or `fly secrets set %s=postgres://…`.", v.Name, v.Name))}
}

// ReleaseDatabaseURL returns the environment variable the release
// command's Alembic connects with, when it must be a Fly secret (what
// release-database-url reports), and where it is read.
func ReleaseDatabaseURL(p *project.Project) (name string, read report.Location, ok bool) {
	_, r, ok := relReleaseSecretURL(p)
	if !ok {
		return "", report.Location{}, false
	}
	return r.Var.Name, r.Var.Loc, true
}

// relReleaseSecretURL returns the release and its database URL read when
// the release runs alembic with a URL that nothing in the repository sets.
func relReleaseSecretURL(p *project.Project) (*relRelease, relDBRead, bool) {
	rel := relAnalyze(p)
	if rel == nil || len(rel.Runs) == 0 {
		return nil, relDBRead{}, false
	}
	read, ok := relReleaseURLRead(p, rel)
	if !ok || relFlyEnvSets(p, rel, read.Var) {
		return nil, relDBRead{}, false
	}
	return rel, read, true
}

// relReleaseURLRead returns where the release's alembic gets its database
// URL from the environment: its env.py's read, else (when alembic.ini holds
// no usable URL) a required read of the app's settings.
func relReleaseURLRead(p *project.Project, rel *relRelease) (relDBRead, bool) {
	envPy, settings := relDBReads(p)
	// Prefer the env.py of the ini the release reads.
	iniURL := false
	for _, run := range rel.Runs {
		ini := rel.ini(p, run)
		if ini.Entry == nil {
			continue
		}
		sl, ok := relSection(ini.Entry.Config, run.Section)
		if !ok {
			continue
		}
		if m := relEnvPy(p, sl.Dir); m != nil {
			for _, v := range m.Vars {
				if relIsDBVar(v.Name) {
					return relDBRead{m, v}, true
				}
			}
		}
		if relUsableURL(sl.SQLAlchemyURL.Value) {
			iniURL = true
		}
	}
	if len(envPy) > 0 {
		return envPy[0], true
	}
	if iniURL {
		return relDBRead{}, false
	}
	for _, s := range settings {
		if s.Var.Required {
			return s, true
		}
	}
	return relDBRead{}, false
}

// relUsableURL reports whether an alembic.ini sqlalchemy.url value is a
// URL alembic can use as it stands: not empty, not an interpolation, not
// the `alembic init` placeholder.
func relUsableURL(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && !strings.Contains(v, "%(") && !strings.HasPrefix(v, "driver://") && !strings.Contains(v, "${")
}
