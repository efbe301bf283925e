package pydeps

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// maxIncludeDepth bounds how deep LoadTree follows includes.
const maxIncludeDepth = 50

// LoadTree reads the dependency file relPath from fsys (a requirements
// file, or a pyproject.toml/Pipfile chosen by name) and follows its
// -r/-c includes (and pyproject's dynamic dependency files) relative to
// the including file, as pip does. Files come back in the order they are
// first reached, the root first; each file is read once. A file reached
// through -c has Kind KindConstraints and its requirements are marked
// Constraint (a -r inside it is read as requirements again, as pip does).
//
// An include that does not exist is an error finding at the include line
// (rule requirements-include), and so is an include cycle, which makes
// pip recurse until it fails. Includes that cannot be followed here — URLs,
// absolute paths, ${VAR} references, paths outside fsys — are notices.
// When relPath itself cannot be read, the result is an error finding.
func LoadTree(fsys fs.FS, relPath string) ([]*File, []report.Finding) {
	l := &treeLoader{fsys: fsys, seen: map[string]bool{}}
	l.load(path.Clean(relPath), false, nil, report.Location{}, 0)
	return l.files, l.fs
}

type treeLoader struct {
	fsys  fs.FS
	files []*File
	fs    []report.Finding
	seen  map[string]bool
}

func (l *treeLoader) load(p string, constraint bool, stack []string, from report.Location, depth int) {
	key := p
	if constraint {
		key = "-c " + p
	}
	for _, s := range stack {
		if s == p {
			l.fs = append(l.fs, finding(RuleRequirementsInclude, report.Error, from, "Requirements include cycle",
				fmt.Sprintf("This line includes %s, which (directly or through other files) includes this file again: %s. pip follows includes without a limit and stops with a recursion error.", p, strings.Join(append(stack, p), " → ")),
				"Remove the include that closes the cycle."))
			return
		}
	}
	if l.seen[key] || depth > maxIncludeDepth {
		return
	}
	l.seen[key] = true
	data, err := fs.ReadFile(l.fsys, p)
	if err != nil {
		if from.File == "" {
			l.fs = append(l.fs, finding(RuleRequirementsSyntax, report.Error, report.Location{File: p}, "Cannot read dependency file",
				fmt.Sprintf("%s cannot be read: %v.", p, err), "Check that the file exists and is readable."))
			return
		}
		msg := fmt.Sprintf("pip stops with \"Could not open requirements file: [Errno 2] No such file or directory: '%s'\". The path is resolved relative to the including file's folder (%s).", p, dirOf(from.File))
		if !errors.Is(err, fs.ErrNotExist) {
			msg = fmt.Sprintf("%s cannot be read: %v.", p, err)
		}
		l.fs = append(l.fs, finding(RuleRequirementsInclude, report.Error, from, "Included requirements file not found", msg,
			"Add the file to the repository, or fix the path (relative to the folder of the file that includes it)."))
		return
	}
	var f *File
	var fs []report.Finding
	if from.File == "" {
		f, fs = Parse(p, data)
	} else {
		f, fs = ParseRequirements(p, data)
	}
	if constraint {
		f.Kind = KindConstraints
		for i := range f.Requirements {
			f.Requirements[i].Constraint = true
		}
	}
	l.files = append(l.files, f)
	l.fs = append(l.fs, fs...)
	stack = append(stack, p)
	for _, inc := range f.Includes {
		target, why := resolveInclude(p, inc.Path)
		if why != "" {
			l.fs = append(l.fs, finding(RuleRequirementsInclude, report.Notice, inc.Loc, "Include not checked",
				fmt.Sprintf("%s is not checked: %s.", RedactURL(inc.Path), why), "Nothing to do, unless the file matters to the deploy; then commit it in the repository."))
			continue
		}
		l.load(target, inc.Constraint, stack, inc.Loc, depth+1)
	}
}

// dirOf returns the folder of a slash path, "." for the top.
func dirOf(p string) string { return path.Dir(p) }

// resolveInclude returns the fs path of an include written in file from,
// or why it cannot be followed.
func resolveInclude(from, inc string) (string, string) {
	switch {
	case inc == "":
		return "", "the path is empty"
	case isPipURL(inc) || strings.Contains(inc, "://"):
		return "", "it is a URL, and deploy-action does not fetch remote files"
	case envVarRE.MatchString(inc):
		return "", "it uses an environment variable, known only when pip runs"
	case strings.HasPrefix(inc, "/"):
		return "", "it is an absolute path, which depends on the machine pip runs on"
	}
	target := path.Join(path.Dir(from), inc)
	if target == ".." || strings.HasPrefix(target, "../") || !fs.ValidPath(target) {
		return "", "it is outside the validated directory"
	}
	return target, ""
}
