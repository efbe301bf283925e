package github

import (
	"path"
	"strings"

	gh "github.com/google/go-github/v66/github"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// maxAnnotationField is GitHub's limit on an annotation's message and raw
// details (64 KB).
const maxAnnotationField = 64 * 1024

// Level maps a finding's severity to a check run annotation level: error →
// failure, warning → warning, notice → notice.
func Level(s report.Severity) string {
	switch s {
	case report.Error:
		return "failure"
	case report.Warning:
		return "warning"
	}
	return "notice"
}

// Annotations turns the report's findings into check run annotations, most
// severe first. prefix is the validated directory relative to the repository
// root ("app" for `working-directory: app`), joined in front of each file so
// that GitHub finds it (a finding in docs/x.md is annotated on app/docs/x.md).
// Findings without a file, or whose file lies outside the repository, cannot
// be annotated; they are returned in skipped (they still appear in the
// summary).
func Annotations(r *report.Report, prefix string) (anns []*gh.CheckRunAnnotation, skipped []report.Finding) {
	for _, sev := range []report.Severity{report.Error, report.Warning, report.Notice} {
		for _, f := range r.Findings() {
			if f.Severity != sev {
				continue
			}
			a, ok := Annotation(f, prefix)
			if !ok {
				skipped = append(skipped, f)
				continue
			}
			anns = append(anns, a)
		}
	}
	return anns, skipped
}

// Annotation turns one finding into an annotation; ok is false when the
// finding has no file inside the repository. A finding without a line is
// annotated on line 1 of its file.
func Annotation(f report.Finding, prefix string) (a *gh.CheckRunAnnotation, ok bool) {
	p, ok := RepoPath(prefix, f.File)
	if !ok {
		return nil, false
	}
	start := f.Line
	if start < 1 {
		start = 1
	}
	end := f.EndLine
	if end < start {
		end = start
	}
	a = &gh.CheckRunAnnotation{
		Path:            gh.String(p),
		StartLine:       gh.Int(start),
		EndLine:         gh.Int(end),
		AnnotationLevel: gh.String(Level(f.Severity)),
		Title:           gh.String(capTitle(titleOf(f))),
	}
	// GitHub accepts columns only on a single-line annotation.
	if f.Line > 0 && f.Column > 0 && end == start {
		a.StartColumn = gh.Int(f.Column)
		a.EndColumn = gh.Int(f.Column)
	}
	msg := f.Message
	if f.Fix != "" {
		msg += "\n\nFix: " + f.Fix
	}
	if strings.TrimSpace(msg) == "" {
		msg = titleOf(f)
	}
	a.Message = gh.String(capField(msg))
	return a, true
}

func titleOf(f report.Finding) string {
	t := f.Title
	if t == "" {
		t = f.Rule
	}
	if f.Rule != "" && t != f.Rule {
		t += " [" + f.Rule + "]"
	}
	return t
}

func capField(s string) string {
	if len(s) <= maxAnnotationField {
		return s
	}
	n := maxAnnotationField - 3
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}

// RepoPath joins prefix (a directory relative to the repository root) and
// file (relative to that directory) into a clean path relative to the
// repository root; ok is false when file is empty, absolute, or the result
// leaves the repository.
func RepoPath(prefix, file string) (string, bool) {
	if file == "" || strings.HasPrefix(file, "/") {
		return "", false
	}
	p := path.Clean(path.Join(prefix, file))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
		return "", false
	}
	return p, true
}
