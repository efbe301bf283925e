package pydeps

import (
	"fmt"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// pipfileMarkerKeys are the keys of a Pipfile package table that pipenv
// turns into environment markers (key + value, e.g. sys_platform = "== 'linux'").
var pipfileMarkerKeys = []string{
	"os_name", "sys_platform", "platform_machine", "platform_python_implementation",
	"platform_release", "platform_system", "platform_version", "python_version",
	"python_full_version", "implementation_name", "implementation_version",
}

// pipfileNonCategories are the top-level Pipfile tables that are not
// package categories.
var pipfileNonCategories = map[string]bool{"source": true, "requires": true, "pipenv": true, "scripts": true}

// ParsePipfile reads a Pipfile: [packages] (group ""), [dev-packages]
// (group "dev") and any other package category (group = its name),
// [requires] python_version / python_full_version as RequiresPython, and
// [[source]] urls as IndexURLs. Each requirement is located at its key.
// TOML errors and invalid versions become error findings (rule
// pipfile-syntax).
func ParsePipfile(relPath string, data []byte) (*File, []report.Finding) {
	p := &tomlFile{f: &File{Path: relPath, Kind: KindPipfile}, rule: RulePipfileSyntax, source: SourcePipfile}
	root, line, col, err := parseTOML(data)
	if err != nil {
		p.fs = append(p.fs, tomlSyntaxFinding(p.rule, relPath, data, line, col, err, "pipenv"))
	}
	if src := root.get("source"); src != nil && src.kind == tArray {
		for _, s := range src.arr {
			if u := s.get("url"); u != nil && u.kind == tString {
				p.f.IndexURLs = append(p.f.IndexURLs, u.str)
			}
		}
	}
	p.pipfileRequires(root.get("requires"))
	for _, cat := range root.keys {
		t := root.m[cat]
		if pipfileNonCategories[cat] || t.kind != tTable {
			continue
		}
		group := cat
		switch cat {
		case "packages":
			group = ""
		case "dev-packages":
			group = "dev"
		}
		for _, name := range t.keys {
			p.pipfileDep(name, t.m[name], group, cat)
		}
	}
	return p.f, limitFindings(relPath, p.fs)
}

// pipfileRequires reads [requires].
func (p *tomlFile) pipfileRequires(t *tnode) {
	if t == nil || t.kind != tTable {
		return
	}
	for _, k := range []string{"python_full_version", "python_version"} {
		v := t.get(k)
		if v == nil {
			continue
		}
		if v.kind != tString {
			p.errNode(v, nil, "Wrong type", fmt.Sprintf("[requires] %s must be a string, not %s.", k, v.kind),
				fmt.Sprintf("Write %s = \"3.12\".", k))
			continue
		}
		ver := strings.TrimSpace(v.str)
		if _, err := pep440.Parse(ver); err != nil || strings.ContainsAny(ver, "<>=!~^*, ") {
			p.errNode(v, nil, "Invalid Python version",
				fmt.Sprintf("[requires] %s = %q is not a version: pipenv expects a plain version number here.", k, v.str),
				fmt.Sprintf("Write %s = \"3.12\" (a version, not a range).", k))
			continue
		}
		spec := "==" + ver
		if k == "python_version" {
			spec += ".*"
		}
		if !p.f.RequiresPython.IsSet() {
			p.f.RequiresPython = Value{Text: v.str, Spec: spec, Loc: p.loc(v, nil)}
		}
	}
}

// pipfileDep reads one package entry: a version string ("*", "==1.2",
// ">=1,<2") or a table (version, extras, markers, editable, git/ref,
// path, file, index and marker keys).
func (p *tomlFile) pipfileDep(name string, v *tnode, group, cat string) {
	r := Requirement{Display: name, Name: Normalize(name), Raw: name, Group: group, Source: p.source, Loc: p.loc(v, nil)}
	if v.keyLine > 0 {
		r.Loc.Line, r.Loc.Column = v.keyLine, v.keyCol
	}
	if !validName(name) {
		p.errNode(v, nil, "Invalid package name", fmt.Sprintf("%q in [%s] is not a valid package name.", name, cat),
			"A name has letters, digits, \"-\", \"_\" and \".\", and starts and ends with a letter or digit.")
	}
	version := func(x *tnode) {
		s := strings.TrimSpace(x.str)
		r.Specifier = x.str
		if s == "*" || s == "" {
			return
		}
		if pos, msg := checkSpecifierSet(s); pos >= 0 {
			l, c := innerPos(x, pos+strings.Index(x.str, s))
			fix := "Write \"*\" for any version, or a PEP 440 specifier such as \"==1.2.3\" or \">=1.2,<2\"."
			if first := s[0]; first >= '0' && first <= '9' {
				fix = fmt.Sprintf("Add an operator: \"==%s\".", s)
			}
			p.errAt(l, c, "Invalid version", fmt.Sprintf("%s = %q in [%s]: %s, so pipenv cannot install it.", name, x.str, cat, msg), fix)
			return
		}
		r.PEP440 = cleanSpec(s)
	}
	switch v.kind {
	case tString:
		version(v)
	case tTable:
		var markers []string
		for _, k := range v.keys {
			x := v.m[k]
			switch k {
			case "version":
				if x.kind == tString {
					version(x)
				}
			case "extras":
				for _, e := range p.strings(x, name+".extras") {
					r.Extras = append(r.Extras, Normalize(e.str))
				}
			case "markers":
				if x.kind == tString {
					markers = append(markers, x.str)
					if e := parseMarker(x.str); e != nil {
						l, c := innerPos(x, e.pos)
						p.errAt(l, c, "Invalid environment marker",
							fmt.Sprintf("markers = %q is not a valid environment marker: %s.", x.str, e.msg), e.fix)
					}
				}
			case "editable":
				r.Editable = x.kind == tBool && x.b
			case "git":
				if x.kind == tString {
					r.URL = "git+" + x.str
					if ref := v.get("ref"); ref != nil && ref.kind == tString {
						r.URL += "@" + ref.str
					}
				}
			case "path", "file":
				if x.kind == tString {
					r.URL = x.str
				}
			}
		}
		for _, mk := range pipfileMarkerKeys {
			if x := v.get(mk); x != nil && x.kind == tString {
				markers = append(markers, mk+" "+strings.TrimSpace(x.str))
			}
		}
		if len(markers) > 1 {
			for i, m := range markers {
				markers[i] = "(" + m + ")"
			}
		}
		r.Marker = strings.Join(markers, " and ")
	default:
		p.errNode(v, nil, "Wrong type", fmt.Sprintf("%s in [%s] must be a version string or a table, not %s.", name, cat, v.kind),
			fmt.Sprintf("Write %s = \"*\" or %s = {version = \"==1.0\", extras = [\"…\"]}.", name, name))
		return
	}
	p.f.Requirements = append(p.f.Requirements, r)
}
