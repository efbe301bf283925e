package rules

// Shared knowledge of the release phase: how fly runs release_command (split
// into words by flyctl and started without a shell, in the image's WORKDIR),
// which Alembic invocations it makes (directly, through `sh -c`, or from a
// script in the repository), which alembic.ini and script folder those use,
// and where the build context's files land in the image.

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/alembic"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/project/pydeps"
	"github.com/grupo-gad/deploy-action/internal/project/pysettings"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/secretscan"
	"github.com/grupo-gad/deploy-action/internal/shellcmd"
)

// relRelease is fly.toml's release_command as fly runs it.
type relRelease struct {
	// Raw is the command as written; Loc is the release_command key.
	// Shown is Raw with anything secret-looking masked, for messages.
	Raw   string
	Shown string
	Loc   report.Location
	// Argv is the command split as flyctl splits it; nil when it cannot
	// be split (SplitErr says why).
	Argv     []string
	SplitErr *shellcmd.Error
	// Runs are the Alembic invocations the release makes, in order.
	Runs []*relRun
	// Image is the deployed image as far as the Dockerfile shows it; nil
	// when no Dockerfile is built (a prebuilt image, buildpacks, none).
	Image *relImage
}

// relRun is one Alembic invocation of the release.
type relRun struct {
	// Display is the command as run, e.g. "alembic upgrade head".
	Display string
	// Config is the -c/--config value ("" for the default); for
	// Flask-Migrate, the folder's alembic.ini. ConfigUnknown is set when
	// the ini cannot be known statically (Alembic's Python API without a
	// literal path, a variable).
	Config        string
	ConfigUnknown bool
	// Section is the -n/--name value ("alembic" by default).
	Section string
	// Command and Target are the subcommand and its first argument
	// ("upgrade", "head").
	Command, Target string
	// Flask is set for `flask db upgrade` (Flask-Migrate), whose ini and
	// scripts live in the migrations folder.
	Flask bool
	// Cwd is the working directory in the image when the command changes
	// it (`cd /app && alembic …`); CwdSet tells it from the image's
	// WORKDIR. CwdUnknown is set when it changes to a path that is not
	// static.
	Cwd        string
	CwdSet     bool
	CwdUnknown bool
	// Via is the repository script that runs the command ("" when the
	// release_command itself does), ViaLine its line there.
	Via     string
	ViaLine int
}

// relWhere says where a run is written, for messages.
func (r *relRun) relWhere(rel *relRelease) string {
	if r.Via != "" {
		return fmt.Sprintf("`%s` (%s:%d, run by release_command)", r.Display, r.Via, r.ViaLine)
	}
	return fmt.Sprintf("`%s` (release_command, %s:%d)", r.Display, rel.Loc.File, rel.Loc.Line)
}

// relLast caches the last analysis: every release rule asks for it, one
// project after another.
var relLast struct {
	sync.Mutex
	p   *project.Project
	rel *relRelease
}

// relAnalyze reads the project's release_command; nil when there is none.
// The result is shared between rules and must not be modified.
func relAnalyze(p *project.Project) *relRelease {
	relLast.Lock()
	defer relLast.Unlock()
	if relLast.p != p {
		relLast.p, relLast.rel = p, relAnalyzeUncached(p)
	}
	return relLast.rel
}

func relAnalyzeUncached(p *project.Project) *relRelease {
	if p.Fly == nil || p.Fly.Deploy == nil || !p.Fly.Deploy.ReleaseCommand.Set {
		return nil
	}
	rc := p.Fly.Deploy.ReleaseCommand
	if strings.TrimSpace(rc.V) == "" {
		return nil
	}
	rel := &relRelease{Raw: rc.V, Shown: relRedact(rc.V), Loc: rc.Loc, Image: relNewImage(p)}
	if rel.Loc.File == "" {
		rel.Loc.File = p.FlyPath
	}
	argv, err := shellcmd.Split(rc.V)
	var cmds []shellcmd.Command
	if err != nil {
		if se, ok := err.(*shellcmd.Error); ok {
			rel.SplitErr = se
		} else {
			rel.SplitErr = &shellcmd.Error{Line: 1, Col: 1, Msg: err.Error()}
		}
		// Still look for alembic, so the other release rules can speak
		// about the command as it was meant.
		cmds, _ = shellcmd.Commands(rc.V)
	} else {
		rel.Argv = argv
		cmds, _ = shellcmd.ArgvCommands(argv)
	}
	sc := relScanner{p: p, rel: rel, seen: map[string]bool{}}
	sc.scan(cmds, "", relCwd{}, 0)
	return rel
}

// relCwd is the working directory while a script runs.
type relCwd struct {
	dir     string
	set     bool
	unknown bool
}

type relScanner struct {
	p    *project.Project
	rel  *relRelease
	seen map[string]bool
}

var relPythonName = lazyre.New(`^python(\d+(\.\d+)?)?$`)

// relShells are the shells that run a script given as their first argument.
var relShells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ash": true}

// scan walks the simple commands of the release (or of a script it runs).
func (s *relScanner) scan(cmds []shellcmd.Command, via string, cwd relCwd, depth int) {
	for _, c := range cmds {
		args := shellcmd.Unwrap(c.Args)
		if len(args) == 0 {
			continue
		}
		name := path.Base(args[0])
		switch {
		case name == "cd":
			if len(args) < 2 || relDynamic(args[1]) {
				cwd = relCwd{unknown: true, set: true}
				continue
			}
			d := args[1]
			if !path.IsAbs(d) {
				if !cwd.set || cwd.unknown {
					cwd = relCwd{unknown: true, set: true}
					continue
				}
				d = path.Join(cwd.dir, d)
			}
			cwd = relCwd{dir: path.Clean(d), set: true}
		case name == "alembic":
			s.addAlembic(args[1:], strings.Join(args, " "), via, c.Line, cwd)
		case name == "flask":
			s.addFlask(args[1:], strings.Join(args, " "), via, c.Line, cwd)
		case relPythonName.MatchString(name):
			s.python(args, via, c.Line, cwd, depth)
		case relShells[name]:
			if len(args) >= 2 && !strings.HasPrefix(args[1], "-") {
				s.script(args[1], cwd, depth)
			}
		case strings.HasSuffix(name, ".sh") || strings.Contains(args[0], "/"):
			s.script(args[0], cwd, depth)
		}
	}
}

