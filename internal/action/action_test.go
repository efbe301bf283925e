package action_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/action"
	"github.com/grupo-gad/deploy-action/internal/githubfake"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

const (
	token   = "ghs_faketoken0123456789abcdef"
	headSHA = "1111111111111111111111111111111111111111"
	pushSHA = "2222222222222222222222222222222222222222"
	dispSHA = "3333333333333333333333333333333333333333"
)

// world is one GitHub-mode run's environment: a workspace, the runner's
// files, the fake API.
type world struct {
	t       *testing.T
	env     map[string]string
	ws      string
	fake    *githubfake.Server
	stdout  bytes.Buffer
	cmds    map[string]action.Command
	outFile string
	sumFile string
}

func newWorld(t *testing.T, apiPrefix string) *world {
	t.Helper()
	w := &world{t: t, ws: t.TempDir(), fake: githubfake.New(t, apiPrefix)}
	tmp := t.TempDir()
	w.outFile = filepath.Join(tmp, "output")
	w.sumFile = filepath.Join(tmp, "summary")
	w.env = map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_WORKSPACE":    w.ws,
		"GITHUB_REPOSITORY":   "grupo-gad/service",
		"GITHUB_SHA":          pushSHA,
		"GITHUB_EVENT_NAME":   "push",
		"GITHUB_API_URL":      w.fake.APIURL(),
		"GITHUB_SERVER_URL":   "https://github.com",
		"GITHUB_RUN_ID":       "42",
		"GITHUB_OUTPUT":       w.outFile,
		"GITHUB_STEP_SUMMARY": w.sumFile,
		"INPUT_GITHUB-TOKEN":  token,
		"INPUT_COMMAND":       "validate",
		"INPUT_FAIL-ON":       "error",
		"INPUT_CHECK-NAME":    "deploy-check",
	}
	return w
}

// copyExample copies an example repository into the workspace at sub.
func (w *world) copyExample(example, sub string) {
	w.t.Helper()
	src := filepath.Join(testutil.RepoRoot(w.t), "examples", example)
	if err := os.CopyFS(filepath.Join(w.ws, sub), os.DirFS(src)); err != nil {
		w.t.Fatal(err)
	}
}

