package control

import (
	"fmt"
	"testing"
	"time"
)

// testPage is a read's page: rows of (login, block, offset, id); an id "" is a
// row seen but not pending (answered, or reusing an id).
func testPage(last uint64, rows ...seenTestRow) ReadPage {
	page := ReadPage{LastBlock: last}
	for _, r := range rows {
		m := ReadMark{Block: r.block, Offset: r.offset}
		page.Seen = append(page.Seen, SeenRow{RequestedBy: r.login, Mark: m})
		if r.id != "" {
			page.Pending = append(page.Pending, PendingRequest{Request: Request{ID: r.id, RequestedBy: r.login}, Mark: m})
		}
	}
	return page
}

type seenTestRow struct {
	login         string
	block, offset uint64
	id            string
}

func doneIn(ids ...string) func(string) bool {
	set := map[string]bool{}
	for _, id := range ids {
		set[id] = true
	}
	return func(id string) bool { return set[id] }
}

// TestReadPlaceMovesOverAnswered: a mark moves over the rows answered
// (not pending, or answered here since) and stops at the first row still
// pending; once a requester is read to the end its mark goes, and the
// floor is past the last block the read saw.
func TestReadPlaceMovesOverAnswered(t *testing.T) {
	var p readPlace
	p.saw(testPage(9, seenTestRow{"alice", 3, 0, ""}, seenTestRow{"alice", 3, 1, "a1"}, seenTestRow{"alice", 5, 0, "a2"},
		seenTestRow{"bob", 4, 0, "b1"}), true)
	p.settle(doneIn("a1", "b1"))
	if got, want := p.marks["alice"], (ReadMark{5, 0}); got != want {
		t.Errorf("alice's mark %+v; want %+v (a2 still pending)", got, want)
	}
	if _, ok := p.marks["bob"]; ok || p.floor != 10 {
		t.Errorf("bob's mark %+v, floor %d; want no mark (read to the end) and the floor past block 9", p.marks["bob"], p.floor)
	}
	from := p.from(testSince, false)
	if from.Full || from.Floor != 10 || len(from.Marks) != 1 || from.Marks["alice"] != (ReadMark{5, 0}) {
		t.Errorf("next read %+v", from)
	}
	p.settle(doneIn()) // nothing read since: the place stays
	if p.floor != 10 || p.marks["alice"] != (ReadMark{5, 0}) {
		t.Errorf("settling twice moved the place: floor %d, marks %+v", p.floor, p.marks)
	}
}

// TestReadPlaceKeepsCutRequesters: a requester cut at PendingPerRequester
// goes on from right after its last row read; a read cut at PendingPerRead
// leaves the floor at its last block, where a requester with no row in it
// may still have rows, and keeps every mark.
func TestReadPlaceKeepsCutRequesters(t *testing.T) {
	var p readPlace
	var rows []seenTestRow
	for i := range PendingPerRequester {
		rows = append(rows, seenTestRow{"mallory", 2, uint64(i), fmt.Sprint("m", i)})
	}
	p.saw(testPage(7, rows...), false)
	p.settle(func(string) bool { return true })
	if got, want := p.marks["mallory"], (ReadMark{2, PendingPerRequester}); got != want || p.floor != 8 {
		t.Errorf("mallory's mark %+v, floor %d; want %+v and 8", got, p.floor, want)
	}
	rows = rows[:0]
	for i := range PendingPerRead {
		rows = append(rows, seenTestRow{fmt.Sprint("r", i%(PendingPerRead/PendingPerRequester)), uint64(20 + i), 0, ""})
	}
	p.saw(testPage(5000, rows...), false)
	p.settle(doneIn())
	if p.floor != uint64(20+PendingPerRead-1) {
		t.Errorf("floor %d after a read cut at PendingPerRead; want its last block %d", p.floor, 20+PendingPerRead-1)
	}
	if _, ok := p.marks["mallory"]; !ok {
		t.Error("mallory's mark went after a read cut at PendingPerRead, which may have stopped before her rows")
	}
}

// TestReadPlaceFullStartsOver: a full read forgets every mark: a requester
// it saw nothing of has every row answered.
func TestReadPlaceFullStartsOver(t *testing.T) {
	p := readPlace{floor: 3, marks: map[string]ReadMark{"alice": {1, 0}, "bob": {2, 5}}}
	if from := p.from(testSince, true); !from.Full || from.Marks != nil || !from.Since.Equal(testSince) {
		t.Errorf("full read %+v", from)
	}
	p.saw(testPage(4, seenTestRow{"bob", 4, 0, "b"}), true)
	p.settle(doneIn())
	if len(p.marks) != 1 || p.marks["bob"] != (ReadMark{4, 0}) || p.floor != 5 {
		t.Errorf("after a full read: marks %+v, floor %d; want bob's at his pending row, floor 5", p.marks, p.floor)
	}
}

// TestPageCutAndMoving: a page is cut when a requester has
// PendingPerRequester rows in it or it has PendingPerRead; it moves the
// place when it saw a row that is not pending.
func TestPageCutAndMoving(t *testing.T) {
	rows := []seenTestRow{{"alice", 1, 0, "a"}}
	if cut, moving := testPage(1, rows...).cutAndMoving(); cut || moving {
		t.Errorf("one pending row: cut %v, moving %v", cut, moving)
	}
	for i := range PendingPerRequester {
		rows = append(rows, seenTestRow{"mallory", 2, uint64(i), ""})
	}
	if cut, moving := testPage(2, rows...).cutAndMoving(); !cut || !moving {
		t.Errorf("a requester at the bound, answered rows: cut %v, moving %v", cut, moving)
	}
}

var testSince = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
