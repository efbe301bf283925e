package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the Store kept in PostgreSQL, shared by several bot replicas.
// Its tables are named deploybot_* in the connection's current schema (set
// search_path in the URL to use another schema).
//
// Queue: Claim is one UPDATE whose subquery picks the oldest queued row
// with FOR UPDATE SKIP LOCKED, so replicas never claim the same job and
// never wait on each other. De-duplication is a unique delivery id and
// INSERT … ON CONFLICT DO NOTHING.
//
// App locks are rows of deploybot_app_locks naming the holding job, not
// pg_try_advisory_lock: an advisory lock belongs to one database session,
// while a deploy outlives any single pooled connection and even the bot
// process that dispatched it (the workflow keeps running on GitHub). A row
// survives restarts; a lock whose job has finished is taken over, so a
// crash between finishing and unlocking does not wedge an app. Advisory
// locks are used only where a session-scoped lock is right: a transaction
// lock serialises concurrent schema migrations.
//
// Durability: Enqueue is one autocommitted INSERT, durable on return while
// synchronous_commit is on; each connection turns it back on when the
// server's default is off.
type Postgres struct {
	pool *pgxpool.Pool
}

var _ Store = (*Postgres)(nil)

// OpenPostgres connects to the database at url (a postgres:// URL; pgxpool
// options such as pool_max_conns are honoured) and migrates its schema.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors never echo the password.
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") && cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		var sc string
		if err := c.QueryRow(ctx, "SHOW synchronous_commit").Scan(&sc); err != nil {
			return err
		}
		if sc == "off" {
			_, err := c.Exec(ctx, "SET synchronous_commit = on")
			return err
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	s := &Postgres{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the pending migrations in one transaction, under a
// transaction-scoped advisory lock so that replicas starting together
// migrate once. It is idempotent.
func (s *Postgres) migrate(ctx context.Context) error {
	ms, err := migrations("postgres")
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('deploybot:migrate:' || current_schema(), 0))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS deploybot_schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM deploybot_schema_migrations`).Scan(&v); err != nil {
			return err
		}
		if v > len(ms) {
			return fmt.Errorf("schema version %d is newer than this program's %d: run a newer bot", v, len(ms))
		}
		for _, m := range ms[v:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO deploybot_schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: postgres: migrate: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Postgres) Close() error {
	s.pool.Close()
	return nil
}

const pgJobCols = `id, coalesce(delivery_id, ''), installation, owner, repo, pr, comment_id,
	sender, command, args, environment, app, sha, state, attempts, worker, result, run_id,
	created_at, updated_at`

// scanPgJob reads one row of pgJobCols.
func scanPgJob(row pgx.Row) (*Job, error) {
	var j Job
	err := row.Scan(&j.ID, &j.DeliveryID, &j.Installation, &j.Owner, &j.Repo, &j.PR, &j.CommentID,
		&j.Sender, &j.Command, &j.Args, &j.Environment, &j.App, &j.SHA, &j.State, &j.Attempts, &j.Worker,
		&j.Result, &j.RunID, &j.CreatedAt, &j.UpdatedAt)
	if err != nil {
		return nil, err
	}
	j.Args = cloneArgs(j.Args)
	j.CreatedAt = j.CreatedAt.UTC()
	j.UpdatedAt = j.UpdatedAt.UTC()
	return &j, nil
}

// queryJobs runs a query returning pgJobCols rows.
func (s *Postgres) queryJobs(ctx context.Context, query string, args ...any) ([]*Job, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Job, error) { return scanPgJob(r) })
}

// queryJob runs a query returning at most one pgJobCols row; nil, nil for none.
func (s *Postgres) queryJob(ctx context.Context, query string, args ...any) (*Job, error) {
	j, err := scanPgJob(s.pool.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return j, err
}

// Enqueue records j; see Store.
func (s *Postgres) Enqueue(ctx context.Context, j *Job) (*Job, error) {
	c, err := newJob(j)
	if err != nil {
		return nil, err
	}
	args := c.Args
	if args == nil {
		args = []string{}
	}
	err = s.pool.QueryRow(ctx, `INSERT INTO deploybot_jobs (delivery_id, installation, owner, repo, pr,
		comment_id, sender, command, args, environment, app, sha, state, attempts, worker, result,
		run_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		ON CONFLICT (delivery_id) DO NOTHING RETURNING id`,
		nullable(c.DeliveryID), c.Installation, c.Owner, c.Repo, c.PR, c.CommentID, c.Sender,
		c.Command, args, c.Environment, c.App, c.SHA, string(c.State), c.Attempts, c.Worker,
		c.Result, c.RunID, c.CreatedAt, c.UpdatedAt).Scan(&c.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrDuplicate
	}
	if err != nil {
		return nil, fmt.Errorf("store: enqueue delivery %s: %w", c.DeliveryID, err)
	}
	return c, nil
}

// Claim takes the oldest queued job no other worker holds; see Store.
func (s *Postgres) Claim(ctx context.Context, worker string) (*Job, error) {
	j, err := s.queryJob(ctx, `UPDATE deploybot_jobs
		SET state = 'running', worker = $1, attempts = attempts + 1, updated_at = $2
		WHERE id = (SELECT id FROM deploybot_jobs WHERE state = 'queued'
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+pgJobCols, worker, now())
	if err != nil {
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	return j, nil
}

// Update saves j; see Store.
func (s *Postgres) Update(ctx context.Context, j *Job) error {
	if err := checkState(j.State); err != nil {
		return err
	}
	at := now()
	tag, err := s.pool.Exec(ctx, `UPDATE deploybot_jobs SET state = $1, attempts = $2, result = $3,
		run_id = $4, environment = $5, app = $6, sha = $7, updated_at = $8 WHERE id = $9`,
		string(j.State), j.Attempts, j.Result, j.RunID, j.Environment, j.App, j.SHA, at, j.ID)
	if err != nil {
		return fmt.Errorf("store: update job %d: %w", j.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: update job %d: %w", j.ID, ErrNotFound)
	}
	j.UpdatedAt = at
	return nil
}

// Get returns job id; see Store.
func (s *Postgres) Get(ctx context.Context, id int64) (*Job, error) {
	j, err := s.queryJob(ctx, `SELECT `+pgJobCols+` FROM deploybot_jobs WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("store: get job %d: %w", id, err)
	}
	if j == nil {
		return nil, fmt.Errorf("store: get job %d: %w", id, ErrNotFound)
	}
	return j, nil
}

// Unfinished lists queued, waiting and running jobs; see Store.
func (s *Postgres) Unfinished(ctx context.Context) ([]*Job, error) {
	jobs, err := s.queryJobs(ctx, `SELECT `+pgJobCols+` FROM deploybot_jobs
		WHERE state IN ('queued', 'waiting', 'running') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished jobs: %w", err)
	}
	return jobs, nil
}

// FindByRun returns the job of a workflow run; see Store.
func (s *Postgres) FindByRun(ctx context.Context, runID int64) (*Job, error) {
	if runID == 0 {
		return nil, fmt.Errorf("store: find run 0: %w", ErrNotFound)
	}
	j, err := s.queryJob(ctx, `SELECT `+pgJobCols+` FROM deploybot_jobs WHERE run_id = $1 ORDER BY id DESC LIMIT 1`, runID)
	if err != nil {
		return nil, fmt.Errorf("store: find run %d: %w", runID, err)
	}
	if j == nil {
		return nil, fmt.Errorf("store: find run %d: %w", runID, ErrNotFound)
	}
	return j, nil
}

// Recent lists a repository's last n jobs; see Store.
func (s *Postgres) Recent(ctx context.Context, owner, repo string, n int) ([]*Job, error) {
	if n <= 0 {
		return nil, nil
	}
	jobs, err := s.queryJobs(ctx, `SELECT `+pgJobCols+` FROM deploybot_jobs
		WHERE owner = $1 AND repo = $2 ORDER BY id DESC LIMIT $3`, owner, repo, n)
	if err != nil {
		return nil, fmt.Errorf("store: recent jobs of %s/%s: %w", owner, repo, err)
	}
	return jobs, nil
}

// LockApp takes app's deploy lock for job; see Store.
func (s *Postgres) LockApp(ctx context.Context, app string, job int64) (bool, error) {
	var holder int64
	err := s.pool.QueryRow(ctx, `INSERT INTO deploybot_app_locks AS l (app, job_id, locked_at)
		VALUES ($1, $2, $3)
		ON CONFLICT (app) DO UPDATE SET job_id = excluded.job_id,
			locked_at = CASE WHEN l.job_id = excluded.job_id THEN l.locked_at ELSE excluded.locked_at END
		WHERE l.job_id = excluded.job_id
			OR NOT EXISTS (SELECT 1 FROM deploybot_jobs j
				WHERE j.id = l.job_id AND j.state IN ('queued', 'waiting', 'running'))
		RETURNING job_id`, app, job, now()).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: lock app %s for job %d: %w", app, job, err)
	}
	return true, nil
}

// UnlockApp releases app's lock if job holds it; see Store.
func (s *Postgres) UnlockApp(ctx context.Context, app string, job int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM deploybot_app_locks WHERE app = $1 AND job_id = $2`, app, job); err != nil {
		return fmt.Errorf("store: unlock app %s for job %d: %w", app, job, err)
	}
	return nil
}

// NextWaiting returns app's oldest waiting job; see Store.
func (s *Postgres) NextWaiting(ctx context.Context, app string) (*Job, error) {
	j, err := s.queryJob(ctx, `SELECT `+pgJobCols+` FROM deploybot_jobs
		WHERE app = $1 AND state = 'waiting' ORDER BY id LIMIT 1`, app)
	if err != nil {
		return nil, fmt.Errorf("store: next waiting job of %s: %w", app, err)
	}
	return j, nil
}

// StickyComment returns the sticky comment's id; see Store.
func (s *Postgres) StickyComment(ctx context.Context, owner, repo string, pr int, env string) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT comment_id FROM deploybot_sticky_comments
		WHERE owner = $1 AND repo = $2 AND pr = $3 AND environment = $4`, owner, repo, pr, env).Scan(&id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("store: sticky comment of %s/%s#%d %s: %w", owner, repo, pr, env, err)
	}
	return id, nil
}

// SetStickyComment records the sticky comment's id; see Store.
func (s *Postgres) SetStickyComment(ctx context.Context, owner, repo string, pr int, env string, commentID int64) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO deploybot_sticky_comments
		(owner, repo, pr, environment, comment_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (owner, repo, pr, environment) DO UPDATE
		SET comment_id = excluded.comment_id, updated_at = excluded.updated_at`,
		owner, repo, pr, env, commentID, now())
	if err != nil {
		return fmt.Errorf("store: set sticky comment of %s/%s#%d %s: %w", owner, repo, pr, env, err)
	}
	return nil
}

// Audit appends e to the audit trail; see Store.
func (s *Postgres) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO deploybot_audit (at, job_id, actor, repo, pr, action, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.At, e.JobID, e.Actor, e.Repo, e.PR, e.Action, e.Detail)
	if err != nil {
		return fmt.Errorf("store: audit %s on %s: %w", e.Action, e.Repo, err)
	}
	return nil
}

// AuditLog returns a repository's last n audit entries; see Store.
func (s *Postgres) AuditLog(ctx context.Context, owner, repo string, n int) ([]AuditEntry, error) {
	if n <= 0 {
		return nil, nil
	}
	full := owner + "/" + repo
	rows, err := s.pool.Query(ctx, `SELECT at, job_id, actor, repo, pr, action, detail
		FROM deploybot_audit WHERE repo = $1 ORDER BY id DESC LIMIT $2`, full, n)
	if err != nil {
		return nil, fmt.Errorf("store: audit log of %s: %w", full, err)
	}
	log, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.At, &e.JobID, &e.Actor, &e.Repo, &e.PR, &e.Action, &e.Detail)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: audit log of %s: %w", full, err)
	}
	return log, nil
}
