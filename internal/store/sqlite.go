package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// SQLite is the Store kept in one SQLite file, for a single bot process.
//
// Durability: the file is in WAL mode with synchronous=FULL, so every
// commit (an Enqueue, a Claim) is fsynced to the WAL before the call
// returns and survives a power loss, not only a crash of the process
// (synchronous=NORMAL would only survive the latter: GitHub does not
// redeliver a webhook the bot acknowledged with 202).
//
// Writes go through one connection, so they queue in Go rather than in
// SQLite's busy handler, which sleeps and would stretch tail latency;
// reads use a pool of read-only connections, which WAL lets run beside the
// writer. Every write transaction starts with BEGIN IMMEDIATE. Concurrent
// Enqueues share one transaction and one fsync (group commit), which is
// what lets a single file keep up with bursts of webhooks.
//
// Another process may open the same file (busy_timeout waits up to 5 s for
// its lock), but replicas should share PostgreSQL instead.
type SQLite struct {
	path  string
	write *sql.DB // one connection; BEGIN IMMEDIATE
	read  *sql.DB // read-only (query_only) connections

	enqueues    chan *enqueueReq // to the group-commit goroutine
	closed      chan struct{}    // closed by Close
	closeOnce   sync.Once
	batcherDone chan struct{} // closed when the goroutine has returned
}

var _ Store = (*SQLite)(nil)

// sqliteReaders is the size of the read pool.
const sqliteReaders = 4

// OpenSQLite opens (creating it and its directory when missing) the SQLite
// store at path (DefaultStatePath when empty) and migrates its schema.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if path == "" {
		path = DefaultStatePath
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create directory of %s: %w", path, err)
		}
	}
	// The file name is a URI path: escape what SQLite would read as the
	// query or fragment.
	name := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	common := "_pragma=busy_timeout(5000)"
	write, err := sql.Open("sqlite", "file:"+name+"?"+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	s := &SQLite{path: path, write: write}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	s.read, err = sql.Open("sqlite", "file:"+name+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.read.SetMaxOpenConns(sqliteReaders)
	s.read.SetMaxIdleConns(sqliteReaders)
	s.enqueues = make(chan *enqueueReq)
	s.closed = make(chan struct{})
	s.batcherDone = make(chan struct{})
	go s.commitEnqueues()
	return s, nil
}

// migrate applies the pending migrations, one transaction each, keeping the
// schema version in PRAGMA user_version. It is idempotent and safe against
// another process migrating the same file at the same time.
func (s *SQLite) migrate(ctx context.Context) error {
	ms, err := migrations("sqlite")
	if err != nil {
		return err
	}
	for {
		done, err := s.migrateOne(ctx, ms)
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
		if done {
			return nil
		}
	}
}

// migrateOne applies the next pending migration and reports whether none
// was left.
func (s *SQLite) migrateOne(ctx context.Context, ms []migration) (done bool, err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return false, err
	}
	if v > len(ms) {
		return false, fmt.Errorf("schema version %d is newer than this program's %d: run a newer bot", v, len(ms))
	}
	if v == len(ms) {
		return true, nil
	}
	m := ms[v]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("%s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
		return false, fmt.Errorf("%s: %w", m.name, err)
	}
	return false, tx.Commit()
}

// Close waits for the Enqueue commit in progress, then closes the file.
// Calls after Close fail.
func (s *SQLite) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	<-s.batcherDone
	return errors.Join(s.read.Close(), s.write.Close())
}

const sqliteJobCols = `id, coalesce(delivery_id, ''), installation, owner, repo, pr, comment_id,
	sender, command, args, environment, app, sha, state, attempts, worker, result, run_id,
	created_at, updated_at`

