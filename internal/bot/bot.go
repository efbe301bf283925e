// Package bot is the deploy-action GitHub App: it takes commands from pull
// request comments (/deploy, /rollback, /secrets check, /status, /health,
// /help), checks who asked, dispatches the repository's deploy workflow on
// the pull request's head commit, follows the run, and keeps one sticky
// comment per pull request and environment up to date.
//
// Deliveries are verified and persisted before they are answered (package
// webhook, then Store.Enqueue); a pool of workers takes them from the store.
// Every step of a command is recorded in the store, so a bot killed at any
// point picks its work up again when it restarts, or says on the pull
// request that it could not.
package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gh "github.com/google/go-github/v66/github"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/grupo-gad/deploy-action/internal/bot/webhook"
	"github.com/grupo-gad/deploy-action/internal/health"
	"github.com/grupo-gad/deploy-action/internal/store"
)

// Options configure a Bot. WebhookSecret, AppID, PrivateKey and Store are
// required; every other zero value means the default named on the field.
type Options struct {
	// WebhookSecret verifies X-Hub-Signature-256.
	WebhookSecret []byte
	// AppID and PrivateKey (PEM) authenticate the GitHub App.
	AppID      int64
	PrivateKey []byte
	// APIURL is the GitHub REST API (default https://api.github.com).
	APIURL string
	// Store is the durable state.
	Store store.Store
	// Workers is how many jobs run at once (default 4).
	Workers int
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
	// Login is the app's bot login ("name[bot]"); its comments are ignored.
	// Empty: asked from GitHub (GET /app) when the bot starts. Comments by
	// any Bot account are ignored anyway.
	Login string
	// Transport is the base HTTP transport to GitHub (default a clone of
	// http.DefaultTransport).
	Transport http.RoundTripper
	// RetryMax, RetryWaitMin and RetryWaitMax shape the retries of GitHub
	// requests that failed with a 5xx or a broken connection (default 4
	// retries, 500 ms to 8 s, exponential).
	RetryMax                   int
	RetryWaitMin, RetryWaitMax time.Duration
	// RateLimitSleep is the most time spent in all waiting out secondary
	// rate limits for one request (default 2 min).
	RateLimitSleep time.Duration
	// Probe measures an environment's health for /health and after a
	// deploy (default: health.Verify with HealthSamples samples).
	Probe func(ctx context.Context, url string) (*health.Result, error)
	// HealthSamples and HealthInterval shape the default Probe (default 10
	// samples, 1 s apart).
	HealthSamples  int
	HealthInterval time.Duration
	// AllowPrivateHealthURLs lets the default Probe reach loopback, private
	// and link-local addresses (tests; a bot inside the app's network). By
	// default they are refused, so a repository config cannot make the bot
	// probe its own network.
	AllowPrivateHealthURLs bool
	// PollInterval is how often idle workers look for work another replica
	// queued (default 2 s); work queued by this process wakes them at once.
	PollInterval time.Duration
	// StaleAfter, when positive, makes the bot take over running jobs not
	// updated for that long (another replica died), checked every minute.
	// Zero (one replica, e.g. SQLite): every running job found at start-up
	// is taken over.
	StaleAfter time.Duration
	// RunPollAfter is how long a dispatched command may hear nothing
	// before the bot asks GitHub for its run (default 10 min): a lost
	// workflow_run delivery does not keep the app locked.
	RunPollAfter time.Duration
	// RunTimeout is how long a dispatched command waits for its workflow
	// run to finish before it is reported failed (default 6 h).
	RunTimeout time.Duration
	// MaxAttempts is how many times a command is started before it is
	// reported failed (default 3): a command that crashes the bot does not
	// crash it forever.
	MaxAttempts int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Bot is the GitHub App server.
type Bot struct {
	opts    Options
	log     *slog.Logger
	store   store.Store
	gh      *clients
	m       *metrics
	intake  *webhook.Handler
	login   atomic.Value // string
	wake    chan struct{}
	stop    chan struct{}
	stopped atomic.Bool
	wg      sync.WaitGroup
	hardCtx context.Context
	hard    context.CancelFunc
	locks   keyedMutex
	started atomic.Bool
}

// New checks opts and returns a Bot. It refuses to build one without a
// webhook secret.
func New(opts Options) (*Bot, error) {
	if len(opts.WebhookSecret) == 0 {
		return nil, webhook.ErrNoSecret
	}
	if opts.Store == nil {
		return nil, errors.New("bot: no store")
	}
	if opts.AppID <= 0 {
		return nil, errors.New("bot: the GitHub App id (GITHUB_APP_ID) is required")
	}
	if len(opts.PrivateKey) == 0 {
		return nil, errors.New("bot: the GitHub App private key (GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH) is required")
	}
	setDefaults(&opts)
	b := &Bot{opts: opts, log: opts.Logger, store: opts.Store, m: newMetrics(), wake: make(chan struct{}, 1), stop: make(chan struct{})}
	b.login.Store(opts.Login)
	b.hardCtx, b.hard = context.WithCancel(context.Background())
	base := counting{next: opts.Transport, m: b.m}
	c, err := newClients(opts.APIURL, opts.AppID, opts.PrivateKey, retryTransport(base, opts.RetryMax, opts.RetryWaitMin, opts.RetryWaitMax), opts.RateLimitSleep)
	if err != nil {
		return nil, err
	}
	b.gh = c
	h, err := webhook.New(opts.WebhookSecret, webhook.SinkFunc(b.Deliver))
	if err != nil {
		return nil, err
	}
	h.Logger = b.log
	h.Observe = b.m.observe
	b.intake = h
	if b.opts.Probe == nil {
		b.opts.Probe = b.defaultProbe
	}
	return b, nil
}

func setDefaults(o *Options) {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if o.RetryMax == 0 {
		o.RetryMax = 4
	}
	if o.RetryMax < 0 {
		o.RetryMax = 0
	}
	if o.RetryWaitMin <= 0 {
		o.RetryWaitMin = 500 * time.Millisecond
	}
	if o.RetryWaitMax <= 0 {
		o.RetryWaitMax = 8 * time.Second
	}
	if o.RateLimitSleep <= 0 {
		o.RateLimitSleep = 2 * time.Minute
	}
	if o.HealthSamples <= 0 {
		o.HealthSamples = health.DefaultSamples
	}
	if o.HealthInterval == 0 {
		o.HealthInterval = health.DefaultInterval
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.RunPollAfter <= 0 {
		o.RunPollAfter = 10 * time.Minute
	}
	if o.RunTimeout <= 0 {
		o.RunTimeout = 6 * time.Hour
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Handler serves POST /webhook, GET /healthz and GET /metrics.
func (b *Bot) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/webhook", b.intake)
	mux.HandleFunc("GET /healthz", b.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(b.m.reg, promhttp.HandlerOpts{Registry: b.m.reg}))
	return mux
}

func (b *Bot) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	status, code := "ok", http.StatusOK
	if b.stopped.Load() {
		status, code = "draining", http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"status": status, "workers": b.opts.Workers, "started": b.started.Load()})
}

// Start takes over unfinished work (see Options.StaleAfter) and starts the
// workers. It returns at once; Drain stops them.
func (b *Bot) Start(ctx context.Context) error {
	if b.started.Swap(true) {
		return errors.New("bot: already started")
	}
	if b.login.Load().(string) == "" {
		// In the background: an unreachable GitHub must not delay listening.
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.lookupLogin(context.WithoutCancel(ctx))
		}()
	}
	if err := b.recoverJobs(ctx, b.opts.StaleAfter); err != nil {
		return fmt.Errorf("take over unfinished jobs: %w", err)
	}
	for i := range b.opts.Workers {
		b.wg.Add(1)
		go b.worker(fmt.Sprintf("w%d", i))
	}
	b.wg.Add(1)
	go b.sweeper()
	return nil
}

