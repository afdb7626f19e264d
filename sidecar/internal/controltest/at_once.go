package controltest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
)

// testAtOnce: requests write their rows and read the backups table at the
// same time (a plane may send what comes at once as one query): every
// request's answer lands and says its own state, and every database's
// read gives back its rows and only them.
func testAtOnce(t *testing.T, p Plane) {
	ctx := ctxOf(t)
	const n = 8
	ids := insertAs(t, p, "alice", make([]control.Request, n)...)
	stateOf := func(i int) control.State {
		if i%2 == 1 {
			return control.StateFailed
		}
		return control.StateSucceeded
	}
	rowsOf := func(i int) int { // every third database has a running backup too
		if i%3 == 0 {
			return 2
		}
		return 1
	}
	var g sync.WaitGroup
	for i, id := range ids {
		db := fmt.Sprintf("tenant_%d", i)
		g.Go(func() {
			if err := p.AppendLog(ctx, logAt(id, control.StateRunning, base(), nil), logAt(id, stateOf(i), base().Add(time.Millisecond), nil)); err != nil {
				t.Errorf("AppendLog of %s: %v", id, err)
			}
			rows := []control.CatalogRow{catalogRow(db, "20260101T000000000Z", "completed")}
			if rowsOf(i) == 2 {
				rows = append(rows, catalogRow(db, "20260102T000000000Z", "running"))
			}
			if err := p.WriteCatalog(ctx, rows); err != nil {
				t.Errorf("WriteCatalog of %s: %v", db, err)
			}
		})
	}
	g.Wait()
	for i := range n {
		db := fmt.Sprintf("tenant_%d", i)
		g.Go(func() {
			rows, err := p.CatalogRows(ctx, db)
			if err != nil || len(rows) != rowsOf(i) {
				t.Errorf("CatalogRows of %s: %d rows (%v), want %d", db, len(rows), err, rowsOf(i))
			}
			for _, r := range rows {
				if r.Database != db {
					t.Errorf("CatalogRows of %s gave a row of %s", db, r.Database)
				}
			}
		})
	}
	g.Wait()
	for i, id := range ids {
		if st := status(t, p, id); st.State != stateOf(i) {
			t.Errorf("request %d written at once with the others: %s, want %s", i, st.State, stateOf(i))
		}
	}
}
