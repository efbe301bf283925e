package pydeps

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// seed adds the corpus files and testdata files accepted by keep to f.
func seed(f *testing.F, keep func(name string) bool) {
	files := corpusDepFiles(f)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if keep(n) {
			f.Add(files[n])
		}
	}
	_ = filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && keep(d.Name()) {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
		return nil
	})
}

// checkInvariants checks what must hold for any input: locations inside
// the file, findings that say something, and Allows never panicking.
func checkInvariants(t *testing.T, path string, data []byte, f *File, fs []report.Finding) {
	if f == nil {
		t.Fatal("nil File")
	}
	maxLine := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
	for _, x := range fs {
		if x.File != path || x.Line < 0 || x.Line > maxLine || x.Column < 0 {
			t.Errorf("finding at %s (max line %d)", x.Location, maxLine)
		}
		if x.Rule == "" || x.Title == "" || x.Message == "" || x.Fix == "" {
			t.Errorf("incomplete finding %+v", x)
		}
		switch x.Severity {
		case report.Error, report.Warning, report.Notice:
		default:
			t.Errorf("bad severity %q", x.Severity)
		}
	}
	for _, r := range f.Requirements {
		if r.Loc.File != path || r.Loc.Line < 1 || r.Loc.Line > maxLine || r.Loc.EndLine < r.Loc.Line || r.Loc.EndLine > maxLine {
			t.Errorf("requirement %q at %+v (max line %d)", r.Raw, r.Loc, maxLine)
		}
		_, _ = r.Allows("1.0")
		_ = r.HasExtra("x")
	}
	_, _ = f.RequiresPython.Allows("3.12")
}

func FuzzParseRequirements(f *testing.F) {
	seed(f, func(n string) bool { return strings.HasSuffix(n, ".txt") })
	f.Add([]byte("-e git+https://x/y.git#egg=y\nfoo[bar]>=1,<2 ; python_version < \"3.12\" --hash=sha256:00\n"))
	f.Add([]byte("\xff\xfea\x00=\x00\r\x00\n\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, fs := ParseRequirements("requirements.txt", data)
		checkInvariants(t, "requirements.txt", data, file, fs)
	})
}

func FuzzParsePyproject(f *testing.F) {
	seed(f, func(n string) bool { return strings.HasSuffix(n, ".toml") })
	f.Add([]byte("[dependency-groups]\na = [{include-group = \"b\"}]\nb = [{include-group = \"a\"}, \"x>=1\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, fs := ParsePyproject("pyproject.toml", data)
		checkInvariants(t, "pyproject.toml", data, file, fs)
	})
}

func FuzzParsePipfile(f *testing.F) {
	seed(f, func(n string) bool { return strings.HasSuffix(n, "Pipfile") })
	f.Fuzz(func(t *testing.T, data []byte) {
		file, fs := ParsePipfile("Pipfile", data)
		checkInvariants(t, "Pipfile", data, file, fs)
	})
}

// FuzzPEP508 checks the requirement-string parser alone: errors point
// inside the string.
func FuzzPEP508(f *testing.F) {
	for _, s := range []string{
		"requests[security,socks] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"",
		"name @ https://x/y.whl ; (os_name == 'nt' or sys_platform != \"linux\") and extra == 'x'",
		"foo (>=1,<2)", "foo===bar", "foo>=2,,<3", "foo ; python_version not in '3.0, 3.1'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, e := parsePEP508(s, false)
		if e != nil && (e.pos < 0 || e.pos > len(s)) {
			t.Errorf("error position %d outside %q", e.pos, s)
		}
		if e == nil && q.name == "" {
			t.Errorf("no name and no error for %q", s)
		}
	})
}