// event writes an event payload and points GITHUB_EVENT_PATH at it.
func (w *world) event(name string, payload any) {
	w.t.Helper()
	data, _ := json.Marshal(payload)
	p := filepath.Join(w.t.TempDir(), "event.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.env["GITHUB_EVENT_NAME"] = name
	w.env["GITHUB_EVENT_PATH"] = p
}

func (w *world) run() int {
	w.t.Helper()
	env := action.Env{
		Getenv: func(k string) string { return w.env[k] },
		Environ: func() []string {
			var kv []string
			for k, v := range w.env {
				kv = append(kv, k+"="+v)
			}
			return kv
		},
		Stdout:   &w.stdout,
		Version:  "test",
		Commands: w.cmds,
	}
	return action.Main(context.Background(), env)
}

func (w *world) summary() string {
	data, _ := os.ReadFile(w.sumFile)
	return string(data)
}

// outputs parses GITHUB_OUTPUT the way the runner does: `name=value` lines
// and `name<<DELIM` blocks ended by a line equal to DELIM.
func (w *world) outputs() map[string]string {
	w.t.Helper()
	f, err := os.Open(w.outFile)
	if err != nil {
		w.t.Fatalf("outputs: %v", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var val []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				val = append(val, sc.Text())
			}
			if !closed {
				w.t.Fatalf("output %s: delimiter %s never closes", name, delim)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if name, val, ok := strings.Cut(line, "="); ok {
			out[name] = val
		}
	}
	return out
}

// fakeCommand returns a command whose report holds n error findings in
// build (files f0.txt … at increasing lines) plus extra.
func fakeCommand(n int, res action.Result, extra ...report.Finding) action.Command {
	return func(ctx context.Context, req *action.Request) (*action.Result, error) {
		rep := report.New("validate", report.StaticPhases...)
		for i := range n {
			rep.Add(report.Build, report.Finding{
				Rule: "fake-rule", Severity: report.Error,
				Location: report.At(fmt.Sprintf("f%03d.txt", i), i+1, 2),
				Title:    "fake", Message: fmt.Sprintf("finding %d", i), Fix: "fix it",
			})
		}
		for _, f := range extra {
			rep.Add(report.Runtime, f)
		}
		rep.Finish()
		res.Report = rep
		return &res, nil
	}
}

func TestValidateEndToEnd(t *testing.T) {
	tests := []struct {
		name, example, failOn string
		wantCode              int
		wantConclusion        string
		wantTitle             string
	}{
		{"good example passes", "grupo-gad", "error", 0, "success", "All 5 phases passed (4 notices)"},
		{"broken example fails", "broken/build-pg-config", "error", 1, "failure", "1 error in build"},
		{"fail-on never keeps the step green", "broken/build-pg-config", "never", 0, "failure", "1 error in build"},
		{"fail-on warning fails on warnings", "broken/runtime-oom", "warning", 1, "failure", "1 warning in runtime"},
		{"warnings alone are neutral", "broken/runtime-oom", "error", 0, "neutral", "1 warning in runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "")
			w.copyExample(tt.example, ".")
			w.env["INPUT_FAIL-ON"] = tt.failOn
			if code := w.run(); code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tt.wantCode, w.stdout.String())
			}
			reqs := w.fake.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want create + complete", len(reqs))
			}
			last := reqs[len(reqs)-1]
			if got := last.Str("conclusion"); got != tt.wantConclusion {
				t.Errorf("conclusion %q, want %q", got, tt.wantConclusion)
			}
			if got := last.Str("output.title"); got != tt.wantTitle {
				t.Errorf("title %q, want %q", got, tt.wantTitle)
			}
			outs := w.outputs()
			if outs["conclusion"] != tt.wantConclusion {
				t.Errorf("output conclusion %q, want %q", outs["conclusion"], tt.wantConclusion)
			}
			data, err := os.ReadFile(filepath.Join(w.ws, outs["report"]))
			if err != nil {
				t.Fatalf("report output %q: %v", outs["report"], err)
			}
			rep, err := report.ReadJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprint(rep.Counts()[report.Error]); outs["errors"] != want {
				t.Errorf("errors output %q, want %s", outs["errors"], want)
			}
			if !strings.Contains(w.summary(), "| phase | status | duration | findings |") {
				t.Errorf("step summary has no phase table:\n%s", w.summary())
			}
		})
	}
}

func TestCheckRunLifecycle(t *testing.T) {
	w := newWorld(t, "")
	w.copyExample("broken/build-pg-config", ".")
	if code := w.run(); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, w.stdout.String())
	}
	reqs := w.fake.Requests()
	create, done := reqs[0], reqs[1]
	if create.Method != "POST" || create.Path != "/repos/grupo-gad/service/check-runs" {
		t.Errorf("create: %s %s", create.Method, create.Path)
	}
	if create.Authorization != "Bearer "+token {
		t.Errorf("create was not authenticated with the github-token input")
	}
	for k, want := range map[string]string{
		"name": "deploy-check", "head_sha": pushSHA, "status": "in_progress",
		"details_url": "https://github.com/grupo-gad/service/actions/runs/42",
	} {
		if got := create.Str(k); got != want {
			t.Errorf("create %s = %q, want %q", k, got, want)
		}
	}
	if done.Method != "PATCH" || done.Path != "/repos/grupo-gad/service/check-runs/1001" {
		t.Errorf("complete: %s %s", done.Method, done.Path)
	}
	if done.Str("status") != "completed" || done.Str("completed_at") == "" {
		t.Errorf("complete: status %q completed_at %q", done.Str("status"), done.Str("completed_at"))
	}
	anns := done.Annotations()
	if len(anns) != 2 {
		t.Fatalf("%d annotations, want 2: %v", len(anns), anns)
	}
	a := anns[0]
	if a["path"] != "Dockerfile" || a["start_line"] != 7.0 || a["annotation_level"] != "failure" || a["start_column"] != 5.0 {
		t.Errorf("first annotation %v", a)
	}
	if !strings.Contains(a["message"].(string), "Fix: ") {
		t.Errorf("annotation message carries no fix: %q", a["message"])
	}
	if anns[1]["annotation_level"] != "notice" || anns[1]["path"] != "app/main.py" {
		t.Errorf("second annotation %v", anns[1])
	}
	if !strings.Contains(done.Str("output.summary"), "| build | ❌ failed |") {
		t.Errorf("summary has no phase table: %s", done.Str("output.summary"))
	}
	if !strings.Contains(done.Str("output.text"), "https://github.com/grupo-gad/service/blob/"+pushSHA+"/Dockerfile#L7") {
		t.Errorf("text has no link to the line at the SHA: %s", done.Str("output.text"))
	}
	// With a check run, findings are not annotated a second time from the log.
	if strings.Contains(w.stdout.String(), "::error file=") {
		t.Errorf("workflow-command annotations were written although the check run holds them")
	}
}

