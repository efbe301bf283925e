package dockerfile

import (
	"strings"
	"testing"
)

func TestIgnoreMatch(t *testing.T) {
	ig := ParseIgnore(".dockerignore", []byte(strings.Join([]string{
		"# comment",          // 1
		".git",               // 2
		"*.md",               // 3
		"!README.md",         // 4
		"/secret.txt",        // 5
		"./build/",           // 6
		"**/__pycache__",     // 7
		"",                   // 8
		"  .env*  ",          // 9
		"logs",               // 10
		"!logs/keep.txt",     // 11
		" # not a comment",   // 12
		"docs/**/*.png",      // 13
		"*.md",               // 14
		"!CHANGELOG.md\r",    // 15
		"alembic/versions/*", // 16
	}, "\n")))
	if len(ig.Findings) != 0 {
		t.Fatalf("findings %+v", ig.Findings)
	}
	tests := []struct {
		path     string
		excluded bool
		line     int
	}{
		{"app/main.py", false, 0},
		{".git", true, 2},
		{".git/config", true, 2},
		{"NOTES.md", true, 14},
		{"README.md", true, 14},
		{"CHANGELOG.md", false, 15},
		{"sub/NOTES.md", false, 0},
		{"secret.txt", true, 5},
		{"/secret.txt", true, 5},
		{"./secret.txt", true, 5},
		{"build/lib/x.so", true, 6},
		{"app/__pycache__/m.cpython-311.pyc", true, 7},
		{"__pycache__/x.pyc", true, 7},
		{".env", true, 9},
		{".env.production", true, 9},
		{"logs/app.log", true, 10},
		{"logs/keep.txt", false, 11},
		{"# not a comment", true, 12},
		{"docs/a/b/c.png", true, 13},
		{"docs/c.png", true, 13},
		{"alembic/versions/0001_init.py", true, 16},
		{"alembic/env.py", false, 0},
		{"alembic.ini", false, 0},
		{".", false, 0},
	}
	for _, tt := range tests {
		excluded, line := ig.Match(tt.path)
		if excluded != tt.excluded || line != tt.line {
			t.Errorf("Match(%q) = %v, %d; want %v, %d", tt.path, excluded, line, tt.excluded, tt.line)
		}
	}
	if p := ig.Patterns[1]; p.Pattern != "*.md" || p.Line != 3 || p.Exception {
		t.Errorf("pattern = %+v", p)
	}
	if p := ig.Patterns[4]; p.Pattern != "build" || p.Line != 6 {
		t.Errorf("pattern = %+v", p)
	}
}

func TestIgnoreEdgeCases(t *testing.T) {
	var nilIgnore *Ignore
	if ex, line := nilIgnore.Match("a"); ex || line != 0 {
		t.Errorf("nil Ignore excludes")
	}
	ig := ParseIgnore("app/.dockerignore", []byte("\xEF\xBB\xBF*\n!app\n[\n!\n"))
	if len(ig.Findings) != 2 {
		t.Fatalf("findings = %+v", ig.Findings)
	}
	for i, line := range []int{3, 4} {
		fd := ig.Findings[i]
		if fd.Rule != RuleIgnoreSyntax || fd.Line != line || fd.File != "app/.dockerignore" || fd.Fix == "" {
			t.Errorf("finding %d = %+v", i, fd)
		}
	}
	if ex, line := ig.Match("Dockerfile"); !ex || line != 1 {
		t.Errorf("Match(Dockerfile) = %v %d (a BOM before the first pattern must be dropped)", ex, line)
	}
	if ex, line := ig.Match("app/main.py"); ex || line != 2 {
		t.Errorf("Match(app/main.py) = %v %d", ex, line)
	}
	if ig := ParseIgnore(".dockerignore", nil); len(ig.Patterns) != 0 {
		t.Errorf("empty file has patterns")
	}
}

func FuzzParseIgnore(f *testing.F) {
	for _, s := range []string{"*.pyc\n!keep.pyc\n", "**/node_modules\n.git\n", "[\n", "/a/../b\n!\n", "# c\n\t x \r\n"} {
		f.Add(s, "a/b.pyc")
	}
	f.Fuzz(func(t *testing.T, data, p string) {
		ig := ParseIgnore(".dockerignore", []byte(data))
		if len(ig.Patterns) != len(ig.matchers) {
			t.Fatalf("%d patterns, %d matchers", len(ig.Patterns), len(ig.matchers))
		}
		excluded, line := ig.Match(p)
		if excluded && line == 0 {
			t.Fatalf("excluded without a line")
		}
	})
}
