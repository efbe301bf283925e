// Package deploy implements `deploy-action deploy`: validate the repository,
// check the app and its secrets in Fly, deploy an image through the deploy
// engine (release command, rolling or immediate update, health gates,
// automatic restore), verify the app's health from outside, and report every
// phase. A verification that fails puts the machines back on the image they
// ran before.
package deploy

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/flyenv"
	"github.com/grupo-gad/deploy-action/internal/cmd/validate"
	"github.com/grupo-gad/deploy-action/internal/diagnose"
	"github.com/grupo-gad/deploy-action/internal/fly"
	flydeploy "github.com/grupo-gad/deploy-action/internal/fly/deploy"
	"github.com/grupo-gad/deploy-action/internal/health"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/remote"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Usage is the command's one-line synopsis.
const Usage = "deploy --app APP --image IMAGE [--config fly.toml] [--strategy rolling|immediate] [--wait-timeout 5m] [--release-command-timeout 5m] [--skip-release-command] [--health-url URL|none] [--force] [--format text|json|github] [DIR]"

// Help is the command's help text.
const Help = `Usage: deploy-action ` + Usage + `

Deploys IMAGE to every machine of the Fly app APP, safely:
  1. validates DIR (as ` + "`deploy-action validate`" + `) and, through the Fly API,
     checks that the app exists and holds the secrets the repository needs;
     an error stops here, before anything changes, unless --force;
  2. runs fly.toml's release_command on a one-off machine; a failure stops
     here, before any app machine changes;
  3. updates the machines (rolling: one first, then batches of
     max_unavailable; immediate: all at once), each one started, watched for
     a smoke window and its health checks passing; when one fails, every
     machine changed is put back on its previous config;
  4. verifies the app from outside at --health-url; when that fails the
     machines are rolled back to the image they ran before.

Flags:
  --app APP                    Fly app (default: app in fly.toml)
  --image IMAGE                image to deploy, e.g. registry.fly.io/APP:TAG
  --config PATH                fly.toml to use (default DIR/fly.toml)
  --strategy rolling|immediate (default: [deploy] strategy, else rolling)
  --wait-timeout D             per machine, for start and checks (default:
                               [deploy] wait_timeout, else 5m)
  --release-command-timeout D  (default: [deploy] release_command_timeout,
                               else 5m)
  --skip-release-command       do not run release_command
  --health-url URL|none        where to verify health from outside (default
                               https://APP.fly.dev/health, the path of the
                               first [[http_service.checks]] if it has one,
                               when fly.toml has an HTTP service; none skips)
  --initial-machines N         machines to launch when the app has none
                               (default 0: an app without machines is an
                               error)
  --force                      deploy even when validation finds errors
  --format text|json|github    report format (default text)

Environment: FLY_API_TOKEN (or FLY_ACCESS_TOKEN) is the Fly token;
FLY_FLAPS_BASE_URL the Machines API base (default https://api.machines.dev).

Progress goes to stderr, the report to stdout. On SIGINT or SIGTERM the
machines already changed are put back on their previous config (within 7 s
under GitHub Actions, 20 s elsewhere) before exiting; a second signal exits
at once.

Exit status: 0 the app runs IMAGE and is healthy; 1 it does not (validation
errors without --force, a failed or interrupted deploy, a failed
verification); 2 bad usage, no token, or an internal failure.
`

// DefaultMaxP95 is the highest p95 latency of the verification before it
// counts as failed, unless Options.Health says otherwise.
const DefaultMaxP95 = 2 * time.Second

// Verifier verifies an app's health from outside; health.Verify is one.
type Verifier func(ctx context.Context, opts health.Options) (*health.Result, error)

