package pysettings

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// analyzer walks the statements of one module.
type analyzer struct {
	m        *Module
	src      []byte
	gunicorn bool

	osNames       map[string]bool // bound to the os module
	environNames  map[string]bool // bound to os.environ
	getenvNames   map[string]bool // bound to os.getenv
	decoupleFns   map[string]bool // bound to python-decouple's config
	decoupleMods  map[string]bool // bound to the decouple module
	decoupleTypes map[string]bool // decouple's AutoConfig and Config
	starletteFns  map[string]bool // config = starlette.config.Config(...)
	starletteType map[string]bool // starlette.config.Config
	envTypes      map[string]bool // environs.Env, environ.Env
	envMods       map[string]bool // the environs and environ (django-environ) modules
	envObjs       map[string]*envObj
	settingsBases map[string]int // bound to BaseSettings: pydantic major version (1 or 2)
	pydanticMods  map[string]int // bound to the pydantic (1) or pydantic_settings (2) module
	uvicorn       bool

	poolSpans   [][2]int // byte spans of pool-size values already recorded
	workerSpans [][2]int

	classes map[string]*classInfo
	order   []*classInfo
	seen    map[seenKey]bool
}

// envObj is an environs or django-environ Env instance.
type envObj struct {
	defaults map[string]bool // django-environ scheme entries that carry a default
}

type seenKey struct {
	what string
	line int
}

// classInfo is a class statement and, for settings classes, what its body
// declares.
type classInfo struct {
	name      string
	settings  bool
	v1        bool
	parent    *classInfo // the settings class it extends, in this file
	configFor *classInfo // for a nested "class Config", the class it configures

	hasPrefix         bool
	prefixValue       string
	caseSens, hasCase bool
	fields            []field
}

type field struct {
	name  token
	ann   []token
	value []token // nil when the field has no "= default"
	hasEq bool
	end   int // last line of the statement
}

type scopeKind uint8

const (
	scClass scopeKind = iota + 1
	scDef
	scOther
)

type scope struct {
	indent int
	kind   scopeKind
	cls    *classInfo
}

func newAnalyzer(m *Module, src []byte, gunicorn bool) *analyzer {
	return &analyzer{
		m: m, src: src, gunicorn: gunicorn,
		osNames:       map[string]bool{"os": true},
		environNames:  map[string]bool{},
		getenvNames:   map[string]bool{},
		decoupleFns:   map[string]bool{},
		decoupleMods:  map[string]bool{},
		decoupleTypes: map[string]bool{},
		starletteFns:  map[string]bool{},
		starletteType: map[string]bool{},
		envTypes:      map[string]bool{},
		envMods:       map[string]bool{},
		envObjs:       map[string]*envObj{},
		settingsBases: map[string]int{},
		pydanticMods:  map[string]int{},
		classes:       map[string]*classInfo{},
		seen:          map[seenKey]bool{},
	}
}

func (a *analyzer) loc(t token, endLine int) report.Location {
	if endLine < t.line {
		endLine = t.line
	}
	return report.Location{File: a.m.Path, Line: t.line, Column: t.col, EndLine: endLine}
}

// once reports whether what has not been recorded at line yet, and marks it.
func (a *analyzer) once(what string, line int) bool {
	k := seenKey{what, line}
	if a.seen[k] {
		return false
	}
	a.seen[k] = true
	return true
}

func (a *analyzer) run(stmts []stmt) {
	for _, st := range stmts {
		a.collectImport(st.toks)
	}
	for _, st := range stmts {
		a.collectObject(st.toks)
	}
	var scopes []scope
	for _, st := range stmts {
		for len(scopes) > 0 && scopes[len(scopes)-1].indent >= st.indent {
			scopes = scopes[:len(scopes)-1]
		}
		var parent *scope
		if len(scopes) > 0 {
			parent = &scopes[len(scopes)-1]
		}
		a.poolSpans, a.workerSpans = a.poolSpans[:0], a.workerSpans[:0] // spans are per statement
		t := st.toks
		if t[0].name("import") || t[0].name("from") {
			continue
		}
		a.assignment(st)
		a.scan(t, 0)
		switch {
		case t[0].name("class"):
			var outer *classInfo
			if parent != nil && parent.kind == scClass {
				outer = parent.cls
			}
			scopes = append(scopes, scope{indent: st.indent, kind: scClass, cls: a.classHeader(t, outer)})
		case t[0].name("def") || (t[0].name("async") && len(t) > 1 && t[1].name("def")):
			scopes = append(scopes, scope{indent: st.indent, kind: scDef})
		case isCompoundHeader(t):
			scopes = append(scopes, scope{indent: st.indent, kind: scOther})
		case parent != nil && parent.kind == scClass && parent.cls != nil:
			switch c := parent.cls; {
			case c.configFor != nil:
				a.configAssign(c.configFor, t)
			case c.settings:
				a.fieldStmt(c, st)
			}
		}
	}
	a.finish()
}

