package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestFullForced: a forced full counts as result "full_forced" of kind
// full, beside its "success"; a database outside the configured ones is
// "other".
func TestFullForced(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, map[string]time.Duration{"shop": time.Hour})
	m.BackupFinished("shop", "full", true, time.Second, 1)
	m.FullForced("shop")
	m.FullForced("junk")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != Backups {
			continue
		}
		for _, s := range f.GetMetric() {
			key := ""
			for _, l := range s.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			got[key] = s.GetCounter().GetValue()
		}
	}
	for _, want := range []string{"database=shop kind=full result=full_forced ", "database=shop kind=full result=success ",
		"database=other kind=full result=full_forced "} {
		if got[want] != 1 {
			t.Errorf("%s: %v, want 1 (all: %v)", want, got[want], got)
		}
	}
}
