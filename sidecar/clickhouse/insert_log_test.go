package clickhouse

import (
	"slices"
	"testing"

	"github.com/clickvault/clickvault/sidecar/control"
)

// TestQueriesThatFiredViewsWaitForTheViewsLog: the facts of a query that
// fired views are given only once a flush of the views log covered it; a
// query that fired none is given as read.
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
	leaveOutUncovered(facts, ids, func(id string) bool { return id == "covered" })
	var left []string
	for id := range facts {
		left = append(left, id)
	}
	slices.Sort(left)
	if want := []string{"covered", "plain"}; !slices.Equal(left, want) {
		t.Fatalf("facts given: %v; want %v", left, want)
	}
}