// python handles `python [opts] -m module …`, `python script.py …` and
// `python -c "…"`.
func (s *relScanner) python(args []string, via string, line int, cwd relCwd, depth int) {
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-m" && i+1 < len(args):
			mod := args[i+1]
			rest := args[i+2:]
			switch mod {
			case "alembic", "alembic.config":
				s.addAlembic(rest, strings.Join(args, " "), via, line, cwd)
			case "flask":
				s.addFlask(rest, strings.Join(args, " "), via, line, cwd)
			default:
				file := strings.ReplaceAll(mod, ".", "/")
				if !s.script(file+".py", cwd, depth) {
					s.script(file+"/__main__.py", cwd, depth)
				}
			}
			return
		case a == "-c" && i+1 < len(args):
			s.pythonText(args[i+1], strings.Join(args, " "), via, line, cwd)
			return
		case a == "-W" || a == "-X":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			s.script(a, cwd, depth)
			return
		}
	}
}

// addAlembic records `alembic ARGS`.
func (s *relScanner) addAlembic(args []string, display, via string, line int, cwd relCwd) {
	run := &relRun{Display: display, Section: "alembic", Via: via, ViaLine: line}
	run.setCwd(cwd)
	i := 0
	for i < len(args) {
		a := args[i]
		switch {
		case a == "-c" || a == "--config":
			if i+1 < len(args) {
				run.Config = args[i+1]
			}
			i += 2
		case strings.HasPrefix(a, "--config="):
			run.Config = strings.TrimPrefix(a, "--config=")
			i++
		case strings.HasPrefix(a, "-c") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			run.Config = a[2:]
			i++
		case a == "-n" || a == "--name":
			if i+1 < len(args) {
				run.Section = args[i+1]
			}
			i += 2
		case strings.HasPrefix(a, "--name="):
			run.Section = strings.TrimPrefix(a, "--name=")
			i++
		case a == "-x" || a == "--toml-file":
			i += 2
		case strings.HasPrefix(a, "-"):
			i++
		default:
			run.Command = a
			run.Target = relFirstPositional(args[i+1:], "--tag")
			i = len(args)
		}
	}
	if run.Command == "" {
		return
	}
	run.Display = relRedact(run.Display)
	if relDynamic(run.Config) || relDynamic(run.Section) {
		run.ConfigUnknown = true
	}
	s.rel.Runs = append(s.rel.Runs, run)
}

// addFlask records `flask [--app X] db upgrade [-d DIR] [target]`.
func (s *relScanner) addFlask(args []string, display, via string, line int, cwd relCwd) {
	i := 0
	for i < len(args) && args[i] != "db" {
		switch args[i] {
		case "--app", "-A", "-e", "--env-file":
			i += 2
		default:
			i++
		}
	}
	if i >= len(args) {
		return
	}
	run := &relRun{Display: display, Section: "alembic", Flask: true, Via: via, ViaLine: line}
	run.setCwd(cwd)
	dir := "migrations"
	var pos []string
	for i++; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-d" || a == "--directory":
			if i+1 < len(args) {
				dir = args[i+1]
			}
			i++
		case strings.HasPrefix(a, "--directory="):
			dir = strings.TrimPrefix(a, "--directory=")
		case a == "-x" || a == "--tag":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) == 0 {
		return
	}
	run.Command = pos[0]
	run.Target = "head"
	if len(pos) > 1 {
		run.Target = pos[1]
	}
	run.Display = relRedact(run.Display)
	run.Config = path.Join(dir, "alembic.ini")
	if relDynamic(dir) || relFlaskDirectoryInCode(s.p) {
		run.ConfigUnknown = true
	}
	s.rel.Runs = append(s.rel.Runs, run)
}

func (r *relRun) setCwd(c relCwd) {
	r.Cwd, r.CwdSet, r.CwdUnknown = c.dir, c.set, c.unknown
}

// relFirstPositional returns the first argument that is not an option (or
// the value of one of valued).
func relFirstPositional(args []string, valued ...string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			for _, v := range valued {
				if a == v {
					i++
				}
			}
			continue
		}
		return a
	}
	return ""
}

// relDynamic reports whether a word holds an expansion a shell would do.
func relDynamic(s string) bool {
	return strings.ContainsAny(s, "$`")
}

var relMigrateDirectory = lazyre.New(`Migrate\([^)]*directory\s*=`)

// relFlaskDirectoryInCode reports whether the app passes its own migrations
// folder to Flask-Migrate (Migrate(app, db, directory=...)).
func relFlaskDirectoryInCode(p *project.Project) bool {
	for _, f := range p.Files() {
		if !strings.HasSuffix(f, ".py") {
			continue
		}
		data, err := p.ReadText(f)
		if err != nil || !strings.Contains(string(data), "Migrate(") {
			continue
		}
		if relMigrateDirectory.Match(data) {
			return true
		}
	}
	return false
}

// script reads a script the release runs, when the repository holds it,
// and scans it for Alembic. It reports whether the script was found.
func (s *relScanner) script(name string, cwd relCwd, depth int) bool {
	if depth >= 3 || relDynamic(name) {
		return false
	}
	rel := s.rel.scriptPath(s.p, name, cwd)
	if rel == "" {
		return false
	}
	if s.seen[rel] {
		return true
	}
	s.seen[rel] = true
	data, err := s.p.ReadText(rel)
	if err != nil {
		return false
	}
	text := string(data)
	first, _, _ := strings.Cut(text, "\n")
	if strings.HasSuffix(rel, ".py") || (strings.HasPrefix(first, "#!") && strings.Contains(first, "python")) {
		s.pythonText(text, "", rel, 0, cwd)
		return true
	}
	cmds, err := shellcmd.Commands(text)
	if err != nil {
		return true
	}
	s.scan(cmds, rel, cwd, depth+1)
	return true
}

