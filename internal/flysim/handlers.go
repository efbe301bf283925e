package flysim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	fly "github.com/superfly/fly-go"
)

// nonceHeader carries a lease nonce (flaps.NonceHeader).
const nonceHeader = "fly-machine-lease-nonce"

// Wait limits of the Machines API: timeout must be within [1s, 60s].
const (
	maxWaitSeconds     = 60
	defaultLeaseTTL    = 30 * time.Second
	defaultEventsLimit = 20
	maxBodyBytes       = 4 << 20
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers the way the Machines API does: {"error": "..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/apps", s.handleListApps)
	mux.HandleFunc("POST /v1/apps", s.handleCreateApp)
	mux.HandleFunc("GET /v1/apps/{app}", s.handleGetApp)
	mux.HandleFunc("DELETE /v1/apps/{app}", s.handleDeleteApp)

	mux.HandleFunc("GET /v1/apps/{app}/machines", s.handleListMachines)
	mux.HandleFunc("POST /v1/apps/{app}/machines", s.handleLaunch)
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}", s.handleGetMachine)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}", s.handleUpdate)
	mux.HandleFunc("DELETE /v1/apps/{app}/machines/{id}", s.handleDestroy)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/start", s.handleStart)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/stop", s.handleStop(stateStopped))
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/suspend", s.handleStop(stateSuspended))
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/restart", s.handleRestart)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/signal", s.handleSignal)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/cordon", s.handleCordon(true))
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/uncordon", s.handleCordon(false))
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}/wait", s.handleWait)
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}/lease", s.handleGetLease)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/lease", s.handleAcquireLease)
	mux.HandleFunc("DELETE /v1/apps/{app}/machines/{id}/lease", s.handleReleaseLease)
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}/metadata", s.handleGetMetadata)
	mux.HandleFunc("PATCH /v1/apps/{app}/machines/{id}/metadata", s.handlePatchMetadata)
	mux.HandleFunc("PUT /v1/apps/{app}/machines/{id}/metadata", s.handlePatchMetadata)
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}/metadata/{key}", s.handleGetMetadataKey)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/metadata/{key}", s.handleSetMetadataKey)
	mux.HandleFunc("DELETE /v1/apps/{app}/machines/{id}/metadata/{key}", s.handleDeleteMetadataKey)
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}/ps", s.handlePs)
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}/events", s.handleEvents)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/exec", s.handleExec)

	mux.HandleFunc("GET /v1/apps/{app}/secrets", s.handleListSecrets)
	mux.HandleFunc("POST /v1/apps/{app}/secrets", s.handleUpdateSecrets)
	mux.HandleFunc("GET /v1/apps/{app}/secrets/{name}", s.handleGetSecret)
	mux.HandleFunc("POST /v1/apps/{app}/secrets/{name}", s.handleSetSecret)
	mux.HandleFunc("DELETE /v1/apps/{app}/secrets/{name}", s.handleDeleteSecret)

	mux.HandleFunc("GET /api/v1/apps/{app}/logs", s.handleLogs)
	mux.HandleFunc("POST /graphql", s.handleGraphQL)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
	return s.withAuth(s.withFaults(mux))
}

