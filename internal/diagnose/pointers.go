package diagnose

// pointers.go finds, in a loaded project, the line a diagnosis is about.
// Each helper returns a zero Pointer when the project has nothing to point
// at; none of them guesses beyond what the files say.

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/project/pydeps"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// builtStage returns the Dockerfile stage the deploy builds (fly.toml's
// build target, else the last stage), or nil.
func builtStage(p *project.Project) *dockerfile.Stage {
	if p.Dockerfile == nil {
		return nil
	}
	target := ""
	if p.Fly != nil && p.Fly.Build != nil {
		target = p.Fly.Build.Target.V
	}
	return p.Dockerfile.Target(target)
}

// buildStages returns the stages the deploy builds: the built stage, the
// stages it is built FROM, and the stages those COPY --from, in file order.
func buildStages(p *project.Project) []*dockerfile.Stage {
	st := builtStage(p)
	if st == nil {
		return nil
	}
	need := map[*dockerfile.Stage]bool{}
	var visit func(s *dockerfile.Stage)
	visit = func(s *dockerfile.Stage) {
		if s == nil || need[s] {
			return
		}
		need[s] = true
		visit(s.FromStage)
		for _, c := range s.Copies {
			if c.From != "" {
				visit(p.Dockerfile.Stage(c.From))
			}
		}
	}
	visit(st)
	var out []*dockerfile.Stage
	for _, s := range p.Dockerfile.Stages {
		if need[s] {
			out = append(out, s)
		}
	}
	return out
}

// reqName returns the project name of a requirement specifier as written
// ("psycopg2==2.9.9" → "psycopg2", "psycopg[binary]" → "psycopg").
func reqName(spec string) string {
	end := strings.IndexAny(spec, "=<>!~[;@ ")
	if end >= 0 {
		spec = spec[:end]
	}
	return pydeps.Normalize(spec)
}

// requirement returns the first declared (not only constrained)
// requirement of one of the names.
func requirement(p *project.Project, names ...string) (pydeps.Requirement, bool) {
	for _, name := range names {
		for _, f := range p.PyDeps {
			for _, r := range f.Lookup(name) {
				if !r.Constraint {
					return r, true
				}
			}
		}
	}
	return pydeps.Requirement{}, false
}

// pipInstallOf returns where the Dockerfile installs one of the named
// packages: the pip install line naming it, else the one installing the
// requirements file that declares it, else the first install of a
// requirements file or of the project itself.
func pipInstallOf(p *project.Project, names ...string) Pointer {
	stages := buildStages(p)
	var norm []string
	for _, n := range names {
		norm = append(norm, pydeps.Normalize(n))
	}
	for _, st := range stages {
		for _, pi := range st.PipInstalls {
			for i, pkg := range pi.Packages {
				if slices.Contains(norm, reqName(pkg)) {
					loc := pi.Loc
					if i < len(pi.PackageLocs) {
						loc = pi.PackageLocs[i]
					}
					return Pointer{Loc: loc, Note: fmt.Sprintf("The Dockerfile installs %s here.", pkg)}
				}
			}
		}
	}
	if r, ok := requirement(p, names...); ok {
		base := path.Base(r.Loc.File)
		for _, st := range stages {
			for _, pi := range st.PipInstalls {
				for _, f := range pi.RequirementFiles {
					if path.Base(f) == base {
						return Pointer{Loc: pi.Loc, Note: fmt.Sprintf("This command installs %s, which %s declares at line %d.", r.Display, r.Loc.File, r.Loc.Line)}
					}
				}
				if pi.InstallsProject && r.Source != pydeps.SourceRequirements {
					return Pointer{Loc: pi.Loc, Note: fmt.Sprintf("This command installs the project, whose %s declares %s.", r.Loc.File, r.Display)}
				}
			}
		}
	}
	for _, st := range stages {
		for _, pi := range st.PipInstalls {
			if len(pi.RequirementFiles) > 0 || pi.InstallsProject {
				return Pointer{Loc: pi.Loc, Note: "This is the Dockerfile's Python install."}
			}
		}
	}
	return Pointer{}
}

// requirementOrInstall points at the requirement declaring the package, or
// else at the Dockerfile line installing it.
func requirementOrInstall(p *project.Project, names ...string) Pointer {
	if r, ok := requirement(p, names...); ok {
		return Pointer{Loc: r.Loc, Note: fmt.Sprintf("%s declares %s here.", r.Loc.File, strings.TrimSpace(r.Raw))}
	}
	return pipInstallOf(p, names...)
}

