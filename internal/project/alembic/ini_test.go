package alembic

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// brief renders findings as "rule:line:col:severity" for comparison.
func brief(fs []report.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s:%d:%d:%s", f.Rule, f.Line, f.Column, f.Severity))
	}
	return out
}

func TestParseINIFindings(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain", "[alembic]\nscript_location = alembic\n", nil},
		{"crlf", "[alembic]\r\nscript_location = alembic\r\n", nil},
		{"cr only", "[alembic]\rscript_location = alembic\r", nil},
		{"empty file", "", nil},
		{"only comments", "# a\n; b\n\n", nil},
		{"bom", "\ufeff[alembic]\nscript_location = alembic\n", []string{"alembic-syntax:1:1:error"}},
		{"no header", "script_location = alembic\nx = 1\n[alembic]\n", []string{"alembic-syntax:1:1:error"}},
		{"duplicate key", "[alembic]\nscript_location = a\nScript_Location = b\n", []string{"alembic-syntax:3:1:error"}},
		{"duplicate section", "[alembic]\na = 1\n[loggers]\n[alembic]\nb = 2\n", []string{"alembic-syntax:4:1:error"}},
		{"duplicate DEFAULT is allowed", "[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n", nil},
		{"no delimiter", "[alembic]\nscript_location alembic\n", []string{"alembic-syntax:2:1:error"}},
		{"empty key", "[alembic]\n  = alembic\n", []string{"alembic-syntax:2:3:error"}},
		{"empty brackets", "[alembic]\n[]\n", []string{"alembic-syntax:2:1:error"}},
		{"indented setting continues script_location", "[alembic]\nscript_location = alembic\n  sqlalchemy.url = x\n", []string{"alembic-continuation:3:3:error"}},
		{"indented setting continues file_template", "[alembic]\nscript_location = a\nfile_template = x\n  y\n", []string{"alembic-continuation:4:3:warning"}},
		{"multi-line hooks are fine", "[post_write_hooks]\nhooks =\n  black\n  ruff\n", nil},
		{"inline comment on script_location", "[alembic]\nscript_location = alembic  # where\n", []string{"alembic-inline-comment:2:28:error"}},
		{"semicolon inline comment", "[alembic]\nscript_location = alembic ; where\n", []string{"alembic-inline-comment:2:27:error"}},
		{"hash inside url is no comment", "[alembic]\nscript_location = a\nsqlalchemy.url = postgresql://u:p#x@h/db\n", nil},
		{"inline comment on url", "[alembic]\nscript_location = a\nsqlalchemy.url = sqlite:///x.db # local\n", []string{"alembic-inline-comment:3:33:warning"}},
		{"inline comment outside main sections", "[loggers]\nkeys = root  # comment\n", nil},
		{"separator comment unused (template default)", "[alembic]\nscript_location = a\nversion_path_separator = os  # Use os.pathsep.\n", nil},
		{"separator comment used by version_locations", "[alembic]\nscript_location = a\nversion_locations = a/versions:b\nversion_path_separator = os  # Use os.pathsep.\n", []string{"alembic-path-separator:4:30:error"}},
		{"invalid path_separator used by prepend_sys_path", "[alembic]\nscript_location = a\nprepend_sys_path = .\npath_separator = comma\n", []string{"alembic-path-separator:4:1:error"}},
		{"path_separator wins over version_path_separator", "[alembic]\nscript_location = a\nversion_locations = a b\npath_separator = space\nversion_path_separator = bogus\n", nil},
		{"bare percent in url", "[alembic]\nscript_location = a\nsqlalchemy.url = postgresql://u:p%40ss@h/db\n", []string{"alembic-interpolation:3:34:error"}},
		{"escaped percent", "[alembic]\nscript_location = a\nsqlalchemy.url = postgresql://u:p%%40ss@h/db\n", nil},
		{"bad reference form", "[alembic]\nscript_location = %(here)d/x\n", []string{"alembic-interpolation:2:19:error"}},
		{"missing reference", "[alembic]\nscript_location = a\nsqlalchemy.url = %(DATABASE_URL)s\n", []string{"alembic-interpolation:3:18:warning"}},
		{"reference to DEFAULT", "[DEFAULT]\nbase = /srv\n[alembic]\nscript_location = %(base)s/migrations\n", nil},
		{"self reference", "[alembic]\nscript_location = a\nx = %(x)s\n", []string{"alembic-interpolation:3:5:error"}},
		{"logging format is raw", "[formatter_generic]\nformat = %(levelname)-5.5s 100%\ndatefmt = %H:%M:%S\n", nil},
		{"logging args are interpolated", "[handler_console]\nargs = ('100%',)\n", []string{"alembic-interpolation:2:13:error"}},
		{"section name with blanks", "[ alembic ]\nscript_location = a\n", []string{"alembic-section-name:1:1:warning"}},
		{"indented header after a key continues it", "[alembic]\nscript_location = a\n  [loggers]\n", []string{"alembic-continuation:3:3:error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, fs := ParseINI("alembic.ini", []byte(tt.in))
			if cfg == nil {
				t.Fatal("ParseINI returned a nil Config")
			}
			if got := brief(fs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings = %q, want %q", got, tt.want)
			}
			for _, f := range fs {
				if f.File != "alembic.ini" || f.Title == "" || f.Message == "" || f.Fix == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}
		})
	}
}

