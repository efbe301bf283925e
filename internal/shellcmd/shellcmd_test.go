package shellcmd

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"alembic upgrade head", []string{"alembic", "upgrade", "head"}},
		{"python manage.py migrate --noinput", []string{"python", "manage.py", "migrate", "--noinput"}},
		{`bash -c "alembic upgrade head && python seed.py"`, []string{"bash", "-c", "alembic upgrade head && python seed.py"}},
		{`sh -c 'echo "a b"'`, []string{"sh", "-c", `echo "a b"`}},
		{`echo a\ b "c\"d" 'e\f'`, []string{"echo", "a b", `c"d`, `e\f`}},
		{`gunicorn app:app --bind "0.0.0.0:$PORT"`, []string{"gunicorn", "app:app", "--bind", "0.0.0.0:$PORT"}},
		{`uvicorn main:app --port ${PORT:-8080}`, []string{"uvicorn", "main:app", "--port", "${PORT:-8080}"}},
		{`echo $(date)`, []string{"echo", "$(date)"}},
		{"/app/bin/migrate", []string{"/app/bin/migrate"}},
		{"alembic upgrade head # migrate", []string{"alembic", "upgrade", "head"}},
		{"pip install 'psycopg[binary]' *.whl", []string{"pip", "install", "psycopg[binary]", "*.whl"}},
		{"echo é 'ü'", []string{"echo", "é", "ü"}},
		{"a \\\n b", []string{"a", "b"}},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if err != nil {
			t.Errorf("Split(%q): unexpected error %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		in      string
		line    int
		col     int
		msgPart string
	}{
		{`alembic upgrade "head`, 1, 17, "unterminated double quote"},
		{`echo 'abc`, 1, 6, "unterminated single quote"},
		{`echo é 'abc`, 1, 8, "unterminated single quote"},
		{`echo $(date`, 1, 6, "command substitution"},
		{"alembic upgrade head && python seed.py", 1, 22, "`&&` joins two commands"},
		{"a || b", 1, 3, "`||`"},
		{"ps aux | grep x", 1, 8, "`|`"},
		{"alembic upgrade head; python seed.py", 1, 21, "`;`"},
		{"a\nb", 2, 1, "second command"},
		{"python seed.py > /tmp/log", 1, 16, "redirection `>`"},
		{"DEBUG=1 python seed.py", 1, 1, "VAR=value"},
		{"cd /app & x", 1, 9, "`&`"},
		{"(cd /app)", 1, 1, "compound command"},
		{"! false", 1, 1, "`!`"},
		{"if true; then x; fi", 1, 1, "compound"},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Split(%q) = %q, %v; want an *Error", tt.in, got, err)
			continue
		}
		if e.Line != tt.line || e.Col != tt.col || !strings.Contains(e.Msg, tt.msgPart) {
			t.Errorf("Split(%q) error = %d:%d %q, want %d:%d containing %q", tt.in, e.Line, e.Col, e.Msg, tt.line, tt.col, tt.msgPart)
		}
		if !strings.Contains(e.Error(), "column") {
			t.Errorf("Split(%q) error text %q does not say the column", tt.in, e.Error())
		}
	}
}

