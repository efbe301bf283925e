package pysettings

import (
	"strings"
)

// lookup is one read of an environment variable found in the tokens.
type lookup struct {
	name     string
	kind     string
	required bool
	start    token
	end      int // index of the lookup's last token
	endLine  int
	def      []token // the default, when hasDef
	hasDef   bool
}

// envMethods are the typed getters of environs and django-environ.
var envMethods = map[string]bool{
	"str": true, "int": true, "bool": true, "float": true, "decimal": true, "list": true, "dict": true,
	"json": true, "url": true, "path": true, "date": true, "datetime": true, "time": true, "timedelta": true,
	"uuid": true, "log_level": true, "enum": true, "tuple": true, "bytes": true, "get_value": true,
	"dj_db_url": true, "dj_cache_url": true, "dj_email_url": true,
	"db_url": true, "db": true, "cache_url": true, "cache": true, "email_url": true, "email": true,
	"search_url": true,
}

// envDefaultVar is the variable a django-environ getter reads when given no
// name.
var envDefaultVar = map[string]string{
	"db": "DATABASE_URL", "db_url": "DATABASE_URL", "cache": "CACHE_URL", "cache_url": "CACHE_URL",
	"email": "EMAIL_URL", "email_url": "EMAIL_URL", "search_url": "SEARCH_URL",
}

// matchLookup recognises an environment read starting at t[i].
func (a *analyzer) matchLookup(t []token, i int) (lookup, bool) {
	x := t[i]
	if x.kind != tkName || (i > 0 && t[i-1].op(".")) {
		return lookup{}, false
	}
	n := len(t)
	is := func(k int, op string) bool { return k < n && t[k].op(op) }
	nm := func(k int, name string) bool { return k < n && t[k].name(name) }
	switch {
	case a.osNames[x.text] && is(i+1, ".") && nm(i+2, "environ"):
		return a.environAccess(t, i, i+3)
	case a.environNames[x.text]:
		return a.environAccess(t, i, i+1)
	case a.osNames[x.text] && is(i+1, ".") && nm(i+2, "getenv") && is(i+3, "("):
		return a.callLookup(t, i, i+3, KindGetenv, 1, "", nil)
	case a.getenvNames[x.text] && is(i+1, "("):
		return a.callLookup(t, i, i+1, KindGetenv, 1, "", nil)
	case a.decoupleFns[x.text] && is(i+1, "("):
		return a.callLookup(t, i, i+1, KindDecouple, 1, "", nil)
	case a.decoupleMods[x.text] && is(i+1, ".") && nm(i+2, "config") && is(i+3, "("):
		return a.callLookup(t, i, i+3, KindDecouple, 1, "", nil)
	case a.starletteFns[x.text] && is(i+1, "("):
		return a.callLookup(t, i, i+1, KindStarlette, 2, "", nil)
	case a.envObjs[x.text] != nil:
		obj := a.envObjs[x.text]
		if is(i+1, "(") {
			return a.callLookup(t, i, i+1, KindEnvirons, 1, "", obj)
		}
		if is(i+1, ".") && i+3 < n && t[i+2].kind == tkName && envMethods[t[i+2].text] && is(i+3, "(") {
			return a.callLookup(t, i, i+3, KindEnvirons, 1, envDefaultVar[t[i+2].text], obj)
		}
	}
	return lookup{}, false
}

// environAccess reads os.environ[...] or os.environ.get(...); k is the
// index just after "environ".
func (a *analyzer) environAccess(t []token, i, k int) (lookup, bool) {
	n := len(t)
	switch {
	case k < n && t[k].op("["):
		close := matchClose(t, k)
		if close <= k || !t[close].op("]") {
			return lookup{}, false
		}
		name, ok := stringValue(t[k+1 : close])
		if !ok || !validName(name) {
			return lookup{}, false
		}
		if i > 0 && t[i-1].name("del") {
			return lookup{}, false
		}
		if close+1 < n && t[close+1].kind == tkOp && isAssignOp(t[close+1].text) {
			return lookup{}, false // os.environ["X"] = ... sets it
		}
		return lookup{name: name, kind: KindEnviron, required: true, start: t[i], end: close, endLine: t[close].endLine}, true
	case k+2 < n && t[k].op(".") && t[k+1].name("get") && t[k+2].op("("):
		return a.callLookup(t, i, k+2, KindEnvironGet, 1, "", nil)
	}
	return lookup{}, false
}

