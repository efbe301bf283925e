// Package remote checks a repository against the Fly app it deploys to:
// the app exists, and the secrets the repository needs are set on it — by
// name only, values are never asked for. `validate` adds these checks when a
// Fly token is set; `secrets` and `deploy` run them too.
//
// The secrets a repository needs are what the secrets-required rule finds
// (settings read with no default, the database URL Alembic's env.py reads)
// plus the names a user lists. A missing one that the release command needs
// (the release runs alembic, and env.py reads it) is reported in the release
// phase, where the deploy would fail; the others in the secrets phase.
package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	flygo "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"

	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/secrets"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/rules"
)

// Rule IDs of the findings Check writes (besides secrets.Rule, for a
// missing secret the app needs).
const (
	RuleAppMissing     = "remote-app-missing"     // the app does not exist (or the token cannot see it)
	RuleUnavailable    = "remote-unavailable"     // the remote checks could not run
	RuleReleaseSecret  = "release-secret-missing" // the release command needs a secret that is not set
	RuleSecretsSummary = "secrets-summary"        // which required names are set (names only)
)

// API is the part of the Fly Machines API the checks call; fly.Machines
// implements it.
type API interface {
	GetApp(ctx context.Context, name string) (*flaps.App, error)
	secrets.Lister
}

// Need is a secret the repository needs.
type Need struct {
	secrets.Required
	// Aliases are other names that satisfy it; CaseInsensitive says any
	// case of the name does (pydantic settings).
	Aliases         []string
	CaseInsensitive bool
	// Release reports that the release command needs it: it is the
	// database URL the release's Alembic connects with.
	Release bool
}

// Needs returns the secrets p needs: what the secrets-required rule reports
// (rules.RequiredEnvVars), the database URL the release's Alembic connects
// with (rules.ReleaseDatabaseURL, marked Release), then each name of extra
// not already listed (e.g. --require NAME).
func Needs(p *project.Project, extra []string) []Need {
	var out []Need
	index := map[string]int{}
	for _, v := range rules.RequiredEnvVars(p) {
		n := Need{Required: secrets.Required{Name: v.Name, Loc: v.Loc, Why: "the app (read with no default)"},
			Aliases: v.Aliases, CaseInsensitive: v.CaseInsensitive}
		if v.Release && !v.App {
			n.Why = "Alembic's env.py"
		}
		index[v.Name] = len(out)
		out = append(out, n)
	}
	if name, loc, ok := rules.ReleaseDatabaseURL(p); ok {
		i, seen := index[name]
		if !seen {
			i = len(out)
			index[name] = i
			out = append(out, Need{Required: secrets.Required{Name: name, Loc: loc}})
		}
		out[i].Release = true
		out[i].Why = "the release command (alembic)"
		if seen {
			out[i].Why = "the release command (alembic) and the app"
		}
	}
	for _, name := range extra {
		name = strings.TrimSpace(name)
		if _, seen := index[name]; name == "" || seen {
			continue
		}
		index[name] = len(out)
		out = append(out, Need{Required: secrets.Required{Name: name, Why: "your list (--require)"}})
	}
	return out
}

// ReleaseRunsAlembic reports whether fly.toml's release_command runs
// alembic.
func ReleaseRunsAlembic(p *project.Project) bool {
	if p == nil || p.Fly == nil || p.Fly.Deploy == nil || !p.Fly.Deploy.ReleaseCommand.Set {
		return false
	}
	return strings.Contains(strings.ToLower(p.Fly.Deploy.ReleaseCommand.V), "alembic")
}

// AppName returns the app the repository deploys to: app, else fly.toml's
// app, else $FLY_APP (as flyctl reads it).
func AppName(p *project.Project, app string) string {
	if app = strings.TrimSpace(app); app != "" {
		return app
	}
	if p != nil && p.Fly != nil && strings.TrimSpace(p.Fly.App.V) != "" {
		return strings.TrimSpace(p.Fly.App.V)
	}
	return strings.TrimSpace(os.Getenv("FLY_APP"))
}

// Checker runs the remote checks through API.
type Checker struct {
	// API is the Fly API.
	API API
	// App is the Fly app ("" means fly.toml's app, see AppName).
	App string
	// Require lists more secret names the app must hold.
	Require []string
}

