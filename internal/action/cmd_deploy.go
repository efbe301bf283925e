package action

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/deploy"
	"github.com/grupo-gad/deploy-action/internal/cmd/flyenv"
)

func init() { Commands["deploy"] = Deploy }

// Deploy runs `deploy-action deploy` (internal/cmd/deploy) on the working
// directory with the app, image, health-url and fly-api-token inputs: it
// validates, deploys through the Fly Machines API, verifies health and
// rolls back on failure. Its progress lines go to the job log; the check run
// is completed with the whole report.
func Deploy(ctx context.Context, req *Request) (*Result, error) {
	in := req.Inputs
	if in.FlyAPIToken != "" {
		// The Fly client reads its token from the environment.
		if err := os.Setenv("FLY_API_TOKEN", in.FlyAPIToken); err != nil {
			return nil, fmt.Errorf("set FLY_API_TOKEN: %w", err)
		}
	}
	if !flyenv.HasToken() {
		return nil, fmt.Errorf("deploy needs a Fly token: pass `fly-api-token: ${{ secrets.FLY_API_TOKEN }}` (a token from `fly tokens create deploy`)")
	}
	opts := &deploy.Options{
		IO:     cmdutil.IO{Out: req.Log, Err: req.Log},
		Dir:    req.Dir,
		Config: req.Config,
		App:    in.App, Image: in.Image, HealthURL: in.HealthURL,
		Format: "json",
	}
	out, err := deploy.Execute(ctx, opts)
	if err != nil {
		return nil, err
	}
	res := &Result{Report: out.Report, Sources: out.Project}
	if out.Deploy != nil {
		res.Image = out.Deploy.Image
	}
	if u, err := url.Parse(out.HealthURL); err == nil && out.HealthURL != "" {
		res.URL = u.Scheme + "://" + u.Host
	} else if out.App != "" {
		res.URL = "https://" + out.App + ".fly.dev"
	}
	return res, nil
}