func isAssignOp(op string) bool {
	switch op {
	case "=", "+=", "-=", "*=", "/=", "//=", "%=", "**=", ">>=", "<<=", "&=", "|=", "^=", "@=", ":=":
		return true
	}
	return false
}

// callLookup reads a getter call whose '(' is at t[open]: the name is its
// first argument (or defaultVar when it has none), the default its
// "default=" argument or the positional argument at defPos.
func (a *analyzer) callLookup(t []token, i, open int, kind string, defPos int, defaultVar string, obj *envObj) (lookup, bool) {
	args, close := splitArgs(t, open)
	l := lookup{kind: kind, start: t[i], end: close, endLine: t[close].endLine}
	if p, ok := posArg(args, 0); ok {
		name, ok := stringValue(p)
		if !ok || !validName(name) {
			return lookup{}, false
		}
		l.name = name
	} else if v, ok := kwArg(args, "var"); ok && kind == KindEnvirons {
		name, ok := stringValue(v)
		if !ok || !validName(name) {
			return lookup{}, false
		}
		l.name = name
	} else if defaultVar != "" {
		l.name = defaultVar
	} else {
		return lookup{}, false
	}
	if d, ok := kwArg(args, "default"); ok {
		l.def, l.hasDef = d, true
	} else if d, ok := posArg(args, defPos); ok {
		l.def, l.hasDef = d, true
	}
	switch kind {
	case KindGetenv, KindEnvironGet:
		l.required = false
	default:
		l.required = !l.hasDef
		if obj != nil && obj.defaults[l.name] {
			l.required = false
		}
	}
	return l, true
}

// scan looks through the tokens of one statement (and of its f-string
// fields) for environment reads and the calls this package reports.
func (a *analyzer) scan(t []token, depth int) {
	for i := 0; i < len(t); i++ {
		x := t[i]
		if x.kind == tkString {
			if depth < maxFStringNesting {
				for _, f := range x.fields {
					a.scan(f, depth+1)
				}
			}
			a.stringUse(t, i)
			continue
		}
		if x.kind != tkName || (i > 0 && (t[i-1].name("def") || t[i-1].name("class"))) {
			continue
		}
		if l, ok := a.matchLookup(t, i); ok {
			a.addLookup(l, t, i)
		}
		call := i+1 < len(t) && t[i+1].op("(")
		attr := i > 0 && t[i-1].op(".")
		switch x.text {
		case "create_all":
			if attr && a.once("create_all", x.line) {
				a.m.CreateAll = append(a.m.CreateAll, a.loc(t[chainStart(t, i)], x.endLine))
			}
		case "HTTPSRedirectMiddleware":
			if a.once("redirect", x.line) {
				a.m.HTTPSRedirects = append(a.m.HTTPSRedirects, Redirect{Kind: RedirectStarlette, Loc: a.loc(x, x.endLine)})
			}
		case "Talisman", "SSLify":
			if call {
				args, close := splitArgs(t, i+1)
				_, pos := posArg(args, 0)
				_, kw := kwArg(args, "app")
				if pos || kw { // Talisman() without an app does nothing until init_app
					a.forceHTTPS(x.text, args, t[chainStart(t, i)], t[close].endLine)
				}
			}
		case "init_app":
			if call && attr && i >= 2 && strings.Contains(strings.ToLower(t[i-2].text), "talisman") {
				args, close := splitArgs(t, i+1)
				a.forceHTTPS(RedirectTalisman, args, t[chainStart(t, i)], t[close].endLine)
			}
		case "set":
			if call && attr {
				args, _ := splitArgs(t, i+1)
				if _, ok := kwArg(args, "drivername"); ok && a.once("rewrite", x.line) {
					a.m.URLRewrites = append(a.m.URLRewrites, a.loc(t[chainStart(t, i)], x.endLine))
				}
			}
		case "create_engine", "create_async_engine", "create_pool":
			if call {
				kws := []string{"pool_size", "max_overflow"}
				if x.text == "create_pool" {
					kws = []string{"min_size", "max_size"}
				}
				args, close := splitArgs(t, i+1)
				for _, kw := range kws {
					if v, ok := kwArg(args, kw); ok && len(v) > 0 {
						at := argAt(args, kw)
						a.addPool(a.literal(kw, at, v, t[close].endLine), v)
					}
				}
			}
		case "run", "Config":
			uv := attr && i >= 2 && t[i-2].name("uvicorn")
			if call && (uv || (a.uvicorn && !attr && x.text == "run")) {
				args, close := splitArgs(t, i+1)
				if v, ok := kwArg(args, "workers"); ok && len(v) > 0 {
					a.addWorkers(a.literal("workers", argAt(args, "workers"), v, t[close].endLine), v)
				}
			}
		}
	}
}

