// Package comment renders what the bot writes on a pull request: the sticky
// comment of a pull request and environment (one comment, edited as a deploy
// moves from queued to running to its result) and the one-off replies
// (usage, refusals, /help, /status, /health).
//
// Everything here is pure: a view in, Markdown out. Text that came from a
// user or a workflow is neutralised before it is shown (no mentions, no
// HTML, no links smuggled into table cells).
package comment

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// State is where a command is, as the sticky comment shows it.
type State string

// The states of a sticky comment, in the order a deploy goes through them.
const (
	Queued     State = "queued"     // accepted, not yet dispatched
	Waiting    State = "waiting"    // queued behind another deploy of the same app
	Dispatched State = "dispatched" // the workflow was asked to run
	Running    State = "running"    // the workflow run started
	Succeeded  State = "success"    // finished: success
	Failed     State = "failure"    // finished: failure (or the bot could not go on)
	Cancelled  State = "cancelled"  // finished: cancelled, skipped, timed out
)

// Done reports whether s is a final state.
func (s State) Done() bool { return s == Succeeded || s == Failed || s == Cancelled }

func (s State) icon() string {
	switch s {
	case Queued:
		return "⏳"
	case Waiting:
		return "🚦"
	case Dispatched:
		return "📨"
	case Running:
		return "🏃"
	case Succeeded:
		return "✅"
	case Failed:
		return "❌"
	case Cancelled:
		return "⏹️"
	}
	return "•"
}

// StateOf maps a workflow run or check run conclusion to a final state.
func StateOf(conclusion string) State {
	switch conclusion {
	case "success", "neutral":
		return Succeeded
	case "cancelled", "skipped", "stale":
		return Cancelled
	}
	return Failed
}

// PhaseRow is one row of the phase table, as the deploy-check check run
// reported it.
type PhaseRow struct {
	Name, Status, Duration, Findings string
}

// Health is the figures of a health probe.
type Health struct {
	URL      string
	Samples  int
	Passed   int
	P50, P95 time.Duration
	Max      time.Duration
	// CertDaysLeft is the days left on the TLS certificate; -1 when not
	// measured (http:// URL or no handshake).
	CertDaysLeft int
	// OK is the verdict.
	OK bool
	// Problems are the error and warning titles of the probe's findings.
	Problems []string
}

// Sticky is everything the sticky comment shows.
type Sticky struct {
	// Command is the canonical command ("/deploy production").
	Command     string
	Environment string
	App         string
	PR          int
	// SHA is the commit pinned when the comment arrived.
	SHA   string
	Actor string
	// RequestID is the id passed to the workflow as `request_id`.
	RequestID string
	State     State
	// Note is one extra sentence: why it waits, why it failed.
	Note string
	// Phases is the phase table of the deploy-check check run, when seen.
	Phases []PhaseRow
	// CheckTitle is the check run's title ("2 errors in build").
	CheckTitle string
	// Conclusion is the workflow run's conclusion, once finished.
	Conclusion string
	RunURL     string
	CheckURL   string
	Health     *Health
	Updated    time.Time
}

// Marker is the hidden first line of a sticky comment, naming its pull
// request and environment, so that the comment can be recognised.
func Marker(pr int, env string) string {
	return fmt.Sprintf("<!-- deploy-bot:sticky pr=%d env=%s -->", pr, Plain(env, 64))
}

// RenderSticky renders the sticky comment.
func RenderSticky(s Sticky) string {
	var b strings.Builder
	b.WriteString(Marker(s.PR, s.Environment) + "\n")
	head := string(s.State)
	switch s.State {
	case Queued:
		head = "queued"
	case Waiting:
		head = "queued behind another deploy"
	case Dispatched:
		head = "dispatched, waiting for the workflow run"
	case Running:
		head = "running"
		if p := CurrentPhase(s.Phases); p != "" {
			head += " — phase " + Plain(p, 32)
		}
	case Succeeded:
		head = "succeeded"
	case Failed:
		head = "failed"
	case Cancelled:
		head = "cancelled"
	}
	fmt.Fprintf(&b, "### %s `%s` on **%s**: %s\n\n", s.State.icon(), Plain(s.Command, 100), Plain(s.Environment, 64), head)
	b.WriteString(timeline(s.State) + "\n\n")
	if s.Note != "" {
		b.WriteString("> " + Inline(s.Note, 600) + "\n\n")
	}
	b.WriteString("| | |\n|---|---|\n")
	if s.SHA != "" {
		fmt.Fprintf(&b, "| commit | `%s` (pinned when @%s asked) |\n", Short(s.SHA), Plain(s.Actor, 40))
	}
	if s.App != "" {
		fmt.Fprintf(&b, "| app | `%s` |\n", Plain(s.App, 64))
	}
	if s.Conclusion != "" {
		fmt.Fprintf(&b, "| conclusion | %s %s |\n", StateOf(s.Conclusion).icon(), Plain(s.Conclusion, 32))
	}
	if s.RunURL != "" {
		fmt.Fprintf(&b, "| workflow run | [%s](%s) |\n", runLabel(s.RunURL), s.RunURL)
	}
	if s.CheckURL != "" {
		title := "deploy-check"
		if s.CheckTitle != "" {
			title += ": " + Plain(s.CheckTitle, 120)
		}
		fmt.Fprintf(&b, "| check | [%s](%s) |\n", title, s.CheckURL)
	}
	if len(s.Phases) > 0 {
		b.WriteString("\n| phase | status | duration | findings |\n|---|---|--:|---|\n")
		for _, p := range s.Phases {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", Plain(p.Name, 32), Plain(p.Status, 32), Plain(p.Duration, 32), Plain(p.Findings, 80))
		}
	}
	if s.Health != nil {
		b.WriteString("\n" + healthTable(*s.Health))
	}
	fmt.Fprintf(&b, "\n<sub>request `%s` · updated %s</sub>\n", Plain(s.RequestID, 64), s.Updated.UTC().Format(time.RFC3339))
	return b.String()
}