// releaseCommand points at fly.toml's release_command.
func releaseCommand(p *project.Project) Pointer {
	if p.Fly == nil || p.Fly.Deploy == nil || !p.Fly.Deploy.ReleaseCommand.Set {
		return Pointer{}
	}
	rc := p.Fly.Deploy.ReleaseCommand
	return Pointer{Loc: rc.Loc, Note: fmt.Sprintf("fly.toml's release_command runs `%s`.", shorten(rc.V, 80))}
}

// serverCommand points at the command the app's machines start.
func serverCommand(p *project.Project) Pointer {
	ptr, _ := startCommand(p)
	return ptr
}

// startCommand finds the command the app's machines start: the default
// process group's command in fly.toml [processes], else [experimental]
// cmd, else the built stage's CMD (or ENTRYPOINT). It returns a pointer to
// it and its full text.
func startCommand(p *project.Project) (Pointer, string) {
	if p.Fly != nil && len(p.Fly.Processes) > 0 {
		if v, ok := p.Fly.Processes[p.Fly.DefaultProcess()]; ok && v.Set {
			return Pointer{Loc: v.Loc, Note: fmt.Sprintf("The %q process starts with `%s`.", p.Fly.DefaultProcess(), shorten(v.V, 100))}, v.V
		}
	}
	if p.Fly != nil && p.Fly.Experimental != nil && len(p.Fly.Experimental.Cmd) > 0 {
		cmd := strings.Join(p.Fly.Experimental.Cmd, " ")
		return Pointer{Loc: p.Fly.Experimental.Loc, Note: fmt.Sprintf("fly.toml's [experimental] cmd starts `%s`.", shorten(cmd, 100))}, cmd
	}
	st := builtStage(p)
	if st == nil {
		return Pointer{}, ""
	}
	c := st.EffectiveCmd()
	if c == nil {
		c = st.EffectiveEntrypoint()
	}
	if c == nil {
		return Pointer{}, ""
	}
	cmd := strings.Join(c.Argv, " ")
	return Pointer{Loc: c.Loc, Note: fmt.Sprintf("The image starts `%s`.", shorten(cmd, 100))}, cmd
}

// releaseOrServer points at the release command when the match is in the
// release phase, else at the server command.
func releaseOrServer(p *project.Project, m *Match) Pointer {
	if m.Phase == report.Release {
		if ptr := releaseCommand(p); ptr.Loc.File != "" {
			return ptr
		}
	}
	return serverCommand(p)
}

// vmMemory points at the memory of the [[vm]] the app's machines get.
func vmMemory(p *project.Project) Pointer {
	if p.Fly == nil {
		return Pointer{}
	}
	vm := p.Fly.VMFor("")
	switch {
	case vm != nil && vm.Memory.Set:
		return Pointer{Loc: vm.Memory.Loc, Note: fmt.Sprintf("fly.toml gives the machines %d MB of memory.", vm.Memory.V)}
	case vm != nil && vm.Size.Set:
		return Pointer{Loc: vm.Size.Loc, Note: fmt.Sprintf("fly.toml sets the machine size %q and no memory, so the machines get that size's memory.", vm.Size.V)}
	case vm != nil:
		return Pointer{Loc: vm.Loc, Note: "fly.toml's [[vm]] sets no memory, so the machines get the size's default (256 MB for shared-cpu-1x)."}
	}
	return Pointer{Loc: report.At(p.FlyPath, 1, 0), Note: "fly.toml has no [[vm]] section, so machines get the default 256 MB."}
}

// settingsVar points at where the app reads the environment variable name
// (compared case-insensitively; required reads first).
func settingsVar(p *project.Project, name string) Pointer {
	if name == "" {
		return Pointer{}
	}
	var best *struct {
		loc      report.Location
		kind     string
		required bool
	}
	for _, mod := range p.Settings {
		for _, v := range mod.Vars {
			if !strings.EqualFold(v.Name, name) && !slices.ContainsFunc(v.Aliases, func(a string) bool { return strings.EqualFold(a, name) }) {
				continue
			}
			if best == nil || (v.Required && !best.required) {
				best = &struct {
					loc      report.Location
					kind     string
					required bool
				}{v.Loc, v.Kind, v.Required}
			}
		}
	}
	if best == nil {
		return Pointer{}
	}
	how := "reads"
	if best.required {
		how = "requires"
	}
	return Pointer{Loc: best.loc, Note: fmt.Sprintf("The app %s %s here.", how, strings.ToUpper(name))}
}

