package pysettings

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// varsString renders variables as NAME!kind@line (required) or
// NAME?kind@line (optional), with (Class) for pydantic and |alias for
// aliases, joined by spaces.
func varsString(vs []EnvVar) string {
	var b []string
	for _, v := range vs {
		mark := "?"
		if v.Required {
			mark = "!"
		}
		s := fmt.Sprintf("%s%s%s", v.Name, mark, v.Kind)
		if v.Class != "" {
			s += "(" + v.Class + ")"
		}
		for _, a := range v.Aliases {
			s += "|" + a
		}
		b = append(b, fmt.Sprintf("%s@%d", s, v.Loc.Line))
	}
	return strings.Join(b, " ")
}

func literalsString(ls []Literal) string {
	var b []string
	for _, l := range ls {
		s := l.Name + "="
		if l.HasValue {
			s += fmt.Sprint(l.Value)
		} else {
			s += "?"
		}
		if l.Env != "" {
			s += "$" + l.Env
		}
		b = append(b, fmt.Sprintf("%s@%d", s, l.Loc.Line))
	}
	return strings.Join(b, " ")
}

func linesString(ls []report.Location) string {
	var b []string
	for _, l := range ls {
		b = append(b, fmt.Sprint(l.Line))
	}
	return strings.Join(b, " ")
}

func redirectsString(rs []Redirect) string {
	var b []string
	for _, r := range rs {
		s := r.Kind
		if r.Conditional {
			s += "?"
		}
		b = append(b, fmt.Sprintf("%s@%d", s, r.Loc.Line))
	}
	return strings.Join(b, " ")
}

func TestParseVars(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"environ subscript", `import os
DB = os.environ["DATABASE_URL"]`, "DATABASE_URL!environ@2"},
		{"getenv with and without default", `import os
a = os.getenv("A")
b = os.getenv("B", "x")
c = os.environ.get("C") or "fallback"
d = os.environ.get("D", default="y")`, "A?getenv@2 B?getenv@3 C?environ.get@4 D?environ.get@5"},
		{"os is read without an import", `x = os.environ["X"]`, "X!environ@1"},
		{"aliases", `import os as o
from os import environ, getenv as ge
a = o.environ.get("A")
b = environ["B"]
c = ge("C")
d = environ.get("D")`, "A?environ.get@3 B!environ@4 C?getenv@5 D?environ.get@6"},
		{"writes are not reads", `import os
os.environ["SET"] = "1"
os.environ["APPEND"] += ":x"
del os.environ["DEL"]
os.environ.setdefault("DEFAULTED", "1")
os.environ.pop("POPPED", None)
if "CHECKED" in os.environ:
    pass
x = os.environ["READ"] == "1"`, "READ!environ@9"},
		{"comments and strings are not code", `import os
# os.environ["COMMENT"]
"""
os.getenv("DOCSTRING")
"""
s = 'os.environ["STRING"]'
t = "it's # not a comment"; u = os.getenv("AFTER")`, "AFTER?getenv@7"},
		{"brackets and backslashes join lines", `import os
x = os.getenv(
    "SPLIT",
    "default",
)
y = \
    os.environ[
        "CONT"
    ]`, "SPLIT?getenv@2 CONT!environ@7"},
		{"f-string fields", `import os
url = f"postgresql://{os.environ['PGUSER']}:{os.getenv('PGPASSWORD')}@{host}/db"
nested = f"{os.environ["PY312"]}"
spec = f"{value:{os.getenv('WIDTH')}}"
braces = f"{{os.environ['NOT_A_FIELD']}}"`, "PGUSER!environ@2 PGPASSWORD?getenv@2 PY312!environ@3 WIDTH?getenv@4"},
		{"name not a literal", `import os
KEY = "X"
a = os.environ[KEY]
b = os.getenv(f"{KEY}_URL")`, ""},
		{"decouple", `from decouple import config
a = config("A")
b = config("B", default=None)
c = config("C", cast=int)
d = config("D", "fallback", cast=str)`, "A!decouple@2 B?decouple@3 C!decouple@4 D?decouple@5"},
		{"decouple AutoConfig", `from decouple import AutoConfig
cfg = AutoConfig(search_path="/app")
a = cfg("A")`, "A!decouple@3"},
		{"config without decouple is not read", `config = {"x": 1}
a = config("A")`, ""},
		{"starlette", `from starlette.config import Config
config = Config(".env")
a = config("A", cast=bool)
b = config("B", cast=bool, default=False)
c = config("C", str, "x")`, "A!starlette@3 B?starlette@4 C?starlette@5"},
		{"environs", `from environs import Env
env = Env()
env.read_env()
a = env("A")
b = env.str("B")
c = env.int("C", 5)
d = env.bool("D", default=False)
e = env.dj_db_url("DATABASE_URL")`, "A!environs@4 B!environs@5 C?environs@6 D?environs@7 DATABASE_URL!environs@8"},
		{"environs shared instance", `from environs import env
a = env.list("HOSTS")`, "HOSTS!environs@2"},
		{"env imported from the project", `from .env import env
a = env("SECRET_KEY")`, "SECRET_KEY!environs@2"},
		{"django-environ scheme defaults", `import environ
env = environ.Env(DEBUG=(bool, False), SECRET_KEY=(str,), PORT=int)
a = env("DEBUG")
b = env("SECRET_KEY")
c = env("PORT")
d = env.db()
e = env.cache()`, "DEBUG?environs@3 SECRET_KEY!environs@4 PORT!environs@5 DATABASE_URL!environs@6 CACHE_URL!environs@7"},
		{"semicolons", `import os; a = os.getenv("S1"); b = os.environ["S2"]`, "S1?getenv@1 S2!environ@1"},
		{"CRLF and BOM", "\ufeffimport os\r\nclass S(BaseSettings):\r\n    A: str\r\n    B: int = 1\r\nx = os.environ[\"C\"]\r\n",
			"A!pydantic(S)@3 B?pydantic(S)@4 C!environ@5"},
		{"tabs", "class S(BaseSettings):\n\tA: str\n\tdef f(self):\n\t\tB: str\n\tC: str = 'x'\n", "A!pydantic(S)@2 C?pydantic(S)@5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse("app/x.py", []byte(tt.src))
			if got := varsString(m.Vars); got != tt.want {
				t.Errorf("vars:\n got %s\nwant %s", got, tt.want)
			}
			if len(m.Findings) > 0 {
				t.Errorf("unexpected findings: %+v", m.Findings)
			}
		})
	}
}

