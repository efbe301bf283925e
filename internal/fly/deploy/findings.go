package deploy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/grupo-gad/deploy-action/internal/fly/lease"
	"github.com/grupo-gad/deploy-action/internal/fly/release"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Rule IDs of the findings Deploy and Rollback write.
const (
	RulePlan           = "deploy-plan"             // the plan cannot run
	RuleStrategy       = "deploy-strategy"         // a fly.toml strategy run as another
	RuleNoMachines     = "deploy-no-machines"      // the app has no machine
	RuleLeaseHeld      = "deploy-lease-held"       // another owner holds a machine's lease
	RuleLeaseRelease   = "deploy-lease-release"    // leases not given back
	RuleReleaseFailed  = "release-command-failed"  // non-zero exit (or OOM)
	RuleReleaseTimeout = "release-command-timeout" // still running at the timeout
	RuleReleaseInvalid = "release-command-invalid" // needs a shell
	RuleReleaseOK      = "release-command-ok"      // ran and exited 0
	RuleMachineCrashed = "deploy-machine-crashed"  // the new version's process exited
	RuleMachineOOM     = "deploy-machine-oom"      // ... killed for lack of memory
	RuleChecksFailing  = "deploy-checks-failing"   // checks not passing by wait_timeout
	RuleStartTimeout   = "deploy-start-timeout"    // never reached "started"
	RuleAPI            = "deploy-api-error"        // the Machines API refused a call
	RuleRolledBack     = "deploy-rolled-back"      // touched machines restored
	RuleRollbackFailed = "deploy-rollback-failed"  // a machine could not be restored
	RuleInterrupted    = "deploy-interrupted"      // the context was cancelled
	RuleMachine        = "deploy-machine"          // one machine's timings
	RuleSummary        = "deploy-summary"          // what was deployed where
)

func planFailure(rep *report.Report, res *Result, err error) error {
	f := &Failure{Phase: report.Deploy, Step: StepPlan, Err: err, Message: err.Error()}
	res.Failure = f
	rep.Add(report.Deploy, report.Finding{Rule: RulePlan, Severity: report.Error,
		Title: "The deploy cannot start", Message: err.Error() + ".",
		Fix: "Give the app name and the image to deploy, and use strategy rolling or immediate."})
	return f
}

// report writes the run's phases, findings and timings into r.rep.
func (r *run) report() {
	rep := r.rep
	rep.Phase(report.Deploy)
	rep.SetDuration(report.Deploy, r.res.Duration)
	rep.Add(report.Deploy, r.s.notes...)
	f := r.res.Failure
	if rel := r.res.Release; rel != nil && (f == nil || f.Phase != report.Release) {
		rep.Add(report.Release, report.Finding{Rule: RuleReleaseOK, Severity: report.Notice, Location: r.s.releaseLoc,
			Title:   "release_command succeeded",
			Message: fmt.Sprintf("`%s` ran on machine %s (image %s) and exited 0 in %s.", strings.Join(rel.Argv, " "), rel.MachineID, r.s.Image, rel.Duration.Round(100*time.Millisecond))})
	}
	if f != nil {
		rep.Add(f.Phase, r.failureFinding(f))
		if f.Phase == report.Release {
			rep.Phase(report.Deploy).Status = report.Skipped
			rep.Add(report.Deploy, report.Finding{Rule: RuleSummary, Severity: report.Notice,
				Title:   "No machine was changed",
				Message: fmt.Sprintf("The release command failed, so %s still runs %s on every machine.", r.s.App, r.res.PreviousImage)})
			return
		}
	} else if r.res.Interrupted {
		rep.Add(report.Deploy, report.Finding{Rule: RuleInterrupted, Severity: report.Error,
			Title:   "The deploy was interrupted",
			Message: "The deploy was cancelled (SIGINT/SIGTERM or a timeout) before it finished.",
			Fix:     "Deploy again; the machines it had changed were put back on their previous config (see below)."})
	}
	r.reportRestore()
	for _, t := range r.targets {
		if !t.res.Updated && !t.res.Restored {
			continue
		}
		rep.Add(report.Deploy, machineFinding(t.res))
	}
	if f == nil && !r.res.Interrupted {
		rep.Add(report.Deploy, r.summary())
	}
}

func (r *run) summary() report.Finding {
	sizes := make([]string, len(r.res.Batches))
	for i, b := range r.res.Batches {
		sizes[i] = fmt.Sprint(len(b))
	}
	msg := fmt.Sprintf("%s now runs %s on %d machine(s), deployed %s (batches %s) in %s.", r.s.App, r.res.Image, len(r.targets), r.s.Strategy, strings.Join(sizes, "+"), r.res.Duration.Round(100*time.Millisecond))
	if r.res.PreviousImage != "" && r.res.PreviousImage != r.res.Image {
		msg += fmt.Sprintf(" The previous image, %s, is recorded on each machine for a rollback.", r.res.PreviousImage)
	}
	title := "Deployed " + r.res.Image
	if r.isRollback {
		title = "Rolled back to " + r.res.Image
	}
	return report.Finding{Rule: RuleSummary, Severity: report.Notice, Title: title, Message: msg}
}

