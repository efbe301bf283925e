package alembic

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A small Python tokenizer: enough to read module-level assignments and
// calls in a migration module without a Python interpreter. It knows
// strings (all prefixes, triple quotes, escapes), comments, brackets,
// backslash continuations and logical lines; it does not check grammar.

type tokKind int

const (
	tokName tokKind = iota
	tokString
	tokNumber
	tokOp
)

type token struct {
	kind    tokKind
	text    string // source text (for a string: as written, with quotes)
	val     string // decoded value of a string literal
	fstring bool   // the string has an f prefix (val is its raw template)
	bytes   bool   // the string has a b prefix
	line    int
	col     int // 1-based, in characters
	endLine int
}

// logicalLine is one Python logical line: the tokens between two NEWLINEs.
type logicalLine struct {
	indent int // width of the leading blanks (tab = to next multiple of 8)
	toks   []token
}

// syntaxProblem is a tokenizing error Python would raise as SyntaxError.
type syntaxProblem struct {
	line, col int
	msg       string
}

type pyScanner struct {
	src      string
	pos      int
	line     int
	lineOff  int // byte offset where the current line starts
	depth    int
	opens    []token // open brackets, for error positions
	all      []token // every token; logical lines are ranges of it
	bounds   [][2]int
	indents  []int
	start    int  // index in all where the current logical line starts
	indent   int  // indent of the current logical line
	atStart  bool // no token yet on this logical line
	problems []syntaxProblem
}

// scanPython splits src into logical lines of tokens.
func scanPython(src string) ([]logicalLine, []syntaxProblem) {
	src = strings.TrimPrefix(src, "\ufeff")
	s := &pyScanner{src: src, line: 1, atStart: true, all: make([]token, 0, len(src)/6+1)}
	s.run()
	lines := make([]logicalLine, len(s.bounds))
	for i, b := range s.bounds {
		lines[i] = logicalLine{indent: s.indents[i], toks: s.all[b[0]:b[1]:b[1]]}
	}
	return lines, s.problems
}

func (s *pyScanner) col(off int) int {
	if off < s.lineOff {
		return 1
	}
	return utf8.RuneCountInString(s.src[s.lineOff:off]) + 1
}

func (s *pyScanner) newline(off int) {
	s.line++
	s.lineOff = off
}

func (s *pyScanner) endLogical() {
	if len(s.all) > s.start {
		s.bounds = append(s.bounds, [2]int{s.start, len(s.all)})
		s.indents = append(s.indents, s.indent)
	}
	s.start = len(s.all)
	s.atStart = true
}

func (s *pyScanner) emit(t token) {
	if s.atStart {
		s.indent = s.indentOf(s.lineOff)
		s.atStart = false
	}
	if t.endLine == 0 {
		t.endLine = t.line
	}
	s.all = append(s.all, t)
}

func (s *pyScanner) indentOf(off int) int {
	w := 0
	for i := off; i < len(s.src); i++ {
		switch s.src[i] {
		case ' ':
			w++
		case '\t':
			w = (w/8 + 1) * 8
		case '\f':
			w = 0
		default:
			return w
		}
	}
	return w
}

func (s *pyScanner) run() {
	src := s.src
	for s.pos < len(src) {
		c := src[s.pos]
		switch {
		case c == '\n' || c == '\r':
			s.pos++
			if c == '\r' && s.pos < len(src) && src[s.pos] == '\n' {
				s.pos++
			}
			if s.depth == 0 {
				s.endLogical()
			}
			s.newline(s.pos)
		case c == ' ' || c == '\t' || c == '\f':
			s.pos++
		case c == '#':
			for s.pos < len(src) && src[s.pos] != '\n' && src[s.pos] != '\r' {
				s.pos++
			}
		case c == '\\':
			s.pos++
			if s.pos < len(src) && (src[s.pos] == '\n' || src[s.pos] == '\r') {
				if src[s.pos] == '\r' && s.pos+1 < len(src) && src[s.pos+1] == '\n' {
					s.pos++
				}
				s.pos++
				s.newline(s.pos)
			}
		case isQuote(c):
			s.str(s.pos, s.pos)
		case isIdentStart(c) && s.identAt(s.pos):
			start := s.pos
			for s.pos < len(src) {
				r, n := utf8.DecodeRuneInString(src[s.pos:])
				if !isIdentRune(r) {
					break
				}
				s.pos += n
			}
			word := src[start:s.pos]
			if s.pos < len(src) && isQuote(src[s.pos]) && isStringPrefix(word) {
				s.str(start, s.pos)
				continue
			}
			s.emit(token{kind: tokName, text: word, line: s.line, col: s.col(start)})
		case c >= '0' && c <= '9' || c == '.' && s.pos+1 < len(src) && src[s.pos+1] >= '0' && src[s.pos+1] <= '9':
			start := s.pos
			for s.pos < len(src) && (isIdentByte(src[s.pos]) || src[s.pos] == '.') {
				s.pos++
			}
			s.emit(token{kind: tokNumber, text: src[start:s.pos], line: s.line, col: s.col(start)})
		default:
			s.op()
		}
	}
	if s.depth > 0 && len(s.opens) > 0 {
		o := s.opens[len(s.opens)-1]
		s.problems = append(s.problems, syntaxProblem{o.line, o.col, "'" + o.text + "' was never closed"})
	}
	s.endLogical()
}

