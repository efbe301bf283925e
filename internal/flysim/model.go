package flysim

import (
	"encoding/json"
	"slices"
	"sync"
	"time"

	fly "github.com/superfly/fly-go"
)

// Machine states, as Fly names them.
const (
	stateCreated    = "created"
	stateStarting   = "starting"
	stateStarted    = "started"
	stateStopping   = "stopping"
	stateStopped    = "stopped"
	stateReplacing  = "replacing"
	stateDestroying = "destroying"
	stateDestroyed  = "destroyed"
	stateSuspended  = "suspended"
	stateFailed     = "failed"
)

// maxEvents is how many events a machine keeps (newest first).
const maxEvents = 50

type app struct {
	name      string
	id        string
	org       string
	createdAt time.Time
	machines  map[string]*machine
	order     []string // machine IDs in launch order

	secrets        map[string]*secret
	secretsVersion uint64

	logs     *logBuffer
	releases []*release
	edge     *edge
}

type secret struct {
	value     string
	digest    string
	createdAt time.Time
	updatedAt time.Time
}

type machine struct {
	app       *app
	id        string
	name      string
	region    string
	state     string
	config    *fly.MachineConfig
	imageRef  string
	image     Image
	version   string
	createdAt time.Time
	updatedAt time.Time
	events    []*event // newest first
	checks    []*checkState
	lease     *lease
	ip        string
	ports     map[int]int // internal port → host port
	proc      *process
	cordoned  bool
	tempDir   string

	skipSecrets  bool
	restartCount int // consecutive automatic restarts

	// opMu serialises lifecycle operations (start, stop, update, destroy);
	// gen counts requested operations so a superseded one can step aside.
	opMu sync.Mutex
	gen  int
}

type event struct {
	id           string
	typ          string
	status       string
	source       string
	at           time.Time
	exit         *exitInfo
	restartCount int
}

type exitInfo struct {
	code       int
	signal     int
	oom        bool
	requested  bool
	restarting bool
	at         time.Time
}

type lease struct {
	nonce       string
	owner       string
	description string
	version     string
	expires     time.Time
}

type release struct {
	id          string
	version     int
	description string
	reason      string
	status      string
	imageRef    string
	stable      bool
	createdAt   time.Time
}

// addEvent records an event, newest first. s.mu must be held.
func (m *machine) addEvent(s *Server, typ, status, source string, exit *exitInfo) *event {
	now := s.now()
	e := &event{id: newULID(now), typ: typ, status: status, source: source, at: now, exit: exit}
	if exit != nil {
		e.restartCount = m.restartCount
	}
	m.events = append([]*event{e}, m.events...)
	if len(m.events) > maxEvents {
		m.events = m.events[:maxEvents]
	}
	m.updatedAt = now
	return e
}

// activeLease returns the lease when it has not expired. s.mu must be held.
func (m *machine) activeLease(now time.Time) *lease {
	if m.lease != nil && now.Before(m.lease.expires) {
		return m.lease
	}
	m.lease = nil
	return nil
}

// eventJSON is an event as the API returns it.
type eventJSON struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Status    string         `json:"status"`
	Source    string         `json:"source"`
	Timestamp int64          `json:"timestamp"`
	Request   map[string]any `json:"request,omitempty"`
}

func (e *event) view() eventJSON {
	v := eventJSON{ID: e.id, Type: e.typ, Status: e.status, Source: e.source, Timestamp: e.at.UnixMilli()}
	if e.exit != nil {
		v.Request = map[string]any{
			"exit_event": map[string]any{
				"exit_code":       e.exit.code,
				"guest_exit_code": e.exit.code,
				"guest_signal":    e.exit.signal,
				"signal":          e.exit.signal,
				"oom_killed":      e.exit.oom,
				"requested_stop":  e.exit.requested,
				"restarting":      e.exit.restarting,
				"exited_at":       e.exit.at.Format(time.RFC3339Nano),
			},
			"restart_count": e.restartCount,
		}
	}
	return v
}

type checkJSON struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	Output    string `json:"output"`
	UpdatedAt string `json:"updated_at"`
}

