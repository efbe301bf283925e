package workflowcmd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
)

func TestCommandEscapes(t *testing.T) {
	f := report.Finding{
		Rule: "r", Severity: report.Error, Location: report.Location{File: "dir,x/a:b.toml", Line: 3, Column: 2, EndLine: 5},
		Title: "50% bad, really", Message: "line one\nline two 100%", Fix: "do: this",
	}
	got := Command(f, "app")
	want := "::error file=app/dir%2Cx/a%3Ab.toml,line=3,col=2,endLine=5,title=50%25 bad%2C really [r]::line one%0Aline two 100%25%0AFix: do: this"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCommandWithoutLocation(t *testing.T) {
	got := Command(report.Finding{Rule: "r", Severity: report.Notice, Title: "t", Message: "m"}, "")
	if got != "::notice title=t [r]::m" {
		t.Errorf("got %s", got)
	}
}

func TestRenderCapsMostSevereFirst(t *testing.T) {
	r := report.New("validate", report.StaticPhases...)
	for i := 0; i < 12; i++ {
		r.Add(report.Secrets, report.Finding{Rule: "w", Severity: report.Warning, Location: report.At("f", i+1, 1)})
		r.Add(report.Build, report.Finding{Rule: "e", Severity: report.Error, Location: report.At("f", i+1, 1)})
	}
	var buf bytes.Buffer
	omitted, err := Render(&buf, r, Options{MaxPerSeverity: 10})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 20 || !strings.HasPrefix(lines[0], "::error") || !strings.HasPrefix(lines[19], "::warning") {
		t.Errorf("want 10 errors then 10 warnings, got %d lines:\n%s", len(lines), buf.String())
	}
	if omitted[report.Error] != 2 || omitted[report.Warning] != 2 {
		t.Errorf("omitted = %v", omitted)
	}
}
