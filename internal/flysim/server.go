// Package flysim is a local emulator of the Fly Machines API, as
// github.com/superfly/fly-go v0.2.2 (package flaps) calls it, in which a
// machine is a real local process.
//
// An image name maps to a local command (Options.Images or
// Options.ResolveImage). Launching, updating or starting a machine starts that
// command with the machine's env, the app's secrets and FLY_* variables; its
// output is the machine's log, its exit is an `exit` event with the exit code
// and oom_killed, and its health checks are real HTTP or TCP probes of the
// process. Leases, waits, metadata, secrets (names and digests only), `ps`,
// the logs endpoint and the releases GraphQL queries answer the way Fly
// answers them, and faults can be injected from tests (InjectLeaseHeld,
// Inject5xx, FailNextLaunch, and per-image faults through simapp.Faults).
//
// Each machine gets its own loopback address (127.77.x.y, standing for its
// private IP) and one free host port per internal port of its config; PORT is
// set to the host port of the first service's internal_port. Checks probe the
// machine's own address, so an app bound to 127.0.0.1 fails them as it would
// on Fly.
package flysim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Image says which local command a Fly image runs. It follows Docker's
// ENTRYPOINT/CMD split: the machine runs Entrypoint + Argv, a machine config's
// init.cmd replaces Argv, init.entrypoint replaces Entrypoint, and init.exec
// replaces both.
type Image struct {
	// Entrypoint is prepended to Argv or to the config's init.cmd.
	Entrypoint []string
	// Argv is the image's default command (Docker's CMD).
	Argv []string
	// Env is the image's environment (Docker's ENV); config env and secrets
	// override it. Per-image faults go here (see simapp.Faults.Env).
	Env map[string]string
	// Dir is the working directory; empty means a fresh temporary directory
	// per machine.
	Dir string
	// Labels are reported in the machine's image_ref.labels.
	Labels map[string]string
}

// Options configure a Server. The zero value works: no images (every launch
// fails with "unknown image"), region "iad", organisation "personal", real time.
type Options struct {
	// Images maps an image reference (exactly as given in config.image) to
	// the command it runs.
	Images map[string]Image
	// ResolveImage is asked for references that are not in Images.
	ResolveImage func(ref string) (Image, error)
	// Region is the region of machines launched without one (default "iad").
	Region string
	// Org is the organisation slug of the apps (default "personal").
	Org string
	// Token, when set, must appear in every request's Authorization header;
	// requests without it get 401 like Fly.
	Token string
	// TimeScale multiplies every duration the emulator waits on its own:
	// check intervals, timeouts and grace periods, kill timeouts, restart
	// delays and StartDelay. 0 means 1; 0.1 runs ten times faster.
	TimeScale float64
	// StartDelay is the emulated boot time between "starting" and the
	// process being started.
	StartDelay time.Duration
	// Now is the clock for timestamps and lease expiry (default time.Now).
	// The emulator's own waits run on real time, scaled by TimeScale.
	Now func() time.Time
	// Logger receives the emulator's own log (default: discarded). Secret
	// values and tokens are never logged.
	Logger *slog.Logger
	// MachineOutput, when set, receives every line machines print, prefixed
	// with "app/machine-id: ".
	MachineOutput io.Writer
	// Middleware, when set, wraps the API handler (tests use it to validate
	// every response against Fly's OpenAPI description).
	Middleware func(http.Handler) http.Handler
	// LogLines caps each app's log buffer (default 5000 lines).
	LogLines int
}

// Server is the emulator. It is safe for concurrent use. Create it with New,
// serve it with Start (or mount Handler yourself), and always Close it: Close
// kills every machine process and waits for them.
type Server struct {
	opts   Options
	logger *slog.Logger

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every state change
	apps      map[string]*app
	requests  []Request
	faults    faultSet
	usedPorts map[int]bool
	nextIP    int
	aliasOK   bool
	closed    bool
	edges     []*edge

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // machine goroutines: process watchers, checks, operations

	httpSrv *http.Server
	baseURL string
	handler http.Handler
}

// New returns a Server configured by opts. It starts nothing.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "iad"
	}
	if opts.Org == "" {
		opts.Org = "personal"
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LogLines <= 0 {
		opts.LogLines = 5000
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:      opts,
		logger:    logger,
		changed:   make(chan struct{}),
		apps:      map[string]*app{},
		usedPorts: map[int]bool{},
		aliasOK:   loopbackAliasesWork(),
		ctx:       ctx,
		cancel:    cancel,
	}
	var h http.Handler = s.routes()
	if opts.Middleware != nil {
		h = opts.Middleware(h)
	}
	s.handler = s.record(h)
	return s
}

// Handler returns the API handler: the Machines API under /v1, the logs API
// under /api/v1 and GraphQL at /graphql. Point fly-go at it with
// FLY_FLAPS_BASE_URL (flaps) and fly.SetBaseURL (logs, GraphQL).
func (s *Server) Handler() http.Handler { return s.handler }

// Start serves the API on a free port of 127.0.0.1 and returns its base URL
// (e.g. "http://127.0.0.1:41234").
func (s *Server) Start() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("flysim: server is closed")
	}
	if s.httpSrv != nil {
		return s.baseURL, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("flysim: listen: %w", err)
	}
	s.httpSrv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.baseURL = "http://" + ln.Addr().String()
	go func() { _ = s.httpSrv.Serve(ln) }()
	s.logger.Info("flysim started", "url", s.baseURL)
	return s.baseURL, nil
}

// URL returns the base URL given by Start, or "" before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Close stops serving, kills every machine process (SIGKILL to its process
// group), waits for them and for every emulator goroutine, and removes the
// machines' temporary directories. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.httpSrv
	edges := s.edges
	var procs []*process
	var dirs []string
	for _, a := range s.apps {
		for _, m := range a.machines {
			if m.proc != nil {
				m.proc.requestedStop = true
				procs = append(procs, m.proc)
			}
			if m.tempDir != "" {
				dirs = append(dirs, m.tempDir)
			}
		}
	}
	s.notifyLocked()
	s.mu.Unlock()

	s.cancel()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
		_ = srv.Close()
	}
	for _, e := range edges {
		e.close()
	}
	for _, p := range procs {
		p.kill()
	}
	s.wg.Wait()
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
	return nil
}

// notifyLocked wakes every waiter. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// scale multiplies d by Options.TimeScale.
func (s *Server) scale(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.opts.TimeScale)
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// goTracked runs f in a goroutine Close waits for. It returns false (and does
// not run f) once the server is closing.
func (s *Server) goTracked(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// sleep waits d or until the server closes; it reports whether d elapsed.
func (s *Server) sleep(d time.Duration) bool {
	if d <= 0 {
		return s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}
