package clickhouse

import (
	"slices"
	"testing"

	"github.com/clickvault/clickvault/sidecar/control"
)

// TestQueriesThatFiredViewsWaitForTheViewsLog: the facts of a query that
// fired views say it waits for the views log until a flush of that log
// covered it; a query that fired none is given as read.
func TestQueriesThatFiredViewsWaitForTheViewsLog(t *testing.T) {
	fired := func(views ...string) control.InsertFacts {
		return control.InsertFacts{ByLogin: map[string]control.LoginFacts{"alice": {ViewsFired: views}}}
	}
	facts := map[string]control.InsertFacts{"plain": fired(), "covered": fired("db.audit"), "waiting": fired("db.audit"),
		"another login's": {ByLogin: map[string]control.LoginFacts{"alice": {}, "bob": {ViewsFired: []string{"db.mv"}}}}}
	ids := firedViews(facts)
	slices.Sort(ids)
	if want := []string{"another login's", "covered", "waiting"}; !slices.Equal(ids, want) {
		t.Fatalf("firedViews: %v; want %v (any login's query that fired a view)", ids, want)
	}
	markUncovered(facts, ids, func(id string) bool { return id == "covered" })
	var waiting []string
	for id, f := range facts {
		if f.ViewsUnflushed {
			waiting = append(waiting, id)
		}
	}
	slices.Sort(waiting)
	if want := []string{"another login's", "waiting"}; !slices.Equal(waiting, want) || len(facts) != 4 {
		t.Fatalf("facts marked as waiting for the views log: %v of %d; want %v of 4", waiting, len(facts), want)
	}
}