func TestParsePydantic(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"v2 required and defaults", `from pydantic_settings import BaseSettings
from pydantic import Field
class Settings(BaseSettings):
    SECRET_KEY: str
    DEBUG: bool = False
    JWT_SECRET_KEY: str = Field(...)
    A: str = Field()
    B: str = Field("x")
    C: str = Field(default="x")
    D: str = Field(default=...)
    E: list[str] = Field(default_factory=list)
    F: str = ...
    G: str = (
        "multi-line default"
    )`, "SECRET_KEY!pydantic(Settings)@4 DEBUG?pydantic(Settings)@5 JWT_SECRET_KEY!pydantic(Settings)@6 A!pydantic(Settings)@7 B?pydantic(Settings)@8 C?pydantic(Settings)@9 D!pydantic(Settings)@10 E?pydantic(Settings)@11 F!pydantic(Settings)@12 G?pydantic(Settings)@13"},
		{"v2 Optional without default is required", `from typing import Optional
from pydantic_settings import BaseSettings
class S(BaseSettings):
    A: Optional[str]
    B: str | None
    C: str | None = None`, "A!pydantic(S)@4 B!pydantic(S)@5 C?pydantic(S)@6"},
		{"v1 Optional without default is optional", `from typing import Optional
from pydantic import BaseSettings
class S(BaseSettings):
    A: Optional[str]
    B: str`, "A?pydantic(S)@4 B!pydantic(S)@5"},
		{"lower-case names are upper-cased", `from pydantic_settings import BaseSettings
class S(BaseSettings):
    database_url: str`, "DATABASE_URL!pydantic(S)@3"},
		{"prefix from model_config, set after the fields", `from pydantic_settings import BaseSettings, SettingsConfigDict
class S(BaseSettings):
    host: str
    model_config = SettingsConfigDict(env_prefix="db_")`, "DB_HOST!pydantic(S)@3"},
		{"case sensitive keeps the case", `from pydantic_settings import BaseSettings, SettingsConfigDict
class S(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="App_", case_sensitive=True)
    Host: str`, "App_Host!pydantic(S)@4"},
		{"v1 class Config", `from pydantic import BaseSettings
class S(BaseSettings):
    host: str
    class Config:
        env_prefix = "APP_"
        case_sensitive = False`, "APP_HOST!pydantic(S)@3"},
		{"aliases ignore the prefix", `from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
class S(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_")
    a: str = Field(alias="Database_Url")
    b: str = Field(validation_alias=AliasChoices("REDIS_URL", "CACHE_URL"))
    c: str = Field("x", validation_alias="C_NAME", alias="IGNORED")`,
			"DATABASE_URL!pydantic(S)@5 REDIS_URL!pydantic(S)|CACHE_URL@6 C_NAME?pydantic(S)@7"},
		{"v1 env= names, alias ignored", `from pydantic import BaseSettings, Field
class S(BaseSettings):
    a: str = Field(..., env="DATABASE_URL")
    b: str = Field(None, env=("K1", "K2"))
    c: str = Field(alias="IGNORED")`, "DATABASE_URL!pydantic(S)@3 K1?pydantic(S)|K2@4 C!pydantic(S)@5"},
		{"not fields", `from typing import ClassVar
from pydantic import computed_field, field_validator
from pydantic_settings import BaseSettings
class S(BaseSettings):
    """Settings. NOT_A_FIELD: str"""
    model_config = {"env_file": ".env"}
    _private: str
    registry: ClassVar[dict] = {}
    untyped = 5

    @field_validator("A", mode="before")
    @classmethod
    def check(cls, v: str) -> str:
        local: str = v
        return v

    @computed_field
    @property
    def url(self) -> str:
        return "x"

    class Inner:
        NESTED: str

    if TYPE_CHECKING:
        HIDDEN: str

    A: str`, "A!pydantic(S)@28"},
		{"subclasses in the same file", `from pydantic_settings import BaseSettings
class Base(BaseSettings, env_prefix="APP_"):
    a: str
class Mid(Base):
    b: str
class Leaf(Mid):
    model_config = {"env_prefix": ""}
    c: str
class Other:
    d: str`, "APP_A!pydantic(Base)@3 APP_B!pydantic(Mid)@5 C!pydantic(Leaf)@8"},
		{"dotted base", `import pydantic_settings
class S(pydantic_settings.BaseSettings):
    a: int`, "A!pydantic(S)@3"},
		{"one-line class", `from pydantic_settings import BaseSettings
class S(BaseSettings): pass
X: str`, ""},
		{"BaseModel is not settings", `from pydantic import BaseModel
class M(BaseModel):
    a: str`, ""},
		{"Annotated Field", `from typing import Annotated
from pydantic import Field
from pydantic_settings import BaseSettings
class S(BaseSettings):
    a: Annotated[str, Field(alias="ALIASED")]
    b: Annotated[list[str], Field(default_factory=list)]`, "ALIASED!pydantic(S)@5 B?pydantic(S)@6"},
		{"lookups inside a settings class", `import os
from pydantic_settings import BaseSettings
class S(BaseSettings):
    DATABASE_URL: str = os.getenv("DATABASE_URL")
    if DATABASE_URL and DATABASE_URL.startswith("postgres://"):
        DATABASE_URL = DATABASE_URL.replace("postgres://", "postgresql://", 1)`,
			"DATABASE_URL?pydantic(S)@4 DATABASE_URL?getenv@4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse("app/core/config.py", []byte(tt.src))
			if got := varsString(m.Vars); got != tt.want {
				t.Errorf("vars:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseOther(t *testing.T) {
	tests := []struct {
		name, path, src             string
		pools, workers, redirects   string
		createAll, rewrites, sslmod string
	}{
		{name: "engine kwargs", path: "db.py", src: `from sqlalchemy.ext.asyncio import create_async_engine
engine = create_async_engine(url, pool_size=20, max_overflow=0)
sync = create_engine(url,
    pool_size=settings.DB_POOL_SIZE)
pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10)`,
			pools: "pool_size=20@2 max_overflow=0@2 pool_size=?@4 min_size=1@5 max_size=10@5"},
		{name: "pool names", path: "config.py", src: `DB_POOL_SIZE = 15
class S(BaseSettings):
    db_max_overflow: int = Field(default=5)
    POOL_SIZE: int = int(os.getenv("POOL_SIZE", 8))
opts = {"pool_size": 3, "max_overflow": os.getenv("MAX_OVERFLOW", "7")}`,
			pools: "DB_POOL_SIZE=15@1 db_max_overflow=5@3 POOL_SIZE=8$POOL_SIZE@4 pool_size=3@5 max_overflow=7$MAX_OVERFLOW@5"},
		{name: "workers outside gunicorn config", path: "app/main.py", src: `import uvicorn
workers = 8
WEB_CONCURRENCY: int = 3
n = int(os.environ.get("WEB_CONCURRENCY", 2))
uvicorn.run(app, workers=2)
run(app, workers=5)`,
			workers: "WEB_CONCURRENCY=3@3 WEB_CONCURRENCY=2$WEB_CONCURRENCY@4 workers=2@5 workers=5@6"},
		{name: "gunicorn config", path: "deploy/gunicorn_conf.py", src: `import multiprocessing
workers = multiprocessing.cpu_count() * 2 + 1`, workers: "workers=?@2"},
		{name: "redirects", path: "main.py", src: `from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware
app.add_middleware(HTTPSRedirectMiddleware)
SECURE_SSL_REDIRECT = True
Talisman(app, force_https=False)
talisman = Talisman()
talisman.init_app(app, force_https=settings.FORCE_HTTPS)
SSLify(app)`, redirects: "HTTPSRedirectMiddleware@2 SECURE_SSL_REDIRECT@3 Talisman?@6 SSLify@7"},
		{name: "no redirects", path: "settings.py", src: `SECURE_SSL_REDIRECT = False
Talisman(app, force_https=False)
# app.add_middleware(HTTPSRedirectMiddleware)`},
		{name: "create_all", path: "main.py", src: `Base.metadata.create_all(bind=engine)
# Base.metadata.create_all(bind=engine)
async def startup():
    async with engine.begin() as conn:
        await conn.run_sync(
            SQLModel.metadata.create_all
        )
db.create_all()
def create_all(): pass`, createAll: "1 6 8"},
		{name: "url rewrites", path: "db.py", src: `url = os.environ["DATABASE_URL"]
if url.startswith("postgres://"):
    url = url.replace("postgres://", "postgresql+asyncpg://", 1)
u = make_url(url).set(drivername="postgresql+asyncpg")
fixed = re.sub(r"^postgres(ql)?://", "postgresql+asyncpg://", url)
built = PostgresDsn.build(scheme="postgresql+asyncpg", host="db")
made = URL.create(drivername="postgresql+asyncpg", host="db")
DEFAULT = "postgresql+asyncpg://user:pass@localhost/app"
USER = "postgres"`, rewrites: "2 3 4 5"},
		{name: "sslmode", path: "db.py", src: `url = url.replace("?sslmode=disable", "")
query.pop("sslmode", None)
if "sslmode" in query: pass
connect_args = {"sslmode": "require"}
DSN = "postgres://u:p@h/db?sslmode=require"`, sslmod: "1 2 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse(tt.path, []byte(tt.src))
			check := func(what, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s:\n got %s\nwant %s", what, got, want)
				}
			}
			check("pools", literalsString(m.PoolSizes), tt.pools)
			check("workers", literalsString(m.Workers), tt.workers)
			check("redirects", redirectsString(m.HTTPSRedirects), tt.redirects)
			check("create_all", linesString(m.CreateAll), tt.createAll)
			check("rewrites", linesString(m.URLRewrites), tt.rewrites)
			check("sslmode", linesString(m.SSLModeRewrites), tt.sslmod)
		})
	}
}

