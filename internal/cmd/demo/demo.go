// Package demo implements `deploy-action demo`: a whole deploy, end to end,
// on a Fly emulator started in the same process (internal/flysim) — no
// account, no token, no network beyond loopback.
//
// The demo validates examples/grupo-gad, deploys it to 3 machines (release
// command included), verifies its health from outside through the
// emulator's proxy, then deploys a broken build that crashes on start and
// shows the engine putting the machine it touched back on the good image.
// Each machine is a real local process: this very binary's hidden `simapp`
// subcommand, a stand-in for the FastAPI service with a /health endpoint and
// an `alembic upgrade head` release command.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/deploy"
	"github.com/grupo-gad/deploy-action/internal/cmd/flyenv"
	"github.com/grupo-gad/deploy-action/internal/fly"
	flydeploy "github.com/grupo-gad/deploy-action/internal/fly/deploy"
	"github.com/grupo-gad/deploy-action/internal/flysim"
	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
	"github.com/grupo-gad/deploy-action/internal/health"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/remote"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Usage is the command's one-line synopsis.
const Usage = "demo [--dir examples/grupo-gad]"

// Help is the command's help text.
const Help = `Usage: deploy-action ` + Usage + `

Runs a whole deploy on a Fly emulator started in this process: no account,
no token, no network. It validates the sample service, deploys it to 3
machines (each a real local process) with its release command, verifies
its health from outside, then deploys a broken build that crashes on start
and shows the automatic rollback. It takes about 15 seconds.

Flags:
  --dir DIR   the sample service (default: examples/grupo-gad, looked for in
              the current directory and its parents)

Exit status: 0 the demo behaved as designed (the good build deployed and
healthy, the broken one refused and rolled back, every machine back on the
good build); 1 it did not; 2 bad usage or the emulator could not start.
`

// The images of the demo.
const (
	App         = "grupo-gad"
	GoodImage   = "registry.fly.io/grupo-gad:deployment-v1"
	BrokenImage = "registry.fly.io/grupo-gad:deployment-v2-broken"
	// Machines is the number of machines of the first deploy.
	Machines = 3
	// DefaultTimeScale runs the emulator's own waits (fly.toml's check
	// interval and grace period, kill_timeout) 20 times faster.
	DefaultTimeScale = 0.05
)

// Options are the command's inputs.
type Options struct {
	IO cmdutil.IO
	// Dir is the sample service ("" finds examples/grupo-gad).
	Dir string
	// Entrypoint runs simapp in a machine (nil: this executable with the
	// hidden subcommand, {os.Executable(), "simapp"}).
	Entrypoint []string
	// TimeScale scales the emulator's waits (0: DefaultTimeScale).
	TimeScale float64

	// started, when set, is given the emulator once it exists (Main stops
	// it on a second signal).
	started func(*flysim.Server)
}

// NewOptions parses args into Options.
func NewOptions(io cmdutil.IO, args []string) (*Options, error) {
	opts := &Options{IO: io}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&opts.Dir, "dir", "", "the sample service (default examples/grupo-gad)")
	pos, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, cmdutil.Usagef("demo takes no arguments, got: %s", strings.Join(pos, " "))
	}
	return opts, nil
}

// Main parses args, runs the demo and returns the exit code. A first
// SIGINT stops the deploy in progress (which restores what it changed); a
// second stops the emulator and exits at once.
func Main(io cmdutil.IO, args []string) (int, error) {
	opts, err := NewOptions(io, args)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	var sim atomic.Pointer[flysim.Server]
	ctx, stop := flyenv.SignalContext(context.Background(), io.Err, 5*time.Second, func() {
		if s := sim.Load(); s != nil {
			_ = s.Close() // kills the machine processes
		}
	})
	defer stop()
	opts.started = sim.Store
	return Run(ctx, opts)
}

// Result is what the demo did.
type Result struct {
	// Good is the deploy of GoodImage, Broken the deploy of BrokenImage.
	Good, Broken *deploy.Outcome
	// Final maps each app machine to its image at the end, and Healthy
	// says whether each was started with every check passing.
	Final   map[string]string
	Healthy map[string]bool
	// FinalHealth is a last verification through the emulator's proxy.
	FinalHealth *health.Result
	// Duration is the demo's wall time.
	Duration time.Duration
}

