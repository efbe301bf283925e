package rules

import (
	"fmt"
	"strconv"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleRuntimeBindLocalhost = register(&Rule{
	ID:       "runtime-bind-localhost",
	Phase:    report.Runtime,
	Severity: report.Error,
	Doc:      "the web server listens on 127.0.0.1/localhost (by a flag or by its default), which Fly's proxy cannot reach",
	Why:      "Fly's proxy and health checks connect to internal_port from outside the machine's loopback interface, so a server bound to 127.0.0.1 refuses them all: flyctl warns the app is not listening on the expected address and the machines never become healthy.",
	Check:    checkRuntimeBindLocalhost,
})

func checkRuntimeBindLocalhost(r *Rule, p *project.Project) []report.Finding {
	if p.Fly == nil {
		return nil
	}
	var out []report.Finding
	for _, g := range serverGroups(p) {
		if g.Fronted || len(g.Servers) == 0 {
			continue
		}
		svcs := servicesFor(p.Fly, g.Name)
		if len(svcs) == 0 {
			continue // networking-no-service reports it
		}
		if !allLocal(g) {
			// A server on a public (or unknown) address may front the
			// local ones.
			continue
		}
		port := 0
		for _, s := range svcs {
			if s.InternalPort.Set {
				port = s.InternalPort.V
				break
			}
		}
		for _, s := range g.Servers {
			for _, a := range s.Binds {
				if !a.localOnly() {
					continue
				}
				out = append(out, localhostFinding(r, g, s, a, port))
			}
		}
	}
	return out
}

// allLocal reports whether every address the group's servers listen on is
// known and local-only.
func allLocal(g *processGroup) bool {
	n := 0
	for _, s := range g.Servers {
		for _, a := range s.Binds {
			if !a.localOnly() {
				return false
			}
			n++
		}
	}
	return n > 0
}

func localhostFinding(r *Rule, g *processGroup, s *webServer, a listenAddr, internalPort int) report.Finding {
	port := internalPort
	if port == 0 {
		port = a.Port
	}
	ps := strconv.Itoa(port)
	how := fmt.Sprintf("listens on %s", a.Text)
	where := "internal_port"
	if internalPort > 0 {
		where = "internal_port " + ps
	}
	msg := fmt.Sprintf("%s %s. That address only accepts connections from inside the machine; Fly's proxy and health checks connect to %s from outside it, so every request is refused and the health checks never pass.",
		serverWhere(g, s), how, where)
	fix := ""
	switch s.Kind {
	case "gunicorn", "hypercorn":
		fix = fmt.Sprintf("Bind every interface: `--bind 0.0.0.0:%s` (or `--bind [::]:%s` to also answer on Fly's IPv6 private network).", ps, ps)
	case "daphne":
		fix = fmt.Sprintf("Bind every interface: `-b 0.0.0.0 -p %s` (or `-b ::` to also answer on Fly's IPv6 private network).", ps)
	case "manage.py runserver":
		fix = fmt.Sprintf("Give runserver every interface: `runserver 0.0.0.0:%s` (better: serve the app with gunicorn `--bind 0.0.0.0:%s`; runserver is not meant for production).", ps, ps)
	case "uvicorn.run()", "app.run()", "application.run()", "socketio.run()", "sio.run()":
		fix = fmt.Sprintf("Pass `host=\"0.0.0.0\", port=%s` to %s (or host=\"::\" to also answer on Fly's IPv6 private network).", ps, s.Kind)
	default:
		fix = fmt.Sprintf("Listen on every interface: `--host 0.0.0.0 --port %s` (or `--host ::` to also answer on Fly's IPv6 private network).", ps)
	}
	if a.Implicit {
		fix = "The server is started without an address and its default is local. " + fix
	}
	return r.Finding(a.HostLoc, s.Kind+" listens on "+hostOf(a)+" only", msg, fix)
}

func hostOf(a listenAddr) string {
	if a.Host == "" {
		return "localhost"
	}
	return a.Host
}

// serverWhere names a server and the command that starts it, e.g.
// "uvicorn in the Dockerfile CMD (Dockerfile:12:1)" or "gunicorn in
// start.sh, run by the Dockerfile CMD (Dockerfile:9:1)".
func serverWhere(g *processGroup, s *webServer) string {
	if s.Loc.File != "" && s.Loc.File != g.Loc.File {
		return fmt.Sprintf("%s in %s, run by %s (%s),", s.Kind, s.Loc.File, g.Source, g.Loc)
	}
	return fmt.Sprintf("%s in %s (%s)", s.Kind, g.Source, g.Loc)
}
