package bot

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	gh "github.com/google/go-github/v66/github"

	"github.com/grupo-gad/deploy-action/internal/bot/comment"
	"github.com/grupo-gad/deploy-action/internal/store"
)

// JobTimeout bounds the work on one job (GitHub calls, a health probe).
const JobTimeout = 5 * time.Minute

// worker claims and works jobs until the bot drains.
func (b *Bot) worker(name string) {
	defer b.wg.Done()
	tick := time.NewTicker(b.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		default:
		}
		j, err := b.store.Claim(b.hardCtx, name)
		if err != nil && b.hardCtx.Err() == nil {
			b.log.Error("claim a job", "worker", name, "err", err)
		}
		if j == nil || err != nil {
			select {
			case <-b.stop:
				return
			case <-b.wake:
			case <-tick.C:
			}
			continue
		}
		// More jobs may be queued: wake one more worker (an idle worker only
		// claims when woken or on its poll tick, so an empty queue costs no
		// store writes).
		b.notify()
		b.work(j)
	}
}

// work runs one claimed job, bounded by JobTimeout and cut short only by a
// drain that ran out of time.
func (b *Bot) work(j *store.Job) {
	b.m.inflight.Inc()
	defer b.m.inflight.Dec()
	ctx, cancel := context.WithTimeout(b.hardCtx, JobTimeout)
	defer cancel()
	kind := j.Command
	outcome := "ok"
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("job panicked", "job", j.ID, "panic", r, "stack", string(debug.Stack()))
			outcome = "panic"
			b.failJob(context.WithoutCancel(ctx), j, "the bot hit an internal error while working on it")
		}
		b.m.jobs.WithLabelValues(kind, outcome).Inc()
	}()
	var err error
	if j.Command == kindEvent {
		err = b.handleEvent(ctx, j)
	} else {
		err = b.handleCommand(ctx, j)
	}
	if err != nil {
		outcome = "error"
		if b.hardCtx.Err() != nil {
			// Drain ran out of time: leave the job to the next start.
			b.log.Warn("job cut short by shutdown; it resumes at the next start", "job", j.ID)
			return
		}
		b.log.Error("job failed", "job", j.ID, "command", j.Command, "repo", j.Owner+"/"+j.Repo, "pr", j.PR, "err", err)
		b.failJob(context.WithoutCancel(ctx), j, err.Error())
	}
}

// failJob marks a job failed and, for a command, says so on the pull
// request (in the sticky comment for dispatching commands).
func (b *Bot) failJob(ctx context.Context, j *store.Job, why string) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if j.Command == kindEvent {
		j.State = store.JobFailed
		if err := b.store.Update(ctx, j); err != nil {
			b.log.Error("save a failed event job", "job", j.ID, "err", err)
		}
		return
	}
	unlock := b.locks.Lock(jobKey(j.ID))
	defer unlock()
	if fresh, err := b.store.Get(ctx, j.ID); err == nil {
		j = fresh
	}
	p := readProgress(j)
	if p.Stage == stageFinished {
		return
	}
	p.Note = "The bot could not finish this command: " + why
	c, err := b.ghFor(ctx, j)
	if err != nil {
		b.log.Error("no GitHub client to report a failed job", "job", j.ID, "err", err)
		c = nil
	}
	if err := b.finishCommand(ctx, c, j, &p, comment.Failed, "failed: "+short(why, 120)); err != nil {
		b.log.Error("record a failed job", "job", j.ID, "err", err)
	}
}

// recoverJobs takes over jobs a previous process left unfinished: running
// jobs go back to the queue (their stage says where they were), waiting
// jobs whose app is free are let through. With olderThan > 0 only jobs not
// updated for that long are taken (another replica may be working on the
// rest).
func (b *Bot) recoverJobs(ctx context.Context, olderThan time.Duration) error {
	jobs, err := b.store.Unfinished(ctx)
	if err != nil {
		return err
	}
	now := b.opts.Now()
	requeued := 0
	for _, j := range jobs {
		switch j.State {
		case store.JobRunning:
			if olderThan > 0 && now.Sub(j.UpdatedAt) < olderThan {
				continue
			}
			if j.Command != kindEvent && readProgress(j).Stage == stageDispatched {
				continue // following its workflow run; events move it on
			}
			j.State = store.JobQueued
			if err := b.store.Update(ctx, j); err != nil {
				return fmt.Errorf("requeue job %d: %w", j.ID, err)
			}
			requeued++
		case store.JobWaiting:
			if err := b.promote(ctx, j.App); err != nil {
				b.log.Error("let a waiting job through", "job", j.ID, "app", j.App, "err", err)
			}
		}
	}
	if requeued > 0 {
		b.log.Info("took over unfinished jobs", "count", requeued)
		b.notify()
	}
	return nil
}

