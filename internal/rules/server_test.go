package rules

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// loadFiles writes files into a temporary project and loads it.
func loadFiles(t testing.TB, files map[string]string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := project.Load(dir, project.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// describe renders a group's servers as "kind host:port... wN", one per
// server, for comparisons; a socket shows as its path and an unknown host
// or port as "?".
func describe(g *processGroup) string {
	var out []string
	for _, s := range g.Servers {
		var bs []string
		for _, a := range s.Binds {
			switch {
			case a.Socket != "":
				bs = append(bs, a.Socket)
			default:
				h, p := a.Host, fmt.Sprint(a.Port)
				if h == "" {
					h = "?"
				}
				if a.Port == 0 {
					p = "?"
				}
				bs = append(bs, h+":"+p)
			}
		}
		w := fmt.Sprint(s.Workers)
		if s.Workers == 0 {
			w = "?"
		}
		out = append(out, fmt.Sprintf("%s %s w%s", s.Kind, strings.Join(bs, ","), w))
	}
	if g.Fronted {
		out = append(out, "fronted")
	}
	return strings.Join(out, "; ")
}

const testFly = "app = \"demo\"\n\n[http_service]\n  internal_port = 8080\n"

func dockerfileWith(lines ...string) string {
	return "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n" + strings.Join(lines, "\n") + "\n"
}

func TestServerGroups(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string // servers of the first group
	}{
		{"uvicorn defaults", map[string]string{"Dockerfile": dockerfileWith(`CMD ["uvicorn", "app.main:app"]`)}, "uvicorn 127.0.0.1:8000 w1"},
		{"uvicorn flags with =", map[string]string{"Dockerfile": dockerfileWith(`CMD uvicorn app.main:app --host=0.0.0.0 --port=8080 --workers=3`)}, "uvicorn 0.0.0.0:8080 w3"},
		{"uvicorn $PORT from fly env", map[string]string{
			"fly.toml":   testFly + "\n[env]\n  PORT = \"9000\"\n",
			"Dockerfile": dockerfileWith(`CMD uvicorn app.main:app --host 0.0.0.0 --port $PORT`)}, "uvicorn 0.0.0.0:9000 w1"},
		{"fly env wins over Dockerfile ENV", map[string]string{
			"fly.toml":   testFly + "\n[env]\n  PORT = \"8080\"\n",
			"Dockerfile": dockerfileWith(`ENV PORT=8000`, `CMD uvicorn app.main:app --host 0.0.0.0 --port ${PORT}`)}, "uvicorn 0.0.0.0:8080 w1"},
		{"default of ${PORT:-8000}", map[string]string{"Dockerfile": dockerfileWith(`CMD ["sh", "-c", "uvicorn main:app --host 0.0.0.0 --port ${PORT:-8000}"]`)}, "uvicorn 0.0.0.0:8000 w1"},
		{"unresolvable port", map[string]string{"Dockerfile": dockerfileWith(`CMD uvicorn main:app --host 0.0.0.0 --port $APP_PORT`)}, "uvicorn 0.0.0.0:? w1"},
		{"exec form does not expand", map[string]string{
			"fly.toml":   testFly + "\n[env]\n  PORT = \"8080\"\n",
			"Dockerfile": dockerfileWith(`CMD ["uvicorn", "main:app", "--port", "8080", "--host", "$HOST"]`)}, "uvicorn ?:8080 w1"},
		{"uvicorn unix socket", map[string]string{"Dockerfile": dockerfileWith(`CMD ["uvicorn", "main:app", "--uds", "/tmp/app.sock"]`)}, "uvicorn unix:/tmp/app.sock w1"},
		{"UVICORN_HOST", map[string]string{"Dockerfile": dockerfileWith(`ENV UVICORN_HOST=0.0.0.0 UVICORN_PORT=8080`, `CMD ["uvicorn", "main:app"]`)}, "uvicorn 0.0.0.0:8080 w1"},
		{"WEB_CONCURRENCY", map[string]string{
			"fly.toml":   testFly + "\n[env]\n  WEB_CONCURRENCY = \"4\"\n",
			"Dockerfile": dockerfileWith(`CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8080"]`)}, "uvicorn 0.0.0.0:8080 w4"},
		{"python -m uvicorn behind poetry", map[string]string{"Dockerfile": dockerfileWith(`CMD ["poetry", "run", "python", "-m", "uvicorn", "main:app", "--host", "::", "--port", "80"]`)}, "uvicorn :::80 w1"},
		{"gunicorn default", map[string]string{"Dockerfile": dockerfileWith(`CMD ["gunicorn", "mysite.wsgi"]`)}, "gunicorn 127.0.0.1:8000 w1"},
		{"gunicorn default with PORT", map[string]string{"Dockerfile": dockerfileWith(`ENV PORT=8080`, `CMD ["gunicorn", "mysite.wsgi"]`)}, "gunicorn 0.0.0.0:8080 w1"},
		{"gunicorn default on an unknown base image", map[string]string{"Dockerfile": "FROM acme/django-base:3\nCMD [\"gunicorn\", \"mysite.wsgi\"]\n"}, "gunicorn ?:? w1"},
		{"gunicorn binds", map[string]string{"Dockerfile": dockerfileWith(`CMD gunicorn -b :8000 -b0.0.0.0:9000 --bind [::]:7000 --bind=unix:/run/g.sock -w 3 app:app`)}, "gunicorn 0.0.0.0:8000,0.0.0.0:9000,:::7000,unix:/run/g.sock w3"},
		{"gunicorn host only", map[string]string{"Dockerfile": dockerfileWith(`CMD gunicorn -b 0.0.0.0 app:app`)}, "gunicorn 0.0.0.0:8000 w1"},
		{"GUNICORN_CMD_ARGS", map[string]string{"Dockerfile": dockerfileWith(`ENV GUNICORN_CMD_ARGS="--bind=0.0.0.0:7000 --workers 3"`, `CMD ["gunicorn", "app:app"]`)}, "gunicorn 0.0.0.0:7000 w3"},
		{"gunicorn.conf.py in the working directory", map[string]string{
			"Dockerfile":       dockerfileWith(`CMD ["gunicorn", "app:app"]`),
			"gunicorn.conf.py": "import os\nbind = \"0.0.0.0:\" + os.environ.get(\"PORT\", \"8081\")\nworkers = int(os.environ.get(\"WEB_CONCURRENCY\", 3))\n"}, "gunicorn 0.0.0.0:8081 w3"},
		{"gunicorn -c config with a list", map[string]string{
			"Dockerfile":            dockerfileWith(`CMD ["gunicorn", "-c", "config/gunicorn.py", "app:app"]`),
			"config/gunicorn.py":    "bind = [\"0.0.0.0:8080\", \"[::]:8080\"]\nworkers = 2\n",
			"config/other_thing.py": ""}, "gunicorn 0.0.0.0:8080,:::8080 w2"},
		{"gunicorn config not in the repository", map[string]string{"Dockerfile": dockerfileWith(`CMD ["gunicorn", "-c", "/etc/gunicorn.py", "app:app"]`)}, "gunicorn ?:? w?"},
		{"hypercorn", map[string]string{"Dockerfile": dockerfileWith(`CMD hypercorn app:app -b 0.0.0.0:8080 -w 2`)}, "hypercorn 0.0.0.0:8080 w2"},
		{"hypercorn default", map[string]string{"Dockerfile": dockerfileWith(`CMD hypercorn app:app`)}, "hypercorn 127.0.0.1:8000 w1"},
		{"daphne", map[string]string{"Dockerfile": dockerfileWith(`CMD daphne -b 0.0.0.0 -p 8080 mysite.asgi:application`)}, "daphne 0.0.0.0:8080 w1"},
		{"daphne long flags", map[string]string{"Dockerfile": dockerfileWith(`CMD daphne --bind 0.0.0.0 --port 8080 mysite.asgi:application`)}, "daphne 0.0.0.0:8080 w1"},
		{"daphne default", map[string]string{"Dockerfile": dockerfileWith(`CMD daphne mysite.asgi:application`)}, "daphne 127.0.0.1:8000 w1"},
		{"granian", map[string]string{"Dockerfile": dockerfileWith(`CMD granian --interface asgi app:app --workers 2`)}, "granian 127.0.0.1:8000 w2"},
		{"fastapi run", map[string]string{"Dockerfile": dockerfileWith(`CMD ["fastapi", "run", "--workers", "4"]`)}, "fastapi run 0.0.0.0:8000 w4"},
		{"fastapi dev", map[string]string{"Dockerfile": dockerfileWith(`CMD ["fastapi", "dev", "app/main.py"]`)}, "fastapi dev 127.0.0.1:8000 w1"},
		{"flask run", map[string]string{"Dockerfile": dockerfileWith(`CMD ["flask", "--app", "app", "run"]`)}, "flask run 127.0.0.1:5000 w1"},
		{"python -m flask run short flags", map[string]string{"Dockerfile": dockerfileWith(`CMD python -m flask run -h 0.0.0.0 -p 8080`)}, "flask run 0.0.0.0:8080 w1"},
		{"FLASK_RUN_HOST", map[string]string{"Dockerfile": dockerfileWith(`ENV FLASK_RUN_HOST=0.0.0.0 FLASK_RUN_PORT=8080`, `CMD flask run`)}, "flask run 0.0.0.0:8080 w1"},
		{"runserver default", map[string]string{"Dockerfile": dockerfileWith(`CMD python manage.py runserver`)}, "manage.py runserver 127.0.0.1:8000 w1"},
		{"runserver port only", map[string]string{"Dockerfile": dockerfileWith(`CMD python manage.py runserver 8080`)}, "manage.py runserver 127.0.0.1:8080 w1"},
		{"runserver 0:port", map[string]string{"Dockerfile": dockerfileWith(`CMD python3 manage.py runserver 0:8080 --noreload`)}, "manage.py runserver 0.0.0.0:8080 w1"},
		{"executable manage.py", map[string]string{"Dockerfile": dockerfileWith(`CMD ["./manage.py", "runserver", "0.0.0.0:8080"]`)}, "manage.py runserver 0.0.0.0:8080 w1"},
		{"waitress", map[string]string{"Dockerfile": dockerfileWith(`CMD waitress-serve --listen=*:8080 app:app`)}, "waitress-serve *:8080 w1"},
		{"migrate then serve", map[string]string{"Dockerfile": dockerfileWith(`CMD ["/bin/bash", "-c", "python manage.py migrate && exec gunicorn --bind :8080 -w 2 mysite.wsgi"]`)}, "gunicorn 0.0.0.0:8080 w2"},
		{"tini entrypoint", map[string]string{"Dockerfile": dockerfileWith(`ENTRYPOINT ["tini", "--"]`, `CMD gunicorn --bind 0.0.0.0:8080 app:app`)}, "gunicorn 0.0.0.0:8080 w1"},
		{"server entrypoint takes CMD", map[string]string{"Dockerfile": dockerfileWith(`ENTRYPOINT ["uvicorn"]`, `CMD ["app:app", "--host", "0.0.0.0", "--port", "8080"]`)}, "uvicorn 0.0.0.0:8080 w1"},
		{"shell-form entrypoint ignores CMD", map[string]string{"Dockerfile": dockerfileWith(`ENTRYPOINT uvicorn app:app --host 0.0.0.0 --port 7000`, `CMD ["ignored"]`)}, "uvicorn 0.0.0.0:7000 w1"},
		{"entrypoint script runs CMD", map[string]string{
			"Dockerfile":    dockerfileWith(`ENTRYPOINT ["./entrypoint.sh"]`, `CMD ["gunicorn", "-b", "0.0.0.0:8080", "app:app"]`),
			"entrypoint.sh": "#!/bin/sh\nexec \"$@\"\n"}, "gunicorn 0.0.0.0:8080 w1"},
		{"start script", map[string]string{
			"Dockerfile":       "FROM python:3.12\nWORKDIR /srv\nCOPY scripts/ /srv/bin/\nCMD [\"bash\", \"bin/start.sh\"]\n",
			"scripts/start.sh": "#!/bin/bash\npython manage.py migrate\nexec uvicorn app:app --host 0.0.0.0 --port 8080\n"}, "uvicorn 0.0.0.0:8080 w1"},
		{"nginx in front", map[string]string{"Dockerfile": dockerfileWith(`CMD service nginx start && uvicorn app:app --port 8000`)}, "uvicorn 127.0.0.1:8000 w1; fronted"},
		{"python script with uvicorn.run", map[string]string{
			"Dockerfile": dockerfileWith(`CMD ["python", "main.py"]`),
			"main.py":    "import os\nimport uvicorn\nfrom app import app\n\nif __name__ == \"__main__\":\n    uvicorn.run(\"app:app\", host=\"0.0.0.0\", port=int(os.environ.get(\"PORT\", 8080)), workers=2)\n"}, "uvicorn.run() 0.0.0.0:8080 w2"},
		{"flask script with app.run", map[string]string{
			"Dockerfile": dockerfileWith(`CMD ["python", "app.py"]`),
			"app.py":     "from flask import Flask\n\napp = Flask(__name__)\n\nif __name__ == '__main__':\n    app.run(debug=True)\n"}, "app.run() 127.0.0.1:5000 w1"},
		{"script passing **kwargs", map[string]string{
			"Dockerfile": dockerfileWith(`CMD ["python", "run.py"]`),
			"run.py":     "import uvicorn\nfrom app.config import server\n\nuvicorn.run(\"app:app\", **server)\n"}, "uvicorn.run() ?:? w1"},
		{"script without a server call", map[string]string{
			"Dockerfile": dockerfileWith(`CMD ["python", "bot.py"]`),
			"bot.py":     "print('hello')\n"}, ""},
		{"fly process replaces CMD", map[string]string{
			"fly.toml":   "app = \"demo\"\n\n[processes]\n  web = \"gunicorn app:app --bind 0.0.0.0:8080 --workers 3\"\n",
			"Dockerfile": dockerfileWith(`CMD ["gunicorn", "app:app"]`)}, "gunicorn 0.0.0.0:8080 w3"},
		{"fly process with parentheses (no shell)", map[string]string{
			"fly.toml":   "app = \"demo\"\n\n[processes]\n  app = \"gunicorn -b 0.0.0.0:8080 'main:create_app()'\"\n",
			"Dockerfile": dockerfileWith(`CMD ["true"]`)}, "gunicorn 0.0.0.0:8080 w1"},
		{"experimental cmd", map[string]string{
			"fly.toml":   "app = \"demo\"\n\n[experimental]\n  cmd = [\"uvicorn\", \"app:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8081\"]\n",
			"Dockerfile": dockerfileWith(`CMD ["gunicorn", "app:app"]`)}, "uvicorn 0.0.0.0:8081 w1"},
		{"experimental entrypoint alone", map[string]string{
			"fly.toml":   "app = \"demo\"\n\n[experimental]\n  entrypoint = [\"uvicorn\", \"app:app\"]\n",
			"Dockerfile": "FROM python:3.12\n"}, "uvicorn 127.0.0.1:8000 w1"},
		{"build target", map[string]string{
			"fly.toml":   "app = \"demo\"\n\n[build]\n  build-target = \"prod\"\n",
			"Dockerfile": "FROM python:3.12 AS prod\nCMD [\"uvicorn\", \"app:app\", \"--host\", \"0.0.0.0\"]\n\nFROM prod AS dev\nCMD [\"uvicorn\", \"app:app\", \"--reload\"]\n"}, "uvicorn 0.0.0.0:8000 w1"},
		{"celery is no server", map[string]string{"Dockerfile": dockerfileWith(`CMD celery -A app worker`)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.files
			if _, ok := files["fly.toml"]; !ok {
				files["fly.toml"] = testFly
			}
			p := loadFiles(t, files)
			gs := serverGroups(p)
			got := ""
			if len(gs) > 0 {
				got = describe(gs[0])
			}
			if got != tt.want {
				t.Errorf("servers = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestServerLocations checks that facts point at the word to change.
func TestServerLocations(t *testing.T) {
	p := loadFiles(t, map[string]string{
		"fly.toml":   "app = \"demo\"\n\n[processes]\n  web = \"uv run gunicorn --bind=127.0.0.1:8080 -w 2 app:app\"\n  api = \"bash -c 'python manage.py migrate && uvicorn api:app --port 9000'\"\n",
		"Dockerfile": "FROM python:3.12\nCMD [\"uvicorn\", \\\n     \"app:app\", \"--host\", \"127.0.0.1\"]\n",
	})
	gs := serverGroups(p)
	if len(gs) != 2 {
		t.Fatalf("got %d groups, want 2", len(gs))
	}
	web, api := gs[0].Servers[0], gs[1].Servers[0]
	if got := web.Loc.String(); got != "fly.toml:4:17" {
		t.Errorf("gunicorn at %s, want fly.toml:4:17", got)
	}
	if got := web.Binds[0].HostLoc.String(); got != "fly.toml:4:33" {
		t.Errorf("bind host at %s, want fly.toml:4:33 (after --bind=)", got)
	}
	if got := web.Binds[0].PortLoc.String(); got != "fly.toml:4:43" {
		t.Errorf("bind port at %s, want fly.toml:4:43", got)
	}
	if got := web.WorkersLoc.String(); got != "fly.toml:4:51" {
		t.Errorf("workers at %s, want fly.toml:4:51", got)
	}
	if got := api.Binds[0].PortLoc.String(); got != "fly.toml:5:70" {
		t.Errorf("uvicorn --port value at %s, want fly.toml:5:70", got)
	}

	p = loadFiles(t, map[string]string{
		"fly.toml":   testFly,
		"Dockerfile": "FROM python:3.12\nCMD [\"uvicorn\", \\\n     \"app:app\", \"--host\", \"127.0.0.1\"]\n",
	})
	gs = serverGroups(p)
	if got := gs[0].Servers[0].Binds[0].HostLoc.String(); got != "Dockerfile:3:28" {
		t.Errorf("host of a CMD continued on a second line at %s, want Dockerfile:3:28", got)
	}
}

func TestShlexSplit(t *testing.T) {
	tests := []struct{ in, want string }{
		{`gunicorn -b 0.0.0.0 'main:create_app()'`, `gunicorn|-b|0.0.0.0|main:create_app()`},
		{`bash -c "a && b"`, `bash|-c|a && b`},
		{`echo "a\"b" c\ d`, `echo|a"b|c d`},
		{`  spaced   out  `, `spaced|out`},
	}
	for _, tt := range tests {
		var got []string
		for _, tok := range shlexSplit(tt.in) {
			got = append(got, tok.value)
			if !strings.HasPrefix(tt.in[tok.offset:], string(tt.in[tok.offset])) {
				t.Errorf("bad offset %d", tok.offset)
			}
		}
		if strings.Join(got, "|") != tt.want {
			t.Errorf("shlexSplit(%q) = %q, want %q", tt.in, strings.Join(got, "|"), tt.want)
		}
	}
}

func TestRunEnvExpand(t *testing.T) {
	p := loadFiles(t, map[string]string{
		"fly.toml":   "app = \"demo\"\n\n[env]\n  PORT = \"8080\"\n  EMPTY = \"\"\n",
		"Dockerfile": "FROM python:3.12\nENV HOST=0.0.0.0\n",
	})
	env := newServerReader(p).env
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"$PORT", "8080", true},
		{"${HOST}:${PORT}", "0.0.0.0:8080", true},
		{"${MISSING:-7000}", "7000", true},
		{"${EMPTY:-7000}", "7000", true},
		{"${EMPTY-7000}", "", true},
		{"$MISSING", "$MISSING", false},
		{"$(nproc)", "$(nproc)", false},
	}
	for _, tt := range tests {
		got, ok := env.expand(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("expand(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// runRuleFiles runs one rule over a temporary project made of files.
func runRuleFiles(t *testing.T, id string, files map[string]string) []report.Finding {
	t.Helper()
	r := Lookup(id)
	if r == nil {
		t.Fatalf("no rule %s", id)
	}
	fs := runOne(r, loadFiles(t, files))
	for _, f := range fs {
		if f.Title == "" || f.Message == "" || f.Fix == "" || utf8.RuneCountInString(f.Title) > 60 {
			t.Errorf("%s: finding lacks a title, message or fix, or its title is too long: %+v", id, f)
		}
	}
	return fs
}

// at renders findings as sorted "file:line severity" strings.
func at(fs []report.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, expectLine(f))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// corpusRepo rebuilds one repository of the corpus (fly.toml configs,
// Dockerfiles and dependency files at their original paths) and loads it
// with the given fly.toml.
func corpusRepo(t *testing.T, repo, flyPath string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"flytoml", "dockerfiles"} {
		base := testutil.CorpusDir(t, sub)
		data, err := os.ReadFile(filepath.Join(base, "SOURCES.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, "\t")
			if len(f) < 3 || f[1] != repo {
				continue
			}
			if strings.HasSuffix(f[2], ".toml") && strings.Contains(path.Base(f[2]), "fly") && f[2] != flyPath {
				continue
			}
			content, err := os.ReadFile(filepath.Join(base, f[0]))
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, filepath.FromSlash(f[2]))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	p, err := project.Load(dir, project.Options{Config: filepath.Join(dir, filepath.FromSlash(flyPath))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// corpusConfigs lists every (repository, fly.toml path) of the corpus.
func corpusConfigs(t *testing.T) [][2]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.CorpusDir(t, "flytoml"), "SOURCES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 || f[0] == "file" {
			continue
		}
		out = append(out, [2]string{f[1], f[2]})
	}
	return out
}

// serverRules are the rules built on server.go.
var serverRules = []string{
	"runtime-bind-localhost", "runtime-port-mismatch", "runtime-check-timing", "runtime-kill-timeout",
	"runtime-memory", "networking-https-redirect-check", "networking-no-service", "networking-tls-handler",
}

// TestServerRulesCorpus runs the runtime and networking rules over every
// real repository of the corpus, rebuilt at its original paths. Every error
// must be a real defect of that repository, listed here with why.
func TestServerRulesCorpus(t *testing.T) {
	realDefects := map[string]string{
		// CMD ["uvicorn", "main:app"] on python:3.8 with no UVICORN_HOST
		// or UVICORN_PORT: uvicorn listens on 127.0.0.1:8000 while
		// [[services]] internal_port = 8080.
		"Andrewwango/open-set-resnet runtime-bind-localhost api/Dockerfile:9": "uvicorn without --host",
		"Andrewwango/open-set-resnet runtime-port-mismatch api/fly.toml:15":   "uvicorn on 8000, internal_port 8080",
	}
	seen := map[string]bool{}
	for _, rc := range corpusConfigs(t) {
		p := corpusRepo(t, rc[0], rc[1])
		for _, id := range serverRules {
			for _, f := range runOne(Lookup(id), p) {
				if f.Rule == "" || f.Title == "" || f.Message == "" || f.Fix == "" {
					t.Errorf("%s: incomplete finding %+v", rc[0], f)
				}
				if f.Severity != report.Error {
					continue
				}
				key := fmt.Sprintf("%s %s %s:%d", rc[0], f.Rule, f.File, f.Line)
				if _, ok := realDefects[key]; !ok {
					t.Errorf("error finding on a real file that is not a known defect: %s: %s", key, f.Message)
				}
				seen[key] = true
			}
		}
	}
	for k := range realDefects {
		if !seen[k] {
			t.Errorf("known defect not found: %s", k)
		}
	}
}

// loadExample loads a folder of the repository's examples/.
func loadExample(t *testing.T, name string) *project.Project {
	t.Helper()
	p, err := project.Load(filepath.Join(testutil.RepoRoot(t), "examples", filepath.FromSlash(name)), project.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServerRulesExamples: the sample app passes every rule of this file
// without an error or warning, and each broken variant of these rules
// gives exactly the findings of its expect.txt.
func TestServerRulesExamples(t *testing.T) {
	p := loadExample(t, "grupo-gad")
	for _, id := range serverRules {
		for _, f := range runOne(Lookup(id), p) {
			if f.Severity != report.Notice {
				t.Errorf("grupo-gad: %s %s: %s", f.Rule, f.Location, f.Message)
			}
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(testutil.RepoRoot(t), "examples", "broken", "*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "expect.txt"))
		if err != nil {
			continue
		}
		var want []string
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Fields(l); len(f) == 2 && slicesContains(serverRules, f[0]) {
				want = append(want, f[0]+" "+f[1])
			}
		}
		p := loadExample(t, "broken/"+filepath.Base(dir))
		var got []string
		for _, id := range serverRules {
			for _, f := range runOne(Lookup(id), p) {
				if f.Severity != report.Notice {
					got = append(got, fmt.Sprintf("%s %s:%d", f.Rule, f.File, f.Line))
				}
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\nwant %q\ngot  %q", filepath.Base(dir), want, got)
		}
	}
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestParseBind(t *testing.T) {
	p := loadFiles(t, map[string]string{"fly.toml": "app = \"demo\"\n\n[env]\n  PORT = \"8080\"\n"})
	sr := newServerReader(p)
	tests := []struct{ in, want string }{
		{"0.0.0.0:$PORT", "0.0.0.0:8080"},
		{":8000", "0.0.0.0:8000"},
		{"0.0.0.0", "0.0.0.0:8000"},
		{"[::]:9000", ":::9000"},
		{"[::]", ":::8000"},
		{"$BIND", "?:?"},
		{"0.0.0.0:${APP_PORT}", "0.0.0.0:?"},
		{"${HOST}:9000", "?:9000"},
		{"unix:/run/app.sock", "unix:/run/app.sock"},
		{"fd://3", "fd://3"},
	}
	for _, tt := range tests {
		a := sr.parseBind(word{Value: tt.in}, 8000)
		got := a.Socket
		if got == "" {
			h, port := a.Host, fmt.Sprint(a.Port)
			if h == "" {
				h = "?"
			}
			if a.Port == 0 {
				port = "?"
			}
			got = h + ":" + port
		}
		if got != tt.want {
			t.Errorf("parseBind(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzServerCommand feeds command lines (seeded with every CMD and
// ENTRYPOINT of the corpus Dockerfiles and every [processes] command of the
// corpus fly.toml files) and Python snippets to the readers of server.go:
// they must never panic, and offsets must stay inside their input.
func FuzzServerCommand(f *testing.F) {
	for _, sub := range []string{"dockerfiles", "flytoml"} {
		files, _ := filepath.Glob(filepath.Join(testutil.CorpusDir(f, sub), "*"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(data), "\n") {
				line = strings.TrimSpace(line)
				switch {
				case strings.HasPrefix(line, "CMD "), strings.HasPrefix(line, "ENTRYPOINT "):
					f.Add(line[strings.Index(line, " ")+1:])
				case strings.Contains(line, "gunicorn") || strings.Contains(line, "uvicorn") || strings.Contains(line, "bind"):
					f.Add(line)
				}
			}
		}
	}
	f.Add(`uvicorn.run("app:app", host="0.0.0.0", port=int(os.environ.get("PORT", 8080)))`)
	f.Add(`bind = f"0.0.0.0:{os.getenv('PORT', '8000')}"`)
	p := loadFiles(f, map[string]string{"fly.toml": testFly, "Dockerfile": dockerfileWith(`CMD ["true"]`)})
	f.Fuzz(func(t *testing.T, cmd string) {
		sr := newServerReader(p)
		toks := shlexSplit(cmd)
		cl := make(cmdLine, len(toks))
		for i, tok := range toks {
			if tok.offset < 0 || tok.offset >= len(cmd) {
				t.Fatalf("offset %d outside %q", tok.offset, cmd)
			}
			cl[i] = word{Value: tok.value}
		}
		g := &processGroup{}
		sr.scan(g, []cmdLine{cl})
		sr.gunicornConf("g.py", cmd)
		pyStrings(sr, cmd)
		sr.pyInt(cmd)
		sr.env.expand(cmd)
		if i := strings.IndexByte(cmd, '('); i >= 0 {
			if end := matchParen(cmd, i); end >= 0 {
				splitArgs(cmd, i+1, end)
			}
		}
		if len(cl) > 0 {
			sr.parseBind(cl[0], 8000)
		}
	})
}
