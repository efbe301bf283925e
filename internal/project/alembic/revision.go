package alembic

import (
	"fmt"
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Revision is one migration module of a versions folder.
type Revision struct {
	// Path is the module's path relative to the validated directory.
	Path string
	// ID is the revision id: the module-level revision = "…", or for a
	// legacy module without one, the hexadecimal file name as Alembic
	// takes it.
	ID string
	// IDLoc is the position of the revision assignment (zero when the id
	// comes from the file name or is missing).
	IDLoc report.Location
	// Down are the parent revisions: empty for a root (down_revision =
	// None), two or more for a merge.
	Down []string
	// DownLoc is the position of the down_revision assignment; EndLine is
	// its last line when the value spans several lines. Zero when the
	// module has none.
	DownLoc report.Location
	// HasDown reports whether the module assigns down_revision at all
	// (Alembic fails on a module without it).
	HasDown bool
	// BranchLabels are the module's branch_labels.
	BranchLabels []string
	// DependsOn are the module's depends_on revisions or branch labels.
	DependsOn []string
	// Ops are the operation calls made inside upgrade() (and upgrade_<name>()
	// of multi-database templates), in source order.
	Ops []Op
}

// Op is one call made by an upgrade function: an Alembic operation
// (op.add_column(...)), an operation on a batch_alter_table alias
// (batch_op.add_column(...)), or any .execute(...) call.
type Op struct {
	// Name is the method called: "add_column", "execute", ….
	Name string
	// Receiver is what it is called on: "op", a batch alias such as
	// "batch_op", another name for execute calls ("connection"), or "" when
	// the receiver is an expression (op.get_bind().execute(...)).
	Receiver string
	// Function is the enclosing function: "upgrade" or "upgrade_<name>".
	Function string
	// Line and Column are where the call starts; EndLine is the line of its
	// closing parenthesis.
	Line, Column, EndLine int
	// SQL is, for an execute call, the SQL text when the first argument is
	// a string literal (adjacent literals joined) or text("…") /
	// sa.text("…") of one; "" otherwise. f-strings are kept as written,
	// braces included.
	SQL string
	// Args are the positional arguments: the string value of each literal
	// (or text("…") literal), "" for anything else.
	Args []string
	// Kwargs are the names of the keyword arguments, in order
	// (if_not_exists, nullable, …).
	Kwargs []string
	// Guarded reports that the call sits inside an if/elif/else/try/except
	// block of the function (for example "if not has_table(...)"), so it
	// may not run every time.
	Guarded bool
}

// legacyRevFile is Alembic's _legacy_rev: a revision module from before
// Alembic 0.2, whose file name is its id.
var legacyRevFile = lazyre.New(`^([a-f0-9]+)\.py$`)

// ParseRevision reads a migration module statically: its module-level
// revision, down_revision, branch_labels and depends_on assignments (plain or
// annotated, a string, None, or a tuple/list of strings, over one or several
// lines), and the calls made in upgrade(). relPath is the module's path
// relative to the validated directory.
func ParseRevision(relPath string, data []byte) (*Revision, []report.Finding) {
	lines, problems := scanPython(string(data))
	rev := &Revision{Path: relPath}
	var fs []report.Finding
	for _, p := range problems {
		fs = append(fs, report.Finding{
			Rule: RuleRevisionSyntax, Severity: report.Error, Location: report.At(relPath, p.line, p.col),
			Title:   "migration is not valid Python",
			Message: fmt.Sprintf("Python cannot import this migration (%s), so every Alembic command stops with SyntaxError while loading the versions folder.", p.msg),
			Fix:     "Fix the syntax error at this position; run `python -m py_compile` on the file to check it.",
		})
	}
	hasRev := false
	for _, ll := range lines {
		if ll.indent != 0 || len(ll.toks) < 3 || ll.toks[0].kind != tokName {
			continue
		}
		name := ll.toks[0].text
		switch name {
		case "revision", "down_revision", "branch_labels", "depends_on":
		default:
			continue
		}
		vi := assignedValue(ll.toks)
		if vi < 0 || vi >= len(ll.toks) {
			continue
		}
		first, last := ll.toks[0], ll.toks[len(ll.toks)-1]
		loc := report.Location{File: relPath, Line: first.line, Column: first.col, EndLine: last.endLine}
		vals, isNone, ok := literalStrings(ll.toks[vi:])
		switch name {
		case "revision":
			hasRev = true
			rev.IDLoc = loc
			rev.ID = ""
			switch {
			case ok && !isNone && len(vals) == 1 && !strings.ContainsAny(vals[0], " \t\n"):
				rev.ID = vals[0]
			case ok && !isNone && len(vals) == 1:
				fs = append(fs, revFinding(loc, report.Error, "revision id contains blanks",
					"The revision id contains blanks or line breaks; Alembic cannot refer to such a revision from another one's down_revision or on the command line.",
					"Use an id without blanks, for example the 12 hexadecimal characters `alembic revision` generates."))
			case ok && (isNone || len(vals) == 1 && vals[0] == ""):
				fs = append(fs, revFinding(loc, report.Error, "revision id is empty",
					"revision is None or an empty string, so this migration has no id and no other migration can follow it.",
					"Set revision to a unique id string, for example the 12 hexadecimal characters `alembic revision` generates."))
			default:
				fs = append(fs, revFinding(loc, report.Warning, "revision is not a string literal",
					"revision is not written as a plain string, so deploy-action cannot read the id without running Python and leaves this migration out of the revision graph.",
					"Write the id as a literal: revision = \"1a2b3c4d5e6f\"."))
			}
		case "down_revision":
			rev.HasDown = true
			rev.DownLoc = loc
			rev.Down = nil
			if ok {
				rev.Down = vals
			} else {
				fs = append(fs, revFinding(loc, report.Warning, "down_revision is not a literal",
					"down_revision is not None, a string or a tuple of strings, so deploy-action cannot tell which migration comes before this one without running Python.",
					"Write down_revision as a literal: None, \"<parent id>\", or (\"<id1>\", \"<id2>\") for a merge."))
			}
		case "branch_labels":
			rev.BranchLabels = nil
			if ok {
				rev.BranchLabels = vals
			}
		case "depends_on":
			rev.DependsOn = nil
			if ok {
				rev.DependsOn = vals
			}
		}
	}
	if !hasRev {
		if m := legacyRevFile.FindStringSubmatch(path.Base(relPath)); m != nil {
			rev.ID = m[1]
		} else {
			fs = append(fs, revFinding(report.At(relPath, 1, 1), report.Error, "migration has no revision id",
				"This module in the versions folder assigns no module-level revision = \"…\", so Alembic stops with \"Could not determine revision id from filename\" for every command.",
				"Add the revision identifiers at module level, as `alembic revision` writes them: revision = \"<id>\" and down_revision = \"<parent id>\" (None for the first migration)."))
		}
	}
	if !rev.HasDown && (hasRev || rev.ID != "") {
		loc := rev.IDLoc
		if loc.Line == 0 {
			loc = report.At(relPath, 1, 1)
		}
		fs = append(fs, revFinding(loc, report.Error, "migration has no down_revision",
			"This module assigns no module-level down_revision, so Alembic fails with AttributeError (module has no attribute 'down_revision') while loading the versions folder.",
			"Add down_revision = \"<parent id>\" next to revision (down_revision = None for the first migration)."))
	}
	rev.Ops = collectOps(lines)
	return rev, fs
}

func revFinding(loc report.Location, sev report.Severity, title, msg, fix string) report.Finding {
	return report.Finding{Rule: RuleRevision, Severity: sev, Location: loc, Title: title, Message: msg, Fix: fix}
}

// assignedValue returns the index of the first token of the value in
// "name = value" or "name: annotation = value", or -1 when the line is not
// such an assignment.
func assignedValue(toks []token) int {
	if toks[1].kind != tokOp {
		return -1
	}
	switch toks[1].text {
	case "=":
		return 2
	case ":":
		depth := 0
		for i := 2; i < len(toks); i++ {
			t := toks[i]
			if t.kind != tokOp {
				continue
			}
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			case "=":
				if depth == 0 {
					return i + 1
				}
			}
		}
	}
	return -1
}

