package control_test

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar/control"
)

// TestResumeAfterRestart: a backup running when its sidecar stopped is
// adopted by the restarted sidecar and answered once.
func TestResumeAfterRestart(t *testing.T) {
	b, id := backupRunningAtStop(t)
	b.start(control.Options{})
	b.expect(id, control.StateSucceeded, "completed")
	if n := len(b.plane.Log(id)); n > 5 {
		t.Errorf("%d log rows for one backup", n)
	}
}

// TestResumeOutlivesARevoke: a backup running when its sidecar stopped is
// adopted after the restart even if its requester's right was revoked
// meanwhile: it started (its BACKUP may be running in ClickHouse), so it
// is answered as it ends, never rejected as if nothing had run.
func TestResumeOutlivesARevoke(t *testing.T) {
	b, id := backupRunningAtStop(t)
	b.rights = grants{} // BACKUP on shop revoked while the sidecar was down
	b.start(control.Options{})
	b.expect(id, control.StateSucceeded, "completed")
}

// backupRunningAtStop is a bed whose sidecar stopped while alice's backup
// ran, its BACKUP sent (the request's rows name it); the server finishes
// it meanwhile. The test starts the sidecar again.
func backupRunningAtStop(t *testing.T) (*bed, string) {
	t.Helper()
	b := newBed(t, control.Options{})
	b.db.Hold()
	id := b.request("alice", control.Request{Action: "backup"})
	b.waitUntil(id, "running, naming its backup", func(st control.RequestStatus) bool {
		return st.State == control.StateRunning && st.Backup != ""
	})
	b.stop()
	b.db.Release()
	return b, id
}
