package alembic

import (
	"reflect"
	"testing"
)

func TestParseRevision(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		src      string
		id       string
		down     []string
		hasDown  bool
		downLine [2]int // DownLoc.Line, DownLoc.EndLine
		labels   []string
		deps     []string
		findings []string
	}{
		{name: "plain", src: "revision = 'a1'\ndown_revision = 'a0'\n", id: "a1", down: []string{"a0"}, hasDown: true, downLine: [2]int{2, 2}},
		{name: "root", src: "revision = \"a1\"\ndown_revision = None\n", id: "a1", hasDown: true, downLine: [2]int{2, 2}},
		{name: "annotated", src: "revision: str = 'a1'\ndown_revision: Union[str, Sequence[str], None] = 'a0'\nbranch_labels: Union[str, Sequence[str], None] = None\n",
			id: "a1", down: []string{"a0"}, hasDown: true, downLine: [2]int{2, 2}},
		{name: "pep 604 annotation", src: "revision: str = 'a1'\ndown_revision: str | Sequence[str] | None = ('a0', 'b0')\n",
			id: "a1", down: []string{"a0", "b0"}, hasDown: true, downLine: [2]int{2, 2}},
		{name: "merge over several lines", src: "revision = 'm'\ndown_revision = (\n    'a',  # left\n    'b',\n)\n",
			id: "m", down: []string{"a", "b"}, hasDown: true, downLine: [2]int{2, 5}},
		{name: "list", src: "revision = 'm'\ndown_revision = ['a', 'b', 'c']\n", id: "m", down: []string{"a", "b", "c"}, hasDown: true, downLine: [2]int{2, 2}},
		{name: "bare tuple", src: "revision = 'm'\ndown_revision = 'a', 'b'\n", id: "m", down: []string{"a", "b"}, hasDown: true, downLine: [2]int{2, 2}},
		{name: "one-element tuple", src: "revision = 'm'\ndown_revision = ('a',)\n", id: "m", down: []string{"a"}, hasDown: true, downLine: [2]int{2, 2}},
		{name: "backslash continuation", src: "revision = 'm'\ndown_revision = \\\n    'a'\n", id: "m", down: []string{"a"}, hasDown: true, downLine: [2]int{2, 3}},
		{name: "labels and depends_on", src: "revision = 'x'\ndown_revision = None\nbranch_labels = ('feature',)\ndepends_on = 'y'\n",
			id: "x", hasDown: true, downLine: [2]int{2, 2}, labels: []string{"feature"}, deps: []string{"y"}},
		{name: "crlf and bom", src: "\ufeffrevision = 'a1'\r\ndown_revision = (\r\n  'a0',\r\n)\r\n", id: "a1", down: []string{"a0"}, hasDown: true, downLine: [2]int{2, 4}},
		{name: "last assignment wins", src: "revision = 'old'\nrevision = 'new'\ndown_revision = None\n", id: "new", hasDown: true, downLine: [2]int{3, 3}},
		{name: "nested and quoted assignments ignored",
			src: "'''\nrevision = 'doc'\n'''\n# revision = 'comment'\nif x:\n    down_revision = 'inner'\ns = \"revision = 'str'\"\nrevision = 'real'\ndown_revision = None\n",
			id:  "real", hasDown: true, downLine: [2]int{9, 9}},
		{name: "legacy id from the file name", path: "versions/1975ea83b712.py", src: "down_revision = None\n", id: "1975ea83b712", hasDown: true, downLine: [2]int{1, 1}},
		{name: "no revision", path: "versions/add_users.py", src: "down_revision = None\n", hasDown: true, downLine: [2]int{1, 1},
			findings: []string{"alembic-revision:1:1:error"}},
		{name: "no down_revision", src: "import x\n\nrevision = 'a1'\n", id: "a1",
			findings: []string{"alembic-revision:3:1:error"}},
		{name: "computed down_revision", src: "revision = 'a1'\ndown_revision = PREVIOUS\n", id: "a1", hasDown: true, downLine: [2]int{2, 2},
			findings: []string{"alembic-revision:2:1:warning"}},
		{name: "f-string revision", src: "revision = f'{x}'\ndown_revision = None\n", hasDown: true, downLine: [2]int{2, 2},
			findings: []string{"alembic-revision:1:1:warning"}},
		{name: "None revision", src: "revision = None\ndown_revision = None\n", hasDown: true, downLine: [2]int{2, 2},
			findings: []string{"alembic-revision:1:1:error"}},
		{name: "revision with blanks", src: "revision = 'a b'\ndown_revision = None\n", hasDown: true, downLine: [2]int{2, 2},
			findings: []string{"alembic-revision:1:1:error"}},
		{name: "unterminated string", src: "revision = 'a1'\ndown_revision = 'a0\n\ndef upgrade():\n    pass\n", id: "a1", down: []string{"a0"}, hasDown: true, downLine: [2]int{2, 2}, // the value is recovered
			findings: []string{"alembic-revision-syntax:2:17:error"}},
		{name: "unterminated docstring", src: "\"\"\"doc\nrevision = 'a1'\n", findings: []string{"alembic-revision-syntax:1:1:error", "alembic-revision:1:1:error"}},
		{name: "unclosed tuple", src: "revision = 'a1'\ndown_revision = ('a0',\n", id: "a1", hasDown: true, downLine: [2]int{2, 2},
			findings: []string{"alembic-revision-syntax:2:17:error", "alembic-revision:2:1:warning"}},
		{name: "non-ascii column", src: "x = 'é'; revision = 'a1'\nrevision = 'ü1'\ndown_revision = None\n", id: "ü1", hasDown: true, downLine: [2]int{3, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.path
			if p == "" {
				p = "versions/x.py"
			}
			rev, fs := ParseRevision(p, []byte(tt.src))
			if rev == nil {
				t.Fatal("nil revision")
			}
			down := rev.Down
			if len(down) == 0 {
				down = nil
			}
			if rev.ID != tt.id || !reflect.DeepEqual(down, tt.down) || rev.HasDown != tt.hasDown {
				t.Errorf("got id %q down %q has %v; want %q %q %v", rev.ID, rev.Down, rev.HasDown, tt.id, tt.down, tt.hasDown)
			}
			if got := [2]int{rev.DownLoc.Line, rev.DownLoc.EndLine}; got != tt.downLine {
				t.Errorf("DownLoc lines %v, want %v", got, tt.downLine)
			}
			if !reflect.DeepEqual(rev.BranchLabels, tt.labels) || !reflect.DeepEqual(rev.DependsOn, tt.deps) {
				t.Errorf("labels %q deps %q, want %q %q", rev.BranchLabels, rev.DependsOn, tt.labels, tt.deps)
			}
			if got := brief(fs); !reflect.DeepEqual(got, tt.findings) {
				t.Errorf("findings %q, want %q", got, tt.findings)
			}
			for _, f := range fs {
				if f.File != p || f.Title == "" || f.Message == "" || f.Fix == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}
		})
	}
}