var (
	relPyCLIList   = lazyre.New(`["']alembic["']\s*,\s*(?:["'](?:-c|--config)["']\s*,\s*["']([^"']+)["']\s*,\s*)?["'](upgrade)["']\s*(?:,\s*["']([^"']+)["'])?`)
	relPyCLIString = lazyre.New(`["']alembic\s+(?:(?:-c|--config)\s+([^\s"']+)\s+)?(upgrade)\s+([^\s"']+)`)
	relPyAPI       = lazyre.New(`command\.(upgrade)\(\s*[^,()]+,\s*["']([^"']+)["']`)
	relPyConfig    = lazyre.New(`\bConfig\(\s*(?:file_\s*=\s*)?["']([^"']+)["']`)
)

// pythonText looks for Alembic run from Python: the CLI through subprocess
// or os.system, or alembic.command.upgrade with alembic.config.Config.
func (s *relScanner) pythonText(text, display, via string, line int, cwd relCwd) {
	if !strings.Contains(text, "alembic") {
		return
	}
	add := func(cfg, cmd, target string, at int, unknown bool) {
		run := &relRun{Display: display, Config: cfg, ConfigUnknown: unknown, Section: "alembic", Command: cmd, Target: target, Via: via, ViaLine: line}
		if via != "" && line == 0 {
			run.ViaLine = 1 + strings.Count(text[:at], "\n")
			run.Display = strings.TrimSpace(relLineAt(text, at))
		}
		if run.Display == "" {
			run.Display = "alembic " + cmd + " " + target
		}
		run.Display = relRedact(run.Display)
		run.setCwd(cwd)
		s.rel.Runs = append(s.rel.Runs, run)
	}
	for _, m := range relPyCLIList.FindAllStringSubmatchIndex(text, -1) {
		add(relGroup(text, m, 1), relGroup(text, m, 2), relGroup(text, m, 3), m[0], false)
	}
	for _, m := range relPyCLIString.FindAllStringSubmatchIndex(text, -1) {
		add(relGroup(text, m, 1), relGroup(text, m, 2), relGroup(text, m, 3), m[0], false)
	}
	if ms := relPyAPI.FindAllStringSubmatchIndex(text, -1); len(ms) > 0 {
		cfg := ""
		unknown := true
		if c := relPyConfig.FindStringSubmatch(text); c != nil {
			cfg, unknown = c[1], false
		}
		for _, m := range ms {
			add(cfg, relGroup(text, m, 1), relGroup(text, m, 2), m[0], unknown)
		}
	}
}

func relGroup(s string, m []int, i int) string {
	if 2*i+1 >= len(m) || m[2*i] < 0 {
		return ""
	}
	return s[m[2*i]:m[2*i+1]]
}

func relLineAt(text string, at int) string {
	start := strings.LastIndex(text[:at], "\n") + 1
	end := strings.IndexByte(text[at:], '\n')
	if end < 0 {
		return text[start:]
	}
	return text[start : at+end]
}

// scriptPath finds the repository file of a script the release runs: through
// the image (the COPY that put it there) when the Dockerfile shows it, else
// by its path relative to the build context.
func (rel *relRelease) scriptPath(p *project.Project, name string, cwd relCwd) string {
	if im := rel.Image; im != nil {
		dir := im.Workdir
		if cwd.set {
			dir = cwd.dir
			if cwd.unknown {
				dir = ""
			}
		}
		img := name
		if !path.IsAbs(img) && dir != "" {
			img = path.Join(dir, img)
		}
		if path.IsAbs(img) {
			if f, ok := im.FS.files[path.Clean(img)]; ok {
				return p.FromContext(f.Ctx)
			}
		}
	}
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	if path.IsAbs(clean) {
		if im := rel.Image; im != nil && im.Workdir != "" && strings.HasPrefix(clean, im.Workdir+"/") {
			clean = strings.TrimPrefix(clean, im.Workdir+"/")
		} else {
			return ""
		}
	}
	if strings.HasPrefix(clean, "../") {
		return ""
	}
	if c := p.FromContext(clean); relHasFile(p, c) {
		return c
	}
	return ""
}

// relHasFile reports whether the project has the file rel (committed, or
// present when the folder is not a git work tree).
func relHasFile(p *project.Project, rel string) bool {
	files := p.Files()
	i := sort.SearchStrings(files, rel)
	return i < len(files) && files[i] == rel
}

// relHasDir reports whether the project has a file under the folder rel.
func relHasDir(p *project.Project, rel string) bool {
	if rel == "." || rel == "" {
		return len(p.Files()) > 0
	}
	prefix := strings.TrimSuffix(rel, "/") + "/"
	files := p.Files()
	i := sort.SearchStrings(files, prefix)
	return i < len(files) && strings.HasPrefix(files[i], prefix)
}

// relFilesUnder returns the project's files under the folder rel.
func relFilesUnder(p *project.Project, rel string) []string {
	files := p.Files()
	if rel == "." || rel == "" {
		return files
	}
	prefix := strings.TrimSuffix(rel, "/") + "/"
	i := sort.SearchStrings(files, prefix)
	var out []string
	for ; i < len(files) && strings.HasPrefix(files[i], prefix); i++ {
		out = append(out, files[i])
	}
	return out
}

// --- the image ---------------------------------------------------------

// relImage is the deployed image as the Dockerfile builds it: the stage
// fly deploys, its working directory, and where the build context's files
// land in it.
type relImage struct {
	p  *project.Project
	DF *dockerfile.File
	// Stage is the deployed stage ([build] target, else the last one).
	Stage *dockerfile.Stage
	// Workdir is the directory release_command runs in; "" when the base
	// image's is not known.
	Workdir string
	// FS maps image paths to the context files copied there.
	FS    *relStageFS
	cache map[*dockerfile.Stage]*relStageFS
}

// relStageFS is what a stage's filesystem holds from the build context.
type relStageFS struct {
	// files maps an absolute image path to where it comes from.
	files map[string]relImgFile
	// unknown are areas whose content the Dockerfile does not show (a
	// COPY from another image, an unresolvable destination, an archive).
	unknown []relUnknown
	// runs are the RUN instructions that may have made files.
	runs []*dockerfile.Run
	// copies are the COPY/ADD instructions that built it, in order.
	copies []dockerfile.Copy
}

