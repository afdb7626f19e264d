package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// TestSetShards: clickvault_set_shards says how the last set's shards
// ended, each state set on every seal (a state of an earlier set does not
// linger), and a junk database makes no series (a gauge is a configured
// database's alone).
func TestSetShards(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, nil, "shop")
	m.SetSealed("shop", map[setmodel.ShardState]int{setmodel.ShardSucceeded: 2, setmodel.ShardRejected: 1})
	m.SetSealed("shop", map[setmodel.ShardState]int{setmodel.ShardSucceeded: 3})
	m.SetSealed("junk", map[setmodel.ShardState]int{"weird": 7})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != SetShards {
			continue
		}
		for _, s := range f.GetMetric() {
			var db, state string
			for _, l := range s.GetLabel() {
				switch l.GetName() {
				case "database":
					db = l.GetValue()
				case "state":
					state = l.GetValue()
				}
			}
			got[db+"/"+state] = s.GetGauge().GetValue()
		}
	}
	want := map[string]float64{"shop/succeeded": 3, "shop/rejected": 0, "shop/failed": 0, "shop/missing": 0}
	if len(got) != len(want) {
		t.Fatalf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}
