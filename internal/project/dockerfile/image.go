package dockerfile

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// ParseImage parses an image reference such as "python:3.12-slim",
// "ghcr.io/astral-sh/uv:python3.12-bookworm-slim" or "python@sha256:...",
// normalised as Docker does (Docker Hub is "docker.io", official images are
// under "library/").
func ParseImage(ref string) (Image, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return Image{}, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	img := Image{Registry: reference.Domain(named), Repository: reference.Path(named)}
	if t, ok := named.(reference.Tagged); ok {
		img.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		img.Digest = d.Digest().String()
	}
	return img, nil
}

// IsZero reports whether the image is unset.
func (i Image) IsZero() bool { return i.Repository == "" }

// Name returns the image name as users write it: "python",
// "tiangolo/uvicorn-gunicorn-fastapi", "ghcr.io/astral-sh/uv".
func (i Image) Name() string {
	if i.IsZero() {
		return ""
	}
	if i.Registry == "docker.io" {
		return strings.TrimPrefix(i.Repository, "library/")
	}
	return i.Registry + "/" + i.Repository
}

// String returns the reference as users write it, with its tag and digest.
func (i Image) String() string {
	s := i.Name()
	if i.Tag != "" {
		s += ":" + i.Tag
	}
	if i.Digest != "" {
		s += "@" + i.Digest
	}
	return s
}

var (
	// reTagVersion reads the version at the start of a python image's tag:
	// 3.11-slim, 3.12.3-bookworm.
	reTagVersion = regexp.MustCompile(`^(\d+\.\d+)(?:[.\-]|$)`)
	// reTagPython reads "python3.12" inside another image's tag:
	// uv:python3.12-bookworm-slim, uvicorn-gunicorn-fastapi:python3.11.
	reTagPython = regexp.MustCompile(`(?:^|[-_])(?:python|py)-?(\d+\.\d+)(?:[.\-_]|$)`)
	// reVersion reads a Python version value: 3.11, 3.11.9.
	reVersion = regexp.MustCompile(`^v?(\d+\.\d+)(?:\.\d+)?(?:[a-z]+\d*)?$`)
	// rePythonPackage reads a versioned Python package: python3.11,
	// python3.11-dev.
	rePythonPackage = regexp.MustCompile(`^python(\d\.\d+)(?:-|$)`)
)

// PythonVersion returns the image's Python minor version ("3.11"), read from
// its tag, when the image is a Python image or names one in its tag.
func (i Image) PythonVersion() (string, bool) {
	if i.Tag == "" {
		return "", false
	}
	last := i.Repository[strings.LastIndex(i.Repository, "/")+1:]
	if last == "python" || last == "pypy" {
		if m := reTagVersion.FindStringSubmatch(i.Tag); m != nil {
			return m[1], true
		}
	}
	if m := reTagPython.FindStringSubmatch(i.Tag); m != nil {
		return m[1], true
	}
	return "", false
}

// PythonVersion returns the stage's Python minor version ("3.11") and where
// it is set: from the base image's tag (python:3.11-slim,
// ghcr.io/astral-sh/uv:python3.12-bookworm-slim,
// tiangolo/uvicorn-gunicorn-fastapi:python3.11), else from ENV
// PYTHON_VERSION (or an ARG default of that name) in the stage, else from
// an installed python3.X package, else from the parent stage.
func (s *Stage) PythonVersion() (minor string, loc report.Location, ok bool) {
	if v, ok := s.Image.PythonVersion(); ok {
		return v, s.BaseLoc, true
	}
	for i := len(s.Env) - 1; i >= 0; i-- {
		if e := s.Env[i]; e.Name == "PYTHON_VERSION" {
			if m := reVersion.FindStringSubmatch(s.env["PYTHON_VERSION"]); m != nil {
				return m[1], e.Loc, true
			}
			if m := reVersion.FindStringSubmatch(e.Value); m != nil {
				return m[1], e.Loc, true
			}
		}
	}
	for i := len(s.Args) - 1; i >= 0; i-- {
		if a := s.Args[i]; a.Name == "PYTHON_VERSION" {
			if m := reVersion.FindStringSubmatch(s.env["PYTHON_VERSION"]); m != nil {
				return m[1], a.Loc, true
			}
		}
	}
	for _, p := range s.Packages {
		if m := rePythonPackage.FindStringSubmatch(p.Name); m != nil {
			return m[1], p.Loc, true
		}
	}
	if s.FromStage != nil && s.FromStage != s {
		return s.FromStage.PythonVersion()
	}
	return "", report.Location{}, false
}
