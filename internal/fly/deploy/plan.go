package deploy

import (
	"fmt"
	"strings"
	"time"

	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Strategy is how machines are replaced.
type Strategy string

// The strategies.
const (
	// Rolling updates one machine first, then the rest in batches of
	// max_unavailable, each batch verified before the next starts.
	Rolling Strategy = "rolling"
	// Immediate updates every machine at once, then verifies them all.
	Immediate Strategy = "immediate"
)

// Defaults, as flyctl has them.
const (
	DefaultMaxUnavailable = 0.33
	DefaultWaitTimeout    = 5 * time.Minute
	DefaultReleaseTimeout = 5 * time.Minute
)

// Plan is one deploy (or rollback) to make.
type Plan struct {
	// App is the Fly app.
	App string
	// Image is the image to deploy (for example
	// registry.fly.io/my-app:deployment-01H...). For Rollback, "" means the
	// previous image each machine recorded.
	Image string
	// Config is the fly.toml model. It gives the machines their services,
	// checks, env, VM and command, and the [deploy] settings below when they
	// are left zero; it also gives findings their file:line. nil deploys the
	// image alone, keeping everything else of each machine.
	Config *flytoml.Config
	// Strategy is "rolling" or "immediate"; "" means [deploy] strategy,
	// else rolling. fly.toml's "canary" and "bluegreen" run as rolling
	// (one machine first), with a notice.
	Strategy Strategy
	// MaxUnavailable is the rolling batch size after the first machine: a
	// number of machines (>= 1) or a fraction of them (< 1); 0 means
	// [deploy] max_unavailable, else 0.33.
	MaxUnavailable float64
	// WaitTimeout bounds, per machine, the wait for "started" and then for
	// the health checks; 0 means [deploy] wait_timeout, else 5 minutes.
	WaitTimeout time.Duration
	// ReleaseCommand overrides [deploy] release_command when set.
	ReleaseCommand string
	// SkipReleaseCommand skips the release command.
	SkipReleaseCommand bool
	// ReleaseCommandTimeout bounds the release command; 0 means [deploy]
	// release_command_timeout, else 5 minutes.
	ReleaseCommandTimeout time.Duration
	// InitialMachines is how many machines to launch when the app has none
	// (a first deploy); 0 makes an app without machines an error.
	InitialMachines int
	// Region is where a first deploy's machines and the release command
	// run; "" means primary_region.
	Region string
}

// settings is a Plan with every default filled in.
type settings struct {
	Plan
	releaseLoc report.Location
	notes      []report.Finding
}

func resolve(p Plan, rollback bool) (*settings, error) {
	s := &settings{Plan: p}
	if strings.TrimSpace(p.App) == "" {
		return nil, fmt.Errorf("no app name: give --app or set app in fly.toml")
	}
	if strings.TrimSpace(p.Image) == "" && !rollback {
		return nil, fmt.Errorf("no image to deploy")
	}
	var d *flytoml.Deploy
	if p.Config != nil {
		d = p.Config.Deploy
	}
	if s.Strategy == "" && d != nil && d.Strategy.Set {
		switch v := Strategy(strings.ToLower(strings.TrimSpace(d.Strategy.V))); v {
		case Rolling, Immediate:
			s.Strategy = v
		case "canary", "bluegreen":
			s.Strategy = Rolling
			s.notes = append(s.notes, report.Finding{
				Rule: RuleStrategy, Severity: report.Notice, Location: d.Strategy.Loc,
				Title:   fmt.Sprintf("Strategy %q runs as rolling", v),
				Message: fmt.Sprintf("deploy-action updates machines in place, one first and then in batches, and restores them all if one fails; strategy %q is deployed that way.", v),
				Fix:     `Set strategy = "rolling" (or "immediate") in [deploy] to say what runs.`,
			})
		default:
			return nil, fmt.Errorf("%s: unknown deploy strategy %q: use rolling or immediate", d.Strategy.Loc, d.Strategy.V)
		}
	}
	switch s.Strategy {
	case "":
		s.Strategy = Rolling
	case Rolling, Immediate:
	default:
		return nil, fmt.Errorf("unknown deploy strategy %q: use rolling or immediate", s.Strategy)
	}
	if s.MaxUnavailable == 0 && d != nil && d.MaxUnavailable.Set {
		s.MaxUnavailable = d.MaxUnavailable.V
	}
	if s.MaxUnavailable == 0 {
		s.MaxUnavailable = DefaultMaxUnavailable
	}
	if s.MaxUnavailable < 0 {
		return nil, fmt.Errorf("max_unavailable must be more than 0, got %g", s.MaxUnavailable)
	}
	if s.WaitTimeout == 0 && d != nil && d.WaitTimeout.Set {
		s.WaitTimeout = d.WaitTimeout.V
	}
	if s.WaitTimeout <= 0 {
		s.WaitTimeout = DefaultWaitTimeout
	}
	if s.ReleaseCommandTimeout == 0 && d != nil && d.ReleaseCommandTimeout.Set {
		s.ReleaseCommandTimeout = d.ReleaseCommandTimeout.V
	}
	if s.ReleaseCommandTimeout <= 0 {
		s.ReleaseCommandTimeout = DefaultReleaseTimeout
	}
	if s.ReleaseCommand == "" && d != nil && d.ReleaseCommand.Set {
		s.ReleaseCommand = d.ReleaseCommand.V
		s.releaseLoc = d.ReleaseCommand.Loc
	}
	if rollback || s.SkipReleaseCommand {
		s.ReleaseCommand = ""
	}
	if s.Region == "" && p.Config != nil && p.Config.PrimaryRegion.Set {
		s.Region = p.Config.PrimaryRegion.V
	}
	return s, nil
}

// batchSize is the number of machines updated together after the first.
func batchSize(n int, maxUnavailable float64) int {
	k := int(maxUnavailable)
	if maxUnavailable < 1 {
		k = int(maxUnavailable * float64(n))
	}
	return max(k, 1)
}

// batches splits n machines (indexes) into the order they are updated in:
// rolling puts the first alone, then groups of batchSize; immediate puts
// them all in one group.
func batches(n int, st Strategy, maxUnavailable float64) [][]int {
	if n == 0 {
		return nil
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	if st == Immediate {
		return [][]int{all}
	}
	out := [][]int{all[:1]}
	k := batchSize(n, maxUnavailable)
	for i := 1; i < n; i += k {
		out = append(out, all[i:min(i+k, n)])
	}
	return out
}
