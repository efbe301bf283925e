-- The bot's state in PostgreSQL, shared by every replica. Table names carry
-- a deploybot_ prefix so the bot can share a database (and its public
-- schema) with other software without a clash.

CREATE TABLE deploybot_jobs (
	id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	delivery_id  text        UNIQUE,          -- NULL: not de-duplicated
	installation bigint      NOT NULL DEFAULT 0,
	owner        text        NOT NULL,
	repo         text        NOT NULL,
	pr           integer     NOT NULL DEFAULT 0,
	comment_id   bigint      NOT NULL DEFAULT 0,
	sender       text        NOT NULL DEFAULT '',
	command      text        NOT NULL,
	args         text[]      NOT NULL DEFAULT '{}',
	environment  text        NOT NULL DEFAULT '',
	app          text        NOT NULL DEFAULT '',
	sha          text        NOT NULL DEFAULT '',
	state        text        NOT NULL CHECK (state IN ('queued', 'waiting', 'running', 'done', 'failed')),
	attempts     integer     NOT NULL DEFAULT 0,
	worker       text        NOT NULL DEFAULT '',
	result       text        NOT NULL DEFAULT '',
	run_id       bigint      NOT NULL DEFAULT 0,
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL
);
CREATE INDEX deploybot_jobs_state ON deploybot_jobs (state, id);
CREATE INDEX deploybot_jobs_repo ON deploybot_jobs (owner, repo, id);
CREATE INDEX deploybot_jobs_run ON deploybot_jobs (run_id);
CREATE INDEX deploybot_jobs_app ON deploybot_jobs (app, state, id);

-- One deploy per app: the row names the job holding the app. A row, not a
-- session advisory lock: a deploy outlives any one pooled connection and
-- even the bot process that dispatched it.
CREATE TABLE deploybot_app_locks (
	app       text        PRIMARY KEY,
	job_id    bigint      NOT NULL REFERENCES deploybot_jobs (id),
	locked_at timestamptz NOT NULL
);

CREATE TABLE deploybot_sticky_comments (
	owner       text        NOT NULL,
	repo        text        NOT NULL,
	pr          integer     NOT NULL,
	environment text        NOT NULL,
	comment_id  bigint      NOT NULL,
	updated_at  timestamptz NOT NULL,
	PRIMARY KEY (owner, repo, pr, environment)
);

CREATE TABLE deploybot_audit (
	id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at     timestamptz NOT NULL,
	job_id bigint      NOT NULL DEFAULT 0, -- 0: no job (e.g. a refused command)
	actor  text        NOT NULL DEFAULT '',
	repo   text        NOT NULL,           -- owner/repo
	pr     integer     NOT NULL DEFAULT 0,
	action text        NOT NULL,
	detail text        NOT NULL DEFAULT ''
);
CREATE INDEX deploybot_audit_repo ON deploybot_audit (repo, id);
