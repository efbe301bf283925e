package flysim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

type statusFault struct {
	prefix   string
	statuses []int // answered in order, one per matching request
}

type faultSet struct {
	status     []*statusFault
	failLaunch map[string]int // app → launches still to fail
}

// Inject5xx makes the next n API requests whose path starts with pathPrefix
// (e.g. "/v1/apps/my-app/machines") fail, alternating 503 and 500 starting
// with 503. fly-go retries a 502 or 503 up to three times by itself; a 500
// reaches the caller.
func (s *Server) Inject5xx(pathPrefix string, n int) {
	statuses := make([]int, n)
	for i := range statuses {
		statuses[i] = []int{http.StatusServiceUnavailable, http.StatusInternalServerError}[i%2]
	}
	s.injectStatuses(pathPrefix, statuses)
}

// InjectStatus makes the next n API requests whose path starts with
// pathPrefix answer status with a Fly error body.
func (s *Server) InjectStatus(pathPrefix string, status, n int) {
	statuses := make([]int, n)
	for i := range statuses {
		statuses[i] = status
	}
	s.injectStatuses(pathPrefix, statuses)
}

func (s *Server) injectStatuses(prefix string, statuses []int) {
	if len(statuses) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.status = append(s.faults.status, &statusFault{prefix: prefix, statuses: statuses})
}

// FailNextLaunch makes the next machine launch in app fail the way Fly
// fails one when the region has no capacity (412, status
// "insufficient_capacity").
func (s *Server) FailNextLaunch(appName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.failLaunch == nil {
		s.faults.failLaunch = map[string]int{}
	}
	s.faults.failLaunch[appName]++
}

// InjectLeaseHeld gives machine machineID of app a lease held by owner for
// ttl, as if another deploy held it. It fails when the machine is unknown.
func (s *Server) InjectLeaseHeld(appName, machineID, owner string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.machineLocked(appName, machineID)
	if err != nil {
		return err
	}
	m.lease = &lease{nonce: newNonce(), owner: owner, description: "held by " + owner, version: m.version, expires: s.now().Add(ttl)}
	s.notifyLocked()
	return nil
}

// takeFault returns the status a request must fail with, if any. s.mu must
// be held.
func (s *Server) takeFault(path string) int {
	for i, f := range s.faults.status {
		if strings.HasPrefix(path, f.prefix) {
			st := f.statuses[0]
			f.statuses = f.statuses[1:]
			if len(f.statuses) == 0 {
				s.faults.status = slices.Delete(s.faults.status, i, i+1)
			}
			return st
		}
	}
	return 0
}

// withFaults answers injected failures before the API sees the request.
func (s *Server) withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		st := s.takeFault(r.URL.Path)
		s.mu.Unlock()
		if st != 0 {
			writeError(w, st, fmt.Sprintf("flysim: injected %d %s", st, strings.ToLower(http.StatusText(st))))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Request is one API request the server answered.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path.
	Path string
	// Query is the raw query string.
	Query string
	// Status is the status of the answer.
	Status int
	// Time is when the request arrived.
	Time time.Time
	// Duration is how long the answer took.
	Duration time.Duration
}

// String returns "METHOD path?query -> status".
func (r Request) String() string {
	p := r.Path
	if r.Query != "" {
		p += "?" + r.Query
	}
	return fmt.Sprintf("%s %s -> %d", r.Method, p, r.Status)
}

// maxRequests bounds the request log; past it the older half is dropped.
const maxRequests = 20000

// Requests returns the requests answered so far (the latest 10,000 to
// 20,000 of them), oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets long answers (waits) reach the client as Fly's do.
func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// record logs every request with its answer, outermost.
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		rec.Header().Set("fly-request-id", randHex(10))
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status, Time: start, Duration: time.Since(start)}
		s.mu.Lock()
		s.requests = append(s.requests, req)
		if len(s.requests) > maxRequests {
			s.requests = append([]Request(nil), s.requests[len(s.requests)-maxRequests/2:]...)
		}
		s.mu.Unlock()
		s.logger.Debug("request", "method", req.Method, "path", req.Path, "status", req.Status, "duration", req.Duration)
	})
}

// MachineInfo describes a machine for assertions.
type MachineInfo struct {
	// ID is the machine ID.
	ID string
	// Name is the machine name.
	Name string
	// State is the Fly state (created, starting, started, stopping,
	// stopped, replacing, destroying, destroyed).
	State string
	// Image is config.image.
	Image string
	// Version is the current machine version.
	Version string
	// Region is the machine's region.
	Region string
	// PID is the process ID of the running command, or 0.
	PID int
	// Addr is the machine's address (its stand-in private IP).
	Addr string
	// Ports maps each internal port of the config to the host port that
	// stands for it.
	Ports map[int]int
	// Metadata is config.metadata.
	Metadata map[string]string
	// Checks maps check names to their status.
	Checks map[string]string
	// LeaseOwner is the owner of the active lease, or "".
	LeaseOwner string
}

// Machines returns the machines of app in launch order, destroyed ones
// included.
func (s *Server) Machines(appName string) []MachineInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appName]
	if !ok {
		return nil
	}
	var out []MachineInfo
	for _, m := range a.sortedMachines() {
		info := MachineInfo{
			ID: m.id, Name: m.name, State: m.state, Image: m.imageRef, Version: m.version, Region: m.region,
			Addr: m.ip, Ports: maps.Clone(m.ports), Metadata: maps.Clone(m.config.Metadata), Checks: map[string]string{},
		}
		if m.proc != nil {
			info.PID = m.proc.pid
		}
		for _, c := range m.checks {
			info.Checks[c.name] = c.status
		}
		if l := m.activeLease(s.now()); l != nil {
			info.LeaseOwner = l.owner
		}
		out = append(out, info)
	}
	return out
}

// MachineImage returns config.image of a machine, or "" when it is unknown.
func (s *Server) MachineImage(appName, machineID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.machineLocked(appName, machineID)
	if err != nil {
		return ""
	}
	return m.imageRef
}

// LeaseInfo describes an active lease.
type LeaseInfo struct {
	// MachineID is the leased machine.
	MachineID string
	// Owner is who holds it.
	Owner string
	// Nonce is the lease nonce.
	Nonce string
	// ExpiresAt is when it ends.
	ExpiresAt time.Time
}

// Leases returns the active leases of app's machines.
func (s *Server) Leases(appName string) []LeaseInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appName]
	if !ok {
		return nil
	}
	var out []LeaseInfo
	for _, m := range a.sortedMachines() {
		if l := m.activeLease(s.now()); l != nil {
			out = append(out, LeaseInfo{MachineID: m.id, Owner: l.owner, Nonce: l.nonce, ExpiresAt: l.expires})
		}
	}
	return out
}

// machineLocked finds a machine. s.mu must be held.
func (s *Server) machineLocked(appName, id string) (*machine, error) {
	a, ok := s.apps[appName]
	if !ok {
		return nil, fmt.Errorf("flysim: app %q not found", appName)
	}
	m, ok := a.machines[id]
	if !ok {
		return nil, fmt.Errorf("flysim: machine %q not found in app %q", id, appName)
	}
	return m, nil
}
