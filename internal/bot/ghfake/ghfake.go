// Package ghfake is an in-process fake of the part of GitHub's REST API the
// bot calls, for tests: installation tokens, the app, the collaborator
// permission API, reactions, the contents API, pull requests and their
// reviews, workflow dispatch and runs, and issue comments.
//
// It records every request exactly as received (method, path, query, body,
// Authorization) so tests can assert the exact calls, and it can play
// GitHub's bad days: 5xx answers, a secondary rate limit with Retry-After,
// and a dispatch that hangs until released.
package ghfake

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// Request is one request as the fake received it.
type Request struct {
	Method string
	Path   string
	Query  string
	Body   []byte
	Auth   string
	At     time.Time
}

// String is "METHOD /path".
func (r Request) String() string { return r.Method + " " + r.Path }

// JSON decodes the body into a map.
func (r Request) JSON() map[string]any {
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	return m
}

// PR is a pull request the fake knows.
type PR struct {
	HeadSHA  string
	HeadRef  string
	HeadRepo string // owner/name of the head repository; a fork when it differs from the base
	State    string // "open" (default) or "closed"
	Author   string
}

// Review is a pull request review.
type Review struct {
	User  string
	State string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
}

// Comment is an issue comment the bot wrote.
type Comment struct {
	ID      int64
	PR      int
	Body    string
	Edits   int
	Deleted bool
}

// Perm is a collaborator's permission as the API reports it.
type Perm struct {
	Permission string // admin, write, read, none
	RoleName   string // admin, maintain, write, triage, read
}

// Run is a workflow run the fake serves.
type Run struct {
	ID           int64
	Status       string
	Conclusion   string
	HeadSHA      string
	DisplayTitle string
	Path         string
	Event        string
}

// Server is the fake. Configure it (the exported fields, under no lock)
// before the bot talks to it; read it through the methods.
type Server struct {
	*httptest.Server

	// Owner and Repo name the repository served; DefaultBranch its default
	// branch.
	Owner, Repo, DefaultBranch string
	// Installation is the repository's installation id.
	Installation int64
	// AppSlug is the app's slug (its bot login is AppSlug+"[bot]").
	AppSlug string
	// PublicKey, when set, verifies the app JWT of /app requests.
	PublicKey *rsa.PublicKey

	mu          sync.Mutex
	reqs        []Request
	perms       map[string]Perm
	prs         map[int]PR
	reviews     map[int][]Review
	config      []byte
	configSet   bool
	workflows   []string // known workflow files; empty: any
	comments    map[int64]*Comment
	nextComment int64
	runs        map[int64]Run
	faults      []fault
	gate        chan struct{}
	gated       int
	tokens      int
}

type fault struct {
	method, prefix string
	status         int
	n              int
	secondary      bool
}

// New starts a fake for owner/repo.
func New(owner, repo string) *Server {
	s := &Server{
		Owner: owner, Repo: repo, DefaultBranch: "main", Installation: 4242, AppSlug: "deploy-bot",
		perms: map[string]Perm{}, prs: map[int]PR{}, reviews: map[int][]Review{},
		comments: map[int64]*Comment{}, nextComment: 9000, runs: map[int64]Run{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetPermission sets a user's permission (and role name).
func (s *Server) SetPermission(user, permission, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perms[strings.ToLower(user)] = Perm{Permission: permission, RoleName: role}
}

// SetPR sets a pull request.
func (s *Server) SetPR(n int, pr PR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pr.State == "" {
		pr.State = "open"
	}
	if pr.HeadRepo == "" {
		pr.HeadRepo = s.Owner + "/" + s.Repo
	}
	s.prs[n] = pr
}

// SetReviews sets a pull request's reviews.
func (s *Server) SetReviews(n int, rs ...Review) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reviews[n] = rs
}

// SetConfig serves content as .github/deploy-bot.yml (nil: 404).
func (s *Server) SetConfig(content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.config, s.configSet = content, content != nil
}

// SetWorkflows limits the workflow files that exist (dispatching another
// answers 404, as GitHub does).
func (s *Server) SetWorkflows(files ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.workflows = files
}

// SetRun serves a workflow run.
func (s *Server) SetRun(r Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[r.ID] = r
}

// Fail makes the next n requests whose method is method and whose path
// starts with prefix answer status.
func (s *Server) Fail(method, prefix string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{method: method, prefix: prefix, status: status, n: n})
}

// SecondaryLimit makes the next n matching requests answer 403 with
// GitHub's secondary rate limit message and Retry-After: 1.
func (s *Server) SecondaryLimit(method, prefix string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{method: method, prefix: prefix, status: http.StatusForbidden, n: n, secondary: true})
}

