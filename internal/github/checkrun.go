// Package github reports a deploy-action Report to GitHub as a check run
// (named `deploy-check` by default) with annotations at the file and line of
// each finding, through go-github.
//
// A check run is created in_progress, may be updated as phases end, and is
// completed with a conclusion; annotations are sent in batches of at most 50,
// GitHub's limit per request, until all are delivered. Output fields are
// capped at 65,535 characters.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v66/github"
)

// MaxAnnotationsPerRequest is how many annotations GitHub accepts in one
// create or update request.
const MaxAnnotationsPerRequest = 50

// MaxOutputLen is GitHub's limit on a check run output's summary and text.
const MaxOutputLen = 65535

// DefaultAPIURL is the API base of github.com.
const DefaultAPIURL = "https://api.github.com"

// Client talks to one repository's checks API.
type Client struct {
	gh          *gh.Client
	owner, repo string
}

// NewClient returns a client for repository ("owner/name") at apiURL (the
// workflow's GITHUB_API_URL: "https://api.github.com", or
// "https://HOST/api/v3" on GitHub Enterprise Server; "" means github.com),
// authenticated with token. httpClient may be nil.
func NewClient(apiURL, repository, token string, httpClient *http.Client) (*Client, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("repository %q is not owner/name", repository)
	}
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	base, err := url.Parse(strings.TrimRight(apiURL, "/") + "/")
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("API URL %q is not an absolute URL", apiURL)
	}
	c := gh.NewClient(httpClient)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	c.BaseURL = base
	c.UserAgent = "deploy-action"
	return &Client{gh: c, owner: owner, repo: repo}, nil
}

// Output is what a check run shows: a title, a Markdown summary and a
// Markdown text (details).
type Output struct {
	Title, Summary, Text string
}

func (o Output) api(anns []*gh.CheckRunAnnotation) *gh.CheckRunOutput {
	out := &gh.CheckRunOutput{
		Title:   gh.String(capTitle(o.Title)),
		Summary: gh.String(Cap(o.Summary)),
	}
	if o.Text != "" {
		out.Text = gh.String(Cap(o.Text))
	}
	if len(anns) > 0 {
		out.Annotations = anns
	}
	return out
}

// Cap cuts s to MaxOutputLen bytes at a line boundary, ending it with a note
// that it was cut; s is returned unchanged when it fits.
func Cap(s string) string {
	if len(s) <= MaxOutputLen {
		return s
	}
	note := fmt.Sprintf("\n\n✂️ cut at %d characters, GitHub's limit for a check run's output.\n", MaxOutputLen)
	n := MaxOutputLen - len(note)
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	keep := s[:n]
	if i := strings.LastIndexByte(keep, '\n'); i > 0 {
		keep = keep[:i]
	}
	return keep + note
}

func capTitle(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= 255 {
		return s
	}
	n := 252
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}

// CheckRun is a check run this client created.
type CheckRun struct {
	c *Client
	// ID is GitHub's id of the check run.
	ID int64
	// Name is its name, e.g. "deploy-check".
	Name string
	// HTMLURL is the check run's page.
	HTMLURL string
}

// Start says how to create a check run.
type Start struct {
	// Name is the check's name, e.g. "deploy-check".
	Name string
	// HeadSHA is the commit the check run is attached to.
	HeadSHA string
	// DetailsURL links the check to the workflow run ("" for none).
	DetailsURL string
	// StartedAt is when the work began (zero: now).
	StartedAt time.Time
	// Output is shown while the check runs.
	Output Output
}

// Create creates a check run with status in_progress.
func (c *Client) Create(ctx context.Context, s Start) (*CheckRun, error) {
	if s.StartedAt.IsZero() {
		s.StartedAt = time.Now()
	}
	opt := gh.CreateCheckRunOptions{
		Name:      s.Name,
		HeadSHA:   s.HeadSHA,
		Status:    gh.String("in_progress"),
		StartedAt: &gh.Timestamp{Time: s.StartedAt.UTC()},
		Output:    s.Output.api(nil),
	}
	if s.DetailsURL != "" {
		opt.DetailsURL = gh.String(s.DetailsURL)
	}
	run, _, err := c.gh.Checks.CreateCheckRun(ctx, c.owner, c.repo, opt)
	if err != nil {
		return nil, fmt.Errorf("create check run %q on %s/%s@%s: %w", s.Name, c.owner, c.repo, s.HeadSHA, err)
	}
	return &CheckRun{c: c, ID: run.GetID(), Name: s.Name, HTMLURL: run.GetHTMLURL()}, nil
}

// Progress updates the output of the check run while it is in progress
// (for example the phase table when a phase ends).
func (r *CheckRun) Progress(ctx context.Context, out Output) error {
	return r.update(ctx, "in_progress", "", time.Time{}, out, nil)
}

// Complete delivers every annotation, in batches of at most
// MaxAnnotationsPerRequest, then completes the check run with conclusion
// ("success", "failure", "neutral", ...) and out. All batches but the last
// go in in_progress updates, the last one with the completion, so that a
// completed check run already holds all its annotations.
func (r *CheckRun) Complete(ctx context.Context, conclusion string, out Output, anns []*gh.CheckRunAnnotation) error {
	batches := Batches(anns, MaxAnnotationsPerRequest)
	for i := 0; i+1 < len(batches); i++ {
		if err := r.update(ctx, "in_progress", "", time.Time{}, out, batches[i]); err != nil {
			return fmt.Errorf("annotations %d-%d of %d: %w", i*MaxAnnotationsPerRequest+1, i*MaxAnnotationsPerRequest+len(batches[i]), len(anns), err)
		}
	}
	var last []*gh.CheckRunAnnotation
	if len(batches) > 0 {
		last = batches[len(batches)-1]
	}
	return r.update(ctx, "completed", conclusion, time.Now(), out, last)
}

func (r *CheckRun) update(ctx context.Context, status, conclusion string, completed time.Time, out Output, anns []*gh.CheckRunAnnotation) error {
	opt := gh.UpdateCheckRunOptions{
		Name:   r.Name,
		Status: gh.String(status),
		Output: out.api(anns),
	}
	if conclusion != "" {
		opt.Conclusion = gh.String(conclusion)
		opt.CompletedAt = &gh.Timestamp{Time: completed.UTC()}
	}
	if _, _, err := r.c.gh.Checks.UpdateCheckRun(ctx, r.c.owner, r.c.repo, r.ID, opt); err != nil {
		return fmt.Errorf("update check run %d (%s): %w", r.ID, status, err)
	}
	return nil
}

// Batches splits anns into slices of at most n.
func Batches[T any](anns []T, n int) [][]T {
	var out [][]T
	for len(anns) > n {
		out = append(out, anns[:n:n])
		anns = anns[n:]
	}
	if len(anns) > 0 {
		out = append(out, anns)
	}
	return out
}

// IsForbidden reports whether err is GitHub refusing the request for lack of
// permission (HTTP 403 that is not a rate limit): the read-only token of a
// pull request from a fork, or a workflow without `checks: write`.
func IsForbidden(err error) bool {
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &abuse) {
		return false
	}
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden
}