// argAt returns the keyword token of the argument kw.
func argAt(args []arg, kw string) token {
	for _, a := range args {
		if a.kw == kw {
			return a.at
		}
	}
	return token{}
}

// chainStart returns the index of the first name of the dotted chain
// ending at t[i] (Base.metadata.create_all -> Base).
func chainStart(t []token, i int) int {
	for i >= 2 && t[i-1].op(".") && t[i-2].kind == tkName {
		i -= 2
	}
	return i
}

// addLookup records an environment read, and a worker count or pool size
// when the variable is one and the read has a numeric default.
func (a *analyzer) addLookup(l lookup, t []token, i int) {
	a.m.Vars = append(a.m.Vars, EnvVar{Name: l.name, Required: l.required, Kind: l.kind, Loc: a.loc(l.start, l.endLine)})
	up := strings.ToUpper(l.name)
	expr := t[i : l.end+1]
	switch {
	case up == "WEB_CONCURRENCY":
		if !a.covered(a.workerSpans, l.start.off) {
			a.addWorkers(a.literal(l.name, l.start, expr, l.endLine), expr)
		}
	case isPoolName(up) && l.hasDef:
		if !a.covered(a.poolSpans, l.start.off) {
			a.addPool(a.literal(l.name, l.start, expr, l.endLine), expr)
		}
	}
}

func isPoolName(up string) bool {
	return strings.Contains(up, "POOL_SIZE") || strings.Contains(up, "MAX_OVERFLOW") || up == "POOLSIZE"
}

// covered reports whether byte offset off lies in one of spans.
func (a *analyzer) covered(spans [][2]int, off int) bool {
	for _, s := range spans {
		if off >= s[0] && off < s[1] {
			return true
		}
	}
	return false
}

func (a *analyzer) addPool(l Literal, v []token) {
	a.m.PoolSizes = append(a.m.PoolSizes, l)
	if len(v) > 0 {
		a.poolSpans = append(a.poolSpans, [2]int{v[0].off, v[len(v)-1].end})
	}
}

func (a *analyzer) addWorkers(l Literal, v []token) {
	a.m.Workers = append(a.m.Workers, l)
	if len(v) > 0 {
		a.workerSpans = append(a.workerSpans, [2]int{v[0].off, v[len(v)-1].end})
	}
}

// literal makes a Literal for the value v of the setting name, located at
// the token at.
func (a *analyzer) literal(name string, at token, v []token, endLine int) Literal {
	l := Literal{Name: name, Expr: a.exprText(v), Loc: a.loc(at, endLine)}
	l.Value, l.HasValue, l.Env = a.evalInt(v, 0)
	return l
}

// evalInt evaluates a number: a literal, a numeric string, int(...),
// Field(default) or an environment read with a default (then env names it).
func (a *analyzer) evalInt(v []token, depth int) (n int, ok bool, env string) {
	v = unparen(v)
	if len(v) == 0 || depth > 8 {
		return 0, false, ""
	}
	if len(v) == 1 {
		switch v[0].kind {
		case tkNumber:
			n, ok = intLiteral(v[0].text)
			return n, ok, ""
		case tkString:
			if s, sok := stringValue(v); sok {
				n, ok = intLiteral(s)
				return n, ok, ""
			}
		}
		return 0, false, ""
	}
	if l, lok := a.matchLookup(v, 0); lok && l.end == len(v)-1 {
		if !l.hasDef {
			return 0, false, l.name
		}
		n, ok, _ = a.evalInt(l.def, depth+1)
		return n, ok, l.name
	}
	if parts, open, cok := callee(v); cok {
		args, _ := splitArgs(v, open)
		switch last := parts[len(parts)-1]; {
		case len(parts) == 1 && last == "int":
			if p, pok := posArg(args, 0); pok {
				return a.evalInt(p, depth+1)
			}
		case last == "Field":
			if d, dok := kwArg(args, "default"); dok {
				return a.evalInt(d, depth+1)
			}
			if p, pok := posArg(args, 0); pok {
				return a.evalInt(p, depth+1)
			}
		}
	}
	return 0, false, ""
}

