package pydeps

import (
	"fmt"
	"strconv"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
)

// pep440Ops are the PEP 440 comparison operators, longest first.
var pep440Ops = []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"}

// releaseOnly matches a version that is only an (epoch and) release, the
// only form allowed before a ".*" wildcard.
var releaseOnly = lazyre.New(`(?i)^v?([0-9]+!)?[0-9]+(\.[0-9]+)*$`)

// validateClause checks one PEP 440 specifier clause (operator and
// version) and says what is wrong with it, or returns "".
func validateClause(op, ver string) string {
	if ver == "" {
		return fmt.Sprintf("the operator %s has no version after it", op)
	}
	if op == "===" {
		return "" // arbitrary equality: any string, not checked
	}
	base := ver
	if strings.HasSuffix(ver, ".*") {
		if op != "==" && op != "!=" {
			return fmt.Sprintf("the .* suffix can only be used with == or != (not %s%s)", op, ver)
		}
		base = strings.TrimSuffix(ver, ".*")
		if !releaseOnly.MatchString(base) {
			return fmt.Sprintf("%q: a .* wildcard can only follow a plain release number like 1.2", ver)
		}
	}
	if strings.Contains(base, "*") {
		return fmt.Sprintf("%q is not a valid version (a wildcard is only allowed as a trailing .* after == or !=)", ver)
	}
	if _, err := pep440.Parse(base); err != nil {
		return fmt.Sprintf("%q is not a valid PEP 440 version", ver)
	}
	if strings.Contains(base, "+") && op != "==" && op != "!=" {
		return fmt.Sprintf("a local version label (%s) can only be used with == or !=", ver)
	}
	if op == "~=" && strings.Count(releaseOf(base), ".") < 1 {
		return fmt.Sprintf("~=%s needs at least two release numbers (like ~=%s.0)", ver, ver)
	}
	return ""
}

// releaseOf returns the release part of a version ("1.2.3" of "v1!1.2.3rc1").
func releaseOf(ver string) string {
	v := strings.TrimPrefix(strings.TrimPrefix(ver, "v"), "V")
	if i := strings.IndexByte(v, '!'); i >= 0 {
		v = v[i+1:]
	}
	end := 0
	for end < len(v) && (v[end] >= '0' && v[end] <= '9' || v[end] == '.' && end+1 < len(v) && v[end+1] >= '0' && v[end+1] <= '9') {
		end++
	}
	return v[:end]
}

// cleanSpec removes whitespace and trailing commas from a specifier set,
// so that ">= 2.8.1, == 2.8.*" becomes ">=2.8.1,==2.8.*".
func cleanSpec(s string) string {
	s = strings.Join(strings.Fields(s), "")
	return strings.Trim(s, ",")
}

// checkSpecifierSet validates a whole PEP 440 specifier set as written in
// a requirement ("", ">=1,<2"), returning the byte offset and text of the
// first problem, or -1.
func checkSpecifierSet(s string) (int, string) {
	r := &reqParser{s: s}
	r.skipWS()
	if r.eof() {
		return -1, ""
	}
	if err := r.versionMany(); err != nil {
		return err.pos, err.msg
	}
	r.skipWS()
	if !r.eof() {
		return r.i, fmt.Sprintf("unexpected %q after the version specifier; separate clauses with commas, like >=1.0,<2.0", r.s[r.i:])
	}
	return -1, ""
}

// specAllows checks version against a PEP 440 specifier set (alternatives
// joined by "||").
func specAllows(spec, version string, pre bool) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("check %q against %q: %v", version, spec, r)
		}
	}()
	v, perr := pep440.Parse(strings.TrimSpace(version))
	if perr != nil {
		return false, fmt.Errorf("parse version %q: %w", version, perr)
	}
	if strings.TrimSpace(spec) == "" {
		return true, nil
	}
	var opts []pep440.SpecifierOption
	if pre {
		opts = append(opts, pep440.WithPreRelease(true))
	}
	ss, serr := pep440.NewSpecifiers(spec, opts...)
	if serr != nil {
		return false, fmt.Errorf("parse specifier %q: %w", spec, serr)
	}
	return ss.Check(v), nil
}