func TestParseFindings(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // line:col of each finding
		vars      string   // what is still recovered
	}{
		{"unterminated string", "x = \"abc\nDB = os.environ[\"DATABASE_URL\"]\n", []string{"1:5"}, "DATABASE_URL!environ@2"},
		{"unterminated triple string", "A = os.getenv(\"A\")\nB = '''never closed\n", []string{"2:5"}, "A?getenv@1"},
		{"unclosed bracket", "A = os.getenv(\"A\"\nB = 1\n", []string{"1:14"}, ""},
		{"extra bracket", "A = os.getenv(\"A\"))\n", []string{"1:19"}, "A?getenv@1"},
		{"mismatched bracket", "A = os.environ[\"A\")\n", []string{"1:19"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse("broken.py", []byte(tt.src))
			var got []string
			for _, f := range m.Findings {
				got = append(got, fmt.Sprintf("%d:%d", f.Line, f.Column))
				if f.Rule != RuleSyntax || f.Severity != report.Error || f.File != "broken.py" || f.Message == "" || f.Fix == "" {
					t.Errorf("malformed finding %+v", f)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("findings at %v, want %v (%+v)", got, tt.want, m.Findings)
			}
			if v := varsString(m.Vars); v != tt.vars {
				t.Errorf("vars: got %s, want %s", v, tt.vars)
			}
		})
	}
}

