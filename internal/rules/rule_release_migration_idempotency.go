package rules

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleReleaseMigrationIdempotency = register(&Rule{
	ID:       "release-migration-idempotency",
	Phase:    report.Release,
	Severity: report.Warning,
	Doc:      "a migration runs raw SQL that creates or adds something (CREATE TABLE / INDEX / TYPE / EXTENSION, ADD COLUMN) without IF NOT EXISTS",
	Why:      "when the object already exists (added by hand to fix an outage, or by create_all) the release fails with `already exists` and every later deploy fails the same way until the migration is fixed.",
	Check:    checkReleaseMigrationIdempotency,
})

func checkReleaseMigrationIdempotency(r *Rule, p *project.Project) []report.Finding {
	mysql := relIsMySQL(p)
	var out []report.Finding
	seen := map[string]bool{}
	for _, g := range relGraphs(p) {
		for _, rv := range g.Revs {
			if rv == nil || seen[rv.Path] {
				continue
			}
			seen[rv.Path] = true
			for _, op := range rv.Ops {
				if op.Name != "execute" || op.SQL == "" || op.Guarded {
					continue
				}
				st, ok := relNonIdempotent(op.SQL)
				if !ok {
					continue
				}
				loc := report.Location{File: rv.Path, Line: op.Line, Column: op.Column, EndLine: op.EndLine}
				fix := st.fix
				if mysql && st.mysqlFix != "" {
					fix = st.mysqlFix
				}
				out = append(out, r.Finding(loc,
					"raw SQL migration is not idempotent",
					fmt.Sprintf("%s (revision %s) runs `%s` through %s.execute without IF NOT EXISTS. If %s already exists in the database "+
						"(created by hand, by create_all, or by a migration that was re-applied), the release fails with `%s`, and every later deploy stops at the same migration.",
						rv.Path, rv.ID, st.text, relOr(op.Receiver, "op"), st.object, st.err),
					fix))
			}
		}
	}
	return out
}

// relIsMySQL reports whether the app talks to MySQL/MariaDB rather than
// PostgreSQL (which decides the IF NOT EXISTS forms available).
func relIsMySQL(p *project.Project) bool {
	my, pg := false, false
	for _, f := range p.PyDeps {
		for _, req := range f.Requirements {
			switch req.Name {
			case "mysqlclient", "pymysql", "aiomysql", "mysql-connector-python", "asyncmy", "mariadb":
				my = true
			case "psycopg2", "psycopg2-binary", "psycopg", "asyncpg", "pg8000":
				pg = true
			}
		}
	}
	return my && !pg
}

// relStmt is a statement that fails when its object exists.
type relStmt struct {
	text     string // the statement's head, e.g. "ALTER TABLE units ADD COLUMN callsign"
	object   string // e.g. `column "callsign" of table "units"`
	err      string // the database's error
	fix      string
	mysqlFix string
}

// relNonIdempotent returns the first statement of sql that fails when the
// object it creates already exists.
func relNonIdempotent(sql string) (relStmt, bool) {
	for _, toks := range relSQLStatements(sql) {
		if st, ok := relCheckStmt(toks); ok {
			return st, true
		}
	}
	return relStmt{}, false
}

// relSQLStatements splits SQL into statements of tokens (words and
// punctuation), dropping comments and string literals; a statement with a
// dollar-quoted body (a DO block, a function) keeps only a "$$" token.
func relSQLStatements(sql string) [][]string {
	var out [][]string
	var cur []string
	word := strings.Builder{}
	flush := func() {
		if word.Len() > 0 {
			cur = append(cur, word.String())
			word.Reset()
		}
	}
	end := func() {
		flush()
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			flush()
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			flush()
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				i = len(sql)
			} else {
				i += j + 3
			}
		case c == '\'':
			flush()
			cur = append(cur, "'…'")
			for i++; i < len(sql); i++ {
				if sql[i] == '\'' {
					if i+1 < len(sql) && sql[i+1] == '\'' {
						i++
						continue
					}
					break
				}
			}
		case c == '"' || c == '`':
			flush()
			j := strings.IndexByte(sql[i+1:], c)
			if j < 0 {
				cur = append(cur, sql[i:])
				i = len(sql)
				break
			}
			cur = append(cur, sql[i:i+j+2])
			i += j + 1
		case c == '$':
			// $tag$ … $tag$: a dollar-quoted body.
			j := strings.IndexByte(sql[i+1:], '$')
			tag := ""
			if j >= 0 {
				tag = sql[i : i+j+2]
			}
			if j < 0 || strings.ContainsAny(tag[1:len(tag)-1], " \t\n;(),'\"") {
				word.WriteByte(c)
				continue
			}
			flush()
			cur = append(cur, "$$")
			k := strings.Index(sql[i+len(tag):], tag)
			if k < 0 {
				i = len(sql)
			} else {
				i += len(tag) + k + len(tag) - 1
			}
		case c == ';':
			end()
		case c == '(' || c == ')' || c == ',':
			flush()
			cur = append(cur, string(c))
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		default:
			word.WriteByte(c)
		}
	}
	end()
	return out
}

