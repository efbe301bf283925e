package rules

import (
	"fmt"
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleReleaseAlembicIni = register(&Rule{
	ID:       "release-alembic-ini",
	Phase:    report.Release,
	Severity: report.Error,
	Doc:      "release_command runs alembic, but the alembic.ini it reads is missing from the repository, excluded by .dockerignore, or not copied into the image's working directory",
	Why:      "the release machine exits 1 with `No config file 'alembic.ini' found, or file has no '[alembic]' section` (newer Alembic: `No 'script_location' key found in configuration`) and the deploy is aborted after a full build.",
	Check:    checkReleaseAlembicIni,
})

func checkReleaseAlembicIni(r *Rule, p *project.Project) []report.Finding {
	rel := relAnalyze(p)
	if rel == nil {
		return nil
	}
	var out []report.Finding
	seen := map[string]bool{}
	for _, run := range rel.Runs {
		ini := rel.ini(p, run)
		f, ok := relIniFinding(r, p, rel, ini)
		if !ok {
			continue
		}
		key := f.Location.String() + "\x00" + f.Title
		if !seen[key] {
			seen[key] = true
			out = append(out, f)
		}
	}
	return out
}

func relIniFinding(r *Rule, p *project.Project, rel *relRelease, ini *relIni) (report.Finding, bool) {
	run := ini.Run
	im := rel.Image
	name := ini.Name
	base := path.Base(name)
	what := run.relWhere(rel)
	cwdDesc := ""
	if ini.Cwd != "" {
		cwdDesc = " in " + ini.Cwd
	}
	switch ini.State {
	case relIniIgnored:
		ig := p.DockerIgnore
		line := ini.File.Ignored
		pattern := ""
		for _, pt := range ig.Patterns {
			if pt.Line == line {
				pattern = pt.Pattern
			}
		}
		loc := report.Location{File: ig.Path, Line: line, Column: 1, EndLine: line}
		if line <= 0 {
			loc = report.Location{File: ig.Path}
		}
		return r.Finding(loc,
			fmt.Sprintf("%s is excluded by .dockerignore", base),
			fmt.Sprintf("%s reads %s, and %s would copy %s there, but this .dockerignore pattern (`%s`) leaves %s out of the build context, "+
				"so the image has no %s and the release machine exits 1 with `No config file '%s' found`.",
				what, ini.Img, relCopyDesc(ini.File), p.FromContext(ini.File.Ctx), pattern, ini.File.Ctx, ini.Img, name),
			fmt.Sprintf("Add `!%s` on a line after this one (or narrow the pattern so it no longer matches %s).", ini.File.Ctx, ini.File.Ctx)), true

	case relIniMissing:
		msg := fmt.Sprintf("%s reads %s%s, but the repository has no %s", what, name, cwdDesc, base)
		if im != nil {
			if copies := im.contextCopies(); len(copies) > 0 {
				msg += fmt.Sprintf(" (the image is built by %s from %s)", im.DF.Path, strings.Join(copies, ", "))
			}
		}
		msg += fmt.Sprintf(". The release machine exits 1 with `No config file '%s' found, or file has no '[alembic]' section` (newer Alembic: `No 'script_location' key found in configuration`).", name)
		fix := fmt.Sprintf("Commit the %s next to your migrations folder (`alembic init` writes one; check that .gitignore does not drop `*.ini`), and copy it into the image.", base)
		if run.Flask {
			fix = fmt.Sprintf("Commit the Flask-Migrate folder with its %s (`flask db init` writes it), or pass its location with `flask db upgrade -d <folder>`.", name)
		}
		return r.Finding(rel.Loc, "alembic.ini is not in the repository", msg, fix), true

	case relIniNotCopied:
		repo := ini.Repo
		if repo == "" {
			for _, f := range p.Files() {
				if path.Base(f) == base {
					repo = f
					break
				}
			}
		}
		ctx, inCtx := p.InContext(repo)
		msg := fmt.Sprintf("%s reads %s, but %s does not put %s there", what, ini.Img, im.DF.Path, repo)
		if copies := im.contextCopies(); len(copies) > 0 {
			msg += fmt.Sprintf(": the image gets %s", strings.Join(copies, ", "))
		} else {
			msg += ": it copies nothing from the build context"
		}
		if inCtx {
			if at := im.where(ctx); at != "" {
				msg += fmt.Sprintf(", which puts %s at %s instead", repo, at)
			}
		}
		msg += fmt.Sprintf(". The release machine exits 1 with `No config file '%s' found, or file has no '[alembic]' section`.", name)
		fix := ""
		switch {
		case !inCtx:
			fix = fmt.Sprintf("%s is outside the build context (%s): move it into the context, or build from a context that holds it.", repo, relContextName(p))
		case im.where(ctx) != "" && ini.Cwd != "":
			at := im.where(ctx)
			cfg := relRelPath(ini.Cwd, at)
			if strings.HasPrefix(cfg, "../") {
				cfg = at
			}
			fix = fmt.Sprintf("Run alembic with that file: `release_command = \"alembic -c %s upgrade %s\"`, or copy %s to %s with `COPY %s %s` in %s.",
				cfg, relTargetOr(run), ctx, ini.Img, ctx, ini.Img, im.DF.Path)
		default:
			fix = fmt.Sprintf("Add `COPY %s %s` to the final stage of %s (with the other COPY lines), or `COPY . .` if the whole repository belongs in the image.", ctx, ini.Img, im.DF.Path)
		}
		return r.Finding(rel.Loc, fmt.Sprintf("%s is not copied into the image", base), msg, fix), true
	}
	return report.Finding{}, false
}

func relTargetOr(run *relRun) string {
	if run.Target != "" {
		return run.Target
	}
	return "head"
}

func relContextName(p *project.Project) string {
	if p.ContextDir == "" || p.ContextDir == "." {
		return "the repository root"
	}
	return p.ContextDir + "/"
}
