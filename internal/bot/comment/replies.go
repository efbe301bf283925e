package comment

import (
	"fmt"
	"strings"
	"time"

	"github.com/grupo-gad/deploy-action/internal/bot/command"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Usage answers an unknown command or a bad argument.
func Usage(actor, reason, usage string) string {
	return fmt.Sprintf("@%s I could not run that: %s\n\nUsage:\n%s", Plain(actor, 40), Inline(reason, 300), usage)
}

// Help is the answer to /help (topic "" for every command).
func Help(topic command.Name) string {
	if topic != "" {
		return "Usage:\n- " + command.Usage(topic) + "\n"
	}
	return "#### deploy-bot commands\n\nWrite the command on the first line of a new comment on a pull request:\n\n" + command.Grammar() +
		"\nDeploys, rollbacks and secret checks need write or admin permission on the repository; " +
		"each runs the repository's deploy workflow on the pull request's head commit as it was when you commented. " +
		"Settings live in `.github/deploy-bot.yml` on the default branch.\n"
}

// Refusal answers a commenter without write access.
func Refusal(actor, cmd, permission, repo string) string {
	if permission == "" {
		permission = "none"
	}
	return fmt.Sprintf("Sorry @%s, `%s` needs write or admin permission on %s, and yours is **%s**. Nothing was run. A maintainer can run it for you.",
		Plain(actor, 40), Plain(cmd, 100), Plain(repo, 140), Plain(permission, 20))
}

// ForkRefusal answers a command on a pull request from a fork.
func ForkRefusal(actor, cmd, headRepo string) string {
	return fmt.Sprintf("Sorry @%s, `%s` does not run on pull requests from forks (this one comes from %s): its code would run with this repository's deploy secrets. Nothing was run. A maintainer can set `allow_forks: true` in `.github/deploy-bot.yml` to change this.",
		Plain(actor, 40), Plain(cmd, 100), Plain(headRepo, 140))
}

// Disabled answers a command the repository turned off.
func Disabled(actor, cmd string) string {
	return fmt.Sprintf("@%s `%s` is turned off in this repository (`commands:` in `.github/deploy-bot.yml`). Nothing was run.", Plain(actor, 40), Plain(cmd, 100))
}

// ConfigInvalid answers when .github/deploy-bot.yml has errors.
func ConfigInvalid(actor string, fs []report.Finding) string {
	return fmt.Sprintf("@%s `.github/deploy-bot.yml` on the default branch has problems, so nothing was run:\n\n%s", Plain(actor, 40), FindingsList(fs))
}

// Approvals answers a deploy that lacks approving reviews.
func Approvals(actor, cmd, env string, have, need int) string {
	return fmt.Sprintf("@%s `%s` on **%s** needs %d approving review(s) of this pull request; it has %d. Nothing was run.",
		Plain(actor, 40), Plain(cmd, 100), Plain(env, 64), need, have)
}

// Problem answers a command the bot could not carry out, saying what to do.
func Problem(actor, cmd, what string) string {
	return fmt.Sprintf("@%s I could not run `%s`: %s", Plain(actor, 40), Plain(cmd, 100), Inline(what, 600))
}

// StatusLine is one job in the /status answer.
type StatusLine struct {
	At          time.Time
	Command     string
	Environment string
	Actor       string
	PR          int
	State       string
	Result      string
}

// Status is the answer to /status: what runs now and the last deploys.
func Status(repo string, running, recent []StatusLine) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### deploy-bot status of %s\n\n", Plain(repo, 140))
	if len(running) == 0 {
		b.WriteString("Nothing is running or queued.\n")
	} else {
		b.WriteString("**Running or queued**\n\n")
		table(&b, running)
	}
	b.WriteString("\n**Last commands**\n\n")
	if len(recent) == 0 {
		b.WriteString("None yet.\n")
	} else {
		table(&b, recent)
	}
	return b.String()
}

func table(b *strings.Builder, lines []StatusLine) {
	b.WriteString("| when (UTC) | command | environment | by | PR | state |\n|---|---|---|---|--:|---|\n")
	for _, l := range lines {
		state := Plain(l.State, 20)
		if l.Result != "" {
			state += ": " + Plain(l.Result, 80)
		}
		fmt.Fprintf(b, "| %s | `%s` | %s | %s | #%d | %s |\n", l.At.UTC().Format("2006-01-02 15:04"),
			Plain(l.Command, 80), Plain(l.Environment, 64), Plain(l.Actor, 40), l.PR, state)
	}
}

// HealthReply is the answer to /health.
func HealthReply(actor, env string, h Health) string {
	return fmt.Sprintf("@%s health of **%s**, probed just now:\n\n%s", Plain(actor, 40), Plain(env, 64), healthTable(h))
}