// HoldDispatches makes workflow dispatches wait until ReleaseDispatches.
func (s *Server) HoldDispatches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
}

// ReleaseDispatches lets held and future dispatches through.
func (s *Server) ReleaseDispatches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// Held is how many dispatches are waiting.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gated
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// Calls returns "METHOD /path" of each request, without the installation
// token requests.
func (s *Server) Calls() []string {
	var out []string
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, "/app/installations/") {
			continue
		}
		out = append(out, r.String())
	}
	return out
}

// Matching returns the requests whose method is method and whose path
// starts with prefix.
func (s *Server) Matching(method, prefix string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// Comments returns the comments written on a pull request, oldest first.
func (s *Server) Comments(pr int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments {
		if c.PR == pr {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b Comment) int { return int(a.ID - b.ID) })
	return out
}

// DeleteComment deletes a comment, as a user could.
func (s *Server) DeleteComment(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.comments[id]; ok {
		c.Deleted = true
	}
}

// Tokens is how many installation tokens were issued.
func (s *Server) Tokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body, Auth: r.Header.Get("Authorization"), At: time.Now()}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	for i := range s.faults {
		f := &s.faults[i]
		if f.n > 0 && f.method == r.Method && strings.HasPrefix(r.URL.Path, f.prefix) {
			f.n--
			s.mu.Unlock()
			if f.secondary {
				w.Header().Set("Retry-After", "1")
				writeJSON(w, f.status, map[string]string{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
					"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})
				return
			}
			writeJSON(w, f.status, map[string]string{"message": "Server Error"})
			return
		}
	}
	s.mu.Unlock()

	path := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(path, "/")
	switch {
	case r.Method == http.MethodPost && len(parts) == 4 && parts[0] == "app" && parts[1] == "installations" && parts[3] == "access_tokens":
		if !s.appAuth(w, r) {
			return
		}
		s.mu.Lock()
		s.tokens++
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{"token": "ghs_fake" + parts[2], "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
		return
	case r.Method == http.MethodGet && path == "app":
		if !s.appAuth(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "slug": s.AppSlug, "name": s.AppSlug})
		return
	}
	if len(parts) < 3 || parts[0] != "repos" || parts[1] != s.Owner || parts[2] != s.Repo {
		notFound(w)
		return
	}
	rest := parts[3:]
	if len(rest) == 1 && rest[0] == "installation" && r.Method == http.MethodGet {
		if !s.appAuth(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": s.Installation, "app_id": 1})
		return
	}
	if want := "token ghs_fake" + strconv.FormatInt(s.Installation, 10); req.Auth != want {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	s.repoAPI(w, r, rest, body)
}

// appAuth checks the app JWT (when PublicKey is set).
func (s *Server) appAuth(w http.ResponseWriter, r *http.Request) bool {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "A JSON web token could not be decoded"})
		return false
	}
	if s.PublicKey != nil {
		_, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return s.PublicKey, nil }, jwt.WithValidMethods([]string{"RS256"}))
		if err != nil {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "'Expiration time' claim ('exp') is invalid or the signature does not match"})
			return false
		}
	}
	return true
}

