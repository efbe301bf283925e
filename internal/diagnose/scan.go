package diagnose

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/coregx/ahocorasick"

	"github.com/grupo-gad/deploy-action/internal/report"
)

const (
	// chunkSize is how much of a streamed log is scanned at a time.
	chunkSize = 4 << 20
	// margin is how much of the log is kept before and after the scanned
	// chunk, for Match.Before and Match.After.
	margin = 64 << 10
	// maxFindings caps the distinct findings of one log.
	maxFindings = 200
	// maxQuote is the longest quote of a log line, in runes.
	maxQuote = 200
)

// entry is a finding being built, with the parts of its message.
type entry struct {
	f      Finding
	quote  string
	cause  string
	notes  []string
	inMig  bool
	migRef string
	last   int // the last log line that matched
}

// scan is the state of one log's diagnosis.
type scan struct {
	d       *Diagnoser
	ctx     report.PhaseName
	migLine int
	migText string
	line    int // number of the line at the current position (1-based)
	found   map[string]*entry
	refined map[string]string // signature, pattern key, context → finding key
	list    []*entry
	capped  int
	seen    []int // scratch: signature indexes of the current line
}

func (d *Diagnoser) newScan() *scan {
	return &scan{d: d, ctx: d.opt.Phase, line: 1, found: map[string]*entry{}, refined: map[string]string{}}
}

// region scans the lines of buf[lo:hi] (lo at the start of a line, hi just
// after a line's end unless the log ends there) and returns where the next
// region starts: hi, or beyond it when the last matched line runs on.
// buf[:lo] and buf[hi:] are read as context only.
//
// The automaton runs once over the region; literals never span lines, so
// every line holding one yields at least one of its non-overlapping
// matches, and only those lines are looked at.
func (s *scan) region(buf []byte, lo, hi int) int {
	i := lo
	for _, j := range s.hits(buf, lo, hi) {
		if j < i {
			continue // on a line already scanned
		}
		ls := i + bytes.LastIndexByte(buf[i:j], '\n') + 1
		s.line += bytes.Count(buf[i:ls], nl)
		le := bytes.IndexByte(buf[j:], '\n')
		if le < 0 {
			le = len(buf)
		} else {
			le += j
		}
		s.scanLine(buf, ls, le)
		if le >= len(buf) {
			return le
		}
		i = le + 1
		s.line++
	}
	if i < hi {
		s.line += bytes.Count(buf[i:hi], nl)
		return hi
	}
	return i
}

var nl = []byte{'\n'}

// parallelMin is the smallest region whose literal search is split across
// CPUs.
const parallelMin = 256 << 10

// hits returns the offsets in buf of the literals found in buf[lo:hi], in
// order: the automaton's non-overlapping matches. A large region is cut at
// line ends into one part per CPU (at most four), searched concurrently.
func (s *scan) hits(buf []byte, lo, hi int) []int {
	ac := s.d.cat.ac
	parts := min(runtime.GOMAXPROCS(0), 4)
	if hi-lo < parallelMin || parts < 2 {
		return offsets(ac.FindAll(buf[lo:hi], -1), lo)
	}
	bounds := []int{lo}
	for k := 1; k < parts; k++ {
		cut := lo + (hi-lo)*k/parts
		if nlAt := bytes.IndexByte(buf[cut:hi], '\n'); nlAt >= 0 && cut+nlAt+1 > bounds[len(bounds)-1] {
			bounds = append(bounds, cut+nlAt+1)
		}
	}
	bounds = append(bounds, hi)
	results := make([][]int, len(bounds)-1)
	var wg sync.WaitGroup
	for k := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, b := bounds[k], bounds[k+1]
			results[k] = offsets(ac.FindAll(buf[a:b], -1), a)
		}()
	}
	wg.Wait()
	var out []int
	for _, r := range results {
		out = append(out, r...)
	}
	return out
}

// offsets returns the start of each match, shifted by base.
func offsets(ms []ahocorasick.Match, base int) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = base + m.Start
	}
	return out
}

