package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestBatchesRetryAloneWhatOthersFailed: the writes made while one is in
// flight go in one run after it; when that run fails, each caller's items
// are written again alone, so only the caller whose item the server
// refuses fails, and a caller alone in a failed run is not tried twice.
func TestBatchesRetryAloneWhatOthersFailed(t *testing.T) {
	var mu sync.Mutex
	var runs [][]string
	release := make(chan struct{})
	b := newBatches(func(_ context.Context, items []string) (struct{}, error) {
		mu.Lock()
		runs = append(runs, slices.Clone(items))
		first := len(runs) == 1
		mu.Unlock()
		if first {
			<-release
		}
		if slices.Contains(items, "poison") {
			return struct{}{}, errors.New("code: 36, message: unknown state")
		}
		return struct{}{}, nil
	})
	done := map[string]chan error{}
	write := func(item string) {
		got := make(chan error, 1)
		done[item] = got
		go func() {
			_, err := b.doOrAlone(context.Background(), item)
			got <- err
		}()
	}
	write("held")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(runs)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first write did not start within 10 s")
		}
	}
	for _, item := range []string{"ok1", "poison", "ok2"} {
		write(item)
	}
	for deadline := time.Now().Add(10 * time.Second); batched(b) < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 writes joined the next run within 10 s", batched(b))
		}
	}
	close(release)
	for _, item := range []string{"held", "ok1", "ok2"} {
		if err := <-done[item]; err != nil {
			t.Errorf("write %s, in a run another caller's item failed: %v, want it written alone", item, err)
		}
	}
	if err := <-done["poison"]; err == nil {
		t.Error("the refused item's write succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(runs[1]) // the writes joined in whatever order their goroutines ran
	if got := fmt.Sprint(runs[:2]); got != "[[held] [ok1 ok2 poison]]" {
		t.Errorf("runs %v, want [[held] [ok1 ok2 poison]] first", runs)
	}
	slices.SortFunc(runs[2:], func(a, b []string) int { return slices.Compare(a, b) })
	if got := fmt.Sprint(runs[2:]); got != "[[ok1] [ok2] [poison]]" {
		t.Errorf("runs after the failed batch %v, want each of its items alone, once", runs[2:])
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
