package flysim

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"
)

// edge stands for Fly's proxy in front of one app: it forwards each request
// to a started machine whose checks pass, in turn.
type edge struct {
	srv  *http.Server
	url  string
	next int
}

func (e *edge) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = e.srv.Shutdown(ctx)
	_ = e.srv.Close()
}

// AppURL returns the base URL of app's public endpoint (https://<app>.fly.dev
// on Fly): a proxy on 127.0.0.1 that balances over the started machines whose
// checks all pass, forwarding to the first service's internal port. With no
// such machine it answers 503 like Fly's proxy.
func (s *Server) AppURL(appName string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", fmt.Errorf("flysim: server is closed")
	}
	a, ok := s.apps[appName]
	if !ok {
		return "", fmt.Errorf("flysim: app %q not found", appName)
	}
	if a.edge != nil {
		return a.edge.url, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("flysim: listen for %s: %w", appName, err)
	}
	e := &edge{url: "http://" + ln.Addr().String()}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target, _ := pr.In.Context().Value(targetKey{}).(string)
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = target
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "could not reach the machine: "+err.Error(), http.StatusBadGateway)
		},
	}
	e.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := s.pickTarget(appName)
		if target == "" {
			http.Error(w, "no known healthy instances found for route tcp/443", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), targetKey{}, target)))
	})}
	a.edge = e
	s.edges = append(s.edges, e)
	go func() { _ = e.srv.Serve(ln) }()
	return e.url, nil
}

type targetKey struct{}

// pickTarget chooses the address of a healthy machine of app, round robin.
func (s *Server) pickTarget(appName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appName]
	if !ok || a.edge == nil {
		return ""
	}
	var healthy []string
	for _, m := range a.sortedMachines() {
		if m.state != stateStarted || m.cordoned || len(m.config.Services) == 0 {
			continue
		}
		ok := true
		for _, c := range m.checks {
			if c.status != checkPassing {
				ok = false
			}
		}
		hp := m.ports[m.config.Services[0].InternalPort]
		if ok && hp != 0 {
			healthy = append(healthy, net.JoinHostPort(m.ip, strconv.Itoa(hp)))
		}
	}
	if len(healthy) == 0 {
		return ""
	}
	a.edge.next++
	return healthy[a.edge.next%len(healthy)]
}