func machineFinding(m *MachineResult) report.Finding {
	tm := m.Timings
	var parts []string
	add := func(name string, d time.Duration) {
		if d > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", name, d.Round(10*time.Millisecond)))
		}
	}
	add("update", tm.Update)
	add("start", tm.Start)
	add("checks", tm.Checks)
	add("smoke", tm.Smoke)
	add("total", tm.Total)
	add("restore", tm.Restore)
	state := "updated to " + m.ToImage
	switch {
	case m.Restored:
		state = "restored to " + m.FromImage
	case m.Updated && !m.WasStarted && !m.Verified:
		state += " while stopped (not verified: it starts on its next request)"
	case m.Verified:
		state += ", healthy"
	}
	return report.Finding{Rule: RuleMachine, Severity: report.Notice,
		Title:   fmt.Sprintf("Machine %s %s", m.ID, state),
		Message: fmt.Sprintf("Machine %s (%s, group %s): %s.", m.ID, m.Region, m.Group, strings.Join(parts, ", "))}
}

func (r *run) reportRestore() {
	var restored, failed []string
	for _, t := range r.targets {
		switch {
		case t.res.RestoreError != "":
			failed = append(failed, t.id())
			r.rep.Add(report.Deploy, report.Finding{Rule: RuleRollbackFailed, Severity: report.Error,
				Title:   fmt.Sprintf("Machine %s could not be restored", t.id()),
				Message: t.res.RestoreError + ".",
				Fix:     fmt.Sprintf("Run `deploy-action rollback --app %s --image %s`, or `fly machine update %s --image %s -a %s`.", r.s.App, t.snap.Config.Image, t.id(), t.snap.Config.Image, r.s.App)})
		case t.res.Restored:
			restored = append(restored, t.id())
		}
	}
	if len(restored) > 0 && len(failed) == 0 {
		took := ""
		if !r.res.FailedAt.IsZero() && !r.res.RestoredAt.IsZero() {
			took = fmt.Sprintf(" %s after the failure", r.res.RestoredAt.Sub(r.res.FailedAt).Round(100*time.Millisecond))
		}
		r.rep.Add(report.Deploy, report.Finding{Rule: RuleRolledBack, Severity: report.Notice,
			Title:   fmt.Sprintf("Rolled back %d machine(s)", len(restored)),
			Message: fmt.Sprintf("Machines %s are back on their previous config (image %s)%s; the other machines were not changed.", strings.Join(restored, ", "), r.res.PreviousImage, took)})
	}
}

