// Package githubfake is an in-process fake of the part of GitHub's REST API
// that deploy-action calls (creating and updating check runs), for tests.
// It records every request exactly as received and answers the way GitHub
// does, including its refusals: 422 for more than 50 annotations in one
// request, an output without title or summary, a summary or text over
// 65,535 characters, an annotation without its required fields, or columns
// on a multi-line annotation; and 403 when told to play a read-only token.
package githubfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Request is one request the fake received.
type Request struct {
	Method string
	// Path is the URL path, e.g. "/api/v3/repos/o/r/check-runs".
	Path string
	// Authorization is the Authorization header as sent.
	Authorization string
	// Body is the raw request body.
	Body []byte
	// JSON is Body decoded (nil when it is not a JSON object).
	JSON map[string]any
}

// Annotations returns the output.annotations of the request's body.
func (r Request) Annotations() []map[string]any {
	out, _ := r.JSON["output"].(map[string]any)
	list, _ := out["annotations"].([]any)
	var anns []map[string]any
	for _, a := range list {
		if m, ok := a.(map[string]any); ok {
			anns = append(anns, m)
		}
	}
	return anns
}

// Str returns the string at a dotted path of the request's JSON body
// ("status", "output.title"); "" when absent.
func (r Request) Str(dotted string) string {
	var v any = r.JSON
	for _, k := range strings.Split(dotted, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// Server is the fake. Set its fields before the code under test runs.
type Server struct {
	*httptest.Server
	// Prefix is the path the API lives under: "" for github.com, "/api/v3"
	// for GitHub Enterprise Server.
	Prefix string
	// ForbidCreate makes check run creation fail with 403 "Resource not
	// accessible by integration", as for a fork's read-only token.
	ForbidCreate bool
	// FailUpdates makes every update fail with this status (0: never).
	FailUpdates int
	// HTMLURL is the web address check runs' html_url starts with (the
	// fake's own URL when empty), e.g. "https://github.com" for examples.
	HTMLURL string

	mu       sync.Mutex
	requests []Request
	nextID   int64
}

// New starts a fake serving under prefix ("" or "/api/v3"); it is closed
// when the test ends.
func New(t interface{ Cleanup(func()) }, prefix string) *Server {
	s := &Server{Prefix: strings.TrimRight(prefix, "/"), nextID: 1000}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// APIURL is the base URL to give the client (what GITHUB_API_URL holds).
func (s *Server) APIURL() string { return s.URL + s.Prefix }

// Requests returns a copy of the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: body}
	_ = json.Unmarshal(body, &req.JSON)
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	rest, ok := strings.CutPrefix(r.URL.Path, s.Prefix+"/repos/")
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 3 && parts[2] == "check-runs" && r.Method == http.MethodPost:
		s.create(w, parts[0], parts[1], req)
	case len(parts) == 4 && parts[2] == "check-runs" && r.Method == http.MethodPatch:
		id, err := strconv.ParseInt(parts[3], 10, 64)
		if err != nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		s.update(w, parts[0], parts[1], id, req)
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) create(w http.ResponseWriter, owner, repo string, req Request) {
	if s.ForbidCreate {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	if req.Str("name") == "" || req.Str("head_sha") == "" {
		writeError(w, http.StatusUnprocessableEntity, "name and head_sha are required")
		return
	}
	if msg := validate(req.JSON); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, msg)
		return
	}
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, s.run(owner, repo, id, req))
}

func (s *Server) update(w http.ResponseWriter, owner, repo string, id int64, req Request) {
	if s.FailUpdates != 0 {
		writeError(w, s.FailUpdates, http.StatusText(s.FailUpdates))
		return
	}
	if msg := validate(req.JSON); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, msg)
		return
	}
	writeJSON(w, http.StatusOK, s.run(owner, repo, id, req))
}

func (s *Server) run(owner, repo string, id int64, req Request) map[string]any {
	web := s.HTMLURL
	if web == "" {
		web = s.URL
	}
	return map[string]any{
		"id":         id,
		"name":       req.Str("name"),
		"head_sha":   req.Str("head_sha"),
		"status":     req.Str("status"),
		"conclusion": req.Str("conclusion"),
		"html_url":   fmt.Sprintf("%s/%s/%s/runs/%d", web, owner, repo, id),
	}
}

// validate applies GitHub's rules for a check run's body; it returns the
// refusal message or "".
func validate(body map[string]any) string {
	if st, _ := body["status"].(string); st == "completed" {
		if c, _ := body["conclusion"].(string); c == "" {
			return "conclusion is required when status is completed"
		}
	}
	if c, ok := body["conclusion"].(string); ok {
		switch c {
		case "success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required":
		default:
			return "invalid conclusion " + c
		}
	}
	out, ok := body["output"].(map[string]any)
	if !ok {
		return ""
	}
	title, _ := out["title"].(string)
	summary, _ := out["summary"].(string)
	if title == "" || summary == "" {
		return "output.title and output.summary are required"
	}
	for _, k := range []string{"summary", "text"} {
		if v, _ := out[k].(string); utf8.RuneCountInString(v) > 65535 {
			return fmt.Sprintf("output.%s is too long (maximum is 65535 characters)", k)
		}
	}
	anns, _ := out["annotations"].([]any)
	if len(anns) > 50 {
		return fmt.Sprintf("%d annotations in one request: at most 50 are allowed", len(anns))
	}
	for i, a := range anns {
		m, _ := a.(map[string]any)
		for _, k := range []string{"path", "annotation_level", "message"} {
			if v, _ := m[k].(string); v == "" {
				return fmt.Sprintf("annotations[%d].%s is required", i, k)
			}
		}
		switch m["annotation_level"] {
		case "notice", "warning", "failure":
		default:
			return fmt.Sprintf("annotations[%d].annotation_level is invalid", i)
		}
		sl, ok1 := m["start_line"].(float64)
		el, ok2 := m["end_line"].(float64)
		if !ok1 || !ok2 || sl < 1 || el < sl {
			return fmt.Sprintf("annotations[%d]: start_line and end_line are required, end_line >= start_line", i)
		}
		if _, ok := m["start_column"]; ok && sl != el {
			return fmt.Sprintf("annotations[%d]: start_column is only allowed when start_line equals end_line", i)
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{
		"message":           msg,
		"documentation_url": "https://docs.github.com/rest/checks/runs",
	})
}
