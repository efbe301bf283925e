// Package pysettings reads a Python module, without running Python, and
// reports what a deploy needs to know about it: the environment variables
// the app reads (pydantic settings classes, os.environ, os.getenv,
// python-decouple, environs, django-environ, Starlette's Config), the
// database pool sizes and worker counts it sets, whether it creates tables
// at start-up, whether it redirects HTTP to HTTPS, and whether it rewrites
// the database URL that `fly postgres attach` sets.
//
// The reader is a Python tokenizer plus a statement walker: strings,
// comments, brackets spanning lines, backslash continuations, decorators,
// type annotations and f-string replacement fields are understood, so
// nothing in a comment or a docstring is taken for code. It does not
// evaluate anything: an environment variable whose name is not a string
// literal is not reported.
package pysettings

import (
	"bytes"
	"path"
	"sort"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// RuleSyntax is the rule id of findings about Python source this package
// could not read.
const RuleSyntax = "python-syntax"

// The kinds of environment variable lookups.
const (
	KindPydantic   = "pydantic"    // a field of a pydantic BaseSettings class
	KindEnviron    = "environ"     // os.environ["X"]
	KindGetenv     = "getenv"      // os.getenv("X")
	KindEnvironGet = "environ.get" // os.environ.get("X")
	KindDecouple   = "decouple"    // python-decouple's config("X")
	KindEnvirons   = "environs"    // environs' or django-environ's env("X"), env.str("X")
	KindStarlette  = "starlette"   // Starlette's config = Config(...); config("X")
)

// EnvVar is one environment variable the module reads.
type EnvVar struct {
	// Name is the variable's name as the app reads it: for pydantic
	// settings the env_prefix is applied and, unless the class is
	// case-sensitive, the name is upper-cased.
	Name string
	// Aliases are other names that satisfy the same setting (pydantic
	// AliasChoices, a v1 env=[...] list). Empty for most variables.
	Aliases []string
	// Required is true when the app fails without the variable: a lookup
	// or field with no default. For pydantic v2 an Optional[X] or X | None
	// field with no default is still required (it may be None, but must be
	// given); for v1 it is not.
	Required bool
	// Kind says how the variable is read (one of the Kind constants).
	Kind string
	// Class is the pydantic settings class, for KindPydantic.
	Class string
	// Loc is where it is read (for a field, the field's name; EndLine is
	// the statement's last line).
	Loc report.Location
}

// Literal is a number the module sets for a pool size or a worker count.
type Literal struct {
	// Name is the setting: a keyword argument ("pool_size",
	// "max_overflow", "workers") or the assigned name ("DB_POOL_SIZE",
	// "WEB_CONCURRENCY").
	Name string
	// Value is the number, when HasValue. When the number comes from an
	// environment lookup it is that lookup's default.
	Value    int
	HasValue bool
	// Env is the environment variable that overrides the value, when the
	// value is read through a lookup with a default.
	Env string
	// Expr is the source text of the value (whitespace collapsed, at most
	// 120 characters), for messages about values that are not literals,
	// like multiprocessing.cpu_count() * 2 + 1.
	Expr string
	Loc  report.Location
}

// The kinds of HTTPS redirects.
const (
	RedirectStarlette = "HTTPSRedirectMiddleware"
	RedirectDjango    = "SECURE_SSL_REDIRECT"
	RedirectTalisman  = "Talisman"
	RedirectSSLify    = "SSLify"
)

// Redirect is code that redirects plain HTTP requests to HTTPS, which makes
// a plain-HTTP health check see a 301 and fail.
type Redirect struct {
	// Kind is one of the Redirect constants.
	Kind string
	// Conditional is true when whether it redirects depends on a value the
	// reader cannot know (SECURE_SSL_REDIRECT = not DEBUG,
	// force_https=settings.X).
	Conditional bool
	Loc         report.Location
}

// Module is what was read from one Python file.
type Module struct {
	// Path is the file's path relative to the validated directory.
	Path string
	// Vars are the environment variables read, in source order. A
	// variable read in several places appears once per place.
	Vars []EnvVar
	// PoolSizes are database pool sizes: pool_size/max_overflow given to
	// create_engine or create_async_engine (min_size/max_size to
	// asyncpg.create_pool), and assignments or fields named like
	// POOL_SIZE or MAX_OVERFLOW.
	PoolSizes []Literal
	// Workers are worker-process counts: workers = N in a gunicorn
	// config file, WEB_CONCURRENCY assignments, fields and lookups with a
	// default, and workers=N given to uvicorn.
	Workers []Literal
	// HTTPSRedirects are places that turn on an HTTP to HTTPS redirect.
	HTTPSRedirects []Redirect
	// CreateAll are calls or references to metadata.create_all (and
	// Flask-SQLAlchemy's db.create_all): an app that creates tables at
	// start-up while Alembic also manages them hits "column already
	// exists" or "relation already exists" in its release command.
	CreateAll []report.Location
	// URLRewrites are places that rewrite a database URL's scheme
	// (.replace("postgres://", "postgresql+asyncpg://"),
	// startswith("postgres://"), make_url(...).set(drivername=...)).
	// `fly postgres attach` sets DATABASE_URL to postgres://…, which
	// SQLAlchemy 1.4+ and asyncpg reject without such a rewrite.
	URLRewrites []report.Location
	// SSLModeRewrites are places that handle the sslmode query parameter
	// (removing or translating it), which asyncpg does not accept in a
	// URL: `fly postgres attach` appends ?sslmode=disable.
	SSLModeRewrites []report.Location
	// Findings are problems reading the file (severity error). What could
	// be read is still reported.
	Findings []report.Finding
}

// MaxSettingsSize is the size above which LooksLikeSettings turns a file
// down: hand-written settings modules are far smaller, and generated
// modules (protobuf stubs, data dumps) are not worth the memory.
const MaxSettingsSize = 1 << 20

// LooksLikeSettings is a cheap pre-filter: it reports whether the file at
// relPath is a Python file worth parsing, that is a .py file of at most
// MaxSettingsSize bytes, outside virtual environments and vendored
// packages, whose text mentions anything Parse looks for.
func LooksLikeSettings(relPath string, data []byte) bool {
	p := strings.ReplaceAll(relPath, "\\", "/")
	if !strings.HasSuffix(p, ".py") || len(data) > MaxSettingsSize {
		return false
	}
	for _, part := range strings.Split(path.Dir(p), "/") {
		switch part {
		case "site-packages", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".git", ".mypy_cache":
			return false
		}
	}
	if isGunicornConfig(p) {
		return true
	}
	for _, m := range markers {
		if bytes.Contains(data, m) {
			return true
		}
	}
	return false
}

var markers = func() [][]byte {
	words := []string{"environ", "getenv", "BaseSettings", "decouple", "environs", "Env(", "env(", "env.", "config(",
		"Config(", "create_engine", "create_async_engine", "create_all", "HTTPSRedirect", "SECURE_SSL_REDIRECT",
		"Talisman", "SSLify", "postgres", "POOL_SIZE", "pool_size", "MAX_OVERFLOW", "max_overflow",
		"WEB_CONCURRENCY", "workers", "WORKERS", "sslmode"}
	out := make([][]byte, len(words))
	for i, w := range words {
		out[i] = []byte(w)
	}
	return out
}()

// isGunicornConfig reports whether the file is a gunicorn config file
// (gunicorn.conf.py, gunicorn_conf.py, gunicorn_config.py, …).
func isGunicornConfig(relPath string) bool {
	base := strings.ToLower(path.Base(relPath))
	return strings.HasSuffix(base, ".py") && strings.Contains(base, "gunicorn")
}

// Parse reads the Python source data of the file at relPath. It never
// fails: source it cannot read yields findings in Module.Findings, and
// whatever could be read is still reported.
func Parse(relPath string, data []byte) *Module {
	m := &Module{Path: relPath}
	stmts, problems := tokenize(data)
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].line != problems[j].line {
			return problems[i].line < problems[j].line
		}
		return problems[i].col < problems[j].col
	})
	for _, p := range problems {
		m.Findings = append(m.Findings, report.Finding{
			Rule:     RuleSyntax,
			Severity: report.Error,
			Location: report.At(relPath, p.line, p.col),
			Title:    "Python syntax error",
			Message:  "Cannot read " + relPath + ": " + p.msg + ".",
			Fix:      p.fix,
		})
	}
	a := newAnalyzer(m, data, isGunicornConfig(relPath))
	a.run(stmts)
	return m
}
