package rules

import (
	"github.com/grupo-gad/deploy-action/internal/project/alembic"
	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/project/pydeps"
	"github.com/grupo-gad/deploy-action/internal/project/pysettings"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// LoaderRule documents a finding raised while a file is read, before any
// rule runs (a file that cannot be parsed, a key of the wrong type). These
// have no Check: the loaders in internal/project raise them.
type LoaderRule struct {
	ID       string
	Phase    report.PhaseName
	Severity report.Severity
	Doc      string
	Why      string
}

// LoaderRules lists the findings the loaders raise, for the documentation.
var LoaderRules = []LoaderRule{
	{"config-missing", report.Runtime, report.Error, "no fly.toml in the directory (or at --config)", "there is nothing to deploy: flyctl stops before building"},
	{flytoml.RuleSyntax, report.Runtime, report.Error, "fly.toml is not valid TOML (e.g. a key defined twice)", "flyctl refuses to load the config; nothing deploys"},
	{flytoml.RuleType, report.Runtime, report.Error, "a fly.toml value of a type or form flyctl refuses (`internal_port = \"8080\"`, `memory = \"256Mi\"`)", "flyctl stops with a config error, or the value is silently dropped"},
	{flytoml.RuleUnknownKey, report.Runtime, report.Warning, "a key flyctl does not know (with a did-you-mean)", "flyctl ignores it, so the setting you meant never applies"},
	{"build-dockerfile-missing", report.Build, report.Error, "the Dockerfile that `[build] dockerfile` names (or ./Dockerfile) is not there and no `[build] image` is set", "the build has nothing to build"},
	{dockerfile.RuleSyntax, report.Build, report.Error, "the Dockerfile cannot be parsed (unknown instruction, bad JSON form, unterminated heredoc)", "the build fails at its first step"},
	{dockerfile.RuleIgnoreSyntax, report.Build, report.Error, "a .dockerignore pattern Docker rejects or that excludes nothing", "the build fails, or files you meant to exclude are sent"},
	{pydeps.RuleRequirementsSyntax, report.Build, report.Error, "a requirements line pip cannot read (bad specifier, `=` for `==`, Poetry syntax)", "`pip install` stops with `Invalid requirement`"},
	{pydeps.RuleRequirementsInclude, report.Build, report.Error, "a `-r`/`-c` include that is missing or forms a cycle", "`pip install -r` stops: `Could not open requirements file`"},
	{pydeps.RulePyprojectSyntax, report.Build, report.Error, "pyproject.toml is not valid TOML or its dependencies are malformed", "`pip install .`, poetry or uv stop before installing anything"},
	{pydeps.RulePipfileSyntax, report.Build, report.Error, "the Pipfile is not valid TOML or a dependency is malformed", "`pipenv install` stops"},
	{alembic.RuleSyntax, report.Release, report.Error, "alembic.ini cannot be read by configparser (no section header, duplicate key)", "`alembic upgrade` stops before running any migration"},
	{alembic.RuleInterpolation, report.Release, report.Error, "a `%` configparser rejects, or a `%(name)s` naming nothing", "alembic stops with an InterpolationSyntaxError"},
	{alembic.RuleInlineComment, report.Release, report.Warning, "a `# comment` after a value, which configparser keeps as part of the value", "`script_location` or a separator gets a wrong value"},
	{alembic.RuleContinuation, report.Release, report.Warning, "an indented line that silently continues the previous value", "the value alembic reads is not the one you see"},
	{alembic.RulePathSeparator, report.Release, report.Error, "an invalid `path_separator` / `version_path_separator`", "alembic raises ValueError when it splits version locations"},
	{alembic.RuleSectionName, report.Release, report.Warning, "a section name with blanks (`[ alembic ]`)", "alembic does not find its section"},
	{alembic.RuleRevision, report.Release, report.Error, "a migration without `revision` / `down_revision` alembic can read", "alembic cannot build the revision graph"},
	{alembic.RuleRevisionSyntax, report.Release, report.Error, "a migration that is not valid Python (unterminated string, unbalanced brackets)", "the release command dies importing it"},
	{alembic.RuleVersions, report.Release, report.Warning, "the versions folder alembic lists is missing", "`alembic upgrade head` finds no migrations"},
	{pysettings.RuleSyntax, report.Secrets, report.Warning, "a settings module deploy-action could not fully read (unclosed string or bracket)", "if Python agrees, the app dies at import; either way the settings checks may be incomplete"},
}
