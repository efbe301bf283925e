package alembic

import "sort"

// Graph is the revision graph of a set of migrations: each revision points
// to its down revisions (parents). The zero value and a nil *Graph are empty
// graphs.
type Graph struct {
	revs     []*Revision
	byID     map[string][]*Revision
	labels   map[string]bool
	children map[string][]*Revision
}

// MissingRef is a reference to a revision that is not in the graph.
type MissingRef struct {
	// Rev is the revision holding the reference.
	Rev *Revision
	// Ref is the id (or branch label) it names.
	Ref string
	// Field is "down_revision" or "depends_on".
	Field string
}

// BuildGraph links revs by their down revisions. Revisions without an id
// (unreadable modules) and nil entries are left out.
func BuildGraph(revs []*Revision) *Graph {
	g := &Graph{byID: map[string][]*Revision{}, labels: map[string]bool{}, children: map[string][]*Revision{}}
	for _, r := range revs {
		if r == nil || r.ID == "" {
			continue
		}
		g.revs = append(g.revs, r)
		g.byID[r.ID] = append(g.byID[r.ID], r)
		for _, l := range r.BranchLabels {
			g.labels[l] = true
		}
	}
	for _, r := range g.revs {
		for _, d := range uniq(r.Down) {
			g.children[d] = append(g.children[d], r)
		}
	}
	return g
}

func uniq(ss []string) []string {
	if len(ss) < 2 {
		return ss
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Revisions returns the revisions of the graph, in the order given.
func (g *Graph) Revisions() []*Revision {
	if g == nil {
		return nil
	}
	return g.revs
}

// Get returns the revision with id (the first one when the id is
// duplicated), or nil.
func (g *Graph) Get(id string) *Revision {
	if g == nil || len(g.byID[id]) == 0 {
		return nil
	}
	return g.byID[id][0]
}

// Children returns the revisions whose down_revision names id.
func (g *Graph) Children(id string) []*Revision {
	if g == nil {
		return nil
	}
	return g.children[id]
}

// Heads returns the revisions that no other revision names as its
// down_revision, as Alembic counts heads (depends_on does not make a
// revision stop being a head). More than one head makes "alembic upgrade
// head" fail with "Multiple head revisions are present".
func (g *Graph) Heads() []*Revision {
	if g == nil {
		return nil
	}
	var out []*Revision
	for _, r := range g.revs {
		if len(g.children[r.ID]) == 0 {
			out = append(out, r)
		}
	}
	return out
}

// Roots returns the revisions with no down revision (down_revision =
// None), Alembic's bases.
func (g *Graph) Roots() []*Revision {
	if g == nil {
		return nil
	}
	var out []*Revision
	for _, r := range g.revs {
		if len(r.Down) == 0 {
			out = append(out, r)
		}
	}
	return out
}

// Missing returns each down_revision or depends_on reference that names no
// revision id or branch label of the graph.
func (g *Graph) Missing() []MissingRef {
	if g == nil {
		return nil
	}
	var out []MissingRef
	for _, r := range g.revs {
		for _, d := range uniq(r.Down) {
			if !g.known(d) {
				out = append(out, MissingRef{Rev: r, Ref: d, Field: "down_revision"})
			}
		}
		for _, d := range uniq(r.DependsOn) {
			if !g.known(d) {
				out = append(out, MissingRef{Rev: r, Ref: d, Field: "depends_on"})
			}
		}
	}
	return out
}

func (g *Graph) known(ref string) bool {
	return len(g.byID[ref]) > 0 || g.labels[ref]
}

// Duplicates returns the groups of revisions (two or more) that share one
// id, in the order the ids first appear.
func (g *Graph) Duplicates() [][]*Revision {
	if g == nil {
		return nil
	}
	var out [][]*Revision
	seen := map[string]bool{}
	for _, r := range g.revs {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		if len(g.byID[r.ID]) > 1 {
			out = append(out, g.byID[r.ID])
		}
	}
	return out
}

// Cycles returns each set of revisions that reach themselves through
// down_revision (a strongly connected component of two or more ids, or one
// naming itself), each in the order the revisions were given. Duplicated
// ids count once, as their first revision.
func (g *Graph) Cycles() [][]*Revision {
	if g == nil {
		return nil
	}
	t := tarjan{g: g, index: map[string]int{}, low: map[string]int{}, on: map[string]bool{}}
	for _, r := range g.revs {
		if _, done := t.index[r.ID]; !done {
			t.visit(r.ID)
		}
	}
	order := map[string]int{}
	for i, r := range g.revs {
		if _, ok := order[r.ID]; !ok {
			order[r.ID] = i
		}
	}
	var out [][]*Revision
	for _, comp := range t.comps {
		self := len(comp) == 1 && contains(g.byID[comp[0]][0].Down, comp[0])
		if len(comp) < 2 && !self {
			continue
		}
		cyc := make([]*Revision, 0, len(comp))
		for _, id := range comp {
			cyc = append(cyc, g.byID[id][0])
		}
		sortBy(cyc, order)
		out = append(out, cyc)
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func sortBy(rs []*Revision, order map[string]int) {
	sort.Slice(rs, func(i, j int) bool { return order[rs[i].ID] < order[rs[j].ID] })
}

// tarjan finds strongly connected components over down_revision edges.
type tarjan struct {
	g     *Graph
	next  int
	index map[string]int
	low   map[string]int
	on    map[string]bool
	stack []string
	comps [][]string
}

func (t *tarjan) visit(id string) {
	t.index[id] = t.next
	t.low[id] = t.next
	t.next++
	t.stack = append(t.stack, id)
	t.on[id] = true
	for _, d := range t.g.byID[id][0].Down {
		if len(t.g.byID[d]) == 0 {
			continue
		}
		if _, seen := t.index[d]; !seen {
			t.visit(d)
			t.low[id] = min(t.low[id], t.low[d])
		} else if t.on[d] {
			t.low[id] = min(t.low[id], t.index[d])
		}
	}
	if t.low[id] != t.index[id] {
		return
	}
	var comp []string
	for {
		n := len(t.stack) - 1
		x := t.stack[n]
		t.stack = t.stack[:n]
		t.on[x] = false
		comp = append(comp, x)
		if x == id {
			break
		}
	}
	t.comps = append(t.comps, comp)
}
