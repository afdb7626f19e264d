package control

import (
	"strings"
	"testing"
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
}

// TestFieldsAtTheirBoundAreAccepted: a field of exactly MaxField bytes, and
// a list of exactly MaxList entries, pass checkSizes; one byte or one entry
// more is refused.
func TestFieldsAtTheirBoundAreAccepted(t *testing.T) {
	at := strings.Repeat("a", MaxField)
	if err := checkSizes(Request{Target: at}); err != nil {
		t.Errorf("a target of %d bytes: %v", MaxField, err)
	}
	if err := checkSizes(Request{Target: at + "a"}); err == nil {
		t.Errorf("a target of %d bytes was accepted", MaxField+1)
	}
	list := make([]string, MaxList)
	for i := range list {
		list[i] = "t"
	}
	if err := checkSizes(Request{Tables: list}); err != nil {
		t.Errorf("%d tables: %v", MaxList, err)
	}
	if err := checkSizes(Request{Tables: append(list, "t")}); err == nil {
		t.Errorf("%d tables were accepted", MaxList+1)
	}
	if err := checkSizes(Request{Tables: []string{at}}); err != nil {
		t.Errorf("a table name of %d bytes: %v", MaxField, err)
	}
	if err := checkSizes(Request{Tables: []string{at + "a"}}); err == nil {
		t.Errorf("a table name of %d bytes was accepted", MaxField+1)
	}
}