// settingsLine points at the first line of the project's settings modules
// (then of its other Python files) that matches pattern.
func settingsLine(p *project.Project, pattern *regexp.Regexp, note string) Pointer {
	var files []string
	for _, m := range p.Settings {
		files = append(files, m.Path)
	}
	for _, f := range p.Files() {
		if strings.HasSuffix(f, ".py") && !slices.Contains(files, f) && len(files) < 400 {
			files = append(files, f)
		}
	}
	for _, f := range files {
		for n := 1; ; n++ {
			line, ok := p.Line(f, n)
			if !ok {
				break
			}
			if loc := pattern.FindStringIndex(line); loc != nil {
				return Pointer{Loc: report.At(f, n, len([]rune(line[:loc[0]]))+1), Note: note}
			}
		}
	}
	return Pointer{}
}

// flyLine points at a line (and column) of fly.toml.
func flyLine(p *project.Project, line, col int, note string) Pointer {
	if p.FlyPath == "" || line < 1 {
		return Pointer{}
	}
	if _, ok := p.Line(p.FlyPath, line); !ok {
		return Pointer{}
	}
	return Pointer{Loc: report.At(p.FlyPath, line, col), Note: note}
}

// flyKey points at a key of fly.toml.
func flyKey(p *project.Project, key, note string) Pointer {
	if p.Fly == nil {
		return Pointer{}
	}
	if loc, ok := p.Fly.Loc(key); ok {
		return Pointer{Loc: loc, Note: note}
	}
	return Pointer{}
}

// flyFile points at fly.toml's first line.
func flyFile(p *project.Project, note string) Pointer {
	if p.FlyPath == "" {
		return Pointer{}
	}
	return Pointer{Loc: report.At(p.FlyPath, 1, 0), Note: note}
}

// cleanSrc normalises a COPY source or a path from a log for comparison.
func cleanSrc(s string) string {
	return strings.TrimPrefix(path.Clean("/"+strings.TrimSpace(s)), "/")
}

// dockerCopy points at the COPY (or ADD) whose source is src, taken --from
// the stage from ("" for the build context).
func dockerCopy(p *project.Project, src, from string) Pointer {
	if p.Dockerfile == nil {
		return Pointer{}
	}
	want := cleanSrc(src)
	var fallback *dockerfile.Copy
	for _, st := range p.Dockerfile.Stages {
		for i := range st.Copies {
			c := &st.Copies[i]
			if (c.From == "") != (from == "") || (from != "" && !strings.EqualFold(c.From, from)) {
				continue
			}
			for _, s := range c.Sources {
				cs := cleanSrc(s)
				if cs == want {
					return Pointer{Loc: c.Loc}
				}
				if fallback == nil && path.Base(cs) == path.Base(want) {
					fallback = c
				}
			}
		}
	}
	if fallback != nil {
		return Pointer{Loc: fallback.Loc}
	}
	return Pointer{}
}

// dockerRun points at the RUN instruction whose script is cmd (compared
// with white space collapsed).
func dockerRun(p *project.Project, cmd string) Pointer {
	if p.Dockerfile == nil || strings.TrimSpace(cmd) == "" {
		return Pointer{}
	}
	want := strings.Join(strings.Fields(cmd), " ")
	for _, st := range p.Dockerfile.Stages {
		for _, r := range st.Runs {
			got := strings.Join(strings.Fields(r.Script), " ")
			if got == want || (len(want) > 12 && strings.Contains(got, want)) || (len(got) > 12 && strings.Contains(want, got)) {
				return Pointer{Loc: r.Loc, Note: "This is the RUN step that failed."}
			}
		}
	}
	return Pointer{}
}

// finalStageFrom points at the FROM line of the stage the deploy builds.
func finalStageFrom(p *project.Project, note string) Pointer {
	st := builtStage(p)
	if st == nil {
		return Pointer{}
	}
	loc := st.BaseLoc
	if loc.File == "" {
		loc = report.At(st.Loc.File, st.Loc.Line, 0)
	}
	return Pointer{Loc: loc, Note: expand(note, map[string]string{"base": st.Base, "stage": stageName(st)})}
}

// stageName names a stage for messages.
func stageName(st *dockerfile.Stage) string {
	if st.Name != "" {
		return fmt.Sprintf("stage %q", st.Name)
	}
	return fmt.Sprintf("stage %d", st.Index+1)
}

