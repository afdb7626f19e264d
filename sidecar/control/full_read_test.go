package control

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// fullReadPlane answers full reads, counting them.
type fullReadPlane struct {
	ControlPlane
	reads atomic.Int32
	err   error
}

func (p *fullReadPlane) PendingAfter(_ context.Context, from ReadFrom) (ReadPage, error) {
	if !from.Full {
		return ReadPage{}, errors.New("not a full read")
	}
	p.reads.Add(1)
	return ReadPage{LastBlock: 7}, p.err
}

// TestFullReadsOneAtATime: a full read runs beside the loop, one at a
// time, every fullRescanEvery; one that failed is tried again after
// fullRetryAfter.
func TestFullReadsOneAtATime(t *testing.T) {
	cp := &fullReadPlane{}
	var f fullReads
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.start(context.Background(), cp, t0, t0)
	f.start(context.Background(), cp, t0.Add(fullRescanEvery), t0) // one runs already
	f.wait()
	p, ok := f.done(t0.Add(time.Second))
	if !ok || p.err != nil || p.page.LastBlock != 7 || cp.reads.Load() != 1 {
		t.Fatalf("first full read: %+v, %v; %d reads", p, ok, cp.reads.Load())
	}
	if _, ok := f.done(t0.Add(time.Second)); ok {
		t.Fatal("a page taken twice")
	}
	f.start(context.Background(), cp, t0.Add(fullRescanEvery-time.Second), t0) // not due yet
	cp.err = errors.New("refused")
	f.start(context.Background(), cp, t0.Add(fullRescanEvery), t0)
	f.wait()
	failedAt := t0.Add(fullRescanEvery + time.Second)
	if p, ok := f.done(failedAt); !ok || p.err == nil || cp.reads.Load() != 2 {
		t.Fatalf("second full read: %+v, %v; %d reads (want 2: none before it was due)", p, ok, cp.reads.Load())
	}
	if f.start(context.Background(), cp, failedAt.Add(fullRetryAfter-time.Second), t0); f.running {
		t.Error("a failed full read tried again before fullRetryAfter")
	}
	if f.start(context.Background(), cp, failedAt.Add(fullRetryAfter), t0); !f.running {
		t.Error("a failed full read not tried again after fullRetryAfter")
	}
	f.wait()
}
