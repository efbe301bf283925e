package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestFinishDerivesStatusAndConclusion(t *testing.T) {
	tests := []struct {
		name       string
		findings   map[PhaseName][]Severity
		skipped    []PhaseName
		want       Conclusion
		wantStatus map[PhaseName]Status
	}{
		{
			name: "clean", want: Success,
			wantStatus: map[PhaseName]Status{Build: Passed, Secrets: Passed},
		},
		{
			name: "notices only", findings: map[PhaseName][]Severity{Secrets: {Notice}}, want: Success,
			wantStatus: map[PhaseName]Status{Secrets: Passed},
		},
		{
			name: "warning", findings: map[PhaseName][]Severity{Runtime: {Notice, Warning}}, want: Neutral,
			wantStatus: map[PhaseName]Status{Runtime: Warned, Build: Passed},
		},
		{
			name: "error wins", findings: map[PhaseName][]Severity{Build: {Warning, Error}, Runtime: {Warning}}, want: Failure,
			wantStatus: map[PhaseName]Status{Build: Failed, Runtime: Warned},
		},
		{
			name: "skipped stays skipped", skipped: []PhaseName{Release}, want: Success,
			wantStatus: map[PhaseName]Status{Release: Skipped},
		},
		{
			name: "skipped with an error fails", skipped: []PhaseName{Release}, findings: map[PhaseName][]Severity{Release: {Error}}, want: Failure,
			wantStatus: map[PhaseName]Status{Release: Failed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New("validate", StaticPhases...)
			for _, p := range tt.skipped {
				r.Phase(p).Status = Skipped
			}
			for p, sevs := range tt.findings {
				for _, s := range sevs {
					r.Add(p, Finding{Rule: "x", Severity: s})
				}
			}
			r.Finish()
			if r.Conclusion != tt.want {
				t.Errorf("conclusion = %s, want %s", r.Conclusion, tt.want)
			}
			for p, st := range tt.wantStatus {
				if got := r.Phase(p).Status; got != st {
					t.Errorf("phase %s status = %s, want %s", p, got, st)
				}
			}
		})
	}
}

// TestJSONContract pins the field names and shape of the version 1 JSON
// form: it is read by the action's outputs, the bot and users' scripts.
func TestJSONContract(t *testing.T) {
	r := New("validate", StaticPhases...)
	r.Add(Build, Finding{Rule: "build-missing-headers", Severity: Error, Location: Location{File: "Dockerfile", Line: 7, Column: 1, EndLine: 8},
		Title: "t", Message: "m", Fix: "f"})
	r.SetDuration(Build, 3_000_000)
	r.Finish()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(buf.Bytes(), &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "command", "conclusion", "phases"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("top-level key %q missing", k)
		}
	}
	phases := generic["phases"].([]any)
	if len(phases) != 5 {
		t.Fatalf("want all 5 phases, got %d", len(phases))
	}
	p0 := phases[0].(map[string]any)
	for _, k := range []string{"name", "status", "duration_ms", "findings"} {
		if _, ok := p0[k]; !ok {
			t.Errorf("phase key %q missing", k)
		}
	}
	if p0["duration_ms"].(float64) != 3 {
		t.Errorf("duration_ms = %v, want 3", p0["duration_ms"])
	}
	f := p0["findings"].([]any)[0].(map[string]any)
	for _, k := range []string{"rule", "severity", "file", "line", "column", "end_line", "title", "message", "fix"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding key %q missing", k)
		}
	}
	// Empty phases carry an empty list, never null.
	if !strings.Contains(buf.String(), `"findings": []`) {
		t.Errorf("empty findings must encode as []:\n%s", buf.String())
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Conclusion != Failure || back.Phases[0].Findings[0].Line != 7 {
		t.Errorf("round trip lost data: %+v", back)
	}
}

func TestReadJSONRejectsOtherVersions(t *testing.T) {
	if _, err := ReadJSON(strings.NewReader(`{"version":2}`)); err == nil {
		t.Error("want an error for version 2")
	}
	if _, err := ReadJSON(strings.NewReader(`{`)); err == nil {
		t.Error("want an error for malformed JSON")
	}
}

func TestFindingsSorted(t *testing.T) {
	r := New("validate", Build)
	r.Add(Build,
		Finding{Rule: "b", Location: At("z", 1, 1)},
		Finding{Rule: "a", Location: At("a", 9, 1)},
		Finding{Rule: "c", Location: At("a", 2, 5)},
	)
	r.Finish()
	var got []string
	for _, f := range r.Findings() {
		got = append(got, f.Location.String())
	}
	if want := "a:2:5 a:9:1 z:1:1"; strings.Join(got, " ") != want {
		t.Errorf("order = %v, want %s", got, want)
	}
}
