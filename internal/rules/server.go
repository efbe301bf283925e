package rules

// server.go answers, for the runtime and networking rules, one question:
// what web server does each process group of the app run, on which host and
// port, with how many workers? It reads the command each group starts with
// (fly.toml [processes], else the Dockerfile's ENTRYPOINT + CMD of the stage
// that is deployed, or [experimental] cmd/entrypoint), follows shell
// wrappers, `sh -c` strings and start-up scripts of the repository, and
// recognises uvicorn, gunicorn, hypercorn, daphne, granian, waitress,
// `fastapi run|dev`, `flask run`, Django's runserver and a Python script
// calling uvicorn.run / app.run. Every fact keeps the place it was read
// from, so that a finding can point at the word to change.

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/shellcmd"
)

// processGroup is one process group of the app and the servers its command
// starts.
type processGroup struct {
	// Name is the process group ("app" without [processes]).
	Name string
	// Source says where the command comes from, for messages, e.g.
	// `the "web" process in fly.toml [processes]` or "the Dockerfile CMD".
	Source string
	// Loc is the command: the [processes] line, or the CMD/ENTRYPOINT.
	Loc report.Location
	// Command is the command as written, shortened for messages.
	Command string
	// Servers are the web servers the command starts (several when a
	// script starts different servers in different branches).
	Servers []*webServer
	// Fronted is true when the command also starts a reverse proxy or a
	// process manager (nginx, caddy, supervisord, ...), which may be what
	// listens on internal_port, the Python server sitting behind it.
	Fronted bool
}

// webServer is one web server invocation.
type webServer struct {
	// Kind names the server as users know it: "uvicorn", "gunicorn",
	// "fastapi run", "flask run", "manage.py runserver", "uvicorn.run()".
	Kind string
	// Loc is the server's command word (or the call in a Python file).
	Loc report.Location
	// Binds are the addresses it listens on, explicit or its defaults.
	Binds []listenAddr
	// Workers is the number of worker processes; 0 when unknown.
	Workers int
	// WorkersFrom says where Workers comes from, e.g. "--workers 8",
	// "WEB_CONCURRENCY=4 (fly.toml [env])", "gunicorn's default".
	WorkersFrom string
	// WorkersLoc is where the worker count is written (Loc for a default).
	WorkersLoc report.Location
	// Supervisor is true when a parent process (gunicorn's arbiter,
	// uvicorn's multiprocess manager) runs beside the workers.
	Supervisor bool
}

// listenAddr is one address a server listens on.
type listenAddr struct {
	// Host is the interface ("0.0.0.0", "127.0.0.1", "::"); "" when it
	// cannot be known.
	Host string
	// Port is the TCP port; 0 when it cannot be known.
	Port int
	// Socket is set when the server listens on a unix socket or an
	// inherited file descriptor rather than a TCP port.
	Socket string
	// Implicit is true when no flag sets the address: it is the server's
	// default (or comes from its config file or environment).
	Implicit bool
	// From says where the address comes from when it is not on the
	// command line, e.g. "gunicorn's default", "gunicorn.conf.py".
	From string
	// HostLoc and PortLoc are where the host and the port are written.
	HostLoc, PortLoc report.Location
	// Text is the address as written ("0.0.0.0:8080", "--host 127.0.0.1"),
	// or as the default reads ("127.0.0.1:8000").
	Text string
}

// localOnly reports whether the address only accepts connections from the
// machine itself.
func (a listenAddr) localOnly() bool {
	if a.Socket != "" || a.Host == "" {
		return false
	}
	h := strings.Trim(strings.ToLower(a.Host), "[]")
	return h == "localhost" || h == "::1" || h == "ip6-localhost" || strings.HasPrefix(h, "127.")
}

// tcpPort returns the port when the address is a TCP port that is known.
func (a listenAddr) tcpPort() (int, bool) {
	return a.Port, a.Socket == "" && a.Port > 0
}

// serverGroups returns every process group of p with the servers its
// command starts. Groups whose command cannot be found are left out.
func serverGroups(p *project.Project) []*processGroup {
	if p.Fly == nil && p.Dockerfile == nil {
		return nil
	}
	sr := newServerReader(p)
	var out []*processGroup
	cfg := p.Fly
	if cfg != nil && len(cfg.ProcessKeys) > 0 {
		for _, name := range cfg.ProcessKeys {
			v := cfg.Processes[name]
			if strings.TrimSpace(v.V) == "" {
				// An empty command runs the image's CMD.
				if g := sr.imageGroup(name); g != nil {
					out = append(out, g)
				}
				continue
			}
			out = append(out, sr.processGroup(name, v))
		}
		return out
	}
	name := flytoml.AppProcess
	if cfg != nil {
		name = cfg.DefaultProcess()
	}
	if g := sr.imageGroup(name); g != nil {
		out = append(out, g)
	}
	return out
}

// routedGroups returns the process groups a service sends traffic to.
func routedGroups(cfg *flytoml.Config, s flytoml.Service) []string {
	if len(s.Processes) > 0 {
		return s.Processes
	}
	return []string{cfg.DefaultProcess()}
}

// servicesFor returns the TCP services that route to the process group.
func servicesFor(cfg *flytoml.Config, group string) []flytoml.Service {
	var out []flytoml.Service
	for _, s := range cfg.AllServices() {
		if strings.EqualFold(s.Protocol.V, "udp") {
			continue
		}
		if slices.Contains(routedGroups(cfg, s), group) {
			out = append(out, s)
		}
	}
	return out
}

// serverReader holds what reading commands needs: the project, the stage
// that is deployed and the environment the machine runs with.
type serverReader struct {
	p     *project.Project
	stage *dockerfile.Stage
	env   runEnv
	depth int
	// envKnown is true when the image's environment is all in the
	// Dockerfile: its root base image is a plain OS or Python image that
	// sets no server variable (PORT, UVICORN_HOST, GUNICORN_CMD_ARGS...).
	// Otherwise defaults that such variables change are not trusted.
	envKnown bool
}

// plainImages are base images known not to set variables that change a
// server's address.
var plainImages = map[string]bool{
	"library/python": true, "library/debian": true, "library/ubuntu": true, "library/alpine": true,
	"library/buildpack-deps": true, "library/fedora": true, "library/amazonlinux": true,
	"library/busybox": true, "astral-sh/uv": true, "library/pypy": true, "library/rockylinux": true,
	"library/almalinux": true, "distroless/python3-debian12": true, "distroless/python3-debian11": true,
}

// imageEnvKnown reports whether the stage's root base image is a plain one.
func imageEnvKnown(st *dockerfile.Stage) bool {
	if st == nil {
		return false
	}
	root := st
	if anc := st.Ancestors(); len(anc) > 0 {
		root = anc[len(anc)-1]
	}
	if root.Image.IsZero() {
		return false
	}
	return plainImages[root.Image.Repository]
}

func newServerReader(p *project.Project) *serverReader {
	sr := &serverReader{p: p, env: runEnv{fly: map[string]flytoml.Value[string]{}}}
	if p.Dockerfile != nil {
		target := ""
		if p.Fly != nil && p.Fly.Build != nil && p.Fly.Build.Target.Set {
			target = p.Fly.Build.Target.V
		}
		sr.stage = p.Dockerfile.Target(target)
	}
	if p.Fly != nil {
		sr.env.fly = p.Fly.Env
	}
	if sr.stage != nil {
		sr.env.image = sr.stage.EffectiveEnv()
	}
	sr.envKnown = imageEnvKnown(sr.stage)
	return sr
}

