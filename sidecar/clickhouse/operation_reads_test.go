package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
)

// heldReads is a system.backups on heldRuns: its first read waits until
// released, each read's ids are recorded, and a read fails as the runs
// do; an id "gone" is not found.
type heldReads struct{ *heldRuns }

func newHeldReads(err error) *heldReads {
	h := &heldReads{&heldRuns{release: make(chan struct{})}}
	if err != nil {
		h.failWith(func([]string) error { return err })
	}
	return h
}

func (h *heldReads) read(ctx context.Context, ids []string) ([]sidecar.Operation, error) {
	if _, err := h.run(ctx, ids); err != nil {
		return nil, err
	}
	var out []sidecar.Operation
	for _, id := range ids {
		if id != "gone" {
			out = append(out, sidecar.Operation{ID: id, Name: "backup of " + id})
		}
	}
	return out, nil
}

func (h *heldReads) reads() string { return fmt.Sprint(h.seen()) }

// readAnswer is what one read of an operation returned.
type readAnswer struct {
	op  sidecar.Operation
	err error
}

// readAsync reads operation id in a goroutine; the channel gets the answer.
func readAsync(ctx context.Context, r *operationReads, id string) chan readAnswer {
	got := make(chan readAnswer, 1)
	go func() {
		op, err := r.read(ctx, id)
		got <- readAnswer{op, err}
	}()
	return got
}

func answerOf(t *testing.T, got chan readAnswer) readAnswer {
	t.Helper()
	return within10s(t, "a read", got)
}

// TestOperationReadsShareOneRead: the waits that ask while a read of
// system.backups is in flight are read together, in one read right after
// it, each given its own operation; one whose context ends meanwhile
// holds up none of the others, and an id the read does not find is not
// found.
func TestOperationReadsShareOneRead(t *testing.T) {
	h := newHeldReads(nil)
	r := newOperationReads(h.read)
	answers := map[string]chan readAnswer{"a": readAsync(context.Background(), r, "a")}
	waitFor(t, "a's read to start", func() bool { return h.reads() == "[[a]]" })
	gone, leave := context.WithCancel(context.Background())
	answers["b"] = readAsync(gone, r, "b")
	waitFor(t, "b to join the next read", func() bool { return batched(r.batches) == 1 })
	for _, id := range []string{"c", "d", "gone"} {
		answers[id] = readAsync(context.Background(), r, id)
	}
	waitFor(t, "c, d and gone to join the next read", func() bool { return batched(r.batches) == 4 })
	leave() // b's wait ends; its batch must still be read for c and d
	if a := answerOf(t, answers["b"]); !errors.Is(a.err, context.Canceled) {
		t.Errorf("read whose context ended: %+v, %v; want canceled at once", a.op, a.err)
	}
	close(h.release)
	for _, id := range []string{"a", "c", "d"} {
		if a := answerOf(t, answers[id]); a.err != nil || a.op.Name != "backup of "+id {
			t.Errorf("read %s: %+v, %v", id, a.op, a.err)
		}
	}
	if a := answerOf(t, answers["gone"]); !errors.Is(a.err, sidecar.ErrNotFound) {
		t.Errorf("read of an operation system.backups does not have: %v, want ErrNotFound", a.err)
	}
	if got := h.reads(); got != "[[a] [b c d gone]]" {
		t.Errorf("reads of system.backups: %s, want [[a] [b c d gone]]: the asks made during a read are one read after it", got)
	}
}

// TestOperationReadsFailTogether: a read that fails fails every wait in
// it, each naming its own operation; the next read is made afresh.
func TestOperationReadsFailTogether(t *testing.T) {
	h := newHeldReads(errors.New("code: 999, message: the server is busy"))
	r := newOperationReads(h.read)
	first := readAsync(context.Background(), r, "a")
	waitFor(t, "a's read to start", func() bool { return h.reads() == "[[a]]" })
	b, c := readAsync(context.Background(), r, "b"), readAsync(context.Background(), r, "c")
	waitFor(t, "b and c to join the next read", func() bool { return batched(r.batches) == 2 })
	close(h.release)
	for id, got := range map[string]chan readAnswer{"a": first, "b": b, "c": c} {
		a := answerOf(t, got)
		if a.err == nil || !strings.Contains(a.err.Error(), "read operation "+id+":") || !strings.Contains(a.err.Error(), "the server is busy") {
			t.Errorf("read %s of a failed read: %v, want it to name %s and the server's error", id, a.err, id)
		}
	}
	h.failWith(nil)
	if a := answerOf(t, readAsync(context.Background(), r, "a")); a.err != nil || a.op.ID != "a" {
		t.Fatalf("the read after a failed one: %+v, %v", a.op, a.err)
	}
}
