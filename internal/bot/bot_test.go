package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/bot/comment"
	"github.com/grupo-gad/deploy-action/internal/bot/ghfake"
	"github.com/grupo-gad/deploy-action/internal/bot/webhook"
	"github.com/grupo-gad/deploy-action/internal/output/summary"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/store"
)

func TestNewRefusesWithoutSecret(t *testing.T) {
	_, pemKey := appKey(t)
	_, err := New(Options{AppID: 1, PrivateKey: pemKey, Store: nil})
	if !errors.Is(err, webhook.ErrNoSecret) {
		t.Fatalf("New without a secret: %v, want ErrNoSecret", err)
	}
}

// TestDeployEndToEnd drives a /deploy from the comment to the result: the
// exact calls to GitHub, the dispatch inputs, and one sticky comment
// created then edited through queued → running → result.
func TestDeployEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { deployEndToEnd(t, newHarness(t).start()) })
	t.Run("postgres", func(t *testing.T) {
		st := postgresStore(t)
		deployEndToEnd(t, newHarness(t, func(o *Options) { o.Store = st }).start())
	})
}

func deployEndToEnd(t *testing.T, h *harness) {
	h.config("")
	if code := h.deliver("issue_comment", prComment(t, "/deploy\r\nplease")); code != http.StatusAccepted {
		t.Fatalf("delivery answered %d, want 202", code)
	}
	h.settle()

	wantCalls := []string{
		"GET " + repoPath("/installation"), // the corpus payload has no installation: the bot asks which one
		"POST " + repoPath(fmt.Sprintf("/issues/comments/%d/reactions", commentID)),
		"GET " + repoPath(fmt.Sprintf("/pulls/%d", prNumber)),
		"GET " + repoPath("/collaborators/"+commenter+"/permission"),
		"GET " + repoPath("/contents/.github/deploy-bot.yml"),
		"POST " + repoPath("/actions/workflows/deploy.yml/dispatches"),
		"POST " + repoPath(fmt.Sprintf("/issues/%d/comments", prNumber)),
	}
	if got := h.fake.Calls(); !reflect.DeepEqual(got, wantCalls) {
		t.Fatalf("calls:\n got %q\nwant %q", got, wantCalls)
	}
	reaction := h.fake.Matching("POST", repoPath("/issues/comments/"))[0].JSON()
	if reaction["content"] != "eyes" {
		t.Errorf("reaction %v, want eyes", reaction)
	}
	for _, r := range h.fake.Requests() {
		if strings.HasPrefix(r.Path, "/repos/") && !strings.HasSuffix(r.Path, "/installation") && r.Auth != "token ghs_fake4242" {
			t.Errorf("%s sent with %q, want the installation token", r, r.Auth)
		}
	}
	if h.fake.Tokens() != 1 {
		t.Errorf("%d installation tokens issued, want 1 (cached)", h.fake.Tokens())
	}

	jobs := h.jobs()
	if len(jobs) != 1 {
		t.Fatalf("jobs: %s", h.dump())
	}
	j := jobs[0]
	rid := requestID(j)
	dispatch := h.fake.Matching("POST", repoPath("/actions/workflows/"))[0].JSON()
	wantDispatch := map[string]any{"ref": "main", "inputs": map[string]any{
		"command": "deploy", "sha": headSHA, "pr": "1", "environment": "production", "request_id": rid,
	}}
	if !reflect.DeepEqual(dispatch, wantDispatch) {
		t.Fatalf("dispatch body:\n got %v\nwant %v", dispatch, wantDispatch)
	}
	if j.SHA != headSHA || j.App != "grupo-gad" || j.Environment != "production" {
		t.Errorf("job pinned %q app %q env %q", j.SHA, j.App, j.Environment)
	}
	sticky := h.lastComment()
	mustContain(t, "queued sticky", sticky.Body, "<!-- deploy-bot:sticky pr=1 env=production -->", "dispatched, waiting for the workflow run", "`3484a3f`", rid)

	// The run starts, the check reports phases, the run completes.
	const runID = 30433642
	title := "deploy production " + rid
	rep := report.New("deploy", report.StaticPhases...)
	rep.SetDuration(report.Build, 1200*time.Millisecond)
	rep.SetDuration(report.Release, 3*time.Second)
	rep.Finish()
	table := summary.Head(rep, summary.Options{})
	steps := []struct {
		event string
		body  []byte
		want  []string
	}{
		{"workflow_run", runEvent(t, "requested", runID, "queued", "", title, headSHA), []string{"dispatched", "run 30433642"}},
		{"workflow_run", runEvent(t, "in_progress", runID, "in_progress", "", title, headSHA), []string{"🏃", "running"}},
		{"check_run", checkEvent(t, "created", "in_progress", "", runID, "Running deploy", table), []string{"running — phase release", "| build | ✅ passed | 1.2 s | — |"}},
		{"check_run", checkEvent(t, "completed", "completed", "success", runID, "All 5 phases passed", table), []string{"deploy-check: All 5 phases passed"}},
		{"workflow_run", runEvent(t, "completed", runID, "completed", "success", title, headSHA), []string{"✅", "succeeded", "| conclusion | ✅ success |", "✅ healthy", "| 3/3 |", "queued → running → **result**"}},
	}
	for i, s := range steps {
		if code := h.deliver(s.event, s.body); code != http.StatusAccepted {
			t.Fatalf("step %d: %s answered %d", i, s.event, code)
		}
		h.settle()
		c := h.lastComment()
		if c.ID != sticky.ID {
			t.Fatalf("step %d: a second comment was created (%d, sticky %d)", i, c.ID, sticky.ID)
		}
		mustContain(t, fmt.Sprintf("step %d", i), c.Body, s.want...)
	}
	if got := len(h.fake.Comments(prNumber)); got != 1 {
		t.Errorf("%d comments on the PR, want the one sticky comment", got)
	}
	if edits := h.lastComment().Edits; edits != len(steps) {
		t.Errorf("sticky comment edited %d times, want %d", edits, len(steps))
	}
	j = h.job(j.ID)
	if j.State != store.JobDone || j.RunID != runID {
		t.Errorf("job state %s run %d", j.State, j.RunID)
	}
	if h.hits.Load() != 3 {
		t.Errorf("health probe made %d requests, want 3", h.hits.Load())
	}
	if !h.lockFree("grupo-gad") {
		t.Errorf("the app is still locked after the deploy")
	}
	// The audit trail says who asked for what.
	log, _ := h.store.AuditLog(context.Background(), owner, repo, 10)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
		if e.Actor != commenter {
			t.Errorf("audit actor %q", e.Actor)
		}
	}
	if want := []string{"completed: success", "dispatched", "accepted"}; !reflect.DeepEqual(actions, want) {
		t.Errorf("audit %q, want %q", actions, want)
	}
}

