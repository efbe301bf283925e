package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseOutputs reads a GITHUB_OUTPUT file as the runner does: `name<<DELIM`
// starts a value that runs until a line equal to DELIM.
func parseOutputs(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			if lines[i] != "" {
				t.Fatalf("stray line %q", lines[i])
			}
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("value of %s never closes", name)
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

// FuzzWriteOutputs: whatever a value holds, the runner reads back exactly
// that value and no other output. (The runner also ends lines at "\r\n",
// which only drops a "\r": such values are left out.)
func FuzzWriteOutputs(f *testing.F) {
	for _, s := range []string{"", "x", "a\nb", "url<<EOF\nEOF", "ghadelimiter_00\nconclusion=success", "_GitHubActionsFileCommandDelimeter_"} {
		f.Add(s, "v2")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.Contains(a+b, "\r") {
			t.Skip()
		}
		file := filepath.Join(t.TempDir(), "out")
		if err := WriteOutputs(file, []Output{{"url", a}, {"image", b}}); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(file)
		got := parseOutputs(t, string(data))
		if len(got) != 2 || got["url"] != a || got["image"] != b {
			t.Errorf("read back %q", got)
		}
	})
}

func TestWriteOutputsRefusesBadNames(t *testing.T) {
	for _, name := range []string{"", "a b", "x<<y", "1st", "a\nb"} {
		if err := WriteOutputs(filepath.Join(t.TempDir(), "o"), []Output{{name, "v"}}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}