// timeline shows the three steps a deploy goes through and where it is.
func timeline(s State) string {
	steps := []string{"queued", "running", "result"}
	at := 0
	switch s {
	case Running:
		at = 1
	case Succeeded, Failed, Cancelled:
		at = 2
	}
	for i := range steps {
		if i == at {
			steps[i] = "**" + steps[i] + "**"
		}
	}
	return strings.Join(steps, " → ")
}

func runLabel(url string) string {
	if i := strings.LastIndexByte(url, '/'); i >= 0 && i+1 < len(url) {
		return "run " + Plain(url[i+1:], 24)
	}
	return "run"
}

// CurrentPhase is the phase the deploy is in, judged from a phase table in
// progress: the last phase with a time, or the first one.
func CurrentPhase(rows []PhaseRow) string {
	cur := ""
	for _, r := range rows {
		if r.Duration != "" && r.Duration != "0 ms" && r.Duration != "—" {
			cur = r.Name
		}
	}
	if cur == "" && len(rows) > 0 {
		cur = rows[0].Name
	}
	return cur
}

func healthTable(h Health) string {
	var b strings.Builder
	verdict := "✅ healthy"
	if !h.OK {
		verdict = "❌ unhealthy"
	}
	fmt.Fprintf(&b, "**Health** of %s: %s\n\n", Plain(h.URL, 200), verdict)
	b.WriteString("| samples passed | p50 | p95 | max |")
	if h.CertDaysLeft >= 0 {
		b.WriteString(" certificate |")
	}
	b.WriteString("\n|--:|--:|--:|--:|")
	if h.CertDaysLeft >= 0 {
		b.WriteString("--:|")
	}
	fmt.Fprintf(&b, "\n| %d/%d | %s | %s | %s |", h.Passed, h.Samples, ms(h.P50), ms(h.P95), ms(h.Max))
	if h.CertDaysLeft >= 0 {
		fmt.Fprintf(&b, " %d days left |", h.CertDaysLeft)
	}
	b.WriteString("\n")
	for _, p := range h.Problems {
		b.WriteString("- " + Plain(p, 200) + "\n")
	}
	return b.String()
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

// Short is the first 7 characters of a commit SHA.
func Short(sha string) string {
	sha = Plain(sha, 40)
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// Plain neutralises text from users or workflows for one line of Markdown:
// newlines and pipes become spaces and slashes, HTML angle brackets and
// backticks are replaced, an @ cannot mention anyone, and the text is cut at
// max characters.
func Plain(s string, max int) string {
	r := strings.NewReplacer(
		"\r", " ", "\n", " ", "|", "/", "<", "‹", ">", "›", "`", "'",
		"@", "@\u200b", "[", "(", "]", ")",
	)
	s = r.Replace(s)
	if utf8.RuneCountInString(s) > max {
		rs := []rune(s)
		s = string(rs[:max]) + "…"
	}
	return s
}

// Inline neutralises a sentence for Markdown, keeping its code spans:
// newlines become spaces, HTML angle brackets are replaced, an @ cannot
// mention anyone, and the text is cut at max characters.
func Inline(s string, max int) string {
	r := strings.NewReplacer("\r", " ", "\n", " ", "<", "‹", ">", "›", "@", "@\u200b")
	s = r.Replace(s)
	if utf8.RuneCountInString(s) > max {
		rs := []rune(s)
		s = string(rs[:max]) + "…"
	}
	return s
}

// ParsePhaseTable reads the phase table out of a deploy-check check run's
// summary (the rows under a "| phase | status | duration | findings |"
// header); nil when there is none.
func ParsePhaseTable(summary string) []PhaseRow {
	var rows []PhaseRow
	in := false
	for _, line := range strings.Split(summary, "\n") {
		line = strings.TrimSpace(line)
		cells := splitRow(line)
		switch {
		case !in && len(cells) >= 2 && strings.EqualFold(cells[0], "phase") && strings.EqualFold(cells[1], "status"):
			in = true
		case in && len(cells) > 0 && strings.Trim(strings.Join(cells, ""), "-: ") == "":
			// the |---|---| separator
		case in && len(cells) >= 2:
			row := PhaseRow{Name: cells[0], Status: cells[1]}
			if len(cells) > 2 {
				row.Duration = cells[2]
			}
			if len(cells) > 3 {
				row.Findings = cells[3]
			}
			rows = append(rows, row)
			if len(rows) >= 16 {
				return rows
			}
		case in:
			return rows
		}
	}
	return rows
}

func splitRow(line string) []string {
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
		return nil
	}
	parts := strings.Split(line[1:len(line)-1], "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// FindingsList renders findings as a Markdown list: location, message, fix.
func FindingsList(fs []report.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		loc := f.Location.String()
		if loc != "" {
			loc = "`" + Plain(loc, 120) + "`: "
		}
		fmt.Fprintf(&b, "- %s%s %s\n", loc, Plain(f.Message, 400), Plain(f.Fix, 300))
	}
	return b.String()
}
