package flytoml

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
	toml "github.com/pelletier/go-toml/v2"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// Rule ids of the findings this package raises.
const (
	RuleSyntax     = "fly-toml-syntax"
	RuleType       = "fly-toml-type"
	RuleUnknownKey = "fly-toml-unknown-key"
)

// referenceURL is flyctl's configuration reference.
const referenceURL = "https://fly.io/docs/reference/configuration/"

// conv converts the decoded document into the typed model, raising findings
// for values of the wrong type and for keys flyctl does not know.
type conv struct {
	file     string
	data     []byte
	pos      *positions
	findings []report.Finding
}

// table is one TOML table being converted. Every key the converter asks for
// is remembered: the keys nobody asked for are the unknown ones.
type table struct {
	c     *conv
	path  string
	m     map[string]any
	asked map[string]bool
	loc   report.Location
	// noDone makes done a no-op: the table is a view whose owner reports.
	noDone bool
}

func (c *conv) table(path string, m map[string]any) *table {
	return &table{c: c, path: path, m: m, asked: make(map[string]bool, len(m)+8), loc: c.loc(path)}
}

// loc returns the location of path, falling back to its closest recorded
// ancestor and then to the start of the file.
func (c *conv) loc(path string) report.Location {
	for p := path; p != ""; p = parentPath(p) {
		if kp, ok := c.pos.find(p); ok {
			return kp.loc
		}
	}
	return report.Location{File: c.file, Line: 1, Column: 1, EndLine: 1}
}

// parentPath drops the last key or index of a path.
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") && !strings.HasSuffix(p, "\"]") {
		if i := strings.LastIndexByte(p, '['); i > 0 {
			return p[:i]
		}
	}
	inQuote := false
	last := -1
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '"' && (i == 0 || p[i-1] != '\\'):
			inQuote = !inQuote
		case p[i] == '.' && !inQuote:
			last = i
		case p[i] == '[' && !inQuote:
			last = i - 1
		}
	}
	if last < 0 {
		return ""
	}
	if p[last] == '.' {
		return p[:last]
	}
	return p[:last+1]
}

// sectionName names the table at path the way it is written in fly.toml.
func sectionName(path string) string {
	if path == "" {
		return "the top level"
	}
	name := stripIndexes(path)
	if strings.HasSuffix(path, "]") {
		return "[[" + name + "]]"
	}
	return "[" + name + "]"
}

func (t *table) name() string { return sectionName(t.path) }

// where says where the table's keys are: "in [http_service]", "at the top
// level".
func (t *table) where() string {
	if t.path == "" {
		return "at the top level"
	}
	return "in " + t.name()
}

func (t *table) keyPath(key string) string { return joinKey(t.path, key) }

func (t *table) keyLoc(key string) report.Location { return t.c.loc(t.keyPath(key)) }

// get returns the raw value of key and marks the key as known.
func (t *table) get(key string) (any, bool) {
	if t == nil {
		return nil, false
	}
	t.asked[key] = true
	v, ok := t.m[key]
	return v, ok
}

// known marks keys as known without reading them.
func (t *table) known(keys ...string) {
	for _, k := range keys {
		t.asked[k] = true
	}
}

// orderedKeys returns the keys of m in file order.
func (c *conv) orderedKeys(path string, m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	off := func(k string) int {
		if kp, ok := c.pos.find(joinKey(path, k)); ok {
			return kp.offset
		}
		return math.MaxInt
	}
	sort.SliceStable(keys, func(i, j int) bool {
		oi, oj := off(keys[i]), off(keys[j])
		if oi != oj {
			return oi < oj
		}
		return keys[i] < keys[j]
	})
	return keys
}

// rawValue returns the value of path as written in the file (empty for
// tables and arrays).
func (c *conv) rawValue(path string) string {
	kp, ok := c.pos.find(path)
	if !ok || kp.val.end <= kp.val.start || kp.val.end > len(c.data) {
		return ""
	}
	return string(c.data[kp.val.start:kp.val.end])
}

// finding helpers

func (c *conv) add(f report.Finding) {
	f.File = c.file
	c.findings = append(c.findings, f)
}

// typeFinding reports a value of the wrong type at key. fatal says whether
// flyctl refuses the file (error) or silently ignores the value (warning).
func (t *table) typeFinding(key string, fatal bool, msg, fix string) {
	sev := report.Error
	if !fatal {
		sev = report.Warning
		msg += "; flyctl ignores it"
	}
	t.c.add(report.Finding{
		Rule:     RuleType,
		Severity: sev,
		Location: t.keyLoc(key),
		Title:    "Wrong value type in fly.toml",
		Message:  msg,
		Fix:      fix,
	})
}