func TestTargetSHA(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(w *world)
		wantSHA string
	}{
		{"push uses GITHUB_SHA", func(w *world) { w.event("push", map[string]any{"after": pushSHA}) }, pushSHA},
		{"pull_request uses the head from the event", func(w *world) {
			w.env["GITHUB_SHA"] = "9999999999999999999999999999999999999999" // the merge commit
			w.event("pull_request", map[string]any{"pull_request": map[string]any{"number": 7, "head": map[string]any{"sha": headSHA}}})
		}, headSHA},
		{"pull_request_target uses the head too", func(w *world) {
			w.event("pull_request_target", map[string]any{"pull_request": map[string]any{"head": map[string]any{"sha": headSHA}}})
		}, headSHA},
		{"workflow_dispatch uses the sha input", func(w *world) {
			w.event("workflow_dispatch", map[string]any{"inputs": map[string]any{"sha": dispSHA}})
			w.env["INPUT_SHA"] = dispSHA
		}, dispSHA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "")
			w.copyExample("grupo-gad", ".")
			tt.setup(w)
			if code := w.run(); code != 0 {
				t.Fatalf("exit %d\n%s", code, w.stdout.String())
			}
			if got := w.fake.Requests()[0].Str("head_sha"); got != tt.wantSHA {
				t.Errorf("head_sha %q, want %q", got, tt.wantSHA)
			}
		})
	}
}