// poetryToken matches one Poetry constraint: an optional operator, spaces,
// and a version with optional wildcard parts.
var poetryToken = lazyre.New(`^(\^|~=|~|==|=|!=|<>|>=|<=|>|<)?\s*(v?[0-9][0-9A-Za-z.!+_-]*?)((?:\.[xX*])*)$`)

// poetryWildcard matches a Poetry "any version".
var poetryWildcard = lazyre.New(`^(?:v?[*xX])$`)

// poetryConstraint validates a Poetry version constraint and converts it
// to a PEP 440 specifier set. It returns what is wrong, or "".
func poetryConstraint(s string) (spec string, problem string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	var alts []string
	for _, alt := range splitPoetryOr(s) {
		alt = strings.TrimSpace(alt)
		if alt == "" {
			return "", fmt.Sprintf("%q has an empty alternative around ||", s)
		}
		var clauses []string
		for _, tok := range splitPoetryAnd(alt) {
			c, p := poetrySingle(tok)
			if p != "" {
				return "", p
			}
			if c != "" {
				clauses = append(clauses, c)
			}
		}
		alts = append(alts, strings.Join(clauses, ","))
	}
	for _, a := range alts {
		if a == "" {
			return "", "" // one alternative allows anything
		}
	}
	return strings.Join(alts, "||"), ""
}

// splitPoetryOr splits on "||" or "|".
func splitPoetryOr(s string) []string {
	s = strings.ReplaceAll(s, "||", "|")
	return strings.Split(s, "|")
}

// splitPoetryAnd splits a Poetry alternative into its clauses: they are
// separated by commas or spaces, but an operator may be followed by spaces.
func splitPoetryAnd(s string) []string {
	var out []string
	var cur strings.Builder
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	for _, f := range fields {
		if cur.Len() > 0 {
			cur.WriteString(f)
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		if strings.Trim(f, "^~=!<>") == "" {
			cur.WriteString(f) // a lone operator: the version follows
			continue
		}
		out = append(out, f)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// poetrySingle converts one Poetry clause to PEP 440.
func poetrySingle(tok string) (string, string) {
	if poetryWildcard.MatchString(tok) {
		return "", ""
	}
	m := poetryToken.FindStringSubmatch(tok)
	if m == nil {
		return "", fmt.Sprintf("%q is not a valid Poetry version constraint", tok)
	}
	op, ver, wild := m[1], m[2], m[3]
	if _, err := pep440.Parse(ver); err != nil {
		return "", fmt.Sprintf("%q is not a valid version in the constraint %q", ver, tok)
	}
	rel := releaseOf(ver)
	parts := strings.Split(rel, ".")
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return "", fmt.Sprintf("%q is not a valid version in the constraint %q", ver, tok)
		}
		nums[i] = n
	}
	if wild != "" {
		switch op {
		case "", "==", "=":
			return "==" + rel + ".*", ""
		case "!=", "<>":
			return "!=" + rel + ".*", ""
		default:
			return op + rel, ""
		}
	}
	switch op {
	case "^":
		upper := caretUpper(nums)
		return ">=" + ver + ",<" + upper, ""
	case "~":
		var upper string
		if len(nums) == 1 {
			upper = strconv.Itoa(nums[0] + 1)
		} else {
			upper = strconv.Itoa(nums[0]) + "." + strconv.Itoa(nums[1]+1)
		}
		return ">=" + ver + ",<" + upper, ""
	case "~=":
		if len(nums) < 2 {
			return "", fmt.Sprintf("~=%s needs at least two release numbers (like ~=%s.0)", ver, ver)
		}
		return "~=" + ver, ""
	case "", "=", "==":
		return "==" + ver, ""
	case "<>":
		return "!=" + ver, ""
	default:
		return op + ver, ""
	}
}

// caretUpper is the exclusive upper bound of ^version: the left-most
// non-zero release number bumped (the last one when all are zero), as
// Poetry does: ^1.2.3 → 2, ^0.2.3 → 0.3, ^0.0.3 → 0.0.4, ^0.0 → 0.1.
func caretUpper(nums []int) string {
	i := 0
	for i < len(nums)-1 && nums[i] == 0 {
		i++
	}
	out := make([]string, i+1)
	for j := 0; j < i; j++ {
		out[j] = strconv.Itoa(nums[j])
	}
	out[i] = strconv.Itoa(nums[i] + 1)
	return strings.Join(out, ".")
}