// lookupLogin asks GitHub for the app's slug, to recognise its own comments.
func (b *Bot) lookupLogin(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	app, _, err := b.gh.App().Apps.Get(ctx, "")
	if err != nil {
		b.log.Warn("could not read the app's slug; comments are still ignored when their author is a Bot account", "err", err)
		return
	}
	b.login.Store(app.GetSlug() + "[bot]")
	b.log.Info("GitHub App", "slug", app.GetSlug(), "id", app.GetID())
}

// Drain stops taking jobs and waits for the jobs in flight to finish, until
// ctx ends; then it cancels them (they stay unfinished in the store and are
// taken over at the next start) and returns ctx's error.
func (b *Bot) Drain(ctx context.Context) error {
	if !b.stopped.Swap(true) {
		close(b.stop)
	}
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		b.hard()
		return nil
	case <-ctx.Done():
		b.hard()
		<-done
		return fmt.Errorf("drain: %w", ctx.Err())
	}
}

// notify wakes an idle worker.
func (b *Bot) notify() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// isOwnLogin reports whether login is this app's bot account.
func (b *Bot) isOwnLogin(login string) bool {
	own, _ := b.login.Load().(string)
	return own != "" && strings.EqualFold(login, own)
}

// keyedMutex serialises work on one key (a job, a pull request's sticky
// comment) across workers.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

// Lock locks key and returns its unlock.
func (k *keyedMutex) Lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// ghFor returns the installation client for a job's repository.
func (b *Bot) ghFor(ctx context.Context, j *store.Job) (*gh.Client, error) {
	c, id, err := b.gh.ForRepo(ctx, j.Owner, j.Repo, j.Installation)
	if err != nil {
		return nil, err
	}
	j.Installation = id
	return c, nil
}