// runEnv is the environment of a machine: fly.toml [env] over the image's
// ENV (secrets are not known).
type runEnv struct {
	fly   map[string]flytoml.Value[string]
	image []dockerfile.EnvVar
}

// get returns the value of a variable and where it is set.
func (e runEnv) get(name string) (value, where string, ok bool) {
	if v, ok := e.fly[name]; ok && v.Set {
		return v.V, "fly.toml [env]", true
	}
	for i := len(e.image) - 1; i >= 0; i-- {
		if e.image[i].Name == name {
			return e.image[i].Value, "Dockerfile ENV", true
		}
	}
	return "", "", false
}

var varRef = lazyre.New(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))`)

// expand resolves $VAR, ${VAR}, ${VAR:-default} and ${VAR-default} in s
// from the machine's environment. ok is false when a variable (or any
// other expansion) cannot be resolved.
func (e runEnv) expand(s string) (string, bool) {
	if !strings.Contains(s, "$") {
		return s, true
	}
	ok := true
	out := varRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		name, op, def := sub[1], sub[2], sub[3]
		if name == "" {
			name = sub[4]
		}
		v, _, found := e.get(name)
		switch {
		case found && (v != "" || op != ":-" && op != ":="):
			return v
		case op != "":
			return def
		}
		ok = false
		return m
	})
	if strings.ContainsAny(out, "$`") {
		ok = false
	}
	return out, ok
}

// word is one argument with where it is written.
type word struct {
	Value string
	Loc   report.Location
}

// cmdLine is one simple command.
type cmdLine []word

func (c cmdLine) args() []string {
	out := make([]string, len(c))
	for i, w := range c {
		out[i] = w.Value
	}
	return out
}

// unwrap strips wrappers (exec, env, tini, poetry run, ...) as
// shellcmd.Unwrap does, keeping the words' positions.
func (c cmdLine) unwrap() cmdLine {
	if len(c) == 0 {
		return c
	}
	args := c.args()
	rest := shellcmd.Unwrap(args)
	if len(rest) <= len(args) && slices.Equal(rest, args[len(args)-len(rest):]) {
		return c[len(args)-len(rest):]
	}
	// Unwrap went into a `sh -c` string: no positions inside it.
	out := make(cmdLine, len(rest))
	for i, a := range rest {
		out[i] = word{Value: a, Loc: c[0].Loc}
	}
	return out
}

// pureWrapper reports whether c only wraps the command that follows it
// (ENTRYPOINT ["tini", "--"]).
func pureWrapper(c cmdLine) bool {
	if len(c) == 0 {
		return true
	}
	args := append(c.args(), "\x00next")
	rest := shellcmd.Unwrap(args)
	return len(rest) == 1 && rest[0] == "\x00next"
}

// dockerCommand returns the simple commands of a CMD or ENTRYPOINT, each
// word placed in the Dockerfile.
func dockerCommand(c *dockerfile.Command) []cmdLine {
	if c == nil {
		return nil
	}
	if !c.Exec {
		cmds, err := shellcmd.Commands(c.Raw)
		if err != nil {
			return []cmdLine{fixedWords(c.Argv, c.Loc)}
		}
		out := make([]cmdLine, 0, len(cmds))
		for _, sc := range cmds {
			var cl cmdLine
			for _, w := range sc.Words {
				cl = append(cl, word{Value: w.Value, Loc: c.Location(w.Offset)})
			}
			out = append(out, cl)
		}
		return out
	}
	if _, script := shellcmd.ArgvCommands(c.Argv); script >= 0 {
		out := make([]cmdLine, 0, len(c.Commands))
		for _, sc := range c.Commands {
			var cl cmdLine
			for _, w := range sc.Words {
				cl = append(cl, word{Value: w.Value, Loc: c.Location(w.Offset)})
			}
			out = append(out, cl)
		}
		return out
	}
	offs := jsonStringOffsets(c.Raw)
	if len(offs) != len(c.Argv) {
		return []cmdLine{fixedWords(c.Argv, c.Loc)}
	}
	cl := make(cmdLine, len(c.Argv))
	for i, a := range c.Argv {
		cl[i] = word{Value: a, Loc: c.Location(offs[i])}
	}
	return []cmdLine{cl}
}

// execArgv returns the exec-form argv of a command as one line (the
// arguments an ENTRYPOINT receives from CMD).
func execArgv(c *dockerfile.Command) cmdLine {
	if c == nil {
		return nil
	}
	if !c.Exec {
		// Docker hands a shell-form CMD to the ENTRYPOINT as sh -c "...".
		return cmdLine{{Value: "/bin/sh", Loc: c.Loc}, {Value: "-c", Loc: c.Loc}, {Value: c.Raw, Loc: c.Loc}}
	}
	offs := jsonStringOffsets(c.Raw)
	cl := make(cmdLine, len(c.Argv))
	for i, a := range c.Argv {
		loc := c.Loc
		if len(offs) == len(c.Argv) {
			loc = c.Location(offs[i])
		}
		cl[i] = word{Value: a, Loc: loc}
	}
	return cl
}

func fixedWords(args []string, loc report.Location) cmdLine {
	cl := make(cmdLine, len(args))
	for i, a := range args {
		cl[i] = word{Value: a, Loc: loc}
	}
	return cl
}

// jsonStringOffsets returns the byte offset of the first character of
// every string of a JSON array (the exec form of CMD).
func jsonStringOffsets(raw string) []int {
	var offs []int
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		j := i + 1
		for j < len(raw) && raw[j] != '"' {
			if raw[j] == '\\' {
				j++
			}
			j++
		}
		var s string
		if j >= len(raw) || json.Unmarshal([]byte(raw[i:j+1]), &s) != nil {
			return nil
		}
		offs = append(offs, i+1)
		i = j
	}
	return offs
}

// flyCommand returns the simple commands of a fly.toml command string,
// each word placed in fly.toml when the string can be found on its line.
// Fly splits the string as flyctl does (shlex, no shell): `&&` or `()`
// are plain arguments, unless the command is `sh -c SCRIPT`, whose script
// a shell runs.
func (sr *serverReader) flyCommand(v flytoml.Value[string]) []cmdLine {
	start, src, placed := sr.valueStart(v)
	at := func(off int) report.Location {
		// The offset holds in the file only while the source reads as
		// the value (no escape before it).
		if placed && off <= len(v.V) && strings.HasPrefix(src, v.V[:off]) {
			return report.At(v.Loc.File, v.Loc.Line, start+utf8.RuneCountInString(v.V[:off]))
		}
		return v.Loc
	}
	toks := shlexSplit(v.V)
	args := make([]string, len(toks))
	argv := make(cmdLine, len(toks))
	for i, t := range toks {
		args[i] = t.value
		argv[i] = word{Value: t.value, Loc: at(t.offset)}
	}
	cmds, script := shellcmd.ArgvCommands(args)
	if script < 0 {
		return []cmdLine{argv}
	}
	// Offsets inside the script are relative to its text, which starts
	// after the opening quote of its word when it holds no escapes.
	base := toks[script].offset
	if q := v.V[base]; q == '"' || q == '\'' {
		base++
	}
	exact := strings.HasPrefix(v.V[base:], args[script])
	out := make([]cmdLine, 0, len(cmds))
	for _, sc := range cmds {
		var cl cmdLine
		for _, w := range sc.Words {
			loc := argv[script].Loc
			if exact {
				loc = at(base + w.Offset)
			}
			cl = append(cl, word{Value: w.Value, Loc: loc})
		}
		out = append(out, cl)
	}
	return out
}

