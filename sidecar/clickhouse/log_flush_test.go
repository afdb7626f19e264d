package clickhouse

import (
	"context"
	"errors"
	"testing"

	"github.com/ClickHouse/ch-go/proto"
)

// failingFlushes is a server whose every SYSTEM FLUSH LOGS fails; it
// counts them.
type failingFlushes struct{ n int }

func (f *failingFlushes) Exec(context.Context, string, ...proto.Parameter) error {
	f.n++
	return errors.New("Code: 497. DB::Exception: not enough privileges")
}

// TestViewsLogFlushedTwicePerIDAtMost: a query id whose views-log flush
// never succeeds costs flushesPerID flushes, not one per poll until the
// row's confirm_wait ends, and stays uncovered (its row is never judged on
// a log not shown flushed); a new id is owed its own.
func TestViewsLogFlushedTwicePerIDAtMost(t *testing.T) {
	server := &failingFlushes{}
	f := &viewsLogFlusher{logFlusher: logFlusher{name: "query_views_log"}}
	ctx := context.Background()
	for poll := 0; poll < 5; poll++ {
		if err := f.flush(ctx, server, []string{"q1"}); poll < flushesPerID && err == nil {
			t.Fatalf("poll %d: a failed flush reported no error", poll)
		}
	}
	if server.n != flushesPerID || f.isCovered("q1") {
		t.Fatalf("%d flushes for one id in 5 polls (want %d), covered %v (want false)", server.n, flushesPerID, f.isCovered("q1"))
	}
	_ = f.flush(ctx, server, []string{"q1", "q2"})
	if server.n != flushesPerID+1 {
		t.Fatalf("a new id beside a spent one: %d flushes in all, want %d", server.n, flushesPerID+1)
	}
}

// TestQueryLogFlushedTwicePerIDAtMost: the same bound for query_log.
func TestQueryLogFlushedTwicePerIDAtMost(t *testing.T) {
	server := &failingFlushes{}
	f := &queryLogFlusher{logFlusher: logFlusher{name: "query_log"}}
	for poll := 0; poll < 5; poll++ {
		_ = f.flush(context.Background(), server, []string{"q1"})
	}
	if server.n != flushesPerID {
		t.Fatalf("%d flushes for one id in 5 polls, want %d", server.n, flushesPerID)
	}
}
