package flysim

import (
	"os"
	"slices"

	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
)

// simappArgv is the default command of simapp images: what a FastAPI
// Dockerfile's CMD says (simapp serves whatever the command is, but the
// runner's "Preparing to run" line reads true).
var simappArgv = []string{"uvicorn", "app.main:app", "--host", "0.0.0.0"}

// SimappImage returns an image whose machines run simapp through
// entrypoint, e.g. {"/usr/bin/deploy-action", "simapp"} for a binary with a
// hidden subcommand that calls simapp.Main, with faults f in its
// environment. A release command (init.cmd `alembic upgrade head`) runs
// simapp's release mode.
func SimappImage(entrypoint []string, f simapp.Faults) Image {
	return Image{
		Entrypoint: slices.Clone(entrypoint),
		Argv:       slices.Clone(simappArgv),
		Env:        f.Env(),
		Labels:     map[string]string{"fly.version": "flysim"},
	}
}

// ReexecImage returns an image whose machines run simapp by re-executing the
// current binary with simapp.ReexecEnv=1; the binary must call
// simapp.MainIfReexec before anything else (a test binary does it in
// TestMain). It panics if the executable cannot be found.
func ReexecImage(f simapp.Faults) Image {
	exe, err := os.Executable()
	if err != nil {
		panic("flysim: cannot find the current executable: " + err.Error())
	}
	img := SimappImage([]string{exe}, f)
	img.Env[simapp.ReexecEnv] = "1"
	return img
}
