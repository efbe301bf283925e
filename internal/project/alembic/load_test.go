package alembic

import (
	"io/fs"
	"os"
	"reflect"
	"testing"
	"testing/fstest"
)

func paths(rs []*Revision) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Path)
	}
	return out
}

func TestLoadScripts(t *testing.T) {
	// linear/versions holds __init__.py, __pycache__/, an editor lock file
	// ".#…py", a README and a sub-folder: only the three top-level
	// migrations are revisions.
	revs, fs := LoadScripts(os.DirFS("testdata/chains"), "linear")
	if len(fs) != 0 {
		t.Errorf("findings %q", brief(fs))
	}
	want := []string{
		"linear/versions/1000aaaa0001_first.py",
		"linear/versions/1000aaaa0002_second.py",
		"linear/versions/1000aaaa0003_third.py",
	}
	if got := paths(revs); !reflect.DeepEqual(got, want) {
		t.Errorf("paths %q, want %q", got, want)
	}
	// Given version locations replace <dir>/versions.
	revs, _ = LoadScripts(os.DirFS("testdata/chains"), "linear", "merge/versions", "linear/versions/old", "does/not/exist")
	if got := ids(revs); !reflect.DeepEqual(got, []string{"2000bbbb0001", "2000bbbb0002", "2000bbbb0003", "2000bbbb0004", "1000aaaa0000"}) {
		t.Errorf("version locations read %q", got)
	}
}

func TestLoadScriptsMissingVersions(t *testing.T) {
	fsys := fstest.MapFS{"alembic/env.py": {Data: []byte("")}}
	revs, fs := LoadScripts(fsys, "alembic")
	if len(revs) != 0 {
		t.Errorf("revisions %q", paths(revs))
	}
	if got := brief(fs); !reflect.DeepEqual(got, []string{"alembic-versions:0:0:warning"}) || fs[0].File != "alembic" {
		t.Errorf("findings %q", got)
	}
	// Paths that leave fsys are skipped without a finding.
	if revs, fs := LoadScripts(fsys, "/abs"); len(revs)+len(fs) != 0 {
		t.Errorf("absolute dir: %v %v", revs, fs)
	}
	if revs, fs := LoadScripts(fsys, "../up"); len(revs)+len(fs) != 0 {
		t.Errorf("dir outside fsys: %v %v", revs, fs)
	}
}

func TestLoadScriptsFindings(t *testing.T) {
	fsys := fstest.MapFS{
		"m/versions/a1_ok.py":     {Data: []byte("revision = 'a1'\ndown_revision = None\n")},
		"m/versions/b2_no_id.py":  {Data: []byte("down_revision = 'a1'\n")},
		"m/versions/c3_broken.py": {Data: []byte("revision = 'c3'\ndown_revision = ('b2'\n")},
		"m/versions/dir.py/x.py":  {Data: []byte("revision = 'nested'\n")},
		"m/versions/__init__.py":  {Data: []byte("revision = 'init'\n")},
		"m/versions/notes.txt":    {Data: []byte("revision = 'txt'\n")},
	}
	revs, found := LoadScripts(fsys, "m")
	if got := paths(revs); !reflect.DeepEqual(got, []string{"m/versions/a1_ok.py", "m/versions/b2_no_id.py", "m/versions/c3_broken.py"}) {
		t.Errorf("paths %q", got)
	}
	if got := brief(found); !reflect.DeepEqual(got, []string{"alembic-revision:1:1:error", "alembic-revision-syntax:2:17:error", "alembic-revision:2:1:warning"}) {
		t.Errorf("findings %q", got)
	}
	for _, f := range found {
		if f.File == "" || f.File[:2] != "m/" {
			t.Errorf("finding not at the module path: %+v", f)
		}
	}
}

func TestScriptLocationLoad(t *testing.T) {
	fsys := os.DirFS("testdata/project")
	data, err := fs.ReadFile(fsys, "alembic.ini")
	if err != nil {
		t.Fatal(err)
	}
	cfg, fs := ParseINI("alembic.ini", data)
	if len(fs) != 0 {
		t.Fatalf("findings %q", brief(fs))
	}
	sls := cfg.ScriptLocations()
	if len(sls) != 2 {
		t.Fatalf("%d script locations, want 2", len(sls))
	}
	main, pkg := sls[0], sls[1]
	if main.Dir != "db/migrations" || main.Kind != PathHere || !main.Recursive || len(main.VersionLocations) != 2 {
		t.Errorf("[alembic] = %+v", main)
	}
	if main.SQLAlchemyURL.Loc.Line != 3 || pkg.SQLAlchemyURL.Loc.Line != 3 {
		t.Error("sqlalchemy.url from [DEFAULT] not seen by both sections")
	}
	if main.FileTemplate != "%(year)d_%(rev)s_%(slug)s" || pkg.FileTemplate != DefaultFileTemplate {
		t.Errorf("file templates %q %q", main.FileTemplate, pkg.FileTemplate)
	}
	// version_locations, read recursively: db/extra/2024/aa02 is found.
	revs, found := main.Load(fsys)
	if len(found) != 0 {
		t.Errorf("findings %q", brief(found))
	}
	if got := paths(revs); !reflect.DeepEqual(got, []string{"db/migrations/versions/aa01_base.py", "db/extra/2024/aa02_nested.py"}) {
		t.Errorf("[alembic] revisions %q", got)
	}
	g := BuildGraph(revs)
	if h := ids(g.Heads()); !reflect.DeepEqual(h, []string{"aa02"}) || len(g.Missing()) != 0 {
		t.Errorf("heads %q missing %v", h, g.Missing())
	}
	// The package location: myapp is not beside the ini, but under src/.
	if pkg.Kind != PathPackage || pkg.Dir != "myapp/migrations" || !reflect.DeepEqual(pkg.Candidates, []string{"myapp/migrations", "src/myapp/migrations"}) {
		t.Errorf("[pkg] = %+v", pkg.PathRef)
	}
	revs, _ = pkg.Load(fsys)
	if got := paths(revs); !reflect.DeepEqual(got, []string{"src/myapp/migrations/versions/bb01_pkg.py"}) {
		t.Errorf("[pkg] revisions %q", got)
	}
	// Absolute and unresolved locations read nothing.
	for _, ref := range []PathRef{{Kind: PathAbsolute, Dir: "/app/migrations"}, {Kind: PathUnresolved}} {
		if revs, fs := (ScriptLocation{PathRef: ref}).Load(fsys); revs != nil || fs != nil {
			t.Errorf("%v location loaded %v %v", ref.Kind, revs, fs)
		}
	}
}
