package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	gh "github.com/google/go-github/v66/github"

	"github.com/grupo-gad/deploy-action/internal/bot/command"
	"github.com/grupo-gad/deploy-action/internal/bot/comment"
	"github.com/grupo-gad/deploy-action/internal/bot/config"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/store"
)

// handleCommand works a command job from the stage it is at.
func (b *Bot) handleCommand(ctx context.Context, j *store.Job) error {
	unlock := b.locks.Lock(jobKey(j.ID))
	defer unlock()
	p := readProgress(j)
	if p.Stage == stageFinished || p.Stage == stageDispatched {
		return nil // already done, or following its run
	}
	// Claim counts the attempts; a stage reached resets the count.
	if j.Attempts > b.opts.MaxAttempts {
		return fmt.Errorf("%w: the bot stopped %d times while working on this command", errGiveUp, j.Attempts-1)
	}
	c, err := b.ghFor(ctx, j)
	if err != nil {
		return err
	}
	switch p.Stage {
	case stageNew:
		return b.start(ctx, c, j, &p)
	case stageChecked:
		return b.dispatch(ctx, c, j, &p)
	case stageDispatching:
		return b.reconcileDispatch(ctx, c, j, &p)
	}
	return fmt.Errorf("job %d is at an unknown stage %q", j.ID, p.Stage)
}

// start reacts, pins the SHA, authorizes, reads the configuration and then
// answers or dispatches.
func (b *Bot) start(ctx context.Context, c *gh.Client, j *store.Job, p *progress) error {
	if _, _, err := c.Reactions.CreateIssueCommentReaction(ctx, j.Owner, j.Repo, j.CommentID, "eyes"); err != nil {
		b.log.Warn("could not react to the comment", "job", j.ID, "err", err)
	}
	if j.Command == kindUsage {
		reason, name := j.Args[1], command.Name(j.Args[2])
		usage := command.Grammar()
		if name != "" {
			usage = "- " + command.Usage(name) + "\n"
		}
		return b.respond(ctx, c, j, p, comment.Usage(j.Sender, reason, usage), "usage")
	}
	cmd := commandOf(j)
	if cmd.Name == command.Help {
		return b.respond(ctx, c, j, p, comment.Help(command.Name(cmd.Target)), "answered")
	}

	var pr *gh.PullRequest
	if cmd.Name.Dispatches() {
		var err error
		pr, _, err = c.PullRequests.Get(ctx, j.Owner, j.Repo, j.PR)
		if err != nil {
			return fmt.Errorf("read pull request #%d: %w", j.PR, err)
		}
		j.SHA = pr.GetHead().GetSHA()
		if p.DefaultBranch == "" {
			p.DefaultBranch = pr.GetBase().GetRepo().GetDefaultBranch()
		}
		if err := b.save(ctx, j, p); err != nil {
			return err
		}
	}

	perm, _, err := c.Repositories.GetPermissionLevel(ctx, j.Owner, j.Repo, j.Sender)
	if err != nil && statusOf(err) != http.StatusNotFound {
		return fmt.Errorf("read the permission of %s: %w", j.Sender, err)
	}
	level := perm.GetPermission()
	if !canRun(level, perm.GetRoleName()) {
		b.audit(ctx, j, "refused: permission "+orNone(level), cmd.String())
		return b.respond(ctx, c, j, p, comment.Refusal(j.Sender, cmd.String(), orNone(level), j.Owner+"/"+j.Repo), "refused: permission "+orNone(level))
	}

	cfg, findings, err := b.readConfig(ctx, c, j)
	if err != nil {
		return err
	}
	if len(findings) > 0 {
		return b.respond(ctx, c, j, p, comment.ConfigInvalid(j.Sender, findings), "refused: invalid configuration")
	}
	if !cfg.Allows(cmd.Name) {
		b.audit(ctx, j, "refused: command turned off", cmd.String())
		return b.respond(ctx, c, j, p, comment.Disabled(j.Sender, cmd.String()), "refused: command turned off")
	}
	if pr != nil && isFork(pr, j) && !cfg.AllowForks {
		b.audit(ctx, j, "refused: fork", cmd.String())
		return b.respond(ctx, c, j, p, comment.ForkRefusal(j.Sender, cmd.String(), pr.GetHead().GetRepo().GetFullName()), "refused: fork")
	}
	envName, env, err := cfg.Resolve(cmd.Environment)
	if errors.Is(err, config.ErrUnknownEnvironment) {
		return b.respond(ctx, c, j, p, comment.Problem(j.Sender, cmd.String(), err.Error()+"."), "refused: unknown environment")
	}
	j.Environment = envName
	switch cmd.Name {
	case command.Status:
		return b.status(ctx, c, j, p)
	case command.Health:
		return b.healthCommand(ctx, c, j, p, envName, env)
	}
	if cmd.Name.Locks() && env.Approvals > 0 {
		have, err := approvals(ctx, c, j, pr.GetUser().GetLogin())
		if err != nil {
			return err
		}
		if have < env.Approvals {
			b.audit(ctx, j, "refused: approvals", fmt.Sprintf("%s: %d of %d", cmd.String(), have, env.Approvals))
			return b.respond(ctx, c, j, p, comment.Approvals(j.Sender, cmd.String(), envName, have, env.Approvals), "refused: approvals")
		}
	}
	j.App = lockKey(j.Owner, j.Repo, envName, env.App)
	p.App = env.App
	p.Workflow = cfg.Workflow
	p.HealthURL = env.URL()
	p.RequestID = requestID(j)
	p.Stage = stageChecked
	p.State = comment.Queued
	j.Attempts = 0
	if err := b.save(ctx, j, p); err != nil {
		return err
	}
	b.audit(ctx, j, "accepted", fmt.Sprintf("%s at %s", commandOf(j).String(), comment.Short(j.SHA)))
	return b.dispatch(ctx, c, j, p)
}

