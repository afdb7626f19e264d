package control

import (
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// TestJudgeInsertRefusesEachFlawAlone: a row whose INSERT is sound in
// every way but one is refuted, saying which: each rule of judgeInsert
// stands on its own, not behind another that would catch the same row.
func TestJudgeInsertRefusesEachFlawAlone(t *testing.T) {
	sound := func() LoginFacts {
		return LoginFacts{Users: []string{"alice"}, Kinds: []string{"Insert"}, WroteRequests: true}
	}
	r := Request{RequestedBy: "alice", QueryID: "q1"}
	judge := func(f LoginFacts, facts InsertFacts) (verdict, string) {
		facts.ByLogin = map[string]LoginFacts{"alice": f}
		return judgeInsert(r, facts)
	}
	if v, why := judge(sound(), InsertFacts{ViewsLogged: true}); v != confirmed {
		t.Fatalf("a sound INSERT: %v %q", v, why)
	}
	for _, c := range []struct {
		name string
		flaw func(*LoginFacts, *InsertFacts)
		says string
	}{
		{"secondary", func(f *LoginFacts, _ *InsertFacts) { f.Secondary = true }, "secondary (distributed) query"},
		{"failed", func(f *LoginFacts, _ *InsertFacts) { f.Failed = true }, "the INSERT that made it failed"},
		{"another user", func(f *LoginFacts, _ *InsertFacts) { f.Users = []string{"alice", "bob"} }, "ran as another login"},
		{"not an insert", func(f *LoginFacts, _ *InsertFacts) { f.Kinds = []string{"Insert", "Select"} }, "not inserted by an INSERT"},
		{"not into requests", func(f *LoginFacts, _ *InsertFacts) { f.WroteRequests = false }, "not inserted by an INSERT"},
		{"a view wrote it", func(_ *LoginFacts, i *InsertFacts) { i.ViewsIntoRequests = []string{"db.mv"} }, "materialized view db.mv"},
	} {
		f, facts := sound(), InsertFacts{ViewsLogged: true}
		c.flaw(&f, &facts)
		if v, why := judge(f, facts); v != refuted || !strings.Contains(why, c.says) {
			t.Errorf("%s: %v %q; want refuted, saying %q", c.name, v, why, c.says)
		}
	}
	// A query id is read cut one byte past MaxField: one that long is
	// refused, never looked up by its prefix.
	facts := InsertFacts{ViewsLogged: true, ByLogin: map[string]LoginFacts{"alice": sound()}}
	if v, why := judgeInsert(Request{RequestedBy: "alice", QueryID: strings.Repeat("q", MaxField)}, facts); v != confirmed {
		t.Errorf("a query id of %d bytes: %v %q; want confirmed", MaxField, v, why)
	}
	if v, why := judgeInsert(Request{RequestedBy: "alice", QueryID: strings.Repeat("q", MaxField+1)}, facts); v != refuted || !strings.Contains(why, "longer than") {
		t.Errorf("a query id of %d bytes: %v %q; want refuted, saying it is too long", MaxField+1, v, why)
	}
}

// TestFieldsAtTheirBoundAreAccepted: a field of exactly MaxField bytes, and
// a list of exactly MaxList entries, pass validateSizes; one byte or one entry
// more is refused.
func TestFieldsAtTheirBoundAreAccepted(t *testing.T) {
	at := strings.Repeat("a", MaxField)
	if err := validateSizes(Request{Target: at}); err != nil {
		t.Errorf("a target of %d bytes: %v", MaxField, err)
	}
	if err := validateSizes(Request{Target: at + "a"}); err == nil {
		t.Errorf("a target of %d bytes was accepted", MaxField+1)
	}
	list := make([]string, MaxList)
	for i := range list {
		list[i] = "t"
	}
	if err := validateSizes(Request{Tables: list}); err != nil {
		t.Errorf("%d tables: %v", MaxList, err)
	}
	if err := validateSizes(Request{Tables: append(list, "t")}); err == nil {
		t.Errorf("%d tables were accepted", MaxList+1)
	}
	if err := validateSizes(Request{Tables: []string{at}}); err != nil {
		t.Errorf("a table name of %d bytes: %v", MaxField, err)
	}
	if err := validateSizes(Request{Tables: []string{at + "a"}}); err == nil {
		t.Errorf("a table name of %d bytes was accepted", MaxField+1)
	}
}

// TestJudgeInsertWithViews: an INSERT that fired views is a request only
// when query_views_log shows what they wrote and none wrote the row; with
// no view fired, a server without query_views_log confirms it too.
func TestJudgeInsertWithViews(t *testing.T) {
	r := Request{RequestedBy: "alice", QueryID: "q1"}
	sound := LoginFacts{Users: []string{"alice"}, Kinds: []string{"Insert"}, WroteRequests: true}
	fired := sound
	fired.ViewsFired = []string{"db.audit_mv"}
	onRequests := []string{"db.audit_mv"}
	elsewhere := sound
	elsewhere.ViewsFired = []string{"db.audit_mv", "mallory_db.pwn"}
	for _, c := range []struct {
		name  string
		f     LoginFacts
		facts InsertFacts
		want  verdict
		says  string
	}{
		{"no view, no views log", sound, InsertFacts{}, confirmed, ""},
		{"a view fired, no views log", fired, InsertFacts{ViewsOnRequests: onRequests}, refuted, "cannot tell"},
		{"a view fired, logged, nothing of it in the log", fired, InsertFacts{ViewsLogged: true, ViewsOnRequests: onRequests}, unconfirmed, "has no record of what they wrote"},
		{"a view fired, logged, it wrote elsewhere", fired, InsertFacts{ViewsLogged: true, ViewRows: 1, ViewsOnRequests: onRequests}, confirmed, ""},
		{"a view fired, its log not flushed yet", fired, InsertFacts{ViewsLogged: true, ViewRows: 1, ViewsUnflushed: true, ViewsOnRequests: onRequests}, unconfirmed, "could not be flushed"},
		{"a view not on requests fired (the INSERT was into another table)", fired, InsertFacts{ViewsLogged: true, ViewRows: 1}, refuted, "does not read the requests table"},
		{"a view on requests and one elsewhere fired", elsewhere, InsertFacts{ViewsLogged: true, ViewRows: 2, ViewsOnRequests: onRequests}, refuted, "mallory_db.pwn"},
		{"another login's query with the id fired a view", sound, InsertFacts{ViewsUnflushed: true}, unconfirmed, "could not be flushed"},
	} {
		c.facts.ByLogin = map[string]LoginFacts{"alice": c.f}
		if v, why := judgeInsert(r, c.facts); v != c.want || !strings.Contains(why, c.says) {
			t.Errorf("%s: %v %q; want %v saying %q", c.name, v, why, c.want, c.says)
		}
	}
}

// TestListBytesAreSummed: a list is bounded by the bytes of all its
// entries (MaxListBytes, that many accepted, one more refused), not only
// by each entry's size and their number; and tables, exclude_tables and
// partitions are each refused on an action that takes none.
func TestListBytesAreSummed(t *testing.T) {
	entries := func(total int) []string {
		var out []string
		for total > 0 {
			n := min(total, MaxField)
			out = append(out, strings.Repeat("t", n))
			total -= n
		}
		return out
	}
	if err := validateSizes(Request{Tables: entries(MaxListBytes)}); err != nil {
		t.Errorf("tables of %d bytes in all: %v", MaxListBytes, err)
	}
	if err := validateSizes(Request{Tables: entries(MaxListBytes + 1)}); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("tables of %d bytes in all: %v, want refused", MaxListBytes+1, err)
	}
	s := newUnitSidecar("a", nil, nil)
	for _, r := range []Request{
		{Action: ActionCleanup, ExcludeTables: []string{"t"}},
		{Action: ActionCleanup, Partitions: []string{"1"}},
		{Action: ActionCheck, Tables: []string{"t"}},
	} {
		r.Database = "shop"
		if _, err := s.admission.parseJob(r); err == nil || !strings.Contains(err.Error(), "are for backups and restores") {
			t.Errorf("%s with %v %v %v: %v, want refused", r.Action, r.Tables, r.ExcludeTables, r.Partitions, err)
		}
	}
}