// Options are the command's inputs and dependencies.
type Options struct {
	IO cmdutil.IO
	// Dir is the repository ("." by default); Config the fly.toml ("" for
	// DIR/fly.toml).
	Dir, Config string
	// App is the Fly app ("" for fly.toml's app); Image the image to deploy.
	App, Image string
	// Strategy is "rolling", "immediate" or "" (fly.toml's, else rolling).
	Strategy string
	// WaitTimeout and ReleaseCommandTimeout: 0 means fly.toml's, else 5m.
	WaitTimeout, ReleaseCommandTimeout time.Duration
	// SkipReleaseCommand skips release_command.
	SkipReleaseCommand bool
	// HealthURL is where to verify health: "" for the default, "none" to
	// skip verification.
	HealthURL string
	// InitialMachines is how many machines a first deploy launches.
	InitialMachines int
	// Force deploys even when validation finds errors.
	Force bool
	// Format is text, json or github.
	Format string

	// Fly returns the Fly API (nil: flyenv.API, from the environment).
	Fly func(ctx context.Context) (fly.API, error)
	// Verify verifies health from outside (nil: health.Verify).
	Verify Verifier
	// Health holds the verification settings besides URL (zero values:
	// health's defaults).
	Health health.Options
	// Engine, when set, adjusts the deploy engine before it runs (the demo
	// shortens its waits).
	Engine func(*flydeploy.Deployer)
	// Progress receives the progress lines (nil: a Progress on IO.Err).
	Progress *flyenv.Progress
}

// NewOptions parses args into Options.
func NewOptions(io cmdutil.IO, args []string) (*Options, error) {
	opts := &Options{IO: io}
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.StringVar(&opts.App, "app", "", "Fly app (default: app in fly.toml)")
	fs.StringVar(&opts.Image, "image", "", "image to deploy")
	fs.StringVar(&opts.Config, "config", "", "path of fly.toml (default DIR/fly.toml)")
	fs.StringVar(&opts.Strategy, "strategy", "", "rolling or immediate")
	fs.DurationVar(&opts.WaitTimeout, "wait-timeout", 0, "per-machine wait for start and checks")
	fs.DurationVar(&opts.ReleaseCommandTimeout, "release-command-timeout", 0, "release_command timeout")
	fs.BoolVar(&opts.SkipReleaseCommand, "skip-release-command", false, "do not run release_command")
	fs.StringVar(&opts.HealthURL, "health-url", "", "URL to verify health at, or none")
	fs.IntVar(&opts.InitialMachines, "initial-machines", 0, "machines to launch when the app has none")
	fs.BoolVar(&opts.Force, "force", false, "deploy even when validation finds errors")
	fs.StringVar(&opts.Format, "format", "text", "output format: text, json or github")
	pos, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if err := cmdutil.CheckFormat(opts.Format); err != nil {
		return nil, err
	}
	switch len(pos) {
	case 0:
		opts.Dir = "."
	case 1:
		opts.Dir = pos[0]
	default:
		return nil, cmdutil.Usagef("deploy takes one directory, got %d arguments: %s", len(pos), strings.Join(pos, " "))
	}
	switch {
	case strings.TrimSpace(opts.Image) == "":
		return nil, cmdutil.Usagef("--image is required (e.g. registry.fly.io/APP:TAG, pushed by docker/build-push-action)")
	case opts.Strategy != "" && opts.Strategy != string(flydeploy.Rolling) && opts.Strategy != string(flydeploy.Immediate):
		return nil, cmdutil.Usagef("--strategy %q: want rolling or immediate", opts.Strategy)
	case opts.WaitTimeout < 0:
		return nil, cmdutil.Usagef("--wait-timeout %s: must not be negative", opts.WaitTimeout)
	case opts.ReleaseCommandTimeout < 0:
		return nil, cmdutil.Usagef("--release-command-timeout %s: must not be negative", opts.ReleaseCommandTimeout)
	case opts.InitialMachines < 0:
		return nil, cmdutil.Usagef("--initial-machines %d: must not be negative", opts.InitialMachines)
	}
	if opts.HealthURL != "" && opts.HealthURL != "none" {
		if _, err := health.CheckURL(opts.HealthURL, "http", "https"); err != nil {
			return nil, cmdutil.Usagef("--health-url: %v (or none to skip verification)", err)
		}
	}
	return opts, nil
}

// Main parses args, runs the deploy until it ends or the process is
// interrupted, and returns the exit code.
func Main(io cmdutil.IO, args []string) (int, error) {
	opts, err := NewOptions(io, args)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	ctx, stop := flyenv.SignalContext(context.Background(), io.Err, flyenv.InterruptGrace(), nil)
	defer stop()
	return Run(ctx, opts)
}

