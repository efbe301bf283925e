package health

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// Expectation is a check on the JSON body: the value at Path must equal
// Value. Path is dotted ("checks.database.status"); a segment that is a
// number indexes an array ("services.0.ok"). Keys that contain a dot cannot
// be addressed.
//
// Value is compared with the JSON value as written: a string as its text,
// a number numerically ("1" equals 1.0), true/false/null as those words, an
// object or array as its compact JSON. When Exists is true, the key only
// has to be there, whatever its value.
type Expectation struct {
	Path   string `json:"path"`
	Value  string `json:"value,omitempty"`
	Exists bool   `json:"exists,omitempty"`
}

// String formats e as it is written on the command line.
func (e Expectation) String() string {
	if e.Exists {
		return e.Path
	}
	return e.Path + "=" + e.Value
}

// ParseExpectation parses "path=value" (the value may be empty) or a bare
// "path", which only requires the key to exist.
func ParseExpectation(s string) (Expectation, error) {
	path, value, found := strings.Cut(s, "=")
	path = strings.TrimSpace(path)
	if path == "" {
		return Expectation{}, fmt.Errorf("JSON expectation %q: want KEY=VALUE (dotted KEY for nested objects) or KEY", s)
	}
	for _, seg := range strings.Split(path, ".") {
		if seg == "" {
			return Expectation{}, fmt.Errorf("JSON expectation %q: empty key segment in %q", s, path)
		}
	}
	if !found {
		return Expectation{Path: path, Exists: true}, nil
	}
	return Expectation{Path: path, Value: value}, nil
}

// check returns "" when doc satisfies e, else what is wrong.
func (e Expectation) check(doc any) string {
	cur := doc
	segs := strings.Split(e.Path, ".")
	for i, seg := range segs {
		at := "the top level"
		if i > 0 {
			at = strings.Join(segs[:i], ".")
		}
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return fmt.Sprintf("%s is missing (%s has keys %s)", e.Path, at, keyList(v))
			}
			cur = next
		case []any:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 || idx >= len(v) {
				return fmt.Sprintf("%s is missing (%s is an array of %d, so %q is not an index in it)", e.Path, at, len(v), seg)
			}
			cur = v[idx]
		default:
			return fmt.Sprintf("%s is missing (%s is %s, not an object)", e.Path, at, shortJSON(v))
		}
	}
	if e.Exists || matches(cur, e.Value) {
		return ""
	}
	return fmt.Sprintf("%s is %s, want %s", e.Path, shortJSON(cur), wantText(e.Value))
}

// matches compares a decoded JSON value with the expected text.
func matches(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case json.Number:
		a, ok1 := new(big.Float).SetString(x.String())
		b, ok2 := new(big.Float).SetString(strings.TrimSpace(want))
		if ok1 && ok2 {
			return a.Cmp(b) == 0
		}
		return x.String() == want
	case bool:
		return strconv.FormatBool(x) == strings.TrimSpace(want)
	case nil:
		return strings.TrimSpace(want) == "null"
	default:
		got, err := json.Marshal(x)
		if err != nil {
			return false
		}
		var buf bytes.Buffer
		if json.Compact(&buf, []byte(want)) != nil {
			return false
		}
		return bytes.Equal(got, buf.Bytes())
	}
}

// wantText shows the expected value as it would be matched.
func wantText(want string) string {
	return strconv.Quote(want)
}

// shortJSON renders a value as JSON, cut at 80 characters.
func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	s := string(b)
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80]) + "…"
	}
	return s
}

// keyList lists an object's keys, sorted, at most 10.
func keyList(m map[string]any) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, strconv.Quote(k))
	}
	slices.Sort(keys)
	if len(keys) > 10 {
		keys = append(keys[:10], "…")
	}
	return strings.Join(keys, ", ")
}
