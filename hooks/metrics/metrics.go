// Package metrics exports ClickVault's Prometheus metrics; it implements
// control.Observer.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clickvault/clickvault/sidecar/control"
)

// Metrics holds the collectors, registered on one registry.
type Metrics struct {
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.HistogramVec
	size        *prometheus.GaugeVec
	backups     *prometheus.CounterVec
	chainDepth  *prometheus.GaugeVec
	requests    *prometheus.CounterVec
}

var _ control.Observer = (*Metrics)(nil)

// New registers the collectors on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "clickvault_backup_last_success_timestamp_seconds",
			Help: "Unix time of the last successful backup."}, []string{"database", "kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "clickvault_backup_duration_seconds",
			Help: "How long backups took.", Buckets: prometheus.ExponentialBuckets(1, 2, 16)}, []string{"database", "kind"}),
		size: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "clickvault_backup_size_bytes",
			Help: "Size of the last successful backup."}, []string{"database", "kind"}),
		backups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clickvault_backups_total",
			Help: "Backups taken, by result (success or failure)."}, []string{"database", "kind", "result"}),
		chainDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "clickvault_chain_depth",
			Help: "Completed backups in the newest chain."}, []string{"database"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clickvault_requests_total",
			Help: "Request state changes, by action and state."}, []string{"action", "state"}),
	}
	reg.MustRegister(m.lastSuccess, m.duration, m.size, m.backups, m.chainDepth, m.requests)
	return m
}

func (m *Metrics) RequestState(action, state string) { m.requests.WithLabelValues(action, state).Inc() }

func (m *Metrics) BackupFinished(database, kind string, ok bool, took time.Duration, size uint64) {
	result := "failure"
	if ok {
		result = "success"
		m.lastSuccess.WithLabelValues(database, kind).SetToCurrentTime()
		m.size.WithLabelValues(database, kind).Set(float64(size))
		m.duration.WithLabelValues(database, kind).Observe(took.Seconds())
	}
	m.backups.WithLabelValues(database, kind, result).Inc()
}

func (m *Metrics) ChainDepth(database string, depth int) {
	m.chainDepth.WithLabelValues(database).Set(float64(depth))
}
