package pydeps

import (
	"fmt"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// tomlFile holds the state of a pyproject.toml or Pipfile being read.
type tomlFile struct {
	f      *File
	fs     []report.Finding
	rule   string
	source string
}

func (p *tomlFile) errAt(line, col int, title, msg, fix string) {
	p.fs = append(p.fs, finding(p.rule, report.Error, report.At(p.f.Path, line, col), title, msg, fix))
}

// errNode reports a problem at a node (or its fallback's position).
func (p *tomlFile) errNode(n, fallback *tnode, title, msg, fix string) {
	l, c := n.where(fallback)
	p.errAt(l, c, title, msg, fix)
}

// loc returns the location of a node, spanning to its last line.
func (p *tomlFile) loc(n, fallback *tnode) report.Location {
	l, c := n.where(fallback)
	end := l
	if n != nil && n.endLine > end && n.kind != tString {
		end = n.endLine
	}
	return report.Location{File: p.f.Path, Line: l, Column: c, EndLine: end}
}

// strings returns the elements of an array of strings, reporting a value
// that is not an array and elements that are not strings.
func (p *tomlFile) strings(n *tnode, what string) []*tnode {
	if n == nil {
		return nil
	}
	if n.kind != tArray {
		p.errNode(n, nil, "Wrong type", fmt.Sprintf("%s must be an array of strings, not %s.", what, n.kind),
			fmt.Sprintf("Write %s = [\"package>=1.0\", …].", lastKey(what)))
		return nil
	}
	var out []*tnode
	for _, e := range n.arr {
		if e.kind != tString {
			p.errNode(e, n, "Wrong type", fmt.Sprintf("Each entry of %s must be a string, not %s.", what, e.kind),
				"Write each dependency as a quoted PEP 508 string, e.g. \"requests>=2.31\".")
			continue
		}
		out = append(out, e)
	}
	return out
}

func lastKey(what string) string {
	what = strings.Trim(what, "`")
	if i := strings.LastIndexAny(what, ".]"); i >= 0 {
		return strings.Trim(what[i+1:], "` ")
	}
	return what
}

// pep508 reads a PEP 508 dependency string.
func (p *tomlFile) pep508(n, fallback *tnode, group string, optional, allowEditable bool) Requirement {
	s := n.str
	r := Requirement{Raw: s, Group: group, Optional: optional, Source: p.source, Loc: p.loc(n, fallback)}
	if n.line > 0 {
		r.Loc.Line, r.Loc.Column = innerPos(n, 0)
	}
	off := 0
	if allowEditable && strings.HasPrefix(s, "-e ") {
		r.Editable = true
		rest := strings.TrimLeft(s[3:], " \t")
		off = len(s) - len(rest)
		s = rest
		if isPipURL(s) || looksLikePath(s) {
			r.URL = s
			if egg := eggName(s); egg != "" {
				r.Display, r.Name = egg, Normalize(egg)
			}
			return r
		}
	}
	q, e := parsePEP508(s, false)
	if e != nil && !envVarRE.MatchString(s) {
		l, c := innerPos(n, off+e.pos)
		fix := e.fix
		if fix == "" {
			fix = "Write a PEP 508 dependency: name[extras] specifiers ; marker, e.g. \"uvicorn[standard]>=0.30,<1\"."
		}
		p.errAt(l, c, "Invalid dependency",
			fmt.Sprintf("%q is not a valid PEP 508 dependency: %s. pip, uv and build backends refuse the project.", RedactURL(n.str), e.msg), fix)
	}
	r.Display, r.Name = q.name, Normalize(q.name)
	for _, x := range q.extras {
		r.Extras = append(r.Extras, Normalize(x))
	}
	r.Specifier, r.PEP440, r.Marker, r.URL = strings.TrimRight(q.spec, ", \t"), cleanSpec(q.spec), q.marker, q.url
	return r
}

// ParsePyproject reads the dependencies declared in a pyproject.toml:
// [project] dependencies, optional-dependencies and requires-python
// (PEP 621), [dependency-groups] (PEP 735, with include-group),
// [tool.poetry] dependencies, dev-dependencies and groups, [tool.uv]
// dev-dependencies and sources, and [tool.pdm] dev-dependencies. Each
// requirement is located at its string (or, in Poetry tables, at its key).
// TOML errors and invalid dependencies become error findings (rule
// pyproject-syntax) at their position.
func ParsePyproject(relPath string, data []byte) (*File, []report.Finding) {
	p := &tomlFile{f: &File{Path: relPath, Kind: KindPyproject}, rule: RulePyprojectSyntax, source: SourcePyproject}
	root, line, col, err := parseTOML(data)
	if err != nil {
		p.fs = append(p.fs, tomlSyntaxFinding(p.rule, relPath, data, line, col, err, "pip (like uv and Poetry)"))
	}
	p.project(root.get("project"))
	p.dependencyGroups(root.get("dependency-groups"))
	p.poetry(root.path("tool", "poetry"))
	p.uv(root.path("tool", "uv"))
	p.pdm(root.path("tool", "pdm"))
	p.dynamicFiles(root)
	return p.f, limitFindings(relPath, p.fs)
}

// project reads the PEP 621 [project] table.
func (p *tomlFile) project(t *tnode) {
	if t == nil {
		return
	}
	if t.kind != tTable {
		p.errNode(t, nil, "Wrong type", fmt.Sprintf("project must be a table, not %s.", t.kind), "Write a [project] table.")
		return
	}
	if rp := t.get("requires-python"); rp != nil {
		if rp.kind != tString {
			p.errNode(rp, nil, "Wrong type", fmt.Sprintf("requires-python must be a string, not %s.", rp.kind), "Write requires-python = \">=3.11\".")
		} else {
			p.f.RequiresPython = Value{Text: rp.str, Spec: cleanSpec(rp.str), Loc: p.loc(rp, nil)}
			if pos, msg := checkSpecifierSet(rp.str); pos >= 0 {
				l, c := innerPos(rp, pos)
				p.errAt(l, c, "Invalid requires-python",
					fmt.Sprintf("requires-python = %q is not a PEP 440 specifier set: %s.", rp.str, msg),
					"Write a specifier set such as \">=3.11\" or \">=3.11,<3.14\" (no ^ or ~ here: that is Poetry syntax).")
				p.f.RequiresPython.Spec = ""
			}
		}
	}
	for _, n := range p.strings(t.get("dependencies"), "[project].dependencies") {
		p.f.Requirements = append(p.f.Requirements, p.pep508(n, nil, "", false, false))
	}
	if od := t.get("optional-dependencies"); od != nil {
		if od.kind != tTable {
			p.errNode(od, nil, "Wrong type", fmt.Sprintf("[project.optional-dependencies] must be a table, not %s.", od.kind),
				"Write [project.optional-dependencies] with one array per extra: dev = [\"pytest\"].")
			return
		}
		for _, extra := range od.keys {
			for _, n := range p.strings(od.m[extra], fmt.Sprintf("[project.optional-dependencies].%s", extra)) {
				p.f.Requirements = append(p.f.Requirements, p.pep508(n, od.m[extra], Normalize(extra), true, false))
			}
		}
	}
}

// dependencyGroups reads PEP 735 [dependency-groups], expanding
// {include-group = "…"} entries.
func (p *tomlFile) dependencyGroups(t *tnode) {
	if t == nil {
		return
	}
	if t.kind != tTable {
		p.errNode(t, nil, "Wrong type", fmt.Sprintf("dependency-groups must be a table, not %s.", t.kind), "Write a [dependency-groups] table.")
		return
	}
	type entry struct {
		req     *Requirement
		include string
		node    *tnode
	}
	groups := map[string][]entry{}
	var order []string
	for _, g := range t.keys {
		v := t.m[g]
		name := Normalize(g)
		if _, dup := groups[name]; dup {
			p.errNode(v, nil, "Duplicate dependency group",
				fmt.Sprintf("The dependency group %q is declared twice (group names are compared after normalisation).", g),
				"Merge the two groups.")
			continue
		}
		order = append(order, name)
		groups[name] = nil
		if v.kind != tArray {
			p.errNode(v, nil, "Wrong type", fmt.Sprintf("[dependency-groups].%s must be an array, not %s.", g, v.kind),
				"Write each group as an array of dependency strings and {include-group = \"name\"} tables.")
			continue
		}
		for _, e := range v.arr {
			switch {
			case e.kind == tString:
				r := p.pep508(e, v, name, false, false)
				groups[name] = append(groups[name], entry{req: &r, node: e})
			case e.kind == tTable && len(e.keys) == 1 && e.get("include-group") != nil && e.get("include-group").kind == tString:
				groups[name] = append(groups[name], entry{include: Normalize(e.get("include-group").str), node: e.get("include-group")})
			default:
				p.errNode(e, v, "Invalid dependency group entry",
					fmt.Sprintf("An entry of [dependency-groups].%s must be a dependency string or {include-group = \"name\"}, not %s.", g, e.kind),
					"Use a PEP 508 string or an include-group table.")
			}
		}
	}
	// Expand includes. A requirement reached twice (through two includes)
	// is listed once per group, and the total is bounded so that a file
	// of groups including each other many times over stays small.
	var expand func(name string, stack []string) []*Requirement
	done := map[string][]*Requirement{}
	reported := map[*tnode]bool{}
	budget := maxExpandedGroupEntries
	expand = func(name string, stack []string) []*Requirement {
		if rs, ok := done[name]; ok {
			return rs
		}
		var out []*Requirement
		seen := map[*Requirement]bool{}
		add := func(r *Requirement) {
			if !seen[r] && budget > 0 {
				seen[r] = true
				out = append(out, r)
				budget--
			}
		}
		for _, e := range groups[name] {
			if e.req != nil {
				add(e.req)
				continue
			}
			if _, ok := groups[e.include]; !ok {
				if !reported[e.node] {
					reported[e.node] = true
					p.errNode(e.node, nil, "Unknown dependency group",
						fmt.Sprintf("include-group = %q names a group that [dependency-groups] does not declare; uv and pip stop here.", e.node.str),
						"Declare the group, or fix the name.")
				}
				continue
			}
			cycle := e.include == name
			for _, s := range stack {
				cycle = cycle || s == e.include
			}
			if cycle {
				if !reported[e.node] {
					reported[e.node] = true
					path := append(append([]string{}, stack...), name, e.include)
					p.errNode(e.node, nil, "Dependency group cycle",
						fmt.Sprintf("include-group = %q makes the groups include each other (%s); uv and pip stop here.", e.node.str, strings.Join(path, " → ")),
						"Remove one of the include-group entries.")
				}
				continue
			}
			for _, r := range expand(e.include, append(stack, name)) {
				add(r)
			}
		}
		done[name] = out
		return out
	}
	for _, g := range order {
		for _, r := range expand(g, nil) {
			c := *r
			c.Group = g
			p.f.Requirements = append(p.f.Requirements, c)
		}
	}
}

// maxExpandedGroupEntries bounds the requirements [dependency-groups]
// expands to.
const maxExpandedGroupEntries = 20000

// poetry reads [tool.poetry].
func (p *tomlFile) poetry(t *tnode) {
	if t == nil || t.kind != tTable {
		return
	}
	p.poetryDeps(t.get("dependencies"), "", "[tool.poetry.dependencies]")
	p.poetryDeps(t.get("dev-dependencies"), "dev", "[tool.poetry.dev-dependencies]")
	if groups := t.get("group"); groups != nil && groups.kind == tTable {
		for _, g := range groups.keys {
			p.poetryDeps(groups.m[g].get("dependencies"), g, fmt.Sprintf("[tool.poetry.group.%s.dependencies]", g))
		}
	}
	if src := t.get("source"); src != nil && src.kind == tArray {
		for _, s := range src.arr {
			if u := s.get("url"); u != nil && u.kind == tString {
				p.f.IndexURLs = append(p.f.IndexURLs, u.str)
			}
		}
	}
}

// poetryDeps reads one Poetry dependency table.
func (p *tomlFile) poetryDeps(t *tnode, group, what string) {
	if t == nil {
		return
	}
	if t.kind != tTable {
		p.errNode(t, nil, "Wrong type", fmt.Sprintf("%s must be a table, not %s.", what, t.kind), "Write one name = \"constraint\" line per dependency.")
		return
	}
	for _, name := range t.keys {
		v := t.m[name]
		if name == "python" && group == "" {
			p.poetryPython(v)
			continue
		}
		if !validName(name) {
			p.errNode(v, nil, "Invalid package name",
				fmt.Sprintf("%q in %s is not a valid package name.", name, what),
				"A name has letters, digits, \"-\", \"_\" and \".\", and starts and ends with a letter or digit.")
		}
		if v.kind == tArray {
			// Multiple-constraint dependency: one entry per environment.
			for _, e := range v.arr {
				p.poetryDep(name, e, v, group)
			}
			continue
		}
		p.poetryDep(name, v, nil, group)
	}
}

// validName reports whether s is a valid PEP 508 project name.
func validName(s string) bool {
	r := &reqParser{s: s}
	return r.ident() == s
}

// poetryPython records Poetry's python constraint as RequiresPython when
// [project] requires-python did not set it.
func (p *tomlFile) poetryPython(v *tnode) {
	if v.kind != tString {
		p.errNode(v, nil, "Wrong type", fmt.Sprintf("The python dependency must be a version constraint string, not %s.", v.kind), "Write python = \"^3.11\".")
		return
	}
	spec, problem := poetryConstraint(v.str)
	if problem != "" {
		p.poetryConstraintErr(v, problem)
	}
	if !p.f.RequiresPython.IsSet() {
		p.f.RequiresPython = Value{Text: v.str, Spec: spec, Loc: p.loc(v, nil)}
	}
}

func (p *tomlFile) poetryConstraintErr(v *tnode, problem string) {
	p.errNode(v, nil, "Invalid version constraint",
		fmt.Sprintf("Poetry stops with \"Could not parse version constraint: %s\": %s.", v.str, problem),
		"Write a Poetry constraint such as \"^1.2\", \"~1.2.3\", \">=1.2,<2.0\", \"1.2.*\" or \"*\".")
}

// poetryDep reads one Poetry dependency value: a constraint string or a
// table (version, extras, optional, markers, git, path, url, develop).
func (p *tomlFile) poetryDep(name string, v, fallback *tnode, group string) {
	r := Requirement{Display: name, Name: Normalize(name), Raw: name, Group: group, Source: p.source, Loc: p.loc(v, fallback)}
	if v.keyLine > 0 {
		r.Loc.Line, r.Loc.Column = v.keyLine, v.keyCol
	}
	constraint := func(c *tnode) {
		r.Specifier = c.str
		spec, problem := poetryConstraint(c.str)
		if problem != "" {
			p.poetryConstraintErr(c, problem)
		}
		r.PEP440 = spec
	}
	switch v.kind {
	case tString:
		constraint(v)
	case tTable:
		for _, k := range v.keys {
			x := v.m[k]
			switch k {
			case "version":
				if x.kind == tString {
					constraint(x)
				}
			case "extras":
				for _, e := range p.strings(x, name+".extras") {
					r.Extras = append(r.Extras, Normalize(e.str))
				}
			case "optional":
				r.Optional = x.kind == tBool && x.b
			case "markers":
				if x.kind == tString {
					r.Marker = x.str
					if e := parseMarker(x.str); e != nil {
						l, c := innerPos(x, e.pos)
						p.errAt(l, c, "Invalid environment marker",
							fmt.Sprintf("markers = %q is not a valid environment marker: %s.", x.str, e.msg), e.fix)
					}
				}
			case "git":
				if x.kind == tString {
					r.URL = "git+" + x.str
					for _, ref := range []string{"rev", "tag", "branch"} {
						if rv := v.get(ref); rv != nil && rv.kind == tString {
							r.URL += "@" + rv.str
							break
						}
					}
				}
			case "path", "url", "file":
				if x.kind == tString {
					r.URL = x.str
				}
			case "develop", "editable":
				r.Editable = x.kind == tBool && x.b
			}
		}
	default:
		p.errNode(v, fallback, "Wrong type",
			fmt.Sprintf("The dependency %s must be a version constraint string or a table, not %s.", name, v.kind),
			fmt.Sprintf("Write %s = \"^1.0\" or %s = {version = \"^1.0\", extras = [\"…\"]}.", name, name))
		return
	}
	p.f.Requirements = append(p.f.Requirements, r)
}

// uv reads [tool.uv]: dev-dependencies, sources and indexes.
func (p *tomlFile) uv(t *tnode) {
	if t == nil || t.kind != tTable {
		return
	}
	for _, n := range p.strings(t.get("dev-dependencies"), "[tool.uv].dev-dependencies") {
		p.f.Requirements = append(p.f.Requirements, p.pep508(n, nil, "dev", false, false))
	}
	if idx := t.get("index"); idx != nil && idx.kind == tArray {
		for _, s := range idx.arr {
			if u := s.get("url"); u != nil && u.kind == tString {
				p.f.IndexURLs = append(p.f.IndexURLs, u.str)
			}
		}
	}
	src := t.get("sources")
	if src == nil || src.kind != tTable {
		return
	}
	for _, name := range src.keys {
		s := src.m[name]
		if s.kind == tArray && len(s.arr) > 0 {
			s = s.arr[0]
		}
		if s.kind != tTable {
			continue
		}
		u := ""
		switch {
		case s.get("git") != nil && s.get("git").kind == tString:
			u = "git+" + s.get("git").str
			for _, ref := range []string{"rev", "tag", "branch"} {
				if rv := s.get(ref); rv != nil && rv.kind == tString {
					u += "@" + rv.str
					break
				}
			}
		case s.get("path") != nil && s.get("path").kind == tString:
			u = s.get("path").str
		case s.get("url") != nil && s.get("url").kind == tString:
			u = s.get("url").str
		}
		ed := s.get("editable") != nil && s.get("editable").b
		n := Normalize(name)
		for i := range p.f.Requirements {
			r := &p.f.Requirements[i]
			if r.Name == n && r.URL == "" && u != "" {
				r.URL = u
				r.Editable = r.Editable || ed
			}
		}
	}
}

// pdm reads [tool.pdm]: dev-dependencies and sources.
func (p *tomlFile) pdm(t *tnode) {
	if t == nil || t.kind != tTable {
		return
	}
	if dd := t.get("dev-dependencies"); dd != nil && dd.kind == tTable {
		for _, g := range dd.keys {
			for _, n := range p.strings(dd.m[g], "[tool.pdm.dev-dependencies]."+g) {
				p.f.Requirements = append(p.f.Requirements, p.pep508(n, dd.m[g], g, false, true))
			}
		}
	}
	if src := t.get("source"); src != nil && src.kind == tArray {
		for _, s := range src.arr {
			if u := s.get("url"); u != nil && u.kind == tString {
				p.f.IndexURLs = append(p.f.IndexURLs, u.str)
			}
		}
	}
}

// dynamicFiles records requirement files that setuptools or hatch read
// the dependencies from as Includes.
func (p *tomlFile) dynamicFiles(root *tnode) {
	add := func(n *tnode) {
		switch {
		case n == nil:
		case n.kind == tString:
			p.f.Includes = append(p.f.Includes, Include{Path: n.str, Loc: p.loc(n, nil)})
		case n.kind == tArray:
			for _, e := range n.arr {
				if e.kind == tString {
					p.f.Includes = append(p.f.Includes, Include{Path: e.str, Loc: p.loc(e, n)})
				}
			}
		}
	}
	dyn := root.path("tool", "setuptools", "dynamic")
	add(dyn.path("dependencies", "file"))
	if od := dyn.get("optional-dependencies"); od != nil {
		for _, k := range od.keys {
			add(od.m[k].get("file"))
		}
	}
	hook := root.path("tool", "hatch", "metadata", "hooks", "requirements_txt")
	add(hook.get("files"))
	if od := hook.get("optional-dependencies"); od != nil {
		for _, k := range od.keys {
			add(od.m[k])
		}
	}
}