func (s *Server) repoAPI(w http.ResponseWriter, r *http.Request, rest []string, body []byte) {
	full := s.Owner + "/" + s.Repo
	get := r.Method == http.MethodGet
	switch {
	case get && len(rest) == 3 && rest[0] == "collaborators" && rest[2] == "permission":
		s.mu.Lock()
		p, ok := s.perms[strings.ToLower(rest[1])]
		s.mu.Unlock()
		if !ok {
			p = Perm{Permission: "none"}
		}
		writeJSON(w, http.StatusOK, map[string]any{"permission": p.Permission, "role_name": p.RoleName, "user": map[string]any{"login": rest[1]}})
	case r.Method == http.MethodPost && len(rest) == 4 && rest[0] == "issues" && rest[1] == "comments" && rest[3] == "reactions":
		writeJSON(w, http.StatusCreated, map[string]any{"id": 1, "content": jsonField(body, "content")})
	case get && len(rest) >= 2 && rest[0] == "contents":
		p := strings.Join(rest[1:], "/")
		s.mu.Lock()
		content, ok := s.config, s.configSet
		s.mu.Unlock()
		if p != ".github/deploy-bot.yml" || !ok {
			notFound(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"type": "file", "encoding": "base64", "path": p, "name": "deploy-bot.yml", "size": len(content),
			"sha": "0123456789abcdef0123456789abcdef01234567", "content": base64.StdEncoding.EncodeToString(content)})
	case get && len(rest) == 2 && rest[0] == "pulls":
		n, _ := strconv.Atoi(rest[1])
		s.mu.Lock()
		pr, ok := s.prs[n]
		s.mu.Unlock()
		if !ok {
			notFound(w)
			return
		}
		owner, _, _ := strings.Cut(pr.HeadRepo, "/")
		writeJSON(w, http.StatusOK, map[string]any{
			"number": n, "state": pr.State, "user": map[string]any{"login": pr.Author},
			"head": map[string]any{"sha": pr.HeadSHA, "ref": pr.HeadRef, "repo": map[string]any{"full_name": pr.HeadRepo, "fork": pr.HeadRepo != full, "owner": map[string]any{"login": owner}}},
			"base": map[string]any{"ref": s.DefaultBranch, "repo": map[string]any{"full_name": full, "default_branch": s.DefaultBranch}},
		})
	case get && len(rest) == 3 && rest[0] == "pulls" && rest[2] == "reviews":
		n, _ := strconv.Atoi(rest[1])
		s.mu.Lock()
		rs := s.reviews[n]
		s.mu.Unlock()
		out := []map[string]any{}
		for i, rv := range rs {
			out = append(out, map[string]any{"id": i + 1, "state": rv.State, "user": map[string]any{"login": rv.User}})
		}
		writeJSON(w, http.StatusOK, out)
	case r.Method == http.MethodPost && len(rest) == 4 && rest[0] == "actions" && rest[1] == "workflows" && rest[3] == "dispatches":
		s.mu.Lock()
		known := len(s.workflows) == 0 || slices.Contains(s.workflows, rest[2])
		gate := s.gate
		if gate != nil {
			s.gated++
		}
		s.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
			s.mu.Lock()
			s.gated--
			s.mu.Unlock()
		}
		if !known {
			notFound(w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case get && len(rest) == 3 && rest[0] == "actions" && rest[1] == "runs":
		id, _ := strconv.ParseInt(rest[2], 10, 64)
		s.mu.Lock()
		run, ok := s.runs[id]
		s.mu.Unlock()
		if !ok {
			notFound(w)
			return
		}
		writeJSON(w, http.StatusOK, s.runJSON(run))
	case get && len(rest) == 4 && rest[0] == "actions" && rest[1] == "workflows" && rest[3] == "runs":
		s.mu.Lock()
		var list []map[string]any
		for _, run := range s.runs {
			if strings.HasSuffix(run.Path, "/"+rest[2]) {
				list = append(list, s.runJSON(run))
			}
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "workflow_runs": list})
	case r.Method == http.MethodPost && len(rest) == 3 && rest[0] == "issues" && rest[2] == "comments":
		n, _ := strconv.Atoi(rest[1])
		s.mu.Lock()
		s.nextComment++
		c := &Comment{ID: s.nextComment, PR: n, Body: jsonField(body, "body")}
		s.comments[c.ID] = c
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID, "body": c.Body, "html_url": fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", full, n, c.ID)})
	case r.Method == http.MethodPatch && len(rest) == 3 && rest[0] == "issues" && rest[1] == "comments":
		id, _ := strconv.ParseInt(rest[2], 10, 64)
		s.mu.Lock()
		c, ok := s.comments[id]
		if ok && !c.Deleted {
			c.Body = jsonField(body, "body")
			c.Edits++
		}
		s.mu.Unlock()
		if !ok || c.Deleted {
			notFound(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "body": c.Body})
	default:
		notFound(w)
	}
}

func (s *Server) runJSON(r Run) map[string]any {
	return map[string]any{"id": r.ID, "status": r.Status, "conclusion": r.Conclusion, "head_sha": r.HeadSHA, "display_title": r.DisplayTitle,
		"path": r.Path, "event": r.Event, "html_url": fmt.Sprintf("https://github.com/%s/%s/actions/runs/%d", s.Owner, s.Repo, r.ID)}
}

func jsonField(body []byte, key string) string {
	var m map[string]any
	if json.NewDecoder(bytes.NewReader(body)).Decode(&m) != nil {
		return ""
	}
	v, _ := m[key].(string)
	return v
}
