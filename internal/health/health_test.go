package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// fast returns Options that sample url back to back.
func fast(url string, samples int) Options {
	return Options{URL: url, Samples: samples, Interval: -1, Timeout: 2 * time.Second}
}

func jsonHandler(status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	})
}

func server(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func mustVerify(t *testing.T, o Options) *Result {
	t.Helper()
	res, err := Verify(context.Background(), o)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func expect(t *testing.T, specs ...string) []Expectation {
	t.Helper()
	var out []Expectation
	for _, s := range specs {
		e, err := ParseExpectation(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// byRule returns the findings of rule.
func byRule(fs []report.Finding, rule string) []report.Finding {
	var out []report.Finding
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

// one returns the single finding of rule, failing the test otherwise.
func one(t *testing.T, fs []report.Finding, rule string) report.Finding {
	t.Helper()
	got := byRule(fs, rule)
	if len(got) != 1 {
		t.Fatalf("want 1 %s finding, got %d:\n%s", rule, len(got), dump(fs))
	}
	return got[0]
}

func dump(fs []report.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s: %s | fix: %s\n", f.Severity, f.Rule, f.Message, f.Fix)
	}
	return b.String()
}

func containsAll(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s lacks %q:\n%s", what, p, s)
		}
	}
}

func TestHealthy(t *testing.T) {
	srv := server(t, jsonHandler(200, `{"status":"ok","checks":{"db":"ok","redis":{"up":true}},"version":3,"nodes":[{"ok":true}],"err":null}`))
	o := fast(srv.URL+"/health", 5)
	o.ExpectJSON = expect(t, "status=ok", "checks.db=ok", "checks.redis.up=true", "version=3.0", "nodes.0.ok=true", "err=null", "checks")
	res := mustVerify(t, o)
	fs := res.Findings()
	if !res.OK() || res.Passed != 5 || res.Consecutive != 5 || res.LongestStreak != 5 || res.Responded != 5 {
		t.Fatalf("want 5/5 passed and OK, got passed %d consecutive %d:\n%s", res.Passed, res.Consecutive, dump(fs))
	}
	if res.P50 <= 0 || res.P95 < res.P50 || res.Max < res.P95 {
		t.Errorf("latency figures out of order: p50 %v p95 %v max %v", res.P50, res.P95, res.Max)
	}
	if res.Cert != nil || res.Redirect != "" || res.WebSocket != nil {
		t.Errorf("unexpected cert/redirect/websocket: %+v", res)
	}
	if len(fs) != 1 {
		t.Fatalf("want only the figures notice:\n%s", dump(fs))
	}
	f := one(t, fs, RuleFigures)
	if f.Severity != report.Notice {
		t.Errorf("figures severity %s", f.Severity)
	}
	containsAll(t, "figures", f.Message, "5 of 5 samples passed", "want 200 OK and JSON status=ok", "5 in a row", "p50 ", "p95 ", "threshold p95 ≤ 200 ms")
	fig := res.Figures()
	for _, k := range []string{"samples", "passed", "consecutive", "p50_ms", "p95_ms", "max_ms", "duration_ms"} {
		if _, ok := fig[k]; !ok {
			t.Errorf("Figures lacks %s: %v", k, fig)
		}
	}
}

func TestIntervalPacesSamples(t *testing.T) {
	srv := server(t, jsonHandler(200, `{}`))
	o := fast(srv.URL, 3)
	o.Interval = 30 * time.Millisecond
	res := mustVerify(t, o)
	if d := res.Samples[2].Start.Sub(res.Samples[0].Start); d < 60*time.Millisecond {
		t.Errorf("samples 1 and 3 started %v apart, want ≥ 60ms", d)
	}
}

func TestLatency(t *testing.T) {
	slow := func(d time.Duration) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(d)
			w.Write([]byte(`{"status":"ok"}`))
		})
	}
	t.Run("p95 over threshold", func(t *testing.T) {
		srv := server(t, slow(60*time.Millisecond))
		o := fast(srv.URL+"/health", 3)
		o.MaxP95 = 20 * time.Millisecond
		res := mustVerify(t, o)
		fs := res.Findings()
		f := one(t, fs, RuleLatency)
		if f.Severity != report.Error || res.OK() {
			t.Errorf("want a latency error:\n%s", dump(fs))
		}
		containsAll(t, "latency", f.Message, "over the 20 ms threshold", "p50 ", "max ", "over 3 answered samples")
		containsAll(t, "fix", f.Fix, "--max-p95", "min_machines_running")
		if res.Passed != 3 {
			t.Errorf("slow samples still pass their own checks: passed %d", res.Passed)
		}
	})
	t.Run("one slow sample is a warning", func(t *testing.T) {
		var n atomic.Int32
		srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				time.Sleep(80 * time.Millisecond)
			}
			w.Write([]byte(`{}`))
		}))
		o := fast(srv.URL, 30)
		o.SlowSample = 50 * time.Millisecond
		o.MaxP95 = time.Second
		res := mustVerify(t, o)
		fs := res.Findings()
		f := one(t, fs, RuleLatency)
		if f.Severity != report.Warning || !res.OK() {
			t.Errorf("want a latency warning and OK:\n%s", dump(fs))
		}
		containsAll(t, "latency", f.Message, "sample 1 took", "within 1 s", "The first sample is the slowest")
	})
}

