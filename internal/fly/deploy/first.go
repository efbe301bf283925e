package deploy

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// firstDeploy launches Plan.InitialMachines machines of the new image on an
// app that has none: release command first, then the machines in the
// strategy's batches, each verified like an updated one. On failure every
// machine it launched is destroyed, which puts the app back as it was.
func (r *run) firstDeploy(ctx context.Context) error {
	if r.s.ReleaseCommand != "" {
		if err := r.runRelease(ctx); err != nil {
			return err
		}
	}
	group := flygo.MachineProcessGroupApp
	if r.s.Config != nil {
		group = r.s.Config.DefaultProcess()
	}
	base := &flygo.MachineConfig{Metadata: map[string]string{
		flygo.MachineConfigMetadataKeyFlyProcessGroup:    group,
		flygo.MachineConfigMetadataKeyFlyPlatformVersion: flygo.MachineFlyPlatformVersion2,
	}}
	cfg, err := machineconf.ForMachine(r.s.Config, base, r.s.Image)
	if err != nil {
		return r.fail(&Failure{Phase: report.Deploy, Step: StepPlan, Err: err})
	}
	cfg.Metadata[MetaDeployID] = r.id

	n := r.s.InitialMachines
	var mu sync.Mutex
	for bi, b := range batches(n, r.s.Strategy, r.s.MaxUnavailable) {
		if ctx.Err() != nil {
			break
		}
		r.emit(report.Deploy, StepUpdate, "", "batch %d: launching %d machine(s)", bi+1, len(b))
		bctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var failed atomic.Bool
		var ids []string
		for _, i := range b {
			wg.Go(func() {
				defer func() {
					if p := recover(); p != nil {
						r.fail(&Failure{Phase: report.Deploy, Step: StepUpdate, Err: fmt.Errorf("panic: %v", p)})
						failed.Store(true)
						cancel()
					}
				}()
				start := time.Now()
				m, err := r.api.Launch(bctx, r.s.App, flygo.LaunchMachineInput{Config: machineconf.Clone(cfg), Region: r.s.Region, Name: fmt.Sprintf("%s-%s-%d", r.s.App, r.id, i)})
				if err != nil {
					if ctx.Err() == nil && bctx.Err() == nil {
						r.fail(&Failure{Phase: report.Deploy, Step: StepUpdate, Err: fmt.Errorf("launch machine %d of %d: %w", i+1, n, err)})
						failed.Store(true)
					}
					cancel()
					return
				}
				t := &target{snap: m, next: cfg, group: group, launched: true}
				t.res = &MachineResult{ID: m.ID, Region: m.Region, Group: group, ToImage: r.s.Image, WasStarted: true, Updated: true}
				t.touched.Store(true)
				mu.Lock()
				r.targets = append(r.targets, t)
				ids = append(ids, m.ID)
				mu.Unlock()
				t.res.Timings.Update = time.Since(start)
				f := r.verify(bctx, m.ID, m, 0, cfg, &t.res.Timings, report.Deploy)
				t.res.Timings.Total = time.Since(start)
				if f == nil {
					t.res.Verified = true
					return
				}
				if ctx.Err() == nil && (bctx.Err() == nil || !isContextErr(f.Err)) {
					r.fail(f)
					failed.Store(true)
				}
				cancel()
			})
		}
		wg.Wait()
		cancel()
		r.res.Batches = append(r.res.Batches, ids)
		if failed.Load() {
			break
		}
	}
	if r.failure() == nil && ctx.Err() == nil {
		return nil
	}
	if ctx.Err() != nil {
		r.res.Interrupted = true
	}
	r.restore(ctx, ctx.Err() != nil)
	if f := r.failure(); f != nil {
		return f
	}
	return fmt.Errorf("first deploy of %s interrupted: %w", r.s.App, ctx.Err())
}
