package alembic

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func ids(rs []*Revision) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestGraphChains(t *testing.T) {
	tests := []struct {
		chain      string
		heads      []string
		roots      []string
		missing    []string // "id->ref"
		duplicates [][]string
	}{
		{chain: "linear", heads: []string{"1000aaaa0003"}, roots: []string{"1000aaaa0001"}},
		{chain: "merge", heads: []string{"2000bbbb0004"}, roots: []string{"2000bbbb0001"}},
		{chain: "twoheads", heads: []string{"3000cccc0002", "3000cccc0003"}, roots: []string{"3000cccc0001"}},
		{chain: "tworoots", heads: []string{"4000dddd0002", "4000dddd0003"}, roots: []string{"4000dddd0001", "4000dddd0002"}},
		{chain: "missing", heads: []string{"5000eeee0001", "5000eeee0002"}, roots: []string{"5000eeee0001"}, missing: []string{"5000eeee0002->5000eeee9999"}},
		{chain: "duplicate", heads: []string{"6000ffff0002", "6000ffff0002"}, roots: []string{"6000ffff0001"}, duplicates: [][]string{{"6000ffff0002", "6000ffff0002"}}},
		{chain: "threeway", heads: []string{"7000aaaa0005"}, roots: []string{"7000aaaa0001"}},
	}
	for _, tt := range tests {
		t.Run(tt.chain, func(t *testing.T) {
			revs, fs := LoadScripts(os.DirFS(filepath.Join("testdata", "chains", tt.chain)), ".")
			if len(fs) != 0 {
				t.Fatalf("findings %q", brief(fs))
			}
			g := BuildGraph(revs)
			if got := ids(g.Heads()); !reflect.DeepEqual(got, tt.heads) {
				t.Errorf("heads %q, want %q", got, tt.heads)
			}
			if got := ids(g.Roots()); !reflect.DeepEqual(got, tt.roots) {
				t.Errorf("roots %q, want %q", got, tt.roots)
			}
			var missing []string
			for _, m := range g.Missing() {
				missing = append(missing, m.Rev.ID+"->"+m.Ref)
				if m.Field != "down_revision" {
					t.Errorf("missing field %q", m.Field)
				}
			}
			if !reflect.DeepEqual(missing, tt.missing) {
				t.Errorf("missing %q, want %q", missing, tt.missing)
			}
			var dups [][]string
			for _, d := range g.Duplicates() {
				dups = append(dups, ids(d))
			}
			if !reflect.DeepEqual(dups, tt.duplicates) {
				t.Errorf("duplicates %q, want %q", dups, tt.duplicates)
			}
			if c := g.Cycles(); len(c) != 0 {
				t.Errorf("cycles %v in an acyclic chain", c)
			}
		})
	}
}

func TestGraphThreeWayMerge(t *testing.T) {
	revs, _ := LoadScripts(os.DirFS("testdata/chains/threeway"), ".")
	g := BuildGraph(revs)
	m := g.Get("7000aaaa0005")
	if m == nil || len(m.Down) != 3 {
		t.Fatalf("merge revision %+v", m)
	}
	if got := ids(g.Children("7000aaaa0001")); !reflect.DeepEqual(got, []string{"7000aaaa0002", "7000aaaa0003", "7000aaaa0004"}) {
		t.Errorf("children of the root %q", got)
	}
	if got := g.Get("7000aaaa0004").BranchLabels; !reflect.DeepEqual(got, []string{"feature"}) {
		t.Errorf("branch labels %q", got)
	}
}

func TestGraphReferences(t *testing.T) {
	revs := []*Revision{
		{ID: "a"},
		{ID: "b", Down: []string{"a"}, BranchLabels: []string{"feature"}},
		{ID: "c", Down: []string{"b", "b"}, DependsOn: []string{"feature", "zz"}},
		{ID: "d", Down: []string{"nowhere"}, DependsOn: []string{"a"}},
		nil,
		{Path: "unreadable.py"},
	}
	g := BuildGraph(revs)
	if n := len(g.Revisions()); n != 4 {
		t.Errorf("%d revisions, want 4 (nil and id-less left out)", n)
	}
	var got []string
	for _, m := range g.Missing() {
		got = append(got, m.Rev.ID+"."+m.Field+"->"+m.Ref)
	}
	want := []string{"c.depends_on->zz", "d.down_revision->nowhere"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("missing %q, want %q", got, want)
	}
	// depends_on does not stop "a" from being a parent only through d's
	// dependency: a is not a head because b names it as down_revision.
	if heads := ids(g.Heads()); !reflect.DeepEqual(heads, []string{"c", "d"}) {
		t.Errorf("heads %q, want [c d]", heads)
	}
	if len(g.Children("b")) != 1 {
		t.Errorf("a repeated down revision must link once")
	}
}

func TestGraphCycles(t *testing.T) {
	revs := []*Revision{
		{ID: "root"},
		{ID: "x", Down: []string{"z"}},
		{ID: "y", Down: []string{"x"}},
		{ID: "z", Down: []string{"y", "root"}},
		{ID: "self", Down: []string{"self"}},
		{ID: "after", Down: []string{"x"}},
	}
	g := BuildGraph(revs)
	var got [][]string
	for _, c := range g.Cycles() {
		got = append(got, ids(c))
	}
	want := [][]string{{"x", "y", "z"}, {"self"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cycles %q, want %q", got, want)
	}
}

func TestGraphZero(t *testing.T) {
	for _, g := range []*Graph{nil, {}, BuildGraph(nil)} {
		if g.Heads() != nil || g.Roots() != nil || g.Missing() != nil || g.Duplicates() != nil || g.Cycles() != nil || g.Get("x") != nil || g.Children("x") != nil || g.Revisions() != nil {
			t.Errorf("empty graph %v is not empty", g)
		}
	}
}

func TestGraphLongChain(t *testing.T) {
	revs := chain(50000)
	g := BuildGraph(revs)
	if h := g.Heads(); len(h) != 1 || h[0] != revs[len(revs)-1] {
		t.Errorf("heads of a long chain: %d", len(h))
	}
	if c := g.Cycles(); len(c) != 0 {
		t.Errorf("cycles in a long chain: %d", len(c))
	}
}

// chain returns n revisions, each the parent of the next.
func chain(n int) []*Revision {
	revs := make([]*Revision, n)
	for i := range revs {
		revs[i] = &Revision{ID: "r" + itoa(i)}
		if i > 0 {
			revs[i].Down = []string{revs[i-1].ID}
		}
	}
	return revs
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
