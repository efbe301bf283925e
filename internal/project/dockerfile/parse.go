package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/shellcmd"
)

// maxRecoveries bounds how many broken instructions Parse skips over.
const maxRecoveries = 50

// Parse parses a Dockerfile. relPath is the file's path relative to the
// validated directory (used in locations). Content that Docker would refuse
// gives error findings of rule RuleSyntax at their line, and the model holds
// every instruction that could still be read; Parse never fails otherwise.
// Parser warnings (such as empty continuation lines) are not findings.
func Parse(relPath string, data []byte) (*File, []report.Finding) {
	f := &File{Path: relPath}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	data = validUTF8(data)
	res, findings := parseAST(relPath, data)
	if res == nil {
		return f, findings
	}
	b := &builder{file: f, src: newSource(data, res.EscapeToken), escape: res.EscapeToken}
	for _, node := range res.AST.Children {
		if fd, ok := b.node(node); !ok {
			findings = append(findings, fd)
		}
	}
	b.finish()
	return f, findings
}

// validUTF8 replaces each byte that is not valid UTF-8 (a Latin-1 comment,
// say) with U+FFFD, on which BuildKit's word lexer would print to stderr;
// one character for one, so columns, which count characters, do not move.
func validUTF8(data []byte) []byte {
	if utf8.Valid(data) {
		return data
	}
	out := make([]byte, 0, len(data)+16)
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, data[:size]...)
		}
		data = data[size:]
	}
	return out
}

// parseAST runs BuildKit's parser. When it stops at a broken instruction,
// the instruction's lines are blanked out and the rest is parsed again, so
// one mistake does not hide the whole file.
func parseAST(relPath string, data []byte) (*parser.Result, []report.Finding) {
	var findings []report.Finding
	cur := data
	for range maxRecoveries {
		res, err := parser.Parse(bytes.NewReader(cur))
		if err == nil {
			return res, findings
		}
		start, end := errLines(err)
		msg := cleanMessage(err)
		if msg == "file with no instructions" {
			if len(findings) > 0 {
				return nil, findings
			}
			return nil, append(findings, report.Finding{
				Rule: RuleSyntax, Severity: report.Error,
				Location: report.At(relPath, 1, 1),
				Title:    "Dockerfile has no instructions",
				Message:  "The Dockerfile is empty or holds only comments, so there is nothing to build.",
				Fix:      "Write the build instructions, starting with a FROM line such as `FROM python:3.12-slim`, or point [build].dockerfile in fly.toml at the right file.",
			})
		}
		if strings.Contains(msg, "parser directive") || strings.Contains(msg, "escape token") {
			start, end = start+1, start+1 // BuildKit counts these from 0
		}
		if start < 1 {
			start = 1
		}
		if end < start {
			end = start
		}
		findings = append(findings, syntaxFinding(relPath, start, end, msg, fixFor(msg)))
		next := blank(cur, start, end)
		if bytes.Equal(next, cur) {
			return nil, findings
		}
		cur = next
	}
	return nil, findings
}

// errLines returns the line range BuildKit attached to an error.
func errLines(err error) (start, end int) {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		r := le.Locations[0]
		return r[0].Start.Line, r[len(r)-1].End.Line
	}
	return 0, 0
}

// cleanMessage returns BuildKit's message without its wrapping.
func cleanMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "dockerfile parse error on line "); i >= 0 {
		if j := strings.Index(msg[i:], ": "); j >= 0 {
			msg = msg[i+j+2:]
		}
	}
	return msg
}

// fixFor suggests a fix for a BuildKit error message.
func fixFor(msg string) string {
	switch {
	case strings.HasPrefix(msg, "unknown instruction"):
		return "Use a Dockerfile instruction (FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, EXPOSE, CMD, ENTRYPOINT, ...). If this line continues the instruction above it, end the line before with a backslash (\\)."
	case strings.Contains(msg, "unterminated heredoc"):
		return "End the heredoc with a line holding only its terminator word (e.g. EOF), with no indentation unless it was opened with <<-."
	case strings.Contains(msg, "JSON array"), strings.Contains(msg, "arrays must be comprised of strings"):
		return `Write the exec form as a JSON array of double-quoted strings, e.g. CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8080"].`
	case strings.Contains(msg, "no build stage"):
		return "Start the Dockerfile with a FROM instruction; only ARG may come before the first FROM."
	case strings.Contains(msg, "FROM requires"), strings.Contains(msg, "invalid name for build stage"):
		return "Write FROM as `FROM image[:tag] [AS name]`, with a stage name in lower case starting with a letter."
	case strings.Contains(msg, "parser directive"), strings.Contains(msg, "escape token"):
		return "Keep each parser directive (# syntax=, # escape=) once, at the very top of the file; the escape character must be \\ or `."
	}
	return "Correct the instruction so that it follows the Dockerfile reference (https://docs.docker.com/reference/dockerfile/)."
}