// wrongType reports that key holds v where want was expected. The value is
// quoted in the message only when show is true (never for free-form
// sections that may hold secrets).
func (t *table) wrongType(key string, v any, want, fix string, fatal, show bool) {
	got := describe(v)
	if show {
		if raw := t.c.rawValue(t.keyPath(key)); raw != "" && len(raw) <= 60 && !strings.ContainsAny(raw, "\n") {
			got += " (" + raw + ")"
		}
	}
	t.typeFinding(key, fatal, fmt.Sprintf("`%s` %s must be %s, but it is %s", key, t.where(), want, got), fix)
}

// describe names the TOML type of a decoded value.
func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a number with a fraction"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []any:
		return "an array"
	case toml.LocalDate, toml.LocalDateTime, toml.LocalTime, time.Time:
		return "a date or time"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// typed readers

func (t *table) str(key string) Value[string] { return t.readStr(key, true) }

// strQuiet is str for keys whose value must never be quoted in a finding.
func (t *table) strQuiet(key string) Value[string] { return t.readStr(key, false) }

func (t *table) readStr(key string, show bool) Value[string] {
	v, ok := t.get(key)
	if !ok {
		return Value[string]{}
	}
	s, isStr := v.(string)
	if !isStr {
		t.wrongType(key, v, "a string", fmt.Sprintf("Put the value in double quotes, e.g. `%s = \"...\"`.", key), true, show)
		return Value[string]{}
	}
	return Value[string]{V: s, Loc: t.keyLoc(key), Set: true}
}

// scalarString reads any scalar as the text flyctl would make of it (its
// castToString: strings as they are, anything else through %v).
func (t *table) scalarString(key string) Value[string] {
	v, ok := t.get(key)
	if !ok {
		return Value[string]{}
	}
	switch x := v.(type) {
	case string:
		return Value[string]{V: x, Loc: t.keyLoc(key), Set: true}
	case map[string]any, []any:
		t.wrongType(key, v, "a string", fmt.Sprintf("Write a single value, e.g. `%s = \"...\"`.", key), true, false)
		return Value[string]{}
	default:
		return Value[string]{V: fmt.Sprintf("%v", x), Loc: t.keyLoc(key), Set: true}
	}
}

// integer reads a whole number. With cast, a string holding a number is
// accepted too (flyctl's castToInt, used for ports).
func (t *table) integer(key string, cast bool) Value[int] {
	v, ok := t.get(key)
	if !ok {
		return Value[int]{}
	}
	fix := fmt.Sprintf("Write a whole number without quotes, e.g. `%s = %s`.", key, intExample(key, v))
	switch x := v.(type) {
	case int64:
		return Value[int]{V: int(x), Loc: t.keyLoc(key), Set: true}
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) && math.Abs(x) < 1<<53 {
			return Value[int]{V: int(x), Loc: t.keyLoc(key), Set: true}
		}
		if cast {
			return Value[int]{V: int(x), Loc: t.keyLoc(key), Set: true}
		}
		t.wrongType(key, v, "a whole number", fix, true, true)
	case string:
		if cast {
			n, err := strconv.Atoi(x)
			if err == nil {
				return Value[int]{V: n, Loc: t.keyLoc(key), Set: true}
			}
			t.typeFinding(key, true, fmt.Sprintf("`%s` %s must be a whole number; flyctl cannot read the string %s as one", key, t.where(), strconv.Quote(x)), fix)
			return Value[int]{}
		}
		t.wrongType(key, v, "a whole number", fix, true, true)
	default:
		t.wrongType(key, v, "a whole number", fix, true, true)
	}
	return Value[int]{}
}

func (t *table) float(key string) Value[float64] {
	v, ok := t.get(key)
	if !ok {
		return Value[float64]{}
	}
	switch x := v.(type) {
	case int64:
		return Value[float64]{V: float64(x), Loc: t.keyLoc(key), Set: true}
	case float64:
		return Value[float64]{V: x, Loc: t.keyLoc(key), Set: true}
	}
	t.wrongType(key, v, "a number", fmt.Sprintf("Write a number without quotes, e.g. `%s = 1` or `%s = 0.25`.", key, key), true, true)
	return Value[float64]{}
}

