package flytoml

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// corpusFiles returns the real fly.toml files of the shared corpus, by name
// relative to the corpus folder.
func corpusFiles(t testing.TB) (string, []string) {
	t.Helper()
	dir := testutil.CorpusDir(t, "flytoml")
	var names []string
	for _, pattern := range []string{"*.toml", "flyctl-testdata/*.toml"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(dir, f)
			names = append(names, filepath.ToSlash(rel))
		}
	}
	if len(names) < 90 {
		t.Fatalf("found %d fly.toml files in %s, want the whole corpus", len(names), dir)
	}
	return dir, names
}

func load(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseFile(t testing.TB, path string) (*Config, []report.Finding) {
	t.Helper()
	return Parse(filepath.Base(path), load(t, path))
}

func corpusPath(t testing.TB, name string) string {
	return filepath.Join(testutil.CorpusDir(t, "flytoml"), filepath.FromSlash(name))
}

// corpusErrors are the error findings expected on the corpus, as
// "rule@line". Every other corpus file must give none.
var corpusErrors = map[string][]string{
	// `processes = []` then a [processes] table: not valid TOML.
	"ricardosiri68__fly-django-demo__fly.toml": {"fly-toml-syntax@18"},
	// [[services.concurrency]]: flyctl's patch stops with "Unknown type for
	// service concurrency: []interface {}".
	"00-ld__homework-system__fly.toml": {"fly-toml-type@27"},
	// memory = '256Mi': go-units (what flyctl uses) refuses the "mi" suffix.
	"Aeonia-ai__gaia__fly.nats.dev.toml": {"fly-toml-type@43"},
	// flyctl's own "always invalid" fixture: concurrency = 20.
	"flyctl-testdata/superfly__flyctl__testdata__always-invalid-v2.toml": {"fly-toml-type@24"},
}

func TestCorpus(t *testing.T) {
	dir, names := corpusFiles(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cfg, findings := Parse(name, load(t, filepath.Join(dir, name)))
			var errs []string
			for _, f := range findings {
				if f.File != name || f.Line < 1 || f.Column < 1 || f.EndLine < f.Line {
					t.Errorf("finding with a bad location: %+v", f)
				}
				if f.Message == "" || f.Fix == "" || f.Title == "" {
					t.Errorf("finding without title, message or fix: %+v", f)
				}
				switch f.Severity {
				case report.Error:
					errs = append(errs, fmt.Sprintf("%s@%d", f.Rule, f.Line))
				default:
					t.Logf("%s %s:%d:%d %s: %s", f.Severity, f.File, f.Line, f.Column, f.Rule, f.Message)
				}
			}
			if want := corpusErrors[name]; !slices.Equal(errs, want) {
				for _, f := range findings {
					t.Logf("%s:%d:%d %s %s: %s", f.File, f.Line, f.Column, f.Severity, f.Rule, f.Message)
				}
				t.Errorf("errors = %v, want %v", errs, want)
			}
			if cfg == nil {
				t.Fatalf("no config recovered")
			}
			// The convenience methods must work on every file.
			_ = cfg.AllServices()
			_ = cfg.AllChecks()
			for _, p := range cfg.ProcessNames() {
				_ = cfg.VMFor(p)
			}
		})
	}
}

func TestSyntaxErrorDuplicateProcesses(t *testing.T) {
	cfg, findings := parseFile(t, corpusPath(t, "ricardosiri68__fly-django-demo__fly.toml"))
	if len(findings) != 1 {
		t.Fatalf("findings = %+v, want exactly one", findings)
	}
	f := findings[0]
	if f.Rule != RuleSyntax || f.Severity != report.Error || f.Line != 18 {
		t.Errorf("finding = %+v, want %s error at line 18", f, RuleSyntax)
	}
	if !strings.Contains(f.Message, "`processes` is defined twice (first at line 6)") {
		t.Errorf("message = %q", f.Message)
	}
	if !strings.Contains(f.Fix, "processes = []") {
		t.Errorf("fix = %q, want it to name the leftover `processes = []`", f.Fix)
	}
	// The rest of the file is recovered.
	if cfg == nil || cfg.App.V != "fly-django-demo" || len(cfg.Services) != 1 || cfg.Services[0].InternalPort.V != 8000 {
		t.Fatalf("recovered config = %+v", cfg)
	}
	if got := cfg.ProcessNames(); !slices.Equal(got, []string{"app"}) {
		t.Errorf("ProcessNames = %v", got)
	}
}

