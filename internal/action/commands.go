package action

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/cmd/validate"
	"github.com/grupo-gad/deploy-action/internal/output/text"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Request is what a command gets in GitHub mode.
type Request struct {
	// Inputs are the action's inputs.
	Inputs Inputs
	// Dir is the absolute working directory.
	Dir string
	// Config is the fly.toml to use, absolute ("" for Dir/fly.toml).
	Config string
	// Log is the job log.
	Log io.Writer
	// Progress, when a command calls it after each phase it finishes with
	// the report so far, updates the check run's phase table. It may be
	// called from one goroutine at a time only.
	Progress func(*report.Report)
}

// Result is what a command returns: its Report and, for the deploy
// commands, the figures set as step outputs.
type Result struct {
	// Report is the command's finished report.
	Report *report.Report
	// Sources gives source lines for the log's rendering (may be nil).
	Sources text.Sources
	// URL is the app's public URL, Release the Fly release (version or
	// id) and Image the image deployed; "" when the command has none.
	URL, Release, Image string
}

// Command runs one deploy-action command in GitHub mode. A Go error means the
// command could not run (I/O, an API down); what it found goes in the
// report.
type Command func(ctx context.Context, req *Request) (*Result, error)

// Commands are the commands this version can run in GitHub mode. The other
// names of CommandNames are accepted by the `command` input and refused
// with ErrNotAvailable until their packages are wired in here.
var Commands = map[string]Command{
	"validate": Validate,
}

// NotAvailableError is returned for a command action.yml documents that this
// build does not include.
type NotAvailableError struct {
	Command   string
	Available []string
}

func (e *NotAvailableError) Error() string {
	return fmt.Sprintf("command %s is not available in this version of deploy-action (available: %s); use a release that has it, or command: validate",
		e.Command, strings.Join(e.Available, ", "))
}

// lookup returns the command named name from cmds.
func lookup(cmds map[string]Command, name string) (Command, error) {
	if c, ok := cmds[name]; ok {
		return c, nil
	}
	var names []string
	for n := range cmds {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return slices.Index(CommandNames, names[i]) < slices.Index(CommandNames, names[j])
	})
	return nil, &NotAvailableError{Command: name, Available: names}
}

// Validate runs `deploy-action validate` on the working directory. Its five
// phases are computed together in a few milliseconds, so it reports no
// progress: the check run goes from in_progress to completed.
func Validate(ctx context.Context, req *Request) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep, p, err := validate.Check(req.Dir, req.Config)
	if err != nil {
		return nil, fmt.Errorf("validate %s: %w", req.Dir, err)
	}
	return &Result{Report: rep, Sources: p}, nil
}
