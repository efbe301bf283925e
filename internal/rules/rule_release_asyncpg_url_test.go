package rules

import (
	"strconv"
	"strings"
	"testing"
)

func TestReleaseAsyncpgURLCases(t *testing.T) {
	raw := "import os\n\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\nengine = create_async_engine(os.environ[\"DATABASE_URL\"])\n"
	tests := []struct {
		name    string
		changes map[string]string
		want    string // file:line, "" for none
		title   string
	}{
		{name: "rewritten in env.py"},
		{name: "raw", changes: map[string]string{"alembic/env.py": raw}, want: "alembic/env.py:5", title: "DATABASE_URL is not rewritten for asyncpg"},
		{name: "rewritten in the settings", changes: map[string]string{"alembic/env.py": "from app.config import settings\n",
			"app/config.py": "import os\n\nDATABASE_URL = os.environ[\"DATABASE_URL\"]\nif DATABASE_URL.startswith(\"postgres://\"):\n" +
				"    DATABASE_URL = DATABASE_URL.replace(\"postgres://\", \"postgresql+asyncpg://\", 1).replace(\"?sslmode=disable\", \"\")\n"}},
		{name: "scheme only", changes: map[string]string{"alembic/env.py": "import os\n\nURL = os.environ[\"DATABASE_URL\"].replace(\"postgres://\", \"postgresql+asyncpg://\")\n"},
			want: "alembic/env.py:3", title: "DATABASE_URL's sslmode reaches asyncpg"},
		{name: "psycopg", changes: map[string]string{"alembic/env.py": raw, "requirements.txt": "sqlalchemy==2.1.9\npsycopg[binary]==3.2.9\nalembic==1.20.1\n"}},
		{name: "asyncpg only for tests", changes: map[string]string{"alembic/env.py": raw, "requirements.txt": "",
			"pyproject.toml": "[project]\nname = \"x\"\nversion = \"1\"\ndependencies = [\"sqlalchemy\", \"psycopg2-binary\"]\n\n[dependency-groups]\ndev = [\"asyncpg\"]\n"}},
		{name: "asyncpg through an extra", changes: map[string]string{"alembic/env.py": raw, "requirements.txt": "databases[asyncpg]==0.9.0\nsqlalchemy==2.0.36\n"},
			want: "alembic/env.py:5", title: "DATABASE_URL is not rewritten for asyncpg"},
		{name: "app reads it, no release", changes: map[string]string{"alembic/env.py": "", "alembic.ini": "",
			"fly.toml": strings.Replace(relBaseFiles()["fly.toml"], "alembic upgrade head", "python -m app.seed", 1), "app/db.py": raw},
			want: "app/db.py:5", title: "DATABASE_URL is not rewritten for asyncpg"},
		{name: "asyncpg alone", changes: map[string]string{"alembic/env.py": "", "alembic.ini": "", "alembic/versions/29e2b3c8b942_create_units.py": "",
			"fly.toml":         strings.Replace(relBaseFiles()["fly.toml"], "alembic upgrade head", "python -m app.seed", 1),
			"requirements.txt": "fastapi==0.163.2\nasyncpg==0.32.0\n",
			"app/db.py":        "import asyncpg\nimport os\n\n\nasync def pool():\n    return await asyncpg.create_pool(os.environ[\"DATABASE_URL\"])\n"}},
		{name: "set in fly.toml", changes: map[string]string{"alembic/env.py": raw,
			"fly.toml": relBaseFiles()["fly.toml"] + "\n[env]\n  DATABASE_URL = \"postgresql+asyncpg://app@grupo-gad-db.flycast/app\"\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := relTestRepo(t, relBaseFiles(), tt.changes)
			got := relCheckRule(t, ruleReleaseAsyncpgURL, p)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("want no finding, got %s: %s", got[0].Location, got[0].Message)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one warning, got %d", len(got))
			}
			if loc := got[0].File + ":" + strconv.Itoa(got[0].Line); loc != tt.want || got[0].Title != tt.title || got[0].Severity != "warning" {
				t.Errorf("got %s %s %q", got[0].Severity, loc, got[0].Title)
			}
		})
	}
}