// failureFinding explains f where it can be fixed.
func (r *run) failureFinding(f *Failure) report.Finding {
	cfgFile := report.Location{}
	if r.s.Config != nil {
		cfgFile.File = r.s.Config.Path
	}
	var (
		ce  *release.CommandError
		ee  *release.ExitError
		he  *lease.HeldError
		crh *crashError
	)
	switch {
	case errors.As(f.Err, &ce):
		return report.Finding{Rule: RuleReleaseInvalid, Severity: report.Error, Location: r.s.releaseLoc,
			Title:   "release_command cannot run without a shell",
			Message: fmt.Sprintf("%v. Fly runs the release command directly, not through a shell, so operators such as &&, pipes and redirections reach the program as plain arguments.", ce),
			Fix:     `Put the steps in a script in the image and run it (release_command = "./release.sh"), or wrap them: release_command = "sh -c 'alembic upgrade head && python seed.py'".`}
	case errors.As(f.Err, &ee):
		return r.releaseFinding(ee.Result)
	case f.Phase == report.Release:
		return report.Finding{Rule: RuleAPI, Severity: report.Error, Location: r.s.releaseLoc,
			Title:   "The release command could not be run",
			Message: fmt.Sprintf("%v. No app machine was changed.", f.Err),
			Fix:     "Check the Fly token's access to the app and that the image exists in registry.fly.io, then deploy again."}
	case errors.Is(f.Err, errNoMachines):
		return report.Finding{Rule: RuleNoMachines, Severity: report.Error, Location: cfgFile,
			Title:   fmt.Sprintf("App %s has no machines", r.s.App),
			Message: fmt.Sprintf("The app %s has no machine to deploy to.", r.s.App),
			Fix:     "Create the first machines with `fly deploy` (or ask for initial machines), then deploy with deploy-action."}
	case errors.As(f.Err, &he):
		return report.Finding{Rule: RuleLeaseHeld, Severity: report.Error,
			Title:   fmt.Sprintf("Machine %s is locked by another deploy", he.MachineID),
			Message: fmt.Sprintf("%v. Another deploy, or a `fly machine` command, is changing it. Nothing was changed.", he),
			Fix:     fmt.Sprintf("Wait for the other deploy to finish and deploy again; if it died, its lease expires by itself, or clear it with `fly machine leases clear %s -a %s`.", he.MachineID, r.s.App)}
	case f.Step == StepPlan:
		return report.Finding{Rule: RulePlan, Severity: report.Error, Location: cfgFile,
			Title: "The deploy cannot start", Message: f.Err.Error() + ".",
			Fix: "Fix the fly.toml value named above, or check the Fly token's access to the app."}
	case f.Step == StepLease:
		return report.Finding{Rule: RuleAPI, Severity: report.Error,
			Title: "Machine leases could not be held", Message: f.Err.Error() + ".",
			Fix: "Make sure no other deploy runs at the same time, then deploy again."}
	case f.Step == StepUpdate:
		return report.Finding{Rule: RuleAPI, Severity: report.Error,
			Title:   fmt.Sprintf("Machine %s refused the update", f.MachineID),
			Message: f.Err.Error() + ".",
			Fix:     "Check that the image exists in registry.fly.io and that the fly.toml settings are valid for a machine, then deploy again."}
	case errors.As(f.Err, &crh) && f.Exit != nil && f.Exit.OOMKilled:
		return r.oomFinding(f)
	case errors.As(f.Err, &crh):
		return r.crashFinding(f, crh)
	case f.Check != nil:
		return r.checksFinding(f)
	case f.Step == StepStart:
		return report.Finding{Rule: RuleStartTimeout, Severity: report.Error, Location: r.loc("deploy.wait_timeout"),
			Title:   fmt.Sprintf("Machine %s did not start", f.MachineID),
			Message: fmt.Sprintf("%v.", f.Err),
			Fix:     "Check that the image starts (its CMD/ENTRYPOINT, or the process command in fly.toml), or raise wait_timeout in [deploy] if it is slow to boot."}
	}
	return report.Finding{Rule: RuleAPI, Severity: report.Error,
		Title:   fmt.Sprintf("The deploy failed at step %s", f.Step),
		Message: f.Error() + ".",
		Fix:     "Deploy again; if it fails the same way, check the Machines API status at https://status.flyio.net."}
}

func (r *run) releaseFinding(res *release.Result) report.Finding {
	cmd := strings.Join(res.Argv, " ")
	logs := logBlock(res.LogTail, res.LogErr)
	switch {
	case res.TimedOut:
		return report.Finding{Rule: RuleReleaseTimeout, Severity: report.Error, Location: r.s.releaseLoc,
			Title:   "release_command did not finish in time",
			Message: fmt.Sprintf("`%s` was still running on machine %s after %s and was stopped. No app machine was changed.%s", cmd, res.MachineID, r.s.ReleaseCommandTimeout, logs),
			Fix:     "A migration waiting for a database lock or an unreachable database hangs like this: check DATABASE_URL and the database's health; raise release_command_timeout in [deploy] if the migration is just long."}
	case res.OOMKilled:
		loc := r.releaseMemoryLoc()
		return report.Finding{Rule: RuleReleaseFailed, Severity: report.Error, Location: loc,
			Title:   "release_command ran out of memory",
			Message: fmt.Sprintf("`%s` on machine %s was killed for running out of memory (OOM, exit code %d). No app machine was changed.%s", cmd, res.MachineID, res.ExitCode, logs),
			Fix:     `Give the release machine more memory: add release_command_vm = { memory = "1gb" } to [deploy], or raise memory in [[vm]].`}
	}
	return report.Finding{Rule: RuleReleaseFailed, Severity: report.Error, Location: r.s.releaseLoc,
		Title:   fmt.Sprintf("release_command exited with code %d", res.ExitCode),
		Message: fmt.Sprintf("`%s` ran on machine %s (image %s) and exited with code %d after %s. No app machine was changed.%s", cmd, res.MachineID, r.s.Image, res.ExitCode, res.Duration.Round(100*time.Millisecond), logs),
		Fix:     fmt.Sprintf("Fix the error in the log lines above, then deploy again. To reproduce it: `fly machine run %s -a %s --rm -- %s`.", r.s.Image, r.s.App, cmd)}
}

