package rules

import (
	"fmt"
	"path"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleBuildRuntimeLibMissing = register(&Rule{
	ID:       "build-runtime-lib-missing",
	Phase:    report.Build,
	Severity: report.Error,
	Doc:      "the final stage lacks the shared library a compiled package links against (libpq5 for psycopg2 built from source)",
	Why:      "the image builds, then every machine crashes at import (`libpq.so.5: cannot open shared object file`) and the health checks never pass.",
	Check:    checkBuildRuntimeLibMissing,
})

// checkBuildRuntimeLibMissing looks at the image the deploy ships (the
// target stage and its ancestors) and reports a shared library it lacks
// at the end of the build but a Python package in it loads:
//   - packages compiled in another stage and brought in with COPY --from
//     (a venv, site-packages, an install prefix, ~/.local, a wheel folder):
//     reported at the COPY line;
//   - packages compiled in the image whose -dev package (which pulled the
//     library in) is removed afterwards with its dependencies (`apk del`,
//     `apt-get purge --auto-remove`): reported at the removal;
//   - pure-Python packages that load a system library (psycopg without
//     [binary]): reported at the install line.
//
// Packages from wheels bundle their libraries (psycopg2-binary) and are
// never reported.
func checkBuildRuntimeLibMissing(r *Rule, p *project.Project) []report.Finding {
	t := bldTarget(p)
	if t == nil {
		return nil
	}
	base := stageBase(t)
	if base.Kind == baseUnknown || base.Kind == baseFull || bldOpaqueInstalls(t, report.Location{Line: 1 << 30}) {
		return nil
	}
	final := t.EffectivePackages()
	var out []report.Finding
	for _, st := range bldLineage(t) {
		for _, c := range st.Copies {
			if f, ok := copiedLibsFinding(r, p, t, base, final, c); ok {
				out = append(out, f)
			}
		}
	}
	out = append(out, runtimeLibsInImage(r, p, t, base, final)...)
	return out
}

// copiedLibsFinding checks one COPY --from of the shipped image.
func copiedLibsFinding(r *Rule, p *project.Project, t *dockerfile.Stage, base baseInfo, final []dockerfile.SysPackage, c dockerfile.Copy) (report.Finding, bool) {
	from := p.Dockerfile.Stage(c.From)
	if c.From == "" || from == nil {
		return report.Finding{}, false
	}
	fromBase := stageBase(from)
	if fromBase.Kind == baseUnknown {
		return report.Finding{}, false
	}
	var carried []bldInstall
	for _, src := range c.Sources {
		carried = append(carried, bldCarried(p, from, t, src)...)
	}
	others := bldDistNames(carried)
	var lacks, pkgs, whats []string
	seen := map[string]bool{}
	for _, inst := range carried {
		inst.Others = others
		for _, b := range bldSourceBuilds(inst, fromBase.Family, true) {
			for _, n := range b.Entry.Runtime {
				has, ok := satisfied(n, base.Family, final)
				if !ok || has || seen[b.Entry.dist()+n.What] {
					continue
				}
				seen[b.Entry.dist()+n.What] = true
				lib := n.names(base.Family)[0]
				pkgs = append(pkgs, fmt.Sprintf("%s (from %s, %s)", b.Req.Display, b.Req.Where, buildVerb(b)))
				lacks = append(lacks, lib)
				whats = append(whats, fmt.Sprintf("%s (%s)", lib, n.What))
			}
		}
	}
	if len(lacks) == 0 {
		return report.Finding{}, false
	}
	return r.Finding(c.Loc,
		fmt.Sprintf("final image lacks %s", joinAnd(uniq(lacks))),
		fmt.Sprintf("COPY --from=%s brings %s into the image, but %s never installs %s; the app fails at import with `ImportError: …: cannot open shared object file: No such file or directory`",
			c.From, joinAnd(uniq(pkgs)), describeStage(t), joinAnd(uniq(whats))),
		fmt.Sprintf("add `%s` to %s (the runtime library only, not the -dev package)", installCommand(base.Family, uniq(lacks)), stageRef(t))), true
}

// runtimeLibsInImage reports libraries missing for packages installed in
// the image itself (not copied).
func runtimeLibsInImage(r *Rule, p *project.Project, t *dockerfile.Stage, base baseInfo, final []dockerfile.SysPackage) []report.Finding {
	var insts []bldInstall
	for _, st := range bldLineage(t) {
		insts = append(insts, bldInstallsOf(p, st)...)
	}
	others := bldDistNames(insts)
	var out []report.Finding
	for _, inst := range insts {
		inst.Others = others
		for _, b := range bldSourceBuilds(inst, base.Family, true) {
			for _, n := range b.Entry.Runtime {
				has, ok := satisfied(n, base.Family, final)
				if !ok || has {
					continue
				}
				lib := n.names(base.Family)[0]
				if b.Entry.Wheels == wheelsPure {
					out = append(out, r.Finding(inst.Pip.Loc,
						fmt.Sprintf("%s needs %s, which the image lacks", b.Req.Display, lib),
						fmt.Sprintf("`%s` installs %s (from %s), which is pure Python and loads %s at import, but %s never installs it, so the app fails with `%s`",
							bldCommandName(inst), b.Req.Display, b.Req.Where, n.What, describeStage(t), b.Entry.Fails),
						fmt.Sprintf("replace %s at %s with %s, or add `%s` to %s", b.Req.Display, b.Req.Where, b.Entry.Instead, installCommand(base.Family, []string{lib}), stageRef(t))))
					continue
				}
				// Compiled here: the library came with the -dev package
				// (a missing one is build-missing-headers); find its removal.
				rm, ok := removalOf(t, b, base, inst.Pip.Loc)
				if !ok {
					continue
				}
				what := rm.Name
				if rm.Virtual != "" {
					what = fmt.Sprintf("%s (in %s)", rm.Name, rm.Virtual)
				}
				out = append(out, r.Finding(rm.Loc,
					fmt.Sprintf("removing %s also removes %s", rm.Name, lib),
					fmt.Sprintf("%s is compiled by `%s` (from %s) against %s, which %s brought in; removing it with its dependencies here takes the library away too, so the app fails at import with `ImportError: …: cannot open shared object file`",
						b.Req.Display, bldCommandName(inst), b.Req.Where, n.What, what),
					fmt.Sprintf("install %s on its own (`%s`) so it stays when the build dependencies are removed", lib, installCommand(base.Family, []string{lib}))))
			}
		}
	}
	return out
}

// removalOf returns the removal, after the install at loc, of a package
// that provided one of the build's needs, when that removal also takes its
// dependencies away: apk del always does; apt only with autoremove.
func removalOf(t *dockerfile.Stage, b bldBuild, base baseInfo, loc report.Location) (dockerfile.SysPackage, bool) {
	for _, st := range bldLineage(t) {
		for _, rm := range st.RemovedPackages {
			if !before(loc, rm.Loc) {
				continue
			}
			for _, n := range b.Entry.Needs {
				for _, name := range n.names(base.Family) {
					if m, _ := path.Match(name, rm.Name); !m {
						continue
					}
					if rm.Manager == "apk" || autoremovesAfter(t, rm.Loc) {
						return rm, true
					}
				}
			}
		}
	}
	return dockerfile.SysPackage{}, false
}

// autoremovesAfter reports whether the image runs apt autoremove (or
// purge/remove --auto-remove) at or after loc.
func autoremovesAfter(t *dockerfile.Stage, loc report.Location) bool {
	for _, st := range bldLineage(t) {
		for _, r := range st.Runs {
			end := r.Loc.EndLine
			if end < r.Loc.Line {
				end = r.Loc.Line
			}
			if end < loc.Line {
				continue
			}
			for _, c := range r.Commands {
				for _, a := range c.Args {
					if a == "autoremove" || a == "--auto-remove" || a == "--autoremove" {
						return true
					}
				}
			}
		}
	}
	return false
}

func buildVerb(b bldBuild) string {
	if b.Entry.Wheels == wheelsPure {
		return "pure Python, loads the library"
	}
	return "compiled from source"
}

// uniq drops repeated strings, keeping the first.
func uniq(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
