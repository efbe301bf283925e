package deploy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Rollback puts plan.App back on plan.Image, or, when plan.Image is "", each
// machine back on the image recorded in its metadata (MetaPreviousImage) by
// the deploy that replaced it. It runs like Deploy — leases, the strategy's
// batches, each machine verified, every touched machine restored if one
// fails — but never runs the release command (migrations are not undone)
// and changes nothing else of the machines' config. Machines already on
// their target image are left alone. plan.Config, when given, supplies the
// [deploy] settings and the file:line of findings.
func (d *Deployer) Rollback(ctx context.Context, plan Plan, rep *report.Report) (*Result, error) {
	if rep == nil {
		rep = report.New("rollback")
	}
	s, err := resolve(plan, true)
	if err != nil {
		res := &Result{App: plan.App, Image: plan.Image, Started: time.Now()}
		return res, planFailure(rep, res, err)
	}
	r := &run{d: d, api: d.API, s: s, rep: rep, id: newID(), isRollback: true, res: &Result{App: s.App, Image: s.Image, Strategy: s.Strategy, Started: time.Now()}}
	return r.rollback(ctx)
}

func (r *run) rollback(ctx context.Context) (res *Result, err error) {
	defer func() { res, err = r.finish(ctx, err) }()
	machines, err := r.appMachines(ctx)
	if err != nil {
		return r.res, r.fail(&Failure{Phase: report.Deploy, Step: StepPlan, Err: err})
	}
	if len(machines) == 0 {
		return r.res, r.fail(&Failure{Phase: report.Deploy, Step: StepPlan, Err: errNoMachines})
	}
	var todo []*flygo.Machine
	for _, m := range machines {
		to := r.s.Image
		if to == "" {
			to = m.GetMetadataByKey(MetaPreviousImage)
		}
		if to == "" {
			return r.res, r.fail(&Failure{Phase: report.Deploy, Step: StepPlan, MachineID: m.ID,
				Err: fmt.Errorf("machine %s has no previous image recorded (%s is not in its metadata: it was not deployed by deploy-action); give the image to roll back to", m.ID, MetaPreviousImage)})
		}
		if to != m.Config.Image {
			todo = append(todo, m)
		}
	}
	if len(todo) == 0 {
		r.rep.Add(report.Deploy, report.Finding{Rule: RuleSummary, Severity: report.Notice,
			Title:   "Nothing to roll back",
			Message: fmt.Sprintf("Every machine of %s already runs its target image.", r.s.App)})
		return r.res, nil
	}
	if err := r.snapshot(todo, func(m *flygo.Machine) (*flygo.MachineConfig, error) {
		to := r.s.Image
		if to == "" {
			to = m.GetMetadataByKey(MetaPreviousImage)
		}
		return machineconf.ForMachine(nil, m.Config, to)
	}); err != nil {
		return r.res, r.fail(&Failure{Phase: report.Deploy, Step: StepPlan, Err: err})
	}
	if r.res.Image == "" {
		counts := map[string]int{}
		for _, t := range r.targets {
			counts[t.next.Image]++
		}
		for _, img := range slices.Sorted(maps.Keys(counts)) {
			if counts[img] > counts[r.res.Image] {
				r.res.Image = img
			}
		}
		r.s.Image = r.res.Image
	}
	return r.res, r.leaseAndUpdate(ctx, false)
}