func (t *table) boolean(key string) Value[bool] {
	v, ok := t.get(key)
	if !ok {
		return Value[bool]{}
	}
	b, isBool := v.(bool)
	if !isBool {
		t.wrongType(key, v, "true or false", fmt.Sprintf("Write `%s = true` or `%s = false`, without quotes.", key, key), true, true)
		return Value[bool]{}
	}
	return Value[bool]{V: b, Loc: t.keyLoc(key), Set: true}
}

// strs reads an array of strings. With single, a lone string is accepted
// as a one-element list (flyctl does so for [experimental] cmd/entrypoint).
func (t *table) strs(key string, single bool) []string {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	fix := fmt.Sprintf("Write a list of strings, e.g. `%s = [\"app\"]`.", key)
	switch x := v.(type) {
	case string:
		if single {
			return []string{x}
		}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, isStr := e.(string)
			if !isStr {
				t.wrongType(key, v, "a list of strings", fix, true, false)
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	t.wrongType(key, v, "a list of strings", fix, true, true)
	return nil
}

// intExample is the number shown in the fix for an integer key: the value
// itself when it is a number in quotes, else a typical value.
func intExample(key string, v any) string {
	if s, isStr := v.(string); isStr {
		if _, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return strings.TrimSpace(s)
		}
	}
	switch key {
	case "internal_port", "port":
		return "8080"
	case "swap_size_mb", "memory_mb":
		return "512"
	default:
		return "1"
	}
}

// durUnit is what flyctl makes of a bare number in a duration field.
type durUnit time.Duration

const (
	bareSeconds durUnit = durUnit(time.Second)      // kill_timeout
	bareMillis  durUnit = durUnit(time.Millisecond) // checks of [[services]] and [checks]
	bareNanos   durUnit = 1                         // everything read through fly.Duration
)

// duration reads a duration the way flyctl reads the key: a string is parsed
// with time.ParseDuration, a bare number is scaled by unit.
func (t *table) duration(key string, unit durUnit) Value[time.Duration] {
	v, ok := t.get(key)
	if !ok {
		return Value[time.Duration]{}
	}
	fix := fmt.Sprintf("Write a duration string with a unit, e.g. `%s = \"10s\"` or `%s = \"1m30s\"`.", key, key)
	if s, isStr := v.(string); isStr {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			fix = fmt.Sprintf("Add the unit, e.g. `%s = \"%ss\"` for %s seconds.", key, s, s)
		}
	}
	loc := t.keyLoc(key)
	var d time.Duration
	switch x := v.(type) {
	case string:
		if x == "" && unit != bareNanos {
			return Value[time.Duration]{} // flyctl drops an empty duration here
		}
		parsed, err := time.ParseDuration(x)
		if err != nil {
			t.typeFinding(key, true, fmt.Sprintf("`%s` %s must be a duration such as \"10s\", but flyctl cannot read %s as one", key, t.where(), strconv.Quote(x)), fix)
			return Value[time.Duration]{}
		}
		return Value[time.Duration]{V: parsed, Loc: loc, Set: true}
	case int64:
		d = time.Duration(x) * time.Duration(unit)
	case float64:
		d = time.Duration(x) * time.Duration(unit)
	default:
		// flyctl's patches silently drop other types; fly.Duration refuses them.
		t.wrongType(key, v, "a duration such as \"10s\"", fix, unit == bareNanos, true)
		return Value[time.Duration]{}
	}
	if unit == bareNanos && d != 0 {
		raw := t.c.rawValue(t.keyPath(key))
		t.c.add(report.Finding{
			Rule:     RuleType,
			Severity: report.Warning,
			Location: loc,
			Title:    "Duration without a unit in fly.toml",
			Message:  fmt.Sprintf("`%s = %s` %s has no unit, so flyctl reads it as %s", key, raw, t.where(), d),
			Fix:      fmt.Sprintf("Write the duration as a string with its unit: `%s = \"%ss\"` for %s seconds, `%s = \"%sms\"` for milliseconds.", key, raw, raw, key, raw),
		})
	}
	return Value[time.Duration]{V: d, Loc: loc, Set: true}
}

