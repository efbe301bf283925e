package dockerfile

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// ParseImage parses an image reference such as "python:3.12-slim",
// "ghcr.io/astral-sh/uv:python3.12-bookworm-slim" or "python@sha256:...",
// normalised as Docker does (Docker Hub is "docker.io", official images are
// under "library/").
//
// It follows the grammar of github.com/distribution/reference (the parser
// Docker uses) without importing it: that package compiles its regular
// expressions when the program starts, which cost more start-up time than
// the rest of a small validation.
func ParseImage(ref string) (Image, error) {
	bad := func(why string) (Image, error) {
		return Image{}, fmt.Errorf("parse image reference %q: %s", ref, why)
	}
	if ref == "" {
		return bad("empty reference")
	}
	var img Image
	name := ref
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name, img.Digest = name[:i], name[i+1:]
		if !validDigest(img.Digest) {
			return bad("invalid digest " + img.Digest)
		}
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, img.Tag = name[:i], name[i+1:]
		if !validTag(img.Tag) {
			return bad("invalid tag " + img.Tag)
		}
	}
	img.Registry, img.Repository = "docker.io", name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		if first := name[:i]; strings.ContainsAny(first, ".:") || first == "localhost" {
			img.Registry, img.Repository = first, name[i+1:]
			if !validDomain(first) {
				return bad("invalid registry " + first)
			}
		}
	}
	if img.Registry == "docker.io" && !strings.Contains(img.Repository, "/") {
		img.Repository = "library/" + img.Repository
	}
	for _, c := range strings.Split(img.Repository, "/") {
		if !validPathComponent(c) {
			return bad("repository names are lower-case letters, digits and separators (. _ __ -), not " + strconvQuote(c))
		}
	}
	if len(img.Registry)+len(img.Repository) > 255 {
		return bad("name longer than 255 characters")
	}
	return img, nil
}

func strconvQuote(s string) string { return `"` + s + `"` }

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// validPathComponent: [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
func validPathComponent(c string) bool {
	if c == "" || !isLowerAlnum(c[0]) || !isLowerAlnum(c[len(c)-1]) {
		return false
	}
	for i := 0; i < len(c); {
		if isLowerAlnum(c[i]) {
			i++
			continue
		}
		j := i
		for j < len(c) && !isLowerAlnum(c[j]) {
			j++
		}
		sep := c[i:j]
		if sep != "." && sep != "_" && sep != "__" && strings.Trim(sep, "-") != "" {
			return false
		}
		i = j
	}
	return true
}

// validTag: [\w][\w.-]{0,127}
func validTag(t string) bool {
	if t == "" || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(isLowerAlnum(c) || c >= 'A' && c <= 'Z' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// validDigest: algorithm ":" hex, as in sha256:<64 hex>.
func validDigest(d string) bool {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || alg == "" || len(hex) < 32 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if !(hex[i] >= '0' && hex[i] <= '9' || hex[i] >= 'a' && hex[i] <= 'f') {
			return false
		}
	}
	return true
}

// validDomain: host name labels (letters, digits, hyphens, dots) with an
// optional :port.
func validDomain(d string) bool {
	host, port, hasPort := strings.Cut(d, ":")
	if host == "" || hasPort && port == "" {
		return false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
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
	reTagVersion = lazyre.New(`^(\d+\.\d+)(?:[.\-]|$)`)
	// reTagPython reads "python3.12" inside another image's tag:
	// uv:python3.12-bookworm-slim, uvicorn-gunicorn-fastapi:python3.11.
	reTagPython = lazyre.New(`(?:^|[-_])(?:python|py)-?(\d+\.\d+)(?:[.\-_]|$)`)
	// reVersion reads a Python version value: 3.11, 3.11.9.
	reVersion = lazyre.New(`^v?(\d+\.\d+)(?:\.\d+)?(?:[a-z]+\d*)?$`)
	// rePythonPackage reads a versioned Python package: python3.11,
	// python3.11-dev.
	rePythonPackage = lazyre.New(`^python(\d\.\d+)(?:-|$)`)
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
