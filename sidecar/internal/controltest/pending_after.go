package controltest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/control"
)

// readPage reads from a place, or fails the test.
func readPage(t *testing.T, p Plane, from control.ReadFrom) control.ReadPage {
	t.Helper()
	if from.Since.IsZero() {
		from.Since = longAgo()
	}
	page, err := p.PendingAfter(ctxOf(t), from)
	if err != nil {
		t.Fatalf("read pending requests from %+v: %v", from, err)
	}
	return page
}

// seenOf is the places of login's rows a page saw, in order.
func seenOf(page control.ReadPage, login string) []control.ReadMark {
	var out []control.ReadMark
	for _, s := range page.Seen {
		if s.RequestedBy == login {
			out = append(out, s.Mark)
		}
	}
	return out
}

// testReadPlaces: each INSERT is a block, after every block before it;
// each row has its place in its block. A full read sees the rows whose id
// has no answer, with their places; a read from marks takes each
// requester's rows from its mark on (inclusive) and a requester without a
// mark from the floor, answered or not, and hands on the pending ones
// alone. LastBlock is the last block when the read began.
func testReadPlaces(t *testing.T, p Plane) {
	a := insertAs(t, p, "alice", control.Request{Database: "a1"})
	insertAs(t, p, "bob", control.Request{Database: "b1"})
	a = append(a, insertAs(t, p, "alice", control.Request{Database: "a2"}, control.Request{Database: "a3"})...)
	b := insertAs(t, p, "bob", control.Request{Database: "b2"})
	full := readPage(t, p, control.ReadFrom{Full: true})
	if len(full.Seen) != 5 || len(full.Pending) != 5 {
		t.Fatalf("a full read saw %d rows and %d pending; want 5 and 5", len(full.Seen), len(full.Pending))
	}
	place := map[string]control.ReadMark{}
	for i, r := range full.Pending {
		place[r.ID] = r.Mark
		if r.Mark != full.Seen[i].Mark || r.RequestedBy != full.Seen[i].RequestedBy {
			t.Errorf("pending row %d at %+v by %s, seen %+v: want the seen rows' places", i, r.Mark, r.RequestedBy, full.Seen[i])
		}
		if i > 0 && !full.Pending[i-1].Mark.Before(r.Mark) {
			t.Errorf("row %d at %+v is not after row %d at %+v: want insert order", i, r.Mark, i-1, full.Pending[i-1].Mark)
		}
	}
	lo, hi := a[1], a[2] // one INSERT's rows: in the table's order within its block
	if place[hi].Before(place[lo]) {
		lo, hi = hi, lo
	}
	if place[lo].Block != place[hi].Block || place[lo].Offset == place[hi].Offset {
		t.Errorf("one INSERT's rows at %+v and %+v: want one block, two offsets", place[lo], place[hi])
	}
	if full.LastBlock != place[b[0]].Block {
		t.Errorf("last block %d; want the last INSERT's, %d", full.LastBlock, place[b[0]].Block)
	}
	appendLog(t, p, logAt(lo, control.StateRejected, time.Now(), nil))
	// alice from lo on (answered: seen, not handed on); bob from b2's block.
	page := readPage(t, p, control.ReadFrom{Floor: place[b[0]].Block, Marks: map[string]control.ReadMark{"alice": place[lo]}})
	if got, want := seenOf(page, "alice"), []control.ReadMark{place[lo], place[hi]}; !slices.Equal(got, want) {
		t.Errorf("alice's rows seen %+v; want %+v (from her mark on)", got, want)
	}
	if got := seenOf(page, "bob"); !slices.Equal(got, []control.ReadMark{place[b[0]]}) {
		t.Errorf("bob's rows seen %+v; want %+v (from the floor on)", got, place[b[0]])
	}
	if got := ids(page.Pending); !slices.Equal(got, []string{hi, b[0]}) {
		t.Errorf("pending %v; want %v (%s is answered)", got, []string{hi, b[0]}, lo)
	}
	if page := readPage(t, p, control.ReadFrom{Full: true}); len(page.Seen) != 4 || slices.Contains(ids(page.Pending), lo) {
		t.Errorf("a full read saw %d rows, pending %v; want 4, without the answered one", len(page.Seen), ids(page.Pending))
	}
	c := insertAs(t, p, "r1", control.Request{Database: "c1"})
	after := control.ReadMark{Block: place[hi].Block, Offset: place[hi].Offset + 1}
	page = readPage(t, p, control.ReadFrom{Floor: full.LastBlock + 1, Marks: map[string]control.ReadMark{"alice": after}})
	if got := ids(page.Pending); !slices.Equal(got, []string{c[0]}) || len(page.Seen) != 1 || page.LastBlock <= full.LastBlock {
		t.Errorf("after the last block: pending %v, %d seen, last block %d; want only %s, last block past %d", got, len(page.Seen),
			page.LastBlock, c[0], full.LastBlock)
	}
}

