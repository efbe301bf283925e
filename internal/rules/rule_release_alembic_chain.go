package rules

import (
	"fmt"
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/alembic"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleReleaseAlembicChain = register(&Rule{
	ID:       "release-alembic-chain",
	Phase:    report.Release,
	Severity: report.Error,
	Doc:      "a migration's down_revision names a revision that no migration of its folder has (a deleted or renamed migration)",
	Why:      "Alembic cannot build the revision map: the release machine exits 1 with `KeyError` / `Revision … referenced from … is not present` before running any migration.",
	Check:    checkReleaseAlembicChain,
})

func checkReleaseAlembicChain(r *Rule, p *project.Project) []report.Finding {
	var out []report.Finding
	seen := map[string]bool{}
	for _, g := range relGraphs(p) {
		if relHasUnreadable(g) {
			continue // the loader reported the module; its id is unknown
		}
		// One finding per migration, naming every parent it lacks (a merge
		// revision can lack several).
		var order []*alembic.Revision
		missing := map[*alembic.Revision][]string{}
		for _, m := range g.Graph.Missing() {
			if m.Field != "down_revision" || m.Rev == nil {
				continue
			}
			if _, ok := missing[m.Rev]; !ok {
				order = append(order, m.Rev)
			}
			missing[m.Rev] = append(missing[m.Rev], m.Ref)
		}
		for _, rv := range order {
			refs := missing[rv]
			loc := relRevLoc(rv)
			if seen[loc.String()] {
				continue
			}
			seen[loc.String()] = true
			folder := path.Dir(rv.Path)
			var quoted []string
			for _, ref := range refs {
				quoted = append(quoted, fmt.Sprintf("%q", ref))
			}
			names := strings.Join(quoted, ", ")
			msg := fmt.Sprintf("%s (revision %s) has down_revision %s, but no migration in %s has that revision id, "+
				"so Alembic cannot link it into the history: the release machine exits 1 with `KeyError: '%s'` "+
				"(`Revision %s referenced from %s is not present`).", rv.Path, rv.ID, names, folder, refs[0], refs[0], rv.ID)
			if len(refs) > 1 {
				msg = fmt.Sprintf("%s (revision %s) merges %d revisions that no migration in %s has (%s), "+
					"so Alembic cannot link it into the history: the release machine exits 1 with `KeyError: '%s'` "+
					"(`Revision %s referenced from %s is not present`).", rv.Path, rv.ID, len(refs), folder, names, refs[0], refs[0], rv.ID)
			}
			fix := fmt.Sprintf("Restore the deleted migration from git (`git log --diff-filter=D --name-only -- '%s/*%s*'`)", folder, refs[0])
			if others := relOtherHeads(g, rv); len(others) == 1 && len(refs) == 1 {
				fix += fmt.Sprintf(", or, if it was removed on purpose, set `down_revision = %q` (the head of the rest of the history, %s)", others[0].ID, others[0].Path)
			} else if len(others) > 0 {
				var ids []string
				for _, o := range others {
					ids = append(ids, o.ID)
				}
				fix += fmt.Sprintf(", or point down_revision at the revision this one should follow (current heads: %s)", strings.Join(ids, ", "))
			}
			out = append(out, r.Finding(loc, "down_revision names a missing migration", msg, fix+"."))
		}
	}
	return out
}

// relHasUnreadable reports whether a module of the history has no id.
func relHasUnreadable(g relGraph) bool {
	for _, rv := range g.Revs {
		if rv != nil && rv.ID == "" {
			return true
		}
	}
	return false
}
