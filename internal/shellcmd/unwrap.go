package shellcmd

import (
	"path"
	"strings"
)

// Unwrap strips the wrappers that only run another command and returns the
// argv of the command that does the work:
//
//   - `exec [-a name]`, `env [-i] [-u NAME] [NAME=value ...] [--]`
//     (also as /usr/bin/env), `env -S "cmd args"`;
//   - `sh -c SCRIPT` / `bash -lc SCRIPT` and other shells: the first command
//     of SCRIPT;
//   - `tini [--]`, `dumb-init`, `gosu USER`, `su-exec USER`,
//     `opentelemetry-instrument [--opt value ...]`, `ddtrace-run`,
//     `newrelic-admin run-program`, `doppler run [--]`, `poetry run`,
//     `uv run [options] [--]`, `pipenv run`, `pdm run`, `hatch run`,
//     `rye run`.
//
// Wrappers are stripped repeatedly (`exec tini -- gosu app uvicorn`). A
// wrapper with nothing after it, `python -m X` and any other argv are
// returned as they are. The result may share memory with args.
func Unwrap(args []string) []string {
	for range 32 {
		if rest, ok := unwrapOnce(args); ok && len(rest) > 0 {
			args = rest
			continue
		}
		k, ok := shellScriptIndex(args)
		if !ok {
			return args
		}
		cmds, err := Commands(args[k])
		if err != nil || len(cmds) == 0 {
			return args
		}
		args = cmds[0].Args
	}
	return args
}

// stripWrappers strips every non-shell wrapper.
func stripWrappers(args []string) []string {
	for range 32 {
		rest, ok := unwrapOnce(args)
		if !ok || len(rest) == 0 {
			return args
		}
		args = rest
	}
	return args
}

// shells are the programs whose -c option takes a script.
var shells = map[string]bool{
	"sh": true, "bash": true, "dash": true, "ash": true, "zsh": true,
	"ksh": true, "mksh": true, "busybox": true,
}

// shellScriptIndex reports the index of the script when args is
// `sh [options] -c SCRIPT [args...]`.
func shellScriptIndex(args []string) (int, bool) {
	if len(args) < 3 {
		return 0, false
	}
	i := 1
	if path.Base(args[0]) == "busybox" {
		if args[1] != "sh" && args[1] != "ash" {
			return 0, false
		}
		i = 2
	} else if !shells[path.Base(args[0])] {
		return 0, false
	}
	hasC := false
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" {
			i++
			break
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') {
			break
		}
		if strings.HasPrefix(a, "--") {
			continue // long option such as --login or --norc
		}
		if a[0] == '-' && strings.ContainsRune(a[1:], 'c') {
			hasC = true
		}
		if strings.ContainsAny(a[1:], "oO") {
			i++ // -o pipefail, -euo pipefail: the option's value follows
		}
	}
	if !hasC || i >= len(args) {
		return 0, false
	}
	return i, true
}

// unwrapOnce strips one wrapper; ok is false when args[0] is not one.
func unwrapOnce(args []string) ([]string, bool) {
	if len(args) == 0 {
		return nil, false
	}
	switch path.Base(args[0]) {
	case "exec":
		return skipOptions(args[1:], map[string]bool{"-a": true}), true
	case "env":
		return unwrapEnv(args[1:])
	case "opentelemetry-instrument":
		// Every option takes a value: --traces_exporter console.
		rest := args[1:]
		for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
			if rest[0] == "--" {
				return rest[1:], true
			}
			if strings.Contains(rest[0], "=") || rest[0] == "-h" || rest[0] == "--help" || rest[0] == "--version" {
				rest = rest[1:]
				continue
			}
			rest = rest[min(2, len(rest)):]
		}
		return rest, true
	case "ddtrace-run":
		return skipOptions(args[1:], nil), true
	case "tini", "tini-static", "docker-init", "catatonit":
		return skipOptions(args[1:], map[string]bool{"-p": true, "-e": true}), true
	case "dumb-init":
		return skipOptions(args[1:], map[string]bool{"-r": true, "--rewrite": true}), true
	case "gosu", "su-exec":
		if len(args) < 3 {
			return nil, false
		}
		return args[2:], true
	case "newrelic-admin":
		if len(args) < 3 {
			return nil, false
		}
		switch args[1] {
		case "run-program":
			return args[2:], true
		case "run-python":
			return append([]string{"python"}, args[2:]...), true
		}
	case "doppler":
		if len(args) >= 2 && args[1] == "run" {
			return skipOptions(args[2:], dopplerValueFlags), true
		}
	case "poetry", "pipenv", "pdm", "hatch", "rye":
		if len(args) >= 2 && args[1] == "run" {
			return skipOptions(args[2:], nil), true
		}
	case "uv":
		if len(args) >= 2 && args[1] == "run" {
			rest := args[2:]
			for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
				a := rest[0]
				switch {
				case a == "--":
					return rest[1:], true
				case a == "-m" || a == "--module":
					return append([]string{"python", "-m"}, rest[1:]...), true
				case uvRunValueFlags[a]:
					rest = rest[min(2, len(rest)):]
				default:
					rest = rest[1:]
				}
			}
			return rest, true
		}
	}
	return nil, false
}

