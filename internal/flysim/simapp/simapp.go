// Package simapp is a small web app that flysim machines run in tests and in
// the demo. It behaves like the FastAPI service deploy-action is built for: an
// HTTP server on $PORT with a /health endpoint, uvicorn-like log lines, and an
// `alembic upgrade head` release command with realistic output. Every failure
// the deploy engine must survive can be switched on by flags or by SIMAPP_*
// environment variables (see Faults), so a test injects a fault through an
// image's environment without writing any code for the machine side.
//
// A binary exposes simapp by calling Main with its arguments: a test binary
// calls MainIfReexec first thing in TestMain, and deploy-action can call Main
// from a hidden subcommand.
package simapp

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// ReexecEnv is the environment variable that marks a process as a simapp
// machine. When it is "1", MainIfReexec runs Main and exits.
const ReexecEnv = "FLYSIM_SIMAPP"

// OOMMarker is the line a machine process writes to stdout or stderr just
// before it is killed for running out of memory. flysim swallows the line and
// reports the exit as `oom_killed`, the way Fly reports a kernel OOM kill.
const OOMMarker = "FLYSIM-OOM-KILL"

// Release failure kinds for Faults.ReleaseFailure. Each prints the real error
// output of that failure before the release command exits.
const (
	FailDuplicateColumn = "duplicate-column" // `column ... already exists` from asyncpg
	FailNoDatabaseURL   = "no-database-url"  // KeyError: 'DATABASE_URL' in env.py
	FailScriptLocation  = "script-location"  // alembic.ini missing from the image
	FailModuleNotFound  = "module-not-found" // ModuleNotFoundError in env.py
	FailMultipleHeads   = "multiple-heads"   // two alembic heads
	FailPostgresScheme  = "postgres-scheme"  // postgres:// URL given to SQLAlchemy
)

// Faults selects the misbehaviour of a simapp process. The zero value is a
// healthy app. Env turns it into SIMAPP_* variables for an image or a machine
// config; flags of the same names (without the prefix, lower-case, dashes)
// override them on the command line.
type Faults struct {
	// CrashExitCode, when not zero, makes the server exit with this code
	// CrashAfter after it starts (0: before it listens at all).
	CrashExitCode int
	// CrashAfter is the delay before the crash.
	CrashAfter time.Duration
	// OOM makes the server write OOMMarker and kill itself with SIGKILL
	// OOMAfter after it starts, like a kernel OOM kill (exit code 137).
	OOM bool
	// OOMAfter is the delay before the OOM kill.
	OOMAfter time.Duration
	// ListenDelay delays the listening socket: a slow start.
	ListenDelay time.Duration
	// Bind is the address the server binds (default 0.0.0.0). "127.0.0.1"
	// reproduces an app that Fly's health checks and proxy cannot reach.
	Bind string
	// Health5xx makes the first N /health requests answer 503.
	Health5xx int
	// HealthStatus, when not zero, is the status every /health request gets
	// (e.g. 500: checks never pass).
	HealthStatus int
	// IgnoreStop makes the server ignore SIGINT and SIGTERM, so the machine is
	// only stopped by the SIGKILL that follows kill_timeout.
	IgnoreStop bool
	// ReleaseExitCode is the exit code of `alembic upgrade head`.
	ReleaseExitCode int
	// ReleaseFailure picks the error output printed when ReleaseExitCode is
	// not zero (one of the Fail* kinds; default FailDuplicateColumn).
	ReleaseFailure string
	// ReleaseDelay is how long the migration runs.
	ReleaseDelay time.Duration
	// Label is the image label /health reports (default $FLY_IMAGE_REF).
	Label string
}