// relImgFile is one file of the image that comes from the build context.
type relImgFile struct {
	// Ctx is the file's path in the build context.
	Ctx string
	// Copy is the instruction that copied it from the context; Via are
	// the COPY --from instructions that carried it on, last first.
	Copy dockerfile.Copy
	Via  []dockerfile.Copy
	// Ignored is the .dockerignore line that leaves Ctx out of the
	// context (0 when it is sent): Docker then copies nothing.
	Ignored int
}

type relUnknown struct {
	dir string
	why string
}

// relNewImage models the image the deploy builds; nil when no Dockerfile is
// built.
func relNewImage(p *project.Project) *relImage {
	if p.Dockerfile == nil || len(p.Dockerfile.Stages) == 0 {
		return nil
	}
	target := ""
	if p.Fly != nil && p.Fly.Build != nil && p.Fly.Build.Target.Set {
		target = p.Fly.Build.Target.V
	}
	st := p.Dockerfile.Target(target)
	if st == nil {
		return nil
	}
	im := &relImage{p: p, DF: p.Dockerfile, Stage: st, cache: map[*dockerfile.Stage]*relStageFS{}}
	im.Workdir, _ = im.workdirAt(st, st.Loc.EndLine+1)
	im.FS = im.stageFS(st, 0)
	if im.entrypointChangesDir() {
		im.Workdir = "" // release_command runs behind it, somewhere else
	}
	return im
}

var relCdLine = lazyre.New(`(?m)(^|&&|;|\|\|)\s*(cd|pushd)\s`)

// entrypointChangesDir reports whether the image's ENTRYPOINT (which fly
// keeps in front of release_command) changes directory: a `cd` in its
// command, or in a script of the repository it runs.
func (im *relImage) entrypointChangesDir() bool {
	if im.p.Fly != nil && im.p.Fly.Experimental != nil && len(im.p.Fly.Experimental.Entrypoint) > 0 {
		return false // fly.toml replaces the image's ENTRYPOINT
	}
	ep := im.Stage.EffectiveEntrypoint()
	if ep == nil {
		return false
	}
	for _, c := range ep.Commands {
		args := shellcmd.Unwrap(c.Args)
		if len(args) == 0 {
			continue
		}
		if path.Base(args[0]) == "cd" || path.Base(args[0]) == "pushd" {
			return true
		}
		for _, a := range args {
			if !strings.HasSuffix(a, ".sh") && !strings.Contains(a, "/") {
				continue
			}
			img := a
			if !path.IsAbs(img) {
				if im.Workdir == "" {
					continue
				}
				img = path.Join(im.Workdir, img)
			}
			f, ok := im.FS.lookup(img)
			if !ok {
				continue
			}
			if data, err := im.p.ReadText(im.p.FromContext(f.Ctx)); err == nil && relCdLine.Match(data) {
				return true
			}
		}
	}
	return false
}

// relBaseWorkdir is the WORKDIR of well-known base images ("" when unknown).
func relBaseWorkdir(s *dockerfile.Stage) string {
	root := s
	if anc := s.Ancestors(); len(anc) > 0 {
		root = anc[len(anc)-1]
	}
	if root.Image.IsZero() {
		if strings.EqualFold(strings.TrimSpace(root.BaseResolved), "scratch") {
			return "/"
		}
		return ""
	}
	name := root.Image.Name()
	switch {
	case name == "python", name == "debian", name == "ubuntu", name == "alpine", name == "buildpack-deps",
		name == "ghcr.io/astral-sh/uv", name == "pypy":
		return "/"
	case strings.HasPrefix(name, "tiangolo/"):
		return "/app"
	}
	return ""
}

var relWorkdirLine = lazyre.New(`(?i)^\s*WORKDIR\s+(.+?)\s*$`)

// workdirAt returns the working directory in effect at a line of the
// stage (the directory a relative COPY destination or release_command
// uses), reading the WORKDIR instructions from the Dockerfile's text since
// the loader keeps only a stage's last one.
func (im *relImage) workdirAt(s *dockerfile.Stage, line int) (string, bool) {
	wd := ""
	if s.FromStage != nil {
		w, ok := im.workdirAt(s.FromStage, s.FromStage.Loc.EndLine+1)
		if !ok {
			return "", false
		}
		wd = w
	} else {
		wd = relBaseWorkdir(s)
	}
	if s.Workdir == "" {
		return wd, wd != ""
	}
	known := wd != ""
	for n := s.Loc.Line; n < line && n <= s.Loc.EndLine; n++ {
		text, ok := im.p.Line(im.DF.Path, n)
		if !ok {
			break
		}
		m := relWorkdirLine.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		dir := strings.Trim(m[1], `"'`)
		if relDynamic(dir) {
			if v, ok := relExpandEnv(s, dir); ok {
				dir = v
			} else {
				return "", false
			}
		}
		if path.IsAbs(dir) {
			wd, known = path.Clean(dir), true
		} else if known {
			wd = path.Join(wd, dir)
		} else {
			wd, known = path.Join("/", dir), true
		}
	}
	return wd, known
}

var relVarRef = lazyre.New(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// relExpandEnv expands $VAR and ${VAR} from the stage's ENV and ARG
// defaults; ok is false when a variable is unknown.
func relExpandEnv(s *dockerfile.Stage, v string) (string, bool) {
	ok := true
	out := relVarRef.ReplaceAllStringFunc(v, func(ref string) string {
		name := relVarRef.FindStringSubmatch(ref)[1]
		if e, found := s.LookupEnv(name); found {
			return e.Value
		}
		for _, a := range s.Args {
			if a.Name == name && a.HasDefault {
				return a.Default
			}
		}
		ok = false
		return ref
	})
	return out, ok && !relDynamic(out)
}

const relMaxStageDepth = 16

// stageFS builds (once) what a stage holds from the build context.
func (im *relImage) stageFS(s *dockerfile.Stage, depth int) *relStageFS {
	if fs, ok := im.cache[s]; ok {
		return fs
	}
	out := &relStageFS{files: map[string]relImgFile{}}
	im.cache[s] = out // a stage that copies from itself sees an empty stage
	if depth > relMaxStageDepth {
		out.unknown = append(out.unknown, relUnknown{dir: "/", why: "the stages nest too deep to follow"})
		return out
	}
	if s.FromStage != nil {
		parent := im.stageFS(s.FromStage, depth+1)
		for k, v := range parent.files {
			out.files[k] = v
		}
		out.unknown = append(out.unknown, parent.unknown...)
		out.runs = append(out.runs, parent.runs...)
		out.copies = append(out.copies, parent.copies...)
	}
	for i := range s.Runs {
		out.runs = append(out.runs, &s.Runs[i])
	}
	for _, c := range s.Copies {
		out.copies = append(out.copies, c)
		im.applyCopy(s, c, out, depth)
	}
	return out
}

func relHasGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

func relIsArchive(s string) bool {
	s = strings.ToLower(s)
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"} {
		if strings.HasSuffix(s, ext) {
			return true
		}
	}
	return false
}

