// Package validate implements `deploy-action validate`: load a repository,
// run every rule, and render the report.
package validate

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/flyenv"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/remote"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/rules"
)

// Usage is the command's one-line synopsis.
const Usage = "validate [--format text|json|github] [--config PATH_TO_FLY_TOML] [DIR]"

// Options are the command's inputs.
type Options struct {
	IO cmdutil.IO
	// Dir is the repository to validate ("." by default).
	Dir string
	// Config is the path of fly.toml ("" for DIR/fly.toml).
	Config string
	// Format is text, json or github.
	Format string
	// Remote, when set, also checks the repository against its Fly app:
	// the app exists and holds the secrets the repository needs (names
	// only). NewOptions sets it when FLY_API_TOKEN or FLY_ACCESS_TOKEN is
	// set; without a token validate sends nothing over the network.
	Remote *remote.Checker
}

// NewOptions parses args into Options.
func NewOptions(io cmdutil.IO, args []string) (*Options, error) {
	opts := &Options{IO: io}
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	dir, err := cmdutil.DirFlags("validate", fs, args, &opts.Config, &opts.Format)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	if opts.Remote, err = flyenv.Remote(context.Background()); err != nil {
		return nil, err
	}
	return opts, nil
}

// Help is the command's help text.
const Help = `Usage: deploy-action ` + Usage + `

Checks a repository before a Fly.io deploy: fly.toml, the Dockerfile it
builds, Python requirements, Alembic migrations, settings and committed files.
Every problem is reported at its file and line, with a fix.

Flags:
  --format text|json|github  output format (default text); github writes
                             workflow-command annotations
  --config PATH              fly.toml to use (default DIR/fly.toml)

With FLY_API_TOKEN (or FLY_ACCESS_TOKEN) set, it also checks in Fly that
the app (fly.toml's app) exists and holds the secrets the repository needs,
by name only; FLY_FLAPS_BASE_URL sets the Machines API base.

Exit status: 0 no error finding, 1 at least one error finding, 2 bad usage
or internal failure.
`

// Check loads the repository and runs every rule, returning the report and
// the loaded project (whose Line method gives source lines).
func Check(dir, config string) (*report.Report, *project.Project, error) {
	p, err := project.Load(dir, project.Options{Config: config})
	if err != nil {
		return nil, nil, err
	}
	rep := report.New("validate", report.StaticPhases...)
	rules.Run(p, rep, rules.All())
	rep.Finish()
	return rep, p, nil
}

// RemoteTimeout bounds the remote checks.
const RemoteTimeout = 30 * time.Second

// Run runs the command and returns the process exit code.
func Run(opts *Options) (int, error) {
	if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
		return cmdutil.ExitUsage, cmdutil.Usagef("%s is not a directory", opts.Dir)
	}
	if opts.Config != "" && !fileExists(opts.Config) && !fileExists(filepath.Join(opts.Dir, opts.Config)) {
		return cmdutil.ExitUsage, cmdutil.Usagef("--config %s: no such file (relative paths are tried from the current directory, then from %s)", opts.Config, opts.Dir)
	}
	rep, p, err := Check(opts.Dir, opts.Config)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	if opts.Remote != nil {
		ctx, cancel := context.WithTimeout(context.Background(), RemoteTimeout)
		opts.Remote.CheckOrWarn(ctx, p, rep)
		cancel()
		rep.Finish()
	}
	prefix, _ := filepath.Rel(".", opts.Dir)
	if err := cmdutil.WriteReport(opts.IO.Out, rep, cmdutil.WriteOptions{
		Format: opts.Format, Sources: p, PathPrefix: filepath.ToSlash(prefix),
	}); err != nil {
		return cmdutil.ExitUsage, fmt.Errorf("write report: %w", err)
	}
	return cmdutil.ExitCode(rep), nil
}

func fileExists(name string) bool {
	st, err := os.Stat(name)
	return err == nil && !st.IsDir()
}
