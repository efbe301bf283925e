package rules

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/project/pydeps"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleBuildRequiresPython = register(&Rule{
	ID:       "build-requires-python",
	Phase:    report.Build,
	Severity: report.Error,
	Doc:      "the image's Python does not satisfy pyproject.toml's requires-python (or the Pipfile's python_version)",
	Why:      "`pip install .` stops with `requires a different Python`, or the app runs on a Python its code and pins were never meant for.",
	Check:    checkBuildRequiresPython,
})

// checkBuildRequiresPython compares the Python version of each stage the
// deploy builds with the version the project declares:
//   - a stage that installs the project with pip or uv pip (`pip install .`)
//     makes the build fail: error at the stage's FROM (or wherever its
//     Python version is set);
//   - poetry, pdm, uv sync and pipenv check it too but may fetch or pick
//     another interpreter: warning there (error for `pipenv --deploy`);
//   - otherwise the image's Python is still not the one the project
//     declares: warning at the shipped stage's FROM.
//
// A version is only reported when no patch release of the image's minor
// version (or the exact version its tag names) satisfies the declaration.
func checkBuildRequiresPython(r *Rule, p *project.Project) []report.Finding {
	if p.Dockerfile == nil {
		return nil
	}
	var out []report.Finding
	reported := map[string]bool{}
	add := func(st *dockerfile.Stage, f *pydeps.File, sev report.Severity, how string) {
		if f == nil || !f.RequiresPython.IsSet() {
			return
		}
		ver, loc, ok := bldPythonVersion(st)
		if !ok || reported[fmt.Sprintf("%s:%d", loc.File, loc.Line)] {
			return
		}
		exact := exactPython(st, ver)
		if pythonSatisfies(f.RequiresPython, ver, exact) {
			return
		}
		reported[fmt.Sprintf("%s:%d", loc.File, loc.Line)] = true
		shown := ver
		if exact != "" {
			shown = exact
		}
		key := "requires-python"
		if f.Kind == pydeps.KindPipfile {
			key = "python_version"
		}
		want := suggestPython(f.RequiresPython, ver)
		cur := ver
		if exact != "" {
			cur = exact
			if pythonSatisfies(f.RequiresPython, ver, "") {
				want = ver // a later patch release of the same minor version
			}
		}
		fix := fmt.Sprintf("use a Python image that %s allows", key)
		if want != "" && st.FromStage == nil && loc.Line == st.Loc.Line && strings.Contains(st.BaseResolved, cur) {
			from := strings.Replace(st.BaseResolved, cur, want, 1)
			if st.Name != "" {
				from += " AS " + st.Name
			}
			fix = fmt.Sprintf("change line %d to `FROM %s`", loc.Line, from)
		} else if want != "" {
			fix = fmt.Sprintf("build %s on Python %s", stageRef(st), want)
		}
		fix += fmt.Sprintf(", or change %s at %s:%d if the project really supports Python %s", key, f.Path, f.RequiresPython.Loc.Line, shown)
		out = append(out, r.FindingSev(sev, loc,
			fmt.Sprintf("Python %s does not satisfy %s %s", shown, key, f.RequiresPython.Text),
			fmt.Sprintf("%s runs Python %s, but %s:%d says %s = %q. %s", capitalize(describeStage(st)), shown, f.Path, f.RequiresPython.Loc.Line, key, f.RequiresPython.Text, how),
			fix))
	}
	target := bldTarget(p)
	for _, st := range bldBuiltStages(p) {
		for _, pi := range st.PipInstalls {
			proj := bldProjectFile(p, st, pi.Loc, "pyproject.toml")
			switch {
			case proj != nil && pi.InstallsProject && (pi.Tool == "pip" || pi.Tool == "uv pip") && pi.Subcommand != "download":
				add(st, proj, report.Error, fmt.Sprintf("`%s %s` on line %d installs the project, and stops with `ERROR: Package … requires a different Python`.", pi.Tool, pi.Subcommand, pi.Loc.Line))
			case proj != nil && (pi.Tool == "poetry" || pi.Tool == "pdm" || pi.Tool == "uv sync") && pi.Subcommand != "add":
				add(st, proj, report.Warning, fmt.Sprintf("`%s` on line %d checks it: it stops, or looks for (uv: downloads) another interpreter, so the app does not run on the image's Python.", bldToolName(pi), pi.Loc.Line))
			case pi.Tool == "pipenv":
				sev := report.Warning
				if hasArg(pi.Args, "--deploy") {
					sev = report.Error
				}
				add(st, bldProjectFile(p, st, pi.Loc, "Pipfile"), sev, fmt.Sprintf("`pipenv %s` on line %d checks it (with --deploy it stops the build).", pi.Subcommand, pi.Loc.Line))
			}
		}
	}
	if target != nil {
		add(target, bldPyDep(p, p.FromContext("pyproject.toml")), report.Warning, "The dependencies are installed without that check, so the app runs on a Python the project does not declare support for (syntax and pinned wheels may not match).")
	}
	return out
}

func bldToolName(pi dockerfile.PipInstall) string {
	if pi.Tool == "uv sync" {
		return "uv sync"
	}
	return pi.Tool + " " + pi.Subcommand
}

var reExactPython = lazyre.New(`(?:^|python)(3\.\d+\.\d+)`)

// exactPython returns the full Python version a stage's image tag names
// (python:3.11.4-slim), or "".
func exactPython(st *dockerfile.Stage, minor string) string {
	root := st
	if anc := st.Ancestors(); len(anc) > 0 {
		root = anc[len(anc)-1]
	}
	if m := reExactPython.FindStringSubmatch(root.Image.Tag); m != nil && strings.HasPrefix(m[1], minor+".") {
		return m[1]
	}
	return ""
}

// pythonSatisfies reports whether the declared value allows the image's
// Python: the exact version when known, else any patch release of minor.
func pythonSatisfies(v pydeps.Value, minor, exact string) bool {
	if exact != "" {
		ok, err := v.Allows(exact)
		return ok || err != nil
	}
	for patch := 0; patch <= 40; patch++ {
		ok, err := v.Allows(fmt.Sprintf("%s.%d", minor, patch))
		if ok || err != nil {
			return true
		}
	}
	return false
}

// suggestPython returns a Python minor version the declaration allows,
// close to the current one: the nearest of 3.8 … 3.14.
func suggestPython(v pydeps.Value, current string) string {
	var cur int
	fmt.Sscanf(strings.TrimPrefix(current, "3."), "%d", &cur)
	best, bestDist := "", 100
	for m := 8; m <= 14; m++ {
		cand := fmt.Sprintf("3.%d", m)
		if !pythonSatisfies(v, cand, "") {
			continue
		}
		d := m - cur
		if d < 0 {
			d = -d*2 + 1 // prefer moving up
		}
		if d < bestDist {
			best, bestDist = cand, d
		}
	}
	return best
}
