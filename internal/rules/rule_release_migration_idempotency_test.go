package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/project/alembic"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func TestRelNonIdempotent(t *testing.T) {
	tests := []struct {
		sql  string
		want string // the statement head reported, "" for none
	}{
		{"ALTER TABLE units ADD COLUMN callsign VARCHAR(20)", "ALTER TABLE units ADD COLUMN callsign"},
		{"alter table units add callsign varchar(20)", "alter table units add callsign"},
		{"ALTER TABLE IF EXISTS ONLY units ADD COLUMN IF NOT EXISTS callsign text", ""},
		{"ALTER TABLE units ADD CONSTRAINT uq UNIQUE (name), ADD COLUMN radio text", "ALTER TABLE units ADD CONSTRAINT uq UNIQUE ( name ) , ADD COLUMN radio"},
		{"ALTER TABLE units ADD PRIMARY KEY (id)", ""},
		{"ALTER TABLE units ALTER COLUMN name TYPE text", ""},
		{"CREATE TABLE crews (id serial PRIMARY KEY)", "CREATE TABLE crews"},
		{"create table if not exists crews (id int)", ""},
		{"CREATE TEMP TABLE scratch AS SELECT 1", ""},
		{"CREATE UNIQUE INDEX CONCURRENTLY ix_units_name ON units (name)", "CREATE UNIQUE INDEX CONCURRENTLY ix_units_name"},
		{"CREATE INDEX IF NOT EXISTS ix ON units (name)", ""},
		{`CREATE EXTENSION "uuid-ossp"`, `CREATE EXTENSION "uuid-ossp"`},
		{`CREATE EXTENSION IF NOT EXISTS "uuid-ossp"`, ""},
		{"CREATE TYPE status AS ENUM ('a', 'b')", "CREATE TYPE status"},
		{"DO $$ BEGIN CREATE TYPE status AS ENUM ('a'); EXCEPTION WHEN duplicate_object THEN null; END $$;", ""},
		{"CREATE OR REPLACE VIEW v AS SELECT 1", ""},
		{"CREATE VIEW v AS SELECT 1", "CREATE VIEW v"},
		{"CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $body$ BEGIN CREATE TABLE x (); END $body$ LANGUAGE plpgsql", ""},
		{"ALTER TYPE status ADD VALUE 'c'", "ALTER TYPE status ADD VALUE"},
		{"ALTER TYPE status ADD VALUE IF NOT EXISTS 'c'", ""},
		{"UPDATE units SET name = 'CREATE TABLE x'", ""},
		{"-- CREATE TABLE x\nSELECT 1", ""},
		{"/* CREATE TABLE x */ SELECT 1; CREATE SCHEMA audit", "CREATE SCHEMA audit"},
		{"SET LOCAL lock_timeout = '5s'", ""},
		{"CREATE SEQUENCE IF NOT EXISTS s AS INTEGER OWNED BY \"user\".old_id", ""},
		{"INSERT INTO t (a) VALUES ('x;y'); CREATE TABLE t2 (id int)", "CREATE TABLE t2"},
		{"CREATE TABLE \"user\" (id int)", "CREATE TABLE \"user\""},
		{"CREATE TABLE {table} (id int)", "CREATE TABLE {table}"},
	}
	for _, tt := range tests {
		st, ok := relNonIdempotent(tt.sql)
		got := ""
		if ok {
			got = st.text
		}
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.sql, got, tt.want)
		}
	}
}