type leaseJSON struct {
	Nonce       string `json:"nonce,omitempty"`
	ExpiresAt   int64  `json:"expires_at"`
	Owner       string `json:"owner"`
	Description string `json:"description"`
	Version     string `json:"version,omitempty"`
}

// machineJSON is a machine as the API returns it.
type machineJSON struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	State      string              `json:"state"`
	Region     string              `json:"region"`
	ImageRef   fly.MachineImageRef `json:"image_ref"`
	InstanceID string              `json:"instance_id"`
	Version    string              `json:"version"`
	PrivateIP  string              `json:"private_ip"`
	CreatedAt  string              `json:"created_at"`
	UpdatedAt  string              `json:"updated_at"`
	Config     any                 `json:"config,omitempty"`
	Events     []eventJSON         `json:"events,omitempty"`
	Checks     []checkJSON         `json:"checks,omitempty"`
	Nonce      string              `json:"nonce,omitempty"`
	HostStatus string              `json:"host_status"`
	Lease      *leaseJSON          `json:"lease,omitempty"`
}

type viewOpts struct {
	summary      bool
	includeLease bool
	nonce        string
	maxEvents    int
}

// view renders m. s.mu must be held.
func (m *machine) view(s *Server, o viewOpts) machineJSON {
	v := machineJSON{
		ID:         m.id,
		Name:       m.name,
		State:      m.state,
		Region:     m.region,
		ImageRef:   imageRef(m.imageRef, m.image.Labels),
		InstanceID: m.version,
		Version:    m.version,
		PrivateIP:  m.ip,
		CreatedAt:  m.createdAt.Format(time.RFC3339),
		UpdatedAt:  m.updatedAt.Format(time.RFC3339),
		Nonce:      o.nonce,
		HostStatus: "ok",
	}
	if o.summary {
		return v
	}
	v.Config = configJSON(m.config)
	n := len(m.events)
	if o.maxEvents > 0 && n > o.maxEvents {
		n = o.maxEvents
	}
	for _, e := range m.events[:n] {
		v.Events = append(v.Events, e.view())
	}
	for _, c := range m.checks {
		v.Checks = append(v.Checks, checkJSON{Name: c.name, Status: c.status, Output: c.output, UpdatedAt: c.updated.Format(time.RFC3339Nano)})
	}
	if o.includeLease {
		if l := m.activeLease(s.now()); l != nil {
			v.Lease = &leaseJSON{ExpiresAt: l.expires.Unix(), Owner: l.owner, Description: l.description}
		}
	}
	return v
}

// configJSON renders a machine config the way Fly does: without nulls, and
// with autostop as a string ("off", "stop", "suspend"), which both fly-go and
// the OpenAPI description accept.
func configJSON(c *fly.MachineConfig) any {
	if c == nil {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil
	}
	v = stripNulls(v)
	if obj, ok := v.(map[string]any); ok {
		if svcs, ok := obj["services"].([]any); ok {
			for _, sv := range svcs {
				if svc, ok := sv.(map[string]any); ok {
					if b, ok := svc["autostop"].(bool); ok {
						svc["autostop"] = map[bool]string{false: "off", true: "stop"}[b]
					}
				}
			}
		}
	}
	return v
}

func stripNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			t[k] = stripNulls(e)
		}
		return t
	case []any:
		out := t[:0]
		for _, e := range t {
			if e != nil {
				out = append(out, stripNulls(e))
			}
		}
		return out
	default:
		return v
	}
}

// cloneConfig deep-copies a machine config through JSON.
func cloneConfig(c *fly.MachineConfig) *fly.MachineConfig {
	if c == nil {
		return &fly.MachineConfig{}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return &fly.MachineConfig{}
	}
	out := &fly.MachineConfig{}
	if err := json.Unmarshal(b, out); err != nil {
		return &fly.MachineConfig{}
	}
	return out
}

// sortedMachines returns an app's machines in launch order. s.mu must be held.
func (a *app) sortedMachines() []*machine {
	out := make([]*machine, 0, len(a.order))
	for _, id := range a.order {
		if m, ok := a.machines[id]; ok {
			out = append(out, m)
		}
	}
	return out
}

// secretNames returns the app's secret names, sorted. s.mu must be held.
func (a *app) secretNames() []string {
	names := make([]string, 0, len(a.secrets))
	for n := range a.secrets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
