// Package metrics exports ClickVault's Prometheus metrics; it implements
// control.Observer.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Metrics holds the collectors, registered on one registry.
type Metrics struct {
	lastSuccess   *prometheus.GaugeVec
	duration      *prometheus.HistogramVec
	size          *prometheus.GaugeVec
	backups       *prometheus.CounterVec
	chainDepth    *prometheus.GaugeVec
	requests      *prometheus.CounterVec
	rpo           *prometheus.GaugeVec
	checkOK       *prometheus.GaugeVec
	checks        *prometheus.CounterVec
	verifyOK      *prometheus.GaugeVec
	verifyRestore *prometheus.GaugeVec
	setShards     *prometheus.GaugeVec
	age           *ageCollector
	// databases are the configured ones: a request may name any database
	// its user can back up, and those are counted as Other. Gauges are
	// the configured databases' alone: one that held the last value of
	// any of the others would be no one's, and a configured database
	// named "other" would read another's fresh backup as its own (its
	// age alert silenced).
	databases map[string]bool
}

var _ control.Observer = (*Metrics)(nil)

// Names of the metrics, for the alert rules and the dashboard that use them.
const (
	LastSuccess   = "clickvault_backup_last_success_timestamp_seconds"
	Duration      = "clickvault_backup_duration_seconds"
	Size          = "clickvault_backup_size_bytes"
	Backups       = "clickvault_backups_total"
	ChainDepth    = "clickvault_chain_depth"
	Requests      = "clickvault_requests_total"
	BackupAge     = "clickvault_backup_age_seconds"
	RPO           = "clickvault_rpo_seconds"
	CheckOK       = "clickvault_check_ok"
	Checks        = "clickvault_checks_total"
	VerifyOK      = "clickvault_verify_ok"
	VerifyRestore = "clickvault_verify_restore_seconds"
	SetShards     = "clickvault_set_shards"
)

// New registers the collectors on reg. rpo is each database's recovery
// point objective, exported as clickvault_rpo_seconds. databases (and
// rpo's) are the configured databases: the only ones that get their own
// label value, every other is "other".
func New(reg prometheus.Registerer, rpo map[string]time.Duration, databases ...string) *Metrics {
	db := []string{"database"}
	m := &Metrics{
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: LastSuccess,
			Help: "Unix time of the last successful backup."}, []string{"database", "kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: Duration,
			Help: "How long backups took.", Buckets: prometheus.ExponentialBuckets(1, 2, 16)}, []string{"database", "kind"}),
		size: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Size,
			Help: "Bytes the last successful backup added to the bucket (its own objects, not its bases')."}, []string{"database", "kind"}),
		backups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: Backups,
			Help: "Backups taken, by result (success or failure; full_forced also counts a full taken instead of its chain's next link)."}, []string{"database", "kind", "result"}),
		chainDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: ChainDepth,
			Help: "Completed backups in the newest chain."}, db),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: Requests,
			Help: "Request state changes, by action and state."}, []string{"action", "state"}),
		rpo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: RPO,
			Help: "Recovery point objective: the newest completed backup may be at most this old (schedule.rpo)."}, db),
		checkOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: CheckOK,
			Help: "1 if the last check found every checked backup good, 0 if one is broken."}, db),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: Checks,
			Help: "Checks run, by result (good or broken)."}, []string{"database", "result"}),
		verifyOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: VerifyOK,
			Help: "1 if the last verify passed, 0 if it failed."}, db),
		verifyRestore: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: VerifyRestore,
			Help: "How long the last verify's restore took: the measured recovery time (RTO)."}, db),
		setShards: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: SetShards,
			Help: "On a cluster node: the shards of the last set it answered, by how they ended (succeeded, failed, rejected, missing)."},
			[]string{"database", "state"}),
		age:       &ageCollector{newest: map[string]time.Time{}, now: time.Now},
		databases: setOf(databases...),
	}
	for database, d := range rpo {
		m.databases[database] = true
		m.rpo.WithLabelValues(database).Set(d.Seconds())
	}
	reg.MustRegister(m.lastSuccess, m.duration, m.size, m.backups, m.chainDepth, m.requests, m.rpo,
		m.checkOK, m.checks, m.verifyOK, m.verifyRestore, m.setShards, m.age)
	return m
}

func (m *Metrics) RequestState(action string, state control.State) {
	m.requests.WithLabelValues(bound(actions, action), bound(states, string(state))).Inc()
}

func (m *Metrics) BackupFinished(database, kind string, ok bool, took time.Duration, size uint64) {
	configured := m.databases[database]
	database, kind = m.database(database), bound(kinds, kind)
	result := "failure"
	if ok {
		result = "success"
		m.duration.WithLabelValues(database, kind).Observe(took.Seconds())
		if configured {
			m.lastSuccess.WithLabelValues(database, kind).SetToCurrentTime()
			m.size.WithLabelValues(database, kind).Set(float64(size))
			m.age.set(database, time.Now())
		}
	}
	m.backups.WithLabelValues(database, kind, result).Inc()
}

// FullForced counts a full taken instead of its chain's next link as
// result "full_forced", beside the "success" BackupFinished counts for it.
func (m *Metrics) FullForced(database string) {
	m.backups.WithLabelValues(m.database(database), "full", "full_forced").Inc()
}

func (m *Metrics) ChainDepth(database string, depth int) {
	if m.databases[database] {
		m.chainDepth.WithLabelValues(database).Set(float64(depth))
	}
}

func (m *Metrics) NewestBackup(database string, at time.Time) {
	if m.databases[database] {
		m.age.set(database, at)
	}
}

func (m *Metrics) CheckFinished(database string, good bool) {
	result := model.CheckBroken
	if good {
		result = model.CheckGood
	}
	m.checks.WithLabelValues(m.database(database), string(result)).Inc()
	if m.databases[database] {
		m.checkOK.WithLabelValues(database).Set(boolFloat(good))
	}
}

func (m *Metrics) VerifyFinished(database string, ok bool, restore time.Duration) {
	if !m.databases[database] {
		return
	}
	m.verifyOK.WithLabelValues(database).Set(boolFloat(ok))
	if restore > 0 {
		m.verifyRestore.WithLabelValues(database).Set(restore.Seconds())
	}
}

// database is the label value of a database: its name if configured.
func (m *Metrics) database(name string) string { return bound(m.databases, name) }

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ageCollector exports clickvault_backup_age_seconds: the age of each
// database's newest completed backup, as of the scrape.
type ageCollector struct {
	mu     sync.Mutex
	newest map[string]time.Time
	now    func() time.Time
}

var ageDesc = prometheus.NewDesc(BackupAge, "Age of the newest completed backup, in seconds.", []string{"database"}, nil)

func (a *ageCollector) set(database string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if at.After(a.newest[database]) {
		a.newest[database] = at
	}
}

func (a *ageCollector) Describe(ch chan<- *prometheus.Desc) { ch <- ageDesc }

func (a *ageCollector) Collect(ch chan<- prometheus.Metric) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for database, at := range a.newest {
		ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, a.now().Sub(at).Seconds(), database)
	}
}
