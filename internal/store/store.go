// Package store is the bot's durable state: accepted webhook deliveries
// (de-duplicated), the command queue, per-app deploy locks, the sticky
// comment of each pull request and environment, and an audit trail of who
// asked for what. Two implementations share one test suite: SQLite (a file,
// the default) and PostgreSQL (several bot replicas sharing one database).
package store

import (
	"context"
	"errors"
	"time"
)

// ErrDuplicate is returned by Enqueue when the delivery id was seen before.
var ErrDuplicate = errors.New("store: duplicate delivery")

// ErrNotFound is returned when a job or comment does not exist.
var ErrNotFound = errors.New("store: not found")

// JobState is where a job is in its life.
type JobState string

// The job states. A job moves queued → running → (done | failed); a job
// waiting for its app's lock is "waiting" (queued behind another deploy).
const (
	JobQueued  JobState = "queued"
	JobWaiting JobState = "waiting"
	JobRunning JobState = "running"
	JobDone    JobState = "done"
	JobFailed  JobState = "failed"
)

// Job is one accepted command.
type Job struct {
	ID           int64
	DeliveryID   string // X-GitHub-Delivery of the webhook that carried it
	Installation int64
	Owner        string
	Repo         string
	PR           int
	CommentID    int64
	Sender       string
	Command      string // deploy, rollback, secrets, status, health, help
	Args         []string
	Environment  string
	App          string // the Fly app the command acts on ("" when none)
	SHA          string // PR head SHA pinned at comment time
	State        JobState
	Attempts     int    // times the job was claimed; Claim adds one
	Worker       string // the worker that last claimed the job ("" until claimed)
	Result       string // short outcome text or JSON
	RunID        int64  // the dispatched workflow run, once known
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AuditEntry is one line of the audit trail.
type AuditEntry struct {
	At     time.Time
	JobID  int64
	Actor  string
	Repo   string // owner/repo
	PR     int
	Action string // e.g. "accepted", "refused: permission read", "dispatched", "completed: success"
	Detail string
}

// Store is the bot's durable state. Every method is safe for concurrent use
// by several goroutines and, for PostgreSQL, several processes.
type Store interface {
	// Enqueue records the job and its delivery id atomically (the delivery
	// is the de-duplication key) and returns the job with its ID. It returns
	// ErrDuplicate when the delivery id was already accepted. An empty
	// DeliveryID is not de-duplicated. An empty State means JobQueued;
	// CreatedAt and UpdatedAt are stamped, j itself is not modified. The
	// job is durable when Enqueue returns: acknowledge the webhook after it.
	Enqueue(ctx context.Context, j *Job) (*Job, error)
	// Claim takes the oldest queued job no other worker holds and marks it
	// running (FOR UPDATE SKIP LOCKED on PostgreSQL), or returns nil, nil
	// when there is none. It records worker and adds one to Attempts.
	Claim(ctx context.Context, worker string) (*Job, error)
	// Update saves a job's state, result, run id and attempts (and its
	// Environment, App, SHA, which the bot may resolve after accepting it),
	// stamps j.UpdatedAt, and returns ErrNotFound for an unknown id.
	Update(ctx context.Context, j *Job) error
	// Get returns a job by id.
	Get(ctx context.Context, id int64) (*Job, error)
	// Unfinished returns jobs left running, queued or waiting (e.g. after a
	// crash), oldest first.
	Unfinished(ctx context.Context) ([]*Job, error)
	// FindByRun returns the job whose dispatched workflow run is runID.
	FindByRun(ctx context.Context, runID int64) (*Job, error)
	// Recent returns the last n jobs of a repository, newest first.
	Recent(ctx context.Context, owner, repo string, n int) ([]*Job, error)
	// LockApp takes the deploy lock of app for job, or reports false when
	// another job holds it. Taking a lock the job already holds reports
	// true; a lock whose job has finished (done, failed) is free again, so a
	// crash between finishing a job and unlocking does not wedge the app.
	// UnlockApp releases it if job holds it.
	LockApp(ctx context.Context, app string, job int64) (bool, error)
	UnlockApp(ctx context.Context, app string, job int64) error
	// NextWaiting returns the oldest waiting job for app, or nil.
	NextWaiting(ctx context.Context, app string) (*Job, error)
	// StickyComment returns the id of the bot's comment for a PR and
	// environment (0 when none); SetStickyComment records it.
	StickyComment(ctx context.Context, owner, repo string, pr int, env string) (int64, error)
	SetStickyComment(ctx context.Context, owner, repo string, pr int, env string, commentID int64) error
	// Audit appends to the audit trail (a zero At is stamped with the
	// current time); AuditLog reads a repository's last n entries, newest
	// first.
	Audit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, owner, repo string, n int) ([]AuditEntry, error)
	// Close releases the store's resources.
	Close() error
}
