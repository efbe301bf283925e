package project

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project/alembic"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/project/pydeps"
	"github.com/grupo-gad/deploy-action/internal/project/pysettings"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// loadFly finds and parses fly.toml.
func (l loader) loadFly(config string) {
	p := l.p
	rel := "fly.toml"
	if config != "" {
		r, ok := l.configPath(config)
		if !ok {
			l.problem(report.Runtime, report.Finding{
				Rule: "config-missing", Severity: report.Error,
				Title:   "fly.toml not found",
				Message: fmt.Sprintf("the config file %s given with --config does not exist", config),
				Fix:     "pass the path of your fly.toml with --config, relative to the current directory or to the project directory",
			})
			return
		}
		rel = r
	} else if !p.Exists(rel) {
		l.problem(report.Runtime, report.Finding{
			Rule: "config-missing", Severity: report.Error,
			Title:   "no fly.toml",
			Message: "there is no fly.toml in the project directory, so there is nothing to deploy to Fly.io",
			Fix:     "run `fly launch --no-deploy` to create one, or pass its path with --config",
		})
		return
	}
	data, ok := l.read(report.Runtime, "fly-toml-syntax", rel)
	if !ok {
		return
	}
	p.FlyPath = rel
	cfg, fs := flytoml.Parse(rel, data)
	p.Fly = cfg
	l.problem(report.Runtime, fs...)
	if dir := path.Dir(rel); dir != "." {
		p.ContextDir = dir
	}
}