// TestTestdata parses the settings modules in testdata, checks each one's
// results and that every location points at the right text.
func TestTestdata(t *testing.T) {
	type want struct {
		vars, pools, workers, redirects, createAll, rewrites, sslmode string
		findings                                                      int
	}
	tests := map[string]want{
		"fastapi_config.py": {vars: "API_PREFIX?pydantic(Settings)@25 SECRET_KEY!pydantic(Settings)@26 " +
			"JWT_SECRET_KEY!pydantic(Settings)@27 ACCESS_TOKEN_EXPIRE_MINUTES?pydantic(Settings)@28 " +
			"ENVIRONMENT?pydantic(Settings)@29 SESSION_SALT?pydantic(Settings)@30 CORS_ORIGINS?pydantic(Settings)@32 " +
			"DATABASE_URL!pydantic(Settings)@41 REDIS_URL!pydantic(Settings)@42 SENTRY_DSN?pydantic(Settings)@43 " +
			"DB_POOL_SIZE?pydantic(Settings)@44 DB_MAX_OVERFLOW?pydantic(Settings)@45 " +
			"SMTP_PASSWORD!pydantic(Settings)|MAIL_PASSWORD@47 FIRST_SUPERUSER!pydantic(Settings)@48",
			pools: "DB_POOL_SIZE=5@44 DB_MAX_OVERFLOW=10@45"},
		"pydantic_v1.py": {vars: "APP_DEBUG?pydantic(Base)@7 DATABASE_URL!pydantic(Base)@8 APP_REDIS_URL?pydantic(Base)@9 " +
			"APP_SENTRY_DSN!pydantic(Production)@17 API_KEY?pydantic(Production)|LEGACY_API_KEY@18 APP_TOKEN!pydantic(Production)@19"},
		"prefixed_v2.py": {vars: "POSTGRES_HOST?pydantic(DatabaseSettings)@8 DB_PASSWORD!pydantic(DatabaseSettings)@9 " +
			"POSTGRES_DB!pydantic(DatabaseSettings)@10 svc_apiToken!pydantic(CaseSettings)@14 svc_timeout?pydantic(CaseSettings)@15"},
		"django_settings.py": {vars: "DEBUG?environs@15 SECRET_KEY!environs@16 ALLOWED_HOSTS?environs@17 DATABASE_URL!environs@19 " +
			"REDIS_URL?environs@21 EMAIL_HOST_PASSWORD?environs@22 FLY_APP_NAME!environ@27 SENTRY_DSN?environ.get@30",
			redirects: "SECURE_SSL_REDIRECT?@24"},
		"flask_decouple.py": {vars: "SECRET_KEY!decouple@6 DATABASE_URL?decouple@7 ALLOWED_HOSTS!decouple@8 DEBUG?decouple@9",
			pools: "pool_size=10@10 max_overflow=5@10", redirects: "Talisman@12", createAll: "17"},
		"gunicorn.conf.py": {vars: "HOST?getenv@4 PORT?getenv@5 WEB_CONCURRENCY?getenv@9",
			workers: "web_concurrency=2$WEB_CONCURRENCY@9 workers=?@11"},
		"gunicorn_simple.conf.py": {workers: "workers=4@2"},
		"database.py": {vars: "DB_POOL_SIZE?getenv@28 LOG_SQL_URL?environ.get@40",
			pools: "pool_size=20$DB_POOL_SIZE@28 max_overflow=30@29", createAll: "37", rewrites: "14 15 23 40", sslmode: "18"},
		"main.py": {vars: "REDIS_URL?starlette@10 SENTRY_DSN!starlette@11 RELEASE?starlette@12 DB_NAME?getenv@19",
			workers: "workers=4@23", redirects: "HTTPSRedirectMiddleware@14"},
		"environs_settings.py": {vars: "DEBUG?environs@6 SECRET_KEY!environs@7 DATABASE_URL!environs@8 PORT?environs@9 WEB_CONCURRENCY?environs@10",
			workers: "WEB_CONCURRENCY=3$WEB_CONCURRENCY@10"},
		"broken.py":        {findings: 2},
		"broken_string.py": {vars: "DATABASE_URL!environ@2", findings: 2},
	}
	files, err := filepath.Glob("testdata/*.py")
	if err != nil || len(files) != len(tests) {
		t.Fatalf("testdata has %d .py files, the table %d (%v)", len(files), len(tests), err)
	}
	for _, path := range files {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !LooksLikeSettings("app/"+base, data) {
				t.Errorf("LooksLikeSettings is false")
			}
			w, ok := tests[base]
			if !ok {
				t.Fatalf("no expectations for %s", base)
			}
			m := Parse("app/"+base, data)
			check := func(what, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s:\n got %s\nwant %s", what, got, want)
				}
			}
			check("vars", varsString(m.Vars), w.vars)
			check("pools", literalsString(m.PoolSizes), w.pools)
			check("workers", literalsString(m.Workers), w.workers)
			check("redirects", redirectsString(m.HTTPSRedirects), w.redirects)
			check("create_all", linesString(m.CreateAll), w.createAll)
			check("rewrites", linesString(m.URLRewrites), w.rewrites)
			check("sslmode", linesString(m.SSLModeRewrites), w.sslmode)
			if len(m.Findings) != w.findings {
				t.Errorf("%d findings, want %d: %+v", len(m.Findings), w.findings, m.Findings)
			}
			lines := strings.Split(string(data), "\n")
			for _, v := range m.Vars {
				at := textAt(t, lines, v.Loc)
				ok := strings.HasPrefix(at, "os.") || strings.HasPrefix(at, "env") || strings.HasPrefix(at, "config(")
				if v.Kind == KindPydantic {
					ok = fieldStart.MatchString(at)
				}
				if !ok {
					t.Errorf("%s at %v points at %q", v.Name, v.Loc, at)
				}
				if v.Loc.File != "app/"+base || v.Loc.EndLine < v.Loc.Line {
					t.Errorf("bad location %+v", v.Loc)
				}
			}
			for _, l := range m.CreateAll {
				if at := textAt(t, lines, l); !strings.Contains(strings.SplitN(at, "(", 2)[0], ".create_all") {
					t.Errorf("create_all at %v points at %q", l, at)
				}
			}
		})
	}
}