// Result is what Check found.
type Result struct {
	// App is the app checked.
	App string
	// AppMissing reports that the API answered 404 for the app.
	AppMissing bool
	// Needs are the secrets the repository needs.
	Needs []Need
	// Set lists the names of the secrets set on the app, sorted.
	Set []string
	// Missing lists the needs that are not set.
	Missing []Need
}

// OK reports that the app exists and every needed secret is set.
func (r *Result) OK() bool { return r != nil && !r.AppMissing && len(r.Missing) == 0 }

// ErrNoApp is returned by Check when no app name is known.
var ErrNoApp = errors.New("no Fly app name: give --app, set app in fly.toml, or set FLY_APP")

// Check checks the app and its secrets against p and writes findings into
// rep: an error when the app does not exist (RuleAppMissing, secrets
// phase), an error per missing secret (RuleReleaseSecret in the release
// phase for what the release command needs, secrets.Rule in the secrets
// phase for the rest), and a notice naming what is set. It returns an error
// (and writes nothing) when no app name is known or the API cannot answer.
func (c *Checker) Check(ctx context.Context, p *project.Project, rep *report.Report) (*Result, error) {
	app := AppName(p, c.App)
	if app == "" {
		return nil, ErrNoApp
	}
	res := &Result{App: app, Needs: Needs(p, c.Require)}
	if _, err := c.API.GetApp(ctx, app); err != nil {
		if !fly.IsNotFound(err) {
			return nil, fmt.Errorf("get app %s: %w", app, err)
		}
		res.AppMissing = true
		rep.Add(report.Secrets, report.Finding{Rule: RuleAppMissing, Severity: report.Error, Location: appLoc(p),
			Title:   fmt.Sprintf("App %s does not exist in Fly", app),
			Message: fmt.Sprintf("The Fly API has no app named %s (or the token cannot see it), so there is nothing to deploy to and its secrets cannot be checked.", app),
			Fix:     fmt.Sprintf("Create it with `fly apps create %s` (or fix app in fly.toml), and check that the token belongs to the app's organisation.", app)})
		return res, nil
	}

	l := &onceLister{l: c.API}
	set, err := secrets.Names(ctx, l, app)
	if err != nil {
		return nil, err
	}
	res.Set = set
	// Needs satisfied by an alias, or by another case for pydantic
	// settings, are met; secrets.Check compares the rest by exact name.
	var appNeeds []secrets.Required
	byName := map[string]Need{}
	for _, n := range res.Needs {
		if metOtherwise(n, set) {
			continue
		}
		byName[n.Name] = n
		if n.Release {
			if _, ok := slices.BinarySearch(set, n.Name); !ok {
				res.Missing = append(res.Missing, n)
				rep.Add(report.Release, releaseFinding(p, app, n))
			}
			continue
		}
		appNeeds = append(appNeeds, n.Required)
	}
	sr, err := secrets.Check(ctx, l, app, appNeeds, rep)
	if err != nil {
		return nil, err
	}
	for _, m := range sr.Missing {
		res.Missing = append(res.Missing, byName[m.Name])
	}
	if len(res.Needs) > 0 {
		rep.Add(report.Secrets, summary(app, res))
	}
	return res, nil
}

// CheckOrWarn is Check for `validate`: when the checks cannot run, it writes
// a warning saying why into the secrets phase instead of failing.
func (c *Checker) CheckOrWarn(ctx context.Context, p *project.Project, rep *report.Report) *Result {
	res, err := c.Check(ctx, p, rep)
	if err != nil {
		rep.Add(report.Secrets, Unavailable(err))
	}
	return res
}

// Unavailable is the warning written when the remote checks could not run.
func Unavailable(err error) report.Finding {
	fix := "Check the network, or run again; unset FLY_API_TOKEN and FLY_ACCESS_TOKEN to validate without the remote checks."
	switch code := fly.StatusCode(err); {
	case errors.Is(err, ErrNoApp):
		fix = "Set app in fly.toml (or FLY_APP) so the app and its secrets can be checked."
	case code == 401 || code == 403:
		fix = "The Fly API refused the token: create one with `fly tokens create deploy -a <app>` and set it as FLY_API_TOKEN."
	}
	return report.Finding{Rule: RuleUnavailable, Severity: report.Warning,
		Title:   "The app and its secrets could not be checked in Fly",
		Message: fmt.Sprintf("A Fly token is set, but the remote checks could not run: %v.", err),
		Fix:     fix}
}

