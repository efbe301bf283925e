package rules

// This file holds what the build rules know about Python packages that
// compile C (or Rust) code when pip finds no wheel for the platform, the
// system packages those builds and the built modules need on each Linux
// family, what the common base images already carry, and the helpers that
// read a Dockerfile stage the way its build runs: which requirements a pip
// (uv, poetry, pipenv, pdm) command installs, where they end up, and which
// system packages are present when it runs.

import (
	"fmt"
	"path"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/project/pydeps"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Linux families, by package manager.
const (
	famDebian = "debian" // apt: Debian, Ubuntu, the python:*-slim and python:* images
	famAlpine = "alpine" // apk: Alpine, python:*-alpine (musl libc)
	famRHEL   = "rhel"   // dnf/yum/microdnf: Fedora, RHEL, Rocky, Alma, Amazon Linux
)

// sysNeed is one thing a build (or a built module) needs from the system,
// with the packages that provide it on each family. Names are path.Match
// patterns; any one of them satisfies the need. A family with no names is
// one this table does not know: the need is not checked there.
type sysNeed struct {
	What string // e.g. "pg_config (the libpq headers)"
	// Fails is what the build prints when this need is missing.
	Fails string
	Apt   []string
	Apk   []string
	Dnf   []string
	// Since, when set, limits the need to versions of the Python package
	// from this one on (mysqlclient needs pkg-config since 2.2.0).
	Since string
}

func (n sysNeed) names(fam string) []string {
	switch fam {
	case famDebian:
		return n.Apt
	case famAlpine:
		return n.Apk
	case famRHEL:
		return n.Dnf
	}
	return nil
}

// Needs every C build has.
var (
	// needCC: a C compiler. build-essential, build-base and the RHEL
	// development group bring gcc; g++ depends on gcc.
	needCC = sysNeed{
		What:  "a C compiler (gcc)",
		Fails: "error: command 'gcc' failed: No such file or directory",
		Apt:   []string{"gcc", "gcc-[0-9]*", "build-essential", "g++", "clang", "clang-[0-9]*"},
		Apk:   []string{"gcc", "build-base", "clang", "clang[0-9]*", "g++"},
		Dnf:   []string{"gcc", "gcc-c++", "@development-tools", "@Development Tools", "clang"},
	}
	// needLibcDev: Alpine's gcc does not pull the C library headers
	// (stdio.h, limits.h); musl-dev or build-base does. On Debian gcc
	// depends on libc6-dev.
	needLibcDev = sysNeed{
		What:  "the C library headers (musl-dev)",
		Fails: "fatal error: limits.h: No such file or directory",
		Apk:   []string{"musl-dev", "build-base", "libc-dev"},
	}
	// needPythonDev: Python.h. The official python images ship it; a
	// Python installed from the distribution's packages needs its -dev
	// package.
	needPythonDev = sysNeed{
		What:  "the Python headers (Python.h)",
		Fails: "fatal error: Python.h: No such file or directory",
		Apt:   []string{"python3-dev", "python3.*-dev", "libpython3*-dev", "python-dev", "python-all-dev"},
		Apk:   []string{"python3-dev"},
		Dnf:   []string{"python3-devel", "python3*-devel"},
	}
	// needPkgConfig: pkg-config, which several builds call to find libraries.
	needPkgConfig = sysNeed{
		What:  "pkg-config",
		Fails: "Exception: Can not find valid pkg-config name.",
		Apt:   []string{"pkg-config", "pkgconf", "pkgconf-bin"},
		Apk:   []string{"pkgconf", "pkgconfig", "pkgconf-dev"},
		Dnf:   []string{"pkgconf-pkg-config", "pkgconfig", "pkgconf", "pkg-config"},
	}
	// libpq, for psycopg2 and psycopg's C implementation.
	needLibpqDev = sysNeed{
		What:  "pg_config (the libpq headers)",
		Fails: "Error: pg_config executable not found.",
		Apt:   []string{"libpq-dev", "postgresql-server-dev-*"},
		Apk:   []string{"postgresql-dev", "postgresql[0-9]*-dev", "libpq-dev"},
		Dnf:   []string{"libpq-devel", "postgresql-devel", "postgresql[0-9]*-devel", "postgresql-server-devel"},
	}
	needLibpq = sysNeed{
		What: "libpq.so.5, the PostgreSQL client library",
		// The -dev packages, the PostgreSQL client and server, and GDAL
		// depend on it.
		Apt: []string{"libpq5", "libpq-dev", "postgresql-server-dev-*", "postgresql", "postgresql-*", "libgdal*", "gdal-bin", "python3-gdal"},
		Apk: []string{"libpq", "postgresql-libs", "postgresql-dev", "postgresql[0-9]*-dev", "libpq-dev", "postgresql-client", "postgresql[0-9]*-client", "postgresql", "postgresql[0-9]*", "gdal", "gdal-dev"},
		Dnf: []string{"libpq", "postgresql-libs", "libpq-devel", "postgresql-devel", "postgresql[0-9]*-devel", "postgresql", "postgresql[0-9]*", "postgresql-server", "gdal", "gdal-libs"},
	}
)

// Wheel policies: when pip finds a wheel for a package on Linux.
const (
	// wheelsNever: no Linux wheel on PyPI; pip always builds the sdist.
	wheelsNever = iota
	// wheelsGlibc: manylinux wheels for every version; musllinux (Alpine)
	// wheels only from muslSince on.
	wheelsGlibc
	// wheelsAll: manylinux and musllinux wheels; a build happens only when
	// --no-binary forces one.
	wheelsAll
	// wheelsPure: a pure-Python package that loads a system library at
	// run time (no build, only a runtime need).
	wheelsPure
)

// sourcePkg is a Python package that compiles native code when installed
// from its sdist, or loads a system library at run time.
type sourcePkg struct {
	// Name is the PEP 503 name; Extra, when set, limits the entry to
	// requirements asking for that extra (psycopg[c]).
	Name, Extra string
	// Builds names the distribution that is built, when it is not Name
	// (psycopg[c] builds psycopg-c).
	Builds string
	Wheels int
	// MuslSince is the first version with musllinux (Alpine) wheels, for
	// wheelsGlibc.
	MuslSince string
	// Needs are what the build needs beyond a C compiler (and, on Alpine,
	// musl-dev); NoCompiler drops the compiler (pure-Python packages).
	Needs      []sysNeed
	NoCompiler bool
	// Runtime are the shared libraries the built module (or the pure
	// package) loads when the app imports it.
	Runtime []sysNeed
	// Fails is what the build prints when a need is missing.
	Fails string
	// Instead is a package (or way) that avoids the build.
	Instead string
	// Unless lists packages whose presence in the same install removes
	// the runtime need (psycopg with psycopg-binary).
	Unless []string
}

// sourcePkgs is the knowledge table. Each entry names its source: the
// project's own installation documentation, and its files on PyPI for the
// wheels it ships.
var sourcePkgs = []sourcePkg{
	{
		// https://www.psycopg.org/docs/install.html#build-prerequisites:
		// "pg_config ... and a C compiler"; https://pypi.org/project/psycopg2/#files:
		// an sdist and Windows wheels only. libpq.so.5 is loaded by the
		// built _psycopg module (the runtime package is libpq5 on Debian,
		// libpq on Alpine).
		Name: "psycopg2", Wheels: wheelsNever,
		Needs:   []sysNeed{needLibpqDev},
		Runtime: []sysNeed{needLibpq},
		Fails:   "Error: pg_config executable not found.",
		Instead: "psycopg2-binary (wheels that bundle libpq), or psycopg[binary] / asyncpg",
	},
	{
		// https://www.psycopg.org/psycopg3/docs/basic/install.html#local-installation:
		// psycopg[c] builds psycopg-c, which "needs a C compiler, pg_config,
		// Python and libpq development packages"; psycopg-c is an sdist only
		// (https://pypi.org/project/psycopg-c/#files).
		Name: "psycopg", Extra: "c", Builds: "psycopg-c", Wheels: wheelsNever,
		Needs:   []sysNeed{needLibpqDev},
		Runtime: []sysNeed{needLibpq},
		Fails:   "Error: pg_config executable not found.",
		Instead: "psycopg[binary] (wheels that bundle libpq)",
	},
	{
		Name: "psycopg-c", Wheels: wheelsNever,
		Needs:   []sysNeed{needLibpqDev},
		Runtime: []sysNeed{needLibpq},
		Fails:   "Error: pg_config executable not found.",
		Instead: "psycopg[binary] (wheels that bundle libpq)",
	},
	{
		// https://www.psycopg.org/psycopg3/docs/basic/install.html#pure-python-installation:
		// plain `psycopg` is pure Python and "requires the libpq installed
		// in the system"; without it the import fails with "no pq wrapper
		// available". psycopg[binary] / psycopg-binary and psycopg[c] /
		// psycopg-c provide their own.
		Name: "psycopg", Wheels: wheelsPure, NoCompiler: true,
		Runtime: []sysNeed{needLibpq},
		Fails:   "ImportError: no pq wrapper available.",
		Instead: "psycopg[binary] (wheels that bundle libpq)",
		Unless:  []string{"psycopg-binary", "psycopg-c"},
	},
	{
		// https://github.com/PyMySQL/mysqlclient#linux: "you may need to
		// install the Python 3 and MySQL development headers and libraries
		// ... sudo apt-get install python3-dev default-libmysqlclient-dev
		// build-essential pkg-config" (Alpine: mariadb-dev; Red Hat:
		// mysql-devel / mariadb-devel); pkg-config is used since 2.2.0.
		// https://pypi.org/project/mysqlclient/#files: an sdist and Windows
		// wheels only. The module links libmariadb.so.3 (libmariadb3).
		Name: "mysqlclient", Wheels: wheelsNever,
		Needs: []sysNeed{
			{
				What:  "the MySQL/MariaDB client headers",
				Fails: "mysql_config not found",
				Apt:   []string{"default-libmysqlclient-dev", "libmariadb-dev", "libmariadb-dev-compat", "libmysqlclient-dev", "libmariadbclient-dev"},
				Apk:   []string{"mariadb-dev", "mariadb-connector-c-dev", "mysql-dev"},
				Dnf:   []string{"mysql-devel", "mariadb-devel", "mariadb-connector-c-devel", "community-mysql-devel"},
			},
			withSince(needPkgConfig, "2.2.0"),
		},
		Runtime: []sysNeed{{
			What: "libmariadb.so.3, the MariaDB/MySQL client library",
			Apt:  []string{"libmariadb3", "libmysqlclient2*", "default-libmysqlclient-dev", "libmariadb-dev", "libmariadb-dev-compat", "libmysqlclient-dev", "mariadb-client*", "default-mysql-client"},
			Apk:  []string{"mariadb-connector-c", "mariadb-dev", "mariadb-connector-c-dev", "mariadb-libs", "mariadb-client", "mysql-client"},
			Dnf:  []string{"mariadb-connector-c", "mysql-libs", "mariadb-libs", "mysql-devel", "mariadb-devel", "mariadb-connector-c-devel"},
		}},
		Fails:   "mysql_config not found",
		Instead: "PyMySQL (pure Python)",
	},
	{
		// https://www.python-ldap.org/en/python-ldap-3.4.4/installing.html#build-prerequisites:
		// Debian "build-essential python3-dev libldap2-dev libsasl2-dev";
		// Alpine "build-base openldap-dev python3-dev"; RHEL "openldap-devel".
		// https://pypi.org/project/python-ldap/#files: an sdist only.
		Name: "python-ldap", Wheels: wheelsNever,
		Needs: []sysNeed{
			{
				What:  "the OpenLDAP headers (lber.h, ldap.h)",
				Fails: "fatal error: lber.h: No such file or directory",
				Apt:   []string{"libldap2-dev", "libldap-dev"},
				Apk:   []string{"openldap-dev"},
				Dnf:   []string{"openldap-devel"},
			},
			{
				What:  "the SASL headers (sasl/sasl.h)",
				Fails: "fatal error: sasl/sasl.h: No such file or directory",
				Apt:   []string{"libsasl2-dev"},
				Dnf:   []string{"cyrus-sasl-devel", "openldap-devel"},
			},
		},
		Runtime: []sysNeed{{
			What: "libldap, the OpenLDAP client library (libldap2 on Debian 13, libldap-2.5-0 on Debian 12)",
			Apt:  []string{"libldap2", "libldap-2.*", "libldap2-dev", "libldap-dev", "ldap-utils", "libcurl4*", "curl"},
			Apk:  []string{"libldap", "openldap-dev", "openldap", "openldap-clients"},
			Dnf:  []string{"openldap", "openldap-devel", "openldap-clients"},
		}},
		Fails:   "fatal error: lber.h: No such file or directory",
		Instead: "ldap3 (pure Python)",
	},
	{
		// https://uwsgi-docs.readthedocs.io/en/latest/Install.html: uWSGI is
		// compiled on install ("a C compiler ... and the Python development
		// headers"); on Alpine also linux-headers. https://pypi.org/project/uWSGI/#files:
		// an sdist only (pyuwsgi is the wheel-based variant).
		Name: "uwsgi", Wheels: wheelsNever,
		Needs: []sysNeed{{
			What:  "the Linux kernel headers (linux-headers)",
			Fails: "fatal error: linux/limits.h: No such file or directory",
			Apk:   []string{"linux-headers", "build-base"},
		}},
		Fails:   "Exception: you need a C compiler to build uWSGI",
		Instead: "pyuwsgi (the same server, shipped as wheels), or gunicorn",
	},
	{
		// https://pycairo.readthedocs.io/en/latest/getting_started.html:
		// "pkg-config and cairo including its headers" — Debian
		// libcairo2-dev, Alpine cairo-dev, Fedora cairo-devel.
		// https://pypi.org/project/pycairo/#files: an sdist and Windows
		// wheels only.
		Name: "pycairo", Wheels: wheelsNever,
		Needs: []sysNeed{
			{What: "the cairo headers", Fails: "Dependency \"cairo\" not found", Apt: []string{"libcairo2-dev"}, Apk: []string{"cairo-dev"}, Dnf: []string{"cairo-devel"}},
			needPkgConfig,
		},
		Runtime: []sysNeed{{What: "libcairo.so.2, the cairo library", Apt: []string{"libcairo2", "libcairo2-dev"}, Apk: []string{"cairo", "cairo-dev"}, Dnf: []string{"cairo", "cairo-devel"}}},
		Fails:   "Dependency \"cairo\" not found",
	},
	{
		// https://cryptography.io/en/latest/installation/#building-cryptography-on-linux:
		// Alpine "gcc musl-dev python3-dev libffi-dev openssl-dev cargo
		// pkgconfig"; Debian "build-essential libssl-dev libffi-dev
		// python3-dev cargo pkg-config". Rust is needed since 3.4.
		// CHANGELOG 35.0.0: "We now ship ... musllinux_1_1 wheels".
		Name: "cryptography", Wheels: wheelsGlibc, MuslSince: "35.0.0",
		Needs: []sysNeed{
			{What: "the OpenSSL headers", Fails: "fatal error: openssl/opensslv.h: No such file or directory", Apt: []string{"libssl-dev"}, Apk: []string{"openssl-dev", "libressl-dev"}, Dnf: []string{"openssl-devel"}},
			{What: "the libffi headers", Fails: "fatal error: ffi.h: No such file or directory", Apt: []string{"libffi-dev"}, Apk: []string{"libffi-dev"}, Dnf: []string{"libffi-devel"}},
			{What: "a Rust compiler (cargo)", Fails: "error: can't find Rust compiler", Apt: []string{"cargo", "rustc"}, Apk: []string{"cargo", "rust"}, Dnf: []string{"cargo", "rust"}, Since: "3.4"},
		},
		Fails:   "error: can't find Rust compiler",
		Instead: "cryptography>=35, which has Alpine (musllinux) wheels",
	},
	{
		// https://pillow.readthedocs.io/en/stable/installation/building-from-source.html:
		// "zlib and libjpeg are required"; Alpine "apk add ... jpeg-dev
		// zlib-dev ...". musllinux wheels since 9.1.0 (release notes 9.1.0,
		// python-pillow/Pillow#6168).
		Name: "pillow", Wheels: wheelsGlibc, MuslSince: "9.1.0",
		Needs: []sysNeed{
			{What: "the zlib headers", Fails: "The headers or library files could not be found for zlib", Apt: []string{"zlib1g-dev"}, Apk: []string{"zlib-dev"}, Dnf: []string{"zlib-devel", "zlib-ng-compat-devel"}},
			{What: "the libjpeg headers", Fails: "The headers or library files could not be found for jpeg", Apt: []string{"libjpeg-dev", "libjpeg62-turbo-dev", "libjpeg-turbo8-dev"}, Apk: []string{"jpeg-dev", "libjpeg-turbo-dev"}, Dnf: []string{"libjpeg-turbo-devel", "libjpeg-devel"}},
		},
		Runtime: []sysNeed{{
			What: "libjpeg, the JPEG library",
			Apt:  []string{"libjpeg62-turbo", "libjpeg-turbo8", "libjpeg8", "libjpeg-dev", "libjpeg62-turbo-dev", "libjpeg-turbo8-dev"},
			Apk:  []string{"libjpeg-turbo", "libjpeg", "jpeg", "jpeg-dev", "libjpeg-turbo-dev"},
			Dnf:  []string{"libjpeg-turbo", "libjpeg-turbo-devel"},
		}},
		Fails:   "The headers or library files could not be found for jpeg",
		Instead: "Pillow>=9.1, which has Alpine (musllinux) wheels",
	},
	{
		// https://lxml.de/installation.html#requirements: building needs
		// "libxml2 and libxslt ... and their development packages"
		// (libxml2-dev libxslt1-dev). lxml ships manylinux and musllinux
		// wheels, so it builds only when --no-binary asks for it.
		Name: "lxml", Wheels: wheelsAll,
		Needs: []sysNeed{
			{What: "the libxml2 headers", Fails: "Error: Please make sure the libxml2 and libxslt development packages are installed.", Apt: []string{"libxml2-dev"}, Apk: []string{"libxml2-dev"}, Dnf: []string{"libxml2-devel"}},
			{What: "the libxslt headers", Apt: []string{"libxslt1-dev", "libxslt-dev"}, Apk: []string{"libxslt-dev"}, Dnf: []string{"libxslt-devel"}},
		},
		Runtime: []sysNeed{
			{What: "libxml2, the XML library", Apt: []string{"libxml2", "libxml2-dev"}, Apk: []string{"libxml2", "libxml2-dev"}, Dnf: []string{"libxml2", "libxml2-devel"}},
			{What: "libxslt, the XSLT library", Apt: []string{"libxslt1.1", "libxslt1-dev", "libxslt-dev"}, Apk: []string{"libxslt", "libxslt-dev"}, Dnf: []string{"libxslt", "libxslt-devel"}},
		},
		Fails: "Error: Please make sure the libxml2 and libxslt development packages are installed.",
	},
}

// withSince returns n limited to package versions from since on.
func withSince(n sysNeed, since string) sysNeed {
	n.Since = since
	return n
}

// lookupSourcePkgs returns the table entries that apply to a requirement.
func lookupSourcePkgs(req pydeps.Requirement) []*sourcePkg {
	var out []*sourcePkg
	for i := range sourcePkgs {
		e := &sourcePkgs[i]
		if e.Name != req.Name {
			continue
		}
		if e.Extra != "" && !req.HasExtra(e.Extra) {
			continue
		}
		if e.Name == "psycopg" && e.Extra == "" && (req.HasExtra("binary") || req.HasExtra("c")) {
			continue // brings its own libpq (binary) or is the C entry above
		}
		out = append(out, e)
	}
	return out
}

// dist returns the distribution the entry builds.
func (e *sourcePkg) dist() string {
	if e.Builds != "" {
		return e.Builds
	}
	return e.Name
}

// ---------------------------------------------------------------------------
// Base images.

// Base image kinds.
const (
	// baseUnknown: an image this table does not know; nothing is checked.
	baseUnknown = iota
	// basePython: an official Python image without build tools
	// (python:*-slim, python:*-alpine and images built on them): Python
	// headers present, no compiler, no -dev packages, no libpq.
	basePython
	// baseOS: a bare distribution image (debian, ubuntu, alpine, fedora):
	// nothing installed, not even Python's headers.
	baseOS
	// baseFull: the full python:<version> images, built on buildpack-deps
	// (https://github.com/docker-library/buildpack-deps, debian/*/Dockerfile):
	// gcc, make, pkg-config, libpq-dev, default-libmysqlclient-dev,
	// libssl-dev, libffi-dev, libxml2-dev, libxslt-dev, libjpeg-dev,
	// zlib1g-dev and more, with their runtime libraries. Their packages
	// pull in further libraries that are not listed, so a need that seems
	// missing there is not reported.
	baseFull
)

// baseInfo is what a stage's root image provides.
type baseInfo struct {
	Kind   int
	Family string
}

// classifyImage tells what an image reference brings.
func classifyImage(img dockerfile.Image) baseInfo {
	if img.IsZero() {
		return baseInfo{}
	}
	tag := strings.ToLower(img.Tag)
	repo := strings.ToLower(img.Repository)
	pythonLike := func(tag string) baseInfo {
		switch {
		case strings.Contains(tag, "windowsservercore") || strings.Contains(tag, "nanoserver"):
			return baseInfo{}
		case strings.Contains(tag, "alpine"):
			return baseInfo{basePython, famAlpine}
		case strings.Contains(tag, "slim"):
			return baseInfo{basePython, famDebian}
		}
		return baseInfo{baseFull, famDebian}
	}
	switch {
	case img.Registry == "docker.io" && repo == "library/python":
		return pythonLike(tag)
	case img.Registry == "docker.io" && strings.HasPrefix(repo, "tiangolo/"):
		// tiangolo/uvicorn-gunicorn(-fastapi):python3.X[-slim] are built
		// FROM python:3.X[-slim].
		return pythonLike(tag)
	case img.Registry == "ghcr.io" && repo == "astral-sh/uv":
		// https://docs.astral.sh/uv/guides/integration/docker/#available-images:
		// uv:python3.X-bookworm-slim / -alpine are built on the matching
		// python image; uv:bookworm-slim / uv:alpine on the bare OS.
		if strings.Contains(tag, "python") {
			return pythonLike(tag)
		}
		switch {
		case strings.Contains(tag, "alpine"):
			return baseInfo{baseOS, famAlpine}
		case strings.Contains(tag, "slim"):
			return baseInfo{baseOS, famDebian}
		case strings.Contains(tag, "bookworm") || strings.Contains(tag, "trixie") || strings.Contains(tag, "bullseye"):
			return baseInfo{baseFull, famDebian}
		}
		return baseInfo{} // uv:<version> is a scratch image with the binary
	case img.Registry == "docker.io" && (repo == "library/debian" || repo == "library/ubuntu"):
		return baseInfo{baseOS, famDebian}
	case img.Registry == "docker.io" && repo == "library/alpine":
		return baseInfo{baseOS, famAlpine}
	case img.Registry == "docker.io" && (repo == "library/fedora" || repo == "library/rockylinux" || repo == "library/almalinux" || repo == "library/amazonlinux"):
		return baseInfo{baseOS, famRHEL}
	}
	return baseInfo{}
}

// stageBase returns what the root image of st's lineage provides, with
// the family corrected by the package managers the lineage uses.
func stageBase(st *dockerfile.Stage) baseInfo {
	root := st
	if anc := st.Ancestors(); len(anc) > 0 {
		root = anc[len(anc)-1]
	}
	b := classifyImage(root.Image)
	if b.Kind == baseUnknown {
		return b
	}
	for _, s := range bldLineage(st) {
		for _, p := range s.Packages {
			switch p.Manager {
			case "apk":
				if b.Family != famAlpine {
					return baseInfo{}
				}
			case "apt":
				if b.Family != famDebian {
					return baseInfo{}
				}
			case "dnf", "yum", "microdnf":
				if b.Family != famRHEL {
					return baseInfo{}
				}
			}
		}
	}
	return b
}

// stageRef names a stage: `stage "builder"` or `stage 0`.
func stageRef(st *dockerfile.Stage) string {
	if st.Name != "" {
		return fmt.Sprintf("stage %q", st.Name)
	}
	return fmt.Sprintf("stage %d", st.Index)
}

// describeStage names a stage for a message:
// `stage "builder" (FROM python:3.12-slim, line 1)`.
func describeStage(st *dockerfile.Stage) string {
	name := stageRef(st)
	base := st.BaseResolved
	if base == "" {
		base = st.Base
	}
	return fmt.Sprintf("%s (FROM %s, line %d)", name, base, st.Loc.Line)
}

// ---------------------------------------------------------------------------
// Stages.

// bldLineage returns the ancestors of st, farthest first, then st.
func bldLineage(st *dockerfile.Stage) []*dockerfile.Stage {
	anc := st.Ancestors()
	out := make([]*dockerfile.Stage, 0, len(anc)+1)
	for i := len(anc) - 1; i >= 0; i-- {
		out = append(out, anc[i])
	}
	return append(out, st)
}

// bldTarget returns the stage the deploy builds: fly.toml's [build] target,
// else the last stage.
func bldTarget(p *project.Project) *dockerfile.Stage {
	if p.Dockerfile == nil {
		return nil
	}
	name := ""
	if p.Fly != nil && p.Fly.Build != nil && p.Fly.Build.Target.Set {
		name = p.Fly.Build.Target.V
	}
	if t := p.Dockerfile.Target(name); t != nil {
		return t
	}
	return p.Dockerfile.Final()
}

// bldBuiltStages returns the stages BuildKit builds for the target: the
// target, the stages it is FROM, and the stages they copy or mount from,
// in file order.
func bldBuiltStages(p *project.Project) []*dockerfile.Stage {
	df := p.Dockerfile
	t := bldTarget(p)
	if t == nil {
		return nil
	}
	seen := map[*dockerfile.Stage]bool{}
	var visit func(*dockerfile.Stage)
	visit = func(s *dockerfile.Stage) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		visit(s.FromStage)
		for _, c := range s.Copies {
			if c.From != "" {
				visit(df.Stage(c.From))
			}
		}
		for _, r := range s.Runs {
			for _, m := range bldMounts(r) {
				if m["from"] != "" {
					visit(df.Stage(m["from"]))
				}
			}
		}
	}
	visit(t)
	var out []*dockerfile.Stage
	for _, s := range df.Stages {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out
}

// bldMounts parses the --mount flags of a RUN into key=value maps.
func bldMounts(r dockerfile.Run) []map[string]string {
	var out []map[string]string
	for _, f := range r.Flags {
		v, ok := strings.CutPrefix(f, "--mount=")
		if !ok {
			continue
		}
		m := map[string]string{}
		for _, kv := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(kv, "=")
			k = strings.ToLower(strings.TrimSpace(k))
			switch k {
			case "src":
				k = "source"
			case "dst", "destination":
				k = "target"
			}
			m[k] = strings.TrimSpace(val)
		}
		if m["type"] == "" {
			m["type"] = "bind"
		}
		out = append(out, m)
	}
	return out
}

