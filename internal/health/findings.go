package health

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// Rule IDs of the findings in the verify phase.
const (
	RuleFigures   = "verify-figures"   // notice: samples passed, latency p50/p95/max
	RuleStatus    = "verify-status"    // samples answered an unexpected status code
	RuleRedirect  = "verify-redirect"  // samples answered a redirect (not followed)
	RuleJSON      = "verify-json"      // the JSON body check failed
	RuleLatency   = "verify-latency"   // p95 over the threshold, or one sample over SlowSample
	RuleTimeout   = "verify-timeout"   // samples got no answer in time
	RuleReach     = "verify-reach"     // samples got no connection or a broken one
	RuleTLS       = "verify-tls"       // certificate refused, expiring soon, or its validity
	RuleWebSocket = "verify-websocket" // the WebSocket connect-and-echo check
	RuleStopped   = "verify-stopped"   // the run ended before every sample was taken
)

// AddTo adds the run's findings to rep's verify phase and records the run's
// duration there. The caller calls rep.Finish when the report is complete.
func (r *Result) AddTo(rep *report.Report) {
	rep.Phase(report.Verify)
	rep.Add(report.Verify, r.Findings()...)
	rep.SetDuration(report.Verify, r.Duration)
	rep.Phase(report.Verify).Figures = r.Figures()
}

// Findings turns the run into findings for the verify phase: always one
// notice with the figures; an error per kind of failed sample, with the
// count, the sample numbers and the fix; the latency verdict; the
// certificate (error when refused, warning when expiring within
// CertWarnDays, else a notice with the days left); and the WebSocket check.
func (r *Result) Findings() []report.Finding {
	o := r.opts.withDefaults()
	total := len(r.Samples)
	var out []report.Finding
	out = append(out, r.figures(o))

	type group struct {
		first Sample
		nums  []int
	}
	var order []string
	groups := map[string]*group{}
	for _, s := range r.Samples {
		if s.Passed || (s.Problem == ProblemTLS && r.Cert != nil && !r.Cert.Verified) {
			continue // a refused certificate is reported once, by certFinding
		}
		key := string(s.Problem) + "\x00"
		switch s.Problem {
		case ProblemStatus:
			key += strconv.Itoa(s.Status)
		case ProblemRedirect:
			key += s.Location
		case ProblemBody, ProblemConnect:
			key += s.Detail
		}
		g := groups[key]
		if g == nil {
			g = &group{first: s}
			groups[key] = g
			order = append(order, key)
		}
		g.nums = append(g.nums, s.N)
	}
	for _, key := range order {
		g := groups[key]
		out = append(out, r.sampleFinding(o, g.first, g.nums, total))
	}
	out = append(out, r.latencyFindings(o)...)
	if r.Cert != nil {
		out = append(out, r.certFinding(o))
	}
	if r.WebSocket != nil {
		out = append(out, r.wsFinding(o))
	}
	if r.Stopped != "" {
		out = append(out, report.Finding{
			Rule: RuleStopped, Severity: report.Error,
			Title:   "Verification stopped early",
			Message: fmt.Sprintf("Verification of %s stopped after %d of %d samples (%s), so the app was not shown healthy.", r.URL, total, o.Samples, r.Stopped),
			Fix:     "Run the verification again and let it finish; if a deadline stopped it, give it at least samples × interval plus the timeout.",
		})
	}
	return out
}