// autostop reads auto_stop_machines: "off", "stop", "suspend", or a boolean
// (true is "stop", false is "off").
func (t *table) autostop(key string) Value[string] {
	v, ok := t.get(key)
	if !ok {
		return Value[string]{}
	}
	fix := fmt.Sprintf("Write `%s = \"stop\"`, `\"suspend\"` or `\"off\"`.", key)
	switch x := v.(type) {
	case bool:
		s := "off"
		if x {
			s = "stop"
		}
		return Value[string]{V: s, Loc: t.keyLoc(key), Set: true}
	case string:
		switch x {
		case "off", "stop", "suspend":
			return Value[string]{V: x, Loc: t.keyLoc(key), Set: true}
		}
		t.typeFinding(key, true, fmt.Sprintf("`%s` %s must be \"off\", \"stop\" or \"suspend\", not %s", key, t.where(), strconv.Quote(x)), fix)
		return Value[string]{}
	}
	t.wrongType(key, v, "\"off\", \"stop\" or \"suspend\"", fix, true, true)
	return Value[string]{}
}

// sub returns the table at key, nil when absent or not a table.
func (t *table) sub(key string) *table {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		t.wrongType(key, v, "a table", fmt.Sprintf("Write it as a section: `[%s]` followed by its keys.", stripIndexes(t.keyPath(key))), true, false)
		return nil
	}
	return t.c.table(t.keyPath(key), m)
}

// list returns the array of tables at key. When lenient, a single table is
// accepted as a list of one (flyctl's ensureArrayOfMap); its positions are
// then also reachable as key[0].
func (t *table) list(key string, lenient bool) []*table {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	path := t.keyPath(key)
	switch x := v.(type) {
	case map[string]any:
		if lenient {
			t.c.alias(path, indexPath(path, 0))
			return []*table{t.c.table(path, x)}
		}
		t.typeFinding(key, true, fmt.Sprintf("`[%s]` must be an array of tables", stripIndexes(path)),
			fmt.Sprintf("Write the section header with double brackets: `[[%s]]`.", stripIndexes(path)))
		return nil
	case []any:
		out := make([]*table, 0, len(x))
		for i, e := range x {
			m, isMap := e.(map[string]any)
			if !isMap {
				t.wrongType(key, v, "an array of tables", fmt.Sprintf("Write each entry as a `[[%s]]` section.", stripIndexes(path)), true, false)
				return out
			}
			out = append(out, t.c.table(indexPath(path, i), m))
		}
		return out
	}
	t.wrongType(key, v, "an array of tables", fmt.Sprintf("Write each entry as a `[[%s]]` section.", stripIndexes(path)), true, false)
	return nil
}

// alias makes every position recorded under from reachable under to as well.
func (c *conv) alias(from, to string) {
	var add []string
	for k := range c.pos.keys {
		if k == from || strings.HasPrefix(k, from+".") || strings.HasPrefix(k, from+"[") {
			add = append(add, k)
		}
	}
	for _, k := range add {
		nk := to + k[len(from):]
		if _, ok := c.pos.keys[nk]; !ok {
			kp := *c.pos.keys[k]
			c.pos.keys[nk] = &kp
		}
	}
}

// shape describes the known keys of a section the model does not keep. A
// nil shape accepts any value; anyKey accepts any key.
type shape map[string]shape

const anyKey = "*"

var freeForm = shape{anyKey: nil}

// opaque marks key as known and reports unknown keys inside it by shape.
func (t *table) opaque(key string, s shape) {
	v, ok := t.get(key)
	if !ok || s == nil {
		return
	}
	t.c.checkShape(t.keyPath(key), v, s)
}

func (c *conv) checkShape(path string, v any, s shape) {
	if s == nil {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if _, anything := s[anyKey]; anything {
			return
		}
		t := c.table(path, x)
		for k := range x {
			if sub, ok := s[k]; ok {
				t.known(k)
				c.checkShape(t.keyPath(k), x[k], sub)
			}
		}
		t.done()
	case []any:
		for i, e := range x {
			c.checkShape(indexPath(path, i), e, s)
		}
	}
}

// hint is advice for an unknown key that is a common mistake.
type hint struct{ note, fix string }

