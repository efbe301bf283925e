// Package secrets compares the secrets a repository needs with the secrets
// set on its Fly app — by name only. Values are never asked for
// (ListAppSecrets is called with showSecrets false) and any value the API
// returns anyway is dropped at once.
package secrets

import (
	"context"
	"fmt"
	"slices"
	"strings"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// Lister lists an app's secrets (fly.Machines implements it).
type Lister interface {
	ListAppSecrets(ctx context.Context, app string, version *uint64, showSecrets bool) ([]flygo.AppSecret, error)
}

// Rule is the id of the findings Check writes.
const Rule = "secrets-missing-in-fly"

// Required is a secret the repository needs.
type Required struct {
	// Name is the environment variable's name.
	Name string
	// Loc is where the need is seen (the settings field, alembic's env.py
	// read), or the zero Location when it comes from a list in config.
	Loc report.Location
	// Why says what needs it, e.g. "the release command (alembic env.py)".
	Why string
}

// Result is what Check found.
type Result struct {
	// Set lists the names set on the app, sorted.
	Set []string
	// Missing lists the required secrets that are not set, in the order
	// given.
	Missing []Required
}

// OK reports that every required secret is set.
func (r *Result) OK() bool { return len(r.Missing) == 0 }

// Names lists the app's secret names, sorted.
func Names(ctx context.Context, l Lister, app string) ([]string, error) {
	list, err := l.ListAppSecrets(ctx, app, nil, false)
	if err != nil {
		return nil, fmt.Errorf("list secrets of %s: %w", app, err)
	}
	names := make([]string, 0, len(list))
	for _, s := range list {
		names = append(names, s.Name) // s.Value is never read
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Check lists the app's secret names and reports each required name that
// is missing as an error finding of phase secrets in rep (nil rep: no
// report). Names match exactly, as environment variables do; a secret set
// under another case is named in the finding. Required names given twice
// are reported once.
func Check(ctx context.Context, l Lister, app string, required []Required, rep *report.Report) (*Result, error) {
	names, err := Names(ctx, l, app)
	if err != nil {
		return nil, err
	}
	res := &Result{Set: names}
	seen := map[string]bool{}
	for _, r := range required {
		if r.Name == "" || seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		if _, ok := slices.BinarySearch(names, r.Name); ok {
			continue
		}
		res.Missing = append(res.Missing, r)
		if rep == nil {
			continue
		}
		msg := fmt.Sprintf("The app %s has no secret named %s", app, r.Name)
		if r.Why != "" {
			msg += ", which " + r.Why + " needs"
		}
		msg += "."
		for _, n := range names {
			if strings.EqualFold(n, r.Name) {
				msg += fmt.Sprintf(" A secret named %s is set: names are case-sensitive.", n)
			}
		}
		rep.Add(report.Secrets, report.Finding{Rule: Rule, Severity: report.Error, Location: r.Loc,
			Title:   fmt.Sprintf("Secret %s is not set in Fly", r.Name),
			Message: msg,
			Fix:     fmt.Sprintf("Set it before deploying: `fly secrets set %s=... -a %s` (or with `--stage` to set it without restarting the machines).", r.Name, app)})
	}
	return res, nil
}
