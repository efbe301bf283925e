package health

import (
	"slices"
	"time"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// Result is what one Verify run measured. Its exported fields are plain
// data (they marshal to JSON); Findings and AddTo interpret them against
// the Options the run used (the defaults, for a Result not made by Verify).
type Result struct {
	// URL is the endpoint sampled.
	URL string `json:"url"`
	// Samples are the samples taken, in order.
	Samples []Sample `json:"samples"`
	// Passed is how many samples passed.
	Passed int `json:"passed"`
	// Consecutive is how many samples passed in a row at the end of the run
	// (the app's state now); LongestStreak the longest such run anywhere.
	Consecutive   int `json:"consecutive"`
	LongestStreak int `json:"longest_streak"`
	// Responded is how many samples got an HTTP response; the latency
	// figures are over those (nearest-rank percentiles: with 10 samples the
	// p95 is the slowest one).
	Responded int           `json:"responded"`
	P50       time.Duration `json:"p50_ns"`
	P95       time.Duration `json:"p95_ns"`
	Max       time.Duration `json:"max_ns"`
	// Slowest is the number of the slowest responding sample.
	Slowest int `json:"slowest,omitempty"`
	// Cert is the server's certificate, for https:// URLs.
	Cert *Cert `json:"cert,omitempty"`
	// Redirect is the Location of the first redirect answered.
	Redirect string `json:"redirect,omitempty"`
	// WebSocket is the WebSocket check, when one was asked for.
	WebSocket *WebSocketResult `json:"websocket,omitempty"`
	// Duration is how long the run took.
	Duration time.Duration `json:"duration_ns"`
	// Stopped says why the run ended before taking every sample ("" when it
	// completed).
	Stopped string `json:"stopped,omitempty"`

	opts  Options
	host  string
	https bool
}

// add records one sample.
func (r *Result) add(s Sample) {
	r.Samples = append(r.Samples, s)
	if r.Redirect == "" && s.Problem == ProblemRedirect {
		r.Redirect = s.Location
	}
	if r.Cert == nil && r.https {
		switch {
		case s.tls != nil:
			r.Cert = certFromState(s.tls, r.host, s.Start)
		case s.Problem == ProblemTLS && s.Err != nil:
			r.Cert = certFromError(s.Err, r.host, s.Start)
		}
	}
}

// summarize computes the summary figures from the samples.
func (r *Result) summarize() {
	r.Passed, r.Consecutive, r.LongestStreak, r.Responded = 0, 0, 0, 0
	var lat []time.Duration
	r.Max, r.Slowest = 0, 0
	run := 0
	for _, s := range r.Samples {
		if s.Passed {
			r.Passed++
			run++
			r.LongestStreak = max(r.LongestStreak, run)
		} else {
			run = 0
		}
		if s.responded() {
			r.Responded++
			lat = append(lat, s.Latency)
			if s.Latency > r.Max {
				r.Max, r.Slowest = s.Latency, s.N
			}
		}
	}
	r.Consecutive = run
	slices.Sort(lat)
	r.P50 = percentile(lat, 50)
	r.P95 = percentile(lat, 95)
}

// percentile returns the nearest-rank p-th percentile of sorted values: the
// smallest value with at least p% of the values at or below it.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// OK reports whether the run is healthy: every sample passed and no check
// raised an error finding.
func (r *Result) OK() bool {
	for _, f := range r.Findings() {
		if f.Severity == report.Error {
			return false
		}
	}
	return true
}

// Figures returns the run's summary figures by name, for machine-readable
// output: samples, passed, consecutive, p50_ms, p95_ms, max_ms, duration_ms
// and, when measured, cert_days_left, ws_connect_ms and ws_round_trip_ms.
func (r *Result) Figures() map[string]float64 {
	f := map[string]float64{
		"samples":     float64(len(r.Samples)),
		"passed":      float64(r.Passed),
		"consecutive": float64(r.Consecutive),
		"duration_ms": msFloat(r.Duration),
	}
	if r.Responded > 0 {
		f["p50_ms"] = msFloat(r.P50)
		f["p95_ms"] = msFloat(r.P95)
		f["max_ms"] = msFloat(r.Max)
	}
	if r.Cert != nil && !r.Cert.NotAfter.IsZero() {
		f["cert_days_left"] = float64(r.Cert.DaysLeft)
	}
	if ws := r.WebSocket; ws != nil && ws.Connected {
		f["ws_connect_ms"] = msFloat(ws.Connect)
		if ws.RoundTrip > 0 {
			f["ws_round_trip_ms"] = msFloat(ws.RoundTrip)
		}
	}
	return f
}

func msFloat(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