// syntaxFinding builds a RuleSyntax finding.
func syntaxFinding(file string, start, end int, msg, fix string) report.Finding {
	loc := report.At(file, start, 1)
	loc.EndLine = end
	return report.Finding{
		Rule: RuleSyntax, Severity: report.Error, Location: loc,
		Title:   "Dockerfile syntax error",
		Message: fmt.Sprintf("Docker cannot parse line %d: %s.", start, strings.TrimSuffix(msg, ".")),
		Fix:     fix,
	}
}

// blank replaces lines start..end (1-based, inclusive; end past the last
// line blanks to the end) with empty lines, keeping the line count.
func blank(data []byte, start, end int) []byte {
	lines := bytes.SplitAfter(data, []byte("\n"))
	var out bytes.Buffer
	for i, l := range lines {
		n := i + 1
		if n >= start && n <= end {
			if bytes.HasSuffix(l, []byte("\n")) {
				out.WriteByte('\n')
			}
			continue
		}
		out.Write(l)
	}
	return out.Bytes()
}

// builder turns AST nodes into the model.
type builder struct {
	file       *File
	src        *source
	escape     rune
	stage      *Stage
	globals    map[string]string // global ARG defaults
	noStageErr bool
}

// env is a shell.EnvGetter over a map.
type env map[string]string

func (e env) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e env) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	return keys
}

// expand substitutes known variables in a Dockerfile word the way BuildKit
// does, leaving unknown ones as written; quotes are removed.
func (b *builder) expand(word string, vars map[string]string) string {
	lex := shell.NewLex(b.escape)
	lex.SkipUnsetEnv = true
	out, _, err := lex.ProcessWord(word, env(vars))
	if err != nil {
		return word
	}
	return out
}

// expandUnset is expand with unknown variables taken as unset (so that
// ${PORT:-8080} gives 8080), as Docker does when no --build-arg is given.
func (b *builder) expandUnset(word string, vars map[string]string) string {
	lex := shell.NewLex(b.escape)
	out, _, err := lex.ProcessWord(word, env(vars))
	if err != nil {
		return word
	}
	return out
}

// loc returns the location of a node: its first line and indentation, to
// its last line.
func (b *builder) loc(n *parser.Node) report.Location {
	l := report.At(b.file.Path, n.StartLine, b.src.indent(n.StartLine))
	l.EndLine = n.EndLine
	return l
}