// scanSQLiteJob reads one row of sqliteJobCols.
func scanSQLiteJob(row interface{ Scan(...any) error }) (*Job, error) {
	var (
		j                Job
		args             string
		created, updated int64
	)
	err := row.Scan(&j.ID, &j.DeliveryID, &j.Installation, &j.Owner, &j.Repo, &j.PR, &j.CommentID,
		&j.Sender, &j.Command, &args, &j.Environment, &j.App, &j.SHA, &j.State, &j.Attempts, &j.Worker,
		&j.Result, &j.RunID, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(args), &j.Args); err != nil {
		return nil, fmt.Errorf("job %d: args: %w", j.ID, err)
	}
	j.Args = cloneArgs(j.Args)
	j.CreatedAt = time.UnixMicro(created).UTC()
	j.UpdatedAt = time.UnixMicro(updated).UTC()
	return &j, nil
}

// queryJobs runs a query returning sqliteJobCols rows on the read pool.
func (s *SQLite) queryJobs(ctx context.Context, query string, args ...any) ([]*Job, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []*Job
	for rows.Next() {
		j, err := scanSQLiteJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// queryJob is queryJobs for at most one row; it returns nil, nil for none.
func (s *SQLite) queryJob(ctx context.Context, query string, args ...any) (*Job, error) {
	jobs, err := s.queryJobs(ctx, query, args...)
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	return jobs[0], nil
}

// Enqueue records j; see Store.
//
// Concurrent calls share commits (group commit): a single goroutine takes
// every Enqueue waiting at that moment and inserts them in one transaction,
// so one fsync acknowledges the lot. A lone call is a transaction of one.
// If the transaction fails, every call in it fails.
func (s *SQLite) Enqueue(ctx context.Context, j *Job) (*Job, error) {
	c, err := newJob(j)
	if err != nil {
		return nil, err
	}
	req := &enqueueReq{job: c, done: make(chan error, 1)}
	if req.args, err = json.Marshal(c.Args); err != nil {
		return nil, fmt.Errorf("store: enqueue: args: %w", err)
	}
	if c.Args == nil {
		req.args = []byte("[]")
	}
	select {
	case s.enqueues <- req:
	case <-s.closed:
		return nil, errClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("store: enqueue delivery %s: %w", c.DeliveryID, ctx.Err())
	}
	select {
	case err = <-req.done:
	case <-ctx.Done():
		// The job may still be committed; a redelivery will then be a
		// duplicate, which the bot acknowledges.
		return nil, fmt.Errorf("store: enqueue delivery %s: %w", c.DeliveryID, ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// errClosed is returned by calls on a closed store.
var errClosed = errors.New("store: closed")

// enqueueReq is one Enqueue waiting for its commit.
type enqueueReq struct {
	job  *Job // ID is set on success
	args []byte
	dup  bool       // set by insertJobs: the delivery was already recorded
	done chan error // receives exactly once
}

// maxEnqueueBatch bounds the jobs committed together.
const maxEnqueueBatch = 128

// commitEnqueues is the goroutine that owns Enqueue's inserts: it commits
// the requests waiting at each moment as one transaction, until Close.
func (s *SQLite) commitEnqueues() {
	defer close(s.batcherDone)
	batch := make([]*enqueueReq, 0, maxEnqueueBatch)
	for {
		select {
		case req := <-s.enqueues:
			batch = append(batch[:0], req)
		case <-s.closed:
			return
		}
	drain:
		for len(batch) < maxEnqueueBatch {
			select {
			case req := <-s.enqueues:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		err := s.insertJobs(batch)
		for _, req := range batch {
			switch {
			case err != nil:
				req.done <- err
			case req.dup:
				req.done <- ErrDuplicate
			default:
				req.done <- nil
			}
		}
	}
}

// insertJobs inserts the batch's jobs in one transaction, setting each
// job's ID, or dup for a delivery already recorded. Callers hear of a
// duplicate only after the commit, when its original is durable.
func (s *SQLite) insertJobs(batch []*enqueueReq) (err error) {
	// The transaction serves several callers: none of their contexts may
	// cancel it for the others.
	ctx := context.Background()
	defer func() {
		if err != nil {
			err = fmt.Errorf("store: enqueue: %w", err)
		}
	}()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO jobs (delivery_id, installation, owner, repo, pr,
		comment_id, sender, command, args, environment, app, sha, state, attempts, worker, result,
		run_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (delivery_id) DO NOTHING RETURNING id`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, req := range batch {
		c := req.job
		err := stmt.QueryRowContext(ctx, nullable(c.DeliveryID), c.Installation, c.Owner, c.Repo, c.PR,
			c.CommentID, c.Sender, c.Command, string(req.args), c.Environment, c.App, c.SHA, c.State,
			c.Attempts, c.Worker, c.Result, c.RunID, c.CreatedAt.UnixMicro(), c.UpdatedAt.UnixMicro()).Scan(&c.ID)
		req.dup = errors.Is(err, sql.ErrNoRows)
		if err != nil && !req.dup {
			return fmt.Errorf("delivery %s: %w", c.DeliveryID, err)
		}
	}
	return tx.Commit()
}

// Claim takes the oldest queued job; see Store.
func (s *SQLite) Claim(ctx context.Context, worker string) (*Job, error) {
	tx, err := s.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock first
	if err != nil {
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	defer tx.Rollback()
	j, err := scanSQLiteJob(tx.QueryRowContext(ctx, `UPDATE jobs
		SET state = 'running', worker = ?, attempts = attempts + 1, updated_at = ?
		WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1)
		RETURNING `+sqliteJobCols, worker, now().UnixMicro()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	return j, nil
}

// Update saves j; see Store.
func (s *SQLite) Update(ctx context.Context, j *Job) error {
	if err := checkState(j.State); err != nil {
		return err
	}
	at := now()
	res, err := s.write.ExecContext(ctx, `UPDATE jobs SET state = ?, attempts = ?, result = ?,
		run_id = ?, environment = ?, app = ?, sha = ?, updated_at = ? WHERE id = ?`,
		j.State, j.Attempts, j.Result, j.RunID, j.Environment, j.App, j.SHA, at.UnixMicro(), j.ID)
	if err != nil {
		return fmt.Errorf("store: update job %d: %w", j.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: update job %d: %w", j.ID, err)
	} else if n == 0 {
		return fmt.Errorf("store: update job %d: %w", j.ID, ErrNotFound)
	}
	j.UpdatedAt = at
	return nil
}

// Get returns job id; see Store.
func (s *SQLite) Get(ctx context.Context, id int64) (*Job, error) {
	j, err := s.queryJob(ctx, `SELECT `+sqliteJobCols+` FROM jobs WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("store: get job %d: %w", id, err)
	}
	if j == nil {
		return nil, fmt.Errorf("store: get job %d: %w", id, ErrNotFound)
	}
	return j, nil
}

// Unfinished lists queued, waiting and running jobs; see Store.
func (s *SQLite) Unfinished(ctx context.Context) ([]*Job, error) {
	jobs, err := s.queryJobs(ctx, `SELECT `+sqliteJobCols+` FROM jobs
		WHERE state IN ('queued', 'waiting', 'running') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished jobs: %w", err)
	}
	return jobs, nil
}

// FindByRun returns the job of a workflow run; see Store.
func (s *SQLite) FindByRun(ctx context.Context, runID int64) (*Job, error) {
	if runID == 0 {
		return nil, fmt.Errorf("store: find run 0: %w", ErrNotFound)
	}
	j, err := s.queryJob(ctx, `SELECT `+sqliteJobCols+` FROM jobs WHERE run_id = ? ORDER BY id DESC LIMIT 1`, runID)
	if err != nil {
		return nil, fmt.Errorf("store: find run %d: %w", runID, err)
	}
	if j == nil {
		return nil, fmt.Errorf("store: find run %d: %w", runID, ErrNotFound)
	}
	return j, nil
}

// Recent lists a repository's last n jobs; see Store.
func (s *SQLite) Recent(ctx context.Context, owner, repo string, n int) ([]*Job, error) {
	if n <= 0 {
		return nil, nil
	}
	jobs, err := s.queryJobs(ctx, `SELECT `+sqliteJobCols+` FROM jobs
		WHERE owner = ? AND repo = ? ORDER BY id DESC LIMIT ?`, owner, repo, n)
	if err != nil {
		return nil, fmt.Errorf("store: recent jobs of %s/%s: %w", owner, repo, err)
	}
	return jobs, nil
}

// LockApp takes app's deploy lock for job; see Store.
func (s *SQLite) LockApp(ctx context.Context, app string, job int64) (bool, error) {
	var holder int64
	err := s.write.QueryRowContext(ctx, `INSERT INTO app_locks AS l (app, job_id, locked_at)
		VALUES (?1, ?2, ?3)
		ON CONFLICT (app) DO UPDATE SET job_id = excluded.job_id,
			locked_at = CASE WHEN l.job_id = excluded.job_id THEN l.locked_at ELSE excluded.locked_at END
		WHERE l.job_id = excluded.job_id
			OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = l.job_id AND j.state IN ('queued', 'waiting', 'running'))
		RETURNING job_id`, app, job, now().UnixMicro()).Scan(&holder)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: lock app %s for job %d: %w", app, job, err)
	}
	return true, nil
}

// UnlockApp releases app's lock if job holds it; see Store.
func (s *SQLite) UnlockApp(ctx context.Context, app string, job int64) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM app_locks WHERE app = ? AND job_id = ?`, app, job); err != nil {
		return fmt.Errorf("store: unlock app %s for job %d: %w", app, job, err)
	}
	return nil
}

// NextWaiting returns app's oldest waiting job; see Store.
func (s *SQLite) NextWaiting(ctx context.Context, app string) (*Job, error) {
	j, err := s.queryJob(ctx, `SELECT `+sqliteJobCols+` FROM jobs
		WHERE app = ? AND state = 'waiting' ORDER BY id LIMIT 1`, app)
	if err != nil {
		return nil, fmt.Errorf("store: next waiting job of %s: %w", app, err)
	}
	return j, nil
}

// StickyComment returns the sticky comment's id; see Store.
func (s *SQLite) StickyComment(ctx context.Context, owner, repo string, pr int, env string) (int64, error) {
	var id int64
	err := s.read.QueryRowContext(ctx, `SELECT comment_id FROM sticky_comments
		WHERE owner = ? AND repo = ? AND pr = ? AND environment = ?`, owner, repo, pr, env).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: sticky comment of %s/%s#%d %s: %w", owner, repo, pr, env, err)
	}
	return id, nil
}

// SetStickyComment records the sticky comment's id; see Store.
func (s *SQLite) SetStickyComment(ctx context.Context, owner, repo string, pr int, env string, commentID int64) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO sticky_comments
		(owner, repo, pr, environment, comment_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (owner, repo, pr, environment) DO UPDATE
		SET comment_id = excluded.comment_id, updated_at = excluded.updated_at`,
		owner, repo, pr, env, commentID, now().UnixMicro())
	if err != nil {
		return fmt.Errorf("store: set sticky comment of %s/%s#%d %s: %w", owner, repo, pr, env, err)
	}
	return nil
}

// Audit appends e to the audit trail; see Store.
func (s *SQLite) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = now()
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO audit (at, job_id, actor, repo, pr, action, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.At.UnixMicro(), e.JobID, e.Actor, e.Repo, e.PR, e.Action, e.Detail)
	if err != nil {
		return fmt.Errorf("store: audit %s on %s: %w", e.Action, e.Repo, err)
	}
	return nil
}

// AuditLog returns a repository's last n audit entries; see Store.
func (s *SQLite) AuditLog(ctx context.Context, owner, repo string, n int) ([]AuditEntry, error) {
	if n <= 0 {
		return nil, nil
	}
	full := owner + "/" + repo
	rows, err := s.read.QueryContext(ctx, `SELECT at, job_id, actor, repo, pr, action, detail
		FROM audit WHERE repo = ? ORDER BY id DESC LIMIT ?`, full, n)
	if err != nil {
		return nil, fmt.Errorf("store: audit log of %s: %w", full, err)
	}
	defer rows.Close()
	var log []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.JobID, &e.Actor, &e.Repo, &e.PR, &e.Action, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: audit log of %s: %w", full, err)
		}
		e.At = time.UnixMicro(at).UTC()
		log = append(log, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit log of %s: %w", full, err)
	}
	return log, nil
}
