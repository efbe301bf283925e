package pydeps

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/grupo-gad/deploy-action/internal/report"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Django":             "django",
		"backports.zoneinfo": "backports-zoneinfo",
		"scikit_learn":       "scikit-learn",
		"Foo__Bar-.baz":      "foo-bar-baz",
		"zope.interface":     "zope-interface",
		"PyJWT":              "pyjwt",
		"":                   "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHasExtra(t *testing.T) {
	r := Requirement{Extras: []string{"standard", "email-validator"}}
	for name, want := range map[string]bool{"standard": true, "Standard": true, "email_validator": true, "binary": false} {
		if got := r.HasExtra(name); got != want {
			t.Errorf("HasExtra(%q) = %v, want %v", name, got, want)
		}
	}
}

// wantFinding is an expected finding: severity, position, and a piece of
// its title or message.
type wantFinding struct {
	sev       report.Severity
	line, col int
	text      string
}

func checkFindings(t *testing.T, got []report.Finding, want []wantFinding) {
	t.Helper()
	sort.SliceStable(got, func(i, j int) bool {
		if got[i].Line != got[j].Line {
			return got[i].Line < got[j].Line
		}
		return got[i].Column < got[j].Column
	})
	sort.SliceStable(want, func(i, j int) bool {
		if want[i].line != want[j].line {
			return want[i].line < want[j].line
		}
		return want[i].col < want[j].col
	})
	if len(got) != len(want) {
		for _, f := range got {
			t.Logf("got %s %s %s: %s", f.Severity, f.Location, f.Title, f.Message)
		}
		t.Fatalf("got %d findings, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Severity != w.sev || g.Line != w.line || g.Column != w.col ||
			!strings.Contains(g.Title+" "+g.Message+" "+g.Fix, w.text) {
			t.Errorf("finding %d = %s %d:%d %q: %s; want %s %d:%d containing %q", i, g.Severity, g.Line, g.Column, g.Title, g.Message, w.sev, w.line, w.col, w.text)
		}
		if g.Fix == "" || g.Message == "" || g.Rule == "" {
			t.Errorf("finding %d has an empty rule, message or fix: %+v", i, g)
		}
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func summaries(rs []Requirement) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = summary(r)
	}
	return out
}

func TestParseOK(t *testing.T) {
	tests := []struct {
		file  string
		want  []string
		check func(t *testing.T, f *File)
	}{
		{file: "ok/requirements/basic.txt", want: []string{
			"3:1 django==5.0.4",
			"4:1 flask",
			"5:1 requests[security,socks]>= 2.8.1, == 2.8.* pep440=>=2.8.1,==2.8.* ;python_version < \"2.7\"",
			"6:1 uvicorn[standard]>=0.30,<1",
			"7:1 jinja2>=3.1, <4 pep440=>=3.1,<4",
			"8:1 backports-zoneinfo==0.2.1 ;python_version < \"3.9\"",
			"9:1 pywin32>=306 ;sys_platform == 'win32' and platform_python_implementation != \"PyPy\"",
			"10:1 six==1.16.0 ;python_version >= '2.7' and python_version not in '3.0, 3.1, 3.2, 3.3'",
			"11:1 googletrans==4.0.0-rc1",
			"12:1 protobuf<5.0dev,>=4.21.6",
			"13:1 torch===2.1.0+cpu.custom",
			"14:1 greenlet==3.2.4 ;(platform_machine == 'AMD64' or platform_machine == 'x86_64') and python_version >= \"3.9\"",
			"15:4 indented-name~=1.4.2",
		}, check: func(t *testing.T, f *File) {
			if r := f.Lookup("DJANGO"); len(r) != 1 || r[0].Display != "Django" || r[0].Source != SourceRequirements {
				t.Errorf("Lookup(DJANGO) = %+v", r)
			}
		}},
		{file: "ok/requirements/continuation.txt", want: []string{
			"2:1-4 psycopg2-binary==2.9.9 hash",
			"6:1-7 asyncpg==0.29.0 hash",
			"9:1 sqlalchemy==2.0.30",
			"10:1-11 alembic==1.13.1",
			"12:1-13 gunicorn==22.0.0",
		}},
		{file: "ok/requirements/crlf-bom.txt", want: []string{
			"2:1 fastapi==0.115.0",
			"4:1-5 uvicorn[standard]==0.30.1 hash",
			"6:1 httpx>=0.27",
		}},
		{file: "ok/requirements/utf16be.txt", want: []string{"2:1 anyio==4.4.0", "4:1 sniffio==1.3.1"}},
		{file: "ok/requirements/latin1.txt", want: []string{"3:1 flask==3.0.0"}},
		{file: "ok/requirements/urls.txt", want: []string{
			"2:1 mypkg @https://example.com/packages/mypkg-1.0.tar.gz",
			"3:1 otherpkg[extra] ;python_version >= \"3.10\" @git+https://github.com/org/otherpkg.git@v1.2",
			"4:1 egged @git+https://github.com/org/egged.git@main#egg=egged",
			"5:1 torch==1.8.1+cpu @https://download.pytorch.org/whl/cpu/torch-1.8.1%2Bcpu-cp38-cp38-linux_x86_64.whl",
			"6:1  @https://example.com/archive/main.zip",
			"7:1  @./local/pkg",
			"8:1 [dev,test] @./local/extras",
			"9:1  @../sibling",
			"10:1 fastapi==0.115.0 @dist/wheelhouse/fastapi-0.115.0-py3-none-any.whl",
			"11:1 pinned @file:///home/user/pinned-2.0.tar.gz",
			"12:1 editable-pkg @git+https://github.com/org/editable.git@abc123#egg=editable_pkg -e",
			"13:1  @. -e",
			"14:1 [extra] @./plugins/first -e",
			"15:1 filepkg @file:///opt/src/filepkg#egg=filepkg -e",
			"16:1 private @git+https://${GITHUB_TOKEN}@github.com/org/private.git#egg=private",
			"17:1 internal",
		}},
		{file: "ok/requirements/options.txt", want: []string{
			"21:1 psycopg2==2.8.5",
			"22:1 cryptography==42.0.5",
		}, check: func(t *testing.T, f *File) {
			var incs []string
			for _, i := range f.Includes {
				incs = append(incs, i.Path+map[bool]string{true: " -c", false: ""}[i.Constraint]+" "+i.Loc.String())
			}
			wantIncs := []string{
				"base.txt ok/requirements/options.txt:16:4",
				"more/extra.txt ok/requirements/options.txt:17:15",
				"constraints.txt -c ok/requirements/options.txt:18:4",
				"other-constraints.txt -c ok/requirements/options.txt:19:14",
				"nospace.txt ok/requirements/options.txt:20:3",
			}
			if !reflect.DeepEqual(incs, wantIncs) {
				t.Errorf("Includes = %q, want %q", incs, wantIncs)
			}
			wantIdx := []string{"https://pypi.org/simple", "https://download.pytorch.org/whl/cpu", "https://${PIP_USER}:${PIP_TOKEN}@pypi.example.com/simple"}
			if !reflect.DeepEqual(f.IndexURLs, wantIdx) {
				t.Errorf("IndexURLs = %q, want %q", f.IndexURLs, wantIdx)
			}
			if want := []string{"./wheels", "https://example.com/wheels/"}; !reflect.DeepEqual(f.FindLinks, want) {
				t.Errorf("FindLinks = %q, want %q", f.FindLinks, want)
			}
			// --no-binary on a requirement line still changes pip's format control.
			if want := []string{"psycopg2", "psycopg2"}; !reflect.DeepEqual(f.NoBinary, want) {
				t.Errorf("NoBinary = %q, want %q", f.NoBinary, want)
			}
			if want := []string{":all:", "numpy", "pillow"}; !reflect.DeepEqual(f.OnlyBinary, want) {
				t.Errorf("OnlyBinary = %q, want %q", f.OnlyBinary, want)
			}
			if len(f.Options) != 21 || f.Options[0].Name != "--index-url" || f.Options[0].Loc.Line != 2 {
				t.Errorf("Options = %+v", f.Options)
			}
		}},
		{file: "ok/pyproject/pep621.toml", want: []string{
			"11:6 fastapi[standard]>=0.115,<1.0",
			"12:6 uvicorn[standard]>= 0.30 pep440=>=0.30",
			"13:6 sqlalchemy[asyncio]~=2.0.30",
			"14:6 asyncpg>=0.29.0",
			"15:6 alembic>=1.13, <2 pep440=>=1.13,<2",
			"16:6 psycopg2-binary>=2.9 ;sys_platform != 'win32'",
			"17:6 redis[hiredis]>=5.0 ;python_version >= '3.11'",
			"18:6 internal-lib @git+https://github.com/grupo-gad/internal-lib.git@v1.0",
			"19:6 python-jose[cryptography]",
			"24:6 pytest>=8 opt g=dev-tools",
			"25:6 pytest-asyncio opt g=dev-tools",
			"28:5 httpx>=0.27 opt g=with-dot",
			"32:22 ruff>=0.5 g=dev",
		}, check: func(t *testing.T, f *File) {
			rp := f.RequiresPython
			if rp.Text != ">=3.11,<3.13" || rp.Loc.Line != 8 {
				t.Errorf("RequiresPython = %+v", rp)
			}
			for v, want := range map[string]bool{"3.12": true, "3.12.4": true, "3.13": false, "3.10": false} {
				if got, err := rp.Allows(v); err != nil || got != want {
					t.Errorf("RequiresPython.Allows(%s) = %v, %v; want %v", v, got, err, want)
				}
			}
			if !reflect.DeepEqual(f.IndexURLs, []string{"https://download.pytorch.org/whl/cpu"}) {
				t.Errorf("IndexURLs = %q", f.IndexURLs)
			}
		}},
		{file: "ok/pyproject/groups.toml", want: []string{
			"7:10 pytest>=8 g=test",
			"7:23 coverage[toml] g=test",
			"8:10 ruff g=lint",
			"7:10 pytest>=8 g=dev",
			"7:23 coverage[toml] g=dev",
			"8:10 ruff g=dev",
			"12:6 ipython g=dev",
			"16:10 mkdocs>=1.6 g=docs",
			"16:25 theme @file:///${PROJECT_ROOT}/plugins/theme#egg=theme -e g=docs",
		}, check: func(t *testing.T, f *File) {
			if len(f.Includes) != 2 || f.Includes[0].Path != "requirements.txt" || f.Includes[1].Path != "requirements/extra.in" || f.Includes[0].Loc.Line != 19 {
				t.Errorf("Includes = %+v", f.Includes)
			}
		}},
		{file: "ok/pyproject/poetry.toml", want: []string{
			"8:1 fastapi^0.111.0 pep440=>=0.111.0,<0.112",
			"9:1 django~4.2 pep440=>=4.2,<4.3",
			"10:1 asyncpg* pep440=",
			"11:1 pydantic[email]^2.7.4 pep440=>=2.7.4,<3",
			"12:1 psycopg2-binary^2.9.1 pep440=>=2.9.1,<3 opt",
			"13:1 gunicorn>=22.0, <23 pep440=>=22.0,<23",
			"14:1 uvloop^0.19 pep440=>=0.19,<0.20 ;sys_platform != 'win32'",
			"15:1 shared @../shared -e",
			"16:1 mylib @git+https://github.com/org/mylib.git@main",
			"18:5 numpy<1.25",
			"19:5 numpy^1.26 pep440=>=1.26,<2",
			"21:1 legacy1.2.* pep440===1.2.*",
			"22:1 exact2.0.0 pep440===2.0.0",
			"23:1 either^1.0 || ^2.0 pep440=>=1.0,<2||>=2.0,<3",
			"29:1 black^24.4 pep440=>=24.4,<25 g=dev",
			"26:1 pytest^8.0.0 pep440=>=8.0.0,<9 g=dev",
		}, check: func(t *testing.T, f *File) {
			if rp := f.RequiresPython; rp.Text != "^3.11" || rp.Spec != ">=3.11,<4" || rp.Loc.Line != 7 {
				t.Errorf("RequiresPython = %+v", rp)
			}
			either := f.Lookup("either")[0]
			for v, want := range map[string]bool{"1.5": true, "2.3": true, "3.0": false, "0.9": false} {
				if got, err := either.Allows(v); err != nil || got != want {
					t.Errorf("either.Allows(%s) = %v, %v; want %v", v, got, err, want)
				}
			}
		}},
		{file: "ok/pipfile/Pipfile", want: []string{
			"7:1 django==5.0.4",
			"8:1 psycopg2* pep440=",
			"9:1 requests[socks]>=2.31,<3",
			"10:1 pywin32* pep440= ;sys_platform == 'win32'",
			"11:1 uvloop* pep440= ;sys_platform != 'win32'",
			"12:1 mylib @git+https://github.com/org/mylib.git@v1.0 -e",
			"13:1 localpkg @./localpkg -e",
			"16:1 pytest~=8.2 g=dev",
			"19:1 mkdocs* pep440= g=docs",
		}, check: func(t *testing.T, f *File) {
			if rp := f.RequiresPython; rp.Text != "3.11" || rp.Spec != "==3.11.*" || rp.Loc.Line != 22 {
				t.Errorf("RequiresPython = %+v", rp)
			}
			if ok, _ := f.RequiresPython.Allows("3.11.9"); !ok {
				t.Error("python_version 3.11 should allow 3.11.9")
			}
			if ok, _ := f.RequiresPython.Allows("3.12"); ok {
				t.Error("python_version 3.11 should not allow 3.12")
			}
			if !reflect.DeepEqual(f.IndexURLs, []string{"https://pypi.org/simple"}) {
				t.Errorf("IndexURLs = %q", f.IndexURLs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, fs := Parse(tt.file, readTestdata(t, tt.file))
			for _, x := range fs {
				t.Errorf("unexpected finding %s %s %s: %s", x.Severity, x.Location, x.Title, x.Message)
			}
			if f.Path != tt.file {
				t.Errorf("Path = %q", f.Path)
			}
			if got := summaries(f.Requirements); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("requirements:\n got %q\nwant %q", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func TestParseErr(t *testing.T) {
	const E, W = report.Error, report.Warning
	tests := []struct {
		file string
		want []wantFinding
		reqs int // requirements still recovered
	}{
		{"err/requirements/specifier.txt", []wantFinding{
			{E, 2, 8, `unexpected ",<3" after the version specifier`},
			{E, 3, 4, `"=" is not a valid operator`},
			{E, 4, 8, `Separate version clauses with a comma: baz>=1,<2`},
			{E, 5, 4, `"~" is not a valid operator`},
			{E, 6, 5, `"^" is not a valid operator`},
			{E, 7, 6, `.* suffix can only be used with == or !=`},
			{E, 8, 7, `~=1 needs at least two release numbers`},
			{E, 9, 7, `local version label`},
			{E, 10, 6, `"1.0foo" is not a valid PEP 440 version`},
			{E, 11, 5, `"=>" is not a valid operator`},
			{E, 12, 6, `the operator == has no version`},
		}, 11},
		{"err/requirements/names.txt", []wantFinding{
			{E, 2, 1, "expected a package name"},
			{E, 3, 10, "Put one requirement per line"},
			{E, 4, 10, "expected an extra name"},
			{E, 5, 10, "expected a comma between extra names"},
			{E, 6, 7, "is not closed"},
			{E, 7, 9, `cannot end with "-"`},
		}, 6},
		{"err/requirements/markers.txt", []wantFinding{
			{E, 2, 22, `Quote the value: "3.11"`},
			{E, 3, 20, "expected a comparison operator"},
			{E, 4, 5, `found "os"`},
			{E, 5, 5, "( in the environment marker is not closed"},
			{E, 6, 29, "Join conditions with and / or"},
			{E, 7, 21, "quoted string in the environment marker is not closed"},
		}, 6},
		{"err/requirements/options.txt", []wantFinding{
			{W, 2, 1, "removed in pip 23.1"},
			{W, 3, 1, "--hash but no requirement"},
			{E, 4, 1, "Allowed hash algorithms"},
			{W, 4, 1, "--hash but no requirement"},
			{E, 5, 18, "must be a hash name followed by a value"},
			{E, 6, 1, "-r option requires 1 argument"},
			{E, 7, 1, "--pre option does not take a value"},
			{E, 8, 16, "no closing quotation"},
			{W, 9, 14, "pip ignores --index-url on a line that has a requirement"},
			{W, 10, 13, `pip ignores "extra-word"`},
			{E, 11, 1, "ambiguous option: --e (--editable, --extra-index-url?)"},
		}, 2},
		{"err/requirements/editable.txt", []wantFinding{
			{E, 2, 4, "please specify one with #egg=your_package_name"},
			{E, 3, 4, "editable requirement must be a local project path or a VCS URL"},
			{W, 4, 45, "pip ignores --hash on an -e line"},
		}, 3},
		{"err/requirements/wheel.txt", []wantFinding{
			{E, 2, 1, "not-a-wheel.whl is not a valid wheel filename"},
			{W, 3, 7, `"relative/path.tar.gz" after @ has no scheme`},
		}, 2},
		{"err/requirements/not-utf8.txt", []wantFinding{{E, 2, 6, "Line 2 has bytes that are not UTF-8"}}, 2},
		{"err/requirements/utf16-nobom.txt", []wantFinding{{E, 1, 1, "UTF-16 without a byte-order mark"}}, 2},
		{"err/pyproject/toml-syntax.toml", []wantFinding{{E, 6, 5, "expected ',' or ']' after array value"}}, 0},
		{"err/pyproject/duplicate-key.toml", []wantFinding{{E, 4, 1, "key dependencies is already defined"}}, 1},
		{"err/pyproject/bom.toml", []wantFinding{{E, 1, 1, "byte-order mark"}}, 1},
		{"err/pyproject/deps.toml", []wantFinding{
			{E, 3, 20, `"^" is not a valid operator`},
			{E, 5, 13, `"fastapi=0.115" is not a valid PEP 508 dependency`},
			{E, 6, 21, "uvicorn>=0.30,<1"},
			{E, 7, 31, `found "3.11"`},
			{E, 8, 14, "extras is not closed"},
			{E, 10, 5, "must be a string, not a number"},
			{E, 14, 7, "optional-dependencies].dev must be an array of strings"},
			{E, 18, 23, "a → b → a"},
			{E, 19, 23, `include-group = "missing" names a group`},
			{E, 20, 6, `must be a dependency string or {include-group = "name"}`},
		}, 6},
		{"err/pyproject/poetry.toml", []wantFinding{
			{E, 2, 10, "Could not parse version constraint: 3.11+"},
			{E, 3, 11, "Could not parse version constraint: ^^0.111"},
			{E, 4, 22, "Could not parse version constraint: =>4.2"},
			{E, 5, 51, "expected a comparison operator"},
			{E, 6, 14, `"bad name" in [tool.poetry.dependencies] is not a valid package name`},
			{E, 7, 9, "must be a version constraint string or a table"},
		}, 4},
		{"err/pipfile/Pipfile", []wantFinding{
			{E, 2, 11, `Add an operator: "==5.0.4"`},
			{E, 3, 10, "~=3 needs at least two release numbers"},
			{E, 4, 53, `found "linux"`},
			{E, 6, 10, "must be a version string or a table"},
			{E, 9, 18, "pipenv expects a plain version number"},
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, fs := Parse(tt.file, readTestdata(t, tt.file))
			for _, x := range fs {
				if x.File != tt.file {
					t.Errorf("finding file = %q, want %q", x.File, tt.file)
				}
			}
			checkFindings(t, fs, tt.want)
			if len(f.Requirements) != tt.reqs {
				t.Errorf("recovered %d requirements, want %d: %q", len(f.Requirements), tt.reqs, summaries(f.Requirements))
			}
		})
	}
}

// TestFindingsRedactCredentials checks that a password in a URL never
// reaches a finding.
func TestFindingsRedactCredentials(t *testing.T) {
	data := []byte("-e https://user:s3cr3t-t0ken@example.com/pkg.tar.gz\nfoo @ https://user:s3cr3t-t0ken@example.com/x.zip extra\n--trusted-host \"https://user:s3cr3t-t0ken@h\n")
	_, fs := ParseRequirements("requirements.txt", data)
	if len(fs) != 3 {
		t.Fatalf("got %d findings, want 3", len(fs))
	}
	for _, f := range fs {
		if strings.Contains(f.Message+f.Fix+f.Title, "s3cr3t") {
			t.Errorf("finding leaks a password: %s", f.Message)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pass@pypi.example.com/simple":     "https://user:****@pypi.example.com/simple",
		"git+https://ghp_token@github.com/o/r.git":      "git+https://****@github.com/o/r.git",
		"git+ssh://git@github.com/o/r.git":              "git+ssh://git@github.com/o/r.git",
		"https://${USER}:${TOKEN}@h/simple":             "https://${USER}:****@h/simple",
		"https://${TOKEN}@github.com/x":                 "https://${TOKEN}@github.com/x",
		"-i https://pypi.org/simple and http://a:b@c/d": "-i https://pypi.org/simple and http://a:****@c/d",
		"no url here": "no url here",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPoetryConstraint(t *testing.T) {
	tests := []struct{ in, want, problem string }{
		{"^1.2.3", ">=1.2.3,<2", ""},
		{"^0.2.3", ">=0.2.3,<0.3", ""},
		{"^0.0.3", ">=0.0.3,<0.0.4", ""},
		{"^0.0", ">=0.0,<0.1", ""},
		{"^0", ">=0,<1", ""},
		{"~1.2.3", ">=1.2.3,<1.3", ""},
		{"~1", ">=1,<2", ""},
		{"~=1.2", "~=1.2", ""},
		{"*", "", ""},
		{"1.2.*", "==1.2.*", ""},
		{"1.x", "==1.*", ""},
		{"1.2.3", "==1.2.3", ""},
		{"=1.2", "==1.2", ""},
		{"<>1.2", "!=1.2", ""},
		{">= 1.2, < 2.0", ">=1.2,<2.0", ""},
		{">=1.2 <2.0", ">=1.2,<2.0", ""},
		{"^1.0 || ^3.0", ">=1.0,<2||>=3.0,<4", ""},
		{"^2.0.0b1", ">=2.0.0b1,<3", ""},
		{"^^1", "", "not a valid Poetry version constraint"},
		{"=>1", "", "not a valid Poetry version constraint"},
		{"1.2 ||", "", "empty alternative"},
		{"~=1", "", "two release numbers"},
	}
	for _, tt := range tests {
		got, problem := poetryConstraint(tt.in)
		if got != tt.want || !strings.Contains(problem, tt.problem) || (tt.problem == "") != (problem == "") {
			t.Errorf("poetryConstraint(%q) = %q, %q; want %q, %q", tt.in, got, problem, tt.want, tt.problem)
		}
	}
}

func TestRequirementAllows(t *testing.T) {
	tests := []struct {
		spec, version string
		want          bool
	}{
		{"", "1.0", true},
		{">=2.9,<3", "2.9.9", true},
		{">=2.9,<3", "3.0", false},
		{"~=2.0.30", "2.0.31", true},
		{"==1.2.*", "1.2.7", true},
		{"!=1.2.*", "1.2.7", false},
		{">=1.0", "2.0rc1", true},
		{"<2.0", "2.0rc1", false},
	}
	for _, tt := range tests {
		got, err := Requirement{PEP440: tt.spec}.Allows(tt.version)
		if err != nil || got != tt.want {
			t.Errorf("Allows(%q, %q) = %v, %v; want %v", tt.spec, tt.version, got, err, tt.want)
		}
	}
	if _, err := (Requirement{PEP440: ">=1"}).Allows("not a version"); err == nil {
		t.Error("Allows(not a version) should fail")
	}
}

func TestLoadTree(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		files, fs := LoadTree(os.DirFS("testdata/ok/tree"), "requirements.txt")
		checkFindings(t, fs, []wantFinding{{report.Notice, 4, 4, "it is a URL"}})
		var got []string
		for _, f := range files {
			got = append(got, f.Path+" "+f.Kind+" "+strings.Join(summaries(f.Requirements), "; "))
		}
		want := []string{
			"requirements.txt requirements 5:1 gunicorn==22.0.0",
			"base.txt requirements 1:1 fastapi==0.115.0; 2:1 sqlalchemy[asyncio]==2.0.30",
			"constraints.txt constraints 2:1 anyio<5 const",
			"sub/dev.txt requirements 3:1 pytest==8.2.0",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("files:\n got %q\nwant %q", got, want)
		}
		for _, f := range fs {
			if f.File != "sub/dev.txt" {
				t.Errorf("finding in %s, want sub/dev.txt", f.File)
			}
		}
	})
	t.Run("err", func(t *testing.T) {
		files, fs := LoadTree(os.DirFS("testdata/err/tree"), "requirements.txt")
		checkFindings(t, fs, []wantFinding{
			{report.Error, 1, 4, "No such file or directory: 'requirements/production.txt'"},
			{report.Error, 2, 4, "a.txt → b.txt → a.txt"},
			{report.Notice, 3, 4, "outside the validated directory"},
		})
		want := map[report.Location]bool{
			report.At("requirements.txt", 1, 4): true,
			report.At("b.txt", 2, 4):            true,
			report.At("requirements.txt", 3, 4): true,
		}
		for _, f := range fs {
			if !want[f.Location] {
				t.Errorf("unexpected location %s", f.Location)
			}
		}
		if len(files) != 3 {
			t.Errorf("loaded %d files, want 3", len(files))
		}
	})
	t.Run("missing root", func(t *testing.T) {
		files, fs := LoadTree(fstest.MapFS{}, "requirements.txt")
		if len(files) != 0 || len(fs) != 1 || fs[0].Severity != report.Error || fs[0].File != "requirements.txt" {
			t.Errorf("LoadTree(missing) = %v, %+v", files, fs)
		}
	})
	t.Run("pyproject dynamic", func(t *testing.T) {
		fsys := fstest.MapFS{
			"pyproject.toml":   {Data: []byte("[project]\nname = \"x\"\ndynamic = [\"dependencies\"]\n[tool.setuptools.dynamic]\ndependencies = {file = \"requirements.txt\"}\n")},
			"requirements.txt": {Data: []byte("fastapi==0.115.0\n")},
		}
		files, fs := LoadTree(fsys, "pyproject.toml")
		if len(fs) != 0 || len(files) != 2 || files[0].Kind != KindPyproject || files[1].Requirements[0].Name != "fastapi" {
			t.Errorf("LoadTree(pyproject) = %+v, %+v", files, fs)
		}
	})
}

func TestMaxFindings(t *testing.T) {
	data := []byte(strings.Repeat("bad=1\n", MaxFindings+10))
	f, fs := ParseRequirements("requirements.txt", data)
	if len(fs) != MaxFindings+1 {
		t.Fatalf("got %d findings, want %d", len(fs), MaxFindings+1)
	}
	last := fs[MaxFindings]
	if last.Severity != report.Error || last.Line != 0 || !strings.Contains(last.Message, "10 more problems") || !strings.Contains(last.Message, "line 51") {
		t.Errorf("summary finding = %+v", last)
	}
	if len(f.Requirements) != MaxFindings+10 {
		t.Errorf("recovered %d requirements", len(f.Requirements))
	}
}