// shlexToken is one word of a command line with the byte offset where it
// starts.
type shlexToken struct {
	value  string
	offset int
}

// shlexSplit splits a command line the way flyctl does (google/shlex):
// words separated by blanks, single quotes literal, double quotes and
// backslashes escaping, no other shell syntax.
func shlexSplit(s string) []shlexToken {
	var out []shlexToken
	var b strings.Builder
	in, start := false, 0
	var quote byte
	flush := func() {
		if in {
			out = append(out, shlexToken{value: b.String(), offset: start})
			b.Reset()
			in = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0:
				i++
				b.WriteByte(s[i])
			default:
				b.WriteByte(c)
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		default:
			if !in {
				in, start = true, i
			}
			switch c {
			case '\'', '"':
				quote = c
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			default:
				b.WriteByte(c)
			}
		}
	}
	flush()
	return out
}

// valueStart returns the column of the first character of a one-line
// string value on its key's line, and the source text from there.
func (sr *serverReader) valueStart(v flytoml.Value[string]) (int, string, bool) {
	line, ok := sr.p.Line(v.Loc.File, v.Loc.Line)
	if !ok {
		return 0, "", false
	}
	from := 0
	if v.Loc.Column > 0 {
		from = byteIndexOfColumn(line, v.Loc.Column)
	}
	eq := strings.Index(line[from:], "=")
	if eq < 0 {
		return 0, "", false
	}
	i := from + eq + 1
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i >= len(line) || (line[i] != '"' && line[i] != '\'') || strings.HasPrefix(line[i:], `"""`) || strings.HasPrefix(line[i:], "'''") {
		return 0, "", false
	}
	return utf8.RuneCountInString(line[:i+1]) + 1, line[i+1:], true
}

// byteIndexOfColumn returns the byte index of a 1-based character column.
func byteIndexOfColumn(line string, col int) int {
	n := 1
	for i := range line {
		if n == col {
			return i
		}
		n++
	}
	return len(line)
}

// processGroup reads a [processes] command. Fly runs it in place of the
// image's CMD; the image's ENTRYPOINT still runs first.
func (sr *serverReader) processGroup(name string, v flytoml.Value[string]) *processGroup {
	g := &processGroup{
		Name:    name,
		Source:  fmt.Sprintf("the %q process in fly.toml [processes]", name),
		Loc:     v.Loc,
		Command: shorten(v.V),
	}
	cmds := sr.flyCommand(v)
	sr.fill(g, sr.entrypoint(), cmds, flyArgv(cmds))
	return g
}

// flyArgv is the argv a process command hands to an ENTRYPOINT.
func flyArgv(cmds []cmdLine) cmdLine {
	if len(cmds) == 1 {
		return cmds[0]
	}
	return nil
}

// entrypoint returns the ENTRYPOINT the machine runs: [experimental]
// entrypoint, else the image's.
func (sr *serverReader) entrypoint() *entry {
	if cfg := sr.p.Fly; cfg != nil && cfg.Experimental != nil && len(cfg.Experimental.Entrypoint) > 0 {
		cl := fixedWords(cfg.Experimental.Entrypoint, cfg.Experimental.Loc)
		return &entry{cmds: []cmdLine{cl}, exec: true, source: "fly.toml [experimental] entrypoint",
			loc: cfg.Experimental.Loc, raw: strings.Join(cfg.Experimental.Entrypoint, " ")}
	}
	if sr.stage == nil {
		return nil
	}
	ep := sr.stage.EffectiveEntrypoint()
	if ep == nil || len(ep.Argv) == 0 {
		return nil
	}
	return &entry{cmds: dockerCommand(ep), exec: ep.Exec, source: "the Dockerfile ENTRYPOINT", loc: ep.Loc, raw: ep.Raw}
}

// entry is an ENTRYPOINT: its simple commands, whether it is in exec form
// (and so receives CMD as arguments), and where it is written.
type entry struct {
	cmds   []cmdLine
	exec   bool
	source string
	loc    report.Location
	raw    string
}

// imageGroup reads the command of the image: [experimental] cmd or the
// Dockerfile's CMD, behind its ENTRYPOINT.
func (sr *serverReader) imageGroup(name string) *processGroup {
	ep := sr.entrypoint()
	var cmds []cmdLine
	var argv cmdLine
	g := &processGroup{Name: name}
	if cfg := sr.p.Fly; cfg != nil && cfg.Experimental != nil && len(cfg.Experimental.Cmd) > 0 {
		argv = fixedWords(cfg.Experimental.Cmd, cfg.Experimental.Loc)
		cmds = []cmdLine{argv}
		g.Source, g.Loc, g.Command = "fly.toml [experimental] cmd", cfg.Experimental.Loc, shorten(strings.Join(cfg.Experimental.Cmd, " "))
	} else if sr.stage != nil {
		if c := sr.stage.EffectiveCmd(); c != nil {
			cmds, argv = dockerCommand(c), execArgv(c)
			g.Source, g.Loc, g.Command = "the Dockerfile CMD", c.Loc, shorten(c.Raw)
		}
	}
	if ep != nil && (g.Source == "" || !ep.exec) {
		// Only an ENTRYPOINT (or a shell-form one, which ignores CMD).
		g.Source, g.Loc, g.Command = ep.source, ep.loc, shorten(ep.raw)
		if !ep.exec {
			cmds, argv, ep = ep.cmds, nil, nil
		}
	}
	if g.Source == "" {
		return nil
	}
	sr.fill(g, ep, cmds, argv)
	return g
}

// fill finds the servers of a group whose command is cmds (argv when it is
// a single argv an ENTRYPOINT receives), run behind ep.
func (sr *serverReader) fill(g *processGroup, ep *entry, cmds []cmdLine, argv cmdLine) {
	if ep != nil && ep.exec && len(ep.cmds) > 0 {
		last := ep.cmds[len(ep.cmds)-1]
		if u := last.unwrap(); len(u) > 0 && !pureWrapper(last) && serverName(u) != "" {
			// ENTRYPOINT ["gunicorn"] CMD ["app:app", "-b", ...]: the
			// server takes CMD as its arguments.
			full := append(append(cmdLine{}, u...), argv...)
			sr.scan(g, []cmdLine{full})
			return
		}
		sr.scan(g, cmds)
		if len(g.Servers) == 0 && !pureWrapper(last) {
			// An entrypoint script that starts the server itself.
			sr.scan(g, ep.cmds)
		}
		return
	}
	sr.scan(g, cmds)
}

// fronts are programs that may listen on internal_port in front of (or
// instead of) a Python server they start or proxy to.
var fronts = map[string]bool{
	"nginx": true, "caddy": true, "haproxy": true, "traefik": true, "envoy": true, "apache2": true,
	"httpd": true, "apachectl": true, "supervisord": true, "honcho": true, "foreman": true,
	"overmind": true, "hivemind": true, "s6-svscan": true, "circusd": true, "pm2": true,
	"pm2-runtime": true, "node": true, "bun": true, "deno": true, "litefs": true, "tailscaled": true,
	"uwsgi": true, "openresty": true, "varnishd": true, "socat": true, "stunnel": true,
}

