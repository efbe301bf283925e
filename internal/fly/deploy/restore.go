package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
	"github.com/grupo-gad/deploy-action/internal/fly/machinewait"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// restore puts every machine the deploy touched back on its snapshot
// config, with the lease nonce, all at once (up to MaxConcurrent), and
// verifies it as a deploy would: started, checks passing. After an
// interruption (the context was cancelled) it uses a context of its own
// bounded by InterruptGrace and only waits for the machines to start.
func (r *run) restore(ctx context.Context, interrupted bool) {
	if interrupted || ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), r.d.interruptGrace())
		defer cancel()
		interrupted = true
	}
	var todo []*target
	for _, t := range r.targets {
		if t.touched.Load() || t.launched {
			todo = append(todo, t)
		}
	}
	if len(todo) == 0 {
		return
	}
	r.emit(report.Deploy, StepRestore, "", "restoring %d machine(s) to their previous config", len(todo))
	sem := make(chan struct{}, r.d.maxConcurrent())
	var wg sync.WaitGroup
	for _, t := range todo {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			defer func() {
				if p := recover(); p != nil {
					t.res.RestoreError = fmt.Sprintf("panic: %v", p)
				}
			}()
			start := time.Now()
			err := r.restoreOne(ctx, t, interrupted)
			t.res.Timings.Restore = time.Since(start)
			if err != nil {
				t.res.RestoreError = err.Error()
				r.emit(report.Deploy, StepRestore, t.id(), "restore failed: %v", err)
			}
		})
	}
	wg.Wait()
	r.res.RestoredAt = time.Now()
	r.res.RolledBack = true
	for _, t := range todo {
		if t.res.RestoreError != "" {
			r.res.RolledBack = false
		}
	}
}

func (r *run) restoreOne(ctx context.Context, t *target, interrupted bool) error {
	id := t.id()
	if t.launched {
		// A first deploy's machine: there was nothing before it.
		err := r.api.Destroy(ctx, r.s.App, flygo.RemoveMachineInput{ID: id, Kill: true}, "")
		if err != nil && !fly.IsNotFound(err) {
			return fmt.Errorf("destroy machine %s: %w", id, err)
		}
		t.res.Restored = true
		return nil
	}
	cur, err := r.api.Get(ctx, r.s.App, id)
	if err != nil {
		return fmt.Errorf("get machine %s: %w", id, err)
	}
	// An update the API refused left the machine as it was.
	if t.updErr != nil && !isContextErr(t.updErr) && cur.Config != nil && cur.Config.Metadata[MetaDeployID] != r.id {
		return nil
	}
	r.emit(report.Deploy, StepRestore, id, "restoring %s", t.snap.Config.Image)
	baseline := lastEventTime(cur)
	skipLaunch := !t.res.WasStarted
	m, err := r.api.Update(ctx, r.s.App, flygo.LaunchMachineInput{
		ID:         id,
		Config:     machineconf.Clone(t.snap.Config),
		Region:     t.snap.Region,
		SkipLaunch: skipLaunch,
	}, r.leases.Nonce(id))
	if err != nil {
		return fmt.Errorf("restore machine %s to its previous config: %w", id, err)
	}
	t.res.Restored = true
	if skipLaunch {
		return nil
	}
	if interrupted {
		_, err := machinewait.State(ctx, r.api, r.s.App, m, flygo.MachineStateStarted, machinewait.Options{Timeout: r.d.interruptGrace(), Slice: r.d.waitSlice()})
		if err != nil {
			return fmt.Errorf("machine %s restored but not started: %w", id, err)
		}
		return nil
	}
	if f := r.verifyRestored(ctx, id, m, baseline, t.snap.Config); f != nil {
		return fmt.Errorf("machine %s restored to %s but it is not healthy: %w", id, t.snap.Config.Image, f)
	}
	r.emit(report.Deploy, StepRestore, id, "restored and healthy on %s", t.snap.Config.Image)
	return nil
}

// verifyRestored checks a restored machine without a smoke window: it ran
// this config before.
func (r *run) verifyRestored(ctx context.Context, id string, m *flygo.Machine, baseline int64, cfg *flygo.MachineConfig) *Failure {
	var tm Timings
	return r.verifyWith(ctx, id, m, baseline, cfg, &tm, report.Deploy, 0)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
