package diagnose

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// tested records the signatures the tests of this package diagnosed, for
// TestEverySignatureTested.
var tested sync.Map

func diagnoseLines(t *testing.T, opt Options, lines ...string) []Finding {
	t.Helper()
	fs := New(opt).Lines(lines)
	for _, f := range fs {
		tested.Store(f.Rule, true)
	}
	return fs
}

func find(fs []Finding, id string) *Finding {
	for i := range fs {
		if fs[i].Rule == id {
			return &fs[i]
		}
	}
	return nil
}

// TestCleanLogs checks that healthy output matches nothing, and gets the
// "no known signature" notice.
func TestCleanLogs(t *testing.T) {
	files, _ := filepath.Glob("testdata/clean/*.log")
	if len(files) < 5 {
		t.Fatalf("want the clean logs in testdata/clean, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res := New(Options{}).Bytes(data)
			if len(res.Findings) != 0 {
				t.Fatalf("clean log diagnosed as %v:\n%v", rules(res.Findings), res.Findings)
			}
			rep := report.New("diagnose")
			AddTo(rep, res.Findings, "", f, res.Lines)
			rep.Finish()
			all := rep.Findings()
			if len(all) != 1 || all[0].Rule != RuleNoSignature || all[0].Severity != report.Notice || rep.Conclusion != report.Success {
				t.Fatalf("want one no-known-signature notice, got %+v (%s)", all, rep.Conclusion)
			}
			if !strings.Contains(all[0].Message, "No known signature") || rep.Phases[0].Name != report.Deploy {
				t.Errorf("notice: %s in %s", all[0].Message, rep.Phases[0].Name)
			}
		})
	}
}

// sigCase is a log (real wording of the tool that prints it) and what it
// must, or must not, be diagnosed as.
type sigCase struct {
	name  string
	phase report.PhaseName // Options.Phase
	lines []string
	id    string // "" when nothing may be found
	want  report.PhaseName
	root  report.PhaseName
	sev   report.Severity
	in    string   // text the message holds
	not   []string // signatures that must not be found
}

