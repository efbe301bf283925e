package dockerfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// corpusFiles returns the corpus Dockerfiles by base name.
func corpusFiles(t testing.TB) map[string][]byte {
	t.Helper()
	dir := testutil.CorpusDir(t, "dockerfiles")
	paths, err := filepath.Glob(filepath.Join(dir, "*Dockerfile*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = data
	}
	return out
}

// summary describes a parsed file for eyeballing.
func summary(f *File) string {
	var b strings.Builder
	for _, s := range f.Stages {
		py, loc, ok := s.PythonVersion()
		pyText := "-"
		if ok {
			pyText = fmt.Sprintf("%s@%d", py, loc.Line)
		}
		fmt.Fprintf(&b, "  stage %d %q FROM %s (resolved %s, image %q, from stage %v) python=%s lines %d-%d\n",
			s.Index, s.Name, s.Base, s.BaseResolved, s.Image.String(), s.FromStage != nil, pyText, s.Loc.Line, s.Loc.EndLine)
		for _, p := range s.Packages {
			fmt.Fprintf(&b, "    + %s %s%s @%d:%d\n", p.Manager, p.Name, verText(p.Version), p.Loc.Line, p.Loc.Column)
		}
		for _, p := range s.RemovedPackages {
			fmt.Fprintf(&b, "    - %s %s @%d:%d\n", p.Manager, p.Name, p.Loc.Line, p.Loc.Column)
		}
		for _, pi := range s.PipInstalls {
			fmt.Fprintf(&b, "    pip %s %s @%d-%d pkgs=%q req=%q edit=%q project=%v prefix=%q nobin=%q\n",
				pi.Tool, pi.Subcommand, pi.Loc.Line, pi.Loc.EndLine, pi.Packages, pi.RequirementFiles, pi.Editable, pi.InstallsProject, pi.Prefix, pi.NoBinary)
		}
		for _, c := range s.Copies {
			if c.From != "" {
				fmt.Fprintf(&b, "    %s --from=%s %q -> %s @%d\n", c.Instruction, c.From, c.Sources, c.Dest, c.Loc.Line)
			}
		}
		if c := s.EffectiveCmd(); c != nil {
			fmt.Fprintf(&b, "    CMD exec=%v %q @%d\n", c.Exec, c.Argv, c.Loc.Line)
		}
		if c := s.EffectiveEntrypoint(); c != nil {
			fmt.Fprintf(&b, "    ENTRYPOINT exec=%v %q @%d\n", c.Exec, c.Argv, c.Loc.Line)
		}
		for _, p := range s.Expose {
			fmt.Fprintf(&b, "    EXPOSE %d/%s (%s) @%d\n", p.Port, p.Proto, p.Raw, p.Loc.Line)
		}
		if w := s.EffectiveWorkdir(); w != "" {
			fmt.Fprintf(&b, "    WORKDIR %s\n", w)
		}
		for _, r := range s.Runs {
			if r.ShellError != nil {
				fmt.Fprintf(&b, "    RUN @%d shell error: %v\n", r.Loc.Line, r.ShellError)
			}
		}
	}
	return b.String()
}

func verText(v string) string {
	if v == "" {
		return ""
	}
	return "=" + v
}

func TestCorpus(t *testing.T) {
	files := corpusFiles(t)
	if len(files) != 57 {
		t.Errorf("found %d corpus Dockerfiles, want 57", len(files))
	}
	stages, pkgs, pips := 0, 0, 0
	for name, data := range files {
		f, findings := Parse(name, data)
		for _, fd := range findings {
			if fd.Severity == report.Error {
				t.Errorf("%s: error finding %s: %s", name, fd.Location, fd.Message)
			}
		}
		if len(f.Stages) == 0 {
			t.Errorf("%s: no stage", name)
		}
		for _, s := range f.Stages {
			stages++
			pkgs += len(s.Packages)
			pips += len(s.PipInstalls)
			for _, r := range s.Runs {
				if r.ShellError != nil {
					t.Errorf("%s:%d: RUN script does not parse: %v", name, r.Loc.Line, r.ShellError)
				}
			}
		}
		t.Logf("%s\n%s", name, summary(f))
	}
	t.Logf("%d files, %d stages, %d system packages, %d Python installs", len(files), stages, pkgs, pips)
}

// parseCorpus parses one corpus Dockerfile, failing on findings.
func parseCorpus(t *testing.T, files map[string][]byte, name string) *File {
	t.Helper()
	data, ok := files[name]
	if !ok {
		t.Fatalf("corpus file %s missing", name)
	}
	f, findings := Parse(name, data)
	if len(findings) > 0 {
		t.Fatalf("%s: findings %+v", name, findings)
	}
	return f
}

func TestCorpusFacts(t *testing.T) {
	files := corpusFiles(t)

	t.Run("ace-platform", func(t *testing.T) {
		f := parseCorpus(t, files, "DannyMac180__ace-platform__Dockerfile")
		// The file has 8 FROMs: base, builder, production and five targets.
		if len(f.Stages) != 8 {
			t.Fatalf("%d stages, want 8", len(f.Stages))
		}
		base := f.Stage("base")
		if got := pkgNames(base.Packages); !reflect.DeepEqual(got, []string{"libpq-dev@18:5", "gcc@20:5", "curl@22:5"}) {
			t.Errorf("base packages = %q (comment lines inside the RUN must not count)", got)
		}
		prod := f.Stage("production")
		if prod.FromStage != base || !prod.Image.IsZero() {
			t.Errorf("production FROM = %v %+v", prod.FromStage, prod.Image)
		}
		c := prod.Copies[0]
		if c.From != "builder" || f.Stage(c.From) != f.Stages[1] || c.Sources[0] != "/usr/local/lib/python3.11/site-packages" ||
			c.Dest != "/usr/local/lib/python3.11/site-packages" || c.Loc.Line != 48 {
			t.Errorf("copy = %+v", c)
		}
		if v, loc, ok := f.Target("migrate").PythonVersion(); !ok || v != "3.11" || loc.Line != 7 {
			t.Errorf("migrate python = %q %v", v, loc)
		}
		if cmd := f.Target("migrate").EffectiveCmd(); cmd == nil || !reflect.DeepEqual(cmd.Argv, []string{"alembic", "upgrade", "head"}) || cmd.Loc.Line != 126 {
			t.Errorf("migrate cmd = %+v", cmd)
		}
		if got := pkgNames(f.Final().EffectivePackages()); len(got) != 3 {
			t.Errorf("final effective packages = %q", got)
		}
		if pi := prod.PipInstalls; len(pi) != 1 || !pi[0].InstallsProject || !reflect.DeepEqual(pi[0].Editable, []string{"."}) || pi[0].Loc.Line != 57 {
			t.Errorf("production pip = %+v", pi)
		}
		if w := f.Target("api").EffectiveWorkdir(); w != "/app" {
			t.Errorf("workdir = %q", w)
		}
		if env, ok := f.Target("api").LookupEnv("API_PORT"); !ok || env.Value != "8000" || env.Loc.Line != 69 {
			t.Errorf("API_PORT = %+v", env)
		}
	})

	t.Run("wagtail build deps", func(t *testing.T) {
		s := parseCorpus(t, files, "wagtail__bakerydemo__Dockerfile").Final()
		if !s.HasPackage("libpq5") || s.HasPackage("libpq-dev") {
			t.Errorf("libpq5 %v, libpq-dev %v; want the runtime library kept and the headers purged", s.HasPackage("libpq5"), s.HasPackage("libpq-dev"))
		}
		// $BUILD_DEPS names the packages assigned in the same RUN.
		for _, p := range s.Packages {
			if p.Name == "libpq-dev" && p.Loc.Line != 38 {
				t.Errorf("libpq-dev at %v, want line 38 (where it is listed)", p.Loc)
			}
		}
	})

	t.Run("apk virtual", func(t *testing.T) {
		s := parseCorpus(t, files, "Alschn__Beerdegu__Dockerfile").Stage("compile-image")
		if got := pkgNames(s.RemovedPackages); !reflect.DeepEqual(got, []string{"gcc@28:21", "musl-dev@28:21", "postgresql-dev@28:21"}) {
			t.Errorf("removed = %q", got)
		}
		if len(s.EffectivePackages()) != 0 {
			t.Errorf("effective = %q", pkgNames(s.EffectivePackages()))
		}
	})

	t.Run("healthchecks wheels", func(t *testing.T) {
		f := parseCorpus(t, files, "healthchecks__healthchecks__Dockerfile")
		pi := f.Stages[0].PipInstalls[0]
		if pi.Subcommand != "wheel" || pi.Prefix != "/wheels" || !reflect.DeepEqual(pi.Packages, []string{"apprise", "uwsgi", "mysqlclient", "minio==7.2.20", "psycopg[c]"}) || pi.Loc.Line != 15 {
			t.Errorf("wheel = %+v", pi)
		}
		if !f.Final().HasPackage("libpq5") || f.Final().HasPackage("libpq-dev") {
			t.Errorf("final stage packages = %q", pkgNames(f.Final().EffectivePackages()))
		}
	})

	t.Run("prefix install", func(t *testing.T) {
		f := parseCorpus(t, files, "Tetsuozxcmid__irminsul-backend__Dockerfile")
		pi := f.Stages[0].PipInstalls[0]
		c := f.Final().Copies[0]
		if pi.Prefix != "/install" || c.From != "builder" || c.Sources[0] != "/install" || c.Dest != "/usr/local" {
			t.Errorf("pip %+v copy %+v", pi, c)
		}
		if got := pkgNames(f.Stages[0].Packages); !reflect.DeepEqual(got, []string{"gcc@6:5", "libpq-dev@6:9"}) {
			t.Errorf("packages = %q", got)
		}
	})

	t.Run("chained global args", func(t *testing.T) {
		s := parseCorpus(t, files, "tomwojcik__django-fly.io-example-project__Dockerfile").Final()
		if s.BaseResolved != "python:3.9-buster" || s.Image.Tag != "3.9-buster" {
			t.Errorf("base = %q %+v", s.BaseResolved, s.Image)
		}
	})

	t.Run("uv image", func(t *testing.T) {
		s := parseCorpus(t, files, "JoshuaOliphant__Link-Content-Scraper__Dockerfile").Final()
		if v, _, ok := s.PythonVersion(); !ok || v != "3.12" {
			t.Errorf("python = %q", v)
		}
	})

	t.Run("shell-form CMD with $PORT", func(t *testing.T) {
		s := parseCorpus(t, files, "2004-maste__globe-news-backend__Dockerfile").Final()
		c := s.EffectiveCmd()
		if c == nil || c.Exec || !reflect.DeepEqual(c.Argv, []string{"uvicorn", "main:app", "--host", "0.0.0.0", "--port", "$PORT"}) || c.Loc.Line != 12 {
			t.Errorf("cmd = %+v", c)
		}
	})

	t.Run("user install", func(t *testing.T) {
		f := parseCorpus(t, files, "scholarX-Assesment__student-service__Dockerfile")
		if pi := f.Stages[0].PipInstalls[0]; pi.PrefixFlag != "--user" {
			t.Errorf("pip = %+v", pi)
		}
	})

	t.Run("platform flag", func(t *testing.T) {
		f := parseCorpus(t, files, "polarsource__polar__Dockerfile")
		s := f.Stage("production")
		if s.Platform != "$BUILDPLATFORM" || s.Image.Name() != "python" || s.BaseLoc.Line != 84 {
			t.Errorf("production = %q %q %v", s.Platform, s.Image.Name(), s.BaseLoc)
		}
	})
}

// TestJoinMatchesBuildKit checks that the positions kept for each
// instruction come from the same text BuildKit parsed.
func TestJoinMatchesBuildKit(t *testing.T) {
	files := corpusFiles(t)
	paths, _ := filepath.Glob("testdata/*.Dockerfile")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = data
	}
	n := 0
	for name, data := range files {
		res, err := parser.Parse(bytes.NewReader(data))
		if err != nil {
			continue
		}
		src := newSource(bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF}), res.EscapeToken)
		for _, node := range res.AST.Children {
			m, _ := src.join(node.StartLine)
			if m.text != node.Original {
				t.Errorf("%s:%d: joined %q, BuildKit %q", name, node.StartLine, m.text, node.Original)
			}
			n++
		}
	}
	t.Logf("%d instructions checked", n)
}