// before reports whether location a comes before location b in the file.
func before(a, b report.Location) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Column < b.Column
}

// bldPkgsAt returns the system packages present in st at loc: those left
// by its ancestors, plus those st installs before loc, minus those it
// removes before loc.
func bldPkgsAt(st *dockerfile.Stage, loc report.Location) []dockerfile.SysPackage {
	var out []dockerfile.SysPackage
	if st.FromStage != nil {
		out = st.FromStage.EffectivePackages()
	}
	type event struct {
		pkg     dockerfile.SysPackage
		removed bool
	}
	var evs []event
	for _, p := range st.Packages {
		if before(p.Loc, loc) {
			evs = append(evs, event{p, false})
		}
	}
	for _, p := range st.RemovedPackages {
		if before(p.Loc, loc) {
			evs = append(evs, event{p, true})
		}
	}
	// Order by position (stable for equal positions: installs first).
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && before(evs[j].pkg.Loc, evs[j-1].pkg.Loc); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	for _, e := range evs {
		if e.removed {
			kept := out[:0:0]
			for _, p := range out {
				if p.Name != e.pkg.Name {
					kept = append(kept, p)
				}
			}
			out = kept
			continue
		}
		out = append(out, e.pkg)
	}
	return out
}

// satisfied reports whether one of pkgs provides need on fam. ok is false
// when the table has no names for fam (the need cannot be checked).
func satisfied(need sysNeed, fam string, pkgs []dockerfile.SysPackage) (has, ok bool) {
	names := need.names(fam)
	if len(names) == 0 {
		return false, false
	}
	for _, p := range pkgs {
		for _, n := range names {
			if m, _ := path.Match(n, p.Name); m {
				return true, true
			}
		}
	}
	return false, true
}

