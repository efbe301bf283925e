// Command bot is the deploy-action GitHub App: an HTTP server that takes
// /deploy, /rollback, /secrets check, /status, /health and /help from pull
// request comments, dispatches the repository's deploy workflow and keeps
// one sticky comment per pull request and environment up to date.
//
// It is configured from the environment:
//
//	GITHUB_APP_ID            the App's id (required)
//	GITHUB_PRIVATE_KEY       the App's private key, PEM (or GITHUB_PRIVATE_KEY_PATH, a file)
//	GITHUB_WEBHOOK_SECRET    the webhook secret (required: the bot refuses to start without it)
//	GITHUB_API_URL           default https://api.github.com
//	ADDR                     listen address, default :8080 (PORT=n means :n when ADDR is unset)
//	DATABASE_URL             a postgres:// URL selects PostgreSQL (several replicas)
//	STATE_PATH               else the SQLite file, default ./deploy-bot.db
//	BOT_WORKERS              jobs worked at once, default 4
//	BOT_LOG_LEVEL            debug, info (default), warn or error
//	BOT_ALLOW_PRIVATE_HEALTH true lets /health probe private addresses
//	BOT_SHUTDOWN_TIMEOUT     how long SIGTERM waits for work in flight, default 25s
//
// Endpoints: POST /webhook, GET /healthz, GET /metrics (Prometheus).
// SIGTERM or SIGINT stops taking deliveries, finishes the work in flight and
// exits 0; work still queued stays in the store for the next start.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/grupo-gad/deploy-action/internal/bot"
	"github.com/grupo-gad/deploy-action/internal/store"
)

func main() {
	os.Exit(run(context.Background(), os.Getenv, os.Stderr))
}

// Exit codes.
const (
	exitOK     = 0
	exitConfig = 2 // bad or missing configuration: the bot did not start
	exitFailed = 1 // the bot started and then failed
)

// settings is the bot's configuration, read from the environment.
type settings struct {
	AppID           int64
	PrivateKey      []byte
	WebhookSecret   []byte
	APIURL          string
	Addr            string
	DatabaseURL     string
	StatePath       string
	Workers         int
	LogLevel        slog.Level
	AllowPrivate    bool
	ShutdownTimeout time.Duration
}

// loadSettings reads and checks the environment. Its errors name the
// variable to fix and never quote a secret.
func loadSettings(getenv func(string) string) (settings, error) {
	s := settings{
		APIURL:          getenv("GITHUB_API_URL"),
		Addr:            getenv("ADDR"),
		DatabaseURL:     getenv("DATABASE_URL"),
		StatePath:       getenv("STATE_PATH"),
		Workers:         4,
		ShutdownTimeout: 25 * time.Second,
	}
	var problems []string
	secret := getenv("GITHUB_WEBHOOK_SECRET")
	if secret == "" {
		problems = append(problems, "GITHUB_WEBHOOK_SECRET is not set: without it anyone could post deliveries, so the bot does not start")
	}
	s.WebhookSecret = []byte(secret)
	id, err := strconv.ParseInt(strings.TrimSpace(getenv("GITHUB_APP_ID")), 10, 64)
	if err != nil || id <= 0 {
		problems = append(problems, "GITHUB_APP_ID must be the App's numeric id (the App's settings page shows it)")
	}
	s.AppID = id
	switch key, path := getenv("GITHUB_PRIVATE_KEY"), getenv("GITHUB_PRIVATE_KEY_PATH"); {
	case key != "":
		// A PEM pasted into a one-line variable often has its newlines escaped.
		if !strings.Contains(key, "\n") {
			key = strings.ReplaceAll(key, `\n`, "\n")
		}
		s.PrivateKey = []byte(key)
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("GITHUB_PRIVATE_KEY_PATH: %v", err))
		}
		s.PrivateKey = b
	default:
		problems = append(problems, "GITHUB_PRIVATE_KEY (the PEM) or GITHUB_PRIVATE_KEY_PATH (a file holding it) is required")
	}
	if s.Addr == "" {
		s.Addr = ":8080"
		if port := getenv("PORT"); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
				problems = append(problems, fmt.Sprintf("PORT=%q is not a port number", port))
			} else {
				s.Addr = ":" + port
			}
		}
	}
	if s.DatabaseURL == "" && s.StatePath == "" {
		s.StatePath = store.DefaultStatePath
	}
	if v := getenv("BOT_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			problems = append(problems, fmt.Sprintf("BOT_WORKERS=%q must be a number from 1 to 256", v))
		}
		s.Workers = n
	}
	if v := getenv("BOT_LOG_LEVEL"); v != "" {
		if err := s.LogLevel.UnmarshalText([]byte(v)); err != nil {
			problems = append(problems, fmt.Sprintf("BOT_LOG_LEVEL=%q must be debug, info, warn or error", v))
		}
	}
	if v := getenv("BOT_ALLOW_PRIVATE_HEALTH"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("BOT_ALLOW_PRIVATE_HEALTH=%q must be true or false", v))
		}
		s.AllowPrivate = b
	}
	if v := getenv("BOT_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("BOT_SHUTDOWN_TIMEOUT=%q must be a duration such as 25s", v))
		}
		s.ShutdownTimeout = d
	}
	if len(problems) > 0 {
		return s, errors.New(strings.Join(problems, "\n"))
	}
	return s, nil
}

// run is the whole program; it returns the exit code.
func run(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	s, err := loadSettings(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "deploy-bot: not starting:\n%s\n", err)
		return exitConfig
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: s.LogLevel}))
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	st, err := store.Open(ctx, s.DatabaseURL, s.StatePath)
	if err != nil {
		log.Error("open the store", "err", err)
		return exitFailed
	}
	defer st.Close()
	opts := bot.Options{
		WebhookSecret: s.WebhookSecret, AppID: s.AppID, PrivateKey: s.PrivateKey, APIURL: s.APIURL,
		Store: st, Workers: s.Workers, Logger: log, AllowPrivateHealthURLs: s.AllowPrivate,
	}
	if s.DatabaseURL != "" {
		opts.StaleAfter = 5 * time.Minute // replicas: take over only what a dead one left
	}
	b, err := bot.New(opts)
	if err != nil {
		log.Error("configure the bot", "err", err)
		return exitConfig
	}
	if err := b.Start(ctx); err != nil {
		log.Error("start the bot", "err", err)
		return exitFailed
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		log.Error("listen", "addr", s.Addr, "err", err)
		b.Drain(context.Background())
		return exitFailed
	}
	srv := &http.Server{
		Handler:           b.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	backend := "sqlite"
	if s.DatabaseURL != "" {
		backend = "postgres"
	}
	log.Info("listening", "addr", ln.Addr().String(), "store", backend, "workers", s.Workers)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	code := exitOK
	select {
	case <-ctx.Done():
		log.Info("shutting down: no new deliveries, finishing the work in flight", "timeout", s.ShutdownTimeout)
	case err := <-served:
		log.Error("serve", "err", err)
		code = exitFailed
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("close the HTTP server", "err", err)
	}
	if err := b.Drain(sctx); err != nil {
		log.Warn("work still in flight at the deadline stays in the store for the next start", "err", err)
	}
	log.Info("stopped")
	return code
}
