package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// DefaultStatePath is the SQLite file Open uses when it is given no path.
const DefaultStatePath = "./deploy-bot.db"

// Open opens the bot's store and applies its pending schema migrations. A
// databaseURL with the scheme postgres:// or postgresql:// selects
// PostgreSQL (OpenPostgres); an empty one selects the SQLite file at
// statePath (OpenSQLite; DefaultStatePath when empty). Any other
// databaseURL is an error rather than a silent fallback to a local file:
// replicas that each used their own file would each deploy.
func Open(ctx context.Context, databaseURL, statePath string) (Store, error) {
	if databaseURL == "" {
		return OpenSQLite(ctx, statePath)
	}
	scheme, _, ok := strings.Cut(databaseURL, "://")
	switch scheme = strings.ToLower(scheme); {
	case ok && (scheme == "postgres" || scheme == "postgresql"):
		return OpenPostgres(ctx, scheme+databaseURL[len(scheme):]) // pgx wants the scheme in lower case
	case ok:
		// Name the scheme only: the rest of the URL may hold a password.
		return nil, fmt.Errorf("store: database URL scheme %q is not supported: use postgres:// or postgresql://, or no URL for the SQLite file", scheme)
	default:
		return nil, fmt.Errorf("store: database URL is not a postgres:// URL: use postgres:// or postgresql://, or no URL for the SQLite file")
	}
}

//go:embed migrations
var migrationFS embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the steps under migrations/<dialect>, numbered 1..n
// without gaps (file names start with the number: 0001_init.sql).
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", dialect, err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s/%s: name must be NNNN_name.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration %s/%s: want number %d (no gaps, no repeats)", dir, e.Name(), len(ms)+1)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return ms, nil
}

// Helpers shared by both implementations.

// now is the store's clock: UTC, microseconds (PostgreSQL's precision).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// checkState reports an error unless s is one of the job states.
func checkState(s JobState) error {
	switch s {
	case JobQueued, JobWaiting, JobRunning, JobDone, JobFailed:
		return nil
	}
	return fmt.Errorf("store: invalid job state %q", s)
}

// newJob returns the copy of j that Enqueue stores.
func newJob(j *Job) (*Job, error) {
	if j == nil {
		return nil, fmt.Errorf("store: enqueue: nil job")
	}
	c := *j
	c.ID = 0
	if c.State == "" {
		c.State = JobQueued
	}
	if err := checkState(c.State); err != nil {
		return nil, err
	}
	c.Args = cloneArgs(c.Args)
	c.CreatedAt = now()
	c.UpdatedAt = c.CreatedAt
	return &c, nil
}

// cloneArgs copies args, mapping an empty list to nil so both stores agree.
func cloneArgs(args []string) []string {
	if len(args) == 0 {
		return nil
	}
	return append([]string(nil), args...)
}

// nullable maps "" to NULL (a nil interface), for delivery ids.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
