// Package diagnose implements `deploy-action diagnose`: read a deploy's
// failure log, match it against the catalog of known failure lines, and
// report each cause in its phase, pointing at the repository line to change
// when a directory is given.
package diagnose

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	diag "github.com/grupo-gad/deploy-action/internal/diagnose"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Usage is the command's one-line synopsis.
const Usage = "diagnose [--format text|json|github] [FILE|-] [DIR]"

// Help is the command's help text.
const Help = `Usage: deploy-action ` + Usage + `

Explains a failed deploy from its log: flyctl's output, the build, the
release command, the machines' logs. Each known failure line is reported in
the phase where it surfaces (build, release, runtime, networking, secrets,
deploy), with its cause and fix, and with the file and line of DIR to change
when one applies (the Dockerfile's pip install for pg_config, fly.toml's
release_command for Alembic errors, the CMD for a server bound to 127.0.0.1,
the [[vm]] memory for an out-of-memory kill). Faults of Fly's platform are
named as such: retry. A log with no known failure line gets a "no known
signature" notice, never a guess.

FILE is the log ("-" or nothing reads standard input); DIR is the repository
(default: the current directory).

Flags:
  --format text|json|github  output format (default text); github writes
                             workflow-command annotations

Exit status: 0 no failure found, 1 a failure signature found, 2 bad usage or
internal failure.
`

// Options are the command's inputs.
type Options struct {
	IO cmdutil.IO
	// File is the log's path, or "-" for standard input.
	File string
	// Dir is the repository the log comes from.
	Dir string
	// Format is text, json or github.
	Format string
}

// NewOptions parses args into Options.
func NewOptions(io cmdutil.IO, args []string) (*Options, error) {
	opts := &Options{IO: io, File: "-", Dir: "."}
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
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
	case 1:
		opts.File = pos[0]
	case 2:
		opts.File, opts.Dir = pos[0], pos[1]
	default:
		return nil, cmdutil.Usagef("diagnose takes a log file and a directory, got %d arguments: %s", len(pos), strings.Join(pos, " "))
	}
	return opts, nil
}

// Run runs the command and returns the process exit code.
func Run(opts *Options) (int, error) {
	if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
		return cmdutil.ExitUsage, cmdutil.Usagef("%s is not a directory", opts.Dir)
	}
	var in io.Reader = opts.IO.In
	logName := ""
	if opts.File != "-" {
		st, err := os.Stat(opts.File)
		switch {
		case err != nil:
			return cmdutil.ExitUsage, cmdutil.Usagef("cannot read the log %s: %v", opts.File, err)
		case st.IsDir():
			return cmdutil.ExitUsage, cmdutil.Usagef("%s is a directory: give the log file first (`diagnose FILE DIR`, or `-` for standard input)", opts.File)
		}
		f, err := os.Open(opts.File)
		if err != nil {
			return cmdutil.ExitUsage, cmdutil.Usagef("cannot read the log %s: %v", opts.File, err)
		}
		defer f.Close()
		in = f
		logName = logPath(opts.File, opts.Dir)
	}
	if in == nil {
		in = strings.NewReader("")
	}
	p, err := project.Load(opts.Dir, project.Options{})
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	res, err := diag.New(diag.Options{Project: p, LogName: logName}).Reader(in)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	rep := report.New("diagnose")
	diag.AddTo(rep, res.Findings, report.Deploy, logName, res.Lines)
	rep.Finish()
	src := sources{p: p, logName: logName}
	if opts.File != "-" && opts.Format == "text" {
		src.log = logLines(opts.File, res.Findings)
	}
	if err := cmdutil.WriteReport(opts.IO.Out, rep, cmdutil.WriteOptions{
		Format: opts.Format, Sources: src, PathPrefix: pathPrefix(opts.Dir),
	}); err != nil {
		return cmdutil.ExitUsage, fmt.Errorf("write report: %w", err)
	}
	return cmdutil.ExitCode(rep), nil
}

// pathPrefix returns dir relative to the current directory, for the github
// format's paths ("" when it cannot be told).
func pathPrefix(dir string) string {
	wd, err1 := os.Getwd()
	ad, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return ""
	}
	rel, err := filepath.Rel(wd, ad)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

// logPath returns the log's path relative to dir (the report's paths are
// relative to the repository), or as given when that fails.
func logPath(file, dir string) string {
	af, err1 := filepath.Abs(file)
	ad, err2 := filepath.Abs(dir)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(ad, af); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(file)
}

// sources gives the text renderer the lines findings point at: repository
// files through the project, the log's lines from a map read after the
// diagnosis.
type sources struct {
	p       *project.Project
	logName string
	log     map[int]string
}

// Line returns line n of file: a log line from the map, a repository line
// through the project.
func (s sources) Line(file string, n int) (string, bool) {
	if file == s.logName && s.logName != "" {
		l, ok := s.log[n]
		return l, ok
	}
	return s.p.Line(file, n)
}

// logLines reads, in one pass, the log lines that findings point at.
func logLines(file string, fs []diag.Finding) map[int]string {
	want := map[int]bool{}
	for _, f := range fs {
		if f.LogLine > 0 {
			want[f.LogLine] = true
		}
	}
	out := map[int]string{}
	if len(want) == 0 {
		return out
	}
	last := 0
	for n := range want {
		last = max(last, n)
	}
	f, err := os.Open(file)
	if err != nil {
		return out
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for n := 1; n <= last; n++ {
		line, err := r.ReadString('\n')
		if want[n] {
			out[n] = diag.QuoteLine(line)
		}
		if err != nil {
			break
		}
	}
	return out
}