// bldOpaqueInstalls reports whether the lineage of st, up to loc, runs
// something that may install system packages this analysis cannot see:
// a package command with an unresolved word, a script file, conda, or
// apt-get build-dep.
func bldOpaqueInstalls(st *dockerfile.Stage, loc report.Location) bool {
	lineage := bldLineage(st)
	for _, s := range lineage {
		for _, r := range s.Runs {
			if s == st && !before(r.Loc, loc) && r.Loc.Line != loc.Line {
				continue
			}
			if r.ShellError != nil {
				return true
			}
			for _, c := range r.Commands {
				if len(c.Args) == 0 {
					continue
				}
				prog := path.Base(c.Args[0])
				switch prog {
				case "apt-get", "apt", "apk", "dnf", "yum", "microdnf", "aptitude":
					for _, w := range c.Words {
						if w.Dynamic {
							return true
						}
						if w.Value == "build-dep" {
							return true
						}
					}
				case "conda", "mamba", "micromamba", "xargs", "nix-env", "brew":
					return true
				case "sh", "bash", "ash", "dash", "zsh":
					// `sh -c '…'` was already read into Commands; what is
					// left runs a script file or a script piped in
					// (`curl … | sh`).
					return true
				default:
					if strings.HasSuffix(prog, ".sh") {
						return true
					}
				}
			}
		}
	}
	return false
}

