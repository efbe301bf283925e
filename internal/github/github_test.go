package github_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	gh "github.com/google/go-github/v66/github"

	"github.com/grupo-gad/deploy-action/internal/github"
	"github.com/grupo-gad/deploy-action/internal/githubfake"
	"github.com/grupo-gad/deploy-action/internal/report"
)

func TestAnnotation(t *testing.T) {
	tests := []struct {
		name   string
		f      report.Finding
		prefix string
		want   string // path:start-end:col level, or "" for not annotatable
	}{
		{"error with column", report.Finding{Severity: report.Error, Location: report.At("Dockerfile", 7, 5)}, "", "Dockerfile:7-7:5 failure"},
		{"prefixed", report.Finding{Severity: report.Warning, Location: report.At("docs/x.md", 2, 1)}, "app", "app/docs/x.md:2-2:1 warning"},
		{"multi-line drops columns", report.Finding{Severity: report.Notice, Location: report.Location{File: "fly.toml", Line: 3, Column: 4, EndLine: 9}}, "svc/api", "svc/api/fly.toml:3-9:0 notice"},
		{"no line is line 1", report.Finding{Severity: report.Error, Location: report.Location{File: "alembic.ini"}}, "", "alembic.ini:1-1:0 failure"},
		{"no file", report.Finding{Severity: report.Error}, "app", ""},
		{"outside the repository", report.Finding{Severity: report.Error, Location: report.At("../../etc/x", 1, 1)}, "app", ""},
		{"absolute", report.Finding{Severity: report.Error, Location: report.At("/tmp/fly.toml", 1, 1)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Rule, tt.f.Title, tt.f.Message = "rule", "title", "message"
			a, ok := github.Annotation(tt.f, tt.prefix)
			got := ""
			if ok {
				got = fmt.Sprintf("%s:%d-%d:%d %s", a.GetPath(), a.GetStartLine(), a.GetEndLine(), a.GetStartColumn(), a.GetAnnotationLevel())
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAnnotationsOrderAndSkipped(t *testing.T) {
	r := report.New("validate", report.Build, report.Secrets)
	r.Add(report.Build, report.Finding{Rule: "n", Severity: report.Notice, Location: report.At("a", 1, 1), Message: "x"})
	r.Add(report.Secrets, report.Finding{Rule: "e", Severity: report.Error, Location: report.At("b", 1, 1), Message: "x", Fix: "do y"})
	r.Add(report.Secrets, report.Finding{Rule: "remote", Severity: report.Warning, Message: "no file"})
	anns, skipped := github.Annotations(r, "")
	if len(anns) != 2 || anns[0].GetAnnotationLevel() != "failure" || anns[1].GetAnnotationLevel() != "notice" {
		t.Fatalf("annotations not most severe first: %v", anns)
	}
	if !strings.HasSuffix(anns[0].GetMessage(), "\n\nFix: do y") || anns[0].GetTitle() != "e" {
		t.Errorf("message %q title %q", anns[0].GetMessage(), anns[0].GetTitle())
	}
	if len(skipped) != 1 || skipped[0].Rule != "remote" {
		t.Errorf("skipped %v", skipped)
	}
}

func TestBatches(t *testing.T) {
	for n, want := range map[int][]int{0: nil, 1: {1}, 50: {50}, 51: {50, 1}, 120: {50, 50, 20}} {
		var got []int
		for _, b := range github.Batches(make([]int, n), 50) {
			got = append(got, len(b))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Batches(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestCap(t *testing.T) {
	s := strings.Repeat("ñ line\n", 20000)
	got := github.Cap(s)
	if len(got) > github.MaxOutputLen || !strings.Contains(got, "cut at 65535 characters") {
		t.Errorf("Cap: %d bytes", len(got))
	}
	if github.Cap("x") != "x" {
		t.Errorf("Cap changed a short text")
	}
}

func TestNewClient(t *testing.T) {
	for _, repo := range []string{"", "owner", "owner/", "/repo", "a/b/c"} {
		if _, err := github.NewClient("", repo, "t", nil); err == nil {
			t.Errorf("NewClient accepted repository %q", repo)
		}
	}
	if _, err := github.NewClient("not a url", "o/r", "t", nil); err == nil {
		t.Errorf("NewClient accepted a relative API URL")
	}
}

func TestCheckRunAgainstFake(t *testing.T) {
	fake := githubfake.New(t, "/api/v3")
	c, err := github.NewClient(fake.APIURL(), "o/r", "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run, err := c.Create(ctx, github.Start{Name: "deploy-check", HeadSHA: "abc", Output: github.Output{Title: "Running", Summary: "…"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Progress(ctx, github.Output{Title: "Running", Summary: "| build | ✅ |"}); err != nil {
		t.Fatal(err)
	}
	var anns []*gh.CheckRunAnnotation
	for i := range 101 {
		a, _ := github.Annotation(report.Finding{Rule: "r", Severity: report.Warning, Location: report.At("f", i+1, 1), Message: "m"}, "")
		anns = append(anns, a)
	}
	if err := run.Complete(ctx, "neutral", github.Output{Title: "101 warnings", Summary: "s", Text: strings.Repeat("x", 70000)}, anns); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range fake.Requests() {
		got = append(got, fmt.Sprintf("%s %s %s %d", r.Method, r.Path, r.Str("status"), len(r.Annotations())))
	}
	want := []string{
		"POST /api/v3/repos/o/r/check-runs in_progress 0",
		"PATCH /api/v3/repos/o/r/check-runs/1001 in_progress 0",
		"PATCH /api/v3/repos/o/r/check-runs/1001 in_progress 50",
		"PATCH /api/v3/repos/o/r/check-runs/1001 in_progress 50",
		"PATCH /api/v3/repos/o/r/check-runs/1001 completed 1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	fake.ForbidCreate = true
	_, err = c.Create(ctx, github.Start{Name: "deploy-check", HeadSHA: "abc", Output: github.Output{Title: "t", Summary: "s"}})
	if !github.IsForbidden(err) {
		t.Errorf("403 not recognised: %v", err)
	}
	fake.FailUpdates = 500
	if err := run.Progress(ctx, github.Output{Title: "t", Summary: "s"}); err == nil || github.IsForbidden(err) {
		t.Errorf("a 500 is reported as %v", err)
	}
}