// applyCopy adds what one COPY/ADD puts into the stage.
func (im *relImage) applyCopy(s *dockerfile.Stage, c dockerfile.Copy, out *relStageFS, depth int) {
	where := fmt.Sprintf("%s at %s:%d", c.Instruction, c.Loc.File, c.Loc.Line)
	dest := c.Dest
	wd, wdOK := im.workdirAt(s, c.Loc.Line)
	if relDynamic(dest) {
		v, ok := relExpandEnv(s, dest)
		if !ok {
			out.unknown = append(out.unknown, relUnknown{dir: "/", why: "the destination of " + where + " is a variable"})
			return
		}
		dest = v
	}
	if !path.IsAbs(dest) {
		if !wdOK {
			out.unknown = append(out.unknown, relUnknown{dir: "/", why: "the working directory of " + where + " is not known"})
			return
		}
		dest = path.Join(wd, dest)
	}
	dest = path.Clean(dest)
	glob := false
	for _, src := range c.Sources {
		glob = glob || relHasGlob(src)
	}
	dirDest := strings.HasSuffix(c.Dest, "/") || c.Dest == "." || len(c.Sources) > 1 || glob || (wdOK && dest == wd) || dest == "/"
	put := func(img string, f relImgFile) {
		if old, ok := out.files[img]; ok && f.Ignored != 0 && old.Ignored == 0 {
			return // an excluded file copies nothing; the earlier one stays
		}
		out.files[img] = f
	}
	for _, src := range c.Sources {
		if strings.HasPrefix(src, "<<") {
			continue
		}
		if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
			if c.Instruction == "ADD" {
				out.unknown = append(out.unknown, relUnknown{dir: dest, why: where + " downloads " + src})
			}
			continue
		}
		if c.From != "" {
			im.copyFromStage(s, c, src, dest, dirDest, where, out, put, depth)
			continue
		}
		matches := im.ctxMatch(src)
		if len(matches) == 0 {
			// The build stops at this COPY ("not found"), or the
			// repository is incomplete: what its destination would hold
			// is not known.
			out.unknown = append(out.unknown, relUnknown{dir: dest, why: fmt.Sprintf("%s copies %s, which is not in the build context", where, src)})
			continue
		}
		for _, m := range matches {
			if m.dir {
				for _, f := range relFilesUnder(im.p, im.p.FromContext(m.path)) {
					ctx, _ := im.p.InContext(f)
					rel := strings.TrimPrefix(ctx, m.path+"/")
					if m.path == "." {
						rel = ctx
					}
					put(path.Join(dest, rel), im.imgFile(ctx, c))
				}
				continue
			}
			if c.Instruction == "ADD" && relIsArchive(m.path) {
				out.unknown = append(out.unknown, relUnknown{dir: dest, why: where + " unpacks " + m.path})
				continue
			}
			f := im.imgFile(m.path, c)
			if dirDest {
				put(path.Join(dest, path.Base(m.path)), f)
			} else {
				// A destination without a trailing slash is a file, unless
				// it is a folder that already exists in the image.
				put(dest, f)
				put(path.Join(dest, path.Base(m.path)), f)
			}
		}
	}
}

func (im *relImage) imgFile(ctx string, c dockerfile.Copy) relImgFile {
	f := relImgFile{Ctx: ctx, Copy: c}
	if ig := im.p.DockerIgnore; ig != nil {
		if excluded, line := ig.Match(ctx); excluded {
			f.Ignored = line
			if f.Ignored == 0 {
				f.Ignored = -1
			}
		}
	}
	return f
}

type relCtxMatch struct {
	path string
	dir  bool
}

// ctxMatch returns the context files and folders a COPY source names.
func (im *relImage) ctxMatch(src string) []relCtxMatch {
	s := strings.TrimPrefix(path.Clean("/"+src), "/")
	if s == "" {
		s = "."
	}
	if !relHasGlob(s) {
		if s == "." || relHasDir(im.p, im.p.FromContext(s)) {
			return []relCtxMatch{{path: s, dir: true}}
		}
		if relHasFile(im.p, im.p.FromContext(s)) {
			return []relCtxMatch{{path: s}}
		}
		return nil
	}
	var out []relCtxMatch
	seen := map[string]bool{}
	for _, f := range im.p.Files() {
		ctx, ok := im.p.InContext(f)
		if !ok {
			continue
		}
		// The pattern matches the file itself or one of its folders.
		for cand := ctx; cand != "." && cand != "/"; cand = path.Dir(cand) {
			if ok, _ := path.Match(s, cand); ok {
				if !seen[cand] {
					seen[cand] = true
					out = append(out, relCtxMatch{path: cand, dir: cand != ctx})
				}
				break
			}
		}
	}
	return out
}