func TestPermissions(t *testing.T) {
	tests := []struct {
		permission, role string
		dispatched       bool
	}{
		{"admin", "admin", true},
		{"write", "write", true},
		{"write", "maintain", true},
		{"read", "triage", false},
		{"read", "read", false},
		{"none", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.role+"/"+tt.permission, func(t *testing.T) {
			h := newHarness(t).start()
			h.fake.SetPermission(commenter, tt.permission, tt.role)
			h.deliver("issue_comment", prComment(t, "/deploy staging"))
			h.settle()
			dispatches := h.fake.Matching("POST", repoPath("/actions/"))
			if got := len(dispatches) == 1; got != tt.dispatched {
				t.Fatalf("dispatched = %v, want %v; calls %q", got, tt.dispatched, h.fake.Calls())
			}
			if !tt.dispatched {
				mustContain(t, "refusal", h.lastComment().Body, "Sorry @runatlantis", "yours is **"+tt.permission+"**", "Nothing was run")
				if n := len(h.fake.Matching("GET", repoPath("/contents/"))); n != 0 {
					t.Errorf("the config was read for a refused user")
				}
			}
		})
	}
}

func TestForks(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow_forks=", allow), func(t *testing.T) {
			h := newHarness(t).start()
			h.fake.SetPR(prNumber, ghfake.PR{HeadSHA: headSHA, HeadRepo: "stranger/atlantis-tests", Author: "stranger"})
			h.config(fmt.Sprintf("allow_forks: %v\n", allow))
			h.deliver("issue_comment", prComment(t, "/deploy"))
			h.settle()
			dispatched := len(h.fake.Matching("POST", repoPath("/actions/"))) == 1
			if dispatched != allow {
				t.Fatalf("dispatched = %v with allow_forks %v", dispatched, allow)
			}
			if !allow {
				mustContain(t, "fork refusal", h.lastComment().Body, "forks", "stranger/atlantis-tests", "allow_forks: true")
			}
		})
	}
}

