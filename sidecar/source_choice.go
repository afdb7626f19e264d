package sidecar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// CopyReaders are the [[copy]] targets as places a restore or verify may
// read a backup from (the primary is the caller's own engine), each as an
// engine of its own: its store, its layout, ClickHouse reading from it.
type CopyReaders interface {
	// Copies names the copy targets, in the configuration's order.
	Copies() []string
	// Copy is the engine reading backups from copy target name; an unknown
	// name is ErrUnknownCopyTarget.
	Copy(ctx context.Context, name string) (*Service, error)
}

// ErrUnknownCopyTarget is a name, given as a source or a copy target, that
// no [[copy]] target has; its errors are UnknownCopyTargetError.
var ErrUnknownCopyTarget = errors.New("no such copy target")

// UnknownCopyTargetError is a name, asked for as a source or a copy target
// by a request, a flag or an HTTP body, that no [[copy]] target has: every
// path says it in these words, naming the targets there are. It is
// ErrUnknownCopyTarget.
type UnknownCopyTargetError struct {
	Name    string
	Targets []string // the configured targets' names
}

func (e *UnknownCopyTargetError) Error() string {
	names := "none configured"
	if len(e.Targets) > 0 {
		names = strings.Join(e.Targets, ", ")
	}
	return fmt.Sprintf("no copy target %q in the configuration (targets: %s)", e.Name, names)
}

// Is makes the error ErrUnknownCopyTarget.
func (e *UnknownCopyTargetError) Is(target error) bool { return target == ErrUnknownCopyTarget }

// Source is where a backup is read from: the engine, the copy target's
// name ("" = the primary), and, when a copy was picked because the primary
// could not serve the backup, why.
type Source struct {
	Service *Service
	Name    string
	Why     string
}

// BackupWanted is what a restore or verify asks for: a backup by name, or
// the newest completed at or before AsOf, holding Tables.
type BackupWanted struct {
	Database string
	Backup   string
	AsOf     time.Time
	Tables   []string
}

// ChooseSource finds where to read the backup w asks for. A named source
// is that copy target, whatever the primary holds. With none, the primary
// serves it when it can; when it cannot — its bucket unreachable, or the
// backup missing or unusable there — the first copy target that holds the
// backup serves it, and Why says what the primary answered. When no copy
// holds it either, the primary's own error is returned.
func ChooseSource(ctx context.Context, primary *Service, targets CopyReaders, named string, w BackupWanted) (Source, error) {
	if named != "" {
		if targets == nil || !slices.Contains(targets.Copies(), named) {
			unknown := &UnknownCopyTargetError{Name: named}
			if targets != nil {
				unknown.Targets = targets.Copies()
			}
			return Source{}, fmt.Errorf("source: %w", unknown)
		}
		svc, err := targets.Copy(ctx, named)
		if err != nil {
			return Source{}, fmt.Errorf("open copy target %s: %w", named, err)
		}
		return Source{Service: svc, Name: named}, nil
	}
	_, primaryErr := primary.ChooseBackup(ctx, w.Database, w.Backup, w.AsOf, w.Tables...)
	// A table the primary's backup lacks is the request's mistake, not the
	// primary's failure: an older copy that has it is not what was asked.
	if primaryErr == nil || targets == nil || ctx.Err() != nil || errors.Is(primaryErr, model.ErrTableMissing) {
		return Source{Service: primary}, primaryErr
	}
	for _, name := range targets.Copies() {
		svc, err := targets.Copy(ctx, name)
		if err != nil {
			continue
		}
		if _, err := svc.ChooseBackup(ctx, w.Database, w.Backup, w.AsOf, w.Tables...); err == nil {
			return Source{Service: svc, Name: name, Why: "the primary bucket could not serve it: " + model.FirstLine(primaryErr.Error())}, nil
		}
	}
	return Source{Service: primary}, primaryErr
}
