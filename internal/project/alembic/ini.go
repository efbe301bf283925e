package alembic

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// DefaultSection is the name of configparser's defaults section, whose keys
// every other section inherits.
const DefaultSection = "DEFAULT"

// maxInterpolationDepth is configparser's MAX_INTERPOLATION_DEPTH.
const maxInterpolationDepth = 10

// Config is a parsed alembic.ini.
type Config struct {
	// Path is the ini file's path relative to the validated directory.
	Path string
	// Sections are the file's sections in the order they first appear. A
	// section given twice (an error) is merged into its first occurrence.
	Sections []Section
	// FlaskMigrate reports that the file looks like the alembic.ini that
	// Flask-Migrate's "flask db init" writes: no section sets
	// script_location (Flask-Migrate passes the folder itself), and the file
	// sits in a folder named "migrations" or configures the flask_migrate
	// logger. Such a file is normal without script_location.
	FlaskMigrate bool
}

// Section is one "[name]" section.
type Section struct {
	// Name is the section name as written (configparser keeps its case).
	Name string
	// Loc is the header's position; EndLine is the section's last
	// non-blank line.
	Loc report.Location
	// Keys are the section's options in the order they first appear.
	Keys []Key
}

// Key is one option of a section.
type Key struct {
	// Name is the key lower-cased, as configparser's optionxform stores it.
	Name string
	// Value is the raw value: surrounding blanks removed, continuation
	// lines joined with "\n", no interpolation applied.
	Value string
	// Loc is the key's position; EndLine is the value's last line.
	Loc report.Location

	valueCol int      // 1-based column where the value starts on Loc.Line (0 when empty)
	parts    []string // value lines while parsing
}

// Get returns the key named key (case-insensitive) of section, falling back
// to the [DEFAULT] section as configparser does.
func (c *Config) Get(section, key string) (Key, bool) {
	if c == nil {
		return Key{}, false
	}
	key = strings.ToLower(key)
	if s := c.Section(section); s != nil {
		if k, ok := s.Get(key); ok {
			return k, true
		}
	}
	if section != DefaultSection {
		if d := c.Section(DefaultSection); d != nil {
			return d.Get(key)
		}
	}
	return Key{}, false
}

// Section returns the section named name (case-sensitive), or nil.
func (c *Config) Section(name string) *Section {
	if c == nil {
		return nil
	}
	for i := range c.Sections {
		if c.Sections[i].Name == name {
			return &c.Sections[i]
		}
	}
	return nil
}

// Get returns the section's own key named key (case-insensitive), without
// [DEFAULT] fallback.
func (s *Section) Get(key string) (Key, bool) {
	key = strings.ToLower(key)
	for _, k := range s.Keys {
		if k.Name == key {
			return k, true
		}
	}
	return Key{}, false
}

// InterpolationError is why Config.Expand could not expand a value; it
// mirrors configparser's InterpolationSyntaxError,
// InterpolationMissingOptionError and InterpolationDepthError.
type InterpolationError struct {
	// Kind is "syntax", "missing" or "depth".
	Kind string
	// Name is the referenced key for "missing", as written.
	Name string
	// Offset is the byte offset in the raw value where the problem starts
	// (for a problem inside a referenced value, the reference's offset).
	Offset int
	// Detail says what is wrong, without quoting the value.
	Detail string
}

// Error returns Detail.
func (e *InterpolationError) Error() string { return e.Detail }

