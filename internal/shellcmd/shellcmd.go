// Package shellcmd splits shell command lines and scripts the way a POSIX
// shell would, with positions, using the mvdan.cc/sh parser: the argv of a
// fly.toml release_command or process, the simple commands of a Dockerfile
// RUN, and the command a wrapper such as `exec`, `env` or `sh -c` really runs.
package shellcmd

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// Word is one argument of a command, with where it stands in the script.
type Word struct {
	// Value is the argument after quote removal. A word that cannot be
	// resolved statically (a variable, a command substitution) keeps its
	// expansions as written, e.g. `--port=$PORT`.
	Value string
	// Offset is the byte offset of the word in the script given to Commands
	// or Split (for a command found inside `sh -c '...'`, the offset inside
	// the quoted string, shifted into the outer script).
	Offset int
	// Line and Col are the 1-based line and column (in characters) of Offset.
	Line, Col int
	// Dynamic is true when the word holds an expansion that could not be
	// resolved, so Value is (partly) source text.
	Dynamic bool
	// Expanded is true when Value came from expanding a variable whose value
	// is known (assigned earlier in the script, or given by the caller's
	// environment); all fields of one such word share its Offset.
	Expanded bool
}

// Command is one simple command of a script.
type Command struct {
	// Args is the argv: Args[i] == Words[i].Value.
	Args []string
	// Line and Col are the 1-based position of the command's first word.
	Line, Col int
	// Offset is the byte offset of the command's first word in the script.
	Offset int
	// Words are the arguments with their positions.
	Words []Word
}

// Error is a shell syntax problem at a position of the input.
type Error struct {
	// Line and Col are 1-based; Col counts characters.
	Line, Col int
	// Offset is the byte offset of the problem in the input.
	Offset int
	// Msg says what is wrong, in plain words.
	Msg string
}

