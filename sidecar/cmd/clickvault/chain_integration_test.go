package main

import (
	"strings"
	"testing"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/model"
)

// TestChainRestoreVerify: a full and three incrementals, each on the one
// before; restoring the second incremental gives exactly its rows; verify
// passes and leaves no scratch database.
func TestChainRestoreVerify(t *testing.T) {
	h := newHarness(t)
	h.createShop(100)
	rowsAt := []uint64{}
	for i := 0; i < 4; i++ {
		if i > 0 {
			h.addRows(100+10*(i-1), 10)
		}
		rowsAt = append(rowsAt, h.count("SELECT count() FROM shop.orders"))
		r := h.mustRun("backup")
		want := "incremental"
		if i == 0 {
			want = "full"
		}
		if !strings.Contains(r.stdout, "shop "+want+" backup") {
			t.Fatalf("backup %d: want a %s backup, got %q", i, want, r.stdout)
		}
	}

	chains := h.list()
	if len(chains) != 1 || chains[0].Depth != 4 || len(chains[0].Backups) != 4 {
		t.Fatalf("want one chain of depth 4, got %+v", chains)
	}
	backups := chains[0].Backups
	h.assertChainLinks(backups)

	second := backups[2].Name
	r := h.mustRun("restore", "--backup", second, "--target", "restored")
	if got := h.count("SELECT count() FROM restored.orders"); got != rowsAt[2] {
		t.Fatalf("restored %d rows from %s, want %d (%s)", got, second, rowsAt[2], r.stdout)
	}
	if r := h.run("", "restore", "--backup", second, "--target", "restored"); r.code != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("restore into a non-empty database: want exit 1 naming it, got %d %q", r.code, r.stderr)
	}
	if r := h.run("", "restore", "--backup", "20990101T000000000Z", "--target", "other"); r.code != 1 || !strings.Contains(r.stderr, "no such backup") {
		t.Fatalf("restore of a missing backup: got %d %q", r.code, r.stderr)
	}

	r = h.mustRun("verify")
	if !strings.Contains(r.stdout, "verify passed") {
		t.Fatalf("verify: %s", r.stdout)
	}
	if n := h.count("SELECT count() FROM system.databases WHERE name LIKE 'clickvault_verify_%'"); n != 0 {
		t.Fatalf("verify left %d scratch databases", n)
	}
	if len(h.hook.received("backup_completed")) != 4 || len(h.hook.received("restore_completed")) != 1 {
		t.Fatalf("notifications: %d backup_completed, %d restore_completed", len(h.hook.received("backup_completed")),
			len(h.hook.received("restore_completed")))
	}
}

// assertChainLinks: every backup completed, each incremental built on the one
// before, in the metadata and in ClickHouse's base_backup_name.
func (h *harness) assertChainLinks(backups []listedBackup) {
	h.t.Helper()
	t := h.t
	for i, b := range backups {
		if b.Status != "completed" {
			t.Fatalf("backup %s is %s", b.Name, b.Status)
		}
		if i == 0 {
			continue
		}
		m := h.meta(model.KindIncremental, b.Name)
		prev := backups[i-1]
		if m.Base != prev.Name || m.Chain != backups[0].Name || m.BaseBackupPath == nil || !strings.Contains(*m.BaseBackupPath, prev.Name) {
			t.Fatalf("metadata of %s: base %q chain %q path %v; want base %s", b.Name, m.Base, m.Chain, m.BaseBackupPath, prev.Name)
		}
		if base := h.baseBackupName(m.BackupID); !strings.Contains(base, prev.Name) {
			t.Fatalf("clickhouse's base_backup_name of %s is %q, want it to name %s", b.Name, base, prev.Name)
		}
	}
	full := h.meta(model.KindFull, backups[0].Name)
	if full.Tables["orders"] != 100 || full.ClickHouseVersion == "" || full.TotalSize == 0 || full.NumFiles == 0 {
		t.Fatalf("full metadata lacks counts or sizes: %+v", full)
	}

}

func (h *harness) baseBackupName(operationID string) string {
	h.t.Helper()
	var base proto.ColStr
	err := h.ch.Do(h.ctx, ch.Query{Body: "SELECT base_backup_name FROM system.backups WHERE id = {id:String}",
		Parameters: []proto.Parameter{{Key: "id", Value: "'" + operationID + "'"}}, Result: proto.ResultColumn{Data: &base}})
	if err != nil || base.Rows() != 1 {
		h.t.Fatalf("read base_backup_name of %s: %v (%d rows)", operationID, err, base.Rows())
	}
	return base.Row(0)
}