// Expand applies configparser's BasicInterpolation to value as if it were
// read from section: "%%" becomes "%" and "%(name)s" becomes the value of
// key name, looked up in section, then [DEFAULT], then vars (Alembic passes
// {"here": <ini folder>} there), expanded in turn. It returns an
// *InterpolationError when configparser would raise.
func (c *Config) Expand(section, value string, vars map[string]string) (string, error) {
	var b strings.Builder
	if err := c.expand(&b, section, value, vars, 1, -1); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (c *Config) expand(b *strings.Builder, section, rest string, vars map[string]string, depth, at int) error {
	if depth > maxInterpolationDepth {
		return &InterpolationError{Kind: "depth", Offset: max(at, 0), Detail: "the %(name)s references nest more than 10 deep (a key refers to itself?)"}
	}
	pos := 0
	for {
		i := strings.IndexByte(rest[pos:], '%')
		if i < 0 {
			b.WriteString(rest[pos:])
			return nil
		}
		b.WriteString(rest[pos : pos+i])
		pos += i
		off := pos
		if at >= 0 {
			off = at
		}
		if pos+1 >= len(rest) {
			return &InterpolationError{Kind: "syntax", Offset: off, Detail: "a '%' at the end of the value must be written '%%'"}
		}
		switch rest[pos+1] {
		case '%':
			b.WriteByte('%')
			pos += 2
		case '(':
			end := strings.IndexByte(rest[pos+2:], ')')
			if end <= 0 || pos+2+end+1 >= len(rest) || rest[pos+2+end+1] != 's' {
				return &InterpolationError{Kind: "syntax", Offset: off, Detail: "a '%(' must be a complete %(name)s reference; write a literal '%' as '%%'"}
			}
			name := rest[pos+2 : pos+2+end]
			v, ok := c.lookup(section, strings.ToLower(name), vars)
			if !ok {
				return &InterpolationError{Kind: "missing", Name: name, Offset: off, Detail: fmt.Sprintf("%%(%s)s names no key of section [%s] or [DEFAULT]", name, section)}
			}
			if strings.IndexByte(v, '%') >= 0 {
				if err := c.expand(b, section, v, vars, depth+1, off); err != nil {
					return err
				}
			} else {
				b.WriteString(v)
			}
			pos += 2 + end + 2
		default:
			return &InterpolationError{Kind: "syntax", Offset: off, Detail: "a '%' must be followed by '%' or '(': write a literal '%' as '%%'"}
		}
	}
}

func (c *Config) lookup(section, name string, vars map[string]string) (string, bool) {
	if k, ok := c.Get(section, name); ok {
		return k.Value, true
	}
	v, ok := vars[name]
	return v, ok
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// iniParser holds the state of configparser's _read loop.
type iniParser struct {
	cfg      *Config
	findings []report.Finding
	cur      int // current section index, -1 before the first header
	opt      int // current option index in the current section, -1 for none
	indent   int // indent_level
	noHeader bool
	contSeen map[[2]int]bool
}

// ParseINI parses an alembic.ini as configparser does (see the package
// documentation). relPath is the file's path relative to the validated
// directory and is used in findings and to resolve script locations. It
// always returns a Config (possibly empty); problems are findings.
func ParseINI(relPath string, data []byte) (*Config, []report.Finding) {
	p := &iniParser{cfg: &Config{Path: relPath}, cur: -1, opt: -1, contSeen: map[[2]int]bool{}}
	if bytes.HasPrefix(data, utf8BOM) {
		data = data[len(utf8BOM):]
		p.add(report.At(relPath, 1, 1), RuleSyntax, report.Error,
			"alembic.ini starts with a byte order mark",
			"The file begins with a UTF-8 byte order mark (BOM). Python's configparser reads it as part of the first line, so the first section header is not recognised and Alembic stops with MissingSectionHeaderError.",
			"Save alembic.ini as UTF-8 without BOM (in VS Code: \"Save with Encoding\" → UTF-8).")
	}
	for n, line := range splitLines(data) {
		p.line(n+1, line)
	}
	p.finish()
	p.check()
	return p.cfg, p.findings
}

func (p *iniParser) add(loc report.Location, rule string, sev report.Severity, title, msg, fix string) {
	p.findings = append(p.findings, report.Finding{Rule: rule, Severity: sev, Location: loc, Title: title, Message: msg, Fix: fix})
}

func (p *iniParser) line(n int, s string) {
	stripped := strings.TrimFunc(s, isPySpace)
	if strings.HasPrefix(stripped, "#") || strings.HasPrefix(stripped, ";") {
		return
	}
	if stripped == "" {
		if p.cur >= 0 && p.opt >= 0 {
			k := &p.cfg.Sections[p.cur].Keys[p.opt]
			k.parts = append(k.parts, "")
		}
		return
	}
	lead := s[:strings.IndexFunc(s, func(r rune) bool { return !isPySpace(r) })]
	indent := utf8.RuneCountInString(lead)
	col := indent + 1
	if p.cur >= 0 && p.opt >= 0 && indent > p.indent {
		sec := &p.cfg.Sections[p.cur]
		sec.Loc.EndLine = n
		k := &sec.Keys[p.opt]
		k.parts = append(k.parts, stripped)
		k.Loc.EndLine = n
		p.continuation(k, n, col)
		return
	}
	p.indent = indent
	if name, ok := sectionHeader(stripped); ok {
		p.header(name, n, col)
		return
	}
	if p.cur >= 0 {
		sec := &p.cfg.Sections[p.cur]
		sec.Loc.EndLine = max(sec.Loc.EndLine, n)
	}
	if p.cur < 0 {
		if !p.noHeader {
			p.noHeader = true
			p.add(report.At(p.cfg.Path, n, col), RuleSyntax, report.Error,
				"alembic.ini has no section header before its first setting",
				"This line comes before any \"[section]\" header. Python's configparser stops with MissingSectionHeaderError, so Alembic cannot read the file at all.",
				"Put \"[alembic]\" on a line of its own above the first setting.")
		}
		return
	}
	k := strings.IndexAny(stripped, "=:")
	if k < 0 {
		p.add(report.At(p.cfg.Path, n, col), RuleSyntax, report.Error,
			"alembic.ini line is neither a setting nor a section",
			"configparser cannot read this line: it is not a \"[section]\" header, not a \"key = value\" setting and not a comment, so Alembic stops with ParsingError.",
			"Write it as \"key = value\", indent it under the setting it continues, or comment it out with \"#\".")
		return
	}
	name := strings.TrimRightFunc(stripped[:k], isPySpace)
	if name == "" {
		p.opt = -1
		p.add(report.At(p.cfg.Path, n, col), RuleSyntax, report.Error,
			"alembic.ini setting has no key",
			"This line starts with '=' or ':' and has no key before it, so configparser stops with ParsingError.",
			"Write the key before the '=' (\"key = value\"), or comment the line out with \"#\".")
		return
	}
	value := strings.TrimLeftFunc(stripped[k+1:], isPySpace)
	valueCol := 0
	if value != "" {
		valueCol = col + utf8.RuneCountInString(stripped[:len(stripped)-len(value)])
	}
	p.option(strings.ToLower(name), value, n, col, valueCol)
}

// sectionHeader matches configparser's SECTCRE, r"\[(?P<header>.+)\]",
// against a stripped line: the header runs to the last "]".
func sectionHeader(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return "", false
	}
	j := strings.LastIndexByte(s, ']')
	if j < 2 {
		return "", false
	}
	return s[1:j], true
}

func (p *iniParser) header(name string, n, col int) {
	p.opt = -1
	for i := range p.cfg.Sections {
		if p.cfg.Sections[i].Name != name {
			continue
		}
		p.cur = i
		p.cfg.Sections[i].Loc.EndLine = max(p.cfg.Sections[i].Loc.EndLine, n)
		if name != DefaultSection {
			p.add(report.At(p.cfg.Path, n, col), RuleSyntax, report.Error,
				fmt.Sprintf("section [%s] is defined twice", name),
				fmt.Sprintf("[%s] already appears at line %d. configparser reads alembic.ini in strict mode and stops with DuplicateSectionError.", name, p.cfg.Sections[i].Loc.Line),
				fmt.Sprintf("Merge the two [%s] sections into one.", name))
		}
		return
	}
	p.cfg.Sections = append(p.cfg.Sections, Section{Name: name, Loc: report.At(p.cfg.Path, n, col)})
	p.cur = len(p.cfg.Sections) - 1
}

func (p *iniParser) option(name, value string, n, col, valueCol int) {
	sec := &p.cfg.Sections[p.cur]
	k := Key{Name: name, Loc: report.At(p.cfg.Path, n, col), valueCol: valueCol, parts: []string{value}}
	for i := range sec.Keys {
		if sec.Keys[i].Name != name {
			continue
		}
		p.add(report.At(p.cfg.Path, n, col), RuleSyntax, report.Error,
			fmt.Sprintf("%s is set twice in [%s]", name, sec.Name),
			fmt.Sprintf("%s is already set at line %d of section [%s] (keys are case-insensitive). configparser reads alembic.ini in strict mode and stops with DuplicateOptionError.", name, sec.Keys[i].Loc.Line, sec.Name),
			fmt.Sprintf("Keep one %s line in [%s] and delete or comment out the other.", name, sec.Name))
		sec.Keys[i] = k
		p.opt = i
		return
	}
	sec.Keys = append(sec.Keys, k)
	p.opt = len(sec.Keys) - 1
}

// singleLineKeys are Alembic options whose value is one word or path: an
// indented line after them is almost certainly a mistake.
var singleLineKeys = map[string]bool{
	"script_location": true, "sqlalchemy.url": true, "file_template": true,
	"truncate_slug_length": true, "path_separator": true, "version_path_separator": true,
	"timezone": true, "output_encoding": true, "sourceless": true,
	"revision_environment": true, "recursive_version_locations": true,
}

func (p *iniParser) continuation(k *Key, n, col int) {
	if !singleLineKeys[k.Name] {
		return
	}
	id := [2]int{p.cur, p.opt}
	if p.contSeen[id] {
		return
	}
	p.contSeen[id] = true
	sev := report.Warning
	if k.Name == "script_location" {
		sev = report.Error
	}
	p.add(report.At(p.cfg.Path, n, col), RuleContinuation, sev,
		fmt.Sprintf("indented line continues %s", k.Name),
		fmt.Sprintf("This line is indented deeper than %s (line %d), so configparser appends it to that value on a new line instead of reading it as a setting of its own; %s then holds two lines.", k.Name, k.Loc.Line, k.Name),
		"Remove the indentation so the line starts in the same column as the other settings.")
}

func (p *iniParser) finish() {
	for si := range p.cfg.Sections {
		sec := &p.cfg.Sections[si]
		for ki := range sec.Keys {
			k := &sec.Keys[ki]
			k.Value = strings.TrimRightFunc(strings.Join(k.parts, "\n"), isPySpace)
			k.parts = nil
		}
	}
	has := false
	for _, sec := range p.cfg.Sections {
		if _, ok := sec.Get("script_location"); ok {
			has = true
		}
	}
	if !has {
		dir := path.Base(path.Dir(p.cfg.Path))
		logger := p.cfg.Section("logger_flask_migrate") != nil
		if k, ok := p.cfg.Get("loggers", "keys"); ok && containsWord(k.Value, "flask_migrate") {
			logger = true
		}
		p.cfg.FlaskMigrate = len(p.cfg.Sections) > 0 && (dir == "migrations" || logger)
	}
}

func containsWord(list, word string) bool {
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || isPySpace(r) }) {
		if f == word {
			return true
		}
	}
	return false
}

