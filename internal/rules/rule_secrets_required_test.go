package rules

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
)

func TestSecretsRequiredCases(t *testing.T) {
	const fly = "app = \"x\"\n\n[env]\n  LOG_LEVEL = \"info\"\n  site_name = \"x\"\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []string // file:line NAME
	}{
		{"pydantic fields", map[string]string{
			"fly.toml": fly,
			"app/config.py": "from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n" +
				"    SECRET_KEY: str\n    LOG_LEVEL: str\n    SITE_NAME: str\n    DEBUG: bool = False\n    API_BASE: str\n",
		}, []string{"app/config.py:5 SECRET_KEY", "app/config.py:9 API_BASE"}},
		{"os.environ is case-sensitive", map[string]string{
			"fly.toml":    fly,
			"app/main.py": "import os\nNAME = os.environ['SITE_NAME']\nLEVEL = os.environ['LOG_LEVEL']\n",
		}, []string{"app/main.py:2 SITE_NAME"}},
		{"one finding per name, at the definition", map[string]string{
			"fly.toml":      fly,
			"app/a.py":      "import os\nKEY = os.environ['SECRET_KEY']\n",
			"app/config.py": "from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n    SECRET_KEY: str\n",
			"app/z.py":      "import os\nKEY = os.environ['SECRET_KEY']\n",
		}, []string{"app/config.py:5 SECRET_KEY"}},
		{"lookups with defaults are optional", map[string]string{
			"fly.toml": fly,
			"app/main.py": "import os\nA = os.getenv('API_TOKEN')\nB = os.environ.get('REDIS_URL', 'redis://localhost')\n" +
				"from decouple import config\nC = config('SECRET_KEY', default='x')\n",
		}, nil},
		{"set by the Dockerfile or by Fly", map[string]string{
			"fly.toml":   fly,
			"Dockerfile": "FROM python:3.12-slim AS base\nENV WEB_CONCURRENCY=2\nFROM base\nENV APP_MODULE=app.main:app\n",
			"app/main.py": "import os\nW = os.environ['WEB_CONCURRENCY']\nM = os.environ['APP_MODULE']\nR = os.environ['FLY_REGION']\n" +
				"P = os.environ['PRIMARY_REGION']\nH = os.environ['HOME']\n",
		}, nil},
		{"build target stage", map[string]string{
			"fly.toml":    fly + "\n[build]\n  build-target = \"web\"\n",
			"Dockerfile":  "FROM python:3.12-slim AS web\nENV APP_MODULE=app.main:app\nFROM python:3.12-slim AS worker\nENV QUEUE=default\n",
			"app/main.py": "import os\nM = os.environ['APP_MODULE']\nQ = os.environ['QUEUE']\n",
		}, []string{"app/main.py:3 QUEUE"}},
		{"aliases", map[string]string{
			"fly.toml": fly + "  DB_DSN = \"x\"\n",
			"app/config.py": "from pydantic import AliasChoices, Field\nfrom pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n" +
				"    database_url: str = Field(validation_alias=AliasChoices('DATABASE_URL', 'DB_DSN'))\n",
		}, nil},
		{"tests are not the app", map[string]string{
			"fly.toml":          fly,
			"tests/conftest.py": "import os\nKEY = os.environ['TEST_SECRET_KEY']\n",
		}, nil},
		{"no fly.toml", map[string]string{
			"app/main.py": "import os\nKEY = os.environ['SECRET_KEY']\n",
		}, []string{"app/main.py:2 SECRET_KEY"}},
		{"alembic env.py", map[string]string{
			"fly.toml":    fly,
			"alembic.ini": "[alembic]\nscript_location = migrations\n",
			"migrations/env.py": "import os\nfrom alembic import context\n\nurl = os.environ.get('DATABASE_URL')\n" +
				"other = os.environ.get('ALEMBIC_TAG')\n",
			"migrations/versions/0001_init.py": "revision = '0001'\ndown_revision = None\n",
		}, []string{"migrations/env.py:4 DATABASE_URL"}},
		{"env.py outside alembic is ordinary", map[string]string{
			"fly.toml":   fly,
			"app/env.py": "import os\nurl = os.getenv('DATABASE_URL')\n",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := secWriteRepo(t, tt.files)
			fs := secRun(t, ruleSecretsRequired, dir)
			var got []string
			for _, f := range fs {
				if f.Severity != report.Notice {
					t.Errorf("%s: severity %s, want notice", f.Location, f.Severity)
				}
				name := strings.TrimSpace(f.Title[strings.LastIndex(f.Title, ":")+1:])
				got = append(got, fmt.Sprintf("%s:%d %s", f.File, f.Line, name))
				if !strings.Contains(f.Message, name) || !strings.Contains(f.Fix, name) {
					t.Errorf("finding does not name %s: %s | %s", name, f.Message, f.Fix)
				}
			}
			sort.Strings(got)
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				for _, f := range fs {
					t.Logf("%s: %s | %s", f.Location, f.Message, f.Fix)
				}
			}
		})
	}
}

func TestSecretsRequiredMessages(t *testing.T) {
	dir := secWriteRepo(t, map[string]string{
		"fly.toml": "app = \"x\"\n",
		"app/config.py": "from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n" +
			"    JWT_SECRET_KEY: str\n    DATABASE_URL: str\n    REDIS_URL: str\n    SITE_NAME: str\n",
	})
	want := map[string][]string{
		"JWT_SECRET_KEY": {"fly secrets set JWT_SECRET_KEY=", "pydantic ValidationError"},
		"DATABASE_URL":   {"fly postgres attach", "fly secrets set DATABASE_URL="},
		"REDIS_URL":      {"fly secrets set REDIS_URL="},
		"SITE_NAME":      {"Add it to [env]", `SITE_NAME = "<value>"`},
	}
	fs := secRun(t, ruleSecretsRequired, dir)
	if len(fs) != len(want) {
		t.Fatalf("got %d findings, want %d", len(fs), len(want))
	}
	for _, f := range fs {
		name := strings.TrimSpace(f.Title[strings.LastIndex(f.Title, ":")+1:])
		for _, w := range want[name] {
			if !strings.Contains(f.Message+" "+f.Fix, w) {
				t.Errorf("%s: %q missing from: %s | %s", name, w, f.Message, f.Fix)
			}
		}
	}
}

func TestSecretsURLNames(t *testing.T) {
	tests := []struct {
		name     string
		db, cred bool
	}{
		{"DATABASE_URL", true, true},
		{"SQLALCHEMY_DATABASE_URI", true, true},
		{"ASYNC_DATABASE_URL", true, true},
		{"DB_URL", true, true},
		{"POSTGRES_DSN", true, true},
		{"REDIS_URL", false, true},
		{"CELERY_BROKER_URL", false, true},
		{"SENTRY_DSN", false, true},
		{"FRONTEND_URL", false, false},
		{"DATABASE_NAME", false, false},
		{"URL", false, false},
	}
	for _, tt := range tests {
		if got := secIsDBURLName(tt.name); got != tt.db {
			t.Errorf("secIsDBURLName(%s) = %v", tt.name, got)
		}
		if got := secIsCredentialURLName(tt.name); got != tt.cred {
			t.Errorf("secIsCredentialURLName(%s) = %v", tt.name, got)
		}
	}
}
