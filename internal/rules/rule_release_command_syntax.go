package rules

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/shellcmd"
)

var ruleReleaseCommandSyntax = register(&Rule{
	ID:       "release-command-syntax",
	Phase:    report.Release,
	Severity: report.Error,
	Doc:      "release_command cannot be split into words, or uses shell syntax (`&&`, `|`, `>`, `VAR=x`, `cd`) that only a shell understands",
	Why:      "flyctl splits release_command into words and starts the first one without a shell: an unbalanced quote stops the deploy (\"Can't shell split release command\"), and `&&` or `;` are handed to the program as plain arguments, so the second command never runs.",
	Check:    checkReleaseCommandSyntax,
})

// relBuiltins are shell builtins that are no program a machine can start.
var relBuiltins = map[string]bool{
	"cd": true, "exec": true, "source": true, ".": true, "export": true, "set": true, "unset": true,
	"eval": true, "alias": true, "if": true, "for": true, "while": true, "[[": true, "ulimit": true, "umask": true,
}

func checkReleaseCommandSyntax(r *Rule, p *project.Project) []report.Finding {
	rel := relAnalyze(p)
	if rel == nil {
		return nil
	}
	raw, shown := rel.Raw, rel.Shown
	if e := rel.SplitErr; e != nil {
		loc := relValueLoc(p, rel.Loc, raw, e.Offset)
		if strings.Contains(e.Msg, "unterminated") || strings.Contains(e.Msg, "quote") {
			return []report.Finding{r.Finding(loc,
				"release_command cannot be split into words",
				fmt.Sprintf("release_command = %q cannot be split into arguments: %s (column %d of the command). "+
					"flyctl splits release_command the way a shell would, refuses the configuration (\"Can't shell split release command\") "+
					"and the deploy stops before the release machine starts.", shown, e.Msg, e.Col),
				"Balance the quotes, e.g. `release_command = \"alembic upgrade head\"`; quote an argument with spaces as a whole (`\"python -c 'import app'\"`).")}
		}
		if strings.Contains(e.Msg, "VAR=value") {
			assign, _, _ := strings.Cut(strings.TrimSpace(raw), " ")
			name, _, _ := strings.Cut(assign, "=")
			assign = name + "=…"
			return []report.Finding{r.Finding(loc,
				"release_command sets a variable the shell way",
				fmt.Sprintf("release_command = %q starts with `%s`: %s. Fly runs release_command without a shell, "+
					"so it tries to start a program named `%s`, which does not exist, and the release machine fails before running anything.", shown, assign, e.Msg, assign),
				fmt.Sprintf("Set %s in fly.toml [env] (or with ENV in the Dockerfile, or as a Fly secret) and drop it from the command, or write `release_command = \"env %s\"`.", name, strings.ReplaceAll(strings.TrimSpace(shown), `"`, `\"`)))}
		}
		prog := "the first program"
		if cmds, err := shellcmd.Commands(raw); err == nil && len(cmds) > 0 && len(cmds[0].Args) > 0 {
			prog = "`" + path.Base(cmds[0].Args[0]) + "`"
		}
		return []report.Finding{r.Finding(loc,
			"release_command needs a shell",
			fmt.Sprintf("release_command = %q uses shell syntax at column %d: %s. "+
				"Fly runs release_command without a shell: it splits the line into words and starts the first one, "+
				"so the operator and everything after it are passed to %s as plain arguments; the rest never runs as a command.", shown, e.Col, e.Msg, prog),
			relShellFix(shown))}
	}
	if len(rel.Argv) > 0 && relBuiltins[rel.Argv[0]] {
		loc := relValueLoc(p, rel.Loc, raw, strings.Index(raw, rel.Argv[0]))
		return []report.Finding{r.Finding(loc,
			"release_command starts with a shell builtin",
			fmt.Sprintf("release_command = %q starts with `%s`, a shell builtin and not a program: Fly runs release_command without a shell, "+
				"so the release machine cannot start it (no executable named `%s` in $PATH) and the deploy is aborted.", shown, rel.Argv[0], rel.Argv[0]),
			relShellFix(shown))}
	}
	return nil
}

// relShellFix suggests running the command through sh -c.
func relShellFix(raw string) string {
	if !strings.Contains(raw, "'") {
		return fmt.Sprintf("Run it through a shell: `release_command = \"sh -c '%s'\"`, or put the commands in a script (e.g. `scripts/release.sh` with `set -e`) that the Dockerfile copies, and run that.", strings.ReplaceAll(raw, `"`, `\"`))
	}
	return "Put the commands in a script (e.g. `scripts/release.sh` starting with `#!/bin/sh` and `set -e`) that the Dockerfile copies into the image, and set `release_command = \"sh scripts/release.sh\"`."
}

// relValueLoc returns the location of a byte offset of release_command's
// value in fly.toml: the key's line with the column of that character when
// the value is a one-line string, else the key.
func relValueLoc(p *project.Project, key report.Location, raw string, offset int) report.Location {
	loc := key
	if loc.File == "" {
		loc.File = p.FlyPath
	}
	line, ok := p.Line(loc.File, loc.Line)
	if !ok || offset < 0 || offset > len(raw) || (key.EndLine != 0 && key.EndLine != key.Line) {
		return loc
	}
	eq := strings.Index(line, "=")
	if eq < 0 {
		return loc
	}
	rest := line[eq+1:]
	q := strings.IndexAny(rest, `"'`)
	if q < 0 {
		return loc
	}
	start := eq + 1 + q
	delim := 1
	if strings.HasPrefix(rest[q:], `"""`) || strings.HasPrefix(rest[q:], `'''`) {
		delim = 3
	}
	if start+delim > len(line) {
		return loc
	}
	val := line[start+delim:]
	// Only trust the column when the value is written as it reads (no
	// escapes before the offset).
	if !strings.HasPrefix(val, raw[:offset]) {
		return loc
	}
	loc.Column = utf8.RuneCountInString(line[:start+delim]) + utf8.RuneCountInString(raw[:offset]) + 1
	loc.EndLine = loc.Line
	return loc
}
