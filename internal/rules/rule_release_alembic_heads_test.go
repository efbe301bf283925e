package rules

import (
	"sort"
	"strings"
	"testing"
)

func TestReleaseAlembicHeadsCases(t *testing.T) {
	v := func(id, down string) (string, string) {
		return "alembic/versions/" + id + "_m.py", relTestRevision(id, down, "")
	}
	revs := func(pairs ...[2]string) map[string]string {
		m := map[string]string{"alembic/versions/29e2b3c8b942_create_units.py": ""}
		for _, p := range pairs {
			k, s := v(p[0], p[1])
			m[k] = s
		}
		return m
	}
	fly := func(rc string) string {
		return strings.Replace(relBaseFiles()["fly.toml"], "alembic upgrade head", rc, 1)
	}
	with := func(m map[string]string, k, s string) map[string]string {
		m[k] = s
		return m
	}
	tests := []struct {
		name    string
		changes map[string]string
		want    []string // heads reported, by id
		msg     string
	}{
		{name: "linear", changes: revs([2]string{"a1", "None"}, [2]string{"b2", `"a1"`}, [2]string{"c3", `"b2"`})},
		{name: "fork", changes: revs([2]string{"a1", "None"}, [2]string{"b2", `"a1"`}, [2]string{"c3", `"a1"`}), want: []string{"b2", "c3"}, msg: "They branch from a1"},
		{name: "three heads", changes: revs([2]string{"a1", "None"}, [2]string{"b2", `"a1"`}, [2]string{"c3", `"a1"`}, [2]string{"d4", `"b2"`}, [2]string{"e5", `"b2"`}),
			want: []string{"c3", "d4", "e5"}, msg: "the other heads are"},
		{name: "merged", changes: revs([2]string{"a1", "None"}, [2]string{"b2", `"a1"`}, [2]string{"c3", `"a1"`}, [2]string{"m4", `("b2", "c3")`})},
		{name: "two roots merged", changes: revs([2]string{"a1", "None"}, [2]string{"b2", "None"}, [2]string{"m3", `("a1", "b2")`})},
		{name: "two roots", changes: revs([2]string{"a1", "None"}, [2]string{"b2", "None"}), want: []string{"a1", "b2"}, msg: "2 roots"},
		{name: "upgrade heads", changes: with(revs([2]string{"a1", "None"}, [2]string{"b2", `"a1"`}, [2]string{"c3", `"a1"`}), "fly.toml", fly("alembic upgrade heads"))},
		{name: "upgrade a branch", changes: with(revs([2]string{"a1", "None"}, [2]string{"b2", `"a1"`}, [2]string{"c3", `"a1"`}), "fly.toml", fly("alembic upgrade b2"))},
		{name: "release without alembic", changes: with(revs([2]string{"a1", "None"}, [2]string{"b2", `"a1"`}, [2]string{"c3", `"a1"`}), "fly.toml", fly("python -m app.seed")),
			want: []string{"b2", "c3"}},
		{name: "chain broken", changes: revs([2]string{"a1", "None"}, [2]string{"c3", `"b2"`})},
		{name: "duplicate ids", changes: with(revs([2]string{"a1", "None"}, [2]string{"b2", `"a1"`}), "alembic/versions/b2_copy.py", relTestRevision("b2", `"a1"`, ""))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := relTestRepo(t, relBaseFiles(), tt.changes)
			got := relCheckRule(t, ruleReleaseAlembicHeads, p)
			var heads []string
			for _, f := range got {
				heads = append(heads, strings.TrimSuffix(strings.TrimPrefix(f.File, "alembic/versions/"), "_m.py"))
				if f.Line != 9 {
					t.Errorf("%s: want the down_revision line 9", f.Location)
				}
				if !strings.Contains(f.Message, tt.msg) {
					t.Errorf("message lacks %q: %s", tt.msg, f.Message)
				}
			}
			sort.Strings(heads)
			if strings.Join(heads, ",") != strings.Join(tt.want, ",") {
				t.Errorf("heads reported %v, want %v", heads, tt.want)
			}
		})
	}
}

// TestReleaseAlembicHeadsCorpus: the corpus keeps two real histories with
// two roots: both testdrivenio/fastapi-sqlmodel-alembic `*_init.py`
// migrations and both AI4Wings/CodeAnalysisAgent
// `*_create_history_records_table.py` migrations have down_revision =
// None, so `alembic upgrade head` stops with "Multiple head revisions".
// Crunevo2's merge revision (a tuple down_revision) is read as a merge.
func TestReleaseAlembicHeadsCorpus(t *testing.T) {
	for _, tt := range []struct {
		repo, fly string
		files     []string
	}{
		{"testdrivenio/fastapi-sqlmodel-alembic", "", []string{"project/migrations/versions/842abcd80d3e_init.py", "project/migrations/versions/f9c634db477d_init.py"}},
		{"AI4Wings/CodeAnalysisAgent", "backend/fly.toml", []string{"backend/migrations/versions/8a80fd99d66c_create_history_records_table.py", "backend/migrations/versions/8c1926493faf_create_history_records_table.py"}},
	} {
		p := relCorpusRepo(t, tt.repo, tt.fly)
		got := relCheckRule(t, ruleReleaseAlembicHeads, p)
		var files []string
		for _, f := range got {
			files = append(files, f.File)
			if !strings.Contains(f.Message, "2 roots") {
				t.Errorf("%s: %s", tt.repo, f.Message)
			}
		}
		sort.Strings(files)
		if strings.Join(files, " ") != strings.Join(tt.files, " ") {
			t.Errorf("%s: heads reported in %v, want %v", tt.repo, files, tt.files)
		}
	}
	// Crunevo2's sampled history is partial (parents left out of the
	// corpus): the chain rule speaks, not this one.
	p := relCorpusRepo(t, "RoggerMS/Crunevo2", "fly.toml")
	if got := relCheckRule(t, ruleReleaseAlembicHeads, p); len(got) != 0 {
		t.Errorf("Crunevo2: %s", got[0].Message)
	}
}