func TestStatusBurst(t *testing.T) {
	var n atomic.Int32
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k := n.Add(1); k >= 2 && k <= 4 {
			http.Error(w, "no machine", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	o := fast(srv.URL+"/health", 8)
	o.ExpectJSON = expect(t, "status=ok")
	res := mustVerify(t, o)
	fs := res.Findings()
	if res.Passed != 5 || res.Consecutive != 4 || res.LongestStreak != 4 || res.OK() {
		t.Fatalf("passed %d consecutive %d longest %d ok %v", res.Passed, res.Consecutive, res.LongestStreak, res.OK())
	}
	f := one(t, fs, RuleStatus)
	containsAll(t, "status", f.Message, "3 of 8 samples (samples 2–4)", "503 Service Unavailable instead of 200", "the last 4 in a row", "recovered")
	containsAll(t, "fix", f.Fix, "fly status", "hard_limit")
	if len(byRule(fs, RuleJSON)) != 0 {
		t.Errorf("a 503 body must not also fail the JSON check:\n%s", dump(fs))
	}
}

func TestStatusStillFailing(t *testing.T) {
	var n atomic.Int32
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 2 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
	}))
	res := mustVerify(t, fast(srv.URL, 4))
	f := one(t, res.Findings(), RuleStatus)
	containsAll(t, "status", f.Message, "2 of 4 samples (samples 3–4)", "502 Bad Gateway", "still failing")
	containsAll(t, "fix", f.Fix, "0.0.0.0", "internal_port")
}

func TestExpectStatus(t *testing.T) {
	srv := server(t, jsonHandler(http.StatusNoContent, ""))
	o := fast(srv.URL, 2)
	o.ExpectStatus = http.StatusNoContent
	if res := mustVerify(t, o); !res.OK() {
		t.Errorf("204 expected and answered:\n%s", dump(res.Findings()))
	}
}

