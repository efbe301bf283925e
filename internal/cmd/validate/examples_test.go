package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// TestExamples validates the bundled examples: examples/grupo-gad must have
// no error and no warning, and each examples/broken/<variant> must give
// exactly the error and warning findings its expect.txt lists
// (`rule path:line`, notices not listed).
func TestExamples(t *testing.T) {
	root := filepath.Join(testutil.RepoRoot(t), "examples")
	t.Run("grupo-gad", func(t *testing.T) {
		got := examineExample(t, filepath.Join(root, "grupo-gad"))
		if len(got) != 0 {
			t.Errorf("the good example must validate with no error or warning, got:\n%s", strings.Join(got, "\n"))
		}
	})
	variants, err := filepath.Glob(filepath.Join(root, "broken", "*", "expect.txt"))
	if err != nil || len(variants) == 0 {
		t.Fatalf("no broken examples found under %s: %v", root, err)
	}
	for _, exp := range variants {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want := readExampleExpect(t, exp)
			got := examineExample(t, dir)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("want:\n%s\ngot:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
		})
	}
}

// examineExample validates dir and returns its error and warning findings
// as sorted `rule path:line` strings.
func examineExample(t *testing.T, dir string) []string {
	t.Helper()
	rep, _, err := Check(dir, "")
	if err != nil {
		t.Fatalf("validate %s: %v", dir, err)
	}
	var got []string
	for _, f := range rep.Findings() {
		t.Logf("%s: %s: %s [%s]", f.Severity, f.Location, f.Message, f.Rule)
		if f.Severity == report.Notice {
			continue
		}
		got = append(got, fmt.Sprintf("%s %s:%d", f.Rule, f.File, f.Line))
	}
	sort.Strings(got)
	return got
}

func readExampleExpect(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, l)
		}
	}
	sort.Strings(want)
	return want
}