// TestTestdataOK checks that the quirks flyctl accepts load silently.
func TestTestdataOK(t *testing.T) {
	files, _ := filepath.Glob("testdata/ok/*.toml")
	if len(files) == 0 {
		t.Fatal("no testdata/ok files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, findings := parseFile(t, f)
			for _, x := range findings {
				t.Errorf("unexpected finding %s:%d:%d %s %s: %s", x.File, x.Line, x.Column, x.Severity, x.Rule, x.Message)
			}
			if cfg == nil {
				t.Fatal("nil config")
			}
		})
	}
}

var wantRe = regexp.MustCompile(`# want: ([a-z0-9 -]+)`)

// TestTestdataErr checks the findings of each testdata/err file against the
// `# want: RULE...` annotations on its lines.
func TestTestdataErr(t *testing.T) {
	files, _ := filepath.Glob("testdata/err/*.toml")
	if len(files) == 0 {
		t.Fatal("no testdata/err files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := load(t, f)
			var want []string
			for i, line := range strings.Split(string(data), "\n") {
				if m := wantRe.FindStringSubmatch(line); m != nil {
					for _, rule := range strings.Fields(m[1]) {
						want = append(want, fmt.Sprintf("%d:%s", i+1, rule))
					}
				}
			}
			_, findings := Parse(filepath.Base(f), data)
			var got []string
			for _, x := range findings {
				got = append(got, fmt.Sprintf("%d:%s", x.Line, x.Rule))
				t.Logf("%s:%d:%d %s %s: %s | %s", x.File, x.Line, x.Column, x.Severity, x.Rule, x.Message, x.Fix)
			}
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("findings = %v\nwant        %v", got, want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	tests := []struct {
		file, rule string
		line       int
		message    string
	}{
		{"err/types.toml", RuleType, 13, "`internal_port` in [http_service] must be a whole number, but it is a string (\"eight\")"},
		{"err/types.toml", RuleType, 14, "`force_https` in [http_service] must be true or false"},
		{"err/types.toml", RuleType, 31, "flyctl cannot read \"256Mi\""},
		{"err/unknown.toml", RuleUnknownKey, 2, "unknown key `primary_regoin` at the top level; flyctl ignores it (did you mean `primary_region`?)"},
		{"err/unknown.toml", RuleUnknownKey, 6, "unknown key `target` in [build]; flyctl ignores it (flyctl's key for the Dockerfile stage is `build-target`)"},
		{"err/unknown.toml", RuleUnknownKey, 14, "(did you mean `force_https`?)"},
		{"err/unknown.toml", RuleUnknownKey, 16, "unknown section `[http_service.timeout]` in [http_service]"},
		{"err/unknown.toml", RuleUnknownKey, 25, "unknown key `handler` in [[services.ports]]"},
		{"err/unknown.toml", RuleUnknownKey, 30, "`kill_timeout` is written below the [[vm]] header"},
		{"err/unknown.toml", RuleUnknownKey, 32, "unknown section `[foo]` at the top level"},
		{"err/duplicate.toml", RuleSyntax, 7, "key `release_command` in `[deploy]` is defined twice (first at line 6)"},
		{"err/duplicate.toml", RuleSyntax, 9, "key `processes` is defined twice (first at line 3)"},
		{"err/grammar.toml", RuleSyntax, 1, "fly.toml is not valid TOML: "},
		{"err/no-unit.toml", RuleType, 4, "`wait_timeout = 300` in [deploy] has no unit, so flyctl reads it as 300ns"},
		{"err/no-unit.toml", RuleType, 7, "`PYTHON_VERSION = 3.10` in [env] is a number, so flyctl passes it to the app as \"3.1\""},
		{"err/no-unit.toml", RuleType, 14, "so flyctl reads it as 10µs"},
		{"err/concurrency-array.toml", RuleType, 11, "`[[services.concurrency]]` declares an array of tables"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s:%d", tt.file, tt.line), func(t *testing.T) {
			_, findings := parseFile(t, filepath.Join("testdata", tt.file))
			for _, f := range findings {
				if f.Line == tt.line && f.Rule == tt.rule {
					if !strings.Contains(f.Message, tt.message) {
						t.Errorf("message = %q, want it to contain %q", f.Message, tt.message)
					}
					return
				}
			}
			t.Errorf("no %s finding at line %d in %v", tt.rule, tt.line, findings)
		})
	}
}

func TestRecovery(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		want  []string // rule@line of every finding
		check func(t *testing.T, c *Config)
	}{
		{"unterminated string", string(load(t, "testdata/err/grammar.toml")), []string{"fly-toml-syntax@1"}, func(t *testing.T, c *Config) {
			eq(t, "InternalPort", c.HTTPService.InternalPort.V, 8080)
			eq(t, "PrimaryRegion", c.PrimaryRegion.V, "iad")
			eq(t, "App.Set (its line is broken)", c.App.Set, false)
		}},
		{"broken multi-line array", "app = \"x\"\na = [\n  1,\n  x\n]\n[deploy]\n  strategy = \"rolling\"\n", []string{"fly-toml-syntax@4"}, func(t *testing.T, c *Config) {
			eq(t, "Strategy", c.Deploy.Strategy.V, "rolling")
			eq(t, "Strategy line", c.Deploy.Strategy.Loc.Line, 7)
		}},
		{"broken header takes its section", "app = \"x\"\n[http_service\n  internal_port = 80\n[deploy]\n  strategy = \"rolling\"\n", []string{"fly-toml-syntax@2"}, func(t *testing.T, c *Config) {
			eq(t, "HTTPService", c.HTTPService == nil, true)
			eq(t, "Strategy", c.Deploy.Strategy.V, "rolling")
		}},
		{"byte order mark", "\ufeffapp = \"x\"\n", []string{"fly-toml-syntax@1"}, func(t *testing.T, c *Config) {
			eq(t, "App", c.App.V, "x")
		}},
		{"crlf", "app = \"x\"\r\n[http_service]\r\n  internal_port = 80\r\n", nil, func(t *testing.T, c *Config) {
			eq(t, "InternalPort", c.HTTPService.InternalPort.V, 80)
			eq(t, "InternalPort loc", c.HTTPService.InternalPort.Loc.String(), "fly.toml:3:3")
		}},
		{"empty", "", nil, func(t *testing.T, c *Config) {
			eq(t, "ProcessNames", c.ProcessNames(), []string{"app"})
			eq(t, "AllServices", len(c.AllServices()), 0)
		}},
		{"env list of strings", "env = [\"A=B\"]\n", []string{"fly-toml-type@1"}, func(t *testing.T, c *Config) {
			eq(t, "Env", len(c.Env), 0)
		}},
		{"top-level processes list", "processes = [\"web\"]\n", []string{"fly-toml-type@1"}, func(t *testing.T, c *Config) {
			eq(t, "ProcessNames", c.ProcessNames(), []string{"app"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, findings := Parse("fly.toml", []byte(tt.data))
			var got []string
			for _, f := range findings {
				got = append(got, fmt.Sprintf("%s@%d", f.Rule, f.Line))
				t.Logf("%s:%d:%d %s %s: %s", f.File, f.Line, f.Column, f.Severity, f.Rule, f.Message)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings = %v, want %v", got, tt.want)
			}
			if c == nil {
				t.Fatal("nil config")
			}
			tt.check(t, c)
		})
	}
}

func TestUnrecoverable(t *testing.T) {
	tests := map[string]string{
		"not utf-8": "app = \"\xff\xfe\"\n",
		"only junk": strings.Repeat("= = =\n", maxRepairs+2),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, findings := Parse("fly.toml", []byte(data))
			if len(findings) == 0 || findings[0].Rule != RuleSyntax || findings[0].Severity != report.Error {
				t.Fatalf("findings = %+v, want a syntax error", findings)
			}
			_ = cfg.AllServices() // nil-safe
			_ = cfg.AllChecks()
			_ = cfg.VMFor("app")
			if got := cfg.ProcessNames(); !slices.Equal(got, []string{"app"}) {
				t.Errorf("ProcessNames on nil = %v", got)
			}
			if _, ok := cfg.Loc("app"); ok {
				t.Errorf("Loc on an unrecovered config answered")
			}
		})
	}
}

// TestPositions checks the key path map against hand-counted positions.
func TestPositions(t *testing.T) {
	ace := corpusPath(t, "DannyMac180__ace-platform__fly.toml")
	modern := "testdata/ok/modern.toml"
	kent := corpusPath(t, "kentcdodds__kentcdodds.com__fly.toml")
	gpu := corpusPath(t, "fly-apps__python_gpu_example__fly.toml")
	globe := corpusPath(t, "2004-maste__globe-news-backend__fly.toml")
	tests := []struct {
		file, path         string
		line, col, endLine int
	}{
		{ace, "app", 16, 1, 16},
		{ace, "deploy.release_command", 79, 3, 79},
		{ace, "deploy", 77, 1, 80},
		{ace, "http_service", 54, 1, 72},
		{ace, "http_service.checks[0]", 67, 3, 72},
		{ace, "http_service.checks[0].path", 72, 5, 72},
		{ace, "http_service.concurrency.soft_limit", 64, 5, 64},
		{ace, "processes.worker", 35, 3, 35},
		{ace, "vm[2]", 98, 1, 101},
		{ace, "vm[2].memory", 100, 3, 100},
		{ace, "vm[3].processes[0]", 107, 16, 107},
		{ace, "vm", 86, 1, 107},
		{modern, "services[1].ports[0].port", 91, 5, 91},
		{modern, "services[1].ports[1].start_port", 94, 5, 94},
		{modern, "services[0].tcp_checks[0].interval", 81, 5, 81},
		{modern, "services[1]", 85, 1, 95},
		{modern, "deploy.release_command_vm.memory", 27, 5, 27},
		{modern, `env."DOTTED.NAME"`, 33, 3, 33},
		{modern, "http_service.checks[0].headers.X-Health", 69, 7, 69},
		{modern, "http_service.http_options.response.headers.X-Frame-Options", 59, 7, 59},
		{modern, "checks.db_reachable.port", 99, 3, 99},
		{modern, "vm[1].memory", 113, 3, 113},
		{kent, "vm.memory_mb", 19, 3, 19},
		{kent, "vm[0].memory_mb", 19, 3, 19}, // a [vm] table answers as vm[0] too
		{gpu, "vm.size", 3, 1, 3},
		{globe, "services.ports[1].port", 32, 5, 32},
		{globe, "services[0].ports[1].port", 32, 5, 32},
	}
	cache := map[string]*Config{}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file)+"/"+tt.path, func(t *testing.T) {
			cfg, ok := cache[tt.file]
			if !ok {
				cfg, _ = parseFile(t, tt.file)
				cache[tt.file] = cfg
			}
			loc, ok := cfg.Loc(tt.path)
			if !ok {
				t.Fatalf("Loc(%q) not found", tt.path)
			}
			if loc.File != filepath.Base(tt.file) || loc.Line != tt.line || loc.Column != tt.col || loc.EndLine != tt.endLine {
				t.Errorf("Loc(%q) = %+v, want %d:%d-%d", tt.path, loc, tt.line, tt.col, tt.endLine)
			}
		})
	}
}