var hardHeaders = map[string]bool{"if": true, "elif": true, "else": true, "for": true, "while": true,
	"try": true, "except": true, "finally": true, "with": true, "async": true}

// isCompoundHeader reports whether t starts a block (other than class and
// def).
func isCompoundHeader(t []token) bool {
	if t[0].kind != tkName {
		return false
	}
	if hardHeaders[t[0].text] {
		return true
	}
	if (t[0].text == "match" || t[0].text == "case") && len(t) > 2 && t[len(t)-1].op(":") {
		return true
	}
	return false
}

// collectImport records the names an import statement binds.
func (a *analyzer) collectImport(t []token) {
	switch {
	case t[0].name("import"):
		for k := 1; k < len(t); {
			parts, next := dotted(t, k)
			if parts == nil {
				k++
				continue
			}
			mod := strings.Join(parts, ".")
			bound := parts[0]
			if next+1 < len(t) && t[next].name("as") && t[next+1].kind == tkName {
				bound = t[next+1].text
				next += 2
			} else if len(parts) > 1 {
				mod = parts[0] // "import os.path" binds os
			}
			a.bindModule(mod, bound)
			k = next
			if k < len(t) && t[k].op(",") {
				k++
			}
		}
	case t[0].name("from"):
		k, dots := 1, ""
		for k < len(t) && (t[k].op(".") || t[k].op("...")) {
			dots += t[k].text
			k++
		}
		parts, k := dotted(t, k)
		if k >= len(t) || !t[k].name("import") || (parts == nil && dots == "") {
			return
		}
		mod := dots + strings.Join(parts, ".")
		for k++; k < len(t); k++ {
			if t[k].kind != tkName {
				continue
			}
			name, bound := t[k].text, t[k].text
			if k+2 < len(t) && t[k+1].name("as") && t[k+2].kind == tkName {
				bound = t[k+2].text
				k += 2
			}
			a.bindFrom(mod, name, bound)
		}
	}
}

func (a *analyzer) bindModule(mod, bound string) {
	switch mod {
	case "os":
		a.osNames[bound] = true
	case "decouple":
		a.decoupleMods[bound] = true
	case "environ", "environs":
		a.envMods[bound] = true
	case "pydantic", "pydantic.v1":
		a.pydanticMods[bound] = 1
	case "pydantic_settings":
		a.pydanticMods[bound] = 2
	case "uvicorn":
		a.uvicorn = true
	}
}

func (a *analyzer) bindFrom(mod, name, bound string) {
	switch mod {
	case "os":
		switch name {
		case "environ":
			a.environNames[bound] = true
		case "getenv":
			a.getenvNames[bound] = true
		}
	case "decouple":
		switch name {
		case "config":
			a.decoupleFns[bound] = true
		case "AutoConfig", "Config":
			a.decoupleTypes[bound] = true
		}
	case "starlette.config":
		if name == "Config" {
			a.starletteType[bound] = true
		}
	case "environs", "environ":
		switch name {
		case "Env":
			a.envTypes[bound] = true
		case "env":
			a.envObjs[bound] = &envObj{}
		}
	case "pydantic", "pydantic.v1", "pydantic.env_settings":
		if name == "BaseSettings" {
			a.settingsBases[bound] = 1
		}
	case "pydantic_settings":
		if name == "BaseSettings" {
			a.settingsBases[bound] = 2
		}
	case "uvicorn":
		a.uvicorn = true
	default:
		// A shared Env instance imported from the project's own module
		// (from .env import env) is almost always environs or
		// django-environ.
		if name == "env" && mod != "" {
			if _, ok := a.envObjs[bound]; !ok {
				a.envObjs[bound] = &envObj{}
			}
		}
	}
}