// withAuth refuses requests without Options.Token, when it is set.
func (s *Server) withAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Token != "" && !strings.Contains(r.Header.Get("Authorization"), s.opts.Token) {
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ---- apps ----

// CreateApp creates an app in the emulator's organisation. Creating an app
// that exists is not an error.
func (s *Server) CreateApp(name string) error {
	if name == "" {
		return errors.New("flysim: app name is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[name]; !ok {
		s.newAppLocked(name)
	}
	return nil
}

func (s *Server) newAppLocked(name string) *app {
	a := &app{
		name: name, id: name, org: s.opts.Org, createdAt: s.now(),
		machines: map[string]*machine{}, secrets: map[string]*secret{},
		logs: &logBuffer{max: s.opts.LogLines},
	}
	s.apps[name] = a
	return a
}

// SetSecret sets a secret of app, as `fly secrets set` would.
func (s *Server) SetSecret(appName, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appName]
	if !ok {
		return fmt.Errorf("flysim: app %q not found", appName)
	}
	if !envName.MatchString(name) {
		return fmt.Errorf("flysim: invalid secret name %q", name)
	}
	s.setSecretLocked(a, name, value)
	a.secretsVersion++
	return nil
}

func (s *Server) setSecretLocked(a *app, name, value string) *secret {
	now := s.now()
	sec, ok := a.secrets[name]
	if !ok {
		sec = &secret{createdAt: now}
		a.secrets[name] = sec
	}
	sec.value, sec.digest, sec.updatedAt = value, digest(value), now
	return sec
}

func (s *Server) appJSON(a *app) map[string]any {
	status := "pending"
	count := 0
	for _, m := range a.machines {
		if m.state != stateDestroyed {
			count++
			status = "deployed"
		}
	}
	return map[string]any{
		"id": a.id, "name": a.name, "status": status, "network": "default",
		"machine_count": count, "volume_count": 0, "internal_numeric_id": 0,
		"organization": map[string]any{"name": a.org, "slug": a.org, "internal_numeric_id": 0},
	}
}

func (s *Server) handleListApps(w http.ResponseWriter, r *http.Request) {
	org := r.URL.Query().Get("org_slug")
	s.mu.Lock()
	apps := []map[string]any{}
	names := make([]string, 0, len(s.apps))
	for n := range s.apps {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		a := s.apps[n]
		if org == "" || org == "personal" || org == a.org {
			apps = append(apps, s.appJSON(a))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"apps": apps, "total_apps": len(apps)})
}

func (s *Server) handleCreateApp(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
		Org  string `json:"org_slug"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	if in.Name == "" {
		writeError(w, http.StatusBadRequest, "app name is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[in.Name]; ok {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "Name has already been taken", "status": "name_taken"})
		return
	}
	a := s.newAppLocked(in.Name)
	out := s.appJSON(a)
	out["created_at"] = a.createdAt.UnixMilli()
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleGetApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[r.PathValue("app")]
	if !ok {
		writeError(w, http.StatusNotFound, "app not found")
		return
	}
	writeJSON(w, http.StatusOK, s.appJSON(a))
}

func (s *Server) handleDeleteApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[r.PathValue("app")]
	if !ok {
		writeError(w, http.StatusNotFound, "app not found")
		return
	}
	for _, m := range a.machines {
		if m.state != stateDestroyed {
			s.runOp(m, func(int) { s.destroy(m, "user") })
		}
	}
	delete(s.apps, a.name)
	w.WriteHeader(http.StatusAccepted)
}

// ---- machines ----

// lookup finds the app and machine of a request, answering 404 itself.
// s.mu must be held.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*machine, bool) {
	a, ok := s.apps[r.PathValue("app")]
	if !ok {
		writeError(w, http.StatusNotFound, "app not found")
		return nil, false
	}
	m, ok := a.machines[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "machine not found")
		return nil, false
	}
	return m, true
}

// lookupLive is lookup that also refuses destroyed machines.
func (s *Server) lookupLive(w http.ResponseWriter, r *http.Request) (*machine, bool) {
	m, ok := s.lookup(w, r)
	if ok && (m.state == stateDestroyed || m.state == stateDestroying) {
		writeError(w, http.StatusNotFound, "machine not found")
		return nil, false
	}
	return m, ok
}

// leaseRefused answers 412 when the machine is leased and the request does
// not carry the lease's nonce, or carries a nonce with no lease behind it.
// s.mu must be held.
func (s *Server) leaseRefused(w http.ResponseWriter, r *http.Request, m *machine) bool {
	nonce := r.Header.Get(nonceHeader)
	l := m.activeLease(s.now())
	switch {
	case l == nil && nonce == "":
		return false
	case l == nil:
		writeError(w, http.StatusPreconditionFailed, "lease not found")
		return true
	case nonce == l.nonce:
		return false
	default:
		writeError(w, http.StatusPreconditionFailed, heldMessage(m, l))
		return true
	}
}

func heldMessage(m *machine, l *lease) string {
	return fmt.Sprintf("machine ID %s lease currently held by %s, expires at %s", m.id, l.owner, l.expires.Format(time.RFC3339))
}

func (s *Server) handleListMachines(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	includeDeleted := q.Get("include_deleted") == "true"
	region := q.Get("region")
	var states []string
	for _, v := range q["state"] {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				states = append(states, st)
			}
		}
	}
	meta := map[string]string{}
	for k, v := range q {
		if key, ok := strings.CutPrefix(k, "metadata."); ok && len(v) > 0 {
			meta[key] = v[0]
		}
	}
	o := viewOpts{summary: q.Get("summary") == "true", includeLease: q.Get("include_leases") == "true"}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[r.PathValue("app")]
	if !ok {
		writeError(w, http.StatusNotFound, "app not found")
		return
	}
	out := []machineJSON{}
	for _, m := range a.sortedMachines() {
		if m.state == stateDestroyed && !includeDeleted {
			continue
		}
		if region != "" && m.region != region {
			continue
		}
		if len(states) > 0 && !slices.Contains(states, m.state) {
			continue
		}
		match := true
		for k, v := range meta {
			if m.config.Metadata[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, m.view(s, o))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetMachine(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, m.view(s, viewOpts{includeLease: r.URL.Query().Get("include_leases") == "true"}))
}

// machineInput is the body of create and update.
type machineInput struct {
	fly.LaunchMachineInput
	CurrentVersion string `json:"current_version"`
}

func (s *Server) readMachineInput(w http.ResponseWriter, r *http.Request) (*machineInput, Image, bool) {
	var in machineInput
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return nil, Image{}, false
	}
	if in.Config == nil {
		writeError(w, http.StatusBadRequest, "invalid config: config is required")
		return nil, Image{}, false
	}
	img, err := s.resolveImage(in.Config.Image)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, Image{}, false
	}
	return &in, img, true
}

func (s *Server) handleLaunch(w http.ResponseWriter, r *http.Request) {
	in, img, ok := s.readMachineInput(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[r.PathValue("app")]
	if !ok {
		writeError(w, http.StatusNotFound, "app not found")
		return
	}
	if s.faults.failLaunch[a.name] > 0 {
		s.faults.failLaunch[a.name]--
		writeJSON(w, http.StatusPreconditionFailed, map[string]string{
			"error":  "could not reserve resource for machine: insufficient memory available to fulfill request",
			"status": "insufficient_capacity",
		})
		return
	}
	now := s.now()
	m := &machine{
		app: a, id: newMachineID(), name: in.Name, region: in.Region, state: stateCreated,
		config: cloneConfig(in.Config), imageRef: in.Config.Image, image: img,
		version: newULID(now), createdAt: now, updatedAt: now, ip: s.allocIP(), ports: map[int]int{},
		skipSecrets: in.SkipSecrets,
	}
	if m.name == "" {
		m.name = newMachineName()
	}
	if m.region == "" {
		m.region = s.opts.Region
	}
	m.addEvent(s, "launch", stateCreated, "user", nil)
	o := viewOpts{}
	if in.LeaseTTL > 0 {
		m.lease = &lease{nonce: newNonce(), owner: owner(r.Header.Get("Authorization")), version: m.version, expires: now.Add(time.Duration(in.LeaseTTL) * time.Second)}
		o.nonce = m.lease.nonce
	}
	a.machines[m.id] = m
	a.order = append(a.order, m.id)
	view := m.view(s, o)
	if !in.SkipLaunch {
		s.runOp(m, func(int) { s.startProcess(m) })
	}
	s.notifyLocked()
	s.logger.Info("machine launched", "app", a.name, "machine", m.id, "image", m.imageRef)
	writeJSON(w, http.StatusOK, view)
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	in, img, ok := s.readMachineInput(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookupLive(w, r)
	if !ok || s.leaseRefused(w, r, m) {
		return
	}
	if in.CurrentVersion != "" && in.CurrentVersion != m.version {
		writeError(w, http.StatusConflict, fmt.Sprintf("machine version mismatch: current version is %s, not %s", m.version, in.CurrentVersion))
		return
	}
	now := s.now()
	m.config = cloneConfig(in.Config)
	m.image = img
	m.imageRef = in.Config.Image
	m.version = newULID(now)
	m.skipSecrets = in.SkipSecrets
	if p := m.proc; p != nil && p.cancelChecks != nil {
		p.cancelChecks() // the old process's probes must not speak for the new version
	}
	m.checks = initialChecks(checkDefs(m.config), now)
	m.addEvent(s, "update", stateReplacing, "user", nil)
	running := m.proc != nil || m.state == stateStarted || m.state == stateStarting
	skip := in.SkipLaunch
	if running || !skip {
		m.state = stateReplacing
	}
	s.runOp(m, func(gen int) {
		s.stopProcess(m, "", 0)
		if !s.current(m, gen) {
			return
		}
		if skip {
			s.mu.Lock()
			m.state = stateStopped
			m.addEvent(s, "update", stateStopped, "flyd", nil)
			s.notifyLocked()
			s.mu.Unlock()
			return
		}
		s.startProcess(m)
	})
	s.notifyLocked()
	s.logger.Info("machine updated", "app", m.app.name, "machine", m.id, "image", m.imageRef)
	writeJSON(w, http.StatusOK, m.view(s, viewOpts{}))
}

func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookupLive(w, r)
	if !ok || s.leaseRefused(w, r, m) {
		return
	}
	prev := m.state
	switch prev {
	case stateStarted, stateStarting, stateReplacing:
		writeError(w, http.StatusPreconditionFailed, "failed_precondition: machine still active, refusing to start")
		return
	}
	m.state = stateStarting
	s.runOp(m, func(int) { s.startProcess(m) })
	s.notifyLocked()
	writeJSON(w, http.StatusOK, map[string]string{"previous_state": prev})
}

func (s *Server) handleStop(final string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in fly.StopMachineInput
		if err := decodeBody(r, &in); err != nil {
			writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		m, ok := s.lookupLive(w, r)
		if !ok || s.leaseRefused(w, r, m) {
			return
		}
		if m.state == stateStopped || m.state == stateCreated || m.state == stateSuspended {
			writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
			return
		}
		m.state = stateStopping
		s.runOp(m, func(gen int) {
			s.stopProcess(m, in.Signal, in.Timeout.Duration)
			s.mu.Lock()
			auto := false
			if m.gen == gen && m.state != stateDestroyed {
				m.state = final
				auto = m.config.AutoDestroy
				s.notifyLocked()
			}
			s.mu.Unlock()
			if auto {
				s.destroy(m, "flyd")
			}
		})
		s.notifyLocked()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}
}

func (s *Server) handleRestart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	timeout, _ := time.ParseDuration(q.Get("timeout"))
	if n, err := strconv.Atoi(q.Get("timeout")); err == nil {
		timeout = time.Duration(n) * time.Second
	}
	sig := q.Get("signal")
	if q.Get("force_stop") == "true" {
		sig = "SIGKILL"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookupLive(w, r)
	if !ok || s.leaseRefused(w, r, m) {
		return
	}
	m.state = stateStopping
	s.runOp(m, func(gen int) {
		s.stopProcess(m, sig, timeout)
		if s.current(m, gen) {
			s.startProcess(m)
		}
	})
	s.notifyLocked()
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) handleSignal(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Signal any `json:"signal"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookupLive(w, r)
	if !ok {
		return
	}
	if m.proc == nil {
		writeError(w, http.StatusPreconditionFailed, "failed_precondition: machine is not running")
		return
	}
	m.proc.signal(parseSignal(fmt.Sprint(in.Signal)))
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) handleCordon(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		m, ok := s.lookupLive(w, r)
		if !ok || s.leaseRefused(w, r, m) {
			return
		}
		m.cordoned = on
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}
}

