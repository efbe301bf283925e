package diagnose

import (
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project/pydeps"
)

// secretAssign matches NAME=value and NAME: value where the name says the
// value is a secret, and tokens that are secrets whatever their name.
var secretAssign = lazyre.New(`(?i)\b([A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|PWD|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|DATABASE_URL|REDIS_URL)[A-Z0-9_]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)`)

var secretToken = lazyre.New(`\b(?:FlyV1 \S+|fm[12]_[A-Za-z0-9_+/=-]{8,}|fo1_[A-Za-z0-9_-]{8,}|gh[pousr]_[A-Za-z0-9]{20,}|Bearer [A-Za-z0-9._~+/=-]{8,})`)

// redact masks what may be a secret in a line quoted from a log: the
// password of a URL, the value of a variable named like a secret, and
// tokens of known formats.
func redact(s string) string {
	s = pydeps.RedactURL(s)
	s = secretAssign.ReplaceAllString(s, "${1}${2}****")
	return secretToken.ReplaceAllString(s, "****")
}

// QuoteLine returns a log line fit to be shown: without its line ending and
// terminal colour codes, with what may be a secret masked, cut to 300
// characters.
func QuoteLine(line string) string {
	line = strings.TrimRight(line, "\r\n")
	return shorten(redact(cleanLine([]byte(line))), 300)
}
