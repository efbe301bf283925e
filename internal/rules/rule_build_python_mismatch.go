package rules

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleBuildPythonMismatch = register(&Rule{
	ID:       "build-python-mismatch",
	Phase:    report.Build,
	Severity: report.Error,
	Doc:      "builder and runtime stages run different Python minor versions while site-packages, a venv or an install prefix is copied across",
	Why:      "the image builds, but the runtime Python never reads the other version's site-packages (or the venv points at a missing interpreter): `No module named uvicorn` on every start.",
	Check:    checkBuildPythonMismatch,
})

// checkBuildPythonMismatch reports each COPY --from in the shipped image
// that brings installed Python packages (the folder a pip/uv/poetry
// install of the source stage wrote to, or a path naming site-packages,
// dist-packages or pythonX.Y) from a stage whose Python minor version
// differs from the image's. Wheel folders are not reported: pip checks a
// wheel's tags when it installs it.
func checkBuildPythonMismatch(r *Rule, p *project.Project) []report.Finding {
	df := p.Dockerfile
	t := bldTarget(p)
	if t == nil {
		return nil
	}
	runVer, runLoc, ok := bldPythonVersion(t)
	if !ok {
		return nil
	}
	var out []report.Finding
	reported := map[*dockerfile.Stage]int{} // source stage → index in out
	for _, st := range bldLineage(t) {
		for _, c := range st.Copies {
			from := df.Stage(c.From)
			if from == nil {
				continue
			}
			for _, src := range c.Sources {
				carried := false
				for _, inst := range bldCarried(p, from, t, src) {
					if inst.Pip.Subcommand != "wheel" {
						carried = true
					}
				}
				if !carried && !bldLooksLikePackages(src) {
					continue
				}
				buildVer, buildLoc, known := bldPythonVersion(from)
				where := fmt.Sprintf("%s:%d", buildLoc.File, buildLoc.Line)
				if !known {
					m := rePythonDir.FindStringSubmatch(src)
					if m == nil {
						continue
					}
					buildVer, where = m[1], "the copied path"
				}
				if buildVer == runVer {
					continue
				}
				if i, ok := reported[from]; ok {
					// One finding per source stage; name the other copies.
					out[i].Message += fmt.Sprintf(" Line %d copies from the same stage (%s).", c.Loc.Line, src)
					break
				}
				reported[from] = len(out)
				fix := fmt.Sprintf("build %s on Python %s too (the same minor version as the image)", stageRef(from), runVer)
				if base := from.BaseResolved; known && buildLoc.Line == from.Loc.Line && strings.Contains(base, buildVer) {
					fix = fmt.Sprintf("change line %d to `FROM %s`", from.Loc.Line, strings.Replace(base, buildVer, runVer, 1))
					if from.Name != "" {
						fix = fmt.Sprintf("change line %d to `FROM %s AS %s`", from.Loc.Line, strings.Replace(base, buildVer, runVer, 1), from.Name)
					}
				}
				if rePythonDir.MatchString(src) {
					fix += fmt.Sprintf(", and use %s in this COPY (source and destination)", strings.ReplaceAll(src, "python"+buildVer, "python"+runVer))
				}
				out = append(out, r.Finding(c.Loc,
					fmt.Sprintf("packages built for Python %s copied into Python %s", buildVer, runVer),
					fmt.Sprintf("COPY --from=%s copies %s, installed by Python %s in %s%s, into an image that runs Python %s, %s%s. Python %s does not load packages installed for %s (extension modules are built per version, and a venv points at its own interpreter), so the app fails with `No module named …`.",
						c.From, src, buildVer, describeStage(from), setAt(where, buildLoc.Line != from.Loc.Line), runVer, describeStage(t), setAt(fmt.Sprintf("%s:%d", runLoc.File, runLoc.Line), runLoc.Line != t.Loc.Line), runVer, buildVer),
					fix))
				break
			}
		}
	}
	return out
}

// setAt says where a Python version was read when it is not the FROM line.
func setAt(where string, show bool) string {
	if !show {
		return ""
	}
	return ", Python version from " + where
}
