package rules

import (
	"fmt"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleNetworkingNoService = register(&Rule{
	ID:       "networking-no-service",
	Phase:    report.Networking,
	Severity: report.Warning,
	Doc:      "a process group runs a web server but no [http_service] or [[services]] routes to it",
	Why:      "Without a service Fly's proxy sends no traffic to the machines: the deploy succeeds but the app's URL answers nothing (or the requests go to another process group).",
	Check:    checkNetworkingNoService,
})

func checkNetworkingNoService(r *Rule, p *project.Project) []report.Finding {
	cfg := p.Fly
	if cfg == nil {
		return nil
	}
	var out []report.Finding
	for _, g := range serverGroups(p) {
		if len(g.Servers) == 0 || len(servicesFor(cfg, g.Name)) > 0 {
			continue
		}
		s := g.Servers[0]
		port := 8080
		for _, a := range s.Binds {
			if pt, ok := a.tcpPort(); ok {
				port = pt
				break
			}
		}
		hasAny := len(cfg.AllServices()) > 0
		msg := fmt.Sprintf("%s at %s (`%s`) starts %s, but fly.toml has no [http_service] or [[services]] section, so Fly's proxy routes no traffic to the %q machines: the deploy succeeds and the app's URL does not answer.", g.Source, g.Loc, g.Command, s.Kind, g.Name)
		fix := fmt.Sprintf("Add a service for it: an [http_service] section with `internal_port = %d` and `force_https = true`.", port)
		if len(cfg.ProcessKeys) > 0 {
			fix = fmt.Sprintf("Add a service for it: an [http_service] section with `internal_port = %d`, `force_https = true` and `processes = [%q]`.", port, g.Name)
		}
		if hasAny {
			note := ""
			for _, svc := range cfg.AllServices() {
				if len(svc.Processes) == 0 {
					note = fmt.Sprintf(" (a service without `processes` only goes to %q)", cfg.DefaultProcess())
					break
				}
			}
			msg = fmt.Sprintf("%s at %s (`%s`) starts %s, but no [http_service] or [[services]] routes to the %q process group%s, so Fly's proxy sends no traffic to those machines.", g.Source, g.Loc, g.Command, s.Kind, g.Name, note)
			fix = fmt.Sprintf("Add %q to the `processes` list of the service that should reach it, or add a [[services]] section with `internal_port = %d` and `processes = [%q]`; if the group is not meant to serve HTTP, do not start a web server in it.", g.Name, port, g.Name)
		}
		out = append(out, r.Finding(g.Loc, "web server with no service routing to it", msg, fix))
	}
	return out
}
