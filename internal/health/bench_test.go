package health

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// instantServer answers {"status":"ok"} at once and adds the time spent in
// its handler to spent.
func instantServer(b *testing.B, spent *atomic.Int64) *httptest.Server {
	b.Helper()
	body := []byte(`{"status":"ok","checks":{"db":"ok"}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
		spent.Add(int64(time.Since(start)))
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkVerifySample is one Verify sample (request, body read, JSON
// check, bookkeeping) against a server that answers at once. Its ns/op
// minus BenchmarkBareGet's is verify's own overhead per sample.
func BenchmarkVerifySample(b *testing.B) {
	var spent atomic.Int64
	srv := instantServer(b, &spent)
	o := Options{URL: srv.URL + "/health", Samples: b.N, Interval: -1,
		ExpectJSON: []Expectation{{Path: "status", Value: "ok"}, {Path: "checks.db", Value: "ok"}}}
	b.ReportAllocs()
	b.ResetTimer()
	res, err := Verify(context.Background(), o)
	b.StopTimer()
	if err != nil || res.Passed != b.N {
		b.Fatalf("passed %d of %d: %v", res.Passed, b.N, err)
	}
	b.ReportMetric(float64(spent.Load())/float64(b.N), "handler-ns/sample")
}

// BenchmarkBareGet is the floor: a plain keep-alive GET and body read with
// net/http against the same server.
func BenchmarkBareGet(b *testing.B) {
	var spent atomic.Int64
	srv := instantServer(b, &spent)
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Get(srv.URL + "/health")
		if err != nil {
			b.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(spent.Load())/float64(b.N), "handler-ns/sample")
}

// BenchmarkFindings is the per-run cost of turning a 10-sample result into
// findings.
func BenchmarkFindings(b *testing.B) {
	var spent atomic.Int64
	srv := instantServer(b, &spent)
	res, err := Verify(context.Background(), Options{URL: srv.URL, Samples: 10, Interval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res.Findings()
	}
}
