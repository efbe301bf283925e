// Package diagnose explains a failed deploy from its log. It holds a catalog
// of signatures taken from real failure output (flyctl, BuildKit, pip,
// Alembic, uvicorn, gunicorn, Django, SQLAlchemy, the Fly proxy and init),
// each with the phase where it surfaces, its cause, its fix and, when a
// repository is given, a pointer to the file and line that causes it: the
// Dockerfile's pip install for `pg_config executable not found`, fly.toml's
// release_command for Alembic errors, the CMD for a server bound to
// 127.0.0.1, the [[vm]] memory for an OOM kill, the settings line that reads
// a missing environment variable.
//
// The scan reads the log once. An Aho-Corasick automaton over every
// signature's literal text finds the few lines worth a look; only those are
// matched against the signatures' regular expressions, so the cost of a clean
// line is a table walk over its bytes.
//
// A log that matches nothing gets a "no known signature" notice (see AddTo),
// never a guess.
package diagnose

import (
	"fmt"
	"io"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// RuleNoSignature is the rule id of the notice AddTo writes for a log that
// matches no signature.
const RuleNoSignature = "log-no-known-signature"

// Finding is one diagnosis: a report.Finding plus the phase it belongs to
// and where in the log it was read.
//
// Location is the repository pointer when one applies (a path relative to
// the project directory), else the log file and line (Options.LogName). The
// message always carries the log line number.
type Finding struct {
	report.Finding
	// Phase is the phase where the failure surfaces.
	Phase report.PhaseName `json:"phase"`
	// RootPhase is the phase where the cause lies, when it is not Phase
	// (a secret read during the build, a library missing from the image
	// that crashes the app at run time); "" otherwise.
	RootPhase report.PhaseName `json:"root_phase,omitempty"`
	// LogLine is the 1-based line of the log where it was first seen.
	LogLine int `json:"log_line"`
	// Count is how many lines of the log gave the same diagnosis.
	Count int `json:"count"`
	// Platform marks a fault of Fly's platform, not of the app: retrying
	// is the fix.
	Platform bool `json:"platform,omitempty"`
	// Symptom marks a generic failure line (a health-check timeout, a
	// release command's exit status) whose cause is printed elsewhere.
	Symptom bool `json:"symptom,omitempty"`
}

// Options say what a Diagnoser knows besides the log.
type Options struct {
	// Project is the repository the log comes from; nil means no
	// repository pointers.
	Project *project.Project
	// LogName is the log's path relative to the project directory (or as
	// the user gave it), used as the Location of findings that have no
	// repository pointer. Empty leaves those findings without a file.
	LogName string
	// Phase is the phase the log comes from when the caller knows it (the
	// deploy engine reading the release command's output passes
	// report.Release); "" lets the scan infer it from the log's own
	// markers. It decides the phase of failures that can surface in
	// several phases, such as a missing environment variable.
	Phase report.PhaseName
	// Catalog is the catalog to use; nil means Default().
	Catalog *Catalog
}

// Diagnoser matches logs against a catalog. It is safe for concurrent use.
type Diagnoser struct {
	opt Options
	cat *Catalog
}

// New returns a Diagnoser with the given options.
func New(opt Options) *Diagnoser {
	cat := opt.Catalog
	if cat == nil {
		cat = Default()
	}
	return &Diagnoser{opt: opt, cat: cat}
}

// Catalog returns the catalog the Diagnoser uses.
func (d *Diagnoser) Catalog() *Catalog { return d.cat }

// Result is the outcome of diagnosing a whole log.
type Result struct {
	// Findings are the diagnoses in the order of their first log line.
	Findings []Finding
	// Lines is the number of lines read.
	Lines int
	// Bytes is the number of bytes read.
	Bytes int64
}

// Lines diagnoses a log given as lines (without line endings) and returns
// the findings in log order, or nil when no signature matches.
func (d *Diagnoser) Lines(lines []string) []Finding {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	buf := make([]byte, 0, n)
	for _, l := range lines {
		buf = append(buf, l...)
		buf = append(buf, '\n')
	}
	return d.Bytes(buf).Findings
}

// Bytes diagnoses a log held in memory.
func (d *Diagnoser) Bytes(data []byte) Result {
	s := d.newScan()
	s.region(data, 0, len(data))
	return s.finish(int64(len(data)), len(data) > 0 && data[len(data)-1] != '\n')
}

// Reader diagnoses a log read from r, holding only a window of it in
// memory (4 MiB and 64 KiB around it), so it suits logs of any size. A line
// longer than the window is matched in pieces.
func (d *Diagnoser) Reader(r io.Reader) (Result, error) {
	return d.stream(r, chunkSize)
}

// Lines diagnoses lines with the default catalog, inferring the phase from
// the log itself. p may be nil.
func Lines(lines []string, p *project.Project) []Finding {
	return New(Options{Project: p}).Lines(lines)
}

// Reader diagnoses the log read from r with the default catalog. p may be
// nil.
func Reader(r io.Reader, p *project.Project) ([]Finding, error) {
	res, err := New(Options{Project: p}).Reader(r)
	return res.Findings, err
}

// Phases returns the phases the findings touch, in the order of
// report.StaticPhases followed by deploy and verify.
func Phases(fs []Finding) []report.PhaseName {
	seen := map[report.PhaseName]bool{}
	for _, f := range fs {
		seen[f.Phase] = true
	}
	var out []report.PhaseName
	for _, ph := range append(append([]report.PhaseName{}, report.StaticPhases...), report.Deploy, report.Verify) {
		if seen[ph] {
			out = append(out, ph)
		}
	}
	return out
}

// AddTo adds each finding to its phase of rep (the phases created in the
// order of Phases). When fs is empty it adds the
// "no known signature" notice to the phase fallback (report.Deploy when
// empty), so that a report always says a log was read and what came of it.
// lines is the number of log lines read, for that notice.
func AddTo(rep *report.Report, fs []Finding, fallback report.PhaseName, logName string, lines int) {
	if len(fs) == 0 {
		if fallback == "" {
			fallback = report.Deploy
		}
		rep.Add(fallback, NoSignature(logName, lines))
		return
	}
	for _, ph := range Phases(fs) {
		rep.Phase(ph)
	}
	for _, f := range fs {
		rep.Add(f.Phase, f.Finding)
	}
}

// NoSignature returns the notice for a log of the given number of lines
// that matches no signature of the catalog.
func NoSignature(logName string, lines int) report.Finding {
	what := "the log"
	if logName != "" {
		what = logName
	}
	return report.Finding{
		Rule:     RuleNoSignature,
		Severity: report.Notice,
		Location: report.Location{File: logName},
		Title:    "no known signature",
		Message: fmt.Sprintf("No known signature: none of the failure lines in the catalog appears in %s (%d %s), so no cause is inferred from it.",
			what, lines, plural(lines, "line")),
		Fix: "Read the last lines before the failure; for the machines' own output run `fly logs -a <app>`, and for the release command `fly releases -a <app>` then the release machine's logs.",
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// Exit is how a machine's process ended, as the Machines API's exit event
// tells it.
type Exit struct {
	// Code is the exit code of the process.
	Code int
	// OOMKilled reports that the kernel killed the process for lack of
	// memory.
	OOMKilled bool
	// Signal is the signal that ended the process, 0 if none.
	Signal int
	// Machine is the machine's id, for the message.
	Machine string
	// Phase is where the exit happened: report.Release for the release
	// command's machine, report.Runtime (the default) for an app machine.
	Phase report.PhaseName
}

// Exit diagnoses a machine's exit event: an OOM kill points at the [[vm]]
// memory, exit code 127 at the command that was not found, any other
// non-zero exit is reported as a symptom. A clean exit (code 0, no signal,
// no OOM) gives nil.
func (d *Diagnoser) Exit(x Exit) []Finding {
	phase := x.Phase
	if phase == "" {
		phase = report.Runtime
	}
	machine := x.Machine
	if machine == "" {
		machine = "the machine"
	} else {
		machine = "machine " + machine
	}
	var id, quote string
	vars := map[string]string{"machine": x.Machine, "code": fmt.Sprint(x.Code)}
	switch {
	case x.OOMKilled:
		id, quote = "log-oom-killed", fmt.Sprintf("exit event of %s: oom_killed=true", machine)
		vars["proc"] = "the main process"
	case x.Code == 127:
		id, quote = "log-command-not-found", fmt.Sprintf("exit event of %s: exit code 127", machine)
	case x.Code != 0 || x.Signal != 0:
		id, quote = "log-process-exited", fmt.Sprintf("exit event of %s: exit code %d", machine, x.Code)
		if x.Signal != 0 {
			quote += fmt.Sprintf(", signal %d", x.Signal)
			vars["signal"] = fmt.Sprint(x.Signal)
		}
	default:
		return nil
	}
	m := &Match{Sig: d.cat.Lookup(id), cat: d.cat, Quote: quote, Vars: vars, Context: phase}
	m.setPhase()
	m.Phase, m.Root = phase, ""
	s := d.newScan()
	s.add(d.build(m))
	return s.finish(0, false).Findings
}