// bldEnvAt returns the ENV values in effect in st at loc.
func bldEnvAt(st *dockerfile.Stage, loc report.Location) map[string]string {
	env := map[string]string{}
	if st.FromStage != nil {
		for _, e := range st.FromStage.EffectiveEnv() {
			env[e.Name] = e.Value
		}
	}
	for _, e := range st.Env {
		if before(e.Loc, loc) {
			env[e.Name] = bldExpand(e.Value, env)
		}
	}
	return env
}

var reVar = lazyre.New(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// bldExpand substitutes known variables of env in s; unknown ones stay.
func bldExpand(s string, env map[string]string) string {
	return reVar.ReplaceAllStringFunc(s, func(m string) string {
		name := reVar.FindStringSubmatch(m)[1]
		if v, ok := env[name]; ok {
			return v
		}
		return m
	})
}

// bldWorkdir returns st's working directory ("/" when none is set).
func bldWorkdir(st *dockerfile.Stage) string {
	if w := st.EffectiveWorkdir(); w != "" {
		return w
	}
	return "/"
}

// bldHome returns the home directory of the stage's user.
func bldHome(st *dockerfile.Stage) string {
	u := st.EffectiveUser()
	if i := strings.IndexByte(u, ':'); i >= 0 {
		u = u[:i]
	}
	if u == "" || u == "root" || u == "0" {
		return "/root"
	}
	return "/home/" + u
}

// bldAbs makes a container path absolute against dir, expanding "~".
func bldAbs(p, dir, home string) string {
	switch {
	case p == "~":
		return home
	case strings.HasPrefix(p, "~/"):
		return path.Join(home, p[2:])
	case strings.HasPrefix(p, "/"):
		return path.Clean(p)
	}
	return path.Join(dir, p)
}

// ---------------------------------------------------------------------------
// What a command installs.

// bldReq is one requirement a command installs.
type bldReq struct {
	pydeps.Requirement
	// Where is where it was declared, "requirements.txt:3", for messages.
	Where string
	// NoBinary / OnlyBinary: the requirements file asks pip to build it /
	// never to build it.
	NoBinary, OnlyBinary bool
}

// bldInstall is one install command with what it installs.
type bldInstall struct {
	Stage *dockerfile.Stage
	Pip   *dockerfile.PipInstall
	Reqs  []bldReq
	// Env is the ENV in effect when it runs.
	Env map[string]string
	// Others are the distributions other installs put in the same image
	// (see bldDistNames); set by callers that know them.
	Others map[string]bool
}

// bldDistNames returns the distributions installs bring: each
// requirement's name, and name-extra for its extras (psycopg[binary]
// brings psycopg-binary).
func bldDistNames(insts []bldInstall) map[string]bool {
	out := map[string]bool{}
	for _, inst := range insts {
		for _, r := range inst.Reqs {
			out[r.Name] = true
			for _, e := range r.Extras {
				out[r.Name+"-"+e] = true
			}
		}
	}
	return out
}

// bldInstallsOf returns the install commands of st (not of its ancestors)
// that install from an index, with their requirements.
func bldInstallsOf(p *project.Project, st *dockerfile.Stage) []bldInstall {
	var out []bldInstall
	for i := range st.PipInstalls {
		pi := &st.PipInstalls[i]
		if pi.Tool == "conda" || pi.Subcommand == "download" {
			continue
		}
		inst := bldInstall{Stage: st, Pip: pi, Env: bldEnvAt(st, pi.Loc)}
		if bldFromLocalWheels(pi) || inst.Env["PIP_FIND_LINKS"] != "" || inst.Env["UV_FIND_LINKS"] != "" || strings.EqualFold(inst.Env["PIP_NO_INDEX"], "1") || strings.EqualFold(inst.Env["PIP_NO_INDEX"], "true") {
			continue
		}
		inst.Reqs = bldReqsOf(p, st, pi)
		out = append(out, inst)
	}
	return out
}

// bldFromLocalWheels reports whether the command installs only from local
// wheels (--no-index with --find-links, or --find-links to a folder), so
// nothing is built from an sdist of the index.
func bldFromLocalWheels(pi *dockerfile.PipInstall) bool {
	for _, a := range pi.Args {
		if a == "--no-index" || a == "--find-links" || a == "-f" || strings.HasPrefix(a, "--find-links=") || (strings.HasPrefix(a, "-f") && len(a) > 2 && !strings.HasPrefix(a, "--")) {
			return true
		}
	}
	return false
}

// bldReqsOf returns the requirements one install command installs.
func bldReqsOf(p *project.Project, st *dockerfile.Stage, pi *dockerfile.PipInstall) []bldReq {
	var out []bldReq
	df := p.DockerfilePath
	for i, pkg := range pi.Packages {
		if strings.ContainsAny(pkg, "/*$") || strings.HasSuffix(pkg, ".whl") || strings.HasSuffix(pkg, ".tar.gz") || strings.HasSuffix(pkg, ".zip") {
			continue
		}
		f, _ := pydeps.ParseRequirements("cmdline", []byte(pkg))
		if f == nil {
			continue
		}
		for _, r := range f.Requirements {
			if r.Name == "" {
				continue
			}
			if i < len(pi.PackageLocs) {
				r.Loc = pi.PackageLocs[i]
			} else {
				r.Loc = pi.Loc
			}
			r.Loc.File = df
			out = append(out, bldReq{Requirement: r, Where: fmt.Sprintf("%s:%d", df, r.Loc.Line)})
		}
	}
	for _, rf := range pi.RequirementFiles {
		rel, ok := bldResolveContextFile(p, st, pi.Loc, rf)
		if !ok {
			continue
		}
		out = append(out, bldFileReqs(p, rel, map[string]bool{})...)
	}
	projectDeps := pi.InstallsProject
	switch pi.Tool {
	case "poetry", "uv sync", "pdm":
		projectDeps = true
	case "pipenv":
		if f := bldProjectFile(p, st, pi.Loc, "Pipfile"); f != nil && len(pi.Packages) == 0 {
			out = append(out, bldGroupReqs(f, []string{""}, hasArg(pi.Args, "--dev"))...)
		}
	}
	if projectDeps {
		if f := bldProjectFile(p, st, pi.Loc, "pyproject.toml"); f != nil {
			out = append(out, bldGroupReqs(f, bldExtras(pi), hasArg(pi.Args, "--all-extras"))...)
		}
	}
	return out
}

// bldProjectFile returns the project file (pyproject.toml, Pipfile) an
// install in st at loc reads from its working directory: the one COPY put
// there, else the one at the root of the build context.
func bldProjectFile(p *project.Project, st *dockerfile.Stage, loc report.Location, name string) *pydeps.File {
	if rel, ok := bldResolveContextFile(p, st, loc, name); ok {
		if f := bldPyDep(p, rel); f != nil {
			return f
		}
	}
	return bldPyDep(p, p.FromContext(name))
}

func hasArg(args []string, s string) bool {
	for _, a := range args {
		if a == s {
			return true
		}
	}
	return false
}

// bldExtras returns the extras an install asks of the project: `.[a,b]`,
// `-E a`, `--extras a`, `--extra a`.
func bldExtras(pi *dockerfile.PipInstall) []string {
	out := []string{""}
	for i, a := range pi.Args {
		if strings.HasPrefix(a, ".[") || strings.HasPrefix(a, "./[") {
			if _, ex, ok := strings.Cut(a, "["); ok {
				for _, e := range strings.Split(strings.TrimSuffix(ex, "]"), ",") {
					out = append(out, pydeps.Normalize(strings.TrimSpace(e)))
				}
			}
		}
		if (a == "-E" || a == "--extras" || a == "--extra") && i+1 < len(pi.Args) {
			for _, e := range strings.FieldsFunc(pi.Args[i+1], func(r rune) bool { return r == ',' || r == ' ' }) {
				out = append(out, pydeps.Normalize(e))
			}
		}
		for _, pre := range []string{"--extras=", "--extra=", "-E"} {
			if v, ok := strings.CutPrefix(a, pre); ok && v != "" {
				for _, e := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
					out = append(out, pydeps.Normalize(e))
				}
			}
		}
	}
	return out
}

