// Package rules is deploy-action's checklist: each rule looks at a loaded
// project and reports findings at the file and line that cause a deploy to
// fail. There is one file per rule, rule_<id>.go, holding the rule's id,
// phase, one-line doc and check; each rule has an ok and an err case under
// testdata/<id>/.
package rules

import (
	"fmt"
	"runtime/debug"
	"sort"
	"time"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Rule is one check of the checklist.
type Rule struct {
	// ID names the rule in findings, e.g. "runtime-bind-localhost".
	ID string
	// Phase is the deploy phase whose failure the rule predicts.
	Phase report.PhaseName
	// Severity is the severity of the rule's findings unless a check says
	// otherwise.
	Severity report.Severity
	// Doc is a one-line description of what the rule catches.
	Doc string
	// Why says, in a sentence, what happens on Fly when the problem ships.
	Why string
	// Sensitive marks a rule whose findings point at a secret's value: each
	// finding gets Redact, so no renderer quotes the line.
	Sensitive bool
	// Check returns the rule's findings for p. It must not modify p.
	Check func(r *Rule, p *project.Project) []report.Finding
}

// Finding returns a finding of r at loc with r's default severity.
func (r *Rule) Finding(loc report.Location, title, message, fix string) report.Finding {
	return report.Finding{Rule: r.ID, Severity: r.Severity, Location: loc, Title: title, Message: message, Fix: fix}
}

// FindingSev is Finding with an explicit severity.
func (r *Rule) FindingSev(sev report.Severity, loc report.Location, title, message, fix string) report.Finding {
	f := r.Finding(loc, title, message, fix)
	f.Severity = sev
	return f
}

var registry = map[string]*Rule{}

// register adds a rule to the checklist; each rule file calls it from init.
func register(r *Rule) *Rule {
	if _, dup := registry[r.ID]; dup {
		panic("rules: duplicate rule id " + r.ID)
	}
	if r.Severity == "" {
		r.Severity = report.Error
	}
	registry[r.ID] = r
	return r
}

// All returns every rule, ordered by phase (build, release, runtime,
// networking, secrets) then id.
func All() []*Rule {
	order := map[report.PhaseName]int{}
	for i, p := range report.StaticPhases {
		order[p] = i
	}
	out := make([]*Rule, 0, len(registry))
	for _, r := range registry {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if order[out[i].Phase] != order[out[j].Phase] {
			return order[out[i].Phase] < order[out[j].Phase]
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Lookup returns the rule with the given id, or nil.
func Lookup(id string) *Rule { return registry[id] }

// Run loads nothing: it runs rules over the loaded project p and adds, to
// rep, the project's load problems and the rules' findings, phase by phase,
// with each phase's duration (its loaders' time plus its rules' time). A
// phase with nothing to check is marked skipped. A rule that panics does not
// stop the others: its panic becomes an error finding naming the rule.
func Run(p *project.Project, rep *report.Report, rules []*Rule) {
	for _, prob := range p.Problems {
		rep.Add(prob.Phase, prob.Finding)
	}
	for _, phase := range report.StaticPhases {
		start := time.Now()
		for _, r := range rules {
			if r.Phase != phase {
				continue
			}
			rep.Add(phase, runOne(r, p)...)
		}
		ph := rep.Phase(phase)
		ph.DurationMS = (time.Since(start) + p.LoadTime[phase]).Milliseconds()
		if len(ph.Findings) == 0 && !p.HasInputsFor(phase) {
			ph.Status = report.Skipped
		}
	}
}

func runOne(r *Rule, p *project.Project) (fs []report.Finding) {
	defer func() {
		if v := recover(); v != nil {
			fs = []report.Finding{{
				Rule:     r.ID,
				Severity: report.Error,
				Title:    "internal error in rule " + r.ID,
				Message:  fmt.Sprintf("rule %s crashed on this repository (%v); its check did not run", r.ID, v),
				Fix:      "report this at https://github.com/grupo-gad/deploy-action/issues with the files named above; stack: " + firstFrames(debug.Stack()),
			}}
		}
	}()
	fs = r.Check(r, p)
	if r.Sensitive {
		for i := range fs {
			fs[i].Redact = true
		}
	}
	return fs
}

func firstFrames(stack []byte) string {
	const max = 600
	if len(stack) > max {
		stack = stack[:max]
	}
	return string(stack)
}