// keyLoc returns the location of a byte offset inside k's raw value: exact
// on the key's first line, the key itself otherwise.
func keyLoc(k Key, off int) report.Location {
	loc := k.Loc
	first := k.Value
	if i := strings.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	if k.valueCol > 0 && off >= 0 && off < len(first) {
		loc.Column = k.valueCol + utf8.RuneCountInString(first[:off])
	}
	return loc
}

// mainSection reports whether Alembic reads sec as its main section: it is
// [alembic] or it sets script_location.
func mainSection(sec *Section) bool {
	if sec.Name == "alembic" {
		return true
	}
	_, ok := sec.Get("script_location")
	return ok
}

// check raises the findings that need the whole file: interpolation,
// inline comments, path separators, section names.
func (p *iniParser) check() {
	c := p.cfg
	for si := range c.Sections {
		sec := &c.Sections[si]
		if sec.Name != strings.TrimFunc(sec.Name, isPySpace) {
			p.add(sec.Loc, RuleSectionName, report.Warning,
				fmt.Sprintf("section name [%s] has blanks around it", sec.Name),
				"configparser keeps the blanks inside the brackets as part of the section name, so \"alembic -n\" (by default [alembic]) will not find this section.",
				fmt.Sprintf("Write the header as [%s].", strings.TrimFunc(sec.Name, isPySpace)))
		}
		raw := strings.HasPrefix(sec.Name, "formatter_")
		for _, k := range sec.Keys {
			if raw && (k.Name == "format" || k.Name == "datefmt") {
				continue // logging.config.fileConfig reads these with raw=True
			}
			p.checkInterpolation(sec, k)
		}
		if mainSection(sec) {
			p.checkInlineComments(sec)
			p.checkSeparators(sec)
		}
	}
}

