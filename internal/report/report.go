// Package report holds the model every stage of deploy-action produces and
// every output renders: a Report is a list of phases, each with a status, a
// duration and the findings raised in it.
//
// The JSON form of a Report is a public contract (version 1), read by the
// action's outputs, the bot and users' scripts. Fields are only ever added.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// Version is the version of the JSON contract written by this package.
const Version = 1

// Severity is how bad a finding is.
type Severity string

// The severities, from worst to mildest.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Notice  Severity = "notice"
)

// rank orders severities: lower is more severe.
func (s Severity) rank() int {
	switch s {
	case Error:
		return 0
	case Warning:
		return 1
	default:
		return 2
	}
}

// PhaseName names a phase of a deploy.
type PhaseName string

// The phases. The first five are always present in a validate report; Deploy
// and Verify are added when those stages run.
const (
	Build      PhaseName = "build"
	Release    PhaseName = "release"
	Runtime    PhaseName = "runtime"
	Networking PhaseName = "networking"
	Secrets    PhaseName = "secrets"
	Deploy     PhaseName = "deploy"
	Verify     PhaseName = "verify"
)

// StaticPhases are the phases every validate report carries, in order.
var StaticPhases = []PhaseName{Build, Release, Runtime, Networking, Secrets}

// Status is the outcome of one phase.
type Status string

// The phase statuses.
const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Warned  Status = "warning"
	Skipped Status = "skipped"
)

// Conclusion is the outcome of a whole report, named as GitHub names check
// run conclusions.
type Conclusion string

// The conclusions.
const (
	Success Conclusion = "success"
	Failure Conclusion = "failure"
	Neutral Conclusion = "neutral"
)

// Location is where a finding points: a file relative to the validated
// directory (forward slashes) and a 1-based line and column. A zero Line
// means the finding has no position in a file (for example a remote check).
type Location struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	EndLine int    `json:"end_line"`
}

// String formats the location as file:line:col, leaving out what is unknown.
func (l Location) String() string {
	switch {
	case l.File == "":
		return ""
	case l.Line == 0:
		return l.File
	case l.Column == 0:
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Column)
	}
}

// At returns a location at line and column of file; EndLine is set to line.
func At(file string, line, col int) Location {
	return Location{File: file, Line: line, Column: col, EndLine: line}
}

// Finding is one problem found, with where it is and how to fix it.
type Finding struct {
	// Rule is the id of the rule that raised the finding.
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Location
	// Title is a short headline (used as the annotation title).
	Title string `json:"title"`
	// Message says what is wrong, in a sentence or two.
	Message string `json:"message"`
	// Fix says what to do about it.
	Fix string `json:"fix"`
	// Redact marks a finding whose source line holds a secret: renderers
	// that quote source lines must mask it from Column on. It is not part of
	// the JSON contract.
	Redact bool `json:"-"`
}

// Phase is one phase of the report with its findings.
type Phase struct {
	Name       PhaseName `json:"name"`
	Status     Status    `json:"status"`
	DurationMS int64     `json:"duration_ms"`
	Findings   []Finding `json:"findings"`
	// Figures are the phase's measurements, by name (e.g. a verify phase's
	// "p95_ms", "samples", "cert_days_left"). Absent when there are none.
	Figures map[string]float64 `json:"figures,omitempty"`
}

// Report is the result of one command.
type Report struct {
	Version    int        `json:"version"`
	Command    string     `json:"command"`
	Conclusion Conclusion `json:"conclusion"`
	Phases     []*Phase   `json:"phases"`
}

// New returns a report for command with the given phases, all passed and
// empty.
func New(command string, phases ...PhaseName) *Report {
	r := &Report{Version: Version, Command: command, Conclusion: Success}
	for _, name := range phases {
		r.Phases = append(r.Phases, &Phase{Name: name, Status: Passed, Findings: []Finding{}})
	}
	return r
}

// Phase returns the phase named name, adding it at the end when the report
// does not have it yet.
func (r *Report) Phase(name PhaseName) *Phase {
	for _, p := range r.Phases {
		if p.Name == name {
			return p
		}
	}
	p := &Phase{Name: name, Status: Passed, Findings: []Finding{}}
	r.Phases = append(r.Phases, p)
	return p
}

// Add appends findings to the phase named name.
func (r *Report) Add(name PhaseName, fs ...Finding) {
	p := r.Phase(name)
	p.Findings = append(p.Findings, fs...)
}

// SetDuration records how long the phase named name took.
func (r *Report) SetDuration(name PhaseName, d time.Duration) {
	r.Phase(name).DurationMS = d.Milliseconds()
}

// Finish sorts each phase's findings (by file, line, column, rule), derives
// each phase's status from its findings (a skipped phase with no findings
// stays skipped), and sets the report's conclusion: failure when any error
// finding or failed phase exists, neutral when warnings exist, else success.
func (r *Report) Finish() {
	r.Conclusion = Success
	for _, p := range r.Phases {
		sortFindings(p.Findings)
		if p.Findings == nil {
			p.Findings = []Finding{}
		}
		worst := Notice
		hasWarnOrErr := false
		for _, f := range p.Findings {
			if f.Severity.rank() < worst.rank() {
				worst = f.Severity
			}
			if f.Severity != Notice {
				hasWarnOrErr = true
			}
		}
		switch {
		case worst == Error:
			p.Status = Failed
		case worst == Warning && p.Status != Failed:
			p.Status = Warned
		case p.Status == Skipped && !hasWarnOrErr:
			// stays skipped
		case p.Status == "":
			p.Status = Passed
		}
		switch p.Status {
		case Failed:
			r.Conclusion = Failure
		case Warned:
			if r.Conclusion == Success {
				r.Conclusion = Neutral
			}
		}
	}
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Rule < b.Rule
	})
}

// Counts returns how many findings of each severity the report holds.
func (r *Report) Counts() map[Severity]int {
	c := map[Severity]int{Error: 0, Warning: 0, Notice: 0}
	for _, p := range r.Phases {
		for _, f := range p.Findings {
			c[f.Severity]++
		}
	}
	return c
}

// Findings returns every finding of the report, phase by phase.
func (r *Report) Findings() []Finding {
	var all []Finding
	for _, p := range r.Phases {
		all = append(all, p.Findings...)
	}
	return all
}

// HasErrors reports whether any finding is an error.
func (r *Report) HasErrors() bool { return r.Counts()[Error] > 0 }

// WriteJSON writes the report as indented JSON followed by a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report as JSON: %w", err)
	}
	return nil
}

// ReadJSON decodes a report written by WriteJSON.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("read report JSON: %w", err)
	}
	if r.Version != Version {
		return nil, fmt.Errorf("read report JSON: version %d, want %d", r.Version, Version)
	}
	return &r, nil
}