func TestDispatchRefusesAnotherCommit(t *testing.T) {
	w := newWorld(t, "")
	w.copyExample("grupo-gad", ".")
	if err := os.MkdirAll(filepath.Join(w.ws, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(w.ws, ".git", "HEAD"), []byte(headSHA+"\n"), 0o644)
	w.env["INPUT_SHA"] = dispSHA
	if code := w.run(); code != action.ExitError {
		t.Fatalf("exit %d, want %d", code, action.ExitError)
	}
	reqs := w.fake.Requests()
	if len(reqs) != 2 || reqs[0].Str("head_sha") != dispSHA || reqs[1].Str("conclusion") != "failure" {
		t.Fatalf("want the check run on %s completed as failure, got %d requests", dispSHA, len(reqs))
	}
	if !strings.Contains(reqs[1].Str("output.summary"), "the workspace holds commit "+headSHA) {
		t.Errorf("summary does not say why: %s", reqs[1].Str("output.summary"))
	}
}

func TestAnnotationBatches(t *testing.T) {
	for _, n := range []int{0, 1, 50, 51, 123} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			w := newWorld(t, "")
			if err := os.MkdirAll(filepath.Join(w.ws, "app"), 0o755); err != nil {
				t.Fatal(err)
			}
			w.env["INPUT_WORKING-DIRECTORY"] = "app"
			w.cmds = map[string]action.Command{"validate": fakeCommand(n, action.Result{})}
			w.run()
			reqs := w.fake.Requests()
			wantReqs := 2 + max(0, (n-1)/50)
			if len(reqs) != wantReqs {
				t.Fatalf("%d requests, want %d", len(reqs), wantReqs)
			}
			seen := map[string]bool{}
			for i, r := range reqs[1:] {
				anns := r.Annotations()
				if len(anns) > 50 {
					t.Errorf("request %d carries %d annotations", i+1, len(anns))
				}
				wantStatus := "in_progress"
				if i == len(reqs)-2 {
					wantStatus = "completed"
				}
				if r.Str("status") != wantStatus {
					t.Errorf("request %d status %q, want %q", i+1, r.Str("status"), wantStatus)
				}
				for _, a := range anns {
					key := fmt.Sprintf("%s:%v", a["path"], a["start_line"])
					if seen[key] {
						t.Errorf("annotation %s delivered twice", key)
					}
					seen[key] = true
				}
			}
			for i := range n {
				if key := fmt.Sprintf("app/f%03d.txt:%d", i, i+1); !seen[key] {
					t.Errorf("finding %s was never annotated", key)
				}
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	w := newWorld(t, "")
	long := strings.Repeat("a long explanation of what went wrong ", 200) // ~7.6 KB each
	var extra []report.Finding
	for i := range 30 {
		extra = append(extra, report.Finding{Rule: "long", Severity: report.Warning, Location: report.At("fly.toml", i+1, 1), Title: "long", Message: long})
	}
	w.cmds = map[string]action.Command{"validate": fakeCommand(0, action.Result{}, extra...)}
	w.run()
	reqs := w.fake.Requests()
	done := reqs[len(reqs)-1]
	if done.Str("conclusion") != "neutral" {
		t.Fatalf("the fake refused a request or conclusion is wrong: %q\n%s", done.Str("conclusion"), w.stdout.String())
	}
	text := done.Str("output.text")
	if len(text) > 65535 {
		t.Errorf("text is %d bytes", len(text))
	}
	if !strings.Contains(text, "more findings not shown: this summary is cut at 65535 characters") {
		t.Errorf("text does not say it was cut:\n%s", text[len(text)-300:])
	}
	if n := len(done.Annotations()); n != 30 {
		t.Errorf("%d annotations, want all 30 despite the cut text", n)
	}
	if s := w.summary(); len(s) > 65535+1 || !strings.Contains(s, "cut at 65535 characters") {
		t.Errorf("step summary is %d bytes or does not say it was cut", len(s))
	}
}

func TestForkFallback(t *testing.T) {
	w := newWorld(t, "")
	w.fake.ForbidCreate = true
	w.env["INPUT_FAIL-ON"] = "never"
	w.cmds = map[string]action.Command{"validate": fakeCommand(25, action.Result{}, report.Finding{
		Rule: "w", Severity: report.Warning, Location: report.At("fly.toml", 3, 1), Title: "warn", Message: "a warning",
	})}
	code := w.run()
	if code != 0 {
		t.Errorf("exit %d: a read-only token must not fail the step", code)
	}
	reqs := w.fake.Requests()
	if len(reqs) != 1 {
		t.Errorf("%d requests, want only the refused create", len(reqs))
	}
	log := w.stdout.String()
	if n := strings.Count(log, "cannot write checks"); n != 1 {
		t.Errorf("the fallback is said %d times in the log, want once", n)
	}
	if n := strings.Count(log, "::error file="); n != action.MaxWorkflowAnnotations {
		t.Errorf("%d ::error commands, want %d", n, action.MaxWorkflowAnnotations)
	}
	if strings.Index(log, "::warning file=fly.toml") < strings.LastIndex(log, "::error file=") {
		t.Errorf("warnings were written before all errors")
	}
	sum := w.summary()
	for _, want := range []string{"cannot write checks", "15 more findings (15 error) are not annotated", "f024.txt"} {
		if !strings.Contains(sum, want) {
			t.Errorf("step summary lacks %q", want)
		}
	}
	// With fail-on error the findings still fail the step.
	w2 := newWorld(t, "")
	w2.fake.ForbidCreate = true
	w2.cmds = map[string]action.Command{"validate": fakeCommand(1, action.Result{})}
	if code := w2.run(); code != action.ExitFindings {
		t.Errorf("fail-on error with a read-only token: exit %d, want 1", code)
	}
}

func TestEnterpriseServerBaseURL(t *testing.T) {
	w := newWorld(t, "/api/v3")
	w.env["GITHUB_SERVER_URL"] = "https://ghe.example.com"
	w.copyExample("broken/build-pg-config", ".")
	w.run()
	reqs := w.fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2\n%s", len(reqs), w.stdout.String())
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r.Path, "/api/v3/repos/grupo-gad/service/check-runs") {
			t.Errorf("request to %s, not under GITHUB_API_URL", r.Path)
		}
	}
	if !strings.Contains(reqs[1].Str("output.text"), "https://ghe.example.com/grupo-gad/service/blob/") {
		t.Errorf("links do not use GITHUB_SERVER_URL")
	}
}

