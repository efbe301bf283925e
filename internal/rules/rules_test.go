package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// TestRuleCases runs each rule over its testdata: every rule has
// testdata/<id>/ok (and optionally ok-*) folders, where it must find
// nothing, and testdata/<id>/err (and optionally err-*) folders, whose
// expect.txt lists exactly the findings it must raise, one per line as
// `file:line severity` (blank lines and # comments ignored).
func TestRuleCases(t *testing.T) {
	for _, r := range All() {
		t.Run(r.ID, func(t *testing.T) {
			dirs, err := filepath.Glob(filepath.Join("testdata", r.ID, "*"))
			if err != nil {
				t.Fatal(err)
			}
			var ok, bad int
			for _, dir := range dirs {
				name := filepath.Base(dir)
				switch {
				case name == "ok" || strings.HasPrefix(name, "ok-"):
					ok++
					got := runRule(t, r, dir)
					if len(got) != 0 {
						t.Errorf("%s: want no finding, got:\n%s", dir, strings.Join(got, "\n"))
					}
				case name == "err" || strings.HasPrefix(name, "err-"):
					bad++
					want := readExpect(t, filepath.Join(dir, "expect.txt"))
					got := runRule(t, r, dir)
					if strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Errorf("%s:\nwant:\n%s\ngot:\n%s", dir, strings.Join(want, "\n"), strings.Join(got, "\n"))
					}
				}
			}
			if ok == 0 || bad == 0 {
				t.Errorf("rule %s needs testdata/%s/ok and testdata/%s/err cases (has %d ok, %d err)", r.ID, r.ID, r.ID, ok, bad)
			}
		})
	}
}

// runRule loads dir and returns the rule's findings as sorted
// `file:line severity` strings, logging each finding in full.
func runRule(t *testing.T, r *Rule, dir string) []string {
	t.Helper()
	p, err := project.Load(dir, project.Options{})
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	var got []string
	for _, f := range runOne(r, p) {
		if f.Rule != r.ID {
			t.Errorf("%s: rule %s raised a finding named %s", dir, r.ID, f.Rule)
		}
		if f.Message == "" || f.Fix == "" || f.Title == "" {
			t.Errorf("%s: finding at %s lacks a title, message or fix: %+v", dir, f.Location, f)
		}
		t.Logf("%s: %s: %s [%s] fix: %s", f.Severity, f.Location, f.Message, f.Rule, f.Fix)
		got = append(got, expectLine(f))
	}
	sort.Strings(got)
	return got
}

func expectLine(f report.Finding) string {
	return fmt.Sprintf("%s:%d %s", f.File, f.Line, f.Severity)
}

func readExpect(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("every err case needs an expect.txt: %v", err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// TestRulesDocumented checks every rule has an id, a known phase, a doc line
// and a why.
func TestRulesDocumented(t *testing.T) {
	phases := map[report.PhaseName]bool{}
	for _, p := range report.StaticPhases {
		phases[p] = true
	}
	for _, r := range All() {
		if r.ID == "" || !phases[r.Phase] || r.Doc == "" || r.Why == "" || r.Check == nil {
			t.Errorf("rule %q is incomplete: %+v", r.ID, r)
		}
		if strings.Contains(r.Doc, "\n") || strings.HasSuffix(r.Doc, ".") || startsCapitalized(r.Doc) {
			t.Errorf("rule %s: Doc must be one line starting in lower case with no final period (it is a table cell): %q", r.ID, r.Doc)
		}
		if !strings.HasPrefix(r.ID, string(r.Phase)+"-") {
			t.Errorf("rule %s: id should start with its phase %q", r.ID, r.Phase)
		}
	}
}

// startsCapitalized reports whether doc starts with a capitalised word that
// is not an all-caps keyword such as COPY or FROM.
func startsCapitalized(doc string) bool {
	word, _, _ := strings.Cut(doc, " ")
	return strings.ToLower(word[:1]) != word[:1] && strings.ToUpper(word) != word
}