// scan looks for servers in simple commands, following scripts.
func (sr *serverReader) scan(g *processGroup, cmds []cmdLine) {
	for _, c := range cmds {
		u := c.unwrap()
		if len(u) == 0 {
			continue
		}
		name := path.Base(u[0].Value)
		if fronts[name] || (name == "service" && len(u) > 1 && fronts[u[1].Value]) {
			g.Fronted = true
			continue
		}
		if s := sr.server(u); s != nil {
			g.Servers = append(g.Servers, s)
			continue
		}
		if script, ok := scriptOf(u); ok && sr.depth < 2 {
			sr.scanScript(g, script)
		}
	}
}

// scriptOf returns the shell script a command runs (`./start.sh`,
// `bash bin/run.sh`, `/app/entrypoint.sh`).
func scriptOf(c cmdLine) (string, bool) {
	name := path.Base(c[0].Value)
	switch name {
	case "sh", "bash", "dash", "ash", "zsh":
		for _, w := range c[1:] {
			if strings.HasPrefix(w.Value, "-") {
				continue
			}
			return w.Value, true
		}
		return "", false
	}
	if strings.HasSuffix(name, ".sh") || strings.Contains(c[0].Value, "/") && !strings.HasPrefix(c[0].Value, "/usr/") && !strings.HasPrefix(c[0].Value, "/bin/") && !strings.Contains(c[0].Value, "/bin/") {
		return c[0].Value, true
	}
	return "", false
}

// scanScript reads a start-up script of the repository and scans its
// commands.
func (sr *serverReader) scanScript(g *processGroup, imgPath string) {
	rel, ok := sr.projectPath(imgPath)
	if !ok || strings.HasSuffix(rel, ".py") {
		return
	}
	data, err := sr.p.ReadText(rel)
	if err != nil || len(data) > 256<<10 {
		return
	}
	cmds, err := shellcmd.Commands(string(data))
	if err != nil {
		return
	}
	var lines []cmdLine
	for _, sc := range cmds {
		var cl cmdLine
		for _, w := range sc.Words {
			cl = append(cl, word{Value: w.Value, Loc: report.At(rel, w.Line, w.Col)})
		}
		lines = append(lines, cl)
	}
	sr.depth++
	sr.scan(g, lines)
	sr.depth--
}

// projectPath maps a path of the image (absolute, or relative to the
// working directory) to the repository file COPY put there.
func (sr *serverReader) projectPath(imgPath string) (string, bool) {
	p := sr.p
	if imgPath == "" || strings.ContainsAny(imgPath, "$*?[") {
		return "", false
	}
	wd := "/"
	if sr.stage != nil {
		if w := sr.stage.EffectiveWorkdir(); w != "" {
			wd = w
		}
	}
	abs := imgPath
	if !path.IsAbs(abs) {
		abs = path.Join(wd, abs)
	}
	abs = path.Clean(abs)
	if sr.stage != nil {
		stages := append([]*dockerfile.Stage{sr.stage}, sr.stage.Ancestors()...)
		for _, st := range stages {
			swd := st.EffectiveWorkdir()
			if swd == "" {
				swd = "/"
			}
			for i := len(st.Copies) - 1; i >= 0; i-- {
				cp := st.Copies[i]
				if cp.From != "" {
					continue
				}
				if rel, ok := copyTarget(p, cp, swd, abs); ok {
					return rel, true
				}
			}
		}
	}
	for _, cand := range []string{strings.TrimPrefix(path.Clean(imgPath), "/"), strings.TrimPrefix(strings.TrimPrefix(abs, wd), "/")} {
		if cand == "" || strings.HasPrefix(cand, "..") {
			continue
		}
		if c := p.FromContext(cand); p.Exists(c) && !p.IsDir(c) {
			return c, true
		}
	}
	return "", false
}

// copyTarget returns the repository file that a COPY puts at abs.
func copyTarget(p *project.Project, cp dockerfile.Copy, wd, abs string) (string, bool) {
	dest := cp.Dest
	if !path.IsAbs(dest) {
		dest = path.Join(wd, dest)
	}
	destDir := strings.HasSuffix(cp.Dest, "/") || cp.Dest == "." || len(cp.Sources) > 1
	dest = path.Clean(dest)
	for _, src := range cp.Sources {
		if strings.HasPrefix(src, "<<") || strings.ContainsAny(src, "*?[") || strings.Contains(src, "://") {
			continue
		}
		s := strings.TrimPrefix(path.Clean(src), "/")
		ctx := p.FromContext(s)
		if s == "." || p.IsDir(ctx) {
			var rest string
			switch {
			case abs == dest:
				continue
			case dest == "/":
				rest = strings.TrimPrefix(abs, "/")
			case strings.HasPrefix(abs, dest+"/"):
				rest = strings.TrimPrefix(abs, dest+"/")
			default:
				continue
			}
			if c := p.FromContext(path.Join(s, rest)); p.Exists(c) && !p.IsDir(c) {
				return c, true
			}
			continue
		}
		target := dest
		if destDir || (dest != abs && path.Base(abs) == path.Base(s) && path.Dir(abs) == dest) {
			target = path.Join(dest, path.Base(s))
		}
		if target == abs && p.Exists(ctx) {
			return ctx, true
		}
	}
	return "", false
}

// hostFlags and portFlags are the usual --host and --port flags.
var hostFlags, portFlags = []string{"--host"}, []string{"--port"}

var pythonName = lazyre.New(`^python(\d+(\.\d+)?)?$`)

// serverName returns the server an unwrapped command starts, "" when none.
func serverName(c cmdLine) string {
	if len(c) == 0 {
		return ""
	}
	name := path.Base(c[0].Value)
	switch name {
	case "uvicorn", "gunicorn", "hypercorn", "daphne", "granian", "waitress-serve":
		return name
	case "fastapi":
		if len(c) > 1 && (c[1].Value == "run" || c[1].Value == "dev") {
			return "fastapi " + c[1].Value
		}
	case "flask":
		if slices.ContainsFunc(c[1:], func(w word) bool { return w.Value == "run" }) {
			return "flask run"
		}
	case "django-admin", "manage.py":
		if len(c) > 1 && c[1].Value == "runserver" {
			return "manage.py runserver"
		}
	}
	if pythonName.MatchString(name) {
		for i := 1; i < len(c); i++ {
			a := c[i].Value
			switch {
			case a == "-m" && i+1 < len(c):
				mod := c[i+1].Value
				switch mod {
				case "uvicorn", "gunicorn", "hypercorn", "daphne", "granian":
					return mod
				case "waitress":
					return "waitress-serve"
				case "flask", "fastapi":
					return serverName(c[i+1:])
				}
				return ""
			case a == "-c":
				return ""
			case strings.HasPrefix(a, "-"):
				continue
			case path.Base(a) == "manage.py":
				if i+1 < len(c) && c[i+1].Value == "runserver" {
					return "manage.py runserver"
				}
				return ""
			case strings.HasSuffix(a, ".py"):
				return "python script"
			default:
				return ""
			}
		}
	}
	return ""
}

