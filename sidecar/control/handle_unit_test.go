package control

import (
	"context"
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// TestOnlyAnOperationIsAdopted: after a restart a request is taken over
// without asking its rights again only when its run left an operation to
// take over (a backup's name, a RESTORE's id); one marked running that
// left none starts anew, and is asked again like any that waited.
func TestOnlyAnOperationIsAdopted(t *testing.T) {
	for _, c := range []struct {
		name   string
		action Action
		latest *LogEntry
		want   bool
	}{
		{"new", ActionBackup, nil, false},
		{"queued", ActionBackup, &LogEntry{State: StateQueued, Backup: "b"}, false},
		{"a backup named", ActionBackup, &LogEntry{State: StateRunning, Backup: "b"}, true},
		{"a backup not yet sent", ActionBackup, &LogEntry{State: StateRunning}, false},
		{"a RESTORE sent", ActionRestore, &LogEntry{State: StateRunning, Backup: "b", OperationID: "op"}, true},
		{"a restore that chose its backup only", ActionRestore, &LogEntry{State: StateRunning, Backup: "b"}, false},
		{"a verify", ActionVerify, &LogEntry{State: StateRunning, Backup: "b", OperationID: "op"}, false},
		{"a cleanup", ActionCleanup, &LogEntry{State: StateRunning}, false},
	} {
		if got := adoptable(Job{Request: Request{Action: c.action}}, c.latest); got != c.want {
			t.Errorf("%s: adoptable %v, want %v", c.name, got, c.want)
		}
	}
}

// TestARejectionNeverFollowsACancel: a request a cancel stopped while it
// was being judged is not rejected as well: it has one answer.
func TestARejectionNeverFollowsACancel(t *testing.T) {
	s := newUnitSidecar("a", memstore.New(), nil)
	if got := s.stopHere("r1"); got != stopped {
		t.Fatalf("stopHere: %v, want stopped", got)
	}
	s.rejecter.rejectLater(context.Background(), Request{ID: "r1", Action: ActionBackup}, "lacks BACKUP", false)
	if n := len(s.rejecter.rejections); n != 0 {
		t.Fatalf("%d rejections queued for a request a cancel answered, want none", n)
	}
	s.rejecter.rejectLater(context.Background(), Request{ID: "r2", Action: ActionBackup}, "lacks BACKUP", false)
	if n := len(s.rejecter.rejections); n != 1 {
		t.Fatalf("%d rejections queued for a request not answered, want 1", n)
	}
}
