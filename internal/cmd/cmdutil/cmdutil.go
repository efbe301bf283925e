// Package cmdutil holds what every deploy-action command shares: its I/O
// streams, exit codes, flag parsing that allows flags after arguments, and
// report output in the three formats.
package cmdutil

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/output/text"
	"github.com/grupo-gad/deploy-action/internal/output/workflowcmd"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Exit codes shared by every command.
const (
	// ExitOK: the command succeeded and found no error.
	ExitOK = 0
	// ExitFindings: the command ran and found at least one error.
	ExitFindings = 1
	// ExitUsage: bad usage or an internal failure (message on stderr).
	ExitUsage = 2
)

// IO is the set of streams a command reads and writes.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// System returns the process's standard streams.
func System() IO { return IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// UsageError is bad usage: the command prints it with the usage and exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Parse parses args with fs, allowing flags after positional arguments
// (`validate DIR --format json`), and returns the positional arguments. A
// lone "--" ends flag parsing.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, Usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// Formats are the report formats every command accepts.
var Formats = []string{"text", "json", "github"}

// CheckFormat returns a usage error when format is not one of Formats.
func CheckFormat(format string) error {
	for _, f := range Formats {
		if f == format {
			return nil
		}
	}
	return Usagef("unknown --format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// WriteOptions say how WriteReport renders.
type WriteOptions struct {
	Format string
	// Sources gives source lines for the text format.
	Sources text.Sources
	// PathPrefix is the validated directory relative to the repository root,
	// for the github format's file paths.
	PathPrefix string
}

// WriteReport renders r to w in the given format.
func WriteReport(w io.Writer, r *report.Report, opt WriteOptions) error {
	switch opt.Format {
	case "json":
		return r.WriteJSON(w)
	case "github":
		_, err := workflowcmd.Render(w, r, workflowcmd.Options{PathPrefix: opt.PathPrefix})
		return err
	default:
		return text.Render(w, r, text.Options{Sources: opt.Sources, Color: text.ColorFor(w)})
	}
}

// ExitCode maps a finished report to the process exit code.
func ExitCode(r *report.Report) int {
	if r.HasErrors() {
		return ExitFindings
	}
	return ExitOK
}

// DirFlags adds the flags every repository command shares to fs — --config
// (fly.toml's path) and --format — parses args, and returns the one
// optional directory argument ("." when none is given). name is the
// command's name, for the usage error.
func DirFlags(name string, fs *flag.FlagSet, args []string, config, format *string) (string, error) {
	fs.StringVar(config, "config", "", "path of fly.toml (default DIR/fly.toml)")
	fs.StringVar(format, "format", "text", "output format: text, json or github")
	pos, err := Parse(fs, args)
	if err != nil {
		return "", err
	}
	if err := CheckFormat(*format); err != nil {
		return "", err
	}
	switch len(pos) {
	case 0:
		return ".", nil
	case 1:
		return pos[0], nil
	}
	return "", Usagef("%s takes one directory, got %d arguments: %s", name, len(pos), strings.Join(pos, " "))
}
