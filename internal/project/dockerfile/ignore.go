package dockerfile

import (
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// RuleIgnoreSyntax is the rule id of the findings ParseIgnore raises for a
// .dockerignore pattern Docker cannot use.
const RuleIgnoreSyntax = "dockerignore-syntax"

// Ignore is a parsed .dockerignore.
type Ignore struct {
	// Path is the file's path relative to the validated directory.
	Path string
	// Patterns are the usable patterns in file order.
	Patterns []IgnorePattern
	// Findings report the patterns that were skipped because Docker
	// cannot use them.
	Findings []report.Finding

	matchers []*patternmatcher.PatternMatcher // one per pattern, exclusion mark removed
}

// IgnorePattern is one pattern line of a .dockerignore.
type IgnorePattern struct {
	// Pattern is the pattern as Docker normalises it (cleaned, leading "/"
	// removed), without the "!" of an exception.
	Pattern string
	// Exception is true for a "!" line, which re-includes what it matches.
	Exception bool
	// Line is the pattern's 1-based line.
	Line int
}

// ParseIgnore parses a .dockerignore with Docker's rules: a UTF-8 BOM is
// dropped, lines starting with "#" are comments, blanks around a pattern
// are trimmed, patterns are cleaned and a leading "/" removed. A nil
// *Ignore (no file) excludes nothing.
func ParseIgnore(relPath string, data []byte) *Ignore {
	ig := &Ignore{Path: relPath}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	for i, raw := range strings.Split(string(data), "\n") {
		line := i + 1
		text := strings.TrimRight(raw, "\r")
		if strings.HasPrefix(text, "#") {
			continue
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		p := IgnorePattern{Line: line}
		if text[0] == '!' {
			p.Exception = true
			text = strings.TrimSpace(text[1:])
		}
		if text == "" {
			ig.Findings = append(ig.Findings, ig.finding(line, `a lone "!" excludes nothing and makes Docker reject the file`))
			continue
		}
		text = filepath.ToSlash(filepath.Clean(text))
		if len(text) > 1 && text[0] == '/' {
			text = text[1:]
		}
		p.Pattern = text
		m, err := patternmatcher.New([]string{text})
		if err != nil {
			ig.Findings = append(ig.Findings, ig.finding(line, fmt.Sprintf("pattern %q is not valid: %v", text, err)))
			continue
		}
		ig.Patterns = append(ig.Patterns, p)
		ig.matchers = append(ig.matchers, m)
	}
	return ig
}

func (ig *Ignore) finding(line int, msg string) report.Finding {
	return report.Finding{
		Rule: RuleIgnoreSyntax, Severity: report.Error,
		Location: report.At(ig.Path, line, 1),
		Title:    ".dockerignore pattern is invalid",
		Message:  "Docker cannot use this line of .dockerignore: " + msg + ".",
		Fix:      "Fix the pattern (Go filepath.Match syntax plus **, e.g. `**/*.pyc`, `!keep.txt`) or remove the line.",
	}
}

// Match reports whether a path of the build context (relative, forward
// slashes; a leading "./" or "/" is ignored) is left out of the context,
// and the line of the pattern that decided (0 when no pattern matches).
// As in Docker, the last matching pattern wins, "!" patterns re-include,
// and a pattern that matches a directory excludes everything under it.
func (ig *Ignore) Match(p string) (excluded bool, line int) {
	if ig == nil {
		return false, 0
	}
	p = strings.TrimPrefix(p, "./")
	p = strings.TrimLeft(p, "/")
	p = path.Clean(p)
	if p == "." || p == "" {
		return false, 0
	}
	for i, pat := range ig.Patterns {
		// The last matching pattern decides, as in patternmatcher's
		// MatchesOrParentMatches; one pattern at a time so that the
		// deciding line is known.
		ok, err := ig.matchers[i].MatchesOrParentMatches(p)
		if err != nil || !ok {
			continue
		}
		excluded = !pat.Exception
		line = pat.Line
	}
	return excluded, line
}
