package deploy

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// observer watches the emulator from inside (no API calls) and records
// when each machine first ran image with every check passing, and when a
// release command machine finished: the emulator's own waits, against
// which the engine's overhead is measured.
type observer struct {
	s     *sim
	image string
	stop  chan struct{}
	done  chan struct{}

	mu           sync.Mutex
	ready        map[string]time.Time
	releaseStart time.Time
	releaseEnd   time.Time
}

func watch(s *sim, image string) *observer {
	o := &observer{s: s, image: image, stop: make(chan struct{}), done: make(chan struct{}), ready: map[string]time.Time{}}
	go o.run()
	return o
}

func (o *observer) run() {
	defer close(o.done)
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		for _, m := range o.s.Machines(app) {
			isApp := slices.Contains(o.s.ids, m.ID)
			o.mu.Lock()
			switch {
			case isApp && o.ready[m.ID].IsZero() && m.Image == o.image && m.State == flygo.MachineStateStarted && allPassing(m.Checks):
				o.ready[m.ID] = now
			case !isApp && m.Image == o.image && o.releaseStart.IsZero():
				o.releaseStart = now
			case !isApp && m.Image == o.image && o.releaseEnd.IsZero() && (m.State == flygo.MachineStateStopped || m.State == flygo.MachineStateDestroyed):
				o.releaseEnd = now
			}
			o.mu.Unlock()
		}
	}
}

func (o *observer) close() {
	close(o.stop)
	<-o.done
}

func allPassing(checks map[string]string) bool {
	if len(checks) == 0 {
		return false
	}
	for _, st := range checks {
		if st != string(flygo.Passing) {
			return false
		}
	}
	return true
}

// updateTimes returns when the emulator received each app machine's update
// request after since.
func (s *sim) updateTimes(since time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for _, r := range s.Requests() {
		if r.Method != "POST" || r.Time.Before(since) {
			continue
		}
		id := strings.TrimPrefix(r.Path, "/v1/apps/"+app+"/machines/")
		if slices.Contains(s.ids, id) {
			if _, seen := out[id]; !seen {
				out[id] = r.Time
			}
		}
	}
	return out
}

// BenchmarkRolling10Overhead deploys to 10 machines (rolling, batches
// 1+3+3+3, release command included) and reports the engine's
// orchestration overhead: the deploy's duration beyond the emulator's own
// waits (each batch from its first update request to its last machine
// running the image with every check passing, plus the release command's
// run), as a percentage of those waits. Goal: at most 10 %.
func BenchmarkRolling10Overhead(b *testing.B) {
	s := newSim(b, 10, simapp.Faults{})
	d := s.deployer()
	d.PollInterval = 0 // the engine's own default
	var total, waits, overheadSum float64
	images := []string{newImage, oldImage}
	for i := 0; b.Loop(); i++ {
		img := images[i%2]
		o := watch(s, img)
		start := time.Now()
		p := s.plan()
		p.Image = img
		p.MaxUnavailable = 0.33
		res, err := d.Deploy(context.Background(), p, report.New("deploy"))
		o.close()
		if err != nil {
			b.Fatalf("deploy %d: %v", i, err)
		}
		upd := s.updateTimes(start)
		var w time.Duration
		for _, batch := range res.Batches {
			var first, last time.Time
			for _, id := range batch {
				if u := upd[id]; first.IsZero() || u.Before(first) {
					first = u
				}
				if r := o.ready[id]; r.After(last) {
					last = r
				}
			}
			if first.IsZero() || last.IsZero() {
				b.Fatalf("batch %v: update at %v, ready at %v", batch, first, last)
			}
			w += last.Sub(first)
		}
		if !o.releaseEnd.IsZero() {
			w += o.releaseEnd.Sub(o.releaseStart)
		}
		total += res.Duration.Seconds()
		waits += w.Seconds()
		overheadSum += (res.Duration - w).Seconds() / w.Seconds() * 100
	}
	n := float64(b.N)
	b.ReportMetric(total/n, "deploy-s")
	b.ReportMetric(waits/n, "emulator-waits-s")
	b.ReportMetric(overheadSum/n, "overhead-%")
}

// BenchmarkRollback reports how fast a failed deploy is undone, on 3
// machines whose fly.toml check runs every second:
//
//   - checks: the new image's /health answers 500; from the moment the
//     engine gives up (wait_timeout) to every touched machine restored,
//     started and passing its checks again;
//   - crash: the new image exits 200 ms after it starts; from the exit (the
//     emulator's exit event) to the same end.
//
// Goal: at most one check interval + 2 s (3 s here).
func BenchmarkRollback(b *testing.B) {
	cases := []struct {
		name   string
		faults simapp.Faults
	}{
		{"checks", simapp.Faults{HealthStatus: 500}},
		{"crash", simapp.Faults{CrashExitCode: 1, CrashAfter: 200 * time.Millisecond}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s := newSim(b, 3, c.faults)
			d := s.deployer()
			d.PollInterval = 0
			d.SmokeWindow = 0
			var sum float64
			for b.Loop() {
				p := s.plan()
				p.WaitTimeout = 2 * time.Second
				p.SkipReleaseCommand = true
				res, err := d.Deploy(context.Background(), p, report.New("deploy"))
				if err == nil || !res.RolledBack {
					b.Fatalf("deploy did not fail and roll back: %v", err)
				}
				from := res.FailedAt
				if f := res.Failure; f.Exit != nil {
					from = res.FailedAt.Add(-detectLatency(s, f.MachineID, res.FailedAt))
				}
				sum += res.RestoredAt.Sub(from).Seconds()
			}
			b.ReportMetric(sum/float64(b.N), "rollback-s")
			b.ReportMetric(1+2, "goal-s")
		})
	}
}

// detectLatency is how long before failedAt the machine's process exited,
// by the emulator's log (its runner writes the exit).
func detectLatency(s *sim, id string, failedAt time.Time) time.Duration {
	var exit time.Time
	for _, l := range s.Logs(app, id) {
		if l.Provider == "runner" && strings.Contains(strings.ToLower(l.Message), "exit") && !l.Time.After(failedAt) {
			exit = l.Time
		}
	}
	if exit.IsZero() {
		return 0
	}
	return failedAt.Sub(exit)
}
