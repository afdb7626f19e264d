package controltest

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/control"
)

// written is r as a reader gets it back, with the fields the server sets
// (requested_at, query_id) cleared and lists nil when empty: readers take
// their lengths, and the server has no nil list.
func written(r control.Request) control.Request {
	r.RequestedAt, r.QueryID = time.Time{}, ""
	for _, l := range []*[]string{&r.Tables, &r.ExcludeTables, &r.Partitions} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return r
}

// requireRead checks a pending row's server-set fields and returns the rest.
func requireRead(t *testing.T, got control.PendingRequest, by string, from, to time.Time) control.Request {
	t.Helper()
	if got.RequestedBy != by {
		t.Errorf("requested_by %q, want %q", got.RequestedBy, by)
	}
	at := got.RequestedAt
	if at.Before(from.Truncate(time.Millisecond)) || at.After(to) || !at.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("requested_at %v: want a time to the millisecond within [%v, %v]", at, from, to)
	}
	if got.QueryID == "" {
		t.Error("query_id is empty: the INSERT's id identifies the row in the query log")
	}
	return written(got.Request)
}

// testPendingFields: every field a requester writes is read back as
// written, as_of to the millisecond; requested_by is the login; a row
// nobody answered has no Latest and one login.
func testPendingFields(t *testing.T, p Plane) {
	asOf := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)
	r := control.Request{ID: uuid.NewString(), Action: "restore", Database: "shop", Kind: "full", Backup: "20260101T000000000Z",
		AsOf: &asOf, Target: "shop_copy", DryRun: true, Via: "http:0a1b2c3d", Tables: []string{"orders", "items AS items_2"},
		ExcludeTables: []string{"logs"}, Partitions: []string{"202401", "202402"}, Mode: "replace", Consumers: "skip", Shard: 2, Source: "dr", Proof: "forged"}
	from := time.Now()
	insertAs(t, p, "alice", r)
	got, ok := byID(pending(t, p, longAgo()), r.ID)
	if !ok {
		t.Fatalf("request %s is not pending", r.ID)
	}
	want := r
	wantAsOf := asOf.Truncate(time.Millisecond)
	want.AsOf, want.RequestedBy = &wantAsOf, "alice"
	if read := requireRead(t, got, "alice", from, time.Now()); !reflect.DeepEqual(read, written(want)) {
		t.Errorf("read back\n%+v\nwant\n%+v", read, written(want))
	}
	if got.AsOf == nil || !got.AsOf.Equal(wantAsOf) {
		t.Errorf("as_of %v, want %v", got.AsOf, wantAsOf)
	}
	if got.Latest != nil || got.Logins != 1 {
		t.Errorf("latest %+v, logins %d; want none and 1", got.Latest, got.Logins)
	}
}

// testPendingDefaults: a row with nothing but an id is a backup of kind
// auto, as the table's defaults make it.
func testPendingDefaults(t *testing.T, p Plane) {
	id := uuid.NewString()
	from := time.Now()
	insertAs(t, p, "bob", control.Request{ID: id})
	got, ok := byID(pending(t, p, longAgo()), id)
	if !ok {
		t.Fatalf("request %s is not pending", id)
	}
	want := control.Request{ID: id, Action: control.ActionBackup, Kind: "auto", RequestedBy: "bob"}
	if read := requireRead(t, got, "bob", from, time.Now()); !reflect.DeepEqual(read, want) {
		t.Errorf("read back %+v, want %+v", read, want)
	}
}

// testPendingCut: each text is read cut one byte past MaxField (bytes, not
// letters); a list over MaxList names or MaxListBytes bytes is read as
// [TooLong]; each name of a shorter list is cut like a text.
func testPendingCut(t *testing.T, p Plane) {
	long := strings.Repeat("x", control.MaxField+100)
	letters := strings.Repeat("é", control.MaxField) // two bytes each
	many := make([]string, control.MaxList+1)
	for i := range many {
		many[i] = "t"
	}
	big := []string{strings.Repeat("a", 250), strings.Repeat("b", 250)}
	for len(strings.Join(big, "")) <= control.MaxListBytes {
		big = append(big, strings.Repeat("c", 250))
	}
	r := control.Request{ID: uuid.NewString(), Action: control.Action(long), Database: letters, Kind: long, Backup: long, Target: long,
		Via: long, Mode: long, Consumers: long, Source: long, Proof: long, Tables: many, ExcludeTables: big, Partitions: []string{long, "p"}}
	insertAs(t, p, "alice", r)
	got, ok := byID(pending(t, p, longAgo()), r.ID)
	if !ok {
		t.Fatalf("request %s is not pending", r.ID)
	}
	cut := func(s string) string { return s[:control.MaxField+1] }
	want := control.Request{ID: r.ID, Action: control.Action(cut(long)), Database: cut(letters), Kind: cut(long), Backup: cut(long),
		Target: cut(long), Via: cut(long), Mode: cut(long), Consumers: cut(long), Source: cut(long), Proof: cut(long),
		RequestedBy: "alice",
		Tables:      []string{control.TooLong}, ExcludeTables: []string{control.TooLong}, Partitions: []string{cut(long), "p"}}
	if read := written(got.Request); !reflect.DeepEqual(read, want) {
		t.Errorf("read back\n%#v\nwant\n%#v", read, want)
	}
}