// literalStrings reads a value made of None, a string literal (adjacent
// literals joined), or a tuple/list of string literals, with or without
// brackets. ok is false for anything else.
func literalStrings(toks []token) (vals []string, isNone, ok bool) {
	if len(toks) == 1 && toks[0].kind == tokName && toks[0].text == "None" {
		return nil, true, true
	}
	if len(toks) >= 2 && toks[0].kind == tokOp && (toks[0].text == "(" || toks[0].text == "[") {
		closer := map[string]string{"(": ")", "[": "]"}[toks[0].text]
		last := toks[len(toks)-1]
		if last.kind != tokOp || last.text != closer {
			return nil, false, false
		}
		inner := toks[1 : len(toks)-1]
		if len(inner) == 0 {
			return []string{}, false, true
		}
		if toks[0].text == "(" && !hasTopComma(inner) {
			// parenthesised expression, not a tuple: ("abc") or ("a" "b")
			v, ok := joinedString(inner)
			if !ok {
				return nil, false, false
			}
			return []string{v}, false, true
		}
		toks = inner
	} else if !hasTopComma(toks) {
		v, ok := joinedString(toks)
		if !ok {
			return nil, false, false
		}
		return []string{v}, false, true
	}
	vals = []string{}
	for _, item := range splitTop(toks) {
		if len(item) == 0 {
			continue // trailing comma
		}
		v, ok := joinedString(item)
		if !ok {
			return nil, false, false
		}
		vals = append(vals, v)
	}
	return vals, false, true
}