func TestParseINIValues(t *testing.T) {
	in := "# header comment\r\n" +
		"[DEFAULT]\r\n" +
		"shared = from-default\r\n" +
		"[alembic]\r\n" +
		"  Script_Location: migrations\r\n" +
		"hooks =\r\n" +
		"    black\r\n" +
		"\r\n" +
		"# a comment inside the value is skipped\r\n" +
		"    ruff\r\n" +
		"\r\n" +
		"\r\n" +
		"empty =\r\n" +
		"a b = c = d\r\n" +
		"[Other]\r\n" +
		"shared = own\r\n"
	cfg, fs := ParseINI("sub/alembic.ini", []byte(in))
	if len(fs) != 0 {
		t.Fatalf("unexpected findings %q", brief(fs))
	}
	if got := len(cfg.Sections); got != 3 {
		t.Fatalf("%d sections, want 3", got)
	}
	tests := []struct {
		section, key   string
		value          string
		line, col, end int
	}{
		{"alembic", "script_location", "migrations", 5, 3, 5},
		{"alembic", "SCRIPT_LOCATION", "migrations", 5, 3, 5},
		{"alembic", "hooks", "\nblack\n\nruff", 6, 1, 10}, // configparser keeps the empty first line
		{"alembic", "empty", "", 13, 1, 13},
		{"alembic", "a b", "c = d", 14, 1, 14},
		{"alembic", "shared", "from-default", 3, 1, 3},
		{"Other", "shared", "own", 16, 1, 16},
		{"DEFAULT", "shared", "from-default", 3, 1, 3},
	}
	for _, tt := range tests {
		k, ok := cfg.Get(tt.section, tt.key)
		if !ok {
			t.Errorf("Get(%q, %q) not found", tt.section, tt.key)
			continue
		}
		if k.Value != tt.value || k.Loc.Line != tt.line || k.Loc.Column != tt.col || k.Loc.EndLine != tt.end || k.Loc.File != "sub/alembic.ini" {
			t.Errorf("Get(%q, %q) = %q at %d:%d-%d, want %q at %d:%d-%d", tt.section, tt.key, k.Value, k.Loc.Line, k.Loc.Column, k.Loc.EndLine, tt.value, tt.line, tt.col, tt.end)
		}
	}
	if _, ok := cfg.Get("other", "shared"); !ok {
		// [other] does not exist (names are case-sensitive) but DEFAULT still answers.
		t.Error("Get on a missing section should fall back to [DEFAULT]")
	}
	if cfg.Section("other") != nil {
		t.Error("section names must be case-sensitive")
	}
	if s := cfg.Section("alembic"); s.Loc.Line != 4 || s.Loc.EndLine != 14 {
		t.Errorf("[alembic] at %d-%d, want 4-14", s.Loc.Line, s.Loc.EndLine)
	}
	var nilCfg *Config
	if _, ok := nilCfg.Get("alembic", "x"); ok || nilCfg.ScriptLocations() != nil || nilCfg.Section("alembic") != nil {
		t.Error("a nil Config must behave as empty")
	}
}

