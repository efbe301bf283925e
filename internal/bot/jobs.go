package bot

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/bot/command"
	"github.com/grupo-gad/deploy-action/internal/bot/comment"
	"github.com/grupo-gad/deploy-action/internal/store"
)

// Job kinds beside the commands of package command (store.Job.Command).
const (
	// kindUsage is a comment that named an unknown command or a bad
	// argument: Args are the word typed, the reason and the command name.
	kindUsage = "usage"
	// kindEvent is a workflow_run or check_run delivery to follow: Args[0]
	// is the event as JSON (eventData).
	kindEvent = "event"
)

// The stages of a command job, kept in progress.Stage so that a job picked
// up again after a crash goes on from where it was.
const (
	stageNew         = ""            // nothing done yet (side effects before "checked" are safe to repeat)
	stageChecked     = "checked"     // SHA pinned, authorized, configuration read: ready to dispatch
	stageDispatching = "dispatching" // the dispatch request was sent; whether it reached GitHub is unknown
	stageDispatched  = "dispatched"  // the workflow was dispatched; following its run
	stageFinished    = "finished"    // the result is in the sticky comment
)

// progress is a command job's working state, kept as JSON in
// store.Job.Result: what the sticky comment shows and where the job is.
type progress struct {
	Stage         string             `json:"stage,omitempty"`
	State         comment.State      `json:"state,omitempty"`
	Outcome       string             `json:"outcome,omitempty"`
	DefaultBranch string             `json:"default_branch,omitempty"`
	App           string             `json:"app,omitempty"`
	Workflow      string             `json:"workflow,omitempty"`
	HealthURL     string             `json:"health_url,omitempty"`
	RequestID     string             `json:"request_id,omitempty"`
	Note          string             `json:"note,omitempty"`
	RunURL        string             `json:"run_url,omitempty"`
	CheckURL      string             `json:"check_url,omitempty"`
	CheckTitle    string             `json:"check_title,omitempty"`
	CheckStatus   string             `json:"check_status,omitempty"`
	Phases        []comment.PhaseRow `json:"phases,omitempty"`
	Conclusion    string             `json:"conclusion,omitempty"`
	Health        *comment.Health    `json:"health,omitempty"`
}

func readProgress(j *store.Job) progress {
	var p progress
	if strings.HasPrefix(j.Result, "{") {
		json.Unmarshal([]byte(j.Result), &p)
	}
	return p
}

func (p progress) encode() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// eventData is what the bot keeps of a workflow_run or check_run delivery.
type eventData struct {
	Event        string             `json:"event"` // workflow_run or check_run
	Action       string             `json:"action"`
	ID           int64              `json:"id"` // the run's or check run's id
	Name         string             `json:"name,omitempty"`
	DisplayTitle string             `json:"display_title,omitempty"`
	HeadSHA      string             `json:"head_sha,omitempty"`
	Status       string             `json:"status,omitempty"`
	Conclusion   string             `json:"conclusion,omitempty"`
	HTMLURL      string             `json:"html_url,omitempty"`
	DetailsURL   string             `json:"details_url,omitempty"`
	TriggerEvent string             `json:"trigger_event,omitempty"` // workflow_run.event
	Path         string             `json:"path,omitempty"`
	Title        string             `json:"title,omitempty"`
	Phases       []comment.PhaseRow `json:"phases,omitempty"`
}

// commandOf rebuilds the command of a command job.
func commandOf(j *store.Job) command.Command {
	c := command.Command{Name: command.Name(j.Command), Environment: j.Environment}
	if len(j.Args) > 0 {
		c.Target = j.Args[0]
	}
	return c
}

// requestID is the id passed to the workflow as `request_id` and expected
// back in the run's title: "dbot-<job id>-<start of the delivery id>".
func requestID(j *store.Job) string {
	d := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, j.DeliveryID)
	if len(d) > 8 {
		d = d[:8]
	}
	return fmt.Sprintf("dbot-%d-%s", j.ID, d)
}

var requestIDRE = regexp.MustCompile(`\bdbot-([0-9]{1,18})-([A-Za-z0-9]{0,8})\b`)

// parseRequestID finds a request id in a run's title.
func parseRequestID(title string) (id int64, rid string, ok bool) {
	m := requestIDRE.FindStringSubmatch(title)
	if m == nil {
		return 0, "", false
	}
	fmt.Sscan(m[1], &id)
	return id, m[0], true
}

// lockKey is what one-deploy-at-a-time is counted on: the Fly app, or the
// repository and environment when no app is configured.
func lockKey(owner, repo, env, app string) string {
	if app != "" {
		return app
	}
	return strings.ToLower(owner+"/"+repo) + ":" + env
}
