// Package summary renders a report as GitHub-flavoured Markdown: the verdict
// line, the phase table, a Mermaid gantt of the phases' timings, and the
// findings grouped by phase, each linked to its line in the repository at the
// commit checked and followed by its fix.
//
// The same pieces make the job's step summary (Render) and the output of the
// `deploy-check` check run (Verdict, PhaseTable, Findings). GitHub refuses a
// check run output field over 65,535 characters, so every renderer here keeps
// within a byte budget and says so when it leaves findings out.
package summary

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// MaxLen is GitHub's limit on a check run's output summary and text (65,535
// characters). Renderers count bytes, which are never fewer than characters,
// so a rendering within MaxLen bytes is within GitHub's limit.
const MaxLen = 65535

// Options say how to render. The zero value renders without links, with the
// name "deploy-check" and within MaxLen.
type Options struct {
	// Name is the check's name, shown in the verdict line ("deploy-check").
	Name string
	// ServerURL ("https://github.com"), Repository ("owner/name") and SHA
	// make each finding's location a link to its line at that commit; when
	// any is empty, locations are plain text.
	ServerURL, Repository, SHA string
	// PathPrefix is the validated directory relative to the repository root
	// ("app"), joined in front of each finding's file in links and labels.
	PathPrefix string
	// Notes are lines shown under the verdict (for example that annotations
	// went to the job log because the token could not write checks).
	Notes []string
	// Gantt adds a Mermaid gantt chart of the phases when they have timings.
	Gantt bool
	// MaxLen caps the rendering in bytes; 0 means MaxLen.
	MaxLen int
}

func (o Options) name() string {
	if o.Name == "" {
		return "deploy-check"
	}
	return o.Name
}

func (o Options) max() int {
	if o.MaxLen <= 0 {
		return MaxLen
	}
	return o.MaxLen
}

// Title is the one-line outcome used as the check run's title: "2 errors in
// build, release", "1 error in build; 3 warnings", "1 warning in runtime",
// or "All 5 phases passed (4 notices)".
func Title(r *report.Report) string {
	c := r.Counts()
	switch {
	case c[report.Error] > 0:
		t := plural(c[report.Error], "error") + " in " + strings.Join(phasesWith(r, report.Error), ", ")
		if c[report.Warning] > 0 {
			t += "; " + plural(c[report.Warning], "warning")
		}
		return t
	case c[report.Warning] > 0:
		return plural(c[report.Warning], "warning") + " in " + strings.Join(phasesWith(r, report.Warning), ", ")
	}
	ran := 0
	for _, p := range r.Phases {
		if p.Status != report.Skipped {
			ran++
		}
	}
	t := fmt.Sprintf("All %s passed", plural(ran, "phase"))
	if ran == 1 {
		t = "The phase passed"
	}
	if c[report.Notice] > 0 {
		t += " (" + plural(c[report.Notice], "notice") + ")"
	}
	return t
}