// Env returns the SIMAPP_* variables that select f. Zero fields are left out.
func (f Faults) Env() map[string]string {
	env := map[string]string{}
	setInt := func(k string, v int) {
		if v != 0 {
			env[k] = strconv.Itoa(v)
		}
	}
	setDur := func(k string, v time.Duration) {
		if v != 0 {
			env[k] = v.String()
		}
	}
	setInt("SIMAPP_CRASH_EXIT_CODE", f.CrashExitCode)
	setDur("SIMAPP_CRASH_AFTER", f.CrashAfter)
	if f.OOM {
		env["SIMAPP_OOM"] = "1"
	}
	setDur("SIMAPP_OOM_AFTER", f.OOMAfter)
	setDur("SIMAPP_LISTEN_DELAY", f.ListenDelay)
	if f.Bind != "" {
		env["SIMAPP_BIND"] = f.Bind
	}
	setInt("SIMAPP_HEALTH_5XX", f.Health5xx)
	setInt("SIMAPP_HEALTH_STATUS", f.HealthStatus)
	if f.IgnoreStop {
		env["SIMAPP_IGNORE_STOP"] = "1"
	}
	setInt("SIMAPP_RELEASE_EXIT_CODE", f.ReleaseExitCode)
	if f.ReleaseFailure != "" {
		env["SIMAPP_RELEASE_FAILURE"] = f.ReleaseFailure
	}
	setDur("SIMAPP_RELEASE_DELAY", f.ReleaseDelay)
	if f.Label != "" {
		env["SIMAPP_LABEL"] = f.Label
	}
	return env
}

// MainIfReexec runs Main with the process's arguments and exits when the
// environment says this process is a simapp machine (ReexecEnv=1). Call it
// first in TestMain so a test binary can serve as a flysim image.
func MainIfReexec() {
	if os.Getenv(ReexecEnv) == "1" {
		os.Exit(Main(os.Args[1:]))
	}
}

