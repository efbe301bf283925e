// Command deploy-action validates a repository before a Fly.io deploy and
// reports each problem at its file and line. Run `deploy-action help`.
package main

import (
	"os"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/root"
)

func main() {
	os.Exit(root.Main(cmdutil.System(), os.Args[1:]))
}
