// Package project loads a repository the way a Fly.io deploy sees it:
// fly.toml, the Dockerfile it builds, .dockerignore, Python dependencies,
// Alembic configuration and revisions, settings modules, and the committed
// text files, each with source positions. A file that cannot be parsed
// becomes a Problem (an error finding at its line), never a Go error.
package project

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/grupo-gad/deploy-action/internal/project/alembic"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/project/pydeps"
	"github.com/grupo-gad/deploy-action/internal/project/pysettings"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Limits on what Load reads, so a huge repository cannot exhaust memory.
const (
	// MaxFiles is the most files Load lists.
	MaxFiles = 50000
	// MaxFileSize is the largest file Load reads as text; larger files are
	// listed but not scanned.
	MaxFileSize = 2 << 20
)

// Problem is a finding raised while loading a file, with the phase it
// belongs to.
type Problem struct {
	Phase   report.PhaseName
	Finding report.Finding
}

// Alembic is one Alembic setup: its ini file, its revisions and their graph.
type Alembic struct {
	Config    *alembic.Config
	Revisions []*alembic.Revision
	Graph     *alembic.Graph
}

// Project is a loaded repository. Paths are relative to Dir, with forward
// slashes.
type Project struct {
	// Dir is the absolute path of the validated directory.
	Dir string
	// FlyPath is fly.toml's path ("" when there is none).
	FlyPath string
	// Fly is the parsed fly.toml, or nil when missing or unparseable.
	Fly *flytoml.Config
	// ContextDir is the Docker build context relative to Dir ("" for Dir).
	ContextDir string
	// DockerfilePath is the Dockerfile's path ("" when none is used).
	DockerfilePath string
	// Dockerfile is the parsed Dockerfile, or nil.
	Dockerfile *dockerfile.File
	// DockerIgnore is the build context's .dockerignore, or nil.
	DockerIgnore *dockerfile.Ignore
	// PyDeps are the Python dependency files found (requirements*.txt and
	// what they include, pyproject.toml, Pipfile).
	PyDeps []*pydeps.File
	// Alembic lists each alembic.ini found with its revisions.
	Alembic []*Alembic
	// Settings are the Python modules that read configuration from the
	// environment.
	Settings []*pysettings.Module
	// Problems are the findings raised while loading.
	Problems []Problem
	// LoadTime is the time spent loading each phase's files.
	LoadTime map[report.PhaseName]time.Duration

	files []string // every listed file, sorted
	mu    sync.Mutex
	text  map[string][]string // decoded lines, by path
}

// Options tell Load where to look.
type Options struct {
	// Config is the path of fly.toml, absolute or relative to the current
	// directory (or, when not found there, to the project directory). Empty
	// means <dir>/fly.toml.
	Config string
}

// Load reads the repository at dir. It returns an error only when dir itself
// cannot be read; problems in files are recorded as Problems.
func Load(dir string, opt Options) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("read project directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("read project directory: %s is not a directory", dir)
	}
	p := &Project{Dir: abs, LoadTime: map[report.PhaseName]time.Duration{}, text: map[string][]string{}}
	if p.files, err = listFiles(abs); err != nil {
		return nil, err
	}
	l := loader{p: p}
	l.timed(report.Runtime, func() { l.loadFly(opt.Config) })
	l.timed(report.Build, l.loadDocker)
	l.timed(report.Build, l.loadPyDeps)
	l.timed(report.Release, l.loadAlembic)
	l.timed(report.Secrets, l.loadSettings)
	return p, nil
}

type loader struct{ p *Project }

func (l loader) timed(phase report.PhaseName, f func()) {
	start := time.Now()
	f()
	l.p.LoadTime[phase] += time.Since(start)
}

func (l loader) problem(phase report.PhaseName, fs ...report.Finding) {
	for _, f := range fs {
		l.p.Problems = append(l.p.Problems, Problem{Phase: phase, Finding: f})
	}
}

// Files returns every file of the project (relative, sorted), leaving out
// version-control, virtual-environment and cache folders.
func (p *Project) Files() []string { return p.files }

// Exists reports whether the project has a file or folder at rel.
func (p *Project) Exists(rel string) bool {
	_, err := os.Stat(p.abs(rel))
	return err == nil
}

// IsDir reports whether rel is a folder of the project.
func (p *Project) IsDir(rel string) bool {
	st, err := os.Stat(p.abs(rel))
	return err == nil && st.IsDir()
}

func (p *Project) abs(rel string) string {
	if filepath.IsAbs(rel) {
		return rel // a --config outside the project directory
	}
	return filepath.Join(p.Dir, filepath.FromSlash(rel))
}