// joinedString returns the value of one or more adjacent plain string
// literals.
func joinedString(toks []token) (string, bool) {
	if len(toks) == 0 {
		return "", false
	}
	var b strings.Builder
	for _, t := range toks {
		if t.kind != tokString || t.fstring || t.bytes {
			return "", false
		}
		b.WriteString(t.val)
	}
	return b.String(), true
}

func hasTopComma(toks []token) bool {
	return len(splitTop(toks)) > 1
}

// splitTop splits toks at commas outside brackets.
func splitTop(toks []token) [][]token {
	var out [][]token
	depth, start := 0, 0
	for i, t := range toks {
		if t.kind != tokOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ",":
			if depth == 0 {
				out = append(out, toks[start:i])
				start = i + 1
			}
		}
	}
	return append(out, toks[start:])
}

// block is an open compound statement inside an upgrade function.
type block struct {
	indent int
	guard  bool
	alias  string // "as" name of a batch_alter_table context manager
}

// collectOps finds the calls made in the module's upgrade functions.
func collectOps(lines []logicalLine) []Op {
	var ops []Op
	for i := 0; i < len(lines); i++ {
		ll := lines[i]
		fn, bodyAt := upgradeDef(ll)
		if fn == "" {
			continue
		}
		if bodyAt < len(ll.toks) { // def upgrade(): op.execute("…") on one line
			ops = scanCalls(ops, ll.toks[bodyAt:], fn, false, nil)
		}
		var stack []block
		for i+1 < len(lines) && lines[i+1].indent > 0 {
			i++
			body := lines[i]
			for len(stack) > 0 && stack[len(stack)-1].indent >= body.indent {
				stack = stack[:len(stack)-1]
			}
			guarded := false
			aliases := map[string]bool{}
			for _, b := range stack {
				guarded = guarded || b.guard
				if b.alias != "" {
					aliases[b.alias] = true
				}
			}
			kw := compoundKeyword(body.toks)
			lineGuard := kw == "if" || kw == "elif" || kw == "else" || kw == "try" || kw == "except" || kw == "finally"
			alias := ""
			if kw == "with" {
				alias = batchAlias(body.toks)
				if alias != "" {
					aliases[alias] = true
				}
			}
			ops = scanCalls(ops, body.toks, fn, guarded || lineGuard, aliases)
			if kw != "" {
				stack = append(stack, block{indent: body.indent, guard: lineGuard, alias: alias})
			}
		}
	}
	return ops
}

// upgradeDef reports whether ll is a module-level "def upgrade…(…):" and
// returns the function name and the index of the first token after its
// colon.
func upgradeDef(ll logicalLine) (string, int) {
	toks := ll.toks
	if ll.indent != 0 {
		return "", 0
	}
	i := 0
	if len(toks) > 0 && toks[0].kind == tokName && toks[0].text == "async" {
		i = 1
	}
	if len(toks) < i+3 || toks[i].text != "def" || toks[i+1].kind != tokName || toks[i+2].text != "(" {
		return "", 0
	}
	name := toks[i+1].text
	if name != "upgrade" && !strings.HasPrefix(name, "upgrade_") {
		return "", 0
	}
	depth := 0
	for j := i + 2; j < len(toks); j++ {
		if toks[j].kind != tokOp {
			continue
		}
		switch toks[j].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ":":
			if depth == 0 {
				return name, j + 1
			}
		}
	}
	return name, len(toks)
}

