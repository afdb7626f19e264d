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
	var g sync.WaitGroup
	errs := make(chan error, 3*n)
	for i, id := range ids {
		db := fmt.Sprintf("tenant_%d", i)
		g.Go(func() {
			state := control.StateSucceeded
			if i%2 == 1 {
				state = control.StateFailed
			}
			if err := p.AppendLog(ctx, logAt(id, control.StateRunning, base(), nil), logAt(id, state, base().Add(time.Millisecond), nil)); err != nil {
				errs <- fmt.Errorf("AppendLog of %s: %w", id, err)
			}
			rows := []control.CatalogRow{catalogRow(db, "20260101T000000000Z", "completed")}
			if i%3 == 0 {
				rows = append(rows, catalogRow(db, "20260102T000000000Z", "running"))
			}
			if err := p.WriteCatalog(ctx, rows); err != nil {
				errs <- fmt.Errorf("WriteCatalog of %s: %w", db, err)
			}
		})
	}
	g.Wait()
	for i := range n {
		db := fmt.Sprintf("tenant_%d", i)
		g.Go(func() {
			rows, err := p.CatalogRows(ctx, db)
			want := 1 + map[bool]int{true: 1}[i%3 == 0]
			if err != nil || len(rows) != want {
				errs <- fmt.Errorf("CatalogRows of %s: %d rows, want %d: %w", db, len(rows), want, err)
				return
			}
			for _, r := range rows {
				if r.Database != db {
					errs <- fmt.Errorf("CatalogRows of %s gave a row of %s", db, r.Database)
				}
			}
		})
	}
	g.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, id := range ids {
		want := control.StateSucceeded
		if i%2 == 1 {
			want = control.StateFailed
		}
		if st := status(t, p, id); st.State != want {
			t.Errorf("request %d written at once with the others: %s, want %s", i, st.State, want)
		}
	}
}