// Main runs simapp with args and returns its exit code. The arguments are
// `[flags] [command...]`: a command starting with `alembic` runs the release
// command; anything else (`uvicorn ...`, `serve`, nothing) runs the server.
func Main(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

type config struct {
	Faults
	port string
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, rest, err := parse(args, stderr)
	if err != nil {
		return 2
	}
	if len(rest) > 0 && (filepath.Base(rest[0]) == "alembic" || rest[0] == "release") {
		return release(cfg, rest, stderr)
	}
	return serve(cfg, stdout, stderr)
}

func parse(args []string, stderr io.Writer) (config, []string, error) {
	env := func(k, def string) string {
		if v, ok := os.LookupEnv(k); ok {
			return v
		}
		return def
	}
	envInt := func(k string) int {
		n, _ := strconv.Atoi(env(k, "0"))
		return n
	}
	envDur := func(k string) time.Duration {
		d, _ := time.ParseDuration(env(k, "0s"))
		return d
	}
	var c config
	fs := flag.NewFlagSet("simapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.port, "port", env("PORT", "8080"), "port to listen on")
	fs.StringVar(&c.Bind, "bind", env("SIMAPP_BIND", "0.0.0.0"), "address to bind")
	fs.IntVar(&c.CrashExitCode, "crash-exit-code", envInt("SIMAPP_CRASH_EXIT_CODE"), "exit with this code after -crash-after")
	fs.DurationVar(&c.CrashAfter, "crash-after", envDur("SIMAPP_CRASH_AFTER"), "delay before the crash")
	fs.BoolVar(&c.OOM, "oom", env("SIMAPP_OOM", "") == "1", "get OOM-killed after -oom-after")
	fs.DurationVar(&c.OOMAfter, "oom-after", envDur("SIMAPP_OOM_AFTER"), "delay before the OOM kill")
	fs.DurationVar(&c.ListenDelay, "listen-delay", envDur("SIMAPP_LISTEN_DELAY"), "delay before listening")
	fs.IntVar(&c.Health5xx, "health-5xx", envInt("SIMAPP_HEALTH_5XX"), "answer 503 to the first N /health requests")
	fs.IntVar(&c.HealthStatus, "health-status", envInt("SIMAPP_HEALTH_STATUS"), "status of every /health answer")
	fs.BoolVar(&c.IgnoreStop, "ignore-stop", env("SIMAPP_IGNORE_STOP", "") == "1", "ignore SIGINT and SIGTERM")
	fs.IntVar(&c.ReleaseExitCode, "release-exit-code", envInt("SIMAPP_RELEASE_EXIT_CODE"), "exit code of the release command")
	fs.StringVar(&c.ReleaseFailure, "release-failure", env("SIMAPP_RELEASE_FAILURE", ""), "kind of release failure output")
	fs.DurationVar(&c.ReleaseDelay, "release-delay", envDur("SIMAPP_RELEASE_DELAY"), "duration of the migration")
	fs.StringVar(&c.Label, "label", env("SIMAPP_LABEL", env("FLY_IMAGE_REF", "simapp")), "image label for /health")
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	return c, fs.Args(), nil
}

// syncWriter serialises writes of whole lines from several goroutines.
type syncWriter struct {
	ch chan struct{}
	w  io.Writer
}

func newSyncWriter(w io.Writer) *syncWriter {
	s := &syncWriter{ch: make(chan struct{}, 1), w: w}
	return s
}

func (s *syncWriter) printf(format string, a ...any) {
	s.ch <- struct{}{}
	fmt.Fprintf(s.w, format+"\n", a...)
	<-s.ch
}

func serve(cfg config, stdout, stderr io.Writer) int {
	out := newSyncWriter(stdout)
	errOut := newSyncWriter(stderr)
	pid := os.Getpid()
	errOut.printf("INFO:     Started server process [%d]", pid)
	errOut.printf("INFO:     Waiting for application startup.")

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)

	exit := make(chan int, 1)
	if cfg.CrashExitCode != 0 {
		if cfg.CrashAfter <= 0 {
			errOut.printf("ERROR:    Error loading ASGI app. Could not import module \"app.main\".")
			return cfg.CrashExitCode
		}
		time.AfterFunc(cfg.CrashAfter, func() {
			errOut.printf("ERROR:    Exception in ASGI application")
			errOut.printf("RuntimeError: simapp crash injected after %s", cfg.CrashAfter)
			exit <- cfg.CrashExitCode
		})
	}
	if cfg.OOM {
		time.AfterFunc(cfg.OOMAfter, func() {
			errOut.printf("%s", OOMMarker)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		})
	}

	var srv *http.Server
	listened := make(chan error, 1)
	go func() {
		if cfg.ListenDelay > 0 {
			time.Sleep(cfg.ListenDelay)
		}
		addr := net.JoinHostPort(cfg.Bind, cfg.port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			errOut.printf("ERROR:    [Errno 98] error while attempting to bind on address ('%s', %s): address already in use", cfg.Bind, cfg.port)
			listened <- err
			return
		}
		srv = &http.Server{Handler: handler(cfg, out), ReadHeaderTimeout: 10 * time.Second}
		errOut.printf("INFO:     Application startup complete.")
		errOut.printf("INFO:     Uvicorn running on http://%s (Press CTRL+C to quit)", net.JoinHostPort(cfg.Bind, machinePort(cfg.port)))
		listened <- nil
		_ = srv.Serve(ln)
	}()

	for {
		select {
		case err := <-listened:
			if err != nil {
				return 1
			}
		case code := <-exit:
			return code
		case sig := <-sigs:
			if sig != syscall.SIGINT && sig != syscall.SIGTERM {
				errOut.printf("INFO:     Received %s, carrying on", sig)
				continue
			}
			if cfg.IgnoreStop {
				errOut.printf("WARNING:  ignoring %s", sig)
				continue
			}
			errOut.printf("INFO:     Shutting down")
			if srv != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = srv.Shutdown(ctx)
				cancel()
			}
			errOut.printf("INFO:     Finished server process [%d]", pid)
			return 0
		}
	}
}

func handler(cfg config, out *syncWriter) http.Handler {
	var healthCalls atomic.Int64
	mux := http.NewServeMux()
	access := func(r *http.Request, status int) {
		out.printf("INFO:     %s - \"%s %s HTTP/1.1\" %d %s", r.RemoteAddr, r.Method, r.URL.RequestURI(), status, http.StatusText(status))
	}
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		n := healthCalls.Add(1)
		status := http.StatusOK
		switch {
		case cfg.HealthStatus != 0:
			status = cfg.HealthStatus
		case n <= int64(cfg.Health5xx):
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		body := map[string]string{"status": "ok", "image": cfg.Label, "machine": os.Getenv("FLY_MACHINE_ID")}
		if status >= 400 {
			body["status"] = "error"
		}
		_ = json.NewEncoder(w).Encode(body)
		access(r, status)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		_, _ = io.Copy(w, io.LimitReader(r.Body, 1<<20))
		access(r, http.StatusOK)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			access(r, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"app": os.Getenv("FLY_APP_NAME"), "image": cfg.Label})
		access(r, http.StatusOK)
	})
	return mux
}

