// Package secretscan finds secret-looking literals in committed text files
// (Markdown, shell, YAML, .env files, TOML, INI, Python, JSON,
// Dockerfiles): values assigned to secret-sounding names, and values in a
// known secret format whatever their name (private key blocks, AWS, GitHub,
// Fly.io, Slack, Stripe, OpenAI, Anthropic and Google keys, URLs with an
// inline password).
//
// A Candidate never carries the value it found, not even a part of it:
// only its name, where it is, its length and its entropy. Callers can
// report a committed secret without repeating it.
package secretscan

import (
	"bytes"
	"math"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// The kinds of candidates.
const (
	// KindAssignment is a literal assigned to a secret-sounding name.
	KindAssignment = "assignment"
	// KindKnownFormat is a value in a known secret format.
	KindKnownFormat = "known-format"
)

// Thresholds for a literal assigned to a secret-sounding name. A value is a
// candidate when it is long and varied enough to be a real secret:
//
//   - MinLength characters and MinEntropy bits per character: every
//     generated key passes (16 random bytes as hex: 32 characters at about
//     3.7 bits; secrets.token_urlsafe(32): 43 characters at about 5 bits;
//     a UUID: about 3.5 bits), while the Shannon entropy of a string is at
//     most log2 of its length, so short words cannot reach it, and
//     repetitive fakes such as "adasdsdfdsfsdfsdfsdfsdf" (about 1.9 bits)
//     stay below it;
//   - or, for human-made passwords, MinShortLength characters, at least
//     three of the four character classes (lower, upper, digit, symbol) and
//     MinShortEntropy bits per character ("Hunter2024!" is one; "postgres",
//     "development" and "12345678" are not).
//
// Placeholders (see IsPlaceholder), pure numbers, URLs without a password,
// file paths and password hashes ($argon2…, $2b$…, pbkdf2_sha256$…) are
// never candidates.
const (
	MinLength       = 16
	MinEntropy      = 3.0
	MinShortLength  = 8
	MinShortEntropy = 2.5
)

// minFormatEntropy is the entropy below which a match of a known format is
// taken for a placeholder (ghp_xxxxxxxx…, AKIAXXXXXXXXXXXXXXXX).
const minFormatEntropy = 3.0

// Candidate is one secret-looking value. It never holds the value.
type Candidate struct {
	// Name is the key the value is assigned to ("" when it has none, as
	// for a bare token in a README).
	Name string
	// Loc is the line and column of the value's first character (for a
	// URL, of its password); EndLine is the last line of a private key
	// block.
	Loc report.Location
	// Length is the value's length in characters.
	Length int
	// Entropy is the value's Shannon entropy in bits per character.
	Entropy float64
	// Kind is KindAssignment or KindKnownFormat.
	Kind string
	// Format names the known format ("AWS access key", "GitHub token",
	// "private key block", "postgres URL with password", …); "" for an
	// assignment.
	Format string
}

// format is a known secret format.
type format struct {
	name    string
	markers []string // one of them is in every match
	re      *regexp.Regexp
}

// formats are tried in order; a match overlapping an earlier one is
// dropped (sk-ant-… is Anthropic, not OpenAI).
var formats = []format{
	{"AWS access key", []string{"AKIA", "ASIA", "ABIA", "ACCA"}, regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b`)},
	{"GitHub token", []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}, regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36,}\b`)},
	{"GitHub token", []string{"github_pat_"}, regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{22,}\b`)},
	{"Fly.io token", []string{"fm1a_", "fm1r_", "fm2_"}, regexp.MustCompile(`(?:FlyV1 )?\b(?:fm1[ar]|fm2)_[A-Za-z0-9+/=_,-]{20,}`)},
	{"Fly.io token", []string{"fo1_"}, regexp.MustCompile(`\bfo1_[A-Za-z0-9_-]{20,}`)},
	{"Slack token", []string{"xox"}, regexp.MustCompile(`\bxox[abposre]-[A-Za-z0-9-]{10,}`)},
	{"Stripe live key", []string{"k_live_"}, regexp.MustCompile(`\b[rs]k_live_[A-Za-z0-9]{16,}`)},
	{"Anthropic API key", []string{"sk-ant-"}, regexp.MustCompile(`\bsk-ant-[A-Za-z0-9_-]{32,}`)},
	{"OpenAI API key", []string{"sk-"}, regexp.MustCompile(`\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}`)},
	{"Google API key", []string{"AIza"}, regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`)},
}

