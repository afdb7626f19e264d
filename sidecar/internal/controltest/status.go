package controltest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
)

// logAt is a request_log row of request id at a time, in state.
func logAt(id string, state control.State, at time.Time, edit func(*control.LogEntry)) control.LogEntry {
	e := control.LogEntry{RequestID: id, Action: control.ActionBackup, Database: "shop", State: state, At: at, Sidecar: "a"}
	if edit != nil {
		edit(&e)
	}
	return e
}

// base is a time with nanoseconds, as Go's clock gives them; request_log
// keeps microseconds.
func base() time.Time { return time.Now().Add(-time.Minute).Truncate(time.Second).Add(123456789) }

// testPendingLatest: a pending request carries its answer so far: the
// state of its newest row, the newest backup name and operation id that
// any row gave (progress rows leave them empty). A terminal row, once
// written, ends the request even if a later row is not terminal.
func testPendingLatest(t *testing.T, p Plane) {
	got := insertAs(t, p, "alice", control.Request{}, control.Request{}, control.Request{}, control.Request{}, control.Request{})
	progress, renamed, done, late, fresh := got[0], got[1], got[2], got[3], got[4]
	t0 := base()
	named := func(b, op string) func(*control.LogEntry) {
		return func(e *control.LogEntry) { e.Backup, e.OperationID, e.Message = b, op, "named "+b }
	}
	appendLog(t, p,
		logAt(progress, control.StateQueued, t0, named("b1", "op1")), logAt(progress, control.StateRunning, t0.Add(time.Millisecond), nil),
		logAt(renamed, control.StateQueued, t0, named("b1", "op1")), logAt(renamed, control.StateRunning, t0.Add(time.Millisecond), named("b2", "op2")),
		logAt(done, control.StateRunning, t0, nil), logAt(done, control.StateSucceeded, t0.Add(time.Millisecond), nil),
		logAt(late, control.StateCancelled, t0, nil), logAt(late, control.StateRunning, t0.Add(time.Second), nil))
	rs := pending(t, p, longAgo())
	if want := []string{progress, renamed, fresh}; !sameSet(ids(rs), want) {
		t.Fatalf("pending %v; want %v (a terminal row ends a request)", ids(rs), want)
	}
	for id, want := range map[string]*control.LogEntry{
		progress: {RequestID: progress, State: control.StateRunning, Backup: "b1", OperationID: "op1"},
		renamed:  {RequestID: renamed, State: control.StateRunning, Backup: "b2", OperationID: "op2"},
		fresh:    nil,
	} {
		r, _ := byID(rs, id)
		if !reflect.DeepEqual(r.Latest, want) {
			t.Errorf("latest of %s: %+v; want %+v", id, r.Latest, want)
		}
	}
}

// sameSet reports whether a and b hold the same ids, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// testStatusTerminalWins: request_status shows the newest terminal row once
// there is one (with its backup, message and sizes), else the newest row;
// updated_at is the newest row's time, to the microsecond.
func testStatusTerminalWins(t *testing.T, p Plane) {
	got := insertAs(t, p, "alice", control.Request{Action: control.ActionBackup, Database: "shop", Via: "http:0a1b2c3d"},
		control.Request{Action: control.ActionBackup, Database: "shop"}, control.Request{Action: control.ActionBackup, Database: "shop"})
	twice, cancelled, running := got[0], got[1], got[2]
	t0 := base()
	answer := func(e *control.LogEntry) {
		e.Backup, e.Message, e.NumFiles, e.TotalSize, e.BytesRead = "20260101T000000000Z", "second answer", 3, 10, 7
	}
	appendLog(t, p,
		logAt(twice, control.StateFailed, t0, func(e *control.LogEntry) { e.Message = "first answer" }),
		logAt(twice, control.StateSucceeded, t0.Add(time.Second), answer),
		logAt(cancelled, control.StateCancelled, t0, func(e *control.LogEntry) { e.Message = "cancelled by request x" }),
		logAt(cancelled, control.StateRunning, t0.Add(2*time.Second), func(e *control.LogEntry) { e.Backup, e.Message = "b", "late" }),
		logAt(running, control.StateQueued, t0, nil),
		logAt(running, control.StateRunning, t0.Add(time.Second), func(e *control.LogEntry) { e.Message = "running" }))
	micro := func(d time.Duration) time.Time { return t0.Add(d).Truncate(time.Microsecond) }
	for id, want := range map[string]control.RequestStatus{
		twice: {State: control.StateSucceeded, Backup: "20260101T000000000Z", Message: "second answer", NumFiles: 3, TotalSize: 10,
			BytesRead: 7, Via: "http:0a1b2c3d", UpdatedAt: micro(time.Second)},
		cancelled: {State: control.StateCancelled, Message: "cancelled by request x", UpdatedAt: micro(2 * time.Second)},
		running:   {State: control.StateRunning, Message: "running", UpdatedAt: micro(time.Second)},
	} {
		want.ID, want.Action, want.Database, want.Kind, want.RequestedBy = id, control.ActionBackup, "shop", "auto", "alice"
		assertStatus(t, status(t, p, id), want)
	}
}

