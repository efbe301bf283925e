// Package health verifies a running app from the outside, as a user would
// reach it: it samples an HTTP(S) endpoint, checks the status code and the
// JSON body, measures latency (p50, p95, max), reads the TLS certificate,
// names redirects instead of following them, and optionally connects to a
// WebSocket endpoint and checks that it echoes.
//
// Verify measures; Result.Findings turns the measurements into the `verify`
// phase of a report, each finding saying what is wrong, with numbers, and
// what to do. The deploy engine, `deploy-action verify` and the bot's
// `/health` share this code.
package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults used for the zero values of Options.
const (
	DefaultSamples      = 10
	DefaultInterval     = time.Second
	DefaultMaxP95       = 200 * time.Millisecond
	DefaultSlowSample   = time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultCertWarnDays = 14
	DefaultStatus       = http.StatusOK
)

// maxBody is how much of a response body is read and checked.
const maxBody = 1 << 20

// Options say what to verify and what counts as healthy. Only URL is
// required; every other zero value means the default named on the field.
type Options struct {
	// URL is the http:// or https:// endpoint to sample, e.g.
	// https://app.fly.dev/health.
	URL string
	// ExpectStatus is the status code a healthy answer has (default 200).
	// Any other code, redirects included, fails the sample.
	ExpectStatus int
	// ExpectJSON are checks on the JSON body; none means the body is not
	// checked.
	ExpectJSON []Expectation
	// Samples is how many requests are made (default 10).
	Samples int
	// Interval is the time from the start of one sample to the start of the
	// next (default 1 s); a negative Interval sends samples back to back.
	Interval time.Duration
	// MaxP95 is the highest acceptable 95th-percentile latency (default
	// 200 ms); above it the run fails.
	MaxP95 time.Duration
	// SlowSample is the latency above which a single sample earns a warning
	// even when the p95 is within MaxP95 (default 1 s).
	SlowSample time.Duration
	// Timeout bounds each request and the WebSocket check (default 10 s).
	Timeout time.Duration
	// WebSocket, when set, is a ws:// or wss:// URL that must accept a
	// connection and echo a text message back.
	WebSocket string
	// CertWarnDays is how many days before expiry a certificate earns a
	// warning (default 14).
	CertWarnDays int
	// Client, when set, makes the requests (tests inject one; the bot may
	// share its own). Verify uses a copy that never follows redirects. When
	// nil, Verify builds a client from http.DefaultTransport.
	Client *http.Client
	// RootCAs, when set and Client is nil, are the certificate authorities
	// trusted for https:// and wss:// (default: the system's).
	RootCAs *x509.CertPool
	// OnSample, when set, is called after each sample (for progress output).
	OnSample func(Sample)
}

// withDefaults returns o with zero values replaced by the defaults.
func (o Options) withDefaults() Options {
	if o.ExpectStatus == 0 {
		o.ExpectStatus = DefaultStatus
	}
	if o.Samples <= 0 {
		o.Samples = DefaultSamples
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.MaxP95 <= 0 {
		o.MaxP95 = DefaultMaxP95
	}
	if o.SlowSample <= 0 {
		o.SlowSample = DefaultSlowSample
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.CertWarnDays <= 0 {
		o.CertWarnDays = DefaultCertWarnDays
	}
	return o
}

// CheckURL returns an error when raw is not an absolute URL with one of the
// given schemes and a host.
func CheckURL(raw string, schemes ...string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse URL %q: %w", raw, err)
	}
	ok := false
	for _, s := range schemes {
		if strings.EqualFold(u.Scheme, s) {
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("URL %q: scheme must be %s", raw, strings.Join(schemes, " or "))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", raw)
	}
	return u, nil
}

// Verify samples opts.URL opts.Samples times, then checks the WebSocket
// endpoint when one is given, and returns what it measured. Unhealthy
// answers are not errors: they are in the Result, and Result.Findings says
// what they mean. Verify returns an error for bad Options (nothing is sent)
// and when ctx ends before the run does; then the Result holds the samples
// taken so far and its findings say the run was cut short.
func Verify(ctx context.Context, opts Options) (*Result, error) {
	o := opts.withDefaults()
	u, err := CheckURL(o.URL, "http", "https")
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if o.WebSocket != "" {
		if _, err := CheckURL(o.WebSocket, "ws", "wss"); err != nil {
			return nil, fmt.Errorf("verify: --websocket: %w", err)
		}
	}
	for _, e := range o.ExpectJSON {
		if e.Path == "" {
			return nil, fmt.Errorf("verify: JSON expectation with an empty path")
		}
	}
	client, closeIdle := o.client()
	defer closeIdle()

	res := &Result{URL: o.URL, opts: o, host: u.Hostname(), https: strings.EqualFold(u.Scheme, "https")}
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		res.summarize()
	}()

	for n := 1; n <= o.Samples; n++ {
		if n > 1 && o.Interval > 0 {
			next := start.Add(time.Duration(n-1) * o.Interval)
			if err := sleepUntil(ctx, next); err != nil {
				res.Stopped = err.Error()
				return res, fmt.Errorf("verify %s: stopped after %d of %d samples: %w", o.URL, n-1, o.Samples, err)
			}
		}
		s := takeSample(ctx, client, o, n)
		if ctx.Err() != nil {
			res.Stopped = ctx.Err().Error()
			return res, fmt.Errorf("verify %s: stopped after %d of %d samples: %w", o.URL, n-1, o.Samples, ctx.Err())
		}
		res.add(s)
		if o.OnSample != nil {
			o.OnSample(s)
		}
	}
	if o.WebSocket != "" {
		ws := checkWebSocket(ctx, client, o)
		if ctx.Err() != nil {
			res.Stopped = ctx.Err().Error()
			return res, fmt.Errorf("verify %s: stopped during the WebSocket check: %w", o.WebSocket, ctx.Err())
		}
		res.WebSocket = ws
	}
	return res, nil
}

// client returns the client Verify uses (a copy that does not follow
// redirects) and a func that closes its idle connections.
func (o Options) client() (*http.Client, func()) {
	var c http.Client
	if o.Client != nil {
		c = *o.Client
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if o.RootCAs != nil {
			tr.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs}
		}
		c.Transport = tr
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// Timeouts come from each request's context.
	c.Timeout = 0
	return &c, c.CloseIdleConnections
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
