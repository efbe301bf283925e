-- The bot's state in one SQLite file. Times are Unix microseconds (UTC),
-- the precision PostgreSQL keeps, so both stores return equal times.

CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_id  TEXT UNIQUE,              -- NULL: not de-duplicated
	installation INTEGER NOT NULL DEFAULT 0,
	owner        TEXT    NOT NULL,
	repo         TEXT    NOT NULL,
	pr           INTEGER NOT NULL DEFAULT 0,
	comment_id   INTEGER NOT NULL DEFAULT 0,
	sender       TEXT    NOT NULL DEFAULT '',
	command      TEXT    NOT NULL,
	args         TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
	environment  TEXT    NOT NULL DEFAULT '',
	app          TEXT    NOT NULL DEFAULT '',
	sha          TEXT    NOT NULL DEFAULT '',
	state        TEXT    NOT NULL CHECK (state IN ('queued', 'waiting', 'running', 'done', 'failed')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	worker       TEXT    NOT NULL DEFAULT '',
	result       TEXT    NOT NULL DEFAULT '',
	run_id       INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_repo ON jobs (owner, repo, id);
CREATE INDEX jobs_run ON jobs (run_id);
CREATE INDEX jobs_app ON jobs (app, state, id);

-- One deploy per app: the row names the job holding the app.
CREATE TABLE app_locks (
	app       TEXT    PRIMARY KEY,
	job_id    INTEGER NOT NULL REFERENCES jobs (id),
	locked_at INTEGER NOT NULL
);

CREATE TABLE sticky_comments (
	owner       TEXT    NOT NULL,
	repo        TEXT    NOT NULL,
	pr          INTEGER NOT NULL,
	environment TEXT    NOT NULL,
	comment_id  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (owner, repo, pr, environment)
);

CREATE TABLE audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL,
	job_id INTEGER NOT NULL DEFAULT 0, -- 0: no job (e.g. a refused command)
	actor  TEXT    NOT NULL DEFAULT '',
	repo   TEXT    NOT NULL,           -- owner/repo
	pr     INTEGER NOT NULL DEFAULT 0,
	action TEXT    NOT NULL,
	detail TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_repo ON audit (repo, id);