// AsDesigned reports whether the demo behaved as designed: the good build
// deployed and verified healthy on every machine, the broken build failed
// and was rolled back, and every machine runs the good build, healthy.
func (r *Result) AsDesigned() bool {
	if r == nil || r.Good == nil || !r.Good.Healthy || r.Broken == nil || r.Broken.Healthy || r.Broken.Deploy == nil || !r.Broken.Deploy.RolledBack {
		return false
	}
	if len(r.Final) != Machines || r.FinalHealth == nil || !r.FinalHealth.OK() {
		return false
	}
	for id, img := range r.Final {
		if img != GoodImage || !r.Healthy[id] {
			return false
		}
	}
	return true
}

// Run runs the demo, telling its story on IO.Out, and returns the exit
// code.
func Run(ctx context.Context, opts *Options) (int, error) {
	res, err := Execute(ctx, opts)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	if res.AsDesigned() {
		return cmdutil.ExitOK, nil
	}
	return cmdutil.ExitFindings, nil
}

// Execute runs the demo and returns what it did. Its Go error is for what
// stops it from running (no sample service, the emulator cannot start).
func Execute(ctx context.Context, opts *Options) (*Result, error) {
	start := time.Now()
	w := opts.IO.Out
	dir, err := findDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	entry := opts.Entrypoint
	if entry == nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this executable (the machines run it): %w", err)
		}
		entry = []string{exe, "simapp"}
	}
	scale := opts.TimeScale
	if scale <= 0 {
		scale = DefaultTimeScale
	}

	images := map[string]flysim.Image{
		GoodImage:   flysim.SimappImage(entry, simapp.Faults{ReleaseDelay: 300 * time.Millisecond}),
		BrokenImage: flysim.SimappImage(entry, simapp.Faults{CrashExitCode: 1}),
	}
	token := "demo-" + randomHex(8)
	sim := flysim.New(flysim.Options{Images: images, Region: "mad", Token: token, TimeScale: scale})
	defer sim.Close()
	if opts.started != nil {
		opts.started(sim)
	}
	url, err := sim.Start()
	if err != nil {
		return nil, fmt.Errorf("start the Fly emulator: %w", err)
	}
	if err := sim.CreateApp(App); err != nil {
		return nil, err
	}
	edge, err := sim.AppURL(App)
	if err != nil {
		return nil, err
	}
	client, err := fly.NewClient(ctx, fly.ClientOptions{Token: token, MachinesURL: url, APIURL: url})
	if err != nil {
		return nil, err
	}
	api := fly.WithRetry(client, fly.RetryPolicy{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond})

	p, err := project.Load(dir, project.Options{})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range remote.Needs(p, nil) {
		if err := sim.SetSecret(App, n.Name, demoSecret(n.Name)); err != nil {
			return nil, err
		}
		names = append(names, n.Name)
	}
	rel := dir
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, dir); err == nil {
			rel = r
		}
	}
	fmt.Fprintf(w, "deploy-action demo: a Fly.io deploy, end to end, on a Fly emulator in this process (no account, no token, no network)\n\n")
	fmt.Fprintf(w, "  service   %s (FastAPI + PostgreSQL + Alembic, fly.toml: rolling, release_command `alembic upgrade head`, /health check)\n", filepath.ToSlash(rel))
	fmt.Fprintf(w, "  Fly       flysim at %s, app %s, secrets %s set (names only); its waits run %g× faster\n", url, App, strings.Join(names, ", "), 1/scale)
	fmt.Fprintf(w, "  machines  real local processes (this binary's simapp), health checks are real HTTP probes\n")

	res := &Result{}
	pr := flyenv.NewProgress(w)
	engine := func(d *flydeploy.Deployer) {
		d.SmokeWindow = time.Duration(float64(flydeploy.DefaultSmokeWindow) * scale)
		d.PollInterval = 50 * time.Millisecond
		d.WaitSlice = 2 * time.Second
		d.LeaseTimeout = 5 * time.Second
		d.LogWait = 500 * time.Millisecond
		d.InterruptGrace = 5 * time.Second
	}
	run := func(image string, initial int) (*deploy.Outcome, error) {
		pr.Restart()
		return deploy.Execute(ctx, &deploy.Options{
			IO: cmdutil.IO{Out: io.Discard, Err: w}, Dir: dir, App: App, Image: image, InitialMachines: initial,
			WaitTimeout: 20 * time.Second, HealthURL: edge + "/health",
			Fly:      func(context.Context) (fly.API, error) { return api, nil },
			Health:   health.Options{Samples: 5, Interval: 100 * time.Millisecond},
			Engine:   engine,
			Progress: pr,
		})
	}

	fmt.Fprintf(w, "\n1/2  deploy %s to %d machines\n", GoodImage, Machines)
	if res.Good, err = run(GoodImage, Machines); err != nil {
		return nil, err
	}
	if res.Good.Healthy {
		fmt.Fprintf(w, "  ✓ %s runs %s on %d machines, verified healthy from outside (%s)\n", App, short(GoodImage), len(res.Good.Deploy.Machines), res.Good.Deploy.Duration.Round(100*time.Millisecond))
	} else {
		fmt.Fprintf(w, "  ✗ the first deploy did not end healthy; its report:\n")
		writeErrors(w, res.Good.Report)
	}

	if res.Good.Healthy && ctx.Err() == nil {
		fmt.Fprintf(w, "\n2/2  deploy a broken build, %s: it crashes on start (a build that lost its app module)\n", BrokenImage)
		if res.Broken, err = run(BrokenImage, 0); err != nil {
			return nil, err
		}
		b := res.Broken
		switch {
		case b.Deploy != nil && b.Deploy.RolledBack && !b.Healthy:
			fmt.Fprintf(w, "  ✓ refused and rolled back, as designed: the report says why, at its cause:\n")
			writeErrors(w, b.Report)
		default:
			fmt.Fprintf(w, "  ✗ the broken build was not refused and rolled back as it should have been; its report:\n")
			writeErrors(w, b.Report)
		}
	}

	res.Final, res.Healthy = finalState(sim)
	res.FinalHealth, _ = health.Verify(ctx, health.Options{URL: edge + "/health", Samples: 3, Interval: 50 * time.Millisecond, MaxP95: deploy.DefaultMaxP95})
	res.Duration = time.Since(start)
	summary(w, res)
	return res, nil
}

