package pydeps

import (
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// envVarRE matches the environment variable references pip expands in a
// requirements file: ${NAME} with upper-case letters, digits and "_".
var envVarRE = lazyre.New(`\$\{[A-Z0-9_]+\}`)

// segment is the part of a logical line that came from one physical line.
type segment struct {
	off  int // byte offset in the logical line's text
	line int // physical line number
	col  int // column (in characters) of the segment's first character
}

// logicalLine is a line after pip's joining of "\" continuations.
type logicalLine struct {
	text        string
	segs        []segment
	first, last int
	// The last position computed, to count columns from it when offsets
	// come in increasing order (a line with thousands of options).
	memoSeg, memoOff, memoCol int
}

// pos maps a byte offset of the logical line's text to a line and column.
func (l *logicalLine) pos(off int) (int, int) {
	if off > len(l.text) {
		off = len(l.text)
	}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].off > off }) - 1
	if i < 0 {
		i = 0
	}
	s := l.segs[i]
	from, col := s.off, s.col
	if l.memoSeg == i+1 && l.memoOff <= off {
		from, col = l.memoOff, l.memoCol
	}
	col += utf8.RuneCountInString(l.text[from:off])
	l.memoSeg, l.memoOff, l.memoCol = i+1, off, col
	return s.line, col
}

// isCommentLine reports whether pip's COMMENT_RE matches at the start of
// the line: optional whitespace, then "#".
func isCommentLine(s string) bool {
	return strings.HasPrefix(strings.TrimLeftFunc(s, unicode.IsSpace), "#")
}