// Scan returns the secret-looking values in the text file at relPath, in
// source order. Binary files (a NUL byte near the start) yield nothing;
// UTF-16 files with a byte order mark are decoded first.
func Scan(relPath string, data []byte) []Candidate {
	text, ok := decodeText(data)
	if !ok {
		return nil
	}
	s := newScanner(relPath, text)
	s.run()
	sort.SliceStable(s.out, func(i, j int) bool {
		a, b := s.out[i].Loc, s.out[j].Loc
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return s.out
}

// decodeText returns data as text, decoding UTF-16 with a byte order mark
// and dropping a UTF-8 one; ok is false for binary data.
func decodeText(data []byte) (string, bool) {
	switch {
	case len(data) >= 2 && ((data[0] == 0xFF && data[1] == 0xFE) || (data[0] == 0xFE && data[1] == 0xFF)):
		le := data[0] == 0xFF
		u := make([]uint16, 0, len(data)/2)
		for i := 2; i+1 < len(data); i += 2 {
			if le {
				u = append(u, uint16(data[i])|uint16(data[i+1])<<8)
			} else {
				u = append(u, uint16(data[i])<<8|uint16(data[i+1]))
			}
		}
		return string(utf16.Decode(u)), true
	case len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF:
		data = data[3:]
	}
	if bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
		return "", false
	}
	return string(data), true
}

type scanner struct {
	path    string
	text    string
	code    bool // a programming or data language: only quoted values are literals
	python  bool
	docker  bool
	formats []*format
	privKey bool
	out     []Candidate
	seen    map[[2]int]bool

	colLine       string // the line of the last column asked for
	colByte, colN int    // its byte offset and column
}

// codeExts are file types where an unquoted value is code (a name, a
// number), not a literal.
var codeExts = map[string]bool{
	".py": true, ".pyi": true, ".js": true, ".mjs": true, ".cjs": true, ".ts": true, ".jsx": true, ".tsx": true,
	".go": true, ".rb": true, ".java": true, ".kt": true, ".cs": true, ".php": true, ".rs": true, ".swift": true,
	".toml": true, ".json": true, ".tf": true, ".hcl": true, ".ex": true, ".exs": true,
}

func newScanner(relPath, text string) *scanner {
	base := strings.ToLower(path.Base(strings.ReplaceAll(relPath, "\\", "/")))
	ext := path.Ext(base)
	s := &scanner{
		path:   relPath,
		text:   text,
		code:   codeExts[ext],
		python: ext == ".py" || ext == ".pyi",
		docker: strings.Contains(base, "dockerfile") || strings.Contains(base, "containerfile"),
		seen:   map[[2]int]bool{},
	}
	for i := range formats {
		for _, m := range formats[i].markers {
			if strings.Contains(text, m) {
				s.formats = append(s.formats, &formats[i])
				break
			}
		}
	}
	s.privKey = strings.Contains(text, "PRIVATE KEY")
	return s
}

func (s *scanner) run() {
	lines := strings.Split(s.text, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\r")
		if s.privKey && strings.Contains(line, "-----BEGIN") && strings.Contains(line, "PRIVATE KEY") {
			if end := s.privateKey(lines, i); end > i {
				i = end
				continue
			}
		}
		var spans [][2]int
		if len(s.formats) > 0 {
			spans = s.knownFormats(line, i+1)
		}
		if strings.Contains(line, "://") {
			spans = append(spans, s.urls(line, i+1)...)
		}
		s.assignments(line, i+1, mergeSpans(spans))
	}
}

func (s *scanner) emit(c Candidate) {
	k := [2]int{c.Loc.Line, c.Loc.Column}
	if s.seen[k] {
		return
	}
	s.seen[k] = true
	c.Loc.File = s.path
	if c.Loc.EndLine == 0 {
		c.Loc.EndLine = c.Loc.Line
	}
	s.out = append(s.out, c)
}

// column returns the 1-based character column of byte offset i in line,
// counting on from the last offset asked about on the same line.
func (s *scanner) column(line string, i int) int {
	if line != s.colLine || i < s.colByte {
		s.colLine, s.colByte, s.colN = line, 0, 1
	}
	s.colN += utf8.RuneCountInString(line[s.colByte:i])
	s.colByte = i
	return s.colN
}

// privateKey reports a private key block starting on lines[i] and returns
// the index of its last line (i when there is no block to skip).
func (s *scanner) privateKey(lines []string, i int) int {
	line := strings.TrimSuffix(lines[i], "\r")
	at := strings.Index(line, "-----BEGIN")
	labelEnd := strings.Index(line[at+10:], "-----")
	if labelEnd < 0 || !strings.Contains(line[at+10:at+10+labelEnd], "PRIVATE KEY") {
		return i
	}
	rest := line[at+10+labelEnd+5:]
	var body strings.Builder
	end := i
	if e := strings.Index(rest, "-----END"); e >= 0 {
		body.WriteString(rest[:e])
	} else {
		body.WriteString(rest)
		found := false
		for j := i + 1; j < len(lines) && j <= i+400; j++ {
			l := lines[j]
			if e := strings.Index(l, "-----END"); e >= 0 {
				body.WriteString(l[:e])
				end, found = j, true
				break
			}
			if strings.Contains(l, "-----BEGIN") {
				break
			}
			body.WriteString(l)
		}
		if !found {
			return i // no END line: not a key block (a real key always has one)
		}
	}
	raw := body.String()
	b64 := base64Chars(strings.ReplaceAll(strings.ReplaceAll(raw, `\n`, ""), `\r`, ""))
	if len(b64) >= 64 && !strings.Contains(raw, "...") && !strings.Contains(raw, "…") &&
		!strings.ContainsAny(raw, "<>{}$") && Entropy(b64) >= minFormatEntropy {
		s.emit(Candidate{
			Name:    keyFor(line, at),
			Loc:     report.Location{Line: i + 1, Column: s.column(line, at), EndLine: end + 1},
			Length:  len(b64),
			Entropy: Entropy(b64),
			Kind:    KindKnownFormat,
			Format:  "private key block",
		})
	}
	return end
}

func base64Chars(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// knownFormats reports the known-format values on line and returns the
// byte spans of every match, placeholder or not.
func (s *scanner) knownFormats(line string, lineNo int) [][2]int {
	var spans [][2]int
	for _, f := range s.formats {
		has := false
		for _, m := range f.markers {
			if strings.Contains(line, m) {
				has = true
				break
			}
		}
		if !has {
			continue
		}
		prev := len(spans) // spans[:prev] are sorted and disjoint; this format's matches do not overlap
		for _, m := range f.re.FindAllStringIndex(line, -1) {
			if overlaps(spans[:prev], m[0], m[1]) {
				continue
			}
			spans = append(spans, [2]int{m[0], m[1]})
			v := line[m[0]:m[1]]
			h := Entropy(v)
			if IsPlaceholder(v) || h < minFormatEntropy {
				continue
			}
			s.emit(Candidate{
				Name:    keyFor(line, m[0]),
				Loc:     report.Location{Line: lineNo, Column: s.column(line, m[0])},
				Length:  utf8.RuneCountInString(v),
				Entropy: h,
				Kind:    KindKnownFormat,
				Format:  f.name,
			})
		}
		spans = mergeSpans(spans)
	}
	return spans
}

// urlPlaceholderPasswords are passwords of example and local development
// URLs.
var urlPlaceholderPasswords = map[string]bool{
	"postgres": true, "postgresql": true, "pass": true, "password": true, "passwd": true, "secret": true,
	"root": true, "admin": true, "mysql": true, "redis": true, "guest": true, "user": true, "test": true,
	"pwd": true, "changeme": true, "example": true, "dummy": true, "sample": true, "mypassword": true,
	"yourpassword": true, "your_password": true, "your-password": true, "123456": true, "1234": true,
	"mongo": true, "mongodb": true, "rabbitmq": true, "docker": true, "local": true, "dev": true,
	"development": true, "app": true, "db": true, "database": true, "none": true,
}

// urlFormat names a URL with a password by its scheme.
func urlFormat(scheme string) string {
	switch {
	case strings.HasPrefix(scheme, "postgres"), strings.HasPrefix(scheme, "pgsql"), strings.HasPrefix(scheme, "cockroach"):
		return "postgres URL with password"
	case strings.HasPrefix(scheme, "mysql"), strings.HasPrefix(scheme, "mariadb"):
		return "mysql URL with password"
	case strings.HasPrefix(scheme, "redis"), strings.HasPrefix(scheme, "valkey"):
		return "redis URL with password"
	case strings.HasPrefix(scheme, "mongodb"):
		return "mongodb URL with password"
	case strings.HasPrefix(scheme, "amqp"):
		return "amqp URL with password"
	case strings.HasPrefix(scheme, "mssql"), strings.HasPrefix(scheme, "sqlserver"), strings.HasPrefix(scheme, "oracle"),
		strings.HasPrefix(scheme, "clickhouse"):
		return "database URL with password"
	}
	return "URL with password"
}

// urls reports URLs with an inline password on line and returns the byte
// spans of their passwords.
func (s *scanner) urls(line string, lineNo int) [][2]int {
	var spans [][2]int
	for off := 0; ; {
		k := strings.Index(line[off:], "://")
		if k < 0 {
			break
		}
		k += off
		off = k + 3
		st := k
		for st > 0 && (isIdentByte(line[st-1]) || line[st-1] == '+' || line[st-1] == '.' || line[st-1] == '-') {
			st--
		}
		if st == k {
			continue
		}
		scheme := strings.ToLower(line[st:k])
		e := off
		for e < len(line) && !strings.ContainsRune("/?# \t\"'`<>()[]{}|\\,;", rune(line[e])) {
			e++
		}
		// A ${...} placeholder may hold characters that end the authority.
		auth := line[off:e]
		at := strings.LastIndexByte(auth, '@')
		if at < 0 {
			continue
		}
		userinfo := auth[:at]
		colon := strings.IndexByte(userinfo, ':')
		if colon < 0 {
			continue
		}
		user, pass := userinfo[:colon], userinfo[colon+1:]
		ps := off + colon + 1
		spans = append(spans, [2]int{ps, ps + len(pass)})
		off = e
		n := utf8.RuneCountInString(pass)
		if n < 4 || pass == user || urlPlaceholderPasswords[strings.ToLower(pass)] || IsPlaceholder(pass) {
			continue
		}
		s.emit(Candidate{
			Name:    keyFor(line, st),
			Loc:     report.Location{Line: lineNo, Column: s.column(line, ps)},
			Length:  n,
			Entropy: Entropy(pass),
			Kind:    KindKnownFormat,
			Format:  urlFormat(scheme),
		})
	}
	return spans
}

// overlaps reports whether [a, b) overlaps one of spans, which are sorted and
// disjoint when there are more than a few (see mergeSpans).
func overlaps(spans [][2]int, a, b int) bool {
	if len(spans) > 8 {
		i := sort.Search(len(spans), func(i int) bool { return spans[i][1] > a })
		return i < len(spans) && spans[i][0] < b
	}
	for _, sp := range spans {
		if a < sp[1] && sp[0] < b {
			return true
		}
	}
	return false
}

// mergeSpans sorts spans and merges those that overlap.
func mergeSpans(spans [][2]int) [][2]int {
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	out := spans[:1]
	for _, sp := range spans[1:] {
		if last := &out[len(out)-1]; sp[0] < last[1] {
			last[1] = max(last[1], sp[1])
			continue
		}
		out = append(out, sp)
	}
	return out
}

// keyFor returns the key a value starting at byte i of line is assigned
// to, or "".
func keyFor(line string, i int) string {
	k := i - 1
	if k >= 0 && line[k] == ':' {
		return "" // user:token@host, not a key
	}
	for k >= 0 && (line[k] == ' ' || line[k] == '\t' || line[k] == '"' || line[k] == '\'' || line[k] == '`') {
		k--
	}
	if k < 0 || (line[k] != '=' && line[k] != ':') {
		return ""
	}
	if line[k] == '=' && k > 0 && (line[k-1] == ':' || line[k-1] == '?') {
		k--
	}
	key, _ := keyBefore(line, k)
	key = strings.TrimLeft(key, "-$")
	if !nameShaped(key) {
		return ""
	}
	return key
}

// keyBefore returns the key ending just before byte end of line (spaces
// and a quote around it allowed) and its start.
func keyBefore(line string, end int) (string, int) {
	k := end - 1
	for k >= 0 && (line[k] == ' ' || line[k] == '\t') {
		k--
	}
	if k < 0 {
		return "", 0
	}
	if q := line[k]; q == '"' || q == '\'' || q == '`' {
		st := strings.LastIndexByte(line[:k], q)
		if st < 0 {
			return "", 0
		}
		return line[st+1 : k], st
	}
	st := k + 1
	for st > 0 && (isIdentByte(line[st-1]) || line[st-1] == '.' || line[st-1] == '-' || line[st-1] == '$') {
		st--
	}
	return line[st : k+1], st
}

// nameShaped reports whether key can be a name: not empty, at most 100
// characters, no spaces, and not random-looking (a name that could itself
// be a secret is never reported).
func nameShaped(key string) bool {
	if key == "" || len(key) > 100 {
		return false
	}
	if len(key) >= 20 && classes(key) >= 3 && Entropy(key) >= 4.0 {
		return false
	}
	letter := false
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == ' ' || c == '\t' || c < 0x20 {
			return false
		}
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			letter = true
		}
	}
	return letter
}

