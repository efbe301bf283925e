// Package logtail fetches the last log lines of a Fly machine, through the
// logs endpoint fly-go uses, and masks what looks like a secret in them
// before they go into a report.
package logtail

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/secretscan"
)

// Client is the logs endpoint (fly.Logs).
type Client interface {
	GetAppLogs(ctx context.Context, app, token, region, instanceID string) ([]flygo.LogEntry, string, error)
}

// Options tunes Fetch. The zero value returns up to 30 lines and waits up to
// 2 s for the first ones (logs reach the endpoint a moment after they are
// written).
type Options struct {
	// Lines is the number of lines kept, the newest.
	Lines int
	// Wait is how long to keep asking while the endpoint has no line yet.
	Wait time.Duration
	// Region narrows the query to a region (optional).
	Region string
	// Mask lists values to replace with *** wherever they appear (secret
	// values the caller knows).
	Mask []string
}

const maxPages = 5

// Fetch returns the newest log lines of machine machineID of app, oldest
// first, each passed through Redact. Lines of other machines the endpoint
// may return are left out.
func Fetch(ctx context.Context, c Client, app, machineID string, opt Options) ([]string, error) {
	if opt.Lines <= 0 {
		opt.Lines = 30
	}
	if opt.Wait <= 0 {
		opt.Wait = 2 * time.Second
	}
	deadline := time.Now().Add(opt.Wait)
	for {
		entries, err := fetchPages(ctx, c, app, machineID, opt.Region)
		if err != nil {
			return nil, err
		}
		if len(entries) > 0 || time.Now().After(deadline) {
			return tail(entries, machineID, opt), nil
		}
		t := time.NewTimer(min(300*time.Millisecond, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("logs of machine %s: %w", machineID, ctx.Err())
		case <-t.C:
		}
	}
}

func fetchPages(ctx context.Context, c Client, app, machineID, region string) ([]flygo.LogEntry, error) {
	var all []flygo.LogEntry
	token := ""
	for range maxPages {
		entries, next, err := c.GetAppLogs(ctx, app, token, region, machineID)
		if err != nil {
			return nil, fmt.Errorf("logs of machine %s: %w", machineID, err)
		}
		all = append(all, entries...)
		if len(entries) == 0 || next == "" || next == token {
			break
		}
		token = next
	}
	return all, nil
}

func tail(entries []flygo.LogEntry, machineID string, opt Options) []string {
	kept := entries[:0:0]
	for _, e := range entries {
		inst := e.Instance
		if inst == "" {
			inst = e.Meta.Instance
		}
		if inst != "" && machineID != "" && inst != machineID {
			continue
		}
		kept = append(kept, e)
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Timestamp < kept[j].Timestamp })
	if len(kept) > opt.Lines {
		kept = kept[len(kept)-opt.Lines:]
	}
	out := make([]string, 0, len(kept))
	for _, e := range kept {
		for _, l := range strings.Split(strings.TrimRight(e.Message, "\r\n"), "\n") {
			out = append(out, Redact(strings.TrimRight(l, "\r"), opt.Mask...))
		}
	}
	if len(out) > opt.Lines {
		out = out[len(out)-opt.Lines:]
	}
	return out
}

var (
	urlPassword = lazyre.New(`([A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]*:)([^\s@/]+)@`)
	assignment  = lazyre.New(`\b([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*|"\s*:\s*")("[^"]*"|'[^']*'|[^\s"',;]+)`)
)

// Masked replaces a secret in a redacted line.
const Masked = "***"

// Redact masks what looks like a secret in a log line: the password of a
// URL (postgres://user:***@host), the value assigned to a secret-sounding
// name (SECRET_KEY=***, "api_token": "***"), values in a known secret format
// (Fly, GitHub, AWS tokens, ...), and every value in mask.
func Redact(line string, mask ...string) string {
	for _, v := range mask {
		if len(v) >= 4 {
			line = strings.ReplaceAll(line, v, Masked)
		}
	}
	line = urlPassword.ReplaceAllString(line, "${1}"+Masked+"@")
	line = assignment.ReplaceAllStringFunc(line, func(m string) string {
		sub := assignment.FindStringSubmatch(m)
		if !secretscan.LooksSecretName(sub[1]) || secretscan.IsPlaceholder(strings.Trim(sub[3], `"'`)) || strings.Trim(sub[3], `"'`) == Masked {
			return m
		}
		val := sub[3]
		switch {
		case strings.HasPrefix(val, `"`):
			val = `"` + Masked + `"`
		case strings.HasPrefix(val, `'`):
			val = `'` + Masked + `'`
		default:
			val = Masked
		}
		return sub[1] + sub[2] + val
	})
	cands := secretscan.Scan("log.env", []byte(line))
	if len(cands) == 0 {
		return line
	}
	r := []rune(line)
	for i := len(cands) - 1; i >= 0; i-- {
		c := cands[i]
		if c.Loc.Line != 1 || c.Length <= 0 {
			continue
		}
		from := c.Loc.Column - 1
		to := from + c.Length
		if from < 0 || to > len(r) || string(r[from:to]) == Masked {
			continue
		}
		r = append(r[:from:from], append([]rune(Masked), r[to:]...)...)
	}
	return string(r)
}