// finalState returns each live app machine's image and whether it is
// started with every check passing.
func finalState(sim *flysim.Server) (map[string]string, map[string]bool) {
	imgs, ok := map[string]string{}, map[string]bool{}
	for _, m := range sim.Machines(App) {
		if m.State == flygo.MachineStateDestroyed || m.State == "destroying" || m.Metadata[flygo.MachineConfigMetadataKeyFlyProcessGroup] == flygo.MachineProcessGroupFlyAppReleaseCommand {
			continue
		}
		imgs[m.ID] = m.Image
		healthy := m.State == flygo.MachineStateStarted && len(m.Checks) > 0
		for _, st := range m.Checks {
			healthy = healthy && st == string(flygo.Passing)
		}
		ok[m.ID] = healthy
	}
	return imgs, ok
}

func summary(w io.Writer, r *Result) {
	fmt.Fprintf(w, "\nSummary\n")
	if g := r.Good; g != nil && g.Deploy != nil {
		fmt.Fprintf(w, "  deploy %-24s %s: %d machines in %s, release command exit 0, %s\n", short(GoodImage), okWord(g.Healthy), len(g.Deploy.Machines), g.Deploy.Duration.Round(100*time.Millisecond), healthLine(g.Health))
	}
	if b := r.Broken; b != nil && b.Deploy != nil {
		d := b.Deploy
		touched := 0
		for _, m := range d.Machines {
			if m.Updated || m.Restored {
				touched++
			}
		}
		line := fmt.Sprintf("failed (as designed): %d of %d machines touched", touched, len(d.Machines))
		if f := d.Failure; f != nil && f.Exit != nil {
			line = fmt.Sprintf("failed (as designed): machine %s exited with code %d %s after it started; %d of %d machines touched", f.MachineID, f.Exit.Code, roundDur(f.Exit.After), touched, len(d.Machines))
		} else if f != nil {
			line = fmt.Sprintf("failed (as designed): %s; %d of %d machines touched", f.Error(), touched, len(d.Machines))
		}
		if d.RolledBack && !d.FailedAt.IsZero() && !d.RestoredAt.IsZero() {
			line += fmt.Sprintf(", rolled back %s after the failure", roundDur(d.RestoredAt.Sub(d.FailedAt)))
		}
		fmt.Fprintf(w, "  deploy %-24s %s\n", short(BrokenImage), line)
	}
	on, healthy := 0, 0
	for id, img := range r.Final {
		if img == GoodImage {
			on++
		}
		if r.Healthy[id] {
			healthy++
		}
	}
	fmt.Fprintf(w, "  %-31s %d/%d machines on %s, %d with every check passing; %s\n", "now", on, len(r.Final), short(GoodImage), healthy, healthLine(r.FinalHealth))
	fmt.Fprintf(w, "  %-31s %s\n", "took", r.Duration.Round(100*time.Millisecond))
	if r.AsDesigned() {
		fmt.Fprintf(w, "\n✓ The demo behaved as designed: the good build went out and was verified, the broken build was stopped\n  at the first machine and rolled back, and users kept a healthy app throughout. (exit 0)\n")
	} else {
		fmt.Fprintf(w, "\n✗ The demo did not behave as designed (see above). (exit 1)\n")
	}
}

