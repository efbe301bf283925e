// Package dockerfile loads a Dockerfile (every stage, with source positions)
// and a .dockerignore into the model the deploy checks read: base images,
// system packages installed and removed, pip/uv/poetry installs, COPY
// sources, ENV, ARG, CMD, ENTRYPOINT, EXPOSE, WORKDIR and USER. It parses
// with BuildKit's own Dockerfile parser and reads RUN scripts through
// internal/shellcmd.
package dockerfile

import (
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/shellcmd"
)

// RuleSyntax is the rule id of the findings Parse raises for a Dockerfile
// that Docker would refuse to build.
const RuleSyntax = "dockerfile-syntax"

// File is a parsed Dockerfile.
type File struct {
	// Path is the file's path relative to the validated directory.
	Path string
	// Stages are the build stages in order; the last one is the image
	// built when no target is given.
	Stages []*Stage
	// GlobalArgs are the ARG instructions before the first FROM.
	GlobalArgs []Arg
}

// Stage is one FROM ... build stage.
type Stage struct {
	// Index is the stage's 0-based position in the file.
	Index int
	// Name is the name after AS, as written ("" when unnamed).
	Name string
	// Base is the FROM argument as written, e.g. "python:${PY}-slim".
	Base string
	// BaseResolved is Base with the global ARG defaults substituted;
	// references to unknown variables are left as written.
	BaseResolved string
	// BaseLoc is where Base stands on the FROM line.
	BaseLoc report.Location
	// Loc spans the stage, from its FROM line to its last instruction.
	Loc report.Location
	// FromStage is the earlier stage Base names, if any.
	FromStage *Stage
	// Image is the base image; zero when FROM names a stage or scratch, or
	// when Base cannot be resolved to an image reference.
	Image Image
	// Platform is the --platform flag of FROM, as written.
	Platform string
	// Packages are the system packages installed by the stage's RUNs.
	Packages []SysPackage
	// RemovedPackages are the system packages the stage removes
	// (apt-get purge/remove, apk del, dnf remove), e.g. build
	// dependencies dropped after pip install in the same RUN. Removing an
	// apk virtual package lists the packages added under its name.
	RemovedPackages []SysPackage
	// PipInstalls are the Python package installs of the stage's RUNs.
	PipInstalls []PipInstall
	// Copies are the COPY and ADD instructions.
	Copies []Copy
	// Env are the ENV variables set by the stage, in order.
	Env []EnvVar
	// Args are the ARG instructions of the stage.
	Args []Arg
	// Cmd and Entrypoint are the stage's own last CMD and ENTRYPOINT (nil
	// when the stage sets none; see EffectiveCmd).
	Cmd, Entrypoint *Command
	// Expose are the EXPOSEd ports.
	Expose []Port
	// Workdir is the working directory at the end of the stage, from its
	// own WORKDIR instructions (relative ones joined); "" when it sets
	// none. See EffectiveWorkdir.
	Workdir string
	// WorkdirLoc is where the last WORKDIR is.
	WorkdirLoc report.Location
	// User is the stage's last USER, as written with variables expanded.
	User string
	// UserLoc is where the last USER is.
	UserLoc report.Location
	// Runs are the RUN instructions.
	Runs []Run

	file   *File
	events []pkgEvent
	env    map[string]string // ARG and ENV values at the end of the stage
}

// Image is a parsed image reference.
type Image struct {
	// Registry is the registry host; "docker.io" for Docker Hub.
	Registry string
	// Repository is the path in the registry, e.g. "library/python" or
	// "astral-sh/uv".
	Repository string
	// Tag and Digest are as written ("" when absent).
	Tag, Digest string
}

// SysPackage is an operating-system package named on an install or remove
// command.
type SysPackage struct {
	// Name is the package name without a version.
	Name string
	// Version is the version pinned on the command line ("pkg=1.2",
	// apk "pkg~1.2"), if any.
	Version string
	// Manager is "apt", "apk", "dnf", "yum" or "microdnf".
	Manager string
	// Virtual is the apk --virtual group the package was added under.
	Virtual string
	// Loc is the exact line and column of the name in the Dockerfile.
	Loc report.Location
}

