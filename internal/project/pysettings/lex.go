package pysettings

import (
	"fmt"
	"strings"
)

// This file holds a small Python tokenizer: enough of Python's lexical
// grammar to find names, strings, numbers and operators with their
// positions, to join physical lines into logical ones (open brackets,
// backslash continuations, triple-quoted strings) and to split logical lines
// into statements. It never fails: what it cannot make sense of it skips,
// noting a problem.

type tokKind uint8

const (
	tkName tokKind = iota + 1
	tkNumber
	tkString
	tkOp
)

// token is one Python token. Strings keep their prefix and quotes in text.
type token struct {
	kind    tokKind
	text    string
	line    int // 1-based line of the first character
	col     int // 1-based column (in characters) of the first character
	endLine int // line of the last character
	off     int // byte offset of the first character
	end     int // byte offset just past the last character
	// pair is, for an opening bracket, the distance to its closing bracket
	// in the statement (0 when it is never closed).
	pair int
	// fields holds the tokens of each replacement field of an f-string.
	fields [][]token
}

func (t token) op(text string) bool   { return t.kind == tkOp && t.text == text }
func (t token) name(text string) bool { return t.kind == tkName && t.text == text }

// stmt is one simple or compound-statement header: the tokens of a logical
// line up to a top-level ';'.
type stmt struct {
	indent int // width of the logical line's indentation (tabs to 8)
	toks   []token
}

func (s stmt) endLine() int { return s.toks[len(s.toks)-1].endLine }

// problem is something the tokenizer could not read.
type problem struct {
	line, col int
	msg, fix  string
}

// maxFStringNesting bounds recursion into nested f-strings.
const maxFStringNesting = 20

type lexer struct {
	src      []byte
	i        int
	line     int
	col      int
	problems []problem
	nest     int
}

func (lx *lexer) peek(k int) byte {
	if lx.i+k < len(lx.src) {
		return lx.src[lx.i+k]
	}
	return 0
}

// adv consumes one byte, keeping line and column (in characters) right.
func (lx *lexer) adv() {
	b := lx.src[lx.i]
	lx.i++
	switch {
	case b == '\n':
		lx.line++
		lx.col = 1
	case b&0xC0 != 0x80: // not a UTF-8 continuation byte
		lx.col++
	}
}

func (lx *lexer) problemf(line, col int, fix, format string, args ...any) {
	lx.problems = append(lx.problems, problem{line: line, col: col, msg: fmt.Sprintf(format, args...), fix: fix})
}

var closerOf = map[string]string{"(": ")", "[": "]", "{": "}"}

// tokenize splits src into statements.
func tokenize(src []byte) ([]stmt, []problem) {
	lx := &lexer{src: src, line: 1, col: 1}
	// Skip a UTF-8 byte order mark.
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		lx.i = 3
	}
	out := make([]stmt, 0, len(src)/40+1)
	var cur []token   // the logical line being read (a reused buffer)
	var arena []token // holds the tokens of finished lines
	var open []token  // unclosed brackets
	indent, lineIndent := 0, 0
	atStart := true
	flush := func() {
		if len(cur) == 0 {
			return
		}
		if cap(arena)-len(arena) < len(cur) {
			arena = make([]token, 0, max(len(cur), len(src)/8+16))
		}
		base := len(arena)
		arena = append(arena, cur...)
		line := arena[base:len(arena):len(arena)]
		cur = cur[:0]
		pairUp(line)
		start := 0
		for k := 0; k < len(line); k++ {
			switch t := line[k]; {
			case t.pair > 0:
				k += t.pair
			case isOpener(t):
				k = len(line) // never closed: the rest is inside it
			case t.op(";"):
				if k > start {
					out = append(out, stmt{indent: lineIndent, toks: line[start:k:k]})
				}
				start = k + 1
			}
		}
		if start < len(line) {
			out = append(out, stmt{indent: lineIndent, toks: line[start:]})
		}
	}
	for lx.i < len(src) {
		if atStart {
			atStart = false
			w := 0
			for lx.i < len(src) {
				c := src[lx.i]
				if c == ' ' {
					w++
				} else if c == '\t' {
					w = (w/8 + 1) * 8
				} else if c == '\f' {
					w = 0
				} else {
					break
				}
				lx.adv()
			}
			indent = w
			continue
		}
		c := src[lx.i]
		switch {
		case c == '\n':
			lx.adv()
			if len(open) == 0 {
				flush()
				atStart = true
			}
		case c == ' ' || c == '\t' || c == '\f' || c == '\r' || c == '\v':
			lx.adv()
		case c == '#':
			for lx.i < len(src) && src[lx.i] != '\n' {
				lx.adv()
			}
		case c == '\\' && (lx.peek(1) == '\n' || (lx.peek(1) == '\r' && lx.peek(2) == '\n')):
			for src[lx.i] != '\n' {
				lx.adv()
			}
			lx.adv()
		default:
			t := lx.scanToken()
			if t.kind == 0 {
				continue
			}
			if len(cur) == 0 {
				lineIndent = indent
			}
			if t.kind == tkOp {
				switch t.text {
				case "(", "[", "{":
					open = append(open, t)
				case ")", "]", "}":
					if len(open) == 0 {
						lx.problemf(t.line, t.col, "Remove the extra bracket or add the opening one it should close.",
							"unmatched closing bracket %q", t.text)
						continue
					}
					top := open[len(open)-1]
					if closerOf[top.text] != t.text {
						lx.problemf(t.line, t.col, "Make the brackets match.",
							"closing bracket %q does not match %q opened at line %d", t.text, top.text, top.line)
					}
					open = open[:len(open)-1]
				}
			}
			cur = append(cur, t)
		}
	}
	for _, t := range open {
		lx.problemf(t.line, t.col, "Close the bracket.", "bracket %q is never closed", t.text)
	}
	flush()
	return out, lx.problems
}