func (p *iniParser) checkInterpolation(sec *Section, k Key) {
	if strings.IndexByte(k.Value, '%') < 0 {
		return
	}
	_, err := p.cfg.Expand(sec.Name, k.Value, map[string]string{"here": "."})
	ie, ok := err.(*InterpolationError)
	if !ok {
		return
	}
	loc := keyLoc(k, ie.Offset)
	switch ie.Kind {
	case "missing":
		p.add(loc, RuleInterpolation, report.Warning,
			fmt.Sprintf("%s refers to %%(%s)s, which is not defined", k.Name, ie.Name),
			fmt.Sprintf("The value of %s in [%s] contains %%(%s)s, but the file defines no key %q there or in [DEFAULT] (keys are case-insensitive), and configparser does not read environment variables. Reading this value raises InterpolationMissingOptionError unless the program passes %q in Config(config_args=...).", k.Name, sec.Name, ie.Name, strings.ToLower(ie.Name), strings.ToLower(ie.Name)),
			fmt.Sprintf("Define %s in [%s], or set %s from the environment in env.py (config.set_main_option) and leave it empty here.", ie.Name, sec.Name, k.Name))
	default:
		p.add(loc, RuleInterpolation, report.Error,
			fmt.Sprintf("%s has a '%%' configparser rejects", k.Name),
			fmt.Sprintf("The value of %s in [%s] cannot be read: %s. configparser raises %s when Alembic (or logging.config.fileConfig) reads it.", k.Name, sec.Name, ie.Detail, interpolationClass(ie.Kind)),
			"Write every literal '%' as '%%' (a URL-encoded password such as p%40ss becomes p%%40ss), or set the value from the environment in env.py instead.")
	}
}