// testFirstRowPerID: of the rows with one id, readers see the first
// inserted, whatever requested_at says (a row dated back cannot take a
// request over), and Logins counts the logins that used the id; one login
// using an id twice is one login. RequestCount counts every row.
func testFirstRowPerID(t *testing.T, p Plane) {
	reused, ordered, twice := uuid.NewString(), uuid.NewString(), uuid.NewString()
	now := time.Now()
	insertAs(t, p, "alice", control.Request{ID: reused, Database: "shop", RequestedAt: now.Add(-time.Second)},
		control.Request{ID: ordered, Database: "shop", RequestedAt: now.Add(-time.Second)})
	// mallory's rows are inserted later: one made to look older, one not.
	insertAs(t, p, "mallory", control.Request{ID: reused, Database: "mallory_db", RequestedAt: now.Add(-2 * time.Second)},
		control.Request{ID: ordered, Database: "mallory_db"})
	insertAs(t, p, "bob", control.Request{ID: twice, Database: "one", RequestedAt: now.Add(-time.Second)})
	insertAs(t, p, "bob", control.Request{ID: twice, Database: "two"})
	rs := pending(t, p, longAgo())
	if len(rs) != 3 {
		t.Fatalf("pending ids %v; want one row per id, 3", ids(rs))
	}
	for _, c := range []struct {
		id, by, database string
		logins           int
	}{{reused, "alice", "shop", 2}, {ordered, "alice", "shop", 2}, {twice, "bob", "one", 1}} {
		got, _ := byID(rs, c.id)
		if got.RequestedBy != c.by || got.Database != c.database || got.Logins != c.logins {
			t.Errorf("request %s read as %s's on %q with %d logins; want %s's on %q with %d",
				c.id, got.RequestedBy, got.Database, got.Logins, c.by, c.database, c.logins)
		}
		if st := status(t, p, c.id); st.RequestedBy != c.by || st.Database != c.database {
			t.Errorf("request_status of %s: %s's on %q; want %s's on %q", c.id, st.RequestedBy, st.Database, c.by, c.database)
		}
	}
	if n, err := p.RequestCount(ctxOf(t)); err != nil || n != 6 {
		t.Errorf("RequestCount: %d, %v; want every row, 6", n, err)
	}
}

// testSince: a pending read takes in the rows made at or after since,
// oldest first.
func testSince(t *testing.T, p Plane) {
	now := time.Now()
	ids := insertAs(t, p, "alice", control.Request{RequestedAt: now.Add(-2 * time.Hour)}, control.Request{RequestedAt: now.Add(-30 * time.Minute)})
	fresh := insertAs(t, p, "alice", control.Request{})
	old, recent := ids[0], ids[1]
	for _, c := range []struct {
		since time.Time
		want  []string
	}{{now.Add(-3 * time.Hour), []string{old, recent, fresh[0]}}, {now.Add(-time.Hour), []string{recent, fresh[0]}},
		{now.Add(-time.Minute), []string{fresh[0]}}} {
		if got := pendingIDs(t, p, c.since); !slices.Equal(got, c.want) {
			t.Errorf("pending since %v ago: %v; want %v", now.Sub(c.since), got, c.want)
		}
	}
}

func pendingIDs(t *testing.T, p Plane, since time.Time) []string { return ids(pending(t, p, since)) }

// testPendingBounds: a read takes at most PendingPerRequester rows of a
// requester, so one flood hides nobody's request, and PendingPerRead in
// all, oldest first.
func testPendingBounds(t *testing.T, p Plane) {
	// A second apart, so which rows are oldest is not left to the server.
	now := time.Now()
	bob := insertAs(t, p, "bob", control.Request{Database: "shop", RequestedAt: now.Add(-10 * time.Second)})
	floods := []string{"alice", "r1", "r2", "r3", "r4"}
	for i, login := range floods {
		flood := make([]control.Request, control.PendingPerRequester+50)
		for j := range flood {
			flood[j] = control.Request{Database: "shop", RequestedAt: now.Add(time.Duration(i-len(floods)) * time.Second)}
		}
		insertAs(t, p, login, flood...)
	}
	rs := pending(t, p, longAgo())
	if len(rs) != control.PendingPerRead {
		t.Fatalf("%d pending rows; want the read bounded at %d", len(rs), control.PendingPerRead)
	}
	per := map[string]int{}
	for i, r := range rs {
		per[r.RequestedBy]++
		if i > 0 && r.RequestedAt.Before(rs[i-1].RequestedAt) {
			t.Fatalf("row %d is older than row %d: want oldest first", i, i-1)
		}
	}
	if _, ok := byID(rs, bob[0]); !ok || per["bob"] != 1 {
		t.Errorf("bob's one request is hidden by the flood: %v", per)
	}
	for _, login := range floods[:4] {
		if per[login] != control.PendingPerRequester {
			t.Errorf("%s has %d rows in the read; want %d", login, per[login], control.PendingPerRequester)
		}
	}
}
