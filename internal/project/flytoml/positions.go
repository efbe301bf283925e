package flytoml

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// keyPos is where one key path is defined in the file.
type keyPos struct {
	loc    report.Location // start of the key (or of the table header); EndLine is the last line of its value or section
	offset int             // byte offset of loc, used to keep keys in file order
	val    span            // the raw bytes of a scalar value; empty for tables and arrays
}

// span is a half-open byte range of the document.
type span struct{ start, end int }

// expr is one top-level TOML expression (a key/value or a table header) as
// seen by the position walker.
type expr struct {
	start  int // offset of the first byte ('[' or the key)
	line   int
	header bool     // a [table] or [[array]] header
	paths  []string // every key path the expression defines, from the outermost to its own
}

// positions maps every key path of a document to where it is written.
//
// Paths are written the way rules name them: dotted keys, with the index of
// each element of an array of tables or of an inline array, e.g.
// services[1].ports[0].port. A key that needs quoting in TOML is quoted.
type positions struct {
	file   string
	lines  []int // offset of the start of each line
	keys   map[string]*keyPos
	exprs  []expr
	arrays map[string]int // array-of-tables path -> number of elements seen
}

// walkPositions parses data with go-toml's unstable parser and records the
// position of every key path. It returns the parser error, if any; the
// expressions before the error are recorded.
func walkPositions(file string, data []byte) (*positions, error) {
	ps := &positions{
		file:   file,
		keys:   make(map[string]*keyPos, 64),
		arrays: make(map[string]int),
	}
	ps.lines = append(ps.lines, 0)
	for i, b := range data {
		if b == '\n' {
			ps.lines = append(ps.lines, i+1)
		}
	}

	var p unstable.Parser
	p.Reset(data)
	var table []string // paths of the current table and its ancestors, outermost first
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = ps.header(data, n)
		case unstable.KeyValue:
			ps.keyValue(n, table, true)
		}
	}
	return ps, p.Error()
}

// lineCol converts a byte offset into a 1-based line and column (in bytes).
func (ps *positions) lineCol(offset int) (int, int) {
	i := sort.Search(len(ps.lines), func(i int) bool { return ps.lines[i] > offset }) - 1
	if i < 0 {
		i = 0
	}
	return i + 1, offset - ps.lines[i] + 1
}

// offsetOf converts a 1-based line and column back into a byte offset.
func (ps *positions) offsetOf(line, col int) int {
	if line < 1 {
		return 0
	}
	if line > len(ps.lines) {
		line = len(ps.lines)
	}
	return ps.lines[line-1] + col - 1
}

func (ps *positions) at(offset int) report.Location {
	line, col := ps.lineCol(offset)
	return report.Location{File: ps.file, Line: line, Column: col, EndLine: line}
}

// record stores the position of path unless it is already known (the first
// definition wins) and stretches its end line to endLine.
func (ps *positions) record(path string, offset, endLine int, val span) {
	if kp, ok := ps.keys[path]; ok {
		if endLine > kp.loc.EndLine {
			kp.loc.EndLine = endLine
		}
		return
	}
	loc := ps.at(offset)
	if endLine > loc.EndLine {
		loc.EndLine = endLine
	}
	ps.keys[path] = &keyPos{loc: loc, offset: offset, val: val}
}

// stretch extends the end line of every path in paths to endLine.
func (ps *positions) stretch(paths []string, endLine int) {
	for _, p := range paths {
		if kp, ok := ps.keys[p]; ok && endLine > kp.loc.EndLine {
			kp.loc.EndLine = endLine
		}
	}
}

// header records a [table] or [[array]] header and returns the paths of the
// table it opens and of its ancestors.
func (ps *positions) header(data []byte, n *unstable.Node) []string {
	it := n.Key()
	var parts []*unstable.Node
	for it.Next() {
		parts = append(parts, it.Node())
	}
	if len(parts) == 0 {
		return nil
	}
	// The header starts at its opening bracket, before the first key.
	start := int(parts[0].Raw.Offset)
	for start > 0 && (data[start-1] == ' ' || data[start-1] == '\t') {
		start--
	}
	for i := 0; i < 2 && start > 0 && data[start-1] == '['; i++ {
		start--
	}
	line, _ := ps.lineCol(start)

	var paths []string
	path := ""
	for i, k := range parts {
		path = joinKey(path, string(k.Data))
		last := i == len(parts)-1
		switch {
		case last && n.Kind == unstable.ArrayTable:
			idx := ps.arrays[path]
			ps.arrays[path] = idx + 1
			ps.record(path, start, line, span{})
			paths = append(paths, path)
			path += "[" + strconv.Itoa(idx) + "]"
		default:
			if cnt, ok := ps.arrays[path]; ok && cnt > 0 {
				ps.record(path, start, line, span{})
				paths = append(paths, path)
				path += "[" + strconv.Itoa(cnt-1) + "]"
			}
		}
		ps.record(path, start, line, span{})
		paths = append(paths, path)
	}
	ps.exprs = append(ps.exprs, expr{start: start, line: line, header: true, paths: paths})
	return paths
}

