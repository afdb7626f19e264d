package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
)

// heldRuns is a run of batches that records each run's items (sorted);
// the first run waits until release is closed, and a run then fails with
// what failure says of its items (nil: none fails).
type heldRuns struct {
	mu      sync.Mutex
	runs    [][]string
	release chan struct{}
	failure func(items []string) error
}

// newHeldRuns fails a run with "poison" in it with fail.
func newHeldRuns(fail error) *heldRuns {
	return &heldRuns{release: make(chan struct{}), failure: func(items []string) error {
		if slices.Contains(items, "poison") {
			return fail
		}
		return nil
	}}
}

// failWith makes the runs from now on fail as failure says.
func (h *heldRuns) failWith(failure func(items []string) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failure = failure
}

func (h *heldRuns) run(ctx context.Context, items []string) (struct{}, error) {
	h.mu.Lock()
	h.runs = append(h.runs, slices.Sorted(slices.Values(items)))
	first := len(h.runs) == 1
	h.mu.Unlock()
	if first {
		select {
		case <-h.release:
		case <-ctx.Done():
			return struct{}{}, ctx.Err()
		}
	}
	h.mu.Lock()
	failure := h.failure
	h.mu.Unlock()
	if failure != nil {
		return struct{}{}, failure(items)
	}
	return struct{}{}, nil
}

func (h *heldRuns) seen() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.runs)
}

// writeAsync calls doOrAlone(item) in a goroutine; the channel gets its error.
func writeAsync(ctx context.Context, b *batches[string, struct{}], item string) chan error {
	got := make(chan error, 1)
	go func() {
		_, err := b.doOrAlone(ctx, item)
		got <- err
	}()
	return got
}

// holdFirstRun starts a write of "held" and returns once its run is in
// flight, with the channel of its outcome.
func holdFirstRun(t *testing.T, b *batches[string, struct{}], h *heldRuns) chan error {
	t.Helper()
	got := writeAsync(context.Background(), b, "held")
	waitFor(t, "the first run to start", func() bool { return len(h.seen()) == 1 })
	return got
}

// waitFor waits until ok holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// outcome is what a write's channel says within 10 s.
func outcome(t *testing.T, got chan error) error {
	t.Helper()
	return within10s(t, "a write", got)
}

// within10s is what got says within 10 s (what: whose it is).
func within10s[T any](t *testing.T, what string, got chan T) T {
	t.Helper()
	select {
	case v := <-got:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return within 10 s", what)
		var none T
		return none
	}
}

// TestBatchesRetryAloneWhatTheServerRefused: the writes made while one is
// in flight go in one run after it; when ClickHouse refuses that run, each
// caller's items are written again alone, so only the caller whose item it
// refuses fails; a caller alone in a refused run is not tried twice.
func TestBatchesRetryAloneWhatTheServerRefused(t *testing.T) {
	h := newHeldRuns(fmt.Errorf("code: 36, message: unknown state: %w", sidecar.ErrRefused))
	b := newBatches(h.run)
	held := holdFirstRun(t, b, h)
	writes := map[string]chan error{}
	for _, item := range []string{"ok1", "poison", "ok2"} {
		writes[item] = writeAsync(context.Background(), b, item)
	}
	waitFor(t, "three writes to join the next run", func() bool { return batched(b) == 3 })
	close(h.release)
	for _, item := range []string{"ok1", "ok2"} {
		if err := outcome(t, writes[item]); err != nil {
			t.Errorf("write %s, in a run another caller's item was refused in: %v, want it written alone", item, err)
		}
	}
	if err := outcome(t, writes["poison"]); !errors.Is(err, sidecar.ErrRefused) {
		t.Errorf("the refused item's write: %v, want the refusal", err)
	}
	if err := outcome(t, held); err != nil {
		t.Errorf("the first write: %v", err)
	}
	runs := h.seen()
	slices.SortFunc(runs[2:], slices.Compare)
	if got := fmt.Sprint(runs); got != "[[held] [ok1 ok2 poison] [ok1] [ok2] [poison]]" {
		t.Errorf("runs %s, want [[held] [ok1 ok2 poison]] then each of its items alone, once", got)
	}
	if err := outcome(t, writeAsync(context.Background(), b, "poison")); !errors.Is(err, sidecar.ErrRefused) || len(h.seen()) != 6 {
		t.Errorf("a refused write alone: %v after %d runs in all, want the refusal after one more run (6)", err, len(h.seen()))
	}
}

// TestBatchesDoNotWriteAgainWhatMayHaveLanded: a run that failed other
// than by the server's refusal (a lost connection, a timeout) may have
// been stored: no caller writes its items again.
func TestBatchesDoNotWriteAgainWhatMayHaveLanded(t *testing.T) {
	h := newHeldRuns(errors.New("read tcp: connection reset by peer"))
	b := newBatches(h.run)
	held := holdFirstRun(t, b, h)
	one, two := writeAsync(context.Background(), b, "poison"), writeAsync(context.Background(), b, "ok")
	waitFor(t, "two writes to join the next run", func() bool { return batched(b) == 2 })
	close(h.release)
	for _, got := range []chan error{one, two} {
		if err := outcome(t, got); err == nil {
			t.Error("a write of the failed run succeeded")
		}
	}
	_ = outcome(t, held)
	if n := len(h.seen()); n != 2 {
		t.Errorf("%d runs, want 2: the failed run's items were written again", n)
	}
}

// TestBatchesCallerGoesAtOnce: a caller whose context ends while it waits
// for its run returns at once, and the run of a batch every caller left
// is never sent.
func TestBatchesCallerGoesAtOnce(t *testing.T) {
	h := newHeldRuns(nil)
	b := newBatches(h.run)
	held := holdFirstRun(t, b, h)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := b.doOrAlone(ctx, "late"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("a write whose deadline passed while the run before it was held: %v after %s, want its deadline at once", err, time.Since(start))
	}
	close(h.release)
	if err := outcome(t, held); err != nil {
		t.Errorf("the held write: %v", err)
	}
	if err := outcome(t, writeAsync(context.Background(), b, "next")); err != nil {
		t.Errorf("the write after: %v", err)
	}
	if got := fmt.Sprint(h.seen()); got != "[[held] [next]]" {
		t.Errorf("runs %s, want [[held] [next]]: the left caller's item was sent", got)
	}
}

// batched is how many items the next run has so far.
func batched[In, Out any](b *batches[In, Out]) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next == nil {
		return 0
	}
	return len(b.next.items)
}
