package main

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// TestAttack23VerifyScratchIsReadableUnderARowPolicy: a row policy keeps
// alice to 10 rows of shop.orders, so her restores of shop are refused;
// her verify "restores where nobody reads" and may run. But alice holds
// SELECT ON *.* (the usual analyst grant that row policies narrow): the
// scratch database clickvault_verify_… is a database like any other to
// her, with no row policy on its copy of orders. While her verify runs she
// reads every row. The product resists if she never counts more than 10.
func TestAttack23VerifyScratchIsReadableUnderARowPolicy(t *testing.T) {
	opts := sidecarUsersWith(map[string][]string{"alice": {"SELECT ON *.*"}})
	opts.Settings = map[string]string{"max_backup_bandwidth": "2000000"}
	opts.RowPolicies = map[string]map[string]string{"alice": {"shop.orders": "id < 10"}}
	h := newHarnessWith(t, opts)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.orders SELECT number, randomPrintableASCII(100) FROM numbers(100000)")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	alice := h.as("alice")
	if st := h.waitState(h.request(alice, "action, database", "'backup', 'shop'"), 2*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("backup: %+v", st)
	}
	most := watchScratch(h, "alice")
	st := h.waitState(h.request(alice, "action, database", "'verify', 'shop'"), 2*time.Minute, "succeeded", "failed", "rejected")
	n := most()
	t.Logf("verify: %s %q", st.state, st.message)
	if st.state != "rejected" || !strings.Contains(st.message, "row policy") || !strings.Contains(st.message, "clickvault_verify_") {
		t.Errorf("alice's verify under a row policy, her SELECT reaching the scratch databases: %+v; want rejected saying why", st)
	}
	if n > 10 {
		t.Errorf("DEFECT: under a row policy of 10 rows, alice read %d rows of orders from the verify's scratch database", n)
	}
	if strings.Contains(st.message, "100000") {
		t.Errorf("DEFECT: the verify's answer tells alice the row count her policy hides: %q", st.message)
	}
}

// TestAttack23VerifyScratchIsReadableUnderARevoke: eve may back up shop but
// not read it (SELECT ON *.* with shop revoked: the usual "everything but"
// grant, and BACKUP for a backup operator). A verify takes only BACKUP, so
// eve may ask for one; its scratch database is not shop, and her wildcard
// SELECT covers it. The product resists if she reads no row of shop.
func TestAttack23VerifyScratchIsReadableUnderARevoke(t *testing.T) {
	opts := sidecarUsersWith(map[string][]string{"eve": {"SELECT ON *.*", "REVOKE SELECT ON shop.*", "BACKUP ON shop.*"}})
	opts.Settings = map[string]string{"max_backup_bandwidth": "2000000"}
	h := newHarnessWith(t, opts)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.orders SELECT number, randomPrintableASCII(100) FROM numbers(100000)")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	eve := h.as("eve")
	if err := eve.Do(h.ctx, ch.Query{Body: "SELECT count() FROM shop.orders"}); !ch.IsErr(err, proto.ErrAccessDenied) {
		t.Fatalf("eve reading shop.orders: %v; want ACCESS_DENIED", err)
	}
	if st := h.waitState(h.request(eve, "action, database", "'backup', 'shop'"), 2*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("eve's backup: %+v", st)
	}
	most := watchScratch(h, "eve")
	st := h.waitState(h.request(eve, "action, database", "'verify', 'shop'"), 2*time.Minute, "succeeded", "failed", "rejected")
	n := most()
	t.Logf("verify: %s %q", st.state, st.message)
	if st.state != "rejected" || !strings.Contains(st.message, "clickvault_verify_") {
		t.Errorf("eve's verify of shop, which she may not read: %+v; want rejected saying why", st)
	}
	if n > 0 {
		t.Errorf("DEFECT: eve, who may not read shop, read %d rows of shop.orders from the verify's scratch database", n)
	}
}

// watchScratch counts, as user, the rows of orders in any verify scratch
// database, every 10 ms, until the returned function is called; it
// returns the most seen.
func watchScratch(h *harness, user string) func() uint64 {
	var most atomic.Uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	reader := h.as(user)
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			var n proto.ColUInt64
			q := "SELECT count() AS n FROM merge(REGEXP('^clickvault_verify_'), '^orders$')"
			if err := reader.Do(h.ctx, ch.Query{Body: q, Result: proto.ResultColumn{Name: "n", Data: &n}}); err == nil && n.Rows() == 1 && n.Row(0) > most.Load() {
				most.Store(n.Row(0))
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return most.Load()
	}
}
