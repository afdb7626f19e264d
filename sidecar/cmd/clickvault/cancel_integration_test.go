package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// heldUploads stands between ClickHouse and MinIO: until let, every upload
// (PUT, POST) waits, so a BACKUP runs for as long as the test needs, and
// not a moment less however busy the machine is. (A backup slowed by
// max_backup_bandwidth ended before a cancel asked during it was read,
// on a machine busy enough.)
type heldUploads struct {
	url     string
	release chan struct{}
	once    sync.Once
}

func newHeldUploads(t *testing.T, target string) *heldUploads {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	h := &heldUploads{release: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut || r.Method == http.MethodPost {
			select {
			case <-h.release:
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(h.let) // before the server closes: it waits for its handlers
	h.url = srv.URL
	return h
}

// let lets every upload through, held or to come.
func (h *heldUploads) let() { h.once.Do(func() { close(h.release) }) }

// newHeldBackupHarness is a sidecar whose ClickHouse reaches the bucket
// through uploads held until the test lets them go: a backup it starts
// stays running until then.
func newHeldBackupHarness(t *testing.T) (*harness, *heldUploads) {
	h := newHarnessWith(t, sidecarUsers)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.orders SELECT number, randomPrintableASCII(100) FROM numbers(1000)")
	uploads := newHeldUploads(t, h.bed.MinIO.Endpoint)
	addr := freeAddr(t)
	h.startSidecarWith(h.sidecarConfig(addr, ""), addr, "CLICKVAULT_S3_CLICKHOUSE_ENDPOINT="+uploads.url)
	return h, uploads
}

// TestCancelOfQueuedRequestHolds: a request queued behind a running backup
// of its database is cancelled; it never runs, and it has exactly one
// terminal answer. Someone else cannot cancel it, nor take its id over by
// inserting a row with the same id. The running backup's uploads are held
// until the cancel is answered.
func TestCancelOfQueuedRequestHolds(t *testing.T) {
	h, uploads := newHeldBackupHarness(t)
	alice, mallory := h.as("alice"), h.as("mallory")

	running := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(running, 30*time.Second, "running")
	queued := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(queued, 30*time.Second, "queued")

	// mallory reuses the queued request's id, then tries to cancel it.
	h.requestWithID(mallory, queued, "action, database", "'cleanup', 'shop'")
	byMallory := h.request(mallory, "action, backup", "'cancel', '"+queued+"'")
	if st := h.waitState(byMallory, 30*time.Second, "rejected", "succeeded", "failed"); st.state != "rejected" {
		t.Errorf("mallory cancelling alice's request: %s %q, want rejected", st.state, st.message)
	}
	if st := h.status(queued); st.requestedBy != "alice" {
		t.Errorf("after mallory reused its id, the request reads as %s's", st.requestedBy)
	}

	cancel := h.request(alice, "action, backup", "'cancel', '"+queued+"'")
	if st := h.waitState(cancel, 30*time.Second, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("alice cancelling her queued request: %s %q", st.state, st.message)
	}
	if st := h.status(running); st.state != "running" {
		t.Fatalf("the first backup is %s before its uploads were let go (%q): the test proves nothing", st.state, st.message)
	}
	uploads.let()
	h.waitState(running, 2*time.Minute, "succeeded")
	// A barrier instead of a wait: had the cancel not held, the queued
	// request, waiting for shop's turn long before the barrier was even
	// inserted, would take the turn when the running backup let it go
	// (after its answer) — ahead of the barrier, which Go's mutex hands
	// over in the order its waiters came once one has waited over 1 ms.
	// So once the barrier is answered, the cancelled request would have run.
	barrier := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(barrier, 2*time.Minute, "succeeded")
	if st := h.status(queued); st.state != "cancelled" {
		t.Errorf("the cancelled request is %s (%q), want cancelled", st.state, st.message)
	}
	terminal := h.count("SELECT count() FROM clickvault.request_log WHERE request_id = '" + queued +
		"' AND state IN ('succeeded', 'failed', 'rejected', 'cancelled')")
	if terminal != 1 {
		t.Errorf("the cancelled request has %d terminal rows, want 1", terminal)
	}
	if n := h.count("SELECT count() FROM clickvault.request_status WHERE id = '" + queued + "'"); n != 1 {
		t.Errorf("request_status has %d rows for one id, want 1", n)
	}
	if n := h.count("SELECT count() FROM clickvault.backups FINAL WHERE status = 'completed'"); n != 2 {
		t.Errorf("%d backups completed, want 2 (the running one and the barrier): the cancelled one ran", n)
	}
}

// TestCancelWhileEveryWorkerIsBusy (issue 23, item 9): with one worker busy
// with a slow backup, a request queued for that worker is cancelled by its
// requester at once: the cancel is checked as a cancel (not as a backup of
// database ”), takes no worker, and the queued request never runs.
func TestCancelWhileEveryWorkerIsBusy(t *testing.T) {
	opts := sidecarUsersWith(map[string][]string{"alice": {"BACKUP ON shop2.*"}})
	opts.Settings = map[string]string{"max_backup_bandwidth": "2000000"}
	h := newHarnessWith(t, opts)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.orders SELECT number, randomPrintableASCII(100) FROM numbers(100000)")
	h.exec("CREATE DATABASE shop2")
	h.exec("CREATE TABLE shop2.t (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop2.t SELECT number FROM numbers(10)")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, "workers = 1"), addr)
	alice := h.as("alice")

	running := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(running, 30*time.Second, "running")
	queued := h.request(alice, "action, database", "'backup', 'shop2'")
	h.waitState(queued, 30*time.Second, "queued")
	asked := time.Now()
	cancel := h.request(alice, "action, backup", "'cancel', '"+queued+"'")
	st := h.waitState(cancel, 30*time.Second, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		t.Fatalf("cancel while the only worker is busy: %s %q", st.state, st.message)
	}
	if st := h.status(queued); st.state != "cancelled" {
		t.Fatalf("the queued request is %s (%q), want cancelled", st.state, st.message)
	}
	if took := time.Since(asked); took > 5*time.Second {
		t.Errorf("the cancel took %s; it waited for the worker", took)
	}
	if st := h.status(running); st.state != "running" {
		t.Errorf("the slow backup is %s while the cancel was answered: the cancel waited for it", st.state)
	}
	h.waitState(running, 2*time.Minute, "succeeded")
	if n := h.count("SELECT count() FROM clickvault.backups FINAL WHERE database = 'shop2' AND status = 'completed'"); n != 0 {
		t.Errorf("the cancelled backup of shop2 ran (%d completed)", n)
	}
}