func TestRedirect(t *testing.T) {
	t.Run("force_https", func(t *testing.T) {
		srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Via", "1.1 fly.io")
			http.Redirect(w, r, "https://"+r.Host+r.URL.Path, http.StatusMovedPermanently)
		}))
		res := mustVerify(t, fast(srv.URL+"/health", 3))
		fs := res.Findings()
		f := one(t, fs, RuleRedirect)
		host := strings.TrimPrefix(srv.URL, "http://")
		if res.Redirect != "https://"+host+"/health" || res.Passed != 0 || f.Severity != report.Error {
			t.Fatalf("redirect %q passed %d:\n%s", res.Redirect, res.Passed, dump(fs))
		}
		containsAll(t, "redirect", f.Title, "force_https")
		containsAll(t, "redirect", f.Message, "All 3 samples", "301 Moved Permanently", "not followed", "force_https", "Via: 1.1 fly.io")
		containsAll(t, "fix", f.Fix, "--url https://"+host+"/health", "X-Forwarded-Proto")
		if len(byRule(fs, RuleStatus)) != 0 {
			t.Errorf("a redirect is reported as a redirect, not also as a status:\n%s", dump(fs))
		}
	})
	t.Run("trailing slash", func(t *testing.T) {
		srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/health" {
				http.Redirect(w, r, "/health/", http.StatusTemporaryRedirect)
				return
			}
			w.Write([]byte(`{}`))
		}))
		f := one(t, mustVerify(t, fast(srv.URL+"/health", 1)).Findings(), RuleRedirect)
		containsAll(t, "redirect", f.Message, "The only sample", "307 Temporary Redirect", "trailing slash")
		containsAll(t, "fix", f.Fix, srv.URL+"/health/")
	})
	t.Run("elsewhere", func(t *testing.T) {
		srv := server(t, http.RedirectHandler("/login", http.StatusFound))
		f := one(t, mustVerify(t, fast(srv.URL+"/health", 1)).Findings(), RuleRedirect)
		containsAll(t, "fix", f.Fix, "login", srv.URL+"/login")
	})
	t.Run("expected redirect", func(t *testing.T) {
		srv := server(t, http.RedirectHandler("/x", http.StatusFound))
		o := fast(srv.URL, 1)
		o.ExpectStatus = http.StatusFound
		if res := mustVerify(t, o); !res.OK() {
			t.Errorf("expected 302:\n%s", dump(res.Findings()))
		}
	})
}

func TestJSONBody(t *testing.T) {
	tests := []struct {
		name   string
		ct     string
		body   string
		expect []string
		want   []string // in the message; none means pass
		fix    string
	}{
		{"html page", "text/html", "<html><body>Welcome to nginx!</body></html>", []string{"status=ok"},
			[]string{"the body is not JSON", "Content-Type text/html", `starts "<html><body>Welcome`}, "HTML body"},
		{"empty body", "application/json", "", []string{"status=ok"}, []string{"not JSON (EOF"}, "Point --url"},
		{"two values", "application/json", `{"status":"ok"} {}`, []string{"status=ok"}, []string{"more than one JSON value"}, "Point --url"},
		{"wrong value", "application/json", `{"status":"degraded","checks":{"db":"down"}}`, []string{"status=ok", "checks.db=ok"},
			[]string{`status is "degraded", want "ok"`, `checks.db is "down", want "ok"`, "All 5 samples"}, "unhealthy"},
		{"missing key", "application/json", `{"state":"ok","b":1}`, []string{"status=ok"},
			[]string{`status is missing (the top level has keys "b", "state")`}, "key path"},
		{"not an object", "application/json", `{"checks":"fine"}`, []string{"checks.db=ok"},
			[]string{`checks.db is missing (checks is "fine", not an object)`}, "key path"},
		{"array index out of range", "application/json", `{"n":[1]}`, []string{"n.3=1"}, []string{"n is an array of 1"}, "key path"},
		{"number mismatch", "application/json", `{"v":2}`, []string{"v=1"}, []string{"v is 2, want \"1\""}, "unhealthy"},
		{"object compare", "application/json", `{"o":{"a": 1}}`, []string{`o={"a":1}`}, nil, ""},
		{"string is not number", "application/json", `{"v":"1"}`, []string{"v=1"}, nil, ""},
		{"bool mismatch", "application/json", `{"ok":false}`, []string{"ok=true"}, []string{"ok is false"}, "unhealthy"},
		{"no expectations, no check", "text/plain", "OK", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ct)
				fmt.Fprint(w, tt.body)
			}))
			o := fast(srv.URL, 5)
			o.ExpectJSON = expect(t, tt.expect...)
			res := mustVerify(t, o)
			fs := res.Findings()
			if tt.want == nil {
				if !res.OK() {
					t.Fatalf("want pass:\n%s", dump(fs))
				}
				return
			}
			f := one(t, fs, RuleJSON)
			containsAll(t, "json finding", f.Message, tt.want...)
			containsAll(t, "fix", f.Fix, tt.fix)
		})
	}
}

