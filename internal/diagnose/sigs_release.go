package diagnose

import (
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Release: the release command (migrations) fails.

func releaseSigs() []*Signature {
	return []*Signature{
		{
			ID: "log-release-command-failed", Phase: report.Release, Severity: report.Error, Symptom: true,
			Literals: []string{"release command failed", "exited with non-zero status of"},
			Patterns: res(`release_command machine (?P<machine>\S+) exited with non-zero status of (?P<code>\d+)`,
				`release command failed`),
			Title: "release command failed",
			Cause: "The release command exited with {$code|a non-zero status}{$hint}, so flyctl aborted the deploy before updating any machine (the running version is unchanged)",
			Fix:   "Read the release machine's output before this line for the command's own error (`fly logs -i <machine>`), fix it, and deploy again.",
			Refine: func(m *Match) bool {
				if m.Get("code") == "127" {
					m.Set("hint", " (127: the command was not found in the image)")
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return releaseCommand(p) },
		},
		{
			ID: "log-release-exit-status", Phase: report.Release, Severity: report.Error, Symptom: true, Key: "code",
			Literals: []string{"The command exited with status", "user command error: exit status"},
			Patterns: res(`(?:The command exited with status|user command error: exit status) (?P<code>\d+)`),
			Title:    "release command exited with status {$code}",
			Cause:    "The release command exited with status {$code}, so the release was not created",
			Fix:      "Read the release command's output before this line for its own error, fix it, and deploy again.",
			Refine: func(m *Match) bool {
				if m.Get("code") == "127" {
					m.Switch("log-command-not-found")
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return releaseCommand(p) },
		},
		{
			ID: "log-command-not-found", Phase: report.Release, Severity: report.Error, Key: "cmd",
			ContextPhases: []report.PhaseName{report.Build, report.Runtime},
			Literals:      []string{"executable file not found in $PATH", ": not found"},
			Patterns: res(`exec: "(?P<cmd>[^"]+)": executable file not found in \$PATH`,
				`(?:^|\s)(?:/bin/)?(?:ba|da)?sh: (?:\d+: )?(?:line \d+: )?(?P<cmd>[\w./-]+): (?:command )?not found`),
			Title: "command not found in the image",
			Cause: "The shell could not find {$cmd|the command} (exit status 127): the program is not installed in the image, or not on its PATH (a virtualenv's bin folder not on PATH, a package installed in another stage)",
			Fix:   "Install {$cmd|the program} in the stage the deploy runs (check that its package is in the requirements the Dockerfile installs there), or call it by its full path or as `python -m`.",
			Point: releaseOrServer,
		},
		{
			ID: "log-alembic-multiple-heads", Phase: report.Release, Severity: report.Error,
			Literals: []string{"Multiple head revisions are present"},
			Title:    "Alembic migrations have several heads",
			Cause:    "`alembic upgrade head` found more than one head revision: two migrations were created from the same parent on parallel branches",
			Fix:      "Merge the heads with `alembic merge heads -m \"merge heads\"`, commit the merge migration, and deploy again.",
			Point: func(p *project.Project, m *Match) Pointer {
				return first(alembicHeads(p), releaseCommand(p))
			},
		},
		{
			ID: "log-alembic-revision-missing", Phase: report.Release, Severity: report.Error, Key: "rev",
			Literals: []string{"Can't locate revision identified by"},
			Patterns: res(`Can't locate revision identified by '(?P<rev>[^']*)'`),
			Title:    "Alembic revision {$rev} not found",
			Cause:    "Alembic cannot find revision {$rev} among the migrations it has: the database's alembic_version (or a migration's down_revision) names a revision that is not in the image — a migration deleted or renamed, not copied into the image, or applied from another branch",
			Fix:      "Restore the migration file {$rev} (or fix the down_revision that names it); if the database was migrated from another branch, point it at a known revision with `alembic stamp <revision>` after checking its schema.",
			Point: func(p *project.Project, m *Match) Pointer {
				return first(alembicRef(p, m.Get("rev")), releaseCommand(p))
			},
		},
		{
			ID: "log-alembic-env-failed", Phase: report.Release, RootPhase: report.Secrets, Severity: report.Error,
			Literals: []string{`load_python_file(self.dir, "env.py")`, ", in run_env"},
			Patterns: res(`alembic/script/base\.py", line \d+, in run_env`, `load_python_file\(self\.dir, "env\.py"\)`),
			Follow:   40,
			Title:    "Alembic's env.py failed",
			Cause:    "Alembic's env.py raised an exception while it was being loaded{$exc}",
			Fix:      "Make every setting env.py reads available to the release machine (`fly secrets set DATABASE_URL=…` — the release command gets the app's secrets), copy the modules it imports into the image, and check it with `fly ssh console -C \"alembic current\"`.",
			Refine: func(m *Match) bool {
				m.Set("exc", ". The excerpt ends before the exception; most often env.py reads a setting such as DATABASE_URL that is not set on the release machine")
				for _, l := range m.After(40) {
					if g := excLine.FindStringSubmatch(l); g != nil {
						m.Set("exc", ": the traceback ends with "+redact(shorten(g[0], 160)))
						break
					}
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer {
				for _, mod := range p.Settings {
					if path.Base(mod.Path) != "env.py" {
						continue
					}
					for _, v := range mod.Vars {
						if v.Required || strings.Contains(v.Name, "DATABASE") {
							return Pointer{Loc: v.Loc, Note: "env.py reads " + v.Name + " here."}
						}
					}
				}
				return releaseCommand(p)
			},
		},
		{
			ID: "log-alembic-no-script-location", Phase: report.Release, Severity: report.Error,
			Literals: []string{"No 'script_location' key found in configuration"},
			Title:    "alembic.ini not found where the command runs",
			Cause:    "Alembic found no alembic.ini with a script_location where the command ran: the file is not in the image (not copied, or excluded by .dockerignore), or the command runs from another folder",
			Fix:      "COPY alembic.ini and the migrations folder into the image and run Alembic from that folder, or name the file: `alembic -c /app/alembic.ini upgrade head`.",
			Point: func(p *project.Project, m *Match) Pointer {
				return first(alembicIgnored(p), releaseCommand(p), alembicConfig(p, "The project's alembic.ini is here."))
			},
		},
		{
			ID: "log-alembic-no-config", Phase: report.Release, Severity: report.Error,
			Literals: []string{"No config file '"},
			Patterns: res(`No config file '(?P<file>[^']*)' found`),
			Title:    "{$file} not found where Alembic runs",
			Cause:    "Alembic found no {$file} in the folder the command ran from: it is not in the image, or the command runs elsewhere",
			Fix:      "COPY {$file} and the migrations folder into the image (check .dockerignore), and run Alembic from that folder or with `-c /path/to/{$file}`.",
			Point: func(p *project.Project, m *Match) Pointer {
				return first(alembicIgnored(p), releaseCommand(p), alembicConfig(p, "The project's alembic.ini is here."))
			},
		},
		{
			ID: "log-module-not-found", Phase: report.Runtime, Severity: report.Error, Key: "mod",
			ContextPhases: []report.PhaseName{report.Build, report.Release},
			Literals:      []string{"ModuleNotFoundError: No module named "},
			Patterns:      res(`No module named '(?P<mod>[\w.]+)'`),
			Title:         "Python module {$mod} not found",
			Cause:         "Python could not import {$mod}: it is not installed in the image, or not on the import path of the folder the command runs from",
			Fix:           "If {$mod} is a package of the repository, COPY it into the image and run from the folder that contains it (or set PYTHONPATH); if it is a dependency, add its distribution to the requirements the Dockerfile installs in the stage that runs.",
			Refine: func(m *Match) bool {
				for _, l := range m.Before(12) {
					if strings.Contains(l, "env.py") && strings.Contains(l, "alembic") {
						m.Context = report.Release
						m.setPhase()
					}
				}
				return true
			},
			Point: pointModule,
		},
		{
			ID: "log-db-object-exists", Phase: report.Release, Severity: report.Error, Key: "obj",
			Literals: []string{"already exists"},
			Patterns: res(`column "(?P<col>[^"]+)" of relation "(?P<rel>[^"]+)" already exists`,
				`(?:relation|table) "(?P<rel>[^"]+)" already exists`,
				`(?:type|index|constraint) "(?P<obj>[^"]+)" (?:for relation "[^"]*" )?already exists`),
			Title: "migration creates something that already exists",
			Cause: "A migration creates {$what}, which the database already has: the app created its tables itself (create_all) before the migration ran, or a migration that is not idempotent ran twice",
			Fix:   "Stop creating tables at start-up when Alembic manages the schema; for a database created that way, `alembic stamp` the revision that matches it; make hand-written DDL idempotent (IF NOT EXISTS).",
			Refine: func(m *Match) bool {
				switch {
				case m.Get("col") != "":
					m.Set("what", "column "+m.Get("col")+" of table "+m.Get("rel"))
					m.Set("obj", m.Get("rel")+"."+m.Get("col"))
				case m.Get("rel") != "":
					m.Set("what", "table "+m.Get("rel"))
					m.Set("obj", m.Get("rel"))
				default:
					m.Set("what", m.Get("obj"))
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer {
				return first(createAll(p), migrationOp(p, m.Get("rel"), m.Get("col")), releaseCommand(p))
			},
		},
		{
			ID: "log-undefined-table", Phase: report.Runtime, RootPhase: report.Release, Severity: report.Error, Key: "rel",
			ContextPhases: []report.PhaseName{report.Release},
			Literals:      []string{"does not exist"},
			Patterns:      res(`(?:relation|table) "(?P<rel>[^"]+)" does not exist`),
			Title:         "table {$rel} does not exist",
			Cause:         "The code queries table {$rel}, which the database does not have: the migrations that create it have not run against this database",
			Fix:           "Run the migrations on deploy: set [deploy] release_command = \"alembic upgrade head\" in fly.toml (it runs with the app's secrets, against the same DATABASE_URL).",
			Point: func(p *project.Project, m *Match) Pointer {
				if ptr := releaseCommand(p); ptr.Loc.File != "" {
					ptr.Note += " Check that it migrates the database the app uses."
					return ptr
				}
				return first(flyKey(p, "deploy", "fly.toml's [deploy] has no release_command."), flyFile(p, "fly.toml has no release_command, so no migration runs on deploy."))
			},
		},
		{
			ID: "log-asyncpg-sslmode", Phase: report.Release, Severity: report.Error,
			ContextPhases: []report.PhaseName{report.Runtime},
			Literals:      []string{"unexpected keyword argument 'sslmode'"},
			Title:         "asyncpg does not accept sslmode",
			Cause:         "asyncpg was given sslmode, which it does not accept: DATABASE_URL ends with ?sslmode=disable (as `fly postgres attach` sets it) and is passed to create_async_engine as it is",
			Fix:           "Drop sslmode from the URL before creating the engine (or translate it: connect_args={\"ssl\": False}), and use the postgresql+asyncpg:// scheme.",
			Point: func(p *project.Project, m *Match) Pointer {
				return settingsVar(p, "DATABASE_URL")
			},
		},
	}
}

var excLine = lazyre.New(`^\s*(?:[\w.]+\.)?(?:[A-Z]\w*(?:Error|Exception)|KeyError|ImproperlyConfigured|UndefinedValueError|EnvError): .+`)

// moduleDists maps import names to the distributions that provide them,
// where the two differ.
var moduleDists = map[string][]string{
	"psycopg2": {"psycopg2", "psycopg2-binary"}, "psycopg": {"psycopg"}, "yaml": {"pyyaml"},
	"dotenv": {"python-dotenv"}, "jose": {"python-jose"}, "jwt": {"pyjwt"}, "multipart": {"python-multipart"},
	"decouple": {"python-decouple"}, "pydantic_settings": {"pydantic-settings"}, "sqlalchemy": {"sqlalchemy"},
	"uvicorn_worker": {"uvicorn-worker"}, "dateutil": {"python-dateutil"}, "PIL": {"pillow"}, "bs4": {"beautifulsoup4"},
	"sklearn": {"scikit-learn"}, "cv2": {"opencv-python", "opencv-python-headless"}, "magic": {"python-magic"},
	"environ": {"django-environ"}, "redis": {"redis"}, "asyncpg": {"asyncpg"}, "alembic": {"alembic"},
}

// pointModule says whether a missing module is the repository's own code
// or a dependency, and points at its requirement when declared.
func pointModule(p *project.Project, m *Match) Pointer {
	mod := m.Get("mod")
	top := strings.SplitN(mod, ".", 2)[0]
	for _, cand := range []string{top, top + ".py"} {
		if p.Exists(p.FromContext(cand)) || p.Exists(cand) {
			ptr := Pointer{Note: top + " is a package of this repository: the image lacks it, or the command runs from a folder where it is not importable."}
			if st := builtStage(p); st != nil && st.WorkdirLoc.File != "" {
				ptr.Loc = st.WorkdirLoc
				ptr.Note += " The image's WORKDIR is " + st.EffectiveWorkdir() + "."
			}
			return ptr
		}
	}
	dists := moduleDists[top]
	if dists == nil {
		dists = []string{top}
	}
	if r, ok := requirement(p, dists...); ok {
		return Pointer{Loc: r.Loc, Note: r.Loc.File + " declares " + strings.TrimSpace(r.Raw) + ", but the image the command ran in does not have it: check that the stage that runs installs these requirements."}
	}
	if len(p.PyDeps) > 0 {
		return Pointer{Note: "No requirements file of the project declares " + dists[0] + "."}
	}
	return Pointer{}
}