// PipInstall is one Python package install command of a RUN.
type PipInstall struct {
	// Tool is "pip", "uv pip", "uv sync", "poetry", "pipenv", "pdm" or
	// "conda".
	Tool string
	// Subcommand is the tool's subcommand: "install", "sync", "add",
	// "wheel", "download", "create" or "update".
	Subcommand string
	// Packages are the requirement specifiers as written, e.g.
	// "psycopg2==2.9.9", "psycopg[binary]", "/wheels/*".
	Packages []string
	// PackageLocs are where each of Packages stands.
	PackageLocs []report.Location
	// RequirementFiles are the -r/--requirement files (for conda,
	// --file; for uv pip sync, its arguments).
	RequirementFiles []string
	// Constraints are the -c/--constraint files.
	Constraints []string
	// Editable are the -e/--editable targets.
	Editable []string
	// NoBinary and OnlyBinary are the --no-binary/--only-binary values,
	// split on commas (":all:" included as written).
	NoBinary, OnlyBinary []string
	// InstallsProject is true when the command installs the project itself
	// (`pip install .`, `pip install -e .`, `poetry install` without
	// --no-root, `uv sync` without --no-install-project, `pdm install`
	// without --no-self).
	InstallsProject bool
	// Prefix is where packages go when not into the interpreter's
	// site-packages: the --prefix, --target or --root directory, "~/.local"
	// for --user, or the --wheel-dir/--dest of pip wheel/download.
	// PrefixFlag names the flag used ("--prefix", "--target", "--user", ...).
	Prefix, PrefixFlag string
	// Args is the whole command after wrappers were stripped.
	Args []string
	// Loc spans the command, from its first word to its last.
	Loc report.Location
}

// Copy is a COPY or ADD instruction.
type Copy struct {
	// Instruction is "COPY" or "ADD".
	Instruction string
	// From is the --from value ("" for the build context): a stage name,
	// a stage index or an image (see File.Stage).
	From string
	// Sources and Dest are as written, with the stage's known ARG and ENV
	// values expanded; a heredoc source is given as "<<NAME".
	Sources []string
	Dest    string
	// Chown is the --chown value.
	Chown string
	Loc   report.Location
}

// EnvVar is one variable set by ENV.
type EnvVar struct {
	Name string
	// Value is as written, quotes removed (variables not expanded).
	Value string
	Loc   report.Location
}

// Arg is one variable declared by ARG.
type Arg struct {
	Name string
	// Default is the default value; HasDefault tells an empty default
	// from none.
	Default    string
	HasDefault bool
	Loc        report.Location
}

// Command is a CMD or ENTRYPOINT.
type Command struct {
	// Exec is true for the JSON (exec) form.
	Exec bool
	// Argv is the exec form as written, or the shell form split into words
	// (not wrapped in /bin/sh -c). A shell form that is more than one
	// simple command (`alembic upgrade head && uvicorn ...`) is given as
	// ["/bin/sh", "-c", Raw], which is what Docker runs.
	Argv []string
	// Raw is the instruction's argument text as written (joined when it
	// spans lines).
	Raw string
	// Commands are the simple commands the instruction runs: the shell
	// form's commands, or for the exec form the argv itself, or the
	// commands of its `sh -c` string.
	Commands []shellcmd.Command
	Loc      report.Location

	m mapped
}

// Port is one EXPOSEd port.
type Port struct {
	// Port is the (first) port number, 0 when it cannot be resolved.
	Port int
	// Proto is "tcp" or "udp".
	Proto string
	// Raw is the port as written.
	Raw string
	Loc report.Location
}

// Run is one RUN instruction.
type Run struct {
	// Script is the shell script run: the instruction's text with
	// continuation lines joined (comment lines inside dropped, as Docker
	// does), followed by its heredoc bodies; for `RUN <<EOF` alone, the
	// heredoc body. For the exec form, the argv joined with spaces.
	Script string
	// Exec is true for the JSON (exec) form.
	Exec bool
	// Heredoc is true when the RUN carries heredocs.
	Heredoc bool
	// Flags are the RUN flags as written, e.g. "--mount=type=cache,target=/root/.cache".
	Flags []string
	// Commands are the simple commands of Script, with offsets into Script
	// (see Location).
	Commands []shellcmd.Command
	// ShellError is the shell syntax error of Script, if it does not parse.
	ShellError *shellcmd.Error
	// Loc spans the instruction, heredocs included.
	Loc report.Location

	m    mapped
	path string
}

// Location returns where a byte offset of Script (such as a
// shellcmd.Word's Offset) stands in the Dockerfile.
func (r *Run) Location(offset int) report.Location {
	return locAt(r.path, r.m, offset, r.Loc)
}

// Location returns where a byte offset of Raw (such as a shellcmd.Word's
// Offset in Commands of a shell-form command) stands in the Dockerfile.
func (c *Command) Location(offset int) report.Location {
	return locAt(c.Loc.File, c.m, offset, c.Loc)
}

// locAt maps an offset through m, falling back to def.
func locAt(file string, m mapped, offset int, def report.Location) report.Location {
	line, col := m.pos(offset)
	if line == 0 {
		return def
	}
	return report.At(file, line, col)
}

// pkgEvent is one install or removal, in the order the stage runs them.
type pkgEvent struct {
	pkg     SysPackage
	removed bool
}