// fieldStart matches the start of an annotated field.
var fieldStart = regexp.MustCompile(`^[A-Za-z_]\w*\s*:`)

// textAt returns the rest of the line at loc.
func textAt(t *testing.T, lines []string, loc report.Location) string {
	t.Helper()
	if loc.Line < 1 || loc.Line > len(lines) {
		t.Errorf("line %d out of range", loc.Line)
		return ""
	}
	r := []rune(lines[loc.Line-1])
	if loc.Column < 1 || loc.Column > len(r) {
		t.Errorf("column %d out of range in %q", loc.Column, lines[loc.Line-1])
		return ""
	}
	return string(r[loc.Column-1:])
}

func TestColumnsCountCharacters(t *testing.T) {
	m := Parse("x.py", []byte("é = \"ü\"; x = os.environ[\"X\"]\n"))
	if len(m.Vars) != 1 || m.Vars[0].Loc.Column != 14 {
		t.Fatalf("got %+v, want one var at column 14", m.Vars)
	}
}

func TestLooksLikeSettings(t *testing.T) {
	tests := []struct {
		path, src string
		want      bool
	}{
		{"app/core/config.py", "class Settings(BaseSettings):\n    A: str\n", true},
		{"app/db.py", "engine = create_async_engine(url)\n", true},
		{"gunicorn.conf.py", "bind = '0.0.0.0:8000'\n", true},
		{"settings.py", "SECRET_KEY = env('SECRET_KEY')\n", true},
		{"app/util.py", "def add(a, b):\n    return a + b\n", false},
		{"README.md", "os.environ['X']\n", false},
		{".venv/lib/python3.12/site-packages/pkg/config.py", "os.environ['X']\n", false},
		{"venv/lib/x.py", "os.environ['X']\n", false},
		{`app\windows\config.py`, "os.getenv('X')\n", true},
		{"app/huge.py", "os.getenv('X')\n" + strings.Repeat("#", MaxSettingsSize), false},
	}
	for _, tt := range tests {
		if got := LooksLikeSettings(tt.path, []byte(tt.src)); got != tt.want {
			t.Errorf("LooksLikeSettings(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestCorpusMigrations parses the real Alembic migration files of the
// corpus: valid Python the reader must read without a finding.
func TestCorpusMigrations(t *testing.T) {
	dir := testutil.CorpusDir(t, "alembic")
	files, err := filepath.Glob(filepath.Join(dir, "versions", "*.py"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files in %s: %v", dir, err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := Parse(filepath.Base(path), data)
		if len(m.Findings) > 0 {
			t.Errorf("%s: %+v", filepath.Base(path), m.Findings)
		}
		if len(m.Vars) > 0 || len(m.CreateAll) > 0 {
			t.Errorf("%s: unexpected results %+v", filepath.Base(path), m)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.py")
	base := os.Getenv("DEPLOY_ACTION_CORPUS")
	if base == "" {
		base = filepath.Join(testutil.RepoRoot(f), "..", "shared", "corpus")
	}
	more, _ := filepath.Glob(filepath.Join(base, "alembic", "versions", "*.py"))
	seeds = append(seeds, more...)
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("f'{f\"{f'{x}'}\"}'\nclass A(BaseSettings):\n\tx: str = Field(\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := Parse("f.py", data)
		nlines := strings.Count(string(data), "\n") + 1
		locs := []report.Location{}
		for _, v := range m.Vars {
			locs = append(locs, v.Loc)
			if v.Name == "" && v.Kind != KindPydantic {
				t.Errorf("empty name: %+v", v)
			}
		}
		for _, l := range append(m.PoolSizes, m.Workers...) {
			locs = append(locs, l.Loc)
		}
		for _, r := range m.HTTPSRedirects {
			locs = append(locs, r.Loc)
		}
		locs = append(locs, m.CreateAll...)
		locs = append(locs, m.URLRewrites...)
		locs = append(locs, m.SSLModeRewrites...)
		for _, fd := range m.Findings {
			locs = append(locs, fd.Location)
		}
		for _, l := range locs {
			if l.Line < 1 || l.Line > nlines || l.Column < 1 || (l.EndLine != 0 && l.EndLine < l.Line) || l.EndLine > nlines {
				t.Errorf("bad location %+v (%d lines)", l, nlines)
			}
		}
	})
}

// BenchmarkParse parses the testdata modules, concatenated 50 times.
func BenchmarkParse(b *testing.B) {
	files, _ := filepath.Glob("testdata/*.py")
	var all []byte
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "broken") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, data...)
	}
	all = []byte(strings.Repeat(string(all), 50))
	b.SetBytes(int64(len(all)))
	for b.Loop() {
		Parse("app/all.py", all)
	}
}
