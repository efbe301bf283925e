package rules

import (
	"strings"
	"testing"
)

func TestReleaseDatabaseURLCases(t *testing.T) {
	fly := relBaseFiles()["fly.toml"]
	envPlain := "from alembic import context\n\nconfig = context.config\n"
	tests := []struct {
		name    string
		changes map[string]string
		want    string // the variable the notice names, "" for none
		msg     string
	}{
		{name: "env.py reads it", want: "DATABASE_URL", msg: "KeyError: 'DATABASE_URL'"},
		{name: "getenv with a default", changes: map[string]string{"alembic/env.py": "import os\n\nurl = os.getenv(\"DATABASE_URL\", \"postgresql://localhost/dev\")\n"},
			want: "DATABASE_URL"},
		{name: "another name", changes: map[string]string{"alembic/env.py": "import os\n\nurl = os.environ[\"SQLALCHEMY_DATABASE_URI\"]\n"},
			want: "SQLALCHEMY_DATABASE_URI"},
		{name: "ini interpolation, settings read it", changes: map[string]string{
			"alembic.ini": "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = %(DATABASE_URL)s\n", "alembic/env.py": envPlain,
			"app/config.py": "from decouple import config\n\nDATABASE_URL = config(\"DATABASE_URL\")\n"}, want: "DATABASE_URL", msg: "UndefinedValueError"},
		{name: "ini holds the URL", changes: map[string]string{
			"alembic.ini": "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = postgresql://app@db.internal/app\n", "alembic/env.py": envPlain,
			"app/config.py": "import os\n\nDATABASE_URL = os.environ[\"DATABASE_URL\"]\n"}},
		{name: "ini placeholder, settings with a default", changes: map[string]string{
			"alembic.ini": "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = driver://user:pass@localhost/dbname\n", "alembic/env.py": envPlain,
			"app/config.py": "import os\n\nDATABASE_URL = os.getenv(\"DATABASE_URL\", \"sqlite:///app.db\")\n"}},
		{name: "set in fly.toml", changes: map[string]string{"fly.toml": fly + "\n[env]\n  DATABASE_URL = \"postgresql://app@grupo-gad-db.flycast/app\"\n"}},
		{name: "set in the Dockerfile", changes: map[string]string{"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nENV DATABASE_URL=sqlite:////data/app.db\nCOPY . .\n"}},
		{name: "no alembic in the release", changes: map[string]string{"fly.toml": strings.Replace(fly, "alembic upgrade head", "python -m app.seed", 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := relTestRepo(t, relBaseFiles(), tt.changes)
			got := relCheckRule(t, ruleReleaseDatabaseURL, p)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("want no finding, got %s", got[0].Message)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one notice, got %d", len(got))
			}
			f := got[0]
			if f.Severity != "notice" || f.Location.String() != "fly.toml:4:3" || !strings.HasPrefix(f.Title, tt.want+" ") {
				t.Errorf("got %s %s %q", f.Severity, f.Location, f.Title)
			}
			if !strings.Contains(f.Message, "fly secrets set "+tt.want) || !strings.Contains(f.Message, tt.msg) {
				t.Errorf("message: %s", f.Message)
			}
		})
	}
}

// TestReleaseDatabaseURLCorpus: RoggerMS/Crunevo2's root alembic.ini sets
// `sqlalchemy.url = %(DATABASE_URL)s`, an interpolation its env.py must
// fill: that is no URL the release can use as it stands. Corpus inis with a
// literal URL (testdrivenio, Tetsuozxcmid) are.
func TestReleaseDatabaseURLCorpus(t *testing.T) {
	for repo, want := range map[string]bool{
		"RoggerMS/Crunevo2": false, "testdrivenio/fastapi-sqlmodel-alembic": true, "Tetsuozxcmid/irminsul-backend": true,
		"polarsource/polar": false, "mealie-recipes/mealie": false,
	} {
		p := relCorpusRepo(t, repo, "")
		usable := false
		for _, a := range p.Alembic {
			for _, sl := range a.Config.ScriptLocations() {
				usable = usable || relUsableURL(sl.SQLAlchemyURL.Value)
			}
		}
		if usable != want {
			t.Errorf("%s: usable URL in alembic.ini = %v, want %v", repo, usable, want)
		}
	}
}