// TestProofSignsEveryField: a proof covers consumers and shard when set
// (a copy of a signed row with either added does not check out), and is
// the sidecar's only when its own login inserted the row: a row of
// another login never passes for the operator's, whatever its proof.
func TestProofSignsEveryField(t *testing.T) {
	r := Request{ID: "0f8fad5b-d9cb-469f-a165-70867728950e", Action: ActionRestore, Database: "shop", Kind: "auto"}
	plain := Sign(unitProofKey, r, "clickvault")
	sign := func(change func(*Request)) string {
		c := r
		change(&c)
		return Sign(unitProofKey, c, "clickvault")
	}
	include, skip := sign(func(c *Request) { c.Consumers = "include" }), sign(func(c *Request) { c.Consumers = "skip" })
	shard2, shard3 := sign(func(c *Request) { c.Shard = 2 }), sign(func(c *Request) { c.Shard = 3 })
	dr, vault := sign(func(c *Request) { c.Source = "dr" }), sign(func(c *Request) { c.Source = "vault" })
	if include == plain || include == skip || shard2 == plain || shard2 == shard3 || dr == plain || dr == vault {
		t.Errorf("a proof does not cover consumers, shard or source: a signed row's copy with another value checks out")
	}
	s := newUnitSidecar("a", memstore.New(), nil)
	alices := r
	alices.RequestedBy = "alice"
	alices.Proof = Sign(unitProofKey, alices, "alice")
	if s.base.operator(alices) {
		t.Errorf("alice's row, with a proof made for alice, passes for the operator's")
	}
	own := signed(r)
	if !s.base.operator(own) {
		t.Errorf("the sidecar's own signed row is not the operator's")
	}
	own.Proof = ""
	if s.base.operator(own) {
		t.Errorf("the sidecar's own row with no proof passes for the operator's")
	}
}
