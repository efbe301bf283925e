package secretscan

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// secretWords are name words that mark a secret on their own.
var secretWords = map[string]bool{
	"SECRET": true, "SECRETS": true, "PASSWORD": true, "PASSWORDS": true, "PASSWD": true, "PASS": true,
	"PWD": true, "TOKEN": true, "TOKENS": true, "CREDENTIAL": true, "CREDENTIALS": true, "CREDS": true,
	"AUTH": true, "APIKEY": true, "SECRETKEY": true, "PRIVATEKEY": true, "ACCESSKEY": true,
	"PASSPHRASE": true, "AUTHTOKEN": true, "ACCESSTOKEN": true, "APITOKEN": true,
}

// secretSuffixes mark a secret at the end of a word written without
// separators (dbpassword, clientsecret).
var secretSuffixes = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY"}

// keyQualifiers mark a secret when followed by the word KEY (API_KEY,
// PRIVATE_KEY, SIGNING_KEY).
var keyQualifiers = map[string]bool{
	"API": true, "PRIVATE": true, "ACCESS": true, "SECRET": true, "SIGNING": true, "ENCRYPTION": true,
	"MASTER": true, "AUTH": true, "SERVICE": true, "ACCOUNT": true, "LICENSE": true, "APP": true,
	"CLIENT": true, "WEBHOOK": true, "HMAC": true, "JWT": true, "SESSION": true, "CRYPT": true,
}

// notSecretLast are last words that make a secret-sounding name describe
// something else: ACCESS_TOKEN_EXPIRE_MINUTES, TOKEN_URL, PASSWORD_MIN_LENGTH,
// SECRET_KEY_FILE, AWS_ACCESS_KEY_ID.
var notSecretLast = map[string]bool{
	"EXPIRE": true, "EXPIRES": true, "EXPIRY": true, "EXPIRATION": true, "TTL": true, "LIFETIME": true,
	"MINUTES": true, "SECONDS": true, "HOURS": true, "DAYS": true, "AGE": true, "URL": true, "URI": true,
	"ENDPOINT": true, "ALGORITHM": true, "ALGORITHMS": true, "ALG": true, "LENGTH": true, "LEN": true,
	"SIZE": true, "FILE": true, "PATH": true, "DIR": true, "NAME": true, "TYPE": true, "HEADER": true,
	"PREFIX": true, "ENABLED": true, "ENABLE": true, "DISABLED": true, "FIELD": true, "ID": true,
	"REQUIRED": true, "MIN": true, "MAX": true, "POLICY": true, "RESET": true, "TIMEOUT": true,
	"COUNT": true, "LIMIT": true, "MODE": true, "VERSION": true, "BACKEND": true, "CLASS": true,
	"HOST": true, "PORT": true, "USER": true, "USERNAME": true, "LOCATION": true, "REGEX": true,
	"PATTERN": true, "ATTEMPTS": true, "PROVIDER": true, "METHOD": true, "SCOPE": true, "SCOPES": true,
	"AUDIENCE": true, "ISSUER": true, "FORMAT": true, "STRATEGY": true, "HASHER": true, "HASHERS": true,
	"VALIDATORS": true, "COMPLEXITY": true, "ROTATION": true, "LOWERCASE": true, "UPPERCASE": true,
	"NUMBER": true, "CHAR": true, "DIGITS": true, "RESETS": true, "STORE": true, "MANAGER": true,
	"REF": true, "ARN": true, "VERSIONS": true, "REGION": true, "ENV": true, "VAR": true,
}

// LooksSecretName reports whether name, the key a value is assigned to,
// names a secret: it has a word like SECRET, PASSWORD, PASSWD, TOKEN,
// CREDENTIALS or AUTH, or KEY after API, PRIVATE, ACCESS, SECRET, SIGNING
// and the like (SECRET_KEY, JWT_SECRET_KEY, API_KEY, apiKey, dbPassword),
// and its last word does not make it about something else (TOKEN_URL,
// PASSWORD_MIN_LENGTH, SECRET_KEY_FILE, AWS_ACCESS_KEY_ID). Words are split
// at non-letters and at camelCase humps.
func LooksSecretName(name string) bool {
	if !mayBeSecret(name) {
		return false
	}
	words := splitWords(name)
	if len(words) == 0 {
		return false
	}
	if len(words) == 1 && (words[0] == "PWD" || words[0] == "OLDPWD") {
		return false // the shell's working directory
	}
	if notSecretLast[words[len(words)-1]] {
		return false
	}
	for i, w := range words {
		if secretWords[w] {
			return true
		}
		for _, s := range secretSuffixes {
			if len(w) > len(s) && strings.HasSuffix(w, s) {
				return true
			}
		}
		if w == "KEY" && i > 0 && keyQualifiers[words[i-1]] {
			return true
		}
	}
	return false
}