func TestReleaseMigrationIdempotencyCases(t *testing.T) {
	body := func(b string) map[string]string {
		return map[string]string{"alembic/versions/29e2b3c8b942_create_units.py": relTestRevision("29e2b3c8b942", "None", b)}
	}
	tests := []struct {
		name    string
		changes map[string]string
		want    int
		fix     string
	}{
		{name: "alembic operations", changes: body("    op.add_column(\"units\", sa.Column(\"radio\", sa.String(20)))\n    op.create_index(\"ix\", \"units\", [\"radio\"])")},
		{name: "raw", changes: body("    op.execute(\"ALTER TABLE units ADD COLUMN radio text\")"), want: 1, fix: "ADD COLUMN IF NOT EXISTS radio"},
		{name: "text()", changes: body("    op.execute(sa.text(\"CREATE INDEX ix ON units (radio)\"))"), want: 1, fix: "CREATE INDEX IF NOT EXISTS ix"},
		{name: "through the connection", changes: body("    conn = op.get_bind()\n    conn.execute(sa.text(\"CREATE TABLE crews (id int)\"))"), want: 1},
		{name: "guarded", changes: body("    if not has_column(\"units\", \"radio\"):\n        op.execute(\"ALTER TABLE units ADD COLUMN radio text\")")},
		{name: "mysql", changes: map[string]string{
			"requirements.txt": "sqlalchemy==2.1.9\npymysql==1.1.1\nalembic==1.20.1\n",
			"alembic/versions/29e2b3c8b942_create_units.py": relTestRevision("29e2b3c8b942", "None", "    op.execute(\"ALTER TABLE units ADD COLUMN radio text\")")},
			want: 1, fix: "MySQL has no ADD COLUMN IF NOT EXISTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := relTestRepo(t, relBaseFiles(), tt.changes)
			got := relCheckRule(t, ruleReleaseMigrationIdempotency, p)
			if len(got) != tt.want {
				t.Fatalf("want %d findings, got %d", tt.want, len(got))
			}
			for _, f := range got {
				if f.Line < 15 || !strings.Contains(f.Fix, tt.fix) {
					t.Errorf("%s: %s", f.Location, f.Fix)
				}
			}
		})
	}
}

// TestReleaseMigrationIdempotencyCorpus runs the check over every migration
// of the corpus: their raw SQL (data UPDATEs, CREATE EXTENSION / CREATE
// SEQUENCE IF NOT EXISTS, SET LOCAL lock_timeout) is all idempotent.
func TestReleaseMigrationIdempotencyCorpus(t *testing.T) {
	dir := filepath.Join(testutil.CorpusDir(t, "alembic"), "versions")
	files, err := filepath.Glob(filepath.Join(dir, "*.py"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus migrations: %v", err)
	}
	raw := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rev, _ := alembic.ParseRevision(filepath.Base(f), data)
		if rev == nil {
			continue
		}
		for _, op := range rev.Ops {
			if op.SQL == "" {
				continue
			}
			raw++
			if st, bad := relNonIdempotent(op.SQL); bad {
				t.Errorf("%s:%d: %s reported", filepath.Base(f), op.Line, st.text)
			}
		}
	}
	if raw < 9 { // the upgrade() calls; the corpus's other raw SQL is in downgrade()
		t.Errorf("only %d raw SQL calls read from the corpus", raw)
	}
}

// FuzzRelNonIdempotent checks the SQL reader never panics and reports a
// statement head made of the input's words.
func FuzzRelNonIdempotent(f *testing.F) {
	for _, s := range []string{
		"ALTER TABLE units ADD COLUMN callsign VARCHAR(20)",
		"DO $$ BEGIN CREATE TYPE s AS ENUM ('a'); EXCEPTION WHEN duplicate_object THEN null; END $$;",
		"CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $body$ BEGIN END $body$ LANGUAGE plpgsql",
		"/* x */ CREATE TABLE \"user\" (id int); -- y\nCREATE INDEX ix ON t (a)",
		"INSERT INTO t VALUES ('it''s'); ALTER TYPE s ADD VALUE 'b'",
		"$", "'", "\"", "`", "/*", "--", "CREATE", "ALTER TABLE", "ALTER TYPE x ADD",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		st, ok := relNonIdempotent(sql)
		if ok && (st.text == "" || st.fix == "") {
			t.Errorf("%q: empty report %+v", sql, st)
		}
	})
}
