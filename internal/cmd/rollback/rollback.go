// Package rollback implements `deploy-action rollback`: put a Fly app's
// machines back on the image each ran before the last deploy (recorded in
// its metadata by that deploy), or on a given image, with the same safety
// as a deploy: leases, the strategy's batches, each machine verified, and
// every machine changed restored if one fails.
package rollback

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/deploy"
	"github.com/grupo-gad/deploy-action/internal/cmd/flyenv"
	"github.com/grupo-gad/deploy-action/internal/fly"
	flydeploy "github.com/grupo-gad/deploy-action/internal/fly/deploy"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/remote"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Usage is the command's one-line synopsis.
const Usage = "rollback --app APP [--image IMAGE] [--config fly.toml] [--format text|json|github] [DIR]"

// Help is the command's help text.
const Help = `Usage: deploy-action ` + Usage + `

Puts every machine of APP back on the image it ran before the last deploy
by deploy-action (recorded in each machine's metadata), or on IMAGE when
given. It runs like a deploy: leases, fly.toml's strategy (rolling: one
machine first, then batches), each machine started and its health checks
passing, and every machine it changed restored if one fails. The release
command is never run: migrations are not undone.

Flags:
  --app APP                  Fly app (default: app in fly.toml)
  --image IMAGE              image to roll back to (default: each machine's
                             previous image)
  --config PATH              fly.toml for [deploy] settings and file:line of
                             findings (default DIR/fly.toml, if there is one)
  --format text|json|github  report format (default text)

Environment: FLY_API_TOKEN (or FLY_ACCESS_TOKEN); FLY_FLAPS_BASE_URL.
A first SIGINT/SIGTERM stops and restores what was changed; a second exits
at once.

Exit status: 0 every machine runs its target image and is healthy; 1 the
rollback failed or was interrupted; 2 bad usage, no token, or an internal
failure.
`

// Options are the command's inputs and dependencies.
type Options struct {
	IO cmdutil.IO
	// Dir is the repository ("."); Config the fly.toml ("" for DIR/fly.toml).
	Dir, Config string
	// App is the Fly app ("" for fly.toml's); Image the image to go back to
	// ("" for each machine's previous image).
	App, Image string
	// Format is text, json or github.
	Format string

	// Fly returns the Fly API (nil: flyenv.API, from the environment).
	Fly func(ctx context.Context) (fly.API, error)
	// Engine, when set, adjusts the engine before it runs.
	Engine func(*flydeploy.Deployer)
	// Progress receives the progress lines (nil: a Progress on IO.Err).
	Progress *flyenv.Progress
}

// NewOptions parses args into Options.
func NewOptions(io cmdutil.IO, args []string) (*Options, error) {
	opts := &Options{IO: io}
	fs := flag.NewFlagSet("rollback", flag.ContinueOnError)
	fs.StringVar(&opts.App, "app", "", "Fly app (default: app in fly.toml)")
	fs.StringVar(&opts.Image, "image", "", "image to roll back to")
	dir, err := cmdutil.DirFlags("rollback", fs, args, &opts.Config, &opts.Format)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	return opts, nil
}

// Main parses args, rolls back until done or interrupted, and returns the
// exit code.
func Main(io cmdutil.IO, args []string) (int, error) {
	opts, err := NewOptions(io, args)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	ctx, stop := flyenv.SignalContext(context.Background(), io.Err, flyenv.InterruptGrace(), nil)
	defer stop()
	return Run(ctx, opts)
}

// Run rolls back, writes the report (command "rollback", phase deploy) and
// returns the exit code.
func Run(ctx context.Context, opts *Options) (int, error) {
	if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
		return cmdutil.ExitUsage, cmdutil.Usagef("%s is not a directory", opts.Dir)
	}
	connect := opts.Fly
	if connect == nil {
		connect = flyenv.API
	}
	api, err := connect(ctx)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	p, err := project.Load(opts.Dir, project.Options{Config: opts.Config})
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	app := remote.AppName(p, opts.App)
	if app == "" {
		return cmdutil.ExitUsage, cmdutil.Usagef("no app: give --app or set app in fly.toml")
	}
	pr := opts.Progress
	if pr == nil {
		pr = flyenv.NewProgress(opts.IO.Err)
	}
	if n, err := deploy.AppMachines(ctx, api, app); err == nil {
		pr.SetTotal(n)
	}
	d := &flydeploy.Deployer{API: api, InterruptGrace: flyenv.InterruptGrace(), Progress: pr.Event}
	if opts.Engine != nil {
		opts.Engine(d)
	}
	rep := report.New("rollback", report.Deploy)
	_, rerr := d.Rollback(ctx, flydeploy.Plan{App: app, Image: opts.Image, Config: p.Fly}, rep)
	rep.Finish()
	prefix, _ := filepath.Rel(".", opts.Dir)
	if err := cmdutil.WriteReport(opts.IO.Out, rep, cmdutil.WriteOptions{Format: opts.Format, Sources: p, PathPrefix: filepath.ToSlash(prefix)}); err != nil {
		return cmdutil.ExitUsage, fmt.Errorf("write report: %w", err)
	}
	if rerr != nil {
		return cmdutil.ExitFindings, nil
	}
	return cmdutil.ExitOK, nil
}