// Error formats the error as "column C: msg" for a one-line input, else as
// "line L, column C: msg".
func (e *Error) Error() string {
	if e.Line <= 1 {
		return fmt.Sprintf("column %d: %s", e.Col, e.Msg)
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// maxDepth bounds how deep `sh -c` strings are followed.
const maxDepth = 8

// Split splits a command line into its argv as a POSIX shell would: quotes
// are removed and escapes resolved; an expansion that cannot be resolved
// statically (`$PORT`, `$(cmd)`) is kept as written.
//
// Split is for command lines run without a shell (fly.toml release_command
// and [processes]): it returns an *Error when the line does not parse
// (an unterminated quote, say) or when it is more than one simple command —
// operators such as `&&`, `|` and `;`, redirections, `VAR=value` prefixes and
// compound commands all need a shell, and a program started without one
// would get them as plain arguments. An empty line gives no words and no
// error.
func Split(cmdline string) ([]string, error) {
	f, err := parse(cmdline)
	if err != nil {
		return nil, err
	}
	if len(f.Stmts) == 0 {
		return nil, nil
	}
	idx := newLineIndex(cmdline)
	at := func(p syntax.Pos, msg string) error {
		return idx.errorAt(int(p.Offset()), msg)
	}
	st := f.Stmts[0]
	if len(f.Stmts) > 1 {
		if st.Semicolon.IsValid() && !st.Background {
			return nil, at(st.Semicolon, "`;` ends one command and starts another, which only a shell understands")
		}
		if !st.Background {
			return nil, at(f.Stmts[1].Pos(), "a second command starts here; only a shell runs several commands")
		}
	}
	switch {
	case st.Background:
		return nil, at(st.Semicolon, "`&` runs the command in the background, which only a shell understands")
	case st.Negated:
		return nil, at(st.Pos(), "`!` negates the exit status, which only a shell understands")
	case len(st.Redirs) > 0:
		r := st.Redirs[0]
		return nil, at(r.OpPos, fmt.Sprintf("redirection `%s` needs a shell", r.Op))
	}
	switch cmd := st.Cmd.(type) {
	case *syntax.CallExpr:
		if len(cmd.Assigns) > 0 {
			a := cmd.Assigns[0]
			return nil, at(a.Pos(), "a VAR=value prefix sets a variable only in a shell; use `env VAR=value command` instead")
		}
		c := &collector{src: cmdline}
		var args []string
		for _, w := range cmd.Args {
			for _, word := range c.words(w) {
				args = append(args, word.Value)
			}
		}
		return args, nil
	case *syntax.BinaryCmd:
		return nil, at(cmd.OpPos, fmt.Sprintf("`%s` joins two commands, which only a shell understands", cmd.Op))
	case nil:
		return nil, nil
	default:
		return nil, at(st.Pos(), "this is a shell compound command (a block, loop, test or subshell), not a simple command")
	}
}

// Commands returns every simple command of a script in source order. It
// descends into `&&`, `||`, `;`, pipes, subshells, blocks, `if`/`for`/`while`/
// `case` bodies, functions, command substitutions and the strings given to
// `sh -c` / `bash -c` (recursively; such a command is replaced by the
// commands of its string, also behind wrappers like `exec` or `env`).
// `export`/`declare` clauses are listed as commands too.
//
// Variables assigned earlier in the script (`DEPS="gcc libpq-dev"`) are
// expanded with word splitting; other expansions are kept as written (see
// Word.Dynamic). A script that does not parse gives an *Error.
func Commands(script string) ([]Command, error) {
	return CommandsEnv(script, nil)
}

// CommandsEnv is Commands with an environment: env reports the value of a
// variable the script does not assign itself (for a Dockerfile RUN, the
// stage's ENV and ARG values). A nil env knows no variable.
func CommandsEnv(script string, env func(name string) (string, bool)) ([]Command, error) {
	cmds, err := commands(script, env, 0)
	if err != nil {
		return nil, err
	}
	idx := newLineIndex(script)
	for i := range cmds {
		c := &cmds[i]
		for j := range c.Words {
			w := &c.Words[j]
			w.Line, w.Col = idx.pos(w.Offset)
		}
		c.Line, c.Col = idx.pos(c.Offset)
	}
	return cmds, nil
}

// commands parses src and collects its commands with offsets into src.
func commands(src string, env func(string) (string, bool), depth int) ([]Command, error) {
	f, err := parse(src)
	if err != nil {
		return nil, err
	}
	c := &collector{src: src, env: env, depth: depth, vars: map[string]variable{}}
	syntax.Walk(f, c.visit)
	return c.out, nil
}

// parse parses src as a Bash script (a superset of what /bin/sh accepts in
// practice), turning a parse error into an *Error.
func parse(src string) (*syntax.File, error) {
	p := syntax.NewParser(syntax.Variant(syntax.LangBash))
	f, err := p.Parse(strings.NewReader(src), "")
	if err != nil {
		return nil, toError(src, err)
	}
	return f, nil
}

// toError converts a parser error into an *Error with a plain message.
func toError(src string, err error) *Error {
	idx := newLineIndex(src)
	var pe syntax.ParseError
	var ppe *syntax.ParseError
	var le syntax.LangError
	var ple *syntax.LangError
	switch {
	case errors.As(err, &pe):
		return idx.errorAt(int(pe.Pos.Offset()), plainMessage(pe.Text))
	case errors.As(err, &ppe):
		return idx.errorAt(int(ppe.Pos.Offset()), plainMessage(ppe.Text))
	case errors.As(err, &le):
		return idx.errorAt(int(le.Pos.Offset()), le.Error())
	case errors.As(err, &ple):
		return idx.errorAt(int(ple.Pos.Offset()), ple.Error())
	}
	return &Error{Line: 1, Col: 1, Msg: err.Error()}
}

// plainMessage rewords the parser's most common messages.
func plainMessage(text string) string {
	switch text {
	case "reached EOF without closing quote `\"`":
		return `unterminated double quote: the " opened here is never closed`
	case "reached EOF without closing quote `'`":
		return `unterminated single quote: the ' opened here is never closed`
	case "reached EOF without closing quote ```":
		return "unterminated backquote: the ` opened here is never closed"
	case "reached EOF without matching `$(` with `)`":
		return "unterminated command substitution: the $( opened here has no closing )"
	case "reached EOF without matching `${` with `}`":
		return "unterminated parameter expansion: the ${ opened here has no closing }"
	}
	return text
}

// variable is what the collector knows of a shell variable.
type variable struct {
	value string
	known bool
}

// collector walks a parsed script and gathers its commands.
type collector struct {
	src   string
	env   func(string) (string, bool)
	vars  map[string]variable
	depth int
	out   []Command
}

// lookup reports the known value of a variable.
func (c *collector) lookup(name string) (string, bool) {
	if v, ok := c.vars[name]; ok {
		return v.value, v.known
	}
	if c.env != nil {
		return c.env(name)
	}
	return "", false
}

// Get implements expand.Environ over the known variables.
func (c *collector) Get(name string) expand.Variable {
	if v, ok := c.lookup(name); ok {
		return expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: v}
	}
	return expand.Variable{}
}

// Each implements expand.Environ over the script's own variables.
func (c *collector) Each(fn func(name string, vr expand.Variable) bool) {
	for name, v := range c.vars {
		if v.known && !fn(name, expand.Variable{Set: true, Kind: expand.String, Str: v.value}) {
			return
		}
	}
}

func (c *collector) visit(node syntax.Node) bool {
	switch n := node.(type) {
	case *syntax.CallExpr:
		if len(n.Args) == 0 {
			for _, a := range n.Assigns {
				c.assign(a)
			}
			return true
		}
		c.call(n)
	case *syntax.DeclClause:
		c.decl(n)
	case *syntax.ForClause:
		if it, ok := n.Loop.(*syntax.WordIter); ok && it.Name != nil {
			c.vars[it.Name.Value] = variable{}
		}
	}
	return true
}

// assign records a shell variable assignment.
func (c *collector) assign(a *syntax.Assign) {
	if a.Name == nil {
		return
	}
	name := a.Name.Value
	if a.Array != nil || a.Index != nil || a.Append || a.Naked {
		if !a.Naked {
			c.vars[name] = variable{}
		}
		return
	}
	if a.Value == nil {
		c.vars[name] = variable{known: true}
		return
	}
	if isStatic(a.Value) {
		c.vars[name] = variable{value: c.render(a.Value.Parts, false), known: true}
		return
	}
	if c.resolvable(a.Value.Parts) {
		if v, err := expand.Literal(&expand.Config{Env: c}, a.Value); err == nil {
			c.vars[name] = variable{value: v, known: true}
			return
		}
	}
	c.vars[name] = variable{}
}

// decl lists an export/declare/local/readonly clause as a command and
// records its assignments.
func (c *collector) decl(d *syntax.DeclClause) {
	cmd := Command{Offset: int(d.Pos().Offset())}
	cmd.Words = append(cmd.Words, Word{Value: d.Variant.Value, Offset: int(d.Variant.Pos().Offset())})
	for _, a := range d.Args {
		off := int(a.Pos().Offset())
		switch {
		case a.Naked && a.Name != nil:
			cmd.Words = append(cmd.Words, Word{Value: a.Name.Value, Offset: off})
		case a.Naked && a.Value != nil:
			cmd.Words = append(cmd.Words, c.words(a.Value)...)
		case a.Name != nil:
			c.assign(a)
			text := c.src[off:int(a.End().Offset())]
			val := text
			if v, ok := c.vars[a.Name.Value]; ok && v.known {
				val = a.Name.Value + "=" + v.value
			}
			cmd.Words = append(cmd.Words, Word{Value: val, Offset: off, Dynamic: val == text && strings.ContainsAny(text, "$`")})
		}
	}
	for _, w := range cmd.Words {
		cmd.Args = append(cmd.Args, w.Value)
	}
	c.out = append(c.out, cmd)
}

// call lists a simple command, or the commands of its `sh -c` string.
func (c *collector) call(x *syntax.CallExpr) {
	cmd := Command{Offset: int(x.Args[0].Pos().Offset())}
	for _, w := range x.Args {
		cmd.Words = append(cmd.Words, c.words(w)...)
	}
	if len(cmd.Words) == 0 {
		return
	}
	for _, w := range cmd.Words {
		cmd.Args = append(cmd.Args, w.Value)
	}
	if c.depth < maxDepth {
		if inner, ok := c.shellString(cmd); ok {
			c.out = append(c.out, inner...)
			return
		}
	}
	c.out = append(c.out, cmd)
}

// shellString returns the commands of the string given to `sh -c` when cmd
// runs one (possibly behind wrappers), with offsets moved into c.src.
func (c *collector) shellString(cmd Command) ([]Command, bool) {
	rest := stripWrappers(cmd.Args)
	if len(rest) == 0 || len(rest) > len(cmd.Args) {
		return nil, false
	}
	base := len(cmd.Args) - len(rest)
	if !equal(rest, cmd.Args[base:]) {
		return nil, false
	}
	k, ok := shellScriptIndex(rest)
	if !ok {
		return nil, false
	}
	w := cmd.Words[base+k]
	if w.Dynamic || w.Expanded {
		return nil, false
	}
	inner, err := commands(w.Value, c.env, c.depth+1)
	if err != nil || len(inner) == 0 {
		return nil, false
	}
	// Find where the string's text starts inside the quoted word and the
	// word's end, to move inner offsets into the outer script.
	start := w.Offset
	if start < len(c.src) && c.src[start] == '$' {
		start++
	}
	if start < len(c.src) && (c.src[start] == '\'' || c.src[start] == '"') {
		start++
	}
	end := len(c.src)
	for _, xw := range cmd.Words {
		if xw.Offset > w.Offset && xw.Offset < end {
			end = xw.Offset
		}
	}
	shift := func(off int) int {
		o := start + off
		if o >= end {
			o = end - 1
		}
		if o < w.Offset {
			o = w.Offset
		}
		return o
	}
	for i := range inner {
		inner[i].Offset = shift(inner[i].Offset)
		for j := range inner[i].Words {
			inner[i].Words[j].Offset = shift(inner[i].Words[j].Offset)
		}
	}
	return inner, true
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// words resolves one shell word into zero or more arguments.
func (c *collector) words(w *syntax.Word) []Word {
	off := int(w.Pos().Offset())
	if isStatic(w) {
		return []Word{{Value: c.render(w.Parts, false), Offset: off}}
	}
	if c.vars != nil && c.resolvable(w.Parts) {
		if fields, err := expand.Fields(&expand.Config{Env: c}, w); err == nil {
			out := make([]Word, 0, len(fields))
			for _, f := range fields {
				out = append(out, Word{Value: f, Offset: off, Expanded: true})
			}
			return out
		}
	}
	return []Word{{Value: c.render(w.Parts, false), Offset: off, Dynamic: true}}
}

// render removes quotes from the static parts of a word and keeps the
// dynamic ones as written.
func (c *collector) render(parts []syntax.WordPart, inDouble bool) string {
	var b strings.Builder
	for _, p := range parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(unescape(p.Value, inDouble))
		case *syntax.SglQuoted:
			if !p.Dollar {
				b.WriteString(p.Value)
				continue
			}
			if v, err := expand.Literal(nil, &syntax.Word{Parts: []syntax.WordPart{p}}); err == nil {
				b.WriteString(v)
				continue
			}
			b.WriteString(c.text(p))
		case *syntax.DblQuoted:
			b.WriteString(c.render(p.Parts, true))
		default:
			b.WriteString(c.text(p))
		}
	}
	return b.String()
}

