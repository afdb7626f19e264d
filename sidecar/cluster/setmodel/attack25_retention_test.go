package setmodel_test

import (
	"slices"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// TestSetRetentionLeavesNoLinkOnADeletedBase: a link no set names (a
// backup taken twice when a claim was taken over, whose old holder's
// BACKUP still ran: docs/cluster.md "Only reasoned") rests on a link of a
// set the policy deletes. The plan deletes that base and leaves the
// outside link (Outside: "left to the shard's own cleanup", which a
// cluster node never runs), so a link is left built on a deleted base —
// against DeleteLinks' own rule. The engine's DeleteBackups
// (namedDeletions) refuses any deletion whose base a kept backup is built
// on, whole: the shard's links of that set, and of every set after it on
// that shard, can then never be deleted.
func TestSetRetentionLeavesNoLinkOnADeletedBase(t *testing.T) {
	st := history()
	// Y1: a second backup of shard 1 taken for set B by a replica whose
	// claim was taken over: built on A1, like B1, named by no set.
	st.Links[1] = append(st.Links[1], setmodel.Link{Name: "Y1", Base: "A1"})
	plan := setmodel.PlanSetRetention(st, setmodel.SetPolicy{KeepFullSets: 1}, t0.Add(7*time.Hour+time.Minute))
	for n, links := range st.Links {
		deleted := plan.DeleteLinks[n]
		for _, l := range links {
			if l.Base != "" && slices.Contains(deleted, l.Base) && !slices.Contains(deleted, l.Name) {
				t.Errorf("shard %d: %s is deleted while %s, left, is built on it (outside: %v)", n, l.Base, l.Name, plan.Outside[n])
			}
		}
	}
}