func TestExpand(t *testing.T) {
	cfg, _ := ParseINI("alembic.ini", []byte("[DEFAULT]\nroot = /srv\n[alembic]\nbase = %(root)s/app\nloop = %(loop)s\n"))
	vars := map[string]string{"here": "/repo"}
	tests := []struct {
		in, want, kind string
	}{
		{"plain", "plain", ""},
		{"%(here)s/migrations", "/repo/migrations", ""},
		{"%(HERE)s", "/repo", ""},
		{"%(base)s/versions", "/srv/app/versions", ""},
		{"%%(rev)s_%%(slug)s", "%(rev)s_%(slug)s", ""},
		{"100%", "", "syntax"},
		{"%x", "", "syntax"},
		{"%(name", "", "syntax"},
		{"%()s", "", "syntax"},
		{"%(here)r", "", "syntax"},
		{"%(nothere)s", "", "missing"},
		{"%(loop)s", "", "depth"},
	}
	for _, tt := range tests {
		got, err := cfg.Expand("alembic", tt.in, vars)
		kind := ""
		if ie, ok := err.(*InterpolationError); ok {
			kind = ie.Kind
		} else if err != nil {
			t.Errorf("Expand(%q) error %T, want *InterpolationError", tt.in, err)
		}
		if got != tt.want || kind != tt.kind {
			t.Errorf("Expand(%q) = %q, %q; want %q, %q", tt.in, got, kind, tt.want, tt.kind)
		}
	}
}

