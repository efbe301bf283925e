package rules

import (
	"fmt"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleReleaseAsyncpgURL = register(&Rule{
	ID:       "release-asyncpg-url",
	Phase:    report.Release,
	Severity: report.Warning,
	Doc:      "asyncpg with DATABASE_URL from the environment, and nothing in the repository rewrites Fly's `postgres://…?sslmode=disable` URL",
	Why:      "`fly postgres attach` sets `postgres://…?sslmode=disable`; SQLAlchemy's asyncpg dialect needs `postgresql+asyncpg://` and asyncpg rejects `sslmode`, so the release (and the app) fail with `Can't load plugin: sqlalchemy.dialects:postgres` or `unexpected keyword argument 'sslmode'`.",
	Check:    checkReleaseAsyncpgURL,
})

func checkReleaseAsyncpgURL(r *Rule, p *project.Project) []report.Finding {
	if !relUsesAsyncpg(p) {
		return nil
	}
	rel := relAnalyze(p)
	read, ok := relAsyncpgRead(p, rel)
	if !ok || relFlyEnvSets(p, rel, read.Var) {
		return nil
	}
	scheme, sslmode := false, false
	for _, m := range p.Settings {
		scheme = scheme || len(m.URLRewrites) > 0
		sslmode = sslmode || len(m.SSLModeRewrites) > 0
	}
	if scheme && sslmode {
		return nil
	}
	v := read.Var
	loc := v.Loc
	if scheme {
		return []report.Finding{r.Finding(loc,
			v.Name+"'s sslmode reaches asyncpg",
			fmt.Sprintf("%s reads %s, and the app uses asyncpg. The code rewrites the URL's scheme, but nothing handles its query: "+
				"`fly postgres attach` sets `postgres://…?sslmode=disable`, and asyncpg does not accept `sslmode`, so connecting fails with "+
				"`TypeError: connect() got an unexpected keyword argument 'sslmode'`.", relLocString(v.Loc), v.Name),
			"Translate sslmode where the scheme is rewritten, e.g. with SQLAlchemy's URL: `url = make_url(value).set(drivername=\"postgresql+asyncpg\"); "+
				"sslmode = url.query.get(\"sslmode\"); if sslmode: url = url.difference_update_query([\"sslmode\"]).update_query_dict({\"ssl\": sslmode})`.")}
	}
	return []report.Finding{r.Finding(loc,
		v.Name+" is not rewritten for asyncpg",
		fmt.Sprintf("%s reads %s from the environment and the app uses asyncpg, but nothing in the repository rewrites the URL. "+
			"`fly postgres attach` sets `postgres://…?sslmode=disable`: SQLAlchemy has no `postgres` dialect (`Can't load plugin: sqlalchemy.dialects:postgres`) "+
			"and, with the scheme fixed, asyncpg rejects `sslmode` (`unexpected keyword argument 'sslmode'`).", relLocString(v.Loc), v.Name),
		"Rewrite the URL where it is read: `url = make_url(value).set(drivername=\"postgresql+asyncpg\")`, then move sslmode to asyncpg's `ssl` "+
			"(`url.difference_update_query([\"sslmode\"]).update_query_dict({\"ssl\": sslmode})`); a pydantic field_validator on the setting is a good place.")}
}

// relUsesAsyncpg reports whether the app reaches PostgreSQL through
// SQLAlchemy's asyncpg dialect: asyncpg is a dependency (not only of a dev
// or test group) next to SQLAlchemy (or Alembic, which brings it). asyncpg
// alone reads postgres:// URLs and sslmode itself.
func relUsesAsyncpg(p *project.Project) bool {
	asyncpg, sqlalchemy := false, len(p.Alembic) > 0
	for _, f := range p.PyDeps {
		for _, req := range f.Requirements {
			if req.Constraint || relDevGroup(req.Group) {
				continue
			}
			switch {
			case req.Name == "asyncpg" || req.HasExtra("asyncpg"):
				asyncpg = true
			case req.Name == "sqlalchemy" || req.Name == "sqlmodel" || req.Name == "alembic" || req.Name == "flask-sqlalchemy":
				sqlalchemy = true
			}
			if req.Name == "sqlalchemy" && req.HasExtra("asyncio") {
				sqlalchemy = true
			}
		}
	}
	return asyncpg && sqlalchemy
}

func relDevGroup(g string) bool {
	switch g {
	case "dev", "test", "tests", "testing", "lint", "docs", "develop":
		return true
	}
	return false
}

// relAsyncpgRead returns the read of DATABASE_URL the warning points at:
// the release's env.py first, else the app's settings.
func relAsyncpgRead(p *project.Project, rel *relRelease) (relDBRead, bool) {
	if rel != nil {
		if r, ok := relReleaseURLRead(p, rel); ok && r.Var.Name == "DATABASE_URL" {
			return r, true
		}
	}
	envPy, settings := relDBReads(p)
	for _, list := range [][]relDBRead{envPy, settings} {
		for _, r := range list {
			if r.Var.Name == "DATABASE_URL" {
				return r, true
			}
		}
	}
	return relDBRead{}, false
}