// copyFromStage adds what COPY --from=STAGE SRC DEST brings.
func (im *relImage) copyFromStage(s *dockerfile.Stage, c dockerfile.Copy, src, dest string, dirDest bool, where string,
	out *relStageFS, put func(string, relImgFile), depth int) {
	st := im.DF.Stage(c.From)
	if st == nil || st == s || st.Index >= s.Index {
		out.unknown = append(out.unknown, relUnknown{dir: dest, why: fmt.Sprintf("%s copies from %s, whose files the Dockerfile does not show", where, c.From)})
		return
	}
	sfs := im.stageFS(st, depth+1)
	srcAbs := path.Clean("/" + strings.TrimPrefix(src, "/"))
	carry := func(img string, f relImgFile) {
		f.Via = append([]dockerfile.Copy{c}, f.Via...)
		put(img, f)
	}
	for k, f := range sfs.files {
		switch {
		case relHasGlob(srcAbs):
			for cand := k; cand != "/"; cand = path.Dir(cand) {
				if ok, _ := path.Match(srcAbs, cand); ok {
					if cand == k {
						carry(path.Join(dest, path.Base(k)), f)
					} else {
						carry(path.Join(dest, strings.TrimPrefix(k, cand+"/")), f)
					}
					break
				}
			}
		case k == srcAbs:
			if dirDest {
				carry(path.Join(dest, path.Base(k)), f)
			} else {
				carry(dest, f)
				carry(path.Join(dest, path.Base(k)), f)
			}
		case srcAbs == "/" || strings.HasPrefix(k, srcAbs+"/"):
			carry(path.Join(dest, strings.TrimPrefix(strings.TrimPrefix(k, srcAbs), "/")), f)
		}
	}
	for _, u := range sfs.unknown {
		switch {
		case u.dir == "/" || srcAbs == u.dir || strings.HasPrefix(srcAbs, u.dir+"/"):
			out.unknown = append(out.unknown, relUnknown{dir: dest, why: u.why})
		case strings.HasPrefix(u.dir, srcAbs+"/"):
			out.unknown = append(out.unknown, relUnknown{dir: path.Join(dest, strings.TrimPrefix(u.dir, srcAbs+"/")), why: u.why})
		}
	}
	out.runs = append(out.runs, sfs.runs...)
}

// lookup returns the image file at the absolute path img.
func (fs *relStageFS) lookup(img string) (relImgFile, bool) {
	f, ok := fs.files[path.Clean(img)]
	return f, ok
}

