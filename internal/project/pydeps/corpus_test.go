package pydeps

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// isDepFile reports whether a corpus file name is a dependency file.
func isDepFile(name string) bool {
	return strings.Contains(name, "requirements") && strings.HasSuffix(name, ".txt") ||
		strings.HasSuffix(name, "pyproject.toml") || strings.HasSuffix(name, "Pipfile")
}

// corpusDepFiles returns the dependency files of the corpus, by name.
func corpusDepFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	dir := testutil.CorpusDir(tb, "dockerfiles")
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if !isDepFile(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		out[e.Name()] = data
	}
	return out
}

func TestCorpus(t *testing.T) {
	files := corpusDepFiles(t)
	// Files of the corpus that pip, uv, Poetry or pipenv would refuse, with
	// the line and the reason. Every file was read and none is invalid: the
	// odd ones (UTF-16 files, a per-line --no-binary, bare wheel URLs,
	// parenthesised specifiers, "celery[redis, sqs]") are all accepted.
	invalid := map[string]string{}
	if len(files) != 51 {
		t.Errorf("found %d dependency files in the corpus, want 51 (33 requirements, 17 pyproject.toml, 1 Pipfile)", len(files))
	}
	parsed := map[string]*File{}
	total := 0
	for name, data := range files {
		f, fs := Parse(name, data)
		parsed[name] = f
		total += len(f.Requirements)
		var errs []report.Finding
		for _, x := range fs {
			if x.Severity == report.Error || x.Severity == report.Warning {
				errs = append(errs, x)
			}
		}
		if _, bad := invalid[name]; !bad {
			for _, x := range errs {
				t.Errorf("%s: %s %s: %s", x.Location, x.Severity, x.Title, x.Message)
			}
		} else if len(errs) == 0 {
			t.Errorf("%s: expected an error (%s)", name, invalid[name])
		}
		if len(f.Requirements) == 0 && len(f.Includes) == 0 {
			t.Errorf("%s: no requirements read", name)
		}
		for _, r := range f.Requirements {
			if r.Loc.File != name || r.Loc.Line < 1 || r.Loc.Column < 1 || r.Loc.EndLine < r.Loc.Line {
				t.Errorf("%s: bad location %+v for %q", name, r.Loc, r.Raw)
			}
			if r.Name == "" && r.URL == "" {
				t.Errorf("%s:%d: requirement without name or URL", name, r.Loc.Line)
			}
		}
	}
	t.Logf("%d files, %d requirements", len(files), total)

	// Facts about particular corpus files.
	get := func(file, name string) Requirement {
		t.Helper()
		f := parsed[file]
		if f == nil {
			t.Fatalf("%s not in the corpus", file)
		}
		rs := f.Lookup(name)
		if len(rs) == 0 {
			t.Fatalf("%s: no requirement %s", file, name)
		}
		return rs[0]
	}
	checks := []struct {
		file, name, want string
	}{
		// A wheel URL: pip names it from the file name.
		{"Andrewwango__open-set-resnet__requirements.txt", "torch", "11:1 torch==1.8.1+cpu @https://download.pytorch.org/whl/cpu/torch-1.8.1%2Bcpu-cp38-cp38-linux_x86_64.whl"},
		{"CTFd__CTFd__requirements.txt", "async-timeout", "9:1 async-timeout==5.0.1 ;python_full_version <= '3.11.2'"},
		{"tomwojcik__django-fly.io-example-project__requirements.txt", "psycopg2", "5:1 psycopg2==2.8.5"},
		{"ayo-d09__flask-fly.io-starter__requirements.txt", "flask", "1:1 flask"},
		{"rednafi__fly-fastapi__requirements.txt", "rfc3986", "35:1 rfc3986[idna2008]==1.5.0"},
		{"Moodyw03__docecho__requirements.txt", "googletrans", "5:1 googletrans==4.0.0-rc1"},
		{"ges-na__prisonbookproject__pyproject.toml", "django-registration", "26:2 django-registration>=5.2.1,<6.0.0"},
		{"saleor__saleor__pyproject.toml", "celery", "75:6 celery[redis,sqs]>=5.6.3,<6.0.0"},
		{"getredash__redash__pyproject.toml", "ibm-db", "82:6 ibm-db>=3.2.7,<4.0.0 ;platform_machine == 'x86_64' or platform_machine == 'AMD64'"},
		{"Netflix__dispatch__pyproject.toml", "dispatch-internal-plugins", "118:6 dispatch-internal-plugins @../dispatch-internal-plugins -e opt g=netflix"},
		{"mealie-recipes__mealie__pyproject.toml", "psycopg2-binary", "27:1 psycopg2-binary^2.9.1 pep440=>=2.9.1,<3 opt"},
		{"peacefulseeker__django-libraryms__pyproject.toml", "django-storages", "27:1 django-storages[s3]^1.14.4 pep440=>=1.14.4,<2"},
		{"planetarypraxis__smartforests__Pipfile", "django-map-widgets", "22:1 django-map-widgets @git+https://git@github.com/commonknowledge/django-map-widgets.git@54d4dfb18064bb4cec5bc7d3ced9d3acc560a172 -e"},
	}
	for _, c := range checks {
		if got := summary(get(c.file, c.name)); got != c.want {
			t.Errorf("%s: %s = %q, want %q", c.file, c.name, got, c.want)
		}
	}
	if got := parsed["tomwojcik__django-fly.io-example-project__requirements.txt"].NoBinary; !reflect.DeepEqual(got, []string{"psycopg2"}) {
		t.Errorf("tomwojcik NoBinary = %q", got)
	}
	rp := map[string]string{
		"peacefulseeker__django-libraryms__pyproject.toml": "~3.11 >=3.11,<3.12",
		"00BUKU__Ration_Django_Web_App__pyproject.toml":    "^3.10 >=3.10,<4",
		"PDHdata__SmallFormats__pyproject.toml":            "~=3.13 ~=3.13",
		"saleor__saleor__pyproject.toml":                   ">=3.12,<3.13 >=3.12,<3.13",
		"planetarypraxis__smartforests__Pipfile":           "3.11 ==3.11.*",
	}
	for file, want := range rp {
		v := parsed[file].RequiresPython
		if got := v.Text + " " + v.Spec; got != want {
			t.Errorf("%s RequiresPython = %q, want %q", file, got, want)
		}
	}
	if inc := parsed["wagtail__bakerydemo__requirements.txt"].Includes; len(inc) != 1 || inc[0].Path != "requirements/production.txt" || inc[0].Loc.Line != 1 {
		t.Errorf("wagtail includes = %+v", inc)
	}
}

