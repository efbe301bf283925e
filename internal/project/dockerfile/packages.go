package dockerfile

import (
	"path"
	"regexp"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/shellcmd"
)

// installs reads the system package and Python package commands of a RUN.
func (b *builder) installs(r *Run) {
	s := b.stage
	for _, c := range r.Commands {
		words := unwrapWords(c)
		if len(words) == 0 {
			continue
		}
		if mgr, removed, names := sysPackages(words); mgr != "" {
			virtual := ""
			if !removed {
				virtual = apkVirtual(words)
			}
			for _, w := range names {
				p := SysPackage{Manager: mgr, Virtual: virtual, Loc: b.wordLoc(r, w)}
				p.Name, p.Version = splitVersion(mgr, w.Value)
				if p.Name == "" {
					continue
				}
				if removed {
					s.removePackage(p)
				} else {
					s.Packages = append(s.Packages, p)
					s.events = append(s.events, pkgEvent{pkg: p})
				}
			}
			continue
		}
		if pi, ok := pipInstall(words); ok {
			pi.Loc = b.wordLoc(r, words[0])
			if lastLoc := b.wordLoc(r, words[len(words)-1]); lastLoc.Line > pi.Loc.Line {
				pi.Loc.EndLine = lastLoc.Line
			}
			for _, w := range pi.pkgWords {
				pi.PackageLocs = append(pi.PackageLocs, b.wordLoc(r, w))
			}
			pi.pkgWords = nil
			s.PipInstalls = append(s.PipInstalls, pi.PipInstall)
		}
	}
}

// removePackage records a removal; removing an apk virtual package removes
// the packages added under its name.
func (s *Stage) removePackage(p SysPackage) {
	group := false
	if p.Manager == "apk" {
		for _, st := range append(s.Ancestors(), s) {
			for _, q := range st.Packages {
				if q.Virtual == p.Name {
					group = true
					r := q
					r.Loc = p.Loc
					s.RemovedPackages = append(s.RemovedPackages, r)
					s.events = append(s.events, pkgEvent{pkg: r, removed: true})
				}
			}
		}
	}
	if !group {
		s.RemovedPackages = append(s.RemovedPackages, p)
		s.events = append(s.events, pkgEvent{pkg: p, removed: true})
	}
}

// wordLoc returns where a word of a RUN stands. A word that came from a
// variable (`$BUILD_DEPS`) points at the value's text in the script when it
// appears there exactly once as a whole word (the assignment), else at the
// variable.
func (b *builder) wordLoc(r *Run, w shellcmd.Word) report.Location {
	if w.Expanded && w.Value != "" {
		if i := wholeWordIndex(r.Script, w.Value); i >= 0 {
			return r.Location(i)
		}
	}
	return r.Location(w.Offset)
}

// wholeWordIndex returns the offset of the only occurrence of word in text
// delimited by blanks or quotes, or -1.
func wholeWordIndex(text, word string) int {
	re := regexp.MustCompile(`(?:^|[\s"'=])(` + regexp.QuoteMeta(word) + `)(?:$|[\s"';])`)
	all := re.FindAllStringSubmatchIndex(text, 2)
	if len(all) != 1 {
		return -1
	}
	return all[0][2]
}

