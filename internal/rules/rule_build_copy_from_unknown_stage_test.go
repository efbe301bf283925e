package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func TestBuildCopyFromUnknownStageCases(t *testing.T) {
	for _, c := range []struct {
		name, dockerfile, want, says string
	}{
		{"transposed letters", "FROM python:3.12-slim AS builder\nFROM python:3.12-slim\nCOPY --from=buidler /a /a\n", "Dockerfile:3 error", `did you mean "builder"`},
		{"case differs: a stage", "FROM python:3.12-slim AS Builder\nFROM python:3.12-slim\nCOPY --from=BUILDER /a /a\n", "", ""},
		{"one letter off a short name", "FROM python:3.12-slim AS uv\nFROM python:3.12-slim\nCOPY --from=ui /a /a\n", "Dockerfile:3 notice", "docker.io/library/ui"},
		{"two edits off a long name", "FROM python:3.12-slim AS frontend\nFROM python:3.12-slim\nCOPY --from=frontnd /a /a\nCOPY --from=frotnend /b /b\n", "Dockerfile:3 error, Dockerfile:4 error", "frontend"},
		{"an official image", "FROM python:3.12-slim\nCOPY --from=busybox /bin/busybox /bin/busybox\n", "", ""},
		{"own stage", "FROM python:3.12-slim AS app\nCOPY --from=app /a /b\n", "Dockerfile:2 error", "circular"},
		{"index of an earlier stage", "FROM node:22 AS web\nFROM python:3.12-slim\nCOPY --from=0 /a /a\n", "", ""},
		{"negative index", "FROM node:22\nFROM python:3.12-slim\nCOPY --from=-1 /a /a\n", "Dockerfile:3 error", "index"},
		{"unused stage is not built", "FROM python:3.12-slim AS old\nCOPY --from=bulider /a /a\nFROM python:3.12-slim AS builder\nFROM python:3.12-slim\nCOPY --from=builder /b /b\n", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, fs := bldCheck(t, ruleBuildCopyFromUnknownStage, map[string]string{"Dockerfile": c.dockerfile})
			if strings.Join(got, ", ") != c.want {
				t.Fatalf("got %v, want %q", got, c.want)
			}
			if c.says != "" && !strings.Contains(fs[0].Title+fs[0].Message+fs[0].Fix, c.says) {
				t.Errorf("finding does not say %q: %s | %s", c.says, fs[0].Title, fs[0].Message)
			}
		})
	}
}

func TestIsTypo(t *testing.T) {
	for _, c := range []struct {
		ref, name string
		want      bool
	}{
		{"bulider", "builder", true},
		{"buildr", "builder", true},
		{"build", "builder", true},
		{"runtime", "builder", false},
		{"ui", "uv", false},
		{"base", "bass", true},
		{"prod", "poetry", false},
	} {
		_, d := closestName(c.ref, []string{c.name})
		if got := isTypo(c.ref, c.name, d); got != c.want {
			t.Errorf("isTypo(%s, %s) = %v (distance %d), want %v", c.ref, c.name, got, d, c.want)
		}
	}
}

// TestBuildCopyFromUnknownStageCorpus: no real Dockerfile of the corpus
// copies from a stage that does not exist (they copy from stages, by name
// or index, and from images such as ghcr.io/astral-sh/uv and
// docker.io/tailscale/tailscale).
func TestBuildCopyFromUnknownStageCorpus(t *testing.T) {
	dir := testutil.CorpusDir(t, "dockerfiles")
	names, err := filepath.Glob(filepath.Join(dir, "*__Dockerfile"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no corpus Dockerfiles: %v", err)
	}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		_, fs := bldCheck(t, ruleBuildCopyFromUnknownStage, map[string]string{"Dockerfile": string(data)})
		for _, f := range fs {
			if f.Severity != report.Notice {
				t.Errorf("%s: %s %s", filepath.Base(name), f.Location, f.Message)
			}
		}
	}
}