// annotated recognises a Python annotated assignment, NAME: type = value,
// and returns the name and the index of its '='.
func annotated(line string) (string, int) {
	t := strings.TrimLeft(line, " \t")
	ind := len(line) - len(t)
	i := 0
	for i < len(t) && isIdentByte(t[i]) {
		i++
	}
	if i == 0 || !isIdentStartByte(t[0]) {
		return "", -1
	}
	j := i
	for j < len(t) && t[j] == ' ' {
		j++
	}
	if j >= len(t) || t[j] != ':' {
		return "", -1
	}
	eq := strings.IndexByte(t[j:], '=')
	if eq < 0 {
		return "", -1
	}
	eq += j
	for _, c := range t[j+1 : eq] {
		if !(isIdentByte(byte(c)) || strings.ContainsRune(" []|.,", c)) || c > 0x7f {
			return "", -1
		}
	}
	if eq+1 < len(t) && t[eq+1] == '=' {
		return "", -1
	}
	return t[:i], ind + eq
}

// callFirstArg returns the quoted first argument of the call enclosing
// byte i of line: config("SECRET_KEY", default="x") -> SECRET_KEY.
func callFirstArg(line string, i int) string {
	from := max(0, i-256) // the call starts near its default= argument
	p := strings.LastIndexByte(line[from:i], '(')
	if p < 0 {
		return ""
	}
	p += from
	rest := strings.TrimLeft(line[p+1:], " ")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	e := strings.IndexByte(rest[1:], rest[0])
	if e < 0 {
		return ""
	}
	return rest[1 : 1+e]
}

