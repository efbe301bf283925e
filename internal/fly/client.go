package fly

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	flygo "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"
	"github.com/superfly/fly-go/tokens"
)

// Default base URLs of Fly's APIs.
const (
	DefaultMachinesURL = "https://api.machines.dev"
	DefaultAPIURL      = "https://api.fly.io"
)

// Environment variables read by ClientOptionsFromEnv.
const (
	EnvAPIToken    = "FLY_API_TOKEN"
	EnvAccessToken = "FLY_ACCESS_TOKEN"
	// EnvMachinesURL is the only variable fly-go's flaps client reads for
	// its base URL.
	EnvMachinesURL = "FLY_FLAPS_BASE_URL"
	// EnvAPIURL is the base of the GraphQL and REST API (logs), as flyctl
	// names it.
	EnvAPIURL = "FLY_API_BASE_URL"
)

// ErrNoToken is returned by ClientOptionsFromEnv when neither FLY_API_TOKEN
// nor FLY_ACCESS_TOKEN is set.
var ErrNoToken = errors.New("no Fly API token: set FLY_API_TOKEN (for example with `fly tokens create deploy`) or FLY_ACCESS_TOKEN")

// ClientOptions configures NewClient. The zero value talks to Fly's public
// endpoints without a token.
type ClientOptions struct {
	// Token is a Fly API token (a "FlyV1 …" macaroon or a personal token).
	Token string
	// MachinesURL is the Machines API base; "" means FLY_FLAPS_BASE_URL, then
	// DefaultMachinesURL.
	MachinesURL string
	// APIURL is the base of Fly's web API, used for logs; "" means
	// DefaultAPIURL.
	APIURL string
	// UserAgent is sent with every request; "" means "deploy-action".
	UserAgent string
	// Transport is the underlying HTTP transport; nil means
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// ClientOptionsFromEnv reads the token from FLY_API_TOKEN (or
// FLY_ACCESS_TOKEN), the Machines API base from FLY_FLAPS_BASE_URL and the
// web API base from FLY_API_BASE_URL. It returns ErrNoToken, with the other
// options filled in, when no token is set.
func ClientOptionsFromEnv() (ClientOptions, error) {
	o := ClientOptions{
		Token:       strings.TrimSpace(os.Getenv(EnvAPIToken)),
		MachinesURL: os.Getenv(EnvMachinesURL),
		APIURL:      os.Getenv(EnvAPIURL),
	}
	if o.Token == "" {
		o.Token = strings.TrimSpace(os.Getenv(EnvAccessToken))
	}
	if o.Token == "" {
		return o, ErrNoToken
	}
	return o, nil
}

// Client is the real API: fly-go's flaps client for the Machines API, plus
// fly-go's web client for logs. Build it with NewClient.
type Client struct {
	*flaps.Client
	logs *flygo.Client
}

// setBaseURL guards fly-go's package-level base URL (fly.SetBaseURL), which
// its logs call reads instead of the client's own BaseURL.
var setBaseURL sync.Mutex

// NewClient returns a client for the Machines API at opts.MachinesURL and the
// logs endpoint at opts.APIURL.
//
// fly-go reads the Machines API base only from FLY_FLAPS_BASE_URL; when
// opts.MachinesURL says otherwise, NewClient rewrites each request's scheme,
// host and path prefix in its transport, so the environment is left alone.
// The web API base is process-wide in fly-go (fly.SetBaseURL): the last
// NewClient call wins.
func NewClient(ctx context.Context, opts ClientOptions) (*Client, error) {
	ua := opts.UserAgent
	if ua == "" {
		ua = "deploy-action"
	}
	transport := opts.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	toks := tokens.Parse(opts.Token)

	envBase := os.Getenv(EnvMachinesURL)
	if envBase == "" {
		envBase = DefaultMachinesURL
	}
	flapsTransport := transport
	if opts.MachinesURL != "" && strings.TrimRight(opts.MachinesURL, "/") != strings.TrimRight(envBase, "/") {
		from, err := url.Parse(envBase)
		if err != nil {
			return nil, fmt.Errorf("parse %s %q: %w", EnvMachinesURL, envBase, err)
		}
		to, err := url.Parse(opts.MachinesURL)
		if err != nil || to.Scheme == "" || to.Host == "" {
			return nil, fmt.Errorf("parse Machines API URL %q: want an absolute http(s) URL", opts.MachinesURL)
		}
		flapsTransport = &rebase{from: from, to: to, next: transport}
	}
	fc, err := flaps.NewWithOptions(ctx, flaps.NewClientOpts{UserAgent: ua, Tokens: toks, Transport: flapsTransport})
	if err != nil {
		return nil, fmt.Errorf("create Machines API client: %w", err)
	}

	apiURL := strings.TrimRight(opts.APIURL, "/")
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	setBaseURL.Lock()
	flygo.SetBaseURL(apiURL)
	setBaseURL.Unlock()
	web := flygo.NewClientFromOptions(flygo.ClientOptions{
		Tokens:    toks,
		Name:      ua,
		Version:   "1",
		BaseURL:   apiURL,
		Transport: &flygo.Transport{UnderlyingTransport: transport, Tokens: toks, UserAgent: ua},
	})
	return &Client{Client: fc, logs: web}, nil
}

// NewClientFromEnv is NewClient with ClientOptionsFromEnv; it returns
// ErrNoToken when no token is set.
func NewClientFromEnv(ctx context.Context) (*Client, error) {
	opts, err := ClientOptionsFromEnv()
	if err != nil {
		return nil, err
	}
	return NewClient(ctx, opts)
}

// GetAppLogs returns the app's recent log lines (of one machine when
// instanceID is set) through fly-go's logs endpoint.
func (c *Client) GetAppLogs(ctx context.Context, app, token, region, instanceID string) ([]flygo.LogEntry, string, error) {
	if c.logs == nil {
		return nil, "", errors.New("logs client not configured")
	}
	entries, next, err := c.logs.GetAppLogs(ctx, app, token, region, instanceID)
	if err != nil {
		return nil, "", fmt.Errorf("get logs of %s: %w", app, err)
	}
	return entries, next, nil
}

// rebase sends requests aimed at from (scheme, host, path prefix) to to.
type rebase struct {
	from, to *url.URL
	next     http.RoundTripper
}

func (r *rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != r.from.Host {
		return r.next.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = r.to.Scheme, r.to.Host
	p := strings.TrimPrefix(u.Path, strings.TrimRight(r.from.Path, "/"))
	u.Path = strings.TrimRight(r.to.Path, "/") + p
	u.RawPath = ""
	out.URL = &u
	out.Host = ""
	return r.next.RoundTrip(out)
}