// maxLogLines is how many log lines of a finding the demo shows.
const maxLogLines = 10

// writeErrors writes the report's error findings, indented.
func writeErrors(w io.Writer, rep *report.Report) {
	for _, ph := range rep.Phases {
		for _, f := range ph.Findings {
			if f.Severity != report.Error {
				continue
			}
			loc := f.Location.String()
			if loc != "" {
				loc += ": "
			}
			fmt.Fprintf(w, "    %s %s%s [%s]\n", ph.Name, loc, f.Title, f.Rule)
			lines := strings.Split(f.Message, "\n")
			if len(lines) > maxLogLines+1 {
				// The first line says what happened; the last log lines
				// show it. The full tail is in the report.
				lines = append([]string{lines[0], "    …"}, lines[len(lines)-maxLogLines:]...)
			}
			for _, l := range lines {
				fmt.Fprintf(w, "      %s\n", l)
			}
			if f.Fix != "" {
				fmt.Fprintf(w, "      fix: %s\n", f.Fix)
			}
		}
	}
}

func healthLine(h *health.Result) string {
	if h == nil {
		return "not verified"
	}
	return fmt.Sprintf("/health answered %d/%d samples (p95 %s)", h.Passed, len(h.Samples), h.P95.Round(100*time.Microsecond))
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAILED"
}

func short(image string) string {
	if i := strings.LastIndex(image, ":"); i >= 0 {
		return image[i+1:]
	}
	return image
}

// findDir returns dir, or examples/grupo-gad in the working directory or
// one of its parents.
func findDir(dir string) (string, error) {
	if dir != "" {
		if st, err := os.Stat(filepath.Join(dir, "fly.toml")); err != nil || st.IsDir() {
			return "", cmdutil.Usagef("--dir %s: no fly.toml there", dir)
		}
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "examples", "grupo-gad")
		if _, err := os.Stat(filepath.Join(cand, "fly.toml")); err == nil {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", cmdutil.Usagef("examples/grupo-gad not found in %s or its parents: run the demo from the deploy-action checkout, or give --dir", wd)
}

// demoSecret returns a made-up value for a secret of the demo app. The
// values are random, never printed, and only the emulator sees them.
func demoSecret(name string) string {
	if strings.Contains(strings.ToUpper(name), "DATABASE") {
		return "postgresql+asyncpg://grupo_gad:" + randomHex(12) + "@grupo-gad-db.flycast:5432/grupo_gad"
	}
	if strings.Contains(strings.ToUpper(name), "REDIS") {
		return "redis://default:" + randomHex(12) + "@grupo-gad-redis.flycast:6379"
	}
	return randomHex(32)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return hex.EncodeToString(b)
}

// roundDur rounds d for a person: milliseconds under a second, tenths of a
// second above (so a fast crash reads "44ms", not "0s").
func roundDur(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
