package rules

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleBuildMissingHeaders = register(&Rule{
	ID:       "build-missing-headers",
	Phase:    report.Build,
	Severity: report.Error,
	Doc:      "a package that compiles on install (psycopg2, mysqlclient, python-ldap, uwsgi, …) is installed in a stage without its headers or a C compiler",
	Why:      "pip finds no wheel, builds the source distribution, and the image build stops (`pg_config executable not found`): no release is created.",
	Check:    checkBuildMissingHeaders,
})

// checkBuildMissingHeaders looks at every install command of the stages
// the deploy builds. For each requirement it installs (named on the
// command line, in a requirements file traced through COPY, or in the
// project's pyproject.toml/Pipfile) that pip compiles on the stage's base
// image — no Linux wheel, no Alpine wheel for that version, or
// --no-binary — it reports the system packages the build needs that are
// not present when the command runs. Stages on images it does not know,
// full python:<version> images (which carry the usual -dev packages) and
// stages that install system packages in ways it cannot read are skipped.
func checkBuildMissingHeaders(r *Rule, p *project.Project) []report.Finding {
	if p.Dockerfile == nil {
		return nil
	}
	var out []report.Finding
	for _, st := range bldBuiltStages(p) {
		base := stageBase(st)
		if base.Kind == baseUnknown || base.Kind == baseFull {
			continue
		}
		for _, inst := range bldInstallsOf(p, st) {
			builds := bldSourceBuilds(inst, base.Family, false)
			if len(builds) == 0 || bldOpaqueInstalls(st, inst.Pip.Loc) {
				continue
			}
			pkgs := bldPkgsAt(st, inst.Pip.Loc)
			pre := bldPreinstalled(p, st, inst.Pip.Loc)
			for _, b := range builds {
				if pre[b.Entry.dist()] || pre[b.Req.Name] {
					continue // already installed by a COPY --from: not built again
				}
				var missing []sysNeed
				for _, n := range b.Entry.needsFor(base, b.Req.PEP440) {
					if has, ok := satisfied(n, base.Family, pkgs); ok && !has {
						missing = append(missing, n)
					}
				}
				if len(missing) == 0 {
					continue
				}
				out = append(out, missingHeadersFinding(r, st, inst, b, base, missing))
			}
		}
	}
	return out
}

func missingHeadersFinding(r *Rule, st *dockerfile.Stage, inst bldInstall, b bldBuild, base baseInfo, missing []sysNeed) report.Finding {
	var whats, add []string
	for _, n := range missing {
		whats = append(whats, n.What)
		add = append(add, n.names(base.Family)[0])
	}
	pkg := b.Req.Display
	if pkg == "" {
		pkg = b.Req.Name
	}
	spec := strings.TrimSpace(b.Req.Raw)
	if spec == "" || strings.ContainsAny(spec, " ;@") {
		spec = pkg
	}
	loc := inst.Pip.Loc
	if b.Req.Loc.File == loc.File && b.Req.Loc.Line >= loc.Line && (loc.EndLine == 0 || b.Req.Loc.Line <= loc.EndLine) {
		loc = b.Req.Loc // named on this command line
	}
	from := "from " + b.Req.Where
	if dist := b.Entry.dist(); dist != b.Req.Name {
		from += ", which builds " + dist
	}
	fails := missing[0].Fails
	if fails == "" {
		fails = b.Entry.Fails
	}
	msg := fmt.Sprintf("`%s` installs %s (%s); %s. %s is missing %s, so the build stops with `%s`",
		bldCommandName(inst), spec, from, b.Why, capitalize(describeStage(st)), joinAnd(whats), fails)
	fix := fmt.Sprintf("add `%s` to %s before this line", installCommand(base.Family, add), stageRef(st))
	if b.Entry.Instead != "" {
		fix = fmt.Sprintf("replace %s at %s with %s; or %s", spec, b.Req.Where, b.Entry.Instead, fix)
	}
	if len(b.Entry.Runtime) > 0 {
		fix += "; a later stage that receives the built package also needs " + b.Entry.Runtime[0].What
	}
	title := fmt.Sprintf("%s needs %s to build", pkg, joinAnd(add))
	if len(title) > 60 {
		title = pkg + " cannot be compiled in this stage"
	}
	return r.Finding(loc, title, msg, fix)
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
