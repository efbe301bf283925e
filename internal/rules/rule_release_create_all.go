package rules

import (
	"fmt"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleReleaseCreateAll = register(&Rule{
	ID:       "release-create-all",
	Phase:    report.Release,
	Severity: report.Warning,
	Doc:      "the app calls metadata.create_all while Alembic migrations manage the same schema",
	Why:      "tables and columns the app creates itself are unknown to alembic_version, so a later `alembic upgrade head` in the release fails with `relation … already exists` / `column … already exists`.",
	Check:    checkReleaseCreateAll,
})

func checkReleaseCreateAll(r *Rule, p *project.Project) []report.Finding {
	revs := 0
	ini := ""
	for _, a := range p.Alembic {
		if a != nil && a.Config != nil && len(a.Revisions) > 0 {
			if ini == "" {
				ini = a.Config.Path
			}
			revs += len(a.Revisions)
		}
	}
	if revs == 0 {
		return nil
	}
	dirs := relScriptDirs(p)
	var out []report.Finding
	for _, m := range p.Settings {
		inScripts := false
		for _, d := range dirs {
			if relUnder(m.Path, d) {
				inScripts = true
			}
		}
		if inScripts {
			continue // a migration (or env.py) creating tables is Alembic's business
		}
		for _, loc := range m.CreateAll {
			out = append(out, r.Finding(loc,
				"create_all next to Alembic migrations",
				fmt.Sprintf("%s creates the tables itself (metadata.create_all), while Alembic manages the schema (%s, %s). "+
					"Tables and columns made here are not recorded in alembic_version: the next migration that adds them fails in the release with "+
					"`relation \"…\" already exists` or `column \"…\" already exists`, and the deploy is aborted.", relLocString(loc), ini, relPlural(revs, "migration")),
				"Remove the create_all call and let `alembic upgrade head` (release_command) create the schema; for tests, call create_all from the test setup instead."))
		}
	}
	return out
}
