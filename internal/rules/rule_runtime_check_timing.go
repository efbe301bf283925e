package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Health-check limits, as flyctl (internal/appconfig/validation.go) states
// them: "minimum interval in flaps is set to 2 seconds" and "max timeout in
// flaps in set to 60s". flyctl refuses a top-level [checks.NAME] outside
// them ("Check '%s' interval is too short: %s, minimum is 2 seconds",
// "Check '%s' timeout is too long: %s, maximum is 60 seconds"); for service
// checks it only warns and sends the value, which flaps then raises to 1 s
// or lowers to 1 minute.
const (
	minCheckInterval = 2 * time.Second
	maxCheckTimeout  = 60 * time.Second
)

var ruleRuntimeCheckTiming = register(&Rule{
	ID:       "runtime-check-timing",
	Phase:    report.Runtime,
	Severity: report.Error,
	Doc:      "a health check's interval is under 2 s or its timeout over 60 s (Fly's limits), or its grace period or timeout does not fit the other durations",
	Why:      "flyctl refuses checks outside Fly's limits or has them silently clamped, and an HTTP check whose grace period is shorter than its own timeout counts the app's start-up as failures, so the deploy is marked failed.",
	Check:    checkRuntimeCheckTiming,
})

func checkRuntimeCheckTiming(r *Rule, p *project.Project) []report.Finding {
	cfg := p.Fly
	if cfg == nil {
		return nil
	}
	var out []report.Finding
	for _, c := range cfg.AllChecks() {
		name := c.Where
		topLevel := c.Scope == flytoml.ScopeTopLevel
		usable := func(v flytoml.Value[time.Duration]) bool {
			// An integer in [[http_service.checks]] is read as nanoseconds;
			// the loader already reports it (fly-toml-type).
			return v.Set && !(c.Scope == flytoml.ScopeHTTPService && bareInteger(p, v.Loc))
		}
		flagged := map[string]bool{}
		if usable(c.Interval) && c.Interval.V < minCheckInterval {
			what := "Fly's Machines API does not run checks more often than every 2 s (flyctl: \"minimum interval in flaps is set to 2 seconds\"), so the check does not run as written"
			if topLevel {
				what = "flyctl refuses the configuration: \"interval is too short: " + c.Interval.V.String() + ", minimum is 2 seconds\""
			}
			out = append(out, r.Finding(c.Interval.Loc, "check interval below Fly's 2 s minimum",
				fmt.Sprintf("%s (%s) runs every %s; %s.", name, c.Loc, fmtDur(c.Interval.V), what),
				"Set `interval = \"15s\"` (any value of 2s or more; 10s–30s is usual)."))
			flagged["interval"] = true
		}
		if usable(c.Timeout) && c.Timeout.V > maxCheckTimeout {
			what := "flyctl only warns that it \"will be lowered to 1 minute\", so the check does not behave as written"
			if topLevel {
				what = "flyctl refuses the configuration: \"timeout is too long: " + c.Timeout.V.String() + ", maximum is 60 seconds\""
			}
			out = append(out, r.Finding(c.Timeout.Loc, "check timeout above Fly's 60 s maximum",
				fmt.Sprintf("%s (%s) waits %s for an answer; Fly's maximum is 60 s and %s. A health endpoint that needs more than a few seconds will also hold up every deploy.", name, c.Loc, fmtDur(c.Timeout.V), what),
				"Set `timeout = \"5s\"` (at most 60s), and make the health endpoint answer quickly."))
			flagged["timeout"] = true
		}
		isHTTP := strings.EqualFold(c.Type.V, "http") || c.Scope == flytoml.ScopeHTTPService
		if isHTTP && usable(c.GracePeriod) && usable(c.Timeout) && c.GracePeriod.V < c.Timeout.V {
			out = append(out, r.FindingSev(report.Warning, c.GracePeriod.Loc, "grace period shorter than the check's timeout",
				fmt.Sprintf("%s (%s) starts counting failures %s after the machine starts, less than its own %s timeout: the first checks run while the app is still importing and connecting, fail, and the deploy can be marked failed before the app is up.", name, c.Loc, fmtDur(c.GracePeriod.V), fmtDur(c.Timeout.V)),
				fmt.Sprintf("Set grace_period to at least the app's start-up time and longer than the timeout, e.g. `grace_period = \"%s\"`.", suggestGrace(min(c.Timeout.V, maxCheckTimeout)))))
			flagged["grace_period"] = true
		}
		if usable(c.Timeout) && usable(c.Interval) && !flagged["timeout"] && !flagged["interval"] && c.Timeout.V >= c.Interval.V {
			out = append(out, r.FindingSev(report.Warning, c.Timeout.Loc, "check timeout not shorter than its interval",
				fmt.Sprintf("%s (%s) waits up to %s for an answer but runs every %s: a slow answer overlaps the next check, and one slow request counts as several failures.", name, c.Loc, fmtDur(c.Timeout.V), fmtDur(c.Interval.V)),
				fmt.Sprintf("Make the timeout shorter than the interval, e.g. `timeout = \"%s\"` with `interval = \"%s\"`.", suggestTimeout(c.Interval.V), fmtDur(c.Interval.V))))
		}
	}
	return out
}

// bareInteger reports whether the value at loc is written as a bare
// integer (not a duration string).
func bareInteger(p *project.Project, loc report.Location) bool {
	line, ok := p.Line(loc.File, loc.Line)
	if !ok {
		return false
	}
	i := strings.Index(line, "=")
	if i < 0 {
		return false
	}
	v := strings.TrimSpace(line[i+1:])
	if j := strings.Index(v, "#"); j >= 0 {
		v = strings.TrimSpace(v[:j])
	}
	if v == "" {
		return false
	}
	for _, c := range v {
		if (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// fmtDur formats a duration the way fly.toml writes it ("15s", "2m",
// "1m30s").
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0 || d%time.Second != 0:
		return d.String()
	case d < time.Minute:
		return fmt.Sprintf("%ds", d/time.Second)
	case d%time.Minute == 0 && d < time.Hour:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// suggestGrace proposes a grace period longer than the timeout.
func suggestGrace(timeout time.Duration) string {
	g := 2 * timeout
	if g < 10*time.Second {
		g = 10 * time.Second
	}
	if g > 5*time.Minute {
		g = 5 * time.Minute
	}
	return fmtDur(g.Round(time.Second))
}

// suggestTimeout proposes a timeout well under the interval.
func suggestTimeout(interval time.Duration) string {
	t := (interval / 3).Round(time.Second)
	if t < time.Second {
		t = time.Second
	}
	return fmtDur(t)
}
