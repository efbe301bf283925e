package pydeps

import (
	"fmt"
	"strings"
)

// syntaxErr is a problem found in a requirement string: the byte offset it
// is at, what is wrong and, when known, how to fix it.
type syntaxErr struct {
	pos int
	msg string
	fix string
}

// pep508 is a parsed PEP 508 dependency specifier. Offsets are byte
// offsets into the parsed string.
type pep508 struct {
	name      string
	namePos   int
	extras    []string
	spec      string
	specPos   int
	url       string
	urlPos    int
	marker    string
	markerPos int
}

// reqParser scans a requirement string.
type reqParser struct {
	s    string
	i    int
	name string // the requirement's name, for fixes
}

func (r *reqParser) eof() bool { return r.i >= len(r.s) }

func (r *reqParser) peek() byte {
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

// skipWS skips spaces and tabs, the only whitespace PEP 508 allows.
func (r *reqParser) skipWS() {
	for r.i < len(r.s) && (r.s[r.i] == ' ' || r.s[r.i] == '\t') {
		r.i++
	}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isNameChar(c byte) bool { return isAlnum(c) || c == '.' || c == '-' || c == '_' }

func isOpStart(c byte) bool { return c == '<' || c == '>' || c == '=' || c == '!' || c == '~' }

// ident scans a PEP 508 identifier (a project or extra name). It starts
// with a letter or digit and does not end with "." or "-".
func (r *reqParser) ident() string {
	start := r.i
	if r.eof() || !isAlnum(r.s[r.i]) {
		return ""
	}
	for r.i < len(r.s) && isNameChar(r.s[r.i]) {
		r.i++
	}
	for r.i > start+1 && (r.s[r.i-1] == '.' || r.s[r.i-1] == '-') {
		r.i--
	}
	return r.s[start:r.i]
}

// op scans a PEP 440 comparison operator.
func (r *reqParser) op() string {
	for _, op := range pep440Ops {
		if strings.HasPrefix(r.s[r.i:], op) {
			r.i += len(op)
			return op
		}
	}
	return ""
}

// version scans the version after op.
func (r *reqParser) version(op string) string {
	start := r.i
	for r.i < len(r.s) {
		c := r.s[r.i]
		if op == "===" {
			if c == ' ' || c == '\t' || c == ';' || c == ')' {
				break
			}
		} else if !(isAlnum(c) || strings.IndexByte("._+!*-", c) >= 0) {
			break
		}
		r.i++
	}
	return r.s[start:r.i]
}

// badOperator explains an operator PEP 440 does not have, written at the
// parser's position, or returns nil.
func (r *reqParser) badOperator() *syntaxErr {
	name := r.name
	rest := r.s[r.i:]
	ver := strings.TrimLeft(strings.TrimLeft(rest, "=<>!~^"), " \t")
	if i := strings.IndexAny(ver, " \t,;)"); i >= 0 {
		ver = ver[:i]
	}
	switch {
	case strings.HasPrefix(rest, "=>"):
		return &syntaxErr{pos: r.i, msg: `"=>" is not a valid operator`, fix: fmt.Sprintf("Write >= instead: %s>=%s.", name, ver)}
	case strings.HasPrefix(rest, "=<"):
		return &syntaxErr{pos: r.i, msg: `"=<" is not a valid operator`, fix: fmt.Sprintf("Write <= instead: %s<=%s.", name, ver)}
	case strings.HasPrefix(rest, "="):
		return &syntaxErr{pos: r.i, msg: `"=" is not a valid operator`, fix: fmt.Sprintf("Use == to pin a version: %s==%s.", name, ver)}
	case strings.HasPrefix(rest, "~"):
		return &syntaxErr{pos: r.i, msg: `"~" is not a valid operator (it is Poetry or npm syntax)`, fix: fmt.Sprintf("Use ~=%s for a compatible release, or == to pin.", ver)}
	case strings.HasPrefix(rest, "^"):
		return &syntaxErr{pos: r.i, msg: `"^" is not a valid operator (it is Poetry or npm syntax)`, fix: "Write the range out, e.g. ^1.2 becomes >=1.2,<2."}
	case strings.HasPrefix(rest, "!"):
		return &syntaxErr{pos: r.i, msg: `"!" is not a valid operator`, fix: fmt.Sprintf("Use != to exclude a version: %s!=%s.", name, ver)}
	}
	return nil
}

// versionMany scans a comma-separated list of specifier clauses. A
// trailing comma is accepted, as packaging does.
func (r *reqParser) versionMany() *syntaxErr {
	first := true
	for {
		opPos := r.i
		op := r.op()
		if op == "" {
			if first {
				if e := r.badOperator(); e != nil {
					return e
				}
				return &syntaxErr{pos: opPos, msg: "expected a version specifier like >=1.0"}
			}
			return nil
		}
		r.skipWS()
		ver := r.version(op)
		if msg := validateClause(op, ver); msg != "" {
			return &syntaxErr{pos: opPos, msg: msg, fix: fmt.Sprintf("Write a PEP 440 specifier, e.g. %s==1.2.3, %s>=1.2,<2 or %s~=1.2.", r.name, r.name, r.name)}
		}
		r.skipWS()
		if r.peek() != ',' {
			return nil
		}
		r.i++
		r.skipWS()
		first = false
	}
}

// parsePEP508 parses a PEP 508 dependency specifier as packaging does:
// name [extras] (specifier | @ url) [; marker]. emptyMarker allows a ";"
// with nothing after it (pip's requirement lines accept it).
func parsePEP508(s string, emptyMarker bool) (pep508, *syntaxErr) {
	var q pep508
	r := &reqParser{s: s}
	r.skipWS()
	q.namePos = r.i
	q.name = r.ident()
	r.name = q.name
	if q.name == "" {
		return q, &syntaxErr{pos: r.i, msg: "expected a package name at the start of the requirement",
			fix: "Start the line with a project name, e.g. requests>=2.31, or use -r/-e for files and editable installs."}
	}
	r.skipWS()
	if r.peek() == '[' {
		if e := r.extras(&q); e != nil {
			return q, e
		}
		r.skipWS()
	}
	if r.eof() {
		return q, nil
	}
	switch c := r.peek(); {
	case c == '@':
		r.i++
		r.skipWS()
		q.urlPos = r.i
		for r.i < len(s) && s[r.i] != ' ' && s[r.i] != '\t' {
			r.i++
		}
		q.url = s[q.urlPos:r.i]
		if q.url == "" {
			return q, &syntaxErr{pos: q.urlPos, msg: "expected a URL after @", fix: "Write name @ https://… or name @ file:///…."}
		}
		r.skipWS()
		if r.eof() {
			return q, nil
		}
		if r.peek() != ';' {
			return q, &syntaxErr{pos: r.i, msg: fmt.Sprintf("unexpected %q after the URL", s[r.i:]),
				fix: "Only an environment marker may follow a URL, after a space and a semicolon: name @ url ; python_version < \"3.12\"."}
		}
	case c == '(':
		open := r.i
		r.i++
		r.skipWS()
		q.specPos = r.i
		if r.peek() != ')' {
			if e := r.versionMany(); e != nil {
				return q, e
			}
		}
		q.spec = strings.TrimSpace(s[q.specPos:r.i])
		r.skipWS()
		if r.peek() != ')' {
			return q, &syntaxErr{pos: r.i, msg: fmt.Sprintf("the ( at column %d is not closed", open+1), fix: "Close the parenthesis, or drop it: name>=1,<2."}
		}
		r.i++
	case isOpStart(c):
		q.specPos = r.i
		if e := r.versionMany(); e != nil {
			return q, e
		}
		q.spec = strings.TrimSpace(s[q.specPos:r.i])
	case c == ';':
	case c == '^':
		return q, r.badOperator()
	default:
		msg := fmt.Sprintf("unexpected %q after the name %q", s[r.i:], q.name)
		fix := "Write name, then an optional [extras], a version specifier like >=1.0 and an optional ; marker."
		if r.i > 0 && (s[r.i-1] == ' ' || s[r.i-1] == '\t') && isAlnum(c) {
			fix = "Put one requirement per line."
		} else if c == '-' || c == '.' {
			fix = "A project name cannot end with \"-\" or \".\"; check the spelling."
		}
		return q, &syntaxErr{pos: r.i, msg: msg, fix: fix}
	}
	r.skipWS()
	if r.eof() {
		return q, nil
	}
	if r.peek() != ';' {
		fix := "Separate version clauses with commas, and start a marker with \";\"."
		if isOpStart(r.peek()) {
			fix = fmt.Sprintf("Separate version clauses with a comma: %s%s,%s.", q.name, q.spec, strings.TrimSpace(s[r.i:]))
		} else if isAlnum(r.peek()) {
			fix = "Put one requirement per line, and start an environment marker with \";\"."
		}
		return q, &syntaxErr{pos: r.i, msg: fmt.Sprintf("unexpected %q after the version specifier", s[r.i:]), fix: fix}
	}
	r.i++
	q.markerPos = r.i
	q.marker = strings.TrimSpace(s[r.i:])
	for q.markerPos < len(s) && (s[q.markerPos] == ' ' || s[q.markerPos] == '\t') {
		q.markerPos++
	}
	if q.marker == "" {
		if emptyMarker {
			return q, nil
		}
		return q, &syntaxErr{pos: r.i, msg: "expected an environment marker after \";\"", fix: "Remove the \";\" or write a marker like python_version < \"3.12\"."}
	}
	if e := parseMarker(q.marker); e != nil {
		e.pos += q.markerPos
		return q, e
	}
	return q, nil
}

// extras scans "[a, b]".
func (r *reqParser) extras(q *pep508) *syntaxErr {
	open := r.i
	r.i++
	r.skipWS()
	if r.peek() == ']' {
		r.i++
		return nil
	}
	for {
		e := r.ident()
		if e == "" {
			return &syntaxErr{pos: r.i, msg: "expected an extra name inside [ ]", fix: "Write extras as names separated by commas: name[extra1,extra2]."}
		}
		q.extras = append(q.extras, e)
		r.skipWS()
		switch c := r.peek(); {
		case c == ',':
			r.i++
			r.skipWS()
		case c == ']':
			r.i++
			return nil
		case isAlnum(c):
			return &syntaxErr{pos: r.i, msg: "expected a comma between extra names", fix: "Separate extras with commas: name[extra1,extra2]."}
		default:
			return &syntaxErr{pos: open, msg: "the [ of the extras is not closed by ]", fix: "Close the extras list: name[extra1,extra2]."}
		}
	}
}

// markerVars are the environment marker variables packaging knows.
var markerVars = map[string]bool{
	"python_version": true, "python_full_version": true,
	"os_name": true, "os.name": true, "sys_platform": true, "sys.platform": true,
	"platform_release": true, "platform_system": true,
	"platform_version": true, "platform.version": true,
	"platform_machine": true, "platform.machine": true,
	"platform_python_implementation": true, "platform.python_implementation": true,
	"python_implementation": true, "implementation_name": true, "implementation_version": true,
	"extra": true, "extras": true, "dependency_groups": true,
}

// markerParser checks the grammar of an environment marker.
type markerParser struct {
	s string
	i int
}

// parseMarker checks an environment marker; positions in the returned
// error are byte offsets into s.
func parseMarker(s string) *syntaxErr {
	p := &markerParser{s: s}
	if e := p.or(0); e != nil {
		return e
	}
	p.ws()
	if p.i < len(p.s) {
		return &syntaxErr{pos: p.i, msg: fmt.Sprintf("unexpected %q in the environment marker", p.s[p.i:]),
			fix: "Join conditions with and / or, e.g. python_version >= \"3.8\" and sys_platform == \"linux\"."}
	}
	return nil
}

func (p *markerParser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func isWordChar(c byte) bool { return isAlnum(c) || c == '_' }

// keyword consumes kw when it is at the position as a whole word.
func (p *markerParser) keyword(kw string) bool {
	if !strings.HasPrefix(p.s[p.i:], kw) {
		return false
	}
	end := p.i + len(kw)
	if end < len(p.s) && isWordChar(p.s[end]) {
		return false
	}
	if p.i > 0 && isWordChar(p.s[p.i-1]) {
		return false
	}
	p.i = end
	return true
}

// maxMarkerDepth bounds parenthesis nesting.
const maxMarkerDepth = 100

func (p *markerParser) or(depth int) *syntaxErr {
	if e := p.and(depth); e != nil {
		return e
	}
	for {
		save := p.i
		p.ws()
		if !p.keyword("or") {
			p.i = save
			return nil
		}
		if e := p.and(depth); e != nil {
			return e
		}
	}
}

func (p *markerParser) and(depth int) *syntaxErr {
	if e := p.atom(depth); e != nil {
		return e
	}
	for {
		save := p.i
		p.ws()
		if !p.keyword("and") {
			p.i = save
			return nil
		}
		if e := p.atom(depth); e != nil {
			return e
		}
	}
}

func (p *markerParser) atom(depth int) *syntaxErr {
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '(' {
		if depth >= maxMarkerDepth {
			return &syntaxErr{pos: p.i, msg: "the environment marker nests parentheses too deeply"}
		}
		open := p.i
		p.i++
		if e := p.or(depth + 1); e != nil {
			return e
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return &syntaxErr{pos: open, msg: "the ( in the environment marker is not closed", fix: "Close the parenthesis."}
		}
		p.i++
		return nil
	}
	return p.item()
}

func (p *markerParser) item() *syntaxErr {
	if e := p.value(); e != nil {
		return e
	}
	p.ws()
	if e := p.op(); e != nil {
		return e
	}
	p.ws()
	return p.value()
}

// value scans a marker variable or a quoted string.
func (p *markerParser) value() *syntaxErr {
	p.ws()
	if p.i >= len(p.s) {
		return &syntaxErr{pos: p.i, msg: "the environment marker ends early: expected a marker variable or a quoted string",
			fix: "Complete the condition, e.g. python_version < \"3.12\"."}
	}
	if q := p.s[p.i]; q == '"' || q == '\'' {
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			return &syntaxErr{pos: p.i, msg: "a quoted string in the environment marker is not closed", fix: "Close the quote."}
		}
		p.i += end + 2
		return nil
	}
	start := p.i
	for p.i < len(p.s) && (isWordChar(p.s[p.i]) || p.s[p.i] == '.') {
		p.i++
	}
	word := p.s[start:p.i]
	if markerVars[word] {
		return nil
	}
	p.i = start
	fix := "Use a marker variable such as python_version, sys_platform or platform_machine, and quote values."
	if word != "" && (word[0] >= '0' && word[0] <= '9') {
		fix = fmt.Sprintf("Quote the value: \"%s\".", word)
	} else if word != "" {
		fix = fmt.Sprintf("%q is not a marker variable; use one of python_version, python_full_version, sys_platform, platform_system, platform_machine, os_name, implementation_name, or quote a value.", word)
	}
	shown := word
	if shown == "" {
		shown = p.s[p.i:]
	}
	return &syntaxErr{pos: start, msg: fmt.Sprintf("expected a marker variable or a quoted string, found %q", shown), fix: fix}
}

// op scans a marker comparison operator.
func (p *markerParser) op() *syntaxErr {
	for _, op := range pep440Ops {
		if strings.HasPrefix(p.s[p.i:], op) {
			p.i += len(op)
			return nil
		}
	}
	if p.keyword("in") {
		return nil
	}
	save := p.i
	if p.keyword("not") {
		p.ws()
		if p.keyword("in") {
			return nil
		}
	}
	p.i = save
	fix := "Compare with ==, !=, <, <=, >, >=, ~=, in or not in."
	if strings.HasPrefix(p.s[p.i:], "=") {
		fix = "Use == to compare."
	}
	return &syntaxErr{pos: p.i, msg: "expected a comparison operator in the environment marker", fix: fix}
}