// assertStatus compares a status with want; requested_at is only checked to
// be set, the pending tests check its value.
func assertStatus(t *testing.T, got, want control.RequestStatus) {
	t.Helper()
	if got.RequestedAt.IsZero() {
		t.Errorf("status of %s has no requested_at", got.ID)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("status of %s updated at %v; want %v", got.ID, got.UpdatedAt, want.UpdatedAt)
	}
	got.RequestedAt, got.UpdatedAt, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("status\n%+v\nwant\n%+v", got, want)
	}
}

// testStatusPending: a request no sidecar answered yet is 'pending', with
// the backup it names, and updated_at the epoch (the view's empty join).
func testStatusPending(t *testing.T, p Plane) {
	id := insertAs(t, p, "bob", control.Request{Action: control.ActionRestore, Database: "shop", Backup: "20260101T000000000Z"})[0]
	assertStatus(t, status(t, p, id), control.RequestStatus{ID: id, Action: control.ActionRestore, Database: "shop", Kind: "auto",
		State: control.StatePending, Backup: "20260101T000000000Z", RequestedBy: "bob", UpdatedAt: time.Unix(0, 0)})
}

// testActiveRequests: the queued and running requests of the last day,
// each once, oldest first, at most limit.
func testActiveRequests(t *testing.T, p Plane) {
	old := insertAs(t, p, "alice", control.Request{RequestedAt: time.Now().Add(-25 * time.Hour)})[0]
	// Apart in time: rows of one INSERT share requested_at, and their order is the server's.
	now := time.Now()
	got := insertAs(t, p, "alice", control.Request{RequestedAt: now.Add(-2 * time.Second)}, control.Request{RequestedAt: now.Add(-time.Second)},
		control.Request{}, control.Request{})
	queued, running, done := got[0], got[1], got[2]    // got[3] has no log row: pending
	insertAs(t, p, "bob", control.Request{ID: queued}) // a second row with the id
	t0 := base()
	appendLog(t, p, logAt(old, control.StateQueued, t0, nil), logAt(queued, control.StateQueued, t0, nil),
		logAt(running, control.StateRunning, t0, nil), logAt(done, control.StateSucceeded, t0, nil))
	for limit, want := range map[int][]string{10: {queued, running}, 1: {queued}} {
		rs, err := p.ActiveRequests(ctxOf(t), limit)
		if err != nil {
			t.Fatalf("ActiveRequests: %v", err)
		}
		var gotIDs []string
		for _, r := range rs {
			gotIDs = append(gotIDs, r.ID)
		}
		if !slices.Equal(gotIDs, want) {
			t.Errorf("ActiveRequests(%d): %v; want %v", limit, gotIDs, want)
		}
	}
}

// testAppendLogRefusesBadID: request_log is keyed by UUID: a row for an id
// that is not one is refused, and none of the batch is written.
func testAppendLogRefusesBadID(t *testing.T, p Plane) {
	id := insertAs(t, p, "alice", control.Request{})[0]
	err := p.AppendLog(ctxOf(t), logAt(id, control.StateRejected, base(), nil), logAt("r1", control.StateRejected, base(), nil))
	if err == nil {
		t.Fatal("AppendLog took a request id that is not a UUID")
	}
	if st := status(t, p, id); st.State != control.StatePending {
		t.Errorf("state %s after a refused batch; want pending (nothing written)", st.State)
	}
}