// cmdArgs returns the argv of each command.
func cmdArgs(cmds []Command) [][]string {
	var out [][]string
	for _, c := range cmds {
		out = append(out, c.Args)
	}
	return out
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   [][]string
	}{
		{"empty", "", nil},
		{"and-or", "apt-get update && apt-get install -y gcc || true",
			[][]string{{"apt-get", "update"}, {"apt-get", "install", "-y", "gcc"}, {"true"}}},
		{"semicolons and pipes", "set -ex; curl -sSL https://x | sh -; echo done",
			[][]string{{"set", "-ex"}, {"curl", "-sSL", "https://x"}, {"sh", "-"}, {"echo", "done"}}},
		{"subshell and block", "(cd /app && make) ; { pip install .; }",
			[][]string{{"cd", "/app"}, {"make"}, {"pip", "install", "."}}},
		{"if and for", `if [ -f requirements.txt ]; then pip install -r requirements.txt; else echo none; fi
for d in a b; do pip install -r "$d/requirements.txt"; done`,
			[][]string{{"[", "-f", "requirements.txt", "]"}, {"pip", "install", "-r", "requirements.txt"}, {"echo", "none"},
				{"pip", "install", "-r", "$d/requirements.txt"}}},
		{"sh -c string", `sh -c 'pip install x && alembic upgrade head'`,
			[][]string{{"pip", "install", "x"}, {"alembic", "upgrade", "head"}}},
		{"bash -lc nested", `exec bash -lc "sh -c 'uvicorn app:app --host 0.0.0.0'"`,
			[][]string{{"uvicorn", "app:app", "--host", "0.0.0.0"}}},
		{"bash options before -c", `bash -euo pipefail -c "pip install a"`,
			[][]string{{"pip", "install", "a"}}},
		{"sh -c dynamic", `sh -c "$CMD"`, [][]string{{"sh", "-c", "$CMD"}}},
		{"shell without -c", `sh ./start.sh`, [][]string{{"sh", "./start.sh"}}},
		{"assignment expansion", `DEPS="gcc libpq-dev" && apt-get install -y $DEPS && apt-get purge -y "$DEPS"`,
			[][]string{{"apt-get", "install", "-y", "gcc", "libpq-dev"}, {"apt-get", "purge", "-y", "gcc libpq-dev"}}},
		{"unknown variable", `apt-get install -y $BUILD_DEPS ${X:-y}`,
			[][]string{{"apt-get", "install", "-y", "$BUILD_DEPS", "${X:-y}"}}},
		{"command substitution", `V=$(python -V) && echo "$V"`,
			[][]string{{"python", "-V"}, {"echo", "$V"}}},
		{"env prefix", `ACCEPT_EULA=Y apt-get install -y msodbcsql18`,
			[][]string{{"apt-get", "install", "-y", "msodbcsql18"}}},
		{"export", `export PATH=/venv/bin:$PATH`, [][]string{{"export", "PATH=/venv/bin:$PATH"}}},
		{"heredoc", "cat > /f <<'EOF'\npip install nothing\nEOF\npip install real",
			[][]string{{"cat"}, {"pip", "install", "real"}}},
		{"quotes", `pip install "psycopg[binary]" 'uvicorn[standard]>=0.30'`,
			[][]string{{"pip", "install", "psycopg[binary]", "uvicorn[standard]>=0.30"}}},
		{"case", "case $x in a) pip install a;; *) pip install b;; esac",
			[][]string{{"pip", "install", "a"}, {"pip", "install", "b"}}},
		{"function", "f() { pip install a; }; f",
			[][]string{{"pip", "install", "a"}, {"f"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds, err := Commands(tt.script)
			if err != nil {
				t.Fatalf("Commands: %v", err)
			}
			if got := cmdArgs(cmds); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Commands(%q)\n got %q\nwant %q", tt.script, got, tt.want)
			}
			for _, c := range cmds {
				if len(c.Args) != len(c.Words) {
					t.Errorf("%q: %d args, %d words", c.Args, len(c.Args), len(c.Words))
				}
			}
		})
	}
}

func TestCommandsPositions(t *testing.T) {
	script := "apt-get update && apt-get install -y \\\n    libpq-dev \\\n    gcc\nbash -c 'pip install  x'"
	cmds, err := Commands(script)
	if err != nil {
		t.Fatal(err)
	}
	type pos struct{ line, col int }
	want := []struct {
		cmd   pos
		words map[string]pos
	}{
		{pos{1, 1}, map[string]pos{"update": {1, 9}}},
		{pos{1, 19}, map[string]pos{"install": {1, 27}, "libpq-dev": {2, 5}, "gcc": {3, 5}}},
		{pos{4, 10}, map[string]pos{"pip": {4, 10}, "x": {4, 23}}},
	}
	if len(cmds) != len(want) {
		t.Fatalf("got %d commands %q, want %d", len(cmds), cmdArgs(cmds), len(want))
	}
	for i, w := range want {
		c := cmds[i]
		if (pos{c.Line, c.Col}) != w.cmd {
			t.Errorf("command %q at %d:%d, want %v", c.Args, c.Line, c.Col, w.cmd)
		}
		for _, word := range c.Words {
			if p, ok := w.words[word.Value]; ok && (pos{word.Line, word.Col}) != p {
				t.Errorf("word %q at %d:%d, want %v", word.Value, word.Line, word.Col, p)
			}
			if script[word.Offset:word.Offset+len(word.Value)] != word.Value {
				t.Errorf("word %q: offset %d points at %q", word.Value, word.Offset, script[word.Offset:])
			}
		}
	}
}