// canRun: admin and write (maintain reports as write) may run commands;
// read, triage and none may not.
func canRun(permission, role string) bool {
	switch permission {
	case "admin", "write":
		return true
	}
	return role == "maintain" || role == "admin" || role == "write"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func isFork(pr *gh.PullRequest, j *store.Job) bool {
	head := pr.GetHead().GetRepo()
	if head == nil {
		return true // the fork was deleted: treat as a fork
	}
	return head.GetFork() || !strings.EqualFold(head.GetFullName(), j.Owner+"/"+j.Repo)
}

// approvals counts the users whose latest review approves, the author
// excluded.
func approvals(ctx context.Context, c *gh.Client, j *store.Job, author string) (int, error) {
	latest := map[string]string{}
	opt := &gh.ListOptions{PerPage: 100}
	for page := 0; page < 10; page++ {
		rs, resp, err := c.PullRequests.ListReviews(ctx, j.Owner, j.Repo, j.PR, opt)
		if err != nil {
			return 0, fmt.Errorf("list the reviews of #%d: %w", j.PR, err)
		}
		for _, r := range rs {
			user := strings.ToLower(r.GetUser().GetLogin())
			if user == "" || strings.EqualFold(user, author) {
				continue
			}
			switch r.GetState() {
			case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
				latest[user] = r.GetState()
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	n := 0
	for _, s := range latest {
		if s == "APPROVED" {
			n++
		}
	}
	return n, nil
}

// readConfig reads .github/deploy-bot.yml from the default branch: the
// defaults when it is absent, findings when it is invalid.
func (b *Bot) readConfig(ctx context.Context, c *gh.Client, j *store.Job) (*config.Config, []report.Finding, error) {
	fc, _, _, err := c.Repositories.GetContents(ctx, j.Owner, j.Repo, config.Path, nil)
	if statusOf(err) == http.StatusNotFound {
		return config.Default(), nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", config.Path, err)
	}
	if fc == nil {
		return nil, []report.Finding{{Rule: config.RuleSyntax, Severity: report.Error, Location: report.Location{File: config.Path},
			Title: "Not a file", Message: config.Path + " is a directory.", Fix: "Make it a YAML file."}}, nil
	}
	text, err := fc.GetContent()
	if err != nil {
		return nil, nil, fmt.Errorf("decode %s: %w", config.Path, err)
	}
	cfg, fs := config.Parse([]byte(text))
	return cfg, fs, nil
}

// dispatch takes the app's lock (or waits for it) and dispatches the
// workflow with the pinned SHA.
func (b *Bot) dispatch(ctx context.Context, c *gh.Client, j *store.Job, p *progress) error {
	cmd := commandOf(j)
	if cmd.Name.Locks() {
		next, err := b.store.NextWaiting(ctx, j.App)
		if err != nil {
			return fmt.Errorf("look for waiting deploys of %s: %w", j.App, err)
		}
		ok := false
		if next == nil || next.ID == j.ID || next.ID > j.ID {
			if ok, err = b.store.LockApp(ctx, j.App, j.ID); err != nil {
				return fmt.Errorf("lock %s: %w", j.App, err)
			}
		}
		if !ok {
			return b.wait(ctx, c, j, p)
		}
	}
	p.Stage = stageDispatching
	if err := b.save(ctx, j, p); err != nil {
		return err
	}
	inputs := map[string]any{
		"command":     string(cmd.Name),
		"sha":         j.SHA,
		"pr":          fmt.Sprint(j.PR),
		"environment": j.Environment,
		"request_id":  p.RequestID,
	}
	if cmd.Target != "" {
		inputs["target"] = cmd.Target
	}
	_, err := c.Actions.CreateWorkflowDispatchEventByFileName(withoutRetry(ctx), j.Owner, j.Repo, p.Workflow,
		gh.CreateWorkflowDispatchEventRequest{Ref: p.DefaultBranch, Inputs: inputs})
	if err != nil {
		if ctx.Err() != nil {
			return err // shutting down: the next start reconciles the dispatch
		}
		p.Note = dispatchProblem(err, p, cmd)
		return b.finishCommand(ctx, c, j, p, comment.Failed, "failed: dispatch")
	}
	p.Stage = stageDispatched
	p.State = comment.Dispatched
	j.Attempts = 0
	b.upsertSticky(ctx, c, j, p)
	if err := b.save(ctx, j, p); err != nil {
		return err
	}
	b.audit(ctx, j, "dispatched", fmt.Sprintf("%s at %s, workflow %s, request %s", cmd.String(), comment.Short(j.SHA), p.Workflow, p.RequestID))
	return nil
}

// dispatchProblem says why GitHub refused a dispatch and what to do.
func dispatchProblem(err error, p *progress, cmd command.Command) string {
	msg := err.Error()
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Message != "" {
		msg = er.Message
	}
	switch code := statusOf(err); {
	case code == http.StatusNotFound:
		return fmt.Sprintf("GitHub found no workflow `%s` with a `workflow_dispatch` trigger on the default branch `%s`. Add it (see the bot's docs), or set `workflow:` in .github/deploy-bot.yml.", p.Workflow, p.DefaultBranch)
	case code == http.StatusUnprocessableEntity:
		need := "command, sha, pr, environment and request_id"
		if cmd.Target != "" {
			need += ", and target"
		}
		return fmt.Sprintf("GitHub refused to dispatch `%s`: %s. The workflow's `workflow_dispatch` must declare the inputs %s.", p.Workflow, msg, need)
	case code >= 500:
		return fmt.Sprintf("GitHub answered %d to the dispatch of `%s`; the run may or may not have started. Look at the Actions tab before running the command again.", code, p.Workflow)
	}
	return fmt.Sprintf("GitHub refused to dispatch `%s`: %s.", p.Workflow, msg)
}

// wait puts a deploy behind the one holding its app.
func (b *Bot) wait(ctx context.Context, c *gh.Client, j *store.Job, p *progress) error {
	j.State = store.JobWaiting
	j.Attempts = 0
	p.State = comment.Waiting
	app := p.App
	if app == "" {
		app = j.Environment
	}
	p.Note = fmt.Sprintf("Another deploy of %s is running or queued; this one starts when they end (one deploy per app at a time).", app)
	if holder := b.holder(ctx, j); holder != nil {
		p.Note = fmt.Sprintf("Another deploy of %s is running (`%s` by %s on #%d); this one starts when it ends (one deploy per app at a time).",
			app, commandOf(holder).String(), holder.Sender, holder.PR)
	}
	b.upsertSticky(ctx, c, j, p)
	if err := b.save(ctx, j, p); err != nil {
		return err
	}
	b.audit(ctx, j, "queued behind another deploy", commandOf(j).String())
	// The holder may have finished while this job was deciding to wait.
	return b.promote(ctx, j.App)
}

// holder is the running job that holds j's app, when it can be found.
func (b *Bot) holder(ctx context.Context, j *store.Job) *store.Job {
	jobs, err := b.store.Unfinished(ctx)
	if err != nil {
		return nil
	}
	for _, o := range jobs {
		if o.ID != j.ID && o.App == j.App && o.State == store.JobRunning && o.Command != kindEvent && command.Name(o.Command).Locks() {
			return o
		}
	}
	return nil
}

// promote lets the oldest deploy waiting for app through when the app is
// free.
func (b *Bot) promote(ctx context.Context, app string) error {
	if app == "" {
		return nil
	}
	next, err := b.store.NextWaiting(ctx, app)
	if err != nil || next == nil {
		return err
	}
	ok, err := b.store.LockApp(ctx, app, next.ID)
	if err != nil || !ok {
		return err
	}
	next.State = store.JobQueued
	if err := b.store.Update(ctx, next); err != nil {
		b.store.UnlockApp(ctx, app, next.ID)
		return fmt.Errorf("let job %d through: %w", next.ID, err)
	}
	b.notify()
	return nil
}

// reconcileDispatch settles a job the bot left while dispatching: the run
// it started is adopted when GitHub shows one with the job's request id;
// otherwise the job is reported failed.
func (b *Bot) reconcileDispatch(ctx context.Context, c *gh.Client, j *store.Job, p *progress) error {
	runs, _, err := c.Actions.ListWorkflowRunsByFileName(ctx, j.Owner, j.Repo, p.Workflow,
		&gh.ListWorkflowRunsOptions{Event: "workflow_dispatch", HeadSHA: j.SHA, ListOptions: gh.ListOptions{PerPage: 50}})
	if err != nil {
		return fmt.Errorf("look for the run of request %s: %w", p.RequestID, err)
	}
	for _, r := range runs.WorkflowRuns {
		if !strings.Contains(r.GetDisplayTitle(), p.RequestID) {
			continue
		}
		j.RunID = r.GetID()
		p.RunURL = r.GetHTMLURL()
		p.Stage = stageDispatched
		p.State = comment.Dispatched
		if r.GetStatus() == "in_progress" {
			p.State = comment.Running
		}
		j.Attempts = 0
		if r.GetStatus() == "completed" {
			p.Conclusion = r.GetConclusion()
			return b.finishRun(ctx, c, j, p)
		}
		b.upsertSticky(ctx, c, j, p)
		return b.save(ctx, j, p)
	}
	p.Note = fmt.Sprintf("The bot restarted while dispatching this command and GitHub shows no run with request id %s. Nothing was deployed by this request: run the command again.", p.RequestID)
	return b.finishCommand(ctx, c, j, p, comment.Failed, "failed: interrupted while dispatching")
}

// status answers /status from the audit log and the unfinished jobs.
func (b *Bot) status(ctx context.Context, c *gh.Client, j *store.Job, p *progress) error {
	unfinished, err := b.store.Unfinished(ctx)
	if err != nil {
		return fmt.Errorf("list unfinished jobs: %w", err)
	}
	var running []comment.StatusLine
	for _, o := range unfinished {
		if o.ID == j.ID || o.Command == kindEvent || o.Command == kindUsage || !strings.EqualFold(o.Owner, j.Owner) || !strings.EqualFold(o.Repo, j.Repo) {
			continue
		}
		op := readProgress(o)
		state := string(op.State)
		if state == "" {
			state = string(o.State)
		}
		running = append(running, comment.StatusLine{At: o.CreatedAt, Command: commandOf(o).String(), Environment: o.Environment, Actor: o.Sender, PR: o.PR, State: state})
	}
	entries, err := b.store.AuditLog(ctx, j.Owner, j.Repo, 10)
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	var recent []comment.StatusLine
	for _, e := range entries {
		recent = append(recent, comment.StatusLine{At: e.At, Command: e.Detail, Actor: e.Actor, PR: e.PR, State: e.Action})
	}
	return b.respond(ctx, c, j, p, comment.Status(j.Owner+"/"+j.Repo, running, recent), "answered")
}

// respond replies on the pull request and finishes the job.
func (b *Bot) respond(ctx context.Context, c *gh.Client, j *store.Job, p *progress, body, outcome string) error {
	if err := b.reply(ctx, c, j, body); err != nil {
		return err
	}
	p.Stage = stageFinished
	p.Outcome = outcome
	j.State = store.JobDone
	return b.save(ctx, j, p)
}

func (b *Bot) reply(ctx context.Context, c *gh.Client, j *store.Job, body string) error {
	if _, _, err := c.Issues.CreateComment(ctx, j.Owner, j.Repo, j.PR, &gh.IssueComment{Body: gh.String(body)}); err != nil {
		return fmt.Errorf("reply on #%d: %w", j.PR, err)
	}
	return nil
}

// finishCommand records a command's end: the sticky comment (or a reply
// when there is none yet), the store, the audit trail, and the app's lock
// passed on.
func (b *Bot) finishCommand(ctx context.Context, c *gh.Client, j *store.Job, p *progress, state comment.State, outcome string) error {
	p.Stage = stageFinished
	p.State = state
	p.Outcome = outcome
	if c != nil {
		if p.RequestID != "" {
			b.upsertSticky(ctx, c, j, p)
		} else if p.Note != "" {
			if err := b.reply(ctx, c, j, comment.Problem(j.Sender, commandOf(j).String(), p.Note)); err != nil {
				b.log.Error("could not say on the pull request that the command failed", "job", j.ID, "err", err)
			}
		}
	}
	j.State = store.JobDone
	if state == comment.Failed {
		j.State = store.JobFailed
	}
	if err := b.save(ctx, j, p); err != nil {
		return err
	}
	b.audit(ctx, j, outcome, commandOf(j).String())
	if command.Name(j.Command).Locks() && j.App != "" {
		if err := b.store.UnlockApp(ctx, j.App, j.ID); err != nil {
			b.log.Error("unlock app", "app", j.App, "job", j.ID, "err", err)
		}
		if err := b.promote(ctx, j.App); err != nil {
			b.log.Error("let the next deploy through", "app", j.App, "err", err)
		}
	}
	return nil
}

// upsertSticky edits the pull request's sticky comment for the job's
// environment, or creates it (again, when a user deleted it).
func (b *Bot) upsertSticky(ctx context.Context, c *gh.Client, j *store.Job, p *progress) {
	unlock := b.locks.Lock(fmt.Sprintf("sticky:%s/%s#%d/%s", strings.ToLower(j.Owner), strings.ToLower(j.Repo), j.PR, j.Environment))
	defer unlock()
	body := comment.RenderSticky(b.view(j, p))
	id, err := b.store.StickyComment(ctx, j.Owner, j.Repo, j.PR, j.Environment)
	if err != nil {
		b.log.Error("read the sticky comment id", "job", j.ID, "err", err)
	}
	if id != 0 {
		_, _, err := c.Issues.EditComment(ctx, j.Owner, j.Repo, id, &gh.IssueComment{Body: gh.String(body)})
		if err == nil {
			return
		}
		if statusOf(err) != http.StatusNotFound {
			b.log.Error("edit the sticky comment", "job", j.ID, "comment", id, "err", err)
			return
		}
	}
	created, _, err := c.Issues.CreateComment(ctx, j.Owner, j.Repo, j.PR, &gh.IssueComment{Body: gh.String(body)})
	if err != nil {
		b.log.Error("create the sticky comment", "job", j.ID, "err", err)
		return
	}
	if err := b.store.SetStickyComment(ctx, j.Owner, j.Repo, j.PR, j.Environment, created.GetID()); err != nil {
		b.log.Error("record the sticky comment id", "job", j.ID, "err", err)
	}
}

func (b *Bot) view(j *store.Job, p *progress) comment.Sticky {
	return comment.Sticky{
		Command: commandOf(j).String(), Environment: j.Environment, App: p.App, PR: j.PR, SHA: j.SHA, Actor: j.Sender,
		RequestID: p.RequestID, State: p.State, Note: p.Note, Phases: p.Phases, CheckTitle: p.CheckTitle,
		Conclusion: p.Conclusion, RunURL: p.RunURL, CheckURL: p.CheckURL, Health: p.Health, Updated: b.opts.Now(),
	}
}

// save writes the job and its progress.
func (b *Bot) save(ctx context.Context, j *store.Job, p *progress) error {
	j.Result = p.encode()
	j.UpdatedAt = b.opts.Now()
	if err := b.store.Update(ctx, j); err != nil {
		return fmt.Errorf("save job %d: %w", j.ID, err)
	}
	return nil
}

func (b *Bot) audit(ctx context.Context, j *store.Job, action, detail string) {
	if j.Environment != "" && !slices.Contains(strings.Fields(detail), j.Environment) {
		detail += " on " + j.Environment
	}
	e := store.AuditEntry{At: b.opts.Now(), JobID: j.ID, Actor: j.Sender, Repo: j.Owner + "/" + j.Repo, PR: j.PR, Action: action, Detail: detail}
	if err := b.store.Audit(ctx, e); err != nil {
		b.log.Error("write the audit trail", "job", j.ID, "err", err)
	}
}