func TestOutputDelimiterSafety(t *testing.T) {
	w := newWorld(t, "")
	evil := "https://app.fly.dev\nghadelimiter_0123456789abcdef0123456789abcdef\nerrors<<EOF\n999\nEOF\n_GitHubActionsFileCommandDelimeter_\nconclusion=success"
	w.cmds = map[string]action.Command{"validate": fakeCommand(1, action.Result{URL: evil, Release: "v7", Image: "registry.fly.io/app:deployment-1"})}
	w.run()
	outs := w.outputs()
	want := map[string]string{
		"conclusion": "failure", "errors": "1", "warnings": "0", "url": evil,
		"release": "v7", "image": "registry.fly.io/app:deployment-1",
	}
	for k, v := range want {
		if outs[k] != v {
			t.Errorf("output %s = %q, want %q", k, outs[k], v)
		}
	}
	if len(outs) != 7 {
		t.Errorf("%d outputs, want 7: %v", len(outs), outs)
	}
}

func TestMasking(t *testing.T) {
	const (
		fly    = "FlyV1 fm2_secretflytoken_abcdefghijklmnop"
		secret = "s3cr3t-k3y-value-that-leaked"
		multi  = "line-one-of-key\nline-two-of-key"
	)
	w := newWorld(t, "")
	w.env["INPUT_FLY-API-TOKEN"] = fly
	w.env["SECRET_KEY"] = secret
	w.env["PRIVATE_KEY"] = multi
	w.env["SECRET_KEY_FILE"] = "/run/secrets/key" // a path, not a secret
	w.env["AUTH_TOKEN"] = "abc"                   // too short to mask
	leak := report.Finding{Rule: "leak", Severity: report.Error, Location: report.At("fly.toml", 1, 1),
		Title: "leak " + secret, Message: "the value " + secret + " and " + fly + " were printed"}
	w.cmds = map[string]action.Command{"validate": fakeCommand(0, action.Result{}, leak)}
	w.run()
	log := w.stdout.String()
	lines := strings.Split(log, "\n")
	masks := map[string]bool{}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "::add-mask::"); ok {
			masks[v] = true
		} else {
			break // every mask comes before anything else
		}
	}
	for _, v := range []string{token, fly, secret, "line-one-of-key", "line-two-of-key"} {
		if !masks[v] {
			t.Errorf("no ::add-mask:: before the first log line for a secret of %d characters", len(v))
		}
	}
	if masks["/run/secrets/key"] || masks["abc"] {
		t.Errorf("masked a value that is not a secret: %v", masks)
	}
	var sent []string
	for _, r := range w.fake.Requests() {
		sent = append(sent, string(r.Body))
	}
	data, _ := os.ReadFile(filepath.Join(w.ws, w.outputs()["report"]))
	for where, text := range map[string]string{"check run requests": strings.Join(sent, "\n"), "step summary": w.summary(), "JSON report": string(data)} {
		for _, v := range []string{token, fly, secret} {
			if strings.Contains(text, v) {
				t.Errorf("%s hold a secret value", where)
			}
		}
		if !strings.Contains(text, "***") {
			t.Errorf("%s: the leaked value was not replaced by ***", where)
		}
	}
}

func TestCannotRun(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		want  string
		check bool // a check run is created and completed as failure
	}{
		{"unknown command", map[string]string{"INPUT_COMMAND": "launch"}, `input command: "launch" is not a command`, false},
		{"command not in this version", map[string]string{"INPUT_COMMAND": "diagnose"}, "command diagnose is not available in this version", false},
		{"deploy without a Fly token", map[string]string{"INPUT_COMMAND": "deploy"}, "deploy needs a Fly token", true},
		{"bad fail-on", map[string]string{"INPUT_FAIL-ON": "sometimes"}, "input fail-on", false},
		{"short sha", map[string]string{"INPUT_SHA": "abc123"}, "is not a full commit SHA", false},
		{"missing folder", map[string]string{"INPUT_WORKING-DIRECTORY": "nope"}, "input working-directory: nope is not a folder", false},
		{"folder outside", map[string]string{"INPUT_WORKING-DIRECTORY": "../x"}, "is outside the workspace", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "")
			w.copyExample("grupo-gad", ".")
			t.Setenv("FLY_API_TOKEN", "")
			t.Setenv("FLY_ACCESS_TOKEN", "")
			for k, v := range tt.env {
				w.env[k] = v
			}
			if code := w.run(); code != action.ExitError {
				t.Errorf("exit %d, want %d", code, action.ExitError)
			}
			if !strings.Contains(w.stdout.String(), "::error::") || !strings.Contains(w.stdout.String(), tt.want) {
				t.Errorf("log lacks %q:\n%s", tt.want, w.stdout.String())
			}
			if !strings.Contains(w.summary(), tt.want) {
				t.Errorf("step summary lacks %q", tt.want)
			}
			reqs := w.fake.Requests()
			switch {
			case !tt.check && len(reqs) != 0:
				t.Errorf("%d API requests for an input error", len(reqs))
			case tt.check && (len(reqs) != 2 || reqs[1].Str("conclusion") != "failure" || !strings.Contains(reqs[1].Str("output.summary"), tt.want)):
				t.Errorf("want the check run completed as failure saying %q, got %d requests", tt.want, len(reqs))
			}
			if w.outputs()["conclusion"] != "failure" {
				t.Errorf("conclusion output is not failure")
			}
		})
	}
}

