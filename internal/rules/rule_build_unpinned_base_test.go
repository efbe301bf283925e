package rules

import (
	"strings"
	"testing"
)

func TestBuildUnpinnedBaseCases(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
		says  string
	}{
		{"latest with a registry", map[string]string{"Dockerfile": "FROM ghcr.io/astral-sh/uv:latest AS uv\nFROM python:3.12-slim\n"}, "Dockerfile:1 notice", "ghcr.io/astral-sh/uv:0.5"},
		{"python pinned from requires-python", map[string]string{
			"Dockerfile":     "FROM python\n",
			"pyproject.toml": "[project]\nname = \"a\"\nversion = \"1\"\nrequires-python = \">=3.13\"\n",
		}, "Dockerfile:1 notice", "python:3.13-slim"},
		{"unknown image", map[string]string{"Dockerfile": "FROM acme/base\n"}, "Dockerfile:1 notice", "acme/base:<version>"},
		{"a floating major tag is a tag", map[string]string{"Dockerfile": "FROM python:3\n"}, "", ""},
		{"ARG default resolved to latest", map[string]string{"Dockerfile": "ARG TAG=latest\nFROM python:${TAG}\n"}, "Dockerfile:2 notice", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, fs := bldCheck(t, ruleBuildUnpinnedBase, c.files)
			if strings.Join(got, ", ") != c.want {
				t.Fatalf("got %v, want %q", got, c.want)
			}
			if c.says != "" && !strings.Contains(fs[0].Fix, c.says) {
				t.Errorf("fix does not say %q: %s", c.says, fs[0].Fix)
			}
		})
	}
}

// TestBuildUnpinnedBaseCorpus: mealie builds its CRF++ stage FROM
// hkotel/crfpp with no tag; its other FROMs are pinned or name stages.
func TestBuildUnpinnedBaseCorpus(t *testing.T) {
	got, _ := bldCheck(t, ruleBuildUnpinnedBase, map[string]string{"Dockerfile": bldCorpus(t, "mealie-recipes__mealie__Dockerfile")})
	if strings.Join(got, ",") != "Dockerfile:73 notice" {
		t.Errorf("mealie: got %v, want Dockerfile:73 notice (FROM hkotel/crfpp)", got)
	}
}