// bldGroupReqs returns a project file's requirements installed by default
// (group ""), plus the optional ones of the requested extras (all of them
// with all set).
func bldGroupReqs(f *pydeps.File, extras []string, all bool) []bldReq {
	want := map[string]bool{}
	for _, e := range extras {
		want[e] = true
	}
	var out []bldReq
	for _, r := range f.Requirements {
		if r.Constraint {
			continue
		}
		switch {
		case r.Group == "" && !r.Optional:
		case r.Optional && (all || want[pydeps.Normalize(r.Group)]):
		case f.Kind == pydeps.KindPipfile && r.Group == "dev" && all:
		default:
			continue
		}
		out = append(out, bldReq{Requirement: r, Where: fmt.Sprintf("%s:%d", f.Path, r.Loc.Line)})
	}
	return out
}

// bldFileReqs returns the requirements of a requirements file and of the
// files it includes with -r.
func bldFileReqs(p *project.Project, rel string, seen map[string]bool) []bldReq {
	if seen[rel] {
		return nil
	}
	seen[rel] = true
	f := bldPyDep(p, rel)
	if f == nil || f.Kind == pydeps.KindConstraints {
		return nil
	}
	noBin := map[string]bool{}
	onlyBin := map[string]bool{}
	for _, n := range f.NoBinary {
		noBin[n] = true
	}
	for _, n := range f.OnlyBinary {
		onlyBin[n] = true
	}
	var out []bldReq
	for _, r := range f.Requirements {
		if r.Constraint || r.Name == "" {
			continue
		}
		out = append(out, bldReq{
			Requirement: r,
			Where:       fmt.Sprintf("%s:%d", f.Path, r.Loc.Line),
			NoBinary:    noBin[r.Name] || noBin[":all:"],
			OnlyBinary:  (onlyBin[r.Name] || onlyBin[":all:"]) && !noBin[r.Name],
		})
	}
	for _, inc := range f.Includes {
		if inc.Constraint {
			continue
		}
		out = append(out, bldFileReqs(p, path.Join(path.Dir(f.Path), inc.Path), seen)...)
	}
	return out
}