// isOpener reports whether t is an opening bracket.
func isOpener(t token) bool {
	return t.kind == tkOp && (t.text == "(" || t.text == "[" || t.text == "{")
}

// pairUp sets the pair of every opening bracket closed in toks. A closing
// bracket closes the latest open one, whatever its kind, as the tokenizer
// does.
func pairUp(toks []token) {
	var stack []int
	for k := range toks {
		t := &toks[k]
		if t.kind != tkOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			stack = append(stack, k)
		case ")", "]", "}":
			if len(stack) > 0 {
				o := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				toks[o].pair = k - o
			}
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// threeOps and twoOps are Python's multi-character operators.
var threeOps = []string{"**=", "//=", ">>=", "<<=", "..."}
var twoOps = []string{"->", ":=", "==", "!=", "<=", ">=", "**", "//", "<<", ">>",
	"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@="}

// scanToken reads one token at the current position, which is not
// whitespace, a newline or a comment.
func (lx *lexer) scanToken() token {
	src := lx.src
	t := token{line: lx.line, col: lx.col, off: lx.i}
	c := src[lx.i]
	switch {
	case isIdentStart(c):
		for lx.i < len(src) && isIdentChar(src[lx.i]) {
			lx.adv()
		}
		word := string(src[t.off:lx.i])
		if lx.i < len(src) && (src[lx.i] == '"' || src[lx.i] == '\'') && isStringPrefix(word) {
			return lx.scanString(t, word)
		}
		t.kind, t.text = tkName, word
	case c >= '0' && c <= '9' || (c == '.' && lx.peek(1) >= '0' && lx.peek(1) <= '9'):
		for lx.i < len(src) {
			d := src[lx.i]
			if (d == '+' || d == '-') && lx.i > t.off && (src[lx.i-1] == 'e' || src[lx.i-1] == 'E') &&
				!strings.HasPrefix(strings.ToLower(string(src[t.off:lx.i])), "0x") {
				lx.adv()
				continue
			}
			if !(isIdentChar(d) || d == '.') || d >= 0x80 {
				break
			}
			lx.adv()
		}
		t.kind, t.text = tkNumber, string(src[t.off:lx.i])
	case c == '"' || c == '\'':
		return lx.scanString(t, "")
	default:
		n := 1
		for _, op := range threeOps {
			if strings.HasPrefix(string(src[lx.i:min(lx.i+3, len(src))]), op) {
				n = 3
				break
			}
		}
		if n == 1 {
			for _, op := range twoOps {
				if lx.i+2 <= len(src) && string(src[lx.i:lx.i+2]) == op {
					n = 2
					break
				}
			}
		}
		for k := 0; k < n; k++ {
			lx.adv()
		}
		t.kind, t.text = tkOp, string(src[t.off:lx.i])
	}
	t.end = lx.i
	t.endLine = lx.line
	return t
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "t", "br", "rb", "fr", "rf", "tr", "rt":
		return true
	}
	return false
}

// scanString reads a string literal whose prefix (possibly empty) starts t
// and whose opening quote is at the current position.
func (lx *lexer) scanString(t token, prefix string) token {
	src := lx.src
	q := src[lx.i]
	triple := lx.peek(1) == q && lx.peek(2) == q
	lp := strings.ToLower(prefix)
	isF := strings.ContainsAny(lp, "ft")
	n := 1
	if triple {
		n = 3
	}
	for k := 0; k < n; k++ {
		lx.adv()
	}
	t.kind = tkString
	closed := false
	for lx.i < len(src) {
		c := src[lx.i]
		if c == q && (!triple || (lx.peek(1) == q && lx.peek(2) == q)) {
			for k := 0; k < n; k++ {
				lx.adv()
			}
			closed = true
			break
		}
		switch {
		case c == '\\':
			lx.adv()
			if lx.i < len(src) {
				lx.adv()
			}
		case c == '\n' && !triple:
			lx.problemf(t.line, t.col, "Close the string on the same line, or use a triple-quoted string.",
				"string starting here is not closed before the end of the line")
			t.text = string(src[t.off:lx.i])
			t.end, t.endLine = lx.i, lx.line
			return t
		case isF && c == '{' && lx.peek(1) == '{':
			lx.adv()
			lx.adv()
		case isF && c == '{' && lx.nest < maxFStringNesting:
			lx.adv()
			lx.nest++
			t.fields = append(t.fields, lx.scanField(q, triple)...)
			lx.nest--
		default:
			lx.adv()
		}
	}
	if !closed && lx.i >= len(src) {
		lx.problemf(t.line, t.col, "Close the string.", "string starting here is never closed")
	}
	t.text = string(src[t.off:lx.i])
	t.end, t.endLine = lx.i, lx.line
	return t
}

// scanField reads an f-string replacement field after its '{' up to and
// including its '}', returning its tokens and those of nested fields in the
// format spec. It stops early, without consuming, at the string's closing
// quote when the field is not closed (so a broken f-string cannot swallow
// the file) and at a newline in a single-quoted string.
func (lx *lexer) scanField(q byte, triple bool) [][]token {
	fs := lx.scanFieldTokens(q, triple)
	if len(fs) > 0 {
		pairUp(fs[0])
	}
	return fs
}

func (lx *lexer) scanFieldTokens(q byte, triple bool) [][]token {
	src := lx.src
	var toks []token
	var nested [][]token
	depth := 0
	for lx.i < len(src) {
		c := src[lx.i]
		switch {
		case c == '\n' && !triple:
			return append([][]token{toks}, nested...)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			lx.adv()
		case c == '\\':
			lx.adv()
		case c == '}' && depth == 0:
			lx.adv()
			return append([][]token{toks}, nested...)
		case c == '!' && depth == 0 && lx.peek(1) != '=':
			lx.adv() // conversion: !r, !s, !a
		case c == ':' && depth == 0:
			// Format spec: literal text with nested fields, up to '}'.
			lx.adv()
			for lx.i < len(src) {
				d := src[lx.i]
				if d == '}' {
					lx.adv()
					return append([][]token{toks}, nested...)
				}
				if d == q || (d == '\n' && !triple) {
					return append([][]token{toks}, nested...)
				}
				if d == '{' && lx.nest < maxFStringNesting {
					lx.adv()
					lx.nest++
					nested = append(nested, lx.scanField(q, triple)...)
					lx.nest--
					continue
				}
				lx.adv()
			}
		default:
			if c == q && !triple && depth == 0 && !lx.quoteStartsNested(q) {
				return append([][]token{toks}, nested...)
			}
			lx.nest++
			t := lx.scanToken()
			lx.nest--
			if t.kind == tkOp {
				switch t.text {
				case "(", "[", "{":
					depth++
				case ")", "]", "}":
					depth--
				}
			}
			toks = append(toks, t)
		}
	}
	return append([][]token{toks}, nested...)
}

// quoteStartsNested reports whether the quote at the current position, the
// same as the enclosing f-string's, opens a nested string (Python 3.12
// allows that) rather than closing a broken field: it does when the same
// quote closes it later on the line and a '}' follows.
func (lx *lexer) quoteStartsNested(q byte) bool {
	src := lx.src
	j := lx.i + 1
	for j < len(src) && src[j] != q && src[j] != '\n' {
		if src[j] == '\\' {
			j++
		}
		j++
	}
	if j >= len(src) || src[j] != q {
		return false
	}
	for j++; j < len(src) && src[j] != '\n'; j++ {
		if src[j] == '}' {
			return true
		}
		if src[j] == q {
			return false
		}
	}
	return false
}
