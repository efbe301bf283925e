// Package text renders a report for a person at a terminal: findings grouped
// by phase as `file:line:col: message [rule]`, the source line with a caret
// under the column, the fix, and one summary line at the end.
package text

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// Sources gives the text of a line of a file the report points at. Line is
// 1-based; ok is false when the file or line is unknown.
type Sources interface {
	Line(file string, line int) (text string, ok bool)
}

// Options control rendering. The zero value renders plain text without
// source lines.
type Options struct {
	// Sources, when set, is used to print the source line under each finding.
	Sources Sources
	// Color turns on ANSI colours.
	Color bool
	// Verbose lists passed and skipped phases too.
	Verbose bool
}

// ColorFor reports whether output to w should be coloured: only when w is a
// terminal and NO_COLOR is unset (https://no-color.org).
func ColorFor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

type printer struct {
	w   io.Writer
	opt Options
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format, args...)
}

func (p *printer) paint(code, s string) string {
	if !p.opt.Color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func severityColor(s report.Severity) string {
	switch s {
	case report.Error:
		return ansiRed
	case report.Warning:
		return ansiYellow
	default:
		return ansiCyan
	}
}

// Render writes r to w.
func Render(w io.Writer, r *report.Report, opt Options) error {
	p := &printer{w: w, opt: opt}
	for _, ph := range r.Phases {
		if len(ph.Findings) == 0 && !opt.Verbose {
			continue
		}
		p.phaseHeader(ph)
		for _, f := range ph.Findings {
			p.finding(f)
		}
		p.printf("\n")
	}
	p.summary(r)
	return p.err
}

func (p *printer) phaseHeader(ph *report.Phase) {
	var mark, code string
	switch ph.Status {
	case report.Failed:
		mark, code = "✗", ansiRed
	case report.Warned:
		mark, code = "!", ansiYellow
	case report.Skipped:
		mark, code = "-", ansiDim
	default:
		mark, code = "✓", ansiGreen
	}
	head := fmt.Sprintf("%s %s: %s", mark, ph.Name, ph.Status)
	if n := len(ph.Findings); n > 0 {
		head += fmt.Sprintf(" (%s)", countWords(phaseCounts(ph)))
	}
	p.printf("%s\n", p.paint(ansiBold+code, head))
}

func (p *printer) finding(f report.Finding) {
	loc := f.Location.String()
	sev := p.paint(severityColor(f.Severity), string(f.Severity))
	rule := p.paint(ansiDim, "["+f.Rule+"]")
	if loc != "" {
		p.printf("%s: %s %s\n", p.paint(ansiBold, loc), f.Message, rule)
	} else {
		p.printf("%s %s\n", f.Message, rule)
	}
	if src, ok := p.source(f); ok {
		num := fmt.Sprintf("%d", f.Line)
		gutter := strings.Repeat(" ", len(num))
		p.printf("  %s | %s\n", p.paint(ansiDim, num), src)
		col := f.Column
		if col < 1 {
			col = 1
		}
		p.printf("  %s | %s%s %s\n", gutter, caretPad(src, col), p.paint(severityColor(f.Severity), "^"), sev)
	} else {
		p.printf("  %s\n", sev)
	}
	if f.Fix != "" {
		p.printf("  %s %s\n", p.paint(ansiGreen, "fix:"), f.Fix)
	}
}

// source returns the finding's source line with tabs kept (so the caret
// lines up) and trailing space trimmed.
func (p *printer) source(f report.Finding) (string, bool) {
	if p.opt.Sources == nil || f.File == "" || f.Line < 1 {
		return "", false
	}
	s, ok := p.opt.Sources.Line(f.File, f.Line)
	if !ok {
		return "", false
	}
	s = strings.TrimRight(s, " \t\r\n")
	s = redactLine(s, f)
	const max = 160
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s, true
}

// caretPad returns the white space that puts a caret under column col of
// src, copying tabs so the caret lines up whatever the tab width.
func caretPad(src string, col int) string {
	var b strings.Builder
	i := 0
	for _, r := range src {
		if i >= col-1 {
			break
		}
		if r == '\t' {
			b.WriteRune('\t')
		} else {
			b.WriteRune(' ')
		}
		i++
	}
	for ; i < col-1; i++ {
		b.WriteRune(' ')
	}
	return b.String()
}

func phaseCounts(ph *report.Phase) map[report.Severity]int {
	c := map[report.Severity]int{}
	for _, f := range ph.Findings {
		c[f.Severity]++
	}
	return c
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func countWords(c map[report.Severity]int) string {
	var parts []string
	for _, s := range []report.Severity{report.Error, report.Warning, report.Notice} {
		if c[s] > 0 {
			parts = append(parts, plural(c[s], string(s)))
		}
	}
	return strings.Join(parts, ", ")
}

func (p *printer) summary(r *report.Report) {
	c := r.Counts()
	var failed []string
	for _, ph := range r.Phases {
		if ph.Status == report.Failed {
			failed = append(failed, string(ph.Name))
		}
	}
	counts := fmt.Sprintf("%s, %s, %s", plural(c[report.Error], "error"), plural(c[report.Warning], "warning"), plural(c[report.Notice], "notice"))
	switch r.Conclusion {
	case report.Failure:
		advice := "see the errors above"
		if r.Command == "validate" {
			advice = "fix the errors above before deploying"
		}
		p.printf("%s %s in %s: %s\n", p.paint(ansiBold+ansiRed, "✗ "+r.Command+" failed:"), counts, strings.Join(failed, ", "), advice)
	case report.Neutral:
		p.printf("%s %s\n", p.paint(ansiBold+ansiYellow, "! "+r.Command+" passed with warnings:"), counts)
	default:
		p.printf("%s %s\n", p.paint(ansiBold+ansiGreen, "✓ "+r.Command+" passed:"), counts)
	}
}

// urlPassword matches the password of a URL's user information.
var urlPassword = regexp.MustCompile(`(://[^/\s:@]+:)[^@\s/]+@`)

// redactLine masks what a quoted source line must not show: everything from
// the finding's column on when the finding is marked Redact (a secret's
// line), and the password of any URL on every line.
func redactLine(s string, f report.Finding) string {
	if f.Redact {
		col := f.Column
		if col < 1 {
			col = 1
		}
		r := []rune(s)
		if col-1 < len(r) {
			s = string(r[:col-1]) + "********"
		}
	}
	return urlPassword.ReplaceAllString(s, "${1}****@")
}