func (s *Server) handleDestroy(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	force := q.Get("force") == "true" || q.Get("kill") == "true"
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if m.state == stateDestroyed || m.state == stateDestroying {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		return
	}
	if s.leaseRefused(w, r, m) {
		return
	}
	switch m.state {
	case stateStopped, stateCreated, stateSuspended, stateFailed:
	default:
		if !force {
			writeError(w, http.StatusPreconditionFailed, "failed_precondition: unable to destroy machine, not currently stopped, suspended or failed")
			return
		}
	}
	m.state = stateDestroying
	s.runOp(m, func(int) { s.destroy(m, "user") })
	s.notifyLocked()
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// waitStates are the states /wait accepts.
var waitStates = []string{stateStarted, stateStopped, stateSuspended, stateDestroyed, stateFailed, "settled"}

func reached(want []string, state string) bool {
	for _, w := range want {
		if w == state {
			return true
		}
		if w == "settled" && slices.Contains([]string{stateStarted, stateStopped, stateSuspended, stateDestroyed, stateFailed}, state) {
			return true
		}
	}
	return false
}

// handleWait blocks until the machine reaches one of the states asked for,
// or answers 408 when the timeout (1 to 60 s, default 60) passes. Waiting for
// any state but destroyed on a destroyed machine answers 404, which flyctl
// reads as "exited and was destroyed".
func (s *Server) handleWait(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var want []string
	for _, v := range q["state"] {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				want = append(want, st)
			}
		}
	}
	if len(want) == 0 {
		want = []string{stateStarted}
	}
	for _, st := range want {
		if !slices.Contains(waitStates, st) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid_argument: invalid state %q", st))
			return
		}
	}
	timeout := maxWaitSeconds * time.Second
	if v := q.Get("timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			d, derr := time.ParseDuration(v)
			if derr != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid_argument: invalid timeout %q", v))
				return
			}
			n = int(d / time.Second)
		}
		if n < 1 || n > maxWaitSeconds {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid_argument: timeout %ds out of range [1s, 1m0s]", n))
			return
		}
		timeout = time.Duration(n) * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		m, ok := s.lookup(w, r)
		if !ok {
			s.mu.Unlock()
			return
		}
		if reached(want, m.state) {
			resp := map[string]any{"ok": true, "state": m.state, "version": m.version}
			if len(m.events) > 0 {
				resp["event_id"] = m.events[0].id
			}
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, resp)
			return
		}
		if m.state == stateDestroyed {
			s.mu.Unlock()
			writeError(w, http.StatusNotFound, "machine not found")
			return
		}
		ch := s.changed
		closed := s.closed
		s.mu.Unlock()
		if closed {
			writeError(w, http.StatusServiceUnavailable, "flysim is shutting down")
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			writeError(w, http.StatusRequestTimeout, fmt.Sprintf("deadline_exceeded: machine did not reach state %s within %s", strings.Join(want, ","), timeout))
			return
		case <-r.Context().Done():
			return
		}
	}
}

