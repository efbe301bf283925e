package rules

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/project/pysettings"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleNetworkingHTTPSRedirectCheck = register(&Rule{
	ID:       "networking-https-redirect-check",
	Phase:    report.Networking,
	Severity: report.Error,
	Doc:      "the app redirects plain HTTP to HTTPS while a plain-HTTP health check calls it without X-Forwarded-Proto",
	Why:      "Fly's health checks call the machine's internal_port over plain HTTP, not through the proxy (so fly.toml force_https does not touch them), and do not follow redirects: an app that answers 301/307 fails every check and the deploy is marked failed.",
	Check:    checkNetworkingHTTPSRedirectCheck,
})

func checkNetworkingHTTPSRedirectCheck(r *Rule, p *project.Project) []report.Finding {
	cfg := p.Fly
	if cfg == nil {
		return nil
	}
	var checks []flytoml.Check
	for _, c := range cfg.AllChecks() {
		if plainHTTPCheck(c) {
			checks = append(checks, c)
		}
	}
	if len(checks) == 0 {
		return nil
	}
	var out []report.Finding
	for _, m := range p.Settings {
		for _, rd := range m.HTTPSRedirects {
			out = append(out, redirectFinding(r, p, m, rd, checks))
		}
	}
	return out
}

// plainHTTPCheck reports whether a check is an HTTP check over plain HTTP
// that does not say the request came in over HTTPS.
func plainHTTPCheck(c flytoml.Check) bool {
	isHTTP := c.Scope == flytoml.ScopeHTTPService || strings.EqualFold(c.Type.V, "http")
	if !isHTTP || strings.EqualFold(c.Protocol.V, "https") {
		return false
	}
	for k, v := range c.Headers {
		if strings.EqualFold(k, "X-Forwarded-Proto") && strings.EqualFold(strings.TrimSpace(v), "https") {
			return false
		}
	}
	return true
}

func redirectFinding(r *Rule, p *project.Project, m *pysettings.Module, rd pysettings.Redirect, checks []flytoml.Check) report.Finding {
	var names []string
	for _, c := range checks {
		path := c.Path.Or("/")
		names = append(names, fmt.Sprintf("%s (%s, GET %s)", c.Where, c.Loc, path))
	}
	what := map[string]string{
		pysettings.RedirectStarlette: "HTTPSRedirectMiddleware answers every plain-HTTP request with 307 Temporary Redirect",
		pysettings.RedirectDjango:    "SECURE_SSL_REDIRECT makes Django's SecurityMiddleware answer every plain-HTTP request with 301 Moved Permanently",
		pysettings.RedirectTalisman:  "Talisman (force_https is on by default) answers every plain-HTTP request with 302 Found",
		pysettings.RedirectSSLify:    "SSLify answers every plain-HTTP request with 301/302",
	}[rd.Kind]
	if what == "" {
		what = rd.Kind + " redirects plain-HTTP requests to HTTPS"
	}
	msg := fmt.Sprintf("%s. Fly's health check %s calls internal_port over plain HTTP, straight to the machine and without the proxy's `X-Forwarded-Proto: https`, and does not follow redirects: it fails on every run and the deploy is marked failed. (fly.toml's force_https only redirects at Fly's edge and does not affect health checks.)",
		what, strings.Join(names, " and "))
	header := "add `X-Forwarded-Proto = \"https\"` under the check's headers (`[http_service.checks.headers]` or `[services.http_checks.headers]`), as Fly's docs advise"
	var fix string
	switch rd.Kind {
	case pysettings.RedirectStarlette:
		fix = "Drop HTTPSRedirectMiddleware: force_https = true already redirects browsers at Fly's edge. Or " + header + ", and start uvicorn/gunicorn with `--forwarded-allow-ips \"*\"` so the header is trusted."
	case pysettings.RedirectDjango:
		exempt := strings.TrimPrefix(checks[0].Path.Or("/health"), "/")
		fix = "Set `SECURE_PROXY_SSL_HEADER = (\"HTTP_X_FORWARDED_PROTO\", \"https\")` in settings and " + header +
			"; or exempt the check's path: `SECURE_REDIRECT_EXEMPT = [r\"^" + regexpQuote(exempt) + "$\"]`."
	default:
		fix = "Turn the app's redirect off and let force_https = true redirect at Fly's edge, or " + header + "."
	}
	sev := report.Error
	title := "HTTPS redirect fails the plain-HTTP health check"
	if rd.Conditional || exemptsHealth(p, m, rd) {
		sev = report.Warning
		title = "HTTPS redirect may fail the plain-HTTP health check"
		msg = "Depending on configuration this code may redirect: " + msg
	}
	return r.FindingSev(sev, rd.Loc, title, msg, fix)
}

// exemptsHealth reports whether a Django settings module exempts paths
// from SECURE_SSL_REDIRECT or trusts X-Forwarded-Proto in a way that could
// let the check through.
func exemptsHealth(p *project.Project, m *pysettings.Module, rd pysettings.Redirect) bool {
	if rd.Kind != pysettings.RedirectDjango {
		return false
	}
	data, err := p.ReadText(m.Path)
	if err != nil {
		return false
	}
	return strings.Contains(string(data), "SECURE_REDIRECT_EXEMPT")
}

// regexpQuote escapes the characters of a path that are special in a
// Python regular expression.
func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`.+*?()[]{}|^$\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