// server parses a server invocation; nil when c starts none.
func (sr *serverReader) server(c cmdLine) *webServer {
	kind := serverName(c)
	if kind == "" {
		return nil
	}
	// args are the server's own arguments; at is the server's word.
	at := 0
	if name := path.Base(c[0].Value); pythonName.MatchString(name) {
		for i := 1; i < len(c); i++ {
			if c[i].Value == "-m" {
				at = i + 1
				break
			}
			if !strings.HasPrefix(c[i].Value, "-") {
				at = i
				break
			}
		}
	}
	s := &webServer{Kind: kind, Loc: c[at].Loc, WorkersLoc: c[at].Loc}
	args := c[at+1:]
	if strings.HasPrefix(kind, "fastapi") || kind == "flask run" || kind == "manage.py runserver" {
		// Drop everything up to the subcommand.
		for i, w := range args {
			if w.Value == "run" || w.Value == "dev" || w.Value == "runserver" {
				args = args[i+1:]
				break
			}
		}
	}
	switch kind {
	case "uvicorn":
		sr.uvicorn(s, args)
	case "gunicorn":
		sr.gunicorn(s, args)
	case "hypercorn":
		sr.hypercorn(s, args)
	case "daphne":
		sr.daphne(s, args)
	case "granian":
		sr.hostPort(s, args, "127.0.0.1", 8000, "GRANIAN_HOST", "GRANIAN_PORT", hostFlags, portFlags)
		sr.workers(s, args, []string{"--workers"}, "GRANIAN_WORKERS", 1)
	case "waitress-serve":
		sr.waitress(s, args)
	case "fastapi run":
		sr.hostPort(s, args, "0.0.0.0", 8000, "", "", hostFlags, portFlags)
		sr.workers(s, args, []string{"--workers"}, "", 1)
	case "fastapi dev":
		sr.hostPort(s, args, "127.0.0.1", 8000, "", "", hostFlags, portFlags)
		s.Workers, s.WorkersFrom = 1, "fastapi dev (one process)"
	case "flask run":
		sr.hostPort(s, args, "127.0.0.1", 5000, "FLASK_RUN_HOST", "FLASK_RUN_PORT", []string{"--host", "-h"}, []string{"--port", "-p"})
		s.Workers, s.WorkersFrom = 1, "flask run (one process)"
	case "manage.py runserver":
		sr.runserver(s, args)
	case "python script":
		return sr.pythonScript(s, c[at])
	}
	return s
}

// flagValue finds a flag's value in args: `--name value`, `--name=value`,
// and for one-letter flags `-n value` and `-nvalue`. It returns every
// occurrence in order.
func flagValues(args []word, names ...string) []word {
	var out []word
	for i := 0; i < len(args); i++ {
		a := args[i].Value
		if a == "--" {
			break
		}
		for _, n := range names {
			switch {
			case a == n && i+1 < len(args):
				out = append(out, args[i+1])
				i++
			case strings.HasPrefix(a, n+"="):
				out = append(out, word{Value: a[len(n)+1:], Loc: shiftLoc(args[i].Loc, len(n)+1)})
			case len(n) == 2 && n[0] == '-' && n[1] != '-' && strings.HasPrefix(a, n) && len(a) > 2 && !strings.HasPrefix(a, "--"):
				out = append(out, word{Value: a[2:], Loc: shiftLoc(args[i].Loc, 2)})
			default:
				continue
			}
			break
		}
	}
	return out
}

func hasFlag(args []word, names ...string) bool {
	for _, w := range args {
		for _, n := range names {
			if w.Value == n || strings.HasPrefix(w.Value, n+"=") {
				return true
			}
		}
	}
	return false
}

// shiftLoc moves a location n characters right (for `--port=8000`, to
// the value).
func shiftLoc(l report.Location, n int) report.Location {
	if l.Column > 0 {
		l.Column += n
	}
	return l
}

func (sr *serverReader) port(s string) int {
	v, ok := sr.env.expand(s)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 || n > 65535 {
		return 0
	}
	return n
}

func (sr *serverReader) host(s string) string {
	v, ok := sr.env.expand(s)
	if !ok {
		return ""
	}
	return v
}

// hostPort reads --host/--port style flags (and their environment
// variables) with the server's defaults.
func (sr *serverReader) hostPort(s *webServer, args []word, defHost string, defPort int, hostEnv, portEnv string, hostNames, portNames []string) {
	a := listenAddr{Host: defHost, Port: defPort, HostLoc: s.Loc, PortLoc: s.Loc, Implicit: true}
	name := strings.Fields(s.Kind)[0]
	hostFrom, portFrom := name+"'s default host", name+"'s default port"
	if hs := flagValues(args, hostNames...); len(hs) > 0 {
		h := hs[len(hs)-1]
		a.Host, a.HostLoc, a.Implicit, hostFrom = sr.host(h.Value), h.Loc, false, ""
	} else if v, where, ok := sr.env.get(hostEnv); hostEnv != "" && ok {
		a.Host, hostFrom = v, hostEnv+" in "+where
	} else if hostEnv != "" && !sr.envKnown {
		a.Host = "" // the base image may set it
	}
	if ps := flagValues(args, portNames...); len(ps) > 0 {
		pw := ps[len(ps)-1]
		a.Port, a.PortLoc, portFrom = sr.port(pw.Value), pw.Loc, ""
	} else if v, where, ok := sr.env.get(portEnv); portEnv != "" && ok {
		a.Port, portFrom = sr.port(v), portEnv+" in "+where
	} else if portEnv != "" && !sr.envKnown {
		a.Port = 0 // the base image may set it
	}
	var from []string
	switch {
	case hostFrom == name+"'s default host" && portFrom == name+"'s default port":
		from = []string{name + "'s default"}
	default:
		for _, f := range []string{hostFrom, portFrom} {
			if f != "" {
				from = append(from, f)
			}
		}
	}
	a.From = strings.Join(from, ", ")
	a.Text = addrText(a.Host, a.Port)
	if a.From != "" {
		a.Text += " (" + a.From + ")"
	}
	s.Binds = []listenAddr{a}
}

// addrText formats a host and port, "?" standing for what is unknown.
func addrText(host string, port int) string {
	h, p := host, strconv.Itoa(port)
	if h == "" {
		h = "?"
	}
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if port == 0 {
		p = "?"
	}
	return h + ":" + p
}

// workers reads a worker-count flag, else the environment variable, else
// the default.
func (sr *serverReader) workers(s *webServer, args []word, flags []string, env string, def int) {
	if ws := flagValues(args, flags...); len(ws) > 0 {
		w := ws[len(ws)-1]
		s.WorkersLoc, s.WorkersFrom = w.Loc, flags[0]+" "+w.Value
		if v, ok := sr.env.expand(w.Value); ok {
			s.Workers, _ = strconv.Atoi(v)
		}
		return
	}
	if v, where, ok := sr.env.get(env); env != "" && ok {
		s.WorkersFrom = env + "=" + v + " (" + where + ")"
		s.Workers, _ = strconv.Atoi(v)
		return
	}
	s.Workers, s.WorkersFrom = def, strings.Fields(s.Kind)[0]+"'s default"
}

func (sr *serverReader) uvicorn(s *webServer, args []word) {
	if u := flagValues(args, "--uds"); len(u) > 0 {
		s.Binds = []listenAddr{{Socket: "unix:" + u[len(u)-1].Value, HostLoc: u[len(u)-1].Loc, PortLoc: u[len(u)-1].Loc, Text: "--uds " + u[len(u)-1].Value}}
	} else if f := flagValues(args, "--fd"); len(f) > 0 {
		s.Binds = []listenAddr{{Socket: "fd:" + f[len(f)-1].Value, HostLoc: f[len(f)-1].Loc, PortLoc: f[len(f)-1].Loc, Text: "--fd " + f[len(f)-1].Value}}
	} else {
		sr.hostPort(s, args, "127.0.0.1", 8000, "UVICORN_HOST", "UVICORN_PORT", hostFlags, portFlags)
	}
	if hasFlag(args, "--reload") {
		s.Workers, s.WorkersFrom = 1, "--reload (one process)"
		return
	}
	// uvicorn's --workers defaults to $WEB_CONCURRENCY, else 1.
	env := "WEB_CONCURRENCY"
	if _, _, ok := sr.env.get("UVICORN_WORKERS"); ok {
		env = "UVICORN_WORKERS"
	}
	sr.workers(s, args, []string{"--workers"}, env, 1)
	s.Supervisor = s.Workers > 1
}