// unescape applies the shell's backslash rules to literal text: outside
// quotes a backslash keeps the next character (and a backslash-newline
// disappears); inside double quotes only $ ` " \ and newline are escaped.
func unescape(s string, inDouble bool) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch != '\\' || i+1 == len(s) {
			b.WriteByte(ch)
			continue
		}
		next := s[i+1]
		switch {
		case next == '\n':
			i++
		case !inDouble || strings.IndexByte("$`\"\\", next) >= 0:
			b.WriteByte(next)
			i++
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// text returns the source text of a node.
func (c *collector) text(n syntax.Node) string {
	start, end := int(n.Pos().Offset()), int(n.End().Offset())
	if start < 0 || end > len(c.src) || start > end {
		return ""
	}
	return c.src[start:end]
}

// isStatic reports whether a word holds no expansion at all.
func isStatic(w *syntax.Word) bool {
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit, *syntax.SglQuoted:
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				if _, ok := q.(*syntax.Lit); !ok {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// resolvable reports whether every expansion in parts is a plain parameter
// expansion of a known variable.
func (c *collector) resolvable(parts []syntax.WordPart) bool {
	for _, p := range parts {
		switch p := p.(type) {
		case *syntax.Lit, *syntax.SglQuoted:
		case *syntax.DblQuoted:
			if !c.resolvable(p.Parts) {
				return false
			}
		case *syntax.ParamExp:
			if p.Param == nil || p.Excl || p.Index != nil || p.Slice != nil || p.Repl != nil || p.Names != 0 {
				return false
			}
			if _, ok := c.lookup(p.Param.Value); !ok {
				return false
			}
			if p.Exp != nil && p.Exp.Word != nil && !isStatic(p.Exp.Word) && !c.resolvable(p.Exp.Word.Parts) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// lineIndex maps byte offsets of a text to 1-based lines and columns.
type lineIndex struct {
	src    string
	starts []int
}

func newLineIndex(src string) lineIndex {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return lineIndex{src: src, starts: starts}
}

// pos returns the line and the column in characters of a byte offset.
func (x lineIndex) pos(off int) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > len(x.src) {
		off = len(x.src)
	}
	i := sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	return i + 1, utf8.RuneCountInString(x.src[x.starts[i]:off]) + 1
}

func (x lineIndex) errorAt(off int, msg string) *Error {
	line, col := x.pos(off)
	return &Error{Line: line, Col: col, Offset: off, Msg: msg}
}
