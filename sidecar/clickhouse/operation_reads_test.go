package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
)

// heldReads is a system.backups whose reads wait until released; it
// records the ids of each read.
type heldReads struct {
	mu      sync.Mutex
	batches [][]string
	started chan struct{} // a read began
	release chan struct{}
	err     error
}

func newHeldReads() *heldReads {
	return &heldReads{started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (h *heldReads) read(ctx context.Context, ids []string) ([]sidecar.Operation, error) {
	h.mu.Lock()
	h.batches = append(h.batches, slices.Sorted(slices.Values(ids)))
	h.mu.Unlock()
	h.started <- struct{}{}
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if h.err != nil {
		return nil, h.err
	}
	var out []sidecar.Operation
	for _, id := range ids {
		if id != "gone" {
			out = append(out, sidecar.Operation{ID: id, Name: "backup of " + id})
		}
	}
	return out, nil
}

// TestOperationReadsShareOneRead: the waits that ask while a read of
// system.backups is in flight are read together, in one read right after
// it, each given its own operation; one whose context ends meanwhile
// holds up none of the others, and an id the read does not find is not
// found.
func TestOperationReadsShareOneRead(t *testing.T) {
	h := newHeldReads()
	r := newOperationReads(h.read)
	type answer struct {
		op  sidecar.Operation
		err error
	}
	answers := make(map[string]chan answer)
	ask := func(ctx context.Context, id string) {
		got := make(chan answer, 1)
		answers[id] = got
		go func() {
			op, err := r.read(ctx, id)
			got <- answer{op, err}
		}()
	}
	ask(context.Background(), "a")
	<-h.started // a's read is in flight
	gone, leave := context.WithCancel(context.Background())
	ask(gone, "b") // the first of the next batch: it sends it
	for _, id := range []string{"c", "d", "gone"} {
		ask(context.Background(), id)
	}
	for deadline := time.Now().Add(10 * time.Second); batched(r.batches) < 4; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of b, c, d and gone joined the next read in 10 s", batched(r.batches))
		}
	}
	leave() // b's wait ends; its batch must still be read for c and d
	close(h.release)
	want := map[string]string{"a": "backup of a", "c": "backup of c", "d": "backup of d"}
	for id, name := range want {
		if a := <-answers[id]; a.err != nil || a.op.Name != name {
			t.Errorf("read %s: %+v, %v; want %q", id, a.op, a.err, name)
		}
	}
	if a := <-answers["gone"]; !errors.Is(a.err, sidecar.ErrNotFound) {
		t.Errorf("read of an operation system.backups does not have: %v, want ErrNotFound", a.err)
	}
	// b sent the batch: it may see it done before it sees its context end.
	if a := <-answers["b"]; !errors.Is(a.err, context.Canceled) && a.op.Name != "backup of b" {
		t.Errorf("read whose context ended: %+v, %v; want canceled or its operation", a.op, a.err)
	}
	if fmt.Sprint(h.batches) != "[[a] [b c d gone]]" {
		t.Errorf("reads of system.backups: %v, want [[a] [b c d gone]]: the asks made during a read are one read after it", h.batches)
	}
}

// TestOperationReadsFailTogether: a read that fails fails every wait in
// it, each naming its operation; the next read is made afresh.
func TestOperationReadsFailTogether(t *testing.T) {
	h := newHeldReads()
	r := newOperationReads(h.read)
	h.err = errors.New("code: 999, message: the server is busy")
	close(h.release)
	if _, err := r.read(context.Background(), "a"); err == nil || !strings.Contains(err.Error(), "read operation a") ||
		!strings.Contains(err.Error(), "the server is busy") {
		t.Fatalf("a failed read: %v, want it to name the operation and the server's error", err)
	}
	h.err = nil
	if op, err := r.read(context.Background(), "a"); err != nil || op.ID != "a" {
		t.Fatalf("the read after a failed one: %+v, %v", op, err)
	}
}
