// Package pydeps reads a Python project's dependency declarations —
// requirements*.txt (pip's format, with its options and -r/-c includes),
// pyproject.toml (PEP 621, PEP 735, Poetry, uv, PDM) and Pipfile — into one
// model where every requirement keeps the file, line and column it was
// written at.
//
// Parsing follows what pip, packaging and Poetry accept: a line pip would
// refuse becomes an error finding at its line and column that quotes what
// pip would say and how to fix it; everything that could be read is still
// returned. The parsers never panic and never return a Go error for content.
package pydeps

import (
	"fmt"
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// File kinds.
const (
	KindRequirements = "requirements" // a pip requirements file
	KindConstraints  = "constraints"  // a requirements file reached through -c
	KindPyproject    = "pyproject"    // pyproject.toml
	KindPipfile      = "pipfile"      // Pipfile
)

// Requirement sources.
const (
	SourceRequirements = "requirements"
	SourcePyproject    = "pyproject"
	SourcePipfile      = "pipfile"
)

// Rule ids of the findings raised while parsing.
const (
	RuleRequirementsSyntax  = "requirements-syntax"
	RuleRequirementsInclude = "requirements-include"
	RulePyprojectSyntax     = "pyproject-syntax"
	RulePipfileSyntax       = "pipfile-syntax"
)

// Requirement is one declared dependency.
type Requirement struct {
	// Name is the PEP 503-normalised project name (lower case, runs of
	// "-", "_" and "." replaced by one "-"). It is empty for an unnamed
	// requirement (a URL or path whose name pip only learns by building it).
	Name string
	// Display is the name as written.
	Display string
	// Raw is the requirement as written, without options and comments
	// (for TOML files: the string, or the key for a table entry).
	Raw string
	// Extras are the requested extras, normalised like names.
	Extras []string
	// Specifier is the version constraint as written: a PEP 440 specifier
	// set in requirements files, PEP 621 and Pipfile ("*" for any), a
	// Poetry constraint ("^1.2", "~1.2", "*") in Poetry tables. For a wheel
	// URL or path it is "==<version>" taken from the file name, as pip does.
	Specifier string
	// PEP440 is Specifier as a PEP 440 specifier set ("" allows any
	// version): Poetry's ^ and ~ are expanded, "*" is dropped. Poetry
	// alternatives ("||") are kept, joined by "||".
	PEP440 string
	// Marker is the environment marker as written (after ";"), or the
	// Poetry/Pipfile "markers" value.
	Marker string
	// URL is where the requirement comes from when it is not an index: a
	// "name @ url" URL, a bare URL (e.g. git+https://…#egg=name), a local
	// path as written, or a Poetry/Pipfile/uv git, path or url source.
	URL string
	// Editable is set for -e/--editable lines and editable table entries
	// (Poetry develop = true, Pipfile/uv editable = true).
	Editable bool
	// Hashes is set when the line carries --hash options.
	Hashes bool
	// Optional is set when the requirement is only installed with an
	// extra: PEP 621 optional-dependencies and Poetry optional = true.
	Optional bool
	// Constraint is set for lines of a constraints file (reached through
	// -c): they limit versions but do not install anything.
	Constraint bool
	// Group is "" for the main dependencies; otherwise the extra,
	// dependency group, Poetry group or Pipfile category name ("dev" for
	// dev-dependencies and [dev-packages]).
	Group string
	// Source is where it was declared: SourceRequirements,
	// SourcePyproject or SourcePipfile.
	Source string
	// Loc is where the requirement is written: its first line and column;
	// EndLine is the last line of a continued line or multi-line value.
	Loc report.Location
}

// HasExtra reports whether the requirement asks for the extra named name
// (compared after normalisation).
func (r Requirement) HasExtra(name string) bool {
	n := Normalize(name)
	for _, e := range r.Extras {
		if e == n {
			return true
		}
	}
	return false
}

// Allows reports whether version satisfies the requirement's PEP440
// specifier set. A requirement without a specifier allows every version.
// A pre-release is compared like any version (pip would also need --pre,
// or a pre-release in the specifier, to pick it).
func (r Requirement) Allows(version string) (bool, error) {
	return specAllows(r.PEP440, version, false)
}

// Include is a -r/--requirement or -c/--constraint line, or a file named by
// pyproject.toml's dynamic dependencies (setuptools, hatch).
type Include struct {
	// Path is the included file as written.
	Path string
	// Constraint is set for -c/--constraint.
	Constraint bool
	Loc        report.Location
}

// Option is one pip option written in a requirements file.
type Option struct {
	// Name is the option's long form, e.g. "--index-url".
	Name string
	// Value is the option's argument ("" for a flag). It may hold
	// credentials (index URLs): print it only through RedactURL.
	Value string
	Loc   report.Location
}

// Value is a setting read from a file, kept as written, with where it was
// written.
type Value struct {
	// Text is the value as written, e.g. ">=3.11", "^3.10", "3.11".
	Text string
	// Spec is Text as a PEP 440 specifier set, e.g. ">=3.10,<4.0" for
	// "^3.10" and "==3.11.*" for a Pipfile python_version of "3.11".
	Spec string
	Loc  report.Location
}

// IsSet reports whether the value was found in the file.
func (v Value) IsSet() bool { return v.Loc.Line > 0 || v.Text != "" }

// Allows reports whether version (e.g. "3.12" or "3.12.4") satisfies Spec.
// Pre-release versions are compared as releases, as pip does for
// requires-python.
func (v Value) Allows(version string) (bool, error) {
	return specAllows(v.Spec, version, true)
}

// File is one parsed dependency file.
type File struct {
	// Path is the file's path relative to the validated directory.
	Path string
	// Kind is KindRequirements, KindConstraints, KindPyproject or
	// KindPipfile.
	Kind string
	// Requirements are the declared dependencies in file order (for
	// TOML files: in the order of the tables that declare them).
	Requirements []Requirement
	// Includes are the -r/-c lines (or pyproject dynamic dependency files).
	Includes []Include
	// Options are every pip option line of a requirements file, in order.
	Options []Option
	// NoBinary and OnlyBinary are the normalised package names given to
	// --no-binary and --only-binary (":all:" and ":none:" kept as is).
	NoBinary, OnlyBinary []string
	// IndexURLs are -i/--index-url and --extra-index-url values, Pipfile
	// [[source]] urls, and uv/Poetry index urls, in file order. They may
	// hold credentials: print them only through RedactURL.
	IndexURLs []string
	// FindLinks are -f/--find-links values.
	FindLinks []string
	// RequiresPython is the Python version the project declares:
	// pyproject's requires-python (else Poetry's python dependency), or
	// Pipfile's [requires] python_full_version / python_version.
	RequiresPython Value
}

// Lookup returns the requirements named name (normalised before comparing),
// in file order.
func (f *File) Lookup(name string) []Requirement {
	n := Normalize(name)
	var out []Requirement
	for _, r := range f.Requirements {
		if r.Name == n {
			out = append(out, r)
		}
	}
	return out
}

// Normalize returns the PEP 503 normal form of a project (or extra) name:
// lower case, with every run of "-", "_" and "." replaced by one "-".
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteByte(c)
	}
	if sep && b.Len() > 0 {
		b.WriteByte('-')
	}
	return b.String()
}