// testReadBounds: a read from marks takes PendingPerRequester rows of a
// requester at most, from its mark, answered or not; a full read finds a
// requester's unanswered row behind more answered rows than that.
func testReadBounds(t *testing.T, p Plane) {
	flood := make([]control.Request, control.PendingPerRequester+10)
	for i := range flood {
		flood[i] = control.Request{Database: "shop"}
	}
	insertAs(t, p, "mallory", flood...)
	alice := insertAs(t, p, "alice", control.Request{Database: "shop"})
	first := readPage(t, p, control.ReadFrom{})
	if n := len(seenOf(first, "mallory")); n != control.PendingPerRequester || len(seenOf(first, "alice")) != 1 {
		t.Fatalf("mallory has %d rows in the read, alice %d; want %d and 1", n, len(seenOf(first, "alice")), control.PendingPerRequester)
	}
	var answers []control.LogEntry
	answered := map[string]bool{}
	for _, r := range first.Pending {
		if r.RequestedBy == "mallory" {
			answers, answered[r.ID] = append(answers, logAt(r.ID, control.StateRejected, time.Now(), nil)), true
		}
	}
	appendLog(t, p, answers...)
	last := first.Seen[len(first.Seen)-2].Mark // mallory's last row read
	next := readPage(t, p, control.ReadFrom{Marks: map[string]control.ReadMark{"mallory": {Block: last.Block, Offset: last.Offset + 1}}})
	if n := len(seenOf(next, "mallory")); n != 10 || len(next.Pending) != 11 {
		t.Errorf("mallory's rows after her mark: %d seen, %d pending in all; want 10 and 11 with alice's", n, len(next.Pending))
	}
	again := readPage(t, p, control.ReadFrom{})
	if n := len(seenOf(again, "mallory")); n != control.PendingPerRequester || !slices.Equal(ids(again.Pending), alice) {
		t.Errorf("from the start: %d of mallory's rows seen, pending %v; want her %d answered rows and alice's alone",
			n, ids(again.Pending), control.PendingPerRequester)
	}
	full := readPage(t, p, control.ReadFrom{Full: true})
	if n := len(seenOf(full, "mallory")); n != 10 || len(full.Pending) != 11 {
		t.Errorf("a full read: %d of mallory's rows seen, %d pending; want her 10 unanswered, and alice's", n, len(full.Pending))
	}
	for _, r := range full.Pending {
		if answered[r.ID] {
			t.Errorf("a full read hands on %s, answered", r.ID)
		}
	}
}

// testReadReusedID: a row reusing an id is seen where its requester's rows
// are read, never handed on, and never hands on the first row of the id in
// its place: that is read where its own requester's rows are.
func testReadReusedID(t *testing.T, p Plane) {
	id := uuid.NewString()
	insertAs(t, p, "alice", control.Request{ID: id, Database: "shop"})
	insertAs(t, p, "mallory", control.Request{ID: id, Database: "mallory_db"}, control.Request{Database: "mallory_db"})
	full := readPage(t, p, control.ReadFrom{Full: true})
	if len(full.Pending) != 2 || full.Pending[0].ID != id || full.Pending[0].RequestedBy != "alice" || full.Pending[0].Logins != 2 {
		t.Fatalf("pending %+v; want alice's %s (2 logins) and mallory's other row", full.Pending, id)
	}
	alice := full.Pending[0].Mark
	page := readPage(t, p, control.ReadFrom{Floor: alice.Block, Marks: map[string]control.ReadMark{"alice": {Block: alice.Block, Offset: alice.Offset + 1}}})
	if len(seenOf(page, "mallory")) != 2 || len(page.Pending) != 1 || page.Pending[0].ID == id {
		t.Errorf("read past alice's row: mallory's rows seen %+v, pending %+v; want both seen, only her own id handed on",
			seenOf(page, "mallory"), ids(page.Pending))
	}
}
