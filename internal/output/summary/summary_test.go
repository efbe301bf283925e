package summary

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/report"
)

func rep(fs map[report.PhaseName][]report.Severity) *report.Report {
	r := report.New("validate", report.StaticPhases...)
	for phase, sevs := range fs {
		for i, s := range sevs {
			r.Add(phase, report.Finding{Rule: "r", Severity: s, Location: report.At("f.txt", i+1, 1), Title: "t", Message: "m"})
		}
	}
	r.Finish()
	return r
}

func TestTitle(t *testing.T) {
	E, W, N := report.Error, report.Warning, report.Notice
	tests := []struct {
		fs   map[report.PhaseName][]report.Severity
		want string
	}{
		{map[report.PhaseName][]report.Severity{report.Build: {E}, report.Release: {E}}, "2 errors in build, release"},
		{map[report.PhaseName][]report.Severity{report.Build: {E}, report.Runtime: {W, W, W}}, "1 error in build; 3 warnings"},
		{map[report.PhaseName][]report.Severity{report.Runtime: {W}}, "1 warning in runtime"},
		{map[report.PhaseName][]report.Severity{report.Secrets: {N, N, N, N}}, "All 5 phases passed (4 notices)"},
		{nil, "All 5 phases passed"},
	}
	for _, tt := range tests {
		if got := Title(rep(tt.fs)); got != tt.want {
			t.Errorf("Title = %q, want %q", got, tt.want)
		}
	}
}

func TestEscapeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a <script> & b | c", "a &lt;script&gt; &amp; b \\| c"},
		{"run `fly postgres attach <db-app>` now <x>", "run `fly postgres attach <db-app>` now &lt;x&gt;"},
		{"unbalanced ` <b>", "unbalanced \\` &lt;b&gt;"},
	}
	for _, tt := range tests {
		if got := escapeText(tt.in); got != tt.want {
			t.Errorf("escapeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBlobURL(t *testing.T) {
	tests := []struct {
		file      string
		line, end int
		want      string
	}{
		{"app/Dockerfile", 7, 7, "https://github.com/o/r/blob/abc/app/Dockerfile#L7"},
		{"fly.toml", 3, 9, "https://github.com/o/r/blob/abc/fly.toml#L3-L9"},
		{"docs/a b#c.md", 0, 0, "https://github.com/o/r/blob/abc/docs/a%20b%23c.md"},
	}
	for _, tt := range tests {
		if got := BlobURL("https://github.com/", "o/r", "abc", tt.file, tt.line, tt.end); got != tt.want {
			t.Errorf("BlobURL(%s) = %s, want %s", tt.file, got, tt.want)
		}
	}
}

func TestFindingsLinksAndPrefix(t *testing.T) {
	r := report.New("validate", report.Build)
	r.Add(report.Build, report.Finding{Rule: "x", Severity: report.Error, Location: report.Location{File: "docs/x.md", Line: 4, Column: 2, EndLine: 6}, Title: "T", Message: "M", Fix: "F"})
	r.Add(report.Build, report.Finding{Rule: "y", Severity: report.Notice, Title: "remote", Message: "no file"})
	r.Finish()
	md, omitted := Findings(r, Options{ServerURL: "https://github.com", Repository: "o/r", SHA: "abc", PathPrefix: "app"}, 0)
	if omitted != 0 {
		t.Errorf("omitted %d", omitted)
	}
	for _, want := range []string{
		"### ❌ build — 1 error, 1 notice",
		"[`app/docs/x.md:4`](https://github.com/o/r/blob/abc/app/docs/x.md#L4-L6)",
		"**Fix:** F",
		"🔵 **notice** — **remote** `y`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("findings lack %q:\n%s", want, md)
		}
	}
	if i, j := strings.Index(md, "error"), strings.Index(md, "notice**"); i > j {
		t.Errorf("notice before error")
	}
}

func TestFindingsBudget(t *testing.T) {
	r := report.New("validate", report.Build, report.Release)
	for i := range 500 {
		phase := report.Build
		if i%2 == 1 {
			phase = report.Release
		}
		r.Add(phase, report.Finding{Rule: "r", Severity: report.Warning, Location: report.At(fmt.Sprintf("f%d", i), 1, 1), Title: "t", Message: strings.Repeat("é", 200)})
	}
	r.Finish()
	for _, budget := range []int{2000, 30000, MaxLen} {
		md, omitted := Findings(r, Options{}, budget)
		if len(md) > budget {
			t.Errorf("budget %d: %d bytes", budget, len(md))
		}
		if omitted == 0 || !strings.Contains(md, fmt.Sprintf("%d more findings not shown", omitted)) {
			t.Errorf("budget %d: omitted %d, note missing", budget, omitted)
		}
		if !utf8.ValidString(md) {
			t.Errorf("budget %d: invalid UTF-8", budget)
		}
	}
	full := Render(r, Options{Gantt: true})
	if len(full) > MaxLen {
		t.Errorf("Render: %d bytes", len(full))
	}
}

func TestTruncate(t *testing.T) {
	s := strings.Repeat("línea de texto\n", 10000)
	got := Truncate(s, 1000)
	if len(got) > 1000 || !utf8.ValidString(got) || !strings.Contains(got, "cut at 1000 characters") {
		t.Errorf("Truncate: %d bytes, valid %v\n%s", len(got), utf8.ValidString(got), got)
	}
	if Truncate("short", 10) != "short" {
		t.Errorf("a short text was changed")
	}
}

func TestGantt(t *testing.T) {
	r := report.New("deploy", report.Build, report.Release, report.Deploy)
	r.SetDuration(report.Build, 12_000_000_000)
	r.SetDuration(report.Release, 3_500_000_000)
	r.Phase(report.Deploy).Status = report.Skipped
	r.Add(report.Release, report.Finding{Rule: "x", Severity: report.Error, Title: "boom"})
	r.Finish()
	g := Gantt(r)
	for _, want := range []string{"```mermaid\ngantt\n", "dateFormat x", "build 12.0 s :done, p0, 0, 12000", "release 3.5 s :crit, p1, 12000, 15500"} {
		if !strings.Contains(g, want) {
			t.Errorf("gantt lacks %q:\n%s", want, g)
		}
	}
	if strings.Contains(g, "section deploy") {
		t.Errorf("a skipped phase is drawn")
	}
	if Gantt(report.New("validate", report.Build)) != "" {
		t.Errorf("a gantt without timings")
	}
}

func TestVerdictAndTable(t *testing.T) {
	r := rep(map[report.PhaseName][]report.Severity{report.Build: {report.Error}})
	head := Head(r, Options{Notes: []string{"line one\nline two"}})
	for _, want := range []string{
		"## ❌ deploy-check: `validate` failed — 1 error in build\n",
		"> line one\n> line two\n",
		"| build | ❌ failed | 0 ms | 1 error |",
		"| release | ✅ passed | 0 ms | — |",
	} {
		if !strings.Contains(head, want) {
			t.Errorf("head lacks %q:\n%s", want, head)
		}
	}
}

func TestDuration(t *testing.T) {
	for ms, want := range map[int64]string{0: "0 ms", 840: "840 ms", 12_300: "12.3 s", 125_000: "2 min 5 s"} {
		if got := Duration(ms); got != want {
			t.Errorf("Duration(%d) = %q, want %q", ms, got, want)
		}
	}
}

// FuzzFindings: any text in a finding renders within the budget, as valid
// UTF-8, with every finding either shown or counted as left out.
func FuzzFindings(f *testing.F) {
	f.Add("several alembic heads", "`alembic upgrade head` exits 1 <x> | y", "run `fly secrets set A=<v>`", 500)
	f.Add("é", strings.Repeat("ñ", 300), "`", 100)
	f.Fuzz(func(t *testing.T, title, msg, fix string, budget int) {
		if !utf8.ValidString(title) || !utf8.ValidString(msg) || !utf8.ValidString(fix) {
			t.Skip()
		}
		budget = 300 + abs(budget)%5000
		r := report.New("validate", report.Build, report.Release)
		for i := range 5 {
			r.Add(report.Build, report.Finding{Rule: "r", Severity: report.Error, Location: report.At("f", i+1, 1), Title: title, Message: msg, Fix: fix})
		}
		r.Finish()
		md, omitted := Findings(r, Options{ServerURL: "https://github.com", Repository: "o/r", SHA: "abc"}, budget)
		if len(md) > budget || !utf8.ValidString(md) {
			t.Fatalf("%d bytes (budget %d), valid %v", len(md), budget, utf8.ValidString(md))
		}
		if shown := strings.Count(md, "🔴 **error**"); shown+omitted != 5 {
			t.Errorf("%d shown + %d omitted != 5", shown, omitted)
		}
		if s := Truncate(msg, budget); len(s) > budget || !utf8.ValidString(s) {
			t.Errorf("Truncate: %d bytes", len(s))
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