// node adds one instruction to the model; ok is false with a finding when
// Docker would refuse it.
func (b *builder) node(n *parser.Node) (report.Finding, bool) {
	inst, err := instructions.ParseInstruction(n)
	if err != nil {
		msg := cleanMessage(err)
		var unknown *instructions.UnknownInstructionError
		if errors.As(err, &unknown) {
			msg = fmt.Sprintf("unknown instruction %q", unknown.Instruction)
			if strings.Contains(err.Error(), "did you mean") {
				msg = err.Error()
			}
		}
		fd := syntaxFinding(b.file.Path, n.StartLine, n.EndLine, msg, fixFor(msg))
		fd.Column = b.src.indent(n.StartLine)
		return fd, false
	}
	if st, ok := inst.(*instructions.Stage); ok {
		b.from(n, st)
		return report.Finding{}, true
	}
	if a, ok := inst.(*instructions.ArgCommand); ok && b.stage == nil {
		b.globalArg(n, a)
		return report.Finding{}, true
	}
	if b.stage == nil {
		if b.noStageErr {
			return report.Finding{}, true
		}
		b.noStageErr = true
		msg := fmt.Sprintf("%s comes before any FROM (no build stage in current context)", strings.ToUpper(n.Value))
		fd := syntaxFinding(b.file.Path, n.StartLine, n.EndLine, msg, fixFor("no build stage"))
		fd.Column = b.src.indent(n.StartLine)
		return fd, false
	}
	s := b.stage
	s.Loc.EndLine = n.EndLine
	switch c := inst.(type) {
	case *instructions.ArgCommand:
		b.stageArg(n, c)
	case *instructions.EnvCommand:
		b.envVars(n, c)
	case *instructions.RunCommand:
		b.run(n, c)
	case *instructions.CmdCommand:
		s.Cmd = b.command(n, c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		s.Entrypoint = b.command(n, c.ShellDependantCmdLine)
	case *instructions.CopyCommand:
		s.Copies = append(s.Copies, b.copyOf("COPY", n, c.From, c.Chown, c.SourcesAndDest))
	case *instructions.AddCommand:
		s.Copies = append(s.Copies, b.copyOf("ADD", n, "", c.Chown, c.SourcesAndDest))
	case *instructions.ExposeCommand:
		b.expose(n)
	case *instructions.WorkdirCommand:
		dir := b.expand(c.Path, s.env)
		if path.IsAbs(dir) || s.Workdir == "" {
			s.Workdir = path.Clean(dir)
		} else {
			s.Workdir = path.Join(s.Workdir, dir)
		}
		s.WorkdirLoc = b.loc(n)
	case *instructions.UserCommand:
		s.User = b.expand(c.User, s.env)
		s.UserLoc = b.loc(n)
	}
	return report.Finding{}, true
}

// copyOf builds a Copy, with known variables expanded.
func (b *builder) copyOf(inst string, n *parser.Node, from, chown string, sd instructions.SourcesAndDest) Copy {
	vars := b.stage.env
	c := Copy{Instruction: inst, From: b.expand(from, vars), Dest: b.expand(sd.DestPath, vars), Chown: b.expand(chown, vars), Loc: b.loc(n)}
	for _, src := range sd.SourcePaths {
		c.Sources = append(c.Sources, b.expand(src, vars))
	}
	for _, sc := range sd.SourceContents {
		c.Sources = append(c.Sources, "<<"+sc.Path)
	}
	return c
}

// globalArg records an ARG before the first FROM.
func (b *builder) globalArg(n *parser.Node, c *instructions.ArgCommand) {
	if b.globals == nil {
		b.globals = map[string]string{}
	}
	m, _ := b.src.join(n.StartLine)
	for _, a := range b.args(n, m, c) {
		b.file.GlobalArgs = append(b.file.GlobalArgs, a)
		if a.HasDefault {
			b.globals[a.Name] = b.expand(a.Default, b.globals)
		}
	}
}

// stageArg records an ARG inside a stage.
func (b *builder) stageArg(n *parser.Node, c *instructions.ArgCommand) {
	s := b.stage
	m, _ := b.src.join(n.StartLine)
	for _, a := range b.args(n, m, c) {
		s.Args = append(s.Args, a)
		switch {
		case a.HasDefault:
			s.env[a.Name] = b.expand(a.Default, s.env)
		default:
			if v, ok := b.globals[a.Name]; ok {
				s.env[a.Name] = v
			}
		}
	}
}

// args converts ARG key/values, locating each name.
func (b *builder) args(n *parser.Node, m mapped, c *instructions.ArgCommand) []Arg {
	var out []Arg
	from := len(strings.Fields(m.text)[0])
	for _, kv := range c.Args {
		a := Arg{Name: kv.Key, Loc: b.loc(n)}
		if kv.Value != nil {
			a.HasDefault = true
			a.Default = b.expand(*kv.Value, nil)
		}
		if i := m.index(from, kv.Key); i >= 0 {
			a.Loc = locAt(b.file.Path, m, i, a.Loc)
			from = i + len(kv.Key)
		}
		out = append(out, a)
	}
	return out
}

// envVars records ENV, locating each name.
func (b *builder) envVars(n *parser.Node, c *instructions.EnvCommand) {
	s := b.stage
	m, _ := b.src.join(n.StartLine)
	from := len(strings.Fields(m.text)[0])
	for _, kv := range c.Env {
		v := EnvVar{Name: kv.Key, Value: b.expand(kv.Value, nil), Loc: b.loc(n)}
		if i := m.index(from, kv.Key); i >= 0 {
			v.Loc = locAt(b.file.Path, m, i, v.Loc)
			from = i + len(kv.Key)
		}
		s.Env = append(s.Env, v)
		s.env[kv.Key] = b.expand(kv.Value, s.env)
	}
}

// from starts a new stage.
func (b *builder) from(n *parser.Node, st *instructions.Stage) {
	f := b.file
	s := &Stage{
		Index:    len(f.Stages),
		Base:     st.BaseName,
		Platform: st.Platform,
		Loc:      b.loc(n),
		file:     f,
		env:      map[string]string{},
	}
	m, _ := b.src.join(n.StartLine)
	s.BaseLoc = s.Loc
	if i := m.index(len(strings.Fields(m.text)[0]), st.BaseName); i >= 0 {
		s.BaseLoc = locAt(f.Path, m, i, s.Loc)
	}
	args := nodeWords(n)
	if len(args) == 3 {
		s.Name = args[2]
	}
	s.BaseResolved = b.expand(st.BaseName, b.globals)
	for _, prev := range f.Stages {
		if prev.Name != "" && strings.EqualFold(prev.Name, s.BaseResolved) {
			s.FromStage = prev
		}
	}
	if s.FromStage != nil {
		for k, v := range s.FromStage.env {
			s.env[k] = v
		}
	} else if !strings.EqualFold(s.BaseResolved, "scratch") {
		s.Image, _ = ParseImage(s.BaseResolved)
	}
	f.Stages = append(f.Stages, s)
	b.stage = s
}

// nodeWords returns the words of a node after its instruction.
func nodeWords(n *parser.Node) []string {
	var out []string
	for x := n.Next; x != nil; x = x.Next {
		out = append(out, x.Value)
	}
	return out
}

// expose records EXPOSE ports, in file order (BuildKit sorts them).
func (b *builder) expose(n *parser.Node) {
	s := b.stage
	m, _ := b.src.join(n.StartLine)
	from := len(strings.Fields(m.text)[0])
	for _, raw := range nodeWords(n) {
		p := Port{Raw: raw, Proto: "tcp", Loc: b.loc(n)}
		if i := m.index(from, raw); i >= 0 {
			p.Loc = locAt(b.file.Path, m, i, p.Loc)
			from = i + len(raw)
		}
		v := b.expandUnset(raw, s.env)
		num, proto, ok := strings.Cut(v, "/")
		if ok {
			p.Proto = strings.ToLower(proto)
		}
		num, _, _ = strings.Cut(num, "-")
		if port, err := strconv.Atoi(num); err == nil {
			p.Port = port
		}
		s.Expose = append(s.Expose, p)
	}
}

// command builds a CMD or ENTRYPOINT.
func (b *builder) command(n *parser.Node, line instructions.ShellDependantCmdLine) *Command {
	m, _ := b.src.join(n.StartLine)
	c := &Command{Exec: !line.PrependShell, Loc: b.loc(n)}
	raw := argText(n, m)
	c.Raw = raw.text
	c.m = raw
	if c.Exec {
		c.Argv = append([]string{}, line.CmdLine...)
		c.Commands = b.argvCommands(c.Argv, raw)
		return c
	}
	if argv, err := shellcmd.Split(c.Raw); err == nil {
		c.Argv = argv
	} else {
		c.Argv = []string{"/bin/sh", "-c", c.Raw}
	}
	c.Commands, _ = shellcmd.CommandsEnv(c.Raw, b.lookup())
	relocate(c.Commands, raw)
	return c
}

// argvCommands returns the commands of an exec-form argv, with offsets into
// raw (the JSON text) when a `sh -c` string can be found in it.
func (b *builder) argvCommands(argv []string, raw mapped) []shellcmd.Command {
	cmds, script := shellcmd.ArgvCommands(argv)
	base := 0
	if script >= 0 {
		if i := strings.Index(raw.text, argv[script]); i >= 0 {
			base = i
		}
	}
	for i := range cmds {
		cmds[i].Offset += base
		for j := range cmds[i].Words {
			cmds[i].Words[j].Offset += base
		}
	}
	relocate(cmds, raw)
	return cmds
}

// relocate sets each command's Line and Col from its offset in m (so that
// they are Dockerfile positions).
func relocate(cmds []shellcmd.Command, m mapped) {
	for i := range cmds {
		c := &cmds[i]
		if l, col := m.pos(c.Offset); l > 0 {
			c.Line, c.Col = l, col
		}
		for j := range c.Words {
			w := &c.Words[j]
			if l, col := m.pos(w.Offset); l > 0 {
				w.Line, w.Col = l, col
			}
		}
	}
}

// argText returns the instruction's argument text (after the instruction
// word and its flags) within its joined line.
func argText(n *parser.Node, m mapped) mapped {
	trimmed := strings.TrimRight(m.text, " \t\r\n\v\f")
	if n.Next != nil && len(n.Next.Children) == 0 && !n.Attributes["json"] {
		if arg := n.Next.Value; strings.HasSuffix(trimmed, arg) {
			sub := m.sub(len(trimmed) - len(arg))
			sub.text = arg
			return sub
		}
	}
	// JSON form or unexpected text: skip the instruction and its flags.
	off := len(strings.Fields(m.text)[0])
	for _, fl := range n.Flags {
		if i := m.index(off, fl); i >= 0 {
			off = i + len(fl)
		}
	}
	for off < len(trimmed) && (trimmed[off] == ' ' || trimmed[off] == '\t') {
		off++
	}
	sub := m.sub(off)
	sub.text = trimmed[min(off, len(trimmed)):]
	return sub
}

// lookup returns the stage's known ARG and ENV values as a variable lookup.
func (b *builder) lookup() func(string) (string, bool) {
	vars := b.stage.env
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// run records a RUN and what its commands install.
func (b *builder) run(n *parser.Node, c *instructions.RunCommand) {
	s := b.stage
	m, last := b.src.join(n.StartLine)
	r := Run{Exec: !c.PrependShell, Flags: n.Flags, Loc: b.loc(n), path: b.file.Path, Heredoc: len(n.Heredocs) > 0}
	raw := argText(n, m)
	switch {
	case r.Exec:
		r.Script = strings.Join(c.CmdLine, " ")
		r.m = raw
		r.Commands = b.argvCommands(c.CmdLine, raw)
	case len(n.Heredocs) > 0:
		r.Script, r.m = heredocScript(raw, n.Heredocs, last)
	default:
		r.Script, r.m = raw.text, raw
	}
	if !r.Exec {
		cmds, err := shellcmd.CommandsEnv(r.Script, b.lookup())
		var se *shellcmd.Error
		if errors.As(err, &se) {
			r.ShellError = se
		}
		relocate(cmds, r.m)
		r.Commands = cmds
	}
	s.Runs = append(s.Runs, r)
	b.installs(&s.Runs[len(s.Runs)-1])
}

// heredocScript returns the script a RUN with heredocs runs: the heredoc
// body alone for `RUN <<EOF` (or a shell reading it: `RUN bash <<EOF`),
// else the line followed by the heredoc bodies and terminators, as a shell
// reads them.
func heredocScript(line mapped, docs []parser.Heredoc, last int) (string, mapped) {
	first := last + 1
	words := strings.Fields(line.text)
	if len(docs) == 1 && len(words) >= 1 {
		marker := words[len(words)-1]
		h, _ := parser.ParseHeredoc(marker)
		if h != nil && h.Name == docs[0].Name {
			prog := words[:len(words)-1]
			if len(prog) == 0 || isShell(prog[0]) && !hasDashC(prog) {
				return docs[0].Content, lines(docs[0].Content, first)
			}
		}
	}
	var b strings.Builder
	out := mapped{segs: append([]segment(nil), line.segs...)}
	b.WriteString(line.text)
	b.WriteByte('\n')
	n := first
	for _, d := range docs {
		body := lines(d.Content, n)
		for _, s := range body.segs {
			out.segs = append(out.segs, segment{b.Len() + s.off, s.line, s.col})
		}
		b.WriteString(d.Content)
		n += strings.Count(d.Content, "\n")
		out.segs = append(out.segs, segment{b.Len(), n, 1})
		b.WriteString(d.Name)
		b.WriteByte('\n')
		n++
	}
	out.text = b.String()
	return out.text, out
}

func isShell(prog string) bool {
	switch path.Base(prog) {
	case "sh", "bash", "dash", "ash", "zsh":
		return true
	}
	return false
}

func hasDashC(words []string) bool {
	for _, w := range words[1:] {
		if strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "--") && strings.Contains(w, "c") {
			return true
		}
	}
	return false
}

// finish resolves what needs the whole file.
func (b *builder) finish() {
	for _, s := range b.file.Stages {
		if s.Loc.EndLine < s.Loc.Line {
			s.Loc.EndLine = s.Loc.Line
		}
	}
}
