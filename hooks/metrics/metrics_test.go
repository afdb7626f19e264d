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

// TestAConfiguredOtherKeepsItsOwnGauges: "other" is a database name too.
// Configured, its gauges are its own: a backup, check or verify of a
// database outside the configured ones set them (its age read 0 after a
// stranger's backup, silencing the alert of its own three-day-old one).
// Counters count those strangers as other still.
func TestAConfiguredOtherKeepsItsOwnGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, map[string]time.Duration{"other": time.Hour}, "other")
	old := time.Now().Add(-72 * time.Hour)
	m.NewestBackup("other", old)
	m.ChainDepth("other", 40)
	m.CheckFinished("other", false)
	m.VerifyFinished("other", false, time.Minute)
	m.BackupFinished("stranger", "full", true, time.Second, 1)
	m.NewestBackup("stranger", time.Now())
	m.ChainDepth("stranger", 1)
	m.CheckFinished("stranger", true)
	m.VerifyFinished("stranger", true, time.Second)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			switch {
			case s.GetGauge() != nil:
				got[f.GetName()] = s.GetGauge().GetValue()
			case s.GetCounter() != nil:
				got[f.GetName()] += s.GetCounter().GetValue()
			}
		}
	}
	if age := got[BackupAge]; age < 71*3600 {
		t.Errorf("%s of the configured other: %.0f s, want its own backup's three days", BackupAge, age)
	}
	for name, want := range map[string]float64{ChainDepth: 40, CheckOK: 0, VerifyOK: 0, VerifyRestore: 60, Backups: 1, Checks: 2} {
		if got[name] != want {
			t.Errorf("%s: %v, want %v (all: %v)", name, got[name], want, got)
		}
	}
	if _, ok := got[LastSuccess]; ok {
		t.Errorf("%s has a series: a stranger's backup set the configured other's", LastSuccess)
	}
}
