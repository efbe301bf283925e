package rules

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleBuildCopyFromUnknownStage = register(&Rule{
	ID:       "build-copy-from-unknown-stage",
	Phase:    report.Build,
	Severity: report.Error,
	Doc:      "COPY --from (or RUN --mount from=) names a stage that does not exist: a typo of a stage name, or a stage index out of range",
	Why:      "Docker takes the unknown name for an image on Docker Hub, and the build stops with `pull access denied … repository does not exist`.",
	Check:    checkBuildCopyFromUnknownStage,
})

// officialImages are Docker Hub official images commonly copied from; a
// --from naming one of them is an image, never a typo.
var officialImages = map[string]bool{
	"python": true, "node": true, "alpine": true, "debian": true, "ubuntu": true, "busybox": true,
	"nginx": true, "golang": true, "rust": true, "postgres": true, "redis": true, "caddy": true,
	"traefik": true, "httpd": true, "haproxy": true, "mysql": true, "mariadb": true, "mongo": true,
	"memcached": true, "openjdk": true, "eclipse-temurin": true, "ruby": true, "php": true,
	"composer": true, "docker": true, "bash": true, "gcc": true, "buildpack-deps": true,
	"amazonlinux": true, "fedora": true, "rockylinux": true, "almalinux": true, "oraclelinux": true,
	"tomcat": true, "maven": true, "gradle": true, "bun": true, "deno": true, "elixir": true,
	"erlang": true, "perl": true, "julia": true, "swift": true, "haskell": true, "flyio": true,
}

// checkBuildCopyFromUnknownStage checks the --from of every COPY/ADD (and
// the from= of every RUN --mount) in the stages the deploy builds:
//   - a name that is a stage (case-insensitively) or an index of an
//     earlier stage is fine; an index out of range, or the stage itself,
//     is an error;
//   - a reference with "/", ":" or "@" is an image;
//   - a bare name within two edits of a stage name (and short relative to
//     it) is a typo: error with "did you mean";
//   - any other bare name is an image on Docker Hub (docker.io/library/
//     <name>:latest), as Docker reads it: a notice, unless it is a
//     well-known official image.
func checkBuildCopyFromUnknownStage(r *Rule, p *project.Project) []report.Finding {
	df := p.Dockerfile
	if df == nil {
		return nil
	}
	var out []report.Finding
	for _, st := range bldBuiltStages(p) {
		for _, c := range st.Copies {
			if f, ok := checkFromRef(r, df, st, c.From, wordLoc(p, c.Loc, "--from="+c.From), c.Instruction+" --from"); ok {
				out = append(out, f)
			}
		}
		for _, run := range st.Runs {
			for _, m := range bldMounts(run) {
				if f, ok := checkFromRef(r, df, st, m["from"], wordLoc(p, run.Loc, "from="+m["from"]), "RUN --mount from"); ok {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

func checkFromRef(r *Rule, df *dockerfile.File, st *dockerfile.Stage, ref string, loc report.Location, what string) (report.Finding, bool) {
	if ref == "" || strings.ContainsAny(ref, "$") {
		return report.Finding{}, false
	}
	names := stageNames(df, st)
	if s := df.Stage(ref); s != nil {
		if s == st {
			return r.Finding(loc, what+" names its own stage",
				fmt.Sprintf("%s=%s refers to %s, the stage it is in; BuildKit stops with a circular dependency", what, ref, stageRef(st)),
				"copy from the earlier stage that builds the files"+didYouMean(names, ""),
			), true
		}
		return report.Finding{}, false
	}
	if n, err := strconv.Atoi(ref); err == nil {
		return r.Finding(loc, fmt.Sprintf("stage index %d does not exist", n),
			fmt.Sprintf("%s=%d names a stage by index, but the Dockerfile has %d stages (0 to %d); Docker then looks for an image named %q and the build fails", what, n, len(df.Stages), len(df.Stages)-1, ref),
			"name the stage (`FROM … AS builder`) and use --from=builder"+didYouMean(names, ""),
		), true
	}
	if strings.ContainsAny(ref, "/:@") {
		return report.Finding{}, false // an image reference
	}
	if best, d := closestName(ref, names); best != "" && isTypo(ref, best, d) {
		return r.Finding(loc, fmt.Sprintf("no stage named %q; did you mean %q?", ref, best),
			fmt.Sprintf("%s=%s names no stage of this Dockerfile (stages: %s), so Docker takes it for the image docker.io/library/%s:latest and the build stops with `pull access denied for %s, repository does not exist or may require authorization`", what, ref, strings.Join(quoteAll(names), ", "), strings.ToLower(ref), strings.ToLower(ref)),
			fmt.Sprintf("change it to %s=%s", what, best),
		), true
	}
	if officialImages[strings.ToLower(ref)] {
		return report.Finding{}, false
	}
	return r.FindingSev(report.Notice, loc, fmt.Sprintf("--from=%s is an image, not a stage", ref),
		fmt.Sprintf("%s=%s names no stage of this Dockerfile, so Docker pulls the image docker.io/library/%s:latest from Docker Hub", what, ref, strings.ToLower(ref)),
		fmt.Sprintf("if you meant an image, write it in full with a tag (--from=docker.io/library/%s:<version>)%s", strings.ToLower(ref), didYouMean(names, "; if you meant a stage, use one of: ")),
	), true
}

// stageNames returns the names of the stages before st (those a --from
// can name without a cycle), in file order.
func stageNames(df *dockerfile.File, st *dockerfile.Stage) []string {
	var out []string
	for _, s := range df.Stages {
		if s.Name != "" && s != st {
			out = append(out, s.Name)
		}
	}
	return out
}

// closestName returns the stage name nearest to ref (case-insensitive
// edit distance) and its distance.
func closestName(ref string, names []string) (string, int) {
	best, bestD := "", 1<<30
	for _, n := range names {
		d := levenshtein.ComputeDistance(strings.ToLower(ref), strings.ToLower(n))
		if d < bestD {
			best, bestD = n, d
		}
	}
	return best, bestD
}

// isTypo reports whether ref, at edit distance d from a stage name, is
// a misspelling of it rather than another word: at most two edits, and
// no more than a third of the name's length.
func isTypo(ref, name string, d int) bool {
	return d > 0 && d <= 2 && d*3 <= len(name)
}

func didYouMean(names []string, prefix string) string {
	if len(names) == 0 {
		return ""
	}
	if prefix == "" {
		prefix = " (stages: "
		return prefix + strings.Join(quoteAll(names), ", ") + ")"
	}
	return prefix + strings.Join(quoteAll(names), ", ")
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// wordLoc narrows loc to where word first appears on its lines (the
// column of `--from=bulider`), keeping loc when it is not found.
func wordLoc(p *project.Project, loc report.Location, word string) report.Location {
	end := loc.EndLine
	if end < loc.Line {
		end = loc.Line
	}
	for n := loc.Line; n <= end; n++ {
		line, ok := p.Line(loc.File, n)
		if !ok {
			break
		}
		if i := strings.Index(line, word); i >= 0 {
			out := loc
			out.Line, out.Column, out.EndLine = n, utf8.RuneCountInString(line[:i])+1, 0
			return out
		}
	}
	return loc
}