// TestIgnored: edited and deleted comments, comments on issues, comments by
// bots (the bot itself included) and comments without a command are
// answered 200 and cause no job and no call to GitHub.
func TestIgnored(t *testing.T) {
	h := newHarness(t).start()
	tests := []struct {
		name string
		body []byte
	}{
		{"edited", marshal(corpus(t, "issue_comment.edited.json"))},
		{"deleted", marshal(corpus(t, "issue_comment.deleted.json"))},
		{"plain issue", func() []byte {
			m := corpus(t, "issue_comment.created.json")
			set(m, "comment.body", "/deploy")
			return marshal(m)
		}()},
		{"edited to a command", prComment(t, "/deploy", func(m map[string]any) { set(m, "action", "edited") })},
		{"bot account", prComment(t, "/deploy", func(m map[string]any) {
			set(m, "comment.user.type", "Bot")
			set(m, "sender.type", "Bot")
		})},
		{"the bot itself", prComment(t, "/deploy", func(m map[string]any) {
			set(m, "comment.user.login", "deploy-bot[bot]")
			set(m, "sender.login", "deploy-bot[bot]")
		})},
		{"own login, user type", prComment(t, "/deploy", func(m map[string]any) {
			set(m, "comment.user.login", "Deploy-Bot[bot]")
		})},
		{"not a command", prComment(t, "LGTM, /deploy when ready")},
		{"command on the second line", prComment(t, "Thanks!\n/deploy")},
	}
	for _, tt := range tests {
		if code := h.deliver("issue_comment", tt.body); code != http.StatusOK {
			t.Errorf("%s: answered %d, want 200", tt.name, code)
		}
	}
	for _, ev := range []string{"push", "pull_request", "installation"} {
		if code := h.deliver(ev, []byte(`{"action":"x"}`)); code != http.StatusOK {
			t.Errorf("%s: answered %d", ev, code)
		}
	}
	// A run not started by a dispatch and a check run of another name.
	other := corpus(t, "workflow_run.completed.json")
	if code := h.deliver("workflow_run", marshal(other)); code != http.StatusOK {
		t.Errorf("repository_dispatch run answered %d", code)
	}
	if code := h.deliver("check_run", marshal(corpus(t, "check_run.completed.json"))); code != http.StatusOK {
		t.Errorf("Octocoders-linter check answered %d", code)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(h.jobs()); n != 0 {
		t.Errorf("%d jobs created: %s", n, h.dump())
	}
	if calls := h.fake.Calls(); len(calls) != 0 {
		t.Errorf("calls to GitHub: %q", calls)
	}
}

func TestIntakeContracts(t *testing.T) {
	h := newHarness(t).start()
	body := prComment(t, "/help")
	post := func(hdr map[string]string, b []byte) int {
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/webhook", strings.NewReader(string(b)))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	hdr := func(sig string) map[string]string {
		return map[string]string{webhook.HeaderSignature: sig, webhook.HeaderEvent: "issue_comment", webhook.HeaderDelivery: "forged-1"}
	}
	if code := post(hdr(""), body); code != 401 {
		t.Errorf("unsigned: %d", code)
	}
	if code := post(hdr(webhook.Sign([]byte("guess"), body)), body); code != 401 {
		t.Errorf("forged: %d", code)
	}
	big := make([]byte, webhook.MaxBody+1)
	if code := post(hdr(webhook.Sign(testSecret, big)), big); code != 413 {
		t.Errorf("oversized: %d", code)
	}
	bad := []byte(`{"action": "created", "comment": `)
	if code := h.deliver("issue_comment", bad); code != 400 {
		t.Errorf("malformed: %d", code)
	}
	// JSON, but not the shape of its event.
	if code := h.deliver("issue_comment", []byte(`{"action":"created","issue":{"number":"one","pull_request":{}}}`)); code != 400 {
		t.Errorf("wrong shape: %d", code)
	}
	ping := marshal(corpus(t, "ping.with-app_id.json"))
	if code := h.deliver("ping", ping); code != 200 {
		t.Errorf("ping: %d", code)
	}
	if n := len(h.jobs()); n != 0 {
		t.Fatalf("refused deliveries made jobs: %s", h.dump())
	}
	// The same delivery twice: one job, one answer.
	if code := h.deliverID("issue_comment", "dup-1", body); code != 202 {
		t.Errorf("first: %d", code)
	}
	if code := h.deliverID("issue_comment", "dup-1", body); code != 200 {
		t.Errorf("redelivery: %d, want 200", code)
	}
	h.settle()
	if n := len(h.jobs()); n != 1 {
		t.Errorf("%d jobs for one delivery", n)
	}
	if n := len(h.fake.Comments(prNumber)); n != 1 {
		t.Errorf("%d replies for one delivery", n)
	}
	// Metrics and health endpoints.
	resp, err := http.Get(h.srv.URL + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics: %v %v", resp, err)
	}
	var sb strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	mustContain(t, "metrics", sb.String(), `deploybot_webhook_deliveries_total{event="unknown",status="401"} 2`,
		`deploybot_webhook_deliveries_total{event="issue_comment",status="202"} 1`, `deploybot_webhook_deliveries_total{event="ping",status="200"} 1`,
		"deploybot_webhook_intake_seconds_bucket", `deploybot_jobs_total{command="help",outcome="ok"} 1`)
	resp, _ = http.Get(h.srv.URL + "/healthz")
	if resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestUsageReplies(t *testing.T) {
	tests := []struct{ body, want string }{
		{"/deploi", "`/deploi` is not a command"},
		{"/deploy one two", "at most one argument"},
		{"/secrets", "one subcommand"},
		{"/rollback v1 v2", "second release or image"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			h := newHarness(t).start()
			h.deliver("issue_comment", prComment(t, tt.body))
			h.settle()
			want := []string{"POST " + repoPath("/installation")[5:], ""}
			_ = want
			calls := h.fake.Calls()
			if len(calls) != 3 || !strings.Contains(calls[1], "/reactions") || !strings.Contains(calls[2], "/issues/1/comments") {
				t.Fatalf("calls %q, want the installation, a reaction and a reply", calls)
			}
			mustContain(t, "usage reply", h.lastComment().Body, "@runatlantis", tt.want, "Usage:", "`/")
		})
	}
}

func TestHelpStatusHealth(t *testing.T) {
	h := newHarness(t).start()
	h.config("")
	h.deliver("issue_comment", prComment(t, "/help"))
	h.settle()
	mustContain(t, "help", h.lastComment().Body, "`/deploy [environment]`", "`/status`")
	if n := len(h.fake.Matching("GET", repoPath("/collaborators/"))); n != 0 {
		t.Errorf("/help checked permissions")
	}

	h.deliver("issue_comment", prComment(t, "/health"))
	h.settle()
	mustContain(t, "health", h.lastComment().Body, "health of **production**", "✅ healthy", "| 3/3 |")

	h.deliver("issue_comment", prComment(t, "/status"))
	h.settle()
	mustContain(t, "status", h.lastComment().Body, "deploy-bot status of runatlantis/atlantis-tests", "Nothing is running", "answered", "/health on production")

	h.deliver("issue_comment", prComment(t, "/health qa"))
	h.settle()
	mustContain(t, "unknown env", h.lastComment().Body, `unknown environment "qa"`, "production")
	if n := len(h.fake.Matching("POST", repoPath("/actions/"))); n != 0 {
		t.Errorf("answers dispatched a workflow")
	}
}

// TestHealthRefusesPrivateAddresses: by default the probe does not reach
// into the bot's own network.
func TestHealthRefusesPrivateAddresses(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.AllowPrivateHealthURLs = false }).start()
	h.config("")
	h.deliver("issue_comment", prComment(t, "/health"))
	h.settle()
	mustContain(t, "health", h.lastComment().Body, "❌ unhealthy", "0/3")
	if h.hits.Load() != 0 {
		t.Errorf("the probe reached a loopback server %d times", h.hits.Load())
	}
}

