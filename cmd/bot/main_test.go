package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/bot/ghfake"
	"github.com/grupo-gad/deploy-action/internal/bot/webhook"
	"github.com/grupo-gad/deploy-action/internal/store"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// envChild makes the test binary run the bot instead of the tests: the
// crash and shutdown tests re-execute it as a real process they can kill.
const envChild = "DEPLOY_BOT_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(run(context.Background(), os.Getenv, os.Stderr))
	}
	os.Exit(m.Run())
}

const (
	owner   = "runatlantis"
	repo    = "atlantis-tests"
	headSHA = "3484a3fb816e0859fd6e1cea078d76385ff50625"
)

var secret = "webhook secret for process tests"

func TestSettings(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	os.WriteFile(keyFile, []byte("-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n"), 0o600)
	base := map[string]string{"GITHUB_APP_ID": "123", "GITHUB_PRIVATE_KEY_PATH": keyFile, "GITHUB_WEBHOOK_SECRET": "s"}
	env := func(extra map[string]string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return func(k string) string { return m[k] }
	}
	s, err := loadSettings(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != ":8080" || s.StatePath != "./deploy-bot.db" || s.DatabaseURL != "" || s.AppID != 123 || s.Workers != 4 || s.ShutdownTimeout != 25*time.Second {
		t.Errorf("defaults: %+v", s)
	}
	s, _ = loadSettings(env(map[string]string{"PORT": "9000"}))
	if s.Addr != ":9000" {
		t.Errorf("PORT: %q", s.Addr)
	}
	s, _ = loadSettings(env(map[string]string{"PORT": "9000", "ADDR": "127.0.0.1:7000"}))
	if s.Addr != "127.0.0.1:7000" {
		t.Errorf("ADDR over PORT: %q", s.Addr)
	}
	s, _ = loadSettings(env(map[string]string{"DATABASE_URL": "postgres://u@h/db"}))
	if s.StatePath != "" || s.DatabaseURL == "" {
		t.Errorf("DATABASE_URL: %+v", s)
	}
	s, _ = loadSettings(env(map[string]string{"GITHUB_PRIVATE_KEY": `-----BEGIN KEY-----\nabc\n-----END KEY-----`}))
	if !bytes.Contains(s.PrivateKey, []byte("\nabc\n")) {
		t.Errorf("escaped newlines not restored: %q", s.PrivateKey)
	}
	for _, bad := range []map[string]string{
		{"GITHUB_WEBHOOK_SECRET": ""},
		{"GITHUB_APP_ID": "abc"},
		{"GITHUB_PRIVATE_KEY_PATH": ""},
		{"GITHUB_PRIVATE_KEY_PATH": filepath.Join(dir, "missing.pem")},
		{"PORT": "http"},
		{"BOT_WORKERS": "0"},
		{"BOT_LOG_LEVEL": "loud"},
		{"BOT_SHUTDOWN_TIMEOUT": "soon"},
	} {
		if _, err := loadSettings(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestRefusesToStartWithoutSecret runs the program without a webhook
// secret: it exits 2 and says which variable is missing.
func TestRefusesToStartWithoutSecret(t *testing.T) {
	var out bytes.Buffer
	code := run(context.Background(), func(k string) string {
		return map[string]string{"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": "pem", "ADDR": "127.0.0.1:0"}[k]
	}, &out)
	if code != exitConfig || !strings.Contains(out.String(), "GITHUB_WEBHOOK_SECRET is not set") {
		t.Fatalf("exit %d, output %q", code, out.String())
	}
}

// world is a GitHub fake, an App key and a state file shared by the bot
// processes of one test.
type world struct {
	t       testing.TB
	fake    *ghfake.Server
	keyPath string
	state   string
	seq     int
}

func newWorld(t testing.TB) *world {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := &world{t: t, fake: ghfake.New(owner, repo), keyPath: filepath.Join(dir, "app.pem"), state: filepath.Join(dir, "bot.db")}
	t.Cleanup(w.fake.Close)
	w.fake.PublicKey = &key.PublicKey
	w.fake.SetPermission("runatlantis", "admin", "admin")
	w.fake.SetPR(1, ghfake.PR{HeadSHA: headSHA, Author: "contributor"})
	os.WriteFile(w.keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	return w
}

// proc is a bot process.
type proc struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs the test binary as the bot and waits until it listens.
func (w *world) start(extra ...string) *proc {
	w.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=1",
		"GITHUB_APP_ID=1", "GITHUB_PRIVATE_KEY_PATH="+w.keyPath, "GITHUB_WEBHOOK_SECRET="+secret,
		"GITHUB_API_URL="+w.fake.URL, "ADDR=127.0.0.1:0", "STATE_PATH="+w.state, "BOT_LOG_LEVEL=debug")
	cmd.Env = append(cmd.Env, extra...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	w.t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case p.addr = <-addr:
	case <-p.done:
		w.t.Fatalf("the bot exited before listening: %v\n%s", p.err, p.output())
	case <-time.After(30 * time.Second):
		w.t.Fatalf("the bot did not listen within 30 s:\n%s", p.output())
	}
	return p
}

// comment posts a signed /command comment of the corpus payload.
func (w *world) comment(p *proc, body string) int {
	w.t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.CorpusDir(w.t, "webhooks"), "issue_comment.created.on-pull-request.json"))
	if err != nil {
		w.t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	w.seq++
	m["comment"].(map[string]any)["body"] = body
	m["comment"].(map[string]any)["id"] = 1000 + w.seq
	payload, _ := json.Marshal(m)
	return w.post(p, "issue_comment", fmt.Sprintf("delivery-%d", w.seq), payload)
}

func (w *world) post(p *proc, event, id string, payload []byte) int {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/webhook", bytes.NewReader(payload))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), payload))
	req.Header.Set(webhook.HeaderEvent, event)
	req.Header.Set(webhook.HeaderDelivery, id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (w *world) waitFor(p *proc, what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			out := ""
			if p != nil {
				out = p.output()
			}
			w.t.Fatalf("timed out waiting for %s; calls %q\n%s", what, w.fake.Calls(), out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jobs reads the jobs from the state file (the bot is stopped).
func (w *world) jobs() []*store.Job {
	w.t.Helper()
	st, err := store.Open(context.Background(), "", w.state)
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	js, err := st.Recent(context.Background(), owner, repo, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	return js
}

type inputs struct {
	Ref    string            `json:"ref"`
	Inputs map[string]string `json:"inputs"`
}

func (w *world) dispatches() []inputs {
	var out []inputs
	for _, r := range w.fake.Matching("POST", "/repos/"+owner+"/"+repo+"/actions/workflows/") {
		var in inputs
		json.Unmarshal(r.Body, &in)
		out = append(out, in)
	}
	return out
}

// TestSIGKILLLosesNothing kills the bot with SIGKILL while two commands
// are in the middle of their dispatch and four more wait in the queue,
// then starts it again: the four resume and are dispatched, the dispatch
// GitHub did receive is found again by its request id, the one it did not
// is reported failed on the pull request, and nothing is done twice.
func TestSIGKILLLosesNothing(t *testing.T) {
	w := newWorld(t)
	w.fake.HoldDispatches()
	p := w.start("BOT_WORKERS=2")
	const n = 6
	for i := 1; i <= n; i++ {
		if code := w.comment(p, fmt.Sprintf("/deploy env%d", i)); code != http.StatusAccepted {
			t.Fatalf("delivery %d answered %d:\n%s", i, code, p.output())
		}
	}
	w.waitFor(p, "two dispatches in flight", func() bool { return w.fake.Held() == 2 })
	held := w.dispatches()
	// GitHub got the first dispatch and started its run (the workflow puts
	// the request id in its run-name); the second one never arrived.
	adopted := held[0].Inputs
	w.fake.SetRun(ghfake.Run{ID: 8001, Status: "in_progress", HeadSHA: headSHA, Event: "workflow_dispatch",
		Path: ".github/workflows/deploy.yml", DisplayTitle: "Deploy " + adopted["environment"] + " " + adopted["request_id"]})

	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	w.fake.ReleaseDispatches()
	w.waitFor(nil, "the held dispatches to end", func() bool { return w.fake.Held() == 0 })

	before := w.jobs()
	if len(before) != n {
		t.Fatalf("%d jobs in the store after SIGKILL, want %d accepted", len(before), n)
	}
	for _, j := range before {
		if j.State == store.JobDone || j.State == store.JobFailed {
			t.Fatalf("job %d finished before the crash: %+v", j.ID, j)
		}
	}

	p2 := w.start("BOT_WORKERS=2")
	w.waitFor(p2, "every command to be dispatched or reported", func() bool {
		return len(w.dispatches()) == 2+(n-2) && len(w.fake.Comments(1)) == n
	})
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p2.done
	if p2.err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", p2.err, p2.output())
	}

	// Each environment was dispatched exactly once.
	seen := map[string]int{}
	for _, d := range w.dispatches() {
		seen[d.Inputs["environment"]]++
		if d.Inputs["sha"] != headSHA || d.Inputs["command"] != "deploy" || d.Ref != "main" {
			t.Errorf("dispatch %+v", d)
		}
	}
	for i := 1; i <= n; i++ {
		if env := fmt.Sprintf("env%d", i); seen[env] != 1 {
			t.Errorf("%s dispatched %d times", env, seen[env])
		}
	}
	// One reaction per comment: the restart repeated nothing.
	if r := len(w.fake.Matching("POST", "/repos/"+owner+"/"+repo+"/issues/comments/")); r != n {
		t.Errorf("%d reactions, want %d", r, n)
	}
	states := map[string]string{}
	for _, j := range w.jobs() {
		states[j.Environment] = string(j.State)
	}
	lost := held[1].Inputs["environment"]
	for env, st := range states {
		want := "running" // dispatched, following its run
		if env == lost {
			want = "failed"
		}
		if st != want {
			t.Errorf("%s: state %s, want %s", env, st, want)
		}
	}
	bodies := map[string]string{}
	for _, c := range w.fake.Comments(1) {
		for i := 1; i <= n; i++ {
			if strings.Contains(c.Body, fmt.Sprintf("env=env%d -->", i)) {
				bodies[fmt.Sprintf("env%d", i)] = c.Body
			}
		}
	}
	if len(bodies) != n {
		t.Fatalf("sticky comments for %d environments, want %d", len(bodies), n)
	}
	if !strings.Contains(bodies[lost], "restarted while dispatching") {
		t.Errorf("the lost dispatch is not reported:\n%s", bodies[lost])
	}
	if !strings.Contains(bodies[adopted["environment"]], "run 8001") {
		t.Errorf("the dispatched run was not found again:\n%s", bodies[adopted["environment"]])
	}
}

// TestSIGTERMDrains: SIGTERM stops the intake, lets the job in flight
// finish, leaves the queued one in the store and exits 0; the next start
// works the queued job.
func TestSIGTERMDrains(t *testing.T) {
	w := newWorld(t)
	w.fake.HoldDispatches()
	p := w.start("BOT_WORKERS=1")
	if code := w.comment(p, "/deploy"); code != http.StatusAccepted {
		t.Fatalf("deploy: %d", code)
	}
	w.waitFor(p, "the dispatch in flight", func() bool { return w.fake.Held() == 1 })
	if code := w.comment(p, "/help"); code != http.StatusAccepted {
		t.Fatalf("help: %d", code)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	w.waitFor(p, "the intake to close", func() bool { return w.comment(p, "/status") == 0 })
	select {
	case <-p.done:
		t.Fatalf("the bot exited with a job in flight:\n%s", p.output())
	case <-time.After(200 * time.Millisecond):
	}
	w.fake.ReleaseDispatches()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the bot did not stop:\n%s", p.output())
	}
	if p.err != nil {
		t.Fatalf("exit: %v\n%s", p.err, p.output())
	}
	if !strings.Contains(p.output(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", p.output())
	}
	var deploy, help *store.Job
	for _, j := range w.jobs() {
		switch j.Command {
		case "deploy":
			deploy = j
		case "help":
			help = j
		}
	}
	if deploy == nil || !strings.Contains(deploy.Result, `"stage":"dispatched"`) {
		t.Fatalf("the deploy in flight did not finish its dispatch: %+v", deploy)
	}
	if help == nil || help.State != store.JobQueued {
		t.Fatalf("the queued /help should wait for the next start: %+v", help)
	}
	p2 := w.start()
	w.waitFor(p2, "the /help reply after the restart", func() bool {
		for _, c := range w.fake.Comments(1) {
			if strings.Contains(c.Body, "deploy-bot commands") {
				return true
			}
		}
		return false
	})
}