// scanLine applies the markers and signatures whose literals occur in
// buf[ls:le].
func (s *scan) scanLine(buf []byte, ls, le int) {
	c := s.d.cat
	raw := buf[ls:le]
	s.seen = s.seen[:0]
	var text string
	for _, hit := range c.ac.FindAllOverlapping(raw) {
		for _, o := range c.owners[hit.PatternID] {
			if o < 0 {
				s.marker(c.markers[-1-o], raw)
				continue
			}
			if !slices.Contains(s.seen, o) {
				s.seen = append(s.seen, o)
			}
		}
	}
	if len(s.seen) == 0 {
		return
	}
	text = cleanLine(raw)
	slices.Sort(s.seen)
	for _, si := range s.seen {
		s.try(c.sigs[si], text, buf, ls, le)
	}
}

// marker applies a context marker.
func (s *scan) marker(m Marker, raw []byte) {
	if m.Phase != "" {
		s.ctx = m.Phase
	}
	switch {
	case m.Migration > 0:
		s.migLine = s.line
		s.migText = shorten(strings.TrimSpace(cleanLine(raw)), 120)
	case m.Migration < 0:
		s.migLine, s.migText = 0, ""
	}
}

// try matches one signature against a line and records the finding.
func (s *scan) try(sig *Signature, text string, buf []byte, ls, le int) {
	var quote string
	var vars map[string]string
	if len(sig.Patterns) == 0 {
		for _, l := range sig.Literals {
			if strings.Contains(text, l) {
				quote = l
				break
			}
		}
		if quote == "" {
			return // the literal was cut by colour codes
		}
	} else {
		matched := false
		for _, p := range sig.Patterns {
			loc := p.FindStringSubmatchIndex(text)
			if loc == nil {
				continue
			}
			matched = true
			quote = text[loc[0]:loc[1]]
			for gi, name := range p.SubexpNames() {
				if name != "" && loc[2*gi] >= 0 && loc[2*gi+1] > loc[2*gi] {
					if vars == nil {
						vars = map[string]string{}
					}
					vars[name] = text[loc[2*gi]:loc[2*gi+1]]
				}
			}
			break
		}
		if !matched {
			return
		}
	}
	m := &Match{
		Sig: sig, Line: s.line, Text: text, Quote: quote, Vars: vars, Context: s.ctx,
		MigrationLine: s.migLine, Migration: s.migText,
		cat: s.d.cat, buf: buf, ls: ls, le: le,
	}
	m.setPhase()
	// A line already diagnosed the same way is counted without running
	// Refine again (a crash loop repeats its error thousands of times).
	pre := sig.ID + "\x00" + vars[sig.Key] + "\x00" + string(s.ctx)
	if s.migLine > 0 {
		pre += "\x00m"
	}
	if key, ok := s.refined[pre]; ok {
		s.count(s.found[key], m.Line)
		return
	}
	if sig.Refine != nil && !sig.Refine(m) {
		return
	}
	key := m.Sig.ID + "\x00" + m.Vars[m.Sig.Key]
	defer func() {
		if s.found[key] != nil {
			s.refined[pre] = key
		}
	}()
	if e := s.found[key]; e != nil {
		s.count(e, m.Line)
		return
	}
	if len(s.list) >= maxFindings {
		s.capped++
		return
	}
	e := s.d.build(m)
	e.last = m.Line
	s.found[key] = e
	s.list = append(s.list, e)
}

// count records another line of an existing finding. Lines next to each
// other (a traceback frame and its source line, an error and its
// restatement) are one occurrence.
func (s *scan) count(e *entry, line int) {
	if line > e.last+2 {
		e.f.Count++
	}
	e.last = line
}