// Run deploys, writes the report to IO.Out and returns the exit code.
func Run(ctx context.Context, opts *Options) (int, error) {
	out, err := Execute(ctx, opts)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	prefix, _ := filepath.Rel(".", opts.Dir)
	if err := cmdutil.WriteReport(opts.IO.Out, out.Report, cmdutil.WriteOptions{
		Format: opts.Format, Sources: out.Project, PathPrefix: filepath.ToSlash(prefix),
	}); err != nil {
		return cmdutil.ExitUsage, fmt.Errorf("write report: %w", err)
	}
	if out.Healthy {
		return cmdutil.ExitOK, nil
	}
	return cmdutil.ExitFindings, nil
}

// Outcome is what Execute did.
type Outcome struct {
	// Report holds validate's five phases, then deploy and verify.
	Report *report.Report
	// Project is the loaded repository (source lines for the report).
	Project *project.Project
	// App is the app deployed to.
	App string
	// Stopped says why no deploy was attempted ("" when one was).
	Stopped string
	// Deploy is the engine's result (nil when no deploy was attempted).
	Deploy *flydeploy.Result
	// DeployErr is the engine's error (a *flydeploy.Failure, the
	// context's error, or the API's).
	DeployErr error
	// HealthURL is where health was verified ("" when it was not), and
	// Health what the verification measured.
	HealthURL string
	Health    *health.Result
	// RolledBack reports that the machines were rolled back after the
	// verification failed; Rollback is that rollback's result.
	RolledBack bool
	Rollback   *flydeploy.Result
	// Healthy reports that the app runs the new image and is healthy:
	// the deploy succeeded, the verification passed or was skipped, and
	// validation found no error (or --force was given).
	Healthy bool
}

