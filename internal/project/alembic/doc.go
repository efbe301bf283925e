// Package alembic reads an Alembic setup the way Alembic itself does, with
// source positions: the alembic.ini file (ParseINI), the revision modules in
// its versions folder (ParseRevision, LoadScripts) and the revision graph they
// form (BuildGraph).
//
// # The ini file
//
// Alembic reads alembic.ini with Python's configparser.ConfigParser in its
// default, strict mode, passing {"here": <the ini's absolute folder>} as the
// parser's defaults. ParseINI follows that parser line by line:
//
//   - "[name]" starts a section; section names are case-sensitive and a name
//     seen twice is an error (DuplicateSectionError), except [DEFAULT], whose
//     keys every other section inherits.
//   - "key = value" and "key: value" set an option; the first "=" or ":" ends
//     the key. Keys are lower-cased (optionxform) and a key set twice in one
//     section is an error (DuplicateOptionError).
//   - A line indented deeper than its option's line continues the value
//     (joined with "\n"); blank lines inside such a value are kept, trailing
//     ones dropped.
//   - Lines whose first non-blank character is "#" or ";" are comments.
//     There are no inline comments: "key = os  # note" has the value
//     "os  # note".
//   - Values are kept raw. Config.Expand applies configparser's
//     BasicInterpolation ("%(name)s", "%%") when a caller needs the value
//     Alembic sees.
//   - CRLF, CR and LF line endings are accepted. A UTF-8 byte order mark is
//     skipped for parsing but reported: configparser reads the file as plain
//     UTF-8, so "\ufeff[alembic]" is not a section header and Alembic stops
//     with MissingSectionHeaderError.
//
// # Where script_location points
//
// Alembic turns script_location into a folder with
// alembic.util.coerce_resource_to_filename: a value that is not absolute and
// contains ":" is a package resource ("pkg:path/inside", found through
// importlib.resources), anything else is used as a path as it stands, so a
// relative path is relative to the working directory of the alembic process,
// not to the ini file. Without -c, alembic reads ./alembic.ini, so in the
// usual case (a release_command "alembic upgrade head" run from the image's
// WORKDIR where alembic.ini sits) the working directory is the ini's folder.
// Since Alembic 1.16, `alembic init` writes "%(here)s/<dir>" instead, which
// does not depend on the working directory. ScriptLocations reports each
// location's kind and resolves it against the ini's folder; for a relative
// path it sets CWDRelative to say the result holds only when alembic runs
// from that folder.
//
// A Flask-Migrate "migrations/alembic.ini" has no script_location at all:
// Flask-Migrate passes the folder itself. Config.FlaskMigrate tells that case
// apart from a broken Alembic ini.
package alembic

// Rule ids of the findings this package raises.
const (
	// RuleSyntax: the ini cannot be read by configparser (Alembic stops
	// before doing anything).
	RuleSyntax = "alembic-syntax"
	// RuleInterpolation: a "%" in a value that configparser rejects, or a
	// "%(name)s" reference to a key that does not exist.
	RuleInterpolation = "alembic-interpolation"
	// RuleInlineComment: "# ..." written after a value, which configparser
	// keeps as part of the value.
	RuleInlineComment = "alembic-inline-comment"
	// RuleContinuation: an indented line that silently continues a
	// single-line option's value.
	RuleContinuation = "alembic-continuation"
	// RulePathSeparator: path_separator / version_path_separator is not one
	// of the values Alembic accepts while it is used.
	RulePathSeparator = "alembic-path-separator"
	// RuleSectionName: a section name with blanks around it, which no
	// "alembic -n" name matches.
	RuleSectionName = "alembic-section-name"
	// RuleRevision: a revision module Alembic cannot load or link (no
	// revision id, no down_revision, a value that is not a literal).
	RuleRevision = "alembic-revision"
	// RuleRevisionSyntax: a revision module that is not valid Python
	// (unterminated string, unbalanced brackets).
	RuleRevisionSyntax = "alembic-revision-syntax"
	// RuleVersions: the versions folder Alembic lists is missing.
	RuleVersions = "alembic-versions"
)
