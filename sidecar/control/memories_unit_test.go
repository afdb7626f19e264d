package control

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestForeignRequestsAreForgottenWithoutAnAnswerHere (issue 27): a
// request another sidecar claimed is remembered until its time to be
// left alone is up; once answered there it is never read pending again,
// so the poll loop forgets it, even on a sidecar that answers nothing
// itself (it grew by every request the other sidecar won, for good).
func TestForeignRequestsAreForgottenWithoutAnAnswerHere(t *testing.T) {
	s := newUnitSidecar("a", nil, nil)
	now := time.Now()
	s.base.now = func() time.Time { return now }
	for i := range 100 {
		s.markForeign(fmt.Sprint("won-elsewhere-", i), now.Add(foreignFor))
	}
	s.markForeign("still-held", now.Add(time.Hour))
	now = now.Add(foreignFor + endedPruneEvery + time.Second)
	pruneMemories(s)
	if len(s.foreign) != 1 {
		t.Fatalf("%d foreign requests remembered after their time was up, want only the one still held", len(s.foreign))
	}
	if _, ok := s.foreign["still-held"]; !ok {
		t.Fatal("a request still held elsewhere was forgotten before its time")
	}
}

// TestAFloodsMemoryIsGivenBack (issue 27): after a flood of requests
// ended here, their memory is forgotten after endedMemory, and the map
// that held them is rebuilt, so the heap goes back near where it was (a
// Go map keeps the buckets it grew to: 12 MB after 180,000 ids).
func TestAFloodsMemoryIsGivenBack(t *testing.T) {
	s := newUnitSidecar("a", nil, nil)
	now := time.Now()
	s.base.now = func() time.Time { return now }
	before := heapInUse()
	for i := range 200_000 {
		s.markEnded(fmt.Sprintf("%036d", i))
	}
	flooded := heapInUse()
	now = now.Add(endedMemory + endedPruneEvery + time.Second)
	s.markEnded("the next request")
	after := heapInUse()
	if len(s.ended) != 1 {
		t.Fatalf("%d ended requests remembered past endedMemory, want 1", len(s.ended))
	}
	if grew, kept := flooded-before, after-before; grew < 8<<20 || kept > grew/4 {
		t.Fatalf("the flood grew the heap by %d KiB and %d KiB of it is still held; want under a quarter", grew>>10, kept>>10)
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestARequestEndedDuringASlowReadIsNotForgotten: a read of pending
// requests that began before a request's answer and hands it on minutes
// later (a server under load) finds it still remembered as ended, and
// does not run it again (it was forgotten endedMemory after its answer,
// whatever the read under way).
func TestARequestEndedDuringASlowReadIsNotForgotten(t *testing.T) {
	s := newUnitSidecar("a", nil, nil)
	now := time.Now()
	s.base.now = func() time.Time { return now }
	setReadingSince(s, now)
	now = now.Add(time.Second)
	s.markEnded("answered-during-the-read")
	now = now.Add(5 * time.Minute) // the read is still under way
	pruneMemories(s)
	if s.dispatchable("answered-during-the-read") {
		t.Fatal("a request answered during a read still under way was forgotten: the read would hand it on again")
	}
	setReadingSince(s, time.Time{})
	now = now.Add(endedPruneEvery + time.Second)
	pruneMemories(s)
	if !s.dispatchable("answered-during-the-read") {
		t.Fatal("a request ended over endedMemory ago, with no read under way, is still remembered")
	}
}
