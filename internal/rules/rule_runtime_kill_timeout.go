package rules

import (
	"fmt"
	"time"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// maxKillTimeout is Fly's limit on kill_timeout: the fly.toml reference
// says "The maximum kill_timeout is 300 seconds (five minutes)", and the
// Machines API refuses more with "invalid stop_config.timeout, cannot
// exceed 5 minutes".
const maxKillTimeout = 5 * time.Minute

var ruleRuntimeKillTimeout = register(&Rule{
	ID:       "runtime-kill-timeout",
	Phase:    report.Runtime,
	Severity: report.Warning,
	Doc:      "kill_timeout is above Fly's 300 s maximum (error: the API refuses it) or below 1 s (warning)",
	Why:      "Fly's Machines API refuses a stop timeout above 5 minutes when the deploy updates the machines, and below 1 s the app is killed before it can finish its requests and close its database connections.",
	Check:    checkRuntimeKillTimeout,
})

func checkRuntimeKillTimeout(r *Rule, p *project.Project) []report.Finding {
	cfg := p.Fly
	if cfg == nil || !cfg.KillTimeout.Set {
		return nil
	}
	kt := cfg.KillTimeout
	signal := cfg.KillSignal.Or("SIGINT")
	switch {
	case kt.V > maxKillTimeout:
		return []report.Finding{r.FindingSev(report.Error, kt.Loc, "kill_timeout above Fly's 300 s maximum",
			fmt.Sprintf("kill_timeout is %s. Fly waits at most 300 s (5 minutes) between %s and SIGKILL, and its Machines API rejects a longer stop timeout (`invalid stop_config.timeout, cannot exceed 5 minutes`), so updating the machines fails.", fmtDur(kt.V), signal),
			"Set `kill_timeout = 300` or less (`kill_timeout = \"5m\"`), and make long jobs resumable instead of waiting for them on shutdown.")}
	case kt.V < time.Second:
		return []report.Finding{r.Finding(kt.Loc, "kill_timeout under 1 second",
			fmt.Sprintf("kill_timeout is %s: after sending %s, Fly gives the app less than a second before SIGKILL, so requests in flight are cut and database connections are dropped instead of closed on every deploy and every stop. (A fraction such as 0.5 is truncated to 0 s.)", kt.V, signal),
			"Give the server time to drain, e.g. `kill_timeout = 30` with `kill_signal = \"SIGTERM\"` (Fly's default is 5 s).")}
	}
	return nil
}