// forceHTTPS records Talisman(app, force_https=...) (on by default) and
// SSLify(app) (always on).
func (a *analyzer) forceHTTPS(kind string, args []arg, at token, endLine int) {
	r := Redirect{Kind: kind, Loc: a.loc(at, endLine)}
	if kind == RedirectTalisman {
		if v, ok := kwArg(args, "force_https"); ok {
			b, isBool := boolValue(unparen(v))
			if isBool && !b {
				return
			}
			r.Conditional = !isBool
		}
	}
	if a.once("redirect", at.line) {
		a.m.HTTPSRedirects = append(a.m.HTTPSRedirects, r)
	}
}

// stringUse looks at a string literal for a database URL scheme rewrite, an
// sslmode rewrite or a pool-size dict entry.
func (a *analyzer) stringUse(t []token, i int) {
	x := t[i]
	if len(x.fields) > 0 {
		return
	}
	v := decodeString(x.text)
	n := len(t)
	if idx := strings.Index(v, "://"); idx > 0 && strings.Trim(v[idx+3:], "$") == "" &&
		strings.Contains(strings.ToLower(v[:idx]), "postgres") {
		building := i >= 2 && t[i-1].op("=") && (t[i-2].name("scheme") || t[i-2].name("drivername"))
		if !building && a.once("rewrite", x.line) {
			a.m.URLRewrites = append(a.m.URLRewrites, a.loc(x, x.endLine))
		}
	}
	if strings.Contains(v, "sslmode") && !strings.Contains(v, "://") && i > 0 &&
		(t[i-1].op("(") || t[i-1].op(",") || t[i-1].op("[") || (i+1 < n && t[i+1].name("in"))) &&
		a.once("sslmode", x.line) {
		a.m.SSLModeRewrites = append(a.m.SSLModeRewrites, a.loc(x, x.endLine))
	}
	if key := strings.ToLower(v); (key == "pool_size" || key == "max_overflow") && i+2 < n && t[i+1].op(":") {
		end := i + 2
	loop:
		for ; end < n; end++ {
			switch y := t[end]; {
			case y.pair > 0:
				end += y.pair
			case isOpener(y):
				end = n
			case y.op(",") || y.op(")") || y.op("]") || y.op("}"):
				break loop
			}
		}
		end = min(end, n)
		if end > i+2 {
			val := t[i+2 : end]
			a.addPool(a.literal(key, x, val, val[len(val)-1].endLine), val)
		}
	}
}

// assignment looks at NAME = value and NAME: type = value statements for
// pool sizes, worker counts and SECURE_SSL_REDIRECT.
func (a *analyzer) assignment(st stmt) {
	t := st.toks
	if len(t) < 3 || t[0].kind != tkName {
		return
	}
	var v []token
	switch {
	case t[1].op("="):
		k := lastTop(t, "=")
		v = t[k+1:]
	case t[1].op(":"):
		eq := topIndex(t, 2, "=")
		if eq < 0 {
			return
		}
		v = t[eq+1:]
	default:
		return
	}
	if len(v) == 0 {
		return
	}
	name := t[0].text
	up := strings.ToUpper(name)
	switch {
	case isPoolName(up):
		a.addPool(a.literal(name, t[0], v, st.endLine()), v)
	case up == "WEB_CONCURRENCY" || up == "GUNICORN_WORKERS" || up == "UVICORN_WORKERS" || name == "WORKERS" ||
		(a.gunicorn && name == "workers"):
		a.addWorkers(a.literal(name, t[0], v, st.endLine()), v)
	case up == "SECURE_SSL_REDIRECT":
		b, ok := boolValue(unparen(v))
		if ok && !b {
			return
		}
		if a.once("redirect", t[0].line) {
			a.m.HTTPSRedirects = append(a.m.HTTPSRedirects, Redirect{Kind: RedirectDjango, Conditional: !ok, Loc: a.loc(t[0], st.endLine())})
		}
	}
}

// validName reports whether s can be an environment variable's name.
func validName(s string) bool {
	return s != "" && !strings.ContainsAny(s, "=\x00\n\r")
}
