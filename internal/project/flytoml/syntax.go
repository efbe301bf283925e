package flytoml

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// maxRepairs bounds how many broken expressions are cut out of a file to
// recover the rest of it.
const maxRepairs = 16

// decode unmarshals data into a generic map. When the document is not valid
// TOML it reports each error as a finding, blanks the expression at fault
// (keeping every other byte, so positions stay true) and tries again. It
// returns the map (nil when nothing could be recovered) and the bytes it
// was decoded from.
func decode(file string, data []byte) (map[string]any, []byte, []report.Finding) {
	var findings []report.Finding
	work := data
	copied := false
	if bytes.HasPrefix(work, utf8BOM) {
		findings = append(findings, syntaxFinding(report.At(file, 1, 1),
			"fly.toml starts with a byte order mark (BOM), which flyctl's TOML parser rejects",
			"Save fly.toml as UTF-8 without a byte order mark."))
		work = append([]byte(nil), work...)
		copied = true
		blank(work, span{0, len(utf8BOM)})
	}
	for attempt := 0; attempt <= maxRepairs; attempt++ {
		var m map[string]any
		err := toml.Unmarshal(work, &m)
		if err == nil {
			if m == nil {
				m = map[string]any{}
			}
			return m, work, findings
		}
		var de *toml.DecodeError
		if !errors.As(err, &de) {
			findings = append(findings, syntaxFinding(report.At(file, 1, 1), "fly.toml could not be read as TOML: "+trimTOML(err.Error()), "Fix the file so that it is valid TOML ("+referenceURL+")."))
			return nil, work, findings
		}
		f, cut := describeDecodeError(file, work, de)
		findings = append(findings, f)
		if attempt == maxRepairs || cut.end <= cut.start {
			break
		}
		if !copied {
			work = append([]byte(nil), work...)
			copied = true
		}
		blank(work, cut)
	}
	return nil, work, findings
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func syntaxFinding(loc report.Location, msg, fix string) report.Finding {
	return report.Finding{
		Rule:     RuleSyntax,
		Severity: report.Error,
		Location: loc,
		Title:    "fly.toml is not valid TOML",
		Message:  msg,
		Fix:      fix,
	}
}

func trimTOML(s string) string { return strings.TrimPrefix(s, "toml: ") }

// blank replaces the bytes of sp with spaces, keeping line breaks.
func blank(b []byte, sp span) {
	for i := sp.start; i < sp.end && i < len(b); i++ {
		if b[i] != '\n' && b[i] != '\r' {
			b[i] = ' '
		}
	}
}

// exprStart matches a line that starts a key/value.
var exprStart = regexp.MustCompile(`^[A-Za-z0-9_."'-][A-Za-z0-9_."' .-]*=`)

var emptyProcesses = regexp.MustCompile(`^\s*processes\s*=\s*\[\s*\]\s*(#.*)?$`)

// describeDecodeError turns a go-toml error into a finding in plain words
// and returns the span to cut out to recover the rest of the file.
func describeDecodeError(file string, data []byte, de *toml.DecodeError) (report.Finding, span) {
	line, col := de.Position()
	ps, walkErr := walkPositions(file, data)
	loc := report.At(file, line, col)
	msg := trimTOML(de.Error())
	offset := ps.offsetOf(line, col)

	if walkErr != nil {
		// A grammar error: cut from the start of the failing expression
		// through the line of the error.
		return syntaxFinding(loc, "fly.toml is not valid TOML: "+msg, "Fix the TOML syntax at this line ("+referenceURL+")."), grammarCut(ps, data, offset)
	}

	// The document parses but a key is defined twice or conflicts with
	// another one.
	i := ps.exprAt(offset)
	if i < 0 {
		return syntaxFinding(loc, "fly.toml is not valid TOML: "+msg, "Remove the duplicate definition."), span{}
	}
	e := ps.exprs[i]
	cut := span{start: e.start, end: len(data)}
	for j := i + 1; j < len(ps.exprs); j++ {
		if !e.header || ps.exprs[j].header {
			cut.end = ps.exprs[j].start
			break
		}
	}

	key := strings.Join(de.Key(), ".")
	path := conflictPath(e, de.Key())
	name := stripIndexes(path)
	first, ok := ps.find(path)
	if !ok || first.loc.Line >= e.line {
		return syntaxFinding(loc, "fly.toml is not valid TOML: "+msg, fmt.Sprintf("Define `%s` only once.", key)), cut
	}
	what := "key"
	shown := name
	if e.header && ps.keys[path] != nil && isHeaderAt(ps, first.offset) {
		what = "table"
		shown = "[" + name + "]"
		if strings.HasSuffix(path, "]") {
			shown = "[[" + name + "]]"
		}
	}
	if what == "key" && key != "" && strings.HasSuffix(name, "."+key) {
		shown = key + "` in `[" + strings.TrimSuffix(name, "."+key) + "]"
	}
	message := fmt.Sprintf("%s `%s` is defined twice (first at line %d)", what, shown, first.loc.Line)
	fix := fmt.Sprintf("Keep one definition of `%s`: remove or merge the one at line %d or the one at line %d.", name, first.loc.Line, e.line)
	if name == "processes" && emptyProcesses.Match(lineText(data, first.offset)) {
		fix = fmt.Sprintf("Delete `processes = []` at line %d: old flyctl versions wrote it, and the [processes] table at line %d is what defines the process groups.", first.loc.Line, e.line)
	}
	return syntaxFinding(loc, message, fix), cut
}

// conflictPath picks, among the paths an expression defines, the one named
// by the error's key (which go-toml gives relative to the table).
func conflictPath(e expr, key []string) string {
	want := strings.Join(key, ".")
	for j := len(e.paths) - 1; j >= 0; j-- {
		p := stripIndexes(e.paths[j])
		if p == want || strings.HasSuffix(p, "."+want) {
			return e.paths[j]
		}
	}
	if len(e.paths) > 0 {
		return e.paths[len(e.paths)-1]
	}
	return want
}

func isHeaderAt(ps *positions, offset int) bool {
	for _, e := range ps.exprs {
		if e.start == offset {
			return e.header
		}
	}
	return false
}

// lineText returns the line holding offset, without its line break.
func lineText(data []byte, offset int) []byte {
	if offset > len(data) {
		offset = len(data)
	}
	start := bytes.LastIndexByte(data[:offset], '\n') + 1
	end := bytes.IndexByte(data[offset:], '\n')
	if end < 0 {
		end = len(data)
	} else {
		end += offset
	}
	return bytes.TrimRight(data[start:end], "\r")
}

// grammarCut returns the span to blank for a grammar error at offset: from
// the first line of the failing expression (the first non-blank,
// non-comment line after the last good expression) through the error's
// line; a broken [table] header takes its whole section with it.
func grammarCut(ps *positions, data []byte, offset int) span {
	if offset > len(data) {
		offset = len(data)
	}
	from := 0
	if n := len(ps.exprs); n > 0 {
		last := ps.exprs[n-1]
		// The last good expression ends before the failing one: skip to
		// the line after it, then over blank and comment lines.
		end := lineEnd(data, last.start)
		if kp, ok := ps.find(last.paths[len(last.paths)-1]); ok && kp.loc.EndLine > last.line {
			end = lineEnd(data, ps.offsetOf(kp.loc.EndLine, 1))
		}
		from = end
	}
	for from < offset {
		t := bytes.TrimSpace(lineText(data, from))
		if len(t) > 0 && t[0] != '#' {
			break
		}
		from = lineEnd(data, from)
	}
	if from > offset {
		from = lineStart(data, offset)
	}
	to := lineEnd(data, offset)
	header := false
	if t := bytes.TrimSpace(lineText(data, from)); len(t) > 0 && t[0] == '[' {
		header = true
	}
	// Take the rest of the broken expression (the end of a multi-line
	// array, say) up to the next line that starts an expression; a broken
	// header takes its whole section.
	for to < len(data) {
		t := bytes.TrimSpace(lineText(data, to))
		if len(t) > 0 && t[0] == '[' || !header && exprStart.Match(t) {
			break
		}
		to = lineEnd(data, to)
	}
	if to <= from {
		to = min(len(data), from+1)
	}
	return span{from, to}
}

func lineStart(data []byte, offset int) int {
	return bytes.LastIndexByte(data[:offset], '\n') + 1
}

// lineEnd returns the offset just after the line break of the line holding
// offset (or the end of data).
func lineEnd(data []byte, offset int) int {
	if offset >= len(data) {
		return len(data)
	}
	i := bytes.IndexByte(data[offset:], '\n')
	if i < 0 {
		return len(data)
	}
	return offset + i + 1
}