func releaseFinding(p *project.Project, app string, n Need) report.Finding {
	loc := n.Loc
	cmd := "the release command"
	if p.Fly != nil && p.Fly.Deploy != nil && p.Fly.Deploy.ReleaseCommand.Set {
		cmd = fmt.Sprintf("release_command `%s`", p.Fly.Deploy.ReleaseCommand.V)
		loc = p.Fly.Deploy.ReleaseCommand.Loc
	}
	where := ""
	if n.Loc.File != "" {
		where = fmt.Sprintf(" (read at %s:%d)", n.Loc.File, n.Loc.Line)
	}
	fix := fmt.Sprintf("Set it before deploying: `fly secrets set %s=... -a %s`.", n.Name, app)
	if isDBURL(n.Name) {
		fix = fmt.Sprintf("Attach the database with `fly postgres attach <postgres-app> -a %s`, which sets %s, or `fly secrets set %s=postgresql+asyncpg://... -a %s`.", app, n.Name, n.Name, app)
	}
	return report.Finding{Rule: RuleReleaseSecret, Severity: report.Error, Location: loc,
		Title:   fmt.Sprintf("Secret %s is not set in Fly: the release will fail", n.Name),
		Message: fmt.Sprintf("%s runs Alembic, which connects with %s%s, but the app %s has no secret of that name: the release machine stops with `KeyError: '%s'` and the deploy is aborted.", cmd, n.Name, where, app, n.Name),
		Fix:     fix}
}

func summary(app string, res *Result) report.Finding {
	var ok, missing []string
	for _, n := range res.Needs {
		if slices.ContainsFunc(res.Missing, func(m Need) bool { return m.Name == n.Name }) {
			missing = append(missing, n.Name)
		} else {
			ok = append(ok, n.Name)
		}
	}
	msg := fmt.Sprintf("The repository needs %d secret(s) on %s.", len(res.Needs), app)
	if len(ok) > 0 {
		msg += " Set: " + strings.Join(ok, ", ") + "."
	}
	if len(missing) > 0 {
		msg += " Missing: " + strings.Join(missing, ", ") + "."
	}
	title := fmt.Sprintf("%d of %d required secret(s) set on %s", len(ok), len(res.Needs), app)
	return report.Finding{Rule: RuleSecretsSummary, Severity: report.Notice, Title: title, Message: msg}
}

// metOtherwise reports whether n is satisfied by a name other than its
// own exact name: an alias, or another case when the app ignores case.
func metOtherwise(n Need, set []string) bool {
	for _, s := range set {
		if s == n.Name {
			return false
		}
	}
	for _, s := range set {
		if slices.Contains(n.Aliases, s) || (n.CaseInsensitive && strings.EqualFold(s, n.Name)) {
			return true
		}
		for _, a := range n.Aliases {
			if n.CaseInsensitive && strings.EqualFold(s, a) {
				return true
			}
		}
	}
	return false
}

func isDBURL(name string) bool {
	u := strings.ToUpper(name)
	return strings.Contains(u, "DATABASE") || strings.HasPrefix(u, "DB_") || strings.Contains(u, "POSTGRES")
}

func appLoc(p *project.Project) report.Location {
	if p != nil && p.Fly != nil && p.Fly.App.Set {
		return p.Fly.App.Loc
	}
	return report.Location{}
}

// onceLister lists the secrets once and answers later calls from memory,
// so Names and secrets.Check share one API call. Values are dropped.
type onceLister struct {
	l    secrets.Lister
	once sync.Once
	list []flygo.AppSecret
	err  error
}

// ListAppSecrets implements secrets.Lister; values are never asked for.
func (o *onceLister) ListAppSecrets(ctx context.Context, app string, version *uint64, _ bool) ([]flygo.AppSecret, error) {
	o.once.Do(func() {
		list, err := o.l.ListAppSecrets(ctx, app, version, false)
		for _, s := range list {
			o.list = append(o.list, flygo.AppSecret{Name: s.Name, Digest: s.Digest})
		}
		o.err = err
	})
	return o.list, o.err
}
