package cluster_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
)

// TestOperatorIsAFlagNotAName: each node's grant check gets the set's
// requester with the operator flag its request carried, written in
// set.json: a request of a login named like the sidecar's is a login's
// (checked), and only the sidecar's own request is the operator's. A full
// set asked for (not decided by auto) asks DROP TABLE of the login too.
func TestOperatorIsAFlagNotAName(t *testing.T) {
	w := newWorld(t, 1, 1)
	for _, c := range []struct {
		req  control.SetRequest
		want setmodel.Requester
	}{
		{control.SetRequest{Database: "shop", Kind: "full", RequestID: "r1", RequestedBy: "clickvault"},
			setmodel.Requester{Login: "clickvault", NewChain: true}},
		{control.SetRequest{Database: "shop", Kind: "full", RequestID: "r2", RequestedBy: "clickvault", Operator: true},
			setmodel.Requester{Login: "clickvault", Operator: true, NewChain: true}},
		{control.SetRequest{Database: "shop", Kind: "auto", RequestID: "r3", RequestedBy: "alice"},
			setmodel.Requester{Login: "alice"}}, // full or not, as auto decides: BACKUP alone, as on a single server
	} {
		out, _ := w.backupSet(t, c.req)
		data, _, err := w.store.Get(context.Background(), w.layout.SetKey("shop", out.ID))
		var set setmodel.Set
		if err != nil || json.Unmarshal(data, &set) != nil {
			t.Fatalf("read set %s: %v", out.ID, err)
		}
		var got setmodel.Requester
		checked := cluster.Checked{Executor: w.nodes[0].exec, Allowed: func(_ context.Context, who setmodel.Requester, _ string) error {
			got = who
			return nil
		}}
		if _, err := checked.BackupShard(context.Background(), cluster.Job{Set: set, Shard: 1}); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("request %s: the node checked %+v, want %+v", c.req.RequestID, got, c.want)
		}
	}
}
