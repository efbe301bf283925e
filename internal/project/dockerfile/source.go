package dockerfile

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// segment says that text[off:] (up to the next segment) comes from the
// source at line, starting at column col (1-based, in characters).
type segment struct {
	off, line, col int
}

// mapped is a piece of text built from Dockerfile lines (an instruction with
// its continuation lines joined, or a heredoc body) that remembers where each
// byte came from.
type mapped struct {
	text string
	segs []segment
}

// pos returns the source line and column of a byte offset of m.text.
func (m mapped) pos(off int) (line, col int) {
	if len(m.segs) == 0 {
		return 0, 0
	}
	if off < 0 {
		off = 0
	}
	if off > len(m.text) {
		off = len(m.text)
	}
	i := sort.Search(len(m.segs), func(i int) bool { return m.segs[i].off > off }) - 1
	if i < 0 {
		i = 0
	}
	s := m.segs[i]
	from := min(s.off, off)
	return s.line, s.col + utf8.RuneCountInString(m.text[from:off])
}

// sub returns the part of m from off on.
func (m mapped) sub(off int) mapped {
	if off <= 0 {
		return m
	}
	if off > len(m.text) {
		off = len(m.text)
	}
	line, col := m.pos(off)
	out := mapped{text: m.text[off:], segs: []segment{{0, line, col}}}
	for _, s := range m.segs {
		if s.off > off {
			out.segs = append(out.segs, segment{s.off - off, s.line, s.col})
		}
	}
	return out
}

// index returns the offset of the first s in m.text at or after from, or -1.
func (m mapped) index(from int, s string) int {
	if from < 0 {
		from = 0
	}
	if from > len(m.text) || s == "" {
		return -1
	}
	i := strings.Index(m.text[from:], s)
	if i < 0 {
		return -1
	}
	return from + i
}

// source holds the Dockerfile's lines.
type source struct {
	lines []string // without line endings
	cont  *regexp.Regexp
}

func newSource(data []byte, escape rune) *source {
	text := string(data)
	lines := strings.Split(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r\n")
	}
	e := regexp.QuoteMeta(string(escape))
	return &source{
		lines: lines,
		cont:  regexp.MustCompile(`([^` + e + `])` + e + `[ \t]*$|^` + e + `[ \t]*$`),
	}
}

// line returns the text of a 1-based line.
func (s *source) line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	return s.lines[n-1]
}

// indent returns the 1-based column of the first non-blank character of a
// line.
func (s *source) indent(n int) int {
	l := s.line(n)
	return utf8.RuneCountInString(l[:len(l)-len(strings.TrimLeftFunc(l, unicode.IsSpace))]) + 1
}

// trimCont removes a trailing line-continuation escape; more is true when
// there was one.
func (s *source) trimCont(l string) (string, bool) {
	loc := s.cont.FindStringSubmatchIndex(l)
	if loc == nil {
		return l, false
	}
	if loc[2] >= 0 {
		return l[:loc[3]], true
	}
	return l[:loc[0]], true
}

func isCommentLine(l string) bool {
	return strings.HasPrefix(strings.TrimLeftFunc(l, unicode.IsSpace), "#")
}

// join rebuilds the logical line of the instruction starting at line start
// the way BuildKit does (continuations joined, comment and empty lines
// inside a continuation dropped, leading blanks kept on continuation lines)
// and returns it with its source positions and its last physical line.
func (s *source) join(start int) (mapped, int) {
	var m mapped
	var b strings.Builder
	first := s.line(start)
	trimmed := strings.TrimLeftFunc(first, unicode.IsSpace)
	col := utf8.RuneCountInString(first[:len(first)-len(trimmed)]) + 1
	text, more := s.trimCont(trimmed)
	m.segs = append(m.segs, segment{0, start, col})
	b.WriteString(text)
	last := start
	for n := start + 1; more && n <= len(s.lines); n++ {
		last = n
		l := s.line(n)
		if isCommentLine(l) || strings.TrimLeftFunc(l, unicode.IsSpace) == "" {
			continue
		}
		text, more = s.trimCont(l)
		m.segs = append(m.segs, segment{b.Len(), n, 1})
		b.WriteString(text)
	}
	m.text = b.String()
	return m, last
}

// lines maps a text whose first line is the source line first and whose
// following lines follow in the source one by one (a heredoc body).
func lines(text string, first int) mapped {
	m := mapped{text: text, segs: []segment{{0, first, 1}}}
	n := first
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' && i+1 < len(text) {
			n++
			m.segs = append(m.segs, segment{i + 1, n, 1})
		}
	}
	return m
}
