package clickhouse

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
)

// TestOperationTextsRedactedByTheirDatabase: the reads of system.backups
// are shared by the primary's Database and a copy target's (ForTarget),
// and each takes its own secrets out of what an operation says: a
// RESTORE from a copy names the copy's keys in its error.
func TestOperationTextsRedactedByTheirDatabase(t *testing.T) {
	const text = "Code: 499. S3('http://copy/b', 'COPYKEYID', 'COPY_SECRET') failed for PRIMARY_SECRET"
	read := func(_ context.Context, ids []string) ([]sidecar.Operation, error) {
		var out []sidecar.Operation
		for _, id := range ids {
			out = append(out, sidecar.Operation{ID: id, Name: text, BaseBackupName: text, Error: text, ErrorDetail: text})
		}
		return out, nil
	}
	primary := &Database{conn: &conn{redact: newRedactor("PRIMARY_SECRET")}, reads: newOperationReads(read)}
	copyTarget := primary.ForTarget(S3Target{AccessKey: "COPYKEYID", SecretKey: "COPY_SECRET"})
	for name, d := range map[string]*Database{"primary": primary, "copy target": copyTarget} {
		op, err := d.Operation(context.Background(), "op")
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{op.Name, op.BaseBackupName, op.Error, op.ErrorDetail} {
			if strings.Contains(field, "PRIMARY_SECRET") {
				t.Errorf("the %s's operation says the primary's secret: %q", name, field)
			}
			if d == copyTarget && (strings.Contains(field, "COPYKEYID") || strings.Contains(field, "COPY_SECRET")) {
				t.Errorf("the copy target's operation says the copy's keys: %q", field)
			}
		}
	}
	failing := &Database{conn: &conn{redact: newRedactor("PRIMARY_SECRET")}, reads: newOperationReads(
		func(context.Context, []string) ([]sidecar.Operation, error) { return nil, errors.New(text) })}
	if _, err := failing.ForTarget(S3Target{AccessKey: "COPYKEYID", SecretKey: "COPY_SECRET"}).Operation(context.Background(), "op"); err == nil ||
		strings.Contains(err.Error(), "COPY_SECRET") || strings.Contains(err.Error(), "COPYKEYID") || strings.Contains(err.Error(), "PRIMARY_SECRET") {
		t.Errorf("a failed read's error through a copy target: %v, want it without any key", err)
	}
}
