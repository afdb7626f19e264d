package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CopyLag is the metric of how far each copy target is behind.
const CopyLag = "clickvault_copy_lag_seconds"

var copyLagDesc = prometheus.NewDesc(CopyLag,
	"Age of the newest completed backup not yet copied to the target (on a cluster node, or of a set sealed over an hour ago "+
		"and not whole there), in seconds (0: nothing left to copy).",
	[]string{"target", "database"}, nil)

// CopyLags exports clickvault_copy_lag_seconds{target,database}, as of the
// scrape. Targets come from the configuration; a database outside the
// configured ones has no lag (a gauge of the last of them would be no
// one's, and one configured as "other" would read theirs).
type CopyLags struct {
	mu        sync.Mutex
	pending   map[[2]string]time.Time // zero: caught up
	targets   map[string]bool
	databases map[string]bool
	now       func() time.Time
}

// NewCopyLags registers the collector on reg.
func NewCopyLags(reg prometheus.Registerer, targets []string, databases ...string) *CopyLags {
	c := &CopyLags{pending: map[[2]string]time.Time{}, targets: setOf(targets...), databases: setOf(databases...), now: time.Now}
	reg.MustRegister(c)
	return c
}

// CopyFinished is told, after a round of copying database to target, when
// the newest backup still not copied was taken (zero: none).
func (c *CopyLags) CopyFinished(target, database string, newestPending time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.databases[database] {
		c.pending[[2]string{bound(c.targets, target), database}] = newestPending
	}
}

func (c *CopyLags) Describe(ch chan<- *prometheus.Desc) { ch <- copyLagDesc }

func (c *CopyLags) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, at := range c.pending {
		lag := 0.0
		if !at.IsZero() {
			lag = max(c.now().Sub(at).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(copyLagDesc, prometheus.GaugeValue, lag, key[0], key[1])
	}
}