// TestModel checks what the model holds for real files and quirks.
func TestModel(t *testing.T) {
	fixture := func(name string) string {
		return corpusPath(t, "flyctl-testdata/superfly__flyctl__testdata__"+name+".toml")
	}
	tests := []struct {
		name  string
		file  string
		check func(t *testing.T, c *Config)
	}{
		{"ace-platform four vms per process", corpusPath(t, "DannyMac180__ace-platform__fly.toml"), func(t *testing.T, c *Config) {
			eq(t, "ProcessNames", c.ProcessNames(), []string{"api", "mcp", "worker", "beat"})
			eq(t, "KillTimeout", c.KillTimeout.V, 30*time.Second)
			eq(t, "ReleaseCommand", c.Deploy.ReleaseCommand.V, "alembic upgrade head")
			eq(t, "worker memory", c.VMFor("worker").Memory.V, 1024)
			eq(t, "beat memory", c.VMFor("beat").Memory.V, 256)
			eq(t, "api memory loc", c.VMFor("api").Memory.Loc.Line, 88)
			if c.VMFor("nope") != nil {
				t.Errorf("VMFor(nope) should be nil: every vm names its processes")
			}
			eq(t, "DefaultProcess (no app group: first by name)", c.DefaultProcess(), "api")
			eq(t, "Build.Target.Set", c.Build.Target.Set, false)
			svcs := c.AllServices()
			eq(t, "AllServices", len(svcs), 1)
			eq(t, "http ports", []int{svcs[0].Ports[0].Port.V, svcs[0].Ports[1].Port.V}, []int{80, 443})
			eq(t, "port 80 force_https", svcs[0].Ports[0].ForceHTTPS.V, true)
			checks := c.AllChecks()
			eq(t, "AllChecks", len(checks), 1)
			eq(t, "check where", checks[0].Where, "[[http_service.checks]] #1")
			eq(t, "check grace", checks[0].GracePeriod.V, 30*time.Second)
			eq(t, "check port", checks[0].ServicePort.V, 8000)
			eq(t, "check loc", checks[0].Loc.Line, 67)
			eq(t, "check path loc", checks[0].Path.Loc.Line, 72)
			eq(t, "autostop", c.HTTPService.AutoStopMachines.V, "stop")
		}},
		{"kentcdodds [vm] table and old checks", corpusPath(t, "kentcdodds__kentcdodds.com__fly.toml"), func(t *testing.T, c *Config) {
			eq(t, "VMs", len(c.VMs), 1)
			eq(t, "memory_mb", c.VMFor("app").Memory.V, 4096)
			eq(t, "KillTimeout", c.KillTimeout.V, 5*time.Second)
			s := c.Services[0]
			eq(t, "tcp grace", s.TCPChecks[0].GracePeriod.V, 10*time.Second)
			eq(t, "http grace", s.HTTPChecks[0].GracePeriod.V, time.Minute)
			eq(t, "http path", s.HTTPChecks[0].Path.V, "/healthcheck")
			eq(t, "where", s.HTTPChecks[0].Where, "[[services.http_checks]] #1")
			eq(t, "scope", s.HTTPChecks[0].Scope, ScopeServices)
			eq(t, "statics", len(c.Statics), 5)
			eq(t, "concurrency", s.Concurrency.HardLimit.V, 200)
		}},
		{"globe-news ports without services", corpusPath(t, "2004-maste__globe-news-backend__fly.toml"), func(t *testing.T, c *Config) {
			eq(t, "Services", len(c.Services), 1)
			eq(t, "ports", len(c.Services[0].Ports), 2)
			eq(t, "internal_port set", c.Services[0].InternalPort.Set, false)
			eq(t, "autostop false", c.HTTPService.AutoStopMachines.V, "off")
			eq(t, "buildpacks", c.Build.Buildpacks, []string{"gcr.io/paketo-buildpacks/python"})
			eq(t, "vm memory", c.VMs[0].Memory.V, 256)
			eq(t, "AllServices", len(c.AllServices()), 2)
		}},
		{"gaia http_checks without services", corpusPath(t, "Aeonia-ai__gaia__fly.toml"), func(t *testing.T, c *Config) {
			eq(t, "Services", len(c.Services), 1)
			eq(t, "checks", len(c.Services[0].HTTPChecks), 1)
			eq(t, "path", c.Services[0].HTTPChecks[0].Path.V, "/health")
			eq(t, "autostop", c.HTTPService.AutoStopMachines.V, "suspend")
			eq(t, "memory", c.VMs[0].Memory.V, 2048)
			eq(t, "AllChecks", len(c.AllChecks()), 1)
		}},
		{"postgres-flex top-level checks", corpusPath(t, "fly-apps__postgres-flex__fly.toml"), func(t *testing.T, c *Config) {
			var names []string
			for _, ch := range c.Checks {
				names = append(names, ch.Name)
			}
			eq(t, "check names", names, []string{"pg", "vm", "role"})
			eq(t, "pg port", c.Checks[0].Port.V, 5500)
			eq(t, "pg type", c.Checks[0].Type.V, "http")
			eq(t, "pg where", c.Checks[0].Where, "[checks.pg]")
			eq(t, "vm interval", c.Checks[1].Interval.V, time.Minute)
			eq(t, "metrics", c.Metrics[0].Port.V, 9187)
			eq(t, "ProcessNames", c.ProcessNames(), []string{"app"})
			eq(t, "App set", c.App.Set, false)
		}},
		{"gpu example dotted vm and [mounts]", corpusPath(t, "fly-apps__python_gpu_example__fly.toml"), func(t *testing.T, c *Config) {
			eq(t, "vm size", c.VMs[0].Size.V, "a100-40gb")
			eq(t, "mounts", len(c.Mounts), 1)
			eq(t, "mount dest", c.Mounts[0].Destination.V, "/home/pythonuser")
			eq(t, "swap", c.SwapSizeMB.V, 32768)
			eq(t, "args", c.Build.ArgKeys, []string{"NONROOT_USER"})
		}},
		{"flirtual [[restart]]", corpusPath(t, "flirtual__flirtual__apps__image-classification__fly.toml"), func(t *testing.T, c *Config) {
			eq(t, "restarts", len(c.Restarts), 1)
			eq(t, "policy", c.Restarts[0].Policy.V, "always")
		}},
		{"flyctl full reference", fixture("full-reference"), func(t *testing.T, c *Config) {
			eq(t, "KillTimeout", c.KillTimeout.V, 3*time.Second)
			eq(t, "MaxUnavailable", c.Deploy.MaxUnavailable.V, 0.2)
			eq(t, "ReleaseCommandTimeout", c.Deploy.ReleaseCommandTimeout.V, 3*time.Minute)
			eq(t, "release vm memory", c.Deploy.ReleaseCommandVM.Memory.V, 8192)
			eq(t, "vm0 memory (memory_mb wins)", c.VMs[0].Memory.V, 8192)
			eq(t, "vm1 memory", c.VMs[1].Memory.V, 4096)
			eq(t, "Target", c.Build.Target.V, "target")
			eq(t, "args", c.Build.ArgKeys, []string{"param1", "param2"})
			eq(t, "ports", []int{c.Services[0].Ports[0].StartPort.V, c.Services[0].Ports[0].EndPort.V}, []int{100, 200})
			eq(t, "AllChecks", len(c.AllChecks()), 5)
			eq(t, "status check", c.Checks[0].Name+" "+c.Checks[0].Path.V, "status /status")
			eq(t, "headers", c.Checks[0].Headers["Content-Type"], "application/json")
			eq(t, "http_service check interval", c.HTTPService.Checks[0].Interval.V, 81*time.Second)
			eq(t, "tls alpn", c.HTTPService.TLSOptions.ALPN, []string{"h2", "http/1.1"})
			eq(t, "processes", c.ProcessNames(), []string{"web", "task"})
			eq(t, "metrics", len(c.Metrics), 2)
			eq(t, "files", len(c.Files), 3)
			eq(t, "experimental cmd", c.Experimental.Cmd, []string{"cmd"})
		}},
		{"flyctl old format", fixture("old-format"), func(t *testing.T, c *Config) {
			s := c.Services[0]
			eq(t, "internal_port from string", s.InternalPort.V, 8080)
			eq(t, "port from string", s.Ports[0].Port.V, 80)
			eq(t, "concurrency from string", []int{s.Concurrency.SoftLimit.V, s.Concurrency.HardLimit.V}, []int{12, 23})
			eq(t, "autostop false", s.AutoStopMachines.V, "off")
			eq(t, "tcp interval in ms", s.TCPChecks[0].Interval.V, 10*time.Second)
			eq(t, "tcp timeout in ms", s.TCPChecks[0].Timeout.V, 2*time.Second)
			eq(t, "tcp interval string", s.TCPChecks[1].Interval.V, 20*time.Second)
			eq(t, "headers list", s.HTTPChecks[0].Headers, map[string]string{"origin": "http://localhost:8000"})
			eq(t, "headers table", s.HTTPChecks[1].Headers, map[string]string{"fly-healthcheck": "1", "metoo": "true", "astring": "string"})
			eq(t, "empty grace dropped", s.HTTPChecks[1].GracePeriod.Set, false)
			eq(t, "env number", c.Env["BAR"].V, "123")
			eq(t, "build_target", c.Build.Target.V, "thalayer")
			eq(t, "[mount]", c.Mounts[0].Source.V, "data")
			eq(t, "[metrics]", c.Metrics[0].Port.V, 9999)
			eq(t, "[[processes]] empty", c.ProcessNames(), []string{"app"})
		}},
		{"flyctl experimental alt", fixture("experimental-alt"), func(t *testing.T, c *Config) {
			eq(t, "KillTimeout from experimental", c.KillTimeout.V, 3*time.Second)
			eq(t, "metrics from experimental", []any{c.Metrics[0].Port.V, c.Metrics[0].Path.V}, []any{9000, "/foo"})
			eq(t, "cmd from string", c.Experimental.Cmd, []string{"cmd"})
		}},
		{"flyctl old processes", fixture("old-processes"), func(t *testing.T, c *Config) {
			eq(t, "ProcessNames", c.ProcessNames(), []string{"web", "worker"})
			eq(t, "worker", c.Processes["worker"].V, "./worker")
		}},
		{"flyctl env list", fixture("env-list"), func(t *testing.T, c *Config) {
			eq(t, "EnvKeys", c.EnvKeys, []string{"FOO", "TWO", "TRUE"})
			eq(t, "TWO", c.Env["TWO"].V, "2")
			eq(t, "TRUE", c.Env["TRUE"].V, "true")
		}},
		{"flyctl empty service", fixture("services-emptysection"), func(t *testing.T, c *Config) {
			eq(t, "Services", len(c.Services), 0)
		}},
		{"modern", "testdata/ok/modern.toml", func(t *testing.T, c *Config) {
			eq(t, "Target", c.Build.Target.V, "runtime")
			eq(t, "WaitTimeout", c.Deploy.WaitTimeout.V, 5*time.Minute)
			eq(t, "EnvKeys", c.EnvKeys, []string{"ENVIRONMENT", "PORT", "LOG_LEVEL", "DOTTED.NAME"})
			eq(t, "VMFor app", c.VMFor("app").Memory.V, 512)
			eq(t, "VMFor worker", c.VMFor("worker").Memory.V, 2048)
			eq(t, "VMFor other (vm without processes)", c.VMFor("other").Memory.V, 256)
			eq(t, "VMFor default", c.VMFor("").Memory.V, 512)
			eq(t, "DefaultProcess", c.DefaultProcess(), "app")
			eq(t, "services", len(c.Services), 2)
			eq(t, "AllServices", len(c.AllServices()), 3)
			eq(t, "AllServices[0] from http_service", c.AllServices()[0].FromHTTPService, true)
			eq(t, "udp", c.Services[1].Protocol.V, "udp")
			checks := c.AllChecks()
			var where []string
			for _, ch := range checks {
				where = append(where, ch.Where)
			}
			eq(t, "AllChecks", where, []string{"[[http_service.checks]] #1", "[[services.tcp_checks]] #1 of [[services]] #1", "[checks.db_reachable]"})
			eq(t, "top check type", checks[2].Type.V, "tcp")
			eq(t, "tcp check port", checks[1].ServicePort.V, 9090)
			eq(t, "mount size", c.Mounts[0].InitialSize.V, "1gb")
		}},
		{"legacy", "testdata/ok/legacy.toml", func(t *testing.T, c *Config) {
			eq(t, "KillTimeout int is seconds", c.KillTimeout.V, 5*time.Second)
			eq(t, "env", c.Env["PORT"].V, "8080")
			eq(t, "tcp interval ms", c.Services[0].TCPChecks[0].Interval.V, 15*time.Second)
			eq(t, "mount size", c.Mounts[0].InitialSize.V, "10")
			eq(t, "ProcessNames", c.ProcessNames(), []string{"app"})
		}},
		{"vm table", "testdata/ok/vm-table.toml", func(t *testing.T, c *Config) {
			eq(t, "size", c.VMFor("app").Size.V, "performance-1x")
			eq(t, "autostop true", c.HTTPService.AutoStopMachines.V, "stop")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, findings := parseFile(t, tt.file)
			if c == nil {
				t.Fatalf("nil config, findings %+v", findings)
			}
			tt.check(t, c)
		})
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestVMFor(t *testing.T) {
	tests := []struct {
		name, data, group string
		wantLine          int // line of the chosen [[vm]]; 0 for none
	}{
		{"generic only", "[[vm]]\nsize = 'a'\n", "app", 1},
		{"named wins over an earlier generic", "[[vm]]\nsize = 'a'\n[[vm]]\nprocesses = ['web']\n", "web", 3},
		{"named wins over a later generic", "[[vm]]\nprocesses = ['web']\n[[vm]]\nsize = 'a'\n", "web", 1},
		{"last named wins", "[[vm]]\nprocesses = ['web']\n[[vm]]\nprocesses = ['web']\n", "web", 3},
		{"other group falls back to generic", "[[vm]]\nprocesses = ['web']\n[[vm]]\nsize = 'a'\n", "worker", 3},
		{"no match", "[[vm]]\nprocesses = ['web']\n", "worker", 0},
		{"empty group is the default one", "[processes]\nweb = 'x'\nworker = 'y'\n[[vm]]\nprocesses = ['worker']\n[[vm]]\nprocesses = ['web']\n", "", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, findings := Parse("fly.toml", []byte(tt.data))
			if len(findings) > 0 {
				t.Fatalf("findings: %+v", findings)
			}
			vm := c.VMFor(tt.group)
			switch {
			case vm == nil && tt.wantLine != 0:
				t.Errorf("VMFor(%q) = nil, want the [[vm]] at line %d", tt.group, tt.wantLine)
			case vm != nil && vm.Loc.Line != tt.wantLine:
				t.Errorf("VMFor(%q) is the [[vm]] at line %d, want %d", tt.group, vm.Loc.Line, tt.wantLine)
			}
		})
	}
}

func TestParseMemoryMB(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"512", 512, true},
		{"512mb", 512, true},
		{"512MB", 512, true},
		{"1gb", 1024, true},
		{"1GB", 1024, true},
		{"8g", 8192, true},
		{"2GiB", 2048, true},
		{"1.5gb", 1536, true},
		{"2 GB", 2048, true},
		{"256Mi", 0, false},
		{"lots", 0, false},
		{"1gbb", 0, false},
	}
	for _, tt := range tests {
		got, err := parseMemoryMB(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseMemoryMB(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	eq(t, "stripIndexes", stripIndexes(`services[1].ports[0].port`), "services.ports.port")
	eq(t, "stripIndexes quoted", stripIndexes(`env."A[1]"`), `env."A[1]"`)
	eq(t, "parentPath index", parentPath("vm[2]"), "vm")
	eq(t, "parentPath key", parentPath("vm[2].memory"), "vm[2]")
	eq(t, "parentPath quoted", parentPath(`env."A.B"`), "env")
	eq(t, "parentPath top", parentPath("app"), "")
	eq(t, "sectionName", sectionName("services[0].ports[1]"), "[[services.ports]]")
	eq(t, "joinKey", joinKey("env", "A.B"), `env."A.B"`)
}

func BenchmarkParseCorpus(b *testing.B) {
	dir, names := corpusFiles(b)
	var files [][]byte
	size := 0
	for _, n := range names {
		data := load(b, filepath.Join(dir, n))
		files = append(files, data)
		size += len(data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for i, data := range files {
			Parse(names[i], data)
		}
	}
}

func FuzzParse(f *testing.F) {
	dir := testutil.CorpusDir(f, "flytoml")
	for _, pattern := range []string{"*.toml", "flyctl-testdata/*.toml"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, p := range m {
			f.Add(load(f, p))
		}
	}
	for _, pattern := range []string{"testdata/ok/*.toml", "testdata/err/*.toml"} {
		m, _ := filepath.Glob(pattern)
		for _, p := range m {
			f.Add(load(f, p))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, findings := Parse("fly.toml", data)
		if cfg == nil && len(findings) == 0 {
			t.Fatal("nil config without a finding")
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, x := range findings {
			if x.File != "fly.toml" || x.Line < 1 || x.Line > lines || x.Column < 1 || x.EndLine < x.Line {
				t.Fatalf("bad location %+v (%d lines)", x.Location, lines)
			}
		}
		_ = cfg.AllServices()
		_ = cfg.AllChecks()
		for _, p := range cfg.ProcessNames() {
			_ = cfg.VMFor(p)
		}
	})
}