// figures is the notice that carries the run's numbers.
func (r *Result) figures(o Options) report.Finding {
	total := len(r.Samples)
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s: %d of %d samples passed (want %s", r.URL, r.Passed, total, statusText(o.ExpectStatus))
	if len(o.ExpectJSON) > 0 {
		exps := make([]string, len(o.ExpectJSON))
		for i, e := range o.ExpectJSON {
			exps[i] = e.String()
		}
		fmt.Fprintf(&b, " and JSON %s", strings.Join(exps, ", "))
	}
	fmt.Fprintf(&b, "), %d in a row at the end (longest run %d).", r.Consecutive, r.LongestStreak)
	if r.Responded > 0 {
		fmt.Fprintf(&b, " Latency over %d answered samples: p50 %s, p95 %s, max %s (sample %d); threshold p95 ≤ %s.",
			r.Responded, fmtDur(r.P50), fmtDur(r.P95), fmtDur(r.Max), r.Slowest, fmtDur(o.MaxP95))
	} else if total > 0 {
		b.WriteString(" No sample got an HTTP answer, so there is no latency figure.")
	}
	fmt.Fprintf(&b, " Took %s.", fmtDur(r.Duration))
	return report.Finding{
		Rule: RuleFigures, Severity: report.Notice,
		Title:   fmt.Sprintf("Health: %d/%d samples passed", r.Passed, total),
		Message: b.String(),
	}
}

// sampleFinding is the error for one kind of failed sample.
func (r *Result) sampleFinding(o Options, s Sample, nums []int, total int) report.Finding {
	who := fmt.Sprintf("%s (%s)", countOf(len(nums), total), sampleList(nums))
	switch {
	case total == 1 && len(nums) == 1:
		who = "The only sample"
	case len(nums) == total:
		who = fmt.Sprintf("All %d samples", total)
	}
	tail := r.recovery(nums)
	switch s.Problem {
	case ProblemStatus:
		return report.Finding{
			Rule: RuleStatus, Severity: report.Error,
			Title:   fmt.Sprintf("%s answered %s", r.URL, statusText(s.Status)),
			Message: fmt.Sprintf("%s of GET %s answered %s instead of %d.%s", who, r.URL, statusText(s.Status), o.ExpectStatus, tail),
			Fix:     statusFix(s.Status, r.URL),
		}
	case ProblemRedirect:
		return r.redirectFinding(s, who, tail)
	case ProblemBody:
		return report.Finding{
			Rule: RuleJSON, Severity: report.Error,
			Title:   "Health body check failed",
			Message: fmt.Sprintf("%s of GET %s answered %d but the body failed the check: %s.%s", who, r.URL, s.Status, s.Detail, tail),
			Fix:     bodyFix(s.Detail),
		}
	case ProblemTimeout:
		return report.Finding{
			Rule: RuleTimeout, Severity: report.Error,
			Title:   fmt.Sprintf("%s did not answer in time", r.URL),
			Message: fmt.Sprintf("%s of GET %s got no answer within %s.%s", who, r.URL, fmtDur(o.Timeout), tail),
			Fix:     "The app took no request in time: a machine starting from stopped (auto_stop_machines with min_machines_running = 0), a handler blocked on the database or Redis, or every machine at its [http_service.concurrency] hard_limit. Read `fly logs` and `fly status`; raise --timeout only if the endpoint is meant to be this slow.",
		}
	case ProblemTLS:
		return report.Finding{
			Rule: RuleTLS, Severity: report.Error,
			Title:   "TLS failed",
			Message: fmt.Sprintf("%s of GET %s failed in TLS: %s.%s", who, r.URL, s.Detail, tail),
			Fix:     tlsFix(r.Cert, r.host),
		}
	default:
		return report.Finding{
			Rule: RuleReach, Severity: report.Error,
			Title:   fmt.Sprintf("%s could not be reached", r.URL),
			Message: fmt.Sprintf("%s of GET %s got no HTTP answer: %s.%s", who, r.URL, s.Detail, tail),
			Fix:     reachFix(s.Detail, r.host),
		}
	}
}

// recovery says whether the app recovered after failed samples nums.
func (r *Result) recovery(nums []int) string {
	total := len(r.Samples)
	if len(nums) == total || len(nums) == 0 {
		return ""
	}
	last := nums[len(nums)-1]
	if r.Consecutive > 0 && last <= total-r.Consecutive {
		return fmt.Sprintf(" The other %d passed, the last %d in a row: the app recovered, but it failed for a while.", total-len(nums), r.Consecutive)
	}
	return fmt.Sprintf(" The other %d samples passed, but the last sample failed: the app is still failing.", total-len(nums))
}

func (r *Result) redirectFinding(s Sample, who, tail string) report.Finding {
	from, _ := url.Parse(r.URL)
	to, _ := url.Parse(s.Location)
	f := report.Finding{Rule: RuleRedirect, Severity: report.Error}
	viaFly := strings.Contains(strings.ToLower(s.Via), "fly.io")
	base := fmt.Sprintf("%s of GET %s answered %s, a redirect to %s. Redirects are not followed, as Fly's health checks do not follow them.", who, r.URL, statusText(s.Status), s.Location)
	switch {
	case from != nil && to != nil && strings.EqualFold(from.Scheme, "http") && strings.EqualFold(to.Scheme, "https") && strings.EqualFold(from.Hostname(), to.Hostname()):
		f.Title = "HTTP redirects to HTTPS (force_https)"
		f.Message = base + " An http→https redirect is the classic health-check failure: fly.toml's force_https = true sends it from Fly's edge to every http:// request, and an HTTPS-redirect middleware in the app sends it to Fly's own health checks, which call internal_port over plain HTTP."
		if viaFly {
			f.Message += fmt.Sprintf(" The answer came through Fly's proxy (Via: %s).", s.Via)
		}
		f.Message += tail
		f.Fix = fmt.Sprintf("Verify the https URL it points to (--url %s). If the app itself redirects (`deploy-action validate` reports it as networking-https-redirect-check), add `X-Forwarded-Proto = \"https\"` to the check's headers in fly.toml or exempt the health path from the redirect; force_https at the edge alone does not affect Fly's checks.", s.Location)
	case from != nil && to != nil && strings.EqualFold(from.Host, to.Host) && strings.TrimSuffix(from.Path, "/") == strings.TrimSuffix(to.Path, "/"):
		f.Title = "Health path redirects (trailing slash)"
		f.Message = base + " Only the trailing slash differs: the route is declared with the other form (FastAPI/Starlette redirect_slashes answers 307)." + tail
		f.Fix = fmt.Sprintf("Verify %s, and use that exact path in fly.toml's health check (Fly's checks do not follow redirects); or declare the route without the trailing slash.", s.Location)
	default:
		f.Title = "Health URL redirects"
		f.Message = base + tail
		f.Fix = fmt.Sprintf("Verify the URL that answers directly (if %s is it, use --url %s); a health endpoint should not redirect, for example to a login page: exempt it from authentication.", s.Location, s.Location)
	}
	return f
}

// latencyFindings compares the figures with the thresholds: an error when
// the p95 is over MaxP95; otherwise a warning when one sample is over
// SlowSample.
func (r *Result) latencyFindings(o Options) []report.Finding {
	if r.Responded == 0 {
		return nil
	}
	slowFirst := ""
	if r.Slowest == 1 && r.Responded > 1 && r.Max > 3*r.P50 {
		tlsToo := ""
		if r.https {
			tlsToo = " and did the TLS handshake"
		}
		slowFirst = fmt.Sprintf(" The first sample is the slowest, over 3× the p50: it opened the connection%s, and a first request this much slower than the rest is usually a machine starting (auto_stop_machines).", tlsToo)
	}
	fix := "Find where the time goes: read `fly logs` for slow requests; a /health that queries the database pays a round trip each call, so keep the database in the app's primary_region; a machine stopped by auto_stop_machines pays a cold start on the first request (set min_machines_running = 1)."
	if r.P95 > o.MaxP95 {
		return []report.Finding{{
			Rule: RuleLatency, Severity: report.Error,
			Title:   fmt.Sprintf("p95 latency %s is over %s", fmtDur(r.P95), fmtDur(o.MaxP95)),
			Message: fmt.Sprintf("GET %s: p95 latency %s is over the %s threshold (p50 %s, max %s, over %d answered samples).%s", r.URL, fmtDur(r.P95), fmtDur(o.MaxP95), fmtDur(r.P50), fmtDur(r.Max), r.Responded, slowFirst),
			Fix:     fix + " If this latency is expected for this endpoint, raise --max-p95.",
		}}
	}
	if r.Max > o.SlowSample {
		return []report.Finding{{
			Rule: RuleLatency, Severity: report.Warning,
			Title:   fmt.Sprintf("A sample took %s", fmtDur(r.Max)),
			Message: fmt.Sprintf("GET %s: sample %d took %s, over %s, although the p95 (%s) is within %s.%s", r.URL, r.Slowest, fmtDur(r.Max), fmtDur(o.SlowSample), fmtDur(r.P95), fmtDur(o.MaxP95), slowFirst),
			Fix:     fix,
		}}
	}
	return nil
}

// certFinding reports the certificate: refused, close to expiry, or fine.
func (r *Result) certFinding(o Options) report.Finding {
	c := r.Cert
	failed := 0
	for _, s := range r.Samples {
		if s.Problem == ProblemTLS {
			failed++
		}
	}
	f := report.Finding{Rule: RuleTLS}
	switch {
	case !c.Verified:
		f.Severity = report.Error
		f.Title = "TLS certificate refused: " + string(c.Problem)
		f.Message = fmt.Sprintf("TLS refused the certificate of %s (%s of GET %s failed): %s.%s", c.Host, countOf(failed, len(r.Samples)), r.URL, c.Detail, certFacts(c))
		f.Fix = tlsFix(c, r.host)
	case c.DaysLeft < o.CertWarnDays:
		f.Severity = report.Warning
		f.Title = fmt.Sprintf("TLS certificate expires in %d days", c.DaysLeft)
		f.Message = fmt.Sprintf("The certificate of %s expires in %d days (%s), under %d days.%s", c.Host, c.DaysLeft, c.NotAfter.UTC().Format(time.DateOnly), o.CertWarnDays, certFacts(c))
		f.Fix = fmt.Sprintf("Certificates Fly issues are renewed automatically well before they expire, so one this close means renewal is failing: run `fly certs check %s` and fix what it reports (usually DNS records that no longer point at the app). Renew a certificate from elsewhere where it was issued.", c.Host)
	default:
		f.Severity = report.Notice
		f.Title = fmt.Sprintf("TLS certificate valid for %d more days", c.DaysLeft)
		f.Message = fmt.Sprintf("The certificate of %s is valid until %s (%d days).%s", c.Host, c.NotAfter.UTC().Format(time.DateOnly), c.DaysLeft, certFacts(c))
	}
	return f
}

// certFacts describes a certificate in one sentence.
func certFacts(c *Cert) string {
	if c.Subject == "" && c.Issuer == "" {
		return ""
	}
	s := fmt.Sprintf(" Certificate: subject %q, issuer %q", c.Subject, c.Issuer)
	if len(c.DNSNames) > 0 {
		s += ", for " + strings.Join(c.DNSNames, ", ")
	}
	if !c.NotAfter.IsZero() && !c.Verified {
		s += ", expires " + c.NotAfter.UTC().Format(time.DateOnly)
		if c.Problem == CertExpired {
			s += fmt.Sprintf(" (%d days ago)", -c.DaysLeft)
		}
	}
	return s + "."
}

// tlsFix says what to do about a refused certificate.
func tlsFix(c *Cert, host string) string {
	problem := CertHandshake
	if c != nil {
		problem = c.Problem
	}
	switch problem {
	case CertExpired:
		return fmt.Sprintf("Renew the certificate. For a certificate Fly issued, run `fly certs check %s`: renewal fails when the domain's DNS records (A/AAAA to the app's IPs from `fly ips list`, or a CNAME to the app's fly.dev name) no longer point at the app. A certificate from elsewhere (a proxy in front, or one the app serves itself) must be renewed there.", host)
	case CertSelfSigned:
		return fmt.Sprintf("The server presents a self-signed certificate, which no client trusts. Let Fly's edge terminate TLS (an [http_service], or a \"tls\" handler on port 443 in [[services.ports]]) with a certificate from `fly certs add %s`, instead of serving TLS from the app. For a private test server, pass its certificate with --cacert.", host)
	case CertUnknownAuthority:
		return "The certificate does not chain to a trusted authority: serve the full chain (leaf plus intermediates), use a certificate from a public CA (Fly issues one with `fly certs add HOST`), or pass a private CA with --cacert."
	case CertHostname:
		return fmt.Sprintf("The certificate is not for %s: add one for this host with `fly certs add %s` and point its DNS at the app, or verify the host name the certificate is for.", host, host)
	default:
		return "TLS failed before a certificate could be checked: check that the port serves TLS (on Fly, [http_service] or a \"tls\" handler on port 443), and that an http:// service is not being called with https://."
	}
}

func (r *Result) wsFinding(o Options) report.Finding {
	ws := r.WebSocket
	f := report.Finding{Rule: RuleWebSocket}
	switch {
	case ws.Echoed:
		f.Severity = report.Notice
		f.Title = "WebSocket echo passed"
		f.Message = fmt.Sprintf("WebSocket %s: connected in %s, echo round trip %s.", ws.URL, fmtDur(ws.Connect), fmtDur(ws.RoundTrip))
	case ws.Connected && ws.Reply != "":
		f.Severity = report.Warning
		f.Title = "WebSocket answered, but not with an echo"
		f.Message = fmt.Sprintf("WebSocket %s: connected in %s and replied in %s, but %s.", ws.URL, fmtDur(ws.Connect), fmtDur(ws.RoundTrip), ws.Problem)
		f.Fix = "The socket works end to end. If the endpoint is not meant to echo (it greets or pushes first), this is expected; point --websocket at an echo endpoint to measure the round trip."
	case ws.Connected:
		f.Severity = report.Error
		f.Title = "WebSocket connected but did not answer"
		f.Message = fmt.Sprintf("WebSocket %s: connected in %s, but %s.", ws.URL, fmtDur(ws.Connect), ws.Problem)
		f.Fix = "The handshake worked but no message came back: check the app's WebSocket handler in `fly logs` (an exception after accept closes the socket), and point --websocket at an endpoint that echoes what it receives."
	default:
		f.Severity = report.Error
		f.Title = "WebSocket connection failed"
		f.Message = fmt.Sprintf("WebSocket %s: %s.", ws.URL, ws.Problem)
		f.Fix = wsFix(ws)
	}
	return f
}

func wsFix(ws *WebSocketResult) string {
	switch {
	case ws.Timeout:
		return "The handshake got no answer in time: check the app is running (`fly status`) and that the path is a WebSocket route; Fly's proxy passes WebSocket upgrades through [http_service] with no extra settings."
	case ws.Status == 404:
		return "No WebSocket route at this path: check the path (FastAPI: @app.websocket(\"/ws\")) and the URL's host."
	case ws.Status == 401 || ws.Status == 403:
		return "The app refused the upgrade: a WebSocket route that checks Origin or a token refuses a bare client; allow the verify request or point --websocket at a public echo endpoint."
	case ws.Status >= 300 && ws.Status < 400:
		return "The upgrade was redirected (often http→https): use the wss:// URL."
	case ws.Status != 0:
		return fmt.Sprintf("The server answered the upgrade with HTTP %d, not 101 Switching Protocols: the path is not a WebSocket route, or a proxy in front strips the Upgrade header.", ws.Status)
	default:
		return "The connection failed before a handshake: check the host and port, and for wss:// the certificate (see the verify-tls finding of the HTTP check)."
	}
}

// statusFix says what an unexpected status code usually means on Fly.
func statusFix(code int, u string) string {
	switch {
	case code == 502:
		return "Fly's proxy answers 502 when the machine gives no valid answer: the app crashed or closed the connection, or it listens on another port than internal_port, or on 127.0.0.1. Read `fly logs`, and make the app bind 0.0.0.0 on internal_port."
	case code == 503:
		return "A 503 comes from Fly's proxy when no machine can take the request (all stopped, failing their checks, or at their [http_service.concurrency] hard_limit), or from the app while a dependency is down. Run `fly status` and `fly checks list`, read `fly logs`; if it comes in bursts under load, raise the concurrency limits or add machines."
	case code == 504:
		return "The request timed out between Fly's proxy and the app: the handler is too slow or blocked (often on the database). Read `fly logs` and make the health endpoint cheap."
	case code == 500:
		return "The app raised an error on this endpoint: read the traceback in `fly logs`. A /health that touches the database fails this way when DATABASE_URL or the database is wrong."
	case code == 400:
		return "The endpoint rejected a plain GET: if the port serves TLS (a Go or uvicorn server with certificates answers 400 to plain HTTP), use an https:// URL; otherwise check what the endpoint expects."
	case code == 404:
		return fmt.Sprintf("Nothing is routed at %s: check the path (routes are exact: /health and /health/ differ) and any root path or prefix the app mounts its routes under.", pathOf(u))
	case code == 401 || code == 403:
		return "The endpoint requires credentials: a health endpoint must answer anonymously, as Fly's checks do not authenticate. Exempt the path from the auth middleware."
	case code == 405:
		return "The endpoint does not accept GET: declare it for GET (Fly's HTTP checks send GET by default)."
	case code == 429:
		return "The app rate-limited the samples: exempt the health path from rate limiting, or raise --interval."
	case code >= 500:
		return "A server error: read `fly logs` for the cause."
	default:
		return "If this code is what the endpoint is meant to answer, pass it with --expect-status."
	}
}

func bodyFix(detail string) string {
	switch {
	case strings.HasPrefix(detail, "the body is not JSON"):
		return "Point --url at the JSON health endpoint, or make it return JSON (in FastAPI, return a dict). An HTML body usually means a proxy, a default page or an error page answered instead of the handler."
	case strings.Contains(detail, " is missing ("):
		return "Check the key path against the keys the body has (shown above); use dots for nested keys (checks.database)."
	default:
		return "The app reports itself unhealthy: its health handler returned this value. Read `fly logs` for what it checks (database, Redis) and fix that dependency; or correct --expect-json if the app reports health another way."
	}
}

func reachFix(detail, host string) string {
	switch {
	case strings.Contains(detail, "does not resolve") || strings.HasPrefix(detail, "DNS"):
		return fmt.Sprintf("Check the host name %s: a Fly app answers at APP.fly.dev; a custom domain needs DNS records pointing at the app (`fly ips list`, `fly certs check %s`).", host, host)
	case strings.HasPrefix(detail, "connection refused"):
		return "Nothing accepted the connection: check the app is deployed and running (`fly status`), that the URL's port is a public port of the service ([http_service] serves 80 and 443), and, for a local URL, that the server is up."
	case strings.HasPrefix(detail, "the connection was closed"):
		return "The connection dropped mid-request: the app crashed or the proxy gave up. Read `fly logs`."
	default:
		return "Check the URL and that the app is running (`fly status`, `fly logs`)."
	}
}

func pathOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Path != "" {
		return p.Path
	}
	return "/"
}

// fmtDur formats a duration for people: "0.42 ms", "12 ms", "1 s", "1.8 s".
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
	default:
		return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', -1, 64) + " s"
	}
}

// countOf formats "3 of 10 samples".
func countOf(n, total int) string {
	if total == 1 {
		return fmt.Sprintf("%d of 1 sample", n)
	}
	return fmt.Sprintf("%d of %d samples", n, total)
}

// sampleList formats sample numbers as "sample 3" or "samples 2–4, 7".
func sampleList(nums []int) string {
	var parts []string
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d–%d", nums[i], nums[j]))
		} else {
			parts = append(parts, strconv.Itoa(nums[i]))
		}
		i = j + 1
	}
	word := "samples "
	if len(nums) == 1 {
		word = "sample "
	}
	return word + strings.Join(parts, ", ")
}
