package setmodel_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

var updateGolden = flag.Bool("golden", false, "write the SQL the planners generate into testdata/golden")

// golden compares got with testdata/golden/name (-golden writes it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// renderStatements writes statements as a person reads them: each query
// under its settings.
func renderStatements(ss []setmodel.Statement) string {
	var b strings.Builder
	for _, s := range ss {
		for _, set := range s.Settings {
			b.WriteString("-- " + set.Name + " = " + set.Value + "\n")
		}
		b.WriteString(s.SQL + ";\n")
	}
	return b.String()
}

// replicaCase is one hand-written testdata/system_replicas file: what each
// replica of shard 1 said of its replicated tables.
type replicaCase struct {
	Database string                   `json:"database"`
	Health   []setmodel.ReplicaHealth `json:"health"`
}

// readReplicaCase reads rows HAND-WRITTEN from the columns ClickHouse
// documents for system.replicas: the test bed cannot produce them (no
// ReplicatedMergeTree). The shard is the captured two_replicas cluster's
// shard 1 (real system.clusters rows).
func readReplicaCase(t *testing.T, name string) (setmodel.Shard, replicaCase) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "system_replicas", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var c replicaCase
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	topo, err := setmodel.NewTopology("vault", readCapture(t, "two_replicas").Nodes[0].Rows)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := topo.Shard(1)
	return s, c
}

// TestChooseReplica: the replica that backs a shard up is a healthy one
// that lags least; read-only replicas, expired Keeper sessions, replicas
// lacking a table another has and replicas not read are refused, saying
// why; only the database's own tables count.
func TestChooseReplica(t *testing.T) {
	for _, tc := range []struct {
		name    string
		want    int
		refused map[int]string // replica → part of why it was refused
	}{
		{name: "lagging", want: 2}, // r1: absolute_delay 99
		{name: "readonly", want: 1, refused: map[int]string{2: "orders: read-only (is_readonly)"}}, // r2 lags less, but cannot fetch
		{name: "none_fit", want: 0, refused: map[int]string{
			1: "events: its session with Keeper has expired (is_session_expired)", 2: "events: read-only (is_readonly)"}},
		{name: "missing_table", want: 1, refused: map[int]string{2: "orders: not on this replica"}},
		{name: "unread", want: 1, refused: map[int]string{2: "could not be read: code: 210, Connection refused"}},
		{name: "pending", want: 2},        // same delay: r1 has 27 entries queued, r2 24 log entries not yet copied
		{name: "other_database", want: 1}, // ops.audit lags an hour and is read-only on r1: not this database's
		{name: "not_replicated", want: 1}, // no Replicated* table: the lowest replica, the same on every sidecar
	} {
		t.Run(tc.name, func(t *testing.T) {
			shard, c := readReplicaCase(t, tc.name)
			got := setmodel.ChooseReplica(shard, c.Database, c.Health)
			if got.Replica != tc.want {
				t.Errorf("chose replica %d, want %d: %+v", got.Replica, tc.want, got.Candidates)
			}
			if len(got.Candidates) != len(shard.Replicas) {
				t.Errorf("%d candidates, want one per replica (%d)", len(got.Candidates), len(shard.Replicas))
			}
			for _, cand := range got.Candidates {
				want, refused := tc.refused[cand.Replica]
				if refused != (cand.Refused != "") || !strings.Contains(cand.Refused, want) {
					t.Errorf("replica %d refused %q, want %q", cand.Replica, cand.Refused, want)
				}
			}
		})
	}
}

// TestChooseReplicaNotHeardFrom: a replica whose rows did not come at all
// is refused as not read, even where its shard has no replicated table.
func TestChooseReplicaNotHeardFrom(t *testing.T) {
	for _, name := range []string{"lagging", "not_replicated"} {
		shard, c := readReplicaCase(t, name)
		got := setmodel.ChooseReplica(shard, c.Database, c.Health[:1])
		if got.Replica != 1 || got.Candidates[1].Replica != 2 || got.Candidates[1].Refused != "its system.replicas was not read" {
			t.Errorf("%s without replica 2's rows: %+v", name, got)
		}
	}
}

// TestSyncReplicaGolden: SYNC REPLICA … LIGHTWEIGHT is planned for the
// Replicated* tables of the database only (an MV's inner table too), each
// bounded by receive_timeout in whole seconds, rounded up and never 0;
// names are back-quoted. The rows are HAND-WRITTEN system.tables rows (the
// test bed has no Replicated* engine); the SQL is compared with
// testdata/golden/sync_replica_shop.sql.
func TestSyncReplicaGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "system_tables", "shop.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tables struct {
		Rows []setmodel.TableRow `json:"rows"`
	}
	if err := json.Unmarshal(data, &tables); err != nil {
		t.Fatal(err)
	}
	golden(t, "sync_replica_shop.sql", renderStatements(setmodel.SyncReplica("shop", tables.Rows, 299500*time.Millisecond)))
	for _, tc := range []struct {
		timeout time.Duration
		want    string
	}{{0, "1"}, {time.Millisecond, "1"}, {time.Second, "1"}, {90 * time.Minute, "5400"}} {
		ss := setmodel.SyncReplica("shop", tables.Rows, tc.timeout)
		if got := ss[0].Settings; len(got) != 1 || got[0] != (setmodel.Setting{Name: "receive_timeout", Value: tc.want}) {
			t.Errorf("timeout %s: settings %v, want receive_timeout = %s", tc.timeout, got, tc.want)
		}
	}
	if ss := setmodel.SyncReplica("shop", nil, time.Minute); len(ss) != 0 {
		t.Errorf("no tables: %v", ss)
	}
}
