package dockerfile

import (
	"path"
	"strconv"
	"strings"
)

// Final returns the last stage, the one built when no target is given; nil
// when the file has no stage.
func (f *File) Final() *Stage {
	if f == nil || len(f.Stages) == 0 {
		return nil
	}
	return f.Stages[len(f.Stages)-1]
}

// Target returns the stage built for a build target (fly.toml
// [build].target): the stage of that name, compared case-insensitively as
// Docker does, or of that index. An empty name gives Final. It returns nil
// when no stage matches.
func (f *File) Target(name string) *Stage {
	if name == "" {
		return f.Final()
	}
	return f.Stage(name)
}

// Stage returns the stage a reference names (COPY --from=ref, FROM ref):
// a stage name (case-insensitive) or a 0-based index; nil when there is
// none, e.g. when ref is an image.
func (f *File) Stage(ref string) *Stage {
	if f == nil || ref == "" {
		return nil
	}
	for _, s := range f.Stages {
		if s.Name != "" && strings.EqualFold(s.Name, ref) {
			return s
		}
	}
	if i, err := strconv.Atoi(ref); err == nil && i >= 0 && i < len(f.Stages) {
		return f.Stages[i]
	}
	return nil
}

// Ancestors returns the stages this one is built FROM, nearest first.
func (s *Stage) Ancestors() []*Stage {
	var out []*Stage
	for p := s.FromStage; p != nil && len(out) < 1000; p = p.FromStage {
		out = append(out, p)
	}
	return out
}

// lineage returns the ancestors, farthest first, then s.
func (s *Stage) lineage() []*Stage {
	anc := s.Ancestors()
	out := make([]*Stage, 0, len(anc)+1)
	for i := len(anc) - 1; i >= 0; i-- {
		out = append(out, anc[i])
	}
	return append(out, s)
}

// EffectivePackages returns the system packages present at the end of the
// stage: those installed by it and its ancestors, in order, minus those
// removed afterwards (a package installed again after its removal counts).
// Packages of stages merely copied from (COPY --from) are not included.
func (s *Stage) EffectivePackages() []SysPackage {
	var out []SysPackage
	for _, st := range s.lineage() {
		for _, e := range st.events {
			if e.removed {
				kept := out[:0]
				for _, p := range out {
					if p.Name != e.pkg.Name {
						kept = append(kept, p)
					}
				}
				out = kept
				continue
			}
			out = append(out, e.pkg)
		}
	}
	return out
}

// HasPackage reports whether a system package of that name is present at
// the end of the stage (see EffectivePackages).
func (s *Stage) HasPackage(name string) bool {
	for _, p := range s.EffectivePackages() {
		if p.Name == name {
			return true
		}
	}
	return false
}

// EffectiveEnv returns the ENV variables set at the end of the stage by it
// and its ancestors; a variable set again replaces the earlier value and
// takes the later position. Variables set by the base image itself are not
// known.
func (s *Stage) EffectiveEnv() []EnvVar {
	var out []EnvVar
	for _, st := range s.lineage() {
		for _, e := range st.Env {
			kept := out[:0]
			for _, o := range out {
				if o.Name != e.Name {
					kept = append(kept, o)
				}
			}
			out = append(kept, e)
		}
	}
	return out
}

// LookupEnv returns the variable of that name from EffectiveEnv.
func (s *Stage) LookupEnv(name string) (EnvVar, bool) {
	env := s.EffectiveEnv()
	for i := len(env) - 1; i >= 0; i-- {
		if env[i].Name == name {
			return env[i], true
		}
	}
	return EnvVar{}, false
}

// EffectiveCmd returns the CMD the stage's image runs with: its own, else
// the nearest ancestor's. As in Docker, an ENTRYPOINT set in a stage resets
// the CMD inherited from its base, so nil is returned then.
func (s *Stage) EffectiveCmd() *Command {
	for _, st := range append([]*Stage{s}, s.Ancestors()...) {
		if st.Cmd != nil {
			return st.Cmd
		}
		if st.Entrypoint != nil {
			return nil
		}
	}
	return nil
}

// EffectiveEntrypoint returns the stage's ENTRYPOINT, else the nearest
// ancestor's.
func (s *Stage) EffectiveEntrypoint() *Command {
	for _, st := range append([]*Stage{s}, s.Ancestors()...) {
		if st.Entrypoint != nil {
			return st.Entrypoint
		}
	}
	return nil
}

// EffectiveWorkdir returns the working directory at the end of the stage,
// relative WORKDIRs resolved against the ancestors' (and against "/" when
// none is absolute). "" means no stage in
// the lineage sets one: the base image's applies ("/" for the python
// images).
func (s *Stage) EffectiveWorkdir() string {
	dir := ""
	for _, st := range s.lineage() {
		switch {
		case st.Workdir == "":
		case path.IsAbs(st.Workdir) || dir == "":
			dir = st.Workdir
		default:
			dir = path.Join(dir, st.Workdir)
		}
	}
	if dir != "" && !path.IsAbs(dir) {
		dir = "/" + dir // relative to the base image's, usually /
	}
	return dir
}

// EffectiveUser returns the USER at the end of the stage, else the nearest
// ancestor's; "" means the base image's (root for the python images).
func (s *Stage) EffectiveUser() string {
	for _, st := range append([]*Stage{s}, s.Ancestors()...) {
		if st.User != "" {
			return st.User
		}
	}
	return ""
}