func compoundKeyword(toks []token) string {
	if len(toks) == 0 || toks[0].kind != tokName {
		return ""
	}
	kw := toks[0].text
	if kw == "async" && len(toks) > 1 {
		kw = toks[1].text
	}
	switch kw {
	case "if", "elif", "else", "try", "except", "finally", "with", "for", "while", "def", "class", "match", "case":
		if toks[len(toks)-1].text == ":" || hasBlockColon(toks) {
			return kw
		}
	}
	return ""
}

// hasBlockColon reports whether toks has a ":" outside brackets (a
// compound statement with its body on the same line, or a header).
func hasBlockColon(toks []token) bool {
	depth := 0
	for _, t := range toks {
		if t.kind != tokOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ":":
			if depth == 0 {
				return true
			}
		}
	}
	return false
}

// batchAlias returns NAME in "with op.batch_alter_table(...) as NAME".
func batchAlias(toks []token) string {
	depth, start := 0, 1
	for i, t := range toks {
		if t.kind == tokOp {
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			case ",":
				if depth == 0 {
					start = i + 1
				}
			}
			continue
		}
		if depth == 0 && t.kind == tokName && t.text == "as" && i+1 < len(toks) && toks[i+1].kind == tokName {
			for _, u := range toks[start:i] {
				if u.kind == tokName && u.text == "batch_alter_table" {
					return toks[i+1].text
				}
			}
		}
	}
	return ""
}

// scanCalls appends the recorded calls found in toks.
func scanCalls(ops []Op, toks []token, fn string, guarded bool, aliases map[string]bool) []Op {
	for i := 2; i+1 < len(toks); i++ {
		t := toks[i]
		if t.kind != tokName || toks[i+1].text != "(" || toks[i-1].text != "." {
			continue
		}
		recv, start := "", t
		if r := toks[i-2]; r.kind == tokName && (i < 3 || toks[i-3].text != ".") {
			recv, start = r.text, r
		}
		if recv != "op" && !aliases[recv] && t.text != "execute" {
			continue
		}
		end := closingParen(toks, i+1)
		op := Op{Name: t.text, Receiver: recv, Function: fn, Line: start.line, Column: start.col, EndLine: toks[min(end, len(toks)-1)].endLine, Guarded: guarded}
		for _, arg := range splitTop(toks[i+2 : end]) {
			switch {
			case len(arg) == 0:
			case len(arg) >= 2 && arg[0].kind == tokName && arg[1].text == "=":
				op.Kwargs = append(op.Kwargs, arg[0].text)
			case arg[0].text == "*" || arg[0].text == "**":
			default:
				op.Args = append(op.Args, argString(arg))
			}
		}
		if op.Name == "execute" && len(op.Args) > 0 {
			op.SQL = op.Args[0]
		}
		ops = append(ops, op)
	}
	return ops
}

// closingParen returns the index of the ")" matching the "(" at open, or
// len(toks) when the line ends first.
func closingParen(toks []token, open int) int {
	depth := 0
	for j := open; j < len(toks); j++ {
		if toks[j].kind != tokOp {
			continue
		}
		switch toks[j].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(toks)
}

// argString returns the string an argument spells: adjacent string
// literals (f-strings as written), or text(<literals>) / sa.text(…) /
// sqlalchemy.text(…); "" for anything else.
func argString(arg []token) string {
	all := true
	var b strings.Builder
	for _, t := range arg {
		if t.kind != tokString {
			all = false
			break
		}
		b.WriteString(t.val)
	}
	if all {
		return b.String()
	}
	i := 0
	if len(arg) > 2 && arg[0].kind == tokName && arg[1].text == "." {
		i = 2
	}
	if len(arg) >= i+4 && arg[i].text == "text" && arg[i+1].text == "(" && arg[len(arg)-1].text == ")" {
		inner := splitTop(arg[i+2 : len(arg)-1])
		if len(inner) > 0 && len(inner[0]) > 0 {
			for _, t := range inner[0] {
				if t.kind != tokString {
					return ""
				}
			}
			return argString(inner[0])
		}
	}
	return ""
}