// unwrapWords strips wrappers (exec, env, poetry run, ...) from a command,
// keeping word positions when the result is a suffix of the command.
func unwrapWords(c shellcmd.Command) []shellcmd.Word {
	rest := shellcmd.Unwrap(c.Args)
	base := len(c.Args) - len(rest)
	if base < 0 || !equalStrings(rest, c.Args[base:]) {
		out := make([]shellcmd.Word, len(rest))
		for i, a := range rest {
			out[i] = shellcmd.Word{Value: a, Offset: c.Offset, Line: c.Line, Col: c.Col}
		}
		return out
	}
	return c.Words[base:]
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pkgManagers maps a program name to its manager and option words that
// take a value.
var pkgManagers = map[string]struct {
	manager    string
	valueOpts  map[string]bool
	install    map[string]bool
	remove     map[string]bool
	subcommand bool
}{
	"apt-get":  {"apt", aptValueOpts, set("install"), set("remove", "purge"), true},
	"apt":      {"apt", aptValueOpts, set("install"), set("remove", "purge"), true},
	"aptitude": {"apt", aptValueOpts, set("install"), set("remove", "purge"), true},
	"apk":      {"apk", apkValueOpts, set("add"), set("del"), true},
	"dnf":      {"dnf", rpmValueOpts, set("install"), set("remove", "erase"), true},
	"yum":      {"yum", rpmValueOpts, set("install"), set("remove", "erase"), true},
	"microdnf": {"microdnf", rpmValueOpts, set("install"), set("remove"), true},
	"tdnf":     {"dnf", rpmValueOpts, set("install"), set("remove", "erase"), true},
}

var (
	aptValueOpts = set("-o", "--option", "-t", "--target-release", "--default-release", "-c", "--config-file", "-a", "--host-architecture")
	apkValueOpts = set("-X", "--repository", "-p", "--root", "-t", "--virtual", "--keys-dir", "--arch", "--cache-dir", "--repositories-file", "--cache-max-age", "--timeout")
	rpmValueOpts = set("-c", "--config", "-x", "--exclude", "--enablerepo", "--disablerepo", "--installroot", "--releasever", "--repo", "--repoid", "--setopt", "-R", "--randomwait", "-d", "--debuglevel", "-e", "--errorlevel", "--forcearch")
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// sysPackages reads an install or remove command of a system package
// manager and returns the words naming packages.
func sysPackages(words []shellcmd.Word) (manager string, removed bool, names []shellcmd.Word) {
	pm, ok := pkgManagers[path.Base(words[0].Value)]
	if !ok {
		return "", false, nil
	}
	sub := ""
	for i := 1; i < len(words); i++ {
		a := words[i].Value
		if strings.HasPrefix(a, "-") {
			if pm.valueOpts[a] {
				i++
			}
			continue
		}
		if sub == "" {
			sub = a
			if !pm.install[sub] && !pm.remove[sub] {
				return "", false, nil
			}
			continue
		}
		if words[i].Dynamic || a == "" {
			continue
		}
		names = append(names, words[i])
	}
	if sub == "" {
		return "", false, nil
	}
	return pm.manager, pm.remove[sub], names
}

// apkVirtual returns the --virtual/-t name of an apk add command.
func apkVirtual(words []shellcmd.Word) string {
	if path.Base(words[0].Value) != "apk" {
		return ""
	}
	for i := 1; i < len(words); i++ {
		a := words[i].Value
		if (a == "--virtual" || a == "-t") && i+1 < len(words) {
			return words[i+1].Value
		}
		if v, ok := strings.CutPrefix(a, "--virtual="); ok {
			return v
		}
	}
	return ""
}

// splitVersion splits "name=1.2" (apt, apk) or "name~1.2", "name>1" (apk).
func splitVersion(manager, word string) (name, version string) {
	cut := "="
	if manager == "apk" {
		cut = "=~<>"
	}
	if manager == "dnf" || manager == "yum" || manager == "microdnf" {
		return word, ""
	}
	if i := strings.IndexAny(word, cut); i > 0 {
		return word[:i], strings.TrimLeft(word[i:], "=~<>")
	}
	return word, ""
}

// pipFound is a PipInstall with the words of its packages.
type pipFound struct {
	PipInstall
	pkgWords []shellcmd.Word
}

var (
	rePip    = lazyre.New(`^pip(\d+(\.\d+)*)?$`)
	rePython = lazyre.New(`^(python|pypy)(\d+(\.\d+)*)?$|^py$`)
)

// pythonModule returns the module run by `python [options] -m module`, and
// the index of the word after it.
func pythonModule(words []shellcmd.Word) (string, int) {
	if !rePython.MatchString(path.Base(words[0].Value)) {
		return "", 0
	}
	for i := 1; i < len(words); i++ {
		a := words[i].Value
		switch {
		case a == "-m" && i+1 < len(words):
			return words[i+1].Value, i + 2
		case strings.HasPrefix(a, "-m") && len(a) > 2:
			return a[2:], i + 1
		case a == "-X" || a == "-W":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return "", 0
		}
	}
	return "", 0
}

// pipInstall recognises a Python package install command.
func pipInstall(words []shellcmd.Word) (pipFound, bool) {
	var f pipFound
	prog := path.Base(words[0].Value)
	rest := words[1:]
	if mod, next := pythonModule(words); mod != "" {
		prog, rest = mod, words[next:]
	}
	for _, w := range words {
		f.Args = append(f.Args, w.Value)
	}
	switch {
	case rePip.MatchString(prog):
		sub, args := subcommand(rest, pipValueOpts)
		switch sub {
		case "install", "wheel", "download":
			f.Tool, f.Subcommand = "pip", sub
			f.pipArgs(args, false)
			return f, true
		}
	case prog == "uv":
		sub, args := subcommand(rest, uvValueOpts)
		switch sub {
		case "pip":
			sub2, args2 := subcommand(args, uvValueOpts)
			switch sub2 {
			case "install", "sync":
				f.Tool, f.Subcommand = "uv pip", sub2
				f.pipArgs(args2, sub2 == "sync")
				return f, true
			}
		case "sync":
			f.Tool, f.Subcommand = "uv sync", "sync"
			f.InstallsProject = !hasWord(args, "--no-install-project") && !hasWord(args, "--only-group")
			return f, true
		}
	case prog == "poetry":
		sub, args := subcommand(rest, poetryValueOpts)
		switch sub {
		case "install", "sync":
			f.Tool, f.Subcommand = "poetry", sub
			f.InstallsProject = !hasWord(args, "--no-root") && !hasWord(args, "--only-root")
			if hasWord(args, "--only-root") {
				f.InstallsProject = true
			}
			return f, true
		case "add":
			f.Tool, f.Subcommand = "poetry", sub
			f.positional(args, poetryValueOpts)
			return f, true
		}
	case prog == "pipenv":
		sub, args := subcommand(rest, pipenvValueOpts)
		switch sub {
		case "install", "sync":
			f.Tool, f.Subcommand = "pipenv", sub
			f.pipArgs(args, false)
			return f, true
		}
	case prog == "pdm":
		sub, args := subcommand(rest, pdmValueOpts)
		switch sub {
		case "install", "sync":
			f.Tool, f.Subcommand = "pdm", sub
			f.InstallsProject = !hasWord(args, "--no-self")
			return f, true
		case "add":
			f.Tool, f.Subcommand = "pdm", sub
			f.positional(args, pdmValueOpts)
			return f, true
		}
	case prog == "conda" || prog == "mamba" || prog == "micromamba":
		sub, args := subcommand(rest, condaValueOpts)
		if sub == "env" {
			sub, args = subcommand(args, condaValueOpts)
		}
		switch sub {
		case "install", "create", "update":
			f.Tool, f.Subcommand = "conda", sub
			f.condaArgs(args)
			return f, true
		}
	}
	return f, false
}

// subcommand returns the first word that is not an option (skipping the
// values of value options) and the words after it.
func subcommand(words []shellcmd.Word, valueOpts map[string]bool) (string, []shellcmd.Word) {
	for i := 0; i < len(words); i++ {
		a := words[i].Value
		if strings.HasPrefix(a, "-") {
			if valueOpts[a] {
				i++
			}
			continue
		}
		return a, words[i+1:]
	}
	return "", nil
}

func hasWord(words []shellcmd.Word, s string) bool {
	for _, w := range words {
		if w.Value == s {
			return true
		}
	}
	return false
}

// optValue splits "--opt=value" and "-rfile"-style words; it returns the
// option, its inline value and whether there was one.
func optValue(a string, short map[string]bool) (opt, val string, inline bool) {
	if strings.HasPrefix(a, "--") {
		if o, v, ok := strings.Cut(a, "="); ok {
			return o, v, true
		}
		return a, "", false
	}
	if len(a) > 2 && short[a[:2]] {
		return a[:2], a[2:], true
	}
	return a, "", false
}

// pipArgs reads the arguments of pip install (also uv pip, pipenv).
func (f *pipFound) pipArgs(words []shellcmd.Word, positionalAreFiles bool) {
	shortWithValue := set("-r", "-c", "-e", "-t", "-i", "-f", "-C", "-w", "-d", "-p")
	for i := 0; i < len(words); i++ {
		w := words[i]
		opt, val, inline := optValue(w.Value, shortWithValue)
		if !strings.HasPrefix(opt, "-") || opt == "-" {
			switch {
			case positionalAreFiles:
				f.RequirementFiles = append(f.RequirementFiles, w.Value)
			case isProjectPath(w.Value):
				f.InstallsProject = true
			default:
				f.Packages = append(f.Packages, w.Value)
				f.pkgWords = append(f.pkgWords, w)
			}
			continue
		}
		takes := pipValueOpts[opt] || shortWithValue[opt]
		if takes && !inline {
			if i+1 >= len(words) {
				break
			}
			i++
			val = words[i].Value
		}
		switch opt {
		case "-r", "--requirement", "--requirements":
			f.RequirementFiles = append(f.RequirementFiles, val)
		case "-c", "--constraint", "--constraints":
			f.Constraints = append(f.Constraints, val)
		case "-e", "--editable":
			f.Editable = append(f.Editable, val)
			if isProjectPath(val) {
				f.InstallsProject = true
			}
		case "--no-binary":
			f.NoBinary = append(f.NoBinary, strings.Split(val, ",")...)
		case "--only-binary":
			f.OnlyBinary = append(f.OnlyBinary, strings.Split(val, ",")...)
		case "--prefix", "--target", "-t", "--root":
			f.Prefix, f.PrefixFlag = val, opt
			if opt == "-t" {
				f.PrefixFlag = "--target"
			}
		case "--user":
			f.Prefix, f.PrefixFlag = "~/.local", "--user"
		case "-w", "--wheel-dir", "-d", "--dest":
			f.Prefix, f.PrefixFlag = val, map[string]string{"-w": "--wheel-dir", "-d": "--dest"}[opt]
			if f.PrefixFlag == "" {
				f.PrefixFlag = opt
			}
		}
	}
}

// positional collects the packages of `poetry add` / `pdm add`.
func (f *pipFound) positional(words []shellcmd.Word, valueOpts map[string]bool) {
	for i := 0; i < len(words); i++ {
		a := words[i].Value
		if strings.HasPrefix(a, "-") {
			if valueOpts[a] {
				i++
			}
			continue
		}
		f.Packages = append(f.Packages, a)
		f.pkgWords = append(f.pkgWords, words[i])
	}
}

// condaArgs reads the arguments of conda install/create/env create.
func (f *pipFound) condaArgs(words []shellcmd.Word) {
	short := set("-c", "-n", "-p", "-f")
	for i := 0; i < len(words); i++ {
		w := words[i]
		opt, val, inline := optValue(w.Value, short)
		if !strings.HasPrefix(opt, "-") {
			f.Packages = append(f.Packages, w.Value)
			f.pkgWords = append(f.pkgWords, w)
			continue
		}
		if condaValueOpts[opt] && !inline {
			if i+1 >= len(words) {
				break
			}
			i++
			val = words[i].Value
		}
		switch opt {
		case "-f", "--file":
			f.RequirementFiles = append(f.RequirementFiles, val)
		case "-p", "--prefix":
			f.Prefix, f.PrefixFlag = val, "--prefix"
		}
	}
}

// isProjectPath reports whether a pip argument names the project in the
// current directory: ".", "./", ".[extras]".
func isProjectPath(a string) bool {
	a = strings.TrimPrefix(a, "file:")
	if base, _, ok := strings.Cut(a, "["); ok {
		a = base
	}
	return a == "." || a == "./"
}

var pipValueOpts = set(
	"-r", "--requirement", "--requirements", "-c", "--constraint", "--constraints", "-e", "--editable",
	"-t", "--target", "--prefix", "--root", "-i", "--index-url", "--extra-index-url", "-f", "--find-links",
	"--no-binary", "--only-binary", "--platform", "--python-version", "--implementation", "--abi", "--src",
	"--upgrade-strategy", "--progress-bar", "--log", "--log-file", "--cache-dir", "--trusted-host",
	"--proxy", "--retries", "--timeout", "--exists-action", "--cert", "--client-cert", "--global-option",
	"--config-settings", "-C", "--install-option", "--python", "--root-user-action", "--report",
	"--group", "-w", "--wheel-dir", "-d", "--dest", "--use-feature", "--use-deprecated",
	"--keyring-provider", "--build-option",
	// uv pip
	"-p", "--python-platform", "--override", "--overrides", "--index-strategy", "--resolution",
	"--prerelease", "--exclude-newer", "--link-mode", "--config-file", "--index", "--default-index",
	"--extra", "--reinstall-package", "--upgrade-package", "-P", "--refresh-package", "--no-build-package",
	"--no-binary-package", "--allow-insecure-host", "--torch-backend",
	// pipenv
	"--categories", "--pypi-mirror",
)

var uvValueOpts = set("--cache-dir", "--config-file", "--directory", "--project", "--color", "--python", "-p",
	"--python-preference", "--allow-insecure-host", "--extra", "--group", "--only-group", "--no-group",
	"--package", "--index", "--default-index", "--index-url", "--extra-index-url", "-i", "--find-links", "-f",
	"--resolution", "--prerelease", "--exclude-newer", "--link-mode", "--python-platform", "--index-strategy",
	"--keyring-provider", "--config-setting", "-C", "--no-install-package", "--refresh-package", "--upgrade-package",
	"-P", "--reinstall-package")

var poetryValueOpts = set("--directory", "-C", "--project", "-P", "--with", "--without", "--only", "-E", "--extras",
	"--group", "-G", "--source", "--python", "--platform", "--markers")

var pipenvValueOpts = set("--python", "--pypi-mirror", "--categories", "-r", "--requirements", "--extra-pip-args")

var pdmValueOpts = set("-p", "--project", "-G", "--group", "-L", "--lockfile", "-d", "--dev", "--venv")

var condaValueOpts = set("-c", "--channel", "-n", "--name", "-p", "--prefix", "-f", "--file", "--override-channels-x", "--solver", "--repodata-fn")
