package metrics

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clickvault/clickvault/sidecar/control"
)

// TestLabelsFromAFixedSet: request rows with 10,000 distinct actions,
// states, kinds and databases (what `INSERT … SELECT toString(number) …
// FROM numbers(1e6)` feeds the sidecar) leave a handful of series, and the
// configured database and the known values keep their own.
func TestLabelsFromAFixedSet(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, map[string]time.Duration{"shop": time.Hour}, "shop", "crm")
	for i := range 10_000 {
		junk := strconv.Itoa(i)
		m.RequestState(junk, "rejected")
		m.RequestState("backup", control.State(junk))
		m.BackupFinished(junk, junk, i%2 == 0, time.Second, 1)
		m.ChainDepth(junk, 1)
		m.NewestBackup(junk, time.Now())
		m.CheckFinished(junk, true)
		m.VerifyFinished(junk, true, time.Second)
	}
	m.RequestState("backup", "succeeded")
	m.BackupFinished("shop", "full", true, time.Second, 1)
	m.ChainDepth("crm", 2)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	labels := map[string]bool{}
	for _, f := range families {
		series += len(f.GetMetric())
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				labels[l.GetName()+"="+l.GetValue()] = true
			}
		}
	}
	if series > 40 {
		t.Fatalf("10,000 junk requests made %d series, want a handful", series)
	}
	for _, want := range []string{"action=other", "state=other", "database=other", "kind=other",
		"action=backup", "state=succeeded", "state=rejected", "database=shop", "database=crm", "kind=full"} {
		if !labels[want] {
			t.Errorf("no series has %s (labels: %v)", want, labels)
		}
	}
}
