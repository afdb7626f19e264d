package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// fromDR is w's requests with copy target dr (the store copySetTo made).
func fromDR(w *restoreWorld, dr coord.ObjectStore) cluster.Requests {
	reqs := w.requests()
	reqs.Copies = func(context.Context, string) (coord.ObjectStore, string, error) { return dr, "dr", nil }
	return reqs
}

// TestRestoreFromACopyKeepsItsRecordWhereThePrimaryLacksTheSet: the
// primary no longer has the set (its retention deleted it; the copy keeps
// it longer); a restore reading the copy keeps its record in the
// primary's folder of the set, and a cleanup of the primary while the
// steps run (a folder without set.json, which is otherwise what a stopped
// cleanup left) deletes none of it: the restore ends restored, and asked
// again adds nothing.
func TestRestoreFromACopyKeepsItsRecordWhereThePrimaryLacksTheSet(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	dr := copySetTo(t, w, "dr")
	l, err := w.store.List(t.Context(), w.layout.SetRoot("shop", w.set.ID), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range l.Objects {
		if err := w.store.Delete(t.Context(), []string{o.Key}); err != nil {
			t.Fatal(err)
		}
	}
	cleanup := cluster.Requests{Coord: w.nodes[0].c, Chains: &chains{links: map[int][]setmodel.Link{}, deleted: map[int][]string{}}}
	w.servers[1].onStart = func(sidecar.RestoreCommand) {
		if _, err := cleanup.CleanupSets(context.Background(), "shop", false); err != nil {
			t.Errorf("the primary's cleanup while the restore runs: %v", err)
		}
	}
	ask := control.SetRestoreRequest{SourceCopy: "dr", RequestID: "r1", RequestedBy: "alice"}
	out, err := w.restoreBy(t, fromDR(w, dr), ask, nil)
	if err != nil || !out.Restored() || out.Ran != 3 {
		t.Fatalf("restore from the copy with a cleanup of the primary meanwhile: %+v, %v", out, err)
	}
	ask.RequestID = "r2"
	if again, err := w.restoreBy(t, fromDR(w, dr), ask, nil); err != nil || again.Ran != 0 || !again.Restored() {
		t.Errorf("asked again: %+v, %v; want nothing added", again, err)
	}
}

// TestRestoreFromACopyRefusedWhileThePrimaryDeletesTheSet: the primary
// has marked the set deleting (a cleanup there deletes its folder, where a
// restore's record is); a restore reading the copy is refused, saying so,
// and left listed nowhere.
func TestRestoreFromACopyRefusedWhileThePrimaryDeletesTheSet(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	dr := copySetTo(t, w, "dr")
	deleting := w.set
	deleting.State = setmodel.SetDeleting
	data, _ := json.Marshal(deleting)
	if _, err := w.store.Put(t.Context(), w.layout.SetKey("shop", w.set.ID), data, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	_, err := w.restoreBy(t, fromDR(w, dr), control.SetRestoreRequest{SourceCopy: "dr", RequestID: "r1"}, nil)
	if !errors.Is(err, control.ErrRejected) || !strings.Contains(err.Error(), "being deleted") {
		t.Errorf("restore from the copy of a set the primary is deleting: %v, want it refused", err)
	}
	if open := w.open(t); len(open.Restores) != 0 {
		t.Errorf("open.json still lists %+v", open.Restores)
	}
}

// TestCopysCleanupKeepsASetRestoredFromIt: at a copy target keeping one
// full set, the older of two is deleted by its cleanup, unless the
// primary lists a restore reading it from that target (RestoresReading,
// which names only that target's).
func TestCopysCleanupKeepsASetRestoredFromIt(t *testing.T) {
	dr, ch, ids := twoFullSets(t) // the copy target's sets, as a cleanup there reads them
	w := newWorld(t, 1, 1)        // the primary's open.json
	primary := cluster.Requests{Coord: w.nodes[0].c}
	listRestores(t, w, setmodel.OpenRestore{Set: ids[0], Target: "shop", SourceCopy: "dr", Run: "r1", Deadline: w.clock.Now().Add(time.Hour)},
		setmodel.OpenRestore{Set: ids[1], Target: "shop2", SourceCopy: "other", Run: "r2", Deadline: w.clock.Now().Add(time.Hour)})
	if got, err := primary.RestoresReading(t.Context(), "shop", "dr"); err != nil || len(got) != 1 || got[0].Set != ids[0] {
		t.Fatalf("restores reading dr: %+v, %v", got, err)
	}
	atCopy := cluster.Requests{Coord: dr.nodes[0].c, Chains: ch, Policy: setmodel.SetPolicy{KeepFullSets: 1}, AtCopy: true,
		ReadingThis: func(ctx context.Context, db string) ([]setmodel.OpenRestore, error) {
			return primary.RestoresReading(ctx, db, "dr")
		}}
	out, err := atCopy.CleanupSets(t.Context(), "shop", true)
	if err != nil || len(out.DeletedSets) != 0 {
		t.Errorf("the copy's cleanup with %s being restored from it: %+v, %v; want it kept", ids[0], out, err)
	}
	atCopy.ReadingThis = nil
	if out, err := atCopy.CleanupSets(t.Context(), "shop", true); err != nil || !slices.Equal(out.DeletedSets, ids[:1]) {
		t.Errorf("without it: %+v, %v; want %s deleted", out, err, ids[0])
	}
}

// listRestores lists restores in w's open.json, as running ones are.
func listRestores(t *testing.T, w *world, restores ...setmodel.OpenRestore) {
	t.Helper()
	key := w.layout.OpenSetsKey("shop")
	var open setmodel.OpenSets
	data, etag, err := w.store.Get(t.Context(), key)
	switch {
	case errors.Is(err, coord.ErrNotFound):
		data = []byte(fmt.Sprintf(`{"version": %d}`, setmodel.SetVersion))
	case err != nil:
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &open); err != nil {
		t.Fatal(err)
	}
	open.Restores = append(open.Restores, restores...)
	data, _ = json.Marshal(open)
	if _, err := w.store.Put(t.Context(), key, data, coord.PutCondition{IfMatch: etag}); err != nil {
		t.Fatal(err)
	}
}