func TestConfigProblems(t *testing.T) {
	h := newHarness(t).start()
	h.fake.SetConfig([]byte("workflow: deploy\nallow_forks: maybe\n"))
	h.deliver("issue_comment", prComment(t, "/deploy"))
	h.settle()
	mustContain(t, "config reply", h.lastComment().Body, "has problems", "`.github/deploy-bot.yml:1:11`", "`.github/deploy-bot.yml:2:14`")

	h.config("commands: [deploy, status]\n")
	h.deliver("issue_comment", prComment(t, "/rollback v3"))
	h.settle()
	mustContain(t, "disabled", h.lastComment().Body, "`/rollback v3` is turned off")
	if n := len(h.fake.Matching("POST", repoPath("/actions/"))); n != 0 {
		t.Errorf("dispatched despite the configuration")
	}
}

func TestApprovals(t *testing.T) {
	h := newHarness(t).start()
	h.config("    approvals: 1\n")
	h.fake.SetReviews(prNumber, ghfake.Review{User: "contributor", State: "APPROVED"}, ghfake.Review{User: "maria", State: "COMMENTED"})
	h.deliver("issue_comment", prComment(t, "/deploy"))
	h.settle()
	mustContain(t, "approvals", h.lastComment().Body, "needs 1 approving review(s)", "it has 0")

	h.fake.SetReviews(prNumber, ghfake.Review{User: "maria", State: "CHANGES_REQUESTED"}, ghfake.Review{User: "maria", State: "APPROVED"})
	h.deliver("issue_comment", prComment(t, "/deploy"))
	h.settle()
	if n := len(h.fake.Matching("POST", repoPath("/actions/"))); n != 1 {
		t.Errorf("%d dispatches after an approval", n)
	}
}

