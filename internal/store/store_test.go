package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/grupo-gad/deploy-action/internal/store"
	"github.com/grupo-gad/deploy-action/internal/store/storetest"
)

// newSQLite makes a fresh SQLite file in the test's temporary directory.
func newSQLite(tb testing.TB) (string, string) {
	return "", filepath.Join(tb.TempDir(), "state", "deploy-bot.db")
}

func TestSQLite(t *testing.T) { storetest.Run(t, newSQLite) }

func TestPostgres(t *testing.T) {
	postgresURL(t) // skip (or fail under CI) once, not in every subtest
	storetest.Run(t, newPostgres)
}

func BenchmarkEnqueue(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { storetest.BenchmarkEnqueue(b, newSQLite) })
	b.Run("postgres", func(b *testing.B) {
		postgresURL(b)
		storetest.BenchmarkEnqueue(b, newPostgres)
	})
}

// The PostgreSQL half runs against STORE_TEST_DATABASE_URL, by default the
// local server (trust auth) and its database "test", created when missing.
// Each store gets a schema of its own, dropped when its test ends.
const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&connect_timeout=3"

var (
	pgOnce sync.Once
	pgBase string // the reachable base URL, "" when unreachable
	pgErr  error
)

// postgresURL returns the base URL of the test server. It skips tb when the
// server is unreachable, except under CI=true, where that fails tb: CI
// must run the PostgreSQL half.
func postgresURL(tb testing.TB) string {
	tb.Helper()
	pgOnce.Do(func() {
		base := os.Getenv("STORE_TEST_DATABASE_URL")
		if base == "" {
			base = defaultPostgresURL
		}
		pgErr = ensureDatabase(base)
		if pgErr == nil {
			pgBase = base
		}
	})
	if pgErr != nil {
		msg := fmt.Sprintf("PostgreSQL is unreachable (%v); set STORE_TEST_DATABASE_URL or start the local server: "+
			"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", pgErr)
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg + " (CI=true: the PostgreSQL half must run)")
		}
		tb.Skip(msg)
	}
	return pgBase
}

// ensureDatabase connects to base, creating its database through the
// server's "postgres" database when it does not exist yet.
func ensureDatabase(base string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		cfg, perr := pgx.ParseConfig(base)
		if perr != nil {
			return perr
		}
		name := cfg.Database
		cfg.Database = "postgres"
		admin, aerr := pgx.ConnectConfig(ctx, cfg)
		if aerr != nil {
			return aerr
		}
		_, aerr = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		admin.Close(ctx)
		if aerr != nil {
			return aerr
		}
		conn, err = pgx.Connect(ctx, base)
	}
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// newPostgres makes a fresh schema on the test server and returns a URL
// whose search_path selects it.
func newPostgres(tb testing.TB) (string, string) {
	tb.Helper()
	base := postgresURL(tb)
	var b [4]byte
	rand.Read(b[:])
	schema := fmt.Sprintf("storetest_%d_%s", os.Getpid(), hex.EncodeToString(b[:]))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), ""
}

func TestOpenSelectsBackend(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, "", filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*store.SQLite); !ok {
		t.Errorf("Open with no URL = %T, want *store.SQLite", s)
	}
	s.Close()

	for _, bad := range []string{
		"postgresql+asyncpg://app:hunter2@db:5432/app", // the app's own URL, not the bot's
		"mysql://root:hunter2@localhost/bot",
		"hunter2",
	} {
		_, err := store.Open(ctx, bad, filepath.Join(t.TempDir(), "b.db"))
		if err == nil {
			t.Errorf("Open(%q) succeeded, want an error", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) error leaks the password: %v", bad, err)
		}
	}

	for _, scheme := range []string{"postgres", "postgresql", "POSTGRES"} {
		t.Run(scheme, func(t *testing.T) {
			u, _ := newPostgres(t)
			u = scheme + strings.TrimPrefix(u, "postgres")
			s, err := store.Open(ctx, u, "ignored.db")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, ok := s.(*store.Postgres); !ok {
				t.Errorf("Open(%s://…) = %T, want *store.Postgres", scheme, s)
			}
		})
	}
}

func TestOpenDefaultStatePath(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := store.Open(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(store.DefaultStatePath); err != nil {
		t.Errorf("Open with no path did not create %s: %v", store.DefaultStatePath, err)
	}
}

func TestSQLiteFile(t *testing.T) {
	// The file sits at its literal path even when the name holds URI
	// characters, is in WAL mode (a property of the file) and carries the
	// schema version. Per-connection pragmas: TestSQLitePragmas.
	path := filepath.Join(t.TempDir(), "odd ?#% name.db")
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the file is not at its literal path: %v", err)
	}
	db, err := sql.Open("sqlite", "file:"+strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	var version int
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version < 1 {
		t.Errorf("user_version = %d, %v; want the migrated schema version", version, err)
	}
}

func TestSQLiteNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = store.OpenSQLite(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a file from a newer bot: error = %v, want one saying the schema is newer", err)
	}
}

func TestPostgresNewerSchema(t *testing.T) {
	u, _ := newPostgres(t)
	ctx := context.Background()
	s, err := store.OpenPostgres(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "INSERT INTO deploybot_schema_migrations (version, name) VALUES (99, 'future')")
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.OpenPostgres(ctx, u)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a database from a newer bot: error = %v, want one saying the schema is newer", err)
	}
}

func TestPostgresSynchronousCommit(t *testing.T) {
	// A server (or URL) that turns synchronous_commit off would make an
	// acknowledged Enqueue losable; the store turns it back on.
	u, _ := newPostgres(t)
	ctx := context.Background()
	for _, tc := range []struct{ param, want string }{
		{"", "on"},
		{"off", "on"},
		{"local", "local"}, // durable on this server: left as chosen
		{"remote_apply", "remote_apply"},
	} {
		url := u
		if tc.param != "" {
			url += "&synchronous_commit=" + tc.param
		}
		s, err := store.OpenPostgres(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.SynchronousCommit(ctx)
		s.Close()
		if err != nil || got != tc.want {
			t.Errorf("synchronous_commit=%q in the URL: the store's connections have %q, %v; want %q", tc.param, got, err, tc.want)
		}
	}
}