// splitWords splits a name into upper-cased words at non-alphanumerics and
// camelCase humps (apiKey -> API KEY, DBPassword -> DB PASSWORD).
func splitWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToUpper(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if i > 0 && unicode.IsUpper(r) && len(cur) > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// placeholderValues are values that stand for a secret rather than being
// one (compared lower-cased).
var placeholderValues = map[string]bool{
	"none": true, "null": true, "nil": true, "undefined": true, "true": true, "false": true,
	"secret": true, "secrets": true, "password": true, "passwd": true, "pass": true, "pwd": true,
	"changeme": true, "change-me": true, "change_me": true, "changethis": true, "change-this": true,
	"change_this": true, "changeit": true, "example": true, "test": true, "testing": true, "dummy": true,
	"fake": true, "sample": true, "placeholder": true, "todo": true, "tbd": true, "fixme": true,
	"redacted": true, "hidden": true, "masked": true, "removed": true, "xxx": true, "your-secret-here": true,
	"your_secret_key": true, "your-secret-key": true, "secret-key": true, "secret_key": true, "secretkey": true,
	"mysecret": true, "my-secret": true, "my_secret": true, "supersecret": true, "super-secret": true,
	"postgres": true, "admin": true, "root": true, "default": true, "empty": true, "unset": true,
	"required": true, "token": true, "apikey": true, "api-key": true, "api_key": true, "key": true,
	"insecure": true, "notasecret": true, "not-a-secret": true, "foo": true, "bar": true, "foobar": true,
	"guest": true, "user": true, "username": true, "letmein": true, "qwerty": true, "123456": true,
	"12345678": true, "password123": true, "mysql": true, "redis": true, "env": true, "value": true,
}

// placeholderWords mark a placeholder when they appear as a word of the
// value (split at non-alphanumerics): your-api-key-here, test_secret_for_ci,
// replace-with-a-random-string.
var placeholderWords = map[string]bool{
	"example": true, "examples": true, "placeholder": true, "changeme": true, "changethis": true,
	"replace": true, "replaceme": true, "dummy": true, "fake": true, "sample": true, "redacted": true,
	"insert": true, "todo": true, "fixme": true, "your": true, "yours": true, "test": true, "testing": true,
	"generate": true, "here": true, "xxx": true, "xxxx": true, "xxxxx": true, "enter": true,
}

// placeholderParts mark a placeholder wherever they appear in the value
// (AWS's documented AKIAIOSFODNN7EXAMPLE, your_key, <token>).
var placeholderParts = []string{"example", "changeme", "change_me", "change-me", "changethis", "your_", "your-",
	"placeholder", "...", "…", "${", "$(", "{{", "}}", "%(", "#{", "op://", "vault:", "arn:aws:secretsmanager",
	"@microsoft.keyvault", "secretsmanager:", "<", ">"}

// referenceRoots are the first names of dotted references that are code,
// not literals (os.environ.X, settings.SECRET_KEY, secrets.GITHUB_TOKEN).
var referenceRoots = map[string]bool{
	"os": true, "process": true, "settings": true, "config": true, "env": true, "self": true, "app": true,
	"secrets": true, "environ": true, "context": true, "vars": true, "var": true, "local": true, "data": true,
	"module": true, "inputs": true, "github": true, "steps": true, "needs": true, "matrix": true, "cls": true,
	"ENV": true, "import": true, "current_app": true, "request": true, "args": true, "opts": true, "options": true,
}

// IsPlaceholder reports whether value stands for a secret instead of being
// one: empty, None/null, a documentation placeholder (..., …, <value>,
// <your-key>, {YOUR_KEY}, [REDACTED], changeme, change-me, xxx, xxxx-xxxx,
// ****, your-secret-here, your_secret_key, secret, password, example, test,
// dummy), a template or variable reference (${VAR}, $VAR, %VAR%, {{ var }},
// %(x)s, #{x}, op://…, vault:…), a YAML tag (!Ref, !vault) or code that
// reads the secret from somewhere (os.environ["X"], env("X"),
// os.getenv("X"), secrets.token_urlsafe(32), settings.SECRET_KEY).
func IsPlaceholder(value string) bool {
	v := strings.TrimSpace(value)
	v = strings.Trim(v, "\"'`")
	v = strings.TrimSpace(v)
	if v == "" {
		return true
	}
	lv := strings.ToLower(v)
	if placeholderValues[lv] {
		return true
	}
	for _, p := range placeholderParts {
		if strings.Contains(lv, p) {
			return true
		}
	}
	first, last := v[0], v[len(v)-1]
	switch {
	case first == '[' && last == ']', first == '{' && last == '}', first == '%' && last == '%' && len(v) > 2:
		return true
	case first == '!': // YAML tag: !Ref, !vault, !Sub
		return true
	case first == '$' && isIdent(v[1:]):
		return true
	}
	if sameChar(v) || onlyChars(lv, "x*-_.#0 ") {
		return true
	}
	if looksLikeCode(v) {
		return true
	}
	for _, w := range strings.FieldsFunc(lv, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if placeholderWords[w] {
			return true
		}
	}
	return false
}

// looksLikeCode reports whether v is a call, a subscript or a dotted
// reference rooted at a well-known name.
func looksLikeCode(v string) bool {
	i := 0
	for i < len(v) && (isIdentByte(v[i]) || v[i] == '.') {
		i++
	}
	if i == 0 || !isIdentStartByte(v[0]) {
		return false
	}
	rest := strings.TrimLeft(v[i:], " ")
	if rest != "" && (rest[0] == '(' || rest[0] == '[') {
		return true
	}
	if rest == "" && strings.Contains(v, ".") {
		root := v[:strings.IndexByte(v, '.')]
		return referenceRoots[root]
	}
	return false
}

func isIdentStartByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentByte(c byte) bool { return isIdentStartByte(c) || (c >= '0' && c <= '9') }

func isIdent(s string) bool {
	if s == "" || !isIdentStartByte(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	return true
}

func sameChar(s string) bool {
	r0, _ := utf8.DecodeRuneInString(s)
	for _, r := range s {
		if r != r0 {
			return false
		}
	}
	return true
}

func onlyChars(s, set string) bool {
	for _, r := range s {
		if !strings.ContainsRune(set, r) {
			return false
		}
	}
	return true
}

// mayBeSecret is a fast pre-check for LooksSecretName: every secret name
// holds one of these fragments, whatever its case.
func mayBeSecret(name string) bool {
	for _, f := range [...]string{"secret", "pass", "pwd", "token", "cred", "auth", "key"} {
		if containsFold(name, f) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains the lower-case ASCII word sub,
// ignoring ASCII case.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