// TestRollbackTarget: the target goes to the workflow as `target`.
func TestRollbackTarget(t *testing.T) {
	h := newHarness(t).start()
	h.deliver("issue_comment", prComment(t, "/rollback v41 staging"))
	h.settle()
	d := h.fake.Matching("POST", repoPath("/actions/workflows/deploy.yml/dispatches"))
	if len(d) != 1 {
		t.Fatalf("calls %q", h.fake.Calls())
	}
	in := d[0].JSON()["inputs"].(map[string]any)
	if in["command"] != "rollback" || in["target"] != "v41" || in["environment"] != "staging" {
		t.Errorf("inputs %v", in)
	}
}

// TestOneDeployPerApp: a second deploy of the same app waits, says so, and
// is dispatched when the first one's run completes.
func TestOneDeployPerApp(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { oneDeployPerApp(t, newHarness(t).start()) })
	t.Run("postgres", func(t *testing.T) {
		st := postgresStore(t)
		oneDeployPerApp(t, newHarness(t, func(o *Options) { o.Store = st }).start())
	})
}

func oneDeployPerApp(t *testing.T, h *harness) {
	h.config("")
	const pr2, sha2 = 2, "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	h.fake.SetPR(pr2, ghfake.PR{HeadSHA: sha2, Author: "contributor"})
	h.deliver("issue_comment", prComment(t, "/deploy"))
	h.settle()
	h.deliver("issue_comment", prComment(t, "/deploy production", func(m map[string]any) {
		set(m, "issue.number", pr2)
		set(m, "comment.id", commentID+1)
	}))
	h.settle()
	if n := len(h.fake.Matching("POST", repoPath("/actions/"))); n != 1 {
		t.Fatalf("%d dispatches, want 1 while the app is busy", n)
	}
	waiting := h.fake.Comments(pr2)
	if len(waiting) != 1 {
		t.Fatalf("PR 2 comments: %+v", waiting)
	}
	mustContain(t, "waiting", waiting[0].Body, "🚦", "queued behind another deploy", "`/deploy production` by runatlantis on #1")
	jobs := h.jobs()
	if jobs[1].State != store.JobWaiting {
		t.Fatalf("second job %s", jobs[1].State)
	}
	first := requestID(jobs[0])
	h.deliver("workflow_run", runEvent(t, "completed", 501, "completed", "failure", "deploy "+first, headSHA))
	h.settle()
	mustContain(t, "first result", h.fake.Comments(prNumber)[0].Body, "❌", "failed", "concluded `failure`")
	d := h.fake.Matching("POST", repoPath("/actions/"))
	if len(d) != 2 {
		t.Fatalf("%d dispatches after the first deploy ended", len(d))
	}
	if in := d[1].JSON()["inputs"].(map[string]any); in["sha"] != sha2 || in["pr"] != "2" {
		t.Errorf("second dispatch inputs %v", in)
	}
	if c := h.fake.Comments(pr2); len(c) != 1 || c[0].Edits != 1 || !strings.Contains(c[0].Body, "dispatched") {
		t.Errorf("PR 2 sticky: %+v", c)
	}
}