// bldPyDep returns the loaded dependency file at rel, loading it when the
// project loader did not (a requirements file in another folder).
func bldPyDep(p *project.Project, rel string) *pydeps.File {
	rel = path.Clean(rel)
	for _, f := range p.PyDeps {
		if f.Path == rel {
			return f
		}
	}
	if !p.Exists(rel) || p.IsDir(rel) {
		return nil
	}
	files, _ := pydeps.LoadTree(p.FS(), rel)
	for _, f := range files {
		if f.Path == rel {
			return f
		}
	}
	return nil
}

// bldResolveContextFile finds the build-context file behind a path a RUN
// in st reads at loc (a requirements file given to pip -r): through a bind
// mount of that RUN, or the last COPY/ADD of st and its ancestors that puts
// a file there. ok is false when the file cannot be traced to a file of
// the project (copied from another stage, generated, or never copied).
func bldResolveContextFile(p *project.Project, st *dockerfile.Stage, loc report.Location, file string) (string, bool) {
	if strings.ContainsAny(file, "$*") || strings.Contains(file, "://") {
		return "", false
	}
	target := bldAbs(file, bldWorkdir(st), bldHome(st))
	for _, r := range st.Runs {
		end := r.Loc.EndLine
		if end < r.Loc.Line {
			end = r.Loc.Line
		}
		if loc.Line < r.Loc.Line || loc.Line > end {
			continue
		}
		for _, m := range bldMounts(r) {
			if m["type"] != "bind" || m["target"] == "" {
				continue
			}
			dest := bldAbs(m["target"], bldWorkdir(st), bldHome(st))
			src := m["source"]
			if src == "" {
				src = "."
			}
			rel, hit := bldMapCopy(p, src, dest, target)
			if !hit {
				continue
			}
			if m["from"] != "" || rel == "" {
				return "", false
			}
			return rel, true
		}
	}
	lineage := bldLineage(st)
	for i := len(lineage) - 1; i >= 0; i-- {
		s := lineage[i]
		for j := len(s.Copies) - 1; j >= 0; j-- {
			c := s.Copies[j]
			if s == st && !before(c.Loc, loc) {
				continue
			}
			dest := bldAbs(c.Dest, bldWorkdir(s), bldHome(s))
			for _, src := range c.Sources {
				if strings.HasPrefix(src, "<<") {
					continue
				}
				if c.From != "" {
					if target == dest || strings.HasPrefix(target, dest+"/") {
						return "", false // put there from another stage or image
					}
					continue
				}
				rel, hit := bldMapCopy(p, src, dest, target)
				if !hit {
					continue
				}
				if rel == "" {
					return "", false // put there from a file the project does not have
				}
				return rel, true
			}
		}
	}
	return "", false
}

// bldMapCopy maps the container path target through one copy of the
// context path src to dest. hit reports whether the copy puts something at
// target; rel is the project file it comes from ("" when that file is not
// in the project). A folder copy that does not hold the file is no hit.
func bldMapCopy(p *project.Project, src, dest, target string) (rel string, hit bool) {
	src = strings.TrimPrefix(path.Clean(src), "/")
	srcRel := p.FromContext(src)
	if src == "." || p.IsDir(srcRel) {
		if target != dest && !strings.HasPrefix(target, strings.TrimSuffix(dest, "/")+"/") {
			return "", false
		}
		cand := path.Join(srcRel, strings.TrimPrefix(strings.TrimPrefix(target, dest), "/"))
		if p.Exists(cand) && !p.IsDir(cand) {
			return cand, true
		}
		return "", false
	}
	if strings.ContainsAny(path.Base(src), "*?[") {
		if path.Dir(target) != dest {
			return "", false
		}
		if m, _ := path.Match(path.Base(src), path.Base(target)); !m {
			return "", false
		}
		cand := path.Join(path.Dir(srcRel), path.Base(target))
		if p.Exists(cand) {
			return cand, true
		}
		return "", false
	}
	// A file lands at dest, or inside it when dest is a folder (which a
	// trailing slash, WORKDIR or an earlier COPY may make it).
	if target != dest && target != path.Join(dest, path.Base(src)) {
		return "", false
	}
	if p.Exists(srcRel) {
		return srcRel, true
	}
	return "", true
}

// ---------------------------------------------------------------------------
// Whether a requirement compiles.

// bldBuild is a requirement that an install compiles from source (or, for
// a pure package, loads a library at run time).
type bldBuild struct {
	Req   bldReq
	Entry *sourcePkg
	Why   string // why no wheel is used, for the message
}