// quotedCallArg returns NAME when the comma at byte i of line follows
// ("NAME" (the first argument of a call, as in os.getenv("NAME", "default")).
func quotedCallArg(line string, i int) string {
	k := i - 1
	for k >= 0 && line[k] == ' ' {
		k--
	}
	if k < 1 || (line[k] != '"' && line[k] != '\'') {
		return ""
	}
	st := strings.LastIndexByte(line[:k], line[k])
	if st < 0 {
		return ""
	}
	p := st - 1
	for p >= 0 && line[p] == ' ' {
		p--
	}
	if p < 0 || line[p] != '(' {
		return ""
	}
	return line[st+1 : k]
}

// valueAfter reads the value starting after byte from of line: a quoted
// string (with an optional Python prefix) or a bare word. It returns the
// value, its byte span, the end of what was read, whether it was quoted and
// whether it is an f-string with fields.
func valueAfter(line string, from int) (val string, vs, ve, next int, quoted, interp bool) {
	p := from
	for p < len(line) && (line[p] == ' ' || line[p] == '\t') {
		p++
	}
	if p >= len(line) {
		return "", p, p, p, false, false
	}
	fstr := false
	for n := 0; n < 2 && p+n < len(line) && strings.IndexByte("bBrRuUfF", line[p+n]) >= 0; n++ {
		if p+n+1 < len(line) && (line[p+n+1] == '"' || line[p+n+1] == '\'') {
			fstr = strings.ContainsAny(line[p:p+n+1], "fF")
			p += n + 1
			break
		}
	}
	if q := line[p]; q == '"' || q == '\'' || q == '`' {
		e := p + 1
		for e < len(line) && line[e] != q {
			if line[e] == '\\' {
				e++
			}
			e++
		}
		e = min(e, len(line))
		val = line[p+1 : e]
		next = min(e+1, len(line))
		return val, p + 1, e, next, true, fstr && strings.Contains(val, "{")
	}
	e := p
	for e < len(line) && !strings.ContainsRune(" \t,;)]}&\"'", rune(line[e])) {
		e++
	}
	val = strings.TrimSuffix(line[p:e], `\`)
	return val, p, p + len(val), e, false, false
}

// assignments reports literals assigned to secret-sounding names on line,
// except those inside spans (already reported as known formats).
func (s *scanner) assignments(line string, lineNo int, spans [][2]int) {
	annKey, annEq := "", -1
	if s.python {
		annKey, annEq = annotated(line)
	}
	if s.docker {
		s.legacyEnv(line, lineNo)
	}
	for j := 0; j < len(line); j++ {
		c := line[j]
		if c != '=' && c != ':' && c != ',' {
			continue
		}
		var key string
		keyStart := 0
		switch c {
		case '=':
			if j+1 < len(line) && (line[j+1] == '=' || line[j+1] == '>' || line[j+1] == '~') {
				j++
				continue
			}
			kEnd := j
			if j > 0 {
				switch line[j-1] {
				case '!', '<', '>', '+', '-', '*', '/', '%', '&', '|', '^', '~', '=':
					continue
				case ':', '?':
					kEnd = j - 1
				}
			}
			if j == annEq {
				key = annKey
			} else {
				key, keyStart = keyBefore(line, kEnd)
			}
		case ':':
			if j+1 < len(line) {
				switch line[j+1] {
				case ' ', '\t', '"', '\'':
				default:
					continue
				}
			}
			key, keyStart = keyBefore(line, j)
		case ',':
			key = quotedCallArg(line, j)
		}
		if key == "default" {
			key = callFirstArg(line, keyStart)
		}
		key = strings.TrimLeft(key, "-$")
		if !nameShaped(key) || !LooksSecretName(key) {
			continue
		}
		val, vs, ve, next, quoted, interp := valueAfter(line, j+1)
		if val == "" || ((s.code || c == ',') && !quoted) {
			continue // not a literal: look on from the separator
		}
		j = max(j, next-1) // separators inside the value are not separators
		if interp || overlaps(spans, vs, ve) {
			continue
		}
		if !isSecretValue(val) {
			continue
		}
		s.emit(Candidate{
			Name:    key,
			Loc:     report.Location{Line: lineNo, Column: s.column(line, vs)},
			Length:  utf8.RuneCountInString(val),
			Entropy: Entropy(val),
			Kind:    KindAssignment,
		})
	}
}

// legacyEnv reads a Dockerfile's old "ENV NAME value" form.
func (s *scanner) legacyEnv(line string, lineNo int) {
	t := strings.TrimLeft(line, " \t")
	if len(t) < 4 || !strings.EqualFold(t[:4], "ENV ") || strings.Contains(t, "=") {
		return
	}
	f := strings.Fields(t)
	if len(f) < 3 || !nameShaped(f[1]) || !LooksSecretName(f[1]) {
		return
	}
	val := strings.Trim(strings.Join(f[2:], " "), `"'`)
	if !isSecretValue(val) {
		return
	}
	at := strings.Index(line, f[2])
	if f[2][0] == '"' || f[2][0] == '\'' {
		at++
	}
	s.emit(Candidate{
		Name:    f[1],
		Loc:     report.Location{Line: lineNo, Column: s.column(line, at)},
		Length:  utf8.RuneCountInString(val),
		Entropy: Entropy(val),
		Kind:    KindAssignment,
	})
}

// hashPrefixes start password hashes, which are meant to be stored.
var hashPrefixes = []string{"$argon2", "$2a$", "$2b$", "$2y$", "$1$", "$5$", "$6$", "$y$", "$scrypt$",
	"pbkdf2_", "pbkdf2:", "sha256$", "bcrypt$", "argon2$", "scrypt:"}

// isSecretValue applies the thresholds to a literal.
func isSecretValue(v string) bool {
	if len(v) < MinShortLength || IsPlaceholder(v) {
		return false
	}
	for _, p := range hashPrefixes {
		if strings.HasPrefix(v, p) {
			return false
		}
	}
	if strings.Contains(v, "://") || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") ||
		strings.HasPrefix(v, "../") || strings.HasPrefix(v, "~/") ||
		(len(v) > 2 && v[1] == ':' && v[2] == '\\') {
		return false
	}
	if looksLikeProse(v) || moduleRef.MatchString(v) {
		return false
	}
	digits := true
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			digits = false
			break
		}
	}
	if digits {
		return false
	}
	n := utf8.RuneCountInString(v)
	h := Entropy(v)
	if n >= MinLength && h >= MinEntropy {
		return true
	}
	return n >= MinShortLength && classes(v) >= 3 && h >= MinShortEntropy
}