// TestGitHubTrouble: 5xx answers are retried with backoff; a secondary
// rate limit is waited out (Retry-After) and retried.
func TestGitHubTrouble(t *testing.T) {
	h := newHarness(t).start()
	h.fake.Fail("GET", repoPath("/pulls/"), http.StatusBadGateway, 2)
	h.fake.SecondaryLimit("GET", repoPath("/collaborators/"), 1)
	h.deliver("issue_comment", prComment(t, "/deploy"))
	h.settle()
	if n := len(h.fake.Matching("POST", repoPath("/actions/"))); n != 1 {
		t.Fatalf("not dispatched through the trouble; calls %q", h.fake.Calls())
	}
	if n := len(h.fake.Matching("GET", repoPath("/pulls/"))); n != 3 {
		t.Errorf("pull request read %d times, want 3 (two 502s)", n)
	}
	perms := h.fake.Matching("GET", repoPath("/collaborators/"))
	if len(perms) != 2 || perms[1].At.Sub(perms[0].At) < 900*time.Millisecond {
		t.Errorf("permission reads %d, want 2 about a second apart (Retry-After: 1)", len(perms))
	}
}

// TestDispatchRefused: a workflow GitHub does not know ends the command
// with a clear result, and a 5xx on the dispatch is not retried.
func TestDispatchRefused(t *testing.T) {
	h := newHarness(t).start()
	h.fake.SetWorkflows("ci.yml")
	h.deliver("issue_comment", prComment(t, "/deploy"))
	h.settle()
	mustContain(t, "404", h.lastComment().Body, "❌", "no workflow `deploy.yml`", "workflow_dispatch")
	if j := h.jobs()[0]; j.State != store.JobFailed {
		t.Errorf("job %s", j.State)
	}

	h2 := newHarness(t).start()
	h2.fake.Fail("POST", repoPath("/actions/"), http.StatusBadGateway, 5)
	h2.deliver("issue_comment", prComment(t, "/deploy"))
	h2.settle()
	if n := len(h2.fake.Matching("POST", repoPath("/actions/"))); n != 1 {
		t.Errorf("dispatch sent %d times; a dispatch must not be retried", n)
	}
	mustContain(t, "502", h2.lastComment().Body, "answered 502", "may or may not have started")
}

