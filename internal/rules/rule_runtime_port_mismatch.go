package rules

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleRuntimePortMismatch = register(&Rule{
	ID:       "runtime-port-mismatch",
	Phase:    report.Runtime,
	Severity: report.Error,
	Doc:      "the port the web server listens on differs from the internal_port its service routes to",
	Why:      "Fly's proxy and health checks connect to internal_port; when nothing listens there they get `connection refused`, flyctl warns the app is not listening on the expected address, and the deploy fails its health checks.",
	Check:    checkRuntimePortMismatch,
})

func checkRuntimePortMismatch(r *Rule, p *project.Project) []report.Finding {
	cfg := p.Fly
	if cfg == nil {
		return nil
	}
	var out []report.Finding
	for _, g := range serverGroups(p) {
		if g.Fronted || len(g.Servers) == 0 {
			continue
		}
		ports, s, a, known := groupPorts(g)
		if !known {
			continue
		}
		var svcs []flytoml.Service
		matched := false
		for _, svc := range servicesFor(cfg, g.Name) {
			if !svc.InternalPort.Set || svc.InternalPort.V <= 0 {
				continue
			}
			if slices.Contains(ports, svc.InternalPort.V) {
				// Other services of the group route to other daemons.
				matched = true
				break
			}
			svcs = append(svcs, svc)
		}
		if matched {
			continue
		}
		for _, svc := range svcs {
			out = append(out, portMismatchFinding(r, g, s, a, ports, svc))
		}
	}
	return out
}

// groupPorts returns the TCP ports the group's servers listen on, with the
// first server and address (for messages). known is false when any
// address is a socket or has a port that cannot be read.
func groupPorts(g *processGroup) (ports []int, first *webServer, addr listenAddr, known bool) {
	for _, s := range g.Servers {
		for _, a := range s.Binds {
			port, ok := a.tcpPort()
			if !ok {
				return nil, nil, listenAddr{}, false
			}
			if first == nil {
				first, addr = s, a
			}
			if !slices.Contains(ports, port) {
				ports = append(ports, port)
			}
		}
	}
	sort.Ints(ports)
	return ports, first, addr, len(ports) > 0
}

func serviceName(s flytoml.Service) string {
	if s.FromHTTPService {
		return "[http_service]"
	}
	return fmt.Sprintf("[[services]] #%d", s.Index+1)
}

func portMismatchFinding(r *Rule, g *processGroup, s *webServer, a listenAddr, ports []int, svc flytoml.Service) report.Finding {
	ip := svc.InternalPort.V
	ps := make([]string, len(ports))
	for i, p := range ports {
		ps[i] = strconv.Itoa(p)
	}
	listens := "port " + strings.Join(ps, ", ")
	if len(ports) > 1 {
		listens = "ports " + strings.Join(ps, ", ")
	}
	how := fmt.Sprintf("listens on %s", a.Text)
	if a.PortLoc != s.Loc {
		how += fmt.Sprintf(" (%s)", a.PortLoc)
	}
	msg := fmt.Sprintf("%s routes to internal_port %d of the %q process group, but %s %s: nothing answers on %d, so Fly's proxy and health checks get `connection refused`.",
		serviceName(svc), ip, g.Name, serverWhere(g, s), how, ip)
	if len(ports) > 1 || len(g.Servers) > 1 {
		msg = fmt.Sprintf("%s routes to internal_port %d of the %q process group, but the servers of %s (%s) listen on %s: nothing answers on %d, so Fly's proxy and health checks get `connection refused`.",
			serviceName(svc), ip, g.Name, g.Source, g.Loc, listens, ip)
	}
	fix := fmt.Sprintf("Set `internal_port = %d` here, or start %s on port %d (%s).", ports[0], s.Kind, ip, portFlag(s.Kind, ip))
	return r.Finding(svc.InternalPort.Loc, fmt.Sprintf("internal_port %d, but %s listens on %d", ip, s.Kind, ports[0]), msg, fix)
}

// portFlag returns how to give a server a port.
func portFlag(kind string, port int) string {
	p := strconv.Itoa(port)
	switch kind {
	case "gunicorn", "hypercorn":
		return "`--bind 0.0.0.0:" + p + "`"
	case "daphne":
		return "`-p " + p + "`"
	case "manage.py runserver":
		return "`runserver 0.0.0.0:" + p + "`"
	case "waitress-serve":
		return "`--listen=0.0.0.0:" + p + "`"
	}
	if strings.HasSuffix(kind, "()") {
		return "`port=" + p + "`"
	}
	return "`--port " + p + "`"
}