// alembicHeads points at the heads of the first revision graph with more
// than one.
func alembicHeads(p *project.Project) Pointer {
	for _, a := range p.Alembic {
		heads := a.Graph.Heads()
		if len(heads) < 2 {
			continue
		}
		var ids []string
		for _, h := range heads {
			ids = append(ids, h.ID)
		}
		last := heads[len(heads)-1]
		loc := last.IDLoc
		if loc.File == "" {
			loc = report.At(last.Path, 1, 0)
		}
		return Pointer{Loc: loc, Note: fmt.Sprintf("The migrations have %d heads: %s.", len(heads), strings.Join(ids, ", "))}
	}
	return Pointer{}
}

// alembicRef points at the migration that references the revision id
// without it being in the project.
func alembicRef(p *project.Project, id string) Pointer {
	for _, a := range p.Alembic {
		for _, mr := range a.Graph.Missing() {
			if mr.Ref == id || strings.HasPrefix(mr.Ref, id) {
				loc := mr.Rev.DownLoc
				if loc.File == "" {
					loc = report.At(mr.Rev.Path, 1, 0)
				}
				return Pointer{Loc: loc, Note: fmt.Sprintf("%s names %s as its %s, and no migration of the project has that id.", mr.Rev.Path, mr.Ref, mr.Field)}
			}
		}
		if r := a.Graph.Get(id); r != nil {
			return Pointer{Note: fmt.Sprintf("The repository does have revision %s (%s): the image or the database is not in step with it.", id, r.Path)}
		}
	}
	return Pointer{}
}

// alembicConfig points at the first alembic.ini of the project.
func alembicConfig(p *project.Project, note string) Pointer {
	for _, a := range p.Alembic {
		if a.Config == nil {
			continue
		}
		return Pointer{Loc: report.At(a.Config.Path, 1, 0), Note: note}
	}
	return Pointer{}
}

// alembicIgnored points at the .dockerignore line that keeps the
// project's alembic.ini out of the image, when one does.
func alembicIgnored(p *project.Project) Pointer {
	if p.DockerIgnore == nil {
		return Pointer{}
	}
	for _, a := range p.Alembic {
		if a.Config == nil {
			continue
		}
		rel, ok := p.InContext(a.Config.Path)
		if !ok {
			continue
		}
		if excluded, line := p.DockerIgnore.Match(rel); excluded {
			return Pointer{Loc: report.At(p.DockerIgnore.Path, line, 0),
				Note: fmt.Sprintf("%s line %d excludes %s from the build context, so the image has no alembic.ini.", p.DockerIgnore.Path, line, a.Config.Path)}
		}
	}
	return Pointer{}
}

// createAll points at the first create_all call of the app.
func createAll(p *project.Project) Pointer {
	for _, m := range p.Settings {
		if len(m.CreateAll) > 0 {
			return Pointer{Loc: m.CreateAll[0], Note: "The app also creates its tables itself with create_all here, so a migration that creates them finds them already there."}
		}
	}
	return Pointer{}
}

// migrationOp points at the migration operation whose arguments name all
// of the given identifiers (a table, a column).
func migrationOp(p *project.Project, names ...string) Pointer {
	for _, a := range p.Alembic {
		for _, r := range a.Revisions {
			for _, op := range r.Ops {
				ok := true
				for _, n := range names {
					if n != "" && !slices.Contains(op.Args, n) && !strings.Contains(op.SQL, n) {
						ok = false
						break
					}
				}
				if ok {
					return Pointer{Loc: report.Location{File: r.Path, Line: op.Line, Column: op.Column, EndLine: op.EndLine},
						Note: fmt.Sprintf("Migration %s runs %s here.", r.ID, op.Name)}
				}
			}
		}
	}
	return Pointer{}
}

// workflowLine points at the first line of a GitHub workflow that matches
// pattern.
func workflowLine(p *project.Project, pattern *regexp.Regexp, note string) Pointer {
	for _, f := range p.Files() {
		if !strings.HasPrefix(f, ".github/workflows/") || !(strings.HasSuffix(f, ".yml") || strings.HasSuffix(f, ".yaml")) {
			continue
		}
		for n := 1; ; n++ {
			line, ok := p.Line(f, n)
			if !ok {
				break
			}
			if loc := pattern.FindStringIndex(line); loc != nil {
				return Pointer{Loc: report.At(f, n, len([]rune(line[:loc[0]]))+1), Note: note}
			}
		}
	}
	return Pointer{}
}

// first returns the first pointer that points somewhere.
func first(ptrs ...Pointer) Pointer {
	for _, p := range ptrs {
		if p.Loc.File != "" {
			return p
		}
	}
	for _, p := range ptrs {
		if p.Note != "" {
			return p
		}
	}
	return Pointer{}
}