func interpolationClass(kind string) string {
	if kind == "depth" {
		return "InterpolationDepthError"
	}
	return "InterpolationSyntaxError"
}

// inlineCommentKeys are the main-section keys checked for a trailing
// "# comment", with the severity of keeping it in the value.
var inlineCommentKeys = map[string]report.Severity{
	"script_location":      report.Error,
	"truncate_slug_length": report.Error,
	"sqlalchemy.url":       report.Warning,
	"file_template":        report.Warning,
	"timezone":             report.Warning,
	"output_encoding":      report.Warning,
	"sourceless":           report.Warning,
	"revision_environment": report.Warning,
}

// inlineComment returns the byte offset of a "#" or ";" preceded by a blank
// in v, or -1.
func inlineComment(v string) int {
	for i := 1; i < len(v); i++ {
		if (v[i] == '#' || v[i] == ';') && (v[i-1] == ' ' || v[i-1] == '\t') {
			return i
		}
	}
	return -1
}

func (p *iniParser) checkInlineComments(sec *Section) {
	for _, k := range sec.Keys {
		sev, ok := inlineCommentKeys[k.Name]
		if !ok {
			continue
		}
		i := inlineComment(k.Value)
		if i < 0 {
			continue
		}
		msg := fmt.Sprintf("configparser has no inline comments: the text from %q on is part of the value of %s, so Alembic sees a different value than intended.", string(k.Value[i]), k.Name)
		if k.Name == "script_location" {
			msg = "configparser has no inline comments: the comment is part of script_location, so Alembic looks for a folder whose name ends with the comment text and stops with \"Path doesn't exist\"."
		}
		p.add(keyLoc(k, i), RuleInlineComment, sev,
			fmt.Sprintf("comment after the value of %s", k.Name),
			msg,
			"Move the comment to its own line above the setting.")
	}
}

// Separators accepted by Alembic for path_separator / version_path_separator.
var separators = map[string]string{"space": " ", "newline": "\n", "os": ":", ":": ":", ";": ";"}

func (p *iniParser) checkSeparators(sec *Section) {
	vl, hasVL := p.cfg.Get(sec.Name, "version_locations")
	sp, hasSP := p.cfg.Get(sec.Name, "prepend_sys_path")
	usesVL := hasVL && vl.Value != ""
	usesSP := hasSP && sp.Value != ""
	if ps, ok := p.cfg.Get(sec.Name, "path_separator"); ok {
		if _, valid := separators[ps.Value]; !valid && (usesVL || usesSP) {
			p.badSeparator(sec, ps, usesVL, usesSP)
		}
		return
	}
	if vps, ok := p.cfg.Get(sec.Name, "version_path_separator"); ok {
		if _, valid := separators[vps.Value]; !valid && usesVL {
			p.badSeparator(sec, vps, true, false)
		}
	}
}

func (p *iniParser) badSeparator(sec *Section, k Key, vl, sp bool) {
	uses := "version_locations"
	switch {
	case vl && sp && k.Name == "path_separator":
		uses = "version_locations and prepend_sys_path"
	case sp && !vl:
		uses = "prepend_sys_path"
	}
	why := "it is not one of space, newline, os, ':' or ';'"
	loc := k.Loc
	if i := inlineComment(k.Value); i >= 0 {
		why = "configparser keeps the trailing comment as part of the value"
		loc = keyLoc(k, i)
	}
	p.add(loc, RulePathSeparator, report.Error,
		fmt.Sprintf("%s is not a valid separator", k.Name),
		fmt.Sprintf("Alembic splits %s of [%s] with %s, and raises ValueError (\"is not a valid value for %s\") because %s.", uses, sec.Name, k.Name, k.Name, why),
		fmt.Sprintf("Set %s to one of space, newline, os, ':' or ';' with nothing after it (put any comment on its own line).", k.Name))
}

// isPySpace reports whether r is whitespace for Python's str.strip and re's
// \s (str.isspace).
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// splitLines splits data at "\r\n", "\n" and "\r" as Python's universal
// newlines do. The ending is not part of a line.
func splitLines(data []byte) []string {
	var lines []string
	s := string(data)
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	return lines
}
