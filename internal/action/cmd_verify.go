package action

import (
	"bytes"
	"context"
	"fmt"
	"net/url"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/verify"
	"github.com/grupo-gad/deploy-action/internal/health"
	"github.com/grupo-gad/deploy-action/internal/report"
)

func init() { Commands["verify"] = Verify }

// verifyDefaults are the verification settings besides the URL (zero:
// health's defaults, 10 samples a second apart); tests shorten them.
var verifyDefaults health.Options

// Verify runs `deploy-action verify` (internal/cmd/verify) on the health-url
// input, or https://APP.fly.dev/health for the app input, and reads back the
// report it writes in the JSON contract.
func Verify(ctx context.Context, req *Request) (*Result, error) {
	target := req.Inputs.HealthURL
	if target == "" && req.Inputs.App != "" {
		target = "https://" + req.Inputs.App + ".fly.dev/health"
	}
	if target == "" {
		return nil, fmt.Errorf("verify needs the health-url input (e.g. https://my-app.fly.dev/health) or the app input")
	}
	var buf bytes.Buffer
	settings := verifyDefaults
	settings.URL = target
	opts := &verify.Options{
		IO:     cmdutil.IO{Out: &buf, Err: req.Log},
		Health: settings,
		Format: "json",
	}
	if _, err := verify.Run(ctx, opts); err != nil {
		return nil, err
	}
	rep, err := report.ReadJSON(&buf)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", target, err)
	}
	res := &Result{Report: rep}
	if u, err := url.Parse(target); err == nil {
		res.URL = u.Scheme + "://" + u.Host
	}
	return res, nil
}