// build turns a match into a finding entry, resolving the repository
// pointer.
func (d *Diagnoser) build(m *Match) *entry {
	sig := m.Sig
	vars := m.Vars
	sev := sig.Severity
	if m.Severity != "" {
		sev = m.Severity
	}
	cause := sig.Cause
	if m.Cause != "" {
		cause = m.Cause
	}
	fix := sig.Fix
	if m.Fix != "" {
		fix = m.Fix
	}
	quote := m.Quote
	if sig.Quote != "" {
		quote = sig.Quote
	}
	e := &entry{
		quote: shorten(redact(strings.TrimSpace(quote)), maxQuote),
		cause: expand(cause, vars),
		inMig: m.inMig,
	}
	if m.inMig {
		e.migRef = fmt.Sprintf("The last migration the log shows starting (`%s`, log line %d) never finished: the app runs its migrations when it boots, and they crash it.",
			redact(m.Migration), m.MigrationLine)
	}
	e.f = Finding{
		Finding: report.Finding{
			Rule: sig.ID, Severity: sev,
			Title: expand(sig.Title, vars),
			Fix:   expand(fix, vars),
		},
		Phase: m.Phase, RootPhase: m.Root,
		LogLine: m.Line, Count: 1,
		Platform: sig.Platform, Symptom: sig.Symptom,
	}
	if m.inMig {
		e.f.Fix = "Run the migrations as fly.toml's [deploy] release_command (a failure then stops the deploy before any machine is touched), and read the migration's error above this line. " + e.f.Fix
	}
	if p := d.opt.Project; p != nil && sig.Point != nil {
		if ptr := sig.Point(p, m); ptr.Loc.File != "" || ptr.Note != "" {
			e.f.Location = ptr.Loc
			if ptr.Note != "" {
				e.notes = append(e.notes, ptr.Note)
			}
		}
	}
	if e.f.File == "" && d.opt.LogName != "" && m.Line > 0 {
		e.f.Location = report.At(d.opt.LogName, m.Line, 0)
		e.f.Column = 0
	}
	return e
}

// add records an entry built outside a scan.
func (s *scan) add(e *entry) { s.list = append(s.list, e) }

// finish relates the findings to each other (look-alike logs, symptoms and
// their causes), writes their messages and returns the result.
func (s *scan) finish(n int64, partial bool) Result {
	lines := s.line - 1
	if partial {
		lines++
	}
	s.lookalike()
	s.escalateListen()
	s.relateSymptoms()
	sort.SliceStable(s.list, func(i, j int) bool { return s.list[i].f.LogLine < s.list[j].f.LogLine })
	out := make([]Finding, 0, len(s.list))
	for _, e := range s.list {
		out = append(out, e.finalize())
	}
	if s.capped > 0 && len(out) > 0 {
		last := &out[len(out)-1]
		last.Message += fmt.Sprintf(" (%d more matching lines were not reported: at most %d findings are kept per log.)", s.capped, maxFindings)
	}
	if len(out) == 0 {
		out = nil
	}
	return Result{Findings: out, Lines: lines, Bytes: n}
}

// finalize writes the entry's message.
func (e *entry) finalize() Finding {
	var b strings.Builder
	if e.f.LogLine > 0 {
		fmt.Fprintf(&b, "Log line %d", e.f.LogLine)
		if e.f.Count > 1 {
			fmt.Fprintf(&b, " (and %d more %s)", e.f.Count-1, plural(e.f.Count-1, "time"))
		}
		b.WriteString(": ")
	}
	if e.quote != "" {
		fmt.Fprintf(&b, "`%s`. ", strings.ReplaceAll(e.quote, "`", "'"))
	}
	b.WriteString(sentence(e.cause))
	if e.migRef != "" {
		b.WriteString(" " + e.migRef)
	}
	for _, n := range e.notes {
		b.WriteString(" " + sentence(n))
	}
	f := e.f
	f.Message = b.String()
	return f
}

// lookalikeSpan is how many lines around a look-alike's signature are
// taken to come from that other system.
const lookalikeSpan = 50