// configPath resolves --config to a path relative to the project directory.
func (l loader) configPath(config string) (string, bool) {
	p := l.p
	candidates := []string{config}
	if !filepath.IsAbs(config) {
		candidates = append(candidates, filepath.Join(p.Dir, config))
	}
	for _, c := range candidates {
		abs, err := filepath.Abs(c)
		if err != nil {
			continue
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() {
			continue
		}
		rel, err := filepath.Rel(p.Dir, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			// Outside the project: still usable, read through an absolute path.
			return filepath.ToSlash(abs), true
		}
		return filepath.ToSlash(rel), true
	}
	return "", false
}

// read returns the decoded text of rel, or records a problem (under rule,
// in phase) saying why it cannot be read and returns false.
func (l loader) read(phase report.PhaseName, rule, rel string) ([]byte, bool) {
	data, err := l.p.ReadText(rel)
	if err != nil {
		l.problem(phase, readProblem(rule, rel, err))
		return nil, false
	}
	return data, true
}

func readProblem(rule, rel string, err error) report.Finding {
	return report.Finding{
		Rule: rule, Severity: report.Error, Location: report.Location{File: rel},
		Title:   "cannot read " + rel,
		Message: err.Error(),
		Fix:     "make the file readable UTF-8 text",
	}
}

// loadDocker finds the Dockerfile that the deploy builds, and .dockerignore.
func (l loader) loadDocker() {
	p := l.p
	if ig := p.FromContext(".dockerignore"); p.Exists(ig) {
		if data, err := p.ReadText(ig); err == nil {
			p.DockerIgnore = dockerfile.ParseIgnore(ig, data)
			l.problem(report.Build, p.DockerIgnore.Findings...)
		}
	}
	rel := ""
	named := false
	var loc report.Location
	if p.Fly != nil && p.Fly.Build != nil {
		if p.Fly.Build.Dockerfile.Set && p.Fly.Build.Dockerfile.V != "" {
			rel = path.Join(path.Dir(p.FlyPath), p.Fly.Build.Dockerfile.V)
			named, loc = true, p.Fly.Build.Dockerfile.Loc
		} else if p.Fly.Build.Image.Set && p.Fly.Build.Image.V != "" {
			return // a prebuilt image: nothing to build
		}
	}
	if rel == "" {
		for _, name := range []string{"Dockerfile", "dockerfile"} {
			if c := p.FromContext(name); p.Exists(c) {
				rel = c
				break
			}
		}
	}
	if rel == "" || !p.Exists(rel) {
		f := report.Finding{
			Rule: "build-dockerfile-missing", Severity: report.Error, Location: loc,
			Title:   "no Dockerfile to build",
			Message: "the deploy needs an image, but there is no Dockerfile in the build context and fly.toml names no [build] image",
			Fix:     "add a Dockerfile, or set [build] image = \"registry/app:tag\" in fly.toml",
		}
		if !named && p.FlyPath != "" {
			f.Location = report.At(p.FlyPath, 1, 1)
			if l, ok := p.Fly.Loc("build"); ok {
				f.Location = l
			}
		}
		if named {
			f.Message = fmt.Sprintf("fly.toml's [build] dockerfile names %s, which does not exist", rel)
			f.Fix = "fix the path in [build] dockerfile (it is relative to fly.toml's folder), or add the file"
		}
		if p.Fly != nil || named {
			l.problem(report.Build, f)
		}
		return
	}
	data, ok := l.read(report.Build, "dockerfile-syntax", rel)
	if !ok {
		return
	}
	p.DockerfilePath = rel
	df, fs := dockerfile.Parse(rel, data)
	p.Dockerfile = df
	l.problem(report.Build, fs...)
}

// loadPyDeps reads requirements*.txt (with their includes), pyproject.toml
// and Pipfile from the build context's root and requirements/ folder, plus
// any requirements file the Dockerfile installs.
func (l loader) loadPyDeps() {
	p := l.p
	seen := map[string]bool{}
	var reqs []string
	for _, f := range p.files {
		rel, ok := p.InContext(f)
		if !ok {
			continue
		}
		base := path.Base(rel)
		dir := path.Dir(rel)
		if (dir == "." || dir == "requirements") && strings.HasPrefix(strings.ToLower(base), "requirements") && strings.HasSuffix(base, ".txt") {
			reqs = append(reqs, f)
		}
	}
	if df := p.Dockerfile; df != nil {
		for _, st := range df.Stages {
			for _, pi := range st.PipInstalls {
				for _, r := range pi.RequirementFiles {
					if c := p.FromContext(path.Clean(strings.TrimPrefix(r, "/"))); p.Exists(c) {
						reqs = append(reqs, c)
					} else if c := p.FromContext(path.Base(r)); p.Exists(c) {
						reqs = append(reqs, c)
					}
				}
			}
		}
	}
	for _, rel := range reqs {
		if seen[rel] {
			continue
		}
		files, fs := pydeps.LoadTree(p.FS(), rel)
		l.problem(report.Build, fs...)
		for _, f := range files {
			if !seen[f.Path] {
				seen[f.Path] = true
				p.PyDeps = append(p.PyDeps, f)
			}
		}
	}
	for _, name := range []string{"pyproject.toml", "Pipfile"} {
		rel := p.FromContext(name)
		if !p.Exists(rel) {
			continue
		}
		if name == "Pipfile" {
			data, ok := l.read(report.Build, "pipfile-syntax", rel)
			if !ok {
				continue
			}
			f, fs := pydeps.ParsePipfile(rel, data)
			l.problem(report.Build, fs...)
			if f != nil {
				p.PyDeps = append(p.PyDeps, f)
			}
			continue
		}
		// LoadTree also follows the requirements files a pyproject names
		// ([tool.setuptools.dynamic], hatch's requirements_txt hook).
		files, fs := pydeps.LoadTree(p.FS(), rel)
		l.problem(report.Build, fs...)
		for _, f := range files {
			if !seen[f.Path] {
				seen[f.Path] = true
				p.PyDeps = append(p.PyDeps, f)
			}
		}
	}
}

// loadAlembic reads every alembic.ini of the project (at most three folders
// deep) and the revisions of each script location.
func (l loader) loadAlembic() {
	p := l.p
	for _, f := range p.files {
		if path.Base(f) != "alembic.ini" || strings.Count(f, "/") > 3 {
			continue
		}
		data, ok := l.read(report.Release, "alembic-syntax", f)
		if !ok {
			continue
		}
		cfg, fs := alembic.ParseINI(f, data)
		l.problem(report.Release, fs...)
		if cfg == nil {
			continue
		}
		a := &Alembic{Config: cfg}
		locs := cfg.ScriptLocations()
		for _, sl := range locs {
			revs, fs := sl.Load(p.FS())
			l.problem(report.Release, fs...)
			a.Revisions = append(a.Revisions, revs...)
		}
		if len(locs) == 0 && cfg.FlaskMigrate {
			// Flask-Migrate passes the ini's own folder as the script folder.
			revs, fs := alembic.LoadScripts(p.FS(), path.Dir(f))
			l.problem(report.Release, fs...)
			a.Revisions = append(a.Revisions, revs...)
		}
		a.Graph = alembic.BuildGraph(a.Revisions)
		p.Alembic = append(p.Alembic, a)
	}
}

// loadSettings scans the project's Python modules that read configuration
// from the environment.
func (l loader) loadSettings() {
	p := l.p
	for _, f := range p.files {
		if !strings.HasSuffix(f, ".py") || isTestPath(f) {
			continue
		}
		data, err := p.ReadText(f)
		if err != nil || !pysettings.LooksLikeSettings(f, data) {
			continue
		}
		m := pysettings.Parse(f, data)
		if m == nil {
			continue
		}
		p.Settings = append(p.Settings, m)
		// The scanner is not CPython: a module it cannot fully read is a
		// warning (its settings may be incomplete), not a verdict.
		for _, fd := range m.Findings {
			if fd.Severity == report.Error {
				fd.Severity = report.Warning
			}
			l.problem(report.Secrets, fd)
		}
	}
}

// isTestPath reports whether rel is test code, whose environment reads are
// not the deployed app's.
func isTestPath(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if part == "tests" || part == "test" || strings.HasPrefix(part, "test_") || strings.HasSuffix(part, "_test.py") || part == "conftest.py" {
			return true
		}
	}
	return false
}