// phasesWith lists, in report order, the phases holding a finding of sev.
func phasesWith(r *report.Report, sev report.Severity) []string {
	var names []string
	for _, p := range r.Phases {
		for _, f := range p.Findings {
			if f.Severity == sev {
				names = append(names, string(p.Name))
				break
			}
		}
	}
	return names
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Verdict is the first line of the summary: an icon, the check's name, the
// command, whether it passed, and the Title.
func Verdict(r *report.Report, opt Options) string {
	icon, word := "✅", "passed"
	switch r.Conclusion {
	case report.Failure:
		icon, word = "❌", "failed"
	case report.Neutral:
		icon, word = "⚠️", "passed with warnings"
	}
	return fmt.Sprintf("## %s %s: `%s` %s — %s\n", icon, escapeText(opt.name()), r.Command, word, escapeText(Title(r)))
}

// statusCell is a phase status with its icon.
func statusCell(s report.Status) string {
	switch s {
	case report.Failed:
		return "❌ failed"
	case report.Warned:
		return "⚠️ warning"
	case report.Skipped:
		return "⏭️ skipped"
	case report.Passed:
		return "✅ passed"
	}
	return string(s)
}

// countsCell says how many findings of each severity a phase holds.
func countsCell(p *report.Phase) string {
	n := map[report.Severity]int{}
	for _, f := range p.Findings {
		n[f.Severity]++
	}
	var parts []string
	for _, s := range []report.Severity{report.Error, report.Warning, report.Notice} {
		if n[s] > 0 {
			parts = append(parts, plural(n[s], string(s)))
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}

// Duration formats milliseconds for a person: "0 ms", "840 ms", "12.3 s",
// "2 min 5 s".
func Duration(ms int64) string {
	switch {
	case ms < 1000:
		return fmt.Sprintf("%d ms", ms)
	case ms < 60_000:
		return fmt.Sprintf("%.1f s", float64(ms)/1000)
	}
	s := ms / 1000
	return fmt.Sprintf("%d min %d s", s/60, s%60)
}

// PhaseTable is a Markdown table of the phases: phase, status, duration,
// findings.
func PhaseTable(r *report.Report) string {
	var b strings.Builder
	b.WriteString("| phase | status | duration | findings |\n|---|---|--:|---|\n")
	for _, p := range r.Phases {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", p.Name, statusCell(p.Status), Duration(p.DurationMS), countsCell(p))
	}
	return b.String()
}

// MinGanttMS is the least total duration of the phases for which Gantt
// draws a chart: below a second (a validate takes milliseconds) the bars only
// show timer noise.
const MinGanttMS = 1000

// HasTimings reports whether the phases took long enough in all (MinGanttMS)
// for a chart of them to mean something.
func HasTimings(r *report.Report) bool {
	var total int64
	for _, p := range r.Phases {
		total += p.DurationMS
	}
	return total >= MinGanttMS
}

// Gantt is a Mermaid gantt chart of the phases, one after the other from
// their durations (a phase under 1 ms is drawn 1 ms wide so it shows); ""
// unless HasTimings. Failed phases are marked crit, warned ones
// active, skipped ones are left out.
func Gantt(r *report.Report) string {
	if !HasTimings(r) {
		return ""
	}
	var b strings.Builder
	b.WriteString("```mermaid\ngantt\n    title " + r.Command + " phases\n    dateFormat x\n    axisFormat %M:%S\n")
	var at int64
	for i, p := range r.Phases {
		if p.Status == report.Skipped {
			continue
		}
		d := p.DurationMS
		if d < 1 {
			d = 1
		}
		tag := "done, "
		switch p.Status {
		case report.Failed:
			tag = "crit, "
		case report.Warned:
			tag = "active, "
		}
		fmt.Fprintf(&b, "    section %s\n    %s %s :%sp%d, %d, %d\n", p.Name, p.Name, Duration(p.DurationMS), tag, i, at, at+d)
		at += d
	}
	b.WriteString("```\n")
	return b.String()
}

// location is a finding's location label ("app/Dockerfile:7") and the URL of
// its line at the commit ("" when links are off or it has no file).
func location(f report.Finding, opt Options) (label, link string) {
	if f.File == "" {
		return "", ""
	}
	file := f.File
	if opt.PathPrefix != "" && opt.PathPrefix != "." && !strings.HasPrefix(file, "/") {
		file = path.Join(opt.PathPrefix, file)
	}
	label = file
	if f.Line > 0 {
		label = fmt.Sprintf("%s:%d", file, f.Line)
	}
	if opt.ServerURL == "" || opt.Repository == "" || opt.SHA == "" || strings.HasPrefix(file, "/") || strings.HasPrefix(file, "../") {
		return label, ""
	}
	return label, BlobURL(opt.ServerURL, opt.Repository, opt.SHA, file, f.Line, f.EndLine)
}

// BlobURL is the URL of file (relative to the repository root) at sha on
// GitHub, pointing at line (and through endLine when it is further on); a
// zero line links the whole file.
func BlobURL(serverURL, repository, sha, file string, line, endLine int) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := strings.TrimRight(serverURL, "/") + "/" + repository + "/blob/" + sha + "/" + strings.Join(segs, "/")
	switch {
	case line > 0 && endLine > line:
		u += fmt.Sprintf("#L%d-L%d", line, endLine)
	case line > 0:
		u += fmt.Sprintf("#L%d", line)
	}
	return u
}

var severityIcon = map[report.Severity]string{report.Error: "🔴", report.Warning: "🟠", report.Notice: "🔵"}

// finding renders one finding as a self-contained Markdown block.
func finding(f report.Finding, opt Options) string {
	var b strings.Builder
	label, link := location(f, opt)
	b.WriteString("- ")
	b.WriteString(severityIcon[f.Severity] + " **" + string(f.Severity) + "**")
	switch {
	case link != "":
		fmt.Fprintf(&b, " [`%s`](%s)", label, link)
	case label != "":
		fmt.Fprintf(&b, " `%s`", label)
	}
	title := f.Title
	if title == "" {
		title = f.Rule
	}
	fmt.Fprintf(&b, " — **%s** `%s`\n", escapeText(oneLine(title)), f.Rule)
	if f.Message != "" {
		b.WriteString("\n  " + indent(escapeText(f.Message), "  ") + "\n")
	}
	if f.Fix != "" {
		b.WriteString("\n  💡 **Fix:** " + indent(escapeText(f.Fix), "  ") + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// indent keeps a multi-line text inside its list item, each further line
// starting with prefix.
func indent(s, prefix string) string {
	s = strings.TrimRight(s, "\n")
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// phaseHeading introduces one phase's findings.
func phaseHeading(p *report.Phase) string {
	icon, _, _ := strings.Cut(statusCell(p.Status), " ")
	return fmt.Sprintf("### %s %s — %s\n\n", icon, p.Name, countsCell(p))
}

// cutNote is the line added when findings are left out.
func cutNote(left int) string {
	return fmt.Sprintf("\n> ✂️ %s not shown: this summary is cut at %d characters, GitHub's limit. Every finding is in the JSON report (output `report`).\n", plural(left, "more finding"), MaxLen)
}

// Findings renders the findings grouped by phase, most severe first within
// the report's phase order, within budget bytes (0 means opt's cap). It
// reports how many findings it left out to stay within the budget; the text
// then ends with a note saying so.
func Findings(r *report.Report, opt Options, budget int) (md string, omitted int) {
	if budget <= 0 {
		budget = opt.max()
	}
	total := len(r.Findings())
	if total == 0 {
		return "No findings.\n", 0
	}
	var b strings.Builder
	shown := 0
	reserve := len(cutNote(total)) + 1 // the note, and the blank line ending a phase
	for _, p := range r.Phases {
		if len(p.Findings) == 0 {
			continue
		}
		head := phaseHeading(p)
		if b.Len()+len(head)+reserve > budget {
			break
		}
		b.WriteString(head)
		full := false
		for _, f := range bySeverity(p.Findings) {
			block := finding(f, opt)
			if b.Len()+len(block)+reserve > budget {
				full = true
				break
			}
			b.WriteString(block)
			shown++
		}
		b.WriteString("\n")
		if full {
			break
		}
	}
	if shown < total {
		b.WriteString(cutNote(total - shown))
	}
	return b.String(), total - shown
}

// bySeverity returns the findings errors first, then warnings, then notices,
// keeping their order otherwise.
func bySeverity(fs []report.Finding) []report.Finding {
	out := make([]report.Finding, 0, len(fs))
	for _, s := range []report.Severity{report.Error, report.Warning, report.Notice} {
		for _, f := range fs {
			if f.Severity == s {
				out = append(out, f)
			}
		}
	}
	return out
}

// Head is the top of a summary: the verdict, the notes and the phase table.
func Head(r *report.Report, opt Options) string {
	var b strings.Builder
	b.WriteString(Verdict(r, opt))
	b.WriteString("\n")
	for i, n := range opt.Notes {
		if i > 0 {
			b.WriteString(">\n")
		}
		b.WriteString("> " + strings.ReplaceAll(strings.TrimRight(n, "\n"), "\n", "\n> ") + "\n")
	}
	if len(opt.Notes) > 0 {
		b.WriteString("\n")
	}
	b.WriteString(PhaseTable(r))
	return Truncate(b.String(), opt.max())
}

// Render is the whole step summary: Head, the gantt chart when opt.Gantt and
// the phases have timings, and the findings, within opt's cap.
func Render(r *report.Report, opt Options) string {
	var b strings.Builder
	b.WriteString(Head(r, opt))
	if opt.Gantt {
		if g := Gantt(r); g != "" {
			b.WriteString("\n" + g)
		}
	}
	b.WriteString("\n")
	if b.Len() >= opt.max() {
		return Truncate(b.String(), opt.max())
	}
	fs, _ := Findings(r, opt, opt.max()-b.Len())
	b.WriteString(fs)
	return b.String()
}

// Truncate cuts s to at most max bytes at a line boundary (or a rune
// boundary when a single line is longer), ending it with a note that says it
// was cut. s is returned unchanged when it fits.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	note := fmt.Sprintf("\n\n✂️ cut at %d characters (GitHub's limit); the full report is in the JSON report.\n", max)
	if len(note) >= max {
		return cutRunes(s, max)
	}
	keep := cutRunes(s, max-len(note))
	if i := strings.LastIndexByte(keep, '\n'); i > 0 {
		keep = keep[:i]
	}
	return keep + note
}

// cutRunes returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// escapeText makes report text safe in Markdown: outside `code spans` it
// escapes '<', '>' and '&' so that GitHub shows them instead of reading HTML,
// and '|' so that text never breaks a table. Code spans are kept as written
// (inside them nothing is interpreted).
func escapeText(s string) string {
	var b strings.Builder
	inCode := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '`' {
			inCode = !inCode
			b.WriteByte(c)
			continue
		}
		if inCode {
			b.WriteByte(c)
			continue
		}
		switch c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '|':
			b.WriteString("\\|")
		default:
			b.WriteByte(c)
		}
	}
	if inCode {
		// An unbalanced backtick: Markdown shows it literally, and the text
		// after it was left unescaped; escape the whole text instead.
		return escapeAll(s)
	}
	return b.String()
}

func escapeAll(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "\\|", "`", "\\`")
	return r.Replace(s)
}
