// Package workflowcmd renders a report as GitHub Actions workflow commands
// (`::error file=…,line=…::message`), the annotations a job log turns into
// marks on a pull request's diff.
//
// See https://docs.github.com/actions/reference/workflow-commands-for-github-actions.
package workflowcmd

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// Options control rendering. The zero value emits every finding with paths
// as the report has them.
type Options struct {
	// PathPrefix is joined in front of each finding's file, so that paths are
	// relative to the repository root (the validated directory's path from
	// the root, e.g. "app").
	PathPrefix string
	// MaxPerSeverity caps how many commands of one severity are written
	// (GitHub shows at most 10 errors and 10 warnings per step); 0 means no cap.
	MaxPerSeverity int
}

// Render writes one workflow command per finding, the most severe first, and
// returns how many findings of each severity were left out by the cap.
func Render(w io.Writer, r *report.Report, opt Options) (omitted map[report.Severity]int, err error) {
	fs := r.Findings()
	sort.SliceStable(fs, func(i, j int) bool { return rank(fs[i].Severity) < rank(fs[j].Severity) })
	omitted = map[report.Severity]int{}
	written := map[report.Severity]int{}
	for _, f := range fs {
		if opt.MaxPerSeverity > 0 && written[f.Severity] >= opt.MaxPerSeverity {
			omitted[f.Severity]++
			continue
		}
		written[f.Severity]++
		if _, err := io.WriteString(w, Command(f, opt.PathPrefix)+"\n"); err != nil {
			return omitted, fmt.Errorf("write workflow command: %w", err)
		}
	}
	return omitted, nil
}

func rank(s report.Severity) int {
	switch s {
	case report.Error:
		return 0
	case report.Warning:
		return 1
	}
	return 2
}

// Command formats one finding as a workflow command.
func Command(f report.Finding, prefix string) string {
	var props []string
	if f.File != "" {
		file := f.File
		if prefix != "" && prefix != "." {
			file = path.Join(prefix, file)
		}
		props = append(props, "file="+EscapeProperty(file))
		if f.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", f.Line))
			if f.Column > 0 {
				props = append(props, fmt.Sprintf("col=%d", f.Column))
			}
			if f.EndLine > f.Line {
				props = append(props, fmt.Sprintf("endLine=%d", f.EndLine))
			}
		}
	}
	title := f.Title
	if title == "" {
		title = f.Rule
	}
	props = append(props, "title="+EscapeProperty(title+" ["+f.Rule+"]"))
	msg := f.Message
	if f.Fix != "" {
		msg += "\nFix: " + f.Fix
	}
	kind := "notice"
	switch f.Severity {
	case report.Error:
		kind = "error"
	case report.Warning:
		kind = "warning"
	}
	return "::" + kind + " " + strings.Join(props, ",") + "::" + EscapeData(msg)
}

// EscapeData escapes the message part of a workflow command.
func EscapeData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// EscapeProperty escapes a property value of a workflow command.
func EscapeProperty(s string) string {
	s = EscapeData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}
