package diagnose

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// label is one row of the corpus's LABELS.tsv.
type label struct {
	file, phase, source, summary string
}

// readLabels reads LABELS.tsv.
func readLabels(t *testing.T, dir string) []label {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "LABELS.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []label
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			t.Fatalf("LABELS.tsv: want 4 columns, got %q", sc.Text())
		}
		out = append(out, label{cols[0], cols[1], cols[2], cols[3]})
	}
	return out
}

var (
	labelPhase = regexp.MustCompile(`^(build|release|runtime|networking|secrets|none)\b`)
	labelRoot  = regexp.MustCompile(`root cause(?::| in) (\w+)`)
)

// phases returns the phase the label says the failure surfaces in ("none"
// for a log that is not a failure) and the root cause's phase when the
// label names one ("" otherwise, e.g. for "config").
func (l label) phases(t *testing.T) (phase, root string) {
	g := labelPhase.FindStringSubmatch(l.phase)
	if g == nil {
		t.Fatalf("%s: cannot read the phase of %q", l.file, l.phase)
	}
	phase = g[1]
	if r := labelRoot.FindStringSubmatch(l.phase); r != nil && labelPhase.MatchString(r[1]) {
		root = r[1]
	}
	return phase, root
}

// corpusWant is what each labelled excerpt must be diagnosed as: the
// signature, and words of the cause (from the label's summary) that the
// message must hold.
var corpusWant = map[string]struct {
	id    string
	cause []string
}{
	"B01.log": {"log-pg-config", []string{"psycopg2", "from source", "libpq"}},
	"B02.log": {"log-pg-config", []string{"psycopg2-binary", "source archive", "no wheel"}},
	"B04.log": {"log-c-compiler-missing", []string{"asyncpg", "no C compiler"}},
	"B05.log": {"log-python-header-removed", []string{"asyncpg", "Python 3.11"}},
	"B07.log": {"log-copy-missing", []string{"requirements.txt", "build context"}},
	"B08.log": {"log-copy-from-missing", []string{"COPY --from=builder", "stage does not contain"}},
	"B10.log": {"log-run-step-failed", []string{"mix local.hex", "exited with code 1"}},
	"B11.log": {"log-no-dockerfile", []string{"nothing to build", "no Dockerfile"}},
	"B13.log": {"log-image-not-found", []string{"registry.fly.io/projectname", "neither in the local Docker daemon nor in the registry"}},
	"B14.log": {"log-pip-conflict", []string{"numpy", "tensorflow"}},
	"B16.log": {"log-env-missing", []string{"SECRET_KEY", "not set"}},
	"C01.log": {"log-fly-toml-invalid", []string{"fly.toml", "line 4", "expected character ="}},
	"C02.log": {"log-fly-toml-duplicate", []string{"build", "second time", "line 28"}},
	"C04.log": {"log-process-group-undefined", []string{"process group app", "[processes]"}},
	"C05.log": {"log-volume-missing", []string{"volume named data", "fra"}},
	"R01.log": {"log-release-command-failed", []string{"release command", "aborted the deploy"}},
	"R02.log": {"log-command-not-found", []string{"127", "could not find"}},
	"R04.log": {"log-release-machine-vanished", []string{"disappeared"}},
	"R05.log": {"log-alembic-multiple-heads", []string{"more than one head"}},
	"R07.log": {"log-alembic-revision-missing", []string{"fe7656c21eaa", "not in the image"}},
	"R08.log": {"log-alembic-revision-missing", []string{"018"}},
	"R10.log": {"log-smoke-crash", []string{"migration", "never finished", "boots"}},
	"H01.log": {"log-health-timeout", []string{"health checks", "wait timeout", "stopped"}},
	"H02.log": {"log-health-timeout", []string{"health checks", "7813112c002178"}},
	"H04.log": {"log-django-disallowed-host", []string{"ALLOWED_HOSTS", "172.19.17.130:8000", "Host header"}},
	"H05.log": {"log-proxy-refused", []string{"0.0.0.0:3000", "127.0.0.1"}},
	"H07.log": {"log-listen-nothing", []string{"no process of the app listened", "hallpass"}},
	"H08.log": {"log-listen-warning", []string{"warning, not a failure", "starts slowly"}},
	"H10.log": {"log-oom-killed", []string{"ran out of memory", "ruby"}},
	"H11.log": {"log-worker-sigkill", []string{"gunicorn worker", "out-of-memory"}},
	"H13.log": {"log-asgi-import", []string{"could not import module main"}},
	"H14.log": {"log-libpq-missing", []string{"libpq", "final stage"}},
	"H16.log": {"log-main-child-exited", []string{"exit code 1", "restarts"}},
	"H17.log": {"log-sqlalchemy-postgres-scheme", []string{"postgres://", "DATABASE_URL"}},
	"N01.log": {"log-dns-check-failed", []string{"AAAA", "IPv6"}},
	"N02.log": {"log-dns-nxdomain", []string{"flympg.net", "IPv6"}},
	"N04.log": {"log-acme-refused", []string{"_acme-challenge.tiffr.com", "TXT", "wildcard"}},
	"N05.log": {"log-cert-pending", []string{"calbatwg.org", "normal"}},
	"N07.log": {"log-tls-untrusted", []string{"CA certificate", "ca-certificates"}},
	"N08.log": {"log-not-flyio", []string{"Concourse", "not from Fly.io"}},
	"S01.log": {"log-no-fly-token", []string{"FLY_API_TOKEN"}},
	"S02.log": {"log-registry-auth", []string{"registry.fly.io", "no credentials"}},
	"S04.log": {"log-registry-auth", []string{"registry.fly.io", "refused"}},
	"S05.log": {"log-settings-invalid", []string{"Settings", "ENCRYPTION_KEY"}},
	"S07.log": {"log-django-secret-key-empty", []string{"SECRET_KEY", "empty"}},
	"S08.log": {"log-alembic-env-failed", []string{"env.py", "DATABASE_URL"}},
}