// TestStickyRecreated: when a user deletes the sticky comment, the next
// update creates a new one.
func TestStickyRecreated(t *testing.T) {
	h := newHarness(t).start()
	h.deliver("issue_comment", prComment(t, "/deploy"))
	h.settle()
	first := h.lastComment()
	h.fake.DeleteComment(first.ID)
	rid := requestID(h.jobs()[0])
	h.deliver("workflow_run", runEvent(t, "in_progress", 7, "in_progress", "", rid, headSHA))
	h.settle()
	second := h.lastComment()
	if second.ID == first.ID || !strings.Contains(second.Body, "running") {
		t.Fatalf("sticky not recreated: %+v", second)
	}
	id, _ := h.store.StickyComment(context.Background(), owner, repo, prNumber, "production")
	if id != second.ID {
		t.Errorf("store holds sticky %d, want %d", id, second.ID)
	}
}

// TestMatchBySHA: a run whose title lacks the request id is matched to the
// dispatched command on the same commit and workflow.
func TestMatchBySHA(t *testing.T) {
	h := newHarness(t).start()
	h.deliver("issue_comment", prComment(t, "/secrets check"))
	h.settle()
	h.deliver("workflow_run", runEvent(t, "in_progress", 99, "in_progress", "", "Deploy", "0000000000000000000000000000000000000000"))
	h.settle()
	if j := h.jobs()[0]; j.RunID != 0 {
		t.Fatalf("a run on another commit was matched")
	}
	h.deliver("workflow_run", runEvent(t, "in_progress", 99, "in_progress", "", "Deploy", headSHA))
	h.settle()
	if j := h.jobs()[0]; j.RunID != 99 {
		t.Fatalf("run not matched by commit: %s", h.dump())
	}
	mustContain(t, "secrets sticky", h.lastComment().Body, "`/secrets check production` on **production**: running")
}

// TestRecoverDispatching: a job left "dispatching" by a crash is settled on
// start: the run GitHub shows with its request id is adopted, or the job is
// reported failed.
func TestRecoverDispatching(t *testing.T) {
	for _, found := range []bool{true, false} {
		t.Run(fmt.Sprint("run found=", found), func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			j, err := h.store.Enqueue(ctx, &store.Job{DeliveryID: "crash-1", Owner: owner, Repo: repo, PR: prNumber, CommentID: commentID,
				Sender: commenter, Command: "deploy", Environment: "production", App: "grupo-gad", SHA: headSHA})
			if err != nil {
				t.Fatal(err)
			}
			claimed, _ := h.store.Claim(ctx, "dead")
			p := progress{Stage: stageDispatching, State: comment.Queued, DefaultBranch: "main", Workflow: "deploy.yml", App: "grupo-gad", RequestID: requestID(j)}
			claimed.Result = p.encode()
			h.store.Update(ctx, claimed)
			h.store.LockApp(ctx, "grupo-gad", j.ID)
			if found {
				h.fake.SetRun(ghfake.Run{ID: 555, Status: "in_progress", HeadSHA: headSHA, DisplayTitle: "deploy " + requestID(j), Path: ".github/workflows/deploy.yml", Event: "workflow_dispatch"})
			}
			h.start()
			h.settle()
			got := h.job(j.ID)
			if found {
				if got.RunID != 555 || got.State != store.JobRunning {
					t.Fatalf("job %+v", got)
				}
				mustContain(t, "adopted", h.lastComment().Body, "running", "run 555")
			} else {
				if got.State != store.JobFailed {
					t.Fatalf("job %s", got.State)
				}
				mustContain(t, "failed", h.lastComment().Body, "restarted while dispatching", "run the command again")
				if !h.lockFree("grupo-gad") {
					t.Error("the failed job kept the app's lock")
				}
			}
			if n := len(h.fake.Matching("POST", repoPath("/actions/"))); n != 0 {
				t.Errorf("dispatched again after a crash")
			}
		})
	}
}