func TestUnreachable(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		res := mustVerify(t, fast("http://"+addr+"/health", 2))
		fs := res.Findings()
		f := one(t, fs, RuleReach)
		containsAll(t, "reach", f.Message, "All 2 samples", "got no HTTP answer: connection refused")
		containsAll(t, "fix", f.Fix, "fly status")
		if res.Responded != 0 || strings.Contains(one(t, fs, RuleFigures).Message, "p50") {
			t.Errorf("no latency figures without answers:\n%s", dump(fs))
		}
		if _, ok := res.Figures()["p95_ms"]; ok {
			t.Error("Figures has p95_ms without answers")
		}
	})
	t.Run("timeout", func(t *testing.T) {
		srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}))
		o := fast(srv.URL, 2)
		o.Timeout = 50 * time.Millisecond
		res := mustVerify(t, o)
		f := one(t, res.Findings(), RuleTimeout)
		containsAll(t, "timeout", f.Message, "All 2 samples", "no answer within 50 ms")
		containsAll(t, "fix", f.Fix, "auto_stop_machines")
	})
	t.Run("no such host", func(t *testing.T) {
		_, detail := describeErr(&net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}, time.Second)
		if detail != "nope.invalid does not resolve (no such host)" {
			t.Errorf("detail %q", detail)
		}
		containsAll(t, "fix", reachFix(detail, "nope.invalid"), "fly.dev", "fly ips list")
	})
}

func TestCancel(t *testing.T) {
	t.Run("during a request", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		var n atomic.Int32
		srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) > 2 {
				select {
				case <-r.Context().Done():
				case <-release:
				}
				return
			}
			w.Write([]byte(`{}`))
		}))
		ctx, cancel := context.WithCancel(context.Background())
		o := fast(srv.URL, 10)
		o.Timeout = 10 * time.Second
		o.OnSample = func(s Sample) {
			if s.N == 2 {
				time.AfterFunc(30*time.Millisecond, cancel)
			}
		}
		start := time.Now()
		res, err := Verify(ctx, o)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("cancel took %v", time.Since(start))
		}
		if res == nil || len(res.Samples) != 2 || res.Passed != 2 || res.Stopped == "" {
			t.Fatalf("want a partial result of 2 samples, got %+v", res)
		}
		f := one(t, res.Findings(), RuleStopped)
		containsAll(t, "stopped", f.Message, "after 2 of 10 samples", "context canceled")
		if res.OK() {
			t.Error("a stopped run is not OK")
		}
	})
	t.Run("during the interval", func(t *testing.T) {
		srv := server(t, jsonHandler(200, `{}`))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		o := fast(srv.URL, 3)
		o.Interval = time.Hour
		start := time.Now()
		res, err := Verify(ctx, o)
		if !errors.Is(err, context.DeadlineExceeded) || len(res.Samples) != 1 {
			t.Fatalf("err %v samples %d", err, len(res.Samples))
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("cancel took %v", time.Since(start))
		}
	})
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{URL: "ftp://example.com/health"},
		{URL: "/health"},
		{URL: "http://%zz"},
		{URL: "http://x", WebSocket: "http://x/ws"},
		{URL: "http://x", ExpectJSON: []Expectation{{Value: "ok"}}},
	} {
		res, err := Verify(context.Background(), o)
		if err == nil || res != nil {
			t.Errorf("Verify(%+v) = %v, %v; want an error and no result", o, res, err)
		}
	}
}

func TestAddTo(t *testing.T) {
	srv := server(t, jsonHandler(503, `{}`))
	res := mustVerify(t, fast(srv.URL, 2))
	rep := report.New("verify")
	res.AddTo(rep)
	rep.Finish()
	var b strings.Builder
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Conclusion string
		Phases     []struct {
			Name     string
			Status   string
			Findings []struct{ Rule, Severity, Message string }
		}
	}
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatal(err)
	}
	if got.Conclusion != "failure" || len(got.Phases) != 1 || got.Phases[0].Name != "verify" || got.Phases[0].Status != "failed" {
		t.Fatalf("report: %s", b.String())
	}
	rules := map[string]bool{}
	for _, f := range got.Phases[0].Findings {
		rules[f.Rule] = true
	}
	if !rules[RuleFigures] || !rules[RuleStatus] {
		t.Errorf("findings: %v", rules)
	}
	// The Result itself marshals for the bot.
	if _, err := json.Marshal(res); err != nil {
		t.Errorf("marshal Result: %v", err)
	}
}
