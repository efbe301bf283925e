package alembic

import (
	"bufio"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// source is one row of the corpus SOURCES.tsv: a corpus file and where it
// lives in its repository.
type source struct {
	file, repo, path string
}

func corpusSources(t testing.TB) (string, []source) {
	t.Helper()
	dir := testutil.CorpusDir(t, "alembic")
	f, err := os.Open(filepath.Join(dir, "SOURCES.tsv"))
	if err != nil {
		t.Fatalf("open SOURCES.tsv: %v", err)
	}
	defer f.Close()
	var out []source
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 || cols[0] == "file" {
			continue
		}
		out = append(out, source{file: cols[0], repo: cols[1], path: cols[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read SOURCES.tsv: %v", err)
	}
	return dir, out
}

func errorsOf(fs []report.Finding) []report.Finding {
	var out []report.Finding
	for _, f := range fs {
		if f.Severity == report.Error {
			out = append(out, f)
		}
	}
	return out
}

// TestCorpusINI parses every real alembic.ini under its repository path and
// checks the script locations it resolves.
func TestCorpusINI(t *testing.T) {
	dir, sources := corpusSources(t)
	// file → "section=dir (kind)" of each script location, or "flask" for a
	// Flask-Migrate ini, or "" for none.
	want := map[string][]string{
		"2004-maste__globe-news-backend__alembic.ini":           nil, // an empty file
		"2gang__ifp-flask-study__alembic.ini":                   {"flask"},
		"AI4Wings__CodeAnalysisAgent__alembic.ini":              {"alembic=backend/migrations (relative)"},
		"CTFd__CTFd__alembic.ini":                               {"flask"},
		"DannyMac180__ace-platform__alembic.ini":                {"alembic=ace_platform/db/migrations (here)"},
		"Moodyw03__docecho__alembic.ini":                        {"flask"},
		"Netflix__dispatch__alembic.ini":                        {"core=src/dispatch/database/revisions/core (package)", "tenant=src/dispatch/database/revisions/tenant (package)"},
		"RoggerMS__Crunevo2__alembic.ini":                       {"flask"},
		"RoggerMS__Crunevo2__root__alembic.ini":                 {"alembic=migrations (relative)"},
		"Tetsuozxcmid__irminsul-backend__alembic.ini":           {"alembic=alembic (relative)"},
		"audiodude__rainfall__alembic.ini":                      {"alembic=alembic (relative)"},
		"fastapi__full-stack-fastapi-template__alembic.ini":     {"alembic=backend/app/alembic (relative)"},
		"getredash__redash__alembic.ini":                        {"flask"},
		"mealie-recipes__mealie__alembic.ini":                   {"alembic=alembic (relative)"},
		"polarsource__polar__alembic.ini":                       {"alembic=server/migrations (relative)"},
		"testdrivenio__fastapi-sqlmodel-alembic__alembic.ini":   {"alembic=project/migrations (relative)"},
		"zhanymkanov__fastapi_production_template__alembic.ini": {"alembic=alembic (relative)"},
	}
	// The one warning in the corpus: sqlalchemy.url = %(DATABASE_URL)s
	// with no such key (configparser reads no environment variables).
	wantWarnings := map[string][]string{
		"RoggerMS__Crunevo2__root__alembic.ini": {"alembic-interpolation:3:18:warning"},
	}
	// Script folders by repository, to check each migration file of the
	// corpus lies in a resolved versions folder.
	scriptDirs := map[string][]string{}
	seen := 0
	for _, s := range sources {
		if !strings.HasSuffix(s.file, ".ini") {
			continue
		}
		seen++
		data, err := os.ReadFile(filepath.Join(dir, s.file))
		if err != nil {
			t.Fatal(err)
		}
		cfg, fs := ParseINI(s.path, data)
		if errs := errorsOf(fs); len(errs) > 0 {
			t.Errorf("%s: error findings %q", s.file, brief(errs))
		}
		var warns []report.Finding
		for _, f := range fs {
			if f.Severity == report.Warning {
				warns = append(warns, f)
			}
		}
		if got := brief(warns); !reflect.DeepEqual(got, wantWarnings[s.file]) {
			t.Errorf("%s: warnings %q, want %q", s.file, got, wantWarnings[s.file])
		}
		var got []string
		if cfg.FlaskMigrate {
			got = append(got, "flask")
			scriptDirs[s.repo] = append(scriptDirs[s.repo], path.Dir(s.path))
		}
		for _, sl := range cfg.ScriptLocations() {
			got = append(got, sl.Section+"="+sl.Dir+" ("+sl.Kind.String()+")")
			scriptDirs[s.repo] = append(scriptDirs[s.repo], sl.Dir)
			t.Logf("%-55s [%s] script_location = %s -> %s (%s, cwd-relative %v)", s.path+" ("+s.repo+")", sl.Section, sl.Value, sl.Dir, sl.Kind, sl.CWDRelative)
		}
		exp, ok := want[s.file]
		if !ok {
			t.Errorf("%s: not in the expected table; add it", s.file)
			continue
		}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s: script locations %q, want %q", s.file, got, exp)
		}
	}
	if seen != len(want) {
		t.Errorf("SOURCES.tsv lists %d ini files, the table %d", seen, len(want))
	}
	// Every migration of the corpus sits in <script dir>/versions/ of one
	// of its repository's resolved locations.
	for _, s := range sources {
		if !strings.HasPrefix(s.file, "versions/") {
			continue
		}
		found := false
		for _, d := range scriptDirs[s.repo] {
			if path.Dir(s.path) == path.Join(d, "versions") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s (%s): not under any resolved versions folder of %s: %q", s.file, s.path, s.repo, scriptDirs[s.repo])
		}
	}
}

// TestCorpusRevisions reads every real migration and checks its ids
// exactly.
func TestCorpusRevisions(t *testing.T) {
	dir := testutil.CorpusDir(t, "alembic")
	type want struct {
		id   string
		down []string
		ops  int
	}
	tests := map[string]want{
		"AI4Wings__CodeAnalysisAgent__8a80fd99d66c_create_history_records_table.py":                          {"8a80fd99d66c", nil, 1},
		"AI4Wings__CodeAnalysisAgent__8c1926493faf_create_history_records_table.py":                          {"8c1926493faf", nil, 1},
		"CTFd__CTFd__24ad6790bc3c_convert_rating_values_to_votes.py":                                         {"24ad6790bc3c", []string{"55623b100da8"}, 3},
		"DannyMac180__ace-platform__c7bacc87916a_add_subscription_fields_to_user.py":                         {"c7bacc87916a", []string{"331d4bbdd007"}, 5},
		"Moodyw03__docecho__b7d7b7d9dec7_initial_migration.py":                                               {"b7d7b7d9dec7", nil, 1},
		"Netflix__dispatch__2022-10-31_34aeedc9d09a.py":                                                      {"34aeedc9d09a", []string{"4b65941d065a", "01aa49ca0470", "3a5e776ddce4"}, 0},
		"RoggerMS__Crunevo2__018c30955e14_add_login_streaks.py":                                              {"018c30955e14", []string{"81c3610645b1"}, 2},
		"RoggerMS__Crunevo2__2654d90049d2_unificando_heads.py":                                               {"2654d90049d2", []string{"abcd1234add", "enhanced_chat_2025"}, 0},
		"RoggerMS__Crunevo2__add_purchase_shipping_fields.py":                                                {"add_purchase_shipping_fields", []string{"add_group_mission", "user_block_attachment"}, 4},
		"Tetsuozxcmid__irminsul-backend__911d27cf701e_create_users_table.py":                                 {"911d27cf701e", nil, 9},
		"audiodude__rainfall__5a0902890ee4_add_mastodon_id_rename_mastodon_token.py":                         {"5a0902890ee4", []string{"3604b4c7a42c"}, 3},
		"audiodude__rainfall__9e4bcadf779d_initial_schema.py":                                                {"9e4bcadf779d", nil, 4},
		"fastapi__full-stack-fastapi-template__d98dd8ec85a3_edit_replace_id_integers_in_all_models_.py":      {"d98dd8ec85a3", []string{"9c0a54914c78"}, 19},
		"fastapi__full-stack-fastapi-template__e2412789c190_initialize_models.py":                            {"e2412789c190", nil, 4},
		"getredash__redash__89bc7873a3e0_fix_multiple_heads.py":                                              {"89bc7873a3e0", []string{"0ec979123ba4", "d7d747033183"}, 0},
		"mealie-recipes__mealie__2022-03-23-17.43.34_263dd6707191_convert_quantity_from_integer_to_float.py": {"263dd6707191", []string{"6b0f5f32d602"}, 1},
		"polarsource__polar__2026-06-19-1050_backfill_and_enforce_support_cases_.py":                         {"54267f23e641", []string{"9f9d594a6b25"}, 4},
		"testdrivenio__fastapi-sqlmodel-alembic__842abcd80d3e_init.py":                                       {"842abcd80d3e", nil, 1},
		"testdrivenio__fastapi-sqlmodel-alembic__f9c634db477d_init.py":                                       {"f9c634db477d", nil, 7},
	}
	files, err := filepath.Glob(filepath.Join(dir, "versions", "*.py"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration in the corpus: %v", err)
	}
	var revs []*Revision
	for _, f := range files {
		name := filepath.Base(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rev, fs := ParseRevision("versions/"+name, data)
		revs = append(revs, rev)
		if len(fs) > 0 {
			t.Errorf("%s: findings %q", name, brief(fs))
		}
		w, ok := tests[name]
		if !ok {
			t.Errorf("%s: not in the expected table; add it", name)
			continue
		}
		down := rev.Down
		if len(down) == 0 {
			down = nil
		}
		if rev.ID != w.id || !reflect.DeepEqual(down, w.down) || !rev.HasDown {
			t.Errorf("%s: id %q down %q (has %v), want %q %q", name, rev.ID, rev.Down, rev.HasDown, w.id, w.down)
		}
		if len(rev.Ops) != w.ops {
			t.Errorf("%s: %d ops, want %d", name, len(rev.Ops), w.ops)
		}
		if rev.IDLoc.Line == 0 || rev.DownLoc.Line == 0 || rev.DownLoc.Line != rev.IDLoc.Line+1 {
			t.Errorf("%s: revision at line %d, down_revision at %d; want consecutive lines", name, rev.IDLoc.Line, rev.DownLoc.Line)
		}
	}
	if len(files) != len(tests) {
		t.Errorf("%d migration files, %d in the table", len(files), len(tests))
	}
	// The graph of the sample: the two repositories whose real history has
	// two roots show up as such.
	g := BuildGraph(revs)
	var roots []string
	for _, r := range g.Roots() {
		roots = append(roots, r.ID)
	}
	sort.Strings(roots)
	wantRoots := []string{"842abcd80d3e", "8a80fd99d66c", "8c1926493faf", "911d27cf701e", "9e4bcadf779d", "b7d7b7d9dec7", "e2412789c190", "f9c634db477d"}
	if !reflect.DeepEqual(roots, wantRoots) {
		t.Errorf("roots %q, want %q", roots, wantRoots)
	}
	if d := g.Duplicates(); len(d) != 0 {
		t.Errorf("duplicates in the corpus sample: %v", d)
	}
}
