package pydeps

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// tkind is the kind of a TOML value in tnode.
type tkind int

const (
	tOther tkind = iota // number, date…
	tString
	tBool
	tTable
	tArray
)

func (k tkind) String() string {
	switch k {
	case tString:
		return "a string"
	case tBool:
		return "a boolean"
	case tTable:
		return "a table"
	case tArray:
		return "an array"
	}
	return "a number or date"
}

// tnode is a TOML value with where it was written.
type tnode struct {
	kind tkind
	str  string // string value; raw text for tOther
	b    bool
	// line/col is where the value starts (0 when the parser gives no
	// position, as for arrays); keyLine/keyCol where the key naming it is.
	line, col       int
	endLine         int
	keyLine, keyCol int
	raw             []byte // the string's raw bytes, quotes included
	keys            []string
	m               map[string]*tnode
	arr             []*tnode
	tables          bool // an array of tables
}

// get returns the child named key of a table, or nil.
func (n *tnode) get(key string) *tnode {
	if n == nil || n.kind != tTable {
		return nil
	}
	return n.m[key]
}

// path follows keys from n, or returns nil.
func (n *tnode) path(keys ...string) *tnode {
	for _, k := range keys {
		n = n.get(k)
	}
	return n
}

// where returns the best position of the node: the value's, else its
// key's, else fallback's.
func (n *tnode) where(fallback *tnode) (int, int) {
	switch {
	case n != nil && n.line > 0:
		return n.line, n.col
	case n != nil && n.keyLine > 0:
		return n.keyLine, n.keyCol
	case fallback != nil:
		return fallback.where(nil)
	}
	return 1, 1
}

func newTable() *tnode { return &tnode{kind: tTable, m: map[string]*tnode{}} }

// set stores v under key in table t, keeping key order.
func (t *tnode) set(key string, v *tnode) {
	if _, ok := t.m[key]; !ok {
		t.keys = append(t.keys, key)
	}
	t.m[key] = v
}

// tomlDoc builds a tnode tree from go-toml's unstable parser.
type tomlDoc struct {
	data       []byte
	lineStarts []int
	p          unstable.Parser
}

// position turns a byte offset into a 1-based line and character column.
func (d *tomlDoc) position(off int) (int, int) {
	i := sort.SearchInts(d.lineStarts, off+1) - 1
	if i < 0 {
		i = 0
	}
	start := d.lineStarts[i]
	if off > len(d.data) {
		off = len(d.data)
	}
	return i + 1, utf8.RuneCount(d.data[start:off]) + 1
}

// parseTOML parses data into a tree of positioned values. The tree holds
// what was read before the first syntax error, if any. The error comes
// from go-toml's full decoder, which also catches duplicate keys and type
// conflicts; its position is the returned line and column.
func parseTOML(data []byte) (root *tnode, line, col int, err error) {
	var any map[string]interface{}
	if derr := toml.Unmarshal(data, &any); derr != nil {
		err = derr
		line, col = 1, 1
		var de *toml.DecodeError
		if errors.As(derr, &de) {
			line, col = de.Position()
		}
	}
	// Read the tree past a UTF-8 byte-order mark, so that a file whose
	// only fault is the mark still yields its dependencies.
	body := bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	d := &tomlDoc{data: body, lineStarts: []int{0}}
	for i, c := range body {
		if c == '\n' {
			d.lineStarts = append(d.lineStarts, i+1)
		}
	}
	root = newTable()
	func() {
		defer func() {
			if r := recover(); r != nil && err == nil {
				// The unstable parser has no stability promise; never let
				// it take the loader down.
				err = fmt.Errorf("toml: %v", r)
				line, col = 1, 1
			}
		}()
		d.build(root)
	}()
	return root, line, col, err
}

// build walks the document's expressions into root.
func (d *tomlDoc) build(root *tnode) {
	d.p.Reset(d.data)
	cur := root
	for d.p.NextExpression() {
		e := d.p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			keys, kl, kc := d.keyParts(e.Key())
			if len(keys) == 0 {
				continue
			}
			parent := root
			for _, k := range keys[:len(keys)-1] {
				parent = d.descend(parent, k, kl, kc)
			}
			last := keys[len(keys)-1]
			if e.Kind == unstable.Table {
				t := d.descend(parent, last, kl, kc)
				t.keyLine, t.keyCol = kl, kc
				cur = t
				continue
			}
			arr := parent.m[last]
			if arr == nil || arr.kind != tArray {
				arr = &tnode{kind: tArray, tables: true, keyLine: kl, keyCol: kc}
				parent.set(last, arr)
			}
			t := newTable()
			t.keyLine, t.keyCol, t.line, t.col = kl, kc, kl, kc
			arr.arr = append(arr.arr, t)
			cur = t
		case unstable.KeyValue:
			d.keyValue(cur, e)
		}
	}
}

