package deploy

import (
	"context"
	"fmt"
	"maps"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
	"github.com/grupo-gad/deploy-action/internal/fly/release"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// runRelease runs the release command; its failure fails the deploy
// before any machine is touched.
func (r *run) runRelease(ctx context.Context) error {
	start := time.Now()
	r.emit(report.Release, StepRelease, "", "running release_command: %s", r.s.ReleaseCommand)
	res, err := release.Run(ctx, r.api, release.Spec{
		App:       r.s.App,
		Image:     r.s.Image,
		Command:   r.s.ReleaseCommand,
		Env:       r.releaseEnv(),
		Guest:     r.releaseGuest(),
		Region:    r.s.Region,
		Metadata:  map[string]string{MetaDeployID: r.id},
		Name:      "release-" + r.id,
		Timeout:   r.s.ReleaseCommandTimeout,
		WaitSlice: r.d.waitSlice(),
		LogLines:  r.d.logLines(),
		LogWait:   r.d.LogWait,
		Mask:      r.d.Mask,
	})
	r.res.Release = res
	r.rep.SetDuration(report.Release, time.Since(start))
	if err != nil && ctx.Err() != nil {
		r.res.Interrupted = true
		return fmt.Errorf("deploy of %s interrupted during the release command: %w", r.s.App, ctx.Err())
	}
	if err != nil {
		f := &Failure{Phase: report.Release, Step: StepRelease, Err: err}
		if res != nil {
			f.MachineID = res.MachineID
			f.LogTail = res.LogTail
			if res.ExitCode >= 0 || res.OOMKilled {
				f.Exit = &ExitInfo{Code: res.ExitCode, OOMKilled: res.OOMKilled, After: res.Duration}
			}
		}
		return r.fail(f)
	}
	r.emit(report.Release, StepRelease, res.MachineID, "release_command exited 0 in %s", res.Duration.Round(time.Millisecond))
	return nil
}

func (r *run) releaseEnv() map[string]string {
	if r.s.Config != nil {
		return machineconf.Env(r.s.Config, "")
	}
	for _, t := range r.targets {
		if t.snap.Config != nil {
			return maps.Clone(t.snap.Config.Env)
		}
	}
	return nil
}

// releaseGuest picks the release machine's VM: [deploy] release_command_vm,
// else the app's [[vm]], else the largest VM among the app's machines, else
// shared-cpu-2x (as flyctl does).
func (r *run) releaseGuest() *flygo.MachineGuest {
	if c := r.s.Config; c != nil {
		if c.Deploy != nil && c.Deploy.ReleaseCommandVM != nil {
			if g, err := machineconf.Guest(c.Deploy.ReleaseCommandVM); err == nil {
				return g
			}
		}
		if g, err := machineconf.Guest(c.VMFor("")); err == nil && g != nil {
			return g
		}
	}
	var best *flygo.MachineGuest
	for _, t := range r.targets {
		if g := t.snap.Config.Guest; g != nil && (best == nil || g.MemoryMB > best.MemoryMB) {
			best = g
		}
	}
	if best != nil {
		g := *best
		return &g
	}
	g := *flygo.MachinePresets["shared-cpu-2x"]
	return &g
}
