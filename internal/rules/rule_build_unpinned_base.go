package rules

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/report"
)

var ruleBuildUnpinnedBase = register(&Rule{
	ID:       "build-unpinned-base",
	Phase:    report.Build,
	Severity: report.Notice,
	Doc:      "FROM an image with no tag or with :latest",
	Why:      "each deploy may build on a different image (a new Python, a new Debian), so a deploy that worked yesterday can fail or behave differently today with no change in the repository.",
	Check:    checkBuildUnpinnedBase,
})

// pinnedExamples are tags to suggest for common images.
var pinnedExamples = map[string]string{
	"python": "python:3.12-slim", "node": "node:22-slim", "alpine": "alpine:3.21",
	"debian": "debian:bookworm-slim", "ubuntu": "ubuntu:24.04", "nginx": "nginx:1.27-alpine",
	"ghcr.io/astral-sh/uv": "ghcr.io/astral-sh/uv:0.5-python3.12-bookworm-slim", "golang": "golang:1.23",
	"redis": "redis:7-alpine", "postgres": "postgres:16",
}

// checkBuildUnpinnedBase reports every FROM of the file whose image has no
// tag and no digest, or the tag latest. FROM scratch, FROM <stage> and
// references that still hold an unresolved ${VAR} are left alone.
func checkBuildUnpinnedBase(r *Rule, p *project.Project) []report.Finding {
	df := p.Dockerfile
	if df == nil {
		return nil
	}
	var out []report.Finding
	for _, st := range df.Stages {
		if st.FromStage != nil || st.Image.IsZero() || strings.Contains(st.BaseResolved, "$") {
			continue
		}
		img := st.Image
		if img.Digest != "" || (img.Tag != "" && img.Tag != "latest") {
			continue
		}
		out = append(out, r.Finding(st.BaseLoc,
			fmt.Sprintf("base image %s is not pinned", img.Name()),
			unpinnedMessage(st),
			fmt.Sprintf("pin a version tag on line %d, e.g. `FROM %s`%s, and update it on purpose", st.BaseLoc.Line, pinnedExample(p, img), asName(st))))
	}
	return out
}

func unpinnedMessage(st *dockerfile.Stage) string {
	tag := "no tag, which means :latest"
	if st.Image.Tag == "latest" {
		tag = ":latest"
	}
	return fmt.Sprintf("FROM %s uses %s: the image is whatever %s points to when the builder pulls it, so two deploys of the same commit can get different system packages or even a different Python", st.Base, tag, st.Image.Name())
}

// pinnedExample suggests a pinned reference: for python, the version the
// project declares when it says one.
func pinnedExample(p *project.Project, img dockerfile.Image) string {
	name := img.Name()
	if name == "python" {
		if f := bldPyDep(p, p.FromContext("pyproject.toml")); f != nil && f.RequiresPython.IsSet() {
			if v := suggestPython(f.RequiresPython, "3.12"); v != "" {
				return "python:" + v + "-slim"
			}
		}
	}
	if ex, ok := pinnedExamples[name]; ok {
		return ex
	}
	return name + ":<version>"
}

func asName(st *dockerfile.Stage) string {
	if st.Name == "" {
		return ""
	}
	return " (keeping `AS " + st.Name + "`)"
}
