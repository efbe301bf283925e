// Package command parses the bot's commands: the first line of a pull
// request comment, when it starts with a slash.
//
// The grammar:
//
//	/deploy [environment]
//	/rollback [release-version|image] [environment]
//	/secrets check [environment]
//	/status
//	/health [environment]
//	/help [command]
//
// Command words are case-insensitive; arguments are kept as written. A first
// line that does not start with "/word" is not a command (ErrNotCommand) and
// the bot stays silent; an unknown command or a bad argument is a
// *UsageError, which the bot answers with the usage.
package command

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// Name names a command.
type Name string

// The commands.
const (
	Deploy   Name = "deploy"
	Rollback Name = "rollback"
	Secrets  Name = "secrets"
	Status   Name = "status"
	Health   Name = "health"
	Help     Name = "help"
)

// Names lists every command in the order the help shows them.
var Names = []Name{Deploy, Rollback, Secrets, Status, Health, Help}

// Dispatches reports whether the command runs the repository's deploy
// workflow (deploy, rollback, secrets check) rather than being answered by
// the bot itself.
func (n Name) Dispatches() bool { return n == Deploy || n == Rollback || n == Secrets }

// Locks reports whether the command changes the Fly app, so that only one
// such command may run per app at a time (deploy, rollback).
func (n Name) Locks() bool { return n == Deploy || n == Rollback }

// Known reports whether n is one of Names.
func (n Name) Known() bool {
	for _, k := range Names {
		if n == k {
			return true
		}
	}
	return false
}

// Command is one parsed command.
type Command struct {
	Name Name
	// Environment is the environment named in the command; "" means the
	// repository's default environment.
	Environment string
	// Target is what /rollback goes back to: a release version ("v42" or
	// "42") or an image reference; "" means the previous release. For /help
	// it is the command asked about.
	Target string
}

// String formats c the way it is typed: "/deploy staging".
func (c Command) String() string {
	parts := []string{"/" + string(c.Name)}
	if c.Name == Secrets {
		parts = append(parts, "check")
	}
	if c.Target != "" {
		parts = append(parts, c.Target)
	}
	if c.Environment != "" {
		parts = append(parts, c.Environment)
	}
	return strings.Join(parts, " ")
}

// ErrNotCommand is returned by Parse when the comment is not a command.
var ErrNotCommand = errors.New("not a command")

// UsageError is an unknown command or a bad argument.
type UsageError struct {
	// Name is the command, or "" when the word is not a known command.
	Name Name
	// Word is the command word as typed.
	Word string
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *UsageError) Error() string { return e.Reason }

// Usage is the usage of the command, or the whole grammar when the command
// is unknown.
func (e *UsageError) Usage() string {
	if e.Name == "" {
		return Grammar()
	}
	return Usage(e.Name)
}

// MaxLine is the longest first line Parse reads; a longer one is cut there.
const MaxLine = 512

var (
	wordRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,31}$`)
	envRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	releaseRE = regexp.MustCompile(`^[vV]?[0-9]{1,9}$`)
)

// ValidEnvironment reports whether s can name an environment: letters,
// digits, '.', '_' and '-', starting with a letter or digit, at most 63.
func ValidEnvironment(s string) bool { return envRE.MatchString(s) }

// Parse reads the command on the first line of a comment body.
func Parse(body string) (Command, error) {
	line, _, _ := strings.Cut(body, "\n")
	if len(line) > MaxLine {
		line = line[:MaxLine]
	}
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "/") {
		return Command{}, ErrNotCommand
	}
	fields := strings.Fields(line[1:])
	if len(fields) == 0 || !strings.HasPrefix(line[1:], fields[0]) || !wordRE.MatchString(fields[0]) {
		return Command{}, ErrNotCommand
	}
	word, args := fields[0], fields[1:]
	c := Command{Name: Name(strings.ToLower(word))}
	bad := func(format string, a ...any) (Command, error) {
		return Command{}, &UsageError{Name: c.Name, Word: word, Reason: fmt.Sprintf(format, a...)}
	}
	switch c.Name {
	case Deploy, Health:
		if len(args) > 1 {
			return bad("`/%s` takes at most one argument, the environment; got %d", c.Name, len(args))
		}
		if len(args) == 1 {
			if !ValidEnvironment(args[0]) {
				return bad("%q is not an environment name (letters, digits, '.', '_' and '-')", args[0])
			}
			c.Environment = args[0]
		}
	case Rollback:
		if len(args) > 2 {
			return bad("`/rollback` takes at most a release or image and an environment; got %d arguments", len(args))
		}
		for _, a := range args {
			switch kind := classify(a); {
			case kind == "target" && c.Target == "":
				c.Target = a
			case kind == "env" && c.Environment == "":
				c.Environment = a
			case kind == "":
				return bad("%q is neither a release version (v42), an image (registry.fly.io/app:tag) nor an environment name", a)
			default:
				return bad("`/rollback` takes one release or image and one environment; %q is a second %s", a, kindWord(kind))
			}
		}
	case Secrets:
		if len(args) == 0 || !strings.EqualFold(args[0], "check") {
			return bad("`/secrets` has one subcommand, `check`")
		}
		if len(args) > 2 {
			return bad("`/secrets check` takes at most one argument, the environment; got %d", len(args)-1)
		}
		if len(args) == 2 {
			if !ValidEnvironment(args[1]) {
				return bad("%q is not an environment name (letters, digits, '.', '_' and '-')", args[1])
			}
			c.Environment = args[1]
		}
	case Status:
		if len(args) > 0 {
			return bad("`/status` takes no argument")
		}
	case Help:
		if len(args) > 1 {
			return bad("`/help` takes at most one argument, a command")
		}
		if len(args) == 1 {
			n := Name(strings.ToLower(strings.TrimPrefix(args[0], "/")))
			if !n.Known() {
				return bad("%q is not a command", args[0])
			}
			c.Target = string(n)
		}
	default:
		return Command{}, &UsageError{Word: word, Reason: fmt.Sprintf("`/%s` is not a command of this bot", word)}
	}
	return c, nil
}

// classify says whether a /rollback argument is a target (release version
// or image reference), an environment, or neither ("").
func classify(a string) string {
	if releaseRE.MatchString(a) {
		return "target"
	}
	if strings.ContainsAny(a, "/:@") {
		if _, err := reference.ParseAnyReference(a); err == nil {
			return "target"
		}
		return ""
	}
	if ValidEnvironment(a) {
		return "env"
	}
	return ""
}

func kindWord(kind string) string {
	if kind == "env" {
		return "environment"
	}
	return "release or image"
}

var usages = map[Name]string{
	Deploy:   "`/deploy [environment]` — deploy this pull request's head commit (default environment when none is named)",
	Rollback: "`/rollback [release-version|image] [environment]` — go back to a release (`v42`), an image (`registry.fly.io/app:tag`), or the previous release",
	Secrets:  "`/secrets check [environment]` — check that the app's required secrets are set in Fly (names only)",
	Status:   "`/status` — the last deploys of this repository and what is running",
	Health:   "`/health [environment]` — probe the environment's health URL now and reply with the figures",
	Help:     "`/help [command]` — this help",
}

// Usage is the one-line usage of a command.
func Usage(n Name) string {
	if u, ok := usages[n]; ok {
		return u
	}
	return Grammar()
}

// Grammar is the usage of every command, one per line.
func Grammar() string {
	var b strings.Builder
	for _, n := range Names {
		b.WriteString("- " + usages[n] + "\n")
	}
	return b.String()
}