// ---- leases ----

func leaseView(l *lease) map[string]any {
	return map[string]any{
		"status": "success",
		"data": leaseJSON{
			Nonce: l.nonce, ExpiresAt: l.expires.Unix(), Owner: l.owner, Description: l.description, Version: l.version,
		},
	}
}

func (s *Server) handleGetLease(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookupLive(w, r)
	if !ok {
		return
	}
	l := m.activeLease(s.now())
	if l == nil {
		writeError(w, http.StatusNotFound, "lease not found")
		return
	}
	writeJSON(w, http.StatusOK, leaseView(l))
}

// handleAcquireLease creates a lease, or refreshes it when the request
// carries its nonce. A lease held by anyone else (even the same token, with
// no nonce) answers 409.
func (s *Server) handleAcquireLease(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TTL         int    `json:"ttl"`
		Description string `json:"description"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	ttl := defaultLeaseTTL
	if in.TTL > 0 {
		ttl = time.Duration(in.TTL) * time.Second
	}
	if v := r.URL.Query().Get("ttl"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid_argument: invalid ttl %q", v))
			return
		}
		ttl = time.Duration(n) * time.Second
	}
	nonce := r.Header.Get(nonceHeader)
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookupLive(w, r)
	if !ok {
		return
	}
	now := s.now()
	if l := m.activeLease(now); l != nil {
		if nonce != l.nonce {
			writeError(w, http.StatusConflict, heldMessage(m, l))
			return
		}
		l.expires = now.Add(ttl)
		writeJSON(w, http.StatusCreated, leaseView(l))
		return
	}
	m.lease = &lease{nonce: newNonce(), owner: owner(r.Header.Get("Authorization")), description: in.Description, version: m.version, expires: now.Add(ttl)}
	s.notifyLocked()
	writeJSON(w, http.StatusCreated, leaseView(m.lease))
}

func (s *Server) handleReleaseLease(w http.ResponseWriter, r *http.Request) {
	nonce := r.Header.Get(nonceHeader)
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookupLive(w, r)
	if !ok {
		return
	}
	l := m.activeLease(s.now())
	if l == nil {
		writeError(w, http.StatusNotFound, "lease not found")
		return
	}
	if nonce != l.nonce {
		writeError(w, http.StatusConflict, heldMessage(m, l))
		return
	}
	m.lease = nil
	s.notifyLocked()
	writeJSON(w, http.StatusOK, map[string]any{})
}

// ---- metadata ----

func (s *Server) handleGetMetadata(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	out := map[string]string{}
	for k, v := range m.config.Metadata {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetMetadataKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	v, ok := m.config.Metadata[r.PathValue("key")]
	if !ok {
		writeError(w, http.StatusNotFound, "metadata key not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"value": v})
}

func (s *Server) handleSetMetadataKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Value string `json:"value"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookupLive(w, r)
	if !ok {
		return
	}
	if m.config.Metadata == nil {
		m.config.Metadata = map[string]string{}
	}
	m.config.Metadata[r.PathValue("key")] = in.Value
	m.updatedAt = s.now()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleDeleteMetadataKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookupLive(w, r)
	if !ok {
		return
	}
	delete(m.config.Metadata, r.PathValue("key"))
	m.updatedAt = s.now()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handlePatchMetadata(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MachineVersion string             `json:"machine_version"`
		Metadata       map[string]*string `json:"metadata"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookupLive(w, r)
	if !ok {
		return
	}
	if in.MachineVersion != "" && in.MachineVersion != m.version {
		writeError(w, http.StatusPreconditionFailed, "machine version mismatch")
		return
	}
	if m.config.Metadata == nil {
		m.config.Metadata = map[string]string{}
	}
	for k, v := range in.Metadata {
		if v == nil || *v == "" {
			delete(m.config.Metadata, k)
		} else {
			m.config.Metadata[k] = *v
		}
	}
	m.updatedAt = s.now()
	w.WriteHeader(http.StatusNoContent)
}

// ---- events, ps, exec ----

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	limit := defaultEventsLimit
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = min(n, maxEvents)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	out := []eventJSON{}
	for i, e := range m.events {
		if i >= limit {
			break
		}
		out = append(out, e.view())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m, ok := s.lookupLive(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	pid := 0
	if m.proc != nil {
		pid = m.proc.pid
	}
	ports := map[int]int{}
	for in, host := range m.ports {
		ports[host] = in
	}
	s.mu.Unlock()
	if pid == 0 {
		writeError(w, http.StatusPreconditionFailed, "failed_precondition: machine is not running")
		return
	}
	writeJSON(w, http.StatusOK, processStats(pid, ports))
}

func (s *Server) handleExec(w http.ResponseWriter, r *http.Request) {
	var in fly.MachineExecRequest
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	s.mu.Lock()
	m, ok := s.lookupLive(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	if m.proc == nil {
		s.mu.Unlock()
		writeError(w, http.StatusPreconditionFailed, "failed_precondition: machine is not running")
		return
	}
	env, err := s.environment(m)
	dir := m.image.Dir
	if dir == "" {
		dir = m.tempDir
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	timeout := 30 * time.Second
	if in.Timeout > 0 {
		timeout = time.Duration(in.Timeout) * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", in.Cmd)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdin = strings.NewReader(in.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"exit_code": code, "stdout": stdout.String(), "stderr": stderr.String()})
}

// ---- secrets ----

func secretView(name string, sec *secret) map[string]any {
	return map[string]any{
		"name": name, "digest": sec.digest,
		"created_at": sec.createdAt.Format(time.RFC3339), "updated_at": sec.updatedAt.Format(time.RFC3339),
	}
}

// appOf finds a request's app, answering 404 itself. s.mu must be held.
func (s *Server) appOf(w http.ResponseWriter, r *http.Request) (*app, bool) {
	a, ok := s.apps[r.PathValue("app")]
	if !ok {
		writeError(w, http.StatusNotFound, "app not found")
	}
	return a, ok
}

// handleListSecrets lists names and digests. Values are never returned,
// show_secrets or not.
func (s *Server) handleListSecrets(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.appOf(w, r)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, n := range a.secretNames() {
		out = append(out, secretView(n, a.secrets[n]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"secrets": out})
}

func (s *Server) handleGetSecret(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.appOf(w, r)
	if !ok {
		return
	}
	sec, ok := a.secrets[r.PathValue("name")]
	if !ok {
		writeError(w, http.StatusNotFound, "secret not found")
		return
	}
	writeJSON(w, http.StatusOK, secretView(r.PathValue("name"), sec))
}

func (s *Server) handleSetSecret(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Value *string `json:"value"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	name := r.PathValue("name")
	if !envName.MatchString(name) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid secret name %q: it must be a valid environment variable name", name))
		return
	}
	if in.Value == nil {
		writeError(w, http.StatusBadRequest, "value is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.appOf(w, r)
	if !ok {
		return
	}
	sec := s.setSecretLocked(a, name, *in.Value)
	a.secretsVersion++
	out := secretView(name, sec)
	out["version"], out["Version"] = a.secretsVersion, a.secretsVersion
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleUpdateSecrets(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Values map[string]*string `json:"values"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	for name := range in.Values {
		if !envName.MatchString(name) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid secret name %q: it must be a valid environment variable name", name))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.appOf(w, r)
	if !ok {
		return
	}
	for name, v := range in.Values {
		if v == nil {
			delete(a.secrets, name)
		} else {
			s.setSecretLocked(a, name, *v)
		}
	}
	a.secretsVersion++
	list := []map[string]any{}
	for _, n := range a.secretNames() {
		list = append(list, secretView(n, a.secrets[n]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"secrets": list, "version": a.secretsVersion, "Version": a.secretsVersion})
}

func (s *Server) handleDeleteSecret(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.appOf(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if _, ok := a.secrets[name]; !ok {
		writeError(w, http.StatusNotFound, "secret not found")
		return
	}
	delete(a.secrets, name)
	a.secretsVersion++
	writeJSON(w, http.StatusOK, map[string]any{"version": a.secretsVersion, "Version": a.secretsVersion})
}