// under returns the image files under the folder dir, sorted by path.
func (fs *relStageFS) under(dir string) []string {
	dir = path.Clean(dir)
	var out []string
	for k := range fs.files {
		if dir == "/" || strings.HasPrefix(k, dir+"/") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// uncertain says why the Dockerfile may put something at img that the
// model does not see ("" when it shows everything): an area of unknown
// content, or a RUN that mentions one of names.
func (fs *relStageFS) uncertain(img string, names ...string) string {
	img = path.Clean(img)
	for _, u := range fs.unknown {
		if u.dir == "/" || img == u.dir || strings.HasPrefix(img, u.dir+"/") {
			return u.why
		}
	}
	for _, r := range fs.runs {
		if strings.Contains(r.Script, "git clone") {
			return fmt.Sprintf("RUN at %s:%d clones a repository", r.Loc.File, r.Loc.Line)
		}
		for _, n := range names {
			if n != "" && strings.Contains(r.Script, n) {
				return fmt.Sprintf("RUN at %s:%d mentions %s", r.Loc.File, r.Loc.Line, n)
			}
		}
	}
	return ""
}

// contextCopies lists the COPY/ADD instructions of the deployed image that
// take files from the build context, as "`COPY app/ ./app/` (Dockerfile:9)"
// (the first eight, then how many more).
func (im *relImage) contextCopies() []string {
	const max = 8
	var out []string
	n := 0
	for _, c := range im.FS.copies {
		if c.From != "" {
			continue
		}
		n++
		if n <= max {
			out = append(out, fmt.Sprintf("`%s %s %s` (%s:%d)", c.Instruction, strings.Join(c.Sources, " "), c.Dest, c.Loc.File, c.Loc.Line))
		}
	}
	if n > max {
		out = append(out, fmt.Sprintf("%d more", n-max))
	}
	return out
}

// where returns where the image has the context file ctx ("" when not).
func (im *relImage) where(ctx string) string {
	var hits []string
	for k, f := range im.FS.files {
		if f.Ctx == ctx && f.Ignored == 0 {
			hits = append(hits, k)
		}
	}
	sort.Strings(hits)
	if len(hits) == 0 {
		return ""
	}
	return hits[0]
}

// relCopyDesc describes the instruction that brought an image file.
func relCopyDesc(f relImgFile) string {
	c := f.Copy
	s := fmt.Sprintf("`%s %s %s` (%s:%d)", c.Instruction, strings.Join(c.Sources, " "), c.Dest, c.Loc.File, c.Loc.Line)
	for _, v := range f.Via {
		s += fmt.Sprintf(", then `COPY --from=%s` (%s:%d)", v.From, v.Loc.File, v.Loc.Line)
	}
	return s
}

// --- which ini, which script folder ------------------------------------

// relIni is the alembic.ini one run uses.
type relIni struct {
	Run *relRun
	// Name is the config path as alembic gets it (alembic.ini, -c path).
	Name string
	// Img is its absolute path in the image ("" when unknown).
	Img string
	// Cwd is the run's working directory in the image ("" when unknown).
	Cwd string
	// State says what the image holds there.
	State relIniState
	// File is the image file (State relIniOK or relIniIgnored).
	File relImgFile
	// Repo is the project path of the ini the run reads (or, when it is
	// not in the image, the one it was meant to read), "" when unknown.
	Repo string
	// Entry is Repo's loaded Alembic setup (nil when not loaded).
	Entry *project.Alembic
	// Why says why the state is unknown.
	Why string
}

type relIniState int

const (
	relIniUnknown   relIniState = iota // cannot tell
	relIniOK                           // in the image
	relIniMissing                      // no such file in the repository
	relIniIgnored                      // excluded by .dockerignore
	relIniNotCopied                    // in the repository, not in the image
)

// relPyprojectAlembic reports whether a pyproject.toml of the build context
// configures Alembic ([tool.alembic], Alembic 1.16+), which can stand in
// for alembic.ini.
func relPyprojectAlembic(p *project.Project) bool {
	for _, f := range p.Files() {
		if path.Base(f) != "pyproject.toml" {
			continue
		}
		if data, err := p.ReadText(f); err == nil && strings.Contains(string(data), "[tool.alembic") {
			return true
		}
	}
	return false
}

// envValue returns a variable fly sets on the release machine ([env]) or
// the image sets (ENV).
func (rel *relRelease) envValue(p *project.Project, name string) (string, bool) {
	if p.Fly != nil {
		if v, ok := p.Fly.Env[name]; ok && v.Set {
			return v.V, true
		}
	}
	if rel.Image != nil {
		if e, ok := rel.Image.Stage.LookupEnv(name); ok {
			return e.Value, true
		}
	}
	return "", false
}

// ini resolves the alembic.ini of a run.
func (rel *relRelease) ini(p *project.Project, run *relRun) *relIni {
	res := &relIni{Run: run}
	name := run.Config
	if name == "" {
		name = "alembic.ini"
		if v, ok := rel.envValue(p, "ALEMBIC_CONFIG"); ok && v != "" {
			name = v
		}
	}
	res.Name = name
	if run.ConfigUnknown || relDynamic(name) {
		res.Why = "the config file is chosen at run time"
		return res
	}
	im := rel.Image
	cwd := ""
	switch {
	case run.CwdUnknown:
	case run.CwdSet && path.IsAbs(run.Cwd):
		cwd = run.Cwd
	case im != nil:
		cwd = im.Workdir
	}
	res.Cwd = cwd
	if path.IsAbs(name) {
		res.Img = path.Clean(name)
	} else if cwd != "" {
		res.Img = path.Join(cwd, name)
	}
	// The repository file the run is meant to read, as if the context
	// were the working directory (COPY . .).
	guess := ""
	if !path.IsAbs(name) && !(run.CwdSet && !run.CwdUnknown) {
		guess = p.FromContext(name)
	} else if im != nil && path.IsAbs(res.Img) && im.Workdir != "" && strings.HasPrefix(res.Img, im.Workdir+"/") {
		guess = p.FromContext(strings.TrimPrefix(res.Img, im.Workdir+"/"))
	}
	setRepo := func(r string) {
		res.Repo = r
		for _, a := range p.Alembic {
			if a.Config != nil && a.Config.Path == r {
				res.Entry = a
			}
		}
	}
	if im == nil || res.Img == "" {
		if guess != "" && relHasFile(p, guess) {
			setRepo(guess)
		}
		if im == nil {
			res.Why = "no Dockerfile is built"
		} else {
			res.Why = "the working directory of the release is not known"
		}
		return res
	}
	if f, ok := im.FS.lookup(res.Img); ok {
		res.File = f
		setRepo(p.FromContext(f.Ctx))
		if f.Ignored != 0 {
			res.State = relIniIgnored
		} else {
			res.State = relIniOK
		}
		return res
	}
	if !run.Flask && relPyprojectAlembic(p) {
		res.Why = "pyproject.toml configures Alembic"
		return res
	}
	if why := im.FS.uncertain(res.Img, path.Base(name)); why != "" {
		res.Why = why
		if guess != "" && relHasFile(p, guess) {
			setRepo(guess)
		}
		return res
	}
	var cands []string
	for _, f := range p.Files() {
		if path.Base(f) == path.Base(name) {
			cands = append(cands, f)
		}
	}
	if len(cands) == 0 {
		res.State = relIniMissing
		return res
	}
	res.State = relIniNotCopied
	switch {
	case guess != "" && relHasFile(p, guess):
		setRepo(guess)
	case len(cands) == 1:
		setRepo(cands[0])
	}
	return res
}

// relSection returns the script location of the section a run reads.
func relSection(cfg *alembic.Config, section string) (alembic.ScriptLocation, bool) {
	if cfg == nil {
		return alembic.ScriptLocation{}, false
	}
	for _, sl := range cfg.ScriptLocations() {
		if sl.Section == section {
			return sl, true
		}
	}
	return alembic.ScriptLocation{}, false
}

// relRelPath returns target relative to base (both cleaned slash paths
// relative to the same root), possibly with "../".
func relRelPath(base, target string) string {
	base, target = path.Clean(base), path.Clean(target)
	switch {
	case target == base:
		return "."
	case base == "." && !path.IsAbs(target):
		return target
	case base == "/" && path.IsAbs(target):
		return strings.TrimPrefix(target, "/")
	case path.IsAbs(base) != path.IsAbs(target):
		return target
	case strings.HasPrefix(target, base+"/"):
		return strings.TrimPrefix(target, base+"/")
	}
	return path.Join("..", relRelPath(path.Dir(base), target))
}

// --- revision graphs ----------------------------------------------------

// relGraph is the revision history of one script location.
type relGraph struct {
	Entry   *project.Alembic
	Section string // "" for a Flask-Migrate folder or a single location
	Dir     string // the script folder (project path)
	Revs    []*alembic.Revision
	Graph   *alembic.Graph
}

// relGraphs returns one graph per script location of every alembic.ini
// (the loader merges the sections of an ini into one graph), each history
// once even when several inis point at it.
func relGraphs(p *project.Project) []relGraph {
	var out []relGraph
	seen := map[string]bool{}
	add := func(g relGraph) {
		var paths []string
		for _, r := range g.Revs {
			paths = append(paths, r.Path)
		}
		sort.Strings(paths)
		key := strings.Join(paths, "\x00")
		if len(paths) == 0 || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, g)
	}
	for _, a := range p.Alembic {
		if a == nil || a.Config == nil {
			continue
		}
		locs := a.Config.ScriptLocations()
		if len(locs) <= 1 {
			g := relGraph{Entry: a, Revs: a.Revisions, Graph: a.Graph, Dir: path.Dir(a.Config.Path)}
			if len(locs) == 1 {
				g.Section, g.Dir = locs[0].Section, locs[0].Dir
			}
			if g.Graph == nil {
				g.Graph = alembic.BuildGraph(a.Revisions)
			}
			add(g)
			continue
		}
		for _, sl := range locs {
			revs, _ := sl.Load(p.FS())
			add(relGraph{Entry: a, Section: sl.Section, Dir: sl.Dir, Revs: revs, Graph: alembic.BuildGraph(revs)})
		}
	}
	return out
}

// relRevLoc is where a finding about a revision points: its down_revision,
// else its revision id, else the file.
func relRevLoc(r *alembic.Revision) report.Location {
	switch {
	case r.DownLoc.Line > 0:
		l := r.DownLoc
		l.File = r.Path
		return l
	case r.IDLoc.Line > 0:
		l := r.IDLoc
		l.File = r.Path
		return l
	}
	return report.Location{File: r.Path, Line: 1}
}

// relRunsFor returns the release runs that read the history g.
func relRunsFor(p *project.Project, rel *relRelease, g relGraph) []*relRun {
	if rel == nil {
		return nil
	}
	var out []*relRun
	for _, run := range rel.Runs {
		ini := rel.ini(p, run)
		if ini.Entry == nil || ini.Entry != g.Entry {
			continue
		}
		if g.Section != "" && !run.Flask && run.Section != g.Section {
			continue
		}
		out = append(out, run)
	}
	return out
}

// --- the database URL ---------------------------------------------------

var relDBVarName = lazyre.New(`^(?:[A-Z0-9]+_)*(?:DATABASE|DB|POSTGRES|POSTGRESQL|PG|SQLALCHEMY_DATABASE)_(?:URL|URI|DSN)$`)

// relIsDBVar reports whether an environment variable holds a database URL.
func relIsDBVar(name string) bool {
	return relDBVarName.MatchString(strings.ToUpper(name))
}

// relDBRead is a place that reads the database URL from the environment.
type relDBRead struct {
	Module *pysettings.Module
	Var    pysettings.EnvVar
}

// relEnvPy returns the env.py module of the script folder dir (project
// path), if it reads anything the settings scanner reports.
func relEnvPy(p *project.Project, dir string) *pysettings.Module {
	want := path.Join(dir, "env.py")
	for _, m := range p.Settings {
		if m.Path == want {
			return m
		}
	}
	return nil
}

// relScriptDirs returns the script folders of every alembic.ini.
func relScriptDirs(p *project.Project) []string {
	var out []string
	for _, a := range p.Alembic {
		if a == nil || a.Config == nil {
			continue
		}
		locs := a.Config.ScriptLocations()
		for _, sl := range locs {
			if sl.Kind == alembic.PathHere || sl.Kind == alembic.PathRelative || sl.Kind == alembic.PathPackage {
				out = append(out, sl.Dir)
			}
		}
		if len(locs) == 0 {
			out = append(out, path.Dir(a.Config.Path))
		}
	}
	return out
}

// relUnder reports whether the project path f is inside folder dir.
func relUnder(f, dir string) bool {
	return dir == "." || strings.HasPrefix(f, strings.TrimSuffix(dir, "/")+"/")
}

// relDBReads returns the reads of database URL variables: first those of
// the env.py files of the script folders, then the app's settings, in file
// order. Test code is not loaded.
func relDBReads(p *project.Project) (envPy, settings []relDBRead) {
	dirs := relScriptDirs(p)
	for _, m := range p.Settings {
		isEnv := false
		for _, d := range dirs {
			if m.Path == path.Join(d, "env.py") {
				isEnv = true
			}
		}
		for _, v := range m.Vars {
			if !relIsDBVar(v.Name) {
				continue
			}
			if isEnv {
				envPy = append(envPy, relDBRead{m, v})
			} else {
				settings = append(settings, relDBRead{m, v})
			}
		}
	}
	return envPy, settings
}

// relFlyEnvSets reports whether fly.toml [env] (or the image's ENV) sets
// the variable or one of its aliases.
func relFlyEnvSets(p *project.Project, rel *relRelease, v pysettings.EnvVar) bool {
	for _, n := range append([]string{v.Name}, v.Aliases...) {
		if p.Fly != nil {
			if e, ok := p.Fly.Env[n]; ok && e.Set {
				return true
			}
		}
		if rel != nil {
			if _, ok := rel.envValue(p, n); ok {
				return true
			}
		}
	}
	return false
}

// relFailure is what the app prints when a variable read this way is
// missing.
func relFailure(v pysettings.EnvVar) string {
	switch v.Kind {
	case pysettings.KindEnviron:
		return fmt.Sprintf("`KeyError: '%s'`", v.Name)
	case pysettings.KindPydantic:
		return fmt.Sprintf("`ValidationError: … %s Field required`", v.Name)
	case pysettings.KindDecouple:
		return fmt.Sprintf("`UndefinedValueError: %s not found`", v.Name)
	case pysettings.KindEnvirons:
		return fmt.Sprintf("`EnvError: Environment variable \"%s\" not set`", v.Name)
	case pysettings.KindStarlette:
		return fmt.Sprintf("`KeyError: \"Config '%s' is missing, and has no default.\"`", v.Name)
	}
	return "`Expected string or URL object, got None` (or a connection to the default host)"
}

// relLocString formats a location as file:line.
func relLocString(l report.Location) string {
	if l.Line == 0 {
		return l.File
	}
	return fmt.Sprintf("%s:%d", l.File, l.Line)
}

// relPlural formats a count with its noun, e.g. "1 migration", "3 migrations".
func relPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// relRedact masks what looks secret in a command before it is quoted in a
// finding: URL passwords, values in a known secret format, and values given
// to secret-sounding NAME=value words.
func relRedact(cmd string) string {
	cmd = pydeps.RedactURL(cmd)
	if strings.ContainsAny(cmd, "\n\r") {
		cmd = strings.Join(strings.Fields(cmd), " ")
	}
	runes := []rune(cmd)
	cands := secretscan.Scan("release_command.sh", []byte(cmd))
	for i := len(cands) - 1; i >= 0; i-- {
		c := cands[i]
		start := c.Loc.Column - 1
		if c.Loc.Line != 1 || start < 0 || start+c.Length > len(runes) {
			continue
		}
		runes = append(runes[:start:start], append([]rune("****"), runes[start+c.Length:]...)...)
	}
	words := strings.Split(string(runes), " ")
	for i, w := range words {
		name, value, ok := strings.Cut(w, "=")
		if ok && value != "" && value != "****" && secretscan.LooksSecretName(strings.TrimLeft(name, "-")) {
			words[i] = name + "=****"
		}
	}
	return strings.Join(words, " ")
}
