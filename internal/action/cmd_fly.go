package action

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/flyenv"
	"github.com/grupo-gad/deploy-action/internal/cmd/rollback"
	"github.com/grupo-gad/deploy-action/internal/cmd/secrets"
	"github.com/grupo-gad/deploy-action/internal/report"
)

func init() {
	Commands["rollback"] = Rollback
	Commands["secrets"] = Secrets
}

// Rollback runs `deploy-action rollback` for the app input: back to the
// image each machine ran before the last deploy, or to the image input.
func Rollback(ctx context.Context, req *Request) (*Result, error) {
	args := []string{"--app", req.Inputs.App}
	if req.Inputs.Image != "" {
		args = append(args, "--image", req.Inputs.Image)
	}
	res, err := runFlyCommand(ctx, req, "rollback", args, func(io cmdutil.IO, args []string) (int, error) {
		opts, err := rollback.NewOptions(io, args)
		if err != nil {
			return cmdutil.ExitUsage, err
		}
		return rollback.Run(ctx, opts)
	})
	if res != nil {
		res.Image = req.Inputs.Image
	}
	return res, err
}

// Secrets runs `deploy-action secrets` for the app input: the secrets the
// repository needs against the names set on the Fly app (names only).
func Secrets(ctx context.Context, req *Request) (*Result, error) {
	return runFlyCommand(ctx, req, "secrets", []string{"--app", req.Inputs.App}, func(io cmdutil.IO, args []string) (int, error) {
		opts, err := secrets.NewOptions(io, args)
		if err != nil {
			return cmdutil.ExitUsage, err
		}
		return secrets.Run(ctx, opts)
	})
}

// runFlyCommand runs a command that talks to Fly with the fly-api-token
// input, the config input and the working directory, in JSON, and reads
// its report back through the JSON contract.
func runFlyCommand(ctx context.Context, req *Request, name string, args []string,
	run func(cmdutil.IO, []string) (int, error)) (*Result, error) {
	in := req.Inputs
	if in.App == "" {
		return nil, fmt.Errorf("%s needs the app input (the Fly app's name)", name)
	}
	if in.FlyAPIToken != "" {
		// The Fly client reads its token from the environment.
		if err := os.Setenv("FLY_API_TOKEN", in.FlyAPIToken); err != nil {
			return nil, fmt.Errorf("set FLY_API_TOKEN: %w", err)
		}
	}
	if !flyenv.HasToken() {
		return nil, fmt.Errorf("%s needs a Fly token: pass `fly-api-token: ${{ secrets.FLY_API_TOKEN }}` (a token from `fly tokens create deploy`)", name)
	}
	if req.Config != "" {
		args = append(args, "--config", req.Config)
	}
	args = append(args, "--format", "json", req.Dir)
	var out bytes.Buffer
	code, err := run(cmdutil.IO{Out: &out, Err: req.Log}, args)
	if err != nil && code == cmdutil.ExitUsage && out.Len() == 0 {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rep, rerr := report.ReadJSON(&out)
	if rerr != nil {
		return nil, fmt.Errorf("%s: %w", name, rerr)
	}
	return &Result{Report: rep, URL: "https://" + in.App + ".fly.dev"}, nil
}