// lookalike handles output that is not from Fly.io at all: the findings
// within lookalikeSpan lines of the Concourse CLI's signature are dropped
// (their lines are about that system) and listed in its notice.
func (s *scan) lookalike() {
	var notices []*entry
	for _, e := range s.list {
		if e.f.Rule == "log-not-flyio" {
			notices = append(notices, e)
		}
	}
	if len(notices) == 0 {
		return
	}
	near := func(e *entry) *entry {
		for _, n := range notices {
			if e.f.LogLine >= n.f.LogLine-lookalikeSpan && e.f.LogLine <= n.last+lookalikeSpan {
				return n
			}
		}
		return nil
	}
	dropped := map[*entry][]string{}
	phase := map[*entry]report.PhaseName{}
	kept := s.list[:0]
	for _, e := range s.list {
		n := near(e)
		if n == nil || e.f.Rule == "log-not-flyio" {
			kept = append(kept, e)
			continue
		}
		if phase[n] == "" {
			phase[n] = e.f.Phase
		}
		dropped[n] = append(dropped[n], fmt.Sprintf("%q (log line %d)", e.f.Title, e.f.LogLine))
	}
	s.list = kept
	for _, n := range notices {
		n.f.Phase = phase[n]
		if n.f.Phase == "" {
			n.f.Phase = report.Deploy
		}
		if len(dropped[n]) > 0 {
			n.notes = append(n.notes, "Lines near it that would otherwise read as Fly.io failures are about that system and were not diagnosed: "+strings.Join(dropped[n], "; ")+".")
		}
	}
}

var healthFailures = []string{"log-health-timeout", "log-no-healthy-instances", "log-smoke-crash"}

// escalateListen turns flyctl's listening-address warning into an error
// when the same log shows the health checks failing afterwards.
func (s *scan) escalateListen() {
	for _, e := range s.list {
		if e.f.Rule != "log-listen-warning" && e.f.Rule != "log-listen-nothing" {
			continue
		}
		for _, h := range s.list {
			if slices.Contains(healthFailures, h.f.Rule) && h.f.LogLine > e.f.LogLine {
				e.f.Severity = report.Error
				e.notes = append(e.notes, fmt.Sprintf("The health checks then failed (log line %d), so this was not a slow start: the app did not listen on that address.", h.f.LogLine))
				break
			}
		}
	}
}

// relateSymptoms tells, for each generic failure line, whether the log
// shows a cause.
func (s *scan) relateSymptoms() {
	for _, e := range s.list {
		if !e.f.Symptom || e.inMig || e.f.LogLine == 0 {
			continue
		}
		var cause *entry
		for _, c := range s.list {
			if c.f.Symptom || c.f.Severity == report.Notice {
				continue
			}
			if cause == nil || (c.f.LogLine <= e.f.LogLine && (cause.f.LogLine > e.f.LogLine || c.f.LogLine > cause.f.LogLine)) {
				cause = c
			}
		}
		if cause != nil {
			e.notes = append(e.notes, fmt.Sprintf("The cause this log shows: %q (log line %d).", cause.f.Title, cause.f.LogLine))
			continue
		}
		switch e.f.Phase {
		case report.Build:
			e.notes = append(e.notes, "No known cause appears in this log: the reason is in the build step's output before this line.")
		case report.Release:
			e.notes = append(e.notes, "No known cause appears in this log: the reason is in the release command's output before this line (the release machine's logs: `fly logs -a <app>`).")
		default:
			e.notes = append(e.notes, "No known cause appears in this log: the reason is in the output before this line (for the machines' own output, `fly logs -a <app>`).")
		}
	}
}

// stream diagnoses r chunk by chunk.
func (d *Diagnoser) stream(r io.Reader, chunk int) (Result, error) {
	s := d.newScan()
	buf := make([]byte, 0, chunk+2*margin)
	lo := 0
	var total int64
	eof := false
	for {
		for !eof && len(buf) < lo+chunk+margin {
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			total += int64(n)
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return s.finish(total, false), fmt.Errorf("read log: %w", err)
			}
		}
		if eof {
			s.region(buf, lo, len(buf))
			return s.finish(total, len(buf) > 0 && buf[len(buf)-1] != '\n'), nil
		}
		limit := len(buf) - margin
		hi := bytes.LastIndexByte(buf[lo:limit], '\n')
		if hi < 0 {
			hi = limit // a line longer than the chunk: scan it in pieces
		} else {
			hi += lo + 1
		}
		next := min(s.region(buf, lo, hi), len(buf))
		keep := max(0, next-margin)
		buf = buf[:copy(buf, buf[keep:])]
		lo = next - keep
	}
}

// sentence returns s ending with a full stop (or other closing mark).
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	switch s[len(s)-1] {
	case '.', '!', '?':
		return s
	}
	return s + "."
}

// shorten cuts s to n runes, with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
