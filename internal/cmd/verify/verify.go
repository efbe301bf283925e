// Package verify implements `deploy-action verify`: sample a running app's
// health endpoint (and optionally a WebSocket) and report the verify phase.
package verify

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/health"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Usage is the command's one-line synopsis.
const Usage = "verify --url URL [--expect-status 200] [--expect-json KEY=VALUE]... [--samples 10] [--interval 1s] [--max-p95 200ms] [--timeout 10s] [--websocket WS_URL] [--cacert FILE] [--format text|json|github]"

// Help is the command's help text.
const Help = `Usage: deploy-action ` + Usage + `

Checks a running app from the outside: sends --samples GET requests to
--url, one every --interval, and reports the status codes, the JSON body
check, latency p50/p95/max, how many samples passed in a row, the TLS
certificate (validity and days to expiry) for https, and any redirect (never
followed, as Fly's health checks do not follow them). With --websocket it
also connects to a WebSocket endpoint and checks that a message comes back.

Flags:
  --url URL                  endpoint to sample (or give it as the argument)
  --expect-status CODE       status of a healthy answer (default 200)
  --expect-json KEY=VALUE    the JSON body's KEY must equal VALUE; dotted KEY
                             for nested keys (checks.db=ok), a bare KEY only
                             requires the key; repeatable
  --samples N                number of requests (default 10)
  --interval D               time between sample starts (default 1s; 0 sends
                             them back to back)
  --max-p95 D                highest acceptable p95 latency (default 200ms);
                             any sample over 1s is a warning
  --timeout D                timeout of each request (default 10s)
  --websocket WS_URL         ws:// or wss:// endpoint to connect to and echo
  --cacert FILE              PEM certificates to trust besides the system's
  --format text|json|github  output format (default text)

Progress goes to stderr, the report to stdout.

Exit status: 0 every sample passed and no check failed, 1 otherwise, 2 bad
usage.
`

// Options are the command's inputs.
type Options struct {
	IO cmdutil.IO
	// Health are the verification settings.
	Health health.Options
	// Format is text, json or github.
	Format string
}

// NewOptions parses args into Options.
func NewOptions(io cmdutil.IO, args []string) (*Options, error) {
	opts := &Options{IO: io}
	h := &opts.Health
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.StringVar(&h.URL, "url", "", "endpoint to sample")
	fs.IntVar(&h.ExpectStatus, "expect-status", health.DefaultStatus, "status of a healthy answer")
	fs.Func("expect-json", "KEY=VALUE the JSON body must hold (repeatable)", func(s string) error {
		e, err := health.ParseExpectation(s)
		if err != nil {
			return err
		}
		h.ExpectJSON = append(h.ExpectJSON, e)
		return nil
	})
	fs.IntVar(&h.Samples, "samples", health.DefaultSamples, "number of requests")
	fs.DurationVar(&h.Interval, "interval", health.DefaultInterval, "time between sample starts")
	fs.DurationVar(&h.MaxP95, "max-p95", health.DefaultMaxP95, "highest acceptable p95 latency")
	fs.DurationVar(&h.Timeout, "timeout", health.DefaultTimeout, "timeout of each request")
	fs.StringVar(&h.WebSocket, "websocket", "", "ws:// or wss:// endpoint to echo")
	cacert := fs.String("cacert", "", "PEM certificates to trust")
	fs.StringVar(&opts.Format, "format", "text", "output format: text, json or github")
	pos, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if err := cmdutil.CheckFormat(opts.Format); err != nil {
		return nil, err
	}
	switch {
	case len(pos) == 1 && h.URL == "":
		h.URL = pos[0]
	case len(pos) > 0:
		return nil, cmdutil.Usagef("verify takes one URL, got: %s", strings.Join(pos, " "))
	}
	if h.URL == "" {
		return nil, cmdutil.Usagef("--url is required")
	}
	if _, err := health.CheckURL(h.URL, "http", "https"); err != nil {
		return nil, cmdutil.Usagef("--url: %v", err)
	}
	if h.WebSocket != "" {
		if _, err := health.CheckURL(h.WebSocket, "ws", "wss"); err != nil {
			return nil, cmdutil.Usagef("--websocket: %v", err)
		}
	}
	switch {
	case h.ExpectStatus < 100 || h.ExpectStatus > 599:
		return nil, cmdutil.Usagef("--expect-status %d: want an HTTP status code (100-599)", h.ExpectStatus)
	case h.Samples < 1:
		return nil, cmdutil.Usagef("--samples %d: want at least 1", h.Samples)
	case h.Interval < 0:
		return nil, cmdutil.Usagef("--interval %s: must not be negative", h.Interval)
	case h.MaxP95 <= 0:
		return nil, cmdutil.Usagef("--max-p95 %s: must be positive", h.MaxP95)
	case h.Timeout <= 0:
		return nil, cmdutil.Usagef("--timeout %s: must be positive", h.Timeout)
	}
	if h.Interval == 0 {
		h.Interval = -1 // back to back; 0 means the default to health.Verify
	}
	if *cacert != "" {
		pool, err := loadCAs(*cacert)
		if err != nil {
			return nil, cmdutil.Usagef("--cacert: %v", err)
		}
		h.RootCAs = pool
	}
	return opts, nil
}

// loadCAs returns the system pool plus the PEM certificates in file.
func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// Main parses args, runs the command until it ends or the process is
// interrupted, and returns the exit code.
func Main(io cmdutil.IO, args []string) (int, error) {
	opts, err := NewOptions(io, args)
	if err != nil {
		return cmdutil.ExitUsage, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return Run(ctx, opts)
}

// Run verifies opts.Health, writes the report and returns the exit code.
// An interrupted run still writes the report of the samples taken (exit 1).
func Run(ctx context.Context, opts *Options) (int, error) {
	h := opts.Health
	total := h.Samples
	if total == 0 {
		total = health.DefaultSamples
	}
	h.OnSample = func(s health.Sample) {
		line := fmt.Sprintf("sample %d/%d: ", s.N, total)
		if s.Status != 0 {
			line += fmt.Sprintf("%d in %s", s.Status, s.Latency.Round(100*time.Microsecond))
		} else {
			line += fmt.Sprintf("no answer after %s", s.Latency.Round(100*time.Microsecond))
		}
		if !s.Passed {
			line += " ✗ " + s.Detail
		}
		fmt.Fprintln(opts.IO.Err, line)
	}
	rep := report.New("verify")
	res, err := health.Verify(ctx, h)
	if res == nil {
		return cmdutil.ExitUsage, err
	}
	if err != nil {
		fmt.Fprintf(opts.IO.Err, "deploy-action verify: %v\n", err)
	}
	res.AddTo(rep)
	rep.Finish()
	if err := cmdutil.WriteReport(opts.IO.Out, rep, cmdutil.WriteOptions{Format: opts.Format}); err != nil {
		return cmdutil.ExitUsage, fmt.Errorf("write report: %w", err)
	}
	return cmdutil.ExitCode(rep), nil
}