var ops3 = []string{"**=", "//=", ">>=", "<<=", "..."}
var ops2 = []string{"->", ":=", "==", "!=", "<=", ">=", "**", "//", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@="}

func (s *pyScanner) op() {
	src := s.src
	start := s.pos
	text := ""
	if strings.IndexByte("*/<>-:=!+%&|^@.", src[start]) < 0 {
		_, n := utf8.DecodeRuneInString(src[start:])
		text = src[start : start+n]
	}
	for _, o := range ops3 {
		if text != "" {
			break
		}
		if strings.HasPrefix(src[start:], o) {
			text = o
			break
		}
	}
	if text == "" {
		for _, o := range ops2 {
			if strings.HasPrefix(src[start:], o) {
				text = o
				break
			}
		}
	}
	if text == "" {
		_, n := utf8.DecodeRuneInString(src[start:])
		text = src[start : start+n]
	}
	s.pos += len(text)
	t := token{kind: tokOp, text: text, line: s.line, col: s.col(start)}
	switch text {
	case "(", "[", "{":
		s.depth++
		s.opens = append(s.opens, t)
	case ")", "]", "}":
		if s.depth == 0 {
			s.problems = append(s.problems, syntaxProblem{t.line, t.col, "unmatched '" + text + "'"})
		} else {
			s.depth--
			s.opens = s.opens[:len(s.opens)-1]
		}
	}
	s.emit(t)
}

// str scans a string literal whose prefix starts at start and whose opening
// quote is at q.
func (s *pyScanner) str(start, q int) {
	src := s.src
	prefix := strings.ToLower(src[start:q])
	raw := strings.Contains(prefix, "r")
	quote := src[q]
	triple := strings.HasPrefix(src[q:], strings.Repeat(string(quote), 3))
	t := token{kind: tokString, line: s.line, col: s.col(start), fstring: strings.Contains(prefix, "f"), bytes: strings.Contains(prefix, "b")}
	body := q + 1
	if triple {
		body = q + 3
	}
	i := body
	closed := false
	for i < len(src) {
		c := src[i]
		if c == '\\' {
			i++
			if i < len(src) {
				if src[i] == '\r' && i+1 < len(src) && src[i+1] == '\n' {
					i++
				}
				if src[i] == '\n' || src[i] == '\r' {
					s.newline(i + 1)
				}
				i++
			}
			continue
		}
		if c == '\n' || c == '\r' {
			if !triple {
				break
			}
			if c == '\r' && i+1 < len(src) && src[i+1] == '\n' {
				i++
			}
			i++
			s.newline(i)
			continue
		}
		if c == quote {
			if !triple {
				t.text = src[start : i+1]
				t.val = decodeString(src[body:i], raw)
				s.pos = i + 1
				closed = true
				break
			}
			if strings.HasPrefix(src[i:], strings.Repeat(string(quote), 3)) {
				t.text = src[start : i+3]
				t.val = decodeString(src[body:i], raw)
				s.pos = i + 3
				closed = true
				break
			}
		}
		i++
	}
	if !closed {
		what := "unterminated string literal"
		if triple {
			what = "unterminated triple-quoted string literal"
		}
		s.problems = append(s.problems, syntaxProblem{t.line, t.col, what})
		t.text = src[start:i]
		t.val = decodeString(src[body:i], raw)
		s.pos = i
	}
	t.endLine = s.line
	s.emit(t)
}

// decodeString applies Python's escape sequences to a literal's body (or
// only line continuations when raw).
func decodeString(body string, raw bool) string {
	if strings.IndexByte(body, '\\') < 0 {
		return normalizeNewlines(body)
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			continue
		}
		n := body[i+1]
		if raw {
			b.WriteByte(c)
			b.WriteByte(n)
			i++
			continue
		}
		i++
		switch n {
		case '\n':
		case '\r':
			if i+1 < len(body) && body[i+1] == '\n' {
				i++
			}
		case '\\', '\'', '"':
			b.WriteByte(n)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case 'x', 'u', 'U':
			w := map[byte]int{'x': 2, 'u': 4, 'U': 8}[n]
			if i+1+w <= len(body) {
				if v, err := strconv.ParseUint(body[i+1:i+1+w], 16, 32); err == nil && v <= unicode.MaxRune {
					b.WriteRune(rune(v))
					i += w
					continue
				}
			}
			b.WriteByte('\\')
			b.WriteByte(n)
		default:
			b.WriteByte('\\')
			b.WriteByte(n)
		}
	}
	return normalizeNewlines(b.String())
}

func normalizeNewlines(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// identAt reports whether an identifier starts at off (its first rune is a
// letter or "_").
func (s *pyScanner) identAt(off int) bool {
	r, _ := utf8.DecodeRuneInString(s.src[off:])
	return isIdentRune(r) && !unicode.IsDigit(r)
}

func isQuote(c byte) bool { return c == '\'' || c == '"' }

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf", "t", "tr", "rt":
		return true
	}
	return false
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentByte(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9'
}

func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Pc, r)
}
