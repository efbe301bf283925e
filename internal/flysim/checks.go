package flysim

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	fly "github.com/superfly/fly-go"
)

// Fly's defaults for a check that does not say.
const (
	defaultCheckInterval = 15 * time.Second
	defaultCheckTimeout  = 2 * time.Second
	checkOutputMax       = 512
)

// Check statuses, as Fly (Consul) names them.
const (
	checkPassing  = "passing"
	checkWarning  = "warning"
	checkCritical = "critical"
)

type checkState struct {
	name    string
	status  string
	output  string
	updated time.Time
}

// checkDef is one check of a machine config: a top-level check or a
// service check.
type checkDef struct {
	name     string
	typ      string // "http" or "tcp"
	port     int    // internal port
	method   string
	path     string
	protocol string
	headers  []fly.MachineHTTPHeader
	skipTLS  bool
	tlsName  string
	interval time.Duration
	timeout  time.Duration
	grace    time.Duration
}

func dur(d *fly.Duration, def time.Duration) time.Duration {
	if d == nil || d.Duration <= 0 {
		return def
	}
	return d.Duration
}

func str(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}

// checkDefs lists the checks of c: top-level checks by name, then service
// checks named like Fly names them ("servicecheck-00-http-8080").
func checkDefs(c *fly.MachineConfig) []checkDef {
	var defs []checkDef
	for _, name := range slices.Sorted(maps.Keys(c.Checks)) {
		ch := c.Checks[name]
		d := checkDef{
			name: name, method: str(ch.HTTPMethod, http.MethodGet), path: str(ch.HTTPPath, "/"),
			protocol: str(ch.HTTPProtocol, "http"), headers: ch.HTTPHeaders, tlsName: str(ch.HTTPTLSServerName, ""),
			interval: dur(ch.Interval, defaultCheckInterval), timeout: dur(ch.Timeout, defaultCheckTimeout), grace: dur(ch.GracePeriod, 0),
		}
		d.typ = str(ch.Type, "")
		if d.typ == "" {
			d.typ = "tcp"
			if ch.HTTPPath != nil {
				d.typ = "http"
			}
		}
		if ch.Port != nil {
			d.port = *ch.Port
		} else if len(c.Services) > 0 {
			d.port = c.Services[0].InternalPort
		}
		if ch.HTTPSkipTLSVerify != nil {
			d.skipTLS = *ch.HTTPSkipTLSVerify
		}
		defs = append(defs, d)
	}
	n := 0
	for _, svc := range c.Services {
		for _, ch := range svc.Checks {
			d := checkDef{
				method: str(ch.HTTPMethod, http.MethodGet), path: str(ch.HTTPPath, "/"),
				protocol: str(ch.HTTPProtocol, "http"), headers: ch.HTTPHeaders, tlsName: str(ch.HTTPTLSServerName, ""),
				interval: dur(ch.Interval, defaultCheckInterval), timeout: dur(ch.Timeout, defaultCheckTimeout), grace: dur(ch.GracePeriod, 0),
				port: svc.InternalPort,
			}
			d.typ = str(ch.Type, "")
			if d.typ == "" {
				d.typ = "tcp"
				if ch.HTTPPath != nil {
					d.typ = "http"
				}
			}
			if ch.Port != nil {
				d.port = *ch.Port
			}
			if ch.HTTPSkipTLSVerify != nil {
				d.skipTLS = *ch.HTTPSkipTLSVerify
			}
			d.name = fmt.Sprintf("servicecheck-%02d-%s-%d", n, d.typ, d.port)
			n++
			defs = append(defs, d)
		}
	}
	return defs
}

func initialChecks(defs []checkDef, now time.Time) []*checkState {
	out := make([]*checkState, 0, len(defs))
	for _, d := range defs {
		out = append(out, &checkState{name: d.name, status: checkCritical, output: "waiting for the first check to run", updated: now})
	}
	slices.SortFunc(out, func(a, b *checkState) int { return strings.Compare(a.name, b.name) })
	return out
}

// runCheck probes one check of a running process until the process ends:
// nothing during the grace period, then every interval.
func (s *Server) runCheck(ctx context.Context, m *machine, p *process, d checkDef) {
	s.mu.Lock()
	host, hostPort := m.ip, m.ports[d.port]
	s.mu.Unlock()
	if d.grace > 0 {
		t := time.NewTimer(s.scale(d.grace))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	interval := max(s.scale(d.interval), 10*time.Millisecond)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		status, output := probe(ctx, d, host, hostPort, s.scale(d.timeout))
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		if m.proc == p {
			for _, c := range m.checks {
				if c.name == d.name {
					changed := c.status != status
					c.status, c.output, c.updated = status, output, s.now()
					if changed {
						s.notifyLocked()
					}
				}
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// probe runs one check against the machine's address and says what Fly
// would: passing for 2xx, warning for 429, critical otherwise (redirects are
// not followed). Messages name the internal port, as on Fly.
func probe(ctx context.Context, d checkDef, host string, hostPort int, timeout time.Duration) (status, output string) {
	if hostPort == 0 {
		return checkCritical, fmt.Sprintf("no port mapped for internal port %d", d.port)
	}
	timeout = max(timeout, 50*time.Millisecond)
	hostAddr := net.JoinHostPort(host, strconv.Itoa(hostPort))
	internal := net.JoinHostPort(host, strconv.Itoa(d.port))
	clean := func(msg string) string {
		return strings.ReplaceAll(msg, hostAddr, internal)
	}
	if d.typ == "tcp" {
		var dialer net.Dialer
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		conn, err := dialer.DialContext(cctx, "tcp", hostAddr)
		if err != nil {
			return checkCritical, clean(err.Error())
		}
		_ = conn.Close()
		return checkPassing, "Success"
	}
	scheme := "http"
	if strings.EqualFold(d.protocol, "https") {
		scheme = "https"
	}
	path := d.path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := scheme + "://" + hostAddr + path
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, d.method, url, nil)
	if err != nil {
		return checkCritical, clean(err.Error())
	}
	for _, h := range d.headers {
		for _, v := range h.Values {
			req.Header.Add(h.Name, v)
		}
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: d.skipTLS, ServerName: d.tlsName}, DisableKeepAlives: true} //nolint:gosec // the machine's own setting
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return checkCritical, clean(err.Error())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, checkOutputMax))
	shown := scheme + "://" + internal + path
	output = fmt.Sprintf("%s %s: %s Output: %q", d.method, shown, resp.Status, strings.TrimSpace(string(body)))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return checkPassing, output
	case resp.StatusCode == http.StatusTooManyRequests:
		return checkWarning, output
	default:
		return checkCritical, output
	}
}
