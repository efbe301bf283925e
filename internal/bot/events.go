package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v66/github"

	"github.com/grupo-gad/deploy-action/internal/bot/command"
	"github.com/grupo-gad/deploy-action/internal/bot/comment"
	"github.com/grupo-gad/deploy-action/internal/store"
)

// handleEvent follows a workflow_run or check_run delivery: it finds the
// command it belongs to and moves that command's sticky comment on.
func (b *Bot) handleEvent(ctx context.Context, j *store.Job) error {
	var ev eventData
	if len(j.Args) == 0 || json.Unmarshal([]byte(j.Args[0]), &ev) != nil {
		return b.endEvent(ctx, j, store.JobFailed, "unreadable event")
	}
	target, err := b.matchJob(ctx, j, ev)
	if err != nil {
		return err
	}
	if target == nil {
		return b.endEvent(ctx, j, store.JobDone, "no command of the bot")
	}
	unlock := b.locks.Lock(jobKey(target.ID))
	defer unlock()
	target, err = b.store.Get(ctx, target.ID)
	if err != nil {
		return fmt.Errorf("reload job: %w", err)
	}
	p := readProgress(target)
	if p.Stage != stageDispatched && p.Stage != stageFinished {
		return b.endEvent(ctx, j, store.JobDone, "command not dispatched")
	}
	c, err := b.ghFor(ctx, target)
	if err != nil {
		return err
	}
	switch ev.Event {
	case "workflow_run":
		if target.RunID != 0 && target.RunID != ev.ID {
			return b.endEvent(ctx, j, store.JobDone, "another run of the command")
		}
		target.RunID = ev.ID
		p.RunURL = ev.HTMLURL
		if p.Stage == stageFinished {
			break
		}
		switch {
		case ev.Status == "completed" || ev.Action == "completed":
			p.Conclusion = ev.Conclusion
			if err := b.finishRun(ctx, c, target, &p); err != nil {
				return err
			}
			return b.endEvent(ctx, j, store.JobDone, fmt.Sprintf("job %d finished", target.ID))
		case ev.Status == "in_progress":
			p.State = comment.Running
		}
		b.upsertSticky(ctx, c, target, &p)
	case "check_run":
		if id := runIDOf(ev.DetailsURL); id != 0 && target.RunID == 0 {
			target.RunID = id
		}
		if checkRank(ev.Status) < checkRank(p.CheckStatus) {
			return b.endEvent(ctx, j, store.JobDone, "older than what the comment shows")
		}
		p.CheckStatus = ev.Status
		p.CheckURL = ev.HTMLURL
		if ev.Title != "" {
			p.CheckTitle = ev.Title
		}
		if len(ev.Phases) > 0 {
			p.Phases = ev.Phases
		}
		if p.State == comment.Dispatched {
			p.State = comment.Running
		}
		b.upsertSticky(ctx, c, target, &p)
	}
	if err := b.save(ctx, target, &p); err != nil {
		return err
	}
	return b.endEvent(ctx, j, store.JobDone, fmt.Sprintf("job %d", target.ID))
}

func checkRank(status string) int {
	switch status {
	case "queued", "requested", "waiting", "pending":
		return 1
	case "in_progress":
		return 2
	case "completed":
		return 3
	}
	return 0
}

var runURLRE = regexp.MustCompile(`/actions/runs/([0-9]{1,18})(?:[/?#]|$)`)

// runIDOf reads the run id out of a check run's details URL (the action
// links its check run to the workflow run).
func runIDOf(detailsURL string) int64 {
	m := runURLRE.FindStringSubmatch(detailsURL)
	if m == nil {
		return 0
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func (b *Bot) endEvent(ctx context.Context, j *store.Job, state store.JobState, result string) error {
	j.State = state
	j.Result = result
	j.UpdatedAt = b.opts.Now()
	if err := b.store.Update(ctx, j); err != nil {
		return fmt.Errorf("save event job %d: %w", j.ID, err)
	}
	return nil
}

// matchJob finds the command an event belongs to: by run id, by the request
// id in the run's title, by the run linked from the check run, and last by
// the commit of a dispatched command waiting for its run.
func (b *Bot) matchJob(ctx context.Context, ev *store.Job, e eventData) (*store.Job, error) {
	same := func(j *store.Job) bool {
		return j != nil && j.Command != kindEvent && strings.EqualFold(j.Owner, ev.Owner) && strings.EqualFold(j.Repo, ev.Repo)
	}
	byRun := func(id int64) (*store.Job, error) {
		if id == 0 {
			return nil, nil
		}
		j, err := b.store.FindByRun(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !same(j)) {
			return nil, nil
		}
		return j, err
	}
	var runID int64
	switch e.Event {
	case "workflow_run":
		runID = e.ID
	case "check_run":
		runID = runIDOf(e.DetailsURL)
	}
	if j, err := byRun(runID); j != nil || err != nil {
		return j, err
	}
	if e.Event == "workflow_run" {
		if id, rid, ok := parseRequestID(e.DisplayTitle); ok {
			j, err := b.store.Get(ctx, id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if same(j) && requestID(j) == rid {
				return j, nil
			}
		}
	}
	// Last resort: a dispatched command on this commit that has no run yet.
	jobs, err := b.store.Unfinished(ctx)
	if err != nil {
		return nil, err
	}
	var best *store.Job
	for _, j := range jobs {
		if !same(j) || j.State != store.JobRunning || j.RunID != 0 || j.SHA == "" || j.SHA != e.HeadSHA || !command.Name(j.Command).Dispatches() {
			continue
		}
		p := readProgress(j)
		if p.Stage != stageDispatched {
			continue
		}
		if e.Event == "workflow_run" && e.Path != "" && path.Base(e.Path) != p.Workflow {
			continue
		}
		if best == nil || j.ID < best.ID {
			best = j
		}
	}
	return best, nil
}

// finishRun ends a dispatched command when its run completed: after a
// successful deploy or rollback the bot probes the environment's health
// itself, then writes the result.
func (b *Bot) finishRun(ctx context.Context, c *gh.Client, j *store.Job, p *progress) error {
	state := comment.StateOf(p.Conclusion)
	switch {
	case state == comment.Succeeded && command.Name(j.Command).Locks() && p.HealthURL != "":
		h, err := b.probe(ctx, p.HealthURL)
		if err != nil {
			p.Note = "The deploy finished; the health probe could not run: " + err.Error()
		} else {
			p.Health = h
			if !h.OK {
				p.Note = "The workflow succeeded but the app is not healthy now: see the figures below."
			}
		}
	case state == comment.Failed:
		p.Note = fmt.Sprintf("The workflow run concluded `%s`: the phase table and the check say where and why.", p.Conclusion)
	case state == comment.Cancelled:
		p.Note = fmt.Sprintf("The workflow run concluded `%s`.", p.Conclusion)
	}
	return b.finishCommand(ctx, c, j, p, state, "completed: "+p.Conclusion)
}