// Execute runs the whole deploy and returns what happened. Its Go error is
// for what stops it from running at all (bad directory, no token); what it
// finds goes in the report.
func Execute(ctx context.Context, opts *Options) (*Outcome, error) {
	if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
		return nil, cmdutil.Usagef("%s is not a directory", opts.Dir)
	}
	pr := opts.Progress
	if pr == nil {
		pr = flyenv.NewProgress(opts.IO.Err)
	}
	connect := opts.Fly
	if connect == nil {
		connect = flyenv.API
	}
	api, err := connect(ctx)
	if err != nil {
		return nil, err
	}

	rep, p, err := validate.Check(opts.Dir, opts.Config)
	if err != nil {
		return nil, err
	}
	rep.Command = "deploy"
	out := &Outcome{Report: rep, Project: p, App: remote.AppName(p, opts.App)}
	if out.App == "" {
		return nil, cmdutil.Usagef("no app: give --app or set app in fly.toml")
	}
	c := rep.Counts()
	pr.Printf("validate", "%s (%d error(s), %d warning(s), %d notice(s))", verdict(rep), c[report.Error], c[report.Warning], c[report.Notice])

	rc := &remote.Checker{API: api, App: out.App}
	if res, err := rc.Check(ctx, p, rep); err != nil {
		rep.Add(report.Secrets, remote.Unavailable(err))
		pr.Printf("secrets", "could not check the app in Fly: %v", err)
	} else if res.AppMissing {
		pr.Printf("secrets", "app %s does not exist in Fly", out.App)
	} else {
		pr.Printf("secrets", "%d of %d required secret(s) set on %s", len(res.Needs)-len(res.Missing), len(res.Needs), out.App)
	}
	rep.Phase(report.Deploy)
	rep.Phase(report.Verify)
	rep.Finish()
	validateErrors := rep.HasErrors()
	defer rep.Finish()

	if validateErrors && !opts.Force {
		out.Stopped = fmt.Sprintf("validation found %d error(s)", rep.Counts()[report.Error])
		skip(rep, report.Deploy, "Not deployed: "+out.Stopped, "Nothing was changed in Fly. Fix the errors above and deploy again, or deploy anyway with --force.")
		skip(rep, report.Verify, "Not verified: nothing was deployed", "")
		pr.Printf("deploy", "not started: %s (--force deploys anyway)", out.Stopped)
		return out, nil
	}
	if validateErrors {
		rep.Add(report.Deploy, report.Finding{Rule: "deploy-forced", Severity: report.Warning,
			Title:   "Deployed despite validation errors (--force)",
			Message: fmt.Sprintf("Validation found %d error(s); --force deployed anyway.", rep.Counts()[report.Error]),
			Fix:     "Fix the errors above before the next deploy."})
	}

	d := &flydeploy.Deployer{API: api, InterruptGrace: flyenv.InterruptGrace(), Progress: pr.Event}
	if opts.Engine != nil {
		opts.Engine(d)
	}
	plan := flydeploy.Plan{App: out.App, Image: opts.Image, Config: p.Fly, Strategy: flydeploy.Strategy(opts.Strategy),
		WaitTimeout: opts.WaitTimeout, SkipReleaseCommand: opts.SkipReleaseCommand, ReleaseCommandTimeout: opts.ReleaseCommandTimeout,
		InitialMachines: opts.InitialMachines}
	if n, err := AppMachines(ctx, api, out.App); err == nil {
		if n == 0 {
			n = opts.InitialMachines
		}
		pr.SetTotal(n)
	}
	out.Deploy, out.DeployErr = d.Deploy(ctx, plan, rep)
	if out.DeployErr != nil {
		explain(rep, p, out.DeployErr)
		skip(rep, report.Verify, "Not verified: the deploy did not complete", "")
		return out, nil
	}

	out.HealthURL = healthURL(opts.HealthURL, out.App, p.Fly)
	if out.HealthURL == "" {
		why := "--health-url none"
		if opts.HealthURL != "none" {
			why = "fly.toml has no HTTP service (give --health-url to verify anyway)"
		}
		skip(rep, report.Verify, "Health not verified from outside: "+why, "")
		pr.Printf("verify", "skipped: %s", why)
		out.Healthy = !validateErrors || opts.Force
		return out, nil
	}
	verify := opts.Verify
	if verify == nil {
		verify = health.Verify
	}
	h := opts.Health
	h.URL = out.HealthURL
	if h.MaxP95 == 0 {
		// From a CI runner far from the app's region, health's 200 ms
		// would roll back a working deploy for the distance alone.
		h.MaxP95 = DefaultMaxP95
	}
	total := h.Samples
	if total == 0 {
		total = health.DefaultSamples
	}
	h.OnSample = func(s health.Sample) {
		if !s.Passed {
			pr.Printf("verify", "sample %d/%d: %s", s.N, total, s.Detail)
		}
	}
	pr.Printf("verify", "sampling %s (%d request(s))", h.URL, total)
	hres, err := verify(ctx, h)
	if hres == nil {
		return nil, fmt.Errorf("verify %s: %w", h.URL, err)
	}
	out.Health = hres
	hres.AddTo(rep)
	if hres.OK() && err == nil {
		pr.Printf("verify", "healthy: %d/%d samples passed, p95 %s", hres.Passed, len(hres.Samples), hres.P95.Round(100*time.Microsecond))
		out.Healthy = true
		return out, nil
	}
	pr.Printf("verify", "unhealthy: %d/%d samples passed", hres.Passed, len(hres.Samples))
	if ctx.Err() != nil {
		return out, nil
	}
	if out.Deploy.PreviousImage == "" || out.Deploy.PreviousImage == out.Deploy.Image {
		rep.Add(report.Verify, report.Finding{Rule: "verify-no-rollback", Severity: report.Warning,
			Title:   "Not rolled back: there is no previous image",
			Message: fmt.Sprintf("The verification failed, but the machines had no other image before this deploy, so %s stays on %s.", out.App, opts.Image),
			Fix:     "Fix the app and deploy again."})
		return out, nil
	}
	pr.Printf("deploy", "verification failed: rolling back to %s", out.Deploy.PreviousImage)
	rep.Add(report.Verify, report.Finding{Rule: "verify-rolled-back", Severity: report.Notice,
		Title:   "Rolled back after the failed verification",
		Message: fmt.Sprintf("The app did not answer healthily at %s, so each machine was put back on the image it ran before (%s).", out.HealthURL, out.Deploy.PreviousImage)})
	out.Rollback, err = d.Rollback(ctx, flydeploy.Plan{App: out.App, Config: p.Fly, WaitTimeout: opts.WaitTimeout}, rep)
	out.RolledBack = err == nil
	return out, nil
}

