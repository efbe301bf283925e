package alembic

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// checkFindings asserts the invariants every finding of a parser keeps.
func checkFindings(t *testing.T, file string, lines int, fs []report.Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Rule == "" || f.Title == "" || f.Message == "" || f.Fix == "" {
			t.Fatalf("incomplete finding %+v", f)
		}
		if f.Severity != report.Error && f.Severity != report.Warning && f.Severity != report.Notice {
			t.Fatalf("bad severity %+v", f)
		}
		if f.File != file || f.Line < 0 || f.Line > lines+1 || f.Column < 0 || f.EndLine < f.Line && f.EndLine != 0 {
			t.Fatalf("bad location %+v (file has %d lines)", f.Location, lines)
		}
	}
}

func FuzzParseINI(f *testing.F) {
	dir := testutil.CorpusDir(f, "alembic")
	files, _ := filepath.Glob(filepath.Join(dir, "*.ini"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"\ufeff[alembic]\r\nscript_location = %(here)s/x\r\n",
		"[alembic]\nscript_location = a # c\n  b\nversion_locations = a:b\nversion_path_separator = os # c\n",
		"[DEFAULT]\nx = %(y)s\ny = %(x)s\n[alembic]\nscript_location = pkg.sub:%(x)s\n",
		"x\n[a\n= b\n[]\n[ s ]\nk = 100%\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, fs := ParseINI("dir/alembic.ini", data)
		if cfg == nil {
			t.Fatal("nil Config")
		}
		checkFindings(t, "dir/alembic.ini", len(splitLines(data)), fs)
		for _, sec := range cfg.Sections {
			for _, k := range sec.Keys {
				if k.Loc.Line < 1 || k.Loc.EndLine < k.Loc.Line {
					t.Fatalf("bad key location %+v", k.Loc)
				}
				_, _ = cfg.Expand(sec.Name, k.Value, map[string]string{"here": "/h"})
			}
		}
		for _, sl := range cfg.ScriptLocations() {
			if sl.Kind == PathPackage && (len(sl.Candidates) == 0 || sl.Dir != sl.Candidates[0]) {
				t.Fatalf("package location without candidates %+v", sl.PathRef)
			}
		}
	})
}

func FuzzParseRevision(f *testing.F) {
	dir := testutil.CorpusDir(f, "alembic")
	files, _ := filepath.Glob(filepath.Join(dir, "versions", "*.py"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"revision = 'a'\ndown_revision = (\n 'b',\n 'c')\ndef upgrade():\n    with op.batch_alter_table('t') as b:\n        b.add_column(x)\n",
		"r'''\\\n'''\ndef upgrade(): op.execute(text(f\"x{y}\"))\n",
		"def upgrade():\n    op.execute(\n",
		"x = (]\n)'\n\"\"\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rev, fs := ParseRevision("versions/x.py", data)
		if rev == nil {
			t.Fatal("nil Revision")
		}
		checkFindings(t, "versions/x.py", len(splitLines(data)), fs)
		for _, op := range rev.Ops {
			if op.Line < 1 || op.EndLine < op.Line || op.Column < 1 || op.Name == "" {
				t.Fatalf("bad op %+v", op)
			}
		}
		BuildGraph([]*Revision{rev, rev}).Cycles()
	})
}

func BenchmarkParseINI(b *testing.B) {
	dir := testutil.CorpusDir(b, "alembic")
	files, _ := filepath.Glob(filepath.Join(dir, "*.ini"))
	var inputs [][]byte
	size := 0
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, data)
		size += len(data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range inputs {
			cfg, _ := ParseINI("alembic.ini", data)
			cfg.ScriptLocations()
		}
	}
}

func BenchmarkParseRevision(b *testing.B) {
	dir := testutil.CorpusDir(b, "alembic")
	files, _ := filepath.Glob(filepath.Join(dir, "versions", "*.py"))
	var inputs [][]byte
	size := 0
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, data)
		size += len(data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range inputs {
			ParseRevision("versions/x.py", data)
		}
	}
}

func BenchmarkBuildGraph(b *testing.B) {
	revs := chain(2000)
	b.ReportAllocs()
	for b.Loop() {
		g := BuildGraph(revs)
		g.Heads()
		g.Missing()
		g.Cycles()
	}
}
