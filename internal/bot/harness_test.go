package bot

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grupo-gad/deploy-action/internal/bot/ghfake"
	"github.com/grupo-gad/deploy-action/internal/bot/webhook"
	"github.com/grupo-gad/deploy-action/internal/store"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// The repository, pull request and comment of the corpus payload
// issue_comment.created.on-pull-request.json (runatlantis/atlantis-tests#1).
const (
	owner     = "runatlantis"
	repo      = "atlantis-tests"
	prNumber  = 1
	commentID = 396926483
	commenter = "runatlantis"
	headSHA   = "3484a3fb816e0859fd6e1cea078d76385ff50625"
)

var testSecret = []byte("webhook secret for tests")

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
	keyPEM  []byte
)

func appKey(t testing.TB) (*rsa.PrivateKey, []byte) {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	})
	return testKey, keyPEM
}

// harness is a bot on a SQLite store, talking to a GitHub fake, served
// over loopback.
type harness struct {
	t      *testing.T
	fake   *ghfake.Server
	store  store.Store
	bot    *Bot
	srv    *httptest.Server
	health *httptest.Server
	hits   atomic.Int64
	seq    atomic.Int64
}

func newHarness(t *testing.T, tweak ...func(*Options)) *harness {
	t.Helper()
	key, pemKey := appKey(t)
	h := &harness{t: t, fake: ghfake.New(owner, repo)}
	h.fake.PublicKey = &key.PublicKey
	t.Cleanup(h.fake.Close)
	h.fake.SetPR(prNumber, ghfake.PR{HeadSHA: headSHA, HeadRef: "feature", Author: "contributor"})
	h.fake.SetPermission(commenter, "write", "write")
	h.health = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	}))
	t.Cleanup(h.health.Close)
	st, err := store.Open(context.Background(), "", filepath.Join(t.TempDir(), "bot.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	h.store = st
	opts := Options{
		WebhookSecret: testSecret, AppID: 1, PrivateKey: pemKey, APIURL: h.fake.URL, Store: st,
		Workers: 2, Login: "deploy-bot[bot]", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		HealthSamples: 3, HealthInterval: -1, AllowPrivateHealthURLs: true, PollInterval: 50 * time.Millisecond,
	}
	if os.Getenv("BOT_TEST_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, f := range tweak {
		f(&opts)
	}
	if opts.Store != st { // a tweak brought its own store
		st.Close()
		st = opts.Store
		h.store = st
	}
	b, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.bot = b
	h.srv = httptest.NewServer(b.Handler())
	t.Cleanup(func() {
		h.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Drain(ctx)
		st.Close()
	})
	return h
}

func (h *harness) start() *harness {
	h.t.Helper()
	if err := h.bot.Start(context.Background()); err != nil {
		h.t.Fatalf("Start: %v", err)
	}
	return h
}

// config serves .github/deploy-bot.yml with one environment whose health URL
// is the harness's health server.
func (h *harness) config(extra string) {
	h.fake.SetConfig([]byte(fmt.Sprintf("environments:\n  production:\n    app: grupo-gad\n    health_url: %s/health\n%s", h.health.URL, extra)))
}

// corpus reads a webhook payload of the corpus as a map.
func corpus(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.CorpusDir(t, "webhooks"), name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// set sets a dotted path of a payload map, creating maps on the way.
func set(m map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	if v == nil {
		delete(m, keys[len(keys)-1])
		return
	}
	m[keys[len(keys)-1]] = v
}

func marshal(m map[string]any) []byte {
	b, _ := json.Marshal(m)
	return b
}

// prComment is the corpus PR comment with body as its text.
func prComment(t testing.TB, body string, edits ...func(map[string]any)) []byte {
	m := corpus(t, "issue_comment.created.on-pull-request.json")
	set(m, "comment.body", body)
	for _, e := range edits {
		e(m)
	}
	return marshal(m)
}

// runEvent is a corpus workflow_run delivery moved to the test repository.
func runEvent(t testing.TB, action string, id int64, status, conclusion, title, sha string) []byte {
	m := corpus(t, "workflow_run.requested.json")
	set(m, "action", action)
	set(m, "workflow_run.id", id)
	set(m, "workflow_run.status", status)
	set(m, "workflow_run.conclusion", conclusion)
	set(m, "workflow_run.event", "workflow_dispatch")
	set(m, "workflow_run.path", ".github/workflows/deploy.yml")
	set(m, "workflow_run.display_title", title)
	set(m, "workflow_run.head_sha", sha)
	set(m, "workflow_run.html_url", fmt.Sprintf("https://github.com/%s/%s/actions/runs/%d", owner, repo, id))
	moveRepo(m)
	return marshal(m)
}

// checkEvent is a corpus check_run delivery for deploy-check.
func checkEvent(t testing.TB, action, status, conclusion string, runID int64, title, summary string) []byte {
	name := "check_run.created.json"
	if action == "completed" {
		name = "check_run.completed.json"
	}
	m := corpus(t, name)
	set(m, "action", action)
	set(m, "check_run.name", "deploy-check")
	set(m, "check_run.head_sha", headSHA)
	set(m, "check_run.status", status)
	set(m, "check_run.conclusion", conclusion)
	set(m, "check_run.html_url", fmt.Sprintf("https://github.com/%s/%s/runs/77", owner, repo))
	set(m, "check_run.details_url", fmt.Sprintf("https://github.com/%s/%s/actions/runs/%d", owner, repo, runID))
	set(m, "check_run.output.title", title)
	set(m, "check_run.output.summary", summary)
	moveRepo(m)
	return marshal(m)
}

func moveRepo(m map[string]any) {
	set(m, "repository.name", repo)
	set(m, "repository.full_name", owner+"/"+repo)
	set(m, "repository.owner.login", owner)
}

// deliver posts a signed delivery and returns the status code.
func (h *harness) deliver(event string, body []byte) int {
	h.t.Helper()
	return h.deliverID(event, fmt.Sprintf("delivery-%d-%d", time.Now().UnixNano(), h.seq.Add(1)), body)
}

func (h *harness) deliverID(event, id string, body []byte) int {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/webhook", bytes.NewReader(body))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(testSecret, body))
	req.Header.Set(webhook.HeaderEvent, event)
	req.Header.Set(webhook.HeaderDelivery, id)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("deliver %s: %v", event, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// jobs returns the repository's jobs, oldest first.
func (h *harness) jobs() []*store.Job {
	h.t.Helper()
	js, err := h.store.Recent(context.Background(), owner, repo, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	for i, k := 0, len(js)-1; i < k; i, k = i+1, k-1 {
		js[i], js[k] = js[k], js[i]
	}
	return js
}

// settle waits until no job is queued or being worked on (dispatched
// commands following their run count as settled).
func (h *harness) settle() {
	h.t.Helper()
	h.waitFor("jobs to settle", func() bool {
		for _, j := range h.jobs() {
			switch j.State {
			case store.JobQueued:
				return false
			case store.JobRunning:
				if j.Command == kindEvent || readProgress(j).Stage != stageDispatched {
					return false
				}
			}
		}
		return true
	})
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; jobs: %s; calls: %q", what, h.dump(), h.fake.Calls())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) dump() string {
	var parts []string
	for _, j := range h.jobs() {
		parts = append(parts, fmt.Sprintf("#%d %s %s %s", j.ID, j.Command, j.State, j.Result))
	}
	return strings.Join(parts, " | ")
}

func (h *harness) job(id int64) *store.Job {
	h.t.Helper()
	j, err := h.store.Get(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

// lastComment is the newest comment the bot wrote on the pull request.
func (h *harness) lastComment() ghfake.Comment {
	h.t.Helper()
	cs := h.fake.Comments(prNumber)
	if len(cs) == 0 {
		h.t.Fatalf("no comment on #%d; calls %q", prNumber, h.fake.Calls())
	}
	return cs[len(cs)-1]
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s: missing %q in:\n%s", what, w, got)
		}
	}
}

// repoPath is the API path of the test repository.
func repoPath(rest string) string { return "/repos/" + owner + "/" + repo + rest }

// lockFree reports whether app's deploy lock can be taken (by a job made
// for the question, finished at once).
func (h *harness) lockFree(app string) bool {
	h.t.Helper()
	ctx := context.Background()
	j, err := h.store.Enqueue(ctx, &store.Job{DeliveryID: fmt.Sprintf("probe-%d", h.seq.Add(1)), Owner: "probe", Repo: "probe", Command: "status", State: store.JobDone})
	if err != nil {
		h.t.Fatal(err)
	}
	ok, err := h.store.LockApp(ctx, app, j.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	if ok {
		h.store.UnlockApp(ctx, app, j.ID)
	}
	return ok
}

// postgresStore opens a store in a fresh schema of the local PostgreSQL
// (BOT_TEST_DATABASE_URL, default the server's database "test"), dropped
// when the test ends; it skips the test when the server is unreachable,
// except under CI=true.
func postgresStore(t *testing.T) store.Store {
	t.Helper()
	base := os.Getenv("BOT_TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&connect_timeout=3"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable under CI=true: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set BOT_TEST_DATABASE_URL", err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("bottest_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err := store.Open(ctx, u.String(), "")
	if err != nil {
		t.Fatalf("open the PostgreSQL store: %v", err)
	}
	return st
}