// keyValue records a key/value under the table whose paths are given. When
// top is true the key/value is a top-level expression.
func (ps *positions) keyValue(n *unstable.Node, table []string, top bool) {
	ps.keyValueAt(n, table, top, 0)
}

func (ps *positions) keyValueAt(n *unstable.Node, table []string, top bool, depth int) {
	start := int(n.Raw.Offset)
	end := start + int(n.Raw.Length)
	if n.Raw.Length == 0 {
		// Keys inside inline tables carry no range of their own.
		if it := n.Key(); it.Next() {
			start = int(it.Node().Raw.Offset)
			end = start + int(it.Node().Raw.Length)
		}
	}
	endLine, _ := ps.lineCol(max(start, end-1))
	ps.stretch(table, endLine)

	base := ""
	if len(table) > 0 {
		base = table[len(table)-1]
	}
	var paths []string
	path := base
	it := n.Key()
	for it.Next() {
		path = joinKey(path, string(it.Node().Data))
		paths = append(paths, path)
	}
	if len(paths) == 0 {
		return
	}
	v := n.Value()
	var val span
	if v != nil && v.Kind != unstable.Array && v.Kind != unstable.InlineTable {
		val = span{int(v.Raw.Offset), int(v.Raw.Offset + v.Raw.Length)}
	}
	for i, p := range paths {
		if i == len(paths)-1 {
			ps.record(p, start, endLine, val)
		} else {
			ps.record(p, start, endLine, span{})
		}
	}
	if top {
		line, _ := ps.lineCol(start)
		all := append(append([]string(nil), table...), paths...)
		ps.exprs = append(ps.exprs, expr{start: start, line: line, paths: all})
	}
	if v != nil {
		ps.value(v, path, start, endLine, depth)
	}
}

// maxValueDepth bounds how deep into nested arrays and inline tables
// positions are recorded; fly.toml values nest two or three levels at most,
// and recording deeper would cost time quadratic in the depth.
const maxValueDepth = 16

// value records the elements of arrays and the keys of inline tables found
// in a value written at path.
func (ps *positions) value(v *unstable.Node, path string, start, endLine, depth int) {
	if depth >= maxValueDepth {
		return
	}
	switch v.Kind {
	case unstable.Array:
		i := 0
		it := v.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			p := path + "[" + strconv.Itoa(i) + "]"
			i++
			off := start
			var val span
			switch c.Kind {
			case unstable.Array:
			case unstable.InlineTable:
				off = int(c.Raw.Offset)
			default:
				off = int(c.Raw.Offset)
				val = span{off, off + int(c.Raw.Length)}
			}
			ps.record(p, off, endLine, val)
			ps.value(c, p, off, endLine, depth+1)
		}
	case unstable.InlineTable:
		table := []string{path}
		it := v.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind != unstable.KeyValue {
				continue
			}
			ps.keyValueAt(c, table, false, depth+1)
		}
	}
}

// find returns the position of path.
func (ps *positions) find(path string) (*keyPos, bool) {
	kp, ok := ps.keys[path]
	return kp, ok
}

// exprAt returns the index of the expression that contains offset, or -1.
func (ps *positions) exprAt(offset int) int {
	i := sort.Search(len(ps.exprs), func(i int) bool { return ps.exprs[i].start > offset }) - 1
	return i
}

// joinKey appends one key part to a path, quoting it when it is not a bare
// TOML key.
func joinKey(path, key string) string {
	k := key
	if !isBareKey(key) {
		k = strconv.Quote(key)
	}
	if path == "" {
		return k
	}
	return path + "." + k
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// indexPath returns path with the index i of an array element.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// stripIndexes removes every [n] from a path: services[1].ports[0] ->
// services.ports.
func stripIndexes(path string) string {
	if !strings.Contains(path, "[") {
		return path
	}
	var b strings.Builder
	inQuote := false
	skip := false
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '"' && (i == 0 || path[i-1] != '\\'):
			inQuote = !inQuote
		case !inQuote && c == '[':
			skip = true
			continue
		case !inQuote && c == ']':
			skip = false
			continue
		}
		if !skip {
			b.WriteByte(c)
		}
	}
	return b.String()
}