func relUp(toks []string, i int) string {
	if i < len(toks) {
		return strings.ToUpper(toks[i])
	}
	return ""
}

func relIfNotExists(toks []string, i int) bool {
	return relUp(toks, i) == "IF" && relUp(toks, i+1) == "NOT" && relUp(toks, i+2) == "EXISTS"
}

func relCheckStmt(toks []string) (relStmt, bool) {
	for _, t := range toks {
		if t == "$$" {
			return relStmt{}, false // DO blocks and functions guard themselves
		}
	}
	switch relUp(toks, 0) {
	case "CREATE":
		return relCheckCreate(toks)
	case "ALTER":
		return relCheckAlter(toks)
	}
	return relStmt{}, false
}

func relCheckCreate(toks []string) (relStmt, bool) {
	i := 1
	if relUp(toks, 1) == "OR" && relUp(toks, 2) == "REPLACE" {
		return relStmt{}, false
	}
	temp, unique, materialized := false, false, false
modifiers:
	for ; ; i++ {
		switch relUp(toks, i) {
		case "TEMP", "TEMPORARY":
			temp = true
		case "UNIQUE":
			unique = true
		case "MATERIALIZED":
			materialized = true
		case "UNLOGGED", "GLOBAL", "LOCAL":
		default:
			break modifiers
		}
	}
	kind := relUp(toks, i)
	i++
	if kind == "INDEX" && relUp(toks, i) == "CONCURRENTLY" {
		i++
	}
	if relIfNotExists(toks, i) {
		return relStmt{}, false
	}
	name := ""
	if i < len(toks) && toks[i] != "(" {
		name = toks[i]
	}
	head := strings.Join(toks[:min(i+1, len(toks))], " ")
	pgIf := func(what string) string {
		return fmt.Sprintf("Write `CREATE %s%s IF NOT EXISTS %s …` (or use Alembic's operation for it, which Alembic records), so the migration also succeeds where the %s is already there.",
			map[bool]string{true: "UNIQUE ", false: ""}[unique], what, name, strings.ToLower(what))
	}
	switch kind {
	case "TABLE":
		if temp {
			return relStmt{}, false
		}
		return relStmt{text: head, object: fmt.Sprintf("table %s", name), err: fmt.Sprintf("relation %s already exists", relQuote(name)),
			fix: pgIf("TABLE"), mysqlFix: fmt.Sprintf("Write `CREATE TABLE IF NOT EXISTS %s …`, or use `op.create_table(…)`.", name)}, true
	case "INDEX":
		return relStmt{text: head, object: fmt.Sprintf("index %s", name), err: fmt.Sprintf("relation %s already exists", relQuote(name)),
			fix:      pgIf("INDEX"),
			mysqlFix: "Use `op.create_index(…)` (MySQL has no CREATE INDEX IF NOT EXISTS), or check information_schema.statistics first."}, true
	case "TYPE":
		return relStmt{text: head, object: fmt.Sprintf("type %s", name), err: fmt.Sprintf("type %s already exists", relQuote(name)),
			fix: fmt.Sprintf("PostgreSQL has no CREATE TYPE IF NOT EXISTS: wrap it as `DO $$ BEGIN CREATE TYPE %s AS …; EXCEPTION WHEN duplicate_object THEN NULL; END $$;`, "+
				"or let SQLAlchemy create the enum (`sa.Enum(..., name=\"%s\")` with `create_type=True` in op.create_table).", name, strings.Trim(name, `"`))}, true
	case "EXTENSION":
		return relStmt{text: head, object: fmt.Sprintf("extension %s", name), err: fmt.Sprintf("extension %s already exists", relQuote(name)), fix: pgIf("EXTENSION")}, true
	case "SCHEMA":
		return relStmt{text: head, object: fmt.Sprintf("schema %s", name), err: fmt.Sprintf("schema %s already exists", relQuote(name)), fix: pgIf("SCHEMA")}, true
	case "SEQUENCE":
		return relStmt{text: head, object: fmt.Sprintf("sequence %s", name), err: fmt.Sprintf("relation %s already exists", relQuote(name)), fix: pgIf("SEQUENCE")}, true
	case "VIEW":
		if materialized {
			return relStmt{text: head, object: fmt.Sprintf("view %s", name), err: fmt.Sprintf("relation %s already exists", relQuote(name)), fix: pgIf("MATERIALIZED VIEW")}, true
		}
		return relStmt{text: head, object: fmt.Sprintf("view %s", name), err: fmt.Sprintf("relation %s already exists", relQuote(name)),
			fix: fmt.Sprintf("Write `CREATE OR REPLACE VIEW %s AS …`.", name)}, true
	}
	return relStmt{}, false
}

