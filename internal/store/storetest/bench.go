package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/store"
)

// BenchmarkEnqueue measures durable Enqueue from 2, 4 and 8 goroutines on a
// fresh store each: besides ns/op it reports the latency of one call at
// the 50th and 99th percentile (p50-ms, p99-ms) and the throughput
// (enqueues/s).
func BenchmarkEnqueue(b *testing.B, newStore NewFunc) {
	for _, g := range []int{2, 4, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			url, path := newStore(b)
			s := Open(b, url, path)
			benchEnqueue(b, s, g)
		})
	}
}

// benchEnqueue runs b.N enqueues of distinct deliveries from g goroutines.
func benchEnqueue(b *testing.B, s store.Store, g int) {
	ctx := context.Background()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		lat  = make([]time.Duration, 0, b.N)
		errs = make(chan error, g)
	)
	prefix := fmt.Sprintf("bench-%d-%d-", time.Now().UnixNano(), b.N)
	b.ResetTimer()
	start := time.Now()
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					break
				}
				j := job(prefix + fmt.Sprint(n))
				t0 := time.Now()
				if _, err := s.Enqueue(ctx, j); err != nil {
					errs <- err
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatalf("Enqueue: %v", err)
	default:
	}
	slices.Sort(lat)
	ms := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "enqueues/s")
}
