package action

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
)

// CommandNames are the values the `command` input accepts, as action.yml
// documents them.
var CommandNames = []string{"validate", "deploy", "verify", "rollback", "secrets", "diagnose"}

// FailOn values say which findings fail the step.
const (
	FailOnError   = "error"
	FailOnWarning = "warning"
	FailOnNever   = "never"
)

// DefaultCheckName is the check run's name when the `check-name` input is
// empty.
const DefaultCheckName = "deploy-check"

// Inputs are the action's inputs (action.yml), read from INPUT_* variables.
type Inputs struct {
	// Command is validate, deploy, verify, rollback, secrets or diagnose.
	Command string
	// WorkingDirectory is the folder to work in, relative to the repository
	// root ("" for the root).
	WorkingDirectory string
	// Config is the path of fly.toml ("" for WorkingDirectory/fly.toml).
	Config string
	// App, Image, Environment and HealthURL are passed to the deploy
	// commands.
	App, Image, Environment, HealthURL string
	// SHA is the commit to report on (dispatched runs); "" means the pull
	// request's head or GITHUB_SHA.
	SHA string
	// FlyAPIToken and GitHubToken are secrets: they are masked before
	// anything is printed and never printed.
	FlyAPIToken, GitHubToken string
	// FailOn is error, warning or never.
	FailOn string
	// CheckName names the check run.
	CheckName string
}

// ReadInputs reads the inputs through go-githubactions (INPUT_<NAME>, with
// the name upper-cased and hyphens kept, as the runner sets them), applying
// action.yml's defaults to empty values.
func ReadInputs(a *githubactions.Action) Inputs {
	in := Inputs{
		Command:          strings.ToLower(a.GetInput("command")),
		WorkingDirectory: a.GetInput("working-directory"),
		Config:           a.GetInput("config"),
		App:              a.GetInput("app"),
		Image:            a.GetInput("image"),
		Environment:      a.GetInput("environment"),
		SHA:              strings.ToLower(a.GetInput("sha")),
		FlyAPIToken:      a.GetInput("fly-api-token"),
		GitHubToken:      a.GetInput("github-token"),
		HealthURL:        a.GetInput("health-url"),
		FailOn:           strings.ToLower(a.GetInput("fail-on")),
		CheckName:        a.GetInput("check-name"),
	}
	if in.Command == "" {
		in.Command = "validate"
	}
	if in.FailOn == "" {
		in.FailOn = FailOnError
	}
	if in.CheckName == "" {
		in.CheckName = DefaultCheckName
	}
	return in
}

var shaRE = lazyre.New(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// Validate checks the inputs' values and says what to write instead.
func (in Inputs) Validate() error {
	if !slices.Contains(CommandNames, in.Command) {
		return fmt.Errorf("input command: %q is not a command; use one of %s", in.Command, strings.Join(CommandNames, ", "))
	}
	switch in.FailOn {
	case FailOnError, FailOnWarning, FailOnNever:
	default:
		return fmt.Errorf("input fail-on: %q is not one of error, warning, never", in.FailOn)
	}
	if in.SHA != "" && !shaRE.MatchString(in.SHA) {
		return fmt.Errorf("input sha: %q is not a full commit SHA (40 hexadecimal digits); pass the exact commit, e.g. ${{ github.event.pull_request.head.sha }}", in.SHA)
	}
	if strings.ContainsAny(in.CheckName, "\r\n") {
		return fmt.Errorf("input check-name: a check name is one line")
	}
	return nil
}
