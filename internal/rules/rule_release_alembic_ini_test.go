package rules

import (
	"strconv"
	"strings"
	"testing"
)

func TestReleaseAlembicIniCases(t *testing.T) {
	fly := func(rc string) string {
		return strings.Replace(relBaseFiles()["fly.toml"], "alembic upgrade head", rc, 1)
	}
	tests := []struct {
		name    string
		changes map[string]string
		want    string // "" for no finding, else file:line
		msg     string // a part of the message
	}{
		{name: "ok"},
		{name: "missing", changes: map[string]string{"alembic.ini": ""}, want: "fly.toml:4", msg: "the repository has no alembic.ini"},
		{name: "ignored directory", changes: map[string]string{".dockerignore": ".git\n\nalembic*\n"}, want: ".dockerignore:3", msg: "(`alembic*`)"},
		{name: "only the app copied", changes: map[string]string{"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY app/ ./app/\n"},
			want: "fly.toml:4", msg: "`COPY app/ ./app/` (Dockerfile:3)"},
		{name: "in a subfolder of the image", changes: map[string]string{"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY . ./src/\n"},
			want: "fly.toml:4", msg: "puts alembic.ini at /app/src/alembic.ini instead"},
		{name: "-c names the subfolder", changes: map[string]string{
			"fly.toml":   fly("alembic -c src/alembic.ini upgrade head"),
			"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY . ./src/\n"}},
		{name: "-c names a file that is not there", changes: map[string]string{"fly.toml": fly("alembic -c db/alembic.ini upgrade head")},
			want: "fly.toml:4", msg: "reads /app/db/alembic.ini"},
		{name: "flask folder copied", changes: map[string]string{
			"fly.toml": fly("flask db upgrade"), "alembic.ini": "", "migrations/alembic.ini": "[alembic]\n\n[loggers]\nkeys = root,flask_migrate\n",
			"migrations/env.py": "from flask import current_app\n"}},
		{name: "flask folder not copied", changes: map[string]string{
			"fly.toml": fly("flask db upgrade"), "alembic.ini": "", "migrations/alembic.ini": "[alembic]\n\n[loggers]\nkeys = root,flask_migrate\n",
			"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY app/ ./app/\n"}, want: "fly.toml:4", msg: "migrations/alembic.ini"},
		{name: "flask app chooses its folder", changes: map[string]string{
			"fly.toml": fly("flask db upgrade"), "alembic.ini": "",
			"app/__init__.py": "from flask_migrate import Migrate\n\nmigrate = Migrate(directory=\"db/migrations\")\n"}},
		{name: "not alembic", changes: map[string]string{"fly.toml": fly("python manage.py migrate"), "alembic.ini": ""}},
		{name: "script in the image", changes: map[string]string{
			"fly.toml": fly("/app/bin/release"), "bin/release": "#!/bin/sh\nset -e\nalembic upgrade head\n",
			"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY app/ ./app/\nCOPY bin/ ./bin/\n"}, want: "fly.toml:4", msg: "bin/release:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := relTestRepo(t, relBaseFiles(), tt.changes)
			got := relCheckRule(t, ruleReleaseAlembicIni, p)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("want no finding, got %s: %s", got[0].Location, got[0].Message)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one finding, got %d", len(got))
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

// TestReleaseAlembicIniCorpus: DannyMac180/ace-platform runs `alembic
// upgrade head` as its release_command. Its alembic.ini sits at the
// repository root, but the Dockerfile's deployed stage copies only
// ace_platform/, ace_core/ and pyproject.toml into /app, so the release
// machine finds no /app/alembic.ini. (fly.toml's `target = "production"`
// is not flyctl's key, so the last stage, `migrate`, is built; it inherits
// the same files.) A later version of that Dockerfile adds
// `COPY --chown=ace:ace alembic.ini ./`.
func TestReleaseAlembicIniCorpus(t *testing.T) {
	p := relCorpusRepo(t, "DannyMac180/ace-platform", "fly.toml")
	got := relCheckRule(t, ruleReleaseAlembicIni, p)
	if len(got) != 1 || got[0].Location.String() != "fly.toml:79:3" {
		t.Fatalf("want one finding at fly.toml:79:3, got %+v", got)
	}
	for _, part := range []string{"/app/alembic.ini", "`COPY ace_platform ./ace_platform` (Dockerfile:52)", "`COPY pyproject.toml ./` (Dockerfile:54)"} {
		if !strings.Contains(got[0].Message, part) {
			t.Errorf("message lacks %q: %s", part, got[0].Message)
		}
	}
	if !strings.Contains(got[0].Fix, "COPY alembic.ini /app/alembic.ini") {
		t.Errorf("fix: %s", got[0].Fix)
	}
	// The Flask-Migrate apps copy their migrations folder.
	for _, repo := range []string{"Moodyw03/docecho", "RoggerMS/Crunevo2"} {
		p := relCorpusRepo(t, repo, "fly.toml")
		if got := relCheckRule(t, ruleReleaseAlembicIni, p); len(got) != 0 {
			t.Errorf("%s: %s", repo, got[0].Message)
		}
	}
}