// collectObject records env = Env(...), config = AutoConfig(...) and
// config = Config(".env") assignments.
func (a *analyzer) collectObject(t []token) {
	if len(t) < 4 || t[0].kind != tkName || !t[1].op("=") {
		return
	}
	target := t[0].text
	parts, open, ok := callee(t[2:])
	if !ok {
		return
	}
	last := parts[len(parts)-1]
	qual := len(parts) == 2
	switch {
	case last == "Env" && (a.envTypes[parts[0]] || (qual && a.envMods[parts[0]])):
		obj := &envObj{defaults: map[string]bool{}}
		args, _ := splitArgs(t[2:], open)
		for _, ar := range args {
			if ar.kw == "" || ar.kw == "*" || ar.kw == "**" {
				continue
			}
			// DEBUG=(bool, False) carries a default; DEBUG=bool does not.
			v := ar.toks
			if len(v) >= 2 && v[0].op("(") && topIndex(v[1:len(v)-1], 0, ",") >= 0 {
				rest := v[1+topIndex(v[1:len(v)-1], 0, ",")+1 : len(v)-1]
				if len(rest) > 0 {
					obj.defaults[ar.kw] = true
				}
			}
		}
		a.envObjs[target] = obj
	case (len(parts) == 1 && a.decoupleTypes[last]) || (qual && a.decoupleMods[parts[0]] && (last == "AutoConfig" || last == "Config")):
		a.decoupleFns[target] = true
	case len(parts) == 1 && a.starletteType[last]:
		a.starletteFns[target] = true
	}
}

// classHeader reads "class Name(bases, kw=...):".
func (a *analyzer) classHeader(t []token, outer *classInfo) *classInfo {
	c := &classInfo{}
	if len(t) < 2 || t[1].kind != tkName {
		return c
	}
	c.name = t[1].text
	if outer != nil && c.name == "Config" && outer.settings {
		c.configFor = outer
		return c
	}
	if len(t) > 2 && t[2].op("(") {
		args, _ := splitArgs(t, 2)
		for _, ar := range args {
			switch ar.kw {
			case "":
				parts, next := dotted(ar.toks, 0)
				if parts == nil || next != len(ar.toks) {
					continue
				}
				last := parts[len(parts)-1]
				switch {
				case len(parts) == 1 && a.settingsBases[last] != 0:
					c.settings, c.v1 = true, a.settingsBases[last] == 1
				case len(parts) == 2 && last == "BaseSettings" && a.pydanticMods[parts[0]] != 0:
					c.settings, c.v1 = true, a.pydanticMods[parts[0]] == 1
				case last == "BaseSettings":
					c.settings = true
				case len(parts) == 1 && a.classes[last] != nil && a.classes[last].settings:
					p := a.classes[last]
					c.settings, c.v1, c.parent = true, p.v1, p
				}
			case "env_prefix":
				if s, ok := stringValue(ar.toks); ok {
					c.prefixValue = s
				}
				c.hasPrefix = true
			case "case_sensitive":
				if v, ok := boolValue(ar.toks); ok {
					c.caseSens, c.hasCase = v, true
				}
			}
		}
	}
	a.classes[c.name] = c
	if c.settings {
		a.order = append(a.order, c)
	}
	return c
}

// configAssign reads a statement of a v1 "class Config:" body.
func (a *analyzer) configAssign(c *classInfo, t []token) {
	if len(t) < 3 || t[0].kind != tkName {
		return
	}
	eq := topIndex(t, 1, "=")
	if eq < 0 {
		return
	}
	a.configEntry(c, t[0].text, t[eq+1:])
}

func (a *analyzer) configEntry(c *classInfo, key string, v []token) {
	switch key {
	case "env_prefix":
		c.hasPrefix = true
		c.prefixValue, _ = stringValue(v)
	case "case_sensitive":
		if b, ok := boolValue(v); ok {
			c.caseSens, c.hasCase = b, true
		}
	}
}

