package bot

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the bot's Prometheus metrics, on a private registry.
type metrics struct {
	reg        *prometheus.Registry
	deliveries *prometheus.CounterVec
	intake     prometheus.Histogram
	jobs       *prometheus.CounterVec
	inflight   prometheus.Gauge
	github     *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploybot_webhook_deliveries_total",
			Help: "Webhook deliveries by event and HTTP status answered.",
		}, []string{"event", "status"}),
		intake: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "deploybot_webhook_intake_seconds",
			Help:    "Time from a delivery's arrival to the answer (verification and durable enqueue included).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploybot_jobs_total",
			Help: "Jobs worked on, by command (or event) and outcome.",
		}, []string{"command", "outcome"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deploybot_jobs_in_flight",
			Help: "Jobs being worked on now.",
		}),
		github: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploybot_github_requests_total",
			Help: "Requests to the GitHub API (each retry counted) by status code.",
		}, []string{"code"}),
	}
	m.reg.MustRegister(m.deliveries, m.intake, m.jobs, m.inflight, m.github,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(event string, status int, took time.Duration) {
	if event == "" {
		event = "unknown"
	}
	m.deliveries.WithLabelValues(event, fmt.Sprint(status)).Inc()
	m.intake.Observe(took.Seconds())
}
