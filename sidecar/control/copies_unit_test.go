package control

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

type scriptedCopier struct {
	reports []sidecar.CopyReport
	errs    []error
	asked   []string
}

func (s *scriptedCopier) Copy(_ context.Context, _ sidecar.CopyTarget, database string) (sidecar.CopyReport, error) {
	s.asked = append(s.asked, database)
	rep, err := s.reports[0], s.errs[0]
	s.reports, s.errs = s.reports[1:], s.errs[1:]
	return rep, err
}

type lagRecorder struct{ lags []time.Time }

func (l *lagRecorder) CopyFinished(_, _ string, newestPending time.Time) {
	l.lags = append(l.lags, newestPending)
}

// TestCopyRoundsTellTheLag: a round that copied everything says 0; one
// that left backups, the newest of them; one that could not reach the
// target, the primary's newest backup when no round copied it, and
// nothing when one did; one that could not read the primary, nothing; one
// that failed nowhere yet left something pending (on a cluster node, a set
// another shard's node has not copied), that; and one that failed with
// nothing of its own pending but such a set (the sets' records could not
// be copied), that set.
func TestCopyRoundsTellTheLag(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	down := errors.New("target unreachable")
	copier := &scriptedCopier{
		reports: []sidecar.CopyReport{{Newest: t0}, {Newest: t0}, {Newest: t1}, {Newest: t2, Pending: []model.Backup{{}}, NewestPending: t2}, {},
			{Newest: t2, NewestPending: t1}, {Newest: t2, NewestPending: t0}},
		errs: []error{nil, down, down, down, down, nil, down},
	}
	lags := &lagRecorder{}
	c := NewCopies(copier, []sidecar.CopyTarget{{Name: "dr"}}, []string{"shop"}, time.Hour, lags, slog.New(slog.DiscardHandler))
	for range 7 {
		c.round(context.Background())
	}
	want := []time.Time{{}, t1, t2, t1, t0}
	if len(lags.lags) != len(want) {
		t.Fatalf("lags told: %v, want %v", lags.lags, want)
	}
	for i := range want {
		if !lags.lags[i].Equal(want[i]) {
			t.Fatalf("lags told: %v, want %v", lags.lags, want)
		}
	}
}

// TestCopyRoundsTakeTheDatabasesBackedUp: a backup of a database outside
// the configured ones adds it to the rounds, and asking twice for a round
// never blocks.
func TestCopyRoundsTakeTheDatabasesBackedUp(t *testing.T) {
	copier := &scriptedCopier{reports: make([]sidecar.CopyReport, 2), errs: make([]error, 2)}
	c := NewCopies(copier, []sidecar.CopyTarget{{Name: "dr"}}, []string{"shop"}, time.Hour, &lagRecorder{}, slog.New(slog.DiscardHandler))
	c.BackupCompleted("other")
	c.BackupCompleted("other")
	c.round(context.Background())
	if len(copier.asked) != 2 || copier.asked[1] != "other" {
		t.Fatalf("databases copied: %v", copier.asked)
	}
}
