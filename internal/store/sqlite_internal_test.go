package store

import (
	"context"
	"path/filepath"
	"testing"
)

// TestSQLitePragmas checks the settings the durability promise rests on,
// on the store's own connections (pragmas are per connection).
func TestSQLitePragmas(t *testing.T) {
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "bot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		conn   string
		pragma string
		want   string
	}{
		{"write", "journal_mode", "wal"},
		{"write", "synchronous", "2"}, // FULL: fsync on every commit
		{"write", "foreign_keys", "1"},
		{"write", "busy_timeout", "5000"},
		{"read", "query_only", "1"},
		{"read", "busy_timeout", "5000"},
	} {
		db := s.write
		if tc.conn == "read" {
			db = s.read
		}
		var got string
		if err := db.QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil || got != tc.want {
			t.Errorf("%s connection: PRAGMA %s = %q, %v; want %q", tc.conn, tc.pragma, got, err, tc.want)
		}
	}
	if _, err := s.read.Exec("DELETE FROM jobs"); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestMigrationsWellFormed(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		ms, err := migrations(dialect)
		if err != nil || len(ms) == 0 {
			t.Errorf("migrations(%s) = %d steps, %v", dialect, len(ms), err)
		}
	}
	if _, err := migrations("oracle"); err == nil {
		t.Error("migrations(oracle) succeeded, want an error")
	}
}