// parseBind reads a gunicorn/hypercorn/waitress bind: HOST:PORT, :PORT,
// HOST, [::]:PORT, unix:PATH, fd://N. A part holding a variable that
// cannot be resolved is unknown.
func (sr *serverReader) parseBind(w word, defPort int) listenAddr {
	a := listenAddr{HostLoc: w.Loc, PortLoc: w.Loc, Text: w.Value}
	if strings.HasPrefix(w.Value, "unix:") || strings.HasPrefix(w.Value, "fd://") {
		a.Socket = w.Value
		return a
	}
	v, ok := sr.env.expand(w.Value)
	if !ok {
		v = w.Value // host and port may still be readable around the variable
	}
	host, port, hasPort := v, "", false
	if strings.HasPrefix(v, "[") {
		if i := strings.Index(v, "]"); i > 0 {
			host = v[1:i]
			port, hasPort = strings.CutPrefix(v[i+1:], ":")
		}
	} else if i := strings.LastIndex(v, ":"); i >= 0 {
		host, port, hasPort = v[:i], v[i+1:], true
	}
	if host == "" && hasPort {
		host = "0.0.0.0" // ":8000" binds every interface
	}
	switch {
	case !hasPort && strings.Contains(v, "$"):
		// "$BIND" may hold a host and a port.
		return a
	case strings.Contains(host, "$"):
		host = ""
	}
	a.Host = host
	switch {
	case !hasPort:
		a.Port = defPort
	case !strings.Contains(port, "$"):
		a.Port, _ = strconv.Atoi(port)
	}
	if a.Port > 0 && hasPort && w.Loc.Column > 0 {
		if i := strings.LastIndex(w.Value, ":"); i >= 0 {
			a.PortLoc = shiftLoc(w.Loc, utf8.RuneCountInString(w.Value[:i+1]))
		}
	}
	return a
}

func (sr *serverReader) gunicorn(s *webServer, args []word) {
	s.Supervisor = true
	// Gunicorn reads, in order: its config file, $GUNICORN_CMD_ARGS, the
	// command line; a later source replaces an earlier one.
	var cfgBinds []listenAddr
	cfgWorkers := 0
	cfgWorkersFrom := ""
	cfgLoc := s.Loc
	conf := ""
	confExplicit := false
	if cs := flagValues(args, "-c", "--config"); len(cs) > 0 {
		conf, confExplicit = cs[len(cs)-1].Value, true
		cfgLoc = cs[len(cs)-1].Loc
	}
	if conf == "" {
		conf = "gunicorn.conf.py" // gunicorn's default, in the working directory
	}
	confKnown := !confExplicit
	if rel, ok := sr.gunicornConfPath(conf); ok {
		if data, err := sr.p.ReadText(rel); err == nil {
			confKnown = true
			cfgBinds, cfgWorkers, cfgWorkersFrom = sr.gunicornConf(rel, string(data))
		}
	}
	var envArgs []word
	if v, _, ok := sr.env.get("GUNICORN_CMD_ARGS"); ok {
		var parts []string
		for _, tok := range shlexSplit(v) {
			parts = append(parts, tok.value)
		}
		envArgs = fixedWords(parts, s.Loc)
	}
	binds := flagValues(args, "-b", "--bind")
	from := ""
	if len(binds) == 0 {
		binds, from = flagValues(envArgs, "-b", "--bind"), "GUNICORN_CMD_ARGS"
	}
	switch {
	case len(binds) > 0:
		for _, b := range binds {
			a := sr.parseBind(b, 8000)
			if from != "" {
				a.Implicit, a.From = true, from
				a.HostLoc, a.PortLoc = s.Loc, s.Loc
			}
			s.Binds = append(s.Binds, a)
		}
	case cfgBinds != nil:
		s.Binds = cfgBinds
	case !confKnown:
		// A config file we cannot read may set bind.
		s.Binds = []listenAddr{{Implicit: true, From: "the config file " + conf, HostLoc: cfgLoc, PortLoc: cfgLoc, Text: "bind from " + conf}}
	default:
		if v, where, ok := sr.env.get("PORT"); ok {
			a := listenAddr{Host: "0.0.0.0", Port: sr.port(v), Implicit: true, HostLoc: s.Loc, PortLoc: s.Loc,
				From: "gunicorn's default with PORT=" + v + " (" + where + ")"}
			a.Text = "0.0.0.0:" + v + " (" + a.From + ")"
			s.Binds = []listenAddr{a}
		} else if !sr.envKnown {
			// The base image may set PORT or GUNICORN_CMD_ARGS.
			s.Binds = []listenAddr{{Implicit: true, From: "gunicorn's default, which $PORT changes", HostLoc: s.Loc, PortLoc: s.Loc, Text: "gunicorn's default bind"}}
		} else {
			s.Binds = []listenAddr{{Host: "127.0.0.1", Port: 8000, Implicit: true, HostLoc: s.Loc, PortLoc: s.Loc,
				From: "gunicorn's default", Text: "127.0.0.1:8000 (gunicorn's default without --bind or $PORT)"}}
		}
	}
	if ws := flagValues(args, "-w", "--workers"); len(ws) > 0 {
		sr.workers(s, args, []string{"-w", "--workers"}, "", 1)
		s.WorkersFrom = "--workers " + ws[len(ws)-1].Value
		return
	}
	if ws := flagValues(envArgs, "-w", "--workers"); len(ws) > 0 {
		s.Workers, _ = strconv.Atoi(ws[len(ws)-1].Value)
		s.WorkersFrom = "GUNICORN_CMD_ARGS --workers " + ws[len(ws)-1].Value
		return
	}
	if cfgWorkersFrom != "" {
		s.Workers, s.WorkersFrom = cfgWorkers, cfgWorkersFrom
		return
	}
	if !confKnown {
		s.Workers, s.WorkersFrom = 0, "the config file "+conf
		return
	}
	sr.workers(s, nil, []string{"--workers"}, "WEB_CONCURRENCY", 1)
}

// gunicornConfPath finds a gunicorn config file of the repository.
func (sr *serverReader) gunicornConfPath(conf string) (string, bool) {
	switch {
	case strings.HasPrefix(conf, "python:"):
		conf = strings.ReplaceAll(strings.TrimPrefix(conf, "python:"), ".", "/") + ".py"
	case strings.HasPrefix(conf, "file:"):
		conf = strings.TrimPrefix(conf, "file:")
	}
	return sr.projectPath(conf)
}

var (
	confAssign = lazyre.New(`^(bind|workers)\s*=\s*(.+?)\s*(#.*)?$`)
	envCall    = lazyre.New(`(?:os\.environ\.get|os\.getenv|environ\.get|getenv)\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*(?:,\s*(?:str\()?\s*(["']?)([^"')]*)["']?\s*\)?)?\s*\)|os\.environ\[\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*\]`)
	pyString   = lazyre.New(`^[rbu]?("[^"\\]*"|'[^'\\]*')$`)
	fString    = lazyre.New(`^f("[^"\\]*"|'[^'\\]*')$`)
)

