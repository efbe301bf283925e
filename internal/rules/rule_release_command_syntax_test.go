package rules

import (
	"strings"
	"testing"
)

func TestReleaseCommandSyntaxCases(t *testing.T) {
	tests := []struct {
		rc    string // as written in fly.toml, between the quotes
		want  bool
		col   int // column in fly.toml (the value starts at column 22)
		title string
	}{
		{rc: "alembic upgrade head"},
		{rc: "python -m alembic upgrade head"},
		{rc: "sh -c 'alembic upgrade head && python -m app.seed'"},
		{rc: "bash -lc 'cd /app && alembic upgrade head'"},
		{rc: "alembic upgrade head # migrate"},
		{rc: "/app/bin/migrate"},
		{rc: "alembic upgrade 'head", want: true, col: 38, title: "release_command cannot be split into words"},
		{rc: `alembic upgrade \"head`, want: true, title: "release_command cannot be split into words"},
		{rc: "alembic upgrade head && python -m app.seed", want: true, col: 43, title: "release_command needs a shell"},
		{rc: "alembic upgrade head; python -m app.seed", want: true, col: 42, title: "release_command needs a shell"},
		{rc: "alembic upgrade head | tee /tmp/log", want: true, col: 43, title: "release_command needs a shell"},
		{rc: "alembic upgrade head > /tmp/log", want: true, col: 43, title: "release_command needs a shell"},
		{rc: "DATABASE_URL=$PG alembic upgrade head", want: true, col: 22, title: "release_command sets a variable the shell way"},
		{rc: "cd /app && alembic upgrade head", want: true, col: 30, title: "release_command needs a shell"},
		{rc: "exec alembic upgrade head", want: true, col: 22, title: "release_command starts with a shell builtin"},
		{rc: "source .venv/bin/activate", want: true, col: 22, title: "release_command starts with a shell builtin"},
	}
	for _, tt := range tests {
		t.Run(tt.rc, func(t *testing.T) {
			fly := "app = \"x\"\n\n[deploy]\n  release_command = \"" + tt.rc + "\"\n"
			p := relTestRepo(t, relBaseFiles(), map[string]string{"fly.toml": fly})
			got := relCheckRule(t, ruleReleaseCommandSyntax, p)
			if !tt.want {
				if len(got) != 0 {
					t.Fatalf("want no finding, got %s", got[0].Message)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one finding, got %d", len(got))
			}
			f := got[0]
			if f.File != "fly.toml" || f.Line != 4 || f.Title != tt.title {
				t.Errorf("got %s %q", f.Location, f.Title)
			}
			if tt.col != 0 && f.Column != tt.col {
				t.Errorf("column = %d, want %d", f.Column, tt.col)
			}
		})
	}
}

// TestReleaseCommandSyntaxFix checks the suggested sh -c wrapping.
func TestReleaseCommandSyntaxFix(t *testing.T) {
	if fix := relShellFix("alembic upgrade head && python seed.py"); !strings.Contains(fix, `sh -c 'alembic upgrade head && python seed.py'`) {
		t.Errorf("fix = %s", fix)
	}
	if fix := relShellFix("python -c 'import x' && alembic upgrade head"); strings.Contains(fix, "sh -c") {
		t.Errorf("a command with single quotes cannot be wrapped in sh -c '…': %s", fix)
	}
}

// TestReleaseCommandSyntaxCorpus: RamThakurplaneteyeInfra/cropeye_server_flyio
// runs `python enable_postgis_neon.py && python manage.py migrate --noinput`
// as its release_command. Fly starts python with `&&`, `python`,
// `manage.py`, ... as arguments of enable_postgis_neon.py, so the migrations
// never run.
func TestReleaseCommandSyntaxCorpus(t *testing.T) {
	p := relCorpusRepo(t, "RamThakurplaneteyeInfra/cropeye_server_flyio", "fly.toml")
	got := relCheckRule(t, ruleReleaseCommandSyntax, p)
	if len(got) != 1 || got[0].Location.String() != "fly.toml:34:52" || !strings.Contains(got[0].Message, "`python`") {
		t.Fatalf("want one finding at fly.toml:34:52 naming python, got %+v", got)
	}
	// The other Fly apps of the corpus that set a release_command are fine.
	for _, repo := range []string{"DannyMac180/ace-platform", "Moodyw03/docecho", "RoggerMS/Crunevo2", "planetarypraxis/smartforests", "flirtual/flirtual"} {
		p := relCorpusRepo(t, repo, "fly.toml")
		if got := relCheckRule(t, ruleReleaseCommandSyntax, p); len(got) != 0 {
			t.Errorf("%s: %s", repo, got[0].Message)
		}
	}
}

// TestReleaseCommandSyntaxRedacts checks no secret of the command reaches
// a finding.
func TestReleaseCommandSyntaxRedacts(t *testing.T) {
	secret := "s3cr3tP4ssw0rdXq9"
	for _, rc := range []string{
		"alembic -x dburl=postgresql://app:" + secret + "@db.internal/app upgrade head && python -m app.seed",
		"SECRET_KEY=" + secret + " alembic upgrade head",
		"python -m app.seed --api-key=" + secret + " && alembic upgrade head",
		"alembic upgrade 'head " + secret,
	} {
		fly := "app = \"x\"\n\n[deploy]\n  release_command = \"" + rc + "\"\n"
		p := relTestRepo(t, relBaseFiles(), map[string]string{"fly.toml": fly})
		got := relCheckRule(t, ruleReleaseCommandSyntax, p)
		if len(got) != 1 {
			t.Fatalf("%s: want one finding, got %d", rc, len(got))
		}
		if strings.Contains(got[0].Message+got[0].Fix+got[0].Title, secret) && !strings.HasSuffix(rc, secret) {
			t.Errorf("secret value in the finding: %s / %s", got[0].Message, got[0].Fix)
		}
	}
	if got := relRedact("alembic -x url=postgres://u:" + secret + "@h/db upgrade head"); strings.Contains(got, secret) {
		t.Errorf("relRedact kept the password: %s", got)
	}
}

// FuzzRelRedact checks masking never panics and never lets a URL password
// through.
func FuzzRelRedact(f *testing.F) {
	for _, s := range []string{
		"alembic upgrade head",
		"alembic -x url=postgres://u:pw1234567890@h/db upgrade head",
		"SECRET_KEY=abc alembic upgrade head && python -m seed",
		"python -c 'print(1)'\nexit 0",
		"=", "==", "A= B=", "\x00", "ü=ö",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		out := relRedact(cmd)
		if strings.Contains(cmd, "://u:pw1234567890@") && strings.Contains(out, "pw1234567890") {
			t.Errorf("password kept: %q", out)
		}
	})
}