func TestParseRevisionOps(t *testing.T) {
	src := `"""ops"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text

revision = "r1"
down_revision = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    op.execute(
        "ALTER TABLE users "
        'ADD COLUMN email TEXT'
    )
    op.execute(sa.text("UPDATE users SET a = 1"))
    op.execute(text("""
        DELETE FROM t
    """))
    op.execute(f"GRANT ALL ON {table} TO app")
    op.execute(SQL)
    conn = op.get_bind()
    conn.execute(sa.text("SELECT 1"))
    op.get_bind().execute(text("SELECT 2"))
    if not has_table("users"):
        op.create_table("users", sa.Column("id", sa.Integer()), if_not_exists=True)
    else:
        pass
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("x", sa.Integer()))
    try:
        op.drop_column("users", "y")
    except Exception:
        pass
    op.add_column("users", sa.Column("z", sa.Integer()), schema="public")
    other.add_column("ignored")


def downgrade():
    op.drop_table("users")


def upgrade_engine2():
    op.create_index("ix", "t", ["c"])
`
	rev, fs := ParseRevision("versions/r1.py", []byte(src))
	if len(fs) != 0 {
		t.Fatalf("findings %q", brief(fs))
	}
	type op struct {
		recv, name, fn string
		line, end      int
		sql            string
		args, kwargs   []string
		guarded        bool
	}
	want := []op{
		{"op", "execute", "upgrade", 11, 11, "CREATE EXTENSION IF NOT EXISTS pgcrypto", []string{"CREATE EXTENSION IF NOT EXISTS pgcrypto"}, nil, false},
		{"op", "execute", "upgrade", 12, 15, "ALTER TABLE users ADD COLUMN email TEXT", []string{"ALTER TABLE users ADD COLUMN email TEXT"}, nil, false},
		{"op", "execute", "upgrade", 16, 16, "UPDATE users SET a = 1", []string{"UPDATE users SET a = 1"}, nil, false},
		{"op", "execute", "upgrade", 17, 19, "\n        DELETE FROM t\n    ", []string{"\n        DELETE FROM t\n    "}, nil, false},
		{"op", "execute", "upgrade", 20, 20, "GRANT ALL ON {table} TO app", []string{"GRANT ALL ON {table} TO app"}, nil, false},
		{"op", "execute", "upgrade", 21, 21, "", []string{""}, nil, false},
		{"op", "get_bind", "upgrade", 22, 22, "", nil, nil, false},
		{"conn", "execute", "upgrade", 23, 23, "SELECT 1", []string{"SELECT 1"}, nil, false},
		{"op", "get_bind", "upgrade", 24, 24, "", nil, nil, false},
		{"", "execute", "upgrade", 24, 24, "SELECT 2", []string{"SELECT 2"}, nil, false},
		{"op", "create_table", "upgrade", 26, 26, "", []string{"users", ""}, []string{"if_not_exists"}, true},
		{"op", "batch_alter_table", "upgrade", 29, 29, "", []string{"users"}, nil, false},
		{"batch_op", "add_column", "upgrade", 30, 30, "", []string{""}, nil, false},
		{"op", "drop_column", "upgrade", 32, 32, "", []string{"users", "y"}, nil, true},
		{"op", "add_column", "upgrade", 35, 35, "", []string{"users", ""}, []string{"schema"}, false},
		{"op", "create_index", "upgrade_engine2", 44, 44, "", []string{"ix", "t", ""}, nil, false},
	}
	var got []op
	for _, o := range rev.Ops {
		got = append(got, op{o.Receiver, o.Name, o.Function, o.Line, o.EndLine, o.SQL, o.Args, o.Kwargs, o.Guarded})
	}
	if len(got) != len(want) {
		t.Errorf("%d ops, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("op %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if c := rev.Ops[0].Column; c != 5 {
		t.Errorf("first op at column %d, want 5", c)
	}
}

func TestScanPythonStrings(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{`x = 'a\'b'`, "a'b"},
		{`x = "tab\there"`, "tab\there"},
		{`x = r'raw\n'`, `raw\n`},
		{`x = '\x41\u00e9\U0001F600'`, "Aé😀"},
		{`x = '\q'`, `\q`},
		{"x = 'a\\\nb'", "ab"},
		{`x = """multi "quoted" line"""`, `multi "quoted" line`},
		{`x = Rb'\d'`, `\d`},
		{`x = u"x" 'y'`, "xy"},
	}
	for _, tt := range tests {
		lines, probs := scanPython(tt.src)
		if len(probs) != 0 || len(lines) != 1 {
			t.Errorf("%q: %d lines, problems %v", tt.src, len(lines), probs)
			continue
		}
		var got string
		for _, tok := range lines[0].toks[2:] {
			got += tok.val
		}
		if got != tt.want {
			t.Errorf("%q: value %q, want %q", tt.src, got, tt.want)
		}
	}
}