// joinLines joins physical lines ending in "\" with the next ones, as pip's
// join_lines does: a comment line is never continued, and ends a
// continuation it follows.
func joinLines(lines []physLine) []logicalLine {
	var out []logicalLine
	var cur *logicalLine
	var text strings.Builder
	add := func(l *logicalLine, part string, line, col int) {
		l.segs = append(l.segs, segment{off: text.Len(), line: line, col: col})
		text.WriteString(part)
		l.last = line
	}
	flush := func(l *logicalLine) {
		l.text = text.String()
		text.Reset()
		out = append(out, *l)
	}
	for _, pl := range lines {
		comment := isCommentLine(pl.text)
		if !strings.HasSuffix(pl.text, `\`) || comment {
			part, col := pl.text, 1
			if comment {
				part, col = " "+part, 0
			}
			if cur == nil {
				cur = &logicalLine{first: pl.num}
			}
			add(cur, part, pl.num, col)
			flush(cur)
			cur = nil
			continue
		}
		if cur == nil {
			cur = &logicalLine{first: pl.num}
		}
		lead := len(pl.text) - len(strings.TrimLeft(pl.text, `\`))
		add(cur, strings.Trim(pl.text, `\`), pl.num, 1+lead)
	}
	if cur != nil {
		flush(cur)
	}
	return out
}

// stripComment removes a comment: from the first "#" at the start of the
// text or after whitespace. A "#" inside a word (a URL fragment such as
// #egg=name) is not a comment.
func stripComment(s string) string {
	prevSpace := true
	for i, r := range s {
		if r == '#' && prevSpace {
			return s[:i]
		}
		prevSpace = unicode.IsSpace(r)
	}
	return s
}

// reqFile holds the state of one requirements file being parsed.
type reqFile struct {
	f  *File
	fs []report.Finding
}

func (p *reqFile) add(sev report.Severity, loc report.Location, title, msg, fix string) {
	p.fs = append(p.fs, finding(RuleRequirementsSyntax, sev, loc, title, msg, fix))
}

// ParseRequirements parses a pip requirements file (requirements.txt,
// constraints.txt, requirements/*.in …). relPath is the file's path
// relative to the validated directory, used in locations.
//
// It decodes UTF-8 (with or without BOM), UTF-16 and UTF-32 with a BOM,
// joins "\" continuations (a requirement's location is its first line),
// drops comments, and reads every requirement form pip accepts:
// name[extras] specifiers ; marker, name @ url, bare URLs, local paths and
// archives, -e/--editable, -r/-c includes and pip's options. Lines pip would
// refuse become error findings (rule requirements-syntax) at their line
// and column; unknown options and options pip ignores become warnings.
func ParseRequirements(relPath string, data []byte) (*File, []report.Finding) {
	p := &reqFile{f: &File{Path: relPath, Kind: KindRequirements}}
	text, _, fs := decodeText(relPath, data)
	p.fs = append(p.fs, fs...)
	lines := joinLines(splitLines(text))
	for i := range lines {
		p.line(&lines[i])
	}
	return p.f, limitFindings(relPath, p.fs)
}

// line handles one logical line.
func (p *reqFile) line(ll *logicalLine) {
	body := stripComment(ll.text)
	trimmed := strings.TrimLeftFunc(body, unicode.IsSpace)
	lead := len(body) - len(trimmed)
	trimmed = strings.TrimRightFunc(trimmed, unicode.IsSpace)
	if trimmed == "" {
		return
	}
	// pip splits the line on single spaces: the words before the first one
	// starting with "-" are the requirement, the rest are options.
	optStart := len(trimmed)
	for off := 0; off <= len(trimmed); {
		end := strings.IndexByte(trimmed[off:], ' ')
		if end < 0 {
			end = len(trimmed) - off
		}
		if strings.HasPrefix(trimmed[off:], "-") {
			optStart = off
			break
		}
		off += end + 1
	}
	args := strings.TrimRight(trimmed[:optStart], " ")
	opts, ok := p.options(ll, trimmed[optStart:], lead+optStart)
	if !ok {
		return
	}
	startLine, startCol := ll.pos(lead)
	loc := report.Location{File: p.f.Path, Line: startLine, Column: startCol, EndLine: ll.last}
	switch {
	case args != "":
		p.requirement(ll, args, lead, loc, opts, false)
	case hasOpt(opts, "--editable"):
		var ed parsedOpt
		for _, o := range opts {
			if o.name == "--editable" {
				ed = o
				break
			}
		}
		p.requirement(ll, ed.value, ed.valuePos, loc, opts, true)
	default:
		p.optionLine(ll, opts)
	}
}

func hasOpt(opts []parsedOpt, name string) bool {
	for _, o := range opts {
		if o.name == name {
			return true
		}
	}
	return false
}

// optionLine applies the options of a line that has no requirement.
func (p *reqFile) optionLine(ll *logicalLine, opts []parsedOpt) {
	// pip follows only the first -r of a line, else its first -c.
	var inc *parsedOpt
	for _, name := range []string{"--requirement", "--constraint"} {
		for i := range opts {
			if opts[i].name == name && inc == nil {
				inc = &opts[i]
			}
		}
	}
	if inc != nil {
		p.f.Includes = append(p.f.Includes, Include{Path: inc.value, Constraint: inc.name == "--constraint", Loc: p.loc(ll, inc.valuePos)})
	}
	for _, o := range opts {
		switch o.name {
		case "--index-url", "--extra-index-url":
			p.f.IndexURLs = append(p.f.IndexURLs, o.value)
		case "--find-links":
			p.f.FindLinks = append(p.f.FindLinks, o.value)
		case "--hash":
			p.add(report.Warning, p.loc(ll, o.pos), "--hash without a requirement",
				"pip warns that this line has --hash but no requirement, and ignores it.",
				"Put --hash on the line of the requirement it checks (continue long lines with \\).")
		}
	}
}

// loc is the location of a byte offset of a logical line.
func (p *reqFile) loc(ll *logicalLine, off int) report.Location {
	l, c := ll.pos(off)
	return report.At(p.f.Path, l, c)
}

// pipSchemes are the URL schemes pip's is_url accepts.
var pipSchemes = map[string]bool{
	"http": true, "https": true, "file": true, "ftp": true,
	"git": true, "git+http": true, "git+https": true, "git+ssh": true, "git+git": true, "git+file": true,
	"hg+file": true, "hg+http": true, "hg+https": true, "hg+ssh": true, "hg+static-http": true,
	"svn": true, "svn+ssh": true, "svn+http": true, "svn+https": true, "svn+svn": true, "svn+file": true,
	"bzr+http": true, "bzr+https": true, "bzr+ssh": true, "bzr+sftp": true, "bzr+ftp": true, "bzr+lp": true, "bzr+file": true,
}

// urlScheme returns the lower-cased scheme of s as pip's get_url_scheme
// reads it (the text before the first ":"), or "".
func urlScheme(s string) string {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return ""
	}
	return strings.ToLower(s[:i])
}

func isPipURL(s string) bool { return pipSchemes[urlScheme(s)] }

func isVCSScheme(scheme string) bool {
	for _, p := range []string{"git+", "hg+", "svn+", "bzr+"} {
		if strings.HasPrefix(scheme, p) {
			return true
		}
	}
	return scheme == "git" || scheme == "svn"
}

// looksLikePath is pip's _looks_like_path.
func looksLikePath(s string) bool {
	return strings.Contains(s, "/") || strings.HasPrefix(s, ".")
}

// archiveExts are the file extensions pip treats as archives.
var archiveExts = []string{".whl", ".tar.gz", ".tgz", ".tar", ".zip", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz", ".tar.lz", ".tar.lzma"}

func isArchive(s string) bool {
	l := strings.ToLower(s)
	for _, e := range archiveExts {
		if strings.HasSuffix(l, e) {
			return true
		}
	}
	return false
}

// extrasSuffix matches pip's _strip_extras: a trailing "[...]".
var extrasSuffix = lazyre.New(`^(.+)(\[[^\]]+\])$`)

// splitPathExtras splits "./pkg[a,b]" into "./pkg" and its extras.
func splitPathExtras(s string) (string, []string) {
	m := extrasSuffix.FindStringSubmatch(s)
	if m == nil {
		return s, nil
	}
	var extras []string
	for _, e := range strings.Split(strings.Trim(m[2], "[]"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			extras = append(extras, Normalize(e))
		}
	}
	return m[1], extras
}

// eggRE finds the #egg= fragment of a URL.
var eggRE = lazyre.New(`[#&]egg=([^&]*)`)

// eggName returns the project name of a URL's #egg= fragment (extras
// dropped), or "".
func eggName(u string) string {
	m := eggRE.FindStringSubmatch(u)
	if m == nil {
		return ""
	}
	name := m[1]
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	return strings.TrimSpace(name)
}

// wheelName returns the project name and version of a wheel URL or path
// as pip reads them from its file name; ok is false for a name that is not
// a valid wheel file name.
func wheelName(u string) (name, version string, ok bool) {
	if i := strings.IndexAny(u, "#?"); i >= 0 {
		u = u[:i]
	}
	base := path.Base(u)
	if un, err := url.PathUnescape(base); err == nil {
		base = un
	}
	if len(base) < len(".whl") || !strings.EqualFold(base[len(base)-len(".whl"):], ".whl") {
		return "", "", false
	}
	parts := strings.Split(base[:len(base)-len(".whl")], "-")
	if len(parts) != 5 && len(parts) != 6 {
		return "", "", false
	}
	if parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return strings.ReplaceAll(parts[0], "_", "-"), strings.ReplaceAll(parts[1], "_", "-"), true
}

func isWheel(u string) bool {
	if i := strings.IndexAny(u, "#?"); i >= 0 {
		u = u[:i]
	}
	return strings.HasSuffix(strings.ToLower(u), ".whl")
}

// requirement handles a requirement line (or the value of -e). text is
// the requirement, at byte offset off of the logical line.
func (p *reqFile) requirement(ll *logicalLine, text string, off int, loc report.Location, opts []parsedOpt, editable bool) {
	r := Requirement{Raw: text, Source: SourceRequirements, Editable: editable, Loc: loc}
	hasEnv := envVarRE.MatchString(text)
	bad := func(pos int, msg, fix string) {
		if hasEnv {
			return // pip expands ${VAR} first: the text we see is not what pip parses
		}
		if fix == "" {
			fix = "Write the requirement as name[extras] specifiers ; marker (e.g. requests[socks]>=2.31,<3 ; python_version >= \"3.9\"), name @ URL, a URL, or a path."
		}
		p.add(report.Error, p.loc(ll, off+pos), "Invalid requirement",
			fmt.Sprintf("pip stops with \"Invalid requirement: '%s'\": %s.", RedactURL(text), msg), fix)
	}
	p.applyReqOptions(ll, opts, &r, editable)

	if editable {
		p.editable(ll, text, off, &r, bad)
		p.f.Requirements = append(p.f.Requirements, r)
		return
	}

	isURL := isPipURL(text)
	sep := ";"
	if isURL {
		sep = "; "
	}
	reqPart := text
	if i := strings.Index(text, sep); i >= 0 {
		reqPart = text[:i]
		mpos := i + len(sep)
		marker := strings.TrimSpace(text[mpos:])
		for mpos < len(text) && (text[mpos] == ' ' || text[mpos] == '\t') {
			mpos++
		}
		if marker != "" {
			r.Marker = marker
			if e := parseMarker(marker); e != nil {
				bad(mpos+e.pos, "invalid environment marker: "+e.msg, e.fix)
			}
		}
	}
	lead := len(reqPart) - len(strings.TrimLeft(reqPart, " \t"))
	reqPart = strings.TrimSpace(reqPart)

	before, _, hasAt := strings.Cut(reqPart, "@")
	switch {
	case isURL:
		r.URL = reqPart
		p.nameFromURL(&r, reqPart, bad, lead)
	case !(hasAt && !looksLikePath(before)) && (looksLikePath(reqPart) || isArchive(reqPart)):
		pth, extras := splitPathExtras(reqPart)
		r.URL, r.Extras = pth, extras
		if isWheel(pth) {
			p.nameFromURL(&r, pth, bad, lead)
		}
	default:
		q, e := parsePEP508(reqPart, true)
		if e != nil {
			if !hasEnv && strings.Contains(reqPart, "/") && e.fix == "" {
				e.fix = "It looks like a path: check that the file or folder exists, and start a relative path with ./"
			}
			bad(lead+e.pos, e.msg, e.fix)
		}
		r.Display, r.Name = q.name, Normalize(q.name)
		for _, x := range q.extras {
			r.Extras = append(r.Extras, Normalize(x))
		}
		r.Specifier, r.PEP440 = strings.TrimRight(q.spec, ", \t"), cleanSpec(q.spec)
		if q.url != "" {
			r.URL = q.url
			if e == nil && !hasEnv && urlScheme(q.url) == "" {
				p.add(report.Warning, p.loc(ll, off+lead+q.urlPos), "URL without a scheme",
					fmt.Sprintf("%q after @ has no scheme, so pip cannot fetch it.", RedactURL(q.url)),
					"Write a full URL such as https://…, git+https://… or file:///….")
			}
		}
	}
	p.f.Requirements = append(p.f.Requirements, r)
}

// nameFromURL sets the name of a URL or path requirement from its #egg=
// fragment or its wheel file name.
func (p *reqFile) nameFromURL(r *Requirement, u string, bad func(int, string, string), pos int) {
	if isWheel(u) {
		name, ver, ok := wheelName(u)
		if !ok {
			base := u
			if i := strings.IndexAny(base, "#?"); i >= 0 {
				base = base[:i]
			}
			bad(pos, fmt.Sprintf("%s is not a valid wheel filename", path.Base(base)),
				"A wheel file name is name-version(-build)-python-abi-platform.whl; use the file's real name.")
			return
		}
		r.Display, r.Name, r.Specifier, r.PEP440 = name, Normalize(name), "=="+ver, "=="+ver
		return
	}
	if egg := eggName(u); egg != "" {
		r.Display, r.Name = egg, Normalize(egg)
	}
}

// editable handles the value of -e/--editable.
func (p *reqFile) editable(ll *logicalLine, text string, off int, r *Requirement, bad func(int, string, string)) {
	noExtras, extras := splitPathExtras(text)
	scheme := urlScheme(noExtras)
	switch {
	case scheme == "file":
		r.URL, r.Extras = noExtras, extras
		p.nameFromURL(r, noExtras, bad, 0)
	case isVCSScheme(scheme) || scheme == "hg" || scheme == "bzr":
		r.URL = text
		p.nameFromURL(r, text, bad, 0)
		if r.Name == "" && !envVarRE.MatchString(text) {
			p.add(report.Error, p.loc(ll, off), "Editable VCS requirement without a name",
				fmt.Sprintf("pip stops with \"Could not detect requirement name for '%s', please specify one with #egg=your_package_name\".", RedactURL(text)),
				"Add the project name at the end of the URL: -e git+https://…/repo.git@main#egg=your_package_name.")
		}
	case pipSchemes[scheme]:
		r.URL = text
		bad(0, "an editable requirement must be a local project path or a VCS URL (git+https://…, hg+…, svn+…, bzr+…)",
			"Drop -e to install the archive, or point -e at a folder or a git+https:// URL.")
	default:
		r.URL, r.Extras = noExtras, extras
	}
}

// applyReqOptions handles the options of a requirement line: --hash,
// --config-settings and --global-option apply to the requirement;
// --no-binary/--only-binary still change pip's global format control;
// the others are ignored by pip.
func (p *reqFile) applyReqOptions(ll *logicalLine, opts []parsedOpt, r *Requirement, editable bool) {
	for _, o := range opts {
		switch o.name {
		case "--hash":
			if editable {
				p.add(report.Warning, p.loc(ll, o.pos), "--hash on an editable requirement",
					"pip ignores --hash on an -e line: editable installs cannot be hash-checked.",
					"Remove --hash from this line, or install the project without -e.")
				continue
			}
			r.Hashes = true
		case "--config-settings", "--global-option", "--no-binary", "--only-binary":
		case "--editable":
			if !editable {
				p.add(report.Warning, p.loc(ll, o.pos), "Option ignored on a requirement line",
					"pip ignores -e on a line that already has a requirement.",
					"Put the editable requirement on its own line.")
			}
		default:
			p.add(report.Warning, p.loc(ll, o.pos), "Option ignored on a requirement line",
				fmt.Sprintf("pip ignores %s on a line that has a requirement; only --hash, --config-settings and --global-option apply there.", o.name),
				fmt.Sprintf("Put %s on a line of its own.", o.name))
		}
	}
}