// fieldStmt reads a statement directly in a settings class body.
func (a *analyzer) fieldStmt(c *classInfo, st stmt) {
	t := st.toks
	if len(t) < 2 || t[0].kind != tkName {
		return
	}
	name := t[0].text
	eq := topIndex(t, 1, "=")
	if name == "model_config" {
		if eq >= 0 {
			a.modelConfig(c, t[eq+1:])
		}
		return
	}
	if !t[1].op(":") || strings.HasPrefix(name, "_") {
		return // not annotated: not a field (pydantic v2 refuses it), or private
	}
	f := field{name: t[0], end: st.endLine()}
	if eq >= 0 {
		f.ann, f.value, f.hasEq = t[2:eq], t[eq+1:], true
	} else {
		f.ann = t[2:]
	}
	if isClassVar(f.ann) {
		return
	}
	c.fields = append(c.fields, f)
}

// modelConfig reads model_config = SettingsConfigDict(...) or a dict.
func (a *analyzer) modelConfig(c *classInfo, v []token) {
	v = unparen(v)
	if len(v) == 0 {
		return
	}
	if _, open, ok := callee(v); ok {
		args, _ := splitArgs(v, open)
		for _, ar := range args {
			if ar.kw != "" {
				a.configEntry(c, ar.kw, ar.toks)
			}
		}
		return
	}
	if v[0].op("{") {
		entries, _ := splitArgs(v, 0)
		for _, e := range entries {
			colon := topIndex(e.toks, 0, ":")
			if colon <= 0 {
				continue
			}
			if key, ok := stringValue(e.toks[:colon]); ok {
				a.configEntry(c, key, e.toks[colon+1:])
			}
		}
	}
}

// isClassVar reports whether an annotation is ClassVar[...].
func isClassVar(ann []token) bool {
	parts, _ := dotted(ann, 0)
	return len(parts) > 0 && parts[len(parts)-1] == "ClassVar"
}

// finish turns settings-class fields into variables and sorts the results.
func (a *analyzer) finish() {
	for _, c := range a.order {
		prefix, caseSens := c.effectiveConfig()
		for _, f := range c.fields {
			a.fieldVar(c, f, prefix, caseSens)
		}
	}
	m := a.m
	sort.SliceStable(m.Vars, func(i, j int) bool { return before(m.Vars[i].Loc, m.Vars[j].Loc) })
	sortLiterals(m.PoolSizes)
	sortLiterals(m.Workers)
	sort.SliceStable(m.HTTPSRedirects, func(i, j int) bool { return before(m.HTTPSRedirects[i].Loc, m.HTTPSRedirects[j].Loc) })
	for _, l := range [][]report.Location{m.CreateAll, m.URLRewrites, m.SSLModeRewrites} {
		sort.SliceStable(l, func(i, j int) bool { return before(l[i], l[j]) })
	}
}

func sortLiterals(l []Literal) {
	sort.SliceStable(l, func(i, j int) bool { return before(l[i].Loc, l[j].Loc) })
}

func before(x, y report.Location) bool {
	if x.Line != y.Line {
		return x.Line < y.Line
	}
	return x.Column < y.Column
}

// effectiveConfig returns the env_prefix and case sensitivity of c,
// inherited from the settings classes it extends in the file.
func (c *classInfo) effectiveConfig() (prefix string, caseSens bool) {
	gotPrefix, gotCase := false, false
	for k, p := 0, c; p != nil && k < 64; k, p = k+1, p.parent {
		if !gotPrefix && p.hasPrefix {
			prefix, gotPrefix = p.prefixValue, true
		}
		if !gotCase && p.hasCase {
			caseSens, gotCase = p.caseSens, true
		}
	}
	return prefix, caseSens
}

