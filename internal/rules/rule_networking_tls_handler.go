package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleNetworkingTLSHandler = register(&Rule{
	ID:       "networking-tls-handler",
	Phase:    report.Networking,
	Severity: report.Error,
	Doc:      "a [[services.ports]] entry on port 443 has the http handler without tls",
	Why:      "Fly's proxy then speaks plain HTTP on the HTTPS port: browsers show ERR_SSL_PROTOCOL_ERROR and clients fail with `SSL routines::wrong version number`.",
	Check:    checkNetworkingTLSHandler,
})

func checkNetworkingTLSHandler(r *Rule, p *project.Project) []report.Finding {
	cfg := p.Fly
	if cfg == nil {
		return nil
	}
	var out []report.Finding
	for i, s := range cfg.Services {
		for j, port := range s.Ports {
			if !covers443(port.Port.V, port.StartPort.V, port.EndPort.V) {
				continue
			}
			var hs []string
			for _, h := range port.Handlers {
				hs = append(hs, strings.ToLower(h))
			}
			// No handlers (TLS passthrough to an app that terminates TLS
			// itself) or proxy_proto alone are deliberate.
			if !slices.Contains(hs, "http") || slices.Contains(hs, "tls") {
				continue
			}
			loc, ok := cfg.Loc(fmt.Sprintf("services[%d].ports[%d].handlers", i, j))
			if !ok {
				loc = port.Loc
			}
			handlers := `["` + strings.Join(port.Handlers, `", "`) + `"]`
			out = append(out, r.Finding(loc, "port 443 without the tls handler",
				fmt.Sprintf("[[services.ports]] for port 443 (%s) has handlers = %s: Fly's proxy does not terminate TLS there and speaks plain HTTP on the HTTPS port, so browsers show ERR_SSL_PROTOCOL_ERROR and curl says `wrong version number`.", port.Loc, handlers),
				`Set handlers = ["tls", "http"] on port 443 (or handlers = [] if the app terminates TLS itself).`))
		}
	}
	return out
}

// covers443 reports whether a port entry listens on 443.
func covers443(port, start, end int) bool {
	if port == 443 {
		return true
	}
	return start > 0 && start <= 443 && 443 <= end
}