// TestCorpus diagnoses every labelled excerpt and checks the signature,
// the phase and root phase from LABELS.tsv, and the cause.
func TestCorpus(t *testing.T) {
	dir := testutil.CorpusDir(t, "logs")
	labels := readLabels(t, dir)
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(labels) != len(files) {
		t.Errorf("LABELS.tsv has %d rows for %d logs", len(labels), len(files))
	}
	if len(labels) != len(corpusWant) {
		t.Errorf("the test expects %d excerpts, LABELS.tsv has %d", len(corpusWant), len(labels))
	}
	for _, l := range labels {
		t.Run(strings.TrimSuffix(l.file, ".log"), func(t *testing.T) {
			want, ok := corpusWant[l.file]
			if !ok {
				t.Fatalf("no expectation for %s (%s)", l.file, l.summary)
			}
			data, err := os.ReadFile(filepath.Join(dir, l.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := New(Options{LogName: l.file}).Reader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var got *Finding
			for i := range res.Findings {
				if res.Findings[i].Rule == want.id {
					got = &res.Findings[i]
				}
			}
			if got == nil {
				t.Fatalf("%s (%s): no %s finding; got %v", l.file, l.summary, want.id, rules(res.Findings))
			}
			phase, root := l.phases(t)
			switch phase {
			case "none":
				for _, f := range res.Findings {
					if f.Severity == report.Error {
						t.Errorf("%s is not a failure (%s), but %s is an error", l.file, l.phase, f.Rule)
					}
				}
			default:
				if string(got.Phase) != phase {
					t.Errorf("phase %s, want %s (label %q)", got.Phase, phase, l.phase)
				}
			}
			if root != "" && string(got.RootPhase) != root {
				t.Errorf("root phase %q, want %s (label %q)", got.RootPhase, root, l.phase)
			}
			for _, w := range want.cause {
				if !strings.Contains(got.Message, w) {
					t.Errorf("message lacks %q:\n%s", w, got.Message)
				}
			}
			if !strings.Contains(got.Message, "Log line ") {
				t.Errorf("message lacks the log line: %s", got.Message)
			}
			if got.File != l.file || got.Line != got.LogLine || got.LogLine < 1 || got.LogLine > res.Lines {
				t.Errorf("location %s, log line %d of %d: want %s:<log line>", got.Location, got.LogLine, res.Lines, l.file)
			}
			if got.Fix == "" || got.Title == "" {
				t.Errorf("no title or fix: %+v", got.Finding)
			}
			// The same lines through Lines give the same diagnosis.
			again := New(Options{LogName: l.file}).Lines(splitLines(data))
			if !slices.EqualFunc(again, res.Findings, func(a, b Finding) bool { return a == b }) {
				t.Errorf("Lines and Reader differ:\n%v\n%v", again, res.Findings)
			}
		})
	}
}

// TestCorpusSeverities checks the verdict each excerpt leads to: only
// the warnings (H07, H08, N01), the notices (N05, N08) are not failures.
func TestCorpusSeverities(t *testing.T) {
	dir := testutil.CorpusDir(t, "logs")
	notFailures := map[string]bool{"H07.log": true, "H08.log": true, "N01.log": true, "N05.log": true, "N08.log": true}
	for _, l := range readLabels(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, l.file))
		if err != nil {
			t.Fatal(err)
		}
		fs := New(Options{}).Bytes(data).Findings
		failed := slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == report.Error })
		if failed == notFailures[l.file] {
			t.Errorf("%s (%s): failure=%v, want %v; findings %v", l.file, l.phase, failed, !notFailures[l.file], rules(fs))
		}
	}
}

func rules(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+"/"+string(f.Phase)+"/"+string(f.Severity))
	}
	return out
}
