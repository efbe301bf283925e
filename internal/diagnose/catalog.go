package diagnose

import (
	"fmt"
	"regexp"
	"slices"
	"sync"

	"github.com/coregx/ahocorasick"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Signature is one entry of the catalog: a failure line as real tools print
// it, and what it means.
type Signature struct {
	// ID names the signature in findings (their Rule), e.g. "log-pg-config".
	ID string
	// Phase is where the failure surfaces.
	Phase report.PhaseName
	// RootPhase is where its cause usually lies, when that is not Phase.
	RootPhase report.PhaseName
	// ContextPhases are the log contexts that take precedence over Phase:
	// a missing environment variable is a secrets failure, but when it
	// stops a build step (the log is in its build context) it is a build
	// failure (whose root, RootPhase, is secrets). A RootPhase equal to the
	// phase finally chosen is dropped.
	ContextPhases []report.PhaseName
	// Severity is the finding's severity.
	Severity report.Severity
	// Literals is the distinctive text of the line, as printed: a line is
	// looked at only when it contains one of them. Derived signatures (see
	// Derived) have none.
	Literals []string
	// Patterns, when given, must match the line (the first that matches
	// counts); their named groups become variables for Title, Cause and Fix
	// ("{$name}" is replaced by the group's text, "{$name|other}" falls back
	// to "other" when the group is empty).
	Patterns []*regexp.Regexp
	// Title is the finding's short headline.
	Title string
	// Cause says what went wrong, as a fact read from the line, or as a
	// likelihood when the line cannot tell.
	Cause string
	// Fix says what to do.
	Fix string
	// Quote, when set, is quoted instead of the text the pattern matched
	// (for lines that may carry a secret value).
	Quote string
	// Platform marks a fault of Fly's platform: the fix is to retry.
	Platform bool
	// Symptom marks a generic failure line whose cause is printed
	// elsewhere in the log.
	Symptom bool
	// MigrationAware marks symptoms that, when a migration was started in
	// the log and never finished, belong to the release phase.
	MigrationAware bool
	// Derived marks a signature reached only when another one's Refine
	// switches to it.
	Derived bool
	// Key is the variable that tells two findings of this signature apart
	// ("" means all its lines are one finding, counted).
	Key string
	// Follow is how many following lines Refine may read with Match.After.
	Follow int
	// Refine, when set, looks at the match (and the lines around it) and
	// may set variables, switch to another signature, or reject the match
	// by returning false.
	Refine func(m *Match) bool
	// Point, when set, finds the place in the repository the finding is
	// about. p is never nil.
	Point func(p *project.Project, m *Match) Pointer
}

// Pointer is a place in the repository a finding points at, with a note
// that says what is there.
type Pointer struct {
	Loc  report.Location
	Note string
}

// Marker is text that tells which phase the following log lines come from
// (BuildKit step headers, flyctl's "Running release command"), or that a
// migration started or finished.
type Marker struct {
	// Literal is the text, as printed.
	Literal string
	// Phase is the phase the lines after it belong to; "" leaves it.
	Phase report.PhaseName
	// Migration is +1 for text that starts a migration, -1 for text that
	// shows the app got past its migrations (a migration finished, the
	// server started).
	Migration int
}

// Catalog is a compiled set of signatures and markers.
type Catalog struct {
	sigs    []*Signature
	byID    map[string]*Signature
	markers []Marker
	ac      *ahocorasick.Automaton
	// owners[i] lists what literal i of the automaton belongs to:
	// signature indexes (>= 0) and marker indexes (encoded as -1-index).
	owners [][]int
	maxLit int // length of the longest literal
}

// NewCatalog compiles signatures and markers. It fails on a duplicate id, a
// signature without a phase, severity, title, cause or fix, a non-derived
// signature without literals, or a literal that is empty.
func NewCatalog(sigs []*Signature, markers []Marker) (*Catalog, error) {
	c := &Catalog{byID: map[string]*Signature{}, markers: markers}
	index := map[string]int{}
	var lits []string
	addLit := func(lit string, owner int) error {
		if lit == "" {
			return fmt.Errorf("empty literal")
		}
		i, ok := index[lit]
		if !ok {
			i = len(lits)
			index[lit] = i
			lits = append(lits, lit)
			c.owners = append(c.owners, nil)
			c.maxLit = max(c.maxLit, len(lit))
		}
		if !slices.Contains(c.owners[i], owner) {
			c.owners[i] = append(c.owners[i], owner)
		}
		return nil
	}
	for i, s := range sigs {
		if s.ID == "" {
			return nil, fmt.Errorf("signature %d has no id", i)
		}
		if _, dup := c.byID[s.ID]; dup {
			return nil, fmt.Errorf("duplicate signature id %s", s.ID)
		}
		switch {
		case s.Phase == "":
			return nil, fmt.Errorf("signature %s has no phase", s.ID)
		case s.Severity == "":
			return nil, fmt.Errorf("signature %s has no severity", s.ID)
		case s.Title == "" || s.Cause == "" || s.Fix == "":
			return nil, fmt.Errorf("signature %s lacks a title, cause or fix", s.ID)
		case !s.Derived && len(s.Literals) == 0:
			return nil, fmt.Errorf("signature %s has no literal text", s.ID)
		}
		c.sigs = append(c.sigs, s)
		c.byID[s.ID] = s
		for _, l := range s.Literals {
			if err := addLit(l, i); err != nil {
				return nil, fmt.Errorf("signature %s: %w", s.ID, err)
			}
		}
	}
	for i, m := range markers {
		if err := addLit(m.Literal, -1-i); err != nil {
			return nil, fmt.Errorf("marker %d: %w", i, err)
		}
	}
	if len(lits) == 0 {
		return nil, fmt.Errorf("catalog has no literal text")
	}
	ac, err := ahocorasick.NewBuilder().AddStrings(lits).Build()
	if err != nil {
		return nil, fmt.Errorf("build literal matcher: %w", err)
	}
	c.ac = ac
	return c, nil
}

// Signatures returns the catalog's signatures in order.
func (c *Catalog) Signatures() []*Signature { return slices.Clone(c.sigs) }

// Lookup returns the signature with the given id, or nil.
func (c *Catalog) Lookup(id string) *Signature { return c.byID[id] }

var defaultCatalog = sync.OnceValue(func() *Catalog {
	var sigs []*Signature
	for _, group := range [][]*Signature{buildSigs(), configSigs(), releaseSigs(), runtimeSigs(), networkingSigs(), secretsSigs(), platformSigs(), lookalikeSigs()} {
		sigs = append(sigs, group...)
	}
	c, err := NewCatalog(sigs, markers)
	if err != nil {
		panic("diagnose: default catalog: " + err.Error())
	}
	return c
})

// Default returns the built-in catalog.
func Default() *Catalog { return defaultCatalog() }

// re compiles a pattern of the built-in catalog.
func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// res compiles several patterns.
func res(ss ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(ss))
	for i, s := range ss {
		out[i] = re(s)
	}
	return out
}
