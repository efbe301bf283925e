// Package root dispatches deploy-action's subcommands and maps their
// outcome to an exit code.
package root

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/demo"
	"github.com/grupo-gad/deploy-action/internal/cmd/deploy"
	"github.com/grupo-gad/deploy-action/internal/cmd/diagnose"
	"github.com/grupo-gad/deploy-action/internal/cmd/rollback"
	"github.com/grupo-gad/deploy-action/internal/cmd/secrets"
	"github.com/grupo-gad/deploy-action/internal/cmd/validate"
	"github.com/grupo-gad/deploy-action/internal/cmd/verify"
	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
)

// Version is set at build time with -ldflags "-X .../root.Version=v1.2.3".
var Version = "dev"

type command struct {
	name  string
	usage string
	help  string
	run   func(io cmdutil.IO, args []string) (int, error)
}

var commands = []command{
	{name: "validate", usage: validate.Usage, help: validate.Help, run: func(io cmdutil.IO, args []string) (int, error) {
		opts, err := validate.NewOptions(io, args)
		if err != nil {
			return cmdutil.ExitUsage, err
		}
		return validate.Run(opts)
	}},
	{name: "verify", usage: verify.Usage, help: verify.Help, run: verify.Main},
	{name: "diagnose", usage: diagnose.Usage, help: diagnose.Help, run: func(io cmdutil.IO, args []string) (int, error) {
		opts, err := diagnose.NewOptions(io, args)
		if err != nil {
			return cmdutil.ExitUsage, err
		}
		return diagnose.Run(opts)
	}},
	{name: "deploy", usage: deploy.Usage, help: deploy.Help, run: deploy.Main},
	{name: "rollback", usage: rollback.Usage, help: rollback.Help, run: rollback.Main},
	{name: "secrets", usage: secrets.Usage, help: secrets.Help, run: secrets.Main},
	{name: "demo", usage: demo.Usage, help: demo.Help, run: demo.Main},
}

func usage() string {
	var b strings.Builder
	b.WriteString("deploy-action: make Fly.io deploys safe — validate before, explain failures at their cause.\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  deploy-action %s\n", c.usage)
	}
	b.WriteString("  deploy-action version\n\nRun `deploy-action COMMAND --help` for a command's flags.\n")
	return b.String()
}

// Main runs deploy-action with args (without the program name) and returns
// the exit code.
func Main(io cmdutil.IO, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(io.Err, usage())
		return cmdutil.ExitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		fmt.Fprint(io.Out, usage())
		return cmdutil.ExitOK
	case "version", "--version":
		fmt.Fprintf(io.Out, "deploy-action %s\n", Version)
		return cmdutil.ExitOK
	case "simapp": // hidden: what the demo's emulated machines run
		return simapp.Main(args[1:])
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		code, err := c.run(io, args[1:])
		switch {
		case errors.Is(err, flag.ErrHelp):
			fmt.Fprint(io.Out, c.help)
			return cmdutil.ExitOK
		case cmdutil.IsUsage(err):
			fmt.Fprintf(io.Err, "deploy-action %s: %v\nusage: deploy-action %s\n", name, err, c.usage)
			return cmdutil.ExitUsage
		case err != nil:
			fmt.Fprintf(io.Err, "deploy-action %s: %v\n", name, err)
			return cmdutil.ExitUsage
		}
		return code
	}
	fmt.Fprintf(io.Err, "deploy-action: unknown command %q\n\n%s", name, usage())
	return cmdutil.ExitUsage
}
