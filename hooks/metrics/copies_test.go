package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestCopyLagIsTheAgeOfTheNewestBackupNotCopied: the lag is the age of the
// newest backup a round left uncopied, 0 when none; a database outside
// the configured ones has none (nor does a configured "other" take its).
func TestCopyLagIsTheAgeOfTheNewestBackupNotCopied(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := NewCopyLags(reg, []string{"dr"}, "shop", "other")
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	c.CopyFinished("dr", "shop", now.Add(-90*time.Second))
	c.CopyFinished("dr", "other", now.Add(-3*time.Hour))
	c.CopyFinished("dr", "someone_elses", time.Time{})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			key := f.GetName() + " "
			for _, l := range s.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			got[key] = s.GetGauge().GetValue()
		}
	}
	want := map[string]float64{CopyLag + " database=shop target=dr ": 90, CopyLag + " database=other target=dr ": 3 * 3600}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}
