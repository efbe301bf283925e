package rules

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/alembic"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleReleaseAlembicScriptLocation = register(&Rule{
	ID:       "release-alembic-script-location",
	Phase:    report.Release,
	Severity: report.Error,
	Doc:      "the script_location of the alembic.ini the release reads names a folder that is missing from the repository, excluded by .dockerignore, or not copied into the image",
	Why:      "the release machine exits 1 with `Path doesn't exist: /app/migrations` (or finds no migrations and silently leaves the schema behind), and the deploy is aborted.",
	Check:    checkReleaseAlembicScriptLocation,
})

func checkReleaseAlembicScriptLocation(r *Rule, p *project.Project) []report.Finding {
	rel := relAnalyze(p)
	if rel == nil {
		return nil
	}
	var out []report.Finding
	seen := map[string]bool{}
	for _, run := range rel.Runs {
		ini := rel.ini(p, run)
		for _, f := range relScriptLocationFindings(r, p, rel, ini) {
			key := f.Location.String() + "\x00" + f.Title
			if !seen[key] {
				seen[key] = true
				out = append(out, f)
			}
		}
	}
	return out
}

func relScriptLocationFindings(r *Rule, p *project.Project, rel *relRelease, ini *relIni) []report.Finding {
	run := ini.Run
	if ini.Entry == nil || ini.Entry.Config == nil || ini.Repo == "" {
		return nil
	}
	cfg := ini.Entry.Config
	what := run.relWhere(rel)
	sl, ok := relSection(cfg, run.Section)
	if !ok {
		if run.Flask || relPyprojectAlembic(p) {
			return nil
		}
		loc := report.Location{File: cfg.Path, Line: 1}
		if sec := cfg.Section(run.Section); sec != nil {
			loc = sec.Loc
			loc.EndLine = loc.Line
		}
		msg := fmt.Sprintf("%s reads section [%s] of %s, which sets no script_location, so the release machine exits 1 with `No 'script_location' key found in configuration`.", what, run.Section, cfg.Path)
		if cfg.FlaskMigrate {
			msg += " This is a Flask-Migrate folder: Flask-Migrate passes the folder itself, plain `alembic` does not."
		}
		fix := fmt.Sprintf("Add `script_location = %%(here)s/%s` under [%s] (the folder holding env.py and versions/)", relGuessScriptDir(p, path.Dir(cfg.Path)), run.Section)
		if cfg.FlaskMigrate {
			fix = "Run the migrations the way the folder was made for: `release_command = \"flask db upgrade\"`, or add `script_location = %(here)s` under [alembic]"
		}
		return []report.Finding{r.Finding(loc, "alembic.ini has no script_location", msg, fix+".")}
	}
	loc := sl.Loc
	iniDir := path.Dir(cfg.Path)
	var repoDir, imgDir string
	switch sl.Kind {
	case alembic.PathHere:
		repoDir = sl.Dir
		if ini.Img != "" {
			imgDir = path.Join(path.Dir(ini.Img), relRelPath(iniDir, sl.Dir))
		}
	case alembic.PathRelative:
		v := relRelPath(iniDir, sl.Dir)
		if ini.Cwd != "" {
			imgDir = path.Join(ini.Cwd, v)
		}
		if ini.Img == "" || path.Dir(ini.Img) == ini.Cwd {
			repoDir = sl.Dir
		}
	case alembic.PathAbsolute:
		imgDir = sl.Dir
	default:
		return nil
	}
	im := rel.Image
	if repoDir != "" && !relHasDir(p, repoDir) {
		if im != nil && imgDir != "" && im.FS.uncertain(imgDir) != "" {
			return nil // the Dockerfile copies a folder the repository lacks: the build fails first
		}
		msg := fmt.Sprintf("%s reads %s, whose script_location `%s` is the folder %s, which is not in the repository; the release machine exits 1 with `Path doesn't exist: %s`.",
			what, cfg.Path, sl.Value, repoDir, relOr(imgDir, repoDir))
		fix := "Point script_location at the folder that holds env.py and versions/"
		if cands := relScriptDirCandidates(p); len(cands) > 0 {
			fix += fmt.Sprintf(": `script_location = %%(here)s/%s`", relRelPath(iniDir, cands[0]))
			if len(cands) > 1 {
				fix += fmt.Sprintf(" (other folders with an env.py: %s)", strings.Join(cands[1:], ", "))
			}
		} else {
			fix += ", or create it with `alembic init`"
		}
		return []report.Finding{r.Finding(loc, "script_location names a missing folder", msg, fix+".")}
	}
	if im == nil || imgDir == "" || ini.State != relIniOK {
		return nil
	}
	files := im.FS.under(imgDir)
	var live []string
	firstIgnored := 0
	for _, k := range files {
		f := im.FS.files[k]
		if f.Ignored == 0 {
			live = append(live, k)
		} else if firstIgnored == 0 {
			firstIgnored = f.Ignored
		}
	}
	if len(live) == 0 {
		if len(files) > 0 && firstIgnored != 0 {
			ig := p.DockerIgnore
			return []report.Finding{r.Finding(loc, "script_location folder excluded by .dockerignore",
				fmt.Sprintf("%s reads %s, whose script_location is %s in the image; %s copies that folder, but %s:%d leaves it out of the build context, "+
					"so the release machine exits 1 with `Path doesn't exist: %s`.", what, cfg.Path, imgDir, im.DF.Path, ig.Path, firstIgnored, imgDir),
				fmt.Sprintf("Remove or narrow line %d of %s so the migrations folder is sent to the build.", firstIgnored, ig.Path))}
		}
		if why := im.FS.uncertain(imgDir, imgDir, path.Base(imgDir)+"/"); why != "" {
			return nil
		}
		msg := fmt.Sprintf("%s reads %s, whose script_location is %s in the image, but %s puts nothing there", what, cfg.Path, imgDir, im.DF.Path)
		if copies := im.contextCopies(); len(copies) > 0 {
			msg += fmt.Sprintf(" (it copies %s)", strings.Join(copies, ", "))
		}
		if repoDir != "" {
			if ctx, ok := p.InContext(path.Join(repoDir, "env.py")); ok {
				if at := im.where(ctx); at != "" {
					msg += fmt.Sprintf("; %s is at %s instead", repoDir, path.Dir(at))
				}
			}
		}
		msg += fmt.Sprintf(". The release machine exits 1 with `Path doesn't exist: %s`.", imgDir)
		fix := fmt.Sprintf("Copy the folder into the image: `COPY %s %s/` in %s", relOr(relCtxOf(p, repoDir), path.Base(imgDir)), imgDir, im.DF.Path)
		if sl.Kind == alembic.PathRelative && ini.Img != "" && path.Dir(ini.Img) != ini.Cwd {
			fix = fmt.Sprintf("A relative script_location is resolved against alembic's working directory (%s), not the ini's folder: write `script_location = %%(here)s/%s`", ini.Cwd, relRelPath(iniDir, sl.Dir))
		}
		return []report.Finding{r.Finding(loc, "script_location folder not copied into the image", msg, fix+".")}
	}
	// The folder is there: are its migrations?
	var versions []string
	for _, rv := range ini.Entry.Revisions {
		if repoDir != "" && relUnder(rv.Path, repoDir) {
			versions = append(versions, rv.Path)
		}
	}
	if len(versions) == 0 || len(sl.VersionLocations) > 0 {
		return nil
	}
	inImage := 0
	for _, v := range versions {
		if ctx, ok := p.InContext(v); ok && im.where(ctx) != "" {
			inImage++
		}
	}
	if inImage > 0 || im.FS.uncertain(path.Join(imgDir, "versions"), "versions") != "" {
		return nil
	}
	reason := "the Dockerfile does not copy them"
	if ctx, ok := p.InContext(versions[0]); ok && p.DockerIgnore != nil {
		if ex, line := p.DockerIgnore.Match(ctx); ex {
			reason = fmt.Sprintf("%s:%d leaves them out of the build context", p.DockerIgnore.Path, line)
		}
	}
	return []report.Finding{r.Finding(loc, "migrations not copied into the image",
		fmt.Sprintf("%s runs with script_location %s, but none of the %s of %s/versions reaches the image (%s): "+
			"alembic finds no revision, `upgrade` does nothing, and the app starts on an old schema.", what, imgDir, relPlural(len(versions), "migration file"), repoDir, reason),
		fmt.Sprintf("Copy %s/versions/ into %s/versions/ (and check .dockerignore).", repoDir, imgDir))}
}

func relOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func relCtxOf(p *project.Project, repo string) string {
	if repo == "" {
		return ""
	}
	if ctx, ok := p.InContext(repo); ok {
		return ctx + "/"
	}
	return ""
}

// relScriptDirCandidates returns the folders that look like Alembic script
// folders: an env.py next to a versions/ folder or script.py.mako.
func relScriptDirCandidates(p *project.Project) []string {
	var out []string
	for _, f := range p.Files() {
		if path.Base(f) != "env.py" {
			continue
		}
		dir := path.Dir(f)
		if relHasDir(p, path.Join(dir, "versions")) || relHasFile(p, path.Join(dir, "script.py.mako")) {
			out = append(out, dir)
		}
	}
	sort.Strings(out)
	return out
}

func relGuessScriptDir(p *project.Project, iniDir string) string {
	if c := relScriptDirCandidates(p); len(c) > 0 {
		return relRelPath(iniDir, c[0])
	}
	return "alembic"
}