// TestDrain: Drain waits for the job in flight (a dispatch GitHub holds)
// and claims nothing more.
func TestDrain(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Workers = 1 }).start()
	h.fake.HoldDispatches()
	h.deliver("issue_comment", prComment(t, "/deploy"))
	h.waitFor("the dispatch to hang", func() bool { return h.fake.Held() == 1 })
	h.deliver("issue_comment", prComment(t, "/help"))
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- h.bot.Drain(ctx)
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Drain returned %v with a job in flight", err)
	default:
	}
	resp, _ := http.Get(h.srv.URL + "/healthz")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz while draining: %d", resp.StatusCode)
	}
	resp.Body.Close()
	h.fake.ReleaseDispatches()
	if err := <-done; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	jobs := h.jobs()
	if readProgress(jobs[0]).Stage != stageDispatched {
		t.Errorf("the job in flight did not finish: %s", h.dump())
	}
	if jobs[1].State != store.JobQueued {
		t.Errorf("a job was claimed during the drain: %s", h.dump())
	}
}

func TestLookupLogin(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Login = "" }).start()
	h.waitFor("the app's login", func() bool { return h.bot.login.Load().(string) == "deploy-bot[bot]" })
	if calls := h.fake.Calls(); len(calls) != 1 || calls[0] != "GET /app" {
		t.Errorf("calls %q", calls)
	}
}

// TestLostRunEvents: when GitHub's workflow_run deliveries never come, the
// bot asks for the run after RunPollAfter, and gives up after RunTimeout,
// so an app is never locked for good.
func TestLostRunEvents(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	h := newHarness(t, func(o *Options) { o.Now = now }).start()
	h.config("")
	h.deliver("issue_comment", prComment(t, "/deploy"))
	h.settle()
	j := h.jobs()[0]
	ctx := context.Background()

	// Nothing heard for 11 minutes; GitHub shows the run completed.
	h.fake.SetRun(ghfake.Run{ID: 777, Status: "completed", Conclusion: "success", HeadSHA: headSHA, Event: "workflow_dispatch",
		Path: ".github/workflows/deploy.yml", DisplayTitle: "deploy production " + requestID(j)})
	skew.Store(int64(11 * time.Minute))
	h.bot.expireRuns(ctx)
	if got := h.job(j.ID); got.State != store.JobDone || got.RunID != 777 {
		t.Fatalf("after polling: %s run %d", got.State, got.RunID)
	}
	mustContain(t, "polled result", h.lastComment().Body, "✅", "succeeded", "run 777")
	if !h.lockFree("grupo-gad") {
		t.Error("app still locked")
	}

	// A second deploy whose run never shows up is given up after RunTimeout.
	skew.Store(0)
	h.deliver("issue_comment", prComment(t, "/deploy"))
	h.settle()
	j2 := h.jobs()[1]
	skew.Store(int64(20 * time.Minute))
	h.bot.expireRuns(ctx)
	if got := h.job(j2.ID); got.State != store.JobRunning {
		t.Fatalf("gave up too early: %s", got.State)
	}
	skew.Store(int64(7 * time.Hour))
	h.bot.expireRuns(ctx)
	if got := h.job(j2.ID); got.State != store.JobFailed {
		t.Fatalf("after the timeout: %s", got.State)
	}
	mustContain(t, "expired", h.lastComment().Body, "No result from the workflow run after 6h0m0s")
	if !h.lockFree("grupo-gad") {
		t.Error("app still locked after the timeout")
	}
}
