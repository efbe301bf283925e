package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/grupo-gad/deploy-action/internal/bot/command"
	"github.com/grupo-gad/deploy-action/internal/bot/comment"
	"github.com/grupo-gad/deploy-action/internal/bot/config"
	"github.com/grupo-gad/deploy-action/internal/bot/webhook"
	"github.com/grupo-gad/deploy-action/internal/store"
)

// EnqueueTimeout bounds the durable enqueue of one delivery.
const EnqueueTimeout = 5 * time.Second

type account struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

type repository struct {
	Name          string  `json:"name"`
	FullName      string  `json:"full_name"`
	DefaultBranch string  `json:"default_branch"`
	Owner         account `json:"owner"`
}

type envelope struct {
	Action       string     `json:"action"`
	Repository   repository `json:"repository"`
	Sender       account    `json:"sender"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
}

func (e *envelope) installation() int64 {
	if e.Installation == nil {
		return 0
	}
	return e.Installation.ID
}

func (e *envelope) ownerRepo() (string, string, error) {
	owner, name := e.Repository.Owner.Login, e.Repository.Name
	if (owner == "" || name == "") && strings.Count(e.Repository.FullName, "/") == 1 {
		owner, name, _ = strings.Cut(e.Repository.FullName, "/")
	}
	if owner == "" || name == "" {
		return "", "", fmt.Errorf("%w: no repository owner and name", webhook.ErrBadPayload)
	}
	return owner, name, nil
}

// Deliver is the webhook sink: it reads the delivery, decides whether the
// bot has anything to do, and persists what it accepts (Store.Enqueue,
// de-duplicated on the delivery id) before it returns.
func (b *Bot) Deliver(ctx context.Context, d webhook.Delivery) (webhook.Result, error) {
	var j *store.Job
	var why string
	var err error
	switch d.Event {
	case "issue_comment":
		j, why, err = b.commentJob(d)
	case "workflow_run", "check_run":
		j, why, err = b.eventJob(d)
	default:
		return webhook.Result{Outcome: webhook.Ignored, Reason: "event " + d.Event + " is not followed"}, nil
	}
	if err != nil || j == nil {
		return webhook.Result{Outcome: webhook.Ignored, Reason: why}, err
	}
	ctx, cancel := context.WithTimeout(ctx, EnqueueTimeout)
	defer cancel()
	saved, err := b.store.Enqueue(ctx, j)
	if errors.Is(err, store.ErrDuplicate) {
		return webhook.Result{Outcome: webhook.Duplicate, Reason: "delivery " + d.ID + " was already accepted"}, nil
	}
	if err != nil {
		return webhook.Result{}, fmt.Errorf("enqueue delivery %s: %w", d.ID, err)
	}
	b.notify()
	return webhook.Result{Outcome: webhook.Accepted, Reason: fmt.Sprintf("job %d", saved.ID)}, nil
}

type commentPayload struct {
	envelope
	Issue struct {
		Number      int             `json:"number"`
		PullRequest json.RawMessage `json:"pull_request"`
	} `json:"issue"`
	Comment struct {
		ID   int64   `json:"id"`
		Body string  `json:"body"`
		User account `json:"user"`
	} `json:"comment"`
}

// commentJob turns an issue_comment delivery into a job, or says why not.
func (b *Bot) commentJob(d webhook.Delivery) (*store.Job, string, error) {
	var p commentPayload
	if err := json.Unmarshal(d.Body, &p); err != nil {
		return nil, "", fmt.Errorf("%w: issue_comment: %v", webhook.ErrBadPayload, err)
	}
	switch {
	case p.Action != "created":
		return nil, "comment " + p.Action + ", only new comments carry commands", nil
	case len(p.Issue.PullRequest) == 0 || string(p.Issue.PullRequest) == "null":
		return nil, "comment on an issue, not a pull request", nil
	}
	author := p.Comment.User
	if author.Login == "" {
		author = p.Sender
	}
	if isBot(author) || isBot(p.Sender) || b.isOwnLogin(author.Login) || b.isOwnLogin(p.Sender.Login) {
		return nil, "comment by a bot", nil
	}
	c, perr := command.Parse(p.Comment.Body)
	var ue *command.UsageError
	switch {
	case errors.Is(perr, command.ErrNotCommand):
		return nil, "not a command", nil
	case perr != nil && !errors.As(perr, &ue):
		return nil, "not a command", nil
	}
	owner, name, err := p.ownerRepo()
	if err != nil {
		return nil, "", err
	}
	if p.Issue.Number <= 0 || p.Comment.ID <= 0 || author.Login == "" {
		return nil, "", fmt.Errorf("%w: issue_comment without issue number, comment id or author", webhook.ErrBadPayload)
	}
	j := &store.Job{
		DeliveryID: d.ID, Installation: p.installation(), Owner: owner, Repo: name,
		PR: p.Issue.Number, CommentID: p.Comment.ID, Sender: author.Login, State: store.JobQueued,
		CreatedAt: d.Received, UpdatedAt: d.Received,
	}
	pr := progress{DefaultBranch: p.Repository.DefaultBranch}
	if ue != nil {
		j.Command = kindUsage
		j.Args = []string{ue.Word, ue.Reason, string(ue.Name)}
	} else {
		j.Command = string(c.Name)
		j.Environment = c.Environment
		if c.Target != "" {
			j.Args = []string{c.Target}
		}
	}
	j.Result = pr.encode()
	return j, "", nil
}

func isBot(a account) bool {
	return strings.EqualFold(a.Type, "Bot") || strings.HasSuffix(strings.ToLower(a.Login), "[bot]")
}

type runPayload struct {
	envelope
	WorkflowRun *struct {
		ID           int64  `json:"id"`
		Name         string `json:"name"`
		DisplayTitle string `json:"display_title"`
		HeadSHA      string `json:"head_sha"`
		Status       string `json:"status"`
		Conclusion   string `json:"conclusion"`
		HTMLURL      string `json:"html_url"`
		Event        string `json:"event"`
		Path         string `json:"path"`
	} `json:"workflow_run"`
	CheckRun *struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		HeadSHA    string `json:"head_sha"`
		Status     string `json:"status"`
		Conclusion string `json:"conclusion"`
		HTMLURL    string `json:"html_url"`
		DetailsURL string `json:"details_url"`
		Output     struct {
			Title   string `json:"title"`
			Summary string `json:"summary"`
		} `json:"output"`
	} `json:"check_run"`
}

// eventJob turns a workflow_run or check_run delivery into a job to follow
// a dispatched command, or says why it is of no interest.
func (b *Bot) eventJob(d webhook.Delivery) (*store.Job, string, error) {
	var p runPayload
	if err := json.Unmarshal(d.Body, &p); err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", webhook.ErrBadPayload, d.Event, err)
	}
	ev := eventData{Event: d.Event, Action: p.Action}
	switch d.Event {
	case "workflow_run":
		r := p.WorkflowRun
		if r == nil || r.ID == 0 {
			return nil, "", fmt.Errorf("%w: workflow_run without a run", webhook.ErrBadPayload)
		}
		if r.Event != "workflow_dispatch" {
			return nil, "run triggered by " + r.Event + ", not by a dispatch", nil
		}
		ev.ID, ev.Name, ev.DisplayTitle, ev.HeadSHA = r.ID, r.Name, comment.Plain(r.DisplayTitle, 200), r.HeadSHA
		ev.Status, ev.Conclusion, ev.HTMLURL, ev.TriggerEvent, ev.Path = r.Status, r.Conclusion, r.HTMLURL, r.Event, r.Path
	case "check_run":
		c := p.CheckRun
		if c == nil || c.ID == 0 {
			return nil, "", fmt.Errorf("%w: check_run without a check run", webhook.ErrBadPayload)
		}
		if c.Name != config.DefaultCheckName {
			return nil, "check run " + comment.Plain(c.Name, 64) + " is not " + config.DefaultCheckName, nil
		}
		ev.ID, ev.Name, ev.HeadSHA, ev.Status, ev.Conclusion = c.ID, c.Name, c.HeadSHA, c.Status, c.Conclusion
		ev.HTMLURL, ev.DetailsURL, ev.Title = c.HTMLURL, c.DetailsURL, comment.Plain(c.Output.Title, 200)
		ev.Phases = comment.ParsePhaseTable(c.Output.Summary)
	}
	owner, name, err := p.ownerRepo()
	if err != nil {
		return nil, "", err
	}
	data, _ := json.Marshal(ev)
	return &store.Job{
		DeliveryID: d.ID, Installation: p.installation(), Owner: owner, Repo: name,
		Sender: p.Sender.Login, Command: kindEvent, Args: []string{string(data)}, State: store.JobQueued,
		SHA: ev.HeadSHA, CreatedAt: d.Received, UpdatedAt: d.Received,
	}, "", nil
}