// Parse parses data as the dependency file its name says: Pipfile,
// pyproject.toml (any *.toml), or else a requirements file.
func Parse(relPath string, data []byte) (*File, []report.Finding) {
	switch base := path.Base(relPath); {
	case strings.HasSuffix(base, "Pipfile"):
		return ParsePipfile(relPath, data)
	case strings.HasSuffix(base, ".toml"):
		return ParsePyproject(relPath, data)
	default:
		return ParseRequirements(relPath, data)
	}
}

// RedactURL replaces the password (or a lone token) in the user-info part
// of every URL in s with "****", so that a line can be quoted in a finding.
func RedactURL(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, "/?# \t\"'")
		if end < 0 {
			end = len(s)
		}
		host := s[:end]
		at := strings.LastIndexByte(host, '@')
		if at < 0 {
			continue
		}
		user := host[:at]
		if strings.HasPrefix(user, "${") && strings.HasSuffix(user, "}") && !strings.Contains(user, ":") {
			// An environment variable reference, not a secret.
			b.WriteString(host[:at+1])
		} else if c := strings.IndexByte(user, ':'); c >= 0 {
			b.WriteString(user[:c+1])
			b.WriteString("****@")
		} else if user == "git" || user == "hg" {
			b.WriteString(host[:at+1])
		} else {
			b.WriteString("****@")
		}
		s = s[at+1:]
	}
}

// finding builds an error finding.
func finding(rule string, sev report.Severity, loc report.Location, title, msg, fix string) report.Finding {
	return report.Finding{Rule: rule, Severity: sev, Location: loc, Title: title, Message: msg, Fix: fix}
}

// MaxFindings is the most findings a parser returns for one file; past
// it, one more finding says how many were left out. A file with that many
// problems is usually not the kind of file its name says.
const MaxFindings = 50

// limitFindings keeps the first MaxFindings findings of a file and
// summarises the rest in one finding of their worst severity.
func limitFindings(relPath string, fs []report.Finding) []report.Finding {
	if len(fs) <= MaxFindings {
		return fs
	}
	rest := fs[MaxFindings:]
	sev := report.Notice
	for _, f := range rest {
		if f.Severity == report.Error || f.Severity == report.Warning && sev == report.Notice {
			sev = f.Severity
		}
	}
	out := append(fs[:MaxFindings:MaxFindings], finding(rest[0].Rule, sev, report.Location{File: relPath},
		"More problems in this file",
		fmt.Sprintf("%d more problems were found in %s and are not listed; the first is at line %d: %s", len(rest), relPath, rest[0].Line, rest[0].Title),
		"Fix the problems listed above, or check that this file is what its name says."))
	return out
}