// TestCorpusMissingInclude loads wagtail's requirements.txt as the root of
// a repository without the requirements/ folder it includes.
func TestCorpusMissingInclude(t *testing.T) {
	data := corpusDepFiles(t)["wagtail__bakerydemo__requirements.txt"]
	files, fs := LoadTree(fstest.MapFS{"requirements.txt": {Data: data}}, "requirements.txt")
	checkFindings(t, fs, []wantFinding{{report.Error, 1, 4, "No such file or directory: 'requirements/production.txt'"}})
	if len(files) != 1 || fs[0].Rule != RuleRequirementsInclude {
		t.Errorf("files = %d, rule = %s", len(files), fs[0].Rule)
	}
}

// TestCorpusUTF16 checks the three requirements files saved as UTF-16 LE
// with CRLF by PowerShell's "pip freeze >": they must read as their UTF-8
// copies do, line for line.
func TestCorpusUTF16(t *testing.T) {
	files := corpusDepFiles(t)
	tests := []struct {
		file  string
		count int
		want  []string // summaries of some requirements
	}{
		{"MehdiMarzougui__Dockerized-Django-live-chat-app__requirements.txt", 33, []string{
			"2:1 asgiref==3.8.1 ;python_version >= '3.8'",
			"8:1 channels[daphne]==4.1.0",
			"26:1 six==1.16.0 ;python_version >= '2.7' and python_version not in '3.0, 3.1, 3.2, 3.3'",
			"34:1 zope-interface==6.3 ;python_version >= '3.7'",
		}},
		{"MuhmedWagdy__Dj4_Amazon_Clone__requirements.txt", 46, []string{
			"1:1 amqp==5.2.0",
			"17:1 django==4.2",
			"41:1 six==1.16.0",
		}},
		{"valenbatata__API-Practicas1__requirements.txt", 26, []string{
			"1:1 annotated-doc==0.0.4",
			"18:1 sqlmodel",
			"26:1 httpx",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := files[tt.file]
			if !bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || !bytes.Contains(data, []byte{'\r', 0, '\n', 0}) {
				t.Fatal("not UTF-16 LE with a BOM and CRLF")
			}
			// An independent UTF-8 copy: the files are ASCII, so every
			// character is its low byte.
			var ascii []byte
			for i := 2; i+1 < len(data); i += 2 {
				if data[i+1] != 0 {
					t.Fatalf("non-ASCII character at byte %d", i)
				}
				ascii = append(ascii, data[i])
			}
			f16, fs16 := ParseRequirements(tt.file, data)
			f8, fs8 := ParseRequirements(tt.file, ascii)
			if len(fs16)+len(fs8) != 0 {
				t.Errorf("findings: %v %v", fs16, fs8)
			}
			got16, got8 := summaries(f16.Requirements), summaries(f8.Requirements)
			if !reflect.DeepEqual(got16, got8) {
				t.Errorf("UTF-16 read differs from UTF-8 read:\n%q\n%q", got16, got8)
			}
			if len(got16) != tt.count {
				t.Errorf("%d requirements, want %d", len(got16), tt.count)
			}
			set := map[string]bool{}
			for _, s := range got16 {
				set[s] = true
			}
			for _, w := range tt.want {
				if !set[w] {
					t.Errorf("missing %q", w)
				}
			}
			if tt.file == tests[0].file && !reflect.DeepEqual(f16.IndexURLs, []string{"https://pypi.org/simple"}) {
				t.Errorf("IndexURLs = %q", f16.IndexURLs)
			}
		})
	}
}

// BenchmarkCorpus parses every dependency file of the corpus.
func BenchmarkCorpus(b *testing.B) {
	files := corpusDepFiles(b)
	names := make([]string, 0, len(files))
	var size int64
	for n, d := range files {
		names = append(names, n)
		size += int64(len(d))
	}
	sort.Strings(names)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, n := range names {
			Parse(n, files[n])
		}
	}
}
