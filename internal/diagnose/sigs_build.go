package diagnose

import (
	"fmt"
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Build: the image build (BuildKit steps, pip) fails.

var sdistLine = lazyre.New(`(?:Using cached|Downloading) (?P<pkg>[A-Za-z0-9_.-]+?)-(?P<ver>\d[\w.]*)\.tar\.gz`)

func buildSigs() []*Signature {
	return []*Signature{
		{
			ID: "log-pg-config", Phase: report.Build, Severity: report.Error,
			Literals: []string{"pg_config executable not found", "pg_config is required to build psycopg2"},
			Title:    "psycopg2 needs pg_config to build",
			Cause:    "pip is compiling psycopg2 from source{$sdist} and the build stage has no PostgreSQL client headers: `pg_config` (from libpq-dev) is not installed",
			Fix:      "Install a wheel instead: `psycopg2-binary` (or `psycopg[binary]`) on a Python version and platform it publishes wheels for. Or add `apt-get install -y --no-install-recommends libpq-dev gcc` to the build stage before the pip install, and `libpq5` to the stage that runs the app.",
			Refine: func(m *Match) bool {
				for _, l := range m.Before(40) {
					if g := sdistLine.FindStringSubmatch(l); g != nil && strings.Contains(strings.ToLower(g[1]), "psycopg") {
						m.Set("sdist", fmt.Sprintf(" (pip downloaded the source archive of %s %s: no wheel of it fits this platform and Python version)", g[1], g[2]))
						break
					}
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer {
				return pipInstallOf(p, "psycopg2", "psycopg2-binary", "psycopg")
			},
		},
		{
			ID: "log-c-compiler-missing", Phase: report.Build, Severity: report.Error,
			Literals: []string{"failed: No such file or directory", "unable to execute '"},
			Patterns: res(`error: command '(?P<cc>[^']*?(?:gcc|cc|clang|g\+\+|c\+\+))' failed: No such file or directory`,
				`unable to execute '(?P<cc>[^']*?(?:gcc|cc|clang|g\+\+|c\+\+))': No such file or directory`),
			Title: "no C compiler in the build stage",
			Cause: "pip is compiling {$pkg|a package} from source (no wheel fits this platform and Python version) and the build stage has no C compiler (`{$cc}` is missing)",
			Fix:   "Pin a version of {$pkg|the package} that publishes wheels for this Python version and CPU (or use the Python version it supports), or add `apt-get install -y --no-install-recommends build-essential` (Alpine: `apk add build-base`) to the build stage before the pip install.",
			Refine: func(m *Match) bool {
				m.Set("pkg", builtPackage(m.Before(40)))
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return pipInstallOf(p, m.Get("pkg")) },
		},
		{
			ID: "log-python-header-removed", Phase: report.Build, Severity: report.Error,
			Literals: []string{"longintrepr.h: No such file or directory"},
			Patterns: res(`(?:(?P<src>[\w./-]+\.c):\d+:\d+: )?fatal error: longintrepr\.h: No such file or directory`),
			Title:    "package too old for the image's Python",
			Cause:    "{$pkg|A package}'s C code includes longintrepr.h, a header Python 3.11 removed: the version pinned predates the Python version of the image",
			Fix:      "Upgrade {$pkg|the package} to a release that supports the image's Python (for asyncpg, 0.27 or later supports Python 3.11), or build on the Python version the pinned release supports.",
			Refine: func(m *Match) bool {
				if src := m.Get("src"); src != "" {
					m.Set("pkg", strings.SplitN(src, "/", 2)[0])
				} else {
					m.Set("pkg", builtPackage(m.Before(40)))
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return requirementOrInstall(p, m.Get("pkg")) },
		},
		{
			ID: "log-python-headers-missing", Phase: report.Build, Severity: report.Error,
			Literals: []string{"Python.h: No such file or directory"},
			Title:    "Python headers missing in the build stage",
			Cause:    "pip is compiling {$pkg|a package} from source and the image has no Python development headers (Python.h): the base image's Python is the distribution's, without its -dev package",
			Fix:      "Build on an official python:<version> image (it carries the headers), or install the distribution's python3-dev package in the build stage; better, pin a version of {$pkg|the package} that has a wheel.",
			Refine: func(m *Match) bool {
				m.Set("pkg", builtPackage(m.Before(40)))
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return pipInstallOf(p, m.Get("pkg")) },
		},
		{
			ID: "log-wheel-build-failed", Phase: report.Build, Severity: report.Error, Symptom: true, Key: "pkg",
			Literals: []string{"Failed building wheel for ", "Could not build wheels for ", "did not run successfully"},
			Patterns: res(`(?:Failed building wheel for|Could not build wheels for) (?P<pkg>[A-Za-z0-9_.-]+)`,
				`Building wheel for (?P<pkg>[A-Za-z0-9_.-]+) \([^)]*\) did not run successfully`),
			Title: "pip could not build {$pkg}",
			Cause: "pip had to compile {$pkg} from source, and the compilation failed",
			Fix:   "Read the compiler error above this line; prefer a version of {$pkg} with a wheel for the image's Python and platform, or install its build dependencies in the build stage.",
			Point: func(p *project.Project, m *Match) Pointer { return requirementOrInstall(p, m.Get("pkg")) },
		},
		{
			ID: "log-copy-missing", Phase: report.Build, Severity: report.Error,
			Literals: []string{"failed to compute cache key", "failed to calculate checksum of ref"},
			Patterns: res(`"(?P<path>[^"]+)":? not found`),
			Follow:   8,
			Title:    "COPY source not in the build context",
			Cause:    "A COPY names {$path}, which is not in the build context sent to the builder",
			Fix:      "Check the path in the COPY (it is relative to the build context, fly.toml's folder unless [build] says otherwise), that the file is committed, and that .dockerignore does not exclude it.",
			Refine: func(m *Match) bool {
				p := cleanSrc(m.Get("path"))
				for _, l := range m.Before(6) {
					if g := copyFromLine.FindStringSubmatch(l); g != nil && (strings.Contains(l, p) || strings.Contains(l, path.Base(p))) {
						m.Set("from", g[1])
						m.Switch("log-copy-from-missing")
						return true
					}
				}
				for _, l := range m.After(8) {
					if g := dockerfileLine.FindStringSubmatch(l); g != nil {
						m.Set("dfline", g[1])
					}
				}
				return true
			},
			Point: pointCopy,
		},
		{
			ID: "log-copy-from-missing", Phase: report.Build, Severity: report.Error, Derived: true,
			Title: "COPY --from a path the stage never produced",
			Cause: "`COPY --from={$from}` copies {$path}, which the {$from} stage does not contain: the step that should create it wrote it elsewhere, or the path is misspelt",
			Fix:   "Make the {$from} stage produce {$path} (check its WORKDIR and the output path of its build command), or fix the path in the COPY --from.",
			Point: pointCopy,
		},
		{
			ID: "log-run-step-failed", Phase: report.Build, Severity: report.Error, Symptom: true,
			Literals: []string{"did not complete successfully: exit code", "executor failed running ["},
			Patterns: res(`executor failed running \[(?P<cmd>.*)\]: exit code: (?P<code>\d+)`,
				`process "(?P<cmd>.*)" did not complete successfully: exit code: (?P<code>\d+)`,
				`did not complete successfully: exit code: (?P<code>\d+)`),
			Title: "a RUN step of the Dockerfile failed",
			Cause: "The Dockerfile step `{$cmd|RUN …}` exited with code {$code}{$hint}",
			Fix:   "Read the step's output above this line for its own error, fix it, and build again locally with `docker build .` to check.",
			Refine: func(m *Match) bool {
				if m.Get("cmd") == "" {
					for _, l := range m.Before(2) {
						if g := processLine.FindStringSubmatch(l); g != nil {
							m.Set("cmd", g[1])
						}
					}
				}
				m.Set("cmd", strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(m.Get("cmd"), "/bin/sh -c "), "/bin/bash -c ")))
				if m.Get("code") == "127" {
					m.Set("hint", " (127: the shell did not find the command)")
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer { return dockerRun(p, m.Get("cmd")) },
		},
		{
			ID: "log-pip-conflict", Phase: report.Build, Severity: report.Error,
			Literals: []string{"ResolutionImpossible", "because these package versions have conflicting dependencies"},
			Patterns: res(`Cannot install (?P<what>.+?) because these package versions have conflicting dependencies`, `ResolutionImpossible`),
			Follow:   12,
			Title:    "pip cannot satisfy the pinned versions",
			Cause:    "pip's resolver found no set of versions that satisfies every requirement{$detail}",
			Fix:      "Relax or change one of the conflicting pins (pip lists them under \"The conflict is caused by\"), then regenerate the lock or requirements file and build again.",
			Refine: func(m *Match) bool {
				var why []string
				for _, l := range m.After(12) {
					l = strings.TrimSpace(stripBuildPrefix(l))
					if strings.HasPrefix(l, "The user requested ") || strings.Contains(l, " depends on ") {
						why = append(why, l)
					}
				}
				if len(why) > 0 {
					m.Set("detail", ": "+strings.Join(why[:min(len(why), 4)], "; "))
				}
				if g := reqFileLine.FindStringSubmatch(m.Get("what")); g != nil {
					m.Set("reqfile", g[1])
					m.Set("reqline", g[2])
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer {
				if f := m.Get("reqfile"); f != "" {
					var line int
					fmt.Sscan(m.Get("reqline"), &line)
					for _, df := range p.PyDeps {
						if path.Base(df.Path) == path.Base(f) {
							if _, ok := p.Line(df.Path, line); ok {
								return Pointer{Loc: report.At(df.Path, line, 0), Note: "pip names this requirement in the conflict."}
							}
						}
					}
				}
				return pipInstallOf(p)
			},
		},
		{
			ID: "log-no-matching-distribution", Phase: report.Build, Severity: report.Error, Key: "req",
			Literals: []string{"No matching distribution found for ", "Could not find a version that satisfies the requirement "},
			Patterns: res(`(?:No matching distribution found for|Could not find a version that satisfies the requirement) (?P<req>[^\s;]+)`),
			Title:    "pip found no installable {$req}",
			Cause:    "pip found no release of {$req} that installs here: the name or version does not exist, no release supports this Python version or platform, or the package index could not be reached (look for connection errors above)",
			Fix:      "Check the name and version of {$req} on PyPI and the Python versions its releases support; pin one that exists for the image's Python.",
			Point:    func(p *project.Project, m *Match) Pointer { return requirementOrInstall(p, reqName(m.Get("req"))) },
		},
		{
			ID: "log-no-dockerfile", Phase: report.Build, Severity: report.Error,
			Literals: []string{"does not have a Dockerfile or buildpacks configured"},
			Title:    "nothing to build",
			Cause:    "flyctl found nothing to build: no Dockerfile in the build context, and fly.toml names no image, builder or buildpacks",
			Fix:      "Add a Dockerfile next to fly.toml (or set [build] dockerfile = \"path/to/Dockerfile\"), or deploy a prebuilt image with [build] image or `fly deploy --image`; run `fly deploy` from the folder holding fly.toml.",
			Point: func(p *project.Project, m *Match) Pointer {
				note := ""
				if p.Dockerfile == nil {
					note = "This project has no Dockerfile where fly.toml's build looks for one."
				}
				return first(flyKey(p, "build", note), flyFile(p, note))
			},
		},
		{
			ID: "log-image-not-found", Phase: report.Build, Severity: report.Error,
			Literals: []string{"Could not find image"},
			Patterns: res(`Could not find image "?(?P<image>[^"\s]+)`),
			Title:    "image to deploy not found",
			Cause:    "flyctl was told to deploy the image {$image}, and found it neither in the local Docker daemon nor in the registry",
			Fix:      "Check the tag, and push the image before deploying it (`fly auth docker`, then `docker push`). In GitHub Actions with docker/setup-buildx-action, the docker-container driver does not load images into the local daemon: build with `push: true` to registry.fly.io/<app>, or let flyctl build (`fly deploy --remote-only`).",
			Point: func(p *project.Project, m *Match) Pointer {
				return flyKey(p, "build.image", "fly.toml names the image to deploy here.")
			},
		},
	}
}

var (
	copyFromLine   = lazyre.New(`COPY --from=(\S+)`)
	dockerfileLine = lazyre.New(`^\s*(?:Dockerfile|\S*/Dockerfile[\w.-]*):(\d+)\s*$`)
	processLine    = lazyre.New(`process "(.*?)"?\s*$`)
	reqFileLine    = lazyre.New(`-r (\S+) \(line (\d+)\)`)
	buildingExt    = lazyre.New(`building '([\w.]+)' extension`)
	buildingWheel  = lazyre.New(`(?:Building wheel for|Running setup\.py install for|Failed to build) ([A-Za-z0-9_.-]+)`)
	buildPrefix    = lazyre.New(`^(?:#\d+ [\d.]+ |\d+\.\d+ |\s+)`)
)

// builtPackage names the package being compiled, from the lines before a
// compiler error ("" when they do not say).
func builtPackage(before []string) string {
	for i := len(before) - 1; i >= 0; i-- {
		if g := buildingExt.FindStringSubmatch(before[i]); g != nil {
			return strings.SplitN(g[1], ".", 2)[0]
		}
		if g := buildingWheel.FindStringSubmatch(before[i]); g != nil {
			return g[1]
		}
	}
	return ""
}

// stripBuildPrefix drops BuildKit's "#7 19.23 " or plain progress's
// "1.750 " from a line.
func stripBuildPrefix(l string) string { return buildPrefix.ReplaceAllString(l, "") }

// pointCopy points at the COPY a missing-source error is about, and at the
// .dockerignore line that excludes the file when one does.
func pointCopy(p *project.Project, m *Match) Pointer {
	src := cleanSrc(m.Get("path"))
	ptr := dockerCopy(p, src, m.Get("from"))
	if ptr.Loc.File == "" && m.Get("dfline") != "" && p.DockerfilePath != "" {
		var n int
		fmt.Sscan(m.Get("dfline"), &n)
		if line, ok := p.Line(p.DockerfilePath, n); ok && copyWord.MatchString(line) {
			ptr.Loc = report.At(p.DockerfilePath, n, 0)
		}
	}
	if m.Get("from") != "" {
		return ptr
	}
	rel := p.FromContext(src)
	switch {
	case p.Exists(rel) && p.DockerIgnore != nil:
		if excluded, line := p.DockerIgnore.Match(src); excluded {
			ptr.Note = fmt.Sprintf("%s exists, but %s line %d excludes it from the build context.", rel, p.DockerIgnore.Path, line)
			if ptr.Loc.File == "" {
				ptr.Loc = report.At(p.DockerIgnore.Path, line, 0)
			}
		}
	case !p.Exists(rel):
		ctx := p.ContextDir
		if ctx == "" {
			ctx = "the project folder"
		}
		ptr.Note = fmt.Sprintf("There is no %s in %s.", src, ctx)
	}
	return ptr
}

var copyWord = lazyre.New(`(?i)^\s*(?:COPY|ADD)\b`)
