// Package action is deploy-action's GitHub mode: what the container action
// does when the runner starts it (GITHUB_ACTIONS=true, no arguments).
//
// It reads the inputs (go-githubactions), masks every secret value before
// printing anything, resolves the commit to report on (the `sha` input, the
// pull request's head, or GITHUB_SHA), creates the check run `deploy-check`
// in_progress, runs the command, completes the check run with its conclusion
// and annotations (batches of 50, paths relative to the repository root),
// writes the step summary, the JSON report and the step outputs (with a
// random delimiter), and exits according to `fail-on`. When the token cannot
// write checks (a fork's pull request: 403) the findings go to the job log as
// workflow-command annotations instead, and the step does not fail for it.
package action

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	ghapi "github.com/grupo-gad/deploy-action/internal/github"
	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/output/summary"
	"github.com/grupo-gad/deploy-action/internal/output/text"
	"github.com/grupo-gad/deploy-action/internal/output/workflowcmd"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Exit codes of GitHub mode (the same as the CLI's).
const (
	// ExitOK: nothing that fail-on counts was found.
	ExitOK = 0
	// ExitFindings: findings that fail-on counts were found.
	ExitFindings = 1
	// ExitError: the action could not run (bad input, I/O, an API error).
	ExitError = 2
)

// MaxWorkflowAnnotations is how many workflow-command annotations of one
// severity GitHub shows for a step.
const MaxWorkflowAnnotations = 10

// ReportDir is the folder, under the workspace, where the JSON report is
// written (it holds a .gitignore that ignores it all).
const ReportDir = ".deploy-action"

// Env is the world the action runs in. The zero value of each field means
// the process's own (see System).
type Env struct {
	// Getenv reads a variable; nil means os.Getenv.
	Getenv func(string) string
	// Environ lists NAME=value pairs; nil means os.Environ.
	Environ func() []string
	// Stdout is the job log; nil means os.Stdout.
	Stdout io.Writer
	// HTTPClient calls the GitHub API; nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// Version is deploy-action's version, printed on the first log line.
	Version string
	// Commands are the commands that can run; nil means Commands.
	Commands map[string]Command
}

// System returns the process's environment.
func System(version string) Env {
	return Env{Version: version}
}

func (e Env) withDefaults() Env {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Environ == nil {
		e.Environ = os.Environ
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	if e.HTTPClient == nil {
		e.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if e.Commands == nil {
		e.Commands = Commands
	}
	if e.Version == "" {
		e.Version = "dev"
	}
	return e
}

// Main runs GitHub mode and returns the process exit code.
func Main(ctx context.Context, env Env) int {
	env = env.withDefaults()
	r := &run{env: env, out: env.Stdout}
	r.a = githubactions.New(githubactions.WithGetenv(env.Getenv), githubactions.WithWriter(env.Stdout))
	r.in = ReadInputs(r.a)
	// Masks first: nothing may be printed before the runner knows them.
	r.mask = NewMasker(r.in, env.Environ())
	r.mask.Announce(r.a)
	r.logf("deploy-action %s: %s (GitHub mode)", env.Version, r.in.Command)
	return r.main(ctx)
}

// run is one GitHub-mode run.
type run struct {
	env  Env
	a    *githubactions.Action
	out  io.Writer
	in   Inputs
	mask *Masker
	gctx *githubactions.GitHubContext
	ws   Workspace
	sha  string

	check    *ghapi.CheckRun
	notes    []string
	fellBack bool // findings went to the log as workflow commands
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}

func (r *run) main(ctx context.Context) int {
	if err := r.in.Validate(); err != nil {
		return r.cannotRun(ctx, err)
	}
	gctx, err := r.a.Context()
	if err != nil {
		return r.cannotRun(ctx, fmt.Errorf("read the workflow's context: %w", err))
	}
	r.gctx = gctx
	ws, err := ResolveWorkspace(gctx.Workspace, r.in.WorkingDirectory)
	if err != nil {
		return r.cannotRun(ctx, err)
	}
	r.ws = ws
	cmd, err := lookup(r.env.Commands, r.in.Command)
	if err != nil {
		return r.cannotRun(ctx, err)
	}
	sha, source := TargetSHA(r.in, gctx)
	r.sha = sha
	where := gctx.Repository
	if sha != "" {
		where += "@" + sha + " (" + source + ")"
	}
	if ws.Prefix != "" {
		where += ", working-directory " + ws.Prefix
	}
	r.logf("checking %s", strings.TrimPrefix(where, "@"))

	// A dispatched deploy names its commit: refuse to report on (or deploy)
	// another one.
	var refused error
	if r.in.SHA != "" {
		if got, ok := CheckedOut(ws.Repo); ok && got != r.in.SHA {
			refused = fmt.Errorf("the workspace holds commit %s, but the sha input asks for %s: check out exactly that commit (actions/checkout with `ref: ${{ inputs.sha }}`) before this step", got, r.in.SHA)
		}
	}

	r.startCheck(ctx)
	if refused != nil {
		return r.cannotRun(ctx, refused)
	}

	req := &Request{Inputs: r.in, Dir: ws.Dir, Config: r.config(), Log: r.out, Progress: r.progress(ctx)}
	res, err := cmd(ctx, req)
	if err == nil && (res == nil || res.Report == nil) {
		err = fmt.Errorf("command %s returned no report", r.in.Command)
	}
	if err != nil {
		return r.cannotRun(ctx, err)
	}
	return r.finish(ctx, res)
}

// config resolves the config input: relative to the repository root (the
// runner's working directory), else to the working directory.
func (r *run) config() string {
	c := r.in.Config
	if c == "" || filepath.IsAbs(c) {
		return c
	}
	for _, base := range []string{r.ws.Root, r.ws.Dir} {
		p := filepath.Join(base, c)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return c
}

func (r *run) options() summary.Options {
	opt := summary.Options{Name: r.in.CheckName, PathPrefix: r.ws.Prefix, SHA: r.sha}
	if r.gctx != nil {
		opt.ServerURL, opt.Repository = r.gctx.ServerURL, r.gctx.Repository
	}
	return opt
}

// startCheck creates the check run in_progress, or notes why there is none.
func (r *run) startCheck(ctx context.Context) {
	token := r.in.GitHubToken
	if token == "" {
		token = r.env.Getenv("GITHUB_TOKEN")
	}
	switch {
	case token == "":
		r.fallBack("No `github-token` was given, so there is no `" + r.in.CheckName + "` check run: the findings are annotated from the job log instead.")
		return
	case r.gctx.Repository == "" || r.sha == "":
		r.fallBack("The repository or commit is unknown (GITHUB_REPOSITORY, GITHUB_SHA), so there is no check run: the findings are annotated from the job log instead.")
		return
	}
	client, err := ghapi.NewClient(r.gctx.APIURL, r.gctx.Repository, token, r.env.HTTPClient)
	if err != nil {
		r.fallBack(fmt.Sprintf("Cannot reach the GitHub API (%v): the findings are annotated from the job log instead.", err))
		return
	}
	start := ghapi.Start{
		Name:    r.in.CheckName,
		HeadSHA: r.sha,
		Output: ghapi.Output{
			Title:   "Running " + r.in.Command,
			Summary: fmt.Sprintf("deploy-action is running `%s` on this commit.", r.in.Command),
		},
	}
	if r.gctx.RunID > 0 {
		start.DetailsURL = fmt.Sprintf("%s/%s/actions/runs/%d", strings.TrimRight(r.gctx.ServerURL, "/"), r.gctx.Repository, r.gctx.RunID)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	check, err := client.Create(cctx, start)
	switch {
	case ghapi.IsForbidden(err):
		r.fallBack("The token cannot write checks (HTTP 403: a pull request from a fork gets a read-only token, or the workflow lacks `permissions: checks: write`), so there is no `" + r.in.CheckName + "` check run: the findings are annotated from the job log instead.")
	case err != nil:
		r.fallBack(fmt.Sprintf("Could not create the `%s` check run (%s): the findings are annotated from the job log instead.", r.in.CheckName, r.mask.Scrub(err.Error())))
	default:
		r.check = check
		r.logf("check run %s: %s", r.in.CheckName, check.HTMLURL)
	}
}

// fallBack records, and says once in the log, why findings go to the log.
func (r *run) fallBack(note string) {
	r.notes = append(r.notes, note)
	r.logf("%s", note)
}

// progress returns the Request.Progress hook: it updates the check run's
// phase table, at most once a second.
func (r *run) progress(ctx context.Context) func(*report.Report) {
	var last time.Time
	return func(rep *report.Report) {
		if r.check == nil || rep == nil || time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out := ghapi.Output{Title: "Running " + r.in.Command, Summary: r.mask.Scrub(summary.PhaseTable(rep))}
		if err := r.check.Progress(cctx, out); err != nil {
			r.logf("could not update the check run: %s", r.mask.Scrub(err.Error()))
		}
	}
}

// cannotRun reports an error that kept the command from running: on the
// check run (completed, failure), in the log, the step summary and the
// outputs; it returns ExitError.
func (r *run) cannotRun(ctx context.Context, err error) int {
	msg := r.mask.Scrub(err.Error())
	title := "deploy-action could not run " + r.in.Command
	r.a.Errorf("%s: %s", title, msg)
	md := fmt.Sprintf("## ❌ %s: %s\n\n%s\n", r.in.CheckName, title, msg)
	if r.check != nil {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if cerr := r.check.Complete(cctx, "failure", ghapi.Output{Title: title, Summary: md}, nil); cerr != nil {
			r.logf("could not complete the check run: %s", r.mask.Scrub(cerr.Error()))
		}
	}
	r.writeSummary(md)
	r.writeOutputs([]Output{{"conclusion", "failure"}})
	return ExitError
}

// conclusion applies fail-on to the report's conclusion: with fail-on
// warning, warnings make it a failure.
func (r *run) conclusion(rep *report.Report) report.Conclusion {
	if r.in.FailOn == FailOnWarning && rep.Counts()[report.Warning] > 0 {
		return report.Failure
	}
	return rep.Conclusion
}

func (r *run) exitCode(rep *report.Report) int {
	c := rep.Counts()
	switch r.in.FailOn {
	case FailOnNever:
		return ExitOK
	case FailOnWarning:
		if c[report.Error]+c[report.Warning] > 0 {
			return ExitFindings
		}
	default:
		if c[report.Error] > 0 {
			return ExitFindings
		}
	}
	return ExitOK
}

// finish renders the finished report everywhere and returns the exit code.
func (r *run) finish(ctx context.Context, res *Result) int {
	rep := res.Report
	if err := text.Render(r.out, rep, text.Options{Sources: res.Sources}); err != nil {
		r.logf("could not print the report: %v", err)
	}
	reportPath := r.writeReport(rep)
	code := r.exitCode(rep)

	if r.check == nil {
		r.annotateLog(rep)
	}
	if r.check != nil {
		code = max(code, r.completeCheck(ctx, rep))
	}

	opt := r.options()
	opt.Notes = r.notes
	if r.check != nil && r.check.HTMLURL != "" {
		opt.Notes = append([]string{fmt.Sprintf("Check run: [%s](%s)", r.in.CheckName, r.check.HTMLURL)}, opt.Notes...)
	}
	opt.Gantt = true
	r.writeSummary(r.mask.Scrub(summary.Render(rep, opt)))

	c := rep.Counts()
	r.writeOutputs([]Output{
		{"conclusion", string(r.conclusion(rep))},
		{"report", reportPath},
		{"errors", strconv.Itoa(c[report.Error])},
		{"warnings", strconv.Itoa(c[report.Warning])},
		{"url", res.URL},
		{"release", res.Release},
		{"image", res.Image},
	})
	if code == ExitFindings {
		r.logf("fail-on %s: failing the step", r.in.FailOn)
	}
	return code
}

// annotateLog writes the findings as workflow commands, within GitHub's
// per-step limits, and notes how many were left out.
func (r *run) annotateLog(rep *report.Report) {
	if r.fellBack {
		return
	}
	r.fellBack = true
	omitted, err := workflowcmd.Render(r.out, rep, workflowcmd.Options{PathPrefix: r.ws.Prefix, MaxPerSeverity: MaxWorkflowAnnotations})
	if err != nil {
		r.logf("could not write annotations: %v", err)
		return
	}
	n := omitted[report.Error] + omitted[report.Warning] + omitted[report.Notice]
	if n > 0 {
		var parts []string
		for _, s := range []report.Severity{report.Error, report.Warning, report.Notice} {
			if omitted[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", omitted[s], s))
			}
		}
		r.notes = append(r.notes, fmt.Sprintf("GitHub shows at most %d annotations of each severity per step: %d more findings (%s) are not annotated on the diff; every finding is listed below.",
			MaxWorkflowAnnotations, n, strings.Join(parts, ", ")))
	}
}

// completeCheck delivers the annotations and completes the check run. When
// GitHub refuses (403) it falls back to log annotations; when the check run
// cannot be completed at all it returns ExitError.
func (r *run) completeCheck(ctx context.Context, rep *report.Report) int {
	anns, skipped := ghapi.Annotations(rep, r.ws.Prefix)
	for _, a := range anns {
		a.Message = ptr(r.mask.Scrub(a.GetMessage()))
		a.Title = ptr(r.mask.Scrub(a.GetTitle()))
	}
	if len(skipped) > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d findings have no file in the repository to annotate; they are listed below.", len(skipped)))
	}
	opt := r.options()
	opt.Notes = r.notes
	text, _ := summary.Findings(rep, opt, summary.MaxLen)
	out := ghapi.Output{
		Title:   summary.Title(rep),
		Summary: r.mask.Scrub(summary.Head(rep, opt)),
		Text:    r.mask.Scrub(text),
	}
	conclusion := string(r.conclusion(rep))
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := r.check.Complete(cctx, conclusion, out, anns)
	if err == nil {
		r.logf("check run %s: %s, %d annotations", r.in.CheckName, conclusion, len(anns))
		return ExitOK
	}
	if ghapi.IsForbidden(err) {
		r.fallBack("The token could not add annotations to the check run (HTTP 403): the findings are annotated from the job log instead.")
	} else {
		r.logf("could not deliver the check run's annotations: %s", r.mask.Scrub(err.Error()))
		r.notes = append(r.notes, "The check run's annotations could not all be delivered: the findings are annotated from the job log instead.")
	}
	r.annotateLog(rep)
	out.Summary = r.mask.Scrub(summary.Head(rep, r.optionsWithNotes()))
	if err := r.check.Complete(cctx, conclusion, out, nil); err != nil {
		if ghapi.IsForbidden(err) {
			return ExitOK
		}
		r.a.Errorf("could not complete the %s check run, it stays in progress: %s", r.in.CheckName, r.mask.Scrub(err.Error()))
		return ExitError
	}
	return ExitOK
}

func (r *run) optionsWithNotes() summary.Options {
	opt := r.options()
	opt.Notes = r.notes
	return opt
}

func ptr(s string) *string { return &s }

var unsafeName = lazyre.New(`[^A-Za-z0-9_.-]+`)

// writeReport writes the JSON report under the workspace and returns its
// path relative to the workspace (what later steps see as their working
// directory), or "" when it could not be written. The folder and file are
// left writable by everyone: the action runs as root in its container, and
// the runner's own user must be able to clean the workspace afterwards.
func (r *run) writeReport(rep *report.Report) string {
	step := r.env.Getenv("GITHUB_ACTION")
	if step == "" {
		step = r.in.Command
	}
	name := "report-" + strings.Trim(unsafeName.ReplaceAllString(step, "_"), "_.") + ".json"
	dir := filepath.Join(r.ws.Root, ReportDir)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		r.logf("could not write the JSON report: %v", err)
		return ""
	}
	_ = os.Chmod(dir, 0o777)
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(ignore); err != nil {
		_ = os.WriteFile(ignore, []byte("# written by deploy-action; never commit it\n*\n"), 0o666)
		_ = os.Chmod(ignore, 0o666)
	}
	var b strings.Builder
	if err := rep.WriteJSON(&b); err != nil {
		r.logf("could not write the JSON report: %v", err)
		return ""
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(r.mask.Scrub(b.String())), 0o666); err != nil {
		r.logf("could not write the JSON report: %v", err)
		return ""
	}
	_ = os.Chmod(file, 0o666)
	return ReportDir + "/" + name
}

func (r *run) writeSummary(md string) {
	file := r.env.Getenv("GITHUB_STEP_SUMMARY")
	if file == "" {
		return
	}
	if err := AppendFile(file, md+"\n"); err != nil {
		r.logf("could not write the step summary: %v", err)
	}
}

func (r *run) writeOutputs(outs []Output) {
	file := r.env.Getenv("GITHUB_OUTPUT")
	if file == "" {
		return
	}
	if err := WriteOutputs(file, outs); err != nil {
		r.logf("could not set the step outputs: %v", err)
	}
}
