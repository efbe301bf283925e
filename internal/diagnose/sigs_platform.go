package diagnose

import (
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// Platform faults: Fly's own infrastructure failed. Not the app's fault;
// the fix is to retry.

const retry = "Retry the deploy: this is a fault of Fly's platform, not of the app or its configuration."

func platformSigs() []*Signature {
	return []*Signature{
		{
			ID: "log-release-machine-vanished", Phase: report.Release, Severity: report.Error, Platform: true,
			Literals: []string{"error running release_command machine: machine not found"},
			Title:    "Fly platform fault: release machine vanished",
			Cause:    "The one-off machine that runs the release command disappeared while flyctl waited for it, so the release command's result is unknown",
			Fix:      retry + " If it happens again, check https://status.flyio.net and `fly releases -a <app>`.",
		},
		{
			ID: "log-remote-builder-unavailable", Phase: report.Build, Severity: report.Error, Platform: true,
			Literals: []string{"error connecting to docker", "remote builder app unavailable", "error fetching docker server info", "Failed to start remote builder", "cannot connect to the Docker daemon", "no active session for"},
			Patterns: res(`error connecting to docker: (?P<why>.*)`, `remote builder app unavailable`, `error fetching docker server info: (?P<why>.*)`,
				`Failed to start remote builder.*`, `failed to dial gRPC: cannot connect to the Docker daemon.*`, `no active session for \S+: (?P<why>context deadline exceeded)`),
			Title: "Fly platform fault: remote builder unreachable",
			Cause: "flyctl could not reach Fly's remote builder{$detail}",
			Fix:   retry + " If it repeats, build with your own Docker (`fly deploy --local-only`), or destroy the builder app (`fly apps destroy fly-builder-…`) so that a fresh one is created.",
			Refine: func(m *Match) bool {
				if strings.Contains(m.Text, "not enough compute capacity") {
					m.Switch("log-capacity")
					return true
				}
				if why := strings.TrimSpace(m.Get("why")); why != "" {
					m.Set("detail", " ("+shorten(redact(why), 120)+")")
				}
				return true
			},
		},
		{
			ID: "log-capacity", Phase: report.Deploy, Severity: report.Error, Platform: true,
			Literals: []string{"not enough compute capacity", "could not reserve resource for machine"},
			Patterns: res(`not enough compute capacity left in (?P<region>\w+)`, `not enough compute capacity`, `could not reserve resource for machine`),
			Title:    "Fly platform fault: no capacity in the region",
			Cause:    "Fly had no free capacity {$region|in the region} for the machine (or the builder's volume) at that moment",
			Fix:      retry + " If it persists, deploy to another region (`primary_region` in fly.toml, or `fly scale count 1 --region <other>`).",
		},
		{
			ID: "log-fly-api-unavailable", Phase: report.Deploy, Severity: report.Error, Platform: true, Key: "err",
			Literals: []string{"api.machines.dev", "api.fly.io"},
			Patterns: res(`(?:api\.machines\.dev|api\.fly\.io)\S*.*?(?P<err>502 Bad Gateway|503 Service Unavailable|504 Gateway Time-?out|i/o timeout|connection reset by peer|TLS handshake timeout|context deadline exceeded)`),
			Title:    "Fly platform fault: API unavailable",
			Cause:    "Fly's API did not answer ({$err})",
			Fix:      retry + " Check https://status.flyio.net if it repeats.",
		},
		{
			ID: "log-lease-held", Phase: report.Deploy, Severity: report.Error,
			Literals: []string{"lease currently held by"},
			Title:    "machine locked by another deploy",
			Cause:    "Another operation (a concurrent deploy, or one that was interrupted) holds the machine's lease, so this deploy could not update it",
			Fix:      "Deploy again once the other deploy finishes (the lease of an interrupted one expires by itself); keep deploys of one app from overlapping (a concurrency group in the workflow).",
		},
	}
}

// Look-alikes: logs that are not from Fly.io.

func lookalikeSigs() []*Signature {
	return []*Signature{
		{
			ID: "log-not-flyio", Phase: report.Deploy, Severity: report.Notice,
			Literals: []string{"Concourse server", "targeted Concourse", "fly -t ", "fly --target"},
			Patterns: res(`could not reach the Concourse server(?: called (?P<target>[^\s:]+))?`, `targeted Concourse`,
				`\bfly(?:\.exe)? (?:-t|--target)[ =]?\S+ (?:login|set-pipeline|sp|execute|e|trigger-job|tj|watch|builds|workers|sync|hijack|intercept|get-pipeline|gp|destroy-pipeline|dp|unpause-pipeline|up|pause-pipeline|pp|pipelines|ps|teams|set-team|checklist)\b`),
			Title: "not a Fly.io log (Concourse CI's fly)",
			Cause: "This output is from Concourse CI's `fly` command-line tool, not from Fly.io's flyctl, so no Fly.io cause is inferred from it",
			Fix:   "Diagnose it as a Concourse problem (`fly -t <target> login`, the Concourse server's address and certificate); run deploy-action diagnose on flyctl's output.",
		},
	}
}
