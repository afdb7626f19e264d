package main

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar"
)

// TestOneTurnIsHeldUntilClickHouseEndsTheBackup: with parallel_databases =
// 1 (a server with allow_concurrent_backups = false, which refuses a BACKUP
// while the last one is closing) a turn is given back only once ClickHouse
// has ended the BACKUP; with several, as soon as its .backup object is
// written.
func TestOneTurnIsHeldUntilClickHouseEndsTheBackup(t *testing.T) {
	for parallel, early := range map[int]bool{1: false, 2: true, 4: true} {
		var req sidecar.BackupRequest
		takeTurns(&req, make(chan struct{}, parallel))
		if req.Slot == nil || req.SlotUntilWritten != early {
			t.Errorf("parallelism %d: slot set %v, given back once written %v (want true, %v)",
				parallel, req.Slot != nil, req.SlotUntilWritten, early)
		}
	}
}