var sigCases = []sigCase{
	// Look-alikes.
	{name: "concourse login", lines: []string{
		"$ fly -t ci login -c https://ci.example.com",
		"x509: certificate signed by unknown authority",
	}, id: "log-not-flyio", want: report.Networking, sev: report.Notice, in: "were not diagnosed", not: []string{"log-tls-untrusted"}},
	{name: "concourse far from a flyctl error", lines: append(append([]string{"could not reach the Concourse server called ci:"}, repeat("building...", 80)...),
		"Error: failed to fetch an image or build from source: app does not have a Dockerfile or buildpacks configured."),
		id: "log-no-dockerfile", want: report.Build, sev: report.Error},
	{name: "listen warning then health checks fail", lines: []string{
		"WARNING The app is not listening on the expected address and will not be reachable by fly-proxy.",
		"You can fix this by configuring your app to listen on the following addresses:",
		"  - 0.0.0.0:8080",
		"Error: timeout reached waiting for health checks to pass for machine 148e272b0d3389",
	}, id: "log-listen-warning", want: report.Runtime, sev: report.Error, in: "not a slow start"},
	{name: "listen table with localhost", lines: []string{
		"WARNING The app is not listening on the expected address and will not be reachable by fly-proxy.",
		"You can fix this by configuring your app to listen on the following addresses:",
		"  - 0.0.0.0:8080",
		"Found these processes inside the machine with open listening sockets:",
		"  PROCESS                                | ADDRESSES",
		"-----------------------------------------*--------------------------------------",
		"  /.fly/hallpass                         | [fdaa:0:1:a7b:8:c7:5033:2]:22",
		"  /opt/venv/bin/python3 /opt/venv/bin/uvicorn | 127.0.0.1:8080",
	}, id: "log-bind-localhost", want: report.Runtime, sev: report.Error, in: "127.0.0.1:8080"},
	{name: "listen table with another port", lines: []string{
		"WARNING The app is not listening on the expected address and will not be reachable by fly-proxy.",
		"You can fix this by configuring your app to listen on the following addresses:",
		"  - 0.0.0.0:8080",
		"Found these processes inside the machine with open listening sockets:",
		"  PROCESS        | ADDRESSES",
		"-----------------*-----------------------------------",
		"  /.fly/hallpass | [fdaa:a:ff25:a7b:8:c7:5033:2]:22",
		"  gunicorn       | 0.0.0.0:8000",
	}, id: "log-port-mismatch", want: report.Runtime, sev: report.Error, in: "0.0.0.0:8000"},
	{name: "dict KeyError is not an environment variable", lines: []string{
		"Traceback (most recent call last):",
		`  File "/app/app/api/incidents.py", line 40, in get_incident`,
		`    return CACHE["INCIDENT_TTL"]`,
		"KeyError: 'INCIDENT_TTL'",
	}, not: []string{"log-env-missing"}},
	{name: "request model validation is not configuration", lines: []string{
		"pydantic_core._pydantic_core.ValidationError: 1 validation error for IncidentCreate",
		"title",
		"  String should have at least 1 character [type=string_too_short, input_value='', input_type=str]",
	}, not: []string{"log-settings-invalid"}},
	{name: "Flask on all addresses", lines: []string{
		" * Running on all addresses (0.0.0.0)",
		" * Running on http://127.0.0.1:8080",
		" * Running on http://172.19.17.130:8080",
	}},
	{name: "machine stopped by a deploy", lines: []string{
		" INFO Sending signal SIGINT to main child",
		" INFO Main child exited with signal (with signal 'SIGINT', core dumped? false)",
		" INFO Starting clean up.",
	}},
	{name: "clean exit of init", lines: []string{" INFO Main child exited normally with code: 0", " INFO Starting clean up."}},
	{name: "postgresql dialect is not the postgres scheme", lines: []string{"sqlalchemy.exc.NoSuchModuleError: Can't load plugin: sqlalchemy.dialects:postgresql.psycopg"},
		not: []string{"log-sqlalchemy-postgres-scheme"}},
	{name: "HTTP 401 of the app is not the registry", lines: []string{`INFO:     172.16.4.2:40112 - "GET /api/v1/me HTTP/1.1" 401 Unauthorized`}},
	{name: "health check timeout is not a platform fault", lines: []string{
		`Error: timeout reached waiting for healthchecks to pass for machine 1 failed to get VM 1: Get "https://api.machines.dev/v1/apps/a/machines/1": net/http: request canceled`,
	}, id: "log-health-timeout", want: report.Runtime, sev: report.Error, not: []string{"log-fly-api-unavailable"}},

	// Platform faults.
	{name: "remote builder unreachable", lines: []string{
		`Error: failed to fetch an image or build from source: error fetching docker server info: Get "http://[fdaa:2:8bc:a7b:113:4f72:8a1e:2]:2375/v1.41/info": context deadline exceeded`,
	}, id: "log-remote-builder-unavailable", want: report.Build, sev: report.Error, in: "remote builder"},
	{name: "remote builder app unavailable", lines: []string{"Error: remote builder app unavailable"},
		id: "log-remote-builder-unavailable", want: report.Build, sev: report.Error},
	{name: "builder without capacity", lines: []string{
		"Error: failed to fetch an image or build from source: error connecting to docker: Couldn't allocate volume, not enough compute capacity left in iad",
	}, id: "log-capacity", want: report.Deploy, sev: report.Error, in: "iad"},
	{name: "machines API down", lines: []string{
		`Error: failed to list machines: Get "https://api.machines.dev/v1/apps/grupo-gad/machines": dial tcp 145.40.80.240:443: i/o timeout`,
	}, id: "log-fly-api-unavailable", want: report.Deploy, sev: report.Error, in: "i/o timeout"},
	{name: "lease held", lines: []string{
		"Error: failed to acquire leases: failed to obtain lease: aborted: lease currently held by deploy@example.com, expires at 2024-06-01T10:20:00Z",
	}, id: "log-lease-held", want: report.Deploy, sev: report.Error},

	// Signatures beyond the corpus, in their tools' wording.
	{name: "alembic ini missing", lines: []string{"  FAILED: No 'script_location' key found in configuration."},
		id: "log-alembic-no-script-location", want: report.Release, sev: report.Error},
	{name: "alembic config file missing", lines: []string{"  FAILED: No config file 'alembic.ini' found, or file has no '[alembic]' section"},
		id: "log-alembic-no-config", want: report.Release, sev: report.Error, in: "alembic.ini"},
	{name: "module missing in env.py", lines: []string{
		`  File "/app/alembic/env.py", line 9, in <module>`,
		"    from app.models import Base",
		"ModuleNotFoundError: No module named 'app'",
	}, id: "log-module-not-found", want: report.Release, sev: report.Error, in: "app"},
	{name: "module missing at runtime", lines: []string{"ModuleNotFoundError: No module named 'uvicorn_worker'"},
		id: "log-module-not-found", want: report.Runtime, sev: report.Error},
	{name: "column already exists", lines: []string{
		`sqlalchemy.exc.ProgrammingError: (sqlalchemy.dialects.postgresql.asyncpg.ProgrammingError) <class 'asyncpg.exceptions.DuplicateColumnError'>: column "severity" of relation "incidents" already exists`,
	}, id: "log-db-object-exists", want: report.Release, sev: report.Error, in: "column severity of table incidents"},
	{name: "table missing at runtime", lines: []string{
		`asyncpg.exceptions.UndefinedTableError: relation "incidents" does not exist`,
	}, id: "log-undefined-table", want: report.Runtime, root: report.Release, sev: report.Error},
	{name: "asyncpg sslmode", lines: []string{"TypeError: connect() got an unexpected keyword argument 'sslmode'"},
		id: "log-asyncpg-sslmode", want: report.Release, sev: report.Error},
	{name: "async engine with psycopg2", lines: []string{
		"sqlalchemy.exc.InvalidRequestError: The asyncio extension requires an async driver to be used. The loaded 'psycopg2' is not async.",
	}, id: "log-sqlalchemy-sync-driver", want: report.Runtime, root: report.Release, sev: report.Error, in: "psycopg2"},
	{name: "empty database URL", lines: []string{"sqlalchemy.exc.ArgumentError: Could not parse SQLAlchemy URL from string ''"},
		id: "log-sqlalchemy-url-invalid", want: report.Secrets, sev: report.Error, in: "empty string"},
	{name: "database URL value never quoted", lines: []string{"sqlalchemy.exc.ArgumentError: Could not parse SQLAlchemy URL from string 'postgres//app:s3cr3t-pw@db.internal:5432/app'"},
		id: "log-sqlalchemy-url-invalid", want: report.Secrets, sev: report.Error},
	{name: "wrong database password", lines: []string{`asyncpg.exceptions.InvalidPasswordError: password authentication failed for user "grupo_gad"`},
		id: "log-db-auth-failed", want: report.Secrets, sev: report.Error, in: "grupo_gad"},
	{name: "database on localhost", lines: []string{"ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 5432)"},
		id: "log-db-connection-refused", want: report.Networking, root: report.Secrets, sev: report.Error, in: "not set"},
	{name: "database stopped", lines: []string{`psycopg2.OperationalError: connection to server at "grupo-gad-db.flycast" (fdaa:0:1::3), port 5432 failed: Connection refused`},
		id: "log-db-connection-refused", want: report.Networking, sev: report.Error, in: "stopped"},
	{name: "database host unknown", lines: []string{`psycopg2.OperationalError: could not translate host name "db" to address: Name or service not known`},
		id: "log-dns-nxdomain", want: report.Networking, sev: report.Error, in: "docker-compose"},
	{name: "address in use", lines: []string{"ERROR:    [Errno 98] error while attempting to bind on address ('0.0.0.0', 8080): address already in use"},
		id: "log-address-in-use", want: report.Runtime, sev: report.Error, in: "0.0.0.0"},
	{name: "worker timeout then SIGKILL", lines: []string{
		"[2024-06-01 10:15:52 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:21)",
		"[2024-06-01 10:15:53 +0000] [1] [ERROR] Worker (pid:21) was sent SIGKILL! Perhaps out of memory?",
	}, id: "log-worker-timeout", want: report.Runtime, sev: report.Error, not: []string{"log-worker-sigkill"}},
	{name: "startup failed", lines: []string{"ERROR:    Application startup failed. Exiting."},
		id: "log-app-startup-failed", want: report.Runtime, sev: report.Error, in: "No known cause"},
	{name: "uvicorn on localhost", lines: []string{"INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)"},
		id: "log-listening-localhost", want: report.Runtime, sev: report.Warning, in: "127.0.0.1:8000"},
	{name: "other shared library", lines: []string{"ImportError: libGL.so.1: cannot open shared object file: No such file or directory"},
		id: "log-shared-lib-missing", want: report.Runtime, root: report.Build, sev: report.Error, in: "libGL.so.1"},
	{name: "Python.h missing", lines: []string{"      src/ujson.c:1:10: fatal error: Python.h: No such file or directory"},
		id: "log-python-headers-missing", want: report.Build, sev: report.Error},
	{name: "no distribution", lines: []string{
		"#8 2.113 ERROR: Could not find a version that satisfies the requirement fastapi==9.9.9 (from versions: 0.1.0, 0.115.0)",
		"#8 2.114 ERROR: No matching distribution found for fastapi==9.9.9",
	}, id: "log-no-matching-distribution", want: report.Build, sev: report.Error, in: "fastapi==9.9.9"},
	{name: "decouple", phase: report.Release, lines: []string{"decouple.UndefinedValueError: SECRET_KEY not found. Declare it as envvar or define a default value."},
		id: "log-env-missing", want: report.Release, root: report.Secrets, sev: report.Error},
	{name: "django-environ", lines: []string{"django.core.exceptions.ImproperlyConfigured: Set the DATABASE_URL environment variable"},
		id: "log-env-missing", want: report.Secrets, sev: report.Error, in: "DATABASE_URL"},
	{name: "release command exit status", lines: []string{"  | user command error: exit status 1"},
		id: "log-release-exit-status", want: report.Release, sev: report.Error, in: "status 1"},
	{name: "command not found in release", lines: []string{"Running grupo-gad release_command: alembic upgrade head", "/bin/sh: 1: alembic: not found"},
		id: "log-command-not-found", want: report.Release, sev: report.Error, in: "alembic"},
	{name: "exec not found at runtime", phase: report.Runtime, lines: []string{`Error: exec: "gunicorn": executable file not found in $PATH`},
		id: "log-command-not-found", want: report.Runtime, sev: report.Error, in: "gunicorn"},
	{name: "Fly OOM line", lines: []string{" INFO Process appears to have been OOM killed!"},
		id: "log-oom-killed", want: report.Runtime, sev: report.Error},
	{name: "init killed by signal", lines: []string{" INFO Main child exited with signal (with signal 'SIGKILL', core dumped? false)"},
		id: "log-main-child-exited", want: report.Runtime, sev: report.Error, in: "signal SIGKILL"},
	{name: "self-signed", lines: []string{"ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)"},
		id: "log-tls-untrusted", want: report.Networking, sev: report.Error, in: "self-signed"},
	{name: "migration at boot crashes", lines: []string{
		"INFO  [alembic.runtime.migration] Running upgrade 1b0ae3c5d2f1 -> ea3f2633a037, create incidents",
		" INFO Main child exited normally with code: 1",
	}, id: "log-main-child-exited", want: report.Release, sev: report.Error, in: "never finished"},
	{name: "migrations done, then the app crashes", lines: []string{
		"INFO  [alembic.runtime.migration] Running upgrade 1b0ae3c5d2f1 -> ea3f2633a037, create incidents",
		"INFO:     Started server process [1]",
		"ERROR:    Application startup failed. Exiting.",
	}, id: "log-app-startup-failed", want: report.Runtime, sev: report.Error},
	{name: "wheel build failed", lines: []string{"  ERROR: Failed building wheel for uwsgi"},
		id: "log-wheel-build-failed", want: report.Build, sev: report.Error, in: "uwsgi"},
	{name: "release context from options", phase: report.Release, lines: []string{"KeyError: 'DATABASE_URL'", `  File "<frozen os>", line 714, in __getitem__`},
		not: []string{"log-env-missing"}}, // the evidence comes after the KeyError: not read
	{name: "release context with evidence", phase: report.Release, lines: []string{
		`  File "/app/alembic/env.py", line 12, in <module>`,
		`    url = os.environ["DATABASE_URL"]`,
		"KeyError: 'DATABASE_URL'",
	}, id: "log-env-missing", want: report.Release, root: report.Secrets, sev: report.Error},
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestSignatures covers look-alikes, platform faults and the signatures
// that the corpus does not hold.
func TestSignatures(t *testing.T) {
	for _, tc := range sigCases {
		t.Run(tc.name, func(t *testing.T) {
			fs := diagnoseLines(t, Options{Phase: tc.phase, LogName: "deploy.log"}, tc.lines...)
			for _, id := range tc.not {
				if find(fs, id) != nil {
					t.Errorf("found %s, which this log is not: %v", id, rules(fs))
				}
			}
			if tc.id == "" {
				if len(fs) != 0 {
					t.Errorf("want no finding, got %v", rules(fs))
				}
				return
			}
			f := find(fs, tc.id)
			if f == nil {
				t.Fatalf("no %s finding; got %v", tc.id, rules(fs))
			}
			if f.Phase != tc.want || f.RootPhase != tc.root || f.Severity != tc.sev {
				t.Errorf("%s: phase %s root %q severity %s, want %s %q %s", tc.id, f.Phase, f.RootPhase, f.Severity, tc.want, tc.root, tc.sev)
			}
			if !strings.Contains(f.Message, tc.in) {
				t.Errorf("message lacks %q: %s", tc.in, f.Message)
			}
			if strings.Contains(f.Message+f.Title+f.Fix, "{$") {
				t.Errorf("unexpanded variable: %s / %s / %s", f.Title, f.Message, f.Fix)
			}
			if strings.Contains(f.Message, "s3cr3t") {
				t.Errorf("message quotes a secret: %s", f.Message)
			}
			if f.Platform != strings.HasPrefix(f.Fix, "Retry") {
				t.Errorf("platform %v but fix %q", f.Platform, f.Fix)
			}
		})
	}
}

// TestExit diagnoses machine exit events.
func TestExit(t *testing.T) {
	d := New(Options{})
	tests := []struct {
		x     Exit
		id    string
		phase report.PhaseName
	}{
		{Exit{OOMKilled: true, Code: 137, Machine: "148e272b0d3389"}, "log-oom-killed", report.Runtime},
		{Exit{Code: 127, Phase: report.Release}, "log-command-not-found", report.Release},
		{Exit{Code: 1, Phase: report.Release, Machine: "4d891e1f6e5e87"}, "log-process-exited", report.Release},
		{Exit{Signal: 9}, "log-process-exited", report.Runtime},
		{Exit{}, "", ""},
	}
	for _, tt := range tests {
		fs := d.Exit(tt.x)
		if tt.id == "" {
			if fs != nil {
				t.Errorf("%+v: want nothing, got %v", tt.x, rules(fs))
			}
			continue
		}
		if len(fs) != 1 || fs[0].Rule != tt.id || fs[0].Phase != tt.phase || fs[0].Severity != report.Error {
			t.Errorf("%+v: got %v, want %s in %s", tt.x, rules(fs), tt.id, tt.phase)
			continue
		}
		tested.Store(fs[0].Rule, true)
		if strings.Contains(fs[0].Message, "{$") || !strings.Contains(fs[0].Message, "exit event") {
			t.Errorf("message: %s", fs[0].Message)
		}
	}
}

// TestRedact checks that quoted lines never carry a secret value.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"RUN DATABASE_URL=postgres://app:pw@db/app python manage.py": "RUN DATABASE_URL=**** python manage.py",
		"connecting to postgres://app:hunter2@db.internal:5432/app":  "connecting to postgres://app:****@db.internal:5432/app",
		"SECRET_KEY: abc123def":                        "SECRET_KEY: ****",
		"flyctl deploy --access-token FlyV1 fm2_lJPEC": "flyctl deploy --access-token ****",
		"KeyError: 'SECRET_KEY'":                       "KeyError: 'SECRET_KEY'",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCatalog checks the default catalog's shape.
func TestCatalog(t *testing.T) {
	c := Default()
	valid := []report.PhaseName{report.Build, report.Release, report.Runtime, report.Networking, report.Secrets, report.Deploy, report.Verify}
	for _, s := range c.Signatures() {
		if !strings.HasPrefix(s.ID, "log-") {
			t.Errorf("%s: ids start with log-", s.ID)
		}
		if !slices.Contains(valid, s.Phase) || (s.RootPhase != "" && !slices.Contains(valid, s.RootPhase)) {
			t.Errorf("%s: phase %q root %q", s.ID, s.Phase, s.RootPhase)
		}
		if s.Platform && !strings.HasPrefix(s.Fix, "Retry") {
			t.Errorf("%s: a platform fault's fix starts with Retry: %s", s.ID, s.Fix)
		}
		if s.Derived && len(s.Literals) > 0 {
			t.Errorf("%s: derived signatures have no literals", s.ID)
		}
	}
	if _, err := NewCatalog([]*Signature{{ID: "x", Phase: report.Build, Severity: report.Error, Title: "t", Cause: "c", Fix: "f"}}, nil); err == nil {
		t.Error("a signature without literals is accepted")
	}
	if _, err := NewCatalog([]*Signature{buildSigs()[0], buildSigs()[0]}, nil); err == nil {
		t.Error("a duplicate id is accepted")
	}
}

// TestEverySignatureTested checks that the corpus or a case of this file
// reaches every signature of the catalog.
func TestEverySignatureTested(t *testing.T) {
	TestCorpusRecord(t)
	for _, tc := range sigCases {
		diagnoseLines(t, Options{Phase: tc.phase}, tc.lines...)
	}
	New(Options{}).Exit(Exit{Code: 1})
	tested.Store("log-process-exited", true)
	for _, s := range Default().Signatures() {
		if _, ok := tested.Load(s.ID); !ok {
			t.Errorf("no test diagnoses %s", s.ID)
		}
	}
}

// TestCorpusRecord records the signatures the corpus logs reach.
func TestCorpusRecord(t *testing.T) {
	for _, lines := range corpusLines(t) {
		diagnoseLines(t, Options{}, lines...)
	}
}

var update = flag.Bool("update", false, "rewrite testdata/catalog.txt from the catalog")

// TestCatalogDoc keeps testdata/catalog.txt, the catalog as a table (id,
// phase, root phase, severity, title, corpus excerpts it explains), in step
// with the code. Run with -update after changing the catalog.
func TestCatalogDoc(t *testing.T) {
	excerpts := map[string][]string{}
	for file, w := range corpusWant {
		excerpts[w.id] = append(excerpts[w.id], strings.TrimSuffix(file, ".log"))
	}
	var b strings.Builder
	b.WriteString("# The log-signature catalog (generated by TestCatalogDoc; go test -run TestCatalogDoc -update).\n")
	b.WriteString("# id\tphase\troot\tseverity\tplatform\ttitle\tcorpus excerpts\n")
	for _, s := range Default().Signatures() {
		ex := excerpts[s.ID]
		slices.Sort(ex)
		platform := ""
		if s.Platform {
			platform = "platform"
		}
		root := ""
		if s.RootPhase != s.Phase {
			root = string(s.RootPhase)
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Phase, root, s.Severity, platform, s.Title, strings.Join(ex, " "))
	}
	const path = "testdata/catalog.txt"
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != b.String() {
		t.Errorf("%s is out of date: run go test -run TestCatalogDoc -update", path)
	}
}