// gunicornConf reads bind and workers from a gunicorn config file (Python):
// string literals, lists of them, and values read from the environment
// with a default.
func (sr *serverReader) gunicornConf(rel, text string) (binds []listenAddr, workers int, workersFrom string) {
	var bindLines, workerLines int
	for i, line := range strings.Split(text, "\n") {
		m := confAssign.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if m == nil {
			continue
		}
		loc := report.At(rel, i+1, len(m[1])+1+strings.Index(line[len(m[1]):], m[2])+0)
		loc.Column = utf8.RuneCountInString(line[:strings.Index(line, m[2])]) + 1
		switch m[1] {
		case "bind":
			bindLines++
			binds = nil
			for _, v := range pyStrings(sr, m[2]) {
				a := sr.parseBind(word{Value: v, Loc: loc}, 8000)
				a.Implicit, a.From = true, rel
				a.Text = v + " (" + rel + ")"
				binds = append(binds, a)
			}
			if binds == nil {
				binds = []listenAddr{{Implicit: true, From: rel, HostLoc: loc, PortLoc: loc, Text: m[2] + " (" + rel + ")"}}
			}
		case "workers":
			workerLines++
			workersFrom = "workers = " + m[2] + " (" + rel + ")"
			workers = 0
			expr := m[2]
			if em := envCall.FindStringSubmatch(expr); em != nil {
				name := em[1] + em[4]
				if v, _, ok := sr.env.get(name); ok {
					workers, _ = strconv.Atoi(v)
				} else {
					workers, _ = strconv.Atoi(em[3])
				}
			} else {
				workers, _ = strconv.Atoi(strings.TrimSpace(expr))
			}
		}
	}
	if bindLines > 1 {
		// bind set in several places (if/else): cannot tell which.
		binds = []listenAddr{{Implicit: true, From: rel, Text: "bind (" + rel + ")"}}
	}
	if workerLines > 1 {
		workers = 0
	}
	return binds, workers, workersFrom
}

// pyStrings evaluates a Python expression that is a string, a list or
// tuple of strings, an f-string or concatenation whose only replacement
// fields read the environment with a default. It returns nil otherwise.
func pyStrings(sr *serverReader, expr string) []string {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "[") && strings.HasSuffix(expr, "]") || strings.HasPrefix(expr, "(") && strings.HasSuffix(expr, ")") {
		var out []string
		for _, part := range strings.Split(expr[1:len(expr)-1], ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			v, ok := pyString1(sr, part)
			if !ok {
				return nil
			}
			out = append(out, v)
		}
		return out
	}
	if v, ok := pyString1(sr, expr); ok {
		return []string{v}
	}
	return nil
}

// pyString1 evaluates one string expression.
func pyString1(sr *serverReader, expr string) (string, bool) {
	resolve := func(m []string) (string, bool) {
		name := m[1] + m[4]
		if v, _, ok := sr.env.get(name); ok {
			return v, true
		}
		if m[4] != "" || m[3] == "" && m[2] == "" {
			return "", false
		}
		return m[3], true
	}
	var b strings.Builder
	for _, part := range splitConcat(expr) {
		part = strings.TrimSpace(part)
		switch {
		case pyString.MatchString(part):
			s := strings.TrimLeft(part, "rbu")
			b.WriteString(s[1 : len(s)-1])
		case fString.MatchString(part):
			s := part[2 : len(part)-1]
			ok := true
			s = regexp.MustCompile(`\{([^{}]*)\}`).ReplaceAllStringFunc(s, func(f string) string {
				inner := unwrapCall(strings.TrimSpace(f[1:len(f)-1]), "int", "str")
				if m := envCall.FindStringSubmatch(inner); m != nil && m[0] == inner {
					v, good := resolve(m)
					ok = ok && good
					return v
				}
				ok = false
				return f
			})
			if !ok {
				return "", false
			}
			b.WriteString(s)
		default:
			inner := unwrapCall(part, "str")
			m := envCall.FindStringSubmatch(inner)
			if m == nil || m[0] != inner {
				return "", false
			}
			v, ok := resolve(m)
			if !ok {
				return "", false
			}
			b.WriteString(v)
		}
	}
	return b.String(), true
}

// unwrapCall returns the argument of a call to one of fns (`int(x)` gives
// `x`), or expr itself.
func unwrapCall(expr string, fns ...string) string {
	expr = strings.TrimSpace(expr)
	for _, fn := range fns {
		if strings.HasPrefix(expr, fn+"(") && strings.HasSuffix(expr, ")") {
			return strings.TrimSpace(expr[len(fn)+1 : len(expr)-1])
		}
	}
	return expr
}

// splitConcat splits a Python expression on top-level "+".
func splitConcat(expr string) []string {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == '+' && depth == 0:
			parts = append(parts, expr[start:i])
			start = i + 1
		}
	}
	return append(parts, expr[start:])
}

func (sr *serverReader) hypercorn(s *webServer, args []word) {
	binds := flagValues(args, "-b", "--bind")
	for _, b := range binds {
		s.Binds = append(s.Binds, sr.parseBind(b, 8000))
	}
	if len(binds) == 0 {
		if hasFlag(args, "-c", "--config") {
			s.Binds = []listenAddr{{Implicit: true, From: "hypercorn's config file", HostLoc: s.Loc, PortLoc: s.Loc, Text: "bind from the config file"}}
		} else {
			s.Binds = []listenAddr{{Host: "127.0.0.1", Port: 8000, Implicit: true, From: "hypercorn's default", HostLoc: s.Loc, PortLoc: s.Loc, Text: "127.0.0.1:8000 (hypercorn's default)"}}
		}
	}
	sr.workers(s, args, []string{"-w", "--workers"}, "", 1)
	s.Supervisor = s.Workers > 1
}

func (sr *serverReader) daphne(s *webServer, args []word) {
	if u := flagValues(args, "-u", "--unix-socket"); len(u) > 0 {
		s.Binds = []listenAddr{{Socket: "unix:" + u[0].Value, HostLoc: u[0].Loc, PortLoc: u[0].Loc, Text: u[0].Value}}
	} else if f := flagValues(args, "--fd"); len(f) > 0 {
		s.Binds = []listenAddr{{Socket: "fd:" + f[0].Value, HostLoc: f[0].Loc, PortLoc: f[0].Loc, Text: f[0].Value}}
	} else if e := flagValues(args, "-e", "--endpoint"); len(e) > 0 {
		s.Binds = []listenAddr{{Implicit: false, HostLoc: e[0].Loc, PortLoc: e[0].Loc, Text: e[0].Value}}
	} else {
		// daphne spells --host as -b/--bind.
		sr.hostPort(s, args, "127.0.0.1", 8000, "", "", []string{"-b", "--bind"}, []string{"-p", "--port"})
	}
	s.Workers, s.WorkersFrom = 1, "daphne (one process)"
}

func (sr *serverReader) waitress(s *webServer, args []word) {
	if ls := flagValues(args, "--listen"); len(ls) > 0 {
		for _, l := range ls {
			s.Binds = append(s.Binds, sr.parseBind(l, 8080))
		}
	} else if u := flagValues(args, "--unix-socket"); len(u) > 0 {
		s.Binds = []listenAddr{{Socket: "unix:" + u[0].Value, HostLoc: u[0].Loc, PortLoc: u[0].Loc, Text: u[0].Value}}
	} else {
		sr.hostPort(s, args, "0.0.0.0", 8080, "", "", hostFlags, portFlags)
	}
	s.Workers, s.WorkersFrom = 1, "waitress (one process)"
}

