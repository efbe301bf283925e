package rules

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/secretscan"
)

var ruleSecretsEnvLiteral = register(&Rule{
	ID:        "secrets-env-literal",
	Phase:     report.Secrets,
	Severity:  report.Error,
	Doc:       "a secret-looking value written in fly.toml [env] or [build.args]",
	Why:       "[env] is plain machine config, readable by anyone with access to the app or the repository, and [build.args] end up in the image's history: the secret is public from the first deploy.",
	Sensitive: true,
	Check:     checkSecretsEnvLiteral,
})

// checkSecretsEnvLiteral reports fly.toml [env] and [build.args] values that
// pass the secretscan thresholds (error), and literal values of
// secret-sounding names too short or plain to pass them (notice: a weak
// secret or a stand-in, public either way). Placeholders, numbers, paths,
// URLs without a password and password hashes are left alone.
func checkSecretsEnvLiteral(r *Rule, p *project.Project) []report.Finding {
	cfg := p.Fly
	if cfg == nil {
		return nil
	}
	var out []report.Finding
	for _, k := range cfg.EnvKeys {
		v := cfg.Env[k]
		if !v.Set {
			continue
		}
		loc := v.Loc
		if loc.File == "" {
			loc.File = secProjectFly(p)
		}
		if c := secLiteralCandidate(k, v.V); c != nil {
			out = append(out, r.Finding(loc,
				secTitle("Secret in fly.toml [env]: ", k),
				fmt.Sprintf("%s in [env] holds a literal value that looks like a real secret: %s. "+
					"[env] values are stored in plain text in the machine config and visible to anyone with read access to the app "+
					"(`fly config show`), and this one is also in the repository and its history; %s must be a Fly secret.",
					k, secWhyLooksReal(*c), k),
				secEnvLiteralFix(k, *c)))
			continue
		}
		if secWeakSecretLiteral(k, v.V) {
			out = append(out, r.FindingSev(report.Notice, loc,
				secTitle("Secret-named value in [env]: ", k),
				fmt.Sprintf("%s in [env] has a literal value (%d characters) that is not a placeholder. It is too short or too plain to be a generated secret, "+
					"but whatever [env] holds is public: if it is the real value, anyone with read access to the app or the repository has it; "+
					"if it is a stand-in, the app runs with it.", k, len([]rune(v.V))),
				fmt.Sprintf("If %s is a secret, remove it from [env] and set a generated value with %s (e.g. `%s=\"$(openssl rand -hex 32)\"`); "+
					"if it is not, rename it or leave it.", k, secSecretsSetCmd(k), secEnvNameOr(k))))
		}
	}
	if b := cfg.Build; b != nil {
		for _, k := range b.ArgKeys {
			v := b.Args[k]
			if !v.Set {
				continue
			}
			loc := v.Loc
			if loc.File == "" {
				loc.File = secProjectFly(p)
			}
			if c := secLiteralCandidate(k, v.V); c != nil {
				out = append(out, r.Finding(loc,
					secTitle("Secret in fly.toml [build.args]: ", k),
					fmt.Sprintf("%s in [build.args] holds a literal value that looks like a real secret: %s. "+
						"Build arguments are recorded in the image (its history shows them, and any layer a RUN wrote with them keeps them), "+
						"so everyone who can pull the image can read it, and it is also in the repository and its history.",
						k, secWhyLooksReal(*c)),
					fmt.Sprintf("Remove `%s = …` from [build.args] and rotate the value. If the build needs it, pass it as a build secret: "+
						"`fly deploy --build-secret %s=<value>` and `RUN --mount=type=secret,id=%s …` in the Dockerfile; "+
						"if only the running app needs it, use %s.", k, secEnvNameOr(k), secEnvNameOr(k), secSecretsSetCmd(k))))
				continue
			}
			if secWeakSecretLiteral(k, v.V) {
				out = append(out, r.FindingSev(report.Notice, loc,
					secTitle("Secret-named value in [build.args]: ", k),
					fmt.Sprintf("%s in [build.args] has a literal value (%d characters) that is not a placeholder; build arguments are recorded in the image, "+
						"so if it is a real secret, everyone who can pull the image can read it.", k, len([]rune(v.V))),
					fmt.Sprintf("If %s is a secret, pass it as a build secret instead: `fly deploy --build-secret %s=<value>` with "+
						"`RUN --mount=type=secret,id=%s …` in the Dockerfile.", k, secEnvNameOr(k), secEnvNameOr(k))))
			}
		}
	}
	return out
}

// secEnvNameOr returns name when it can be an environment variable name,
// else NAME.
func secEnvNameOr(name string) string {
	if secIsEnvName(name) {
		return name
	}
	return "NAME"
}

// secEnvLiteralFix is the fix for a secret found in [env].
func secEnvLiteralFix(k string, c secretscan.Candidate) string {
	if strings.Contains(c.Format, "URL with password") {
		return fmt.Sprintf("Remove the line `%s = …` from [env], change that password on the server (it stays in git history), "+
			"and set the URL with `fly secrets set %s=<url>` (for Fly Postgres, `fly postgres attach` sets DATABASE_URL for you).", k, secEnvNameOr(k))
	}
	return fmt.Sprintf("Remove the line `%s = …` from [env], rotate the value (it stays in git history), and set the new one with %s.",
		k, secSecretsSetCmd(k))
}
