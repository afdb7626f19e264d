package cluster_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/control"
)

// TestTwoSetsRestoredIntoOneTargetAtOnce: a node steps two databases at
// once; the sets of shop and crm are restored into one new database at
// the same moment. One restore fills it; the other finds it not empty and
// fails, naming why: both found it empty before either sent its RESTORE,
// and both wrote into it, a set's restore into a non-empty database.
func TestTwoSetsRestoredIntoOneTargetAtOnce(t *testing.T) {
	w := newRestoreWorld(t, 1)
	w.atOnce = 2
	var once sync.Once
	w.faults[0] = func(point string) {
		if point == "set-restore-started" {
			once.Do(func() { time.Sleep(300 * time.Millisecond) }) // the first step, between its checks and its RESTORE
		}
	}
	w.restart(0)
	ctx, cancel := context.WithCancel(context.Background())
	stepped := make(chan struct{})
	go func() {
		defer close(stepped)
		cluster.StepEvery(ctx, w.nodes[0].c, []string{"shop", "crm"}, 5*time.Millisecond)
	}()
	defer func() { cancel(); <-stepped }()
	// crm's set, its shard backed up by the stepping above.
	if out, _ := w.backupSet(t, control.SetRequest{Database: "crm", RequestID: "backup-2", RequestedBy: "alice"}); out.ID == "" {
		t.Fatal("no set of crm")
	}
	outs := make([]control.SetRestoreOutcome, 2)
	errs := make([]error, 2)
	var g sync.WaitGroup
	for i, db := range []string{"shop", "crm"} {
		g.Add(1)
		go func() {
			defer g.Done()
			outs[i], errs[i] = w.requests().RestoreSet(context.Background(), control.SetRestoreRequest{Database: db, Target: "mix",
				RequestID: "r-" + db, RequestedBy: "alice"}, func(string, string) {})
		}()
	}
	g.Wait()
	restored, refused := 0, 0
	for i, out := range outs {
		switch {
		case errs[i] == nil && out.Restored():
			restored++
		case strings.Contains(out.Message(), "a set's restore writes into a new or empty database"),
			errs[i] != nil && strings.Contains(errs[i].Error(), "empty"): // refused before listed, if it came that late
			refused++
		}
	}
	if rows := w.servers[0].rows("mix"); restored != 1 || refused != 1 || len(rows) != 1 {
		t.Errorf("two sets restored into mix at once: %d restored, %d refused (%q, %q); mix holds %v, want one set's table",
			restored, refused, outs[0].Message(), outs[1].Message(), rows)
	}
}