// runserver reads Django's `runserver [addrport]`.
func (sr *serverReader) runserver(s *webServer, args []word) {
	a := listenAddr{Host: "127.0.0.1", Port: 8000, Implicit: true, From: "runserver's default", HostLoc: s.Loc, PortLoc: s.Loc, Text: "127.0.0.1:8000 (runserver's default)"}
	ipv6 := hasFlag(args, "-6", "--ipv6")
	if ipv6 {
		a.Host, a.Text = "::1", "[::1]:8000 (runserver's default)"
	}
	for _, w := range args {
		if strings.HasPrefix(w.Value, "-") {
			continue
		}
		v, ok := sr.env.expand(w.Value)
		if !ok {
			a = listenAddr{HostLoc: w.Loc, PortLoc: w.Loc, Text: w.Value}
			break
		}
		a.Implicit, a.From, a.Text = false, "", w.Value
		a.HostLoc, a.PortLoc = w.Loc, w.Loc
		if i := strings.LastIndex(v, ":"); i >= 0 && !strings.HasSuffix(v, "]") {
			host := strings.Trim(v[:i], "[]")
			if host == "0" {
				host = "0.0.0.0"
			}
			a.Host = host
			a.Port, _ = strconv.Atoi(v[i+1:])
			a.PortLoc = shiftLoc(w.Loc, utf8.RuneCountInString(w.Value[:strings.LastIndex(w.Value, ":")+1]))
		} else if n, err := strconv.Atoi(v); err == nil {
			a.Port = n
		} else {
			a.Host = strings.Trim(v, "[]")
		}
		break
	}
	s.Binds = []listenAddr{a}
	s.Workers, s.WorkersFrom = 1, "runserver (one process)"
}

var (
	uvicornRun = lazyre.New(`(?m)^[ \t]*(?:uvicorn\.run|(?:app|application|socketio|sio)\.run)\(`)
	kwArg      = lazyre.New(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$`)
)

// pythonScript reads `python main.py` when main.py starts a server itself
// with uvicorn.run(...) or Flask's app.run(...) / socketio.run(...).
func (sr *serverReader) pythonScript(s *webServer, script word) *webServer {
	rel, ok := sr.projectPath(script.Value)
	if !ok {
		return nil
	}
	data, err := sr.p.ReadText(rel)
	if err != nil || len(data) > 256<<10 {
		return nil
	}
	text := string(data)
	calls := uvicornRun.FindAllStringIndex(text, -1)
	if len(calls) != 1 {
		return nil
	}
	start := calls[0][1]
	callText := text[calls[0][0]:start]
	name := strings.TrimSpace(strings.TrimSuffix(callText, "("))
	isUvicorn := strings.HasPrefix(name, "uvicorn.")
	if !isUvicorn && !strings.Contains(text, "flask") {
		return nil
	}
	end := matchParen(text, start-1)
	if end < 0 {
		return nil
	}
	callLoc := sr.offsetLoc(rel, text, calls[0][0]+len(callText)-len(strings.TrimLeft(callText, " \t")))
	s.Kind = name + "()"
	s.Loc, s.WorkersLoc = callLoc, callLoc
	defHost, defPort := "127.0.0.1", 8000
	hostPos, portPos := -1, -1 // uvicorn.run takes them as keywords only
	if !isUvicorn {
		defPort = 5000
		hostPos, portPos = 0, 1
		if strings.HasPrefix(name, "socketio") || strings.HasPrefix(name, "sio") {
			hostPos, portPos = 1, 2
		}
	}
	a := listenAddr{Host: defHost, Port: defPort, Implicit: true, From: name + "'s default", HostLoc: callLoc, PortLoc: callLoc}
	args := splitArgs(text, start, end)
	hostSet, portSet := false, false
	for i, arg := range args {
		val := arg.text
		key := ""
		if strings.HasPrefix(val, "*") {
			// *args or **kwargs may carry host and port.
			if !hostSet {
				a.Host, a.Implicit = "", false
			}
			if !portSet {
				a.Port = 0
			}
			continue
		}
		if m := kwArg.FindStringSubmatch(arg.text); m != nil && !strings.Contains(m[1], "(") {
			key, val = m[1], m[2]
		} else {
			switch i {
			case hostPos:
				key = "host"
			case portPos:
				key = "port"
			}
		}
		valOff := arg.off + strings.Index(text[arg.off:arg.off+len(arg.raw)], val)
		vl := sr.offsetLoc(rel, text, valOff)
		switch key {
		case "host":
			hostSet = true
			a.HostLoc, a.Implicit = vl, false
			if vs := pyStrings(sr, val); len(vs) == 1 {
				a.Host = vs[0]
			} else {
				a.Host = ""
			}
		case "port":
			portSet = true
			a.PortLoc = vl
			a.Port = sr.pyInt(val)
		case "workers":
			s.WorkersLoc, s.WorkersFrom = vl, "workers="+val
			s.Workers = sr.pyInt(val)
		}
	}
	switch {
	case !hostSet && a.Host != "":
		a.Text = fmt.Sprintf("%s:%d (%s without host=)", a.Host, a.Port, name+"()")
	case a.Host != "" && a.Port > 0:
		a.Text = fmt.Sprintf("%s:%d", a.Host, a.Port)
	case a.Port > 0:
		a.Text = fmt.Sprintf("port %d", a.Port)
	}
	s.Binds = []listenAddr{a}
	if s.WorkersFrom == "" {
		s.Workers, s.WorkersFrom = 1, name+"() (one process)"
	}
	return s
}

// pyInt evaluates an integer expression: a literal, or int(...) of an
// environment read with a default.
func (sr *serverReader) pyInt(expr string) int {
	expr = strings.TrimSpace(expr)
	if n, err := strconv.Atoi(expr); err == nil {
		return n
	}
	inner := unwrapCall(expr, "int")
	if m := envCall.FindStringSubmatch(inner); m != nil && m[0] == inner {
		if v, _, ok := sr.env.get(m[1] + m[4]); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
		n, _ := strconv.Atoi(m[3])
		return n
	}
	return 0
}

func (sr *serverReader) offsetLoc(rel, text string, off int) report.Location {
	if off < 0 || off > len(text) {
		return report.Location{File: rel}
	}
	line := strings.Count(text[:off], "\n") + 1
	ls := strings.LastIndex(text[:off], "\n") + 1
	return report.At(rel, line, utf8.RuneCountInString(text[ls:off])+1)
}

// matchParen returns the index of the ")" closing the "(" at open.
func matchParen(text string, open int) int {
	depth := 0
	var quote byte
	for i := open; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '#':
			if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
				i += j
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

type pyArg struct {
	text, raw string
	off       int
}

// splitArgs splits the arguments of a call between start and end on
// top-level commas.
func splitArgs(text string, start, end int) []pyArg {
	var out []pyArg
	depth, from := 0, start
	var quote byte
	add := func(i int) {
		raw := text[from:i]
		if t := strings.TrimSpace(raw); t != "" {
			out = append(out, pyArg{text: t, raw: raw, off: from})
		}
		from = i + 1
	}
	for i := start; i < end; i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			add(i)
		}
	}
	add(end)
	return out
}

// shorten returns a command for a message: one line, at most 100
// characters.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 100 {
		r := []rune(s)
		s = string(r[:97]) + "..."
	}
	return s
}
