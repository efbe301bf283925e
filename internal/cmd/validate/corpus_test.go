package validate

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus-findings.txt from the current findings (reasons of known lines are kept; new lines get TODO)")

// corpusRepo is one repository rebuilt from the corpus: its files at their
// real paths, and the fly.toml configs to validate it with.
type corpusRepo struct {
	name    string            // owner/repo
	files   map[string]string // real path → corpus file
	configs []string          // real paths of fly.toml files
}

// corpusRepos groups the corpus's fly.toml, Dockerfile, requirements,
// pyproject, Pipfile and alembic.ini files by repository, using each
// folder's SOURCES.tsv for the file's real path.
func corpusRepos(t testing.TB) []*corpusRepo {
	t.Helper()
	byName := map[string]*corpusRepo{}
	for _, sub := range []string{"flytoml", "flytoml/flyctl-testdata", "dockerfiles", "alembic"} {
		dir := testutil.CorpusDir(t, sub)
		f, err := os.Open(filepath.Join(dir, "SOURCES.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for first := true; sc.Scan(); first = false {
			cols := strings.Split(sc.Text(), "\t")
			if first || len(cols) < 3 || strings.Contains(cols[0], "/") {
				continue // header, or a file in a subfolder (flyctl's own fixtures)
			}
			name, real := cols[1], cols[2]
			if sub == "flytoml/flyctl-testdata" {
				// flyctl's parser fixtures: each one is a fly.toml of its own.
				name, real = "superfly/flyctl:"+path.Base(real), "fly.toml"
			}
			r := byName[name]
			if r == nil {
				r = &corpusRepo{name: name, files: map[string]string{}}
				byName[name] = r
			}
			r.files[real] = filepath.Join(dir, cols[0])
			if strings.HasPrefix(sub, "flytoml") {
				r.configs = append(r.configs, real)
			}
		}
		f.Close()
	}
	var repos []*corpusRepo
	for _, r := range byName {
		sort.Strings(r.configs)
		repos = append(repos, r)
	}
	sort.Slice(repos, func(i, j int) bool { return repos[i].name < repos[j].name })
	return repos
}

// materialize writes the repository's files under dir at their real paths.
func (r *corpusRepo) materialize(t testing.TB, dir string) {
	t.Helper()
	for rel, src := range r.files {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runs returns the validations of one repository: one per fly.toml, or one
// without a config for a Dockerfile-only repository.
func (r *corpusRepo) runs() []string {
	if len(r.configs) == 0 {
		return []string{""}
	}
	return r.configs
}

// TestCorpus validates every repository rebuilt from the real corpus (and
// each of flyctl's own fly.toml fixtures) and compares its error findings
// with testdata/corpus-findings.txt, where each line says why the finding is
// a real defect of that file. Findings that a file is absent are left out:
// see absenceRules.
func TestCorpus(t *testing.T) {
	repos := corpusRepos(t)
	got := map[string]bool{}
	files := 0
	for _, r := range repos {
		dir := t.TempDir()
		r.materialize(t, dir)
		files += len(r.files)
		for _, cfg := range r.runs() {
			config := ""
			if cfg != "" {
				config = filepath.Join(dir, filepath.FromSlash(cfg))
			}
			rep, _, err := Check(dir, config)
			if err != nil {
				t.Errorf("%s: validate failed (exit 2): %v", r.name, err)
				continue
			}
			for _, f := range rep.Findings() {
				if f.Severity != report.Error || absenceRules[f.Rule] {
					continue
				}
				got[corpusKey(r.name, cfg, f)] = true
				t.Logf("%s %s: %s: %s [%s]", r.name, cfg, f.Location, f.Message, f.Rule)
			}
		}
	}
	t.Logf("validated %d repositories (%d files)", len(repos), files)

	golden := filepath.Join("testdata", "corpus-findings.txt")
	want := readCorpusGolden(t, golden)
	if *update {
		writeCorpusGolden(t, golden, got, want)
		return
	}
	var missing, extra []string
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	for k, why := range want {
		if !got[k] {
			missing = append(missing, k)
		}
		if strings.Contains(why, "TODO") || strings.TrimSpace(why) == "" {
			t.Errorf("%s: recorded without a reason; say why it is a real defect of that file", k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, k := range extra {
		t.Errorf("new error finding on a real file (a bug to fix, or record it with the file's real defect): %s", k)
	}
	for _, k := range missing {
		t.Errorf("recorded error finding no longer raised (remove it from %s if that is right): %s", golden, k)
	}
}

// absenceRules report that a file the deploy needs is not in the
// repository. The corpus keeps only some files of each repository (fly.toml,
// Dockerfile, requirements, alembic.ini), so on it these findings say nothing
// about the real repository and are not recorded. They are tested on
// examples/broken and the rules' testdata instead.
var absenceRules = map[string]bool{
	"config-missing":           true, // Dockerfile-only repositories are not Fly apps
	"build-dockerfile-missing": true, // Go, Node and Elixir apps' Dockerfiles are not in the corpus
	"requirements-include":     true, // included requirements files are not in the corpus
}

func corpusKey(repo, cfg string, f report.Finding) string {
	if cfg == "" {
		cfg = "-"
	}
	return fmt.Sprintf("%s %s %s %s:%d", repo, cfg, f.Rule, f.File, f.Line)
}

// readCorpusGolden reads `key # reason` lines.
func readCorpusGolden(t testing.TB, name string) map[string]string {
	t.Helper()
	want := map[string]string{}
	data, err := os.ReadFile(name)
	if err != nil {
		if os.IsNotExist(err) {
			return want
		}
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, why, _ := strings.Cut(line, " # ")
		want[strings.TrimSpace(key)] = strings.TrimSpace(why)
	}
	return want
}

func writeCorpusGolden(t testing.TB, name string, got map[string]bool, old map[string]string) {
	t.Helper()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Error findings deploy-action raises on the real corpus (../shared/corpus), one per line:\n")
	b.WriteString("# <owner/repo> <fly.toml path or -> <rule> <file:line> # why this is a real defect of that file\n")
	b.WriteString("# Regenerate with: go test ./internal/cmd/validate -run TestCorpus -update (then write each TODO's reason).\n")
	for _, k := range keys {
		why := old[k]
		if why == "" {
			why = "TODO"
		}
		fmt.Fprintf(&b, "%s # %s\n", k, why)
	}
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkValidateCorpus validates the whole rebuilt corpus in one process
// and reports files per second.
func BenchmarkValidateCorpus(b *testing.B) {
	repos := corpusRepos(b)
	root := b.TempDir()
	files := 0
	dirs := make([]string, len(repos))
	for i, r := range repos {
		dirs[i] = filepath.Join(root, path.Base(r.name)+fmt.Sprint(i))
		r.materialize(b, dirs[i])
		files += len(r.files)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, r := range repos {
			for _, cfg := range r.runs() {
				config := ""
				if cfg != "" {
					config = filepath.Join(dirs[j], filepath.FromSlash(cfg))
				}
				if _, _, err := Check(dirs[j], config); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkValidateExample validates examples/grupo-gad in process (the
// README's first command without process start-up).
func BenchmarkValidateExample(b *testing.B) {
	dir := filepath.Join(testutil.RepoRoot(b), "examples", "grupo-gad")
	for i := 0; i < b.N; i++ {
		if _, _, err := Check(dir, ""); err != nil {
			b.Fatal(err)
		}
	}
}
