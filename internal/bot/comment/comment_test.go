package comment

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/bot/command"
	"github.com/grupo-gad/deploy-action/internal/output/summary"
	"github.com/grupo-gad/deploy-action/internal/report"
)

func TestRenderStickyStates(t *testing.T) {
	base := Sticky{Command: "/deploy production", Environment: "production", App: "grupo-gad", PR: 7,
		SHA: "3484a3fb816e0859fd6e1cea078d76385ff50625", Actor: "alice", RequestID: "dbot-3-abcd1234",
		Updated: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	tests := []struct {
		state State
		want  []string
	}{
		{Queued, []string{"⏳ `/deploy production` on **production**: queued", "**queued** → running → result"}},
		{Waiting, []string{"🚦", "queued behind another deploy"}},
		{Dispatched, []string{"dispatched, waiting for the workflow run"}},
		{Running, []string{"🏃", "running — phase release", "queued → **running** → result"}},
		{Succeeded, []string{"✅", "succeeded", "queued → running → **result**", "| conclusion | ✅ success |"}},
	}
	for _, tt := range tests {
		s := base
		s.State = tt.state
		if tt.state == Running {
			s.Phases = []PhaseRow{{"build", "✅ passed", "12.0 s", "—"}, {"release", "✅ passed", "3.1 s", "—"}, {"runtime", "✅ passed", "0 ms", "—"}}
		}
		if tt.state == Succeeded {
			s.Conclusion = "success"
		}
		got := RenderSticky(s)
		for _, w := range append(tt.want, "<!-- deploy-bot:sticky pr=7 env=production -->", "| commit | `3484a3f` (pinned when @alice asked) |", "request `dbot-3-abcd1234`") {
			if !strings.Contains(got, w) {
				t.Errorf("%s: missing %q in\n%s", tt.state, w, got)
			}
		}
	}
}

func TestRenderStickyResult(t *testing.T) {
	s := Sticky{Command: "/deploy", Environment: "production", PR: 1, State: Failed, Conclusion: "failure",
		RunURL: "https://github.com/o/r/actions/runs/289782451", CheckURL: "https://github.com/o/r/runs/128620228", CheckTitle: "1 error in release",
		Phases: []PhaseRow{{"release", "❌ failed", "4.0 s", "1 error"}},
		Health: &Health{URL: "https://grupo-gad.fly.dev/health", Samples: 10, Passed: 9, P50: 41 * time.Millisecond, P95: 180 * time.Millisecond, Max: 180 * time.Millisecond, CertDaysLeft: 60, Problems: []string{"1 sample answered 503"}},
		Note:   "The workflow failed."}
	got := RenderSticky(s)
	for _, w := range []string{
		"[run 289782451](https://github.com/o/r/actions/runs/289782451)",
		"[deploy-check: 1 error in release](https://github.com/o/r/runs/128620228)",
		"| release | ❌ failed | 4.0 s | 1 error |",
		"| 9/10 | 41 ms | 180 ms | 180 ms | 60 days left |",
		"❌ unhealthy", "- 1 sample answered 503", "> The workflow failed.",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
}

// TestParsePhaseTable reads the table the action writes into the check run
// (summary.Head), so the two stay in step.
func TestParsePhaseTable(t *testing.T) {
	rep := report.New("deploy", report.StaticPhases...)
	rep.SetDuration(report.Build, 12*time.Second)
	rep.Add(report.Release, report.Finding{Rule: "x", Severity: report.Error, Title: "t", Message: "m"})
	rep.Finish()
	md := summary.Head(rep, summary.Options{})
	rows := ParsePhaseTable(md)
	if len(rows) != 5 {
		t.Fatalf("rows = %+v from\n%s", rows, md)
	}
	want := PhaseRow{Name: "release", Status: "❌ failed", Duration: "0 ms", Findings: "1 error"}
	if rows[1] != want || rows[0].Duration != "12.0 s" {
		t.Errorf("rows = %+v", rows)
	}
	if CurrentPhase(rows) != "build" {
		t.Errorf("CurrentPhase = %q", CurrentPhase(rows))
	}
	if ParsePhaseTable("no table here\n| a | b |\n") != nil {
		t.Error("a table without the phase header is not a phase table")
	}
}

func TestPlainNeutralises(t *testing.T) {
	got := Plain("@admin <img src=x> `rm` | [x](http://evil)\nnext", 200)
	for _, bad := range []string{"@admin", "<", ">", "`", "|", "[", "]", "\n"} {
		if strings.Contains(got, bad) {
			t.Errorf("Plain left %q in %q", bad, got)
		}
	}
	if got := Plain(strings.Repeat("é", 10), 3); got != "ééé…" {
		t.Errorf("cut = %q", got)
	}
}

func TestReplies(t *testing.T) {
	tests := []struct {
		got  string
		want []string
	}{
		{Usage("bob", `"prod!" is not an environment name`, command.Usage(command.Deploy)), []string{"@bob", "Usage:", "`/deploy [environment]`"}},
		{Help(""), []string{"`/deploy [environment]`", "`/status`", "`/help [command]`", "write or admin"}},
		{Help(command.Rollback), []string{"`/rollback [release-version|image] [environment]`"}},
		{Refusal("eve", "/deploy", "read", "o/r"), []string{"Sorry @eve", "yours is **read**", "Nothing was run"}},
		{Refusal("eve", "/deploy", "", "o/r"), []string{"yours is **none**"}},
		{ForkRefusal("eve", "/deploy", "eve/r"), []string{"forks", "allow_forks: true"}},
		{Disabled("bob", "/rollback"), []string{"turned off"}},
		{Approvals("bob", "/deploy", "production", 0, 1), []string{"needs 1 approving review(s)", "it has 0"}},
		{ConfigInvalid("bob", []report.Finding{{Location: report.At(".github/deploy-bot.yml", 3, 14), Message: "`allow_forks` must be true or false.", Fix: "Write `allow_forks: true`."}}),
			[]string{"`.github/deploy-bot.yml:3:14`", "must be true or false"}},
		{Status("o/r", nil, []StatusLine{{At: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Command: "/deploy", Environment: "production", Actor: "alice", PR: 7, State: "done", Result: "success"}}),
			[]string{"Nothing is running", "| 2026-01-02 03:04 | `/deploy` | production | alice | #7 | done: success |"}},
		{HealthReply("bob", "production", Health{URL: "http://x/health", Samples: 3, Passed: 3, CertDaysLeft: -1, OK: true}), []string{"✅ healthy", "| 3/3 |"}},
	}
	for i, tt := range tests {
		for _, w := range tt.want {
			if !strings.Contains(tt.got, w) {
				t.Errorf("reply %d: missing %q in\n%s", i, w, tt.got)
			}
		}
	}
	if !reflect.DeepEqual(StateOf("success"), Succeeded) || StateOf("timed_out") != Failed || StateOf("cancelled") != Cancelled {
		t.Error("StateOf")
	}
}

// FuzzParsePhaseTable checks that any check run summary yields at most 16
// rows of at least a name and a status, without panicking.
func FuzzParsePhaseTable(f *testing.F) {
	rep := report.New("deploy", report.StaticPhases...)
	rep.Add(report.Build, report.Finding{Rule: "r", Severity: report.Warning, Title: "t", Message: "m"})
	rep.Finish()
	f.Add(summary.Head(rep, summary.Options{}))
	f.Add(summary.Render(rep, summary.Options{Gantt: true}))
	f.Add("| phase | status |\n|---|---|\n| a |\n| b | c |\n")
	f.Add("|phase|status|\n||\n|")
	f.Fuzz(func(t *testing.T, s string) {
		rows := ParsePhaseTable(s)
		if len(rows) > 16 {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows {
			if strings.Contains(r.Name, "|") || strings.Contains(r.Name, "\n") {
				t.Fatalf("row %+v keeps a separator", r)
			}
		}
		RenderSticky(Sticky{Phases: rows, State: Running})
	})
}