func TestCommandsEnv(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "RUN_DEPS" {
			return "libpq5 curl", true
		}
		return "", false
	}
	cmds, err := CommandsEnv("apt-get install -y $RUN_DEPS $OTHER", env)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apt-get", "install", "-y", "libpq5", "curl", "$OTHER"}
	if len(cmds) != 1 || !reflect.DeepEqual(cmds[0].Args, want) {
		t.Fatalf("got %q, want %q", cmdArgs(cmds), want)
	}
	if w := cmds[0].Words[3]; !w.Expanded || w.Col != 20 {
		t.Errorf("expanded word = %+v, want Expanded at column 20", w)
	}
	if w := cmds[0].Words[5]; !w.Dynamic {
		t.Errorf("unknown variable word = %+v, want Dynamic", w)
	}
}

func TestCommandsError(t *testing.T) {
	_, err := Commands("apt-get install \\\n  gcc \"oops")
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || e.Col != 7 {
		t.Fatalf("err = %v, want an *Error at 2:7", err)
	}
	if !strings.HasPrefix(e.Error(), "line 2, column 7: unterminated double quote") {
		t.Errorf("message %q", e.Error())
	}
}

func TestUnwrap(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"uvicorn app:app", []string{"uvicorn", "app:app"}},
		{"exec uvicorn app:app", []string{"uvicorn", "app:app"}},
		{"exec -a name gunicorn x", []string{"gunicorn", "x"}},
		{"env A=B C=D python app.py", []string{"python", "app.py"}},
		{"/usr/bin/env -i -u X python3 app.py", []string{"python3", "app.py"}},
		{`env -S "python -u app.py" --flag`, []string{"python", "-u", "app.py", "--flag"}},
		{`sh -c "alembic upgrade head && uvicorn app:app"`, []string{"alembic", "upgrade", "head"}},
		{`/bin/bash -ec 'exec gunicorn app:app'`, []string{"gunicorn", "app:app"}},
		{"python -m uvicorn app:app", []string{"python", "-m", "uvicorn", "app:app"}},
		{"opentelemetry-instrument --traces_exporter console --service_name=x uvicorn main:app", []string{"uvicorn", "main:app"}},
		{"ddtrace-run gunicorn app", []string{"gunicorn", "app"}},
		{"tini -- uvicorn app", []string{"uvicorn", "app"}},
		{"/sbin/tini -g -p SIGTERM -- python app.py", []string{"python", "app.py"}},
		{"dumb-init --rewrite 15:2 -- celery worker", []string{"celery", "worker"}},
		{"dumb-init python app.py", []string{"python", "app.py"}},
		{"gosu app:app uvicorn x", []string{"uvicorn", "x"}},
		{"su-exec 1000 python app.py", []string{"python", "app.py"}},
		{"newrelic-admin run-program gunicorn app", []string{"gunicorn", "app"}},
		{"doppler run -p proj -c prd -- python app.py", []string{"python", "app.py"}},
		{"doppler run python app.py", []string{"python", "app.py"}},
		{"poetry run uvicorn app:app", []string{"uvicorn", "app:app"}},
		{"uv run --with x --frozen uvicorn app:app", []string{"uvicorn", "app:app"}},
		{"uv run -- fastapi run", []string{"fastapi", "run"}},
		{"uv run -m alembic upgrade head", []string{"python", "-m", "alembic", "upgrade", "head"}},
		{"pipenv run gunicorn app", []string{"gunicorn", "app"}},
		{"exec tini -- gosu app sh -c 'exec uvicorn main:app'", []string{"uvicorn", "main:app"}},
		{"exec", []string{"exec"}},
		{"tini --", []string{"tini", "--"}},
		{"poetry install", []string{"poetry", "install"}},
		{`sh -c "unterminated`, nil},
	}
	for _, tt := range tests {
		args, err := Split(tt.in)
		if err != nil {
			if tt.want != nil {
				t.Errorf("Split(%q): %v", tt.in, err)
			}
			continue
		}
		if got := Unwrap(args); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Unwrap(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Unwrap([]string{"sh", "-c", "echo 'unterminated"}); !reflect.DeepEqual(got, []string{"sh", "-c", "echo 'unterminated"}) {
		t.Errorf("Unwrap of a bad sh -c string = %q, want it unchanged", got)
	}
	if got := Unwrap(nil); got != nil {
		t.Errorf("Unwrap(nil) = %q", got)
	}
}

// runScripts returns the text of every RUN in the corpus Dockerfiles, as a
// rough sample of real shell.
func runScripts(t testing.TB) []string {
	dir := testutil.CorpusDir(t, "dockerfiles")
	files, err := filepath.Glob(filepath.Join(dir, "*Dockerfile*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "RUN "); ok && !strings.HasSuffix(s, "\\") && !strings.Contains(s, "<<") {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestCommandsCorpusLines(t *testing.T) {
	n := 0
	for _, s := range runScripts(t) {
		if strings.HasPrefix(s, "[") {
			continue
		}
		if _, err := Commands(s); err != nil {
			t.Errorf("Commands(%q): %v", s, err)
		}
		n++
	}
	t.Logf("%d one-line RUN scripts parsed", n)
}

func FuzzCommands(f *testing.F) {
	for _, s := range []string{"a && b", `sh -c 'x "y"'`, "X=1; echo $X", "echo 'oops", "bash -c \"sh -c 'a'\""} {
		f.Add(s)
	}
	for _, s := range runScripts(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cmds, err := Commands(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 {
				t.Fatalf("Commands(%q): bad error %#v", s, err)
			}
			return
		}
		for _, c := range cmds {
			if len(c.Args) != len(c.Words) {
				t.Fatalf("args/words mismatch in %q", s)
			}
			for _, w := range c.Words {
				if w.Offset < 0 || w.Offset > len(s) || w.Line < 1 || w.Col < 1 {
					t.Fatalf("bad position %+v in %q", w, s)
				}
			}
			_ = Unwrap(c.Args)
		}
		if args, err := Split(s); err == nil {
			_ = Unwrap(args)
		}
	})
}

func TestArgvCommands(t *testing.T) {
	tests := []struct {
		args   []string
		want   [][]string
		script int
	}{
		{[]string{"uvicorn", "app:app"}, [][]string{{"uvicorn", "app:app"}}, -1},
		{[]string{"sh", "-c", "alembic upgrade head && exec uvicorn app:app"},
			[][]string{{"alembic", "upgrade", "head"}, {"exec", "uvicorn", "app:app"}}, 2},
		{[]string{"/usr/bin/dumb-init", "--", "/bin/bash", "-c", "python a.py; python b.py"},
			[][]string{{"python", "a.py"}, {"python", "b.py"}}, 4},
		{[]string{"sh", "-c", "echo 'bad"}, [][]string{{"sh", "-c", "echo 'bad"}}, -1},
		{nil, nil, -1},
	}
	for _, tt := range tests {
		cmds, script := ArgvCommands(tt.args)
		if got := cmdArgs(cmds); !reflect.DeepEqual(got, tt.want) || script != tt.script {
			t.Errorf("ArgvCommands(%q) = %q, %d; want %q, %d", tt.args, got, script, tt.want, tt.script)
		}
	}
}
