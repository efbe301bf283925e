package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	gh "github.com/google/go-github/v66/github"

	"github.com/grupo-gad/deploy-action/internal/bot/comment"
	"github.com/grupo-gad/deploy-action/internal/bot/config"
	"github.com/grupo-gad/deploy-action/internal/health"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/store"
)

// healthCommand answers /health: it probes the environment's URL now.
func (b *Bot) healthCommand(ctx context.Context, c *gh.Client, j *store.Job, p *progress, envName string, env config.Environment) error {
	u := env.URL()
	if u == "" {
		return b.respond(ctx, c, j, p, comment.Problem(j.Sender, commandOf(j).String(),
			fmt.Sprintf("no health URL is known for %s. Set `app:` or `health_url:` for it under `environments:` in .github/deploy-bot.yml.", envName)), "refused: no health URL")
	}
	h, err := b.probe(ctx, u)
	if err != nil {
		return b.respond(ctx, c, j, p, comment.Problem(j.Sender, commandOf(j).String(), "the probe could not run: "+err.Error()), "failed: probe")
	}
	b.audit(ctx, j, "answered", fmt.Sprintf("/health on %s: %d/%d samples passed", envName, h.Passed, h.Samples))
	return b.respond(ctx, c, j, p, comment.HealthReply(j.Sender, envName, *h), "answered")
}

// probe runs Options.Probe and turns its result into the comment's figures.
func (b *Bot) probe(ctx context.Context, url string) (*comment.Health, error) {
	res, err := b.opts.Probe(ctx, url)
	if res == nil {
		if err == nil {
			err = errors.New("no result")
		}
		return nil, err
	}
	h := &comment.Health{URL: res.URL, Samples: len(res.Samples), Passed: res.Passed, P50: res.P50, P95: res.P95, Max: res.Max, CertDaysLeft: -1, OK: res.OK() && err == nil}
	if res.Cert != nil && res.Cert.Verified {
		h.CertDaysLeft = res.Cert.DaysLeft
	}
	for _, f := range res.Findings() {
		if f.Severity != report.Notice {
			h.Problems = append(h.Problems, f.Message)
		}
	}
	return h, nil
}

// defaultProbe is health.Verify, the code of `deploy-action verify`, on a
// client that refuses private addresses unless allowed.
func (b *Bot) defaultProbe(ctx context.Context, url string) (*health.Result, error) {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !b.opts.AllowPrivateHealthURLs {
		dialer.Control = refusePrivate
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	tr.Proxy = nil
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	interval := b.opts.HealthInterval
	return health.Verify(ctx, health.Options{URL: url, Samples: b.opts.HealthSamples, Interval: interval, Client: client})
}

// errPrivate is the refusal of a private address.
var errPrivate = errors.New("the address is loopback, private or link-local; the bot only probes public addresses")

// refusePrivate is a net.Dialer Control that refuses loopback, private,
// link-local, CGNAT and unspecified addresses (checked after DNS
// resolution, so a public name pointing inside is refused too).
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() ||
		ip.IsMulticast() || cgnat.Contains(ip) {
		return fmt.Errorf("dial %s: %w", address, errPrivate)
	}
	return nil
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")