func (r *run) oomFinding(f *Failure) report.Finding {
	group := r.groupOf(f.MachineID)
	mem := ""
	if t := r.target(f.MachineID); t != nil && t.next.Guest != nil {
		mem = fmt.Sprintf(" Its VM has %d MB.", t.next.Guest.MemoryMB)
	}
	return report.Finding{Rule: RuleMachineOOM, Severity: report.Error, Location: r.memoryLoc(group),
		Title:   fmt.Sprintf("Machine %s ran out of memory (OOM)", f.MachineID),
		Message: fmt.Sprintf("On image %s the app was killed for using more memory than its VM has (OOM) %s after it started.%s%s", r.s.Image, f.Exit.After.Round(100*time.Millisecond), mem, logBlock(f.LogTail, nil)),
		Fix:     `Raise memory in [[vm]] (memory = "1gb"), or lower what the app uses: fewer gunicorn/uvicorn workers, a smaller SQLAlchemy pool_size and max_overflow.`}
}

func (r *run) crashFinding(f *Failure, ce *crashError) report.Finding {
	group := r.groupOf(f.MachineID)
	what := ce.Error()
	return report.Finding{Rule: RuleMachineCrashed, Severity: report.Error, Location: r.processLoc(group),
		Title:   fmt.Sprintf("Machine %s crashed on the new image", f.MachineID),
		Message: fmt.Sprintf("On image %s %s.%s", r.s.Image, what, logBlock(f.LogTail, nil)),
		Fix:     "Read the log lines above: a missing secret (set it with `fly secrets set`), a missing module or a bad start command are the usual causes. Run the image locally with the same environment to reproduce."}
}

func (r *run) checksFinding(f *Failure) report.Finding {
	c := f.Check
	group := r.groupOf(f.MachineID)
	msg := fmt.Sprintf("On image %s, health check %s of machine %s was still %s after wait_timeout %s (%d of %d checks passing). Its last output: %q.",
		r.s.Image, c.Name, f.MachineID, c.Status, r.s.WaitTimeout, c.Passing, c.Total, c.Output)
	fix := "Make sure the app answers the check on its internal_port within grace_period (raise grace_period if start-up is slow), or raise wait_timeout in [deploy]."
	if loopbackOnly(f.Listen) {
		msg += fmt.Sprintf(" The app listens only on %s, which Fly's proxy and checks cannot reach.", strings.Join(f.Listen, ", "))
		fix = "Bind the server to 0.0.0.0 (for example `uvicorn app.main:app --host 0.0.0.0 --port 8080`, or gunicorn `--bind 0.0.0.0:8080`)."
	}
	return report.Finding{Rule: RuleChecksFailing, Severity: report.Error, Location: r.checkLoc(group, c.Name),
		Title:   fmt.Sprintf("Health checks of machine %s never passed", f.MachineID),
		Message: msg + logBlock(f.LogTail, nil),
		Fix:     fix}
}

func logBlock(lines []string, err error) string {
	if len(lines) == 0 {
		if err != nil {
			return fmt.Sprintf(" Its logs could not be read (%v).", err)
		}
		return ""
	}
	return " Last log lines:\n    " + strings.Join(lines, "\n    ")
}

func (r *run) target(id string) *target {
	for _, t := range r.targets {
		if t.id() == id {
			return t
		}
	}
	return nil
}

func (r *run) groupOf(id string) string {
	if t := r.target(id); t != nil {
		return t.group
	}
	return ""
}

// loc returns where key is written in fly.toml, or the file itself.
func (r *run) loc(key string) report.Location {
	if r.s.Config == nil {
		return report.Location{}
	}
	if l, ok := r.s.Config.Loc(key); ok {
		return l
	}
	return report.Location{File: r.s.Config.Path}
}

func (r *run) memoryLoc(group string) report.Location {
	c := r.s.Config
	if c == nil {
		return report.Location{}
	}
	if vm := c.VMFor(group); vm != nil {
		if vm.Memory.Set {
			return vm.Memory.Loc
		}
		return vm.Loc
	}
	return report.Location{File: c.Path}
}

func (r *run) releaseMemoryLoc() report.Location {
	if c := r.s.Config; c != nil && c.Deploy != nil && c.Deploy.ReleaseCommandVM != nil {
		vm := c.Deploy.ReleaseCommandVM
		if vm.Memory.Set {
			return vm.Memory.Loc
		}
		return vm.Loc
	}
	return r.memoryLoc("")
}

func (r *run) processLoc(group string) report.Location {
	c := r.s.Config
	if c == nil {
		return report.Location{}
	}
	if p, ok := c.Processes[group]; ok {
		return p.Loc
	}
	return report.Location{File: c.Path}
}

// checkLoc points at the fly.toml check named name (a top-level one), else
// at the first service check, else at the file.
func (r *run) checkLoc(group, name string) report.Location {
	c := r.s.Config
	if c == nil {
		return report.Location{}
	}
	all := c.AllChecks()
	for _, ch := range all {
		if ch.Name != "" && ch.Name == name {
			return ch.Loc
		}
	}
	for _, ch := range all {
		if ch.Name == "" {
			return ch.Loc
		}
	}
	if c.HTTPService != nil {
		return c.HTTPService.Loc
	}
	return report.Location{File: c.Path}
}
