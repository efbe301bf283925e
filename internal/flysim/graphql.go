package flysim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// handleGraphQL answers, best effort, the few GraphQL operations of fly-go
// that touch releases: GetAppReleasesMachines (releasesUnprocessed),
// GetAppCurrentReleaseMachines (currentReleaseUnprocessed), and the
// CreateRelease / UpdateRelease mutations. Anything else gets a GraphQL
// error, as Fly answers an unknown field.
func (s *Server) handleGraphQL(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	str := func(v any) string { s, _ := v.(string); return s }
	input, _ := in.Variables["input"].(map[string]any)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.Contains(in.Query, "createRelease"):
		a := s.apps[str(input["appId"])]
		if a == nil {
			gqlError(w, "Could not find App")
			return
		}
		rel := &release{
			id: newULID(s.now()), version: len(a.releases) + 1, status: "pending", reason: "deploy",
			description: "Deploy image", imageRef: str(input["image"]), createdAt: s.now(),
		}
		a.releases = append(a.releases, rel)
		gqlData(w, map[string]any{"createRelease": map[string]any{"release": map[string]any{"id": rel.id, "version": rel.version}}})
	case strings.Contains(in.Query, "updateRelease"):
		id := str(input["releaseId"])
		for _, a := range s.apps {
			for _, rel := range a.releases {
				if rel.id == id {
					if st := str(input["status"]); st != "" {
						rel.status = st
						rel.stable = st == "complete"
					}
					gqlData(w, map[string]any{"updateRelease": map[string]any{"release": map[string]any{"id": rel.id}}})
					return
				}
			}
		}
		gqlError(w, "Could not find Release")
	case strings.Contains(in.Query, "releasesUnprocessed"), strings.Contains(in.Query, "currentReleaseUnprocessed"):
		a := s.apps[str(in.Variables["appName"])]
		if a == nil {
			gqlError(w, fmt.Sprintf("Could not find App %q", str(in.Variables["appName"])))
			return
		}
		if strings.Contains(in.Query, "currentReleaseUnprocessed") {
			var cur any
			for i := len(a.releases) - 1; i >= 0; i-- {
				if a.releases[i].status == "complete" {
					cur = releaseJSON(a.releases[i])
					break
				}
			}
			gqlData(w, map[string]any{"app": map[string]any{"currentRelease": cur}})
			return
		}
		limit := len(a.releases)
		if n, ok := in.Variables["limit"].(float64); ok && int(n) < limit {
			limit = int(n)
		}
		nodes := []any{}
		for i := len(a.releases) - 1; i >= 0 && len(nodes) < limit; i-- {
			nodes = append(nodes, releaseJSON(a.releases[i]))
		}
		gqlData(w, map[string]any{"app": map[string]any{"releases": map[string]any{"nodes": nodes}}})
	default:
		gqlError(w, "flysim: this GraphQL operation is not emulated")
	}
}

func releaseJSON(r *release) map[string]any {
	return map[string]any{
		"id": r.id, "version": r.version, "description": r.description, "reason": r.reason,
		"status": r.status, "imageRef": r.imageRef, "stable": r.stable,
		"user":      map[string]any{"id": "flysim", "email": "deploy@flysim.local", "name": "flysim"},
		"createdAt": r.createdAt.Format(time.RFC3339),
	}
}

func gqlData(w http.ResponseWriter, data any) {
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

func gqlError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []map[string]any{{"message": msg}}})
}