func relCheckAlter(toks []string) (relStmt, bool) {
	switch relUp(toks, 1) {
	case "TYPE":
		// ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'label'
		for i := 2; i+1 < len(toks); i++ {
			if relUp(toks, i) == "ADD" && relUp(toks, i+1) == "VALUE" {
				if relIfNotExists(toks, i+2) {
					return relStmt{}, false
				}
				head := strings.Join(toks[:i+2], " ")
				return relStmt{text: head, object: "the enum value", err: "enum label … already exists",
					fix: fmt.Sprintf("Write `ALTER TYPE %s ADD VALUE IF NOT EXISTS '…'`.", toks[2])}, true
			}
		}
	case "TABLE":
		i := 2
		if relUp(toks, i) == "IF" && relUp(toks, i+1) == "EXISTS" {
			i += 2
		}
		if relUp(toks, i) == "ONLY" {
			i++
		}
		table := ""
		if i < len(toks) {
			table = toks[i]
		}
		depth := 0
		for j := i + 1; j < len(toks); j++ {
			switch toks[j] {
			case "(":
				depth++
				continue
			case ")":
				depth--
				continue
			}
			if depth != 0 || relUp(toks, j) != "ADD" {
				continue
			}
			k := j + 1
			switch relUp(toks, k) {
			case "CONSTRAINT", "PRIMARY", "FOREIGN", "UNIQUE", "CHECK", "INDEX", "KEY", "EXCLUDE", "FULLTEXT", "SPATIAL", "PARTITION", "":
				continue
			case "COLUMN":
				k++
			}
			if relIfNotExists(toks, k) {
				continue
			}
			col := ""
			if k < len(toks) {
				col = toks[k]
			}
			head := strings.Join(toks[:min(k+1, len(toks))], " ")
			return relStmt{text: head, object: fmt.Sprintf("column %s of table %s", col, table),
				err:      fmt.Sprintf("column %s of relation %s already exists", relQuote(col), relQuote(table)),
				fix:      fmt.Sprintf("Write `ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s …`, or use `op.add_column(\"%s\", sa.Column(\"%s\", …))`, which Alembic records.", table, col, strings.Trim(table, "\"`"), strings.Trim(col, "\"`")),
				mysqlFix: fmt.Sprintf("Use `op.add_column(\"%s\", sa.Column(\"%s\", …))` (MySQL has no ADD COLUMN IF NOT EXISTS), or check information_schema.columns first.", strings.Trim(table, "\"`"), strings.Trim(col, "\"`"))}, true
		}
	}
	return relStmt{}, false
}

func relQuote(name string) string {
	name = strings.Trim(name, "\"`")
	return `"` + name + `"`
}
