package diagnose

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Runtime: the machines start but crash, never pass their health checks,
// or run out of memory.

func runtimeSigs() []*Signature {
	return []*Signature{
		{
			ID: "log-health-timeout", Phase: report.Runtime, Severity: report.Error, Symptom: true, MigrationAware: true,
			Literals: []string{"timeout reached waiting for health checks to pass", "timeout reached waiting for healthchecks to pass"},
			Patterns: res(`timeout reached waiting for health ?checks to pass for machine (?P<machine>\S+)`, `timeout reached waiting for health ?checks to pass`),
			Title:    "health checks never passed",
			Cause:    "The machine did not pass its health checks before flyctl's wait timeout{$gone}",
			Fix:      "Read the machine's log before this line (`fly logs -a <app>`): the app crashed at start, listens on another address or port than internal_port, or starts more slowly than the check's grace_period. Raise grace_period or `--wait-timeout` only for a slow start.",
			Refine: func(m *Match) bool {
				if strings.Contains(m.Text, "failed to get VM") {
					m.Set("gone", "; flyctl then could not even read the machine's state (it had stopped)")
				}
				return true
			},
			Point: pointHealthCheck,
		},
		{
			ID: "log-no-healthy-instances", Phase: report.Runtime, Severity: report.Error, Symptom: true,
			Literals: []string{"no known healthy instances found for route"},
			Patterns: res(`no known healthy instances found for route (?P<route>\S+)`),
			Title:    "no healthy machine to route to",
			Cause:    "Fly's proxy had no machine passing its health checks to send requests on {$route|this route} to",
			Fix:      "Find why the machines fail their checks in their own logs (`fly logs -a <app>`, `fly checks list -a <app>`).",
			Point:    pointHealthCheck,
		},
		{
			ID: "log-smoke-crash", Phase: report.Runtime, Severity: report.Error, Symptom: true, MigrationAware: true,
			Literals: []string{"failed: the app appears to be crashing"},
			Patterns: res(`smoke checks for (?P<machine>\S+) failed`),
			Title:    "the app crashes at start",
			Cause:    "flyctl's smoke checks saw machine {$machine|the machine} restart soon after it started: the app's process exits at boot",
			Fix:      "Read the machine's output before this line for the exception that ends it (`fly logs -a <app>`).",
			Point:    func(p *project.Project, m *Match) Pointer { return serverCommand(p) },
		},
		{
			ID: "log-main-child-exited", Phase: report.Runtime, Severity: report.Error, Symptom: true, MigrationAware: true, Key: "code",
			Literals: []string{"Main child exited normally with code: ", "Main child exited with signal"},
			Patterns: res(`Main child exited normally with code: (?P<code>[1-9]\d*)`, `Main child exited with signal \(with signal '(?P<code>\w+)'`),
			Title:    "the app's process exited ({$how})",
			Cause:    "The machine's main process ended ({$how}), so Fly restarts the machine: the app crashes or exits at start",
			Fix:      "Read the lines before this one for the process's own error.",
			Refine: func(m *Match) bool {
				for _, l := range m.Before(10) {
					if strings.Contains(l, "Sending signal ") {
						return false // the machine was being stopped: an ordered exit
					}
				}
				switch m.Get("code") {
				case "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP":
					return false // the app ended by the signal sent to stop it
				}
				if _, err := strconv.Atoi(m.Get("code")); err == nil {
					m.Set("how", "exit code "+m.Get("code"))
				} else {
					m.Set("how", "signal "+m.Get("code"))
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return serverCommand(p) },
		},
		{
			ID: "log-process-exited", Phase: report.Runtime, Severity: report.Error, Symptom: true, Derived: true,
			Title: "the machine's process exited with code {$code}",
			Cause: "The machine's process exited with code {$code}{$signal|}",
			Fix:   "Read the machine's log for the error before the exit (`fly logs -a <app>`).",
			Point: releaseOrServer,
		},
		{
			ID: "log-oom-killed", Phase: report.Runtime, Severity: report.Error,
			ContextPhases: []report.PhaseName{report.Release, report.Build},
			Literals:      []string{"Out of memory: Killed process", "Process appears to have been OOM killed", `"oom_killed":true`},
			Patterns: res(`Out of memory: Killed process (?P<pid>\d+) \((?P<proc>[^)]+)\)(?:.*?anon-rss:(?P<rss>\d+)kB)?`,
				`Out of memory: Killed process`, `Process appears to have been OOM killed`, `"oom_killed":true`),
			Title: "out of memory",
			Cause: "The kernel killed {$proc|the app's process} because the machine ran out of memory{$used}",
			Fix:   "Give the machines more memory (`memory = \"1gb\"` in [[vm]], or `fly scale memory 1024`), or make the app use less: fewer workers (--workers, WEB_CONCURRENCY) and smaller database pools.",
			Refine: func(m *Match) bool {
				if kb, err := strconv.Atoi(m.Get("rss")); err == nil && kb > 0 {
					m.Set("used", fmt.Sprintf(" (it held %d MB)", kb/1024))
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return vmMemory(p) },
		},
		{
			ID: "log-worker-sigkill", Phase: report.Runtime, Severity: report.Error,
			Literals: []string{"was sent SIGKILL! Perhaps out of memory?"},
			Patterns: res(`Worker \(pid:(?P<pid>\d+)\) was sent SIGKILL`),
			Title:    "gunicorn worker killed (out of memory)",
			Cause:    "A gunicorn worker was killed with SIGKILL without a WORKER TIMEOUT before it: the kernel's out-of-memory killer ended it",
			Fix:      "Give the machines more memory (`memory = \"1gb\"` in [[vm]]), or run fewer workers (--workers, WEB_CONCURRENCY) with smaller database pools.",
			Refine: func(m *Match) bool {
				for _, l := range m.Before(20) {
					if strings.Contains(l, "WORKER TIMEOUT (pid:"+m.Get("pid")+")") {
						m.Switch("log-worker-timeout")
					}
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer {
				if m.Sig.ID == "log-worker-timeout" {
					return serverCommand(p)
				}
				return vmMemory(p)
			},
		},
		{
			ID: "log-worker-timeout", Phase: report.Runtime, Severity: report.Error,
			Literals: []string{"WORKER TIMEOUT (pid:"},
			Patterns: res(`WORKER TIMEOUT \(pid:(?P<pid>\d+)\)`),
			Title:    "gunicorn worker timed out",
			Cause:    "A gunicorn worker did not answer its master within --timeout (30 s by default): a request blocked that long, or the worker hung while starting (waiting for the database, for example)",
			Fix:      "Find what blocks (a database or Redis that does not answer, a slow import); with async workers, keep blocking calls out of the event loop; raise --timeout only for requests that are slow by design.",
			Point:    func(p *project.Project, m *Match) Pointer { return serverCommand(p) },
		},
		{
			ID: "log-asgi-import", Phase: report.Runtime, Severity: report.Error, Key: "mod",
			Literals: []string{"Error loading ASGI app"},
			Patterns: res(`Could not import module "(?P<mod>[^"]*)"`,
				`Attribute "(?P<attr>[^"]*)" not found in module "(?P<mod>[^"]*)"`,
				`Import string "(?P<mod>[^"]*)" must be in format`),
			Title: "uvicorn cannot load the app",
			Cause: "{$what}",
			Fix:   "Name the app as module:attribute relative to the folder the server starts in (the image's WORKDIR), e.g. `uvicorn app.main:app`, and check that the code is copied there.",
			Refine: func(m *Match) bool {
				switch {
				case m.Get("attr") != "":
					m.Set("what", fmt.Sprintf("uvicorn imported module %s, which has no attribute %s: the ASGI app has another name there (for an application factory, add --factory)", m.Get("mod"), m.Get("attr")))
				case strings.Contains(m.Quote, "Import string"):
					m.Set("what", fmt.Sprintf("uvicorn was given %q, which is not module:attribute", m.Get("mod")))
				default:
					m.Set("what", fmt.Sprintf("uvicorn could not import module %s named on its command line: the module path is not relative to the folder the server starts in, or the code was not copied into the image", m.Get("mod")))
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return serverCommand(p) },
		},
		{
			ID: "log-libpq-missing", Phase: report.Runtime, RootPhase: report.Build, Severity: report.Error,
			Literals: []string{"libpq.so.5: cannot open shared object file"},
			Title:    "libpq missing in the image that runs",
			Cause:    "psycopg2 is installed but the image that runs has no libpq (libpq.so.5): it was compiled in a build stage, and the final stage lacks the runtime library",
			Fix:      "Add `apt-get install -y --no-install-recommends libpq5` to the final stage (Alpine: `apk add libpq`), or install psycopg2-binary / psycopg[binary], which bundle libpq.",
			Point: func(p *project.Project, m *Match) Pointer {
				st := builtStage(p)
				if st != nil && (st.HasPackage("libpq5") || st.HasPackage("libpq")) {
					return finalStageFrom(p, "The deployed {$stage} (FROM {$base}) does install libpq: check that the image that crashed was built from this Dockerfile and stage.")
				}
				return finalStageFrom(p, "The deployed {$stage} starts here (FROM {$base}) and does not install libpq5.")
			},
		},
		{
			ID: "log-shared-lib-missing", Phase: report.Runtime, RootPhase: report.Build, Severity: report.Error, Key: "lib",
			Literals: []string{": cannot open shared object file"},
			Patterns: res(`(?P<lib>lib[\w.+-]*\.so[\d.]*): cannot open shared object file`),
			Title:    "{$lib} missing in the image",
			Cause:    "A compiled module needs the system library {$lib}, which the image that runs does not have",
			Fix:      "Install the distribution package that ships {$lib} in the final stage of the Dockerfile (a library installed only in a build stage is not copied along).",
			Refine: func(m *Match) bool {
				return !strings.HasPrefix(m.Get("lib"), "libpq.so")
			},
			Point: func(p *project.Project, m *Match) Pointer {
				return finalStageFrom(p, "The deployed {$stage} starts here (FROM {$base}).")
			},
		},
		{
			ID: "log-proxy-refused", Phase: report.Runtime, Severity: report.Error,
			Literals: []string{"make sure it is not only listening on 127.0.0.1"},
			Patterns: res(`is your app listening on (?P<addr>[\d.]+:(?P<port>\d+))\?`),
			Title:    "proxy cannot connect to the app",
			Cause:    "Fly's proxy was refused on {$addr}: nothing listens there — the app listens only on 127.0.0.1, on another port than internal_port, or has not started",
			Fix:      "Make the server listen on 0.0.0.0:{$port} (uvicorn --host 0.0.0.0 --port {$port}, gunicorn --bind 0.0.0.0:{$port}), the internal_port of fly.toml.",
			Point:    pointBind,
		},
		{
			ID: "log-listening-localhost", Phase: report.Runtime, Severity: report.Warning,
			Literals: []string{"Uvicorn running on http://127.0.0.1", "Uvicorn running on http://localhost", "Listening at: http://127.0.0.1", "Running on http://127.0.0.1"},
			Patterns: res(`(?:Uvicorn running on|Listening at:|Running on) https?://(?P<addr>(?:127\.0\.0\.1|localhost):(?P<port>\d+))`),
			Title:    "server listens on 127.0.0.1 only",
			Cause:    "The server listens on {$addr}, which only the machine itself can reach: on Fly, the proxy and health checks connect from outside and are refused",
			Fix:      "Listen on 0.0.0.0 (uvicorn --host 0.0.0.0, gunicorn --bind 0.0.0.0:{$port}).",
			Refine: func(m *Match) bool {
				// Werkzeug bound to 0.0.0.0 lists 127.0.0.1 among "all addresses".
				for _, l := range append(m.Before(3), m.After(3)...) {
					if strings.Contains(l, "Running on all addresses") {
						return false
					}
				}
				return true
			},
			Point: pointBind,
		},
		{
			ID: "log-listen-warning", Phase: report.Runtime, Severity: report.Warning,
			Literals: []string{"is not listening on the expected address"},
			Follow:   20,
			Title:    "flyctl found nothing listening (yet)",
			Cause:    "flyctl checked the machine once, right after it started, and found nothing listening on {$want|the expected address}. It is a warning, not a failure: an app that starts slowly (a Python app importing a lot) is not listening yet at that moment, and the deploy goes on",
			Fix:      "If the app then answers, nothing needs fixing. If its health checks fail, make it listen on {$want|0.0.0.0:<internal_port>}.",
			Refine:   refineListen,
			Point:    pointBind,
		},
		{
			ID: "log-listen-nothing", Phase: report.Runtime, Severity: report.Warning, Derived: true,
			Title: "no app process was listening",
			Cause: "When flyctl looked, no process of the app listened on any address — only Fly's own SSH server (hallpass) did — while it expects {$want|0.0.0.0:<internal_port>}: the app had not started listening yet, or never does",
			Fix:   "Make the server listen on {$want|0.0.0.0:<internal_port>}; if the app merely starts slowly, the warning is harmless once the health checks pass.",
			Point: pointBind,
		},
		{
			ID: "log-bind-localhost", Phase: report.Runtime, Severity: report.Error, Derived: true,
			Title: "app listens on localhost only",
			Cause: "flyctl found {$proc} listening on {$got}, which only the machine itself can reach, while Fly's proxy connects to {$want}",
			Fix:   "Listen on 0.0.0.0 (uvicorn --host 0.0.0.0, gunicorn --bind 0.0.0.0:<port>).",
			Point: pointBind,
		},
		{
			ID: "log-port-mismatch", Phase: report.Runtime, Severity: report.Error, Derived: true,
			Title: "app listens on another port",
			Cause: "flyctl found {$proc} listening on {$got}, while fly.toml's internal_port makes the proxy connect to {$want}",
			Fix:   "Make the two agree: change internal_port in fly.toml, or the port the server binds.",
			Point: func(p *project.Project, m *Match) Pointer {
				return first(flyKey(p, "http_service.internal_port", "fly.toml's internal_port is here."),
					flyKey(p, "services[0].internal_port", "fly.toml's internal_port is here."), serverCommand(p))
			},
		},
		{
			ID: "log-address-in-use", Phase: report.Runtime, Severity: report.Error,
			Literals: []string{"[Errno 98]", "Connection in use: ("},
			Patterns: res(`\[Errno 98\] (?:error while attempting to bind on address \((?P<addr>[^)]*)\): )?[Aa]ddress already in use`,
				`Connection in use: \((?P<addr>[^)]*)\)`),
			Title: "address already in use",
			Cause: "The server could not listen on {$addr|its address}: another process of the machine already listens there (a command that starts two servers on one port, or a process left from a previous start)",
			Fix:   "Start one server per port: check the command and the scripts it runs for a second server on the same port.",
			Point: func(p *project.Project, m *Match) Pointer { return serverCommand(p) },
		},
		{
			ID: "log-app-startup-failed", Phase: report.Runtime, Severity: report.Error, Symptom: true, MigrationAware: true,
			Literals: []string{"Application startup failed. Exiting.", "Worker failed to boot."},
			Title:    "the app failed to start",
			Cause:    "The server stopped because the app raised an error while starting (in its lifespan or import)",
			Fix:      "Read the traceback before this line for the error the app raised at start-up.",
			Point:    func(p *project.Project, m *Match) Pointer { return serverCommand(p) },
		},
		{
			ID: "log-django-disallowed-host", Phase: report.Runtime, Severity: report.Error,
			Literals: []string{"Invalid HTTP_HOST header: "},
			Patterns: res(`Invalid HTTP_HOST header: '(?P<host>[^']*)'`),
			Title:    "Django rejects the health check's Host",
			Cause:    "Django refused a request for {$host}, which is not in ALLOWED_HOSTS: Fly's health checks connect to the machine's private address and send that address as the Host header",
			Fix:      "Send your domain with the check: add headers = { Host = \"<app>.fly.dev\" } to the health check in fly.toml; or add the machine's private address to ALLOWED_HOSTS when the app starts.",
			Point: func(p *project.Project, m *Match) Pointer {
				if ptr := settingsLine(p, allowedHosts.Re(), "ALLOWED_HOSTS is set here."); ptr.Loc.File != "" {
					return ptr
				}
				if p.Fly != nil {
					if cs := p.Fly.AllChecks(); len(cs) > 0 {
						return Pointer{Loc: cs[0].Loc, Note: fmt.Sprintf("The health check %s is declared here: add the Host header to it.", cs[0].Where)}
					}
				}
				return Pointer{}
			},
		},
		{
			ID: "log-sqlalchemy-postgres-scheme", Phase: report.Runtime, RootPhase: report.Release, Severity: report.Error,
			ContextPhases: []report.PhaseName{report.Release},
			Literals:      []string{"Can't load plugin: sqlalchemy.dialects:postgres"},
			Patterns:      res(`Can't load plugin: sqlalchemy\.dialects:postgres\b`),
			Title:         "postgres:// URL rejected by SQLAlchemy",
			Cause:         "SQLAlchemy 1.4+ has no dialect named postgres: DATABASE_URL starts with postgres:// (as `fly postgres attach` sets it) and reaches create_engine unchanged",
			Fix:           "Rewrite the scheme before creating the engine: postgres:// → postgresql+asyncpg:// for asyncpg (postgresql:// for psycopg2).",
			Point: func(p *project.Project, m *Match) Pointer {
				return settingsVar(p, "DATABASE_URL")
			},
		},
		{
			ID: "log-sqlalchemy-sync-driver", Phase: report.Runtime, RootPhase: report.Release, Severity: report.Error,
			ContextPhases: []report.PhaseName{report.Release},
			Literals:      []string{"The asyncio extension requires an async driver to be used"},
			Patterns:      res(`The loaded '(?P<drv>\w+)' is not async`, `The asyncio extension requires an async driver`),
			Title:         "async engine with a sync driver",
			Cause:         "create_async_engine got a URL whose driver{$drv} is synchronous: DATABASE_URL says postgresql:// (psycopg2) where postgresql+asyncpg:// is needed",
			Fix:           "Rewrite the URL's scheme to postgresql+asyncpg:// before creating the async engine.",
			Refine: func(m *Match) bool {
				if d := m.Get("drv"); d != "" {
					m.Set("drv", " ("+d+")")
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer {
				return settingsVar(p, "DATABASE_URL")
			},
		},
	}
}

var (
	allowedHosts = lazyre.New(`\bALLOWED_HOSTS\b\s*[:=]`)
	listenAddr   = lazyre.New(`(?:\[[0-9a-fA-F:.]*\]|[\d.]+|localhost|\*):\d+`)
	bindPort     = lazyre.New(`(?:--port[ =]|--bind[ =]\S*?:|-b \S*?:|--listen[ =]\S*?:)(\d{2,5})\b`)
	bindsLocal   = lazyre.New(`(?:--host[ =]|--bind[ =]|-b )(?:127\.0\.0\.1|localhost)|(?:127\.0\.0\.1|localhost):\d+`)
)

// refineListen reads the lines after flyctl's listening-address warning:
// the addresses it expects, and the table of processes it found.
func refineListen(m *Match) bool {
	var want []string
	type listener struct{ proc, addr string }
	var found []listener
	table, rows := false, false
	for _, l := range m.After(20) {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "- ") && listenAddr.MatchString(t) && !table:
			want = append(want, listenAddr.FindString(t))
		case strings.Contains(t, "Found these processes inside the machine"):
			table = true
		case table && strings.Contains(t, "|"):
			proc, addrs, _ := strings.Cut(t, "|")
			proc = strings.TrimSpace(proc)
			if proc == "PROCESS" {
				continue
			}
			rows = true
			if strings.Contains(proc, "hallpass") {
				continue
			}
			for _, a := range listenAddr.FindAllString(addrs, -1) {
				found = append(found, listener{proc, a})
			}
		case table && strings.Trim(t, "-*") == "" && t != "":
			// the table's rule
		case table && rows:
			table = false
		}
	}
	if len(want) > 0 {
		m.Set("want", strings.Join(want, ", "))
	}
	if !rows {
		return true
	}
	if len(found) == 0 {
		m.Switch("log-listen-nothing")
		return true
	}
	wantPort := ""
	if len(want) > 0 {
		wantPort = want[0][strings.LastIndexByte(want[0], ':')+1:]
	}
	for _, f := range found {
		host := f.addr[:strings.LastIndexByte(f.addr, ':')]
		port := f.addr[strings.LastIndexByte(f.addr, ':')+1:]
		m.Set("proc", f.proc)
		m.Set("got", f.addr)
		switch {
		case host == "127.0.0.1" || host == "[::1]" || host == "localhost":
			m.Switch("log-bind-localhost")
			return true
		case wantPort != "" && port != wantPort:
			m.Switch("log-port-mismatch")
			return true
		}
	}
	return true
}

// pointBind points at the server command, saying when it binds localhost
// or another port than the one the log expects.
func pointBind(p *project.Project, m *Match) Pointer {
	ptr, cmd := startCommand(p)
	if ptr.Loc.File == "" {
		return ptr
	}
	if bindsLocal.MatchString(cmd) {
		ptr.Note += " It binds 127.0.0.1."
	}
	want := m.Get("port")
	if w := m.Get("want"); want == "" && w != "" {
		want = w[strings.LastIndexByte(w, ':')+1:]
		want = strings.SplitN(want, ",", 2)[0]
	}
	if g := bindPort.FindStringSubmatch(cmd); g != nil && want != "" && g[1] != want {
		ptr.Note += fmt.Sprintf(" It binds port %s, where port %s is expected.", g[1], want)
	}
	return ptr
}

// pointHealthCheck points at the grace period of the app's first health
// check, or at the check, or at [http_service].
func pointHealthCheck(p *project.Project, m *Match) Pointer {
	if p.Fly == nil {
		return Pointer{}
	}
	checks := p.Fly.AllChecks()
	for _, c := range checks {
		if c.GracePeriod.Set {
			return Pointer{Loc: c.GracePeriod.Loc, Note: fmt.Sprintf("The health check %s%s has a grace_period of %s.", c.Where, checkPath(c.Path.V), c.GracePeriod.V)}
		}
	}
	if len(checks) > 0 {
		c := checks[0]
		return Pointer{Loc: c.Loc, Note: fmt.Sprintf("The health check %s%s sets no grace_period.", c.Where, checkPath(c.Path.V))}
	}
	if h := p.Fly.HTTPService; h != nil {
		return Pointer{Loc: h.Loc, Note: "fly.toml's [http_service] has no health check: only the machine's start is checked."}
	}
	return Pointer{}
}

func checkPath(path string) string {
	if path == "" {
		return ""
	}
	return " (" + path + ")"
}
