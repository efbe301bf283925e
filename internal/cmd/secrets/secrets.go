// Package secrets implements `deploy-action secrets`: the secrets a
// repository needs (settings read with no default, the database URL
// Alembic's env.py reads, and the names the user lists) against the names
// set on its Fly app. Names only: no value is ever asked for or printed.
package secrets

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/flyenv"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/remote"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Usage is the command's one-line synopsis.
const Usage = "secrets --app APP [--require NAME]... [--config fly.toml] [--format text|json|github] [DIR]"

// Help is the command's help text.
const Help = `Usage: deploy-action ` + Usage + `

Lists the secrets the repository in DIR needs and checks that the Fly app
holds each one, by name (values are never read):
  - environment variables the app reads with no default (pydantic settings,
    os.environ[...], decouple, environs) that fly.toml [env] and the
    Dockerfile do not set;
  - the database URL Alembic's env.py reads, when release_command runs
    alembic (reported in the release phase: the release would fail);
  - each NAME given with --require.

Flags:
  --app APP                  Fly app (default: app in fly.toml)
  --require NAME             a secret the app must hold (repeatable)
  --config PATH              fly.toml to use (default DIR/fly.toml)
  --format text|json|github  report format (default text)

Environment: FLY_API_TOKEN (or FLY_ACCESS_TOKEN); FLY_FLAPS_BASE_URL.

Exit status: 0 every required secret is set; 1 one is missing (or the app
does not exist); 2 bad usage, no token, or the Fly API could not answer.
`

// Options are the command's inputs and dependencies.
type Options struct {
	IO cmdutil.IO
	// Dir is the repository ("."); Config the fly.toml ("" for DIR/fly.toml).
	Dir, Config string
	// App is the Fly app ("" for fly.toml's).
	App string
	// Require lists more names the app must hold.
	Require []string
	// Format is text, json or github.
	Format string

	// Fly returns the Fly API (nil: flyenv.API, from the environment).
	Fly func(ctx context.Context) (remote.API, error)
}

// NewOptions parses args into Options.
func NewOptions(io cmdutil.IO, args []string) (*Options, error) {
	opts := &Options{IO: io}
	fs := flag.NewFlagSet("secrets", flag.ContinueOnError)
	fs.StringVar(&opts.App, "app", "", "Fly app (default: app in fly.toml)")
	fs.Func("require", "a secret the app must hold (repeatable)", func(s string) error {
		for _, n := range strings.Split(s, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				continue
			}
			if strings.ContainsAny(n, "= \t") {
				return fmt.Errorf("%q is not a variable name (give names only, never values)", n)
			}
			opts.Require = append(opts.Require, n)
		}
		return nil
	})
	dir, err := cmdutil.DirFlags("secrets", fs, args, &opts.Config, &opts.Format)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	return opts, nil
}

// Main parses args, runs the command and returns the exit code.
func Main(io cmdutil.IO, args []string) (int, error) {
	opts, err := NewOptions(io, args)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, opts)
}

// Run checks the secrets, writes the report (command "secrets", phases
// release and secrets) and returns the exit code.
func Run(ctx context.Context, opts *Options) (int, error) {
	if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
		return cmdutil.ExitUsage, cmdutil.Usagef("%s is not a directory", opts.Dir)
	}
	connect := opts.Fly
	if connect == nil {
		connect = func(ctx context.Context) (remote.API, error) { return flyenv.API(ctx) }
	}
	api, err := connect(ctx)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	p, err := project.Load(opts.Dir, project.Options{Config: opts.Config})
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	rep := report.New("secrets", report.Release, report.Secrets)
	if !remote.ReleaseRunsAlembic(p) {
		rep.Phase(report.Release).Status = report.Skipped
	}
	res, err := (&remote.Checker{API: api, App: opts.App, Require: opts.Require}).Check(ctx, p, rep)
	if err != nil {
		if errors.Is(err, remote.ErrNoApp) {
			return cmdutil.ExitUsage, cmdutil.Usagef("no app: give --app or set app in fly.toml")
		}
		return cmdutil.ExitUsage, err
	}
	if len(res.Needs) == 0 && !res.AppMissing {
		rep.Add(report.Secrets, report.Finding{Rule: remote.RuleSecretsSummary, Severity: report.Notice,
			Title:   "The repository needs no secret",
			Message: fmt.Sprintf("No setting is read without a default outside fly.toml [env] and the Dockerfile; %s holds %d secret(s).", res.App, len(res.Set)),
			Fix:     "Give --require NAME for secrets the code reads in a way deploy-action cannot see."})
	}
	rep.Finish()
	prefix, _ := filepath.Rel(".", opts.Dir)
	if err := cmdutil.WriteReport(opts.IO.Out, rep, cmdutil.WriteOptions{Format: opts.Format, Sources: p, PathPrefix: filepath.ToSlash(prefix)}); err != nil {
		return cmdutil.ExitUsage, fmt.Errorf("write report: %w", err)
	}
	if !res.OK() {
		return cmdutil.ExitFindings, nil
	}
	return cmdutil.ExitOK, nil
}
