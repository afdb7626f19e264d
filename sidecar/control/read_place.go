package control

import "time"

// Reading requests on from where the last read stopped.
//
// A full read of the pending requests (every row of the retention whose id
// has no terminal answer) costs a scan of both tables: after one INSERT of
// millions of junk rows, seconds, and the junk is answered a few hundred
// rows per read. So only every fullRescanEvery is a read full; in between
// the sidecar reads on from a place in the table's insert order. The server
// numbers each INSERT's block as it commits it (_block_number, under the
// table's parts lock: a read that sees block n sees every block before it)
// and each row's place in its block (_block_offset); both are kept on the
// row across merges (sql/016, sql/017), and no INSERT sets them.
//
// Each requester has a mark: all of their rows before it are answered (or
// ignored: an id someone used first), so a read takes their rows from the
// mark on, PendingPerRequester at most. A requester without a mark is read
// from the floor, below which every such requester's rows are answered.
// After a read the mark moves over the rows that have been answered since
// (here or by another sidecar), and stops at the first that has not: a row
// waiting for its confirmation, for a worker, or for a retry. So one
// requester's flood is read in slices of its own, from where the last
// stopped, and never more than a slice of it per read.

// ReadMark is a row's place in the insert order of the requests table.
type ReadMark struct {
	Block  uint64 // the INSERT's block (_block_number)
	Offset uint64 // the row's place in it (_block_offset)
}

// Before reports whether m comes before o in insert order.
func (m ReadMark) Before(o ReadMark) bool {
	return m.Block < o.Block || (m.Block == o.Block && m.Offset < o.Offset)
}

// next is the place right after m.
func (m ReadMark) next() ReadMark { return ReadMark{Block: m.Block, Offset: m.Offset + 1} }

// ReadFrom says which rows a read of pending requests takes in.
type ReadFrom struct {
	// Since: no row made before it (the retention).
	Since time.Time
	// Full takes in the rows whose id has no terminal answer, from the
	// start of the retention, and ignores Floor and Marks.
	Full bool
	// Floor: a requester without a mark is read from block Floor on.
	Floor uint64
	// Marks: a requester with a mark is read from the mark on (inclusive).
	Marks map[string]ReadMark
}

// SeenRow is a row a read took in.
type SeenRow struct {
	RequestedBy string
	Mark        ReadMark
}

// ReadPage is what one read found.
type ReadPage struct {
	// Seen are the rows the read took in, in insert order: at most
	// PendingPerRequester of a requester (the first from where they are
	// read) and PendingPerRead in all. A full read takes in only rows
	// whose id has no terminal answer; a read from marks takes in rows
	// whatever their answer.
	Seen []SeenRow
	// Pending are those seen that are requests to hand on: the first row
	// inserted with its id, without a terminal answer. Each has its Mark.
	Pending []PendingRequest
	// LastBlock is the highest block of the table when the read began: the
	// read saw every row of every block up to it.
	LastBlock uint64
}

// readPlace is where the next read of requests starts, kept by the poll
// loop alone. The page of the last read is settled right before the next
// read, not right after it: the junk it handed on has been answered by
// then, and the marks move over it.
type readPlace struct {
	floor uint64
	marks map[string]ReadMark
	last  ReadPage // the last read's page
	// unsettled: last has not been settled yet.
	unsettled bool
}

// from is the next read: full, or on from the place.
func (p *readPlace) from(since time.Time, full bool) ReadFrom {
	if full {
		return ReadFrom{Since: since, Full: true}
	}
	marks := make(map[string]ReadMark, len(p.marks))
	for login, m := range p.marks {
		marks[login] = m
	}
	return ReadFrom{Since: since, Floor: p.floor, Marks: marks}
}

// saw records a read's page. A full read starts the place over: every
// row it did not take in is answered.
func (p *readPlace) saw(page ReadPage, full bool) {
	if full {
		p.floor, p.marks = 0, map[string]ReadMark{}
	}
	p.last, p.unsettled = page, true
}

// settle moves the place over the last page: done tells whether a row it
// handed on needs no more reading (answered here).
func (p *readPlace) settle(done func(id string) bool) {
	if !p.unsettled {
		return
	}
	page := p.last
	p.last, p.unsettled = ReadPage{}, false
	if p.marks == nil {
		p.marks = map[string]ReadMark{}
	}
	pending := make(map[ReadMark]string, len(page.Pending))
	for _, r := range page.Pending {
		pending[r.Mark] = r.ID
	}
	seen, held := map[string]int{}, map[string]bool{}
	for _, s := range page.Seen {
		seen[s.RequestedBy]++
		if held[s.RequestedBy] {
			continue
		}
		if id, ok := pending[s.Mark]; ok && !done(id) {
			p.marks[s.RequestedBy], held[s.RequestedBy] = s.Mark, true
			continue
		}
		p.marks[s.RequestedBy] = s.Mark.next()
	}
	if len(page.Seen) >= PendingPerRead {
		// Cut at the bound: a requester with no row in the page has none
		// before its last row, and may have some after.
		p.floor = max(p.floor, page.Seen[len(page.Seen)-1].Mark.Block)
		return
	}
	// Every requester's rows up to LastBlock were in the page, but for
	// those cut at PendingPerRequester: the others' marks can go.
	p.floor = max(p.floor, page.LastBlock+1)
	for login := range p.marks {
		if !held[login] && seen[login] < PendingPerRequester {
			delete(p.marks, login)
		}
	}
}

// cutAndMoving reports whether a page was cut at a bound (more rows wait)
// and whether settling it will move the place (some row it saw is not
// pending), or hand on something new.
func (page ReadPage) cutAndMoving() (cut, moving bool) {
	per := map[string]int{}
	for _, s := range page.Seen {
		if per[s.RequestedBy]++; per[s.RequestedBy] >= PendingPerRequester {
			cut = true
		}
	}
	return cut || len(page.Seen) >= PendingPerRead, len(page.Seen) > len(page.Pending)
}