// sweeper periodically takes over stale jobs (several replicas) and fails
// dispatched commands whose run never reported back.
func (b *Bot) sweeper() {
	defer b.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(b.hardCtx, time.Minute)
		if b.opts.StaleAfter > 0 {
			if err := b.recoverJobs(ctx, b.opts.StaleAfter); err != nil {
				b.log.Error("take over stale jobs", "err", err)
			}
		}
		b.expireRuns(ctx)
		cancel()
	}
}

// expireRuns looks after dispatched commands that heard nothing for a
// while: after RunPollAfter it asks GitHub for the run's state (a lost
// workflow_run delivery must not keep an app locked), after RunTimeout it
// reports them failed.
func (b *Bot) expireRuns(ctx context.Context) {
	jobs, err := b.store.Unfinished(ctx)
	if err != nil {
		b.log.Error("list unfinished jobs", "err", err)
		return
	}
	now := b.opts.Now()
	for _, j := range jobs {
		idle := now.Sub(j.UpdatedAt)
		if j.State != store.JobRunning || j.Command == kindEvent || idle < b.opts.RunPollAfter || readProgress(j).Stage != stageDispatched {
			continue
		}
		unlock := b.locks.Lock(jobKey(j.ID))
		if err := b.checkRun(ctx, j.ID, idle >= b.opts.RunTimeout); err != nil {
			b.log.Warn("check a dispatched command's run", "job", j.ID, "err", err)
		}
		unlock()
	}
}

// checkRun asks GitHub how a dispatched command's run went and finishes the
// command when it completed; with expire, a run still unknown or
// unfinished ends the command as failed. The caller holds the job's lock.
func (b *Bot) checkRun(ctx context.Context, id int64, expire bool) error {
	j, err := b.store.Get(ctx, id)
	if err != nil || j.State != store.JobRunning {
		return err
	}
	p := readProgress(j)
	if p.Stage != stageDispatched {
		return nil
	}
	c, err := b.ghFor(ctx, j)
	if err != nil {
		return err
	}
	var run *gh.WorkflowRun
	if j.RunID != 0 {
		run, _, err = c.Actions.GetWorkflowRunByID(ctx, j.Owner, j.Repo, j.RunID)
	} else {
		var runs *gh.WorkflowRuns
		runs, _, err = c.Actions.ListWorkflowRunsByFileName(ctx, j.Owner, j.Repo, p.Workflow,
			&gh.ListWorkflowRunsOptions{Event: "workflow_dispatch", HeadSHA: j.SHA, ListOptions: gh.ListOptions{PerPage: 50}})
		if err == nil {
			for _, r := range runs.WorkflowRuns {
				if strings.Contains(r.GetDisplayTitle(), p.RequestID) {
					run = r
					break
				}
			}
		}
	}
	if err != nil && !expire {
		return err
	}
	if run != nil {
		j.RunID = run.GetID()
		p.RunURL = run.GetHTMLURL()
		if run.GetStatus() == "completed" {
			p.Conclusion = run.GetConclusion()
			return b.finishRun(ctx, c, j, &p)
		}
	}
	if !expire {
		return b.save(ctx, j, &p) // seen now: the next look is RunPollAfter away
	}
	p.Note = fmt.Sprintf("No result from the workflow run after %s; the bot stopped waiting. Look at the run, then run the command again if needed.", b.opts.RunTimeout)
	return b.finishCommand(ctx, c, j, &p, comment.Failed, "failed: no result from the workflow run")
}

func jobKey(id int64) string { return fmt.Sprintf("job:%d", id) }

func short(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

var errGiveUp = errors.New("gave up")
