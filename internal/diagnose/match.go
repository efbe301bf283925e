package diagnose

import (
	"bytes"
	"slices"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Match is one log line that a signature matched, handed to the
// signature's Refine and Point functions.
type Match struct {
	// Sig is the signature matched (Switch changes it).
	Sig *Signature
	// Line is the 1-based line number in the log.
	Line int
	// Text is the line, without its line ending and terminal colour codes.
	Text string
	// Quote is the text that identifies the failure (the pattern's match,
	// or the literal found); it is quoted in the message once redacted.
	Quote string
	// Vars are the named groups of the pattern plus what Refine sets.
	Vars map[string]string
	// Phase and Root are the phase and root phase of the finding,
	// computed from the signature and the log's context.
	Phase, Root report.PhaseName
	// Severity overrides the signature's severity when set.
	Severity report.Severity
	// Cause and Fix override the signature's when set (templates too).
	Cause, Fix string
	// Context is the phase the log's markers say the line is in ("" when
	// unknown).
	Context report.PhaseName
	// Migration is the text of a migration that was started before this
	// line and not seen finishing, and MigrationLine its log line (0 when
	// none).
	Migration     string
	MigrationLine int

	cat    *Catalog
	buf    []byte // the scan window holding the line
	ls, le int    // the line's bounds in buf
	inMig  bool   // the phase was moved to release because of Migration
}

// Get returns the variable name ("" when unset).
func (m *Match) Get(name string) string { return m.Vars[name] }

// Set sets the variable name.
func (m *Match) Set(name, value string) {
	if m.Vars == nil {
		m.Vars = map[string]string{}
	}
	m.Vars[name] = value
}

// Switch makes the match one of another (usually derived) signature and
// recomputes its phase. It panics on an unknown id: the catalog is static
// and its test checks every switch target.
func (m *Match) Switch(id string) {
	s := m.cat.Lookup(id)
	if s == nil {
		panic("diagnose: switch to unknown signature " + id)
	}
	m.Sig = s
	m.setPhase()
}

// setPhase computes Phase and Root from the signature and the context.
func (m *Match) setPhase() {
	s := m.Sig
	m.Phase, m.Root, m.inMig = s.Phase, s.RootPhase, false
	if m.Context != "" && m.Context != s.Phase && slices.Contains(s.ContextPhases, m.Context) {
		m.Phase = m.Context
	}
	if s.MigrationAware && m.MigrationLine > 0 {
		m.Phase, m.Root, m.inMig = report.Release, "", true
	}
	if m.Root == m.Phase {
		m.Root = ""
	}
}

// Before returns up to n lines before the matched one, oldest first, as far
// as the scan window reaches.
func (m *Match) Before(n int) []string {
	var out []string
	end := m.ls
	for len(out) < n && end > 0 {
		// buf[end-1] is the '\n' ending the previous line.
		start := bytes.LastIndexByte(m.buf[:end-1], '\n') + 1
		out = append(out, cleanLine(m.buf[start:end-1]))
		end = start
	}
	slices.Reverse(out)
	return out
}

// After returns up to n lines after the matched one, as far as the scan
// window reaches.
func (m *Match) After(n int) []string {
	var out []string
	start := m.le + 1
	for len(out) < n && start < len(m.buf) {
		end := bytes.IndexByte(m.buf[start:], '\n')
		if end < 0 {
			end = len(m.buf)
		} else {
			end += start
		}
		out = append(out, cleanLine(m.buf[start:end]))
		start = end + 1
	}
	return out
}

// cleanLine returns a log line without its carriage return and terminal
// colour codes.
func cleanLine(b []byte) string {
	b = bytes.TrimSuffix(b, []byte{'\r'})
	if bytes.IndexByte(b, 0x1b) < 0 {
		return string(b)
	}
	return ansi.ReplaceAllString(string(b), "")
}

var ansi = lazyre.New(`\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07`)

// expand replaces {$name} and {$name|fallback} in tmpl with the variables.
// (The "$" keeps literal braces, like a TOML inline table or a GitHub
// expression in a fix, as they are.)
func expand(tmpl string, vars map[string]string) string {
	if !strings.Contains(tmpl, "{$") {
		return tmpl
	}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "{$")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		name, fallback, _ := strings.Cut(tmpl[i+2:i+j], "|")
		if v := vars[name]; v != "" {
			b.WriteString(v)
		} else {
			b.WriteString(fallback)
		}
		tmpl = tmpl[i+j+1:]
	}
}