func TestScriptLocations(t *testing.T) {
	type want struct {
		section string
		kind    PathKind
		dir     string
		cwd     bool
		pkg     string
		res     string
	}
	tests := []struct {
		name, path, ini string
		want            []want
	}{
		{"relative at root", "alembic.ini", "[alembic]\nscript_location = alembic\n",
			[]want{{"alembic", PathRelative, "alembic", true, "", ""}}},
		{"relative in subfolder", "backend/alembic.ini", "[alembic]\nscript_location = app/alembic\n",
			[]want{{"alembic", PathRelative, "backend/app/alembic", true, "", ""}}},
		{"here", "server/alembic.ini", "[alembic]\nscript_location = %(here)s/migrations\n",
			[]want{{"alembic", PathHere, "server/migrations", false, "", ""}}},
		{"here alone", "alembic.ini", "[alembic]\nscript_location = %(here)s\n",
			[]want{{"alembic", PathHere, ".", false, "", ""}}},
		{"here with dotdot", "backend/alembic.ini", "[alembic]\nscript_location = %(here)s/../db\n",
			[]want{{"alembic", PathHere, "db", false, "", ""}}},
		{"relative leaving the repo", "alembic.ini", "[alembic]\nscript_location = ../shared\n",
			[]want{{"alembic", PathRelative, "../shared", true, "", ""}}},
		{"absolute", "alembic.ini", "[alembic]\nscript_location = /app/migrations/\n",
			[]want{{"alembic", PathAbsolute, "/app/migrations", false, "", ""}}},
		{"package, ini inside it", "src/dispatch/alembic.ini", "[core]\nscript_location = dispatch:database/revisions/core\n",
			[]want{{"core", PathPackage, "src/dispatch/database/revisions/core", false, "dispatch", "database/revisions/core"}}},
		{"dotted package", "alembic.ini", "[alembic]\nscript_location = myapp.db:migrations\n",
			[]want{{"alembic", PathPackage, "myapp/db/migrations", false, "myapp.db", "migrations"}}},
		{"reference to a key", "alembic.ini", "[alembic]\nbase = db\nscript_location = %(base)s/migrations\n",
			[]want{{"alembic", PathRelative, "db/migrations", true, "", ""}}},
		{"unresolved reference", "alembic.ini", "[alembic]\nscript_location = %(APP_DIR)s/migrations\n",
			[]want{{"alembic", PathUnresolved, "", false, "", ""}}},
		{"empty value means the working directory", "sub/alembic.ini", "[alembic]\nscript_location =\n",
			[]want{{"alembic", PathRelative, "sub", true, "", ""}}},
		{"several sections, DEFAULT skipped", "alembic.ini", "[DEFAULT]\nx = 1\n[alembic]\nscript_location = a\n[loggers]\nkeys = root\n[second]\nscript_location = b\n",
			[]want{{"alembic", PathRelative, "a", true, "", ""}, {"second", PathRelative, "b", true, "", ""}}},
		{"no script_location", "migrations/alembic.ini", "[alembic]\n[loggers]\nkeys = root\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := ParseINI(tt.path, []byte(tt.ini))
			var got []want
			for _, sl := range cfg.ScriptLocations() {
				got = append(got, want{sl.Section, sl.Kind, sl.Dir, sl.CWDRelative, sl.Package, sl.Resource})
				if sl.Loc.File != tt.path || sl.Loc.Line == 0 {
					t.Errorf("bad Loc %+v", sl.Loc)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ScriptLocations() = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestScriptLocationSettings(t *testing.T) {
	tests := []struct {
		name     string
		ini      string
		versions []string
		sysPath  []string
		template string
		url      int // line of sqlalchemy.url, 0 when unset
		rec      bool
	}{
		{"defaults", "[alembic]\nscript_location = a\n", nil, nil, DefaultFileTemplate, 0, false},
		{"legacy split on spaces and commas", "[alembic]\nscript_location = a\nversion_locations = %(here)s/x, y  z\nprepend_sys_path = .:src lib\n",
			[]string{"x", "y", "z"}, []string{".", "src", "lib"}, DefaultFileTemplate, 0, false},
		{"os separator", "[alembic]\nscript_location = a\nversion_locations = x y:z\nversion_path_separator = os\nprepend_sys_path = .:src\n",
			[]string{"x y", "z"}, []string{".", "src"}, DefaultFileTemplate, 0, false},
		{"path_separator also splits prepend_sys_path", "[alembic]\nscript_location = a\nversion_locations = x;y\nprepend_sys_path = a:b;c\npath_separator = ;\n",
			[]string{"x", "y"}, []string{"a:b", "c"}, DefaultFileTemplate, 0, false},
		{"newline separator", "[alembic]\nscript_location = a\nversion_locations =\n  x\n  y\npath_separator = newline\n",
			[]string{"x", "y"}, nil, DefaultFileTemplate, 0, false},
		{"file template and url", "[alembic]\nscript_location = a\nfile_template = %%(year)d_%%(rev)s\nsqlalchemy.url = sqlite://\nrecursive_version_locations = true\n",
			nil, nil, "%(year)d_%(rev)s", 4, true},
		{"url from DEFAULT", "[DEFAULT]\nsqlalchemy.url = sqlite://\n[alembic]\nscript_location = a\n", nil, nil, DefaultFileTemplate, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := ParseINI("alembic.ini", []byte(tt.ini))
			sls := cfg.ScriptLocations()
			if len(sls) != 1 {
				t.Fatalf("%d script locations, want 1", len(sls))
			}
			sl := sls[0]
			var dirs []string
			for _, v := range sl.VersionLocations {
				dirs = append(dirs, v.Dir)
			}
			if !reflect.DeepEqual(dirs, tt.versions) {
				t.Errorf("VersionLocations = %q, want %q", dirs, tt.versions)
			}
			if !reflect.DeepEqual(sl.PrependSysPath, tt.sysPath) {
				t.Errorf("PrependSysPath = %q, want %q", sl.PrependSysPath, tt.sysPath)
			}
			if sl.FileTemplate != tt.template {
				t.Errorf("FileTemplate = %q, want %q", sl.FileTemplate, tt.template)
			}
			if sl.SQLAlchemyURL.Loc.Line != tt.url {
				t.Errorf("sqlalchemy.url at line %d, want %d", sl.SQLAlchemyURL.Loc.Line, tt.url)
			}
			if sl.Recursive != tt.rec {
				t.Errorf("Recursive = %v, want %v", sl.Recursive, tt.rec)
			}
		})
	}
}

func TestFlaskMigrate(t *testing.T) {
	flaskINI := "[alembic]\n# template used to generate migration files\n[loggers]\nkeys = root,sqlalchemy,alembic,flask_migrate\n[logger_flask_migrate]\nlevel = INFO\n"
	plainINI := "[alembic]\n[loggers]\nkeys = root,sqlalchemy,alembic\n"
	tests := []struct {
		path, ini string
		want      bool
	}{
		{"migrations/alembic.ini", flaskINI, true},
		{"app/alembic.ini", flaskINI, true},
		{"backend/migrations/alembic.ini", plainINI, true},
		{"alembic.ini", plainINI, false},
		{"migrations/alembic.ini", "[alembic]\nscript_location = migrations\n", false},
		{"migrations/alembic.ini", "", false},
	}
	for _, tt := range tests {
		cfg, _ := ParseINI(tt.path, []byte(tt.ini))
		if cfg.FlaskMigrate != tt.want {
			t.Errorf("%s %q: FlaskMigrate = %v, want %v", tt.path, tt.ini, cfg.FlaskMigrate, tt.want)
		}
	}
}

func TestSplitLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\r\nb\rc\n\nd", []string{"a", "b", "c", "", "d"}},
	}
	for _, tt := range tests {
		if got := splitLines([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if strings.Count(strings.Join(splitLines([]byte("x\r\n\r\n")), "|"), "|") != 1 {
		t.Error("CRLF blank line lost")
	}
}