// machinePort returns the port as the app sees it inside the machine: flysim
// runs it on a host port and says, in FLYSIM_PORT_<internal>, which internal
// port that host port stands for.
func machinePort(port string) string {
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if in, ok := strings.CutPrefix(k, "FLYSIM_PORT_"); ok && v == port {
			return in
		}
	}
	return port
}

// release prints what `alembic upgrade head` prints against PostgreSQL and
// exits with cfg.ReleaseExitCode.
func release(cfg config, args []string, stderr io.Writer) int {
	w := newSyncWriter(stderr)
	if cfg.ReleaseExitCode != 0 && cfg.ReleaseFailure == FailScriptLocation {
		w.printf("FAILED: No 'script_location' key found in configuration.")
		return cfg.ReleaseExitCode
	}
	w.printf("INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.")
	w.printf("INFO  [alembic.runtime.migration] Will assume transactional DDL.")
	if cfg.ReleaseDelay > 0 {
		time.Sleep(cfg.ReleaseDelay)
	}
	if cfg.ReleaseExitCode == 0 {
		w.printf("INFO  [alembic.runtime.migration] Running upgrade  -> 3f2a9c1d7b4e, create users table")
		w.printf("INFO  [alembic.runtime.migration] Running upgrade 3f2a9c1d7b4e -> 8c5d2e6f1a90, add email index")
		return 0
	}
	for _, line := range failureOutput(cfg.ReleaseFailure) {
		w.printf("%s", line)
	}
	return cfg.ReleaseExitCode
}

var tracebackHead = []string{
	"Traceback (most recent call last):",
	`  File "/usr/local/bin/alembic", line 8, in <module>`,
	"    sys.exit(main())",
	`  File "/usr/local/lib/python3.11/site-packages/alembic/config.py", line 641, in main`,
	"    CommandLine(prog=prog).main(argv=argv)",
	`  File "/usr/local/lib/python3.11/site-packages/alembic/script/base.py", line 583, in run_env`,
	`    util.load_python_file(self.dir, "env.py")`,
}

func failureOutput(kind string) []string {
	switch kind {
	case FailNoDatabaseURL:
		return append(append([]string{}, tracebackHead...),
			`  File "/app/alembic/env.py", line 18, in <module>`,
			`    config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"])`,
			`  File "<frozen os>", line 679, in __getitem__`,
			"KeyError: 'DATABASE_URL'")
	case FailModuleNotFound:
		return append(append([]string{}, tracebackHead...),
			`  File "/app/alembic/env.py", line 9, in <module>`,
			"    from app.models import Base",
			"ModuleNotFoundError: No module named 'app'")
	case FailMultipleHeads:
		return []string{
			"ERROR [alembic.util.messaging] Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads",
			"  FAILED: Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads",
		}
	case FailPostgresScheme:
		return append(append([]string{}, tracebackHead...),
			`  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/url.py", line 661, in _get_entrypoint`,
			"    cls = registry.load(name)",
			"sqlalchemy.exc.NoSuchModuleError: Can't load plugin: sqlalchemy.dialects:postgres")
	default:
		return []string{
			"INFO  [alembic.runtime.migration] Running upgrade 3f2a9c1d7b4e -> 8c5d2e6f1a90, add email column",
			"Traceback (most recent call last):",
			`  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/dialects/postgresql/asyncpg.py", line 521, in _prepare_and_execute`,
			"    prepared_stmt, attributes = await adapt_connection._prepare(",
			`asyncpg.exceptions.DuplicateColumnError: column "email" of relation "users" already exists`,
			"",
			"The above exception was the direct cause of the following exception:",
			"",
			`sqlalchemy.exc.ProgrammingError: (sqlalchemy.dialects.postgresql.asyncpg.ProgrammingError) <class 'asyncpg.exceptions.DuplicateColumnError'>: column "email" of relation "users" already exists`,
			"[SQL: ALTER TABLE users ADD COLUMN email VARCHAR(255)]",
		}
	}
}