// bldSourceBuilds returns the requirements of inst that pip compiles on
// fam (with wheelsPure entries when pure is set).
func bldSourceBuilds(inst bldInstall, fam string, pure bool) []bldBuild {
	pi := inst.Pip
	names := bldDistNames([]bldInstall{inst})
	for n := range inst.Others {
		names[n] = true
	}
	cmdNoBin := map[string]bool{}
	cmdOnlyBin := map[string]bool{}
	for _, n := range pi.NoBinary {
		cmdNoBin[pydeps.Normalize(n)] = true
	}
	for _, n := range pi.OnlyBinary {
		cmdOnlyBin[pydeps.Normalize(n)] = true
	}
	for _, n := range strings.Split(inst.Env["PIP_NO_BINARY"], ",") {
		if n = strings.TrimSpace(n); n != "" {
			cmdNoBin[pydeps.Normalize(n)] = true
		}
	}
	for _, n := range strings.Split(inst.Env["PIP_ONLY_BINARY"], ",") {
		if n = strings.TrimSpace(n); n != "" {
			cmdOnlyBin[pydeps.Normalize(n)] = true
		}
	}
	for i, a := range pi.Args {
		switch {
		case a == "--no-build" || a == "--only-binary=:all:":
			cmdOnlyBin[":all:"] = true
		case a == "--no-build-package" && i+1 < len(pi.Args):
			cmdOnlyBin[pydeps.Normalize(pi.Args[i+1])] = true
		case a == "--no-binary-package" && i+1 < len(pi.Args):
			cmdNoBin[pydeps.Normalize(pi.Args[i+1])] = true
		case a == "--no-binary" && pi.Tool == "uv sync":
			cmdNoBin[":all:"] = true
		}
	}
	if v := strings.ToLower(inst.Env["UV_NO_BUILD"]); v == "1" || v == "true" {
		cmdOnlyBin[":all:"] = true
	}
	var out []bldBuild
	seen := map[string]bool{}
	for _, r := range inst.Reqs {
		if r.Constraint || bldMarkerExcludesLinux(r.Marker) {
			continue
		}
		for _, e := range lookupSourcePkgs(r.Requirement) {
			key := e.dist()
			if seen[key] {
				continue
			}
			forced := r.NoBinary || cmdNoBin[r.Name] || cmdNoBin[":all:"]
			never := r.OnlyBinary || cmdOnlyBin[r.Name] || (cmdOnlyBin[":all:"] && !cmdNoBin[r.Name])
			var why string
			switch e.Wheels {
			case wheelsPure:
				if !pure {
					continue
				}
				skip := false
				for _, u := range e.Unless {
					if names[u] {
						skip = true
					}
				}
				if skip {
					continue
				}
				why = "it is pure Python"
			default:
				if never {
					continue // pip would refuse to build it: another error
				}
				switch {
				case forced:
					why = "--no-binary makes pip build it from its source distribution"
				case e.Wheels == wheelsNever:
					why = "it has no wheel for Linux on PyPI, so pip builds it from its source distribution"
				case e.Wheels == wheelsGlibc && fam == famAlpine && !allowsAtLeast(r.PEP440, e.MuslSince):
					why = fmt.Sprintf("it has no wheel for Alpine (musl) before %s, so pip builds it from its source distribution", e.MuslSince)
				default:
					continue
				}
			}
			seen[key] = true
			out = append(out, bldBuild{Req: r, Entry: e, Why: why})
		}
	}
	return out
}

