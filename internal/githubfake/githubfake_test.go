package githubfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, method, path string, body any) int {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.APIURL()+path, bytes.NewReader(data))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func ann(n int) []any {
	var out []any
	for range n {
		out = append(out, map[string]any{"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "warning", "message": "m"})
	}
	return out
}

// TestRefusesLikeGitHub: the fake must refuse what GitHub refuses, or tests
// against it prove nothing.
func TestRefusesLikeGitHub(t *testing.T) {
	s := New(t, "/api/v3")
	out := func(extra map[string]any) map[string]any {
		o := map[string]any{"title": "t", "summary": "s"}
		for k, v := range extra {
			o[k] = v
		}
		return map[string]any{"name": "c", "head_sha": "abc", "output": o}
	}
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"ok", out(map[string]any{"annotations": ann(50)}), 201},
		{"51 annotations", out(map[string]any{"annotations": ann(51)}), 422},
		{"long summary", out(map[string]any{"summary": strings.Repeat("é", 65536)}), 422},
		{"no title", map[string]any{"name": "c", "head_sha": "abc", "output": map[string]any{"summary": "s"}}, 422},
		{"completed without conclusion", map[string]any{"name": "c", "head_sha": "abc", "status": "completed"}, 422},
		{"columns on several lines", out(map[string]any{"annotations": []any{map[string]any{"path": "a", "start_line": 1, "end_line": 2, "start_column": 1, "annotation_level": "failure", "message": "m"}}}), 422},
		{"no head_sha", map[string]any{"name": "c"}, 422},
	}
	for _, tt := range tests {
		if got := post(t, s, "POST", "/repos/o/r/check-runs", tt.body); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := post(t, s, "POST", "/repos/o/r/issues", map[string]any{}); got != 404 {
		t.Errorf("unknown route: %d", got)
	}
	s.ForbidCreate = true
	if got := post(t, s, "POST", "/repos/o/r/check-runs", out(nil)); got != 403 {
		t.Errorf("ForbidCreate: %d", got)
	}
	if n := len(s.Requests()); n != 9 {
		t.Errorf("recorded %d requests, want 9", n)
	}
}