// descend returns the table under key k of t, creating it when missing;
// for an array of tables it is the last element, as TOML specifies.
func (d *tomlDoc) descend(t *tnode, k string, kl, kc int) *tnode {
	n := t.m[k]
	switch {
	case n == nil:
		n = newTable()
		n.keyLine, n.keyCol = kl, kc
		t.set(k, n)
	case n.kind == tArray && len(n.arr) > 0 && n.arr[len(n.arr)-1].kind == tTable:
		n = n.arr[len(n.arr)-1]
	case n.kind != tTable:
		// A conflict go-toml's decoder reports; keep a detached table.
		n = newTable()
		n.keyLine, n.keyCol = kl, kc
	}
	return n
}

// keyParts returns a key's parts and the position of its first part.
func (d *tomlDoc) keyParts(it unstable.Iterator) ([]string, int, int) {
	var keys []string
	line, col := 0, 0
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line, col = d.position(int(k.Raw.Offset))
		}
		keys = append(keys, string(k.Data))
	}
	return keys, line, col
}

// keyValue stores a key = value expression under table t.
func (d *tomlDoc) keyValue(t *tnode, e *unstable.Node) {
	keys, kl, kc := d.keyParts(e.Key())
	if len(keys) == 0 {
		return
	}
	for _, k := range keys[:len(keys)-1] {
		t = d.descend(t, k, kl, kc)
	}
	v := d.value(e.Value())
	v.keyLine, v.keyCol = kl, kc
	if e.Raw.Length > 0 {
		end := int(e.Raw.Offset + e.Raw.Length)
		if end > 0 {
			end--
		}
		v.endLine, _ = d.position(end)
	}
	if v.endLine < kl {
		v.endLine = kl
	}
	t.set(keys[len(keys)-1], v)
}

// value converts a value node.
func (d *tomlDoc) value(n *unstable.Node) *tnode {
	v := &tnode{}
	if n == nil {
		return v
	}
	if n.Raw.Length > 0 || n.Kind == unstable.String {
		v.line, v.col = d.position(int(n.Raw.Offset))
	}
	switch n.Kind {
	case unstable.String:
		v.kind, v.str = tString, string(n.Data)
		v.raw = d.p.Raw(n.Raw)
	case unstable.Bool:
		v.kind, v.b = tBool, string(n.Data) == "true"
	case unstable.Array:
		v.kind = tArray
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			v.arr = append(v.arr, d.value(c))
		}
		if len(v.arr) > 0 && v.arr[0].line > 0 {
			v.line, v.col = v.arr[0].line, v.arr[0].col
		}
	case unstable.InlineTable:
		v.kind, v.m = tTable, map[string]*tnode{}
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.KeyValue {
				d.keyValue(v, c)
			}
		}
	default:
		v.kind, v.str = tOther, string(n.Data)
	}
	return v
}

// innerPos returns the position of byte offset k of a string value: exact
// for a one-line string without escapes, else the string's start.
func innerPos(n *tnode, k int) (int, int) {
	if n == nil || n.line == 0 {
		return n.where(nil)
	}
	if len(n.raw) >= 2 && !bytes.ContainsAny(n.raw, "\\\n") && !bytes.HasPrefix(n.raw, []byte(`"""`)) && !bytes.HasPrefix(n.raw, []byte(`'''`)) && k <= len(n.str) {
		return n.line, n.col + 1 + utf8.RuneCountInString(n.str[:k])
	}
	return n.line, n.col
}

// tomlSyntaxFinding describes a TOML decoding error.
func tomlSyntaxFinding(rule, relPath string, data []byte, line, col int, err error, tool string) report.Finding {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "toml: ")
	fix := "Fix the TOML syntax at this position (a TOML linter such as taplo shows the same error)."
	if bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}) && line == 1 {
		msg = "the file starts with a UTF-8 byte-order mark, which Python's TOML parser rejects (" + msg + ")"
		fix = "Save the file as UTF-8 without a byte-order mark."
	}
	return finding(rule, report.Error, report.At(relPath, line, col), "Invalid TOML",
		fmt.Sprintf("%s cannot read this file: %s.", tool, msg), fix)
}
