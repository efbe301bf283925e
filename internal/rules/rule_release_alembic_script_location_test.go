package rules

import (
	"strconv"
	"strings"
	"testing"
)

func TestReleaseAlembicScriptLocationCases(t *testing.T) {
	fly := func(rc string) string {
		return strings.Replace(relBaseFiles()["fly.toml"], "alembic upgrade head", rc, 1)
	}
	ini := func(loc string) string {
		return "[alembic]\nscript_location = " + loc + "\nsqlalchemy.url =\n"
	}
	tests := []struct {
		name    string
		changes map[string]string
		want    string // "" for no finding, else file:line
		msg     string
	}{
		{name: "here"},
		{name: "relative", changes: map[string]string{"alembic.ini": ini("alembic")}},
		{name: "absolute in the image", changes: map[string]string{"alembic.ini": ini("/app/alembic")}},
		{name: "absolute elsewhere", changes: map[string]string{"alembic.ini": ini("/srv/migrations")}, want: "alembic.ini:2", msg: "puts nothing there"},
		{name: "package resource", changes: map[string]string{"alembic.ini": ini("app:migrations")}},
		{name: "relative, run from another folder", changes: map[string]string{
			"fly.toml": fly("alembic -c backend/alembic.ini upgrade head"), "alembic.ini": "",
			"backend/alembic.ini": ini("migrations"), "backend/migrations/env.py": "import os\n"},
			want: "backend/alembic.ini:2", msg: "/app/migrations"},
		{name: "here, run from another folder", changes: map[string]string{
			"fly.toml": fly("alembic -c backend/alembic.ini upgrade head"), "alembic.ini": "",
			"backend/alembic.ini": ini("%(here)s/migrations"), "backend/migrations/env.py": "import os\n"}},
		{name: "missing folder", changes: map[string]string{"alembic.ini": ini("%(here)s/db/migrations")},
			want: "alembic.ini:2", msg: "db/migrations, which is not in the repository"},
		{name: "other section", changes: map[string]string{
			"fly.toml":    fly("alembic -n tenant upgrade head"),
			"alembic.ini": "[alembic]\nscript_location = %(here)s/alembic\n\n[tenant]\nscript_location = %(here)s/tenant\n"},
			want: "alembic.ini:5", msg: "tenant"},
		{name: "section without script_location", changes: map[string]string{
			"fly.toml": fly("alembic -n tenant upgrade head"), "alembic.ini": "[alembic]\nscript_location = %(here)s/alembic\n\n[tenant]\nsqlalchemy.url =\n"},
			want: "alembic.ini:4", msg: "No 'script_location' key found"},
		{name: "folder copied from a stage that lacks it", changes: map[string]string{
			"Dockerfile": "FROM python:3.12-slim AS build\nWORKDIR /src\nCOPY app/ ./app/\n\nFROM python:3.12-slim\nWORKDIR /app\nCOPY alembic.ini ./\nCOPY --from=build /src /app\n"},
			want: "alembic.ini:2", msg: "puts nothing there"},
		{name: "folder the Dockerfile copies but the repository lacks", changes: map[string]string{
			"alembic.ini": ini("%(here)s/pkg/migrations"),
			"Dockerfile":  "FROM python:3.12-slim\nWORKDIR /app\nCOPY alembic.ini ./\nCOPY pkg ./pkg\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := relTestRepo(t, relBaseFiles(), tt.changes)
			got := relCheckRule(t, ruleReleaseAlembicScriptLocation, p)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("want no finding, got %s: %s", got[0].Location, got[0].Message)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one finding, got %d: %+v", len(got), got)
			}
			if loc := got[0].File + ":" + strconv.Itoa(got[0].Line); loc != tt.want {
				t.Errorf("at %s, want %s", loc, tt.want)
			}
			if !strings.Contains(got[0].Message, tt.msg) {
				t.Errorf("message lacks %q: %s", tt.msg, got[0].Message)
			}
		})
	}
}

// TestReleaseAlembicScriptLocationCorpus: DannyMac180/ace-platform's
// script_location is %(here)s/ace_platform/db/migrations. The corpus keeps
// its Dockerfile, which copies ace_platform/, but not the package itself:
// the rule must not call the folder missing (in the real repository it is
// there), and it must not fire while alembic.ini itself is not in the
// image.
func TestReleaseAlembicScriptLocationCorpus(t *testing.T) {
	p := relCorpusRepo(t, "DannyMac180/ace-platform", "fly.toml")
	if got := relCheckRule(t, ruleReleaseAlembicScriptLocation, p); len(got) != 0 {
		t.Errorf("%s: %s", got[0].Location, got[0].Message)
	}
	// Flask-Migrate folders have no script_location: Flask-Migrate passes
	// the folder itself.
	for _, repo := range []string{"Moodyw03/docecho", "RoggerMS/Crunevo2"} {
		p := relCorpusRepo(t, repo, "fly.toml")
		if got := relCheckRule(t, ruleReleaseAlembicScriptLocation, p); len(got) != 0 {
			t.Errorf("%s: %s: %s", repo, got[0].Location, got[0].Message)
		}
	}
}