// ReadFile returns the decoded text of the file at rel (UTF-16 and byte
// order marks converted to plain UTF-8). Files over MaxFileSize are refused.
func (p *Project) ReadFile(rel string) ([]byte, error) {
	f, err := os.Open(p.abs(rel))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("read %s: is a directory", rel)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("read %s: %d bytes is over the %d-byte limit", rel, st.Size(), MaxFileSize)
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	return DecodeText(data), nil
}

// ReadText is ReadFile for text files: it refuses binary files.
func (p *Project) ReadText(rel string) ([]byte, error) {
	data, err := p.ReadFile(rel)
	if err != nil {
		return nil, err
	}
	if !isText(data) {
		return nil, fmt.Errorf("read %s: not a text file", rel)
	}
	return data, nil
}

// Line returns line n (1-based) of the file at rel, decoded, without its
// line ending. It implements the text renderer's Sources.
func (p *Project) Line(rel string, n int) (string, bool) {
	p.mu.Lock()
	lines, ok := p.text[rel]
	p.mu.Unlock()
	if !ok {
		data, err := p.ReadText(rel)
		if err == nil {
			lines = splitLines(data)
		}
		p.mu.Lock()
		p.text[rel] = lines
		p.mu.Unlock()
	}
	if n < 1 || n > len(lines) {
		return "", false
	}
	return lines[n-1], true
}

// FS returns the project directory as a file system.
func (p *Project) FS() fs.FS { return os.DirFS(p.Dir) }

// HasInputsFor reports whether the project has anything the given phase
// checks: a Dockerfile for build; a release_command or an alembic.ini for
// release; a fly.toml for runtime and networking; always for secrets.
func (p *Project) HasInputsFor(phase report.PhaseName) bool {
	switch phase {
	case report.Build:
		return p.Dockerfile != nil || len(p.PyDeps) > 0
	case report.Release:
		return len(p.Alembic) > 0 || (p.Fly != nil && p.Fly.Deploy != nil && p.Fly.Deploy.ReleaseCommand.Set)
	case report.Runtime, report.Networking:
		return p.Fly != nil
	}
	return true
}

// InContext reports whether rel lies inside the Docker build context, and
// returns its path relative to the context.
func (p *Project) InContext(rel string) (string, bool) {
	if p.ContextDir == "" || p.ContextDir == "." {
		return rel, true
	}
	prefix := p.ContextDir + "/"
	if !strings.HasPrefix(rel, prefix) {
		return "", false
	}
	return strings.TrimPrefix(rel, prefix), true
}

// FromContext turns a path relative to the build context into one relative
// to the project.
func (p *Project) FromContext(rel string) string {
	if p.ContextDir == "" || p.ContextDir == "." {
		return path.Clean(rel)
	}
	return path.Join(p.ContextDir, rel)
}

// skipDirs are folders Load never descends into.
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, "node_modules": true, ".venv": true, "venv": true,
	"__pycache__": true, ".mypy_cache": true, ".pytest_cache": true, ".ruff_cache": true, ".tox": true,
	".nox": true, "site-packages": true, ".idea": true, ".terraform": true,
}

// listFiles lists the project's files by walking the folder, leaving out
// version-control, virtual-environment and cache folders. (It does not ask
// git: starting git costs more than the whole validation of a small
// repository. GitIgnored answers for the few files that need it.)
func listFiles(abs string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == abs {
				return err
			}
			return nil // unreadable entry: skip it, keep the rest
		}
		if d.IsDir() {
			if p != abs && (skipDirs[d.Name()] || isVenv(p)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return nil
		}
		files = append(files, filepath.ToSlash(rel))
		if len(files) >= MaxFiles {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("list files of %s: %w", abs, err)
	}
	sort.Strings(files)
	return files, nil
}

var errStop = errors.New("stop walking")

func isVenv(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "pyvenv.cfg"))
	return err == nil
}

// GitIgnored reports which of the given project files git ignores (a
// developer's local .env, build output), so they are not taken as
// committed. Outside a git work tree, or without git, it ignores nothing.
// Tracked files are never ignored.
func (p *Project) GitIgnored(rels []string) map[string]bool {
	ignored := map[string]bool{}
	if len(rels) == 0 || !inGitWorkTree(p.Dir) {
		return ignored
	}
	if _, err := exec.LookPath("git"); err != nil {
		return ignored
	}
	cmd := exec.Command("git", "-C", p.Dir, "check-ignore", "-z", "--stdin")
	cmd.Stdin = strings.NewReader(strings.Join(rels, "\x00") + "\x00")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) { // 1: none ignored
		return ignored
	}
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			ignored[f] = true
		}
	}
	return ignored
}

// inGitWorkTree reports whether dir or a parent holds a .git entry, so that
// git is only started where it can answer.
func inGitWorkTree(dir string) bool {
	for {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}
