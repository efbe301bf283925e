package diagnose

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// chunkyReader returns at most n bytes per Read, like a pipe.
type chunkyReader struct {
	r io.Reader
	n int
}

func (c chunkyReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

func sameFindings(a, b []Finding) bool {
	return slices.EqualFunc(a, b, func(x, y Finding) bool { return x == y })
}

// TestStreamChunks checks that a log scanned in small chunks, read in
// small pieces, gives the same diagnosis as the whole log in memory: no
// line is lost or counted twice at a chunk boundary.
func TestStreamChunks(t *testing.T) {
	data := bigLog(t, 3<<20)
	d := New(Options{LogName: "big.log"})
	want := d.Bytes(data)
	if len(want.Findings) < 10 {
		t.Fatalf("the mixed log gives only %v", rules(want.Findings))
	}
	if n := bytes.Count(data, []byte{'\n'}); want.Lines != n {
		t.Errorf("Lines %d, want %d", want.Lines, n)
	}
	for _, chunk := range []int{4 << 10, 64 << 10, chunkSize} {
		got, err := d.stream(chunkyReader{bytes.NewReader(data), 1000}, chunk)
		if err != nil {
			t.Fatal(err)
		}
		if got.Lines != want.Lines || got.Bytes != int64(len(data)) || !sameFindings(got.Findings, want.Findings) {
			t.Errorf("chunk %d: %d lines %v, want %d lines %v", chunk, got.Lines, rules(got.Findings), want.Lines, rules(want.Findings))
		}
	}
}

// TestReaderError reports a read error with what was diagnosed so far.
func TestReaderError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("Error: pg_config executable not found.\n"), errReader{})
	res, err := New(Options{}).Reader(r)
	if err == nil || !strings.Contains(err.Error(), "read log") {
		t.Fatalf("err = %v", err)
	}
	_ = res
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

var (
	fuzzOnce    sync.Once
	fuzzProject *project.Project
)

// FuzzDiagnose feeds arbitrary logs to the scan, with a project loaded so
// that the repository pointers run too: it must not panic, every finding
// must be complete, and the streamed scan must agree with the in-memory
// one.
func FuzzDiagnose(f *testing.F) {
	for _, lines := range corpusLines(f) {
		f.Add([]byte(strings.Join(lines, "\n")))
	}
	clean, _ := filepath.Glob("testdata/clean/*.log")
	for _, c := range clean {
		data, err := os.ReadFile(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, tc := range sigCases {
		f.Add([]byte(strings.Join(tc.lines, "\r\n")))
	}
	f.Add([]byte("\x1b[31mError: pg_config executable not found.\x1b[0m\n\n\n"))
	root := testutil.RepoRoot(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOnce.Do(func() {
			p, err := project.Load(filepath.Join(root, "examples", "grupo-gad"), project.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fuzzProject = p
		})
		d := New(Options{Project: fuzzProject, LogName: "fuzz.log"})
		res := d.Bytes(data)
		for _, fd := range res.Findings {
			if fd.LogLine < 1 || fd.LogLine > res.Lines || fd.Count < 1 {
				t.Errorf("%s: log line %d of %d, count %d", fd.Rule, fd.LogLine, res.Lines, fd.Count)
			}
			if fd.Title == "" || fd.Message == "" || fd.Fix == "" || fd.Phase == "" || fd.Severity == "" {
				t.Errorf("incomplete finding %+v", fd)
			}
			if strings.Contains(fd.Title+fd.Message+fd.Fix, "{$") {
				t.Errorf("unexpanded variable in %+v", fd)
			}
		}
		for _, l := range bytes.Split(data, []byte{'\n'}) {
			if len(l) > 2<<10 {
				return // lines longer than a chunk are matched in pieces
			}
		}
		got, err := d.stream(bytes.NewReader(data), 2<<10)
		if err != nil {
			t.Fatal(err)
		}
		if got.Lines != res.Lines || !sameFindings(got.Findings, res.Findings) {
			t.Errorf("streamed %d lines %v, in memory %d lines %v", got.Lines, rules(got.Findings), res.Lines, rules(res.Findings))
		}
	})
}