// fieldVar reports one settings field as an environment variable.
//
// Required follows pydantic: a field with no default is required. In
// pydantic v2 (pydantic-settings) that includes Optional[X] and X | None
// fields: they may be None but must still be given. In pydantic v1 (a
// BaseSettings imported from pydantic itself) an Optional field with no
// default defaults to None and is not required. A file that does not say
// which version it uses is read as v2.
//
// Names follow pydantic-settings: validation_alias, else alias, else
// env_prefix + the field name (v2); env=, else env_prefix + the field name
// (v1, which ignores alias). The prefix is not applied to aliases and env=
// names. Unless the class is case_sensitive the name is upper-cased, as
// the environment lookup ignores case.
func (a *analyzer) fieldVar(c *classInfo, f field, prefix string, caseSens bool) {
	required := !f.hasEq
	var names []string
	var fieldArgs [][]arg
	// Field(...) inside Annotated[...].
	for k := 0; k+1 < len(f.ann); k++ {
		if f.ann[k].name("Field") && f.ann[k+1].op("(") {
			args, _ := splitArgs(f.ann, k+1)
			fieldArgs = append(fieldArgs, args)
			if _, ok := kwArg(args, "default_factory"); ok {
				required = false
			}
		}
	}
	if f.hasEq {
		v := unparen(f.value)
		if isEllipsis(v) {
			required = true
		} else if parts, open, ok := callee(v); ok && parts[len(parts)-1] == "Field" {
			args, _ := splitArgs(v, open)
			fieldArgs = append(fieldArgs, args)
			required = true
			if p, ok := posArg(args, 0); ok {
				required = isEllipsis(p)
			}
			if d, ok := kwArg(args, "default"); ok {
				required = isEllipsis(d)
			}
			if _, ok := kwArg(args, "default_factory"); ok {
				required = false
			}
		}
	}
	if required && !f.hasEq && c.v1 && isOptional(f.ann) {
		required = false
	}
	for _, args := range fieldArgs {
		if c.v1 {
			if v, ok := kwArg(args, "env"); ok {
				names = append(names, stringList(v)...)
			}
			continue
		}
		if v, ok := kwArg(args, "validation_alias"); ok {
			names = append(names, aliasNames(v)...)
		} else if v, ok := kwArg(args, "alias"); ok {
			names = append(names, aliasNames(v)...)
		}
	}
	kept := names[:0]
	for _, n := range names {
		if validName(n) {
			kept = append(kept, n)
		}
	}
	names = kept
	if len(names) == 0 {
		names = []string{prefix + f.name.text}
	}
	if !caseSens {
		for k := range names {
			names[k] = strings.ToUpper(names[k])
		}
	}
	v := EnvVar{Name: names[0], Required: required, Kind: KindPydantic, Class: c.name, Loc: a.loc(f.name, f.end)}
	if len(names) > 1 {
		v.Aliases = names[1:]
	}
	a.m.Vars = append(a.m.Vars, v)
}

// isOptional reports whether an annotation admits None.
func isOptional(ann []token) bool {
	parts, _ := dotted(ann, 0)
	if len(parts) > 0 && parts[len(parts)-1] == "Optional" {
		return true
	}
	for _, t := range ann {
		if t.name("None") {
			return true
		}
	}
	return false
}

// stringList returns the strings of "X" or ["X", "Y"] / ("X", "Y") / {"X"}.
func stringList(v []token) []string {
	if s, ok := stringValue(v); ok {
		return []string{s}
	}
	if len(v) >= 2 && (v[0].op("[") || v[0].op("(") || v[0].op("{")) {
		items, _ := splitArgs(v, 0)
		var out []string
		for _, it := range items {
			if s, ok := stringValue(it.toks); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// aliasNames returns the names of an alias: "X", AliasChoices("X", "Y",
// AliasPath("Z", 0)) or AliasPath("Z", ...).
func aliasNames(v []token) []string {
	if s, ok := stringValue(v); ok {
		return []string{s}
	}
	parts, open, ok := callee(v)
	if !ok {
		return nil
	}
	args, _ := splitArgs(v, open)
	var out []string
	switch parts[len(parts)-1] {
	case "AliasChoices":
		for _, ar := range args {
			if ar.kw != "" {
				continue
			}
			out = append(out, aliasNames(ar.toks)...)
		}
	case "AliasPath":
		if p, ok := posArg(args, 0); ok {
			if s, ok := stringValue(p); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// exprText returns the source text of t, whitespace collapsed, cut to 120
// characters.
func (a *analyzer) exprText(t []token) string {
	if len(t) == 0 {
		return ""
	}
	from, to := t[0].off, t[len(t)-1].end
	if from < 0 || to > len(a.src) || from > to {
		return ""
	}
	s := strings.Join(strings.Fields(string(a.src[from:to])), " ")
	if utf8.RuneCountInString(s) > 120 {
		r := []rune(s)
		s = string(r[:119]) + "…"
	}
	return s
}