func TestNoTokenAnnotatesTheLog(t *testing.T) {
	w := newWorld(t, "")
	delete(w.env, "INPUT_GITHUB-TOKEN")
	w.copyExample("broken/build-pg-config", "app")
	w.env["INPUT_WORKING-DIRECTORY"] = "app"
	if code := w.run(); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if len(w.fake.Requests()) != 0 {
		t.Errorf("API called without a token")
	}
	if !regexp.MustCompile(`(?m)^::error file=app/Dockerfile,line=7,col=5,`).MatchString(w.stdout.String()) {
		t.Errorf("no workflow-command annotation at app/Dockerfile:7:\n%s", w.stdout.String())
	}
}

func TestProgressUpdates(t *testing.T) {
	w := newWorld(t, "")
	w.cmds = map[string]action.Command{"validate": func(ctx context.Context, req *action.Request) (*action.Result, error) {
		rep := report.New("deploy", report.Build, report.Release)
		rep.SetDuration(report.Build, 1500*1e6)
		req.Progress(rep)
		req.Progress(rep) // within a second: coalesced
		rep.Finish()
		return &action.Result{Report: rep}, nil
	}}
	w.run()
	reqs := w.fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want create, one progress update, complete", len(reqs))
	}
	if reqs[1].Str("status") != "in_progress" || !strings.Contains(reqs[1].Str("output.summary"), "| build | ✅ passed | 1.5 s |") {
		t.Errorf("progress update: %s", reqs[1].Body)
	}
	if !strings.Contains(w.summary(), "```mermaid\ngantt") {
		t.Errorf("no gantt chart in the step summary although phases have timings")
	}
}

// TestDocsExample runs the action on a real broken example as GitHub would
// and checks the step summary a reviewer reads. With
// DEPLOY_ACTION_WRITE_DOCS=1 it also writes it to
// docs/step-summary-example.md, the source of the README's screenshot
// (docs/render/README.md says how to render it).
func TestDocsExample(t *testing.T) {
	w := newWorld(t, "")
	w.fake.HTMLURL = "https://github.com"
	w.copyExample("broken/release-two-heads", "service")
	w.env["INPUT_WORKING-DIRECTORY"] = "service"
	w.env["GITHUB_SHA"] = "5f0c2a7e9b1d4c3a8e6f0b2d4c6a8e0f1b3d5c7a"
	if code := w.run(); code != 1 {
		t.Fatalf("exit %d\n%s", code, w.stdout.String())
	}
	md := w.summary()
	for _, want := range []string{
		"## ❌ deploy-check: `validate` failed — 2 errors in release",
		"Check run: [deploy-check](https://github.com/grupo-gad/service/runs/1001)",
		"| release | ❌ failed |",
		"https://github.com/grupo-gad/service/blob/5f0c2a7e9b1d4c3a8e6f0b2d4c6a8e0f1b3d5c7a/service/alembic/versions/",
		"**Fix:** Merge the heads",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("step summary lacks %q:\n%s", want, md)
		}
	}
	if os.Getenv("DEPLOY_ACTION_WRITE_DOCS") == "1" {
		p := filepath.Join(testutil.RepoRoot(t), "docs", "step-summary-example.md")
		if err := os.WriteFile(p, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
