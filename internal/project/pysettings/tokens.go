package pysettings

import (
	"strconv"
	"strings"
)

// Helpers over token slices.

// arg is one argument of a call: kw is the keyword ("" for a positional
// argument, "*" or "**" for unpacking).
type arg struct {
	kw   string
	at   token // the first token of the argument (the keyword, if any)
	toks []token
}

// matchClose returns the index of the bracket closing the one at open, or
// len(t)-1 when it is not closed in t.
func matchClose(t []token, open int) int {
	if p := t[open].pair; p > 0 && open+p < len(t) {
		return open + p
	}
	return len(t) - 1
}

// splitArgs splits the arguments of the call whose '(' is at t[open]. It
// returns the arguments and the index of the closing bracket. A call whose
// bracket is never closed has no arguments it can read.
func splitArgs(t []token, open int) ([]arg, int) {
	end := matchClose(t, open)
	if t[open].pair == 0 || end != open+t[open].pair {
		return nil, end
	}
	var args []arg
	start := open + 1
	emit := func(from, to int) {
		if from >= to {
			return
		}
		a := arg{at: t[from], toks: t[from:to:to]}
		switch {
		case to-from >= 2 && t[from].kind == tkName && t[from+1].op("="):
			a.kw, a.toks = t[from].text, t[from+2:to:to]
		case t[from].op("*") || t[from].op("**"):
			a.kw, a.toks = t[from].text, t[from+1:to:to]
		}
		args = append(args, a)
	}
	for k := open + 1; k < end; k++ {
		switch x := t[k]; {
		case x.pair > 0:
			k += x.pair
		case isOpener(x):
			k = end
		case x.op(","):
			emit(start, k)
			start = k + 1
		}
	}
	emit(start, end)
	return args, end
}

// kwArg returns the argument with keyword kw.
func kwArg(args []arg, kw string) ([]token, bool) {
	for _, a := range args {
		if a.kw == kw {
			return a.toks, true
		}
	}
	return nil, false
}

// posArg returns the n-th positional argument (0-based).
func posArg(args []arg, n int) ([]token, bool) {
	for _, a := range args {
		if a.kw != "" {
			if a.kw == "*" { // positions after *args are unknown
				return nil, false
			}
			continue
		}
		if n == 0 {
			return a.toks, true
		}
		n--
	}
	return nil, false
}

// topIndex returns the index of the first operator op at bracket depth 0 in
// t at or after from, or -1.
func topIndex(t []token, from int, op string) int {
	for k := from; k < len(t); k++ {
		switch x := t[k]; {
		case x.pair > 0:
			k += x.pair
		case isOpener(x):
			return -1
		case x.op(op):
			return k
		}
	}
	return -1
}

// dotted reads a dotted name starting at t[i] and returns its parts and
// the index after it.
func dotted(t []token, i int) ([]string, int) {
	if i >= len(t) || t[i].kind != tkName {
		return nil, i
	}
	parts := []string{t[i].text}
	i++
	for i+1 < len(t) && t[i].op(".") && t[i+1].kind == tkName {
		parts = append(parts, t[i+1].text)
		i += 2
	}
	return parts, i
}

// callee returns the dotted name called in t when t is exactly one call
// (name(...)), and the index of its '('.
func callee(t []token) ([]string, int, bool) {
	parts, k := dotted(t, 0)
	if parts == nil || k >= len(t) || !t[k].op("(") {
		return nil, 0, false
	}
	if t[k].pair != len(t)-1-k {
		return nil, 0, false
	}
	return parts, k, true
}

// stringValue returns the value of t when t is one string literal (or
// several adjacent ones) without replacement fields.
func stringValue(t []token) (string, bool) {
	if len(t) == 0 {
		return "", false
	}
	var b strings.Builder
	for _, x := range t {
		if x.kind != tkString || len(x.fields) > 0 {
			return "", false
		}
		b.WriteString(decodeString(x.text))
	}
	return b.String(), true
}

// decodeString returns the value of a string literal's source text.
func decodeString(text string) string {
	p := 0
	for p < len(text) && text[p] != '"' && text[p] != '\'' {
		p++
	}
	raw := strings.ContainsAny(text[:p], "rR")
	s := text[p:]
	switch {
	case len(s) >= 6 && (strings.HasPrefix(s, `"""`) || strings.HasPrefix(s, `'''`)) && strings.HasSuffix(s, s[:3]):
		s = s[3 : len(s)-3]
	case len(s) >= 2 && s[len(s)-1] == s[0]:
		s = s[1 : len(s)-1]
	case len(s) >= 1:
		s = s[1:]
	}
	if raw || !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for k := 0; k < len(s); k++ {
		if s[k] != '\\' || k+1 == len(s) {
			b.WriteByte(s[k])
			continue
		}
		k++
		switch s[k] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\n':
		default:
			b.WriteByte(s[k])
		}
	}
	return b.String()
}

// boolValue returns the value of t when it is the literal True or False.
func boolValue(t []token) (value, ok bool) {
	if len(t) == 1 && t[0].kind == tkName {
		switch t[0].text {
		case "True":
			return true, true
		case "False":
			return false, true
		}
	}
	return false, false
}

// intLiteral parses a Python integer literal (or a numeric string).
func intLiteral(s string) (int, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || n > 1<<31 || n < -1<<31 {
		return 0, false
	}
	return int(n), true
}

// isEllipsis reports whether t is the single token "...".
func isEllipsis(t []token) bool { return len(t) == 1 && t[0].op("...") }

// unparen strips brackets around the whole of t.
func unparen(t []token) []token {
	for len(t) >= 2 && t[0].op("(") && t[0].pair == len(t)-1 {
		t = t[1 : len(t)-1]
	}
	return t
}

// lastTop returns the index of the last operator op at bracket depth 0 in
// t, or -1.
func lastTop(t []token, op string) int {
	last := -1
	for k := 0; k < len(t); k++ {
		switch x := t[k]; {
		case x.pair > 0:
			k += x.pair
		case isOpener(x):
			return last
		case x.op(op):
			last = k
		}
	}
	return last
}
