package main

import "testing"

// TestPartitionReplaceRefusesAMigratedTable: shop.events gained a column
// after the backup. A partition replace of February is refused before
// anything is restored, naming the column; no RESTORE is sent, no staging
// table is made and every partition of events is as it was.
func TestPartitionReplaceRefusesAMigratedTable(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.startSidecar(config, addr)
	h.backupShop()
	h.exec("ALTER TABLE shop.events ADD COLUMN note String DEFAULT ''")
	before := h.partitions("shop.events")
	restores := "SELECT count() FROM system.backups WHERE startsWith(toString(status), 'RESTOR')"
	sent := h.count(restores)
	h.expectRequest(h.as("eve"), "action, database, tables, partitions, mode", "'restore', 'shop', ['events'], ['202602'], 'replace'",
		"failed", "column note String was added since the backup")
	if n := h.count(restores); n != sent {
		t.Fatalf("a RESTORE was sent (%d restores, %d before)", n, sent)
	}
	if n := h.staging(); n != 0 {
		t.Fatalf("%d staging tables left", n)
	}
	for p, fp := range h.partitions("shop.events") {
		if fp != before[p] {
			t.Fatalf("partition %s changed: %+v, was %+v", p, fp, before[p])
		}
	}
}
