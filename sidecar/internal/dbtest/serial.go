package dbtest

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// SerialContract runs on a server with backups.allow_concurrent_backups =
// false what the engine's resend of a refused BACKUP rests on: a BACKUP
// sent while another is in progress is accepted and its operation fails
// with code 587 (CONCURRENT_ACCESS_NOT_SUPPORTED, in Error and in
// ErrorDetail) before it writes anything; its id cannot be sent again;
// RecentOperations lists the one in progress as CREATING_BACKUP. hold
// keeps the next BACKUP in progress until release (on ClickHouse: a
// bandwidth limit makes it slow, and release waits for it).
func SerialContract(t *testing.T, s Server, store coord.ObjectStore, hold, release func()) {
	ctx := ctxOf(t)
	prefix := "dbtest/" + uuid.NewString() + "/"
	s.Create("cvtest_serial", map[string]uint64{"orders": 100_000})
	hold()
	first := sidecar.BackupCommand{ID: uuid.NewString(), Database: "cvtest_serial", Folder: prefix + "first/"}
	if err := s.StartBackup(ctx, first); err != nil {
		t.Fatalf("StartBackup: %v", err)
	}
	ops := must[[]sidecar.Operation](t, "RecentOperations")(s.RecentOperations(ctx, 100))
	if len(ops) == 0 || ops[0].ID != first.ID || ops[0].Status != sidecar.OpCreatingBackup {
		t.Fatalf("RecentOperations while a BACKUP runs: %+v; want it first, %s", ops, sidecar.OpCreatingBackup)
	}
	beside := sidecar.BackupCommand{ID: uuid.NewString(), Database: "cvtest_serial", Folder: prefix + "beside/"}
	if err := s.StartBackup(ctx, beside); err != nil {
		t.Fatalf("a BACKUP beside another: refused at once (%v); want the statement accepted and its operation failed", err)
	}
	op := waitOp(t, s, beside.ID)
	failed(t, "a BACKUP beside another", op, nil, sidecar.OpBackupFailed, "CONCURRENT_ACCESS_NOT_SUPPORTED")
	if !strings.HasPrefix(op.Error, "Code: 587.") || !strings.Contains(op.ErrorDetail, "(CONCURRENT_ACCESS_NOT_SUPPORTED)") {
		t.Errorf("the refusal: Error %q, ErrorDetail %.200q; want code 587 and CONCURRENT_ACCESS_NOT_SUPPORTED in both", op.Error, op.ErrorDetail)
	}
	if listing, err := store.List(ctx, beside.Folder, true); err != nil || len(listing.Objects) != 0 {
		t.Errorf("the refused BACKUP wrote %d objects (%v); want none", len(listing.Objects), err)
	}
	if err := s.StartBackup(ctx, beside); err == nil {
		t.Errorf("a BACKUP under the refused one's id was accepted; ClickHouse refuses an id it knows")
	}
	release()
	if op := waitOp(t, s, first.ID); op.Status != sidecar.OpBackupCreated {
		t.Fatalf("the first BACKUP ended %s: %s", op.Status, op.Error)
	}
}
