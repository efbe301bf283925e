package rules

import (
	"strconv"
	"strings"
	"testing"
)

func TestReleaseAlembicChainCases(t *testing.T) {
	rev := func(id, down string) string { return relTestRevision(id, down, "") }
	tests := []struct {
		name    string
		changes map[string]string
		want    []string // file:line
		msg     string
	}{
		{name: "linear", changes: map[string]string{"alembic/versions/b2_m.py": rev("b2", `"29e2b3c8b942"`)}},
		{name: "missing parent", changes: map[string]string{"alembic/versions/b2_m.py": rev("b2", `"a1"`)},
			want: []string{"alembic/versions/b2_m.py:9"}, msg: `set ` + "`down_revision = \"29e2b3c8b942\"`"},
		{name: "merge lacking both parents", changes: map[string]string{"alembic/versions/m3_m.py": rev("m3", `("a1", "b2")`)},
			want: []string{"alembic/versions/m3_m.py:9"}, msg: `merges 2 revisions`},
		{name: "branch label as parent", changes: map[string]string{
			"alembic/versions/a1_m.py": strings.Replace(rev("a1", `"29e2b3c8b942"`), "branch_labels = None", `branch_labels = ("audit",)`, 1),
			"alembic/versions/b2_m.py": rev("b2", `"audit"`)}},
		{name: "depends_on is not down_revision", changes: map[string]string{
			"alembic/versions/b2_m.py": strings.Replace(rev("b2", `"29e2b3c8b942"`), "depends_on = None", `depends_on = "ffff"`, 1)}},
		{name: "two folders of one ini", changes: map[string]string{
			"alembic.ini":             "[alembic]\nscript_location = %(here)s/alembic\n\n[tenant]\nscript_location = %(here)s/tenant\n",
			"tenant/env.py":           "import os\n",
			"tenant/versions/t1_m.py": rev("t1", `"29e2b3c8b942"`)},
			want: []string{"tenant/versions/t1_m.py:9"}, msg: "no migration in tenant/versions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := relTestRepo(t, relBaseFiles(), tt.changes)
			got := relCheckRule(t, ruleReleaseAlembicChain, p)
			var locs []string
			for _, f := range got {
				locs = append(locs, f.File+":"+strconv.Itoa(f.Line))
				if !strings.Contains(f.Message+f.Fix, tt.msg) {
					t.Errorf("finding lacks %q: %s / %s", tt.msg, f.Message, f.Fix)
				}
			}
			if strings.Join(locs, " ") != strings.Join(tt.want, " ") {
				t.Errorf("findings at %v, want %v", locs, tt.want)
			}
		})
	}
}

// TestReleaseAlembicChainCorpus: redash's 89bc7873a3e0_fix_multiple_heads
// is a real merge revision (a tuple down_revision). Alone in a folder (the
// corpus keeps a sample of each history), it lacks both parents: one
// finding names both. In the real repository the parents are there.
func TestReleaseAlembicChainCorpus(t *testing.T) {
	p := relCorpusRepo(t, "getredash/redash", "")
	got := relCheckRule(t, ruleReleaseAlembicChain, p)
	if len(got) != 1 || got[0].Location.String() != "migrations/versions/89bc7873a3e0_fix_multiple_heads.py:14:1" || !strings.Contains(got[0].Message, "merges 2 revisions") {
		t.Fatalf("want one finding for the merge revision, got %+v", got)
	}
}