// bldMarkerExcludesLinux reports whether an environment marker plainly
// limits a requirement to another platform (sys_platform == "win32").
func bldMarkerExcludesLinux(marker string) bool {
	m := strings.ToLower(strings.ReplaceAll(marker, "'", "\""))
	if strings.Contains(m, " or ") {
		return false
	}
	m = strings.Join(strings.Fields(m), "")
	for _, s := range []string{`sys_platform=="win32"`, `sys_platform=="darwin"`, `platform_system=="windows"`, `platform_system=="darwin"`, `os_name=="nt"`} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// allowsAtLeast reports whether a PEP 440 specifier set (with Poetry's
// "||" alternatives) allows some version at or above min. pip picks the
// newest allowed version, so this is whether it can pick one at or above
// min. An unreadable specifier is taken to allow it.
func allowsAtLeast(spec, min string) bool {
	if strings.TrimSpace(spec) == "" {
		return true
	}
	minV, err := pep440.Parse(min)
	if err != nil {
		return true
	}
	for _, alt := range strings.Split(spec, "||") {
		alt = strings.TrimSpace(alt)
		if alt == "" {
			return true
		}
		ss, err := pep440.NewSpecifiers(alt, pep440.WithPreRelease(true))
		if err != nil {
			return true
		}
		cands := []string{min, "99999"}
		for _, m := range reSpecVersion.FindAllString(alt, -1) {
			cands = append(cands, strings.TrimSuffix(strings.TrimSuffix(m, ".*"), "."))
		}
		for _, c := range cands {
			v, err := pep440.Parse(c)
			if err != nil {
				continue
			}
			if v.GreaterThanOrEqual(minV) && ss.Check(v) {
				return true
			}
		}
	}
	return false
}

var reSpecVersion = lazyre.New(`\d+(\.\d+)*(\.\*)?`)

// needsFor returns the needs of an entry's build on a base, for the
// requirement's version.
func (e *sourcePkg) needsFor(b baseInfo, spec string) []sysNeed {
	var out []sysNeed
	for _, n := range e.Needs {
		if n.Since != "" && !allowsAtLeast(spec, n.Since) {
			continue
		}
		out = append(out, n)
	}
	if !e.NoCompiler {
		out = append(out, needCC)
		if b.Family == famAlpine {
			out = append(out, needLibcDev)
		}
		if b.Kind == baseOS {
			out = append(out, needPythonDev)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Where installs go, and what a COPY --from carries.

// bldInstallDirs returns the folders an install command writes packages
// (or wheels) to, absolute.
func bldInstallDirs(inst bldInstall) []string {
	st, pi, env := inst.Stage, inst.Pip, inst.Env
	wd, home := bldWorkdir(st), bldHome(st)
	if pi.Prefix != "" {
		return []string{bldAbs(bldExpand(pi.Prefix, env), wd, home)}
	}
	system := func() []string {
		if v, _, ok := st.PythonVersion(); ok {
			return []string{"/usr/local/lib/python" + v + "/site-packages", "/usr/lib/python3/dist-packages"}
		}
		return []string{"/usr/local/lib", "/usr/lib/python3"}
	}
	venv := func() string {
		if len(pi.Args) > 0 {
			if i := strings.Index(pi.Args[0], "/bin/"); i > 0 {
				switch dir := bldAbs(pi.Args[0][:i], wd, home); dir {
				case "/usr", "/usr/local", "/":
				default:
					return dir // /opt/venv/bin/pip
				}
			}
		}
		if v := bldActivated(st, pi.Loc, env); v != "" {
			return bldAbs(v, wd, home)
		}
		if v := env["VIRTUAL_ENV"]; v != "" && !strings.Contains(v, "$") {
			return bldAbs(v, wd, home)
		}
		venvs := bldVenvDirs(st)
		for _, e := range strings.Split(env["PATH"], ":") {
			if !strings.HasSuffix(e, "/bin") || strings.Contains(e, "$") {
				continue
			}
			dir := path.Dir(bldAbs(e, wd, home))
			if venvs[dir] || strings.Contains(path.Base(dir), "venv") {
				return dir
			}
			switch e {
			case "/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin":
				return ""
			}
		}
		return ""
	}
	truthy := func(k string) (bool, bool) {
		v, ok := env[k]
		if !ok {
			return false, false
		}
		v = strings.ToLower(v)
		return v == "1" || v == "true" || v == "yes" || v == "on", true
	}
	switch pi.Tool {
	case "uv sync":
		if v := env["UV_PROJECT_ENVIRONMENT"]; v != "" {
			return []string{bldAbs(v, wd, home)}
		}
		return []string{path.Join(wd, ".venv")}
	case "poetry":
		if create, ok := truthy("POETRY_VIRTUALENVS_CREATE"); ok && !create {
			if v := venv(); v != "" {
				return []string{v}
			}
			return system()
		}
		if in, _ := truthy("POETRY_VIRTUALENVS_IN_PROJECT"); in {
			return []string{path.Join(wd, ".venv")}
		}
		if v := env["POETRY_VIRTUALENVS_PATH"]; v != "" {
			return []string{bldAbs(v, wd, home)}
		}
		if v := env["POETRY_CACHE_DIR"]; v != "" {
			return []string{path.Join(bldAbs(v, wd, home), "virtualenvs")}
		}
		return []string{path.Join(home, ".cache/pypoetry/virtualenvs")}
	case "pipenv":
		if hasArg(pi.Args, "--system") {
			return system()
		}
		if in, _ := truthy("PIPENV_VENV_IN_PROJECT"); in {
			return []string{path.Join(wd, ".venv")}
		}
		return []string{path.Join(home, ".local/share/virtualenvs")}
	case "pdm":
		return []string{path.Join(wd, ".venv"), path.Join(wd, "__pypackages__")}
	case "uv pip":
		if sys, _ := truthy("UV_SYSTEM_PYTHON"); sys || hasArg(pi.Args, "--system") {
			return system()
		}
		if v := venv(); v != "" {
			return []string{v}
		}
		return []string{path.Join(wd, ".venv")}
	}
	if v := venv(); v != "" {
		return []string{v}
	}
	return system()
}

// distroPython is the python3 of distribution releases, for images that
// name no Python version: Debian and Ubuntu's python3 package, and the
// distroless python3 images built on Debian.
var distroPython = map[string]string{
	"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13",
	"debian11": "3.9", "debian12": "3.11", "debian13": "3.13",
	"11": "3.9", "12": "3.11", "13": "3.13",
	"20.04": "3.8", "22.04": "3.10", "24.04": "3.12", "focal": "3.8", "jammy": "3.10", "noble": "3.12",
}

// bldPythonVersion returns a stage's Python minor version and where it is
// set: Stage.PythonVersion, else the python3 of the distribution image
// (debian:bookworm with apt's python3, gcr.io/distroless/python3-debian12).
func bldPythonVersion(st *dockerfile.Stage) (string, report.Location, bool) {
	if v, loc, ok := st.PythonVersion(); ok {
		return v, loc, true
	}
	root := bldLineage(st)[0]
	img := root.Image
	repo := strings.ToLower(img.Repository)
	tag := strings.ToLower(img.Tag)
	switch {
	case img.Registry == "gcr.io" && strings.HasPrefix(repo, "distroless/python3-"):
		if v, ok := distroPython[strings.TrimPrefix(repo, "distroless/python3-")]; ok {
			return v, root.BaseLoc, true
		}
	case img.Registry == "docker.io" && (repo == "library/debian" || repo == "library/ubuntu"):
		hasPython := false
		for _, s := range bldLineage(st) {
			for _, p := range s.Packages {
				if p.Manager == "apt" && (p.Name == "python3" || p.Name == "python3-venv" || p.Name == "python3-pip") {
					hasPython = true
				}
			}
		}
		if !hasPython {
			break
		}
		for key, v := range distroPython {
			if tag == key || strings.HasPrefix(tag, key+"-") {
				return v, root.BaseLoc, true
			}
		}
	}
	return "", report.Location{}, false
}

// bldActivated returns the virtual environment a RUN activates
// (`. /venv/bin/activate`, `source …/activate`) before the command at loc.
func bldActivated(st *dockerfile.Stage, loc report.Location, env map[string]string) string {
	for _, r := range st.Runs {
		end := r.Loc.EndLine
		if end < r.Loc.Line {
			end = r.Loc.Line
		}
		if loc.Line < r.Loc.Line || loc.Line > end {
			continue
		}
		venv := ""
		for _, c := range r.Commands {
			if !before(r.Location(c.Offset), loc) {
				break
			}
			if len(c.Args) == 2 && (c.Args[0] == "." || c.Args[0] == "source") && strings.HasSuffix(c.Args[1], "/bin/activate") {
				venv = bldExpand(strings.TrimSuffix(c.Args[1], "/bin/activate"), env)
			}
		}
		if !strings.Contains(venv, "$") {
			return venv
		}
	}
	return ""
}

// bldVenvDirs returns the folders the lineage of st creates virtual
// environments in (`python -m venv DIR`, `virtualenv DIR`, `uv venv DIR`).
func bldVenvDirs(st *dockerfile.Stage) map[string]bool {
	out := map[string]bool{}
	for _, s := range bldLineage(st) {
		wd, home := bldWorkdir(s), bldHome(s)
		for _, r := range s.Runs {
			for _, c := range r.Commands {
				args := c.Args
				if len(args) == 0 {
					continue
				}
				prog := path.Base(args[0])
				var rest []string
				switch {
				case strings.HasPrefix(prog, "python") && len(args) > 2 && args[1] == "-m" && (args[2] == "venv" || args[2] == "virtualenv"):
					rest = args[3:]
				case prog == "virtualenv":
					rest = args[1:]
				case prog == "uv" && len(args) > 1 && args[1] == "venv":
					rest = args[2:]
					out[path.Join(wd, ".venv")] = true
				default:
					continue
				}
				for i := 0; i < len(rest); i++ {
					a := rest[i]
					if a == "--python" || a == "-p" || a == "--prompt" {
						i++
						continue
					}
					if !strings.HasPrefix(a, "-") {
						out[bldAbs(a, wd, home)] = true
					}
				}
			}
		}
	}
	return out
}

// bldOverlaps reports whether two absolute container paths are the same or
// one holds the other.
func bldOverlaps(a, b string) bool {
	a, b = path.Clean(a), path.Clean(b)
	if a == "/" || b == "/" || a == b {
		return true
	}
	return strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// bldCopySource returns a COPY --from source as an absolute path, its
// wildcard part dropped.
func bldCopySource(src string, from *dockerfile.Stage) string {
	if i := strings.IndexAny(src, "*?["); i >= 0 {
		src = path.Dir(src[:i] + "x")
	}
	return bldAbs(src, bldWorkdir(from), bldHome(from))
}

var rePythonDir = lazyre.New(`python(3\.\d+)`)

// bldLooksLikePackages reports whether a copied path is, by its name, a
// folder of installed Python packages.
func bldLooksLikePackages(p string) bool {
	return strings.Contains(p, "site-packages") || strings.Contains(p, "dist-packages") || rePythonDir.MatchString(p)
}

// bldCarried returns the installs of stage from (and of its ancestors that
// are not also ancestors of into) whose packages a COPY --from source
// carries into the stage into.
func bldCarried(p *project.Project, from, into *dockerfile.Stage, src string) []bldInstall {
	shared := map[*dockerfile.Stage]bool{}
	for _, s := range bldLineage(into) {
		shared[s] = true
	}
	abs := bldCopySource(src, from)
	var out []bldInstall
	for _, s := range bldLineage(from) {
		if shared[s] {
			continue
		}
		for _, inst := range bldInstallsOf(p, s) {
			for _, d := range bldInstallDirs(inst) {
				if bldOverlaps(abs, d) {
					out = append(out, inst)
					break
				}
			}
		}
	}
	return out
}

// bldCommandName names an install command: "pip install", "uv sync".
func bldCommandName(inst bldInstall) string {
	switch inst.Pip.Tool {
	case "uv sync":
		return "uv sync"
	}
	return strings.TrimSpace(inst.Pip.Tool + " " + inst.Pip.Subcommand)
}

// bldPreinstalled returns the distributions that COPY --from instructions
// of st's lineage (before loc) bring from other stages' installs: pip and
// poetry find them installed and do not build them again.
func bldPreinstalled(p *project.Project, st *dockerfile.Stage, loc report.Location) map[string]bool {
	var carried []bldInstall
	for _, s := range bldLineage(st) {
		for _, c := range s.Copies {
			from := p.Dockerfile.Stage(c.From)
			if from == nil || from == s || (s == st && !before(c.Loc, loc)) {
				continue
			}
			for _, src := range c.Sources {
				carried = append(carried, bldCarried(p, from, st, src)...)
			}
		}
	}
	return bldDistNames(carried)
}

// joinAnd joins words as "a, b and c".
func joinAnd(ws []string) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " and " + ws[len(ws)-1]
}

// installCommand returns the command that installs pkgs on fam.
func installCommand(fam string, pkgs []string) string {
	switch fam {
	case famAlpine:
		return "RUN apk add --no-cache " + strings.Join(pkgs, " ")
	case famRHEL:
		return "RUN dnf install -y " + strings.Join(pkgs, " ")
	}
	return "RUN apt-get update && apt-get install -y --no-install-recommends " + strings.Join(pkgs, " ") + " && rm -rf /var/lib/apt/lists/*"
}