// AppMachines counts the app's machines a deploy updates: active ones,
// release command and console machines left out.
func AppMachines(ctx context.Context, api fly.Machines, app string) (int, error) {
	all, err := api.List(ctx, app, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range all {
		if m == nil || !m.IsActive() || m.Config == nil || m.IsReleaseCommandMachine() {
			continue
		}
		switch m.ProcessGroup() {
		case flygo.MachineProcessGroupFlyAppReleaseCommand, flygo.MachineProcessGroupFlyAppConsole, flygo.MachineProcessGroupFlyAppTestMachineCommand:
			continue
		}
		n++
	}
	return n, nil
}

// healthURL returns the URL to verify: flag unless empty or "none"; for ""
// https://APP.fly.dev plus the path of the HTTP service's first HTTP check
// (else /health) when the config has an HTTP service; "" to skip.
func healthURL(flag, app string, cfg *flytoml.Config) string {
	switch flag {
	case "none":
		return ""
	case "":
	default:
		return flag
	}
	if cfg == nil || !hasHTTPService(cfg) {
		return ""
	}
	path := "/health"
	if cfg.HTTPService != nil {
		for _, c := range cfg.HTTPService.Checks {
			if c.Path.Set && strings.HasPrefix(c.Path.V, "/") {
				path = c.Path.V
				break
			}
		}
	}
	return "https://" + app + ".fly.dev" + path
}

func hasHTTPService(cfg *flytoml.Config) bool {
	if cfg.HTTPService != nil {
		return true
	}
	for _, s := range cfg.Services {
		for _, p := range s.Ports {
			for _, h := range p.Handlers {
				if h == "http" || h == "tls" {
					return true
				}
			}
		}
	}
	return false
}

// skip marks phase skipped with a notice saying why.
func skip(rep *report.Report, phase report.PhaseName, title, fix string) {
	p := rep.Phase(phase)
	if len(p.Findings) == 0 {
		p.Status = report.Skipped
	}
	rep.Add(phase, report.Finding{Rule: string(phase) + "-skipped", Severity: report.Notice, Title: title, Message: title + ".", Fix: fix})
}

func verdict(rep *report.Report) string {
	switch {
	case rep.HasErrors():
		return "failed"
	case rep.Counts()[report.Warning] > 0:
		return "passed with warnings"
	}
	return "passed"
}

// explain diagnoses a failed deploy at its cause: the failing machine's
// exit event (an OOM kill points at fly.toml's [[vm]] memory line) and its
// log tail (the release command's output, or the smoke and health-check
// window's) go through the diagnosis catalog, and what it finds is added to
// the report next to the engine's own finding. Logs with no known signature
// say so rather than guess.
func explain(rep *report.Report, p *project.Project, err error) {
	var f *flydeploy.Failure
	if !errors.As(err, &f) {
		return
	}
	phase := f.Phase
	if phase == "" {
		phase = report.Deploy
	}
	logPhase := report.PhaseName("")
	if phase == report.Release {
		logPhase = report.Release
	}
	d := diagnose.New(diagnose.Options{Project: p, Phase: logPhase, LogName: ""})
	var fs []diagnose.Finding
	if f.Exit != nil {
		exitPhase := report.Runtime
		if phase == report.Release {
			exitPhase = report.Release
		}
		fs = append(fs, d.Exit(diagnose.Exit{Code: f.Exit.Code, OOMKilled: f.Exit.OOMKilled,
			Signal: f.Exit.Signal, Machine: f.MachineID, Phase: exitPhase})...)
	}
	if len(f.LogTail) > 0 {
		fs = append(fs, d.Lines(f.LogTail)...)
		diagnose.AddTo(rep, fs, phase, "machine "+f.MachineID+" log", len(f.LogTail))
		return
	}
	if len(fs) > 0 {
		diagnose.AddTo(rep, fs, phase, "", 0)
	}
}
