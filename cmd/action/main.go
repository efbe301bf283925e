// Command deploy-action validates a repository before a Fly.io deploy and
// reports each problem at its file and line. Run `deploy-action help`.
//
// Started by the GitHub Actions runner as a container action
// (GITHUB_ACTIONS=true and no arguments), it runs in GitHub mode: it reads
// the action's inputs and reports as the check run `deploy-check` (see
// internal/action).
package main

import (
	"context"
	"os"

	"github.com/grupo-gad/deploy-action/internal/action"
	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/root"
)

func main() {
	if os.Getenv("GITHUB_ACTIONS") == "true" && len(os.Args) == 1 {
		os.Exit(action.Main(context.Background(), action.System(root.Version)))
	}
	os.Exit(root.Main(cmdutil.System(), os.Args[1:]))
}