// hints are keyed by section path (without indexes) and key.
var hints = map[string]hint{
	"build.target": {"flyctl's key for the Dockerfile stage is `build-target`",
		"Rename `target` to `build-target`; as written, flyctl builds the last stage of the Dockerfile."},
	"build.docker_build_target": {"flyctl's key for the Dockerfile stage is `build-target`",
		"Rename `docker_build_target` to `build-target`; as written, flyctl builds the last stage of the Dockerfile."},
	"build.context": {"flyctl has no build context key: the context is the directory `fly deploy` is run on",
		"Remove the key and run `fly deploy <dir>` (or set the working directory of the deploy step) to choose the build context."},
	"http_service.port": {"the port the app listens on is `internal_port`", "Rename `port` to `internal_port`."},
	"http_service.ports": {"[http_service] always serves ports 80 and 443",
		"Remove these sections, or declare the extra ports with [[services]] and [[services.ports]]."},
	"http_service.tcp_checks": {"[http_service] only takes HTTP checks, written [[http_service.checks]]",
		"Use [[http_service.checks]], or a top-level [checks.NAME] section with type = \"tcp\"."},
	"http_service.http_checks": {"the health checks of [http_service] are written [[http_service.checks]]",
		"Rename the section to [[http_service.checks]]."},
	"http_service.timeout": {"flyctl has no timeout section",
		"Remove it; the idle timeout is `idle_timeout` in [http_service.http_options]."},
	"services.timeout": {"flyctl has no timeout section",
		"Remove it; the idle timeout is `idle_timeout` in [services.ports.http_options]."},
	"services.checks": {"the health checks of [[services]] are [[services.http_checks]] and [[services.tcp_checks]]",
		"Rename the section to [[services.http_checks]] or [[services.tcp_checks]]."},
	"region": {"the key is `primary_region`", "Rename `region` to `primary_region`."},
	"name":   {"the app name key is `app`", "Rename `name` to `app`."},
}

// topLevelKeys are the scalar keys of the top level. Found inside a
// section, they were almost always meant for the top level and written
// below a header by mistake.
var topLevelKeys = map[string]bool{
	"app": true, "primary_region": true, "kill_signal": true, "kill_timeout": true,
	"swap_size_mb": true, "console_command": true, "host_dedication_id": true,
}

// done reports every key of the table that no reader asked for.
func (t *table) done() {
	if t == nil || t.noDone {
		return
	}
	section := stripIndexes(t.path)
	for _, k := range t.c.orderedKeys(t.path, t.m) {
		if t.asked[k] {
			continue
		}
		what := "key"
		label := k
		if isTableValue(t.m[k]) {
			what = "section"
			label = sectionName(t.keyPath(k))
			if _, isList := t.m[k].([]any); isList {
				label = "[[" + stripIndexes(t.keyPath(k)) + "]]"
			}
		}
		msg := fmt.Sprintf("unknown %s `%s` in %s; flyctl ignores it", what, label, t.name())
		if t.path == "" {
			msg = fmt.Sprintf("unknown %s `%s` at the top level; flyctl ignores it", what, label)
		}
		fix := "Check the spelling against " + referenceURL + ", or remove it."
		hk := k
		if section != "" {
			hk = section + "." + k
		}
		if topLevelKeys[k] && t.path != "" && !isTableValue(t.m[k]) {
			msg = fmt.Sprintf("`%s` is written below the %s header, so TOML puts it inside %s, where flyctl ignores it", k, t.name(), t.name())
			fix = fmt.Sprintf("Move `%s` above the first [section] header: top-level keys must come before any section.", k)
		} else if h, ok := hints[hk]; ok {
			msg += " (" + h.note + ")"
			fix = h.fix
		} else if s := t.suggest(k); s != "" {
			msg += fmt.Sprintf(" (did you mean `%s`?)", s)
			fix = fmt.Sprintf("Rename it to `%s` if that is what you meant; otherwise check it against %s or remove it.", s, referenceURL)
		}
		t.c.add(report.Finding{
			Rule:     RuleUnknownKey,
			Severity: report.Warning,
			Location: t.keyLoc(k),
			Title:    "Unknown key in fly.toml",
			Message:  msg,
			Fix:      fix,
		})
	}
}

// suggest returns the known key closest to k, if it is close enough to be a
// likely misspelling.
func (t *table) suggest(k string) string {
	best, bestD := "", 3
	lk := strings.ToLower(k)
	for cand := range t.asked {
		if cand == anyKey {
			continue
		}
		d := levenshtein.ComputeDistance(lk, cand)
		if d < bestD || d == bestD && best != "" && cand < best {
			best, bestD = cand, d
		}
	}
	if best == "" || bestD > len(k)/3+1 {
		return ""
	}
	return best
}

func isTableValue(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return true
	case []any:
		if len(x) == 0 {
			return false
		}
		_, ok := x[0].(map[string]any)
		return ok
	}
	return false
}