// unwrapEnv strips env's options and NAME=value words.
func unwrapEnv(rest []string) ([]string, bool) {
	for len(rest) > 0 {
		a := rest[0]
		switch {
		case a == "--":
			return rest[1:], true
		case a == "-S" || a == "--split-string":
			if len(rest) < 2 {
				return nil, true
			}
			words, err := Split(rest[1])
			if err != nil {
				return nil, false
			}
			return append(words, rest[2:]...), true
		case a == "-u" || a == "--unset" || a == "-C" || a == "--chdir":
			rest = rest[min(2, len(rest)):]
		case strings.HasPrefix(a, "-"):
			rest = rest[1:]
		case isAssignment(a):
			rest = rest[1:]
		default:
			return rest, true
		}
	}
	return rest, true
}

// isAssignment reports whether a is NAME=value with a valid shell name.
func isAssignment(a string) bool {
	name, _, ok := strings.Cut(a, "=")
	if !ok || name == "" {
		return false
	}
	for i, r := range name {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// skipOptions drops leading options (those in withValue take the next word
// as their value) and a "--" ending them.
func skipOptions(rest []string, withValue map[string]bool) []string {
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
		a := rest[0]
		if a == "--" {
			return rest[1:]
		}
		if withValue[a] {
			rest = rest[min(2, len(rest)):]
			continue
		}
		rest = rest[1:]
	}
	return rest
}

var dopplerValueFlags = map[string]bool{
	"-p": true, "--project": true, "-c": true, "--config": true, "-t": true, "--token": true,
	"--scope": true, "--mount": true, "--mount-format": true, "--mount-template": true,
	"--mount-max-reads": true, "--fallback": true, "--name-transformer": true,
	"--api-host": true, "--configuration": true,
}

var uvRunValueFlags = map[string]bool{
	"--with": true, "-w": true, "--with-editable": true, "--with-requirements": true,
	"--python": true, "-p": true, "--env-file": true, "--extra": true, "--group": true,
	"--only-group": true, "--no-group": true, "--package": true, "--directory": true,
	"--project": true, "--index": true, "--default-index": true, "--index-url": true,
	"-i": true, "--extra-index-url": true, "--find-links": true, "-f": true,
	"--config-file": true, "--cache-dir": true, "--color": true, "--exclude-newer": true,
	"--resolution": true, "--prerelease": true, "--link-mode": true, "--refresh-package": true,
	"--upgrade-package": true, "-P": true, "--reinstall-package": true,
	"--no-binary-package": true, "--no-build-package": true, "--keyring-provider": true,
	"--index-strategy": true, "--python-platform": true, "--config-setting": true, "-C": true,
	"--allow-insecure-host": true, "--no-extra": true, "--no-build-isolation-package": true,
}

// ArgvCommands returns the commands an argv (an exec-form Dockerfile CMD, a
// process command run without a shell) runs: when it runs `sh -c SCRIPT`,
// possibly behind wrappers, the commands of SCRIPT, with script the index
// of SCRIPT in args and positions counted in SCRIPT; otherwise the argv
// itself as one command at line 1, column 1, with script -1.
func ArgvCommands(args []string) (cmds []Command, script int) {
	if len(args) == 0 {
		return nil, -1
	}
	rest := stripWrappers(args)
	base := len(args) - len(rest)
	if len(rest) > 0 && base >= 0 && equal(rest, args[base:]) {
		if k, ok := shellScriptIndex(rest); ok {
			if inner, err := Commands(args[base+k]); err == nil && len(inner) > 0 {
				return inner, base + k
			}
		}
	}
	c := Command{Args: append([]string(nil), args...), Line: 1, Col: 1}
	for _, a := range args {
		c.Words = append(c.Words, Word{Value: a, Line: 1, Col: 1})
	}
	return []Command{c}, -1
}
