package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/alembic"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleReleaseAlembicHeads = register(&Rule{
	ID:       "release-alembic-heads",
	Phase:    report.Release,
	Severity: report.Error,
	Doc:      "the migration history has several heads (two migrations on the same parent, or several roots) and the release upgrades to `head`",
	Why:      "`alembic upgrade head` exits 1 with `Multiple head revisions are present for given argument 'head'`, so the release fails and the deploy is aborted.",
	Check:    checkReleaseAlembicHeads,
})

func checkReleaseAlembicHeads(r *Rule, p *project.Project) []report.Finding {
	rel := relAnalyze(p)
	var out []report.Finding
	seen := map[string]bool{}
	for _, g := range relGraphs(p) {
		if relHasUnreadable(g) || len(g.Graph.Duplicates()) > 0 || len(g.Graph.Cycles()) > 0 {
			continue
		}
		broken := false
		for _, m := range g.Graph.Missing() {
			if m.Field == "down_revision" {
				broken = true // release-alembic-chain reports the cause
			}
		}
		heads := g.Graph.Heads()
		if broken || len(heads) < 2 {
			continue
		}
		if !relHeadsMatter(p, rel, g) {
			continue
		}
		roots := g.Graph.Roots()
		fork := relForkPoint(g, heads)
		for _, h := range heads {
			loc := relRevLoc(h)
			if seen[loc.String()] {
				continue
			}
			seen[loc.String()] = true
			var others []string
			for _, o := range heads {
				if o != h {
					others = append(others, fmt.Sprintf("%s (%s)", o.Path, o.ID))
				}
			}
			msg := fmt.Sprintf("%s (revision %s) is one of %d heads of the migration history; the other head", h.Path, h.ID, len(heads))
			if len(others) > 1 {
				msg += "s are "
			} else {
				msg += " is "
			}
			msg += strings.Join(others, ", ") + ". "
			switch {
			case fork != nil:
				msg += fmt.Sprintf("They branch from %s (%s): two migrations were written on the same parent. ", fork.ID, fork.Path)
			case len(roots) > 1:
				var rs []string
				for _, rt := range roots {
					rs = append(rs, rt.Path)
				}
				msg += fmt.Sprintf("The history has %d roots (down_revision = None): %s. ", len(roots), strings.Join(rs, ", "))
			}
			msg += "`alembic upgrade head` exits 1 with `Multiple head revisions are present for given argument 'head'`."
			var ids []string
			for _, o := range heads {
				ids = append(ids, o.ID)
			}
			fix := fmt.Sprintf("Merge the heads: `alembic merge -m \"merge heads\" %s` (or `alembic merge heads`), and commit the new revision, whose down_revision names them all.", strings.Join(ids, " "))
			out = append(out, r.Finding(loc, "several alembic heads", msg, fix))
		}
	}
	return out
}

// relHeadsMatter reports whether several heads break the release: the
// release upgrades this history to "head" (or, when the release does not
// run it, the history has no branch labels, so the heads are not a
// deliberate multi-branch setup).
func relHeadsMatter(p *project.Project, rel *relRelease, g relGraph) bool {
	runs := relRunsFor(p, rel, g)
	if len(runs) > 0 {
		for _, run := range runs {
			if run.Command == "upgrade" && (run.Target == "head" || run.Target == "") {
				return true
			}
		}
		return false
	}
	for _, rv := range g.Revs {
		if len(rv.BranchLabels) > 0 {
			return false
		}
	}
	return true
}

// relForkPoint returns the nearest revision every head descends from, nil
// when they share none.
func relForkPoint(g relGraph, heads []*alembic.Revision) *alembic.Revision {
	var common map[string]bool
	for _, h := range heads {
		anc := relAncestors(g.Graph, h)
		if common == nil {
			common = anc
			continue
		}
		for id := range common {
			if !anc[id] {
				delete(common, id)
			}
		}
	}
	// The fork point is a common ancestor none of whose children is one.
	var ids []string
	for id := range common {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		nearest := true
		for _, c := range g.Graph.Children(id) {
			if common[c.ID] {
				nearest = false
				break
			}
		}
		if nearest {
			return g.Graph.Get(id)
		}
	}
	return nil
}

// relAncestors returns the ids h descends from (not h itself).
func relAncestors(g *alembic.Graph, h *alembic.Revision) map[string]bool {
	out := map[string]bool{}
	stack := append([]string(nil), h.Down...)
	for len(stack) > 0 && len(out) < 100000 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if out[id] {
			continue
		}
		out[id] = true
		if rv := g.Get(id); rv != nil {
			stack = append(stack, rv.Down...)
		}
	}
	return out
}

// relOtherHeads returns the heads of g other than rv and the heads that
// descend from rv.
func relOtherHeads(g relGraph, rv *alembic.Revision) []*alembic.Revision {
	var out []*alembic.Revision
	for _, h := range g.Graph.Heads() {
		if h.ID == rv.ID || relAncestors(g.Graph, h)[rv.ID] {
			continue
		}
		out = append(out, h)
	}
	return out
}