// moduleRef matches a Python import reference: an entry point
// ("pkg.module:Class") or a dotted module path ("pkg.auth.backends.Token").
var moduleRef = lazyre.New(`^(?:[A-Za-z_]\w*(?:\.\w+)*:[A-Za-z_]\w*(?:\.\w+)*|[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+(?:\.[A-Z]\w*)?)$`)

// looksLikeProse reports whether v is a sentence (three or more words of
// letters only), such as "this is a secret key for building purposes":
// a stand-in, not a generated secret.
func looksLikeProse(v string) bool {
	words := strings.Fields(v)
	if len(words) < 3 {
		return false
	}
	for _, w := range words {
		w = strings.TrimRight(w, ".,;:!?")
		if w == "" {
			return false
		}
		for _, r := range w {
			if !unicode.IsLetter(r) && r != '\'' && r != '-' {
				return false
			}
		}
	}
	return true
}

// classes counts the character classes (lower, upper, digit, other) in s.
func classes(s string) int {
	var lo, up, di, ot int
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lo = 1
		case r >= 'A' && r <= 'Z':
			up = 1
		case r >= '0' && r <= '9':
			di = 1
		default:
			ot = 1
		}
	}
	return lo + up + di + ot
}

// Entropy returns the Shannon entropy of s in bits per character.
func Entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var ascii [128]int
	var other map[rune]int
	n := 0
	for _, r := range s {
		n++
		if r < 128 {
			ascii[r]++
			continue
		}
		if other == nil {
			other = map[rune]int{}
		}
		other[r]++
	}
	h := 0.0
	add := func(c int) {
		if c > 0 {
			p := float64(c) / float64(n)
			h -= p * math.Log2(p)
		}
	}
	for _, c := range ascii {
		add(c)
	}
	for _, c := range other {
		add(c)
	}
	return h
}
