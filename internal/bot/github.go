package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	github_ratelimit "github.com/gofri/go-github-ratelimit/v2/github_ratelimit"
	"github.com/gofri/go-github-ratelimit/v2/github_ratelimit/github_secondary_ratelimit"
	gh "github.com/google/go-github/v66/github"
	"github.com/hashicorp/go-retryablehttp"
)

// DefaultAPIURL is github.com's REST API.
const DefaultAPIURL = "https://api.github.com"

// noRetryKey marks a request that must not be retried on 5xx (a workflow
// dispatch: a 502 may hide a dispatch that happened).
type noRetryKey struct{}

func withoutRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

// retryPolicy retries transport errors and 5xx answers (not 501), never a
// request marked withoutRetry and never once the context is done. Rate
// limits (403/429) are left to the rate limiter above.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if v, _ := ctx.Value(noRetryKey{}).(bool); v {
		return false, nil
	}
	if err != nil {
		return true, nil
	}
	return resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented, nil
}

// retryTransport wraps base with retries and exponential backoff on 5xx.
func retryTransport(base http.RoundTripper, max int, waitMin, waitMax time.Duration) http.RoundTripper {
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{
		Transport:     base,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.Logger = nil
	c.RetryMax = max
	c.RetryWaitMin, c.RetryWaitMax = waitMin, waitMax
	c.CheckRetry = retryPolicy
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &retryablehttp.RoundTripper{Client: c}
}

// counting counts GitHub answers by status code for the metrics.
type counting struct {
	next http.RoundTripper
	m    *metrics
}

// RoundTrip counts the answer of next.
func (c counting) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = fmt.Sprint(resp.StatusCode)
	}
	c.m.github.WithLabelValues(code).Inc()
	return resp, err
}

// clients makes go-github clients authenticated as the app (JWT) or as one
// of its installations. Installation tokens are cached per installation by
// ghinstallation (refreshed a minute before they expire).
type clients struct {
	apiURL   *url.URL
	apps     *ghinstallation.AppsTransport
	limit    time.Duration
	appOnce  sync.Once
	app      *gh.Client
	mu       sync.Mutex
	inst     map[int64]*gh.Client
	repoInst map[string]int64
}

func newClients(apiURL string, appID int64, key []byte, base http.RoundTripper, sleepLimit time.Duration) (*clients, error) {
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	u, err := url.Parse(strings.TrimRight(apiURL, "/") + "/")
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("GitHub API URL %q is not an absolute URL", apiURL)
	}
	apps, err := ghinstallation.NewAppsTransport(base, appID, key)
	if err != nil {
		return nil, fmt.Errorf("GitHub App private key: %w", err)
	}
	apps.BaseURL = strings.TrimRight(apiURL, "/")
	return &clients{apiURL: u, apps: apps, limit: sleepLimit, inst: map[int64]*gh.Client{}, repoInst: map[string]int64{}}, nil
}

// client wraps a transport with the secondary rate limiter (which sleeps for
// Retry-After, at most c.limit in all, then retries) and makes a go-github
// client on the API URL.
func (c *clients) client(tr http.RoundTripper) *gh.Client {
	limited := github_ratelimit.New(tr, github_secondary_ratelimit.WithTotalSleepLimit(c.limit, nil))
	g := gh.NewClient(&http.Client{Transport: limited, Timeout: 2 * time.Minute})
	g.BaseURL = c.apiURL
	g.UserAgent = "deploy-bot"
	return g
}

// App is a client authenticated as the app itself.
func (c *clients) App() *gh.Client {
	c.appOnce.Do(func() { c.app = c.client(c.apps) })
	return c.app
}

// Installation is a client authenticated as installation id.
func (c *clients) Installation(id int64) *gh.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, ok := c.inst[id]; ok {
		return g
	}
	g := c.client(ghinstallation.NewFromAppsTransport(c.apps, id))
	c.inst[id] = g
	return g
}

// ForRepo returns the installation client of owner/repo: installation id
// when known (from the webhook), else the one GitHub names for the
// repository (cached).
func (c *clients) ForRepo(ctx context.Context, owner, repo string, id int64) (*gh.Client, int64, error) {
	if id != 0 {
		return c.Installation(id), id, nil
	}
	key := strings.ToLower(owner + "/" + repo)
	c.mu.Lock()
	id = c.repoInst[key]
	c.mu.Unlock()
	if id == 0 {
		inst, _, err := c.App().Apps.FindRepositoryInstallation(ctx, owner, repo)
		if err != nil {
			return nil, 0, fmt.Errorf("find the app's installation on %s/%s: %w", owner, repo, err)
		}
		id = inst.GetID()
		c.mu.Lock()
		c.repoInst[key] = id
		c.mu.Unlock()
	}
	return c.Installation(id), id, nil
}

// statusOf returns the HTTP status of a go-github error (0 when none).
func statusOf(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	var ae *gh.AcceptedError
	if errors.As(err, &ae) {
		return http.StatusAccepted
	}
	return 0
}
