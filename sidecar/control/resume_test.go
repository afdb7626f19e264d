package control_test

import (
	"context"
	"testing"
	"time"

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

// TestTwinsOfOneNameRunEachRequestOnce: two sidecars of one name (a
// copied configuration on a host of the same name), each its own run,
// read one control table. Each request runs once and has one answer:
// neither takes a claim of the other's run for its own; and, once they
// have seen each other write the heartbeat (their second beats, 10 s in),
// a request rejected before any claim (the sidecars' names choose who
// answers it, and twins share theirs) is answered once too.
func TestTwinsOfOneNameRunEachRequestOnce(t *testing.T) {
	b := newBed(t, control.Options{})
	b.startRun(control.Options{}, "twin-"+t.Name())
	for deadline := time.Now().Add(time.Minute); !b.claims[0].TwinSeen() || !b.claims[1].TwinSeen(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the twins did not see each other write the heartbeat within a minute")
		}
	}
	var ids, refused []string
	for range 8 {
		ids = append(ids, b.request("alice", control.Request{Action: "backup"}))
		refused = append(refused, b.request("alice", control.Request{Action: "backup", Database: "nowhere"}))
	}
	for _, id := range ids {
		b.expect(id, control.StateSucceeded, "backup")
	}
	for _, id := range refused {
		b.expect(id, control.StateRejected, "nowhere")
	}
	time.Sleep(200 * time.Millisecond) // ten polls (20 ms each): a second answer would be written by now
	for _, id := range append(ids, refused...) {
		var picked, answers []string
		for _, e := range b.plane.Log(id) {
			switch {
			case e.State == control.StateQueued:
				picked = append(picked, e.Sidecar)
			case control.Terminal(e.State):
				answers = append(answers, string(e.State)+": "+e.Message)
			}
		}
		if len(picked) > 1 || len(answers) != 1 {
			t.Errorf("request %s was picked up %d times and has %d answers, want once and one: %q", id, len(picked), len(answers), answers)
		}
	}
}

// TestResumeOfABackupThatNeverReachedClickHouseTakesItAnew: the request's
// running row names a backup the bucket does not hold once the leftovers
// are settled (a refused BACKUP whose run stopped before sending it again:
// its metadata alone was removed). The request is not failed: it takes its
// one backup anew.
func TestResumeOfABackupThatNeverReachedClickHouseTakesItAnew(t *testing.T) {
	b := newBed(t, control.Options{})
	b.stop()
	id := b.request("alice", control.Request{Action: "backup"})
	if err := b.plane.AppendLog(context.Background(), control.LogEntry{RequestID: id, Action: control.ActionBackup,
		Database: "shop", State: control.StateRunning, Backup: "20200101T000000000Z", Message: "full backup started",
		At: time.Now(), Sidecar: "a"}); err != nil {
		t.Fatal(err)
	}
	b.start(control.Options{})
	b.expect(id, control.StateSucceeded, "full backup")
}
