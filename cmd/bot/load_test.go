package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grupo-gad/deploy-action/internal/bot/webhook"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// BenchmarkIntake measures the webhook intake of a real bot process over
// loopback: signed /help comments (a real PR comment of the corpus) sent
// open-loop at a fixed rate, each verified, de-duplicated and enqueued
// durably (SQLite WAL with synchronous=FULL, or PostgreSQL) before the 202,
// while four workers answer them against the GitHub fake. It reports the
// answer latency p50/p99/max, the rate achieved, the bot's peak RSS, and
// how long the workers took to empty the queue after the load stopped.
//
// Each case runs once whatever b.N is, for BOT_LOAD_SECONDS (default 10):
//
//	go test ./cmd/bot -run '^$' -bench Intake -benchtime 1x
//
// The PostgreSQL cases run against BOT_LOAD_DATABASE_URL (default the
// local server's database "test", a fresh schema per case) and are skipped
// when it is unreachable.
func BenchmarkIntake(b *testing.B) {
	secs := 10
	if v, err := strconv.Atoi(os.Getenv("BOT_LOAD_SECONDS")); err == nil && v > 0 && v <= 120 {
		secs = v
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, rate := range []int{200, 1000} {
			b.Run(fmt.Sprintf("%s/%drps", backend, rate), func(b *testing.B) {
				extra := []string{"BOT_WORKERS=" + workers(), "BOT_LOG_LEVEL=info"}
				if backend == "postgres" {
					extra = append(extra, "DATABASE_URL="+pgSchema(b))
				}
				var r loadResult
				for range b.N {
					r = runLoad(b, rate, time.Duration(secs)*time.Second, extra)
				}
				b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(r.max.Microseconds())/1000, "max-ms")
				b.ReportMetric(r.rate, "accepted/s")
				b.ReportMetric(float64(r.rss)/(1<<20), "peak-RSS-MB")
				b.ReportMetric(r.drain.Seconds(), "drain-s")
				b.ReportMetric(float64(r.failed), "failed")
				b.Logf("%s %d/s for %ds: %d accepted, %d failed, p50 %v p99 %v max %v, %.0f accepted/s, peak RSS %.1f MB, queue emptied %v after the load",
					backend, rate, secs, r.ok, r.failed, r.p50, r.p99, r.max, r.rate, float64(r.rss)/(1<<20), r.drain.Round(time.Millisecond))
			})
		}
	}
}

type loadResult struct {
	ok, failed    int
	p50, p99, max time.Duration
	rate          float64
	rss           int64
	drain         time.Duration
}

func runLoad(b *testing.B, rate int, dur time.Duration, extra []string) loadResult {
	w := newWorld(b)
	p := w.start(extra...)
	defer func() {
		p.cmd.Process.Kill()
		<-p.done
	}()

	data, err := os.ReadFile(filepath.Join(testutil.CorpusDir(b, "webhooks"), "issue_comment.created.on-pull-request.json"))
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	m["comment"].(map[string]any)["body"] = "/help"
	payload, _ := json.Marshal(m)
	sig := webhook.Sign([]byte(secret), payload)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024}}
	target := "http://" + p.addr + "/webhook"

	var peak int64
	stopRSS := make(chan struct{})
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v := rssOf(p.cmd.Process.Pid); v > peak {
				peak = v
			}
			select {
			case <-stopRSS:
				return
			case <-t.C:
			}
		}
	}()

	total := rate * int(dur/time.Second)
	lat := make([]time.Duration, total)
	codes := make([]int, total)
	interval := time.Second / time.Duration(rate)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2048)
	start := time.Now()
	var last time.Time
	var lastMu sync.Mutex
	b.ResetTimer()
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(payload))
			req.Header.Set(webhook.HeaderSignature, sig)
			req.Header.Set(webhook.HeaderEvent, "issue_comment")
			req.Header.Set(webhook.HeaderDelivery, fmt.Sprintf("load-%d-%d", rate, i))
			t0 := time.Now()
			resp, err := client.Do(req)
			lat[i] = time.Since(t0)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}
			lastMu.Lock()
			if now := time.Now(); now.After(last) {
				last = now
			}
			lastMu.Unlock()
		}(i)
	}
	wg.Wait()
	b.StopTimer()
	elapsed := last.Sub(start)

	r := loadResult{}
	for _, c := range codes {
		if c == http.StatusAccepted {
			r.ok++
		} else {
			r.failed++
		}
	}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	r.p50 = sorted[len(sorted)*50/100]
	r.p99 = sorted[min(len(sorted)-1, len(sorted)*99/100)]
	r.max = sorted[len(sorted)-1]
	r.rate = float64(r.ok) / elapsed.Seconds()

	// How long the four workers take to answer the backlog.
	drainStart := time.Now()
	deadline := drainStart.Add(3 * time.Minute)
	for len(w.fake.Matching("POST", "/repos/"+owner+"/"+repo+"/issues/1/comments")) < r.ok && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	r.drain = time.Since(drainStart)
	close(stopRSS)
	<-rssDone
	if hwm := hwmOf(p.cmd.Process.Pid); hwm > peak {
		peak = hwm
	}
	r.rss = peak
	return r
}

func statusField(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func rssOf(pid int) int64 { return statusField(pid, "VmRSS") }
func hwmOf(pid int) int64 { return statusField(pid, "VmHWM") }

// pgSchema makes a fresh schema on the load test's PostgreSQL server and
// returns a URL selecting it; it skips b when the server is unreachable.
func pgSchema(b *testing.B) string {
	base := os.Getenv("BOT_LOAD_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&connect_timeout=3"
	}
	// pool_* options are for the bot's pool, not a single connection.
	admin, _ := url.Parse(base)
	aq := admin.Query()
	for k := range aq {
		if strings.HasPrefix(k, "pool_") {
			aq.Del(k)
		}
	}
	admin.RawQuery = aq.Encode()
	adminURL := admin.String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		b.Skipf("PostgreSQL unreachable (%v): set BOT_LOAD_DATABASE_URL", err)
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	schema := fmt.Sprintf("botload_%d_%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		b.Fatalf("create schema: %v", err)
	}
	conn.Close(ctx)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, adminURL); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// workers is BOT_LOAD_WORKERS, default 4.
func workers() string {
	if v := os.Getenv("BOT_LOAD_WORKERS"); v != "" {
		return v
	}
	return "4"
}
